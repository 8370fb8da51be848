"""Camera, kernel side: a JPEG frame's answer is the map explain() gives on the same picture, for
its top class; a bad frame or a failing model answers with an error and the next frame works."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from xai_widgets import Camera, explain
from xai_widgets.engine import Session

from .models import tiny_cnn


def jpeg(seed: int, size: tuple[int, int] = (40, 32)) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def test_a_frame_is_explained_as_explain_would():
    model = tiny_cnn()
    camera = Camera(model, labels=[f"c{i}" for i in range(10)], method="gradcam")
    frame = jpeg(1)
    answer, buffers = camera.explain_frame(frame)
    picture = Image.open(io.BytesIO(frame)).convert("RGB")
    top = Session(model, picture).top_k(1)[0][0]
    expected = explain(model, picture, method="gradcam", target=top)
    got = np.frombuffer(buffers[0], dtype="<f4").reshape(answer["shape"])
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-5, atol=1e-7)
    assert answer["label"] == f"c{top}" and 0 < answer["prob"] <= 1 and answer["kernel_ms"] > 0
    assert (answer["width"], answer["height"]) == (40, 32)
    seen = np.asarray(Image.open(io.BytesIO(buffers[1])))  # the frame as the model saw it, for the overlay
    difference = np.abs(seen.astype(int) - np.asarray(picture).astype(int)).mean()
    assert seen.shape == (32, 40, 3) and difference < 20  # a JPEG of random noise


def test_bad_frames_answer_with_an_error_and_the_camera_goes_on():
    camera = Camera(tiny_cnn())
    answer, buffers = camera.explain_frame(b"not a jpeg")
    assert "UnidentifiedImageError" in answer["error"] and buffers == []
    answer, buffers = camera.explain_frame(b"x" * (5 * 2**20))
    assert "too large" in answer["error"]
    answer, buffers = camera.explain_frame(jpeg(2))
    assert "error" not in answer and len(buffers) == 2


def test_the_comm_handler_answers_each_frame_with_its_sequence_number(monkeypatch):
    camera = Camera(tiny_cnn(), method="saliency")
    sent = []
    monkeypatch.setattr(camera, "send", lambda content, buffers=None: sent.append((content, buffers)))
    camera._on_frame(camera, {"type": "frame", "seq": 7}, [memoryview(jpeg(3))])
    camera._on_frame(camera, {"type": "other"}, [])
    assert len(sent) == 1 and sent[0][0]["seq"] == 7 and sent[0][0]["error"] is None
    assert camera.stats["frames"] == 1 and camera.stats["kernel_ms"] > 0
    torch.testing.assert_close(
        torch.from_numpy(np.frombuffer(sent[0][1][0], dtype="<f4").copy()).reshape(sent[0][0]["shape"]),
        explain(tiny_cnn(), Image.open(io.BytesIO(jpeg(3))).convert("RGB"), method="saliency"),
    )

"""The Explorer's "Copy code": the code it gives, run in a fresh namespace with only the model,
the image and the transform bound, returns the map the widget shows — for a class, a method's
parameters, each kind of target and a push; its audit/export lines write the same map."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import torch

from xai_widgets import Explorer

from .models import random_image, square_segmenter, tiny_cnn


def run(code: str, **names) -> dict:
    namespace = dict(names)
    exec(compile(code, "<explorer code>", "exec"), namespace)  # noqa: S102 - the widget's own output
    return namespace


def shown(explorer: Explorer) -> np.ndarray:
    return np.asarray(explorer.attribution())


def same(a, b) -> None:
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-6)


def transform(image):  # a transform, so that the code passes transform= through
    return image * 2 - 1


@pytest.fixture
def classifier():
    model, image = tiny_cnn(), random_image(2)
    return model, image, Explorer(model, {"cat": random_image(9), "digit": image}, transform=transform)


@pytest.mark.parametrize(
    "change",
    [
        {},
        {"method": "smoothgrad", "method_params": {"samples": 4, "seed": 3}},
        {"method": "layercam", "method_params": {"smooth": "eigen"}},
        {"target_spec": {"kind": "probability"}},
        {"target_spec": {"kind": "contrast", "other": 7}},
        {"push": {"epsilon": 0.05, "steps": 3, "toward": 1}},
    ],
    ids=["class", "params", "smooth", "probability", "contrast", "push"],
)
def test_the_code_returns_the_map_on_screen(classifier, change, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the code's export lines write a report folder here
    model, image, explorer = classifier
    explorer.image_index = 1
    for name, value in change.items():
        setattr(explorer, name, value)
    explorer.wait()
    assert explorer.result["error"] is None and "'digit'" in explorer.code
    names = run(explorer.code, model=model, image=image, transform=transform)
    same(names["attribution"], shown(explorer))


def test_the_export_lines_write_the_same_map(classifier, tmp_path, monkeypatch):
    model, image, explorer = classifier
    explorer.image_index = 1
    monkeypatch.chdir(tmp_path)
    run(explorer.code, model=model, image=image, transform=transform)
    written = [np.load(path) for path in pathlib.Path("explorer_report").rglob("*.npy")]
    assert len(written) == 1
    same(written[0], shown(explorer))


def test_a_similarity_reads_the_reference():
    model, image, reference = tiny_cnn(), random_image(2), random_image(5)
    explorer = Explorer(model, image, reference=reference, method="saliency")
    explorer.target_spec = {"kind": "similarity"}
    names = run(explorer.code, model=model, image=image, transform=None, reference=reference)
    same(names["attribution"], shown(explorer))


def test_regions_picked_on_a_segmenter_and_boxes_of_a_detector():
    model, image, truth = square_segmenter()
    explorer = Explorer(model, image, method="saliency")
    same(run(explorer.code, model=model, image=image, transform=None)["attribution"], shown(explorer))
    rows, cols = torch.nonzero(truth == 2, as_tuple=True)
    for spec in (
        {"kind": "region", "x": int(cols[0]) + 1, "y": int(rows[0]) + 1},
        {
            "kind": "region",
            "x": int(cols[0]) - 2,
            "y": int(rows[0]) - 2,
            "x2": int(cols[0]) + 2,
            "y2": int(rows[0]) + 2,
        },
    ):
        explorer.target_spec = spec
        same(run(explorer.code, model=model, image=image, transform=None)["attribution"], shown(explorer))
    assert "audit(" not in explorer.code  # a region has no audit/export equivalent


def test_a_detectors_box():
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, box_score_thresh=0.0
    ).eval()
    image = random_image(size=128)
    explorer = Explorer(model, image, method="saliency")
    explorer.target = 2
    same(run(explorer.code, model=model, image=image, transform=None)["attribution"], shown(explorer))


def test_the_code_in_a_fresh_interpreter_returns_the_same_map(tmp_path):
    """As a user pasting it into a new kernel: a fresh Python process rebuilds the model and the
    image the same way, runs the copied code and saves the map."""
    import os
    import subprocess
    import sys

    model, image = tiny_cnn(), random_image(2)
    explorer = Explorer(model, image, transform=transform)
    explorer.target_spec = {"kind": "contrast", "other": 7}
    explorer.method = "layercam"
    script = tmp_path / "fresh.py"
    script.write_text(
        "import numpy as np\n"
        "from tests.models import random_image, tiny_cnn\n"
        "from tests.test_reproduce import transform\n"
        "model, image = tiny_cnn(), random_image(2)\n"
        + explorer.code
        + f"np.save({str(tmp_path / 'map.npy')!r}, np.asarray(attribution))\n"
    )
    root = pathlib.Path(__file__).resolve().parents[1]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, str(script)]
    subprocess.run(command, cwd=tmp_path, env=environment, check=True, capture_output=True, timeout=300)
    same(np.load(tmp_path / "map.npy"), shown(explorer))

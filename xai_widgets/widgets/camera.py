"""Camera: the browser's camera explained live — frames in as JPEG, maps out, frames dropped
(never queued) while the kernel is busy."""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from typing import Any, Optional

import traitlets
from PIL import Image
from torch import nn

from ..engine import ExplainError, Session, get_method
from ..engine.inputs import Transform
from ..engine.model_state import check_model
from ..engine.outputs import OutputChoice
from .bundles import bundle
from .labels import check_labels, label_list
from .overlay import OverlayWidget
from .serialize import describe_method, encode_map

MAX_FRAME_BYTES = 4 * 2**20
"""A frame larger than this is refused (a camera frame as JPEG is tens of kilobytes)."""


class Camera(OverlayWidget):
    """Explain what the browser's camera sees, frame after frame.

    The front end reads the camera (``getUserMedia``), sends one frame at a time as a JPEG
    (``frame_size`` pixels on its long side) and only sends the next once the map of the last
    has come back, at most ``max_fps`` times a second: frames are dropped, never queued, when the
    kernel is behind. Each frame runs through the model once (``transform`` prepares it, as for
    the Explorer); the map of its top class comes back as float32 bytes, with the frame as the
    model saw it (resized and cropped by the transform, as JPEG), and the browser blends the map
    over that picture. The measured frames per second and the kernel's time are shown.

    Args:
        model, labels, transform, output: as for :class:`Explorer`.
        method: a method that is quick enough for video (default Grad-CAM).
        layer: the layer (default: each frame session's default layer).
        max_fps: the most frames a second the browser sends.
        frame_size: the long side of the frames sent, in pixels.
    """

    _esm = bundle("camera.js")

    method = traitlets.Unicode("gradcam").tag(sync=True)
    methods = traitlets.List(traitlets.Dict()).tag(sync=True)
    layer = traitlets.Unicode("").tag(sync=True)
    max_fps = traitlets.Float(15.0).tag(sync=True)
    frame_size = traitlets.Int(320).tag(sync=True)
    running = traitlets.Bool(True).tag(sync=True)
    stats = traitlets.Dict().tag(sync=True)

    def __init__(
        self,
        model: nn.Module,
        *,
        labels: Optional[Sequence[str]] = None,
        transform: Optional[Transform] = None,
        output: OutputChoice = None,
        method: str = "gradcam",
        layer: Optional[str] = None,
        max_fps: float = 15.0,
        frame_size: int = 320,
        opacity: float = 0.5,
        colormap: str = "turbo",
        normalization: str = "auto",
    ) -> None:
        check_model(model)
        get_method(method)  # fail early, with the list of methods
        self.model, self.transform, self.output = model, transform, output
        self._labels = check_labels(labels)
        self._frames = 0
        self._kernel_seconds = 0.0
        super().__init__(
            method=method,
            methods=[describe_method(m) for m in _video_methods()],
            layer=layer or "",
            max_fps=float(max_fps),
            frame_size=int(frame_size),
            opacity=opacity,
            colormap=colormap,
            normalization=normalization,
        )
        self.on_msg(self._on_frame)

    def explain_frame(self, jpeg: bytes) -> tuple[dict[str, Any], list[bytes]]:
        """The answer to one frame: its prediction and map (``data`` in the buffer), or an error."""
        started = time.perf_counter()
        if len(jpeg) > MAX_FRAME_BYTES:
            return {"error": f"A frame of {len(jpeg):,} bytes is too large; send frames under {MAX_FRAME_BYTES:,}."}, []
        try:
            image = Image.open(io.BytesIO(jpeg)).convert("RGB")
            session = Session(self.model, image, transform=self.transform, output=self.output)
            spec = get_method(self.method)
            target = session.top_k(1)[0][0]
            layer = session.check_layer(self.layer or None) if spec.uses_layer else None
            attribution = session.attribution(spec.name, layer=layer, target=target)
            names = label_list(self._labels, session.num_classes)[0]
            probability = float(session.probabilities[target])
            seen = _jpeg(session.display)  # the frame as the model saw it (resized, cropped): the map's picture
            session.close()  # one frame, one forward: nothing is kept for the next
        except ExplainError as err:
            return {"error": str(err)}, []
        except Exception as err:  # a bad frame or a failing model: say so, keep the camera running
            return {"error": f"{type(err).__name__}: {err}"}, []
        encoded = encode_map(attribution)
        seconds = time.perf_counter() - started
        self._frames += 1
        self._kernel_seconds += seconds
        answer = {
            "shape": encoded["shape"],
            "signed": spec.signed,
            "label": names[target],
            "prob": probability,
            "kernel_ms": round(1000 * seconds, 2),
            "width": image.width,
            "height": image.height,
        }
        return answer, [encoded["data"], seen]

    def _on_frame(self, widget: Any, content: Any, buffers: Sequence[Any]) -> None:
        if not isinstance(content, dict) or content.get("type") != "frame" or not buffers:
            return
        answer, payload = self.explain_frame(bytes(buffers[0]))
        self.send({"type": "result", "seq": content.get("seq"), "error": None, **answer}, buffers=payload)
        self.stats = {"frames": self._frames, "kernel_ms": round(1000 * self._kernel_seconds / max(self._frames, 1), 2)}


def _jpeg(picture: Any) -> bytes:
    out = io.BytesIO()
    Image.fromarray(picture).save(out, format="JPEG", quality=85)
    return out.getvalue()


def _video_methods() -> list:
    """Methods quick enough for video: no many-pass method (those are marked slow)."""
    from ..engine import all_methods

    return [m for m in all_methods() if not m.slow and not m.needs_attention]

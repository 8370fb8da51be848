"""What a slow method will cost before it runs: images through the model, and a time estimate."""

from __future__ import annotations

from typing import Any, Optional

from .methods.cam_options import AUG_SMOOTH_IMAGES, fused_layers
from .methods.perturbation import window_starts

BACKWARD = 2
"""A backward pass costs about two forwards; gradient methods count forward + backward as 3."""


def model_passes(session: Any, method: str, layer: Optional[str], params: dict[str, Any]) -> int:
    """How many images ``method`` sends through the model (a batch of n counts n), in forward units.

    ``params`` are the method's resolved parameters (every one given). 0 for methods that only
    re-weigh what the session kept. A CAM's fused stages each cost their own passes; aug-smooth
    explains six images, each with its forward and backward.
    """
    if layer is not None and "fuse" in params:
        layers = fused_layers(session, layer, int(params["fuse"]))
        own = sum(_passes(session, method, name, params) for name in layers)
        if params.get("aug_smooth") == "on":
            return AUG_SMOOTH_IMAGES * (own + 1 + BACKWARD)
        return own
    return _passes(session, method, layer, params)


def _passes(session: Any, method: str, layer: Optional[str], params: dict[str, Any]) -> int:
    height, width = (int(n) for n in session.input.shape[-2:])
    if method == "occlusion":
        window_h, window_w = min(int(params["window"]), height), min(int(params["window"]), width)
        stride = int(params["stride"])
        return len(window_starts(height, window_h, stride)) * len(window_starts(width, window_w, stride))
    if method == "ablationcam":
        return int(session.activation(layer).shape[1])  # one ablated map per channel
    if method == "scorecam":
        return _masked_images(session, layer)
    if method == "iscam":
        return _masked_images(session, layer) * int(params["steps"])
    if method == "sscam":
        return int(session.activation(layer).shape[1]) * int(params["samples"])
    if method == "smoothgradcam++":
        return int(params["samples"]) * (1 + BACKWARD)
    if method in ("smoothgrad", "gradientshap"):
        return int(params["samples"]) * (1 + BACKWARD)
    if method == "deepliftshap":
        return int(params["samples"]) * 2 * (1 + BACKWARD)  # each baseline runs beside the input
    if method == "integrated_gradients":
        return int(params["steps"]) * (1 + BACKWARD)
    if method == "rise":
        return int(params["masks"])
    if method == "kernel_shap":
        return int(params["samples"])
    return 0


def _masked_images(session: Any, layer: str) -> int:
    """The images Score-CAM sends: one per channel that varies over the image, and one black
    image for all the silent (constant) channels, whose masks are zero."""
    flat = session.activation(layer)[0].flatten(1)
    constant = flat.amax(dim=1) == flat.amin(dim=1)
    return int((~constant).sum()) + int(bool(constant.any()))


def estimated_seconds(session: Any, passes: int) -> float:
    """``passes`` at the session's measured forward time (one image, graph recorded: an upper bound,
    since batched forwards cost less per image)."""
    return passes * float(session.forward_seconds)

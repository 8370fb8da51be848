"""What a slow method will cost before it runs: images through the model, and a time estimate."""

from __future__ import annotations

from typing import Any, Optional

from .methods.perturbation import window_starts

BACKWARD = 2
"""A backward pass costs about two forwards; gradient methods count forward + backward as 3."""


def model_passes(session: Any, method: str, layer: Optional[str], params: dict[str, Any]) -> int:
    """How many images ``method`` sends through the model (a batch of n counts n), in forward units.

    ``params`` are the method's resolved parameters (every one given). 0 for methods that only
    re-weigh what the session kept.
    """
    height, width = (int(n) for n in session.input.shape[-2:])
    if method == "occlusion":
        window_h, window_w = min(int(params["window"]), height), min(int(params["window"]), width)
        stride = int(params["stride"])
        return len(window_starts(height, window_h, stride)) * len(window_starts(width, window_w, stride))
    if method in ("scorecam", "ablationcam"):
        return int(session.activation(layer).shape[1])  # one masked image / ablated map per channel
    if method == "iscam":
        return int(session.activation(layer).shape[1]) * int(params["steps"])
    if method == "sscam":
        return int(session.activation(layer).shape[1]) * int(params["samples"])
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


def estimated_seconds(session: Any, passes: int) -> float:
    """``passes`` at the session's measured forward time (one image, graph recorded: an upper bound,
    since batched forwards cost less per image)."""
    return passes * float(session.forward_seconds)

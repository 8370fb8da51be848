"""Say when a finished map shows nothing: all zero, or one value everywhere, and why if known."""

from __future__ import annotations

from typing import Optional

import torch

RECTIFIED = {"gradcam", "gradcam++", "xgradcam", "layercam", "hirescam", "scorecam", "ablationcam", "guided_gradcam"}
"""Methods whose last step is a ReLU: an all-zero map means every location was negative."""


def blank_map_warning(attribution: torch.Tensor, method: str, layer: Optional[str] = None) -> Optional[str]:
    """A sentence for a map that cannot show where the model looks (``None`` for a usable map)."""
    values = attribution.detach()
    if values.numel() == 0:
        return None
    if not bool(torch.isfinite(values).all()):
        return "This map holds NaN or infinite values, so it cannot be drawn faithfully; try another method or layer."
    low, high = float(values.min()), float(values.max())
    if high != low:
        return None
    at = f" at {layer!r}" if layer else ""
    if high == 0:
        if method in RECTIFIED:
            why = (
                "the class-weighted sum of the layer's channels is negative everywhere, and the method's final "
                "ReLU keeps only what raises the class score"
            )
            fix = "try another layer (for example the output of an activation rather than a batch norm) or method"
        else:
            why = "the class score's gradient (or response) is zero at every pixel, as when the class scores do not "
            why += "depend on the image (a zero classifier head, a saturated output)"
            fix = "check the model's output for this image, or try another class or method"
        return f"This map is all zero{at}: {why}. Nothing is highlighted; {fix}."
    return (
        f"This map has the same value ({high:.3g}) everywhere{at}, so it cannot point anywhere; "
        "try another layer or method."
    )

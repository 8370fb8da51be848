"""A map blended over its picture as an RGB array: what the widgets draw, for files."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def colormap_table(name: str) -> np.ndarray:
    """A 256×3 uint8 lookup table of a matplotlib colormap (the tables the front end uses)."""
    try:
        import matplotlib
    except ImportError as err:
        raise ImportError(
            "Overlays in reports need matplotlib's colormaps: pip install 'xai_widgets[report]' (or matplotlib)."
        ) from err
    return matplotlib.colormaps[name](np.linspace(0, 1, 256), bytes=True)[:, :3]


def normalized(attribution: torch.Tensor, signed: bool) -> np.ndarray:
    """The map scaled to 0–1: by its maximum (unsigned), or around 0.5 by its largest magnitude (signed)."""
    values = attribution.detach().float().cpu()
    values = torch.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    if signed:
        peak = float(values.abs().max())
        return (0.5 + 0.5 * values / peak).numpy() if peak > 0 else np.full(values.shape, 0.5, np.float32)
    low, high = float(values.min()), float(values.max())
    return ((values - low) / (high - low)).numpy() if high > low else np.zeros(values.shape, np.float32)


def overlay_picture(
    picture: np.ndarray,
    attribution: torch.Tensor,
    *,
    colormap: str = "turbo",
    opacity: float = 0.5,
    signed: bool = False,
) -> np.ndarray:
    """``attribution`` upsampled (bilinear) to ``picture`` (H×W×3 uint8), coloured and blended over it.

    Signed maps use a diverging colormap ("coolwarm" when ``colormap`` is the default) and
    blend by magnitude, so zero leaves the photo as it is, as in the widgets.
    """
    height, width = picture.shape[:2]
    values = torch.from_numpy(normalized(attribution, signed))[None, None]
    up = F.interpolate(values, size=(height, width), mode="bilinear", align_corners=False)[0, 0].numpy()
    table = colormap_table("coolwarm" if signed and colormap == "turbo" else colormap)
    colours = table[np.clip(np.rint(up * 255), 0, 255).astype(np.uint8)].astype(np.float32)
    alpha = opacity * (np.sqrt(np.abs(2 * up - 1)) if signed else np.ones_like(up))
    blended = picture.astype(np.float32) * (1 - alpha[..., None]) + colours * alpha[..., None]
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)

"""Where a map's mass lies against an object given as a mask or a box: relevance mass, the
share outside, and the pointing game."""

from __future__ import annotations

from typing import Any, Union

import numpy as np
import torch
import torch.nn.functional as F

Region = Union[tuple[str, Any]]
"""("box", (x0, y0, x1, y1)) in input pixels, or ("mask", H×W array with True on the object)."""


def region_mask(kind: str, region: Any, size: tuple[int, ...]) -> torch.Tensor:
    """The H×W boolean mask of a box (x0, y0, x1, y1 in input pixels) or of a mask (resized, nearest)."""
    height, width = size
    if kind == "box":
        x0, y0, x1, y1 = region
        mask = torch.zeros(height, width, dtype=torch.bool)
        mask[max(0, int(y0)) : max(0, int(np.ceil(y1))), max(0, int(x0)) : max(0, int(np.ceil(x1)))] = True
        return mask
    mask = torch.as_tensor(np.asarray(region)).bool()
    if mask.dim() != 2:
        raise ValueError(f"A mask must be H×W (True on the object), got shape {tuple(mask.shape)}.")
    if tuple(mask.shape) != (height, width):
        mask = F.interpolate(mask[None, None].float(), size=size, mode="nearest")[0, 0].bool()
    return mask


def upsampled(attribution: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """The map at the input's size (bilinear, as the widgets draw it)."""
    return F.interpolate(
        attribution.detach().float().cpu()[None, None], size=size, mode="bilinear", align_corners=False
    )[0, 0]


def relevance_mass(attribution: torch.Tensor, inside: torch.Tensor) -> float:
    """The share of the map's positive mass on the object (Arras et al. 2022); NaN for an empty map."""
    mass = upsampled(attribution, tuple(inside.shape)).clamp(min=0)
    total = float(mass.sum())
    return float(mass[inside].sum()) / total if total > 0 else float("nan")


def pointing_hit(attribution: torch.Tensor, inside: torch.Tensor) -> bool:
    """The pointing game (Zhang et al. 2018): whether the map's maximum falls on the object."""
    values = upsampled(attribution, tuple(inside.shape))
    return bool(inside.flatten()[int(torch.argmax(torch.nan_to_num(values, nan=float("-inf"))))])

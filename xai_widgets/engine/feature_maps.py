"""A layer's channels as small images: each normalised on its own, with its mean and its weight."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from .errors import ExplainError
from .methods.cam import grad_cam_weights
from .session import Session

SORTS = ("index", "activation", "contribution")
"""Channel orders: as in the layer, by mean activation, by the Grad-CAM weight for the class."""


@dataclass(frozen=True)
class ChannelMaps:
    """``atlas``: C×h×w uint8, each channel scaled to 0–255 by its own minimum and maximum (as
    ``torchvision.utils.make_grid(normalize=True, scale_each=True)`` does); ``low``/``high``:
    each channel's range before scaling; ``mean``: its mean activation; ``weight``: its Grad-CAM
    weight for the class (``None`` when the class scores give this layer no gradient)."""

    atlas: torch.Tensor
    low: torch.Tensor
    high: torch.Tensor
    mean: torch.Tensor
    weight: Optional[torch.Tensor]
    weight_note: Optional[str] = None

    def order(self, sort: str) -> list[int]:
        """Channel indices in the order of ``sort`` (see ``SORTS``; largest first)."""
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}; got {sort!r}.")
        count = len(self.mean)
        if sort == "index" or (sort == "contribution" and self.weight is None):
            return list(range(count))
        values = self.mean if sort == "activation" else self.weight
        return torch.argsort(values, descending=True, stable=True).tolist()  # type: ignore[arg-type]


def channel_maps(session: Session, layer: str, target: int) -> ChannelMaps:
    """Every channel of ``layer``'s kept activation (no new forward) for one class."""
    activation = session.activation(layer)[0].detach().float()  # C×h×w, on the model's device
    flat = activation.flatten(1)
    low, high = flat.min(dim=1).values, flat.max(dim=1).values
    span = torch.where(high > low, high - low, torch.ones_like(high))
    scaled = (activation - low[:, None, None]) / span[:, None, None]
    atlas = torch.round(scaled.clamp(0, 1) * 255).to(torch.uint8)
    weight, note = None, None
    try:
        weight = grad_cam_weights(session.gradient(layer, target)[0].float()).cpu()
    except ExplainError as err:
        note = str(err)
    return ChannelMaps(
        atlas=atlas.cpu(),
        low=low.cpu(),
        high=high.cpu(),
        mean=flat.mean(dim=1).cpu(),
        weight=weight,
        weight_note=note,
    )

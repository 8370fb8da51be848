"""Deletion and insertion curves: does removing (or revealing) pixels in the map's order change
the class score the way the map claims? (Petsiuk et al., "RISE", BMVC 2018.)"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .errors import ExplainError
from .inputs import ImageLike, Transform, prepare_image
from .model_calls import class_scores
from .model_state import check_model, model_device, model_dtype
from .outputs import OutputChoice
from .targets import resolve

BASELINES = ("blur", "mean", "zero")
"""What a removed pixel becomes: the image blurred, the image's mean colour, or zero (in model-input space)."""


@dataclass(frozen=True)
class Curve:
    """The class probability after each step (``fractions``: share of pixels removed or
    revealed, 0 to 1) and the area under it (trapezoid rule)."""

    kind: str
    fractions: torch.Tensor
    scores: torch.Tensor
    auc: float


def deletion_curve(
    model: nn.Module,
    image: ImageLike,
    attribution: torch.Tensor,
    target: int,
    *,
    steps: int = 20,
    baseline: str = "blur",
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
    batch_size: int = 64,
) -> Curve:
    """The target's probability as the most relevant pixels (by ``attribution``) are removed
    first: a faithful map makes it fall fast (a low area under the curve)."""
    return _curve("deletion", model, image, attribution, target, steps, baseline, transform, output, batch_size)


def insertion_curve(
    model: nn.Module,
    image: ImageLike,
    attribution: torch.Tensor,
    target: int,
    *,
    steps: int = 20,
    baseline: str = "blur",
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
    batch_size: int = 64,
) -> Curve:
    """The target's probability as the most relevant pixels are revealed first on the baseline:
    a faithful map makes it rise fast (a high area under the curve)."""
    return _curve("insertion", model, image, attribution, target, steps, baseline, transform, output, batch_size)


def random_map(attribution: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """A map of uniform noise with the shape of ``attribution``: what "no information" scores."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(tuple(attribution.shape), generator=generator)


def _curve(
    kind: str,
    model: nn.Module,
    image: ImageLike,
    attribution: torch.Tensor,
    target: int,
    steps: int,
    baseline: str,
    transform: Optional[Transform],
    output: OutputChoice,
    batch_size: int,
) -> Curve:
    check_model(model)
    output, target = resolve(target, output)
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ExplainError(f"steps must be a whole number of at least 1; got {steps!r}.")
    if attribution.dim() != 2:
        raise ExplainError(f"The attribution must be a 2-D map (h×w); got shape {tuple(attribution.shape)}.")
    x = prepare_image(image, transform).tensor.to(model_device(model), model_dtype(model))
    height, width = x.shape[-2:]
    masks = _step_masks(attribution, (height, width), steps).to(x.device)  # (steps+1)×1×H×W, 1 = changed
    background = _baseline(x, baseline)
    if kind == "deletion":
        inputs = x * (1 - masks) + background * masks
    else:
        inputs = background * (1 - masks) + x * masks
    scores = class_scores(model, inputs.to(x.dtype), target, output=output, probabilities=True, batch_size=batch_size)
    fractions = torch.linspace(0, 1, steps + 1)
    scores = scores.float().cpu()
    return Curve(kind, fractions, scores, float(torch.trapezoid(scores, fractions)))


def _step_masks(attribution: torch.Tensor, size: tuple[int, int], steps: int) -> torch.Tensor:
    """Masks of the most relevant ``k / steps`` of the pixels, k = 0 … steps (ties: image order)."""
    rank = pixel_ranks(attribution, size)
    counts = torch.round(torch.linspace(0, 1, steps + 1) * len(rank)).long()
    masks = (rank[None, :] < counts[:, None]).float()
    return masks.reshape(steps + 1, 1, *size)


def pixel_ranks(
    attribution: torch.Tensor, size: tuple[int, int], *, most_first: bool = True, device: Optional[torch.device] = None
) -> torch.Tensor:
    """Each input pixel's place (0 = first) when the map, upsampled bilinearly to ``size``, is
    sorted most relevant first (or least relevant first); ties keep image order, NaN counts as
    least relevant. A flat tensor of ``size[0] × size[1]`` ranks, on ``device`` (default CPU)."""
    values = F.interpolate(
        attribution.detach().float().to(device)[None, None], size=size, mode="bilinear", align_corners=False
    )[0, 0].flatten()
    values = torch.nan_to_num(values, nan=float("-inf"))
    order = torch.argsort(values, descending=most_first, stable=True)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order), device=order.device)
    return rank


def _baseline(x: torch.Tensor, kind: str) -> torch.Tensor:
    if kind not in BASELINES:
        raise ExplainError(f"baseline must be one of {', '.join(BASELINES)}; got {kind!r}.")
    if kind == "zero":
        return torch.zeros_like(x)
    if kind == "mean":
        return x.float().mean(dim=(-2, -1), keepdim=True).expand_as(x).to(x.dtype)
    return _blur(x.float(), sigma=max(1.0, min(x.shape[-2:]) / 20)).to(x.dtype)


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """A separable Gaussian blur (reflect padding) of a 1×C×H×W image."""
    radius = max(1, int(round(3 * sigma)))
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    channels = x.shape[1]
    pad_h = min(radius, x.shape[-2] - 1)
    pad_w = min(radius, x.shape[-1] - 1)
    out = F.pad(x, (0, 0, pad_h, pad_h), mode="reflect") if pad_h else x
    vertical = kernel[radius - pad_h : radius + pad_h + 1].view(1, 1, -1, 1).repeat(channels, 1, 1, 1)
    out = F.conv2d(out, vertical, groups=channels)
    out = F.pad(out, (pad_w, pad_w, 0, 0), mode="reflect") if pad_w else out
    horizontal = kernel[radius - pad_w : radius + pad_w + 1].view(1, 1, 1, -1).repeat(channels, 1, 1, 1)
    return F.conv2d(out, horizontal, groups=channels)


def faithfulness(
    model: nn.Module,
    image: ImageLike,
    *,
    method: str = "gradcam",
    layer: Optional[str] = None,
    target: Optional[int] = None,
    steps: int = 20,
    baseline: str = "blur",
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
    seed: int = 0,
    **params,
) -> dict[str, Curve]:
    """Deletion and insertion curves of ``method``'s map for ``target`` (default: top-1), and
    of a random map of the same shape (what "no information" scores), keyed ``deletion``,
    ``insertion``, ``random_deletion``, ``random_insertion``."""
    from .explain import map_for

    attribution, target, _ = map_for(model, image, method, layer, target, transform, output, **params)
    return map_curves(
        model, image, attribution, target, steps=steps, baseline=baseline, transform=transform, output=output, seed=seed
    )


def map_curves(
    model: nn.Module,
    image: ImageLike,
    attribution: torch.Tensor,
    target: int,
    *,
    steps: int = 20,
    baseline: str = "blur",
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
    seed: int = 0,
) -> dict[str, Curve]:
    """The four curves of :func:`faithfulness` for a map already computed."""
    noise = random_map(attribution, seed)
    common = dict(steps=steps, baseline=baseline, transform=transform, output=output)
    return {
        "deletion": deletion_curve(model, image, attribution, target, **common),
        "insertion": insertion_curve(model, image, attribution, target, **common),
        "random_deletion": deletion_curve(model, image, noise, target, **common),
        "random_insertion": insertion_curve(model, image, noise, target, **common),
    }


@dataclass(frozen=True)
class ConfidenceChange:
    """The class probability on the image and on the image weighted by its map (scaled to 0–1):
    ``drop`` = max(0, before − after) / before, ``increased`` = after > before (Chattopadhyay et al.,
    "Grad-CAM++", WACV 2018; averaged over images they are "average drop" and "increase in confidence")."""

    before: float
    after: float
    drop: float
    increased: bool


def confidence_change(
    model: nn.Module,
    image: ImageLike,
    attribution: torch.Tensor,
    target: int,
    *,
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
) -> ConfidenceChange:
    """How much of the class's confidence the map's region alone keeps (see :class:`ConfidenceChange`)."""
    check_model(model)
    output, target = resolve(target, output)
    if attribution.dim() != 2:
        raise ExplainError(f"The attribution must be a 2-D map (h×w); got shape {tuple(attribution.shape)}.")
    x = prepare_image(image, transform).tensor.to(model_device(model), model_dtype(model))
    values = F.interpolate(
        attribution.detach().float().cpu()[None, None], size=tuple(x.shape[-2:]), mode="bilinear", align_corners=False
    )[0, 0].clamp(min=0)
    peak = float(values.max())
    weights = (values / peak if peak > 0 else values).to(x.device)
    inputs = torch.cat([x, (x.float() * weights).to(x.dtype)])
    before, after = class_scores(model, inputs, target, output=output, probabilities=True).float().tolist()
    return ConfidenceChange(before, after, max(0.0, before - after) / before if before > 0 else 0.0, after > before)

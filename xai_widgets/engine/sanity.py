"""Sanity checks (Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018): a map that
stays the same when the model's weights are randomised, layer by layer from the top, does not
explain the model. Every randomisation is made on a copy: the caller's model is never touched."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .errors import ExplainError
from .inputs import ImageLike, Transform
from .model_state import check_model
from .outputs import OutputChoice
from .progress import report

MapFunction = Callable[[nn.Module], torch.Tensor]
"""Computes the 2-D map to check for a given model (the original or a randomised copy)."""

SURVIVES = 0.5
"""A map whose rank correlation with the original stays above this once every layer is
randomised is flagged: it does not depend on the learnt weights."""


@dataclass(frozen=True)
class SanityStep:
    """The map after randomising every parameterised module from the top down to ``module``."""

    module: str
    spearman: float
    ssim: float
    attribution: torch.Tensor


@dataclass(frozen=True)
class SanityReport:
    original: torch.Tensor
    steps: list[SanityStep]

    @property
    def survives(self) -> bool:
        """Whether the map is still much the same with every layer randomised (a failed check)."""
        return bool(self.steps) and abs(self.steps[-1].spearman) > SURVIVES


def cascading_randomisation(
    model: nn.Module,
    image: ImageLike,
    *,
    method: str = "gradcam",
    layer: Optional[str] = None,
    target: Optional[int] = None,
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
    map_function: Optional[MapFunction] = None,
    stages: Optional[int] = None,
    seed: int = 0,
    **params,
) -> SanityReport:
    """Re-initialise the parameterised modules of a copy of ``model`` one more at a time, from
    the output down, and compare each map with the original (Spearman rank correlation and SSIM
    of the maps scaled to 0–1). ``target`` defaults to the original model's top class and stays
    fixed; ``map_function(model) -> map`` replaces ``method`` (e.g. to check any other map).

    A module is re-initialised as PyTorch builds it (its ``reset_parameters``: Kaiming-uniform
    convolutions and linear layers, batch norms back to identity with fresh statistics), seeded
    by ``seed``; a module without one gets Gaussian noise of its weights' spread. ``stages``
    groups the modules into that many steps of about equal size (default: one step a module).
    Progress goes to the current reporter (:func:`~xai_widgets.engine.progress.reporting`) one
    step at a time, which may stop the check by raising ``Cancelled``."""
    check_model(model)
    if stages is not None and (isinstance(stages, bool) or not isinstance(stages, int) or stages < 1):
        raise ExplainError(f"stages must be a whole number of at least 1 (or None for every module); got {stages!r}.")
    from .explain import map_for

    if map_function is None:
        original, target, _ = map_for(model, image, method, layer, target, transform, output, **params)

        def map_function(candidate: nn.Module) -> torch.Tensor:
            return map_for(candidate, image, method, layer, target, transform, output, **params)[0]

    else:
        original = map_function(model)
    original = original.detach().float().cpu()
    copied = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    steps = []
    cascade = _stages(list(reversed([(n, m) for n, m in copied.named_modules() if _own_parameters(m)])), stages)
    with torch.random.fork_rng(devices=_cuda_devices(copied)):  # the caller's random state is left as it was
        torch.manual_seed(seed)
        for group in cascade:
            report(len(steps), len(cascade))  # progress, and where a widget's check can be abandoned
            for _, module in group:
                _randomise(module, generator)
            randomised = map_function(copied).detach().float().cpu()
            name = group[-1][0]
            steps.append(SanityStep(name, spearman(original, randomised), ssim(original, randomised), randomised))
    report(len(steps), len(cascade))
    return SanityReport(original, steps)


def _stages(cascade: list[tuple[str, nn.Module]], stages: Optional[int]) -> list[list[tuple[str, nn.Module]]]:
    """The modules in ``stages`` contiguous groups of about equal size (one a module by default)."""
    if stages is None or stages >= len(cascade):
        return [[entry] for entry in cascade]
    bounds = [round(i * len(cascade) / stages) for i in range(stages + 1)]
    return [cascade[start:end] for start, end in itertools.pairwise(bounds) if end > start]


def _cuda_devices(model: nn.Module) -> list[int]:
    return sorted({p.device.index or 0 for p in model.parameters() if p.is_cuda})


def _own_parameters(module: nn.Module) -> list[nn.Parameter]:
    return list(module.parameters(recurse=False))


def _randomise(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise ``module`` as PyTorch would (global random state, seeded by the caller), or
    replace its own parameters with noise of their spread when it has no ``reset_parameters``."""
    reset = getattr(module, "reset_parameters", None)
    if callable(reset):
        with torch.no_grad():
            reset()
        return
    with torch.no_grad():
        for parameter in _own_parameters(module):
            scale = float(parameter.float().std()) if parameter.numel() > 1 else 1.0
            noise = torch.randn(parameter.shape, generator=generator) * (scale if scale > 0 else 0.1)
            parameter.copy_(noise.to(parameter.dtype))


def spearman(a: torch.Tensor, b: torch.Tensor) -> float:
    """Spearman rank correlation of two maps (resized to the larger one), ties by average rank."""
    a, b = _same_size(a, b)
    ra, rb = _ranks(a.flatten().double()), _ranks(b.flatten().double())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = float(ra.norm() * rb.norm())
    return float((ra * rb).sum()) / denominator if denominator > 0 else 0.0


def ssim(a: torch.Tensor, b: torch.Tensor, window: int = 7) -> float:
    """Mean structural similarity of two maps scaled to 0–1 (Wang et al. 2004, uniform window)."""
    a, b = _same_size(a, b)
    a, b = _unit(a)[None, None], _unit(b)[None, None]
    size = max(1, min(window, a.shape[-1], a.shape[-2]))
    mean = lambda t: F.avg_pool2d(t, size, stride=1)  # noqa: E731 - a local shorthand
    mu_a, mu_b = mean(a), mean(b)
    var_a, var_b = mean(a * a) - mu_a**2, mean(b * b) - mu_b**2
    covariance = mean(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    value = ((2 * mu_a * mu_b + c1) * (2 * covariance + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return float(value.mean())


def _same_size(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = a.float().nan_to_num(0.0), b.float().nan_to_num(0.0)
    if a.shape != b.shape:
        size = (max(a.shape[0], b.shape[0]), max(a.shape[1], b.shape[1]))
        a = F.interpolate(a[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
        b = F.interpolate(b[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
    return a, b


def _unit(t: torch.Tensor) -> torch.Tensor:
    low, high = float(t.min()), float(t.max())
    return (t - low) / (high - low) if high > low else torch.zeros_like(t)


def _ranks(values: torch.Tensor) -> torch.Tensor:
    order = torch.argsort(values, stable=True)
    ranks = torch.empty_like(values)
    ranks[order] = torch.arange(len(values), dtype=values.dtype)
    unique, inverse = torch.unique(values, return_inverse=True)  # ties share their average rank
    sums = torch.zeros(len(unique), dtype=values.dtype).index_add_(0, inverse, ranks)
    counts = torch.zeros(len(unique), dtype=values.dtype).index_add_(0, inverse, torch.ones_like(ranks))
    return (sums / counts)[inverse]

"""The Explorer's checks of the map on screen, as payloads for the front end: deletion and
insertion curves as plain numbers, and a sanity check's maps side by side."""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

from ..engine.faithfulness import map_curves, random_map
from ..engine.inputs import ImageLike, Transform
from ..engine.methods import Method
from ..engine.outputs import OutputChoice
from ..engine.random_logit import random_logit
from ..engine.road import road_curves
from ..engine.sanity import SURVIVES, SanityReport
from ..engine.sensitivity import sensitivity
from .serialize import encode_map


def curves_payload(
    model: nn.Module,
    image: ImageLike,
    attribution: torch.Tensor,
    target: int,
    *,
    transform: Optional[Transform],
    output: OutputChoice,
    steps: int,
    baseline: str,
) -> dict[str, Any]:
    """``{fractions, curves: {name: scores}, auc: {name: area}, baseline, steps}`` for the front end's plot."""
    curves = map_curves(
        model, image, attribution, target, steps=steps, baseline=baseline, transform=transform, output=output
    )
    first = next(iter(curves.values()))
    return {
        "fractions": [round(float(f), 6) for f in first.fractions],
        "curves": {name: [round(float(v), 6) for v in curve.scores] for name, curve in curves.items()},
        "auc": {name: round(curve.auc, 6) for name, curve in curves.items()},
        "baseline": baseline,
        "steps": steps,
    }


def metrics_payload(
    model: nn.Module,
    image: ImageLike,
    attribution: torch.Tensor,
    target: int,
    spec: Method,
    layer: Optional[str],
    params: dict[str, Any],
    *,
    transform: Optional[Transform],
    output: OutputChoice,
    samples: int = 8,
) -> dict[str, float]:
    """The other numbers of "Check this map", each beside what a random map scores where that
    means something: ROAD's mean score with the most and the least relevant pixels removed first
    (``road_most``/``road_least``, and ``random_road_most``/``random_road_least``), max- and
    average-sensitivity under 2 % input noise (fast methods only: ``samples`` more maps), and the
    random-logit SSIM with the map of another class (``other_class``; methods that use the class)."""
    common = dict(transform=transform, output=output)
    road = road_curves(model, image, attribution, target, **common)
    noise = road_curves(model, image, random_map(attribution), target, **common)
    metrics = {
        "road_most": road["most"].mean,
        "road_least": road["least"].mean,
        "random_road_most": noise["most"].mean,
        "random_road_least": noise["least"].mean,
    }
    if not spec.slow:
        moved = sensitivity(
            model, image, method=spec.name, layer=layer, target=target, samples=samples, **common, **params
        )
        metrics.update(max_sensitivity=moved.max, average_sensitivity=moved.average)
    if spec.uses_target:
        other = random_logit(model, image, method=spec.name, layer=layer, target=target, **common, **params)
        metrics.update(random_logit_ssim=other.ssim, other_class=other.other)
    return {name: round(float(value), 6) for name, value in metrics.items()}


def sanity_payload(report: SanityReport, shown: int = 6, signed: bool = False) -> dict[str, Any]:
    """``{steps: [{module, spearman, ssim}], maps: [{module, spearman, shape, data}], signed,
    survives, verdict}``: every step's scores, and the original map beside ``shown`` randomised
    ones (evenly spaced down the cascade, the fully randomised model last); ``signed`` as the
    method's maps (the front end colours them alike)."""
    steps = report.steps
    picked = sorted({round(i * (len(steps) - 1) / max(1, shown - 1)) for i in range(shown)}) if steps else []
    maps = [{"module": "original", "spearman": 1.0, **encode_map(report.original)}]
    for index in picked:
        step = steps[index]
        maps.append({"module": step.module, "spearman": round(step.spearman, 4), **encode_map(step.attribution)})
    return {
        "steps": [{"module": s.module, "spearman": round(s.spearman, 4), "ssim": round(s.ssim, 4)} for s in steps],
        "maps": maps,
        "signed": signed,
        "survives": report.survives,
        "verdict": _verdict(report),
    }


def _verdict(report: SanityReport) -> str:
    if not report.steps:
        return "The model has no parameters to randomise: nothing to check."
    last = report.steps[-1].spearman
    if report.survives:
        return (
            f"Failed: with every layer randomised the map still correlates with the original "
            f"(Spearman {last:.2f} > {SURVIVES}): it shows the image more than what the model learnt."
        )
    return (
        f"Passed: with every layer randomised the map no longer resembles the original "
        f"(Spearman {last:.2f}): it depends on the learnt weights."
    )

"""The Explorer's "check this map" payload: deletion and insertion curves as plain numbers."""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

from ..engine.faithfulness import map_curves
from ..engine.inputs import ImageLike, Transform
from ..engine.outputs import OutputChoice


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

"""The Explorer's adversarial push: the ``push`` trait checked, the pushed input as a prepared
image the engine explains like any other, and what the browser shows of it (the prediction,
the perturbation amplified, the smallest push that flips it).

``push`` is ``{}`` (no push) or ``{"epsilon": ε, "steps": n}`` — away from the predicted class —
with ``"toward": class`` to aim at a class instead; ε is in model-input units (L∞), ``steps=1``
is FGSM and more is PGD.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import torch

from ..engine.adversarial import Push, push, smallest_flip
from ..engine.errors import ExplainError
from ..engine.inputs import PreparedImage, Transform, display_picture, find_normalization
from ..engine.outputs import OutputChoice
from .serialize import encode_png

LIMIT_SHARE = 0.1
"""The slider's largest ε, as a share of the input's value range."""
PGD_STEPS = 10


def check_push(spec: Any) -> dict[str, Any]:
    """``spec`` normalised (``{}`` for no push), or an ExplainError naming the fix."""
    if not isinstance(spec, dict):
        raise ExplainError(f"push must be a dict such as {{'epsilon': 0.01, 'steps': 1}}; got {spec!r}.")
    unknown = sorted(set(spec) - {"epsilon", "steps", "toward"})
    if unknown:
        raise ExplainError(f"push has no setting {unknown[0]!r}; it takes epsilon, steps and toward.")
    epsilon = spec.get("epsilon", 0.0)
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not float(epsilon) >= 0:
        raise ExplainError(f"The push's epsilon must be a number of at least 0 (model-input units); got {epsilon!r}.")
    if float(epsilon) == 0:
        return {}
    steps = spec.get("steps", 1)
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ExplainError(f"The push's steps must be a whole number ≥ 1 (1 is FGSM, more is PGD); got {steps!r}.")
    checked: dict[str, Any] = {"epsilon": float(epsilon), "steps": int(steps)}
    if spec.get("toward") is not None:
        checked["toward"] = spec["toward"]
    return checked


@dataclass
class Pushed:
    """One push of one image: the engine's answer and the input as a prepared image."""

    result: Push
    prepared: PreparedImage


def pushed_image(
    model: torch.nn.Module, image: Any, spec: dict[str, Any], transform: Optional[Transform], output: OutputChoice
) -> Pushed:
    """Push ``image`` as ``spec`` says (on a copy; the model untouched)."""
    result = push(
        model,
        image,
        spec["epsilon"],
        toward=spec.get("toward"),
        steps=spec["steps"],
        transform=transform,
        output=output,
    )
    tensor = result.image[None]
    return Pushed(result, PreparedImage(tensor=tensor, display=display_picture(result.image, transform)))


def push_setup(tensor: torch.Tensor, transform: Optional[Transform], choices: list[dict[str, Any]]) -> dict[str, Any]:
    """The slider's range for the model input ``tensor`` (``max``: a tenth of its value range),
    the size of one 0–255 pixel level in input units when the transform's normalisation says it,
    and the classes a push may aim at (the unpushed image's top classes)."""
    tensor = tensor.detach().float()
    span = float(tensor.max() - tensor.min()) or 1.0
    norm = find_normalization(transform)
    level = float((1.0 / 255.0) / norm[1].mean()) if norm is not None else None
    return {"max": round(LIMIT_SHARE * span, 6), "pixel_level": level, "choices": choices, "pgd_steps": PGD_STEPS}


def push_payload(pushed: Pushed, labels: list[str], key: dict[str, Any]) -> dict[str, Any]:
    """What the browser shows of a push: the prediction before and after, whether it flipped,
    the largest change, and the perturbation amplified to the full range (mid-grey = 0)."""
    result = pushed.result
    delta = result.perturbation.float()
    largest = float(delta.abs().max())
    amplified = 0.5 + 0.5 * delta / largest if largest > 0 else torch.full_like(delta, 0.5)
    picture = display_picture(amplified.clamp(0, 1))
    return {
        "key": key,
        "predicted": result.predicted,
        "label": _name(labels, result.predicted),
        "confidence": result.confidence,
        "original": result.original_predicted,
        "original_label": _name(labels, result.original_predicted),
        "flipped": result.flipped,
        "max_change": largest,
        "perturbation": encode_png(np.ascontiguousarray(picture)),
    }


def flip_payload(
    model: torch.nn.Module,
    image: Any,
    spec: dict[str, Any],
    largest: float,
    labels: list[str],
    transform: Optional[Transform],
    output: OutputChoice,
) -> dict[str, Any]:
    """The smallest push (same attack and aim as ``spec``) that flips the prediction, by bisection
    to 1/200 of the slider's range."""
    found = smallest_flip(
        model,
        image,
        toward=spec.get("toward"),
        steps=spec.get("steps", 1),
        largest=largest,
        tolerance=largest / 200,
        transform=transform,
        output=output,
    )
    if found is None:
        return {"found": False, "largest": largest}
    return {
        "found": True,
        "epsilon": found.epsilon,
        "predicted": found.predicted,
        "label": _name(labels, found.predicted),
        "confidence": found.confidence,
    }


def _name(labels: list[str], index: int) -> str:
    return labels[index] if 0 <= index < len(labels) else f"class {index}"

"""Adversarial pushes (Goodfellow et al. 2015, FGSM; Madry et al. 2018, PGD): how small a change
of the input moves the prediction, toward a chosen class or away from the current one. Every
push is made on a copy of the input; the model's weights, flags and gradients are left alone."""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .errors import ExplainError, TargetError
from .inputs import ImageLike, Transform, prepare_image
from .model_calls import rows_per_image
from .model_state import check_model, evaluation_mode, model_device, model_dtype
from .outputs import OutputChoice, select_logits


@dataclass(frozen=True)
class Push:
    """The input after a push of at most ``epsilon`` per value (L∞, in model-input units) and
    what the model says of it. ``toward`` / ``away``: the class the push aims at or leaves."""

    epsilon: float
    steps: int
    toward: Optional[int]
    away: Optional[int]
    predicted: int
    confidence: float
    original_predicted: int
    image: torch.Tensor = field(repr=False)
    perturbation: torch.Tensor = field(repr=False)

    @property
    def flipped(self) -> bool:
        """Whether the push did what it aimed at: the prediction is ``toward``, or is no longer ``away``."""
        return self.predicted == self.toward if self.toward is not None else self.predicted != self.away


def push(
    model: nn.Module,
    image: ImageLike,
    epsilon: float,
    *,
    toward: Optional[int] = None,
    away: Optional[int] = None,
    steps: int = 1,
    step_size: Optional[float] = None,
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
) -> Push:
    """Push ``image`` by at most ``epsilon`` per input value toward class ``toward`` (the cross-
    entropy of that class descends) or away from ``away`` (default: the predicted class; its
    cross-entropy ascends). ``steps=1`` is FGSM (one step of size ``epsilon`` along the gradient's
    sign); more steps are PGD (steps of ``step_size``, default ``2.5 · epsilon / steps``, each
    projected back into the ε-ball around the image). The input is not clamped to a pixel range:
    the model's input space is what the transform made."""
    check_model(model)
    epsilon, steps = _checked(epsilon, steps)
    if toward is not None and away is not None:
        raise TargetError("Give toward= (a class to reach) or away= (a class to leave), not both.")
    x = prepare_image(image, transform).tensor.to(model_device(model), model_dtype(model)).detach().clone()
    original_logits = _logits(model, x, output)
    classes = original_logits.shape[1]
    original = int(original_logits.argmax(dim=1))
    for name, value in (("toward", toward), ("away", away)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)):
            raise TargetError(f"{name} must be a class index; got {value!r}.")
        if value is not None and not 0 <= value < classes:
            raise TargetError(f"{name}={value} is not a class of this model (0 … {classes - 1}).")
    aim = int(toward) if toward is not None else (int(away) if away is not None else original)
    sign = -1.0 if toward is not None else 1.0
    size = epsilon if steps == 1 else (step_size if step_size is not None else 2.5 * epsilon / steps)
    moved = x.clone()
    for _ in range(steps):
        gradient = _loss_gradient(model, moved, aim, output)
        moved = moved + sign * size * gradient.sign()
        moved = x + (moved - x).clamp(-epsilon, epsilon)
    probabilities = _logits(model, moved, output).float().softmax(dim=1)[0]
    return Push(
        epsilon=epsilon,
        steps=steps,
        toward=None if toward is None else int(toward),
        away=None if toward is not None else aim,
        predicted=int(probabilities.argmax()),
        confidence=float(probabilities.max()),
        original_predicted=original,
        image=moved[0].detach().cpu(),
        perturbation=(moved - x)[0].detach().cpu(),
    )


def smallest_flip(
    model: nn.Module,
    image: ImageLike,
    *,
    toward: Optional[int] = None,
    away: Optional[int] = None,
    steps: int = 1,
    largest: float = 1.0,
    tolerance: float = 1e-3,
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
) -> Optional[Push]:
    """The smallest ε (to ``tolerance``) whose push flips the prediction, found by bisection
    between 0 and ``largest``: the push at that ε, or ``None`` when even ``largest`` does not
    flip it. Bisection assumes a push that flips at ε also flips at any larger ε (true for a
    linear model; for others it finds one boundary, not necessarily the smallest)."""
    if not isinstance(tolerance, (int, float)) or not tolerance > 0:
        raise ExplainError(f"tolerance must be a positive number; got {tolerance!r}.")
    common = dict(toward=toward, away=away, steps=steps, transform=transform, output=output)
    best = push(model, image, largest, **common)
    if not best.flipped:
        return None
    low, high = 0.0, float(largest)
    while high - low > tolerance:
        middle = (low + high) / 2
        attempt = push(model, image, middle, **common)
        if attempt.flipped:
            high, best = middle, attempt
        else:
            low = middle
    return best


def _checked(epsilon: float, steps: int) -> tuple[float, int]:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon >= 0:
        raise ExplainError(f"epsilon must be a number of at least 0 (in model-input units); got {epsilon!r}.")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ExplainError(f"steps must be a whole number of at least 1 (1 is FGSM, more is PGD); got {steps!r}.")
    return float(epsilon), steps


def _logits(model: nn.Module, x: torch.Tensor, output: OutputChoice) -> torch.Tensor:
    with torch.inference_mode(), evaluation_mode(model):
        return rows_per_image(select_logits(model(x), output, len(x)), len(x))


def _loss_gradient(model: nn.Module, x: torch.Tensor, target: int, output: OutputChoice) -> torch.Tensor:
    """d cross-entropy(target) / d input; no gradient reaches the model's parameters."""
    x = x.detach().clone().requires_grad_(True)
    with torch.inference_mode(False), torch.enable_grad(), evaluation_mode(model):
        logits = rows_per_image(select_logits(model(x), output, len(x)), len(x))
        loss = F.cross_entropy(logits.float(), torch.tensor([target], device=logits.device))
        (gradient,) = torch.autograd.grad(loss, x)
    return gradient

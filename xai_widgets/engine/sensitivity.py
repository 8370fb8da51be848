"""Max- and average-sensitivity (Yeh et al., "On the (In)fidelity and Sensitivity of
Explanations", NeurIPS 2019): how much the map moves when the input moves a little.

The map is computed again for inputs with uniform noise of a small L∞ radius added, for the
same class, and each change is measured as ‖map' − map‖ / ‖map‖ (Frobenius norms, the maps at
the method's native resolution). A robust explanation changes little: low values are better.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import nn

from .errors import ExplainError
from .gradcam_batch import grad_cam_batch
from .inputs import ImageLike, Transform
from .layers import INPUT
from .methods import get_method
from .model_calls import input_gradients
from .model_state import check_model
from .outputs import OutputChoice
from .session import Session

InputMap = Callable[[torch.Tensor], torch.Tensor]
"""Computes a 2-D map from a model input (1×C×H×W): any map to test instead of a method's."""

INPUT_GRADIENT_METHODS = ("saliency", "gradxinput")
"""Methods whose map is read off the input gradient alone: their noisy maps come from one batched backward."""


@dataclass(frozen=True)
class Sensitivity:
    """The relative change of the map for each noisy input (``values``), its ``max`` (max-sensitivity)
    and its mean (``average``, avg-sensitivity); NaN when the map itself is zero everywhere.
    ``target`` is the class explained, ``epsilon`` the noise's L∞ radius in model-input units."""

    max: float
    average: float
    values: torch.Tensor
    target: int
    epsilon: float


def sensitivity(
    model: nn.Module,
    image: ImageLike,
    *,
    method: str = "gradcam",
    layer: Optional[str] = None,
    target: Optional[int] = None,
    samples: int = 10,
    radius: float = 0.02,
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
    map_function: Optional[InputMap] = None,
    seed: int = 0,
    batch_size: int = 32,
    **params: Any,
) -> Sensitivity:
    """Max- and average-sensitivity of ``method``'s map for ``target`` (default: the top-1 class
    of the unperturbed image, kept for every noisy copy) over ``samples`` copies of the input with
    uniform noise in [−ε, ε] added to each value, ε = ``radius`` × the input's value range (max −
    min; ε = ``radius`` for a constant input). Grad-CAM, saliency and gradient × input compute
    all the noisy maps in batches; other methods run one copy at a time. ``map_function(x)``
    (x: a 1×C×H×W model input) replaces ``method``. Same ``seed``, same noise. The model is left
    exactly as it was."""
    check_model(model)
    samples, radius = _checked(samples, radius, batch_size)
    spec = get_method(method)
    values = spec.resolve_params(params)
    layer = layer if spec.uses_layer else None
    one_by_one = map_function is None and method != "gradcam" and method not in INPUT_GRADIENT_METHODS
    session = Session(model, image, transform=transform, layer_names=None if layer is None else [layer], output=output)
    try:
        target = session.check_target(target)
        x = session.input.detach()
        if map_function is None and spec.uses_layer:
            layer = session.check_layer(layer)
        original = session.attribution(method, layer=layer, target=target, **values) if one_by_one else None
    finally:
        session.close()
    with torch.inference_mode(False):  # the noisy inputs go through autograd, whatever the caller's mode
        noisy = noisy_copies(x, samples, radius, seed)
        if map_function is not None:
            maps = [map_function(row[None]) for row in torch.cat([x, noisy])]
            original, changed = maps[0], maps[1:]
        elif one_by_one:
            changed = [session_map(model, row[None], method, layer, target, output, values) for row in noisy]
        else:
            both = batched_maps(model, torch.cat([x, noisy]), method, layer, target, output, batch_size)
            original, changed = both[0], list(both[1:])
    changes = relative_changes(original, changed)
    finite = changes[~changes.isnan()]
    top = float(finite.max()) if len(finite) else math.nan
    mean = float(finite.mean()) if len(finite) else math.nan
    return Sensitivity(top, mean, changes, target, noise_radius(x, radius))


def _checked(samples: Any, radius: Any, batch_size: Any) -> tuple[int, float]:
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ExplainError(f"samples must be a whole number of noisy copies, at least 1; got {samples!r} (e.g. 10).")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ExplainError(f"batch_size must be a whole number of inputs, at least 1; got {batch_size!r} (e.g. 32).")
    if isinstance(radius, bool) or not isinstance(radius, (int, float)) or not (0 < radius < math.inf):
        raise ExplainError(
            f"radius must be a positive number (the noise's L∞ radius as a fraction of the input's value range); "
            f"got {radius!r} (e.g. 0.02)."
        )
    return samples, float(radius)


def noise_radius(x: torch.Tensor, radius: float) -> float:
    """The noise's L∞ radius in model-input units: ``radius`` × the value range of ``x`` (or ``radius``)."""
    spread = float(x.detach().float().max() - x.detach().float().min())
    return radius * (spread if spread > 0 else 1.0)


def noisy_copies(x: torch.Tensor, samples: int, radius: float, seed: int = 0) -> torch.Tensor:
    """``samples`` copies of the 1×C×H×W input ``x`` with uniform noise in [−ε, ε] added (see
    :func:`noise_radius`), drawn on the CPU from ``seed`` so that every device sees the same noise."""
    generator = torch.Generator().manual_seed(int(seed))
    noise = torch.rand((samples, *x.shape[1:]), generator=generator, dtype=torch.float32) * 2 - 1
    noise = noise * noise_radius(x, radius)
    return (x.float() + noise.to(x.device)).to(x.dtype)


def session_map(
    model: nn.Module,
    x: torch.Tensor,
    method: str,
    layer: Optional[str],
    target: int,
    output: OutputChoice,
    values: dict[str, Any],
) -> torch.Tensor:
    """``method``'s map of one prepared input, from a session of its own (the one-at-a-time path)."""
    names = [layer] if layer is not None else None
    session = Session(model, x, layer_names=names, output=output)
    try:
        return session.attribution(method, layer=layer, target=target, **values)
    finally:
        session.close()


def batched_maps(
    model: nn.Module,
    stack: torch.Tensor,
    method: str,
    layer: Optional[str],
    target: int,
    output: OutputChoice,
    batch_size: int,
) -> torch.Tensor:
    """The maps (N×h×w) of ``method`` for ``target`` of a stack of prepared inputs, in batches:
    Grad-CAM through :func:`grad_cam_batch`, the input-gradient methods from one batched
    backward per chunk, each row's map made by the method's own compute function."""
    if method == "gradcam":
        return grad_cam_batch(model, stack, layer, targets=target, batch_size=batch_size, output=output)
    grads = input_gradients(model, stack, target, batch_size=batch_size, output=output)
    compute = get_method(method).compute
    rows = zip(stack, grads, strict=True)
    return torch.stack([compute(_InputGradient(row[None], grad[None]), None, target) for row, grad in rows])


class _InputGradient:
    """What an input-gradient method reads of a session, for one row of a batch."""

    def __init__(self, x: torch.Tensor, grad: torch.Tensor) -> None:
        self.input, self._grad = x, grad

    def gradient(self, layer: str, target: int) -> torch.Tensor:
        assert layer == INPUT, layer  # only input-gradient methods take this path
        return self._grad


def relative_changes(original: torch.Tensor, changed: list[torch.Tensor]) -> torch.Tensor:
    """‖m − original‖ / ‖original‖ (Frobenius) for each map ``m`` of ``changed`` (float64, CPU);
    NaN for all when the original map is zero."""
    base = original.detach().double().cpu()
    norm = float(base.norm())
    if not changed:
        return torch.zeros(0, dtype=torch.float64)
    differences = torch.stack([(m.detach().double().cpu() - base).norm() for m in changed])
    return differences / norm if norm > 0 else torch.full_like(differences, math.nan)

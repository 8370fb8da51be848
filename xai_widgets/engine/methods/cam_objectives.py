"""CAMs that explain more than one logit's gradient: Shapley-CAM (the gradient and a
second-order term of a softmax-aware utility) and Finer-CAM (the class against the classes whose
scores are nearest its own). Both read the session's kept graph and class gradients: a switch to
them runs backwards over the kept forward, no model call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch

from ..errors import LayerError, MethodError
from .base import Param, SessionView, register
from .cam import SMOOTH, combined, grad_cam, grad_cam_plus_plus, hires_cam, layer_cam, xgrad_cam
from .cam_options import cam_method

UTILITIES = ("rest", "logit")
"""Shapley-CAM's utility of the class scores y: ReST, y_c + log softmax(y)_c (the paper's
choice), or the logit y_c alone."""

BASES: dict[str, Callable[..., torch.Tensor]] = {
    "gradcam": grad_cam,
    "gradcam++": grad_cam_plus_plus,
    "xgradcam": xgrad_cam,
    "layercam": layer_cam,
    "hirescam": hires_cam,
}
"""The gradient CAMs Finer-CAM can run on the gradient of its objective."""

WEIGHTINGS = ("softmax", "mean")
"""How Finer-CAM averages the differences with the similar classes: weighted by their softmax
probabilities (pytorch-grad-cam's FinerWeightedTarget) or uniformly (torchcam's FinerCAM)."""


class SecondOrderView(SessionView, Protocol):
    """A session that also answers a Hessian-vector product at a layer."""

    def hessian_vector_product(
        self, layer: str, score: Callable[[torch.Tensor], torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]: ...


def utility_score(target: int, kind: str = "rest") -> Callable[[torch.Tensor], torch.Tensor]:
    """Shapley-CAM's utility of the 1-D class scores, in float32: ReST or the target's logit."""
    if kind not in UTILITIES:
        raise MethodError(f"Unknown utility {kind!r}; use one of {', '.join(UTILITIES)}.")

    def score(scores: torch.Tensor) -> torch.Tensor:
        scores = scores.float()
        if kind == "logit":
            return scores[target]
        return scores[target] + torch.log_softmax(scores, dim=0)[target]

    return score


def shapley_cam(
    session: SecondOrderView, layer: str, target: int, utility: str = "rest", smooth: str = "none"
) -> torch.Tensor:
    """Shapley-CAM: channels weighted by the spatial mean of ∇ − ½ H·A, the utility's gradient
    and its Hessian applied to the activation A (a second-order Taylor estimate of each
    channel's Shapley value).

    Cai et al., "CAMs as Shapley Value-based Explainers" (Shapley-CAM), 2025, with its ReST
    utility y_c + log softmax(y)_c by default. With ``utility="logit"`` on a network that is
    piecewise linear after the layer (ReLU, max pooling, a linear head), H·A = 0 and the map is
    Grad-CAM's.
    """
    activation = session.activation(layer)[0].float()  # float32 maths for half models
    try:
        grad, hvp = session.hessian_vector_product(layer, utility_score(target, utility))
    except RuntimeError as err:  # an op without a second derivative in autograd
        first_line = (str(err).strip().splitlines() or [""])[0][:200]
        raise MethodError(
            f"Shapley-CAM needs second derivatives through the model after layer {layer!r}, and autograd has none "
            f"for one of its operations ({first_line}). Choose a later layer, or use 'gradcam'."
        ) from err
    weights = (grad[0].float() - 0.5 * hvp[0].float()).mean(dim=(1, 2))
    return combined(weights[:, None, None] * activation, smooth)


def similar_classes(scores: torch.Tensor, target: int, rank: int = 1, count: int = 3) -> list[int]:
    """The classes whose scores are nearest ``target``'s (|y_k − y_target|), at ranks ``rank`` to
    ``rank + count − 1`` (1 = the nearest), the target excluded; fewer where the model has fewer."""
    distance = (scores.detach().double() - scores[target].detach().double()).abs()
    distance[target] = float("inf")
    order = torch.sort(distance, stable=True).indices.tolist()[: len(distance) - 1]
    return order[rank - 1 : rank - 1 + count]


def objective_coefficients(
    scores: torch.Tensor, target: int, others: list[int], alpha: float, weighting: str = "softmax"
) -> dict[int, float]:
    """d objective / d y_k for the target and ``others``: the objective's gradient at any layer is
    Σ_k coefficient_k · ∇y_k.

    ``mean``: y_c − α · mean(y_d). ``softmax``: Σ_d q_d (y_c − α y_d) with q the softmax of the
    ``others``' scores (p_d / Σ p_d), derivatives through q included, as pytorch-grad-cam's
    FinerWeightedTarget differentiates it (its 1e-9 added to Σ p_d is left out: a relative change
    of 1e-9 / Σ p_d, with no coefficient on the other classes).
    """
    classes = [target, *others]
    values = scores.detach()[classes].double().clone().requires_grad_(True)
    with torch.inference_mode(False), torch.enable_grad():
        main, rest = values[0], values[1:]
        if weighting == "mean":
            objective = main - alpha * rest.mean()
        elif weighting == "softmax":
            objective = (torch.softmax(rest, dim=0) * (main - alpha * rest)).sum()
        else:
            raise MethodError(f"Unknown weighting {weighting!r}; use one of {', '.join(WEIGHTINGS)}.")
        (coefficients,) = torch.autograd.grad(objective, values)
    return dict(zip(classes, coefficients.tolist(), strict=True))


class _ObjectiveView:
    """``session`` as a base CAM sees it, with the target's gradient replaced by the objective's."""

    def __init__(self, session: SessionView, target: int, gradient: Callable[[str], torch.Tensor]) -> None:
        self._session = session
        self._target = target
        self._gradient = gradient

    def gradient(self, layer: str, target: int) -> torch.Tensor:
        return self._gradient(layer) if target == self._target else self._session.gradient(layer, target)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def finer_cam(
    session: SessionView,
    layer: str,
    target: int,
    alpha: float = 1.0,
    classes: int = 3,
    rank: int = 1,
    weighting: str = "softmax",
    base: str = "gradcam",
    smooth: str = "none",
) -> torch.Tensor:
    """Finer-CAM: a gradient CAM (Grad-CAM by default) of the target's score against the
    ``classes`` classes whose scores are nearest it (from the ``rank``-th nearest on), their
    scores subtracted with strength ``alpha``: what tells the class apart from its look-alikes.

    Zhang et al., "Finer-CAM: Spotting the Difference Reveals Finer Details for Visual
    Explanation", CVPR 2025. The objective's gradient is a combination of the session's cached
    per-class gradients; ``alpha=0`` gives the base method's map.
    """
    if base not in BASES:
        raise MethodError(f"Unknown base method {base!r} for Finer-CAM; use one of {', '.join(BASES)}.")
    scores = session.logits[0]
    if scores.shape[0] < 2:
        raise MethodError(
            "Finer-CAM compares the class with the classes whose scores are nearest its own, and these scores "
            "have one class only; use 'gradcam' (the same map without a comparison)."
        )
    if rank > scores.shape[0] - 1:
        raise MethodError(
            f"Finer-CAM's rank {rank} asks for the {rank}-th nearest class, and the model scores "
            f"{scores.shape[0]} classes (the target and {scores.shape[0] - 1} others); pick a rank from 1 to "
            f"{scores.shape[0] - 1}."
        )
    others = similar_classes(scores, target, rank, classes)
    coefficients = objective_coefficients(scores, target, others, float(alpha), weighting)

    def gradient(name: str) -> torch.Tensor:
        total = coefficients[target] * session.gradient(name, target).float()
        for other in others:
            try:
                grad = session.gradient(name, other).float()
            except LayerError:  # that class's score does not depend on the layer (e.g. a constant 0)
                continue
            total = total + coefficients[other] * grad
        return total

    return BASES[base](_ObjectiveView(session, target, gradient), layer, target, smooth=smooth)


for _method in (
    cam_method("shapleycam", "Shapley-CAM", shapley_cam,
               reference="Cai et al., \"CAMs as Shapley Value-based Explainers\", 2025",
               params=(Param("utility", "utility (ReST: y_c + log p_c)", "rest", choices=UTILITIES), *SMOOTH)),
    cam_method("finercam", "Finer-CAM", finer_cam, reference="Zhang et al., CVPR 2025",
               params=(
                   Param("alpha", "α (comparison strength)", 1.0, 0.0, 2.0, 0.05, at_least=0.0),
                   Param("classes", "similar classes", 3, 1, 10, 1, at_least=1),
                   Param("rank", "from the n-th nearest class", 1, 1, 10, 1, at_least=1),
                   Param("weighting", "weighting", "softmax", choices=WEIGHTINGS),
                   Param("base", "base method", "gradcam", choices=tuple(BASES)),
                   *SMOOTH,
               )),
):  # fmt: skip
    register(_method)

"""The rules of Layer-wise Relevance Propagation, each as the backward of one layer (see ``lrp``):
epsilon, alpha-beta (z+ is alpha1-beta0), gamma, z-box and flat for convolutions and linear
layers, a proportional share through average pooling, and the composites that pick them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Optional

import torch
from torch import nn
from torch.nn import functional as F

STABILIZER = 1e-6
"""Zennit's stabiliser for every rule but epsilon (whose ε is the method's parameter)."""
COMPOSITES = ("epsilon_plus_flat", "epsilon_gamma_box", "epsilon_alpha2_beta1", "epsilon_plus", "epsilon")
CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
FIRST_LAYERS = {"epsilon_gamma_box": CONVOLUTIONS, "epsilon_plus_flat": (*CONVOLUTIONS, nn.Linear)}
"""The layers that can be a composite's special first layer (z-box: a convolution; flat: either)."""
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
ACTIVATIONS = (
    nn.ELU, nn.Hardshrink, nn.Hardsigmoid, nn.Hardtanh, nn.Hardswish, nn.LeakyReLU, nn.LogSigmoid, nn.PReLU,
    nn.ReLU, nn.ReLU6, nn.RReLU, nn.SELU, nn.CELU, nn.GELU, nn.Sigmoid, nn.SiLU, nn.Softplus, nn.Softshrink,
    nn.Softsign, nn.Tanh, nn.Tanhshrink, nn.Threshold, nn.Mish,
)  # fmt: skip
"""Element-wise activations: relevance passes through unchanged (Zennit's ``Activation`` → ``Pass``)."""
AVERAGE_POOLS = (
    nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
)  # fmt: skip

Relevance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``rule(x, relevance at the output)`` → relevance at the input ``x``."""


class RuleFunction(torch.autograd.Function):
    """Forward: the module's own output. Backward: the module's LRP rule (relevance in, relevance out)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, y: torch.Tensor, rule: Relevance) -> torch.Tensor:
        ctx.rule = rule
        ctx.save_for_backward(x)
        return y.clone()

    @staticmethod
    def backward(ctx: Any, relevance: torch.Tensor) -> tuple[Optional[torch.Tensor], None, None]:
        if ctx.rule is passed:
            return relevance, None, None
        (x,) = ctx.saved_tensors
        with torch.enable_grad():
            return ctx.rule(x.detach(), relevance), None, None


def passed(x: torch.Tensor, relevance: torch.Tensor) -> torch.Tensor:
    return relevance


def stabilized(z: torch.Tensor, epsilon: float) -> torch.Tensor:
    """``z`` moved away from zero by ``epsilon`` with its sign (+ for 0), as Zennit's ``stabilize``."""
    return z + epsilon * ((z == 0).to(z) + z.sign())


Layer = Callable[[torch.Tensor, torch.Tensor, Optional[torch.Tensor]], torch.Tensor]
"""``f(input, weight, bias)``: a convolution or linear layer with the given parameters."""


def _gradients(f: Layer, terms: list[tuple], weigh: Callable[[list[torch.Tensor]], list[torch.Tensor]]) -> list:
    """For terms ``(a, w, b)``: z_i = f(a_i, w_i, b_i), and d z_i / d a_i applied to ``weigh(z)``."""
    inputs = [a.detach().requires_grad_(True) for a, _, _ in terms]
    outputs = [f(a, w, b) for a, (_, w, b) in zip(inputs, terms, strict=True)]
    return list(torch.autograd.grad(outputs, inputs, weigh([z.detach() for z in outputs])))


def _clamped(t: Optional[torch.Tensor], positive: bool) -> Optional[torch.Tensor]:
    return None if t is None else (t.clamp(min=0) if positive else t.clamp(max=0))


def epsilon_rule(f: Layer, w: torch.Tensor, b: Optional[torch.Tensor], epsilon: float) -> Relevance:
    """R_in = x · Wᵀ (R / (z ± ε))."""

    def rule(x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        (g,) = _gradients(f, [(x, w, b)], lambda z: [r / stabilized(z[0], epsilon)])
        return x * g

    return rule


def alpha_beta_rule(f: Layer, w: torch.Tensor, b: Optional[torch.Tensor], alpha: float, beta: float) -> Relevance:
    """alpha · (positive contributions' share) − beta · (negative ones'); alpha=1, beta=0 is z+."""
    wp, wn, bp, bn = w.clamp(min=0), w.clamp(max=0), _clamped(b, True), _clamped(b, False)

    def share(x: torch.Tensor, r: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor, b1) -> torch.Tensor:
        xp, xn = x.clamp(min=0), x.clamp(max=0)
        gp, gn = _gradients(f, [(xp, w1, b1), (xn, w2, None)], lambda z: [r / stabilized(z[0] + z[1], STABILIZER)] * 2)
        return xp * gp + xn * gn

    def rule(x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        positive = share(x, r, wp, wn, bp)
        return positive if beta == 0 else alpha * positive - beta * share(x, r, wn, wp, bn)

    return rule


def gamma_rule(f: Layer, w: torch.Tensor, b: Optional[torch.Tensor], gamma: float) -> Relevance:
    """Generalised gamma rule: positive contributions boosted by gamma for positive outputs,
    negative ones for negative outputs (Zennit's ``Gamma``)."""
    wp, wn = w + gamma * w.clamp(min=0), w + gamma * w.clamp(max=0)
    bp = None if b is None else b + gamma * b.clamp(min=0)
    bn = None if b is None else b + gamma * b.clamp(max=0)

    def rule(x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        xp, xn = x.clamp(min=0), x.clamp(max=0)
        z = f(x, w, b)
        up, down = r * (z > 0).to(r), r * (z < 0).to(r)

        def weigh(zs: list[torch.Tensor]) -> list[torch.Tensor]:
            positive, negative = stabilized(zs[0] + zs[1], STABILIZER), stabilized(zs[2] + zs[3], STABILIZER)
            return [up / positive, up / positive, down / negative, down / negative]

        terms = [(xp, wp, bp), (xn, wn, None), (xp, wn, bn), (xn, wp, None)]
        gradients = _gradients(f, terms, weigh)
        return sum(a * g for (a, _, _), g in zip(terms, gradients, strict=True))

    return rule


def z_box_rule(f: Layer, w: torch.Tensor, b: Optional[torch.Tensor]) -> Relevance:
    """z^B for a bounded input: bounds are the image's per-channel minimum and maximum."""
    wp, wn, bp, bn = w.clamp(min=0), w.clamp(max=0), _clamped(b, True), _clamped(b, False)

    def rule(x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        dims = tuple(i for i in range(x.dim()) if i != 1)
        low = x.amin(dim=dims, keepdim=True).expand_as(x)
        high = x.amax(dim=dims, keepdim=True).expand_as(x)
        terms = [(x, w, b), (low, wp, bp), (high, wn, bn)]
        gx, gl, gh = _gradients(f, terms, lambda z: [r / stabilized(z[0] - z[1] - z[2], STABILIZER)] * 3)
        return x * gx - low * gl - high * gh

    return rule


def flat_rule(f: Layer, w: torch.Tensor) -> Relevance:
    """Relevance spread evenly over each output's receptive field (unit weights, unit inputs)."""
    ones = torch.ones_like(w)

    def rule(x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        (g,) = _gradients(f, [(torch.ones_like(x), ones, None)], lambda z: [r / stabilized(z[0], STABILIZER)])
        return g

    return rule


def norm_rule(module: nn.Module) -> Relevance:
    """Average pooling: relevance in proportion to each input's contribution (Zennit's ``Norm``)."""

    def rule(x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        pool: Layer = lambda a, w, b: module.forward(a)  # noqa: E731
        (g,) = _gradients(pool, [(x, None, None)], lambda z: [r / stabilized(z[0], STABILIZER)])
        return x * g

    return rule


def _layer_function(module: nn.Module) -> Layer:
    if isinstance(module, nn.Linear):
        return F.linear
    return module._conv_forward  # type: ignore[return-value]  # Conv1d/2d/3d with given weight and bias


def choose_rule(module: nn.Module, composite: str, first: bool, epsilon: float, gamma: float) -> Relevance:
    f, w, b = _layer_function(module), module.weight, module.bias
    conv = isinstance(module, CONVOLUTIONS)
    if composite == "epsilon" or not conv and not (first and composite == "epsilon_plus_flat"):
        return epsilon_rule(f, w, b, epsilon)
    if first and composite == "epsilon_plus_flat":
        return flat_rule(f, w)
    if composite == "epsilon_gamma_box":
        return z_box_rule(f, w, b) if first else gamma_rule(f, w, b, gamma)
    if composite == "epsilon_alpha2_beta1":
        return alpha_beta_rule(f, w, b, 2.0, 1.0)
    return alpha_beta_rule(f, w, b, 1.0, 0.0)  # z+, on the convolutions of epsilon_plus(_flat)

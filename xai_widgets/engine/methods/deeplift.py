"""DeepLift with the rescale rule, and DeepLiftShap (its average over several baselines).

Shrikumar, Greenside & Kundaje, "Learning Important Features Through Propagating Activation
Differences", ICML 2017; Lundberg & Lee, "A Unified Approach to Interpreting Model
Predictions", NeurIPS 2017 (DeepLiftShap). The input and its baseline run as one batch; every
element-wise nonlinearity module passes back, instead of its local gradient, the multiplier
Δoutput / Δinput between the two (its local gradient where the two inputs are within ``EPS``).
Max pooling (``nn.MaxPool1d/2d/3d``) follows Captum's rule: each pooled difference goes back to
the window's argmax in the input and in the baseline, divided by Δinput there. Linear layers
(convolutions, batch norm in eval mode, average pooling) need no rule. The
attributions sum to the difference of the class score between the input and the baseline.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import MethodError
from ..model_calls import rows_per_image
from ..model_state import evaluation_mode, scoped
from ..outputs import select_logits
from .base import Method, Param, SessionView, register

EPS = 1e-10
ELEMENTWISE = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish,
    nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh,
)  # fmt: skip
"""Element-wise nonlinearity modules the rescale rule applies to."""
MAX_POOLS = {nn.MaxPool1d: F.max_pool1d, nn.MaxPool2d: F.max_pool2d, nn.MaxPool3d: F.max_pool3d}
"""Max-pooling modules with a DeepLift rule (Captum's), and the pooling function that gives their argmax."""
NO_RULE = (
    nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d, nn.FractionalMaxPool2d,
    nn.FractionalMaxPool3d, nn.Softmax,
)  # fmt: skip
"""Modules neither rule covers (Captum has none for them either): refused."""


def _pool_function(module: nn.Module):
    """The pooling function (with argmax) of a max-pool module with a rule, else ``None``."""
    return next((pool for kind, pool in MAX_POOLS.items() if isinstance(module, kind)), None)


def _is_elementwise(module: nn.Module) -> bool:
    return isinstance(module, ELEMENTWISE) or "swish" in type(module).__name__.lower()


def check_rules(model: nn.Module) -> None:
    """A MethodError naming a module DeepLift has no rule for (adaptive or fractional max
    pooling, softmax)."""
    for name, module in model.named_modules():
        if isinstance(module, NO_RULE):
            raise MethodError(
                f"DeepLift here has rules for element-wise nonlinearities and MaxPool1d/2d/3d only; {name!r} "
                f"is a {type(module).__name__}, whose max or normalisation has none. Use "
                "'integrated_gradients' (the path integral DeepLift approximates) or 'gradxinput'."
            )


@contextlib.contextmanager
def rescale_rule(model: nn.Module) -> Iterator[None]:
    """While the block runs, every element-wise nonlinearity of ``model`` (fed a batch whose first
    half are inputs and second half their baselines) passes back Δoutput / Δinput, and every
    max pool the multipliers of :func:`max_pool_rule`.

    Each call's output is replaced by ``y + (x·m − x·m)``, the second product detached: exactly
    the same values (so that ties a max pool breaks later stay ties, as in the plain forward), with
    ``m`` as its gradient. A module used several times is handled call by call; an
    in-place module's input is copied before it is overwritten."""
    inputs: list[torch.Tensor] = []
    busy = [False]

    def before(module: nn.Module, args: tuple) -> None:
        if not busy[0] and args and isinstance(args[0], torch.Tensor):
            inputs.append(args[0].clone())

    def after(module: nn.Module, args: tuple, output: torch.Tensor):
        if busy[0] or not inputs:
            return None
        if _pool_function(module) is not None:
            return max_pool_rule(module, inputs.pop(), output)
        if not isinstance(output, torch.Tensor):
            return None
        x = inputs.pop()
        half = x.shape[0] // 2
        delta_in = (x[:half] - x[half:]).detach()
        delta_out = (output[:half] - output[half:]).detach()
        apart = delta_in.abs() > EPS
        ratio = delta_out / torch.where(apart, delta_in, 1.0)
        if not bool(apart.all()):  # where input and baseline meet, the module's own derivative
            ratio = torch.where(apart, ratio, _local_gradient(module, x, busy)[:half])
        multiplier = torch.cat([ratio, ratio]).detach()
        linear = x * multiplier
        return output.detach() + (linear - linear.detach())  # exactly the output's values: ties stay ties

    handles = []
    try:
        for module in model.modules():
            if _is_elementwise(module) or _pool_function(module) is not None:
                handles.append(module.register_forward_pre_hook(scoped(before)))
                handles.append(module.register_forward_hook(scoped(after)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def max_pool_rule(module: nn.Module, x: torch.Tensor, output):
    """The output of the max pool ``module`` (input ``x``: inputs, then baselines) with Captum's
    DeepLift multipliers as its gradient.

    For a window with pooled values ``o`` (input) and ``r`` (baseline), ``m = max(o, r)``: the
    part ``m − r`` of the pooled difference goes back to the input's argmax ``p`` and the part
    ``o − m`` to the baseline's argmax ``q``, each divided by Δinput there (both ratios lie in
    [0, 1]); where Δinput is within ``EPS`` the plain max-pool gradient is passed instead. The
    output is replaced by ``y + (J x − (J x).detach())``, ``J x = cₚ·x[p] + c_q·x[q]``, so the
    gradient is Jᵀ: a position that is the argmax of several overlapping windows gets all their
    terms (Captum's ``max_unpool`` keeps one of them; the two agree when no windows overlap)."""
    y = output[0] if isinstance(output, tuple) else output
    if not isinstance(y, torch.Tensor):
        return None
    pool = _pool_function(module)
    dims = {F.max_pool1d: 3, F.max_pool2d: 4, F.max_pool3d: 5}[pool]
    if x.dim() != dims or x.shape[0] % 2:
        raise MethodError(
            f"DeepLift's max-pool rule needs a batched input; this {type(module).__name__} got one of shape "
            f"{tuple(x.shape)}. Use 'integrated_gradients' or 'gradxinput'."
        )
    half = x.shape[0] // 2
    with torch.no_grad():
        args = (module.kernel_size, module.stride, module.padding, module.dilation, module.ceil_mode, True)
        _, indices = pool(x.detach(), *args)
        flat_x, flat_idx = x.detach().flatten(2), indices.flatten(2)
        own, other = flat_idx[:half], flat_idx[half:]  # argmax in the input, in the baseline
        delta_in = flat_x[:half] - flat_x[half:]
        pooled = y.detach().flatten(2)
        top = torch.maximum(pooled[:half], pooled[half:])
        at_own, at_other = delta_in.gather(2, own), delta_in.gather(2, other)
        apart_own, apart_other = at_own.abs() > EPS, at_other.abs() > EPS
        to_own = torch.where(apart_own, (top - pooled[half:]) / torch.where(apart_own, at_own, 1.0), 1.0)
        to_other = torch.where(apart_other, (pooled[:half] - top) / torch.where(apart_other, at_other, 1.0), 0.0)
        to_own, to_other = torch.cat([to_own, to_own]), torch.cat([to_other, to_other])
        own, other = torch.cat([own, own]), torch.cat([other, other])
    flat = x.flatten(2)
    linear = (flat.gather(2, own) * to_own + flat.gather(2, other) * to_other).view_as(y)
    result = y.detach() + (linear - linear.detach())
    return (result, *output[1:]) if isinstance(output, tuple) else result


def _local_gradient(module: nn.Module, x: torch.Tensor, busy: list[bool]) -> torch.Tensor:
    """d module(x) / dx element by element (the module's own derivative), for |Δinput| ≤ EPS."""
    point = x.detach().clone().requires_grad_(True)
    busy[0] = True
    try:
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(module(point.clone()).sum(), point)  # a copy: in-place modules
    finally:
        busy[0] = False
    return grad


def deeplift_multipliers(session: SessionView, target: int, baselines: torch.Tensor) -> torch.Tensor:
    """(x − b) · multipliers for each baseline ``b`` of ``baselines`` (B×C×H×W): B×C×H×W."""
    check_rules(session.model)
    x = session.input.detach()
    results = []
    with torch.inference_mode(False), torch.enable_grad(), evaluation_mode(session.model):
        for baseline in baselines:
            pair = torch.cat([x, baseline[None].to(x)]).clone().requires_grad_(True)
            with rescale_rule(session.model):
                logits = rows_per_image(select_logits(session.model(pair), session.output, 2), 2)
            (grad,) = torch.autograd.grad(logits[0, target], pair)
            results.append((x[0] - baseline.to(x)) * grad[0])
    return torch.stack(results)


def deeplift(session: SessionView, layer: None, target: int, baseline: float = 0.0) -> torch.Tensor:
    """DeepLift (rescale rule) from a constant baseline image, summed over channels (signed)."""
    reference = torch.full_like(session.input.detach()[0], float(baseline))
    return deeplift_multipliers(session, target, reference[None])[0].sum(dim=0)


def deeplift_shap(session: SessionView, layer: None, target: int, samples: int = 8, seed: int = 0) -> torch.Tensor:
    """DeepLiftShap: DeepLift averaged over ``samples`` baselines drawn from the input's own
    values (its pixels shuffled, seeded), an expectation over a background distribution."""
    baselines = shuffled_baselines(session.input.detach()[0], int(samples), int(seed))
    return deeplift_multipliers(session, target, baselines).mean(dim=0).sum(dim=0)


def shuffled_baselines(x: torch.Tensor, samples: int, seed: int) -> torch.Tensor:
    """``samples`` copies of the C×H×W image ``x`` with its pixels shuffled (seeded): a background
    with the image's own colour statistics and none of its structure."""
    generator = torch.Generator().manual_seed(seed)
    flat = x.flatten(1)
    orders = [torch.randperm(flat.shape[1], generator=generator).to(x.device) for _ in range(samples)]
    return torch.stack([flat[:, order].reshape(x.shape) for order in orders])


for _method in (
    Method("deeplift", "DeepLift (rescale)", deeplift, uses_layer=False, signed=True,
           reference="Shrikumar et al., ICML 2017",
           params=(Param("baseline", "baseline value", 0.0, -3.0, 3.0, 0.1),)),
    Method("deepliftshap", "DeepLiftShap", deeplift_shap, uses_layer=False, signed=True, slow=True,
           reference="Lundberg & Lee, NeurIPS 2017",
           params=(Param("samples", "baselines", 8, 1, 64, 1, at_least=1), Param("seed", "random seed", 0, 0, 99, 1))),
):  # fmt: skip
    register(_method)

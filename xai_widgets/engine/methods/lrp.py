"""Layer-wise Relevance Propagation (LRP) for CNNs, with Zennit's composites.

Bach et al., "On Pixel-Wise Explanations for Non-Linear Classifier Decisions by Layer-Wise
Relevance Propagation", PLoS ONE 2015; Montavon et al., "Layer-Wise Relevance Propagation: An
Overview", 2019. The rules and composites are those of Zennit 0.5 (Anders et al.), checked
against it in ``tests/test_lrp.py``:

========================  ===========  =====================  ==============
composite                 first layer  other convolutions     nn.Linear
========================  ===========  =====================  ==============
``epsilon_plus_flat``     flat         z+ (= alpha1-beta0)    epsilon
``epsilon_gamma_box``     z-box (conv) gamma                  epsilon
``epsilon_alpha2_beta1``  —            alpha2-beta1           epsilon
``epsilon_plus``          —            z+                     epsilon
``epsilon``               —            epsilon                epsilon
========================  ===========  =====================  ==============

The "first layer" is the first convolution or linear layer (a convolution for z-box) that the
forward calls. Every composite passes relevance unchanged through element-wise activations and
batch norm (Zennit's ``Pass``), divides it in proportion to the inputs through average pooling
and residual sums (``Norm``), and lets the gradient carry it through max pooling (to the
winner), dropout, flattening and reshaping. Rules other than epsilon use Zennit's stabiliser
1e-6; z-box's bounds are the image's own per-channel minimum and maximum.

Everything runs on a deep copy of the model in float32, never the caller's model. On the copy,
a batch norm whose input is the output of a convolution or linear layer (each called once, that
output read by no other module) is folded into that layer (eval statistics: w' = w·γ/√(var+ε),
b' = (b−μ)·γ/√(var+ε)+β) and becomes the identity; any other batch norm stays as it is and
passes relevance through unchanged, as Zennit does without a canonizer. torchvision ResNet
blocks get their ``out += identity`` replaced by a residual sum with the ``Norm`` rule (Zennit's
``ResNetCanonizer``). Any other arithmetic between layers (a residual written in ``forward``, a
mean, an input normalisation) and modules with parameters that have no rule are refused.

The relevance starts at the class score: the last layers' outputs times the score's gradient
with respect to them, i.e. one-hot × logits for a class (Zennit's convention with
``attr_output = one_hot * output``), so for the epsilon rule with ε → 0 and no biases the map
sums to the logit. The map is the input's relevance summed over colour channels (signed).
"""

from __future__ import annotations

import copy
import types
from typing import Any

import torch
from torch import nn

from ..errors import MethodError
from ..model_calls import rows_per_image
from ..model_state import evaluation_mode
from ..outputs import select_logits
from .base import Method, Param, SessionView, register
from .lrp_rules import (
    ACTIVATIONS,
    AVERAGE_POOLS,
    BATCH_NORMS,
    COMPOSITES,
    CONVOLUTIONS,
    FIRST_LAYERS,
    STABILIZER,
    RuleFunction,
    choose_rule,
    norm_rule,
    passed,
    stabilized,
)

REFUSED = (nn.Softmax, nn.LogSoftmax, nn.Softmin, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
GRADIENT_OPS = (
    "View", "Reshape", "UnsafeView", "Unsqueeze", "Squeeze", "Permute", "Transpose", "TBackward", "Select",
    "Slice", "Index", "Narrow", "Clone", "ToCopy", "Alias", "Cat", "Stack", "Split", "Unbind", "MaxPool",
    "AdaptiveMaxPool", "Relu", "Threshold", "AccumulateGrad",
)  # fmt: skip
"""Autograd ops that may sit between layers: they move, select or route values (max pooling to
its winner; a ReLU only zeroes what carries no relevance), so their gradient carries relevance."""
FIX = "use 'integrated_gradients' (any model) or 'deeplift' (no max pooling) instead"


class _Residual(torch.autograd.Function):
    """``a + b`` whose backward shares relevance in proportion to ``a`` and ``b`` (Zennit's ``Sum`` with ``Norm``)."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        return a + b

    @staticmethod
    def backward(ctx: Any, relevance: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = ctx.saved_tensors
        share = relevance / stabilized(a + b, STABILIZER)
        return a * share, b * share


def _basic_block_forward(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
    identity = x if self.downsample is None else self.downsample(x)
    out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
    return self.relu(_Residual.apply(identity, out))


def _bottleneck_forward(self: nn.Module, x: torch.Tensor) -> torch.Tensor:
    identity = x if self.downsample is None else self.downsample(x)
    out = self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))))
    return self.relu(_Residual.apply(identity, self.bn3(self.conv3(out))))


RESNET_BLOCKS = {"BasicBlock": _basic_block_forward, "Bottleneck": _bottleneck_forward}


def private_copy(model: nn.Module) -> nn.Module:
    """A float32, eval-mode deep copy of ``model`` without hooks or gradients, ResNet blocks
    rewritten with a residual-sum rule."""
    with evaluation_mode(model):
        try:
            clone = copy.deepcopy(model)
        except Exception as err:
            raise MethodError(
                f"LRP runs on a copy of the model, and copy.deepcopy(model) failed ({type(err).__name__}: {err}); "
                f"make the model copyable or {FIX}."
            ) from None
    clone.float().eval().requires_grad_(False)
    for module in clone.modules():
        for hooks in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"):
            getattr(module, hooks, {}).clear()
        for parameter in module.parameters(recurse=False):
            parameter.grad = None
        kind = type(module)
        if kind.__module__.startswith("torchvision.") and kind.__name__ in RESNET_BLOCKS:
            module.forward = types.MethodType(RESNET_BLOCKS[kind.__name__], module)
    return clone


def check_rules(model: nn.Module) -> None:
    """A MethodError naming a module LRP has no rule for."""
    for name, module in model.named_modules():
        known = isinstance(module, (*CONVOLUTIONS, nn.Linear, *BATCH_NORMS, *ACTIVATIONS))
        has_parameters = any(True for _ in module.parameters(recurse=False))
        if isinstance(module, REFUSED) or has_parameters and not known:
            raise MethodError(
                f"LRP here has rules for convolutions, linear layers, batch norm, element-wise activations and "
                f"pooling; {name or 'the model'!r} is a {type(module).__name__}, which it has no rule for; {FIX}."
            )


def fold_batch_norms(model: nn.Module, x: torch.Tensor) -> set[nn.Module]:
    """Fold every batch norm that directly reads a convolution's or linear layer's output into it
    (found by one forward); the folded batch norms, which the caller makes the identity."""
    calls: dict[nn.Module, int] = {}
    produced: dict[int, nn.Module] = {}
    readers: dict[int, int] = {}
    pairs: list[tuple[nn.Module, nn.Module, int]] = []
    kept: list[torch.Tensor] = []  # alive until the end, so no id is reused

    def record(module: nn.Module, args: tuple, output: Any) -> None:
        calls[module] = calls.get(module, 0) + 1
        tensors = [a for a in args if isinstance(a, torch.Tensor)]
        kept.extend(tensors)
        for tensor in tensors:
            readers[id(tensor)] = readers.get(id(tensor), 0) + 1
        if isinstance(module, (*CONVOLUTIONS, nn.Linear)) and isinstance(output, torch.Tensor):
            kept.append(output)
            produced[id(output)] = module
        if isinstance(module, BATCH_NORMS) and tensors and id(tensors[0]) in produced:
            pairs.append((produced[id(tensors[0])], module, id(tensors[0])))

    leaves = [module for module in model.modules() if not any(True for _ in module.children())]
    handles = [module.register_forward_hook(record) for module in leaves]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    folded = set()
    for layer, norm, output in pairs:
        if calls[layer] == calls[norm] == readers[output] == 1 and norm.running_var is not None:
            _fold(layer, norm)
            folded.add(norm)
    return folded


@torch.no_grad()
def _fold(layer: nn.Module, norm: nn.Module) -> None:
    """w' = w·γ/√(var+ε), b' = (b−μ)·γ/√(var+ε)+β (the arithmetic of Zennit's ``MergeBatchNorm``)."""
    scale = (norm.weight if norm.weight is not None else 1.0) / (norm.running_var + norm.eps) ** 0.5
    bias = layer.bias if layer.bias is not None else torch.zeros_like(norm.running_mean)
    shift = norm.bias if norm.bias is not None else 0.0
    layer.weight.mul_(scale.reshape(-1, *[1] * (layer.weight.dim() - 1)))
    layer.bias = nn.Parameter((bias - norm.running_mean) * scale + shift, requires_grad=False)


def _hook_rules(model: nn.Module, folded: set[nn.Module], composite: str, epsilon: float, gamma: float) -> dict:
    """Forward hooks that give each module its rule; the dict they fill maps each rule's
    autograd node to its output."""
    outputs: dict[Any, torch.Tensor] = {}
    firsts: list[nn.Module] = []
    first_kinds = FIRST_LAYERS.get(composite, ())

    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        x = args[0]
        if isinstance(module, (*CONVOLUTIONS, nn.Linear)):
            if not firsts and isinstance(module, first_kinds):
                firsts.append(module)
            rule = choose_rule(module, composite, module in firsts, epsilon, gamma)
        elif isinstance(module, AVERAGE_POOLS):
            rule = norm_rule(module)
        else:  # activations, batch norm
            rule = passed
        result = RuleFunction.apply(x, x.detach() if module in folded else output.detach(), rule)
        outputs[result.grad_fn] = result
        return result

    kinds = (*CONVOLUTIONS, nn.Linear, *BATCH_NORMS, *ACTIVATIONS, *AVERAGE_POOLS)
    for module in model.modules():
        if isinstance(module, kinds):
            module.register_forward_hook(hook)
    return outputs


def _frontier(score: torch.Tensor, outputs: dict[Any, torch.Tensor]) -> list[torch.Tensor]:
    """The outputs of the last ruled layers below ``score``. Between those layers, only the ops
    of ``GRADIENT_OPS`` are allowed (a MethodError names any other)."""
    found: dict[Any, torch.Tensor] = {}
    seen: set = set()
    stack = [(score.grad_fn, False)]
    while stack:
        node, inside = stack.pop()
        if node is None or (node, inside) in seen:
            continue
        seen.add((node, inside))
        name = type(node).__name__
        if node in outputs or name == "_ResidualBackward":
            if not inside and node in outputs:
                found[node] = outputs[node]
            inside = True
        elif inside and not name.startswith(GRADIENT_OPS):
            raise MethodError(
                f"The model's forward computes {name.removesuffix('Backward0')} between its layers (for example a "
                "residual x + f(x), a mean or an input normalisation written in forward), which LRP has no rule "
                "for; LRP supports sequential CNNs and torchvision ResNets. Write poolings as modules "
                f"(nn.AdaptiveAvgPool2d), or {FIX}."
            )
        stack.extend((child, inside) for child, _ in node.next_functions)
    return list(found.values())


def lrp(
    session: SessionView,
    layer: None,
    target: int,
    composite: str = "epsilon_plus_flat",
    epsilon: float = 1e-6,
    gamma: float = 0.25,
) -> torch.Tensor:
    """LRP relevance of the input for class ``target`` under ``composite``, summed over channels (signed)."""
    check_rules(session.model)
    device = session.input.device
    with torch.inference_mode(False), torch.enable_grad():
        model = private_copy(session.model)
        x = session.input.detach().float().clone()
        folded = fold_batch_norms(model, x)
        outputs = _hook_rules(model, folded, composite, float(epsilon), float(gamma))
        x.requires_grad_(True)
        score = rows_per_image(select_logits(model(x), session.output, 1), 1)[0, target]
        frontier = _frontier(score, outputs) if score.grad_fn is not None else []
        if not frontier:
            return torch.zeros(x.shape[-2:], device=device)
        gradients = torch.autograd.grad(score, frontier, allow_unused=True, retain_graph=True)
        starts = [(t, t.detach() * g) for t, g in zip(frontier, gradients, strict=True) if g is not None]
        if not starts:
            return torch.zeros(x.shape[-2:], device=device)
        (relevance,) = torch.autograd.grad([t for t, _ in starts], x, [r for _, r in starts], allow_unused=True)
    if relevance is None:
        return torch.zeros(x.shape[-2:], device=device)
    return relevance[0].sum(dim=0).detach()


register(
    Method(
        "lrp", "LRP", lrp, uses_layer=False, signed=True,
        reference="Bach et al., PLoS ONE 2015; Montavon et al., 2019 (composites as Zennit)",
        params=(
            Param("composite", "composite", "epsilon_plus_flat", choices=COMPOSITES),
            Param("epsilon", "epsilon", 1e-6, 1e-6, 1.0, 0.01, at_least=1e-12),
            Param("gamma", "gamma", 0.25, 0.0, 2.0, 0.05, at_least=0.0),
        ),
    )
)  # fmt: skip

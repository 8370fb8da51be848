"""Independent reference attributions: plain hooks and a full backward, no engine code."""

from __future__ import annotations

import torch
from torch import nn


def layer_value_and_gradient(
    model: nn.Module, x: torch.Tensor, layer: nn.Module, target: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A layer's output and d logit[target] / d output (batch 1, as the layer lays them out),
    by the textbook: forward hook + tensor hook, full backward on a fresh forward."""
    store: dict[str, torch.Tensor] = {}

    def keep(_m, _i, out):
        out.register_hook(lambda g: store.__setitem__("grad", g))
        store["act"] = out.detach().clone()  # the layer's value before any later in-place op
        return out.clone()  # later in-place ops (ReLU(inplace=True)) act on this copy

    handle = layer.register_forward_hook(keep)
    try:
        model.zero_grad(set_to_none=True)
        model(x.clone().requires_grad_(True))[0, target].backward()
    finally:
        handle.remove()
        model.zero_grad(set_to_none=True)
    return store["act"][0], store["grad"][0]


def _grad_cam(act: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """The formula on C×H×W tensors: ReLU of the channels weighted by their mean gradient."""
    weights = grad.sum(dim=(1, 2)) / (grad.shape[1] * grad.shape[2])
    return (weights[:, None, None] * act).sum(dim=0).clamp(min=0)


def reference_grad_cam(model: nn.Module, x: torch.Tensor, layer: nn.Module, target: int) -> torch.Tensor:
    """Grad-CAM by the textbook at a C×H×W layer."""
    return _grad_cam(*layer_value_and_gradient(model, x, layer, target))


def reference_saliency(model: nn.Module, x: torch.Tensor, target: int) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x)[0, target], x)
    return grad[0].abs().max(dim=0).values


def reference_token_grad_cam(
    model: nn.Module, x: torch.Tensor, layer: nn.Module, target: int, prefix: int, grid: tuple[int, int]
) -> torch.Tensor:
    """Grad-CAM at a token layer the way users write it by hand: drop the prefix tokens and
    reshape the rest to the patch grid (a ``reshape_transform``), then the textbook formula."""

    def as_map(tokens: torch.Tensor) -> torch.Tensor:  # T×C → C×h×w
        return tokens[prefix:, :].T.reshape(tokens.shape[-1], grid[0], grid[1])

    act, grad = layer_value_and_gradient(model, x, layer, target)
    return _grad_cam(as_map(act), as_map(grad))


def reference_channels_last_grad_cam(model: nn.Module, x: torch.Tensor, layer: nn.Module, target: int) -> torch.Tensor:
    """Grad-CAM at an H×W×C (Swin) layer, permuted to channels first by hand."""
    act, grad = layer_value_and_gradient(model, x, layer, target)
    return _grad_cam(act.permute(2, 0, 1), grad.permute(2, 0, 1))


def reference_rollout(attentions: list[torch.Tensor], fusion: str, discard: float, prefix: int) -> torch.Tensor:
    """Attention rollout written out with numpy loops: heads fused, weakest entries zeroed
    (diagonal kept), identity added, rows renormalised, multiplied from the first block on."""
    import numpy as np

    result = None
    for probs in attentions:
        a = probs.double().numpy()
        fused = {"mean": a.mean(axis=0), "max": a.max(axis=0), "min": a.min(axis=0)}[fusion]
        count = int(fused.size * discard)
        if count:
            cut = fused.copy()
            flat = cut.reshape(-1)
            flat[np.argsort(flat, kind="stable")[:count]] = 0
            for i in range(fused.shape[0]):
                cut[i, i] = fused[i, i]
            fused = cut
        mixed = fused + np.eye(fused.shape[0])
        for i in range(mixed.shape[0]):
            mixed[i] /= mixed[i].sum()
        result = mixed if result is None else mixed @ result
    row = result[0] if prefix else result.mean(axis=0)
    return torch.from_numpy(row[prefix:])


def reference_gradient_rollout(attentions: list[torch.Tensor], grads: list[torch.Tensor], prefix: int) -> torch.Tensor:
    """Chefer et al.'s rule written out: R = I; R += mean_h(relu(grad·A)) @ R per block."""
    import numpy as np

    tokens = attentions[0].shape[-1]
    relevance = np.eye(tokens)
    for probs, grad in zip(attentions, grads, strict=True):
        weighted = np.maximum(grad.double().numpy() * probs.double().numpy(), 0).mean(axis=0)
        relevance = relevance + weighted @ relevance
    row = relevance[0] if prefix else relevance.mean(axis=0)
    return torch.from_numpy(row[prefix:])

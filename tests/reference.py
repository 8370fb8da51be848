"""Independent reference attributions: plain hooks and a full backward, no engine code."""

from __future__ import annotations

import torch
from torch import nn


def reference_grad_cam(model: nn.Module, x: torch.Tensor, layer: nn.Module, target: int) -> torch.Tensor:
    """Grad-CAM by the textbook: forward hook + tensor hook, full backward on a fresh forward."""
    store: dict[str, torch.Tensor] = {}

    def keep(_m, _i, out):
        out.register_hook(lambda g: store.__setitem__("grad", g))
        store["act"] = out.detach().clone()  # the layer's value before any later in-place op
        return out.clone()  # later in-place ops (ReLU(inplace=True)) act on this copy

    handle = layer.register_forward_hook(keep)
    try:
        model.zero_grad(set_to_none=True)
        x = x.clone().requires_grad_(True)
        model(x)[0, target].backward()
    finally:
        handle.remove()
        model.zero_grad(set_to_none=True)
    act, grad = store["act"][0].detach(), store["grad"][0]
    weights = grad.sum(dim=(1, 2)) / (grad.shape[1] * grad.shape[2])
    cam = (weights[:, None, None] * act).sum(dim=0)
    return cam.clamp(min=0)


def reference_saliency(model: nn.Module, x: torch.Tensor, target: int) -> torch.Tensor:
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x)[0, target], x)
    return grad[0].abs().max(dim=0).values

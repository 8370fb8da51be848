"""FullGrad: the input-gradient term and every layer's bias-gradient term, summed.

Srinivas & Fleuret, "Full-Gradient Representation for Neural Network Visualization", NeurIPS
2019. Each term is |gradient × value| (the input's, or each convolution's and batch norm's bias),
each channel scaled to 0–1 on its own grid and upsampled to the input, then summed over channels
and terms. The layer argument is not used: every layer with a bias contributes. One backward
(the session's gradient sweep) gives every term.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import INPUT
from .base import Method, SessionView, register

EPS = 1e-7


def effective_bias(module: Optional[nn.Module]) -> Optional[torch.Tensor]:
    """The per-channel bias a module adds: a convolution's, or batch norm's in eval mode
    (β − μ·γ/√(σ² + ε)); None for other modules and for convolutions without one."""
    if isinstance(module, nn.Conv2d) and module.bias is not None:
        return module.bias.detach()
    if isinstance(module, nn.BatchNorm2d) and module.running_mean is not None:
        weight = module.weight.detach() if module.weight is not None else torch.ones_like(module.running_mean)
        bias = module.bias.detach() if module.bias is not None else torch.zeros_like(module.running_mean)
        return bias - module.running_mean * weight / torch.sqrt(module.running_var + module.eps)
    return None


def scaled_channels(values: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """C×h×w ``values``, each channel shifted and scaled to 0–1 on its own grid, upsampled (bilinear)
    to ``size`` and summed over channels: H×W."""
    flat = values.flatten(1)
    low = flat.amin(dim=1)[:, None, None]
    shifted = values - low
    high = shifted.flatten(1).amax(dim=1)[:, None, None]
    scaled = shifted / (high + EPS)
    if tuple(scaled.shape[-2:]) != tuple(size):
        scaled = F.interpolate(scaled[None], size=size, mode="bilinear", align_corners=False)[0]
    return scaled.sum(dim=0)


def full_grad(session: SessionView, layer: None, target: int) -> torch.Tensor:
    """FullGrad's map of class ``target`` at the input's size (unsigned)."""
    x = session.input.detach()[0].float()
    size = (int(x.shape[-2]), int(x.shape[-1]))
    total = scaled_channels((session.gradient(INPUT, target)[0].float() * x).abs(), size)
    modules = dict(session.model.named_modules())
    for info in session.layers:
        bias = effective_bias(modules.get(info.name))
        if bias is None:
            continue
        grad = session.gradient(info.name, target)[0].float()
        total = total + scaled_channels((bias.float().to(grad.device)[:, None, None] * grad).abs(), size)
    return total


register(
    Method("fullgrad", "FullGrad", full_grad, uses_layer=False, reference="Srinivas & Fleuret, NeurIPS 2019")
)

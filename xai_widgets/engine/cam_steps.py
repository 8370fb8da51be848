"""Grad-CAM taken apart: each step's real tensors for one image, layer and class, for teaching.

Grad-CAM (and, for comparison, Grad-CAM++ and LayerCAM) turns a layer's activations A (C×h×w)
and the class score's gradient G with respect to them into a map in five steps: the channel
weights (or, for LayerCAM, per-pixel weights), the weighted sum over channels, the ReLU and the
upsampling to the photo. Every step here is computed from the session's kept tensors, so the
last one is exactly the engine's map.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import ExplainError
from .methods.cam import EPS, grad_cam_weights
from .session import Session

TEACHABLE = ("gradcam", "gradcam++", "layercam")


@dataclass
class CamSteps:
    """The tensors of one CAM, step by step (all on the CPU, float32).

    ``activations`` and ``gradients``: C×h×w; ``weights``: C (per channel) or C×h×w (LayerCAM's
    per-pixel weights); ``weighted_sum``: h×w, before the ReLU (signed); ``cam``: after it."""

    method: str
    layer: str
    target: int
    activations: torch.Tensor
    gradients: torch.Tensor
    weights: torch.Tensor
    weighted_sum: torch.Tensor
    cam: torch.Tensor

    def channel_weights(self) -> torch.Tensor:
        """One weight per channel (LayerCAM's per-pixel weights averaged, to rank channels)."""
        return self.weights if self.weights.dim() == 1 else self.weights.mean(dim=(1, 2))


def cam_steps(session: Session, layer: str, target: int, method: str = "gradcam") -> CamSteps:
    """Every step of ``method`` (one of ``TEACHABLE``) on ``session``'s kept tensors."""
    if method not in TEACHABLE:
        raise ExplainError(f"Teaching mode takes apart {', '.join(TEACHABLE)}; got {method!r}.")
    layer = session.check_layer(layer)
    target = session.check_target(target)
    activation = session.activation(layer)[0].detach().float()
    gradient = session.gradient(layer, target)[0].detach().float()
    if method == "gradcam":
        weights = grad_cam_weights(gradient)
        weighted = torch.einsum("c,chw->hw", weights, activation)
    elif method == "gradcam++":
        squared, cubed = gradient.pow(2), gradient.pow(3)
        denominator = 2 * squared + activation.sum(dim=(1, 2), keepdim=True) * cubed
        alpha = torch.where(gradient != 0, squared / (denominator + EPS), torch.zeros_like(gradient))
        weights = (alpha * torch.relu(gradient)).sum(dim=(1, 2))
        weighted = torch.einsum("c,chw->hw", weights, activation)
    else:
        weights = torch.relu(gradient)
        weighted = (weights * activation).sum(dim=0)
    return CamSteps(
        method=method,
        layer=layer,
        target=target,
        activations=activation.cpu(),
        gradients=gradient.cpu(),
        weights=weights.cpu(),
        weighted_sum=weighted.cpu(),
        cam=torch.relu(weighted).cpu(),
    )

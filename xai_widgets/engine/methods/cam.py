"""Class activation maps computed from a layer's recorded activations and gradients."""

from __future__ import annotations

import torch

from .base import Method, register


def grad_cam(session, layer: str, target: int) -> torch.Tensor:
    """Grad-CAM: ReLU of the activation channels weighted by their mean gradient.

    Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
    Localization", ICCV 2017.
    """
    activation = session.activation(layer)[0]
    weights = session.gradient(layer, target)[0].mean(dim=(1, 2))
    return torch.relu(torch.einsum("c,chw->hw", weights, activation))


GRAD_CAM = register(Method("gradcam", "Grad-CAM", grad_cam, uses_layer=True, reference="Selvaraju et al., ICCV 2017"))

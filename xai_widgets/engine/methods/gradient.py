"""Attributions read off the gradient of the class score with respect to the pixels."""

from __future__ import annotations

import torch

from ..session import INPUT
from .base import Method, register


def saliency(session, layer: None, target: int) -> torch.Tensor:
    """Vanilla saliency: max over colour channels of |d score / d pixel|.

    Simonyan et al., "Deep Inside Convolutional Networks: Visualising Image Classification
    Models and Saliency Maps", ICLR Workshop 2014.
    """
    return session.gradient(INPUT, target)[0].abs().amax(dim=0)


SALIENCY = register(
    Method("saliency", "Saliency (|∂score/∂pixel|)", saliency, uses_layer=False, reference="Simonyan et al., 2014")
)

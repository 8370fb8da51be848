"""The peers' Grad-CAM (and friends), used as their documentation shows, with their hooks removable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn


@dataclass
class Peer:
    """A peer's call ``(x, targets) -> maps`` and how to take its hooks off the model."""

    call: Callable[[torch.Tensor, list[int]], object]
    close: Callable[[], None]


def vit_reshape(tensor: torch.Tensor, height: int = 14, width: int = 14) -> torch.Tensor:
    """What a pytorch-grad-cam user writes for a ViT: drop the CLS token, lay the 196 patch
    tokens (N×197×C) out as an N×C×14×14 map."""
    patches = tensor[:, 1:, :]
    return patches.reshape(tensor.shape[0], height, width, tensor.shape[2]).permute(0, 3, 1, 2)


def pytorch_grad_cam(
    model: nn.Module,
    layer: str,
    method: str = "GradCAM",
    reshape_transform: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
    **options,
) -> Peer:
    import pytorch_grad_cam as library
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cam = getattr(library, method)(
        model=model, target_layers=[model.get_submodule(layer)], reshape_transform=reshape_transform
    )
    for name, value in options.items():  # e.g. ScoreCAM's batch_size is an attribute
        setattr(cam, name, value)

    def call(x, targets):
        return cam(input_tensor=x, targets=[ClassifierOutputTarget(t) for t in targets])

    return Peer(call, cam.activations_and_grads.release)


def torchcam(model: nn.Module, layer: str) -> Peer:
    from torchcam.methods import GradCAM

    extractor = GradCAM(model, target_layer=layer)

    def call(x, targets):
        return extractor(targets if len(targets) > 1 else targets[0], model(x))

    return Peer(call, extractor.remove_hooks)


def captum_layer_grad_cam(model: nn.Module, layer: str) -> Peer:
    from captum.attr import LayerGradCam

    method = LayerGradCam(model, model.get_submodule(layer))
    return Peer(lambda x, targets: method.attribute(x, target=targets, relu_attributions=True), lambda: None)


GRAD_CAM_PEERS: dict[str, Callable[[nn.Module, str], Peer]] = {
    "grad-cam": pytorch_grad_cam,
    "torchcam": torchcam,
    "captum": captum_layer_grad_cam,
}

"""The benchmark's models and inputs (random ResNet-50 and ViT-B/16 weights; the demo's EfficientNet-Lite0)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Optional

import torch
from torch import nn

from xai_widgets import demo


def resnet50() -> nn.Module:
    from torchvision.models import resnet50

    torch.manual_seed(0)
    return resnet50(weights=None).eval()


def vit_b_16() -> nn.Module:
    """torchvision's ViT-B/16 with random weights. Its head starts at zero (every logit 0, no
    gradient anywhere but the head), so it is re-initialised as the encoder's linears are."""
    from torchvision.models import vit_b_16

    torch.manual_seed(0)
    model = vit_b_16(weights=None).eval()
    nn.init.normal_(model.heads.head.weight, std=0.02)
    return model


BUILDERS: dict[str, Callable[[], nn.Module]] = {
    "resnet50": resnet50,
    "efficientnet_lite0": demo.model,
    "vit_b_16": vit_b_16,
}


def models(names: Optional[Sequence[str]] = None) -> dict[str, Callable[[], nn.Module]]:
    """Name → builder of each benchmark model (default all), built when called: a ViT alone
    need not build the others."""
    return {name: BUILDERS[name] for name in (names or BUILDERS)}


def photo_batch(count: int) -> torch.Tensor:
    """``count`` preprocessed 224×224 demo photos (cycled), N×3×224×224."""
    transform = demo.transform()
    photos = [transform(image) for image in demo.photos().values()]
    return torch.stack([photos[i % len(photos)] for i in range(count)])

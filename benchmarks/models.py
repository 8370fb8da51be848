"""The benchmark's models and inputs (random ResNet-50 weights; the demo's EfficientNet-Lite0)."""

from __future__ import annotations

import torch
from torch import nn

from xai_widgets import demo


def models() -> dict[str, nn.Module]:
    from torchvision.models import resnet50

    torch.manual_seed(0)
    return {"resnet50": resnet50(weights=None).eval(), "efficientnet_lite0": demo.model()}


def photo_batch(count: int) -> torch.Tensor:
    """``count`` preprocessed 224×224 demo photos (cycled), N×3×224×224."""
    transform = demo.transform()
    photos = [transform(image) for image in demo.photos().values()]
    return torch.stack([photos[i % len(photos)] for i in range(count)])

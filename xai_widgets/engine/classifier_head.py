"""Finding a model's classifier head: the layer that turns pooled channels into class scores."""

from __future__ import annotations

from typing import Optional

from torch import nn


def classifier_head(model: nn.Module, channels: int) -> Optional[nn.Linear]:
    """The model's last ``nn.Linear`` that reads ``channels`` features (the head after global
    pooling in most CNNs), or None when it has none."""
    found = [m for m in model.modules() if isinstance(m, nn.Linear) and m.in_features == channels]
    return found[-1] if found else None

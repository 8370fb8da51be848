"""Engine tensors to the compact bytes the front end decodes."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch
from PIL import Image


def encode_map(attribution: torch.Tensor) -> dict[str, Any]:
    """A 2-D map as ``{"shape": [h, w], "data": float32 little-endian bytes}``.

    The map is sent at its native resolution: the browser upsamples it. This is the only
    copy from the model's device to the host.
    """
    if attribution.dim() != 2:
        raise ValueError(f"Expected a 2-D attribution map, got shape {tuple(attribution.shape)}.")
    array = attribution.detach().to("cpu", torch.float32).numpy().astype("<f4", copy=False)
    return {"shape": [int(n) for n in array.shape], "data": array.tobytes()}


def decode_map(payload: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`encode_map` (for tests and for saving maps from the widget)."""
    height, width = payload["shape"]
    return np.frombuffer(payload["data"], dtype="<f4").reshape(height, width)


def encode_png(picture: np.ndarray) -> bytes:
    """An H×W×3 uint8 picture as PNG bytes (sent once per image)."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()

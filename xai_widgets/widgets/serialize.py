"""The wire format: engine tensors to the compact bytes the front end decodes, and the
descriptions of layers and methods the front end draws its controls from."""

from __future__ import annotations

import io
from typing import Any, Optional

import numpy as np
import torch
from PIL import Image

from ..engine import Method, Session
from ..engine.layers import LayerInfo


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


def describe_layer(info: LayerInfo) -> dict[str, Any]:
    """The layer-list entry the front end shows: name, map shape and, for tokens, their layout."""
    entry: dict[str, Any] = {"name": info.name, "shape": list(info.shape)}
    if info.kind != "spatial":
        entry["tokens"] = info.layout.describe()
    return entry


def describe_method(method: Method, session: Optional[Session] = None) -> dict[str, Any]:
    """The catalogue entry the front end shows for ``method`` (slider ranges fitted to ``session``'s model)."""
    bounds = method.slider_bounds(session) if session is not None else {}
    return {
        "name": method.name,
        "label": method.label,
        "signed": method.signed,
        "uses_layer": method.uses_layer,
        "uses_target": method.uses_target,
        "slow": method.slow,
        "params": [
            {
                "name": p.name,
                "label": p.label,
                "default": p.default,
                "min": bounds.get(p.name, (p.minimum, p.maximum))[0],
                "max": bounds.get(p.name, (p.minimum, p.maximum))[1],
                "step": p.step,
                "choices": list(p.choices),
            }
            for p in method.params
        ],
    }

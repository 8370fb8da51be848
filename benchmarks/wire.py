"""Bytes on the wire: a map change sends the native-resolution map, not a rendered picture."""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib import colormaps
from PIL import Image
from torch import nn

from xai_widgets import Session
from xai_widgets.widgets.serialize import encode_map


def bytes_row(model_name: str, model: nn.Module, x: torch.Tensor) -> dict:
    session = Session(model, x)
    cam = session.attribution("gradcam")
    payload = len(encode_map(cam)["data"])
    heat = F.interpolate(cam[None, None], size=x.shape[-2:], mode="bilinear")[0, 0]
    heat = (heat - heat.min()) / (heat.max() - heat.min() + 1e-12)
    colored = colormaps["turbo"](heat.numpy())[..., :3] * 255
    overlay = (0.5 * session.display + 0.5 * colored).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(overlay).save(buffer, format="PNG")
    png = len(buffer.getvalue())
    ratio = payload / png
    return {
        "model": model_name,
        "row": f"bytes per map change ({cam.shape[0]}×{cam.shape[1]} map)",
        "ours_bytes": payload,
        "png_bytes": png,
        "ratio": ratio,
        "target": 1 / 20,
        "met": ratio <= 1 / 20,
        "note": "the same overlay at 224×224 sent as a PNG",
    }

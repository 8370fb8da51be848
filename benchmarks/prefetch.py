"""Maps sent ahead: how many, how many bytes and how long until the browser has them all.

Runs the Explorer's prefetch on this thread (``prefetch_now()``) with the messages captured
instead of sent, on the demo model and ResNet-50, after the first map of a demo photo.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from xai_widgets import Explorer
from xai_widgets.widgets.prefetch import DEFAULT_BUDGET, dequantize


def prefetch_row(model_name: str, model: nn.Module, x: torch.Tensor, budget: int = DEFAULT_BUDGET) -> dict:
    """One image's prefetch: maps, bytes on the wire (and as float32), kernel time, quantisation error."""
    explorer = Explorer(model, x[0], prefetch_budget=budget)
    sent: list = []
    explorer.send = lambda content, buffers=None: sent.append((content, buffers))
    started = time.perf_counter()
    status = explorer.prefetch_now()
    wall_ms = 1000 * (time.perf_counter() - started)
    entries = [(entry, buffers[0]) for content, buffers in sent for entry in content["entries"]]
    float32 = sum(4 * entry["shape"][0] * entry["shape"][1] for entry, _ in entries)
    worst = 0.0  # the largest quantisation error, as a share of the map's own range
    for entry, buffer in entries:
        h, w = entry["shape"]
        data = bytes(buffer[entry["offset"] : entry["offset"] + h * w])
        sent_map = dequantize(data, [h, w], entry["low"], entry["step"])
        exact = np.frombuffer(explorer._prefetcher.stored(entry["key"])["data"], dtype="<f4").reshape(h, w)
        if entry["step"] > 0:
            worst = max(worst, float(np.abs(sent_map - exact).max() / (255 * entry["step"])))
    layers = len(explorer.layers)
    explorer.close()
    return {
        "model": model_name,
        "row": "maps sent ahead of one image (every layer, top-5 classes, quick CAM methods)",
        "maps": status["maps"],
        "layers": layers,
        "bytes": status["bytes"],
        "float32_bytes": float32,
        "messages": status["messages"],
        "kernel_ms": round(wall_ms, 1),
        "complete": status["complete"],
        "stopped": status["stopped"],
        "budget": budget,
        "worst_error_of_range": worst,
    }

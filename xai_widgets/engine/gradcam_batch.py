"""Grad-CAM for many images at once, on the device, with memory bounded by the batch size."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Optional, Union

import torch
from torch import nn

from .errors import LayerError
from .methods.cam import grad_cam_weights
from .model_calls import count_calls
from .model_state import evaluation_mode, forward_hooks, model_device, model_dtype
from .outputs import select_logits
from .progress import report
from .session import Session
from .tokens import infer_layout

Targets = Union[None, int, Sequence[int], torch.Tensor]


def grad_cam_batch(
    model: nn.Module,
    images: Union[torch.Tensor, Iterable[torch.Tensor]],
    layer: Optional[str] = None,
    targets: Targets = None,
    *,
    batch_size: int = 64,
) -> torch.Tensor:
    """Grad-CAM maps (N×h×w) of a stack of preprocessed images (N×C×H×W) at ``layer``.

    Each chunk of ``batch_size`` images costs one forward (recording an autograd graph only
    above ``layer``) and one backward that stops at ``layer``, with a hook on that layer
    only; everything stays on the model's device.
    ``targets``: one class for all, one per image, or ``None`` for each image's top-1 class.
    ``layer`` defaults to the session's default layer (for a ViT, the last one whose patch
    tokens get a gradient); token and channels-last layers give maps over their patch grid.
    """
    stack = images if isinstance(images, torch.Tensor) else torch.stack(list(images))
    device, dtype = model_device(model), model_dtype(model)
    if layer is None:
        probe = Session(model, stack[:1])
        layer = probe.default_layer
        probe.close()
    with torch.inference_mode(), evaluation_mode(model):
        calls = count_calls(model, model.get_submodule(layer), stack[:1].to(device, dtype))
    maps = []
    for start in range(0, len(stack), batch_size):
        chunk = stack[start : start + batch_size].to(device, dtype)
        maps.append(_chunk_cams(model, chunk, layer, calls, _chunk_targets(targets, start, len(chunk))))
        report(start + len(chunk), len(stack))
    return torch.cat(maps)


def _chunk_targets(targets: Targets, start: int, size: int) -> Optional[torch.Tensor]:
    if targets is None:
        return None
    if isinstance(targets, int):
        return torch.full((size,), targets, dtype=torch.long)
    return torch.as_tensor(targets, dtype=torch.long)[start : start + size]


def _chunk_cams(
    model: nn.Module, chunk: torch.Tensor, layer: str, calls: int, targets: Optional[torch.Tensor]
) -> torch.Tensor:
    kept: dict[str, torch.Tensor] = {}
    seen = [0]

    def keep(name: str, output: torch.Tensor) -> Optional[torch.Tensor]:
        seen[0] += 1
        if seen[0] < calls:
            return None  # an earlier call of a reused module: Grad-CAM explains the last one
        # The layers below ran with no autograd graph; from here on the graph is recorded,
        # so the memory of the backward is that of the tail only.
        torch.set_grad_enabled(True)
        kept[name] = output.detach().requires_grad_(True)
        return kept[name].clone()  # later in-place ops act on a copy

    with torch.inference_mode(False), torch.no_grad(), evaluation_mode(model):
        with forward_hooks(model, keep, [layer]):
            logits = select_logits(model(chunk))
        torch.set_grad_enabled(True)
        chosen = logits.argmax(dim=1) if targets is None else targets.to(logits.device)
        score = logits.gather(1, chosen[:, None]).sum()
        (grad,) = torch.autograd.grad(score, kept[layer])
    layout = infer_layout(tuple(kept[layer].shape), tuple(chunk.shape[-2:]))
    if layout is None:
        raise LayerError(f"Layer {layer!r} has no output laid out over the image; pick one of Session.layers.")
    activation, grad = layout.to_grid(kept[layer].detach()), layout.to_grid(grad)
    return torch.relu((grad_cam_weights(grad)[:, :, None, None] * activation).sum(dim=1))

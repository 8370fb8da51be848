"""Grad-CAM for many images at once, on the device, with memory bounded by the batch size."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any, Optional, Union

import torch
from torch import nn

from .errors import ImageError, LayerError, TargetError
from .inputs import Transform, prepare_image
from .methods.cam import grad_cam_weights
from .model_calls import count_calls, in_chunks, in_fast_layout, one_at_a_time_note, rows_per_image
from .model_state import check_model, evaluation_mode, forward_hooks, model_device, model_dtype
from .outputs import OutputChoice, select_logits
from .session import Session
from .targets import Target, TargetScores
from .tokens import infer_layout

Targets = Union[None, int, Target, Sequence[Union[int, Target]], torch.Tensor]


def grad_cam_batch(
    model: nn.Module,
    images: Union[torch.Tensor, Iterable[torch.Tensor]],
    layer: Optional[str] = None,
    targets: Targets = None,
    *,
    batch_size: int = 64,
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
) -> torch.Tensor:
    """Grad-CAM maps (N×h×w) of a stack of preprocessed images (N×C×H×W) at ``layer``.

    Each chunk of ``batch_size`` images costs one forward (recording an autograd graph only
    above ``layer``) and one backward that stops at ``layer``, with a hook on that layer
    only; everything stays on the model's device.
    ``targets``: one class for all, one per image, or ``None`` for each image's top-1 class;
    a :class:`~xai_widgets.engine.targets.Target` for all, or one per image (a list).
    ``layer`` defaults to the session's default layer (for a ViT, the last one whose patch
    tokens get a gradient); token and channels-last layers give maps over their patch grid.
    ``transform`` (optional) prepares each image first, so raw images may be passed as a
    list; ``output`` picks the class scores as for :class:`Session`. The caller's images are
    never written to.
    """
    check_model(model)
    stack = _stacked(images, transform)
    batch_size = _checked_batch_size(batch_size)
    device, dtype = model_device(model), model_dtype(model)
    scored = _target_list(targets, len(stack))  # Target objects: each image's own score, as class 0
    first = output if scored is None else TargetScores(scored[:1], output)
    probe = Session(model, stack[:1], output=first)  # checks the layer and the class range on one image
    try:
        layer = probe.check_layer(layer)
        chosen = None if scored is not None else _checked_targets(targets, len(stack), probe)
    finally:
        probe.close()
    with torch.inference_mode(), evaluation_mode(model):
        calls = count_calls(model, model.get_submodule(layer), stack[:1].to(device, dtype))

    def cams(rows: torch.Tensor) -> torch.Tensor:
        part = None if chosen is None else chosen[rows]
        rows_output = output if scored is None else TargetScores([scored[int(row)] for row in rows], output)
        return chunk_cams(model, stack[rows].to(device, dtype), layer, calls, part, rows_output)[0]

    # by row numbers, so that a model that fails on batches can be fed one image at a time
    known = one_at_a_time_note(model)
    maps = in_chunks(model, torch.arange(len(stack)), batch_size, cams)
    if one_at_a_time_note(model) and not known:
        warnings.warn(one_at_a_time_note(model), stacklevel=2)
    return maps


def _stacked(images: Any, transform: Optional[Transform]) -> torch.Tensor:
    if transform is not None:
        if isinstance(images, torch.Tensor) and images.dim() == 4:
            images = list(images)
        return torch.cat([prepare_image(image, transform).tensor for image in images])
    if isinstance(images, torch.Tensor):
        stack = images
    else:
        items = list(images)
        if not items or not all(isinstance(item, torch.Tensor) for item in items):
            raise ImageError(
                "grad_cam_batch takes a non-empty N×C×H×W tensor or a list of C×H×W tensors; pass transform=... "
                "to prepare PIL images, arrays or paths."
            )
        stack = torch.stack(items)
    if stack.dim() != 4 or len(stack) == 0 or min(stack.shape[-2:]) == 0:
        raise ImageError(
            f"grad_cam_batch takes a non-empty N×C×H×W batch of preprocessed images, got shape {tuple(stack.shape)}; "
            "stack C×H×W tensors with torch.stack, or pass transform=... with a list of images."
        )
    return stack


def _checked_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number of images, at least 1; got {batch_size!r}.")
    return batch_size


def _target_list(targets: Targets, count: int) -> Optional[list[Target]]:
    """One Target per image when ``targets`` is a Target or holds any (else ``None``)."""
    if isinstance(targets, Target):
        return [targets] * count
    if targets is None or isinstance(targets, (int, torch.Tensor)) or not any(isinstance(t, Target) for t in targets):
        return None
    values = list(targets)
    if len(values) != count or not all(isinstance(t, Target) for t in values):
        raise TargetError(
            f"Got {len(values)} targets for {count} images; per-image targets must be one Target per image "
            "(wrap class indices as ClassScore(index) to mix them with other targets)."
        )
    return values


def _checked_targets(targets: Targets, count: int, probe: Session) -> Optional[torch.Tensor]:
    if targets is None:
        return None
    if isinstance(targets, int) and not isinstance(targets, bool):
        return torch.full((count,), probe.check_target(targets), dtype=torch.long)
    values = targets.tolist() if isinstance(targets, torch.Tensor) else list(targets)
    if len(values) != count:
        raise TargetError(
            f"Got {len(values)} targets for {count} images; pass one class per image, a single int for all, "
            "or None for each image's top-1 class."
        )
    return torch.as_tensor([probe.check_target(value) for value in values], dtype=torch.long)


def chunk_cams(
    model: nn.Module,
    chunk: torch.Tensor,
    layer: str,
    calls: int,
    targets: Optional[torch.Tensor],
    output: OutputChoice,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Grad-CAM maps (B×h×w) of one batch at ``layer`` (its ``calls``-th call) and the batch's
    class scores (B×K, detached): one forward, one backward that stops at the layer.
    ``targets``: one class per image, or ``None`` for each image's top class. On the CPU the
    batch goes channels-last (:func:`~xai_widgets.engine.model_calls.in_fast_layout`)."""
    return in_fast_layout(model, chunk, lambda laid_out: _chunk_cams(model, laid_out, layer, calls, targets, output))


def _chunk_cams(
    model: nn.Module,
    chunk: torch.Tensor,
    layer: str,
    calls: int,
    targets: Optional[torch.Tensor],
    output: OutputChoice,
) -> tuple[torch.Tensor, torch.Tensor]:
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
            logits = rows_per_image(select_logits(model(chunk), output, len(chunk)), len(chunk))
        torch.set_grad_enabled(True)
        chosen = logits.argmax(dim=1) if targets is None else targets.to(logits.device)
        score = logits.gather(1, chosen[:, None]).sum()
        (grad,) = torch.autograd.grad(score, kept[layer])
    layout = infer_layout(tuple(kept[layer].shape), tuple(chunk.shape[-2:]))
    if layout is None:
        raise LayerError(f"Layer {layer!r} has no output laid out over the image; pick one of Session.layers.")
    activation, grad = layout.to_grid(kept[layer].detach()), layout.to_grid(grad)
    cams = torch.relu((grad_cam_weights(grad)[:, :, None, None] * activation).sum(dim=1))
    return cams, logits.detach()

"""Batched model calls for methods that need new forwards (noisy, interpolated, masked inputs)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Optional

import torch
from torch import nn

from .model_state import evaluation_mode
from .outputs import select_logits

ContextFactory = Callable[[nn.Module], AbstractContextManager]


def input_gradients(
    model: nn.Module,
    inputs: torch.Tensor,
    target: int,
    *,
    batch_size: int = 32,
    context: Optional[ContextFactory] = None,
) -> torch.Tensor:
    """d logit[target] / d input for each of ``inputs`` (N×C×H×W), in chunks of ``batch_size``.

    The model runs in eval mode (so samples are independent and the sum of their logits
    separates), its flags are restored after, and no gradient reaches its parameters.
    ``context(model)`` may wrap the forwards (guided backprop's ReLU rule, for example).
    """
    grads = []
    wrap = context(model) if context is not None else contextlib.nullcontext()
    with torch.inference_mode(False), torch.enable_grad(), evaluation_mode(model), wrap:
        for chunk in inputs.split(batch_size):
            chunk = chunk.detach().clone().requires_grad_(True)
            logits = select_logits(model(chunk))
            (grad,) = torch.autograd.grad(logits[:, target].sum(), chunk)
            grads.append(grad)
    return torch.cat(grads)


def class_scores(model: nn.Module, inputs: torch.Tensor, target: int, *, batch_size: int = 64) -> torch.Tensor:
    """logit[target] of each of ``inputs`` with no autograd graph, in chunks."""
    scores = []
    with torch.inference_mode(), evaluation_mode(model):
        for chunk in inputs.split(batch_size):
            scores.append(select_logits(model(chunk))[:, target].float())
    return torch.cat(scores)

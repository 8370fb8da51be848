"""Batched model calls for methods that need new forwards (noisy, interpolated, masked inputs)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Optional

import torch
from torch import nn

from .model_state import evaluation_mode
from .outputs import OutputChoice, select_logits
from .progress import report

ContextFactory = Callable[[nn.Module], AbstractContextManager]


def input_gradients(
    model: nn.Module,
    inputs: torch.Tensor,
    target: int,
    *,
    batch_size: int = 32,
    context: Optional[ContextFactory] = None,
    output: OutputChoice = None,
) -> torch.Tensor:
    """d logit[target] / d input for each of ``inputs`` (N×C×H×W), in chunks of ``batch_size``.

    The model runs in eval mode (so samples are independent and the sum of their logits
    separates), its flags are restored after, and no gradient reaches its parameters.
    ``context(model)`` may wrap the forwards (guided backprop's ReLU rule, for example);
    ``output`` picks the class scores in the model's output (see ``find_logits``).
    """
    grads = []
    wrap = context(model) if context is not None else contextlib.nullcontext()
    with torch.inference_mode(False), torch.enable_grad(), evaluation_mode(model), wrap:
        for chunk in reported_chunks(inputs, batch_size):
            chunk = chunk.detach().clone().requires_grad_(True)
            logits = select_logits(model(chunk), output)
            (grad,) = torch.autograd.grad(logits[:, target].sum(), chunk)
            grads.append(grad)
    return torch.cat(grads)


def reported_chunks(inputs: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    """``inputs`` in chunks; after each chunk's work, report progress (a reporter may cancel)."""
    done = 0
    for chunk in inputs.split(batch_size):
        yield chunk
        done += len(chunk)
        report(done, len(inputs))


def class_scores(
    model: nn.Module,
    inputs: torch.Tensor,
    target: int,
    *,
    batch_size: int = 64,
    output: OutputChoice = None,
    probabilities: bool = False,
) -> torch.Tensor:
    """logit[target] (or its softmax probability) of each of ``inputs``, no autograd graph, in chunks."""
    scores = []
    with torch.inference_mode(), evaluation_mode(model):
        for chunk in reported_chunks(inputs, batch_size):
            logits = select_logits(model(chunk), output).float()
            scores.append((logits.softmax(dim=1) if probabilities else logits)[:, target])
    return torch.cat(scores)


def layer_swap_scores(
    model: nn.Module,
    x: torch.Tensor,
    layer: str,
    replacements: torch.Tensor,
    target: int,
    *,
    call_index: int = -1,
    batch_size: int = 64,
    output: OutputChoice = None,
    to_output: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
) -> torch.Tensor:
    """logit[target] when ``layer``'s output is replaced by each of ``replacements`` (N×C×H×W).

    ``to_output`` turns a chunk of replacements into the layer's own layout (tokens, channels
    last) just before it is swapped in.

    Only the network's tail runs batched: the input ``x`` (batch 1) flows through the layers
    below once per chunk and the hook swaps in a chunk of replacements, which the tail then
    carries as its batch. A tail that fixes the batch size itself (``x.view(bs, -1)`` with
    ``bs`` read from the input) gets the chunk's input repeated instead. ``call_index``
    chooses which call of a reused module to replace (the last by default).
    """
    module = model.get_submodule(layer)
    scores = []
    with torch.inference_mode(), evaluation_mode(model):
        calls = count_calls(model, module, x)
        wanted = calls + call_index if call_index < 0 else call_index
        for chunk in reported_chunks(replacements, batch_size):
            seen = [0]
            chunk = to_output(chunk) if to_output is not None else chunk

            def swap(_module, _inputs, output, chunk=chunk, seen=seen):
                seen[0] += 1
                return chunk if seen[0] - 1 == wanted else None

            handle = module.register_forward_hook(swap)
            try:
                logits = _tail_logits(model, x, len(chunk), seen, output)
            finally:
                handle.remove()
            scores.append(logits[:, target].float())
    return torch.cat(scores)


def count_calls(model: nn.Module, module: nn.Module, x: torch.Tensor) -> int:
    """How many times ``module`` runs in one forward of ``model`` on ``x``."""
    count = [0]
    handle = module.register_forward_hook(lambda *_: count.__setitem__(0, count[0] + 1))
    try:
        model(x)
    finally:
        handle.remove()
    return count[0]


def _tail_logits(model: nn.Module, x: torch.Tensor, size: int, seen: list, output: OutputChoice) -> torch.Tensor:
    try:
        logits = select_logits(model(x), output)
        if logits.shape[0] == size:
            return logits
    except RuntimeError:
        pass
    seen[0] = 0
    return select_logits(model(x.expand(size, *x.shape[1:])), output)

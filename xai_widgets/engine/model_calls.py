"""Batched model calls for methods that need new forwards (noisy, interpolated, masked inputs)."""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Optional

import torch
from torch import nn

from .model_state import evaluation_mode, scoped
from .outputs import OutputChoice, Scores, select_logits
from .progress import Cancelled, report

ContextFactory = Callable[[nn.Module], AbstractContextManager]

FORWARD_PIXELS_ON_CPU = 4 * 224 * 224
"""Image pixels per forward chunk on the CPU: 4 images of 224×224. Bigger batches buy no speed
on a CPU, and a notebook must fit Binder's 2 GB (49 occluded 224-px copies through
EfficientNet-Lite0 at once took 1 GB more)."""
GRADIENT_PIXELS_ON_CPU = 2 * 224 * 224
"""The same for chunks that keep their autograd graph for a backward (16 Integrated Gradients
steps at once took 1.6 GB more). On 2 cores, 16 steps in pairs take 17 % longer than at once."""


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

    def gradient(chunk: torch.Tensor) -> torch.Tensor:
        chunk = chunk.detach().clone().requires_grad_(True)
        logits = rows_per_image(select_logits(model(chunk), output, len(chunk)), len(chunk))
        (grad,) = torch.autograd.grad(logits[:, target].sum(), chunk)
        return grad

    def gradients(chunk: torch.Tensor) -> torch.Tensor:
        return in_fast_layout(model, chunk, gradient)

    wrap = context(model) if context is not None else contextlib.nullcontext()
    with torch.inference_mode(False), torch.enable_grad(), evaluation_mode(model), wrap:
        return in_chunks(model, inputs, batch_size, gradients, GRADIENT_PIXELS_ON_CPU)


_ONE_AT_A_TIME: weakref.WeakKeyDictionary[nn.Module, str] = weakref.WeakKeyDictionary()
"""Models found to fail on batches of several images, with the note saying so."""


def in_chunks(
    model: nn.Module,
    inputs: torch.Tensor,
    batch_size: int,
    run: Callable[[torch.Tensor], torch.Tensor],
    pixels_on_cpu: int = FORWARD_PIXELS_ON_CPU,
) -> torch.Tensor:
    """``run`` on ``inputs`` in chunks of at most ``batch_size``, results concatenated (see :func:`chunk_results`)."""
    return torch.cat([result for _, result in chunk_results(model, inputs, batch_size, run, pixels_on_cpu)])


def chunk_results(
    model: nn.Module,
    inputs: torch.Tensor,
    batch_size: int,
    run: Callable[[torch.Tensor], Any],
    pixels_on_cpu: int = FORWARD_PIXELS_ON_CPU,
) -> Iterator[tuple[torch.Tensor, Any]]:
    """Yield ``(chunk, run(chunk))`` over ``inputs`` in chunks of at most ``batch_size``, in
    order, reporting progress after each. Images on the CPU go at most ``pixels_on_cpu`` pixels
    a chunk (the memory a batch takes grows with it; the speed does not).

    A chunk that runs out of device memory is split in halves and run again (down to one
    image; nothing is skipped), and the size that fitted is remembered for this model
    (:func:`fitting_batch_size`). A model that fails on a batch of several images but works
    on one (a forward written for batch 1: ``x.view(1, -1)``, an ``assert``) is run one image
    at a time from then on, and :func:`one_at_a_time_note` says so; when one image fails too,
    the batch's error is raised.
    """
    size = 1 if model in _ONE_AT_A_TIME else fitting_batch_size(model, batch_size)
    if inputs.dim() == 4 and inputs.device.type == "cpu":
        size = min(size, max(1, pixels_on_cpu // (inputs.shape[-2] * inputs.shape[-1])))
    done = 0
    while done < len(inputs):
        chunk = inputs[done : done + size]
        try:
            result = run(chunk)
        except Cancelled:
            raise
        except Exception as err:
            if is_out_of_memory(err) and len(chunk) > 1:
                size = len(chunk) // 2  # the same images again, in halves: none is lost
                _FITTING[model] = size
                _free_cached_memory()
                continue
            if len(chunk) == 1:
                raise
            try:
                result = run(chunk[:1])
            except Exception:
                raise err from None
            _ONE_AT_A_TIME[model] = _one_at_a_time(err, len(chunk))
            size, chunk = 1, chunk[:1]
        done += len(chunk)
        report(done, len(inputs))
        yield chunk, result


_FITTING: weakref.WeakKeyDictionary[nn.Module, int] = weakref.WeakKeyDictionary()
"""The batch size that last fitted in device memory, per model (after a split)."""


def fitting_batch_size(model: nn.Module, wanted: int) -> int:
    """``wanted``, or less if a batch of that size ran out of memory for ``model`` before."""
    return min(wanted, _FITTING.get(model, wanted))


def is_out_of_memory(err: BaseException) -> bool:
    """Whether ``err`` is a device (or host) allocator running out of memory."""
    if isinstance(err, (torch.cuda.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(err, RuntimeError) and "out of memory" in str(err).lower()


def _free_cached_memory() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def one_at_a_time_note(model: nn.Module) -> Optional[str]:
    """Why ``model`` is run one image at a time, if it was found to fail on batches."""
    return _ONE_AT_A_TIME.get(model)


def _one_at_a_time(err: Exception, size: int) -> str:
    first_line = (str(err).strip().splitlines() or [""])[0][:200].rstrip(".")
    return (
        f"The model fails on a batch of {size} images ({type(err).__name__}: {first_line}) but works on one, so "
        "methods that run many images are fed one at a time (correct, slower). To batch them, let forward "
        "take N×C×H×W (use x.size(0), not 1; flatten with x.flatten(1))."
    )


def rows_per_image(logits: torch.Tensor, size: int) -> torch.Tensor:
    """``logits`` if they hold one row per input image of a batch of ``size``; else a RuntimeError."""
    if logits.shape[0] != size:
        raise RuntimeError(f"the model returned {logits.shape[0]} rows of class scores for a batch of {size} images")
    return logits


def class_scores(
    model: nn.Module,
    inputs: torch.Tensor,
    target: int,
    *,
    batch_size: int = 64,
    output: OutputChoice = None,
    probabilities: bool = False,
) -> torch.Tensor:
    """logit[target] (or its softmax probability) of each of ``inputs``, no autograd graph, in chunks.
    A target's own score (``output`` a :class:`Scores`) is returned as it is: it has no softmax."""
    probabilities = probabilities and not isinstance(output, Scores)

    def scores(chunk: torch.Tensor) -> torch.Tensor:
        logits = rows_per_image(select_logits(forward_fast(model, chunk), output, len(chunk)), len(chunk)).float()
        return (logits.softmax(dim=1) if probabilities else logits)[:, target]

    with torch.inference_mode(), evaluation_mode(model):
        return in_chunks(model, inputs, batch_size, scores)


_ROW_MAJOR_ONLY: weakref.WeakKeyDictionary[nn.Module, bool] = weakref.WeakKeyDictionary()
"""Models whose forward failed on a channels-last batch (a ``view`` of the input, say)."""


def forward_fast(model: nn.Module, chunk: torch.Tensor) -> Any:
    """``model(chunk)``, in the fast layout of :func:`in_fast_layout`."""
    return in_fast_layout(model, chunk, model)


def in_fast_layout(model: nn.Module, chunk: torch.Tensor, run: Callable[[torch.Tensor], Any]) -> Any:
    """``run(chunk)`` with an image batch on the CPU laid out channels-last, which the CPU's
    convolutions run faster, forward and backward (measured on the demo's EfficientNet-Lite0, 2
    cores: 13.1 against 15.6 ms an image for forwards in chunks of 4, 35.2 against 41.5 ms for
    forward + backward in pairs). The values are the same up to float rounding. A model that fails
    on that layout (a ``view`` of its input, say) is run as before, and from then on always."""
    if chunk.dim() != 4 or chunk.device.type != "cpu" or model in _ROW_MAJOR_ONLY:
        return run(chunk)
    try:
        return run(chunk.contiguous(memory_format=torch.channels_last))
    except Cancelled:
        raise
    except Exception as err:
        if is_out_of_memory(err):
            raise  # the batch is too big whatever its layout: the caller splits it
        result = run(chunk)  # raises the model's own error if the layout was not the problem
        _ROW_MAJOR_ONLY[model] = True
        return result


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
    way: Optional[list[str]] = None,
) -> torch.Tensor:
    """logit[target] when ``layer``'s output is replaced by each of ``replacements`` (N×C×H×W).

    ``to_output`` turns a chunk of replacements into the layer's own layout (tokens, channels
    last) just before it is swapped in.

    Only the network's tail runs batched: the input ``x`` (batch 1) flows through the layers
    below once per chunk and the hook swaps in a chunk of replacements, which the tail then
    carries as its batch. A model that reads the batch size from its input (``x.view(bs, -1)``
    with ``bs = x.size(0)``, as EfficientNet-Lite does) gets an input of the chunk's size whose
    first layer cuts it back to one image, so the layers below still run once (checked once
    against every layer batched); only if that fails does every layer run batched. ``way``
    (a list) receives which of ``TAIL``, ``NARROWED`` or ``FULL`` was used. ``call_index``
    chooses which call of a reused module to replace (the last by default).
    """
    module = model.get_submodule(layer)
    way = [] if way is None else way  # how the tail runs, found on the first chunk and kept for the rest

    def scores(chunk: torch.Tensor) -> torch.Tensor:
        chunk = to_output(chunk) if to_output is not None else chunk
        return _tail_logits(model, module, x, chunk, wanted, output, way)[:, target].float()

    with torch.inference_mode(), evaluation_mode(model):
        calls = count_calls(model, module, x)
        wanted = calls + call_index if call_index < 0 else call_index
        return in_chunks(model, replacements, batch_size, scores)


TAIL, NARROWED, FULL = "tail", "narrowed", "full"
"""How a swapped batch runs: behind one input image; behind an input of the batch's size whose
first layer goes back to one image (models that read the batch size from their input); or
behind the input repeated, every layer batched (the slow path)."""


def _tail_logits(
    model: nn.Module,
    module: nn.Module,
    x: torch.Tensor,
    chunk: torch.Tensor,
    wanted: int,
    output: OutputChoice,
    way: list[str],
) -> torch.Tensor:
    size = len(chunk)
    for mode in way or (TAIL, NARROWED, FULL):
        try:
            logits = _swapped_forward(model, module, x, chunk, wanted, output, mode)
        except RuntimeError:
            if mode == FULL:
                raise
            continue
        if logits.shape[0] != size:
            continue
        if not way:
            if mode == NARROWED and not _agrees(model, module, x, chunk, wanted, output, logits):
                continue
            way.append(mode)
        return logits
    raise RuntimeError(f"the model's output does not have one row per swapped-in map ({size})")


def _swapped_forward(
    model: nn.Module,
    module: nn.Module,
    x: torch.Tensor,
    chunk: torch.Tensor,
    wanted: int,
    output: OutputChoice,
    mode: str,
) -> torch.Tensor:
    seen = [0]

    def swap(_module, _inputs, result):
        seen[0] += 1
        return chunk if seen[0] - 1 == wanted else None

    handles = [module.register_forward_hook(scoped(swap))]
    if mode == NARROWED:
        handles += _narrow_first_call(model, len(chunk))
    try:
        source = x if mode == TAIL else x.expand(len(chunk), *x.shape[1:])
        return select_logits(model(source), output, len(chunk))
    finally:
        for handle in handles:
            handle.remove()


def _narrow_first_call(model: nn.Module, size: int) -> list:
    """Hooks that cut the first submodule's input back to one image: the model sees a batch of
    ``size`` (and reads that size from its input) while the layers below the swap run once."""
    done = [False]

    def narrow(_module, args):
        if done[0] or not args or not isinstance(args[0], torch.Tensor) or args[0].shape[:1] != (size,):
            return None
        done[0] = True
        return (args[0][:1], *args[1:])

    return [child.register_forward_pre_hook(scoped(narrow)) for name, child in model.named_modules() if name]


def _agrees(
    model: nn.Module,
    module: nn.Module,
    x: torch.Tensor,
    chunk: torch.Tensor,
    wanted: int,
    output: OutputChoice,
    logits: torch.Tensor,
) -> bool:
    """Whether the narrowed run gives what every layer batched gives (checked once, on two rows)."""
    rows = min(2, len(chunk))
    try:
        full = _swapped_forward(model, module, x, chunk[:rows], wanted, output, FULL)
    except RuntimeError:
        return False
    same_shape = full.shape == logits[:rows].shape
    return same_shape and torch.allclose(full.float(), logits[:rows].float(), rtol=1e-4, atol=1e-5)


def count_calls(model: nn.Module, module: nn.Module, x: torch.Tensor) -> int:
    """How many times ``module`` runs in one forward of ``model`` on ``x``."""
    count = [0]
    handle = module.register_forward_hook(scoped(lambda *_: count.__setitem__(0, count[0] + 1)))
    try:
        model(x)
    finally:
        handle.remove()
    return count[0]

"""Run a model without leaving a trace: training flags restored, hooks always removed."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Optional

import torch
from torch import nn

from .errors import LayerError


def check_model(model: object) -> nn.Module:
    """``model`` itself if it is an ``nn.Module``; else a TypeError that says how to make one."""
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module, not {type(model).__name__}; wrap a plain function in an nn.Module."
        )
    return model


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer (CPU for a model with neither)."""
    for tensor in (*model.parameters(), *model.buffers()):
        return tensor.device
    return torch.device("cpu")


def model_dtype(model: nn.Module) -> torch.dtype:
    """The floating dtype of the model's first floating parameter (float32 if none)."""
    for tensor in model.parameters():
        if tensor.is_floating_point():
            return tensor.dtype
    return torch.float32


def is_scripted(model: nn.Module) -> bool:
    """A TorchScript model (``torch.jit.script`` or ``trace``): its forward runs no Python hooks."""
    return isinstance(model, torch.jit.ScriptModule)


SCRIPTED = (
    "TorchScript models do not run forward hooks, so no layer can be explained; pass the original nn.Module "
    "(before torch.jit.script/trace) for layer methods, or use an input method such as 'saliency'."
)


def unwrap_compiled(model: nn.Module) -> tuple[nn.Module, Optional[str]]:
    """The module inside a ``torch.compile`` wrapper, with a note; other models as they are.

    Layer outputs can only be recorded and differentiated in eager mode, so a compiled model
    is explained through its original module: same weights, same maps, no compilation.
    """
    original = getattr(model, "_orig_mod", None)
    if type(model).__name__ == "OptimizedModule" and isinstance(original, nn.Module):
        return original, (
            "The model was compiled with torch.compile; it is explained through its original module "
            "(model._orig_mod, same weights) run eagerly, because layer hooks and gradients need eager mode."
        )
    return model, None


@contextlib.contextmanager
def evaluation_mode(model: nn.Module) -> Iterator[bool]:
    """Switch ``model`` to eval mode; restore every module's own flag afterwards.

    Yields whether the model had been in training mode.
    """
    flags = [(module, module.training) for module in model.modules()]
    was_training = any(flag for _, flag in flags)
    model.eval()
    try:
        yield was_training
    finally:
        for module, flag in flags:
            module.training = flag


Hook = Callable[[str, torch.Tensor], Optional[torch.Tensor]]


@contextlib.contextmanager
def forward_hooks(model: nn.Module, on_output: Hook, names: Optional[Sequence[str]] = None) -> Iterator[None]:
    """Call ``on_output(name, output)`` after each named submodule's forward.

    Every hook is removed when the block ends, also when it raises.
    """
    modules = dict(model.named_modules())
    if names is None:
        chosen = [(name, module) for name, module in modules.items() if name]
    else:
        missing = [name for name in names if name not in modules]
        if missing:
            raise LayerError(unknown_layer_message(missing[0], [n for n in modules if n]))
        chosen = [(name, modules[name]) for name in names]
    handles = []
    try:
        for name, module in chosen:
            handles.append(module.register_forward_hook(_bind(on_output, name)))
        yield
    finally:
        for handle in handles:
            handle.remove()


def _bind(on_output: Hook, name: str):
    def hook(module: nn.Module, inputs: tuple, output: object):
        if not isinstance(output, torch.Tensor) or _passes_through(module, inputs, output):
            return None
        return on_output(name, output)

    return hook


def _passes_through(module: nn.Module, inputs: tuple, output: torch.Tensor) -> bool:
    """An identity (padding of 0, nn.Identity, ...): its output only repeats the layer before."""
    return bool(inputs) and output is inputs[0] and not getattr(module, "inplace", False)


def unknown_layer_message(name: str, known: Sequence[str]) -> str:
    """A message for a layer name that is not in the model, with the closest names."""
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return f"The model has no layer named {name!r}.{hint} See Session.layers (or Explorer.layers) for the list."

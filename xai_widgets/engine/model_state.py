"""Run a model without leaving a trace: training flags restored, hooks always removed."""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Optional

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


def unusable_weights_message(model: nn.Module) -> Optional[str]:
    """Why the model's weights cannot be run or differentiated as they are (``None`` when they can)."""
    tensors = [*model.parameters(), *model.buffers()]
    if any(t.is_meta for t in tensors):
        return (
            "The model's weights are on the 'meta' device: they have shapes but no values (a model built "
            "with torch.device('meta') or an empty-weights loader). Load its weights first, e.g. "
            "model.to_empty(device='cpu') then model.load_state_dict(state_dict)."
        )
    if any(t.is_inference() for t in tensors):
        return (
            "The model's weights are inference tensors (the model was created or loaded inside "
            "torch.inference_mode()), which autograd cannot use. Create or load it outside inference_mode "
            "(torch.no_grad() is fine)."
        )
    return None


def quantized_modules(model: nn.Module) -> list[str]:
    """Names of quantized submodules (torch.ao.nn.quantized...): their integer kernels have no gradient."""
    return [name for name, module in model.named_modules() if ".quantized" in type(module).__module__]


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


class _ModelUse:
    """This library's use of one model: a lock every call takes, and the training flags
    saved by the first of the (nested) users, restored by the last."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users = 0
        self.flags: list[tuple[nn.Module, bool]] = []


_uses: weakref.WeakKeyDictionary[nn.Module, _ModelUse] = weakref.WeakKeyDictionary()
_uses_lock = threading.Lock()


def _use_of(model: nn.Module) -> _ModelUse:
    with _uses_lock:
        use = _uses.get(model)
        if use is None:
            use = _uses[model] = _ModelUse()
        return use


@contextlib.contextmanager
def evaluation_mode(model: nn.Module) -> Iterator[bool]:
    """Hold ``model`` for one call of this library: its lock, and eval mode.

    Every model call of the engine goes through here, so two widgets, a script and a worker
    thread sharing one model take turns. The first user saves every module's training flag
    and switches to eval; only the last one restores them, so a model in training mode
    comes back in training mode and its BatchNorm statistics never move.
    Yields whether the model had been in training mode.
    """
    use = _use_of(model)
    with use.lock:
        if use.users == 0:
            use.flags = [(module, module.training) for module in model.modules()]
            model.eval()
        use.users += 1
        try:
            yield any(flag for _, flag in use.flags)
        finally:
            use.users -= 1
            if use.users == 0:
                for module, flag in use.flags:
                    module.training = flag
                use.flags = []


def scoped(hook: Callable[..., Any]) -> Callable[..., Any]:
    """``hook`` acting only in the thread that registers it: the library's own call.

    Hooks are registered on the user's modules, so a forward of the same model that the
    user runs meanwhile in another thread would otherwise see them (a recorded layer, a
    swapped batch); there the wrapped hook does nothing.
    """
    owner = threading.get_ident()

    def run(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() != owner:
            return None
        return hook(*args, **kwargs)

    return run


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
            handles.append(module.register_forward_hook(scoped(_bind(on_output, name))))
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

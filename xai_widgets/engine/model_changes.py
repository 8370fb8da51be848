"""Notice a model changed after a forward was kept: a layer replaced, weights trained or loaded."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional

import torch
from torch import nn


class ModelSnapshot:
    """Which module sits at each name and which version each parameter is at, now.

    Modules and parameters are held by identity (never copied), and a tensor's ``_version``
    counts its in-place changes (``optimizer.step()``, ``load_state_dict``), so taking and
    comparing a snapshot costs a walk over the module tree, not over the weights' values. The
    check runs on every control change of a widget, so it first compares each module's own
    children and parameters by identity and each parameter's version (about 0.1 ms
    for ResNet-50), and names what changed only when something did.
    Buffers are left out: some models update their own (caches, statistics) in forward.
    Writes through ``param.data`` bypass the version counter and go unnoticed.
    """

    def __init__(self, model: nn.Module) -> None:
        self.modules = dict(model.named_modules())
        self.tensors = {name: (tensor, _version(tensor)) for name, tensor in _named_tensors(model)}
        self._kept_alive = list(self.modules.values())  # keeps the ids below from being reused
        self._ids = _own_ids(self._kept_alive)
        self._versions = [version for _, version in self.tensors.values()]
        self._parameters = [tensor for tensor, _ in self.tensors.values()]

    def _same(self, model: nn.Module) -> bool:
        """The quick check: the same root, children, parameters and parameter versions."""
        return (
            bool(self._kept_alive)
            and self._kept_alive[0] is model
            and _own_ids(self._kept_alive) == self._ids
            and [tensor._version for tensor in self._parameters] == self._versions
        )

    def change(self, model: nn.Module) -> Optional[str]:
        """What changed in ``model`` since the snapshot, in words; ``None`` when nothing did."""
        if self._same(model):
            return None
        now = dict(model.named_modules())
        replaced = [name for name, module in now.items() if name in self.modules and self.modules[name] is not module]
        added = [name for name in now if name not in self.modules]
        removed = [name for name in self.modules if name not in now]
        if replaced or added or removed:
            parts = [_names("replaced", replaced), _names("added", added), _names("removed", removed)]
            return "its layers changed (" + "; ".join(part for part in parts if part) + ")"
        changed = [name for name, tensor in _named_tensors(model) if self._moved(name, tensor)]
        if changed:
            return f"its weights changed ({_names('', changed).strip()}: trained or loaded since)"
        return None

    def _moved(self, name: str, tensor: torch.Tensor) -> bool:
        """Whether the parameter at ``name`` is another tensor now, or was changed in place."""
        kept = self.tensors.get(name)
        return kept is None or kept[0] is not tensor or kept[1] != _version(tensor)


def _own_ids(modules: list[nn.Module]) -> list[int]:
    """The ids of each module's own children and parameters, in order (``None`` for an empty slot)."""
    ids: list[int] = []
    for module in modules:
        ids.extend(map(id, module._modules.values()))
        ids.extend(map(id, module._parameters.values()))
    return ids


def _named_tensors(model: nn.Module) -> Iterator[tuple[str, torch.Tensor]]:
    return model.named_parameters(remove_duplicate=False)


def _version(tensor: torch.Tensor) -> int:
    return tensor._version


def _names(what: str, names: list[str], shown: int = 3) -> str:
    if not names:
        return ""
    listed = ", ".join(repr(name or "<model>") for name in names[:shown])
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"{what} {listed}{more}".strip()

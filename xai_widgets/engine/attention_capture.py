"""Record a transformer's attention probabilities during one forward, without editing the model.

Three ways attention is computed, three ways to see it:

- ``nn.MultiheadAttention`` (torchvision's ViT): a forward pre-hook asks it for per-head
  weights (``need_weights=True, average_attn_weights=False``); a forward hook records them
  and hands the caller what it had asked for, so the model's own code sees no change.
- timm-style modules that compute ``softmax(q·kᵀ)`` and pass it through an ``attn_drop``
  child: a hook on that child records the probabilities.
- Fused attention through ``F.scaled_dot_product_attention`` (timm's default, and custom
  modules): while the forward runs, that function is replaced, for this thread only, by an
  explicit computation that records its probabilities and returns the same result.

Each record is the tensor the model multiplies with the values, so gradients with respect to
it (for gradient-weighted attention) flow from the class score.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .model_state import scoped


@dataclass
class AttentionRecord:
    """One module's attention in the last forward.

    ``point`` is the tensor the model used (differentiate with respect to it); ``shape`` is
    its 1×heads×queries×keys view.
    """

    point: torch.Tensor
    shape: tuple[int, ...]

    def probabilities(self) -> torch.Tensor:
        """heads×queries×keys, detached."""
        return self.point.detach().reshape(self.shape)[0]

    def as_probabilities(self, grad: torch.Tensor) -> torch.Tensor:
        """A gradient with respect to ``point`` in the heads×queries×keys view."""
        return grad.reshape(self.shape)[0]


_local = threading.local()
_patch_lock = threading.Lock()
_patch_users = 0
_original_sdpa = F.scaled_dot_product_attention


def _recording_sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, **kwargs):
    recorder: Optional[AttentionRecorder] = getattr(_local, "recorder", None)
    if recorder is None:
        return _original_sdpa(
            query, key, value, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal, scale=scale, **kwargs
        )
    if kwargs.get("enable_gqa") and key.shape[-3] != query.shape[-3]:  # grouped-query: share each key head
        groups = query.shape[-3] // key.shape[-3]
        key, value = key.repeat_interleave(groups, dim=-3), value.repeat_interleave(groups, dim=-3)
    scores = (query @ key.transpose(-2, -1)) * (1 / math.sqrt(query.shape[-1]) if scale is None else scale)
    if is_causal:
        causal = torch.ones(scores.shape[-2:], dtype=torch.bool, device=scores.device).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else scores + attn_mask
    probabilities = scores.softmax(dim=-1)
    recorder.record(recorder.current_module(), probabilities)
    if dropout_p > 0:
        probabilities = F.dropout(probabilities, p=dropout_p)
    return probabilities @ value


@contextlib.contextmanager
def _sdpa_patched() -> Iterator[None]:
    global _patch_users
    with _patch_lock:
        if _patch_users == 0:
            F.scaled_dot_product_attention = _recording_sdpa
        _patch_users += 1
    try:
        yield
    finally:
        with _patch_lock:
            _patch_users -= 1
            if _patch_users == 0:
                F.scaled_dot_product_attention = _original_sdpa


def _is_explicit_attention(module: nn.Module) -> bool:
    """A timm-style attention module whose probabilities pass through an ``attn_drop`` child."""
    return isinstance(getattr(module, "attn_drop", None), nn.Module) and hasattr(module, "num_heads")


class AttentionRecorder:
    """Context manager: while active, records every attention module's probabilities.

    ``records`` maps module name → :class:`AttentionRecord` in call order (a module called
    twice keeps its last call). ``points`` lists the modules whose outputs are attention
    probabilities, so layer discovery does not mistake them for feature maps.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.records: dict[str, AttentionRecord] = {}
        self.points: set[str] = set()
        self._stack: list[str] = []
        self._handles: list[Any] = []
        self._wanted: dict[int, tuple[bool, bool]] = {}  # per MHA call: what the caller asked for

    def record(self, name: str, probabilities: torch.Tensor, point: Optional[torch.Tensor] = None) -> None:
        """Keep ``probabilities`` (…×heads×queries×keys) as module ``name``'s attention."""
        if probabilities.dim() == 3:  # heads×queries×keys of an unbatched call
            probabilities = probabilities[None]
        self.records.pop(name, None)
        self.records[name] = AttentionRecord(
            point if point is not None else probabilities, tuple(probabilities.shape[-4:])
        )

    def current_module(self) -> str:
        """The innermost module running now (where a functional attention call comes from)."""
        return self._stack[-1] if self._stack and self._stack[-1] else "attention"

    def __enter__(self) -> AttentionRecorder:
        try:
            for name, module in self.model.named_modules():
                self._watch(name, module)
        except BaseException:
            self._remove()
            raise
        self._previous = getattr(_local, "recorder", None)
        _local.recorder = self
        self._patch = _sdpa_patched()
        self._patch.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self._patch.__exit__(*exc)
        finally:
            _local.recorder = self._previous
            self._remove()

    def _remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _enter(self, name: str) -> None:
        self._stack.append(name)

    def _leave(self) -> None:
        if self._stack:
            self._stack.pop()

    def _watch(self, name: str, module: nn.Module) -> None:
        self._handles.append(module.register_forward_pre_hook(scoped(lambda *_: self._enter(name))))
        self._handles.append(module.register_forward_hook(scoped(lambda *_: self._leave())))
        if isinstance(module, nn.MultiheadAttention):
            self._handles.append(module.register_forward_pre_hook(scoped(self._ask_for_weights), with_kwargs=True))
            self._handles.append(module.register_forward_hook(scoped(self._keep_mha_weights(name)), with_kwargs=True))
        elif _is_explicit_attention(module) and name:
            drop_name = f"{name}.attn_drop"
            self.points.add(drop_name)

            def keep(_module, _inputs, output, owner=name):
                if isinstance(output, torch.Tensor) and output.dim() == 4:
                    self.record(owner, output)

            self._handles.append(module.attn_drop.register_forward_hook(scoped(keep)))

    def _ask_for_weights(self, module: nn.Module, args: tuple, kwargs: dict) -> Optional[tuple[tuple, dict]]:
        kwargs = {**dict(zip(_MHA_OPTIONAL, args[3:], strict=False)), **kwargs}
        if kwargs.get("is_causal"):
            return None  # PyTorch cannot return weights for a causal call; leave it as it is
        self._wanted[id(module)] = (kwargs.get("need_weights", True), kwargs.get("average_attn_weights", True))
        kwargs.update(need_weights=True, average_attn_weights=False)
        return tuple(args[:3]), kwargs

    def _keep_mha_weights(self, name: str):
        def hook(module: nn.Module, args: tuple, kwargs: dict, output: Any):
            need_weights, average = self._wanted.pop(id(module), (True, True))
            out, weights = output
            if weights is None:
                return None
            base = weights._base  # the tensor multiplied with the values; `weights` is a view of it
            point = base if base is not None and base.numel() == weights.numel() else weights
            self.record(name, weights, point=point)
            if not need_weights:
                return out, None
            return out, weights.mean(dim=-3) if average else weights

        return hook


_MHA_OPTIONAL = ("key_padding_mask", "need_weights", "attn_mask", "average_attn_weights", "is_causal")

"""Rows for attention rollout on a ViT: ours against the hook-based rollout users write by hand.

There is no rollout in pytorch-grad-cam, torchcam or Captum. What users run is a short script
in the style of jacobgil's vit-explain (written for timm's ViT; its hooks sit on each block's
``attn_drop``): hooks collect every block's attention during one forward under ``no_grad``,
then a loop fuses the heads, zeroes the weakest entries, adds the identity for the residual
path, renormalises the rows and multiplies the blocks together; the CLS row over the patches
is the map. Each call runs the forward again. :class:`HookRollout` is that script for
torchvision's ViT, written for this benchmark: torchvision's encoder blocks call their
``nn.MultiheadAttention`` with ``need_weights=False``, so a forward pre-hook asks for the
per-head weights and a forward hook keeps them.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from xai_widgets import Session

from .interactive import row
from .timing import median_seconds


class HookRollout:
    """Hand-written attention rollout: hooks on every attention module, one forward a call."""

    def __init__(self, model: nn.Module, head_fusion: str = "mean", discard_ratio: float = 0.0) -> None:
        self.model = model
        self.head_fusion = head_fusion
        self.discard_ratio = discard_ratio
        self.attentions: list[torch.Tensor] = []
        self.handles = []
        for module in model.modules():
            if isinstance(module, nn.MultiheadAttention):
                self.handles.append(module.register_forward_pre_hook(self._ask_for_weights, with_kwargs=True))
                self.handles.append(module.register_forward_hook(self._keep_weights))

    @staticmethod
    def _ask_for_weights(module: nn.Module, args: tuple, kwargs: dict[str, Any]) -> tuple[tuple, dict[str, Any]]:
        kwargs["need_weights"] = True
        kwargs["average_attn_weights"] = False
        return args, kwargs

    def _keep_weights(self, module: nn.Module, inputs: tuple, output: tuple) -> None:
        self.attentions.append(output[1].cpu())  # batch × heads × tokens × tokens

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.attentions = []
        with torch.no_grad():
            self.model(x)
        return self.rollout()

    def rollout(self) -> torch.Tensor:
        tokens = self.attentions[0].shape[-1]
        identity = torch.eye(tokens)
        result = identity
        for attention in self.attentions:
            if self.head_fusion == "max":
                fused = attention.amax(dim=1)
            elif self.head_fusion == "min":
                fused = attention.amin(dim=1)
            else:
                fused = attention.mean(dim=1)
            flat = fused.reshape(fused.shape[0], -1)
            weakest = int(flat.shape[-1] * self.discard_ratio)
            if weakest:
                drop = flat.topk(weakest, dim=-1, largest=False).indices[0]
                flat[0, drop[drop != 0]] = 0  # CLS → CLS stays
            fused = flat.reshape(fused.shape)
            mixed = (fused + identity) / 2
            mixed = mixed / mixed.sum(dim=-1, keepdim=True)
            result = mixed @ result
        cls_row = result[0, 0, 1:]
        side = int(cls_row.numel() ** 0.5)
        heat = cls_row.reshape(side, side)
        return heat / heat.max()

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []


def rollout_rows(model_name: str, model: nn.Module, x: torch.Tensor, repeats: int) -> list[dict]:
    """A rollout control move (head fusion, discard ratio) on a live session, and a cold map."""
    params = {"head_fusion": "max", "discard_ratio": 0.9}  # vit-explain's suggested setting
    baseline = HookRollout(model, **params)
    session = Session(model, x)
    try:
        # the same map first (mean of heads, nothing discarded: the two discard rules differ on ties)
        baseline.head_fusion, baseline.discard_ratio = "mean", 0.0
        theirs = baseline(x)
        ours = session.attribution("rollout").cpu()
        gap = float((ours / ours.max() - theirs).abs().max())
        baseline.head_fusion, baseline.discard_ratio = params["head_fusion"], params["discard_ratio"]

        peer = {"hook rollout": median_seconds(lambda: baseline(x), repeats)}
        ours_change = median_seconds(
            lambda: session.attribution("rollout", **params),
            repeats,
            setup=lambda: session.clear_caches(gradients=False),
        )
        ours_cold = median_seconds(lambda: Session(model, x).attribution("rollout", **params), repeats)
    finally:
        baseline.close()
        session.close()
    described = (
        "peer: hand-written rollout (hooks ask each nn.MultiheadAttention for per-head weights, one no_grad "
        "forward a call, then the vit-explain-style loop; no library ships rollout); head_fusion=max, "
        f"discard_ratio=0.9; with mean fusion and no discard both maps agree to {gap:.1e}"
    )
    return [
        row(model_name, "rollout, head fusion / discard ratio change", ours_change, peer, target=0.02, note=described),
        row(
            model_name,
            "rollout, cold (new image: forward included)",
            ours_cold,
            peer,
            target=1.25,
            note="ours records every layer and keeps the graph in that forward, for the moves that follow",
        ),
    ]

"""LeGrad: a ViT's attention maps weighed by how each block's own tokens form the class score.

Bousselham et al., "LeGrad: An Explainability Method for Vision Transformers via Feature
Formation Sensitivity", 2024 (arXiv:2404.03214). For each block l, its output tokens are
mean-pooled and read through the model's final norm and classifier head: a class score s_l
of that block alone. The gradient of s_l with respect to the block's attention probabilities
A_l, negatives clamped to zero, is averaged over heads and query tokens; the prefix keys
(CLS, registers) are dropped and the per-block patch maps averaged over the blocks used.
Attention values are not multiplied in. This follows torchcam 0.5's ``LeGrad`` (which reads
``heads(encoder.ln(tokens.mean(1)))`` for torchvision's ViT).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Optional, Protocol

import torch
from torch import nn

from ..errors import MethodError
from ..model_state import evaluation_mode
from ..outputs import select_logits
from .base import Method, Param, SessionView, register

Readout = Callable[[torch.Tensor], torch.Tensor]
"""Pooled tokens (N×dim) → the classifier's raw output (N×classes)."""


class LeGradView(SessionView, Protocol):
    """A session that can differentiate a function of a recorded layer at an attention map."""

    def attention_gradient_of(
        self, layer: Any, source: str, score: Callable[[torch.Tensor], torch.Tensor]
    ) -> torch.Tensor: ...


def _submodule(model: nn.Module, path: str) -> Optional[nn.Module]:
    try:
        return model.get_submodule(path)
    except AttributeError:
        return None


def _readout(model: nn.Module) -> Optional[Readout]:
    """The model's final norm and classifier head as one function, or ``None`` when not recognised.

    torchvision's ViT (``encoder.ln``, ``heads``) and timm-style ViTs (``norm``, ``fc_norm``,
    ``head``, and ``head_dist`` averaged in as a distilled DeiT does at inference).
    """
    norm, heads = _submodule(model, "encoder.ln"), _submodule(model, "heads")
    if norm is not None and heads is not None:
        return lambda pooled: heads(norm(pooled))
    head = _submodule(model, "head")
    if head is not None and not isinstance(head, nn.Identity):
        norms = [m for m in (_submodule(model, "norm"), _submodule(model, "fc_norm")) if m is not None]
        dist = _submodule(model, "head_dist")

        def timm_style(pooled: torch.Tensor) -> torch.Tensor:
            for module in norms:
                pooled = module(pooled)
            scores = head(pooled)
            return scores if dist is None else (scores + dist(pooled)) / 2

        return timm_style
    return None


def _blocks(names: list[str]) -> list[str]:
    """The transformer block holding each attention module: the child, under the container the
    blocks share (``encoder.layers``, ``blocks``), that leads to it."""
    parts = [name.split(".") for name in names]
    if len(parts) == 1:
        return [".".join(parts[0][:-1])]
    shared = 0
    while all(len(p) > shared + 1 and p[shared] == parts[0][shared] for p in parts):
        shared += 1
    return [".".join(p[: shared + 1]) for p in parts]


def _first(first_block: int, count: int) -> int:
    try:
        return range(count)[operator.index(first_block)]
    except IndexError:
        raise MethodError(
            f"Block {first_block} does not exist: the model has {count} attention blocks, so pick a first block "
            f"from 0 to {count - 1} (or -k for the last k blocks)."
        ) from None


def legrad(session: LeGradView, layer: None, target: int, first_block: int = 0) -> torch.Tensor:
    """LeGrad: mean over blocks ``first_block``… of ReLU(∂s_l/∂A_l), averaged over heads and queries.

    s_l is the target's score read from block l's own tokens (mean-pooled, then the model's final
    norm and classifier head). ``first_block`` counts from 0 (−k: the last k blocks).
    """
    session.check_attention_layer(-1)  # a clear error when the model recorded no attention
    names = session.attention_layers
    start = _first(first_block, len(names))
    readout = _readout(session.model)
    if readout is None:
        raise MethodError(
            "LeGrad reads each block's tokens through the model's final norm and classifier head, and found "
            "neither here (it knows torchvision's VisionTransformer: encoder.ln and heads; timm-style ViTs: norm, "
            "fc_norm and head). Use 'gradrollout' instead."
        )
    recorded = {info.name for info in session.layers}
    expected = tuple(session.logits.shape)
    maps = []
    for name, block in list(zip(names, _blocks(names), strict=True))[start:]:
        if block not in recorded:
            raise MethodError(
                f"LeGrad needs the output tokens of block {block!r} (holding attention {name!r}), which this "
                "session did not record: make the Session without layer_names (or include the blocks)."
            )
        keys = int(session.attention(name).shape[-1])

        def score(tokens: torch.Tensor, block: str = block, keys: int = keys) -> torch.Tensor:
            if tokens.dim() != 3 or tokens.shape[1] != keys:
                raise MethodError(
                    f"Block {block!r} outputs shape {tuple(tokens.shape)}, not batch×{keys} tokens×width as its "
                    "attention has; LeGrad needs a plain ViT's token blocks."
                )
            with evaluation_mode(session.model):
                scores = select_logits(readout(tokens.mean(dim=1)), session.output, 1)
            if tuple(scores.shape) != expected:
                raise MethodError(
                    f"The classifier head gives scores of shape {tuple(scores.shape)} from a block's tokens, not "
                    f"{expected} as the model's output does; LeGrad cannot read a class score per block here."
                )
            return scores[0, target]

        grad = session.attention_gradient_of(name, block, score).float()
        relevance = grad.clamp(min=0).mean(dim=(0, 1))  # heads, then queries: one value per key
        layout = session.token_layout(keys)
        maps.append(relevance[layout.prefix :].reshape(layout.height, layout.width))
    if len({tuple(m.shape) for m in maps}) != 1:
        raise MethodError(
            "LeGrad averages one map per block, and this model's blocks attend over different token grids "
            f"({sorted({tuple(m.shape) for m in maps})}); use the per-block 'attention' map instead."
        )
    return torch.stack(maps).mean(dim=0)


def _bounds(session: SessionView) -> dict[str, tuple[int, int]]:
    """The first-block slider spans the model's attention blocks."""
    count = len(session.attention_layers)
    return {"first_block": (0, count - 1)} if count else {}


register(
    Method(
        "legrad",
        "LeGrad",
        legrad,
        uses_layer=False,
        reference="Bousselham et al., LeGrad, arXiv:2404.03214, 2024",
        params=(Param("first_block", "first block (−k: the last k)", 0, minimum=0, maximum=11, step=1),),
        needs_attention=True,
        bounds=_bounds,
    )
)

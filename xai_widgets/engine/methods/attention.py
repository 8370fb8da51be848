"""Maps read from a transformer's attention probabilities (recorded by the session's forward).

Each map is read from the query row(s) the classifier reads: the first token (CLS) when the
sequence has prefix tokens, else the mean over all tokens (a mean-pooled ViT). The patch
part of that row is laid out on the token grid the engine found.
"""

from __future__ import annotations

import torch

from ..errors import MethodError
from ..tokens import Layout
from .base import Method, Param, SessionView, register


def _read(matrix: torch.Tensor, layout: Layout) -> torch.Tensor:
    """The classifier's row of a tokens×tokens (or heads… ×tokens) matrix, as an h×w map."""
    row = matrix[..., 0, :] if layout.prefix else matrix.mean(dim=-2)
    return row[..., layout.prefix :].reshape(*row.shape[:-1], layout.height, layout.width)


def _head(probabilities: torch.Tensor, head: int, block: str) -> torch.Tensor:
    heads = probabilities.shape[0]
    if head == -1:
        return probabilities.mean(dim=0)
    if not 0 <= head < heads:
        raise MethodError(
            f"Head {head} does not exist: block {block!r} has {heads} heads, so pick 0 to {heads - 1}, "
            "or -1 for their mean."
        )
    return probabilities[head]


def cls_attention(session: SessionView, layer: None, target: int, block: int = -1, head: int = -1) -> torch.Tensor:
    """How much the CLS token attends to each patch, in one block and one head (or their mean).

    The raw attention of Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021 (fig. 6),
    and of Caron et al., "Emerging Properties in Self-Supervised Vision Transformers" (DINO), 2021.
    """
    name = session.check_attention_layer(block)
    probabilities = session.attention(name)
    layout = session.token_layout(probabilities.shape[-1])
    return _read(_head(probabilities, head, name), layout)


def _stack(session: SessionView) -> tuple[list[str], Layout]:
    session.check_attention_layer(-1)  # a clear error when the model recorded no attention
    names = session.attention_layers
    sizes = {tuple(session.attention(name).shape[-2:]) for name in names}
    size = next(iter(sizes)) if len(sizes) == 1 else None
    if size is None or size[0] != size[1]:
        raise MethodError(
            "Attention rollout needs every block to attend over the same tokens (a plain ViT); this model's "
            f"blocks have attention shapes {sorted(sizes)}. Use the per-block 'attention' map or Grad-CAM instead."
        )
    return names, session.token_layout(size[-1])


def _fuse_heads(probabilities: torch.Tensor, head_fusion: str) -> torch.Tensor:
    if head_fusion == "max":
        return probabilities.amax(dim=0)
    if head_fusion == "min":
        return probabilities.amin(dim=0)
    return probabilities.mean(dim=0)


def _discard_weakest(matrices: torch.Tensor, ratio: float) -> torch.Tensor:
    """Zero the weakest ``ratio`` of the entries of each of the blocks×tokens×tokens ``matrices``
    (the diagonal is kept: the residual path)."""
    count = int(matrices[0].numel() * ratio)
    if count < 1:
        return matrices
    flat = matrices.flatten(1)
    threshold = flat.kthvalue(count, dim=1).values  # each block's count-th weakest (ties go with it)
    kept = torch.where(flat <= threshold[:, None], 0.0, flat).view_as(matrices)
    kept.diagonal(dim1=-2, dim2=-1).copy_(matrices.diagonal(dim1=-2, dim2=-1))
    return kept


def _reading_row(layout: Layout, tokens: int, device: torch.device) -> torch.Tensor:
    """The weights over query tokens the classifier reads: the first token (CLS), or all alike."""
    if layout.prefix:
        return torch.nn.functional.one_hot(torch.tensor(0, device=device), tokens).float()
    return torch.full((tokens,), 1.0 / tokens, device=device)


def attention_rollout(
    session: SessionView, layer: None, target: int, head_fusion: str = "mean", discard_ratio: float = 0.0
) -> torch.Tensor:
    """Attention rollout: the product over blocks of (attention + identity), rows renormalised.

    Abnar & Zuidema, "Quantifying Attention Flow in Transformers", ACL 2020. The heads of a
    block are fused by their mean, max or min; ``discard_ratio`` zeroes the weakest share of
    each block's fused attention first (a common de-noising step). Only the row the classifier
    reads is rolled out: a vector times each block's matrix, from the last block down, which
    costs tokens² a block where the whole product costs tokens³.
    """
    if not 0 <= discard_ratio < 1:
        raise MethodError(f"discard_ratio must be at least 0 and below 1, got {discard_ratio!r}; its default is 0.")
    names, layout = _stack(session)
    fused = torch.stack([_fuse_heads(session.attention(name).float(), head_fusion) for name in names])
    fused = _discard_weakest(fused, discard_ratio)
    shares = 1 / (fused.sum(dim=-1) + 1)  # (fused + identity), rows renormalised
    row = _reading_row(layout, fused.shape[-1], fused.device)
    for block in reversed(range(len(names))):
        share = row * shares[block]
        row = share @ fused[block] + share
    return row[layout.prefix :].reshape(layout.height, layout.width)


def gradient_rollout(session: SessionView, layer: None, target: int) -> torch.Tensor:
    """Gradient-weighted attention rollout: R ← R + mean_heads((∇A ⊙ A)⁺) · R over the blocks.

    Chefer, Gur & Wolf, "Generic Attention-model Explainability for Interpreting Bi-Modal and
    Encoder-Decoder Transformers", ICCV 2021 (the self-attention rule). Class-specific: the
    gradients are those of the target's score, one backward for all blocks.
    """
    names, layout = _stack(session)
    relevance = None
    for name in names:
        weighted = torch.relu(session.attention_gradient(name, target) * session.attention(name)).mean(dim=0).float()
        if relevance is None:
            relevance = torch.eye(weighted.shape[-1], device=weighted.device)
        relevance = relevance + weighted @ relevance
    return _read(relevance, layout)


def _attention_bounds(session: SessionView) -> dict[str, tuple[int, int]]:
    """Slider ranges that depend on the model: its blocks and their heads."""
    names = session.attention_layers
    if not names:
        return {}
    heads = max(int(session.attention(name).shape[0]) for name in names)
    return {"block": (-1, len(names) - 1), "head": (-1, heads - 1)}


for _method in (
    Method(
        "attention",
        "Attention (CLS → patches, per block and head)",
        cls_attention,
        uses_layer=False,
        uses_target=False,
        reference="Dosovitskiy et al., ICLR 2021",
        params=(
            Param("block", "block (−1: last)", -1, minimum=-1, maximum=11, step=1),
            Param("head", "head (−1: mean of heads)", -1, minimum=-1, maximum=11, step=1, at_least=-1),
        ),
        needs_attention=True,
        bounds=_attention_bounds,
    ),
    Method(
        "rollout",
        "Attention rollout (class-free)",
        attention_rollout,
        uses_layer=False,
        uses_target=False,
        reference="Abnar & Zuidema, ACL 2020",
        params=(
            Param("head_fusion", "head fusion", "mean", choices=("mean", "max", "min")),
            Param("discard_ratio", "discard ratio", 0.0, minimum=0.0, maximum=0.99, step=0.01, at_least=0.0),
        ),
        needs_attention=True,
    ),
    Method(
        "gradrollout",
        "Gradient-weighted attention rollout",
        gradient_rollout,
        uses_layer=False,
        reference="Chefer et al., ICCV 2021",
        needs_attention=True,
    ),
):
    register(_method)

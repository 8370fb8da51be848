"""Deep Feature Factorization (Collins, Achanta & Süsstrunk, ECCV 2018): a layer's activations
factorised into a few non-negative concepts — where each concept lies in the image, and which
classes it votes for when the model's classifier reads its embedding.

The activations (C channels × h·w pixels, shifted per channel to be non-negative) are written
as W·H: W (C × k) holds the concepts' embeddings, H (k × h·w) their maps. The factorisation runs
in torch on the model's device by hierarchical alternating least squares (HALS), from a
deterministic SVD-based start (NNDSVDa), so the same image always gives the same concepts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

import torch
from torch import nn

from .classifier_head import classifier_head
from .errors import ExplainError
from .inputs import ImageLike, Transform
from .outputs import OutputChoice
from .session import Session

EPS = 1e-12


@dataclass
class ConceptMaps:
    """``k`` concepts of one image's layer ``layer``.

    ``maps`` (k × h × w, ≥ 0): where each concept lies; ``embeddings`` (k × C): each concept's
    channel pattern (the per-channel offset added back, as the classifier sees activations);
    ``scores`` (k × classes): the classifier's logits for each embedding (None without a
    classifier); ``error``: the factorisation's relative error ‖V − WH‖ / ‖V‖."""

    layer: str
    maps: torch.Tensor = field(repr=False)
    embeddings: torch.Tensor = field(repr=False)
    scores: Optional[torch.Tensor] = field(repr=False)
    error: float

    @property
    def count(self) -> int:
        return int(self.maps.shape[0])

    def votes(self, top: int = 3) -> list[list[tuple[int, float]]]:
        """Each concept's ``top`` classes as (class, softmax probability), best first."""
        if self.scores is None:
            return [[] for _ in range(self.count)]
        probabilities = self.scores.float().softmax(dim=1)
        values, indices = probabilities.topk(min(top, probabilities.shape[1]), dim=1)
        return [
            [(int(i), float(v)) for i, v in zip(row_i.tolist(), row_v.tolist(), strict=True)]
            for row_i, row_v in zip(indices, values, strict=True)
        ]

    def assignment(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The concept that dominates each pixel (h × w indices) and its share of the pixel's total."""
        scaled = self.maps / self.maps.flatten(1).amax(dim=1).clamp_min(EPS)[:, None, None]
        strength, index = scaled.max(dim=0)
        return index, strength


def deep_feature_factorization(
    model: nn.Module,
    image: ImageLike,
    *,
    layer: Optional[str] = None,
    concepts: int = 5,
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
    classifier: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
    iterations: int = 200,
    session: Optional[Session] = None,
) -> ConceptMaps:
    """Factorise ``layer``'s activations of ``image`` into ``concepts`` concepts.

    ``classifier`` maps embeddings (k × C) to class scores; by default the model's last
    ``nn.Linear`` whose input size is C (the head after global pooling). ``session``: an engine
    session of the image to reuse (the Explorer's), instead of a new forward.
    """
    if session is None:
        session = Session(model, image, transform=transform, output=output)
    layer = session.check_layer(layer)
    activation = session.activation(layer)[0].float()  # C × h × w
    channels, height, width = activation.shape
    if isinstance(concepts, bool) or not isinstance(concepts, int) or not 1 <= concepts <= min(channels, 64):
        raise ExplainError(
            f"concepts must be a whole number from 1 to {min(channels, 64)} (layer {layer!r} has {channels} "
            f"channels); got {concepts!r}."
        )
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
        raise ExplainError(f"iterations must be a whole number of at least 1; got {iterations!r}.")
    values = torch.nan_to_num(activation.reshape(channels, -1))
    offset = values.min(dim=1).values
    shifted = values - offset[:, None]
    w, h = factorise(shifted, concepts, iterations)
    error = float((shifted - w @ h).norm() / shifted.norm().clamp_min(EPS))
    embeddings = (w + offset[:, None]).T.contiguous()  # k × C
    head = classifier if classifier is not None else classifier_head(model, channels)
    with torch.no_grad():
        scores = head(embeddings.to(_dtype_of(head, embeddings))).float() if head is not None else None
    return ConceptMaps(layer, h.reshape(concepts, height, width), embeddings, scores, error)


def factorise(values: torch.Tensor, rank: int, iterations: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-negative W (m × rank) and H (rank × n) with W·H ≈ ``values`` (m × n, ≥ 0), by HALS
    from an NNDSVDa start. The scale is fixed so that each row of H peaks at 1: a column of W is
    then its concept's activation pattern at the pixel where the concept is strongest."""
    w, h = _nndsvda(values, rank)
    for _ in range(iterations):
        vh, hh = values @ h.T, h @ h.T
        for j in range(rank):
            w[:, j] = (w[:, j] + (vh[:, j] - w @ hh[:, j]) / hh[j, j].clamp_min(EPS)).clamp_min(0)
        wv, ww = w.T @ values, w.T @ w
        for j in range(rank):
            h[j] = (h[j] + (wv[j] - ww[j] @ h) / ww[j, j].clamp_min(EPS)).clamp_min(0)
    peaks = h.amax(dim=1).clamp_min(EPS)
    return w * peaks, h / peaks[:, None]


def _nndsvda(values: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Boutsidis & Gallopoulos's SVD-based start, zeros filled with the mean (deterministic)."""
    u, s, vh = torch.linalg.svd(values, full_matrices=False)
    w = torch.zeros(values.shape[0], rank, device=values.device, dtype=values.dtype)
    h = torch.zeros(rank, values.shape[1], device=values.device, dtype=values.dtype)
    w[:, 0] = s[0].sqrt() * u[:, 0].abs()
    h[0] = s[0].sqrt() * vh[0].abs()
    for j in range(1, min(rank, len(s))):
        x, y = u[:, j], vh[j]
        xp, xn, yp, yn = x.clamp_min(0), (-x).clamp_min(0), y.clamp_min(0), (-y).clamp_min(0)
        positive, negative = xp.norm() * yp.norm(), xn.norm() * yn.norm()
        if positive >= negative:
            a, b, sigma = xp / xp.norm().clamp_min(EPS), yp / yp.norm().clamp_min(EPS), positive
        else:
            a, b, sigma = xn / xn.norm().clamp_min(EPS), yn / yn.norm().clamp_min(EPS), negative
        w[:, j], h[j] = (s[j] * sigma).sqrt() * a, (s[j] * sigma).sqrt() * b
    mean = values.mean()
    w[w == 0], h[h == 0] = mean, mean
    return w, h


def _dtype_of(head: Callable, like: torch.Tensor) -> torch.dtype:
    parameter = next(head.parameters(), None) if isinstance(head, nn.Module) else None
    return parameter.dtype if parameter is not None else like.dtype

"""ROAD, RemOve And Debias (Rong et al., "A Consistent and Efficient Evaluation Strategy for
Attribution Methods", ICML 2022): remove a share of the pixels in the map's order, fill them by
noisy linear imputation (so the filling leaks no shape of the removed region), and read the
class score. A faithful map makes the score fall fast when the most relevant pixels go first
(MoRF) and stay high when the least relevant go first (LeRF).

Relation to pytorch-grad-cam's ``ROADMostRelevantFirst(percentile=q)``: grad-cam's percentile is
a threshold on the map (pixels at or above the q-th percentile are removed), so it removes the
top ``100 − q`` % where ``road(..., percentiles=(p,))`` removes the top ``p`` %; with no ties
and ``p × H × W / 100`` a whole number the two remove the same pixels for ``q = 100 − p``
(averaged over 10 … 90 the two sets of removals are the same). Its metric returns the score
change ``score − original`` (logit or probability, as its target says); here ``scores`` are
the scores themselves and :attr:`RoadCurve.mean_change` is its averaged value. Its noise is
drawn from torch's global generator; here from a generator seeded with ``seed``.

Quantus 0.6's ``ROAD`` fills pixels with the same imputation (same weights; checked in
tests/test_road.py) but records, per percentage (default 1, 3, …, 99), whether the predicted class
is still the label (0 or 1), removes ``floor(p × H × W / 100)`` pixels, and has no LeRF order.

The imputation (:mod:`.imputation`) is solved iteratively to a relative residual of 1e-4: its
values differ from the reference's direct sparse solve by under 2e-3 (typically 3e-4), a fifth
of the default noise.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from .errors import ExplainError
from .faithfulness import pixel_ranks
from .imputation import noisy_linear_imputation
from .inputs import ImageLike, Transform, prepare_image
from .model_calls import class_scores
from .model_state import check_model, model_device, model_dtype
from .outputs import OutputChoice

ORDERS = ("most", "least")
"""Which pixels go first: the most relevant (MoRF) or the least relevant (LeRF)."""

PERCENTILES = (10, 20, 30, 40, 50, 60, 70, 80, 90)
"""The shares of pixels removed (%), as in the paper and pytorch-grad-cam."""


@dataclass(frozen=True)
class RoadCurve:
    """The target's score after removing each share of the pixels (``percentiles``, %) in the
    map's ``order`` and imputing them; ``original`` is the score on the untouched image and
    ``mean`` the mean of ``scores`` (the curve's summary: low for MoRF and high for LeRF
    when the map is faithful)."""

    order: str
    percentiles: torch.Tensor
    scores: torch.Tensor
    original: float
    mean: float

    @property
    def mean_change(self) -> float:
        """``mean − original``: what pytorch-grad-cam's ROAD…Average metrics report."""
        return self.mean - self.original


def road(
    model: nn.Module,
    image: ImageLike,
    attribution: torch.Tensor,
    target: int,
    *,
    order: str = "most",
    percentiles: Sequence[int] = PERCENTILES,
    noise: float = 0.01,
    probabilities: bool = True,
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
    seed: int = 0,
    batch_size: int = 64,
) -> RoadCurve:
    """The ROAD curve of ``attribution`` (an h×w map, upsampled bilinearly to the input) for
    class ``target``: for each of ``percentiles`` that share of the pixels is removed, most
    relevant first (``order="most"``) or least relevant first (``"least"``), filled by noisy
    linear imputation with noise of standard deviation ``noise`` (in model-input units), and the
    target's softmax probability (``probabilities=False``: its logit) is read. Every imputed
    image goes through the model in one batched call."""
    return road_curves(
        model,
        image,
        attribution,
        target,
        orders=(order,),
        percentiles=percentiles,
        noise=noise,
        probabilities=probabilities,
        transform=transform,
        output=output,
        seed=seed,
        batch_size=batch_size,
    )[order]


def road_curves(
    model: nn.Module,
    image: ImageLike,
    attribution: torch.Tensor,
    target: int,
    *,
    orders: Sequence[str] = ORDERS,
    percentiles: Sequence[int] = PERCENTILES,
    noise: float = 0.01,
    probabilities: bool = True,
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
    seed: int = 0,
    batch_size: int = 64,
) -> dict[str, RoadCurve]:
    """:func:`road` for each of ``orders`` (default both), keyed by order: all the imputations
    solved together and every image (the original included) scored in one batched call."""
    check_model(model)
    orders = _checked_orders(orders)
    shares = _checked_percentiles(percentiles)
    attribution = _checked_map(attribution)
    noise = _checked_noise(noise)
    if isinstance(target, bool) or not isinstance(target, numbers.Integral) or target < 0:
        raise ExplainError(f"target must be a class index (a whole number, at least 0); got {target!r}.")
    x = prepare_image(image, transform).tensor.to(model_device(model), model_dtype(model))
    height, width = x.shape[-2:]
    counts = torch.tensor([round(p * height * width / 100) for p in shares], device=x.device)
    removed = torch.cat(
        [
            pixel_ranks(attribution, (height, width), most_first=o == "most", device=x.device)[None, :]
            < counts[:, None]
            for o in orders
        ]
    ).reshape(-1, 1, height, width)
    generator = torch.Generator(device=x.device).manual_seed(seed)
    images = noisy_linear_imputation(x.expand(len(removed), *x.shape[1:]), removed, noise=noise, generator=generator)
    scores = class_scores(
        model, torch.cat([x, images]), int(target), output=output, probabilities=probabilities, batch_size=batch_size
    )
    scores = scores.float().cpu()
    original, rows = float(scores[0]), scores[1:].reshape(len(orders), len(shares))
    shares_tensor = torch.tensor(shares, dtype=torch.float32)
    return {o: RoadCurve(o, shares_tensor, rows[i], original, float(rows[i].mean())) for i, o in enumerate(orders)}


def _checked_orders(orders: Sequence[str]) -> tuple[str, ...]:
    if isinstance(orders, str):
        orders = (orders,)
    orders = tuple(orders)
    bad = [o for o in orders if o not in ORDERS]
    if not orders or bad:
        raise ExplainError(
            f'order must be "most" (most relevant removed first) or "least" (least relevant first); got {bad[0]!r}.'
            if bad
            else 'orders must name at least one of "most" and "least".'
        )
    return orders


def _checked_percentiles(percentiles: Sequence[int]) -> tuple[int, ...]:
    if isinstance(percentiles, (str, bytes)) or not isinstance(percentiles, Sequence):
        raise ExplainError(
            f"percentiles must be a list of whole numbers between 1 and 99 (shares of pixels removed, %), "
            f"e.g. (10, 20, 30); got {percentiles!r}."
        )
    if not percentiles:
        raise ExplainError("percentiles is empty: give at least one share of pixels to remove, e.g. (10, 20, 30).")
    for p in percentiles:
        if isinstance(p, bool) or not isinstance(p, numbers.Integral):
            raise ExplainError(
                f"percentiles must be whole numbers (shares of pixels removed, %); got {p!r}. Round it, e.g. {30}."
            )
        if not 0 < p < 100:
            raise ExplainError(
                f"percentiles must lie strictly between 0 and 100 (0 removes nothing, 100 leaves nothing to "
                f"impute from); got {p!r}."
            )
    return tuple(int(p) for p in percentiles)


def _checked_map(attribution: torch.Tensor) -> torch.Tensor:
    if not isinstance(attribution, torch.Tensor):
        try:
            attribution = torch.as_tensor(attribution)
        except (TypeError, ValueError, RuntimeError):
            raise ExplainError(
                f"The attribution must be a 2-D map (h×w tensor or array); got {type(attribution).__name__}."
            ) from None
    if attribution.dim() != 2 or 0 in attribution.shape:
        raise ExplainError(
            f"The attribution must be a 2-D map (h×w); got shape {tuple(attribution.shape)}. "
            "Pass one map, e.g. attribution[0] for a batch of one."
        )
    return attribution


def _checked_noise(noise: float) -> float:
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not 0 <= float(noise) < float("inf"):
        raise ExplainError(f"noise must be a standard deviation of at least 0 (0 for none); got {noise!r}.")
    return float(noise)

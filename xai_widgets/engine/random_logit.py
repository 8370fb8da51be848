"""The random-logit test (Sixt et al., "When Explanations Lie: Why Many Modified BP Attributions
Fail", ICML 2020): a map that looks the same whichever class it explains says nothing about
the class. The map for the target is compared with the map for a random other class."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Optional

import torch
from torch import nn

from .errors import TargetError
from .inputs import ImageLike, Transform
from .methods import get_method
from .model_state import check_model
from .outputs import SINGLE_LOGIT, OutputChoice
from .sanity import spearman, ssim
from .session import Session

ClassMap = Callable[[int], torch.Tensor]
"""Computes the 2-D map for a class: any map to test instead of a method's."""

SAME_MAP = 0.9
"""A map whose SSIM with the other class's map is above this barely depends on the class."""


@dataclass(frozen=True)
class RandomLogit:
    """The maps for ``target`` and for a random ``other`` class and their similarity (SSIM and
    Spearman rank correlation, as in the sanity check): high values mean the map ignores the class."""

    target: int
    other: int
    ssim: float
    spearman: float
    attribution: torch.Tensor = field(repr=False)
    other_attribution: torch.Tensor = field(repr=False)

    @property
    def class_blind(self) -> bool:
        """Whether the two maps are much the same (SSIM above :data:`SAME_MAP`): a failed test."""
        return self.ssim > SAME_MAP


def random_logit(
    model: nn.Module,
    image: ImageLike,
    *,
    method: str = "gradcam",
    layer: Optional[str] = None,
    target: Optional[int] = None,
    other: Optional[int] = None,
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
    map_function: Optional[ClassMap] = None,
    seed: int = 0,
    **params: Any,
) -> RandomLogit:
    """Compare ``method``'s map for ``target`` (default: top-1) with its map for ``other``
    (default: a class drawn uniformly from the rest with ``seed``), both from one forward.
    ``map_function(class) -> map`` replaces ``method``. The model is left exactly as it was."""
    check_model(model)
    spec = get_method(method)
    values = spec.resolve_params(params)
    layer = layer if spec.uses_layer else None
    session = Session(model, image, transform=transform, layer_names=None if layer is None else [layer], output=output)
    try:
        if session.num_classes < 2 or any(SINGLE_LOGIT in note for note in session.notes):
            raise TargetError(
                "The random-logit test compares the maps of two classes, but the model scores only one (a single "
                "logit, read as class 1 against a constant class 0, whose map is empty); use it on a classifier "
                "with at least two class scores, or run the sanity check (cascading_randomisation) instead."
            )
        target = session.check_target(target)
        other = _other_class(session, target, other, seed)
        if map_function is None:

            def map_function(index: int) -> torch.Tensor:
                return session.attribution(method, layer=layer, target=index, **values)

        first, second = map_function(target).detach().float().cpu(), map_function(other).detach().float().cpu()
    finally:
        session.close()
    return RandomLogit(target, other, ssim(first, second), spearman(first, second), first, second)


def _other_class(session: Session, target: int, other: Optional[int], seed: int) -> int:
    if other is None:
        generator = torch.Generator().manual_seed(int(seed))
        drawn = int(torch.randint(session.num_classes - 1, (1,), generator=generator))
        return drawn + (drawn >= target)  # every class but the target, equally likely
    other = session.check_target(other)
    if other == target:
        raise TargetError(
            f"other is the target class ({target}); the random-logit test needs a different class: "
            "pass another index, or other=None to draw one."
        )
    return other

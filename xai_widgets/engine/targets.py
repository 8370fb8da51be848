"""What a map explains: one score per image, computed from whatever the model returns.

A class index explains that class's logit. A :class:`Target` explains anything else that
can be scored — a class's probability, one class rather than another, the pixels of a
segmentation region, a detected box, the similarity of an embedding to a reference — and
every method takes it through ``target=``: the engine turns the model's output into that
one score (an output choice of kind :class:`~xai_widgets.engine.outputs.Scores`) and
explains it as it would a logit.
"""

from __future__ import annotations

import operator
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import numpy as np
import torch
import torch.nn.functional as F

from .errors import TargetError
from .outputs import OutputChoice, Scores, chosen_part, select_logits


class Target(ABC):
    """A score of the model's output, one per image, that a map explains."""

    kind: str = ""

    @abstractmethod
    def score(self, output: Any, choice: OutputChoice = None) -> torch.Tensor:
        """The (N,) scores of a batch's ``output`` (``choice`` picks the class scores, as ``output=`` does)."""

    @abstractmethod
    def describe(self, labels: Optional[Sequence[str]] = None) -> str:
        """A short label for titles and legends."""


def _class_index(value: Any, what: str) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        return operator.index(value)
    except TypeError:
        raise TargetError(f"{what} must be an int class index; got {value!r} ({type(value).__name__}).") from None


def _in_range(index: int, count: int, what: str) -> None:
    if not 0 <= index < count:
        raise TargetError(
            f"{what} {index} is out of range: the model scores {count} classes, so pick an index from 0 to {count - 1}."
        )


def _name(index: int, labels: Optional[Sequence[str]]) -> str:
    return labels[index] if labels is not None and 0 <= index < len(labels) else f"class {index}"


@dataclass(frozen=True)
class ClassScore(Target):
    """Class ``index``'s logit, or its softmax probability with ``probability=True``."""

    index: int
    probability: bool = False
    kind = "class"

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", _class_index(self.index, "ClassScore's index"))

    def score(self, output: Any, choice: OutputChoice = None) -> torch.Tensor:
        logits = _logits(output, choice)
        _in_range(self.index, logits.shape[1], "Class")
        if self.probability:
            return logits.float().softmax(dim=1)[:, self.index]
        return logits[:, self.index]

    def describe(self, labels: Optional[Sequence[str]] = None) -> str:
        return f"P({_name(self.index, labels)})" if self.probability else _name(self.index, labels)


@dataclass(frozen=True)
class Contrast(Target):
    """Why class ``a`` rather than class ``b``: the logit difference ``logit[a] − logit[b]``.

    Gradient maps of it are the difference of the two classes' gradient maps (contrastive
    Grad-CAM weights its channels by the difference of the two gradients)."""

    a: int
    b: int
    kind = "contrast"

    def __post_init__(self) -> None:
        object.__setattr__(self, "a", _class_index(self.a, "Contrast's class a"))
        object.__setattr__(self, "b", _class_index(self.b, "Contrast's class b"))
        if self.a == self.b:
            raise TargetError(
                f"Contrast needs two different classes; got a = b = {self.a}. Pick b from the top-5 list."
            )

    def score(self, output: Any, choice: OutputChoice = None) -> torch.Tensor:
        logits = _logits(output, choice)
        _in_range(self.a, logits.shape[1], "Class a")
        _in_range(self.b, logits.shape[1], "Class b")
        return logits[:, self.a] - logits[:, self.b]

    def describe(self, labels: Optional[Sequence[str]] = None) -> str:
        return f"{_name(self.a, labels)} rather than {_name(self.b, labels)}"


@dataclass(frozen=True)
class Region(Target):
    """The summed logit of class ``index`` over the pixels of ``mask`` in a segmentation
    model's per-pixel output (N×K×H×W; torchvision's models return it under ``"out"``).

    ``mask`` (H×W, bool or 0/1; a tensor or an array) is resized to the output's grid by
    nearest neighbour when its size differs. :func:`region_of` builds one from a click or a
    rectangle on the predicted classes."""

    index: int
    mask: Any = field(repr=False)
    kind = "region"

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", _class_index(self.index, "Region's class index"))
        mask = torch.as_tensor(np.asarray(self.mask) if not isinstance(self.mask, torch.Tensor) else self.mask)
        if mask.dim() != 2 or mask.numel() == 0:
            raise TargetError(f"Region's mask must be a non-empty H×W array; got shape {tuple(mask.shape)}.")
        mask = mask.detach().to("cpu", torch.bool).clone()  # a copy: the caller's mask is never held or changed
        if not bool(mask.any()):
            raise TargetError("Region's mask selects no pixel; select at least one pixel of the region.")
        object.__setattr__(self, "mask", mask)

    def score(self, output: Any, choice: OutputChoice = None) -> torch.Tensor:
        maps = pixel_scores(output, choice)
        _in_range(self.index, maps.shape[1], "Class")
        mask = self.mask
        if tuple(mask.shape) != tuple(maps.shape[-2:]):
            mask = F.interpolate(mask[None, None].float(), size=maps.shape[-2:], mode="nearest")[0, 0].bool()
        return (maps[:, self.index] * mask.to(maps.device, maps.dtype)).sum(dim=(1, 2))

    def describe(self, labels: Optional[Sequence[str]] = None) -> str:
        return f"{_name(self.index, labels)} region ({int(self.mask.sum())} px)"


@dataclass(frozen=True)
class Box(Target):
    """A detected box's score in a torchvision-style detector's output (a list of dicts with
    ``boxes``, ``labels``, ``scores``, one per image): the score of the detection of class
    ``label`` that overlaps ``box`` (x1, y1, x2, y2 in model-input pixels) most, if their
    intersection over union reaches ``min_iou``; 0 when no such detection is left (the
    evidence for the box is gone)."""

    box: tuple[float, float, float, float]
    label: int
    min_iou: float = 0.5
    kind = "box"

    def __post_init__(self) -> None:
        values = tuple(float(v) for v in np.asarray(self.box, dtype=float).reshape(-1))
        if len(values) != 4 or not (values[2] > values[0] and values[3] > values[1]):
            raise TargetError(f"Box needs (x1, y1, x2, y2) with x2 > x1 and y2 > y1; got {self.box!r}.")
        object.__setattr__(self, "box", values)
        object.__setattr__(self, "label", _class_index(self.label, "Box's label"))
        if not 0.0 < float(self.min_iou) <= 1.0:
            raise TargetError(f"Box's min_iou must be in (0, 1]; got {self.min_iou!r}.")

    def score(self, output: Any, choice: OutputChoice = None) -> torch.Tensor:
        detections = detection_list(output)
        scores = []
        for found in detections:
            boxes, labels, values = found["boxes"], found["labels"], found["scores"]
            reference = torch.tensor([self.box], device=boxes.device, dtype=boxes.dtype)
            overlap = _iou(boxes, reference)[:, 0] * (labels == self.label)
            if len(values) and float(overlap.detach().max()) >= self.min_iou:
                scores.append(values[int(overlap.detach().argmax())])
            else:
                scores.append(values.sum() * 0.0)  # nothing left of the box: score 0, still on the graph
        return torch.stack(scores)

    def describe(self, labels: Optional[Sequence[str]] = None) -> str:
        x1, y1, x2, y2 = (round(v) for v in self.box)
        return f"{_name(self.label, labels)} box ({x1}, {y1})–({x2}, {y2})"


@dataclass(frozen=True)
class Similarity(Target):
    """The cosine similarity of the model's output (an embedding, N×D) to ``reference``
    (a D-vector; :func:`embedding_of` gives a reference image's)."""

    reference: Any = field(repr=False)
    kind = "similarity"

    def __post_init__(self) -> None:
        reference = self.reference
        reference = reference if isinstance(reference, torch.Tensor) else torch.as_tensor(np.asarray(reference))
        reference = reference.detach().to("cpu", torch.float32).clone().reshape(-1)
        if reference.numel() == 0 or not bool(torch.isfinite(reference).all()) or float(reference.norm()) == 0:
            raise TargetError(
                "Similarity's reference must be a non-zero, finite vector (an embedding); "
                "embedding_of(model, image) gives a reference image's."
            )
        object.__setattr__(self, "reference", reference)

    def score(self, output: Any, choice: OutputChoice = None) -> torch.Tensor:
        embedding = _logits(output, choice).float().flatten(1)
        if embedding.shape[1] != self.reference.numel():
            raise TargetError(
                f"Similarity's reference has {self.reference.numel()} values but the model's output has "
                f"{embedding.shape[1]} per image; take the reference from the same model (embedding_of)."
            )
        return F.cosine_similarity(embedding, self.reference.to(embedding.device)[None], dim=1)

    def describe(self, labels: Optional[Sequence[str]] = None) -> str:
        return "similarity to the reference"


TargetLike = Union[None, int, Target]
"""What ``target=`` takes: a class index, ``None`` (the top-1 class) or a :class:`Target`."""


class TargetScores(Scores):
    """The output choice that scores ``target`` on each image (row ``i`` of a batch by
    ``per_image[i]`` when a list is given), on top of the user's own ``output=`` choice."""

    def __init__(self, target: Union[Target, Sequence[Target]], inner: OutputChoice = None) -> None:
        self.targets = list(target) if isinstance(target, (list, tuple)) else [target]
        self.per_image = isinstance(target, (list, tuple))
        self.inner = inner

    def __call__(self, output: Any) -> torch.Tensor:
        if not self.per_image:
            return self.targets[0].score(output, self.inner)
        rows = [target.score(output, self.inner) for target in self.targets]
        if any(len(row) != len(self.targets) for row in rows):
            raise TargetError(f"Got {len(self.targets)} per-image targets for a batch of {len(rows[0])} images.")
        return torch.stack([row[i] for i, row in enumerate(rows)])

    def __repr__(self) -> str:
        return f"TargetScores({self.targets[0] if not self.per_image else self.targets!r})"


def resolve(target: TargetLike, output: OutputChoice = None) -> tuple[OutputChoice, Optional[int]]:
    """The output choice and class index a session needs for ``target``: an int or ``None``
    goes through unchanged; a :class:`Target` becomes a one-score output whose class is 0."""
    if isinstance(target, Target):
        return TargetScores(target, output), 0
    if isinstance(target, Scores):
        raise TargetError("Pass the Target itself as target=, not its TargetScores.")
    return output, target


def is_target(value: Any) -> bool:
    """Whether ``value`` is a :class:`Target` (rather than a class index)."""
    return isinstance(value, Target)


# -- reading the model's output -----------------------------------------------------------


def _logits(output: Any, choice: OutputChoice) -> torch.Tensor:
    return select_logits(output, choice, _batch(output))


def _batch(output: Any) -> Optional[int]:
    if isinstance(output, torch.Tensor) and output.dim() >= 1:
        return int(output.shape[0])
    return None


def pixel_scores(output: Any, choice: OutputChoice = None) -> torch.Tensor:
    """The N×K×H×W per-pixel class scores of a segmentation model's output."""
    if choice is not None and not isinstance(choice, Scores):
        output = chosen_part(output, choice)
    if isinstance(output, Mapping):
        output = output.get("out", next(iter(output.values()), None))
    if not isinstance(output, torch.Tensor) or output.dim() != 4:
        shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
        raise TargetError(
            f"A Region target needs per-pixel class scores (N×K×H×W, as a segmentation model returns); this "
            f"model returns {shape}. Use a class index, ClassScore or Contrast for a classifier."
        )
    return output


def detection_list(output: Any) -> list[Mapping[str, torch.Tensor]]:
    """A detector's output as a list of per-image dicts with boxes, labels and scores."""
    ok = isinstance(output, (list, tuple)) and all(
        isinstance(item, Mapping) and {"boxes", "labels", "scores"} <= set(item) for item in output
    )
    if not ok or not output:
        raise TargetError(
            f"A Box target needs a detector's output (a list of dicts with 'boxes', 'labels' and 'scores', as "
            f"torchvision's detection models return in eval mode); this model returns {type(output).__name__}."
        )
    return list(output)


def _iou(boxes: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Intersection over union of each of ``boxes`` (M×4) with each of ``reference`` (R×4)."""
    top_left = torch.maximum(boxes[:, None, :2], reference[None, :, :2])
    bottom_right = torch.minimum(boxes[:, None, 2:], reference[None, :, 2:])
    inter = (bottom_right - top_left).clamp(min=0).prod(dim=2)
    area = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0).prod(dim=1)
    ref_area = (reference[:, 2:] - reference[:, :2]).clamp(min=0).prod(dim=1)
    return inter / (area[:, None] + ref_area[None] - inter).clamp(min=1e-12)

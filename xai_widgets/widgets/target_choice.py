"""The Explorer's target choice: which targets fit the model's output (and why the others do
not), and the engine :class:`~xai_widgets.engine.targets.Target` a choice in the browser names.

A choice travels as the ``target_spec`` trait, a small dict beside the ``target`` class index:

- ``{}`` or ``{"kind": "class"}``: the logit of class ``target`` (no Target: the plain path);
- ``{"kind": "probability"}``: the softmax probability of class ``target``;
- ``{"kind": "contrast", "other": b}``: class ``target`` rather than class ``b``;
- ``{"kind": "similarity"}``: cosine similarity to the Explorer's ``reference=``;
- ``{"kind": "region"}``: every pixel predicted as class ``target`` (a segmentation model), or
  ``{"kind": "region", "x": …, "y": …}`` the class under a click; with ``"x2"``/``"y2"`` a
  drag's rectangle: the class at its centre, within it (photo pixels);
- ``{"kind": "box"}``: detection number ``target`` of a detector.
"""

from __future__ import annotations

import json
from typing import Any, Optional

import torch

from ..engine.errors import TargetError
from ..engine.target_picking import CLASSES, SEGMENTATION, OutputKind, region_at
from ..engine.targets import Box, ClassScore, Contrast, Region, Similarity, Target

KIND_LABELS = {
    "class": "Class score (logit)",
    "probability": "Class probability",
    "contrast": "Class A rather than B",
    "similarity": "Similarity to a reference",
    "region": "Segmentation region",
    "box": "Detected box",
}
"""Every kind of target, in the order the picker lists them."""

_CLASSIFIER_ONLY = "this model scores {what}, not whole images"


def offered_kinds(kind: str, has_reference: bool) -> list[dict[str, Any]]:
    """Every target kind with ``available`` and, for the absent ones, the ``reason``."""
    reasons: dict[str, str] = {}
    if kind == CLASSES:
        reasons["region"] = (
            "needs per-pixel class scores (N×K×H×W), as a segmentation model returns; this model returns N×K scores"
        )
        reasons["box"] = "needs a detector's boxes (a list of dicts with boxes, labels, scores per image)"
        if not has_reference:
            reasons["similarity"] = "pass reference= (an image or an embedding vector) to the Explorer"
    else:
        what = "pixels" if kind == SEGMENTATION else "boxes"
        pick = "click or drag on the image" if kind == SEGMENTATION else "click a box on the image"
        for name in ("class", "probability", "contrast", "similarity"):
            reasons[name] = f"{_CLASSIFIER_ONLY.format(what=what)}; {pick}"
        reasons["box" if kind == SEGMENTATION else "region"] = (
            "needs a detector's boxes" if kind == SEGMENTATION else "needs a segmentation model's per-pixel scores"
        )
    return [
        {"kind": name, "label": label, "available": name not in reasons, "reason": reasons.get(name, "")}
        for name, label in KIND_LABELS.items()
    ]


def spec_kind(spec: dict[str, Any]) -> str:
    """The kind a ``target_spec`` names (``class`` when empty)."""
    return str(spec.get("kind") or "class")


def spec_id(spec: dict[str, Any]) -> str:
    """A stable text of a spec, for cache keys."""
    return json.dumps(spec, sort_keys=True, default=str)


def check_spec(spec: Any, output: OutputKind, has_reference: bool) -> dict[str, Any]:
    """``spec`` as a dict, or a TargetError naming what is wrong and what fits."""
    if not isinstance(spec, dict):
        raise TargetError(f"target_spec must be a dict such as {{'kind': 'contrast', 'other': 3}}; got {spec!r}.")
    kind = spec_kind(spec)
    offered = {entry["kind"]: entry for entry in offered_kinds(output.kind, has_reference)}
    if kind not in offered:
        raise TargetError(f"Unknown target kind {kind!r}; choose one of {', '.join(sorted(offered))}.")
    if not offered[kind]["available"]:
        raise TargetError(f"A {KIND_LABELS[kind].lower()} target does not fit here: {offered[kind]['reason']}.")
    return dict(spec)


def target_for(
    spec: dict[str, Any],
    index: int,
    output: OutputKind,
    reference: Optional[torch.Tensor],
    photo_size: tuple[int, int],
) -> Optional[Target]:
    """The Target of a checked ``spec`` with class (or detection) ``index``; None for a plain class.

    ``photo_size`` (width, height) is the size of the picture clicks are measured on."""
    kind = spec_kind(spec)
    if kind == "class":
        return None
    if kind == "probability":
        return ClassScore(index, probability=True)
    if kind == "contrast":
        if "other" not in spec:
            raise TargetError("A contrast needs the class B to compare with: pick it from the 'rather than' list.")
        return Contrast(index, spec["other"])
    if kind == "similarity":
        return Similarity(reference)
    if kind == "box":
        if not 0 <= index < len(output.detections):
            raise TargetError(
                f"Box {index} does not exist: the detector found {len(output.detections)} boxes here; click one."
            )
        found = output.detections[index]
        return Box(tuple(found["box"]), found["label"])
    return _region(spec, index, output.predicted, photo_size)


def _region(spec: dict[str, Any], index: int, predicted: torch.Tensor, photo_size: tuple[int, int]) -> Region:
    """The region a spec names, on ``predicted`` (H×W classes) measured in ``photo_size`` pixels."""
    if "x" not in spec:
        mask = predicted == index
        if not bool(mask.any()):
            raise TargetError(f"No pixel is predicted as class {index} here; click a region on the image instead.")
        return Region(index, mask)
    height, width = predicted.shape
    sx, sy = width / max(photo_size[0], 1), height / max(photo_size[1], 1)
    if "x2" in spec and "y2" in spec:  # a drag around an object: the class at its centre, inside it
        rectangle = (spec["x"] * sx, spec["y"] * sy, spec["x2"] * sx, spec["y2"] * sy)
        centre = ((rectangle[0] + rectangle[2]) / 2, (rectangle[1] + rectangle[3]) / 2)
        return region_at(predicted, *centre, rectangle)
    return region_at(predicted, spec["x"] * sx, spec["y"] * sy)


def segmentation_classes(predicted: torch.Tensor, k: int) -> list[tuple[int, float]]:
    """The ``k`` classes covering most pixels of ``predicted``, as (class, share of the image)."""
    counts = torch.bincount(predicted.flatten().long())
    shares = counts.float() / max(predicted.numel(), 1)
    order = [int(i) for i in shares.argsort(descending=True) if shares[i] > 0][:k]
    return [(index, float(shares[index])) for index in order]


def default_region_class(classes: list[tuple[int, float]]) -> int:
    """The class a segmentation opens on: the largest one that is not class 0 (background in
    torchvision's segmentation models) when there is one."""
    others = [index for index, _ in classes if index != 0]
    return others[0] if others else classes[0][0]

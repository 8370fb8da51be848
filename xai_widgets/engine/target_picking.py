"""Finding targets on a model's output: what kind of output it is, the region under a click,
the box under a click, a reference image's embedding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import torch
from torch import nn

from .errors import ExplainError, TargetError
from .inputs import ImageLike, Transform, prepare_image
from .model_state import check_model, evaluation_mode, model_device, model_dtype
from .outputs import OutputChoice, select_logits
from .targets import Box, Region, detection_list, pixel_scores

CLASSES, SEGMENTATION, DETECTION = "classes", "segmentation", "detection"


@dataclass
class OutputKind:
    """What a model returns for one image, read from one forward without a graph.

    ``kind`` is ``"classes"`` (N×K scores: class, probability, contrast and similarity
    targets fit), ``"segmentation"`` (N×K×H×W per-pixel scores: region targets) or
    ``"detection"`` (a list of box dicts: box targets). ``predicted`` is the per-pixel argmax
    (segmentation), ``detections`` the boxes, labels and scores (detection), on the CPU."""

    kind: str
    classes: int
    predicted: Optional[torch.Tensor] = field(default=None, repr=False)
    detections: list[dict[str, Any]] = field(default_factory=list, repr=False)


def output_kind(
    model: nn.Module, image: ImageLike, transform: Optional[Transform] = None, output: OutputChoice = None
) -> OutputKind:
    """Run ``model`` once on ``image`` (no graph) and say which targets its output fits."""
    check_model(model)
    x = prepare_image(image, transform).tensor.to(model_device(model), model_dtype(model))
    with torch.inference_mode(), evaluation_mode(model):
        raw = model(x)
    try:
        found = detection_list(raw)[0]
        detections = [
            {"box": [float(v) for v in box], "label": int(label), "score": float(score)}
            for box, label, score in zip(found["boxes"], found["labels"], found["scores"], strict=True)
        ]
        return OutputKind(
            DETECTION, classes=max((d["label"] for d in detections), default=0) + 1, detections=detections
        )
    except TargetError:
        pass
    try:
        maps = pixel_scores(raw, output)
        return OutputKind(SEGMENTATION, classes=int(maps.shape[1]), predicted=maps[0].argmax(dim=0).cpu())
    except (TargetError, ExplainError):
        pass
    logits = select_logits(raw, output, len(x))
    return OutputKind(CLASSES, classes=int(logits.shape[1]))


def region_at(
    predicted: torch.Tensor, x: float, y: float, rectangle: Optional[tuple[float, float, float, float]] = None
) -> Region:
    """The region of the class predicted at pixel (``x``, ``y``) of ``predicted`` (H×W class
    indices): every pixel of that class, or only those inside ``rectangle`` (x1, y1, x2, y2:
    a drag), in ``predicted``'s pixels."""
    height, width = predicted.shape
    col, row = min(max(int(x), 0), width - 1), min(max(int(y), 0), height - 1)
    index = int(predicted[row, col])
    mask = predicted == index
    if rectangle is not None:
        x1, y1, x2, y2 = (int(round(v)) for v in rectangle)
        inside = torch.zeros_like(mask)
        inside[max(min(y1, y2), 0) : max(y1, y2) + 1, max(min(x1, x2), 0) : max(x1, x2) + 1] = True
        mask = mask & inside
        if not bool(mask.any()):
            mask[row, col] = True
    return Region(index, mask)


def box_at(detections: list[dict[str, Any]], x: float, y: float) -> Box:
    """The Box target of the best-scoring detection that contains pixel (``x``, ``y``)."""
    inside = [d for d in detections if d["box"][0] <= x <= d["box"][2] and d["box"][1] <= y <= d["box"][3]]
    if not inside:
        raise TargetError(
            f"No detected box contains the point ({x:.0f}, {y:.0f}); click inside one of the boxes drawn on the image."
        )
    best = max(inside, key=lambda d: d["score"])
    return Box(tuple(best["box"]), best["label"])


def embedding_of(
    model: nn.Module, image: ImageLike, transform: Optional[Transform] = None, output: OutputChoice = None
) -> torch.Tensor:
    """The model's output vector for ``image`` (a reference for :class:`Similarity`), on the CPU."""
    check_model(model)
    x = prepare_image(image, transform).tensor.to(model_device(model), model_dtype(model))
    with torch.inference_mode(), evaluation_mode(model):
        return select_logits(model(x), output, len(x))[0].float().cpu().clone()

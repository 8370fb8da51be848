"""Explain a whole data set: batched maps, predictions and a table, streamed batch by batch."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np
import torch
from PIL import Image
from torch import nn

from .errors import ExplainError, ImageError, TargetError
from .faithfulness import deletion_curve
from .gradcam_batch import chunk_cams
from .image_source import ImageSource, image_source
from .inputs import Transform, prepare_image
from .methods import get_method
from .model_calls import chunk_results, count_calls
from .model_state import check_model, evaluation_mode, model_device, model_dtype
from .outputs import OutputChoice
from .progress import reporting
from .regions import pointing_hit, region_mask, relevance_mass
from .session import Session

Target = Union[str, int]
"""Which class each map explains: "predicted" (default), "true", or one class index for all."""

Labels = Union[None, Sequence[str], Mapping[int, str]]
"""Class names: a list (index = class) or a dict {class: name}."""


def class_name(labels: Labels, index: Optional[int]) -> str:
    """Class ``index`` by its name in ``labels`` (the number itself when unnamed; "" for None)."""
    if index is None:
        return ""
    if isinstance(labels, Mapping):
        return str(labels.get(index, index))
    return str(labels[index]) if labels is not None and 0 <= index < len(labels) else str(index)


THUMBNAIL = 96
"""Longest side, in pixels, of the pictures kept for a gallery."""


@dataclass
class AuditBatch:
    """Results for images ``start`` … ``start + len(predicted) - 1``."""

    start: int
    layer: Optional[str]
    predicted: torch.Tensor
    confidence: torch.Tensor
    targets: torch.Tensor
    maps: list[torch.Tensor]
    outside: Optional[torch.Tensor]
    thumbnails: list[np.ndarray]
    pointing: Optional[torch.Tensor] = None
    deletion: Optional[torch.Tensor] = None


@dataclass
class AuditResult:
    """Every image's map, prediction and confidence, and the table they make.

    ``maps`` are at the layer's resolution (upsample them with the image for display);
    ``outside`` is the share of each map's positive mass outside its mask or box (when given:
    1 − relevance mass) and ``pointing`` whether the map's peak falls on it (the pointing game).
    ``deletion`` is each map's deletion AUC (when ``deletion_steps`` was given; lower is better).
    """

    source: ImageSource
    transform: Optional[Transform]
    method: str
    layer: Optional[str]
    labels: Labels
    predicted: torch.Tensor
    confidence: torch.Tensor
    targets: torch.Tensor
    maps: list[torch.Tensor]
    outside: Optional[torch.Tensor]
    pointing: Optional[torch.Tensor] = None
    deletion: Optional[torch.Tensor] = None

    def __len__(self) -> int:
        return len(self.predicted)

    @property
    def names(self) -> list[str]:
        return self.source.names

    @property
    def true_labels(self) -> Optional[list[int]]:
        return self.source.true_labels

    def misclassified(self) -> list[int]:
        """Indices of the images whose predicted class is not their true class."""
        if self.true_labels is None:
            raise TargetError("No true labels: pass true_labels= (or data that carries them) to find mistakes.")
        return [i for i, (p, t) in enumerate(zip(self.predicted.tolist(), self.true_labels, strict=True)) if p != t]

    def label(self, index: Optional[int]) -> str:
        """A class index as its name (the index itself when there are no names)."""
        return class_name(self.labels, index)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per image: file, predicted class and name, confidence, true class, method, layer, metric."""
        rows = []
        for i in range(len(self)):
            predicted, true = int(self.predicted[i]), None if self.true_labels is None else self.true_labels[i]
            row = {
                "index": i,
                "file": self.names[i],
                "predicted": predicted,
                "predicted_label": self.label(predicted),
                "confidence": round(float(self.confidence[i]), 6),
                "true": true,
                "true_label": self.label(true),
                "correct": None if true is None else predicted == true,
                "target": int(self.targets[i]),
                "method": self.method,
                "layer": self.layer or "",
            }
            if self.outside is not None:
                row["outside"] = round(float(self.outside[i]), 6)
            if self.pointing is not None:
                row["pointing_hit"] = bool(self.pointing[i])
            if self.deletion is not None:
                row["deletion_auc"] = round(float(self.deletion[i]), 6)
            rows.append(row)
        return rows

    def picture(self, index: int) -> np.ndarray:
        """Image ``index`` as the model saw it (H×W×3 uint8), prepared again from the data."""
        return prepare_image(self.source.image(index), self.transform).display


def audit(
    model: nn.Module,
    data: Any,
    *,
    method: str = "gradcam",
    layer: Optional[str] = None,
    target: Target = "predicted",
    true_labels: Optional[Sequence[int]] = None,
    labels: Labels = None,
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
    batch_size: Optional[int] = None,
    masks: Optional[Sequence[Any]] = None,
    boxes: Optional[Sequence[Sequence[float]]] = None,
    deletion_steps: Optional[int] = None,
    progress: bool = True,
) -> AuditResult:
    """Explain every image of ``data`` and return the maps, predictions and table.

    ``data``: a list or dict of images, a folder, a torch ``Dataset`` or ``DataLoader`` (their
    labels are the true classes unless ``true_labels`` is given), or an N×C×H×W tensor.
    Grad-CAM runs batched on the model's device (``batch_size`` images a batch; default 64 on
    a GPU, 32 on the CPU; a batch that runs out of memory is split, no image is lost); other
    methods run image by image. ``masks`` (H×W, True = the object) or ``boxes`` (x0, y0, x1,
    y1 in input pixels), one per image, add the ``outside`` metric. ``deletion_steps`` adds each
    map's deletion AUC (its pixels removed in that many steps, blurred baseline: ``steps + 1``
    more forwards an image; lower is better). ``progress`` shows a tqdm bar when tqdm is installed.
    """
    check_model(model)
    source = image_source(data, true_labels)
    batches = []
    bar = _progress_bar(len(source)) if progress else None
    try:
        with reporting(_updater(bar)) if bar is not None else contextlib.nullcontext():
            for batch in audit_batches(
                model,
                source,
                method=method,
                layer=layer,
                target=target,
                transform=transform,
                output=output,
                batch_size=batch_size,
                masks=masks,
                boxes=boxes,
                thumbnail=None,
                deletion_steps=deletion_steps,
            ):
                batches.append(batch)
    finally:
        if bar is not None:
            bar.close()
    return _collect(batches, source, transform, method, labels)


def _collect(
    batches: list[AuditBatch],
    source: ImageSource,
    transform: Optional[Transform],
    method: str,
    labels: Labels,
) -> AuditResult:
    return AuditResult(
        source=source,
        transform=transform,
        method=get_method(method).name,
        layer=batches[0].layer,
        labels=labels if labels is None or isinstance(labels, Mapping) else list(labels),
        predicted=torch.cat([b.predicted for b in batches]),
        confidence=torch.cat([b.confidence for b in batches]),
        targets=torch.cat([b.targets for b in batches]),
        maps=[m for b in batches for m in b.maps],
        outside=None if batches[0].outside is None else torch.cat([b.outside for b in batches]),
        pointing=None if batches[0].pointing is None else torch.cat([b.pointing for b in batches]),
        deletion=None if batches[0].deletion is None else torch.cat([b.deletion for b in batches]),
    )


def audit_batches(
    model: nn.Module,
    source: ImageSource,
    *,
    method: str = "gradcam",
    layer: Optional[str] = None,
    target: Target = "predicted",
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
    batch_size: Optional[int] = None,
    masks: Optional[Sequence[Any]] = None,
    boxes: Optional[Sequence[Sequence[float]]] = None,
    thumbnail: Optional[int] = THUMBNAIL,
    deletion_steps: Optional[int] = None,
) -> Iterator[AuditBatch]:
    """The work of :func:`audit`, one :class:`AuditBatch` at a time, in order (for widgets that
    show results as they come; progress goes to the current reporter, which may cancel)."""
    check_model(model)
    if deletion_steps is not None and (
        isinstance(deletion_steps, bool) or not isinstance(deletion_steps, int) or deletion_steps < 1
    ):
        raise ExplainError(f"deletion_steps must be a whole number of at least 1 (or None); got {deletion_steps!r}.")
    spec = get_method(method)
    regions = _regions(masks, boxes, len(source))
    probe = Session(model, source.image(0), transform=transform, output=output)
    try:
        chosen_layer = probe.check_layer(layer) if spec.uses_layer else None
        fixed = _fixed_target(target, probe, source)
        size = tuple(probe.input.shape[-2:])
    finally:
        probe.close()
    device, dtype = model_device(model), model_dtype(model)
    batched = spec.name == "gradcam"
    calls = 0
    if batched:
        with torch.inference_mode(), evaluation_mode(model):
            first = prepare_image(source.image(0), transform).tensor.to(device, dtype)
            calls = count_calls(model, model.get_submodule(chosen_layer), first)
    wanted = batch_size or (64 if device.type == "cuda" else 32)

    def run(rows: torch.Tensor) -> AuditBatch:
        indices = rows.tolist()
        prepared = [prepare_image(source.image(i), transform) for i in indices]
        targets = _targets(target, fixed, source, indices)
        if batched:
            stack = _stack(prepared, size, indices, source).to(device, dtype)
            maps, logits = chunk_cams(model, stack, chosen_layer, calls, targets, output)
            probabilities = logits.float().softmax(dim=1)
            maps = [m.float().cpu() for m in maps]
        else:
            maps, probabilities = _one_by_one(model, prepared, spec.name, chosen_layer, targets, output)
        confidence, predicted = probabilities.max(dim=1)
        located = None if regions is None else _outside(maps, [regions[i] for i in indices], size)
        chosen = predicted if targets is None else targets.to(predicted.device)
        return AuditBatch(
            start=indices[0],
            layer=chosen_layer,
            predicted=predicted.cpu(),
            confidence=confidence.cpu(),
            targets=chosen.cpu(),
            maps=maps,
            outside=None if regions is None else located[0],
            pointing=None if regions is None else located[1],
            deletion=None
            if deletion_steps is None
            else _deletion(model, prepared, maps, chosen, deletion_steps, output),
            thumbnails=[_thumbnail(p.display, thumbnail) for p in prepared] if thumbnail else [],
        )

    for _, batch in chunk_results(model, torch.arange(len(source)), wanted, run):
        yield batch


def _deletion(
    model: nn.Module, prepared: list, maps: list[torch.Tensor], targets: torch.Tensor, steps: int, output: OutputChoice
) -> torch.Tensor:
    """Each map's deletion AUC on its own prepared image, for its class."""
    areas = [
        deletion_curve(model, image, attribution, int(target), steps=steps, output=output).auc
        for image, attribution, target in zip(prepared, maps, targets.tolist(), strict=True)
    ]
    return torch.tensor(areas, dtype=torch.float32)


def _one_by_one(
    model: nn.Module,
    prepared: list,
    method: str,
    layer: Optional[str],
    targets: Optional[torch.Tensor],
    output: OutputChoice,
) -> tuple[list[torch.Tensor], torch.Tensor]:
    maps, probabilities = [], []
    for row, image in enumerate(prepared):
        session = Session(model, image.tensor, output=output)
        try:
            target = None if targets is None else int(targets[row])
            maps.append(session.attribution(method, layer=layer, target=target).float().cpu())
            probabilities.append(session.probabilities.cpu())
        finally:
            session.close()
    return maps, torch.stack(probabilities)


def _fixed_target(target: Target, probe: Session, source: ImageSource) -> Optional[int]:
    if target == "predicted":
        return None
    if target == "true":
        if source.true_labels is None:
            raise TargetError('target="true" needs true labels: pass true_labels=, or data that carries them.')
        for label in set(source.true_labels):
            probe.check_target(label)
        return None
    if isinstance(target, str):
        raise TargetError(f'target must be "predicted", "true" or a class index; got {target!r}.')
    return probe.check_target(target)


def _targets(target: Target, fixed: Optional[int], source: ImageSource, indices: list[int]) -> Optional[torch.Tensor]:
    if target == "true":
        return torch.tensor([source.true_labels[i] for i in indices])  # type: ignore[index]
    if fixed is not None:
        return torch.full((len(indices),), fixed, dtype=torch.long)
    return None


def _stack(prepared: list, size: tuple[int, ...], indices: list[int], source: ImageSource) -> torch.Tensor:
    for image, index in zip(prepared, indices, strict=True):
        if tuple(image.tensor.shape[-2:]) != size:
            raise ImageError(
                f"Image {source.names[index]!r} is {tuple(image.tensor.shape[-2:])} after the transform, the first "
                f"is {size}: batches need one size. Pass transform= with a Resize (and CenterCrop) to a fixed size."
            )
    return torch.cat([image.tensor for image in prepared])


def _regions(masks: Optional[Sequence[Any]], boxes: Optional[Sequence[Sequence[float]]], count: int) -> Optional[list]:
    if masks is not None and boxes is not None:
        raise ValueError("Pass masks= or boxes=, not both.")
    given = masks if masks is not None else boxes
    if given is None:
        return None
    if len(given) != count:
        what = "masks" if masks is not None else "boxes"
        raise ValueError(f"Got {len(given)} {what} for {count} images; pass one per image.")
    return [("mask", m) for m in masks] if masks is not None else [("box", tuple(b)) for b in boxes]


def _outside(maps: list[torch.Tensor], regions: list, size: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per map: the share of its positive mass outside its region, and whether its peak is on it."""
    shares, hits = [], []
    for attribution, (kind, region) in zip(maps, regions, strict=True):
        inside = region_mask(kind, region, size)
        shares.append(1.0 - relevance_mass(attribution, inside))
        hits.append(pointing_hit(attribution, inside))
    return torch.tensor(shares), torch.tensor(hits)


def _thumbnail(picture: np.ndarray, side: int) -> np.ndarray:
    height, width = picture.shape[:2]
    scale = side / max(height, width)
    if scale >= 1 and max(height, width) >= side // 2:
        return picture
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    resample = Image.NEAREST if scale > 1 else Image.BILINEAR  # tiny images (8×8 digits) stay crisp
    return np.asarray(Image.fromarray(picture).resize(new, resample))


def _progress_bar(total: int) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="image", desc="explaining")


def _updater(bar: Any) -> Callable[[int, int], None]:
    def update(done: int, total: int) -> None:
        bar.n = done
        bar.refresh()

    return update

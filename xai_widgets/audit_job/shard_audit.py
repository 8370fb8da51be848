"""Explain one shard's images with the batch engine: its table rows and its arrays."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import torch
from torch import nn

from ..engine.audit import AuditBatch, AuditResult, Labels, Target, audit_batches
from ..engine.inputs import Transform
from ..engine.outputs import OutputChoice
from ..engine.progress import reporting
from .job import BASE_COLUMNS, MapSpec
from .reading import ShardImages

REPORT_ONLY = ("method", "layer", "outside", "pointing_hit")
"""report.csv columns that are per map in the store (``<map>:outside``…) or in job.json."""


@dataclass
class ShardPlan:
    """What every shard of a job does (the same on every rank)."""

    model: nn.Module
    maps: list[MapSpec]
    columns: list[str]
    target: Target
    transform: Optional[Transform]
    output: OutputChoice
    labels: Labels
    paths: Optional[list[str]]
    masks: Optional[Sequence[Any]]
    boxes: Optional[Sequence[Sequence[float]]]
    batch_size: Optional[int]
    thumbnail: int


def audit_shard(
    plan: ShardPlan, images: ShardImages, on_images: Callable[[int], None]
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """Rows (the columns of ``plan.columns``) and arrays (``index``; ``map:<key>``, N×h×w float16;
    ``thumbnail:<index>``, h×w×3 uint8, one per image so that a page loads only its own) for the
    images of one shard. ``on_images(n)`` is told of each batch
    of the last map (so each image counts once)."""
    view = images.as_source()
    indices = images.indices
    arrays: dict[str, np.ndarray] = {"index": np.asarray(indices, dtype=np.int64)}
    rows: list[dict[str, Any]] = []
    for number, spec in enumerate(plan.maps):
        last = number == len(plan.maps) - 1
        batches = _batches(plan, spec, view, indices, last=last, on_images=on_images)
        maps = [m for b in batches for m in b.maps]
        arrays[f"map:{spec.key}"] = np.stack([m.float().numpy() for m in maps]).astype(np.float16)
        if number == 0:
            rows = _base_rows(plan, spec, view, indices, batches)
            if plan.thumbnail:
                pictures = images.thumbnails()  # cut on the reading threads
                arrays.update({f"thumbnail:{i}": p.astype(np.uint8) for i, p in zip(indices, pictures, strict=True)})
        _add_metrics(rows, spec, maps, batches)
    return rows, arrays


def _batches(
    plan: ShardPlan,
    spec: MapSpec,
    view: Any,
    indices: list[int],
    *,
    last: bool,
    on_images: Callable[[int], None],
) -> list[AuditBatch]:
    counted = [0]

    def report(done: int, total: int) -> None:
        if last:
            on_images(done - counted[0])
            counted[0] = done

    with reporting(report):
        return list(
            audit_batches(
                plan.model,
                view,
                method=spec.method,
                layer=spec.layer,
                target=plan.target,
                transform=plan.transform,
                output=plan.output,
                batch_size=plan.batch_size,
                masks=None if plan.masks is None else [plan.masks[i] for i in indices],
                boxes=None if plan.boxes is None else [plan.boxes[i] for i in indices],
                thumbnail=None,
            )
        )


def _base_rows(plan: ShardPlan, spec: MapSpec, view: Any, indices: list[int], batches: list[AuditBatch]) -> list:
    """The report's rows (see :meth:`AuditResult.rows`), numbered in the whole data set, with paths."""
    result = AuditResult(
        source=view,
        transform=plan.transform,
        method=spec.method,
        layer=spec.layer,
        labels=plan.labels,
        predicted=torch.cat([b.predicted for b in batches]),
        confidence=torch.cat([b.confidence for b in batches]),
        targets=torch.cat([b.targets for b in batches]),
        maps=[],
        outside=None,
    )
    rows = []
    for position, (row, index) in enumerate(zip(result.rows(), indices, strict=True)):
        row = {key: value for key, value in row.items() if key not in REPORT_ONLY}
        row["index"] = index
        row["confidence"] = float(result.confidence[position])  # all of float32's digits: sorts keep their order
        row["path"] = "" if plan.paths is None else plan.paths[index]
        rows.append({key: row.get(key) for key in BASE_COLUMNS})
    return rows


def _add_metrics(
    rows: list[dict[str, Any]], spec: MapSpec, maps: list[torch.Tensor], batches: list[AuditBatch]
) -> None:
    outside = None if batches[0].outside is None else torch.cat([b.outside for b in batches])
    pointing = None if batches[0].pointing is None else torch.cat([b.pointing for b in batches])
    for position, (row, attribution) in enumerate(zip(rows, maps, strict=True)):
        height, width = attribution.shape[-2:]
        peak = int(torch.argmax(attribution.reshape(-1)))
        row[f"{spec.key}:peak_x"] = round((peak % width + 0.5) / width, 4)
        row[f"{spec.key}:peak_y"] = round((peak // width + 0.5) / height, 4)
        if outside is not None:
            row[f"{spec.key}:outside"] = round(float(outside[position]), 6)
            row[f"{spec.key}:pointing_hit"] = bool(pointing[position])

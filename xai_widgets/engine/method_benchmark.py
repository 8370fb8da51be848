"""Pick a method on evidence: every method's deletion and insertion areas and its time per map,
on the same images and the same classes, beside a random map's scores (what "no information"
scores)."""

from __future__ import annotations

import csv
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Union

import torch
from torch import nn

from .errors import ExplainError
from .explain import map_for
from .faithfulness import deletion_curve, insertion_curve, random_map
from .inputs import ImageLike, Transform
from .methods import all_methods, get_method
from .model_state import check_model
from .outputs import OutputChoice
from .road import road_curves

RANKINGS = {"deletion_auc": False, "insertion_auc": True, "road_most": False, "road_least": True, "seconds": False}
"""The columns a table can be ranked by, and whether higher is better."""

RANDOM = "random"
"""The row of a random map: uniform noise at the resolution of the first method's map."""


@dataclass(frozen=True)
class MethodScore:
    """One method's scores, averaged over the images its map could be made for.

    ``deletion_auc``: lower is better; ``insertion_auc``: higher is better; ``road_most`` /
    ``road_least``: ROAD's mean class probability with the most / least relevant pixels removed
    and imputed first (lower / higher is better); ``seconds``: mean
    time to make one map (its forward and backward passes included; a fast method makes one
    untimed map first). ``failed`` counts the
    images the method made no map for and ``error`` says why (with no map at all, the numbers
    are NaN)."""

    method: str
    label: str
    images: int
    deletion_auc: float
    insertion_auc: float
    road_most: float
    road_least: float
    seconds: float
    failed: int = 0
    error: str = ""


@dataclass(frozen=True)
class MethodBenchmark:
    """The table of :func:`benchmark_methods`: one row a method, the random map's row last."""

    rows: list[MethodScore]
    steps: int
    baseline: str
    targets: list[int] = field(default_factory=list)

    def row(self, method: str) -> MethodScore:
        """The row of ``method`` (or of ``"random"``)."""
        for row in self.rows:
            if row.method == method:
                return row
        raise KeyError(f"No row for {method!r}; the rows are {[row.method for row in self.rows]}.")

    def ranked(self, by: str = "deletion_auc") -> list[MethodScore]:
        """The rows that have numbers, best first by ``by`` (deletion_auc, insertion_auc or seconds)."""
        if by not in RANKINGS:
            raise ValueError(f"by must be one of {', '.join(RANKINGS)}; got {by!r}.")
        scored = [row for row in self.rows if not math.isnan(getattr(row, by))]
        return sorted(scored, key=lambda row: getattr(row, by), reverse=RANKINGS[by])

    def table(self) -> str:
        """The rows as aligned plain text."""
        header = (
            f"{'method':<36} {'images':>6} {'deletion ↓':>10} {'insertion ↑':>11} {'ROAD most ↓':>11} "
            f"{'ROAD least ↑':>12} {'s / map':>8}"
        )
        lines = [header, "-" * len(header)]
        for row in self.rows:
            if not row.images:
                lines.append(f"{row.label:<36} {row.images:>6}  {row.error}")
                continue
            failed = f"  ({row.failed} failed: {row.error})" if row.failed else ""
            lines.append(
                f"{row.label:<36} {row.images:>6} {row.deletion_auc:>10.3f} {row.insertion_auc:>11.3f} "
                f"{row.road_most:>11.3f} {row.road_least:>12.3f} {row.seconds:>8.3f}{failed}"
            )
        return "\n".join(lines)

    def to_csv(self, path: Union[str, Path]) -> Path:
        """Write the rows to a CSV file (one line a method) and return its path."""
        path = Path(path)
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(asdict(self.rows[0])))
            writer.writeheader()
            writer.writerows(asdict(row) for row in self.rows)
        return path

    def __repr__(self) -> str:
        title = f"MethodBenchmark({len(self.rows) - 1} methods, {self.steps} steps, {self.baseline} baseline)"
        return f"{title}\n{self.table()}"


def benchmark_methods(
    model: nn.Module,
    images: Sequence[ImageLike],
    *,
    methods: Optional[Sequence[str]] = None,
    layer: Optional[str] = None,
    targets: Optional[Sequence[Optional[int]]] = None,
    steps: int = 20,
    baseline: str = "blur",
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
    seed: int = 0,
) -> MethodBenchmark:
    """Every method's deletion AUC, insertion AUC, ROAD means and time per map on the same ``images``.

    ``methods``: names (``get_method``); by default every method that is neither slow nor for
    attention models only (name the slow ones to include them). Each image is explained for its
    entry in ``targets`` (default: the top-1 class, found once and used by every method). A method
    that cannot explain this model gets a row with its error and no numbers. The last row scores
    a random map, so a method's numbers can be read against "no information". The sessions'
    notes (image rescaled, model in training mode, ...) are issued once each as ``UserWarning``.
    """
    check_model(model)
    if isinstance(images, (str, Path, torch.Tensor)) or not len(images):
        raise ExplainError("images must be a non-empty list of images (paths, PIL images, arrays or tensors).")
    if targets is not None and len(targets) != len(images):
        raise ExplainError(f"targets has {len(targets)} entries for {len(images)} images; give one per image.")
    specs = [get_method(name) for name in methods] if methods is not None else _default_methods()
    if not specs:
        raise ExplainError("methods is empty: name at least one method, or leave it out for all of them.")
    common = dict(steps=steps, baseline=baseline, transform=transform, output=output)
    chosen = list(targets) if targets is not None else [None] * len(images)
    shapes: list[Optional[torch.Size]] = [None] * len(images)
    rows, notes = [], {}
    for spec in specs:
        scores, errors = [], []
        if not spec.slow:  # one untimed map first: a method's first call pays one-off costs
            _warm_up(model, images[0], spec.name, layer if spec.uses_layer else None, chosen[0], transform, output)
        for index, image in enumerate(images):
            try:
                attribution, chosen[index], seconds, image_notes = _timed_map(
                    model, image, spec.name, layer if spec.uses_layer else None, chosen[index], transform, output
                )
                notes.update(dict.fromkeys(image_notes))
            except ExplainError as error:
                errors.append(str(error))
                continue
            shapes[index] = shapes[index] or attribution.shape
            scores.append((*_scores(model, image, attribution, chosen[index], common), seconds))
        rows.append(_row(spec.name, spec.label, scores, errors))
    rows.append(_random_row(model, images, chosen, shapes, seed, common))
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    return MethodBenchmark(rows, steps, baseline, [t for t in chosen if t is not None])


def _default_methods():
    return [spec for spec in all_methods() if not (spec.slow or spec.needs_attention)]


def _timed_map(
    model: nn.Module,
    image: ImageLike,
    method: str,
    layer: Optional[str],
    target: Optional[int],
    transform: Optional[Transform],
    output: OutputChoice,
) -> tuple[torch.Tensor, int, float, list[str]]:
    """The map, its class, the seconds it took (the device waited for) and the session's notes."""
    _wait_for_device(model)
    start = time.perf_counter()
    attribution, target, notes = map_for(model, image, method, layer, target, transform, output)
    _wait_for_device(model)
    return attribution, target, time.perf_counter() - start, notes


def _warm_up(model: nn.Module, image: ImageLike, method: str, layer, target, transform, output) -> None:
    try:
        map_for(model, image, method, layer, target, transform, output)
    except ExplainError:
        pass  # the timed call reports it


def _wait_for_device(model: nn.Module) -> None:
    parameter = next(model.parameters(), None)
    if parameter is not None and parameter.is_cuda:
        torch.cuda.synchronize(parameter.device)


def _scores(model: nn.Module, image: ImageLike, attribution: torch.Tensor, target: int, common: dict) -> tuple:
    """Deletion AUC, insertion AUC and ROAD's two means of one map."""
    road = road_curves(model, image, attribution, target, transform=common["transform"], output=common["output"])
    return (
        deletion_curve(model, image, attribution, target, **common).auc,
        insertion_curve(model, image, attribution, target, **common).auc,
        road["most"].mean,
        road["least"].mean,
    )


def _row(name: str, label: str, scores: list[tuple[float, ...]], errors: list[str]) -> MethodScore:
    first_error = errors[0] if errors else ""
    if not scores:
        nan = math.nan
        return MethodScore(name, label, 0, nan, nan, nan, nan, nan, len(errors), first_error or "no map")
    columns = torch.tensor(scores, dtype=torch.float64).mean(dim=0).tolist()
    return MethodScore(name, label, len(scores), *columns, failed=len(errors), error=first_error)


def _random_row(model, images, targets, shapes, seed, common) -> MethodScore:
    scores = []
    for index, (image, target, shape) in enumerate(zip(images, targets, shapes, strict=True)):
        if shape is None or target is None:
            continue
        noise = random_map(torch.empty(shape), seed + index)
        scores.append((*_scores(model, image, noise, target, common), math.nan))  # no map was made
    return _row(RANDOM, "Random map (no information)", scores, [] if scores else ["no method made a map"])

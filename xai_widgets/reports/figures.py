"""Static matplotlib figures: an audit's contact sheet of the worst cases, and the chart of a
method benchmark."""

from __future__ import annotations

import io
import math
import pathlib
from collections.abc import Callable
from typing import Any, Optional

import numpy as np

from ..engine.audit import AuditResult
from ..engine.method_benchmark import RANDOM, MethodBenchmark
from ..engine.methods import get_method


def worst_cases(result: AuditResult, count: int) -> list[int]:
    """The images most worth a look: confident mistakes (with true labels), else the maps most
    outside their object (with masks or boxes), else the least confident predictions."""
    confidence = result.confidence.tolist()
    if result.true_labels is not None and result.misclassified():
        ranked = sorted(result.misclassified(), key=lambda i: -confidence[i])
    elif result.outside is not None:
        outside = np.nan_to_num(result.outside.numpy(), nan=-1.0)
        ranked = list(np.argsort(-outside, kind="stable"))
    else:
        ranked = sorted(range(len(result)), key=lambda i: confidence[i])
    return [int(i) for i in ranked[:count]]


def contact_sheet(
    result: AuditResult, indices: list[int], overlay: Callable[[int], np.ndarray], path: pathlib.Path
) -> pathlib.Path:
    """Save a grid of ``indices``' overlays, each titled with predicted (and true) class and confidence."""
    figure_class = _figure_class("The contact sheet")
    columns = max(1, min(4, len(indices)))
    rows = max(1, math.ceil(len(indices) / columns))
    figure = figure_class(figsize=(3 * columns, 3.3 * rows))
    axes = figure.subplots(rows, columns, squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, index in zip(axes.flat, indices, strict=False):
        axis.imshow(overlay(index), interpolation="nearest")
        true = result.true_labels[index] if result.true_labels is not None else None
        title = f"{result.names[index]}\npred {result.label(int(result.predicted[index]))}"
        title += f" ({float(result.confidence[index]):.2f})" + (
            f", true {result.label(true)}" if true is not None else ""
        )
        axis.set_title(title, fontsize=8)
    if not indices:
        axes.flat[0].text(0.5, 0.5, "no cases", ha="center", va="center")
    method = get_method(result.method).label
    figure.suptitle(f"{method}{' at ' + result.layer if result.layer else ''}: worst cases", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    return path


def method_chart(benchmark: MethodBenchmark, path: Optional[pathlib.Path] = None) -> Any:
    """Bar panels of a :func:`~xai_widgets.benchmark_methods` table: deletion AUC (lower is
    better), insertion AUC (higher is better), ROAD most / least relevant first (lower / higher is
    better) and seconds per map, a dashed line at the random map's score. Returns the matplotlib
    ``Figure`` (shown by a notebook); saved when ``path`` is given."""
    Figure = _figure_class("The method chart")  # noqa: N806 - matplotlib's class
    rows = [row for row in benchmark.rows if row.images and row.method != RANDOM]
    random_row = next((row for row in benchmark.rows if row.method == RANDOM and row.images), None)
    labels = [row.label for row in rows]
    figure = Figure(figsize=(3.2 * len(_CHART_PANELS), 0.45 * len(rows) + 1.6), layout="constrained")
    panels = figure.subplots(1, len(_CHART_PANELS), sharey=True)
    for axis, (field, title) in zip(panels, _CHART_PANELS, strict=True):
        values = [getattr(row, field) for row in rows]
        axis.barh(range(len(rows)), values, color=_CHART_COLOURS[field])
        if random_row is not None and field != "seconds":
            axis.axvline(getattr(random_row, field), color="black", linestyle="--", linewidth=1, label="random map")
            axis.legend(loc="lower right", fontsize=7)
        axis.set_title(title, fontsize=9)
        for y, value in enumerate(values):
            axis.text(value, y, f" {value:.3g}", va="center", fontsize=7)
        axis.margins(x=0.25)
    panels[0].set_yticks(range(len(rows)), labels, fontsize=8)
    panels[0].invert_yaxis()
    figure.suptitle(
        f"{len(rows)} methods on {max((row.images for row in rows), default=0)} image(s), "
        f"{benchmark.steps} steps, {benchmark.baseline} baseline",
        fontsize=10,
    )
    if path is not None:
        figure.savefig(path, dpi=100)
    return figure


_CHART_PANELS = (
    ("deletion_auc", "deletion AUC (lower is better)"),
    ("insertion_auc", "insertion AUC (higher is better)"),
    ("road_most", "ROAD, most relevant first (lower)"),
    ("road_least", "ROAD, least relevant first (higher)"),
    ("seconds", "seconds per map"),
)
_CHART_COLOURS = {
    "deletion_auc": "#d95f02",
    "insertion_auc": "#1b9e77",
    "road_most": "#e7298a",
    "road_least": "#66a61e",
    "seconds": "#7570b3",
}


def _figure_class(what: str) -> Any:
    """A matplotlib ``Figure`` that a notebook shows as a PNG when it is a cell's value. It is
    drawn without pyplot: no backend is chosen or changed, so a notebook's inline plots keep
    working. An ImportError names the extra when matplotlib is missing."""
    global _ShownFigure
    if _ShownFigure is None:
        try:
            from matplotlib.figure import Figure
        except ImportError as err:
            raise ImportError(f"{what} needs matplotlib: pip install 'xai_widgets[report]'.") from err

        class ShownFigure(Figure):
            def _repr_png_(self) -> bytes:
                buffer = io.BytesIO()
                self.savefig(buffer, format="png", dpi=100)
                return buffer.getvalue()

        _ShownFigure = ShownFigure
    return _ShownFigure


_ShownFigure: Any = None

"""Static matplotlib figures of an audit: a contact sheet of the worst cases."""

from __future__ import annotations

import math
import pathlib
from collections.abc import Callable

import numpy as np

from ..engine.audit import AuditResult
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
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError as err:
        raise ImportError("The contact sheet needs matplotlib: pip install 'xai_widgets[report]'.") from err
    columns = max(1, min(4, len(indices)))
    rows = max(1, math.ceil(len(indices) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3.3 * rows), squeeze=False)
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
    plt.close(figure)
    return path

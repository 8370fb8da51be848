"""One self-contained HTML page of an audit: a summary and a sortable table with inlined overlays."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from ..engine.audit import AuditResult

SIDE = 128
"""Longest side of the overlays inlined in the page, in pixels."""

COLUMNS = ("index", "file", "predicted_label", "confidence", "true_label", "correct", "outside", "pointing_hit")

SORTING = """
for (const header of document.querySelectorAll("th[data-column]")) {
  header.addEventListener("click", () => {
    const body = document.querySelector("tbody");
    const column = Number(header.dataset.column);
    const up = header.dataset.order !== "up";
    header.dataset.order = up ? "up" : "down";
    const key = (row) => row.children[column].dataset.value ?? row.children[column].textContent;
    const rows = [...body.rows].sort((a, b) => {
      const x = key(a), y = key(b), nx = Number(x), ny = Number(y);
      const order = x !== "" && y !== "" && !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
      return up ? order : -order;
    });
    body.append(...rows);
  });
}
"""

STYLE = """
body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: middle; }
th[data-column] { cursor: pointer; user-select: none; }
th[data-order="up"]::after { content: " ▲"; } th[data-order="down"]::after { content: " ▼"; }
tr.wrong td { background: #fdecea; }
img { image-rendering: pixelated; display: block; }
"""


def html_report(result: AuditResult, rows: list[dict[str, Any]], overlay: Callable[[int], np.ndarray]) -> str:
    """The page's text: every image's overlay inlined as a PNG data URL, every row of ``rows``."""
    columns = [c for c in COLUMNS if any(c in row for row in rows)]
    if result.true_labels is None:
        columns = [c for c in columns if c not in ("true_label", "correct")]
    head = "".join(f'<th data-column="{i + 1}">{html.escape(c.replace("_", " "))}</th>' for i, c in enumerate(columns))
    body = "\n".join(_row(row, columns, overlay(row["index"])) for row in rows)
    title = f"{result.method}{' at ' + result.layer if result.layer else ''}: {len(result)} images"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
        f'<h1>{html.escape(title)}</h1>\n<p class="summary">{html.escape(_summary(result))}</p>\n'
        f"<table><thead><tr><th>overlay</th>{head}</tr></thead><tbody>\n{body}\n</tbody></table>\n"
        f"<script>{SORTING}</script></body></html>\n"
    )


def _summary(result: AuditResult) -> str:
    parts = [f"mean confidence {float(result.confidence.mean()):.3f}"]
    if result.true_labels is not None:
        wrong = len(result.misclassified())
        parts.insert(0, f"accuracy {1 - wrong / len(result):.3f} ({wrong} misclassified)")
    if result.outside is not None:
        parts.append(f"mean share of the map outside the object {float(np.nanmean(result.outside.numpy())):.3f}")
    return "; ".join(parts)


def _row(row: dict[str, Any], columns: list[str], picture: np.ndarray) -> str:
    cells = "".join(_cell(row.get(column)) for column in columns)
    wrong = ' class="wrong"' if row.get("correct") is False else ""
    alt = html.escape(f"{row['file']}: map over the image")
    image = f'<img src="data:image/png;base64,{_png(picture)}" alt="{alt}">'
    return f'<tr{wrong} data-index="{row["index"]}"><td>{image}</td>{cells}</tr>'


def _cell(value: Any) -> str:
    if value is None:
        return '<td data-value=""></td>'
    if isinstance(value, float):
        return f'<td data-value="{value!r}">{value:.3f}</td>'
    text = html.escape(str(value))
    return f'<td data-value="{text}">{text}</td>'


def _png(picture: np.ndarray) -> str:
    image = Image.fromarray(picture)
    scale = SIDE / max(image.size)
    if scale < 1:
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.BILINEAR)
    elif max(image.size) < SIDE // 2:  # tiny images (8×8 digits): whole-pixel enlargement
        factor = SIDE // 2 // max(image.size)
        image = image.resize((image.width * factor, image.height * factor), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")

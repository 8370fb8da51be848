"""Write an audit to a folder: overlay PNGs, raw maps, a CSV, one HTML page, a contact sheet, TensorBoard."""

from __future__ import annotations

import csv
import pathlib
import re
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import numpy as np
from PIL import Image

from ..engine.audit import AuditResult
from ..engine.methods import get_method
from .figures import contact_sheet, worst_cases
from .html_report import html_report
from .overlay import overlay_picture

PathLike = Union[str, pathlib.Path]


@dataclass
class Exported:
    """The files an export wrote."""

    folder: pathlib.Path
    overlays: list[pathlib.Path] = field(default_factory=list)
    maps: list[pathlib.Path] = field(default_factory=list)
    csv: Optional[pathlib.Path] = None
    html: Optional[pathlib.Path] = None
    contact_sheet: Optional[pathlib.Path] = None


def export(
    result: AuditResult,
    folder: PathLike,
    *,
    overlays: bool = True,
    maps: Optional[str] = "npy",
    table: bool = True,
    html: bool = True,
    sheet: bool = True,
    tensorboard: Any = None,
    colormap: str = "turbo",
    opacity: float = 0.5,
    worst: int = 16,
) -> Exported:
    """Write ``result`` (from :func:`xai_widgets.audit`) into ``folder``.

    - ``overlays/``: each image with its map blended over it (PNG, the model's input size);
    - ``maps/``: each raw map, ``.npy`` (``maps="npy"``) or ``.npz`` (``maps="npz"``, with the
      prediction beside the map), or nothing (``None``);
    - ``report.csv`` (``table``): file, predicted class, confidence, true class, method, layer, metric;
    - ``report.html``: one self-contained page (images inlined, sortable table), no server needed;
    - ``worst_cases.png`` (``sheet``, needs matplotlib): a contact sheet of the ``worst`` cases
      (confident mistakes first, else the least confident, else the most off-object maps);
    - ``tensorboard``: a log folder or a ``SummaryWriter``: overlays as images, accuracy and
      confidence as scalars (needs the ``tensorboard`` package).
    """
    out = pathlib.Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    done = Exported(folder=out)
    signed = get_method(result.method).signed
    rows = result.rows()
    stems = _stems(result.names)
    pictures: dict[int, np.ndarray] = {}

    def overlay(index: int) -> np.ndarray:
        if index not in pictures:
            picture = result.picture(index)
            pictures[index] = overlay_picture(
                picture, result.maps[index], colormap=colormap, opacity=opacity, signed=signed
            )
        return pictures[index]

    if overlays:
        (out / "overlays").mkdir(exist_ok=True)
        for index, stem in enumerate(stems):
            path = out / "overlays" / f"{stem}.png"
            Image.fromarray(overlay(index)).save(path)
            done.overlays.append(path)
            rows[index]["overlay"] = path.relative_to(out).as_posix()
    if maps is not None:
        done.maps = _write_maps(result, out / "maps", stems, maps)
        for index, path in enumerate(done.maps):
            rows[index]["map"] = path.relative_to(out).as_posix()
    if table:
        done.csv = _write_csv(rows, out / "report.csv")
    if html:
        done.html = out / "report.html"
        done.html.write_text(html_report(result, rows, overlay), encoding="utf-8")
    if sheet:
        done.contact_sheet = out / "worst_cases.png"
        contact_sheet(result, worst_cases(result, worst), overlay, done.contact_sheet)
    if tensorboard is not None:
        _log_tensorboard(result, tensorboard, overlay)
    return done


def _stems(names: list[str]) -> list[str]:
    """A file name per image: its number and its name, with only safe characters."""
    width = len(str(len(names) - 1))
    return [f"{i:0{width}d}_{re.sub(r'[^A-Za-z0-9._-]+', '_', name).strip('_')[:60]}" for i, name in enumerate(names)]


def _write_maps(result: AuditResult, folder: pathlib.Path, stems: list[str], kind: str) -> list[pathlib.Path]:
    if kind not in ("npy", "npz"):
        raise ValueError(f'maps must be "npy", "npz" or None; got {kind!r}.')
    folder.mkdir(exist_ok=True)
    paths = []
    for index, stem in enumerate(stems):
        values = result.maps[index].float().numpy()
        path = folder / f"{stem}.{kind}"
        if kind == "npy":
            np.save(path, values)
        else:
            np.savez_compressed(
                path,
                map=values,
                predicted=int(result.predicted[index]),
                confidence=float(result.confidence[index]),
                target=int(result.targets[index]),
            )
        paths.append(path)
    return paths


def _write_csv(rows: list[dict[str, Any]], path: pathlib.Path) -> pathlib.Path:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({key: "" if row.get(key) is None else row.get(key) for key in columns})
    return path


def _log_tensorboard(result: AuditResult, target: Any, overlay: Any, shown: int = 64) -> None:
    writer, own = target, False
    if isinstance(target, (str, pathlib.Path)):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as err:
            raise ImportError("TensorBoard logging needs the tensorboard package: pip install tensorboard.") from err
        writer, own = SummaryWriter(log_dir=str(target)), True
    try:
        for index in range(min(shown, len(result))):
            writer.add_image(f"{result.method}/{result.names[index]}", overlay(index), 0, dataformats="HWC")
        writer.add_scalar("audit/mean_confidence", float(result.confidence.mean()), 0)
        writer.add_histogram("audit/confidence", result.confidence, 0)
        if result.true_labels is not None:
            writer.add_scalar("audit/accuracy", 1 - len(result.misclassified()) / len(result), 0)
        if result.outside is not None:
            writer.add_scalar("audit/mean_outside", float(np.nanmean(result.outside.numpy())), 0)
        writer.flush()
    finally:
        if own:
            writer.close()

"""The Gallery widget: a whole data set's maps as thumbnails, filtered and sorted, streamed in."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any, Optional

import ipywidgets
import numpy as np
import torch
import traitlets
from torch import nn

from ..engine import ExplainError, all_methods, get_method
from ..engine.audit import AuditBatch, AuditResult, Target, audit_batches, class_name
from ..engine.image_source import image_source
from ..engine.inputs import Transform
from ..engine.model_state import check_model
from ..engine.outputs import OutputChoice
from ..engine.progress import Cancelled
from .bundles import bundle
from .explorer import Explorer
from .jobs import LatestWins
from .labels import check_labels
from .overlay import OverlayWidget
from .serialize import encode_map, encode_png

log = logging.getLogger(__name__)

FILTERS = ("all", "misclassified", "correct", "low_confidence")
"""Filters besides ``class:<k>`` (images predicted as, or truly of, class k)."""
SORTS = ("index", "confidence", "-confidence", "outside", "-outside")


class Gallery(OverlayWidget):
    """Every image of a data set with its map, predicted and true class and confidence.

    The maps are computed on a worker thread in batches on the model's device (see
    :func:`xai_widgets.audit`) and appear page by page as they come, with progress and a
    Stop button; the notebook stays usable meanwhile. Filters (misclassified, correct, low
    confidence, one class) and sorts (confidence; ``outside``, the share of the map outside
    the given mask or box) run in the kernel, and only the current page travels to the
    browser. A click opens the image in the linked :class:`Explorer` (``.explorer``, shown
    with the grid by :meth:`view`), which shares the Gallery's model.

    Args:
        model, labels, transform, output: as for :class:`Explorer`.
        data: a list or dict of images, a folder, a torch ``Dataset`` or ``DataLoader``, or an
            N×C×H×W tensor.
        true_labels: one class index per image (default: the labels the data carries, if any).
        method, layer, target: what each map explains ("predicted", "true" or a class index).
        masks, boxes: one per image, for the ``outside`` sort.
        batch_size: images per batch (default: 64 on a GPU, 32 on the CPU; halved on out-of-memory).
        page_size, columns: tiles per page and per row.
    """

    _esm = bundle("gallery.js")

    tiles = traitlets.List(traitlets.Dict()).tag(sync=True)
    page = traitlets.Int(0).tag(sync=True)
    pages = traitlets.Int(1).tag(sync=True)
    page_size = traitlets.Int(48).tag(sync=True)
    columns = traitlets.Int(8).tag(sync=True)
    filter = traitlets.Unicode("all").tag(sync=True)
    sort = traitlets.Unicode("index").tag(sync=True)
    low_confidence = traitlets.Float(0.5).tag(sync=True)
    filters = traitlets.List(traitlets.Dict()).tag(sync=True)
    sorts = traitlets.List(traitlets.Unicode()).tag(sync=True)
    summary = traitlets.Unicode("").tag(sync=True)
    progress = traitlets.Dict().tag(sync=True)
    running = traitlets.Bool(False).tag(sync=True)
    stop = traitlets.Int(0).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    method = traitlets.Unicode("gradcam").tag(sync=True)
    methods = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(
        self,
        model: nn.Module,
        data: Any,
        *,
        labels: Optional[Sequence[str]] = None,
        true_labels: Optional[Sequence[int]] = None,
        transform: Optional[Transform] = None,
        output: OutputChoice = None,
        method: str = "gradcam",
        layer: Optional[str] = None,
        target: Target = "predicted",
        masks: Optional[Sequence[Any]] = None,
        boxes: Optional[Sequence[Sequence[float]]] = None,
        batch_size: Optional[int] = None,
        page_size: int = 48,
        columns: int = 8,
        opacity: float = 0.5,
        colormap: str = "turbo",
        normalization: str = "auto",
    ) -> None:
        check_model(model)
        spec = get_method(method)
        self.model, self.transform, self.output = model, transform, output
        self.source = image_source(data, true_labels)
        self._class_names = check_labels(labels)
        self._settings = dict(method=spec.name, layer=layer, target=target, masks=masks, boxes=boxes)
        self._batch_size = batch_size
        self._signed = spec.signed
        count = len(self.source)
        self._predicted = torch.full((count,), -1, dtype=torch.long)
        self._confidence = torch.full((count,), float("nan"))
        self._targets = torch.full((count,), -1, dtype=torch.long)
        self._outside: Optional[torch.Tensor] = (
            None if masks is None and boxes is None else torch.full((count,), float("nan"))
        )
        self._maps: list[Optional[torch.Tensor]] = [None] * count
        self._thumbnails: list[Optional[np.ndarray]] = [None] * count
        self._photos: dict[int, bytes] = {}  # PNG bytes of thumbnails already sent
        self._layer: Optional[str] = None
        self._done = 0
        self._jobs = LatestWins()
        self._explorer: Optional[Explorer] = None
        self._closed = False
        super().__init__(
            page_size=max(1, int(page_size)),
            columns=max(1, int(columns)),
            sorts=[s for s in SORTS if "outside" not in s or self._outside is not None],
            opacity=opacity,
            colormap=colormap,
            normalization=normalization,
            title=f"{spec.label} of {count:,} images",
            method=spec.name,
            methods=[
                {"name": m.name, "label": m.label}
                for m in all_methods()
                if m.name == spec.name or not (m.slow or m.needs_attention)
            ],
        )
        self._shown: list[int] = []  # image indices of the tiles sent
        self._show()
        self.run()

    # -- the batch run ------------------------------------------------------------------

    def run(self) -> None:
        """Compute every map again (from the start), on the worker thread."""
        generation = self._jobs.new_request()
        self._done, self.error, self.running = 0, "", True
        self.progress = {"done": 0, "total": len(self.source)}
        settings = dict(self._settings)

        def job(still_wanted) -> None:
            try:
                for batch in audit_batches(
                    self.model,
                    self.source,
                    transform=self.transform,
                    output=self.output,
                    batch_size=self._batch_size,
                    **settings,
                ):
                    self._jobs.deliver(generation, lambda batch=batch: self._add(batch))
            except Cancelled:
                raise
            except Exception as err:  # the widget must stay usable whatever the model does
                if not isinstance(err, ExplainError):
                    log.exception("the gallery's run failed")
                message = str(err) if isinstance(err, ExplainError) else f"{type(err).__name__}: {err}"
                self._jobs.deliver(generation, lambda: self._fail(message))
            finally:
                self._jobs.deliver(generation, self._finish)

        self._jobs.submit(job, generation, lambda done, total: None)

    def cancel(self) -> None:
        """Stop the run after the current batch; what is done so far stays shown."""
        self._jobs.new_request()
        self._finish()

    @traitlets.observe("method")
    def _on_method(self, change: dict) -> None:
        """Another method from the select: every map is computed again with it."""
        if self._closed or change["new"] == self._settings["method"]:
            return
        try:
            spec = get_method(change["new"])
        except ExplainError as err:
            self.error = str(err)
            return
        self._settings["method"], self._signed = spec.name, spec.signed
        self.title = f"{spec.label} of {len(self.source):,} images"
        self._shown = []
        self.run()

    @traitlets.observe("stop")
    def _on_stop(self, change: dict) -> None:
        if not self._closed:
            self.cancel()

    def wait(self, timeout: Optional[float] = 120.0) -> Gallery:
        """Wait until the run has finished (for scripts and tests); returns the widget."""
        self._jobs.wait(timeout)
        return self

    def _add(self, batch: AuditBatch) -> None:
        rows = range(batch.start, batch.start + len(batch.predicted))
        self._predicted[rows.start : rows.stop] = batch.predicted
        self._confidence[rows.start : rows.stop] = batch.confidence
        self._targets[rows.start : rows.stop] = batch.targets
        if self._outside is not None and batch.outside is not None:
            self._outside[rows.start : rows.stop] = batch.outside
        for row, index in enumerate(rows):
            self._maps[index] = batch.maps[row]
            self._thumbnails[index] = batch.thumbnails[row]
        self._layer = batch.layer
        self._done = rows.stop
        self.progress = {"done": self._done, "total": len(self.source)}
        self._show(fresh=set(rows))

    def _fail(self, message: str) -> None:
        self.error = message

    def _finish(self) -> None:
        self.running = False
        self.progress = {}
        self._show()

    # -- what the page shows ------------------------------------------------------------

    @traitlets.observe("filter", "sort", "low_confidence", "page_size")
    def _on_view(self, change: dict) -> None:
        if not self._closed:
            self.page = 0
            self._show()

    @traitlets.observe("page")
    def _on_page(self, change: dict) -> None:
        if not self._closed:
            self._show()

    def visible(self) -> list[int]:
        """The indices the filter keeps, in the sort's order (computed images only)."""
        done = list(range(self._done))
        kept = [i for i in done if self._keeps(i)]
        key = self.sort.lstrip("-")
        if key == "confidence":
            values = self._confidence.tolist()
        elif key == "outside" and self._outside is not None:
            values = np.nan_to_num(self._outside.numpy(), nan=-1.0).tolist()
        else:
            return kept
        return sorted(kept, key=lambda i: values[i], reverse=self.sort.startswith("-"))

    def _keeps(self, index: int) -> bool:
        true = self.source.true_labels
        predicted = int(self._predicted[index])
        if self.filter == "misclassified":
            return true is not None and predicted != true[index]
        if self.filter == "correct":
            return true is not None and predicted == true[index]
        if self.filter == "low_confidence":
            return float(self._confidence[index]) < self.low_confidence
        if self.filter.startswith("class:"):
            wanted = int(self.filter.split(":", 1)[1])
            return predicted == wanted or (true is not None and true[index] == wanted)
        return True

    def _show(self, fresh: Optional[set[int]] = None) -> None:
        """Send the current page; after a batch (``fresh``: its images), only if the page changed."""
        order = self.visible()
        pages = max(1, math.ceil(len(order) / self.page_size))
        page = min(self.page, pages - 1)
        shown = order[page * self.page_size : (page + 1) * self.page_size]
        with self.hold_sync():
            self.pages = pages
            if page != self.page:
                self.page = page
            if fresh is None or shown != self._shown or fresh.intersection(shown):
                self.tiles = [self._tile(index) for index in shown]
                self._shown = shown
            self.filters = self._filter_choices()
            self.summary = self._summary(len(order))

    def _tile(self, index: int) -> dict[str, Any]:
        predicted, true = int(self._predicted[index]), self._true(index)
        confidence = float(self._confidence[index])
        title = f"{self._label(predicted)} ({confidence:.0%})"
        if true is not None and true != predicted:
            title += f" · true {self._label(true)}"
        tile = {
            "index": index,
            "name": self.source.names[index],
            "title": title,
            "predicted": predicted,
            "true": true,
            "confidence": confidence,
            "correct": None if true is None else predicted == true,
            "signed": self._signed,
            "error": None,
            "photo": self._photo(index),
        }
        if self._outside is not None:
            tile["outside"] = float(self._outside[index])
        attribution = self._maps[index]
        return {**tile, **encode_map(attribution)} if attribution is not None else tile

    def _photo(self, index: int) -> bytes:
        if index not in self._photos and self._thumbnails[index] is not None:
            self._photos[index] = encode_png(self._thumbnails[index])
        return self._photos.get(index, b"")

    def _true(self, index: int) -> Optional[int]:
        return None if self.source.true_labels is None else self.source.true_labels[index]

    def _label(self, index: Optional[int]) -> str:
        return class_name(self._class_names, index)

    def _filter_choices(self) -> list[dict[str, str]]:
        choices = [{"value": "all", "label": "all images"}]
        if self.source.true_labels is not None:
            choices += [{"value": "misclassified", "label": "misclassified"}, {"value": "correct", "label": "correct"}]
        choices.append({"value": "low_confidence", "label": f"confidence below {self.low_confidence:g}"})
        seen = sorted(set(self._predicted[: self._done].tolist()) | set(self.source.true_labels or []))
        choices += [{"value": f"class:{k}", "label": f"class {self._label(k)}"} for k in seen if k >= 0]
        return choices

    def _summary(self, shown: int) -> str:
        parts = [f"{self._done:,} of {len(self.source):,} images explained"]
        if self.source.true_labels is not None and self._done:
            truth = torch.tensor(self.source.true_labels[: self._done])
            wrong = int((self._predicted[: self._done] != truth).sum())
            parts.append(f"{wrong:,} misclassified (accuracy {1 - wrong / self._done:.3f})")
        if shown != self._done:
            parts.append(f"{shown:,} shown")
        return " · ".join(parts)

    # -- results and the linked Explorer ------------------------------------------------

    def result(self) -> AuditResult:
        """What has been computed so far as an :class:`AuditResult` (for :func:`xai_widgets.export`)."""
        done = self._done
        return AuditResult(
            source=_first_images(self.source, done),
            transform=self.transform,
            method=self._settings["method"],
            layer=self._layer,
            labels=self._class_names,
            predicted=self._predicted[:done].clone(),
            confidence=self._confidence[:done].clone(),
            targets=self._targets[:done].clone(),
            maps=[m for m in self._maps[:done] if m is not None],
            outside=None if self._outside is None else self._outside[:done].clone(),
        )

    @property
    def explorer(self) -> Explorer:
        """The Explorer a clicked tile opens in (made on first use; it shares the model)."""
        if self._explorer is None:
            self._explorer = Explorer(
                self.model, self.source, labels=self._class_names, transform=self.transform, output=self.output
            )
        return self._explorer

    @traitlets.observe("selected")
    def _open_selected(self, change: dict) -> None:
        index = change["new"]
        if self._closed or not 0 <= index < self._done:
            return
        explorer = self.explorer
        explorer.image_index = index
        with explorer.hold_trait_notifications():
            method = self._settings["method"]
            explorer.method = method
            if self._layer and get_method(method).uses_layer:
                explorer.layer = self._layer
            explorer.target = int(self._targets[index])

    def view(self) -> ipywidgets.VBox:
        """The gallery with its linked Explorer below it."""
        return ipywidgets.VBox([self, self.explorer])

    def close(self) -> None:
        """Stop the run and close the widget (and its Explorer); the model and data can then be collected."""
        self._closed = True
        jobs = getattr(self, "_jobs", None)
        if jobs is not None:
            jobs.shutdown()
        if getattr(self, "_explorer", None) is not None:
            self._explorer.close()
            self._explorer = None
        self._maps, self._thumbnails, self._photos = [], [], {}
        super().close()


def _first_images(source: Any, count: int) -> Any:
    """``source`` cut to its first ``count`` images (the ones computed)."""
    if count == len(source):
        return source
    from ..engine.image_source import ImageSource

    true = None if source.true_labels is None else source.true_labels[:count]
    return ImageSource([source.image(i) for i in range(count)], source.names[:count], true)

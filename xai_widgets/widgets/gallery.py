"""The Gallery widget: a whole data set's maps as thumbnails, filtered and sorted, streamed in."""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Sequence
from typing import Any, Optional, Union

import ipywidgets
import numpy as np
import torch
import traitlets
from torch import nn

from ..engine import ExplainError, all_methods, get_method
from ..engine.audit import AuditBatch, AuditResult, Target, audit_batches, class_name
from ..engine.errors import AuditJobError
from ..engine.image_source import image_source
from ..engine.inputs import Transform
from ..engine.model_state import check_model
from ..engine.outputs import OutputChoice
from ..engine.progress import Cancelled
from .bundles import bundle
from .explorer import Explorer
from .gallery_data import GalleryData, MemoryData, StoreData
from .jobs import LatestWins
from .labels import check_labels
from .overlay import OverlayWidget
from .serialize import encode_map, encode_png

log = logging.getLogger(__name__)

FILTERS = ("all", "misclassified", "correct", "low_confidence")
"""Filters besides ``class:<k>`` (images predicted as, or truly of, class k)."""
SORTS = ("index", "confidence", "-confidence", "outside", "-outside", "deletion", "-deletion")
MEASURED = ("outside", "deletion")
"""Sorts on a metric the run may not measure (offered only when it does)."""


class _StoreOrComm:
    """``Gallery.open(folder)`` (on the class) opens an audit store; ``widget.open()`` (on a
    widget) stays ipywidgets' own: it opens the widget's comm."""

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return owner.open_store  # type: ignore[attr-defined]
        return super(Gallery, instance).open


class Gallery(OverlayWidget):
    """Every image of a data set with its map, predicted and true class and confidence.

    The maps are computed on a worker thread in batches on the model's device (see
    :func:`xai_widgets.audit`) and appear page by page as they come, with progress and a
    Stop button; the notebook stays usable meanwhile. Filters (misclassified, correct, low
    confidence, one class) and sorts (confidence; ``outside``, the share of the map outside
    the given mask or box) run in the kernel, and only the current page travels to the
    browser. A click opens the image in the linked :class:`Explorer` (``.explorer``, shown
    with the grid by :meth:`view`), which shares the Gallery's model.

    ``Gallery.open(folder)`` browses an audit store written by ``xai-widgets audit`` instead
    (no model, the maps read from disk a page at a time): see :meth:`open_store`.

    Args:
        model, labels, transform, output: as for :class:`Explorer`.
        data: a list or dict of images, a folder, a torch ``Dataset`` or ``DataLoader``, or an
            N×C×H×W tensor.
        true_labels: one class index per image (default: the labels the data carries, if any).
        method, layer, target: what each map explains ("predicted", "true" or a class index).
        masks, boxes: one per image, for the ``outside`` sort.
        batch_size: images per batch (default: 64 on a GPU, 32 on the CPU; halved on out-of-memory).
        deletion_steps: also measure each map's deletion AUC in this many steps (``steps + 1``
            more forwards an image), shown on its tile and offered as a sort (most faithful first).
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
        deletion_steps: Optional[int] = None,
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
        self._settings = dict(
            method=spec.name, layer=layer, target=target, masks=masks, boxes=boxes, deletion_steps=deletion_steps
        )
        self._batch_size = batch_size
        self._signed = spec.signed
        count = len(self.source)
        self._data: GalleryData = MemoryData(
            self.source.names,
            self.source.true_labels,
            outside=masks is not None or boxes is not None,
            deletion=deletion_steps is not None,
        )
        self._start(
            title=f"{spec.label} of {count:,} images",
            method=spec.name,
            methods=[
                {"name": m.name, "label": m.label}
                for m in all_methods()
                if m.name == spec.name or not (m.slow or m.needs_attention)
            ],
            page_size=page_size,
            columns=columns,
            opacity=opacity,
            colormap=colormap,
            normalization=normalization,
        )
        self.run()

    def _start(self, *, page_size: int, columns: int, **traits: Any) -> None:
        """What every Gallery sets up, whatever its data: the widget, its first (empty) page."""
        self._photos: dict[int, bytes] = {}  # PNG bytes of thumbnails already sent
        self._layer: Optional[str] = None
        self._jobs = LatestWins()
        self._explorer: Optional[Explorer] = None
        self._closed = False
        self._lock = threading.RLock()  # a store's refresh (on a thread) and a page never interleave
        self._following: Optional[threading.Event] = None
        super().__init__(
            page_size=max(1, int(page_size)),
            columns=max(1, int(columns)),
            sorts=self._sorts(),
            **traits,
        )
        self._shown: list[int] = []  # image indices of the tiles sent
        self._show()

    @classmethod
    def open_store(
        cls,
        folder: Union[str, os.PathLike],
        *,
        map: Optional[str] = None,
        follow: Optional[float] = None,
        page_size: int = 48,
        columns: int = 8,
        opacity: float = 0.5,
        colormap: str = "turbo",
        normalization: str = "auto",
    ) -> Gallery:
        """Browse an audit store (written by ``xai-widgets audit`` / ``run_audit``) without a model.

        Only the table is read into memory; the maps and thumbnails of the page shown are read
        from the store's shards as the page changes, so a store of any size opens. The filters,
        sorts and pages are those of a Gallery that computes its maps; the method select picks
        among the store's maps (``map``: which one first, e.g. ``"gradcam@layer4"``).

        A store still being written opens too: ``follow`` (seconds) re-reads it at that interval
        until the run ends (default: every 2 s while its manifest is missing; 0: never);
        :meth:`refresh` re-reads it at once. A click on a tile opens no Explorer (there is no model).
        """
        from ..audit_job.store import AuditStore

        store = AuditStore.open(folder)
        data = StoreData(store, map)
        gallery = cls.__new__(cls)
        gallery.model, gallery.transform, gallery.output, gallery.source = None, None, None, None
        gallery._class_names = check_labels(store.labels)
        gallery._settings = dict(
            method=data.key, layer=None, target="predicted", masks=None, boxes=None, deletion_steps=None
        )
        gallery._batch_size = None
        gallery._data = data
        gallery._signed = _store_map_signed(store, data.key)
        gallery._start(
            title=_store_title(store, data.key),
            method=data.key,
            methods=[{"name": key, "label": _store_map_label(store, key)} for key in store.maps],
            page_size=page_size,
            columns=columns,
            opacity=opacity,
            colormap=colormap,
            normalization=normalization,
        )
        every = follow if follow is not None else (None if store.complete else 2.0)
        if every:
            gallery._follow(float(every))
        return gallery

    open = _StoreOrComm()

    def refresh(self) -> list[int]:
        """Re-read the store (a Gallery opened from a folder): the images its run finished since."""
        if not isinstance(self._data, StoreData):
            return []
        with self._lock:
            fresh = self._data.refresh()
            if fresh:
                self.progress = {"done": int(self._data.ready.sum()), "total": self._data.count} if self.running else {}
                self._show(fresh=set(fresh))
        return fresh

    def _follow(self, every: float) -> None:
        stop = self._following = threading.Event()
        self.running = True
        self.progress = {"done": int(self._data.ready.sum()), "total": self._data.count}

        def loop() -> None:
            try:
                while not stop.wait(every) and not self._closed:
                    self.refresh()
                    if self._data.store.complete:  # type: ignore[attr-defined]
                        break
            except Exception as err:  # a store damaged under our feet: say so, keep the widget
                log.exception("following the audit store failed")
                self.error = f"{type(err).__name__}: {err}"
            finally:
                if not self._closed:
                    self._finish()

        threading.Thread(target=loop, name="xai-widgets-store", daemon=True).start()

    # -- the batch run ------------------------------------------------------------------

    def run(self) -> None:
        """Compute every map again (from the start), on the worker thread."""
        if self.model is None:
            raise AuditJobError("This Gallery shows an audit store; it has no model to run; refresh() re-reads it.")
        generation = self._jobs.new_request()
        self._data.restart()  # type: ignore[attr-defined]
        self.error, self.running = "", True
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
        """Stop the run after the current batch (or stop following a store); what is done so far stays shown."""
        self._jobs.new_request()
        if self._following is not None:
            self._following.set()
        self._finish()

    @traitlets.observe("method")
    def _on_method(self, change: dict) -> None:
        """Another method from the select: every map is computed again with it."""
        if self._closed or change["new"] == self._settings["method"]:
            return
        if isinstance(self._data, StoreData):
            self._choose_map(change["new"])
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

    def _choose_map(self, key: str) -> None:
        try:
            self._data.choose(key)  # type: ignore[attr-defined]
        except ExplainError as err:
            self.error = str(err)
            return
        store = self._data.store  # type: ignore[attr-defined]
        self._settings["method"], self._signed = key, _store_map_signed(store, key)
        self.title = _store_title(store, key)
        self.sorts = self._sorts()
        if self.sort not in self.sorts:
            self.sort = "index"
        self._shown = []
        self._show()

    @traitlets.observe("stop")
    def _on_stop(self, change: dict) -> None:
        if not self._closed:
            self.cancel()

    def wait(self, timeout: Optional[float] = 120.0) -> Gallery:
        """Wait until the run has finished (for scripts and tests); returns the widget."""
        self._jobs.wait(timeout)
        return self

    def _add(self, batch: AuditBatch) -> None:
        rows = self._data.add(batch)  # type: ignore[attr-defined]
        self._layer = batch.layer
        self.progress = {"done": rows.stop, "total": len(self.source)}
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
        with self._lock:
            data = self._data
            kept = np.flatnonzero(data.ready & self._keeps(data))
            key = self.sort.lstrip("-")
            if key == "confidence":
                values = data.confidence[kept]
            elif key in MEASURED and getattr(data, f"{key}_kept"):
                values = np.nan_to_num(getattr(data, key)[kept], nan=-1.0)
            else:
                return kept.tolist()
            order = np.argsort(-values if self.sort.startswith("-") else values, kind="stable")
            return kept[order].tolist()

    def _sorts(self) -> list[str]:
        """The sorts this data supports: a metric's only when the run measures it."""
        return [s for s in SORTS if s.lstrip("-") not in MEASURED or getattr(self._data, f"{s.lstrip('-')}_kept")]

    def _keeps(self, data: GalleryData) -> np.ndarray:
        known = data.true >= 0 if data.has_true else np.zeros(data.count, dtype=bool)
        if self.filter == "misclassified":
            return known & (data.predicted != data.true)
        if self.filter == "correct":
            return known & (data.predicted == data.true)
        if self.filter == "low_confidence":
            return data.confidence < self.low_confidence
        if self.filter.startswith("class:"):
            wanted = int(self.filter.split(":", 1)[1])
            return (data.predicted == wanted) | (known & (data.true == wanted))
        return np.ones(data.count, dtype=bool)

    def _show(self, fresh: Optional[set[int]] = None) -> None:
        """Send the current page; after a batch (``fresh``: its images), only if the page changed."""
        with self._lock:
            self._show_locked(fresh)

    def _show_locked(self, fresh: Optional[set[int]]) -> None:
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
        data = self._data
        predicted, true = int(data.predicted[index]), self._true(index)
        confidence = float(data.confidence[index])
        title = f"{self._label(predicted)} ({confidence:.0%})"
        if true is not None and true != predicted:
            title += f" · true {self._label(true)}"
        tile = {
            "index": index,
            "name": data.names[index],
            "title": title,
            "predicted": predicted,
            "true": true,
            "confidence": confidence,
            "correct": None if true is None else predicted == true,
            "signed": self._signed,
            "error": None,
            "photo": self._photo(index),
        }
        if data.outside_kept:
            tile["outside"] = float(data.outside[index])
        if data.deletion_kept:
            tile["deletion"] = float(data.deletion[index])
            tile["title"] += f" · deletion AUC {tile['deletion']:.2f}"
        attribution = data.map(index)
        return {**tile, **encode_map(attribution)} if attribution is not None else tile

    def _photo(self, index: int) -> bytes:
        if index not in self._photos:
            picture = self._data.thumbnail(index)
            if picture is not None:
                self._photos[index] = encode_png(picture)
        return self._photos.get(index, b"")

    def _true(self, index: int) -> Optional[int]:
        true = int(self._data.true[index])
        return None if not self._data.has_true or true < 0 else true

    def _label(self, index: Optional[int]) -> str:
        return class_name(self._class_names, index)

    def _filter_choices(self) -> list[dict[str, str]]:
        choices = [{"value": "all", "label": "all images"}]
        data = self._data
        if data.has_true:
            choices += [{"value": "misclassified", "label": "misclassified"}, {"value": "correct", "label": "correct"}]
        choices.append({"value": "low_confidence", "label": f"confidence below {self.low_confidence:g}"})
        seen = sorted(set(np.unique(data.predicted[data.ready]).tolist()) | set(np.unique(data.true).tolist()))
        choices += [{"value": f"class:{k}", "label": f"class {self._label(k)}"} for k in seen if k >= 0]
        return choices

    def _summary(self, shown: int) -> str:
        data = self._data
        done = int(data.ready.sum())
        parts = [f"{done:,} of {data.count:,} images explained"]
        known = data.ready & (data.true >= 0) if data.has_true else None
        if known is not None and known.any():
            wrong = int((data.predicted[known] != data.true[known]).sum())
            parts.append(f"{wrong:,} misclassified (accuracy {1 - wrong / int(known.sum()):.3f})")
        if shown != done:
            parts.append(f"{shown:,} shown")
        return " · ".join(parts)

    # -- results and the linked Explorer ------------------------------------------------

    def result(self) -> AuditResult:
        """What has been computed so far as an :class:`AuditResult` (for :func:`xai_widgets.export`)."""
        if not isinstance(self._data, MemoryData):
            raise AuditJobError("A Gallery opened from a store keeps no AuditResult: read the store with AuditStore.")
        data = self._data
        done = int(data.ready.sum())
        return AuditResult(
            source=_first_images(self.source, done),
            transform=self.transform,
            method=self._settings["method"],
            layer=self._layer,
            labels=self._class_names,
            predicted=torch.from_numpy(data.predicted[:done].copy()),
            confidence=torch.from_numpy(data.confidence[:done].astype(np.float32)),
            targets=torch.from_numpy(data.targets[:done].copy()),
            maps=data.maps(done),
            outside=None if not data.outside_kept else torch.from_numpy(data.outside[:done].astype(np.float32)),
            deletion=None if not data.deletion_kept else torch.from_numpy(data.deletion[:done].astype(np.float32)),
        )

    @property
    def explorer(self) -> Explorer:
        """The Explorer a clicked tile opens in (made on first use; it shares the model)."""
        if self.model is None:
            raise AuditJobError("A Gallery opened from a store has no model, so no Explorer; open one with the model.")
        if self._explorer is None:
            self._explorer = Explorer(
                self.model, self.source, labels=self._class_names, transform=self.transform, output=self.output
            )
        return self._explorer

    @traitlets.observe("selected")
    def _open_selected(self, change: dict) -> None:
        index = change["new"]
        if self._closed or self.model is None or not 0 <= index < self._data.count or not self._data.ready[index]:
            return
        explorer = self.explorer
        explorer.image_index = index
        with explorer.hold_trait_notifications():
            method = self._settings["method"]
            explorer.method = method
            if self._layer and get_method(method).uses_layer:
                explorer.layer = self._layer
            explorer.target = int(self._data.targets[index])

    def view(self) -> ipywidgets.VBox:
        """The gallery with its linked Explorer below it."""
        return ipywidgets.VBox([self, self.explorer])

    def close(self) -> None:
        """Stop the run and close the widget (and its Explorer); the model and data can then be collected."""
        self._closed = True
        if getattr(self, "_following", None) is not None:
            self._following.set()
        jobs = getattr(self, "_jobs", None)
        if jobs is not None:
            jobs.shutdown()
        if getattr(self, "_explorer", None) is not None:
            self._explorer.close()
            self._explorer = None
        if getattr(self, "_data", None) is not None:
            self._data.release()
        self._photos = {}
        super().close()


def _first_images(source: Any, count: int) -> Any:
    """``source`` cut to its first ``count`` images (the ones computed)."""
    if count == len(source):
        return source
    from ..engine.image_source import ImageSource

    true = None if source.true_labels is None else source.true_labels[:count]
    return ImageSource([source.image(i) for i in range(count)], source.names[:count], true)


def _store_map_label(store: Any, key: str) -> str:
    method, _, layer = key.partition("@")
    label = get_method(method).label
    return f"{label} at {layer}" if layer else label


def _store_map_signed(store: Any, key: str) -> bool:
    return get_method(key.partition("@")[0]).signed


def _store_title(store: Any, key: str) -> str:
    return f"{_store_map_label(store, key)} of {store.count:,} images"

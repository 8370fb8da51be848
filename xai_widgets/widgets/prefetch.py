"""Maps the browser is likely to ask for next, computed in the background and sent ahead.

After the first map of an image the kernel computes, at low priority, every layer for the
current class and method, then the top classes at the current layer, then the other CAM
methods, and sends them in one binary message per batch. The front end keeps them, so a
control move that hits its cache repaints with no round trip; the kernel is only told the
new state (see ``Explorer.drawn_from_cache``).

Maps travel as uint8 with a per-map offset and step (``value = low + q * step``): the
display colours a map with 256 levels, and the error this adds is at most half a step,
``(max - min) / 510`` of the map's own range (0.2 %).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Optional

import numpy as np

from ..engine.cache import LRUCache

PREFETCH_METHODS = (
    "gradcam",
    "gradcam++",
    "xgradcam",
    "layercam",
    "hirescam",
    "gradcam_elementwise",
    "eigencam",
    "eigengradcam",
    "layer_gradxact",
)
"""The CAM methods sent ahead: each is a few tensor operations on the activations and gradients
the session keeps (KPCA-CAM, FEM, Score-CAM and the perturbation methods are not)."""

DEFAULT_BUDGET = 1_000_000
"""Bytes sent ahead per image unless ``Explorer.prefetch_budget`` says otherwise."""

BATCH_MAPS = 8
"""Maps per message: the first ones arrive early, and each message carries several."""

ENTRY_BYTES = 600
"""About what one entry's description (key, code, numbers) adds to a message, for the budget."""

STORED_RESULTS = 512
"""Exact results the kernel keeps for the current image (what the browser may draw from its cache)."""

Key = dict[str, Any]
Fields = dict[str, Any]


def key_id(key: Key) -> str:
    """A key as text, the same for equal keys whatever their order (the store's index)."""
    return json.dumps(key, sort_keys=True, default=str)


def quantize(data: bytes, shape: list[int]) -> tuple[bytes, float, float]:
    """A float32 map as uint8 bytes with its ``low`` and ``step``: ``value ≈ low + q * step``,
    off by at most ``step / 2``; a constant map gets step 0. Non-finite values become ``low``."""
    values = np.frombuffer(data, dtype="<f4").reshape(shape).astype(np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return bytes(values.size), 0.0, 0.0
    low, high = float(finite.min()), float(finite.max())
    step = (high - low) / 255.0
    if step == 0.0:
        return bytes(values.size), low, 0.0
    quantized = np.rint((np.nan_to_num(values, nan=low, posinf=high, neginf=low) - low) / step)
    return np.clip(quantized, 0, 255).astype(np.uint8).tobytes(), low, step


def dequantize(data: bytes, shape: list[int], low: float, step: float) -> np.ndarray:
    """Inverse of :func:`quantize` (what the browser does with a prefetched map)."""
    return (low + step * np.frombuffer(data, dtype=np.uint8).astype(np.float64)).reshape(shape).astype(np.float32)


def candidate_keys(anchor: Key, layers: list[str], classes: list[int], methods: list[tuple[str, Key]]) -> list[Key]:
    """The keys to send ahead of ``anchor``, most likely first: every layer (current class and
    method), then each class at the current layer, then each method (with its default
    parameters) at the current layer and class. ``anchor`` itself is left out."""
    seen = {key_id(anchor)}
    ordered: list[Key] = []

    def add(key: Key) -> None:
        ident = key_id(key)
        if ident not in seen:
            seen.add(ident)
            ordered.append(key)

    for layer in layers:
        add({**anchor, "layer": layer})
    for index in classes:
        add({**anchor, "target": index})
    for name, params in methods:
        add({**anchor, "method": name, "params": params})
    return ordered


def pack(entries: list[tuple[Key, Fields]], status: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
    """One message for a batch: the entries' descriptions and a single buffer with their maps
    (uint8, one after the other; each entry gives its ``offset`` and ``shape``)."""
    described, chunks, offset = [], [], 0
    for key, fields in entries:
        data, low, step = quantize(fields["data"], fields["shape"])
        described.append(
            {
                "key": key,
                "shape": fields["shape"],
                "offset": offset,
                "low": low,
                "step": step,
                "signed": fields.get("signed", False),
                "warning": fields.get("warning"),
                "explains": fields.get("explains", ""),
                "code": fields.get("code", ""),
            }
        )
        chunks.append(data)
        offset += len(data)
    return {"kind": "prefetch", "entries": described, "status": status}, [b"".join(chunks)]


def message_bytes(content: dict[str, Any], buffers: list[bytes]) -> int:
    """What a message costs on the wire: its JSON and its buffers."""
    return len(json.dumps(content, default=str)) + sum(len(buffer) for buffer in buffers)


class Prefetcher:
    """Compute and send the maps around the newest shown key, one at a time, when the engine is
    free; an explicit request always goes first, and a new image drops what was under way.

    ``plan(anchor)`` gives the keys to send ahead; ``compute(key)`` gives a result's fields
    (the same call an explicit request uses), or None where the key has no map to send;
    ``send(content, buffers)`` sends one message; ``run_when_free(work, still_wanted)`` runs
    ``work`` under the engine lock once no request runs or waits.
    """

    def __init__(
        self,
        plan: Callable[[Key], list[Key]],
        compute: Callable[[Key], Optional[Fields]],
        send: Callable[[dict[str, Any], list[bytes]], None],
        run_when_free: Callable[[Callable[[], Any], Callable[[], bool]], Any],
        budget: Callable[[], int],
        canonical: Callable[[Key], Key] = lambda key: key,
    ) -> None:
        self._plan, self._compute, self._send, self._canonical = plan, compute, send, canonical
        self._run_when_free, self._budget = run_when_free, budget
        self._cond = threading.Condition()
        self._epoch = 0
        self._anchor: Optional[Key] = None
        self._store: LRUCache[Fields] = LRUCache(STORED_RESULTS)
        self._sent: set[str] = set()
        self._status: dict[str, Any] = self._fresh_status()
        self._thread: Optional[threading.Thread] = None
        self._closed = False
        self._busy = False
        self._started = time.perf_counter()

    # -- what the kernel knows ---------------------------------------------------------------

    def stored(self, key: Key) -> Optional[Fields]:
        """The exact fields of ``key`` if it was shown or sent this image (else None)."""
        with self._cond:
            return self._store.get(self._id(key))

    def remember(self, key: Key, fields: Fields) -> None:
        """Keep a shown result's fields (the browser caches what it was sent)."""
        if fields.get("error") or "data" not in fields:
            return
        with self._cond:
            self._store.put(self._id(key), dict(fields))

    def status(self) -> dict[str, Any]:
        """This image's prefetch so far: maps and bytes sent, milliseconds from the first map
        to the last, whether every planned map was sent (``complete``) and why it stopped."""
        with self._cond:
            return dict(self._status)

    # -- what the kernel is told -------------------------------------------------------------

    def reset(self) -> int:
        """A new image (or a model changed in place): drop what was sent and stop the work under way."""
        with self._cond:
            self._epoch += 1
            self._anchor = None
            self._store.clear()
            self._sent.clear()
            self._status = self._fresh_status()
            self._cond.notify_all()
            return self._epoch

    def resend(self) -> None:
        """A new view opened (or one asks again): send everything again, within a fresh budget
        (the kernel's exact results are kept)."""
        with self._cond:
            self._sent.clear()
            self._status = self._fresh_status()

    def follow(self, anchor: Key, background: bool = True) -> None:
        """Send ahead of ``anchor`` (the key just shown): on the background thread, or, with
        ``background=False``, now on the calling thread (for scripts and tests)."""
        with self._cond:
            self._anchor = self._canonical(dict(anchor))
            self._cond.notify_all()
        if not background:
            self._drain()
            return
        with self._cond:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._loop, name="xai-widgets-prefetch", daemon=True)
                self._thread.start()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until the background thread has nothing left to send (for tests)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._busy or (self._anchor is not None and self._thread is not None):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._anchor = None
            self._store.clear()
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)

    # -- the work ----------------------------------------------------------------------------

    def _id(self, key: Key) -> str:
        """The store's index of ``key``: equal for keys that name the same map."""
        return key_id(self._canonical(key))

    @staticmethod
    def _fresh_status() -> dict[str, Any]:
        return {"maps": 0, "bytes": 0, "messages": 0, "ms": 0.0, "complete": False, "stopped": ""}

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._anchor is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
            self._drain()

    def _drain(self) -> None:
        """Send ahead of the current anchor until everything planned is sent, the budget is
        spent, or a new image or anchor comes (then the caller plans again)."""
        with self._cond:
            anchor, epoch = self._anchor, self._epoch
            self._busy = anchor is not None
        try:
            if anchor is not None:
                self._send_ahead(anchor, epoch)
        finally:
            with self._cond:
                if self._anchor is anchor:
                    self._anchor = None  # done with it: wait for the next
                self._busy = False
                self._cond.notify_all()

    def _current(self, anchor: Key, epoch: int) -> bool:
        return not self._closed and self._epoch == epoch and self._anchor is anchor

    def _send_ahead(self, anchor: Key, epoch: int) -> None:
        batch: list[tuple[Key, Fields]] = []
        pending = 0  # bytes of the batch not sent yet (uint8 maps and their descriptions)
        for key in self._wanted(anchor):
            if not self._current(anchor, epoch):
                break
            if self._status["bytes"] + pending >= self._budget():
                self._stop(epoch, "budget")
                break
            with self._cond:
                if self._status["maps"] == 0 and not batch:
                    self._started = time.perf_counter()  # this image's prefetch starts with its first map
            fields = self._run_when_free(lambda key=key: self._compute(key), lambda: self._current(anchor, epoch))
            if fields is None or not self._current(anchor, epoch):
                continue
            batch.append((key, fields))
            pending += len(fields["data"]) // 4 + ENTRY_BYTES
            if len(batch) >= BATCH_MAPS:
                self._flush(batch, epoch)
                batch, pending = [], 0
        else:
            self._flush(batch, epoch, complete=True)
            return
        self._flush(batch, epoch)

    def _wanted(self, anchor: Key) -> Iterator[Key]:
        for key in self._plan(anchor):
            with self._cond:
                if self._id(key) in self._sent:
                    continue
            yield key

    def _stop(self, epoch: int, why: str) -> None:
        with self._cond:
            if self._epoch == epoch:
                self._status["stopped"] = why

    def _flush(self, batch: list[tuple[Key, Fields]], epoch: int, complete: bool = False) -> None:
        with self._cond:
            status = self._status
            if self._epoch != epoch or (not batch and (not complete or status["complete"])):
                return  # nothing new to say
            for key, fields in batch:
                ident = self._id(key)
                self._store.put(ident, dict(fields))
                self._sent.add(ident)
            status["maps"] += len(batch)
            status["ms"] = round(1000 * (time.perf_counter() - self._started), 1)
            status["complete"] = complete
            if complete:
                status["stopped"] = ""
            snapshot = {**status, "epoch": epoch}
        content, buffers = pack(batch, snapshot)
        size = message_bytes(content, buffers)
        with self._cond:
            if self._epoch != epoch:
                return
            self._status["bytes"] += size
            self._status["messages"] += 1
            content["status"] = {**self._status, "epoch": epoch}
        self._send(content, buffers)

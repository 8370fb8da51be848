"""What a Gallery shows, per image, behind one small interface: filled batch by batch in memory,
or read from an audit store on disk (a page's maps and thumbnails at a time)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import numpy as np
import torch

from ..audit_job.store import AuditStore
from ..engine.audit import AuditBatch


class GalleryData:
    """Per image: predicted class, confidence, target, ``outside`` share and ``deletion`` AUC (NaN
    until ready or when not measured),
    true class (``-1`` unknown), name; its map and thumbnail on demand; ``ready`` says which are in."""

    names: Sequence[str]
    has_true: bool
    outside_kept: bool
    deletion_kept: bool = False

    def __init__(self, count: int) -> None:
        self.count = count
        self.ready = np.zeros(count, dtype=bool)
        self.predicted = np.full(count, -1, dtype=np.int64)
        self.confidence = np.full(count, np.nan)
        self.targets = np.full(count, -1, dtype=np.int64)
        self.true = np.full(count, -1, dtype=np.int64)
        self.outside = np.full(count, np.nan)
        self.deletion = np.full(count, np.nan)

    def map(self, index: int) -> Optional[torch.Tensor]:
        raise NotImplementedError

    def thumbnail(self, index: int) -> Optional[np.ndarray]:
        raise NotImplementedError

    def release(self) -> None:
        """Let go of maps and pictures (the widget is closing)."""


class MemoryData(GalleryData):
    """Results of a run in this kernel, added batch by batch."""

    def __init__(
        self, names: Sequence[str], true_labels: Optional[Sequence[int]], outside: bool, deletion: bool = False
    ) -> None:
        super().__init__(len(names))
        self.names, self.outside_kept, self.deletion_kept = names, outside, deletion
        self.has_true = true_labels is not None
        if true_labels is not None:
            self.true[:] = true_labels
        self._maps: list[Optional[torch.Tensor]] = [None] * self.count
        self._thumbnails: list[Optional[np.ndarray]] = [None] * self.count

    def restart(self) -> None:
        """A new run: nothing is ready until its batches come."""
        self.ready[:] = False

    def add(self, batch: AuditBatch) -> range:
        """Take one batch's results; returns its image indices."""
        rows = range(batch.start, batch.start + len(batch.predicted))
        where = slice(rows.start, rows.stop)
        self.predicted[where] = batch.predicted.numpy()
        self.confidence[where] = batch.confidence.numpy()
        self.targets[where] = batch.targets.numpy()
        if self.outside_kept and batch.outside is not None:
            self.outside[where] = batch.outside.numpy()
        if self.deletion_kept and batch.deletion is not None:
            self.deletion[where] = batch.deletion.numpy()
        for row, index in enumerate(rows):
            self._maps[index] = batch.maps[row]
            self._thumbnails[index] = batch.thumbnails[row]
        self.ready[where] = True
        return rows

    def map(self, index: int) -> Optional[torch.Tensor]:
        return self._maps[index]

    def maps(self, count: int) -> list[torch.Tensor]:
        return [m for m in self._maps[:count] if m is not None]

    def thumbnail(self, index: int) -> Optional[np.ndarray]:
        return self._thumbnails[index]

    def release(self) -> None:
        self._maps, self._thumbnails = [None] * self.count, [None] * self.count


class StoreData(GalleryData):
    """An audit store on disk (see :class:`AuditStore`): the table in memory, a page's maps and
    thumbnails read when shown; ``key`` picks which of its maps."""

    def __init__(self, store: AuditStore, key: Optional[str] = None) -> None:
        super().__init__(store.count)
        self.store, self.key = store, key or store.maps[0]
        self.names = store.texts["file"]
        self.outside_kept = f"{self.key}:outside" in store.numbers
        self.refresh()

    def choose(self, key: str) -> None:
        """Show map ``key`` of the store."""
        self.store._key(key)
        self.key = key
        self.outside_kept = f"{key}:outside" in self.store.numbers
        self._copy()

    def refresh(self) -> list[int]:
        """Read the shards finished since the last look; returns the new images' indices."""
        fresh = self.store.refresh()
        self._copy()
        return fresh

    def _copy(self) -> None:
        store = self.store
        self.predicted, self.confidence = store.numbers["predicted"], store.numbers["confidence"]
        self.targets, self.true = store.numbers["target"], store.numbers["true"]
        self.outside = store.numbers.get(f"{self.key}:outside", np.full(self.count, np.nan))
        self.has_true = store.has_true
        self.ready = store.ready

    def map(self, index: int) -> Optional[torch.Tensor]:
        return torch.from_numpy(self.store.map(index, self.key)) if self.ready[index] else None

    def thumbnail(self, index: int) -> Optional[np.ndarray]:
        return self.store.thumbnail(index) if self.ready[index] else None

    def release(self) -> None:
        self.store.close()

"""Read an audit store: its table in memory, its maps and thumbnails a shard member at a time.

Works on a store that a run is still writing: only complete shards (those with a note whose
table checksum holds) are read, and :meth:`AuditStore.refresh` picks up the ones finished since.
"""

from __future__ import annotations

import csv
import io
import pathlib
from collections import OrderedDict
from typing import Any, Optional, Union

import numpy as np

from ..engine.errors import AuditJobError
from .job import FORMAT, JOB, MANIFEST, read_json
from .shards import SHARDS, digest, finished_notes, read_note, shard_range

INTEGER_COLUMNS = ("index", "predicted", "true", "target")
TEXT_COLUMNS = ("file", "path", "predicted_label", "true_label")


class AuditStore:
    """An audit store written by :func:`xai_widgets.audit_job.run_audit`.

    The table's numeric columns are numpy arrays over the whole data set (``-1`` / NaN where a
    shard is not finished yet; ``ready`` says which rows are in); maps and thumbnails are read
    from the shards' npz files when asked, one member at a time, with a few shards kept open.
    """

    def __init__(self, folder: Union[str, pathlib.Path], *, open_shards: int = 8) -> None:
        self.folder = pathlib.Path(folder)
        job = read_json(self.folder / JOB)
        if job is None:
            raise AuditJobError(
                f"No audit store in {str(self.folder)!r} (no readable job.json); give the folder an audit wrote "
                "(xai-widgets audit ... --out FOLDER)."
            )
        if job.get("format") != FORMAT:
            raise AuditJobError(f"{str(self.folder)!r} holds a store of format {job.get('format')!r}, not {FORMAT!r}.")
        self.job = job
        self.count: int = int(job["images"])
        self.shard_size: int = int(job["shard_size"])
        self.maps: list[str] = [m["key"] for m in job["maps"]]
        self.labels: Any = job.get("labels")
        self.columns: list[str] = list(job["columns"])
        self.ready = np.zeros(self.count, dtype=bool)
        self.numbers: dict[str, np.ndarray] = {}
        for name in self.columns:
            if name in INTEGER_COLUMNS:
                self.numbers[name] = np.full(self.count, -1, dtype=np.int64)
            elif name not in TEXT_COLUMNS:
                self.numbers[name] = np.full(self.count, np.nan)
        self.texts: dict[str, list[str]] = {name: [""] * self.count for name in TEXT_COLUMNS if name in self.columns}
        self.has_true = False
        self._shards: set[int] = set()
        self._open: OrderedDict[int, Any] = OrderedDict()
        self._open_limit = max(1, open_shards)
        self.refresh()

    @classmethod
    def open(cls, folder: Union[str, pathlib.Path]) -> AuditStore:
        """The store in ``folder`` (finished or still being written)."""
        return cls(folder)

    # -- the table ----------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        """Whether the run has finished (its manifest is written) and every row is read."""
        return bool(self.ready.all()) and (self.folder / MANIFEST).exists()

    @property
    def manifest(self) -> Optional[dict[str, Any]]:
        return read_json(self.folder / MANIFEST)

    def refresh(self) -> list[int]:
        """Read the shards finished since the last look; returns the new rows' indices."""
        fresh: list[int] = []
        for number in finished_notes(self.folder):
            if number in self._shards:
                continue
            rows = self._read_table(number)
            if rows is None:
                continue
            self._shards.add(number)
            for row in rows:
                fresh.append(self._put(row))
        return sorted(fresh)

    def _read_table(self, number: int) -> Optional[list[dict[str, str]]]:
        note = read_note(self.folder, number)
        if note is None:
            return None
        entry = note["files"]["table"]
        try:
            data = (self.folder / SHARDS / entry["name"]).read_bytes()
        except OSError:
            return None
        if digest(data) != entry["sha256"]:
            return None  # being redone, or damaged: a resumed run will write it again
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
        expected = shard_range(number, self.shard_size, self.count)
        return rows if [int(r["index"]) for r in rows] == list(expected) else None

    def _put(self, row: dict[str, str]) -> int:
        index = int(row["index"])
        for name, column in self.numbers.items():
            value = row.get(name, "")
            if value == "":
                continue
            if column.dtype == np.int64:
                column[index] = int(value)
            else:
                column[index] = 1.0 if value == "True" else 0.0 if value == "False" else float(value)
        for name, column in self.texts.items():
            column[index] = row.get(name, "")
        self.has_true = self.has_true or row.get("true", "") != ""
        self.ready[index] = True
        return index

    def column(self, name: str) -> np.ndarray:
        """A numeric column over the whole data set (``-1`` / NaN where not ready)."""
        if name not in self.numbers:
            raise AuditJobError(f"The store has no numeric column {name!r}; its columns: {', '.join(self.numbers)}.")
        return self.numbers[name]

    def row(self, index: int) -> dict[str, Any]:
        """Image ``index``'s row of the table."""
        self._check_ready(index)
        values: dict[str, Any] = {name: column[index] for name, column in self.texts.items()}
        for name, column in self.numbers.items():
            value = column[index].item()
            if name == "correct" or name.endswith(":pointing_hit"):
                value = None if value != value else bool(value)
            elif name == "true" and value < 0:
                value = None
            values[name] = value
        return {name: values[name] for name in self.columns}

    # -- maps and thumbnails ------------------------------------------------------------

    def map(self, index: int, key: Optional[str] = None) -> np.ndarray:
        """Image ``index``'s map ``key`` (default: the first), float32 at its stored resolution."""
        key = self._key(key)
        self._check_ready(index)
        number = index // self.shard_size
        stack = self._member(number, f"map:{key}")
        return stack[index - number * self.shard_size].astype(np.float32)

    def thumbnail(self, index: int) -> Optional[np.ndarray]:
        """Image ``index`` as the model saw it, small (H×W×3 uint8), or ``None`` if none was kept."""
        self._check_ready(index)
        name = f"thumbnail:{index}"
        shard = self._shard(index // self.shard_size)
        return shard[name] if name in shard.files else None

    def _member(self, number: int, name: str) -> np.ndarray:
        cache = self._shard(number)
        if name not in cache.loaded:
            cache.loaded[name] = cache[name]
        return cache.loaded[name]

    def _shard(self, number: int) -> Any:
        if number in self._open:
            self._open.move_to_end(number)
            return self._open[number]
        shard = _OpenShard(self.folder / SHARDS / f"{number:06d}.npz")
        self._open[number] = shard
        while len(self._open) > self._open_limit:
            self._open.popitem(last=False)[1].close()
        return shard

    def _key(self, key: Optional[str]) -> str:
        if key is None:
            return self.maps[0]
        if key not in self.maps:
            raise AuditJobError(f"The store has no map {key!r}; it has: {', '.join(self.maps)}.")
        return key

    def _check_ready(self, index: int) -> None:
        if not 0 <= index < self.count:
            raise IndexError(f"Image {index} is not in the store (it holds {self.count} images).")
        if not self.ready[index]:
            raise AuditJobError(f"Image {index}'s shard is not finished yet; refresh() when the run has written it.")

    def close(self) -> None:
        """Close the open shard files."""
        while self._open:
            self._open.popitem()[1].close()

    def __len__(self) -> int:
        return self.count


class _OpenShard:
    """An npz file kept open (members load when first read), with the members read so far."""

    def __init__(self, path: pathlib.Path) -> None:
        self.npz = np.load(path, allow_pickle=False)
        self.files = set(self.npz.files)
        self.loaded: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        return self.npz[name]

    def close(self) -> None:
        self.npz.close()
        self.loaded.clear()

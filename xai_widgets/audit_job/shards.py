"""One shard of an audit store: a CSV table part, an npz of arrays, and a JSON note with checksums.

A shard is complete when its note (``NNNNNN.json``) exists: the table and the arrays are each
written under a temporary name, flushed to disk and renamed first, and the note last, so a
reader (or a resumed run) never takes a half-written shard for a finished one.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import pathlib
from collections.abc import Iterable, Sequence
from typing import Any, Optional

import numpy as np

SHARDS = "shards"
"""The store's subfolder of shard files."""


def shard_stem(number: int) -> str:
    return f"{number:06d}"


def shard_range(number: int, shard_size: int, count: int) -> range:
    """The image indices shard ``number`` holds: a fixed cut of the data set, whatever the number of ranks."""
    return range(number * shard_size, min((number + 1) * shard_size, count))


def shard_count(shard_size: int, count: int) -> int:
    return -(-count // shard_size)


def atomic_write(path: pathlib.Path, data: bytes) -> None:
    """Write ``data`` to ``path`` under a temporary name, flush it to disk, then rename it into place."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def sync_folder(folder: pathlib.Path) -> None:
    """Make the renames in ``folder`` durable (where the platform allows it)."""
    with contextlib.suppress(OSError):
        handle = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def table_bytes(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """Rows as CSV text (UTF-8), the columns in order; ``None`` as an empty cell."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row.get(key) for key in columns})
    return buffer.getvalue().encode("utf-8")


def arrays_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_shard(
    folder: pathlib.Path,
    number: int,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    arrays: dict[str, np.ndarray],
    note: dict[str, Any],
) -> dict[str, Any]:
    """Write shard ``number`` (table, arrays, then its note) into ``folder/shards``; returns the note."""
    where = folder / SHARDS
    where.mkdir(parents=True, exist_ok=True)
    stem = shard_stem(number)
    (where / f"{stem}.json").unlink(missing_ok=True)  # a shard being redone is not complete meanwhile
    files = {}
    for kind, suffix, data in (
        ("table", "csv", table_bytes(rows, columns)),
        ("arrays", "npz", arrays_bytes(arrays)),
    ):
        atomic_write(where / f"{stem}.{suffix}", data)
        files[kind] = {"name": f"{stem}.{suffix}", "bytes": len(data), "sha256": digest(data)}
    sync_folder(where)
    done = {"shard": number, "rows": len(rows), "files": files, **note}
    atomic_write(where / f"{stem}.json", json.dumps(done, indent=1).encode())
    sync_folder(where)
    return done


def read_note(folder: pathlib.Path, number: int) -> Optional[dict[str, Any]]:
    """Shard ``number``'s note, or ``None`` when the shard is not (yet) complete."""
    path = folder / SHARDS / f"{shard_stem(number)}.json"
    try:
        note = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return note if isinstance(note, dict) and note.get("shard") == number and "files" in note else None


def verify_shard(folder: pathlib.Path, number: int, expected_rows: int) -> bool:
    """Whether shard ``number`` is complete: its note, both files, their sizes and checksums, its row count."""
    note = read_note(folder, number)
    if note is None or note.get("rows") != expected_rows:
        return False
    for entry in note["files"].values():
        path = folder / SHARDS / entry["name"]
        try:
            data = path.read_bytes()
        except OSError:
            return False
        if len(data) != entry["bytes"] or digest(data) != entry["sha256"]:
            return False
    return True


def finished_notes(folder: pathlib.Path) -> Iterable[int]:
    """Numbers of the shards that have a note (complete unless damaged since), in order."""
    where = folder / SHARDS
    if not where.is_dir():
        return []
    return sorted(int(p.stem) for p in where.glob("[0-9]*.json") if p.stem.isdigit())


def remove_temporaries(folder: pathlib.Path) -> None:
    """Drop the temporary files a killed run left behind (no run writes into ``folder`` now)."""
    where = folder / SHARDS
    if where.is_dir():
        for path in where.glob(".*.tmp-*"):
            path.unlink(missing_ok=True)

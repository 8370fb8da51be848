"""What a job is: its maps, its table's columns, and the arguments a resumed run must repeat (job.json)."""

from __future__ import annotations

import datetime
import hashlib
import json
import pathlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

from ..engine.errors import AuditJobError
from ..engine.methods import get_method
from ..engine.session import Session
from .shards import atomic_write, remove_temporaries

FORMAT = "xai-widgets-audit/1"
JOB = "job.json"
MANIFEST = "manifest.json"

BASE_COLUMNS = (
    "index",
    "file",
    "path",
    "predicted",
    "predicted_label",
    "confidence",
    "true",
    "true_label",
    "correct",
    "target",
)
"""The table's columns for every image; the names and meanings are those of ``export``'s report.csv."""


@dataclass(frozen=True)
class MapSpec:
    """One map per image: ``method`` at ``layer`` (``None`` for methods on the input pixels)."""

    method: str
    layer: Optional[str]

    @property
    def key(self) -> str:
        """Its name in the store: ``gradcam@layer4``, or ``saliency``."""
        return self.method if self.layer is None else f"{self.method}@{self.layer}"


def plan_maps(probe: Session, methods: Sequence[str], layers: Sequence[Optional[str]]) -> list[MapSpec]:
    """Every method at every layer (layer methods; others once), layers resolved on ``probe``."""
    if isinstance(methods, str) or not methods:
        raise AuditJobError(f"methods must be a non-empty list of method names, e.g. ['gradcam']; got {methods!r}.")
    maps: list[MapSpec] = []
    for name in methods:
        spec = get_method(name)
        wanted = [None] if not spec.uses_layer else list(layers) or [None]
        for layer in wanted:
            chosen = MapSpec(spec.name, probe.check_layer(layer) if spec.uses_layer else None)
            if chosen not in maps:
                maps.append(chosen)
    return maps


def metric_columns(maps: Sequence[MapSpec], regions: bool) -> list[str]:
    """Per map: where its peak lies (``peak_x``, ``peak_y``: 0–1 across the input), and with masks
    or boxes its ``outside`` share and ``pointing_hit`` (as in report.csv)."""
    names = ["peak_x", "peak_y"] + (["outside", "pointing_hit"] if regions else [])
    return [f"{m.key}:{name}" for m in maps for name in names]


def describe(value: Any) -> Any:
    """An argument as it goes into job.json: strings and numbers as they are, objects by their type
    (and their repr without memory addresses)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    text = re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))
    return f"{type(value).__module__}.{type(value).__qualname__}: {text[:300]}"


def regions_digest(masks: Any, boxes: Any) -> Optional[str]:
    given = masks if masks is not None else boxes
    if given is None:
        return None
    return hashlib.sha256(repr([repr(x) for x in given]).encode()).hexdigest()[:16]


def claim(folder: pathlib.Path, job: dict[str, Any]) -> Optional[str]:
    """Start or resume the job in ``folder``: write job.json, or check that the one there has the
    same arguments. Returns what is wrong (``None`` when the run may go on)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / JOB
    if path.exists():
        try:
            before = json.loads(path.read_text())
        except ValueError:
            return f"{str(path)!r} is not readable JSON; delete it (or the folder) to start this audit afresh."
        if before.get("format") != FORMAT:
            return f"{str(folder)!r} holds no audit store of this version ({before.get('format')!r}); use a new folder."
        differences = _differences(before.get("arguments", {}), job["arguments"])
        if differences:
            return (
                f"{str(folder)!r} holds an audit with other arguments ({'; '.join(differences)}). Resume with the "
                "same arguments, or write to a new folder (or delete this one) to start another audit."
            )
    else:
        job = {**job, "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        atomic_write(path, json.dumps(job, indent=1).encode())
    remove_temporaries(folder)
    return None


def _differences(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    keys = list(dict.fromkeys([*before, *now]))
    return [f"{key}: {before.get(key)!r} then, {now.get(key)!r} now" for key in keys if before.get(key) != now.get(key)]


def read_json(path: pathlib.Path) -> Optional[dict[str, Any]]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None

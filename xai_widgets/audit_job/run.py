"""Audit a whole data set into a store on disk, on one process or on every rank torchrun starts."""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import platform
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import torch
from torch import nn

from ..engine.audit import Labels, Target
from ..engine.errors import AuditJobError
from ..engine.model_state import check_model
from ..engine.outputs import OutputChoice
from ..engine.session import Session
from . import distributed
from .distributed import Ranks
from .job import (
    BASE_COLUMNS,
    FORMAT,
    JOB,
    MANIFEST,
    claim,
    describe,
    metric_columns,
    plan_maps,
    read_json,
    regions_digest,
)
from .progress import RankProgress
from .reading import ShardImages
from .shard_audit import ShardPlan, audit_shard
from .shards import atomic_write, finished_notes, read_note, shard_count, shard_range, verify_shard, write_shard
from .spec import (
    class_names,
    data_fingerprint,
    image_paths,
    load_data,
    load_model,
    load_transform,
    model_fingerprint,
)


@dataclass
class AuditRun:
    """What one call of :func:`run_audit` did (on this rank; the totals are the job's)."""

    folder: pathlib.Path
    images: int
    """Images in the data set."""
    explained: int
    """Images explained by this run, all ranks together (shards already finished are skipped)."""
    skipped_shards: int
    seconds: float
    images_per_second: float
    world: int
    manifest: dict[str, Any] = field(default_factory=dict)


def run_audit(
    model: Union[nn.Module, str],
    data: Any,
    *,
    out: Union[str, os.PathLike],
    methods: Sequence[str] = ("gradcam",),
    layers: Sequence[Optional[str]] = (None,),
    target: Target = "predicted",
    checkpoint: Optional[Union[str, os.PathLike]] = None,
    transform: Union[None, str, Callable] = None,
    output: OutputChoice = None,
    labels: Labels = None,
    true_labels: Optional[Sequence[int]] = None,
    masks: Optional[Sequence[Any]] = None,
    boxes: Optional[Sequence[Sequence[float]]] = None,
    batch_size: Optional[int] = None,
    shard_size: int = 256,
    thumbnail: int = 64,
    device: Optional[str] = None,
    read_threads: int = 4,
    progress: bool = True,
) -> AuditRun:
    """Explain every image of ``data`` with ``model`` and write an audit store into ``out``.

    Run it as it is (one process), or in a script started by ``torchrun --nproc_per_node=N``
    (or across nodes): each rank joins the process group (gloo on the CPU, NCCL on CUDA),
    takes its share of the shards through a ``DistributedSampler`` and writes them; rank 0
    writes ``manifest.json`` when all are done.

    Args:
        model: an ``nn.Module``, or an importable factory ``package.module:function`` (or
            ``file.py:function``) that builds it (then moved to ``device``).
        data: an image folder, a ``package.module:function`` that returns a Dataset, or any data
            :func:`xai_widgets.audit` takes.
        out: the store's folder. A run with the same arguments resumes there: finished shards
            whose checksums hold are skipped, partial or damaged ones are done again; other
            arguments are refused.
        methods, layers: every method at every layer (methods on pixels once).
        target, output, labels, true_labels, masks, boxes, batch_size: as for :func:`xai_widgets.audit`.
        checkpoint: weights for the model, read with ``torch.load(weights_only=True)``.
        transform: a callable, or a ``package.module:function`` that returns one.
        shard_size: images per shard (a fixed cut of the data set, the same for any number of ranks).
        thumbnail: longest side of the pictures kept for the Gallery (0: none).
        device: where a factory-built model runs (default ``cuda:LOCAL_RANK`` if CUDA is available).
        read_threads: threads that read, decode and prepare (``transform``) the images of the
            current and next shard ahead of the model (0: none, all on the main thread).
        progress: a bar per rank on a terminal (else a line per shard) and the throughput at the end.

    Returns:
        An :class:`AuditRun`. The store: ``job.json`` (the arguments), ``shards/NNNNNN.csv``
        (the table), ``shards/NNNNNN.npz`` (``index``; ``map:<method>@<layer>``: N×h×w float16
        maps at the layer's own resolution, pixels for input methods; ``thumbnail:<index>`` uint8),
        ``shards/NNNNNN.json`` (row count and SHA-256 of both files), and ``manifest.json``.
    """
    args = dict(locals())
    if not isinstance(model, str):
        check_model(model)
    if not isinstance(shard_size, int) or isinstance(shard_size, bool) or shard_size < 1:
        raise AuditJobError(f"shard_size must be a whole number of images, at least 1; got {shard_size!r}.")
    if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1):
        raise AuditJobError(f"batch_size must be a whole number of images, at least 1 (or None); got {batch_size!r}.")
    if not isinstance(thumbnail, int) or thumbnail < 0:
        raise AuditJobError(f"thumbnail must be a side in pixels (0 for none); got {thumbnail!r}.")
    ranks = distributed.join(device)
    try:
        return _run(ranks, args)
    finally:
        distributed.leave(ranks)


def _run(ranks: Ranks, args: dict[str, Any]) -> AuditRun:
    started = time.perf_counter()
    built = isinstance(args["model"], str)
    model = load_model(args["model"], args["checkpoint"])
    if built:
        model = model.to(ranks.device)
    transform = load_transform(args["transform"])
    source, raw = load_data(args["data"], args["true_labels"])
    names = class_names(raw, args["labels"])
    paths = image_paths(source, raw)
    regions = args["masks"] is not None or args["boxes"] is not None
    probe = Session(model, source.image(0), transform=transform, output=args["output"])
    try:
        maps = plan_maps(probe, list(args["methods"]), list(args["layers"]))
    finally:
        probe.close()
    count, size = len(source), args["shard_size"]
    columns = [*BASE_COLUMNS, *metric_columns(maps, regions)]
    job = {
        "format": FORMAT,
        "arguments": _identity(args, model, source),
        "images": count,
        "shard_size": size,
        "shards": shard_count(size, count),
        "maps": [{"key": m.key, "method": m.method, "layer": m.layer} for m in maps],
        "columns": columns,
        "labels": names,
        "thumbnail": args["thumbnail"],
    }
    folder = pathlib.Path(args["out"])
    problem = claim(folder, job) if ranks.rank == 0 else None
    problem = distributed.from_rank_zero(problem, ranks)
    if problem:
        raise AuditJobError(problem)

    total = shard_count(size, count)
    checked = [
        k for k in distributed.share(range(total), ranks) if verify_shard(folder, k, len(shard_range(k, size, count)))
    ]
    finished = {k for part in distributed.gather(checked, ranks) for k in part}
    pending = [k for k in range(total) if k not in finished]
    mine = distributed.share(pending, ranks)
    earlier_runs = (read_json(folder / MANIFEST) or {}).get("runs", []) if ranks.rank == 0 else []
    if ranks.rank == 0 and pending:
        (folder / MANIFEST).unlink(missing_ok=True)  # the store is not complete until this run ends
    plan = ShardPlan(
        model=model,
        maps=maps,
        columns=columns,
        target=args["target"],
        transform=transform,
        output=args["output"],
        labels=names,
        paths=paths,
        masks=args["masks"],
        boxes=args["boxes"],
        batch_size=args["batch_size"],
        thumbnail=args["thumbnail"],
    )
    bar = RankProgress(
        ranks.rank,
        ranks.world,
        sum(len(shard_range(k, size, count)) for k in mine),
        enabled=args["progress"],
    )
    setup = time.perf_counter() - started
    began = time.perf_counter()
    threads = ThreadPoolExecutor(args["read_threads"]) if args["read_threads"] > 0 else None
    writer = ThreadPoolExecutor(1, thread_name_prefix="xai-widgets-writer")  # a shard is written during the next
    written: list[dict[str, Any]] = []
    writing: Optional[tuple[int, Future]] = None

    def finish_writing() -> None:
        if writing is not None:
            written.append(writing[1].result())  # a failed write raises here
            bar.shard(writing[0], _overall(folder, size, count) if ranks.rank == 0 else None)

    try:
        reading = (threads, transform, args["thumbnail"])
        upcoming = _images(source, mine, 0, (size, count), reading)
        for position, number in enumerate(mine):
            images, upcoming = upcoming, _images(source, mine, position + 1, (size, count), reading)
            shard_start = time.perf_counter()
            rows, arrays = audit_shard(plan, images, bar.images)
            seconds = time.perf_counter() - shard_start
            note = {"rank": ranks.rank, "world": ranks.world, "host": platform.node(), "pid": os.getpid()}
            note.update({"first": images.indices[0], "stop": images.indices[-1] + 1, "seconds": round(seconds, 3)})
            finish_writing()
            writing = (number, writer.submit(write_shard, folder, number, rows, columns, arrays, note))
        finish_writing()
    finally:
        writer.shutdown(wait=True)
        bar.close()
        if threads is not None:
            threads.shutdown(wait=False, cancel_futures=True)
    mine_seconds = time.perf_counter() - began
    distributed.barrier(ranks)
    wall = time.perf_counter() - began
    per_rank = distributed.gather(
        {"rank": ranks.rank, "images": sum(n["rows"] for n in written), "seconds": mine_seconds, "setup": setup},
        ranks,
    )
    explained = sum(r["images"] for r in per_rank)
    rate = explained / wall if wall > 0 else 0.0
    manifest: dict[str, Any] = {}
    if ranks.rank == 0:
        manifest = _write_manifest(
            folder, job, (total, size, count), per_rank, earlier_runs, explained, wall, ranks.world
        )
        if args["progress"]:
            print(
                f"audited {explained:,} images on {ranks.world} process(es) in {wall:.1f} s: {rate:.1f} images/s"
                f" ({len(finished)} of {total} shards were already done); store: {folder}",
                file=sys.stderr,
                flush=True,
            )
    distributed.barrier(ranks)
    return AuditRun(folder, count, explained, len(finished), wall, rate, ranks.world, manifest)


def _images(source: Any, mine: list[int], position: int, cut: tuple[int, int], reading: tuple) -> Any:
    """Shard ``mine[position]``'s images, read and prepared (and thumbnailed) on the threads from now on."""
    if position >= len(mine):
        return None
    threads, transform, side = reading
    return ShardImages(source, shard_range(mine[position], *cut), threads, transform, side)


def _identity(args: dict[str, Any], model: nn.Module, source: Any) -> dict[str, Any]:
    """The arguments that decide the store's content: a resumed run must repeat them."""
    return {
        "model": args["model"] if isinstance(args["model"], str) else describe(type(args["model"])),
        "model_fingerprint": model_fingerprint(model),
        "checkpoint": None if args["checkpoint"] is None else os.fspath(args["checkpoint"]),
        "data": os.fspath(args["data"])
        if isinstance(args["data"], (str, os.PathLike))
        else describe(type(args["data"])),
        "data_fingerprint": data_fingerprint(source),
        "images": len(source),
        "methods": list(args["methods"]),
        "layers": list(args["layers"]),
        "target": args["target"],
        "transform": describe(args["transform"]),
        "output": describe(args["output"]),
        "regions": regions_digest(args["masks"], args["boxes"]),
        "shard_size": args["shard_size"],
        "thumbnail": args["thumbnail"],
    }


def _overall(folder: pathlib.Path, size: int, count: int) -> tuple[int, int]:
    """Images in the shards finished so far by any rank (from the notes' names)."""
    return sum(len(shard_range(k, size, count)) for k in finished_notes(folder)), count


def _write_manifest(
    folder: pathlib.Path,
    job: dict[str, Any],
    cut: tuple[int, int, int],
    per_rank: list[dict[str, Any]],
    earlier_runs: list[dict[str, Any]],
    explained: int,
    wall: float,
    world: int,
) -> dict[str, Any]:
    total, size, count = cut
    shards = []
    for number in range(total):
        note = read_note(folder, number)
        if note is None or note["rows"] != len(shard_range(number, size, count)):
            raise AuditJobError(f"Shard {number} is missing after every rank finished; run the same command again.")
        shards.append({key: note[key] for key in ("shard", "rows", "files", "rank", "seconds")})
    this_run = {
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "world": world,
        "device": str(torch.device("cuda") if torch.cuda.is_available() else "cpu"),
        "torch": torch.__version__,
        "images_explained": explained,
        "seconds": round(wall, 3),
        "images_per_second": round(explained / wall, 3) if wall > 0 else None,
        "ranks": [{k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()} for r in per_rank],
    }
    stored = sum(s["files"]["table"]["bytes"] + s["files"]["arrays"]["bytes"] for s in shards)
    manifest = {
        **{k: v for k, v in job.items()},
        "complete": True,
        "shard_list": shards,
        "bytes": stored,
        "bytes_per_image": round(stored / count, 1),
        "runs": [*earlier_runs, this_run],
    }
    atomic_write(folder / MANIFEST, json.dumps(manifest, indent=1).encode())
    if not (folder / JOB).exists():
        raise AuditJobError(f"{str(folder / JOB)!r} vanished during the run; run the same command again.")
    return manifest

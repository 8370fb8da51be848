"""The job's ranks, from PyTorch's own distributed runtime (torchrun's environment), or one process."""

from __future__ import annotations

import datetime
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler


@dataclass
class Ranks:
    """This process's place in the job: its rank among ``world`` processes and its device."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    own_group: bool = False
    """Whether this job started the process group (and so ends it)."""

    @property
    def distributed(self) -> bool:
        return self.world > 1 and dist.is_available() and dist.is_initialized()


def join(device: Optional[str] = None, timeout_minutes: float = 60.0) -> Ranks:
    """Join the process group torchrun describes (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``…):
    NCCL on CUDA, gloo on the CPU; a single process when there is none.

    ``device``: where to run; default ``cuda:LOCAL_RANK`` when CUDA is available, else the CPU.
    """
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    if device is None:
        chosen = torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    else:
        chosen = torch.device(device)
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    if dist.is_available() and dist.is_initialized():
        return Ranks(dist.get_rank(), dist.get_world_size(), local_rank, chosen, own_group=False)
    world = int(os.environ.get("WORLD_SIZE", 1))
    if world <= 1 or "RANK" not in os.environ:
        return Ranks(0, 1, local_rank, chosen)
    dist.init_process_group(
        backend="nccl" if chosen.type == "cuda" else "gloo",
        timeout=datetime.timedelta(minutes=timeout_minutes),
        **({"device_id": chosen} if chosen.type == "cuda" else {}),
    )
    return Ranks(dist.get_rank(), dist.get_world_size(), local_rank, chosen, own_group=True)


def leave(ranks: Ranks) -> None:
    """End the process group if this job started it."""
    if ranks.own_group and dist.is_initialized():
        dist.destroy_process_group()


def share(items: Sequence[int], ranks: Ranks) -> list[int]:
    """This rank's items, as a ``DistributedSampler`` (no shuffling) deals them out: rank r gets
    items r, r + world, … The sampler pads the list by repeating items so that every rank gets
    as many; the repeats are dropped here, so each item is done by exactly one rank."""
    if ranks.world == 1:
        return list(items)
    sampler = DistributedSampler(list(items), num_replicas=ranks.world, rank=ranks.rank, shuffle=False)
    dealt = [items[i] for i in sampler]
    return [item for position, item in enumerate(dealt) if ranks.rank + position * ranks.world < len(items)]


def gather(value: Any, ranks: Ranks) -> list[Any]:
    """Every rank's ``value`` (a picklable object), in rank order, on every rank."""
    if not ranks.distributed:
        return [value]
    values: list[Any] = [None] * ranks.world
    dist.all_gather_object(values, value)
    return values


def from_rank_zero(value: Any, ranks: Ranks) -> Any:
    """Rank 0's ``value`` on every rank."""
    if not ranks.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(ranks: Ranks) -> None:
    if ranks.distributed:
        dist.barrier()

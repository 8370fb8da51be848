"""Progress of a job: one bar per rank on a terminal (tqdm), else one plain line per shard."""

from __future__ import annotations

import sys
import time
from typing import Any, Optional, TextIO


class RankProgress:
    """This rank's count of images done, shown as a tqdm bar at line ``rank`` when the stream is
    a terminal and tqdm is installed, else as a line per finished shard (logs, CI)."""

    def __init__(self, rank: int, world: int, total: int, *, enabled: bool = True, stream: TextIO = sys.stderr):
        self.rank, self.world, self.total, self.enabled, self.stream = rank, world, total, enabled, stream
        self.done, self.started = 0, time.perf_counter()
        self._bar: Optional[Any] = None
        if enabled and _is_terminal(stream):
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(
                    total=total, unit="image", desc=f"rank {rank}/{world}", position=rank, leave=True, file=stream
                )

    def images(self, count: int) -> None:
        """``count`` more images explained (called after every batch)."""
        self.done += count
        if self._bar is not None:
            self._bar.update(count)

    def shard(self, number: int, overall: Optional[tuple[int, int]] = None) -> None:
        """Shard ``number`` written; ``overall``: (images done by all ranks, images in the data set)."""
        if not self.enabled:
            return
        if self._bar is not None:
            if overall is not None:
                self._bar.set_postfix_str(f"all ranks {overall[0]:,}/{overall[1]:,}")
            return
        line = f"rank {self.rank}/{self.world}: {self.done:,}/{self.total:,} images, {self.rate():.1f} images/s"
        if overall is not None:
            line += f" · all ranks: {overall[0]:,}/{overall[1]:,}"
        print(f"{line} (shard {number})", file=self.stream, flush=True)

    def rate(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

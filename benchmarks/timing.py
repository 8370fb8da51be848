"""Medians of repeated timings after warm-up."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Optional


def median_seconds(
    run: Callable[[], object], repeats: int = 5, warmup: int = 1, setup: Optional[Callable] = None
) -> float:
    """The median wall time of ``run()`` over ``repeats`` calls; ``setup()`` runs untimed before each."""
    for _ in range(warmup):
        if setup:
            setup()
        run()
    times = []
    for _ in range(repeats):
        if setup:
            setup()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)

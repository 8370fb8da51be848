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


def interleaved_medians(
    contenders: dict[str, Callable[[], tuple[Callable[[], object], Callable[[], None]]]], repeats: int = 5
) -> dict[str, float]:
    """Median wall time of each contender's call, timed in turns (one of each per round, after a
    warm-up round), so a machine whose speed drifts slows every contender alike. Each contender
    is ``setup() -> (call, teardown)``: only its own hooks are on the model while it is timed."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(repeats + 1):
        for name, setup in contenders.items():
            call, teardown = setup()
            try:
                start = time.perf_counter()
                call()
                elapsed = time.perf_counter() - start
            finally:
                teardown()
            if round_:
                times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}

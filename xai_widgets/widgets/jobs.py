"""Run engine work for a widget: quick requests inline, slow ones on one worker thread.

The newest request wins. Every request gets a generation number; a slow job checks it at
each progress report (between two batches) and stops as soon as a newer request exists, and
a result is only published while its request is still the newest: ``deliver`` checks and
publishes under the same lock that ``new_request`` takes, so no result of an older request
can be published once a newer request exists (a check followed by a separate publish could
interleave with a control change on the kernel's main thread).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Optional, TypeVar

from ..engine.progress import Cancelled, reporting

Job = Callable[[Callable[[], bool]], None]
T = TypeVar("T")

BACKGROUND_STEP_WAIT = 5.0
"""Seconds a request waits for background work's current step (one map) before it queues."""
IDLE_POLL = 0.02
"""Seconds background work waits between looks at whether the engine is free."""
Progress = Callable[[int, int], None]


class LatestWins:
    """Serialise engine work and drop whatever a newer request makes stale."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one engine call at a time
        self._gate = threading.RLock()  # a generation bump and a delivery never interleave
        self._generation = 0
        self._executor: Optional[ThreadPoolExecutor] = None
        self._pending: list[Future] = []
        self._background = False  # the lock is held by background work (one map at a time)
        self._waiting = 0  # requests waiting for the lock: background work yields to them

    def new_request(self) -> int:
        """Start a request: everything older becomes stale (and can no longer be delivered)."""
        with self._gate:
            self._generation += 1
            return self._generation

    def is_current(self, generation: int) -> bool:
        return generation == self._generation

    def deliver(self, generation: int, action: Callable[[], None]) -> bool:
        """Run ``action`` (publish a result) only if ``generation`` is still the newest request."""
        with self._gate:
            if generation != self._generation:
                return False
            action()
            return True

    def run_inline(self, job: Job, generation: int) -> bool:
        """Run ``job`` now if the engine is free, or as soon as background work has finished its
        step; return False if a slow job holds it."""
        if not self._lock.acquire(blocking=False) and not self._wait_for_background():
            return False
        try:
            job(lambda: self.is_current(generation))
        finally:
            self._lock.release()
        return True

    def _wait_for_background(self) -> bool:
        """Take the lock from background work once its step ends (a few milliseconds)."""
        with self._gate:
            if not self._background:
                return False
            self._waiting += 1
        try:
            return self._lock.acquire(timeout=BACKGROUND_STEP_WAIT)
        finally:
            with self._gate:
                self._waiting -= 1

    def run_when_free(self, work: Callable[[], T], still_wanted: Callable[[], bool]) -> Optional[T]:
        """Run ``work`` under the engine lock once no request runs, waits or is queued; None if
        ``still_wanted()`` turns false first. For background work: requests always go first."""
        while still_wanted():
            if self._waiting or any(not future.done() for future in self._pending):
                time.sleep(IDLE_POLL)
                continue
            if not self._lock.acquire(timeout=IDLE_POLL):
                continue
            with self._gate:
                if self._waiting:
                    self._lock.release()
                    continue
                self._background = True
            try:
                return work()
            finally:
                with self._gate:
                    self._background = False
                self._lock.release()
        return None

    def run_blocking(self, job: Job, generation: int) -> None:
        """Run ``job`` now, waiting (at most one batch) for a stale slow job to stop."""
        with self._gate:
            self._waiting += 1
        try:
            self._lock.acquire()
        finally:
            with self._gate:
                self._waiting -= 1
        try:
            job(lambda: self.is_current(generation))
        finally:
            self._lock.release()

    def submit(self, job: Job, generation: int, progress: Progress) -> Future:
        """Queue ``job`` on the worker; ``progress(done, total)`` is called between batches."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="xai-widgets")

        def checked(done: int, total: int) -> None:
            if not self.is_current(generation):
                raise Cancelled
            progress(done, total)

        def work() -> None:
            if not self.is_current(generation):
                return
            with self._lock, reporting(checked):
                try:
                    job(lambda: self.is_current(generation))
                except Cancelled:
                    pass

        future = self._executor.submit(work)
        self._pending = [f for f in self._pending if not f.done()] + [future]
        return future

    def wait(self, timeout: Optional[float] = None) -> None:
        """Block until every queued job has finished (for scripts and tests)."""
        for future in list(self._pending):
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        self.new_request()
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

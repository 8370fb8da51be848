"""Progress reports from long batched computations, and cancelling them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Optional

Reporter = Callable[[int, int], None]

_reporter: ContextVar[Optional[Reporter]] = ContextVar("xai_widgets_progress", default=None)


class Cancelled(Exception):
    """Raised by a reporter to abandon a computation that nobody wants any more."""


@contextlib.contextmanager
def reporting(callback: Reporter) -> Iterator[None]:
    """Send ``callback(done, total)`` the progress of batched work run inside the block.

    The callback may raise :class:`Cancelled` to stop the work between two batches.
    """
    token = _reporter.set(callback)
    try:
        yield
    finally:
        _reporter.reset(token)


def report(done: int, total: int) -> None:
    """Tell the current reporter, if any, that ``done`` of ``total`` items are finished."""
    callback = _reporter.get()
    if callback is not None:
        callback(done, total)

"""anywidget classes: traits in, bytes out; no attribution maths here."""

from .explorer import Explorer

__all__ = ["Explorer"]

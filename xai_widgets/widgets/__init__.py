"""anywidget classes: traits in, bytes out; no attribution maths here."""

from .compare import Compare
from .explorer import Explorer

__all__ = ["Compare", "Explorer"]

"""anywidget classes: traits in, bytes out; no attribution maths here."""

from .compare import Compare
from .explorer import Explorer
from .gallery import Gallery

__all__ = ["Compare", "Explorer", "Gallery"]

"""Reports of an audit: overlay PNGs, raw maps, a CSV, a self-contained HTML page, figures, TensorBoard."""

from .export import export
from .overlay import overlay_picture

__all__ = ["export", "overlay_picture"]

"""Reports of an audit: overlay PNGs, raw maps, a CSV, a self-contained HTML page, figures, TensorBoard."""

from .export import export
from .figures import method_chart
from .overlay import overlay_picture

__all__ = ["export", "method_chart", "overlay_picture"]

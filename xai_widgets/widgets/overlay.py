"""What every widget that blends maps over a photo shares: the look, kept in the browser."""

from __future__ import annotations

import anywidget
import traitlets

from .bundles import bundle


class OverlayWidget(anywidget.AnyWidget):
    """Base of the widgets that draw attribution maps over a photo.

    ``opacity``, ``colormap``, ``normalization`` and ``view_mode`` are set from Python as initial values (and
    followed when Python changes them), but the front end never sends them back: moving them
    in the browser repaints the canvas without a message to the kernel.
    """

    _css = bundle("widgets.css")

    opacity = traitlets.Float(0.5, min=0.0, max=1.0).tag(sync=True)
    colormap = traitlets.Unicode("turbo").tag(sync=True)
    normalization = traitlets.Unicode("auto").tag(sync=True)
    view_mode = traitlets.Unicode("overlay").tag(sync=True)
    """``overlay`` (the map over the photo) or ``side_by_side`` (photo | map, for tiny images)."""

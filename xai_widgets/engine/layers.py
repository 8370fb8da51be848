"""What a layer is to the engine: a named point to read a map (or a gradient) at."""

from __future__ import annotations

from dataclasses import dataclass

from .tokens import SPATIAL, Layout

INPUT = "input"
"""The pseudo-layer name for gradients with respect to the input pixels."""


@dataclass(frozen=True)
class LayerInfo:
    """A layer whose output covers the image: its module name, the shape (C, h, w) of its map
    view and its layout (``spatial`` N×C×H×W, ``channels_last`` N×H×W×C, or ``tokens`` with
    ``layout.prefix`` CLS/distillation/register tokens before an h×w patch grid)."""

    name: str
    shape: tuple[int, int, int]
    layout: Layout = Layout(SPATIAL, 0, 0)

    @property
    def kind(self) -> str:
        return self.layout.kind

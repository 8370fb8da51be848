"""Where a layer's output keeps its picture: channel-first maps, channel-last maps or patch tokens.

CNN layers give N×C×H×W. Swin-style layers give N×H×W×C. ViT blocks give N×T×C tokens:
a few prefix tokens (CLS, distillation, registers) followed by the patch grid in row-major
order. :func:`infer_layout` finds which, and the grid, from the output shape and the input
size alone, so no user writes a ``reshape_transform``; :class:`Layout` turns any of them into
the N×C×h×w view every map method works on, and back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import torch

MAX_PREFIX = 16
"""The most non-patch tokens a sequence may start with (CLS + distillation + registers)."""

MIN_PATCHES = 4
"""A token sequence is read as a grid only when it has at least a 2×2 grid of patches."""

SPATIAL, CHANNELS_LAST, TOKENS = "spatial", "channels_last", "tokens"


@dataclass(frozen=True)
class Layout:
    """How one layer's output maps onto an h×w grid over the image."""

    kind: str
    height: int
    width: int
    prefix: int = 0

    def to_grid(self, output: torch.Tensor) -> torch.Tensor:
        """The N×C×h×w view of a layer output (patch tokens only, prefix tokens dropped)."""
        if self.kind == SPATIAL:
            return output
        if self.kind == CHANNELS_LAST:
            return output.permute(0, 3, 1, 2)
        patches = output[:, self.prefix :, :]
        return patches.reshape(output.shape[0], self.height, self.width, output.shape[-1]).permute(0, 3, 1, 2)

    def from_grid(self, grid: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
        """A batch of layer outputs whose grid part is ``grid`` (B×C×h×w) and whose prefix
        tokens are those of ``original`` (1×… as recorded)."""
        if self.kind == SPATIAL:
            return grid
        if self.kind == CHANNELS_LAST:
            return grid.permute(0, 2, 3, 1)
        patches = grid.permute(0, 2, 3, 1).reshape(grid.shape[0], self.height * self.width, grid.shape[1])
        prefix = original[:, : self.prefix, :].expand(grid.shape[0], -1, -1)
        return torch.cat([prefix, patches.to(original.dtype)], dim=1)

    def describe(self) -> str:
        """A short human description, e.g. ``1 prefix + 14×14 patch tokens``."""
        if self.kind == TOKENS:
            prefix = f"{self.prefix} prefix + " if self.prefix else ""
            return f"{prefix}{self.height}×{self.width} patch tokens"
        if self.kind == CHANNELS_LAST:
            return f"{self.height}×{self.width} (channels last)"
        return f"{self.height}×{self.width}"


def grid_fits(height: int, width: int, image_size: Sequence[int]) -> bool:
    """Whether an h×w grid covers an H×W image with the same aspect, to within one cell."""
    image_h, image_w = int(image_size[0]), int(image_size[1])
    if not (1 <= height <= image_h and 1 <= width <= image_w):
        return False
    return abs(height * image_w - width * image_h) <= max(image_h, image_w)


def infer_layout(
    shape: Sequence[int], image_size: Sequence[int], hints: Sequence[tuple[int, int]] = ()
) -> Optional[Layout]:
    """The layout of a floating layer output of ``shape`` for an input of ``image_size``
    (H, W), or ``None`` when it holds no grid over the image.

    ``hints`` are grids seen earlier in the forward (a patch-embedding convolution's output,
    latest last): a token sequence that is one of them plus a few prefix tokens is read that
    way before any factorisation is tried.
    """
    if len(shape) == 4:
        _, c, h, w = shape
        if grid_fits(h, w, image_size) or not grid_fits(c, h, image_size):
            return Layout(SPATIAL, h, w) if h * w > 1 else None
        return Layout(CHANNELS_LAST, c, h) if c * h > 1 else None
    if len(shape) == 3:
        return _token_layout(int(shape[1]), image_size, hints)
    return None


def _token_layout(tokens: int, image_size: Sequence[int], hints: Sequence[tuple[int, int]]) -> Optional[Layout]:
    for h, w in reversed(list(hints)):
        if 0 <= tokens - h * w <= MAX_PREFIX and h * w >= MIN_PATCHES:
            return Layout(TOKENS, h, w, tokens - h * w)
    for prefix in range(min(MAX_PREFIX, tokens - MIN_PATCHES) + 1):
        grid = _best_factorisation(tokens - prefix, image_size)
        if grid is not None:
            return Layout(TOKENS, grid[0], grid[1], prefix)
    return None


def _best_factorisation(count: int, image_size: Sequence[int]) -> Optional[tuple[int, int]]:
    """The h×w = ``count`` grid that one patch stride cuts the image into, if there is one."""
    image_h, image_w = int(image_size[0]), int(image_size[1])
    for stride in range(1, min(image_h, image_w) + 1):
        for grid in ((image_h // stride, image_w // stride), (-(-image_h // stride), -(-image_w // stride))):
            if grid[0] * grid[1] == count:
                return grid
    return None

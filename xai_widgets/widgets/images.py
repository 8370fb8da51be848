"""Accept one image, a list or a dict of images and name each of them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..engine.image_source import ImageSource


def named_images(images: Any) -> tuple[list[str], list[Any]]:
    """Return (names, images) for a single image, a list/tuple or a dict of images (or an
    :class:`ImageSource`, whose images stay where they are and are read on demand)."""
    if isinstance(images, ImageSource):
        return list(images.names), images  # type: ignore[return-value]
    if isinstance(images, Mapping):
        if not images:
            raise ValueError("The dict of images is empty; pass at least one image.")
        return [str(name) for name in images], list(images.values())
    if isinstance(images, (list, tuple)):
        if not images:
            raise ValueError("The list of images is empty; pass at least one image.")
        return [_name(image, i) for i, image in enumerate(images)], list(images)
    return [_name(images, 0)], [images]


def _name(image: Any, index: int) -> str:
    if isinstance(image, (str, os.PathLike)):
        return os.path.basename(os.fspath(image))
    return f"image {index}"

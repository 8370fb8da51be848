"""A shard's images as an ImageSource, read and prepared ahead on threads while the model works."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Executor, Future
from typing import Any, Optional

import numpy as np
from PIL import Image

from ..engine.audit import _thumbnail
from ..engine.image_source import ImageSource
from ..engine.inputs import Transform, prepare_image


class ShardImages:
    """Images ``indices`` of ``source``, in order. With an ``executor``, each image is read,
    decoded and prepared (``transform`` and the engine's checks: a ``PreparedImage``), and its
    thumbnail (longest side ``thumbnail``) cut, on its threads as soon as the shard is made (PIL
    and torch release the GIL while they work), so the next shard loads while this one runs on
    the model and the rank's main thread only feeds it."""

    def __init__(
        self,
        source: ImageSource,
        indices: Sequence[int],
        executor: Optional[Executor] = None,
        transform: Optional[Transform] = None,
        thumbnail: int = 0,
    ) -> None:
        self.source, self.indices, self.transform, self.side = source, list(indices), transform, thumbnail
        self._futures: Optional[list[Future]] = None
        if executor is not None:
            self._futures = [executor.submit(_prepared, source, i, transform, thumbnail) for i in self.indices]

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> Any:
        if self._futures is not None:
            return self._futures[position].result()[0]
        return self.source.image(self.indices[position])

    def thumbnails(self) -> list[np.ndarray]:
        """Each image's thumbnail (cut on the main thread where the threads could not)."""
        pictures = []
        for position in range(len(self)):
            done = self._futures[position].result()[1] if self._futures is not None else None
            if done is None:
                done = _thumbnail(prepare_image(self[position], self.transform).display, self.side)
            pictures.append(done)
        return pictures

    def as_source(self) -> ImageSource:
        """These images as an ImageSource with their names and true classes."""
        true = self.source.true_labels
        return ImageSource(
            self,
            [self.source.names[i] for i in self.indices],
            None if true is None else [true[i] for i in self.indices],
        )


def _prepared(source: ImageSource, index: int, transform: Optional[Transform], side: int) -> tuple[Any, Any]:
    """Image ``index`` prepared for the model, and its thumbnail; as the data holds it (and no
    thumbnail) if that fails, so that the engine reports the problem in its own words on the
    main thread."""
    image = _read(source, index)
    try:
        prepared = prepare_image(image, transform)
    except Exception:
        return image, None
    return prepared, _thumbnail(prepared.display, side) if side else None


def _read(source: ImageSource, index: int) -> Any:
    """Image ``index``; a file path comes back decoded (or as the path, so that the engine reports
    a file it cannot read in its own words)."""
    image = source.image(index)
    if not isinstance(image, (str, os.PathLike)):
        return image
    try:
        with Image.open(image) as opened:
            opened.load()
            return opened.copy()
    except (OSError, ValueError, Image.DecompressionBombError):
        return image

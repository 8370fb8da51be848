"""Many images from one argument: a list, a dict, a folder, a torch Dataset or a DataLoader."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any, Optional

import torch

from .errors import ImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class ImageSource:
    """Indexable images, their names and (when the data carries them) their true classes.

    Built by :func:`image_source`. A ``Dataset`` is read item by item when asked (nothing is
    loaded up front); a ``DataLoader`` is iterated once and its batches split into images.
    """

    def __init__(self, images: Sequence[Any], names: Sequence[str], true_labels: Optional[Sequence[int]]) -> None:
        self._images, self.names = images, list(names)
        self.true_labels = None if true_labels is None else [int(label) for label in true_labels]

    def __len__(self) -> int:
        return len(self.names)

    def image(self, index: int) -> Any:
        """Image ``index`` as the data holds it (a path, PIL image, array or tensor)."""
        item = self._images[index]
        return _first(item) if isinstance(self._images, _DatasetItems) else item

    def __getitem__(self, index: int) -> Any:
        """Image ``index`` (an ImageSource is a read-only sequence of images, read on demand)."""
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.image(index)


class _DatasetItems:
    """A Dataset's items, fetched on demand."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __getitem__(self, index: int) -> Any:
        return self.dataset[index]

    def __len__(self) -> int:
        return len(self.dataset)


def _first(item: Any) -> Any:
    return item[0] if isinstance(item, (tuple, list)) else item


def image_source(data: Any, true_labels: Optional[Sequence[int]] = None) -> ImageSource:
    """Read ``data`` (list or dict of images, folder path, ``Dataset``, ``DataLoader``, or an
    N×C×H×W tensor) as an :class:`ImageSource`. ``true_labels`` (one class per image) wins over
    labels found in the data (a Dataset's or DataLoader's ``(image, label)`` pairs)."""
    if isinstance(data, (str, os.PathLike)) and os.path.isdir(data):
        source = _folder(pathlib.Path(data))
    elif isinstance(data, torch.utils.data.DataLoader):
        source = _loader(data)
    elif isinstance(data, torch.utils.data.Dataset) and hasattr(data, "__len__"):
        source = _dataset(data)
    elif isinstance(data, torch.Tensor) and data.dim() == 4:
        source = ImageSource(list(data), [f"image {i}" for i in range(len(data))], None)
    elif isinstance(data, Mapping):
        source = ImageSource(list(data.values()), [str(name) for name in data], None)
    elif isinstance(data, (list, tuple)):
        source = ImageSource(list(data), [_name(image, i) for i, image in enumerate(data)], None)
    else:
        raise ImageError(
            f"Cannot read images from a {type(data).__name__}. Pass a list or dict of images, a folder path, "
            "a torch Dataset or DataLoader, or an N×C×H×W tensor."
        )
    if len(source) == 0:
        raise ImageError(f"No images in the {type(data).__name__} given; pass at least one image.")
    if true_labels is not None:
        labels = list(true_labels.tolist() if isinstance(true_labels, torch.Tensor) else true_labels)
        if len(labels) != len(source):
            raise ImageError(f"Got {len(labels)} true labels for {len(source)} images; pass one class index per image.")
        source.true_labels = [int(label) for label in labels]
    return source


def _name(image: Any, index: int) -> str:
    if isinstance(image, (str, os.PathLike)):
        return os.path.basename(os.fspath(image))
    return f"image {index}"


def _folder(folder: pathlib.Path) -> ImageSource:
    """Image files under ``folder``, sorted; in class subfolders (ImageFolder layout), named with them."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ImageError(f"No image files ({', '.join(IMAGE_SUFFIXES)}) in {str(folder)!r}; check the folder.")
    return ImageSource([str(p) for p in files], [str(p.relative_to(folder)) for p in files], None)


def _dataset(dataset: Any) -> ImageSource:
    items = _DatasetItems(dataset)
    first = dataset[0] if len(dataset) else None
    labelled = isinstance(first, (tuple, list)) and len(first) > 1 and _is_class(first[1])
    targets = getattr(dataset, "targets", None)
    if labelled and targets is not None and len(targets) == len(dataset):
        true = [int(t) for t in targets]  # ImageFolder / torchvision datasets: no image is loaded for it
    elif labelled:
        true = [int(dataset[i][1]) for i in range(len(dataset))]
    else:
        true = None
    return ImageSource(items, [f"#{i}" for i in range(len(dataset))], true)


def _loader(loader: Any) -> ImageSource:
    images: list[Any] = []
    true: list[int] = []
    for batch in loader:
        x, y = (batch[0], batch[1]) if isinstance(batch, (tuple, list)) and len(batch) > 1 else (batch, None)
        if isinstance(batch, (tuple, list)) and len(batch) == 1:
            x = batch[0]
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            raise ImageError("A DataLoader must yield N×C×H×W image tensors (or (images, labels) pairs).")
        images.extend(x)
        if y is not None:
            true.extend(int(v) for v in y)
    labels = true if len(true) == len(images) and true else None
    return ImageSource(images, [f"#{i}" for i in range(len(images))], labels)


def _is_class(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point()

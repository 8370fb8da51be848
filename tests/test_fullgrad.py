"""FullGrad against pytorch-grad-cam's FullGrad on two architectures (a small CNN with biased
convolutions and batch norm, torchvision's MobileNetV3-Small with random weights), in-place
activations switched off in both so that each records the same tensors. Both maps are scaled to
0–1 (grad-cam returns them so); tolerance 1e-3 (grad-cam resizes with OpenCV)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from pytorch_grad_cam import FullGrad
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from tests.models import random_image
from xai_widgets import Session
from xai_widgets.engine.methods.fullgrad import effective_bias


def small_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10),
    )  # fmt: skip


def mobilenet() -> nn.Module:
    torch.manual_seed(0)
    return torchvision.models.mobilenet_v3_small(weights=None)


def prepared(model: nn.Module) -> nn.Module:
    for module in model.modules():
        if hasattr(module, "inplace"):
            module.inplace = False
        if isinstance(module, nn.BatchNorm2d):  # running statistics that are not the identity
            with torch.no_grad():
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    return model.eval()


def scaled(values: np.ndarray) -> np.ndarray:
    values = values - values.min()
    return values / (values.max() + 1e-7)


@pytest.mark.parametrize("make, size", [(small_cnn, 32), (mobilenet, 64)])
def test_fullgrad_matches_pytorch_grad_cam(make, size):
    model = prepared(make())
    x = random_image(2, size=size)[None]
    session = Session(model, x)
    target = session.top_k(1)[0][0]
    ours = scaled(session.attribution("fullgrad", target=target).numpy())
    theirs = FullGrad(model, [])(input_tensor=x, targets=[ClassifierOutputTarget(target)])[0]
    assert np.abs(ours - theirs).max() < 1e-3


def test_batch_norm_bias_is_its_eval_mode_shift():
    bn = prepared(nn.Sequential(nn.BatchNorm2d(4)))[0]
    x = torch.randn(1, 4, 3, 3)
    torch.testing.assert_close(bn(torch.zeros_like(x))[0, :, 0, 0], effective_bias(bn))
    assert effective_bias(nn.Conv2d(3, 4, 3, bias=False)) is None and effective_bias(nn.ReLU()) is None

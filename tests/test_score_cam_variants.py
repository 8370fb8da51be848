"""IS-CAM and SS-CAM against torchcam 0.5's ISCAM and SSCAM, on a small CNN and on torchvision's
ResNet-18 (random weights, 64 px, layer1: 64 channels).

IS-CAM is deterministic: both maps, each scaled to [0, 1], must agree to 0.02 everywhere (the
libraries scale a channel's mask before (torchcam) or after (ours, as our Score-CAM and the
paper) upsampling it, which moves a mask's values by a hair). SS-CAM draws its noise from each
library's own generator: with many samples both estimate the same expectation, so the maps
must correlate above 0.95; with the same seed ours is the same map twice.
"""

import pytest
import torch
from torchcam.methods import ISCAM, SSCAM

from tests.models import random_image, tiny_cnn
from xai_widgets import Session
from xai_widgets.engine.costs import model_passes


def resnet18_small():
    from torchvision.models import resnet18

    torch.manual_seed(0)
    return resnet18(weights=None, num_classes=10).eval()


CASES = {
    "tiny_cnn": (tiny_cnn, lambda: random_image(3)[None], "features.4"),  # after the in-place ReLU
    "resnet18": (resnet18_small, lambda: random_image(3, size=64)[None], "layer1"),
}


def unit(cam: torch.Tensor) -> torch.Tensor:
    cam = cam.float() - cam.min()
    return cam / cam.max().clamp(min=1e-12)


def opened(case: str):
    """The case's model, image, layer, our session of the image and its top class."""
    build, image, layer = CASES[case]
    model, x = build(), image()
    session = Session(model, x)
    return model, x, layer, session, session.top_k(1)[0][0]


def torchcam_map(extractor_class, model, x, layer, target, **kwargs) -> torch.Tensor:
    with extractor_class(model, layer, input_shape=tuple(x.shape[1:]), **kwargs) as extractor:
        with torch.no_grad():
            model(x)
        return extractor(class_idx=target)[0][0]


@pytest.mark.parametrize("case", CASES)
def test_is_cam_matches_torchcam(case):
    model, x, layer, session, target = opened(case)
    ours = session.attribution("iscam", layer=layer, target=target, steps=4)
    theirs = torchcam_map(ISCAM, model, x, layer, target, num_samples=4)
    assert ours.shape == theirs.shape
    assert (unit(ours) - unit(theirs)).abs().max() < 0.02


@pytest.mark.parametrize("case", CASES)
def test_ss_cam_estimates_what_torchcam_estimates(case):
    model, x, layer, session, target = opened(case)
    ours = session.attribution("sscam", layer=layer, target=target, samples=60, noise=0.5, seed=1)
    torch.manual_seed(0)
    theirs = torchcam_map(SSCAM, model, x, layer, target, num_samples=60, std=0.5)
    correlation = torch.corrcoef(torch.stack([ours.flatten().float(), theirs.flatten().float()]))[0, 1]
    assert correlation > 0.95, float(correlation)
    again = Session(model, x).attribution("sscam", layer=layer, target=target, samples=60, noise=0.5, seed=1)
    torch.testing.assert_close(ours, again)


def test_the_cost_counts_every_forward():
    session = Session(tiny_cnn(), random_image(0)[None])
    channels = session.activation("features.3").shape[1]
    assert model_passes(session, "iscam", "features.3", {"steps": 7}) == 7 * channels
    assert model_passes(session, "sscam", "features.3", {"samples": 5, "noise": 2.0, "seed": 0}) == 5 * channels

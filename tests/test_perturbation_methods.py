"""Occlusion, Score-CAM and Ablation-CAM against Captum and pytorch-grad-cam.

Tolerances (relative to the reference map's maximum): occlusion 1e-4 (Captum, same window,
stride and baseline, windows that tile the image and windows that do not — one more window,
cut at the border; the map is a difference of nearly equal scores); Ablation-CAM 1e-5
(grad-cam, a layer after a ReLU, where grad-cam zeroes the channel as the paper does);
Score-CAM 1e-3: grad-cam upsamples masks with ``align_corners=True`` and we use the half-pixel
convention of the rest of the engine.
"""

import numpy as np
import pytest
import torch
from captum.attr import Occlusion
from pytorch_grad_cam import AblationCAM, ScoreCAM
from torch import nn

from tests.models import tiny_cnn
from tests.test_cam_family import peer_raw_map
from xai_widgets import Session


@pytest.mark.parametrize("window,stride", [(8, 4), (16, 8), (12, 8), (20, 16)])  # the last two do not tile
def test_occlusion_matches_captum(setup, window, stride):
    model, x, session, target = setup
    ours = session.attribution("occlusion", target=target, window=window, stride=stride)
    theirs = Occlusion(model).attribute(
        x, target=target, sliding_window_shapes=(3, window, window), strides=(3, stride, stride), baselines=0
    )[0, 0]
    assert (ours - theirs).abs().max() <= 1e-4 * theirs.abs().max()  # score differences cancel in float32
    assert bool((theirs[-1] != 0).any()) and bool((ours[:, -1] != 0).any())  # the border strip is covered


@pytest.mark.parametrize("method,peer,tolerance", [("ablationcam", AblationCAM, 1e-5), ("scorecam", ScoreCAM, 1e-3)])
def test_cams_from_forwards_match_pytorch_grad_cam(setup, method, peer, tolerance):
    model, x, session, target = setup
    ours = session.attribution(method, layer="features", target=target).numpy()
    theirs = np.maximum(peer_raw_map(peer, model, x, "features", target), 0)
    assert np.abs(ours - theirs).max() <= tolerance * theirs.max()


def test_ablation_cam_runs_the_layers_below_once_per_batch(setup):
    model, x, _session, target = setup
    batches = []
    model.features[0].register_forward_hook(lambda _m, inputs, _o: batches.append(inputs[0].shape[0]))
    session = Session(model, x)
    batches.clear()
    session.attribution("ablationcam", layer="features.3", target=target)  # 16 channels: one chunk
    assert batches == [1, 1]  # the call count probe, then the chunk: never a batch of 16


class FixedBatchTail(nn.Module):
    """A tail that reshapes with the input's batch size, as some published models do."""

    def __init__(self) -> None:
        super().__init__()
        self.body = tiny_cnn()

    def forward(self, x):
        batch = x.size(0)
        features = self.body.pool(self.body.features(x)).view(batch, -1)
        return self.body.fc(features)


def test_ablation_cam_falls_back_to_whole_batches(setup):
    _model, x, _session, _target = setup
    model = FixedBatchTail()
    session = Session(model, x)
    target = session.top_k(1)[0][0]
    ours = session.attribution("ablationcam", layer="body.features.3", target=target)
    reference = Session(model.body, x).attribution("ablationcam", layer="features.3", target=target)
    torch.testing.assert_close(ours, reference)

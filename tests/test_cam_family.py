"""The CAM family agrees with pytorch-grad-cam and needs no new model call on a switch.

Compared: the raw map each grad-cam class computes in ``get_cam_image`` (its own hooks, its own
maths), after the ReLU grad-cam applies, against ours, relative tolerance 1e-4 of the map's
maximum. Layers are chosen with no in-place op after them: grad-cam records a tensor that a
later ``ReLU(inplace=True)`` overwrites, so there it explains the post-ReLU values (ours and
Captum's stay at the layer's true output, see test_gradcam.py). Grad-CAM++: grad-cam adds
1e-6 to a denominator of the order of grad², so the logits are scaled ×1000 to make that
constant negligible. Eigen-CAM: the principal component's sign is arbitrary in an SVD; grad-cam
takes whatever numpy returns, we orient it along the summed activation, so either sign of
grad-cam's projection is accepted.
"""

import numpy as np
import pytest
import torch
from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM, XGradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

from tests.models import random_image, tiny_cnn
from xai_widgets import Session

PEERS = {
    "gradcam": GradCAM,
    "gradcam++": GradCAMPlusPlus,
    "xgradcam": XGradCAM,
    "layercam": LayerCAM,
    "hirescam": HiResCAM,
    "eigencam": EigenCAM,
}


def scaled_logits_cnn() -> nn.Module:
    model = tiny_cnn()
    with torch.no_grad():
        model.fc.weight.mul_(1000.0)
        model.fc.bias.mul_(1000.0)
    return model


def peer_raw_map(peer_class, model, x, layer, target) -> np.ndarray:
    peer = peer_class(model=model, target_layers=[model.get_submodule(layer)])
    captured = {}
    compute = peer.get_cam_image

    def spy(*args, **kwargs):
        captured["raw"] = compute(*args, **kwargs)
        return captured["raw"]

    peer.get_cam_image = spy
    peer(input_tensor=x, targets=[ClassifierOutputTarget(target)])
    return captured["raw"][0]


@pytest.mark.parametrize("method", PEERS)
@pytest.mark.parametrize("layer", ["features", "features.2"])
def test_cam_family_matches_pytorch_grad_cam(method, layer):
    model = scaled_logits_cnn()
    x = random_image(3)[None]
    session = Session(model, x)
    target = session.top_k(1)[0][0]  # the predicted class: its maps are not all clipped to zero
    ours = session.attribution(method, layer=layer, target=target).numpy()
    raw = peer_raw_map(PEERS[method], model, x, layer, target)
    candidates = [np.maximum(raw, 0)] + ([np.maximum(-raw, 0)] if method == "eigencam" else [])
    errors = [np.abs(ours - c).max() / max(np.abs(c).max(), 1e-12) for c in candidates]
    assert min(errors) < 1e-4, errors
    assert ours.max() > 0


def test_cam_switches_make_no_model_call():
    calls = []
    model = tiny_cnn()
    model.register_forward_pre_hook(lambda *args: calls.append(1))
    session = Session(model, random_image(0))
    assert len(calls) == 1
    maps = {m: session.attribution(m, layer="features.2", target=2) for m in PEERS}
    assert len(calls) == 1
    assert len({m.numpy().tobytes() for m in maps.values()}) == len(PEERS)  # six different maps


def test_eigen_cam_does_not_depend_on_the_class():
    session = Session(tiny_cnn(), random_image(0))
    torch.testing.assert_close(
        session.attribution("eigencam", layer="features", target=0),
        session.attribution("eigencam", layer="features", target=7),
    )

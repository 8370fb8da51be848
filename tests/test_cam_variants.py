"""CAM, Element-wise Grad-CAM, EigenGrad-CAM, FEM, KPCA-CAM and RandomCAM against their
references, on two architectures (the tiny CNN at two layers, torchvision's ResNet-18 with
random weights at two layers).

Compared: the raw map pytorch-grad-cam computes in ``get_cam_image`` (after its ReLU), or
torchcam's CAM without normalisation, against ours; tolerance 1e-4 of the map's maximum
(KPCA-CAM 1e-3: scikit-learn's kernel PCA in float64 against ours, also float64, through
different eigensolvers). Principal components have no sign: either sign of the reference is
accepted where the method projects on one (EigenGrad-CAM, KPCA-CAM). RandomCAM: grad-cam's
draw is replaced by our weights, so the same formula must give the same map.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from pytorch_grad_cam import FEM, KPCA_CAM, EigenGradCAM, GradCAMElementWise, RandomCAM
from torchcam.methods import CAM as TorchcamCAM

from tests.models import random_image, tiny_cnn
from tests.test_cam_family import peer_raw_map, scaled_logits_cnn
from xai_widgets import Session
from xai_widgets.engine import MethodError, explain, get_method

PEERS = {
    "gradcam_elementwise": (GradCAMElementWise, 1e-4, False),
    "eigengradcam": (EigenGradCAM, 1e-4, True),
    "fem": (FEM, 1e-4, False),
    "kpcacam": (KPCA_CAM, 1e-3, True),
}


def resnet() -> torch.nn.Module:
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    with torch.no_grad():  # logits ×1000, as for the tiny CNN: grad-cam's Grad-CAM++ adds 1e-6 to a
        model.fc.weight.mul_(1000.0)  # denominator of the order of grad², negligible only then
        model.fc.bias.mul_(1000.0)
    return model


ARCHITECTURES = {
    "tiny_cnn": (scaled_logits_cnn, 32, ["features", "features.2"]),
    "resnet18": (resnet, 96, ["layer4", "layer3"]),  # block outputs: nothing in place writes over them
}


def case(architecture: str, architectures: dict = ARCHITECTURES):
    """The architecture's model, a random image, our session of it, its top class and the layers to check."""
    make, size, layers = architectures[architecture]
    model = make()
    x = random_image(3, size=size)[None]
    session = Session(model, x)
    return model, x, session, session.top_k(1)[0][0], layers


def relative_error(ours: np.ndarray, reference: np.ndarray) -> float:
    return float(np.abs(ours - reference).max() / max(np.abs(reference).max(), 1e-12))


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("method", PEERS)
def test_cam_variants_match_pytorch_grad_cam(method, architecture):
    peer, tolerance, either_sign = PEERS[method]
    model, x, session, target, layers = case(architecture)
    for layer in layers:
        ours = session.attribution(method, layer=layer, target=target).numpy()
        raw = peer_raw_map(peer, model, x, layer, target)
        candidates = [np.maximum(raw, 0)] + ([np.maximum(-raw, 0)] if either_sign else [])
        assert min(relative_error(ours, c) for c in candidates) < tolerance, (method, layer)
        assert ours.max() > 0


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_cam_matches_torchcam(architecture):
    model, x, session, target, layers = case(architecture)
    layer = layers[0]  # the layer before global pooling and the classifier
    extractor = TorchcamCAM(model, target_layer=layer)
    with torch.no_grad():
        scores = model(x)
    theirs = extractor(target, scores, normalized=False)[0][0].numpy()
    extractor.remove_hooks()
    ours = session.attribution("cam", layer=layer, target=target).numpy()
    assert relative_error(ours, theirs) < 1e-4
    assert get_method("cam").signed  # no ReLU, as in the paper: drawn with a diverging colormap


def test_cam_needs_a_layer_that_feeds_the_classifier():
    model, x = tiny_cnn(), random_image(1)
    with pytest.raises(MethodError, match="linear classifier after global pooling"):
        explain(model, x, method="cam", layer="features.0")  # 8 channels: no head reads 8 features


def test_kpca_cam_refuses_a_layer_too_large_for_its_kernel():
    model = tiny_cnn()
    with pytest.raises(MethodError, match="pixels × pixels kernel.*4096 pixels"):
        explain(model, random_image(1, size=64), method="kpcacam", layer="features.0")


def test_random_cam_is_the_formula_with_its_seeded_weights(monkeypatch):
    model, x, session, target, layers = case("tiny_cnn")
    layer = layers[0]
    ours = session.attribution("randomcam", layer=layer, target=target, seed=3).numpy()
    channels = session.activation(layer).shape[1]
    weights = (torch.rand(channels, generator=torch.Generator().manual_seed(3)) * 2 - 1).numpy()
    monkeypatch.setattr(np.random, "uniform", lambda low, high, size: weights[None].repeat(size[0], 0))
    theirs = np.maximum(peer_raw_map(RandomCAM, model, x, layer, target), 0)
    assert relative_error(ours, theirs) < 1e-4
    other = session.attribution("randomcam", layer=layer, target=target, seed=4).numpy()
    assert not np.allclose(ours, other)  # another seed, another baseline


def test_switching_between_them_runs_no_model_call():
    calls = []
    model = tiny_cnn()
    model.register_forward_pre_hook(lambda *args: calls.append(1))
    session = Session(model, random_image(0))
    maps = {m: session.attribution(m, layer="features", target=2) for m in ("cam", *PEERS, "randomcam")}
    assert len(calls) == 1 and len({m.numpy().tobytes() for m in maps.values()}) == len(maps)


SMOOTHABLE = {
    "gradcam": "GradCAM",
    "gradcam++": "GradCAMPlusPlus",
    "xgradcam": "XGradCAM",
    "layercam": "LayerCAM",
    "hirescam": "HiResCAM",
    "gradcam_elementwise": "GradCAMElementWise",
}


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("method", SMOOTHABLE)
def test_eigen_smooth_matches_pytorch_grad_cam(method, architecture):
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    model, x, session, target, layers = case(architecture)
    layer = layers[0]
    ours = session.attribution(method, layer=layer, target=target, smooth="eigen").numpy()
    peer = getattr(pytorch_grad_cam, SMOOTHABLE[method])(model=model, target_layers=[model.get_submodule(layer)])
    captured = {}
    compute = peer.get_cam_image
    peer.get_cam_image = lambda *args, **kwargs: captured.setdefault("raw", compute(*args, **kwargs))
    peer(input_tensor=x, targets=[ClassifierOutputTarget(target)], eigen_smooth=True)
    raw = captured["raw"][0]
    assert min(relative_error(ours, np.maximum(sign * raw, 0)) for sign in (1, -1)) < 1e-3
    plain = session.attribution(method, layer=layer, target=target).numpy()
    assert not np.allclose(ours, plain)  # the option changes the map

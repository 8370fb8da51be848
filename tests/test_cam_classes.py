"""Shapley-CAM and Finer-CAM against pytorch-grad-cam 1.5.7 (and Finer-CAM against torchcam 0.5),
on two architectures: the tiny CNN at two layers and torchvision's ResNet-18 (random weights, 10
classes, 64 px) at two layers.

Compared: the raw map each reference computes at the layer's resolution (pytorch-grad-cam's
``get_cam_image``, after the ReLU it applies; torchcam's map with ``normalized=False``) against
ours, both min-max scaled to [0, 1]; tolerance 1e-5 (measured: at most 1.2e-6, float32 rounding).
Shapley-CAM is compared with both of its utilities (pytorch-grad-cam's ClassifierOutputReST and
ClassifierOutputTarget); Finer-CAM with pytorch-grad-cam's softmax-weighted comparison (Grad-CAM
and LayerCAM as base) and torchcam's uniform one (γ = 0.6, its default, and 1).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from pytorch_grad_cam import GradCAM, LayerCAM, ShapleyCAM
from pytorch_grad_cam.finer_cam import FinerCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputReST, ClassifierOutputTarget
from torchcam.methods import FinerCAM as TorchcamFinerCAM

import xai_widgets.engine.methods.cam_objectives  # noqa: F401 - registers the two methods
from tests.models import random_image, tiny_cnn
from tests.test_cam_variants import case as variants_case
from xai_widgets import Contrast, Session, explain
from xai_widgets.engine import MethodError, get_method
from xai_widgets.engine.methods.cam_objectives import objective_coefficients, similar_classes
from xai_widgets.engine.methods.cam_options import CAM_OPTIONS

TOLERANCE = 1e-5


def resnet() -> torch.nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None, num_classes=10).eval()


ARCHITECTURES = {
    "tiny_cnn": (tiny_cnn, 32, ["features", "features.2"]),
    "resnet18": (resnet, 64, ["layer4", "layer3"]),  # block outputs: nothing in place writes over them
}


def case(architecture: str):
    return variants_case(architecture, ARCHITECTURES)


def scaled(values: np.ndarray) -> np.ndarray:
    values = np.maximum(values, 0)
    return (values - values.min()) / max(float(values.max() - values.min()), 1e-12)


def difference(ours: torch.Tensor, reference: np.ndarray) -> float:
    return float(np.abs(scaled(ours.numpy()) - scaled(reference)).max())


def raw_map(peer, run) -> np.ndarray:
    """The map ``peer.get_cam_image`` computes while ``run()`` runs the peer (before upsampling)."""
    captured = {}
    compute = peer.get_cam_image
    peer.get_cam_image = lambda *args, **kwargs: captured.setdefault("raw", compute(*args, **kwargs))
    run()
    return captured["raw"][0]


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("utility", ["rest", "logit"])
def test_shapley_cam_matches_pytorch_grad_cam(architecture, utility):
    model, x, session, target, layers = case(architecture)
    goal = {"rest": ClassifierOutputReST, "logit": ClassifierOutputTarget}[utility](target)
    for layer in layers:
        ours = session.attribution("shapleycam", layer=layer, target=target, utility=utility)
        peer = ShapleyCAM(model=model, target_layers=[model.get_submodule(layer)])
        theirs = raw_map(peer, lambda peer=peer: peer(input_tensor=x, targets=[goal]))
        assert difference(ours, theirs) < TOLERANCE, layer
        assert ours.max() > 0


BASE_PEERS = {"gradcam": GradCAM, "layercam": LayerCAM}


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("base", BASE_PEERS)
def test_finer_cam_matches_pytorch_grad_cam(architecture, base):
    model, x, session, target, layers = case(architecture)
    for layer in layers:
        ours = session.attribution("finercam", layer=layer, target=target, base=base)
        peer = FinerCAM(model, [model.get_submodule(layer)], base_method=BASE_PEERS[base])
        theirs = raw_map(peer.base_cam, lambda peer=peer: peer(input_tensor=x, target_idx=target))
        assert difference(ours, theirs) < TOLERANCE, layer
        assert ours.max() > 0


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("gamma", [0.6, 1.0])
def test_finer_cam_matches_torchcam(architecture, gamma):
    model, x, session, target, layers = case(architecture)
    for layer in layers:
        ours = session.attribution("finercam", layer=layer, target=target, alpha=gamma, weighting="mean")
        with TorchcamFinerCAM(model, layer, gamma=gamma, num_references=3) as extractor:
            scores = model(x)
            theirs = extractor(target, scores, normalized=False)[0][0].detach().numpy()
        assert difference(ours, theirs) < TOLERANCE, layer
        assert ours.max() > 0


@pytest.mark.parametrize("method", ["shapleycam", "finercam"])
def test_eigen_smooth_matches_pytorch_grad_cam(method):
    model, x, session, target, layers = case("tiny_cnn")
    layer = layers[0]
    ours = session.attribution(method, layer=layer, target=target, smooth="eigen")
    if method == "shapleycam":
        peer = ShapleyCAM(model=model, target_layers=[model.get_submodule(layer)])
        goal = [ClassifierOutputReST(target)]
        theirs = raw_map(peer, lambda: peer(input_tensor=x, targets=goal, eigen_smooth=True))
    else:
        finer = FinerCAM(model, [model.get_submodule(layer)])
        theirs = raw_map(finer.base_cam, lambda: finer(input_tensor=x, target_idx=target, eigen_smooth=True))
    # a principal component has no sign: pytorch-grad-cam keeps numpy's, we orient it along the sum
    # (measured: at most 2.4e-6 on the scaled maps)
    assert min(difference(ours, sign * theirs) for sign in (1, -1)) < 1e-4
    assert not torch.allclose(ours, session.attribution(method, layer=layer, target=target))


def test_hessian_vector_product_matches_autograd_on_the_head():
    """The session's (∇, H·A) at the tiny CNN's last layer, against torch.autograd.functional on
    the head (pool → linear) applied to that layer's output; zero curvature for one logit."""
    model, x, session, target, _ = case("tiny_cnn")
    activation = session.activation("features").clone()

    def rest(maps: torch.Tensor) -> torch.Tensor:
        logits = model.fc(model.pool(maps).flatten(1))[0]
        return logits[target] + torch.log_softmax(logits, dim=0)[target]

    _, expected_hvp = torch.autograd.functional.vhp(rest, activation, activation)
    point = activation.clone().requires_grad_(True)
    (expected_grad,) = torch.autograd.grad(rest(point), point)
    grad, hvp = session.hessian_vector_product("features", lambda s: s[target] + torch.log_softmax(s, 0)[target])
    torch.testing.assert_close(grad, expected_grad)
    torch.testing.assert_close(hvp, expected_hvp, rtol=1e-5, atol=1e-6)
    assert float(hvp.abs().max()) > 1e-3 * float(grad.abs().max())  # the second-order term is there
    _, flat = session.hessian_vector_product("features", lambda s: s[target])
    assert not flat.any()  # a linear head: the logit has no curvature
    assert all(p.grad is None for p in model.parameters())  # nothing accumulated into the model


def test_reachable_through_session_and_explain():
    model, x, session, target, layers = case("tiny_cnn")
    for method in ("shapleycam", "finercam"):
        spec = get_method(method)
        assert spec.uses_layer and spec.uses_target and not spec.slow and spec.reference
        assert {param.name for param in CAM_OPTIONS} <= {param.name for param in spec.params}  # as every CAM
        ours = Session(model, x).attribution(method, layer=layers[1], target=target)
        torch.testing.assert_close(explain(model, x, method=method, layer=layers[1], target=target), ours)
        assert ours.shape == session.activation(layers[1]).shape[-2:] and bool(torch.isfinite(ours).all())


@pytest.mark.parametrize("method", ["shapleycam", "finercam"])
def test_the_cam_options_apply(method):
    """Fusion over two stages and aug-smooth run on these methods too (each fused map is the
    method's own map at that layer, scaled to [0, 1])."""
    _, _, session, target, layers = case("tiny_cnn")
    fused = session.attribution(method, layer="features", target=target, fuse=2, fusion="max")
    assert fused.shape == session.activation("features.0").shape[-2:]
    own = session.attribution(method, layer="features", target=target)
    assert float(fused.max()) == pytest.approx(1.0) and not torch.equal(fused, own)
    smoothed = session.attribution(method, layer="features", target=target, aug_smooth="on")
    assert smoothed.shape == own.shape and bool(torch.isfinite(smoothed).all()) and not torch.allclose(smoothed, own)


def test_switching_to_them_runs_no_model_call():
    calls = []
    model = tiny_cnn()
    model.register_forward_pre_hook(lambda *args: calls.append(1))
    session = Session(model, random_image(0))
    maps = [session.attribution(m, layer="features", target=2) for m in ("gradcam", "shapleycam", "finercam")]
    assert len(calls) == 1 and len({m.numpy().tobytes() for m in maps}) == 3


@pytest.mark.parametrize("base", ["gradcam", "layercam", "hirescam"])
def test_finer_cam_with_alpha_zero_is_its_base_method(base):
    _, _, session, target, layers = case("resnet18")
    for weighting in ("softmax", "mean"):
        finer = session.attribution("finercam", layer=layers[0], target=target, alpha=0.0, base=base,
                                    weighting=weighting)  # fmt: skip
        torch.testing.assert_close(finer, session.attribution(base, layer=layers[0], target=target))


def test_finer_cam_subtracts_the_nearest_classes_gradient():
    """One comparison class, uniform weighting: Grad-CAM of ∇y_c − α ∇y_d, d the class whose
    score is nearest the target's, written out from the session's class gradients."""
    _, _, session, target, layers = case("tiny_cnn")
    scores = session.logits.detach()[0]
    nearest = int((scores - scores[target]).abs().scatter(0, torch.tensor([target]), float("inf")).argmin())
    assert similar_classes(scores, target, rank=1, count=1) == [nearest]
    layer = layers[0]
    grad = session.gradient(layer, target)[0] - 0.7 * session.gradient(layer, nearest)[0]
    expected = torch.relu(torch.einsum("c,chw->hw", grad.mean(dim=(1, 2)), session.activation(layer)[0]))
    ours = session.attribution("finercam", layer=layer, target=target, alpha=0.7, classes=1, weighting="mean")
    torch.testing.assert_close(ours, expected)


def test_similar_classes_and_coefficients():
    scores = torch.tensor([0.0, 5.0, 4.5, 6.0, 4.9, -3.0])
    assert similar_classes(scores, 1) == [4, 2, 3]  # |Δ| = 0.1, 0.5, 1.0
    assert similar_classes(scores, 1, rank=2, count=2) == [2, 3]
    assert similar_classes(scores, 1, rank=4, count=5) == [0, 5]  # capped at the classes there are
    mean = objective_coefficients(scores, 1, [4, 2], alpha=0.5, weighting="mean")
    assert mean == pytest.approx({1: 1.0, 4: -0.25, 2: -0.25})

    def objective(values: torch.Tensor) -> float:
        q = torch.softmax(values[[4, 2]], dim=0)
        return float((q * (values[1] - 0.5 * values[[4, 2]])).sum())

    soft = objective_coefficients(scores, 1, [4, 2], alpha=0.5)  # against central differences of its formula
    for k, coefficient in soft.items():
        step = torch.zeros(6, dtype=torch.float64)
        step[k] = 1e-6
        numeric = (objective(scores.double() + step) - objective(scores.double() - step)) / 2e-6
        assert coefficient == pytest.approx(numeric, abs=1e-6)


@pytest.mark.parametrize(
    "method, params, message",
    [
        ("finercam", {"alpha": -1.0}, "'alpha' of Finer-CAM must be at least 0"),
        ("finercam", {"classes": 0}, "'classes' of Finer-CAM must be at least 1"),
        ("finercam", {"rank": 10}, "rank 10 .* pick a rank from 1 to 9"),
        ("finercam", {"base": "scorecam"}, "'base' of Finer-CAM must be one of gradcam, gradcam\\+\\+"),
        ("finercam", {"weighting": "max"}, "must be one of softmax, mean"),
        ("shapleycam", {"utility": "softmax"}, "'utility' of Shapley-CAM must be one of rest, logit"),
        ("shapleycam", {"alpha": 1.0}, "Shapley-CAM has no parameter 'alpha'"),
    ],
)
def test_bad_parameters_say_what_to_pass(method, params, message):
    _, _, session, target, layers = case("tiny_cnn")
    with pytest.raises(MethodError, match=message):
        session.attribution(method, layer=layers[0], target=target, **params)


def test_finer_cam_needs_other_classes():
    with pytest.raises(MethodError, match="one class only; use 'gradcam'"):
        explain(tiny_cnn(), random_image(0), method="finercam", target=Contrast(3, 5))
    # Shapley-CAM's ReST of a single score is the score itself: Grad-CAM's map
    contrast = explain(tiny_cnn(), random_image(0), method="shapleycam", target=Contrast(3, 5))
    torch.testing.assert_close(contrast, explain(tiny_cnn(), random_image(0), method="gradcam", target=Contrast(3, 5)))

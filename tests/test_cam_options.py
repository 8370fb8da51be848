"""The options every CAM method takes (aug-smooth, multi-layer fusion) and Smooth Grad-CAM++,
against their references on two architectures (the tiny CNN, torchvision's ResNet-18 with
random weights).

* Aug-smooth and mean fusion against pytorch-grad-cam 1.5.7 (``aug_smooth=True``, several
  target layers). It scales each map to [0, 1] after resizing it to the input, ours before (at
  the layer's grid), and it resizes each layer's map to the input directly where ours goes
  through the finest layer's grid first; so the maps are compared upsampled to the input, each
  scaled to [0, 1]: correlation above 0.99 and within 0.1 everywhere (measured: 0.994–1.0 and
  at most 0.087; ResNet-18's aug-smooth within 0.001). Without the option the same maps
  correlate at most 0.98 with the peer's: the checks tell the option's map from the plain one.
* Max fusion against torchcam 0.5's ``fuse_cams``, which scales each layer's map before
  resizing it to the finest grid, as ours: within 1e-4.
* Smooth Grad-CAM++: torchcam's code (unlike its docstring and the paper) sums g³·A over the
  positions in the coefficient's denominator and weighs the last noisy sample's gradient and
  activations, so the two agree only where the gradient is the same at every position and for
  every image: the layer before global pooling and a linear classifier. There, with noise 0.001,
  within 0.01 of the range. Elsewhere ours is checked against the formula written out with plain
  autograd on the same noisy images, and with no noise it is Grad-CAM++.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from pytorch_grad_cam import GradCAM, GradCAMPlusPlus
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torchcam.methods import GradCAM as TorchcamGradCAM
from torchcam.methods import SmoothGradCAMpp

from tests.test_cam_variants import case
from xai_widgets import Session
from xai_widgets.engine import MethodError, explain, get_method
from xai_widgets.engine.costs import model_passes
from xai_widgets.engine.methods.cam_options import CAM_OPTIONS, fused_layers

FUSED = {"tiny_cnn": ["features", "features.1"], "resnet18": ["layer4", "layer3"]}
"""The layers fuse=2 picks at the first layer of each case: the chosen one, then the last layer
of the resolution before it (ReLU outputs: in-place ReLUs write over the convolutions')."""


def unit(cam) -> np.ndarray:
    cam = np.asarray(cam, dtype=np.float64)
    cam = cam - cam.min()
    return cam / max(cam.max(), 1e-12)


def agrees(ours: np.ndarray, theirs: np.ndarray) -> bool:
    """Both maps (at the input's size, in [0, 1]) correlate above 0.99 and differ by under 0.1."""
    return np.corrcoef(ours.ravel(), theirs.ravel())[0, 1] > 0.99 and np.abs(ours - theirs).max() < 0.1


def at_input(cam: torch.Tensor, size: int) -> np.ndarray:
    resized = F.interpolate(cam.float()[None, None], size=(size, size), mode="bilinear", align_corners=False)
    return unit(resized[0, 0].numpy())


@pytest.mark.parametrize("architecture", ["tiny_cnn", "resnet18"])
def test_fuse_picks_the_last_layer_of_each_earlier_resolution(architecture):
    *_, session, _, layers = case(architecture)
    assert fused_layers(session, layers[0], 2) == FUSED[architecture]
    assert fused_layers(session, layers[0], 1) == [layers[0]]
    picked = fused_layers(session, layers[0], 4)
    shapes = [next(info.shape[1:] for info in session.layers if info.name == name) for name in picked]
    assert len(set(shapes)) == len(picked) == {"tiny_cnn": 2, "resnet18": 4}[architecture]  # one per resolution


@pytest.mark.parametrize("architecture", ["tiny_cnn", "resnet18"])
def test_mean_fusion_matches_pytorch_grad_cams_target_layers(architecture):
    model, x, session, target, layers = case(architecture)
    ours = session.attribution("gradcam", layer=layers[0], target=target, fuse=2)
    peer = GradCAM(model=model, target_layers=[model.get_submodule(name) for name in FUSED[architecture]])
    theirs = peer(input_tensor=x, targets=[ClassifierOutputTarget(target)])[0]
    assert ours.shape == session.activation(FUSED[architecture][1]).shape[-2:]  # the finer grid
    assert agrees(at_input(ours, x.shape[-1]), unit(theirs))
    alone = session.attribution("gradcam", layer=layers[0], target=target)
    assert not agrees(at_input(alone, x.shape[-1]), unit(theirs))  # fusion changed the map


@pytest.mark.parametrize("architecture", ["tiny_cnn", "resnet18"])
def test_max_fusion_matches_torchcam(architecture):
    model, x, session, target, layers = case(architecture)
    ours = session.attribution("gradcam", layer=layers[0], target=target, fuse=2, fusion="max")
    with TorchcamGradCAM(model, FUSED[architecture], input_shape=tuple(x.shape[1:])) as extractor:
        scores = model(x)
        theirs = extractor.fuse_cams(extractor(class_idx=target, scores=scores))[0]
    assert ours.shape == theirs.shape
    assert torch.allclose(ours, theirs.detach(), atol=1e-4)


@pytest.mark.parametrize("architecture", ["tiny_cnn", "resnet18"])
@pytest.mark.parametrize("method, peer", [("gradcam", GradCAM), ("gradcam++", GradCAMPlusPlus)])
def test_aug_smooth_matches_pytorch_grad_cam(architecture, method, peer):
    model, x, session, target, layers = case(architecture)
    for layer in layers:
        ours = session.attribution(method, layer=layer, target=target, aug_smooth="on")
        extractor = peer(model=model, target_layers=[model.get_submodule(layer)])
        theirs = extractor(input_tensor=x, targets=[ClassifierOutputTarget(target)], aug_smooth=True)[0]
        plain = extractor(input_tensor=x, targets=[ClassifierOutputTarget(target)])[0]
        assert agrees(at_input(ours, x.shape[-1]), unit(theirs)), layer
        assert not agrees(unit(plain), unit(theirs)), layer  # the option matters here


def test_aug_smooth_and_fusion_combine_and_leave_the_input_alone():
    model, x, session, target, layers = case("tiny_cnn")
    before = x.clone()
    both = session.attribution("gradcam", layer=layers[0], target=target, aug_smooth="on", fuse=2)
    assert both.shape == (32, 32) and float(both.min()) >= 0 and float(both.max()) <= 1
    assert torch.equal(x, before) and torch.equal(session.input.detach(), before)
    alone = session.attribution("gradcam", layer=layers[0], target=target)
    assert torch.equal(alone, session.attribution("gradcam", layer=layers[0], target=target, fuse=1))


def test_explain_with_a_layer_fuses_the_stages_before_it():
    model, x, session, target, layers = case("resnet18")
    fused = explain(model, x, "gradcam", layer=layers[0], target=target, fuse=2)
    assert torch.allclose(fused, session.attribution("gradcam", layer=layers[0], target=target, fuse=2), atol=1e-6)
    assert fused.shape == session.activation(FUSED["resnet18"][1]).shape[-2:]


def test_signed_maps_keep_their_sign_when_fused():
    _, _, session, target, layers = case("tiny_cnn")
    fused = session.attribution("layer_gradxact", layer=layers[0], target=target, fuse=2)
    assert float(fused.min()) < 0 < float(fused.max())
    assert float(fused.abs().max()) <= 1 + 1e-6


def test_every_cam_method_takes_the_options():
    layered = [m for m in (get_method(name) for name in ("gradcam", "scorecam", "eigencam", "cam", "fem")) if m]
    names = {param.name for param in CAM_OPTIONS}
    for method in layered:
        assert names <= {param.name for param in method.params}, method.name
    assert not names & {param.name for param in get_method("saliency").params}
    with pytest.raises(MethodError, match="must be one of off, on"):
        Session(*case("tiny_cnn")[:2]).attribution("gradcam", aug_smooth="yes")


@pytest.mark.parametrize("architecture", ["tiny_cnn", "resnet18"])
def test_smooth_grad_cam_pp_matches_torchcam_before_global_pooling(architecture):
    model, x, session, target, layers = case(architecture)
    layer = layers[0]  # feeds global average pooling and the linear classifier
    ours = session.attribution("smoothgradcam++", layer=layer, target=target, samples=4, noise=0.001)
    with SmoothGradCAMpp(model, layer, num_samples=4, std=0.001, input_shape=tuple(x.shape[1:])) as extractor:
        model(x)
        theirs = extractor(class_idx=target)[0][0]
    assert np.abs(unit(ours.numpy()) - unit(theirs.detach().numpy())).max() < 0.01


def smooth_reference(model, x, layer, target, samples, noise, seed) -> torch.Tensor:
    """Smooth Grad-CAM++ written out with plain autograd on the same noisy images."""
    generator = torch.Generator().manual_seed(seed)
    module = model.get_submodule(layer)
    kept = {}
    hook = module.register_forward_hook(lambda m, i, o: kept.update(out=o.clone()) or kept["out"])
    try:
        grads = []
        for _ in range(samples):
            noisy = x + noise * torch.randn(x.shape, generator=generator)
            score = model(noisy)[0, target]
            grads.append(torch.autograd.grad(score, kept["out"])[0][0])
        model(x)
        activation = kept["out"][0].detach()
    finally:
        hook.remove()
    stack = torch.stack(grads)
    g1, g2, g3 = stack.mean(0), stack.pow(2).mean(0), stack.pow(3).mean(0)
    alpha = torch.where(g2 != 0, g2 / (2 * g2 + activation.sum(dim=(1, 2), keepdim=True) * g3 + 1e-7), 0.0)
    weights = (alpha * torch.relu(g1)).sum(dim=(1, 2))
    return torch.relu((weights[:, None, None] * activation).sum(0))


@pytest.mark.parametrize("architecture", ["tiny_cnn", "resnet18"])
def test_smooth_grad_cam_pp_is_its_formula_and_grad_cam_pp_without_noise(architecture):
    model, x, session, target, layers = case(architecture)
    layer = layers[1]  # inside the network: the gradient differs between positions and images
    ours = session.attribution("smoothgradcam++", layer=layer, target=target, samples=5, noise=0.3, seed=2)
    reference = smooth_reference(model, x, layer, target, 5, 0.3, 2)
    assert torch.allclose(ours, reference, atol=1e-4 * float(reference.abs().max()))
    quiet = session.attribution("smoothgradcam++", layer=layer, target=target, samples=2, noise=0.0)
    plain = session.attribution("gradcam++", layer=layer, target=target)
    assert torch.allclose(quiet, plain, atol=1e-5 * float(plain.max()))
    assert float((ours - plain).abs().max()) > 0.01 * float(plain.max())  # the noise changes the map
    again = Session(model, x).attribution("smoothgradcam++", layer=layer, target=target, samples=5, noise=0.3, seed=2)
    assert torch.equal(ours, again)


def test_smooth_grad_cam_pp_in_explain_and_its_cost():
    model, x, session, target, layers = case("tiny_cnn")
    result = explain(model, x, "smoothgradcam++", layer=layers[1], target=target, samples=3)
    assert result.shape == session.activation(layers[1]).shape[-2:]
    assert get_method("smoothgradcam++").slow
    assert model_passes(session, "smoothgradcam++", layers[1], {"samples": 3}) == 9
    aug = {"aug_smooth": "on", "fuse": 1, "fusion": "mean"}
    assert model_passes(session, "gradcam", layers[0], aug) == 6 * 3
    assert model_passes(session, "scorecam", layers[0], {**aug, "fuse": 2}) > 6 * 16

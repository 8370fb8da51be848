"""GradientShap (by hand with its own draws; against Captum's GradientShap in expectation) and
layer gradient × activation (against Captum's LayerGradientXActivation) on two architectures."""

from __future__ import annotations

import pytest
import torch
import torchvision
from captum.attr import GradientShap, LayerGradientXActivation

from tests.models import random_image, tiny_cnn
from xai_widgets import Session
from xai_widgets.engine import explain
from xai_widgets.engine.methods.deeplift import shuffled_baselines


def resnet() -> torch.nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None).eval()


def test_gradient_shap_is_its_formula_with_its_own_draws():
    model, x = tiny_cnn(), random_image(2)
    ours = explain(model, x, method="gradientshap", target=4, samples=6, seed=5)
    generator = torch.Generator().manual_seed(5)
    baselines = shuffled_baselines(x, 6, 5)
    alphas = torch.rand(6, generator=generator).view(-1, 1, 1, 1)
    noisy = x[None] + 0.0 * torch.randn((6, *x.shape), generator=generator)
    points = (baselines + alphas * (noisy - baselines)).requires_grad_(True)
    (grads,) = torch.autograd.grad(model(points)[:, 4].sum(), points)
    torch.testing.assert_close(ours, (grads * (noisy - baselines)).mean(dim=0).sum(dim=0), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("make, size", [(tiny_cnn, 32), (resnet, 48)])
def test_gradient_shap_agrees_with_captum_in_expectation(make, size):
    model, x = make(), random_image(3, size=size)
    target = int(model(x[None]).argmax())
    samples = 256
    ours = explain(model, x, method="gradientshap", target=target, samples=samples, seed=0)
    torch.manual_seed(0)
    theirs = GradientShap(model).attribute(
        x[None].clone(), baselines=shuffled_baselines(x, samples, 0), n_samples=samples, target=target
    )[0].sum(dim=0)
    # two Monte Carlo estimates of one expectation over the same background (ours takes each
    # baseline once, Captum draws them with replacement; the points along the paths differ)
    relative = float((ours - theirs).norm() / theirs.norm())
    correlation = float(torch.corrcoef(torch.stack([ours.flatten(), theirs.flatten()]))[0, 1])
    print(f"GradientShap vs Captum: relative L2 {relative:.3f}, correlation {correlation:.3f}")
    assert relative < 0.35 and correlation > 0.9, (relative, correlation)


@pytest.mark.parametrize("make, size, layer", [(tiny_cnn, 32, "features"), (resnet, 64, "layer3")])
def test_layer_gradient_x_activation_matches_captum(make, size, layer):
    model, x = make(), random_image(1, size=size)
    session = Session(model, x)
    target = session.top_k(1)[0][0]
    ours = session.attribution("layer_gradxact", layer=layer, target=target)
    theirs = LayerGradientXActivation(model, model.get_submodule(layer)).attribute(x[None].clone(), target=target)
    theirs = theirs[0].sum(dim=0).detach()
    assert (ours - theirs).abs().max() <= 1e-4 * theirs.abs().max()

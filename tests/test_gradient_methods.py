"""Gradient methods on pixels against Captum, on the same model, input and target.

Tolerances: deterministic methods (gradient × input, Integrated Gradients with the same
Gauss-Legendre nodes, Guided Backprop, Guided Grad-CAM) within rtol 1e-4 of the map's scale.
SmoothGrad draws noise: it must equal, exactly, the mean of saliency over the same noise
drawn in the test from the documented seed; against Captum's NoiseTunnel (its own random
draws) the two 400-sample estimates must correlate above 0.95.
"""

import numpy as np
import pytest
import torch
from captum.attr import GuidedBackprop, GuidedGradCam, InputXGradient, IntegratedGradients, NoiseTunnel, Saliency

from tests.models import random_image, tiny_cnn
from xai_widgets import Session, explain


def close(ours: torch.Tensor, theirs: torch.Tensor, rtol: float = 1e-4) -> None:
    scale = theirs.abs().max().item()
    assert scale > 0
    assert (ours - theirs).abs().max().item() <= rtol * scale


@pytest.fixture
def setup():
    model = tiny_cnn()
    x = random_image(5)[None]
    return model, x, Session(model, x).top_k(1)[0][0]


def test_gradient_x_input_matches_captum(setup):
    model, x, target = setup
    theirs = InputXGradient(model).attribute(x.clone().requires_grad_(), target=target)[0].sum(0)
    close(explain(model, x, method="gradxinput", target=target), theirs.detach())


@pytest.mark.parametrize("steps", [8, 32])
def test_integrated_gradients_matches_captum(setup, steps):
    model, x, target = setup
    theirs = IntegratedGradients(model).attribute(x, target=target, n_steps=steps, method="gausslegendre")[0].sum(0)
    ours = Session(model, x).attribution("integrated_gradients", target=target, steps=steps)
    close(ours, theirs.detach())


def test_integrated_gradients_completeness(setup):
    model, x, target = setup
    ours = Session(model, x).attribution("integrated_gradients", target=target, steps=64)
    with torch.no_grad():
        gap = model(x)[0, target] - model(torch.zeros_like(x))[0, target]
    assert abs(ours.sum().item() - gap.item()) < 1e-3 * max(1.0, abs(gap.item()))


def test_guided_backprop_matches_captum(setup):
    model, x, target = setup
    theirs = GuidedBackprop(model).attribute(x.clone(), target=target)[0].abs().amax(0)
    close(explain(model, x, method="guided_backprop", target=target), theirs.detach())


def test_guided_grad_cam_matches_captum(setup):
    model, x, target = setup
    layer = model.get_submodule("features.2")
    theirs = GuidedGradCam(model, layer).attribute(x.clone(), target=target, interpolate_mode="bilinear")
    theirs = theirs[0].abs().amax(0)
    close(explain(model, x, method="guided_gradcam", layer="features.2", target=target), theirs.detach())


def test_smoothgrad_is_the_mean_saliency_over_seeded_noise(setup):
    model, x, target = setup
    ours = Session(model, x).attribution("smoothgrad", target=target, samples=8, noise=0.2, seed=3)
    generator = torch.Generator().manual_seed(3)
    draws = torch.randn((8, *x.shape[1:]), generator=generator)
    sigma = 0.2 * float(x.max() - x.min())
    per_sample = []
    for draw in draws:
        noisy = (x + sigma * draw).requires_grad_(True)
        (grad,) = torch.autograd.grad(model(noisy)[0, target], noisy)
        per_sample.append(grad[0].abs())
    expected = torch.stack(per_sample).mean(0).amax(0)
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("variant,nt_type", [("mean", "smoothgrad"), ("squared", "smoothgrad_sq"), ("var", "vargrad")])
def test_smoothgrad_variants_agree_with_captum_in_distribution(setup, variant, nt_type):
    model, x, target = setup
    samples, noise = 400, 0.15
    sigma = noise * float(x.max() - x.min())
    ours = Session(model, x).attribution("smoothgrad", target=target, samples=samples, noise=noise, variant=variant)
    torch.manual_seed(0)
    theirs = NoiseTunnel(Saliency(model)).attribute(
        x.clone(), target=target, nt_type=nt_type, nt_samples=samples, stdevs=sigma, nt_samples_batch_size=100
    )[0]
    theirs = theirs.amax(0).detach().numpy()
    correlation = np.corrcoef(ours.numpy().ravel(), theirs.ravel())[0, 1]
    assert correlation > 0.95


def test_same_seed_same_map_other_seed_other_map(setup):
    model, x, target = setup
    session = Session(model, x)
    a = session.attribution("smoothgrad", target=target, seed=1, samples=4)
    session.attributions.clear()
    b = session.attribution("smoothgrad", target=target, seed=1, samples=4)
    c = session.attribution("smoothgrad", target=target, seed=2, samples=4)
    assert torch.equal(a, b) and not torch.equal(a, c)

"""DeepLift (rescale rule) and DeepLiftShap against Captum on two architectures (the tiny CNN with
ReLU, a CNN with ELU, Tanh and Sigmoid), completeness (the attributions sum to the score's
difference from the baseline), and a clear refusal for max pooling. Tolerance: 1e-4 of the
reference map's largest value."""

from __future__ import annotations

import pytest
import torch
from captum.attr import DeepLift, DeepLiftShap
from torch import nn

from tests.models import random_image, tiny_cnn
from xai_widgets import Session
from xai_widgets.engine import MethodError, explain
from xai_widgets.engine.methods.deeplift import shuffled_baselines


def smooth_cnn() -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ELU(), nn.Conv2d(8, 8, 3, padding=1), nn.Tanh(),
        nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.Sigmoid(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10),
    ).eval()  # fmt: skip


ARCHITECTURES = {"relu": tiny_cnn, "elu_tanh_sigmoid": smooth_cnn}


def close(ours: torch.Tensor, theirs: torch.Tensor) -> None:
    assert (ours - theirs).abs().max() <= 1e-4 * theirs.abs().max(), float((ours - theirs).abs().max())


@pytest.mark.parametrize("architecture", ARCHITECTURES)
@pytest.mark.parametrize("baseline", [0.0, 0.5])
def test_deeplift_matches_captum_and_is_complete(architecture, baseline):
    model, x = ARCHITECTURES[architecture](), random_image(2)
    target = int(model(x[None]).argmax())
    ours = explain(model, x, method="deeplift", target=target, baseline=baseline)
    reference = torch.full_like(x, baseline)[None]
    theirs = DeepLift(model).attribute(x[None].clone(), baselines=reference, target=target)[0].sum(dim=0)
    close(ours, theirs.detach())
    with torch.no_grad():
        difference = model(x[None])[0, target] - model(reference)[0, target]
    assert float(ours.sum()) == pytest.approx(float(difference), rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_where_input_and_baseline_meet_the_local_gradient_is_used(architecture):
    model, x = ARCHITECTURES[architecture](), random_image(4)
    x[:, :16, :16] = 0.0  # equal to the baseline there: every layer's inputs meet inside this block
    ours = explain(model, x, method="deeplift", target=3)
    theirs = DeepLift(model).attribute(x[None].clone(), baselines=torch.zeros_like(x)[None], target=3)[0].sum(dim=0)
    close(ours, theirs.detach())


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_deeplift_shap_matches_captum_over_the_same_baselines(architecture):
    model, x = ARCHITECTURES[architecture](), random_image(3)
    target = int(model(x[None]).argmax())
    ours = explain(model, x, method="deepliftshap", target=target, samples=5, seed=7)
    baselines = shuffled_baselines(x, 5, 7)
    theirs = DeepLiftShap(model).attribute(x[None].clone(), baselines=baselines, target=target)[0].sum(dim=0)
    close(ours, theirs.detach())


def test_the_model_and_input_are_untouched_and_max_pooling_is_refused():
    model, x = tiny_cnn(), random_image(1)
    kept = {k: v.clone() for k, v in model.state_dict().items()}
    image = x.clone()
    session = Session(model, x)
    session.attribution("deeplift", target=1)
    assert torch.equal(x, image) and all(torch.equal(v, kept[k]) for k, v in model.state_dict().items())
    assert all(not module._forward_hooks and not module._forward_pre_hooks for module in model.modules())
    pooled = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.LazyLinear(5)).eval()
    pooled(x[None])
    with pytest.raises(MethodError, match="MaxPool2d.*integrated_gradients"):
        explain(pooled, x, method="deeplift")

"""DeepLift (rescale rule) and DeepLiftShap against Captum on two architectures (the tiny CNN with
ReLU, a CNN with ELU, Tanh and Sigmoid), completeness (the attributions sum to the score's
difference from the baseline), max pooling with Captum's rule (a small VGG-like CNN, torchvision's
VGG-11, overlapping padded pools as in ResNet's stem, ResNet-18's completeness), and a clear
refusal for adaptive max pooling and softmax. Tolerance: 1e-4 of the reference map's largest value.

Captum is run on a copy of the model with a ``Copy`` module (``x.clone()``) before each max pool:
the same function, but where a ReLU's output tensor is itself the pool's input, Captum's tensor
hooks hand the ReLU the pool's plain gradient instead of its DeepLift multipliers, and its maps
then miss completeness (e.g. VGG: ReLU → MaxPool2d). With the copy, Captum's rules apply as
defined and its maps are complete."""

from __future__ import annotations

import copy

import pytest
import torch
import torchvision
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


class VggLike(nn.Module):
    """conv → ReLU → max pool, twice, then linear. ``variant``: "plain"; "reused" (one MaxPool2d
    module called twice); "indices" (pools with ``return_indices=True``). Same weights for all."""

    def __init__(self, variant: str = "plain") -> None:
        super().__init__()
        torch.manual_seed(2)
        indices = variant == "indices"
        self.conv1, self.relu1 = nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True)
        self.conv2, self.relu2 = nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True)
        self.pool1 = nn.MaxPool2d(2, return_indices=indices)
        self.pool2 = self.pool1 if variant == "reused" else nn.MaxPool2d(2, return_indices=indices)
        self.fc = nn.Linear(16 * 8 * 8, 10)
        self.indices = indices

    def pool(self, pool: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return pool(x)[0] if self.indices else pool(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.pool1, self.relu1(self.conv1(x)))
        x = self.pool(self.pool2, self.relu2(self.conv2(x)))
        return self.fc(x.flatten(1))


def vgg_like() -> nn.Module:
    return VggLike().eval()


def vgg11() -> nn.Module:
    torch.manual_seed(3)
    return torchvision.models.vgg11(weights=None, num_classes=10).eval()


def overlapping_pools() -> nn.Module:
    """ResNet's stem (3×3 max pool, stride 2, padding 1: overlapping windows), then a dilated
    pool with ``ceil_mode``."""
    torch.manual_seed(4)
    bn = nn.BatchNorm2d(8)
    with torch.no_grad():
        bn.running_mean.uniform_(-0.2, 0.2)
        bn.running_var.uniform_(0.5, 1.5)
    return nn.Sequential(
        nn.Conv2d(3, 8, 7, stride=2, padding=3), bn, nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1),
        nn.Conv2d(8, 12, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True),
        nn.Flatten(), nn.LazyLinear(10),
    ).eval()  # fmt: skip


def resnet18() -> nn.Module:
    torch.manual_seed(5)
    return torchvision.models.resnet18(weights=None, num_classes=10).eval()


class Copy(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clone()


def separated(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with a ``Copy`` before each max pool (see the module docstring)."""
    model = copy.deepcopy(model)
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.MaxPool2d):
                setattr(module, name, nn.Sequential(Copy(), child))
    return model


POOLED = {"vgg_like": (vgg_like, 32), "vgg11": (vgg11, 64)}


def summing_unpool(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """``F.max_unpool2d`` that adds the values sent to one position (torch's keeps one of them)."""
    size = tuple(output_size[-2:])
    flat = input.new_zeros(*input.shape[:2], size[0] * size[1])
    return flat.scatter_add_(2, indices.flatten(2), input.flatten(2)).view(*input.shape[:2], *size)


def max_difference(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    return float((ours - theirs).abs().max() / theirs.abs().max())


@pytest.mark.parametrize("architecture", POOLED)
def test_max_pooling_matches_captum_and_is_complete(architecture):
    """Two pools with a convolution between them (conv → ReLU → pool, twice). The baseline's
    windows hold exact ties (a constant image): the rules must leave the forward's values exactly
    as they are, or a rounding error picks another tied position (it did: 10–35 % off)."""
    build, size = POOLED[architecture]
    model, x = build(), random_image(5, size)
    target = int(model(x[None]).argmax())
    ours = explain(model, x, method="deeplift", target=target, baseline=0.2)
    reference = torch.full_like(x, 0.2)[None]
    theirs = DeepLift(separated(model)).attribute(x[None].clone(), baselines=reference, target=target)
    close(ours, theirs[0].sum(dim=0).detach())
    with torch.no_grad():
        difference = model(x[None])[0, target] - model(reference)[0, target]
    assert float(ours.sum()) == pytest.approx(float(difference), rel=1e-3)


def test_max_pooling_where_input_and_baseline_meet_and_deeplift_shap_match_captum():
    model, x = vgg_like(), random_image(6)
    x[:, :12, :12] = 0.0  # equal to the baseline: the pools fall back to their plain gradient there
    ours = explain(model, x, method="deeplift", target=4)
    theirs = DeepLift(separated(model)).attribute(x[None].clone(), baselines=torch.zeros_like(x)[None], target=4)
    close(ours, theirs[0].sum(dim=0).detach())
    assert float(ours[:10, :10].abs().max()) < 1e-6 < float(ours.abs().max())  # no difference, no attribution
    ours = explain(model, x, method="deepliftshap", target=4, samples=4, seed=2)
    baselines = shuffled_baselines(x, 4, 2)
    theirs = DeepLiftShap(separated(model)).attribute(x[None].clone(), baselines=baselines, target=4)[0].sum(dim=0)
    close(ours, theirs.detach())


@pytest.mark.parametrize("variant", ["reused", "indices"])
def test_a_reused_pool_and_pools_returning_indices_give_the_plain_models_map(variant):
    model, x = VggLike(variant).eval(), random_image(7)
    ours = explain(model, x, method="deeplift", target=2)
    plain = explain(vgg_like(), x, method="deeplift", target=2)
    assert torch.allclose(ours, plain, atol=1e-6 * float(plain.abs().max()))


def test_overlapping_pools_add_every_windows_term_and_are_complete(monkeypatch):
    model, x = overlapping_pools(), random_image(8, 48)
    target = int(model(x[None]).argmax())
    ours = explain(model, x, method="deeplift", target=target)
    baseline = torch.zeros_like(x)[None]
    with torch.no_grad():
        difference = float(model(x[None])[0, target] - model(baseline)[0, target])
    assert float(ours.sum()) == pytest.approx(difference, rel=1e-3)
    # Captum's rule, with its max_unpool adding (not overwriting) the terms of overlapping windows
    monkeypatch.setattr(torch.nn.functional, "max_unpool2d", summing_unpool)
    theirs = DeepLift(separated(model)).attribute(x[None].clone(), baselines=baseline, target=target)
    close(ours, theirs[0].sum(dim=0).detach())


def test_resnet18_with_its_overlapping_stem_pool_is_complete():
    # Captum refuses ResNet-18 (each block calls one ReLU module twice); ours handles reuse
    model, x = resnet18(), random_image(9, 64)
    target = int(model(x[None]).argmax())
    ours = explain(model, x, method="deeplift", target=target, baseline=0.1)
    assert torch.isfinite(ours).all() and ours.abs().max() > 0
    with torch.no_grad():
        difference = model(x[None])[0, target] - model(torch.full_like(x, 0.1)[None])[0, target]
    assert float(ours.sum()) == pytest.approx(float(difference), rel=1e-3)


def test_the_model_and_input_are_untouched_and_adaptive_max_pooling_and_softmax_are_refused():
    for model, x in ((tiny_cnn(), random_image(1)), (vgg_like(), random_image(1))):
        kept = {k: v.clone() for k, v in model.state_dict().items()}
        image = x.clone()
        session = Session(model, x)
        session.attribution("deeplift", target=1)
        assert torch.equal(x, image) and all(torch.equal(v, kept[k]) for k, v in model.state_dict().items())
        assert all(not module._forward_hooks and not module._forward_pre_hooks for module in model.modules())
    x = random_image(1)
    for head, kind in ((nn.AdaptiveMaxPool2d(4), "AdaptiveMaxPool2d"), (nn.Softmax(dim=1), "Softmax")):
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), head, nn.Flatten(), nn.LazyLinear(5)).eval()
        model(x[None])
        with pytest.raises(MethodError, match=f"{kind}.*integrated_gradients"):
            explain(model, x, method="deeplift")

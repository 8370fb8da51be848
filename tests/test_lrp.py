"""LRP against Zennit 0.5's composites on three architectures: the tiny CNN (in-place ReLU, batch
norm after a convolution, adaptive average pooling), a VGG-like CNN (batch norm, max pooling,
dropout, two linear layers) and torchvision's ResNet-18 at 64 px (residual sums, downsampling),
all with seeded random weights. Zennit's attribution is its relevance at the input for
``attr_output = one_hot × logits``, summed over channels, with its batch norm canonizer
(SequentialMergeBatchNorm; ResNetCanonizer for the ResNet).

Tolerance: max |ours − Zennit| ≤ 1e-4 · max |Zennit|. Measured: ≤ 1e-5 on the two small CNNs
(Zennit's merged batch norm stays in the forward as x/√(1+ε), ours is the identity), 0 to 1e-7 on
the ResNet. The ResNet's batch norms get ε = 0 so that this x/√(1+ε) is exact: with ε = 1e-5 the
two differ by up to 4e-3 of the maximum under the epsilon composite, because LRP-ε with ε = 1e-6
through 20 layers of random weights amplifies rounding (Zennit in float32 against Zennit in
float64 differs by 5e-3 there too).

Also: conservation, the caller's model left untouched, half-precision models, clear refusals,
and the Session and ``explain`` entry points.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn
from zennit.attribution import Gradient
from zennit.canonizers import SequentialMergeBatchNorm
from zennit.composites import (
    EpsilonAlpha2Beta1,
    EpsilonGammaBox,
    EpsilonPlus,
    EpsilonPlusFlat,
    LayerMapComposite,
    layer_map_base,
)
from zennit.rules import Epsilon
from zennit.torchvision import ResNetCanonizer
from zennit.types import Linear

import xai_widgets.engine.methods.lrp  # noqa: F401  (registers "lrp")
from tests.models import random_image, tiny_cnn
from tests.test_model_untouched import assert_same, awkward_model, snapshot
from xai_widgets import Session, explain
from xai_widgets.engine import MethodError
from xai_widgets.engine.methods.lrp import COMPOSITES


def randomise_batch_norms(model: nn.Module, eps: float | None = None) -> nn.Module:
    """Non-trivial eval statistics and affine parameters, so folding them matters."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.1, 0.1)
                module.eps = module.eps if eps is None else eps
    return model.eval()


def vgg_like() -> nn.Module:
    torch.manual_seed(3)
    return randomise_batch_norms(nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 8 * 8, 32), nn.ReLU(), nn.Dropout(), nn.Linear(32, 10),
    ))  # fmt: skip


def resnet18() -> nn.Module:
    torch.manual_seed(0)
    return randomise_batch_norms(torchvision.models.resnet18(weights=None, num_classes=10), eps=0.0)


ARCHITECTURES = {  # builder, image size, Zennit's canonizer
    "tiny_cnn": (tiny_cnn, 32, SequentialMergeBatchNorm),
    "vgg_like": (vgg_like, 32, SequentialMergeBatchNorm),
    "resnet18": (resnet18, 64, ResNetCanonizer),
}


def zennit_map(model: nn.Module, x: torch.Tensor, target: int, composite: str, canonizer) -> torch.Tensor:
    """Zennit's relevance at the input for one_hot × logits, summed over channels."""
    low = x[None].amin(dim=(0, 2, 3), keepdim=True)  # z-box bounds: the image's per-channel range, as ours
    high = x[None].amax(dim=(0, 2, 3), keepdim=True)
    canonizers = [canonizer()]
    composites = {
        "epsilon_plus_flat": lambda: EpsilonPlusFlat(canonizers=canonizers),
        "epsilon_gamma_box": lambda: EpsilonGammaBox(low=low, high=high, canonizers=canonizers),
        "epsilon_alpha2_beta1": lambda: EpsilonAlpha2Beta1(canonizers=canonizers),
        "epsilon_plus": lambda: EpsilonPlus(canonizers=canonizers),
        "epsilon": lambda: LayerMapComposite(layer_map_base() + [(Linear, Epsilon())], canonizers=canonizers),
    }
    image = x[None].clone().requires_grad_(True)
    with Gradient(model, composites[composite]()) as attributor:
        _, relevance = attributor(image, lambda out: out * nn.functional.one_hot(torch.tensor([target]), out.shape[1]))
    return relevance[0].sum(dim=0).detach()


@pytest.fixture(scope="module", params=list(ARCHITECTURES))
def architecture(request):
    build, size, canonizer = ARCHITECTURES[request.param]
    model, x = build(), random_image(2, size=size)
    with torch.no_grad():
        target = int(model(x[None]).argmax())
    return build, model, x, target, canonizer


@pytest.mark.parametrize("composite", COMPOSITES)
def test_lrp_matches_zennit(architecture, composite):
    build, model, x, target, canonizer = architecture
    ours = explain(model, x, method="lrp", target=target, composite=composite)
    theirs = zennit_map(build(), x, target, composite, canonizer)  # a fresh model: Zennit's canonizers edit it
    assert ours.shape == x.shape[1:] and ours.dtype == torch.float32
    assert float(theirs.abs().max()) > 0
    assert (ours - theirs).abs().max() <= 1e-4 * theirs.abs().max(), float((ours - theirs).abs().max())


def test_the_default_composite_is_epsilon_plus_flat_and_session_agrees_with_explain():
    model, x = vgg_like(), random_image(4)
    default = explain(model, x, method="lrp", target=2)
    assert torch.equal(default, explain(model, x, method="lrp", target=2, composite="epsilon_plus_flat"))
    session = Session(model, x)
    for composite in ("epsilon_gamma_box", "epsilon"):
        from_session = session.attribution("lrp", target=2, composite=composite)
        assert torch.allclose(from_session, explain(model, x, method="lrp", target=2, composite=composite))
    assert not torch.allclose(default, from_session)  # the composite matters
    with pytest.raises(MethodError, match="composite.*one of.*epsilon_plus_flat"):
        session.attribution("lrp", composite="zplus_everywhere")


def test_epsilon_conserves_the_logit_without_biases_and_loses_the_bias_share_with_them():
    torch.manual_seed(5)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
        nn.Flatten(), nn.Linear(32, 4, bias=False),
    ).eval()  # fmt: skip
    x = random_image(6)
    with torch.no_grad():
        logits = model(x[None])[0]
    target = int(logits.argmax())
    heat = explain(model, x, method="lrp", target=target, composite="epsilon", epsilon=1e-9)
    assert float(heat.sum()) == pytest.approx(float(logits[target]), rel=0.01)
    # with a bias, relevance is shared between the inputs and the bias: the map sums to logit − bias
    torch.manual_seed(6)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 3)).eval()
    with torch.no_grad():
        linear[1].bias.copy_(torch.tensor([0.5, -0.3, 0.2]))
    x = random_image(7, size=8)
    with torch.no_grad():
        logit = float(linear(x[None])[0, 1])
    heat = explain(linear, x, method="lrp", target=1, composite="epsilon", epsilon=1e-9)
    assert float(heat.sum()) == pytest.approx(logit - (-0.3), rel=1e-4)


@pytest.mark.parametrize(
    "grad_mode", [torch.enable_grad, torch.no_grad, torch.inference_mode], ids=["enabled", "no_grad", "inference"]
)
def test_the_callers_model_is_untouched(grad_mode):
    model, x = awkward_model(), random_image(1)
    calls = []
    model.features[0].register_forward_hook(lambda *_: calls.append(1))
    before = snapshot(model)
    expected = explain(tiny_cnn(), x, method="lrp", target=3)
    with grad_mode():
        session = Session(model, x)
        seen = len(calls)
        heats = [session.attribution("lrp", target=3, composite=composite) for composite in COMPOSITES]
    assert torch.equal(heats[0], expected)  # training mode, frozen weights, stale .grad change nothing
    assert len(calls) == seen  # the copy runs without the caller's hooks
    assert_same(before, snapshot(model))  # weights (no batch norm folded), flags, grads, hooks
    assert model.features[0].bias is not None and model.features[3].running_var.min() > 0.5 - 1e-6
    assert model.training and not model.features[2].training


def test_a_folded_copy_runs_the_same_model():
    """The copy LRP propagates through computes the caller's logits (batch norm folded exactly)."""
    model, x = vgg_like(), random_image(8)
    with torch.no_grad():
        expected = model(x[None])
    from xai_widgets.engine.methods.lrp import fold_batch_norms, private_copy

    copy = private_copy(model)
    folded = fold_batch_norms(copy, x[None])
    assert len(folded) == 2
    for norm in folded:
        norm.forward = lambda t: t  # what the rule hooks make of a folded batch norm
    with torch.no_grad():
        assert torch.allclose(copy(x[None]), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.filterwarnings("ignore:The torch.float32 input was converted")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_half_precision_models_are_explained_in_float32(dtype):
    x = random_image(0)
    expected = explain(tiny_cnn(), x, method="lrp", target=4)
    heat = explain(tiny_cnn().to(dtype), x, method="lrp", target=4)
    assert heat.dtype == torch.float32 and bool(torch.isfinite(heat).all())
    correlation = float(torch.corrcoef(torch.stack([heat.flatten(), expected.flatten()]))[0, 1])
    assert correlation >= 0.95


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 5))

    def forward(self, x):
        return self.head(x + self.conv(x))


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (nn.Sequential(nn.Conv2d(3, 4, 3), nn.GroupNorm(2, 4), nn.Flatten(), nn.LazyLinear(5)), "GroupNorm"),
        (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.LazyLinear(5), nn.Softmax(dim=1)), "Softmax"),
        (Residual(), "computes Add between its layers"),
    ],
    ids=["group_norm", "softmax", "residual_in_forward"],
)
def test_unsupported_models_are_refused_clearly(model, message):
    x = random_image(3)
    model.eval()(x[None])
    with pytest.raises(MethodError, match=f"{message}.*'integrated_gradients'"):
        explain(model, x, method="lrp", target=1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_model_on_the_gpu_gives_the_cpu_map_on_the_gpu():
    model, x = vgg_like(), random_image(5)
    expected = explain(model, x, method="lrp", target=1, composite="epsilon_gamma_box")
    heat = explain(model.cuda(), x, method="lrp", target=1, composite="epsilon_gamma_box")
    assert heat.device.type == "cuda"
    assert (heat.cpu() - expected).abs().max() <= 1e-4 * expected.abs().max()

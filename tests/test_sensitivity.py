"""Max- and average-sensitivity and the random-logit test on cases whose answer is known by
construction: a fixed map never moves, an edge detector moves with the noise, Grad-CAM moves
less than saliency; an edge detector ignores the class, Grad-CAM of a model whose classes read
different quadrants does not."""

import math
import warnings

import pytest
import torch
from torch import nn

from tests.models import random_image, tiny_cnn
from tests.test_model_untouched import assert_same, awkward_model, snapshot
from tests.test_sanity import edge_map
from xai_widgets import Session
from xai_widgets.engine import ExplainError, MethodError, TargetError, random_logit, sensitivity
from xai_widgets.engine.sensitivity import noise_radius, noisy_copies, session_map


def test_a_fixed_map_never_moves_and_an_edge_detector_moves_with_the_noise():
    model, image = tiny_cnn(), random_image()
    fixed = torch.rand(8, 8, generator=torch.Generator().manual_seed(1))
    still = sensitivity(model, image, map_function=lambda x: fixed, samples=4)
    assert still.max == 0.0 and still.average == 0.0 and still.values.tolist() == [0.0] * 4
    small, large = (
        sensitivity(model, image, map_function=lambda x: edge_map(x[0]), radius=r, samples=6) for r in (0.002, 0.02)
    )
    assert 0 < small.max < large.max
    # the edge map is linear in the image up to its magnitude, and the same seed draws the same noise
    # direction: ten times the radius moves it close to ten times as far
    assert large.average / small.average == pytest.approx(10, rel=0.05)


def test_grad_cam_moves_less_than_saliency():
    """Grad-CAM averages gradients over a layer's whole map; saliency reads each pixel's gradient
    through every ReLU it crosses, so the same noise moves it more (seen: about 4 times as much)."""
    model = tiny_cnn()
    for seed in (0, 1, 2):
        image = random_image(seed)
        cam = sensitivity(model, image, method="gradcam", radius=0.02)
        pixels = sensitivity(model, image, method="saliency", target=cam.target, radius=0.02)
        assert 0 < cam.max < pixels.max / 2 and 0 < cam.average < pixels.average / 2
        assert cam.max == float(cam.values.max()) and cam.average == pytest.approx(float(cam.values.mean()))
        assert len(cam.values) == 10 and pixels.target == cam.target


@pytest.mark.parametrize(
    "method, layer", [("gradcam", "features.4"), ("saliency", None), ("gradxinput", None), ("layercam", "features.0")]
)
def test_the_batched_maps_equal_one_session_per_noisy_input(method, layer):
    model, image = tiny_cnn(), random_image(2)
    result = sensitivity(model, image, method=method, layer=layer, samples=5, radius=0.05, seed=4)
    target = result.target  # the top class: Grad-CAM of a small random model is zero for some others
    x = Session(model, image).input.detach()
    original = session_map(model, x, method, layer, target, None, {})
    noisy = [session_map(model, row[None], method, layer, target, None, {}) for row in noisy_copies(x, 5, 0.05, seed=4)]
    want = [(m - original).norm() / original.norm() for m in noisy]
    torch.testing.assert_close(result.values.float(), torch.stack(want), rtol=1e-4, atol=1e-6)


def test_the_noise_is_seeded_uniform_and_within_its_radius():
    image = random_image(3)
    copy = image.clone()
    x = image[None] * 4 - 1  # values from -1 to 3
    noisy = noisy_copies(x, 50, 0.1, seed=7)
    epsilon = noise_radius(x, 0.1)
    assert epsilon == pytest.approx(0.1 * float(x.max() - x.min()))
    assert float((noisy - x).abs().max()) <= epsilon * (1 + 1e-6)
    assert float((noisy - x).abs().max()) > 0.95 * epsilon  # the whole cube is used, not a smaller ball
    assert float((noisy - x).mean()) == pytest.approx(0.0, abs=epsilon / 50)
    assert torch.equal(noisy, noisy_copies(x, 50, 0.1, seed=7)) and not torch.equal(noisy, noisy_copies(x, 50, 0.1))
    assert noise_radius(torch.ones(1, 3, 4, 4), 0.1) == pytest.approx(0.1)  # a constant input: the radius itself
    assert torch.equal(image, copy)
    model = tiny_cnn()
    first, again = (sensitivity(model, image, method="saliency", seed=2) for _ in range(2))
    assert torch.equal(first.values, again.values)
    assert not torch.equal(first.values, sensitivity(model, image, method="saliency", seed=3).values)
    assert first.epsilon == pytest.approx(noise_radius(Session(model, image).input, 0.02))


def test_a_map_that_is_zero_everywhere_has_no_sensitivity():
    result = sensitivity(tiny_cnn(), random_image(), map_function=lambda x: torch.zeros(8, 8), samples=3)
    assert math.isnan(result.max) and math.isnan(result.average) and result.values.isnan().all()


def test_bad_arguments_are_named():
    model, image = tiny_cnn(), random_image()
    for samples in (0, -2, 2.5, True, "10"):
        with pytest.raises(ExplainError, match=r"samples must be a whole number of noisy copies, at least 1"):
            sensitivity(model, image, samples=samples)
    for radius in (0, -0.1, math.nan, math.inf, "0.1", False):
        with pytest.raises(ExplainError, match=r"radius must be a positive number .* \(e.g. 0.02\)"):
            sensitivity(model, image, radius=radius)
    with pytest.raises(ExplainError, match=r"batch_size must be a whole number of inputs, at least 1; got 0"):
        sensitivity(model, image, method="saliency", batch_size=0)
    with pytest.raises(MethodError, match="has no parameter 'steps'"):
        sensitivity(model, image, method="saliency", steps=3)
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        sensitivity(lambda x: x, image)


class TwoQuadrants(nn.Module):
    """Class 0 reads the red channel in the top-left quadrant, class 1 the green one in the bottom-right,
    both through one ReLU layer (``features``) whose channels are the image's red and green."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 2, 1, bias=False), nn.ReLU())
        with torch.no_grad():
            self.features[0].weight.copy_(torch.eye(2, 3)[:, :, None, None])

    def forward(self, x):
        a = self.features(x)
        h, w = a.shape[-2:]
        top_left = a[:, 0, : h // 2, : w // 2].mean(dim=(-2, -1))
        bottom_right = a[:, 1, h // 2 :, w // 2 :].mean(dim=(-2, -1))
        return torch.stack([top_left, bottom_right], dim=1)


def red_and_green_image() -> torch.Tensor:
    image = 0.1 * random_image(4, size=16)
    image[0, 2:6, 3:7] = 1.0  # a red square in the top-left quadrant
    image[1, 10:14, 9:13] = 1.0  # a green one in the bottom-right
    return image


def test_random_logit_flags_an_edge_detector_and_passes_grad_cam_of_a_two_quadrant_model():
    model, image = TwoQuadrants(), red_and_green_image()
    edges = random_logit(model, image, map_function=lambda index: edge_map(image))
    assert edges.ssim == pytest.approx(1.0) and edges.spearman == pytest.approx(1.0) and edges.class_blind
    cam = random_logit(model, image, method="gradcam", layer="features", target=0)
    assert cam.other == 1 and not cam.class_blind
    assert cam.ssim < 0.3 and cam.spearman < 0.3
    peak = lambda m: divmod(int(m.argmax()), m.shape[1])  # noqa: E731 - (row, column) of the maximum
    assert peak(cam.attribution)[0] < 8 and peak(cam.other_attribution)[0] >= 8  # each on its own square


def test_the_other_class_is_drawn_from_the_rest_with_the_seed():
    model, image = tiny_cnn(), random_image()
    blank = torch.zeros(4, 4)
    drawn = {random_logit(model, image, target=4, seed=seed, map_function=lambda c: blank).other for seed in range(60)}
    assert drawn == set(range(10)) - {4}
    assert random_logit(model, image, seed=5).other == random_logit(model, image, seed=5).other
    chosen = random_logit(model, image, method="saliency", target=4, other=7)
    assert chosen.other == 7
    torch.testing.assert_close(chosen.other_attribution, Session(model, image).attribution("saliency", target=7))


def test_random_logit_needs_two_classes_and_a_different_one():
    image = random_image()
    with pytest.raises(TargetError, match=r"the model scores only one \(a single logit.*at least two class scores"):
        random_logit(tiny_cnn(classes=1), image)
    with pytest.raises(TargetError, match=r"other is the target class \(2\)"):
        random_logit(tiny_cnn(), image, target=2, other=2)
    with pytest.raises(TargetError, match="Class 12 is out of range"):
        random_logit(tiny_cnn(), image, other=12)


@pytest.mark.parametrize("grad_mode", ["enabled", "inference_mode"])
def test_the_model_comes_back_untouched(grad_mode):
    model, image = awkward_model(), random_image()
    before = snapshot(model)
    context = torch.enable_grad if grad_mode == "enabled" else torch.inference_mode
    with context():
        for method in ("gradcam", "saliency", "gradcam++"):
            sensitivity(model, image, method=method, samples=3)
        random_logit(model, image, method="gradcam")
    assert_same(before, snapshot(model))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("method", ["gradcam", "saliency", "gradcam++"])
def test_half_models_measure_about_what_float32_measures(dtype, method):
    """Tolerance: 20 % relative. The half model's own rounding moves its maps (see
    test_half_precision), and the noise itself is rounded to the model's dtype; seen: within 5 %."""
    image = random_image()
    want = sensitivity(tiny_cnn(), image, method=method, samples=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the float32 input converted to the model's dtype
        got = sensitivity(tiny_cnn().to(dtype), image, method=method, samples=4)
    assert got.target == want.target and bool(torch.isfinite(got.values).all())
    assert got.average == pytest.approx(want.average, rel=0.2)
    assert random_logit(tiny_cnn().to(dtype), image, seed=1).other == random_logit(tiny_cnn(), image, seed=1).other

"""ROAD (remove and debias): the imputation and the scores agree with pytorch-grad-cam's reference
(a direct sparse solve, one image at a time), the curves order maps on a model whose right answer
is known by construction, bad arguments are named, and the model comes back untouched."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from pytorch_grad_cam.metrics.perturbation_confidence import (
    PerturbationConfidenceMetric,
    RemoveLeastRelevantFirst,
    RemoveMostRelevantFirst,
)
from pytorch_grad_cam.metrics.road import NoisyLinearImputer
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget, ClassifierOutputTarget

from tests.models import TopLeftReader, quadrant_maps, random_image, tiny_cnn
from tests.test_model_untouched import assert_same, awkward_model, snapshot
from xai_widgets.engine import ExplainError
from xai_widgets.engine.imputation import noisy_linear_imputation
from xai_widgets.engine.road import road, road_curves

SIDE = 40
"""40 × 40 = 1600 pixels: every 10 % step is a whole number of pixels, so grad-cam's percentile
threshold and our pixel count remove the same pixels (see road.py's docstring)."""

IMPUTED_TOLERANCE = 2e-3
"""Our conjugate-gradient solve (float32, relative residual 1e-4) against grad-cam's direct
float64 sparse solve: largest difference of an imputed value (the default noise is 1e-2)."""


def smooth_image(seed: int = 0, side: int = SIDE) -> torch.Tensor:
    """A natural-looking test input: blurred noise, values of order one."""
    noise = torch.randn(1, 3, side, side, generator=torch.Generator().manual_seed(seed))
    return 2 * F.avg_pool2d(noise, 5, stride=1, padding=2, count_include_pad=False)[0]


def tie_free_map(seed: int = 1, side: int = SIDE) -> torch.Tensor:
    """A map at input resolution with no two equal values and a large smooth blob (so holes are wide)."""
    generator = torch.Generator().manual_seed(seed)
    blob = F.interpolate(torch.rand(1, 1, 5, 5, generator=generator), size=(side, side), mode="bilinear")[0, 0]
    return blob + 1e-3 * torch.rand(side, side, generator=generator)


def reference_removal(image: torch.Tensor, attribution: torch.Tensor, percent: int, order: str) -> torch.Tensor:
    """grad-cam's imputed image (noise 0) for removing ``percent`` % of the pixels in ``order``."""
    remove = RemoveMostRelevantFirst if order == "most" else RemoveLeastRelevantFirst
    return remove(100 - percent, NoisyLinearImputer(noise=0))(image, attribution)


@pytest.mark.parametrize("order", ["most", "least"])
def test_the_imputation_agrees_with_grad_cams_direct_solve(order):
    image, attribution = smooth_image(), tie_free_map()
    percents = (10, 50, 90)
    want = torch.stack([reference_removal(image, attribution, p, order) for p in percents])
    flat = attribution.flatten()
    ranks = torch.argsort(torch.argsort(flat, descending=order == "most"))
    removed = torch.stack([(ranks < p * SIDE * SIDE // 100).reshape(SIDE, SIDE) for p in percents])
    got = noisy_linear_imputation(image.expand(3, -1, -1, -1), removed, noise=0)
    kept = ~removed[:, None].expand_as(got)
    assert torch.equal(got[kept], image.expand(3, -1, -1, -1)[kept])
    changed = (want != image).any(dim=1)  # grad-cam rewrites exactly the pixels it removed
    assert torch.equal(changed, removed)
    assert float((got - want).abs().max()) < IMPUTED_TOLERANCE
    assert float((got - want).abs().max()) < 0.01 * float((image - want).abs().max())  # not trivially close


def test_the_imputation_agrees_with_quantus():
    from quantus.functions.perturb_func import noisy_linear_imputation as quantus_imputation

    image, attribution = smooth_image(8), tie_free_map(9)
    order = torch.argsort(attribution.flatten(), descending=True)
    for percent in (20, 80):
        indices = order[: percent * SIDE * SIDE // 100]
        want = quantus_imputation(image.numpy().astype(np.float64), indices.numpy(), noise=0)
        removed = torch.zeros(SIDE * SIDE, dtype=torch.bool)
        removed[indices] = True
        got = noisy_linear_imputation(image[None], removed.reshape(1, SIDE, SIDE), noise=0)[0]
        assert float((got.double() - torch.from_numpy(want)).abs().max()) < IMPUTED_TOLERANCE


def test_a_removed_pixel_is_the_weighted_mean_of_its_neighbours():
    image = smooth_image(2, side=24)
    removed = torch.zeros(1, 24, 24, dtype=torch.bool)
    removed[0, 5:15, 3:20] = True
    removed[0, 0, 0] = removed[0, 23, 10] = True  # a corner and a border pixel: their outside neighbours drop out
    filled = noisy_linear_imputation(image[None], removed, noise=0)[0].double()
    weights = torch.tensor([[1, 2, 1], [2, 0, 2], [1, 2, 1]], dtype=torch.float64) / 12
    for row, col in torch.nonzero(removed[0]).tolist():
        total, weight = torch.zeros(3, dtype=torch.float64), 0.0
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                r, c = row + dr, col + dc
                if (dr or dc) and 0 <= r < 24 and 0 <= c < 24:
                    total += weights[dr + 1, dc + 1] * filled[:, r, c]
                    weight += float(weights[dr + 1, dc + 1])
        torch.testing.assert_close(filled[:, row, col], total / weight, atol=2e-4, rtol=0)


def test_the_noise_is_seeded_and_only_on_removed_pixels():
    image = smooth_image(3)
    removed = torch.zeros(2, SIDE, SIDE, dtype=torch.bool)
    removed[:, 10:30, 5:25] = True
    quiet = noisy_linear_imputation(image.expand(2, -1, -1, -1), removed, noise=0)
    noisy = [
        noisy_linear_imputation(
            image.expand(2, -1, -1, -1), removed, noise=0.05, generator=torch.Generator().manual_seed(seed)
        )
        for seed in (7, 7, 8)
    ]
    assert torch.equal(noisy[0], noisy[1]) and not torch.equal(noisy[0], noisy[2])
    difference = noisy[0] - quiet
    inside = removed[:, None].expand_as(difference)
    assert torch.equal(difference[~inside], torch.zeros_like(difference[~inside]))
    assert float(difference[inside].std()) == pytest.approx(0.05, rel=0.05)


def sensitive_cnn() -> torch.nn.Module:
    """tiny_cnn with its head scaled up, so removing pixels moves the class probability by tenths."""
    model = tiny_cnn()
    with torch.no_grad():
        model.fc.weight.mul_(40)
    return model


@pytest.mark.parametrize("probabilities", [True, False], ids=["probability", "logit"])
def test_scores_agree_with_grad_cams_road(probabilities):
    model, image = sensitive_cnn(), smooth_image(4)
    attribution = tie_free_map(5)
    with torch.no_grad():
        logits = model(image[None])[0]
    target = int(logits.argmax())
    reference_target = (ClassifierOutputSoftmaxTarget if probabilities else ClassifierOutputTarget)(target)
    percents = (10, 30, 50, 70, 90)
    curves = road_curves(model, image, attribution, target, percentiles=percents, noise=0, probabilities=probabilities)
    for order, remove in (("most", RemoveMostRelevantFirst), ("least", RemoveLeastRelevantFirst)):
        want = [
            float(
                PerturbationConfidenceMetric(remove(100 - p, NoisyLinearImputer(noise=0)))(
                    image[None], attribution[None].numpy(), [reference_target], model
                )[0]
            )
            for p in percents
        ]  # grad-cam returns score after − score before
        curve = curves[order]
        got = (curve.scores - curve.original).tolist()
        assert got == pytest.approx(want, abs=1e-4 if probabilities else 1e-3)
        assert curve.mean_change == pytest.approx(float(np.mean(want)), abs=1e-4 if probabilities else 1e-3)
        assert curve.percentiles.tolist() == list(percents)
    original = logits.softmax(0)[target] if probabilities else logits[target]
    assert curves["most"].original == pytest.approx(float(original), abs=1e-6)
    assert float((curves["most"].scores - curves["least"].scores).abs().max()) > 0.05  # the orders differ


def test_one_order_is_the_same_curve_as_both_orders_at_once():
    model, image, attribution = tiny_cnn(), random_image(6), torch.rand(7, 7)
    both = road_curves(model, image, attribution, 3, seed=4)
    for order in ("most", "least"):
        alone = road(model, image, attribution, 3, order=order, seed=4)
        assert alone.order == order
        torch.testing.assert_close(alone.scores, both[order].scores, atol=1e-3, rtol=0)
        assert alone.mean == pytest.approx(float(alone.scores.mean()))


def two_tone_image(size: int = 32) -> torch.Tensor:
    """Bright top-left quadrant, dark elsewhere, both textured: what the model reads is the quadrant."""
    image = 0.2 * random_image(7, size=size)
    image[:, : size // 2, : size // 2] += 0.6
    return image


def test_road_ranks_the_map_on_what_the_model_reads_first():
    model, image = TopLeftReader(), two_tone_image()
    curves = {name: road_curves(model, image, m, 1) for name, m in quadrant_maps().items()}
    most = {name: c["most"].mean for name, c in curves.items()}
    least = {name: c["least"].mean for name, c in curves.items()}
    assert most["on the quadrant"] < most["random"] - 0.2 and most["on the quadrant"] < most["elsewhere"] - 0.2
    assert least["on the quadrant"] > least["random"] + 0.03 and least["on the quadrant"] > least["elsewhere"] + 0.2
    on = curves["on the quadrant"]["most"].scores
    assert float(on[0]) > float(on[-1])  # removing more of the quadrant lowers the score


BAD = {
    "map with a batch axis": (dict(attribution=torch.rand(1, 7, 7)), r"2-D map \(h×w\); got shape \(1, 7, 7\)"),
    "empty map": (dict(attribution=torch.rand(0, 7)), r"got shape \(0, 7\)"),
    "percentile 0": (dict(percentiles=(0, 50)), "strictly between 0 and 100.*got 0"),
    "percentile 100": (dict(percentiles=(50, 100)), "strictly between 0 and 100.*got 100"),
    "fractional percentile": (dict(percentiles=(10, 25.5)), "whole numbers.*got 25.5"),
    "empty percentiles": (dict(percentiles=()), "percentiles is empty"),
    "a single number": (dict(percentiles=50), "must be a list of whole numbers"),
    "unknown order": (dict(order="middle"), 'order must be "most".*or "least".*got \'middle\''),
    "negative noise": (dict(noise=-0.1), "noise must be a standard deviation of at least 0"),
    "negative target": (dict(target=-1), "target must be a class index"),
}


@pytest.mark.parametrize("change,words", BAD.values(), ids=BAD.keys())
def test_bad_arguments_are_named_and_the_model_is_untouched(change, words):
    model = awkward_model()
    before = snapshot(model)
    arguments = dict(attribution=torch.rand(7, 7), target=2) | change
    attribution, target = arguments.pop("attribution"), arguments.pop("target")
    with pytest.raises(ExplainError, match=words):
        road(model, random_image(0), attribution, target, **arguments)
    assert_same(before, snapshot(model))


def test_the_model_and_the_callers_tensors_are_untouched():
    model = awkward_model()
    image, attribution = random_image(1), torch.rand(7, 7)
    kept = (snapshot(model), image.clone(), attribution.clone())
    with torch.inference_mode():
        curve = road(model, image, attribution, 2, order="least")
    assert curve.scores.shape == (9,) and bool(((curve.scores >= 0) & (curve.scores <= 1)).all())
    assert_same(kept[0], snapshot(model))
    assert torch.equal(image, kept[1]) and torch.equal(attribution, kept[2])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_a_half_precision_model_gets_the_float32_curve(dtype):
    model, image, attribution = sensitive_cnn(), smooth_image(5), tie_free_map(6)
    want = road(model, image, attribution, 1)
    got = road(sensitive_cnn().to(dtype), image, attribution, 1)
    assert got.scores.dtype == torch.float32
    torch.testing.assert_close(got.scores, want.scores, atol=0.03, rtol=0)  # the half model's own rounding

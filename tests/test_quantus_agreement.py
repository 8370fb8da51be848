"""Where Quantus 0.6 defines the same metric with the same settings, our value agrees with it.

Quantus works on numpy batches and calls an explanation function itself; the adapters below
give it our maps (so both sides explain with the same method) and, for the sensitivity
metrics, our noisy inputs (so both sides see the same noise). Each test states its tolerance
and why. Quantus is imported here only (it is in the ``test`` extra, not a dependency).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from tests.models import TinyCNN, random_image, tiny_cnn
from xai_widgets import Session
from xai_widgets.engine.faithfulness import deletion_curve
from xai_widgets.engine.random_logit import random_logit
from xai_widgets.engine.regions import pointing_hit, region_mask, relevance_mass, upsampled
from xai_widgets.engine.sensitivity import noisy_copies, sensitivity, session_map


@pytest.fixture(scope="module")
def quantus():
    """Quantus, imported when a test here runs (it takes seconds to import: sklearn, pandas, cv2)."""
    import quantus

    assert quantus.__version__ == "0.6.0"  # the version pinned in the test extra, whose source was read
    return quantus


SAMPLES, RADIUS = 6, 0.05


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Quantus warns about its parameterisation on every metric
        yield


def sharpened(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with its last layer's weights scaled up, so that its probabilities move a lot
    when pixels are removed (a random small CNN's barely do, which would make agreement easy)."""
    with torch.no_grad():
        model.fc.weight.mul_(40)
    return model


@pytest.fixture(scope="module")
def model():
    return sharpened(tiny_cnn())


@pytest.fixture(scope="module")
def batch(model):
    """Three prepared 3×32×32 inputs (numpy, as Quantus takes them) and each one's top class."""
    x = torch.stack([random_image(seed) for seed in (11, 12, 13)])
    with torch.no_grad():
        y = model(x).argmax(dim=1)
    return x.numpy(), y.numpy()


def explain_with(method: str, layer: str | None = None, seen: list | None = None):
    """A Quantus explain function giving our map of each input for its target, brought to the
    input's size by repeating pixels (an integer factor: every norm scales by the same factor, so
    relative changes, maxima and orders are those of the map itself). ``seen`` records the targets."""

    def explain(model, inputs, targets, **kwargs):
        maps = []
        for x, target in zip(inputs, targets, strict=True):
            if seen is not None:
                seen.append(int(target))
            m = session_map(model, torch.as_tensor(x)[None], method, layer, int(target), None, {}).detach().float()
            factor = x.shape[-1] // m.shape[-1]
            maps.append(m.repeat_interleave(factor, 0).repeat_interleave(factor, 1)[None].numpy())
        return np.stack(maps)

    return explain


def replay(x_batch: np.ndarray):
    """A Quantus perturbation function that returns, at its k-th call, our k-th noisy copy of each
    input (``noisy_copies`` with seed 0): both sides see exactly the same perturbed inputs."""
    copies = [noisy_copies(torch.as_tensor(x)[None], SAMPLES, RADIUS, seed=0).numpy() for x in x_batch]
    calls = [0]

    def perturb(arr, indices, **kwargs):
        step = calls[0]
        calls[0] += 1
        return np.stack([c[step].reshape(-1) for c in copies])

    return perturb


@pytest.mark.parametrize("method, layer", [("gradcam", "features.4"), ("saliency", None)])
def test_max_and_average_sensitivity_agree_with_quantus(quantus, model, batch, method, layer):
    """Quantus's defaults here are ours: difference of the maps, Frobenius norm over the
    Frobenius norm of the map, no normalisation or absolute value, max (MaxSensitivity) or mean
    (AvgSensitivity) over the samples. Tolerance: relative 1e-4, for float32 maps summed in a
    different order (and Grad-CAM's batched maps against Quantus's one-image maps)."""
    x_batch, y_batch = batch
    common = dict(nr_samples=SAMPLES, normalise=False, abs=False, disable_warnings=True)
    theirs = {}
    for name, metric in (("max", quantus.MaxSensitivity), ("average", quantus.AvgSensitivity)):
        scores = metric(perturb_func=replay(x_batch), **common)(
            model=model, x_batch=x_batch, y_batch=y_batch, explain_func=explain_with(method, layer), device="cpu"
        )
        theirs[name] = np.asarray(scores, dtype=np.float64)
    for i, (x, y) in enumerate(zip(x_batch, y_batch, strict=True)):
        ours = sensitivity(
            model, torch.as_tensor(x), method=method, layer=layer, target=int(y), samples=SAMPLES, radius=RADIUS, seed=0
        )
        assert ours.max > 0
        assert ours.max == pytest.approx(theirs["max"][i], rel=1e-4)
        assert ours.average == pytest.approx(theirs["average"][i], rel=1e-4)


def unit(a: np.ndarray) -> np.ndarray:
    """Each map of a batch scaled to 0–1 (min to max), as our SSIM scales them."""
    flat = a.reshape(len(a), -1)
    low, high = flat.min(axis=1), flat.max(axis=1)
    return ((flat - low[:, None]) / (high - low)[:, None]).reshape(a.shape)


@pytest.mark.parametrize("method, layer", [("saliency", None), ("gradcam", "features.0")])
def test_random_logit_agrees_with_quantus_for_the_class_it_drew(quantus, model, batch, method, layer):
    """Quantus draws the other class with numpy's generator and we with torch's, so its draw is
    read off the explain function and given to ours. Quantus's default similarity is a 1-D SSIM
    of the flattened maps over their joint range; ours is the 2-D SSIM of each map scaled to 0–1
    (7×7 uniform window, population covariance), so Quantus is given that SSIM (scikit-image's)
    and that scaling, and Spearman's rho (SciPy's) as a second similarity. The maps are at the
    input's size (saliency, and Grad-CAM at the first, full-size layer), so both compare the
    same pixels. Tolerance: 1e-5 absolute, float32 maps."""
    from scipy.stats import spearmanr
    from skimage.metrics import structural_similarity

    x_batch, y_batch = batch
    side = x_batch.shape[-1]

    def same_ssim(a, b, batched=True, **kwargs):
        return [
            structural_similarity(
                p.reshape(side, side), q.reshape(side, side), data_range=1.0, win_size=7, use_sample_covariance=False
            )
            for p, q in zip(a, b, strict=True)
        ]

    def rho(a, b, batched=True, **kwargs):
        return [spearmanr(p, q).statistic for p, q in zip(a, b, strict=True)]

    results = {}
    for name, similarity in (("ssim", same_ssim), ("spearman", rho)):
        seen: list[int] = []
        metric = quantus.RandomLogit(num_classes=10, seed=42, similarity_func=similarity, normalise_func=unit)
        scores = metric(model=model, x_batch=x_batch, y_batch=y_batch, explain_func=explain_with(method, layer, seen))
        drawn = seen[-len(x_batch) :]  # the last call explains the drawn classes
        results[name] = (np.asarray(scores, dtype=np.float64), drawn)
    assert results["ssim"][1] == results["spearman"][1]
    for i, (x, y) in enumerate(zip(x_batch, y_batch, strict=True)):
        other = results["ssim"][1][i]
        assert other != y
        ours = random_logit(model, torch.as_tensor(x), method=method, layer=layer, target=int(y), other=other)
        assert ours.ssim == pytest.approx(results["ssim"][0][i], abs=1e-5)
        assert ours.spearman == pytest.approx(results["spearman"][0][i], abs=1e-5)


def test_pointing_game_and_relevance_mass_agree_with_quantus(quantus, model, batch):
    """Quantus scores a map at the input's size against a mask; ours upsample the map (bilinear,
    as the widgets draw it) first, so Quantus is given that upsampled map. Grad-CAM maps are
    non-negative, where our relevance mass (positive mass only) and Quantus's (all mass) are the
    same quantity; Quantus's normalisation by the maximum changes neither score. Tolerance: the
    pointing game exactly, relevance mass 1e-5 relative (float32 sums)."""
    x_batch, y_batch = batch
    size = tuple(x_batch.shape[-2:])
    boxes = [(0, 0, 16, 16), (8, 8, 30, 24), (16, 0, 32, 32), (4, 20, 12, 31)]
    maps = [
        Session(model, torch.as_tensor(x)).attribution("gradcam", layer="features.4", target=int(y))
        for x, y in zip(x_batch, y_batch, strict=True)
    ]
    a_batch = np.stack([upsampled(m, size)[None].numpy() for m in maps])
    hits_seen = set()
    for box in boxes:
        inside = region_mask("box", box, size)
        s_batch = np.repeat(inside[None, None].numpy().astype(np.float32), len(x_batch), axis=0)
        inputs = dict(model=model, x_batch=x_batch, y_batch=y_batch, a_batch=a_batch, s_batch=s_batch)
        hits = quantus.PointingGame(disable_warnings=True)(**inputs)
        masses = quantus.RelevanceMassAccuracy(disable_warnings=True)(**inputs)
        assert [pointing_hit(m, inside) for m in maps] == [bool(h) for h in hits]
        assert [relevance_mass(m, inside) for m in maps] == pytest.approx(masses, rel=1e-5)
        hits_seen.update(bool(h) for h in hits)
    assert hits_seen == {True, False}  # the boxes give hits and misses: the comparison can fail


def test_the_deletion_curve_agrees_with_quantus_pixel_flipping(quantus):
    """Same settings: pixels removed most relevant first, replaced by 0 (our "zero" baseline,
    Quantus's ``perturb_baseline=0.0``), 16 equal steps of 64 pixels, softmax probabilities.
    Quantus orders the values of every channel separately and asks that a step divide H×W, so
    a step cannot hold whole RGB pixels: the model here reads one channel. The map is at the
    input's size (saliency), so no upsampling is involved, and its values are distinct, so the
    order has no ties to break differently. Quantus returns the scores after each step: our
    curve without its first point (the image itself). Tolerance: 1e-5 absolute on probabilities
    (float32 forwards in other batches)."""
    torch.manual_seed(0)
    model = sharpened(TinyCNN(classes=10, in_channels=1).eval())
    x_batch = torch.stack([random_image(seed)[:1] for seed in (21, 22, 23)])
    with torch.no_grad():
        y_batch = model(x_batch).argmax(dim=1).numpy()
    x_batch = x_batch.numpy()
    steps = 16
    maps = [
        Session(model, torch.as_tensor(x)).attribution("saliency", target=int(y))
        for x, y in zip(x_batch, y_batch, strict=True)
    ]
    assert all(len(torch.unique(m)) == m.numel() for m in maps)
    metric = quantus.PixelFlipping(
        features_in_step=maps[0].numel() // steps, perturb_baseline=0.0, normalise=False, disable_warnings=True
    )
    theirs = metric(
        model=model, x_batch=x_batch, y_batch=y_batch, a_batch=np.stack([m[None].numpy() for m in maps]), softmax=True
    )
    for x, y, m, curve in zip(x_batch, y_batch, maps, theirs, strict=True):
        ours = deletion_curve(model, torch.as_tensor(x), m, int(y), steps=steps, baseline="zero")
        assert len(curve) == steps and float(ours.scores.max() - ours.scores.min()) > 0.05  # it moves
        np.testing.assert_allclose(ours.scores[1:].numpy(), curve, atol=1e-5)


def test_the_deletion_curve_agrees_with_quantus_region_perturbation(quantus, model, batch):
    """Region perturbation removes one 8×8 patch a step, patches ordered by their summed
    relevance, and reports the drop from the image's score. With a map constant on those patches
    (a random 4×4 map, each value repeated over an 8×8 patch) and 16 steps of 64 pixels, our
    deletion removes the same patches in the same order: the drop is our first point minus each
    later one. Baseline 0, softmax probabilities. Tolerance: 1e-5 absolute (float32 forwards)."""
    x_batch, y_batch = batch
    coarse = torch.rand(len(x_batch), 4, 4, generator=torch.Generator().manual_seed(9))
    maps = coarse.repeat_interleave(8, 1).repeat_interleave(8, 2)
    metric = quantus.RegionPerturbation(
        patch_size=8, regions_evaluation=16, order="morf", perturb_baseline=0.0, normalise=False, disable_warnings=True
    )
    theirs = metric(model=model, x_batch=x_batch, y_batch=y_batch, a_batch=maps[:, None].numpy(), softmax=True)
    for x, y, m, drops in zip(x_batch, y_batch, maps, theirs, strict=True):
        ours = deletion_curve(model, torch.as_tensor(x), m, int(y), steps=16, baseline="zero")
        assert float(ours.scores.max() - ours.scores.min()) > 0.05  # the patches matter
        np.testing.assert_allclose((ours.scores[0] - ours.scores[1:]).numpy(), drops, atol=1e-5)

"""RISE and KernelSHAP / LIME over regions.

KernelSHAP: with every coalition enumerated and Shapley-kernel weights, the regression must
return the exact Shapley values of the regions (computed here by brute force over all
orderings' marginal contributions), to 1e-6 of their scale. Against Captum's KernelShap (its
own random coalitions, same regions and baseline), 2,000-sample estimates on 16 regions must
correlate above 0.9. RISE has no reference library in the test dependencies: it must equal the
formula evaluated in this test with the same masks (same seed), exactly, and concentrate on the
object of a demo photo.
"""

import itertools
import math

import numpy as np
import torch
from captum.attr import KernelShap

from xai_widgets import Session
from xai_widgets.engine.methods.sampling import grid_segments, rise_masks


def exact_shapley(model, x, ids, features, target, baseline=0.0):
    def value(subset):
        keep = torch.zeros(features)
        keep[list(subset)] = 1
        mask = keep[ids]
        with torch.no_grad():
            return model(x * mask + baseline * (1 - mask))[0, target].item()

    values = {s: value(s) for r in range(features + 1) for s in itertools.combinations(range(features), r)}
    phi = np.zeros(features)
    for i in range(features):
        for subset, v in values.items():
            if i in subset:
                continue
            with_i = tuple(sorted(subset + (i,)))
            k = len(subset)
            phi[i] += (
                math.factorial(k) * math.factorial(features - k - 1) / math.factorial(features) * (values[with_i] - v)
            )
    return phi


def test_kernel_shap_with_every_coalition_is_exact_shapley(setup):
    model, x, session, target = setup
    ours = session.attribution("kernel_shap", target=target, segments=3, samples=2**9)  # 9 regions, 512 coalitions
    ids = grid_segments(tuple(x.shape[-2:]), 3, 3)
    phi = exact_shapley(model, x, ids, 9, target)
    per_region = np.array([ours[ids == k][0].item() for k in range(9)])
    assert np.abs(per_region - phi).max() <= 1e-4 * np.abs(phi).max()
    assert abs(per_region.sum() - (session.logits[0, target].item() - exact_baseline(model, x, target))) < 1e-3


def exact_baseline(model, x, target):
    with torch.no_grad():
        return model(torch.zeros_like(x))[0, target].item()


def test_kernel_shap_agrees_with_captum_in_distribution(setup):
    model, x, session, target = setup
    ours = session.attribution("kernel_shap", target=target, segments=4, samples=2000)
    ids = grid_segments(tuple(x.shape[-2:]), 4, 4)
    torch.manual_seed(0)
    theirs = KernelShap(model).attribute(x, target=target, feature_mask=ids[None, None], baselines=0, n_samples=2000)
    per_region = [ours[ids == k][0].item() for k in range(16)]
    captum = [theirs[0, 0][ids == k][0].item() for k in range(16)]
    assert np.corrcoef(per_region, captum)[0, 1] > 0.9


def test_lime_kernel_gives_another_weighting(setup):
    _model, _x, session, target = setup
    shap = session.attribution("kernel_shap", target=target, segments=4, samples=128)
    lime = session.attribution("kernel_shap", target=target, segments=4, samples=128, kernel="lime")
    assert not torch.allclose(shap, lime)
    assert np.corrcoef(shap.flatten(), lime.flatten())[0, 1] > 0.5  # two views of the same model


def test_rise_is_the_mask_weighted_mean_probability(setup):
    model, x, session, target = setup
    ours = session.attribution("rise", target=target, masks=32, grid=4, keep=0.5, seed=3)
    masks = rise_masks(32, 4, 0.5, (32, 32), torch.Generator().manual_seed(3))
    with torch.no_grad():
        probabilities = model(x * masks[:, None]).softmax(dim=1)[:, target]
    expected = (probabilities[:, None, None] * masks).sum(dim=0) / (32 * 0.5)
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-7)
    assert masks.min() >= 0 and masks.max() <= 1 + 1e-6 and 0.3 < masks.mean() < 0.7


def test_rise_finds_the_cup(demo_assets):
    from tests.test_demo_regions import BOXES, whole_image_transform

    model, images, _labels, _ = demo_assets
    (x0, y0, x1, y1), _ = BOXES["coffee"]
    session = Session(model, images["coffee"], transform=whole_image_transform())
    heat = session.attribution("rise", masks=256)
    inside = torch.zeros(224, 224, dtype=torch.bool)
    inside[int(y0 * 224) : int(y1 * 224), int(x0 * 224) : int(x1 * 224)] = True
    # espresso keeps ~0.96 probability wherever part of the cup shows, so 256 masks give a
    # flat, noisy map (the paper uses thousands): measured 1.12× denser on the cup
    assert heat[inside].mean() > 1.05 * heat[~inside].mean()


def two_colour_image(size: int = 32) -> torch.Tensor:
    """A red left half and a blue right half with a little noise: SLIC must not cross the edge."""
    image = torch.zeros(3, size, size)
    image[0, :, : size // 2] = 0.9
    image[2, :, size // 2 :] = 0.9
    return (image + 0.02 * torch.rand(3, size, size, generator=torch.Generator().manual_seed(0))).clamp(0, 1)


def test_slic_regions_follow_the_image_and_kernel_shap_is_exact_on_them(setup):
    from xai_widgets.engine.methods.sampling import slic_segments

    model = setup[0]
    x = two_colour_image()[None]
    session = Session(model, x)
    ids = slic_segments(session.display, (32, 32), 4)
    features = int(ids.max()) + 1
    assert 2 <= features <= 8 and sorted(torch.unique(ids).tolist()) == list(range(features))
    for region in range(features):  # no superpixel straddles the red/blue edge
        columns = torch.nonzero(ids == region)[:, 1]
        assert bool((columns < 16).all()) or bool((columns >= 16).all())
    target = int(session.logits.argmax())
    ours = session.attribution("kernel_shap", target=target, segments=2, samples=2**features, regions="slic")
    phi = exact_shapley(model, x, ids, features, target)
    for region in range(features):
        values = ours[ids == region]
        assert torch.allclose(values, values[0].expand_as(values))  # one value a superpixel
        assert abs(float(values[0]) - phi[region]) <= 1e-6 * max(1.0, np.abs(phi).max())


def test_unknown_regions_and_a_missing_scikit_image_are_named(setup, monkeypatch):
    import sys

    import pytest

    from xai_widgets.engine import MethodError

    session = Session(setup[0], two_colour_image()[None])
    with pytest.raises(MethodError, match="'regions' of KernelSHAP / LIME .* one of grid, slic; got 'hexagons'"):
        session.attribution("kernel_shap", target=0, regions="hexagons")
    monkeypatch.setitem(sys.modules, "skimage.segmentation", None)  # as if scikit-image were not installed
    with pytest.raises(MethodError, match="SLIC regions need scikit-image: pip install scikit-image"):
        session.attribution("kernel_shap", target=0, regions="slic", samples=16)
    assert session.attribution("kernel_shap", target=0, segments=2, samples=16).shape == (32, 32)  # the grid works

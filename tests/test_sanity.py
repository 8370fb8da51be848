"""Sanity checks: cascading randomisation on a copy of the model, Spearman and SSIM checked
against SciPy and scikit-image; an edge detector is flagged, Grad-CAM of a trained model passes."""

import numpy as np
import pytest
import torch

from tests.models import random_image, tiny_cnn
from tests.test_faithfulness import square_image, trained_quadrant_cnn
from tests.test_model_untouched import assert_same, snapshot
from xai_widgets.engine.sanity import cascading_randomisation, spearman, ssim


def test_spearman_and_ssim_agree_with_scipy_and_scikit_image():
    from scipy.stats import spearmanr
    from skimage.metrics import structural_similarity

    generator = torch.Generator().manual_seed(0)
    a = torch.rand(14, 14, generator=generator)
    b = a + 0.3 * torch.rand(14, 14, generator=generator)
    b[0, :4] = b[0, 0]  # ties
    assert spearman(a, b) == pytest.approx(spearmanr(a.flatten(), b.flatten()).statistic, abs=1e-6)
    unit = lambda t: ((t - t.min()) / (t.max() - t.min())).numpy().astype(np.float64)  # noqa: E731
    want = structural_similarity(unit(a), unit(b), data_range=1.0, win_size=7, use_sample_covariance=False)
    assert ssim(a, b) == pytest.approx(want, abs=1e-5)
    assert ssim(a, a) == pytest.approx(1.0) and spearman(a, a) == pytest.approx(1.0)


def edge_map(image: torch.Tensor) -> torch.Tensor:
    """A Sobel edge magnitude of the image: a "map" that never looks at the model."""
    gray = image.mean(0)[None, None]
    kx = torch.tensor([[-1.0, 0, 1], [-2, 0, 2], [-1, 0, 1]])[None, None]
    gx = torch.nn.functional.conv2d(gray, kx, padding=1)
    gy = torch.nn.functional.conv2d(gray, kx.transpose(-1, -2), padding=1)
    return (gx**2 + gy**2).sqrt()[0, 0]


def test_an_edge_detector_is_flagged_and_grad_cam_of_a_trained_model_passes():
    model, image = trained_quadrant_cnn(), square_image()
    before = snapshot(model)
    edges = cascading_randomisation(model, image, map_function=lambda m: edge_map(image))
    assert edges.survives and all(step.spearman == pytest.approx(1.0) for step in edges.steps)
    cam = cascading_randomisation(model, image, method="gradcam", layer="2", target=1)
    assert [step.module for step in cam.steps] == ["6", "2", "0"]  # from the output down
    assert not cam.survives and cam.steps[-1].spearman < 0.5
    assert_same(before, snapshot(model))  # randomised on a copy only


def test_the_original_map_is_the_methods_map():
    from xai_widgets import Session

    model, image = tiny_cnn(), random_image()
    report = cascading_randomisation(model, image, method="saliency", target=3)
    torch.testing.assert_close(report.original, Session(model, image).attribution("saliency", target=3))
    assert len(report.steps) == 4  # fc, BN, two convolutions

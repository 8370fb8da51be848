"""Sanity checks: cascading randomisation on a copy of the model, Spearman and SSIM checked
against SciPy and scikit-image; an edge detector is flagged, Grad-CAM of a trained model passes."""

import numpy as np
import pytest
import torch

from tests.models import random_image, tiny_cnn
from tests.test_faithfulness import square_image, trained_quadrant_cnn
from tests.test_model_untouched import assert_same, snapshot
from xai_widgets.engine import ExplainError
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


def test_the_explorer_shows_the_randomised_maps_beside_the_original_and_passes_grad_cam():
    from xai_widgets import Explorer
    from xai_widgets.widgets.serialize import decode_map

    model, image = trained_quadrant_cnn(), square_image()
    widget = Explorer(model, image, layer="2", target=1)
    seen = []
    widget.observe(lambda change: seen.append(dict(change["new"])), names="sanity")
    widget.sanity_request += 1  # the "Sanity check" button
    widget.wait()
    check = widget.sanity
    assert check["key"] == widget._key() and check["survives"] is False
    assert check["verdict"].startswith("Passed:")
    want = cascading_randomisation(model, image, method="gradcam", layer="2", target=1)
    assert [s["module"] for s in check["steps"]] == ["6", "2", "0"]
    assert [s["spearman"] for s in check["steps"]] == pytest.approx([s.spearman for s in want.steps], abs=1e-4)
    assert [m["module"] for m in check["maps"]] == ["original", "6", "2", "0"]
    np.testing.assert_allclose(decode_map(check["maps"][0]), want.original.numpy(), atol=1e-6)
    np.testing.assert_allclose(decode_map(check["maps"][-1]), want.steps[-1].attribution.numpy(), atol=1e-6)
    progress = [(c["done"], c["total"]) for c in seen if c.get("running") and "total" in c]
    assert progress[0] == (0, 3) and progress[-1] == (3, 3)
    widget.target = 0
    assert widget.sanity == {}  # the check belonged to the map of class 1
    widget.close()


def test_the_explorer_flags_a_method_whose_map_survives_randomisation(monkeypatch):
    from xai_widgets import Explorer
    from xai_widgets.engine.methods import Method, base

    def edges_of_the_input(session, layer, target):
        return edge_map(session.input[0])

    edges = Method("edges", "Edges (ignores the model)", edges_of_the_input, uses_layer=False)
    monkeypatch.setitem(base._REGISTRY, "edges", edges)
    model, image = tiny_cnn(), random_image(2)
    widget = Explorer(model, image, method="edges")
    widget.check_sanity(shown=2)
    widget.wait()
    assert widget.sanity["survives"] is True and widget.sanity["verdict"].startswith("Failed:")
    assert [m["module"] for m in widget.sanity["maps"]] == ["original", "fc", "features.0"]  # first and last step
    assert len(widget.sanity["steps"]) == 4
    widget.close()


def test_a_sanity_check_takes_the_place_of_a_running_map_check():
    from xai_widgets import Explorer

    widget = Explorer(tiny_cnn(), random_image(4))
    widget.faithfulness = {"key": widget._key(), "running": True}  # as if the curves were on their way
    widget.check_sanity()
    assert widget.faithfulness == {}  # abandoned, so its button is usable again
    widget.wait()
    assert "steps" in widget.sanity
    widget.close()


def test_stages_group_the_modules_and_the_last_stage_randomises_them_all():
    model, image = tiny_cnn(), random_image(1)
    every = cascading_randomisation(model, image, method="saliency", target=3, seed=4)
    grouped = cascading_randomisation(model, image, method="saliency", target=3, seed=4, stages=2)
    assert [step.module for step in grouped.steps] == [every.steps[1].module, every.steps[3].module]
    torch.testing.assert_close(grouped.steps[-1].attribution, every.steps[-1].attribution)  # same seed, same draws
    assert len(cascading_randomisation(model, image, method="saliency", stages=99).steps) == 4
    with pytest.raises(ExplainError, match="stages must be a whole number of at least 1"):
        cascading_randomisation(model, image, stages=0)


def test_modules_are_reinitialised_as_pytorch_builds_them_and_the_callers_random_state_is_kept():
    model = tiny_cnn()
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    report = cascading_randomisation(model, random_image(1), method="saliency", target=3, seed=0)
    assert torch.equal(torch.random.get_rng_state(), state)
    again = cascading_randomisation(model, random_image(1), method="saliency", target=3, seed=0)
    torch.testing.assert_close(report.steps[-1].attribution, again.steps[-1].attribution)


def test_randomised_batch_norm_is_back_to_identity():
    from xai_widgets.engine.sanity import _randomise

    norm = torch.nn.BatchNorm2d(4)
    with torch.no_grad():
        norm.weight.fill_(3.0)
        norm.running_mean.fill_(2.0)
    _randomise(norm, torch.Generator())
    assert torch.equal(norm.weight, torch.ones(4)) and torch.equal(norm.running_mean, torch.zeros(4))

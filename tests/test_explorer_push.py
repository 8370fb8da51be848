"""The Explorer's adversarial push: the pushed prediction, classes and map equal a direct FGSM loop
written here and explain() on its result; the "smallest push that flips it" readout equals
smallest_flip(); the caller's image and the model are untouched; bad pushes say what to fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from xai_widgets import Explorer
from xai_widgets.engine import explain
from xai_widgets.engine.adversarial import smallest_flip

from .models import random_image, square_segmenter, tiny_cnn


def fgsm_by_hand(model, x: torch.Tensor, epsilon: float, aim: int, toward: bool) -> torch.Tensor:
    """One signed-gradient step of the cross-entropy of ``aim`` (down toward it, up away from it)."""
    point = x[None].clone().requires_grad_(True)
    loss = F.cross_entropy(model(point), torch.tensor([aim]))
    (grad,) = torch.autograd.grad(loss, point)
    return (point + (-1 if toward else 1) * epsilon * grad.sign())[0].detach()


@pytest.fixture
def setup():
    model, image = tiny_cnn(), random_image(3)
    return model, image, Explorer(model, image, method="gradcam")


def test_the_slider_range_and_aims_come_from_the_unpushed_image(setup):
    model, image, explorer = setup
    span = float(image.max() - image.min())
    assert explorer.push_setup["max"] == pytest.approx(0.1 * span, rel=1e-4)
    assert explorer.push_setup["pixel_level"] is None  # no normalisation to read it from
    probabilities = model(image[None]).softmax(1)[0]
    assert [c["index"] for c in explorer.push_setup["choices"]] == probabilities.argsort(descending=True)[:5].tolist()
    assert explorer.push_info == {} and explorer.result["key"]["push"] == {}


@pytest.mark.parametrize("toward", [False, True])
def test_a_push_equals_a_direct_fgsm_loop_and_its_map_equals_explain(setup, toward):
    model, image, explorer = setup
    original = int(model(image[None]).argmax())
    aim = explorer.push_setup["choices"][1]["index"] if toward else original
    epsilon = 0.05
    explorer.push = {"epsilon": epsilon, "steps": 1, **({"toward": aim} if toward else {})}
    by_hand = fgsm_by_hand(model, image, epsilon, aim, toward)
    probabilities = model(by_hand[None]).softmax(1)[0]
    info = explorer.push_info
    assert info["predicted"] == int(probabilities.argmax()) and info["original"] == original
    assert info["confidence"] == pytest.approx(float(probabilities.max()), rel=1e-5)
    assert info["max_change"] == pytest.approx(epsilon, rel=1e-5)
    listed = [(c["index"], c["prob"]) for c in explorer.top_classes]
    expected = probabilities.topk(5)
    assert [i for i, _ in listed] == expected.indices.tolist()
    np.testing.assert_allclose([p for _, p in listed], expected.values.detach().numpy(), rtol=1e-5)
    assert explorer.result["error"] is None and explorer.result["key"]["push"]["epsilon"] == epsilon
    np.testing.assert_allclose(
        explorer.attribution(),
        explain(model, by_hand, method="gradcam", layer=explorer.layer, target=explorer.target).numpy(),
        rtol=1e-4,
        atol=1e-6,
    )


def test_the_smallest_flip_readout_equals_the_engines_bisection():
    torch.manual_seed(0)  # a linear model: its flip lies within the slider's range
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 3)).eval()
    image = random_image(4, size=8)
    explorer = Explorer(model, image, method="saliency")
    for spec in ({"epsilon": 0.01, "steps": 1}, {"epsilon": 0.01, "steps": 10, "toward": 2}):
        explorer.push = spec
        explorer.find_smallest_flip()
        explorer.wait()
        largest = explorer.push_setup["max"]
        aim = {"toward": spec.get("toward")}
        expected = smallest_flip(model, image, steps=spec["steps"], largest=largest, tolerance=largest / 200, **aim)
        assert expected is not None and explorer.flip["key"] == explorer.result["key"]
        assert explorer.flip["found"] is True and explorer.flip["epsilon"] == pytest.approx(expected.epsilon)
        assert explorer.flip["predicted"] == expected.predicted != int(model(image[None]).argmax())


def test_no_flip_within_the_slider_range_says_so(setup):
    _, _, explorer = setup
    explorer.push = {"epsilon": 0.01, "steps": 1}
    explorer.find_smallest_flip()
    explorer.wait()
    assert explorer.flip["found"] is False and explorer.flip["largest"] == explorer.push_setup["max"]


def test_pushes_leave_the_callers_image_and_the_model_alone(setup):
    model, image, explorer = setup
    image_before = image.clone()
    weights_before = {name: value.clone() for name, value in model.state_dict().items()}
    for epsilon in (0.01, 0.05):
        for steps in (1, 10):
            explorer.push = {"epsilon": epsilon, "steps": steps}
            assert explorer.result["error"] is None
    torch.testing.assert_close(image, image_before, rtol=0, atol=0)
    for name, value in model.state_dict().items():
        torch.testing.assert_close(value, weights_before[name], rtol=0, atol=0)
    assert all(p.grad is None for p in model.parameters())


def test_a_bad_push_says_what_to_fix_and_the_widget_stays_usable(setup):
    model, image, explorer = setup
    photo = explorer.photo
    explorer.push = {"epsilon": -0.1}
    assert "at least 0" in explorer.result["error"] and explorer.photo == photo
    explorer.push = {"epsilon": 0.1, "steps": 0}
    assert "whole number" in explorer.result["error"]
    explorer.push = {"epsilon": 0.1, "toward": 99}
    assert "not a class of this model" in explorer.result["error"]
    explorer.push = {"epsilon": 0.1, "size": 3}
    assert "no setting 'size'" in explorer.result["error"]
    explorer.push = {"epsilon": 0.0, "steps": 1}  # no push, spelt one way in the browser too
    assert explorer.push == {} and explorer.result["error"] is None
    np.testing.assert_allclose(explorer.attribution(), explain(model, image, layer=explorer.layer).numpy(), rtol=1e-5)


def test_a_segmenter_offers_no_push():
    model, image, _ = square_segmenter()
    explorer = Explorer(model, image, method="saliency")
    assert explorer.push_setup == {} and explorer.push_info == {}

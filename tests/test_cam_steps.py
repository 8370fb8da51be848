"""Teaching mode: every step of Grad-CAM (Grad-CAM++, LayerCAM) is the engine's own tensors —
the weighted sum after the ReLU is the engine's map — and a new class changes every step but the
activations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from xai_widgets import Explorer, GradCAMSteps
from xai_widgets.engine import ExplainError, Session
from xai_widgets.engine.cam_steps import cam_steps
from xai_widgets.widgets.serialize import decode_map

from .models import random_image, tiny_cnn


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "layercam"])
def test_the_steps_are_the_engines_tensors(method):
    model, image = tiny_cnn(), random_image(3)
    session = Session(model, image)
    found = cam_steps(session, "features", 4, method)
    torch.testing.assert_close(found.activations, session.activation("features")[0])
    torch.testing.assert_close(found.gradients, session.gradient("features", 4)[0])
    if method == "gradcam":
        torch.testing.assert_close(found.weights, found.gradients.mean(dim=(1, 2)))
    expected_sum = (found.weights[:, None, None] if found.weights.dim() == 1 else found.weights) * found.activations
    torch.testing.assert_close(found.weighted_sum, expected_sum.sum(dim=0))
    torch.testing.assert_close(found.cam, session.attribution(method, layer="features", target=4))


def test_the_widget_sends_each_step_and_marks_what_a_class_changes():
    model, image = tiny_cnn(), random_image(3)
    first, second = (index for index, _ in Session(model, image).top_k(2))  # classes with a map to show
    widget = GradCAMSteps(model, image, layer="features", target=first, channels=6)
    names = [step["name"] for step in widget.steps]
    assert names == ["activations", "gradients", "weights", "sum", "relu", "upsample"]
    found = widget.tensors()
    steps = {step["name"]: step for step in widget.steps}
    np.testing.assert_allclose(decode_map(steps["sum"]), found.weighted_sum.numpy(), rtol=1e-6)
    np.testing.assert_allclose(decode_map(steps["upsample"]), found.cam.numpy(), rtol=1e-6)
    shown = steps["activations"]["channels"]
    assert shown == found.activations.mean(dim=(1, 2)).argsort(descending=True)[:6].tolist()
    atlas = np.frombuffer(steps["activations"]["atlas"], dtype=np.uint8).reshape(steps["activations"]["shape"])
    first = found.activations[shown[0]]
    scaled = np.round(((first - first.min()) / (first.max() - first.min())).numpy() * 255)
    np.testing.assert_array_equal(atlas[0], scaled)
    bars = steps["weights"]["bars"]
    assert [bar["channel"] for bar in bars] == found.weights.abs().argsort(descending=True)[:6].tolist()
    assert bars[0]["value"] == pytest.approx(float(found.weights[bars[0]["channel"]]))
    assert found.cam.max() > 0
    widget.target = second
    assert widget.tensors().cam.max() > 0
    changed = {step["name"]: step["changed"] for step in widget.steps}
    assert changed == {
        "activations": False,
        "gradients": True,
        "weights": True,
        "sum": True,
        "relu": True,
        "upsample": True,
    }
    widget.method = "layercam"
    assert widget.steps[2]["kind"] == "grid" and not any(step["changed"] for step in widget.steps)
    widget.close()


def test_it_opens_from_an_explorer_and_refuses_other_methods():
    model, image = tiny_cnn(), random_image(1)
    explorer = Explorer(model, image, method="layercam")
    widget = GradCAMSteps.of(explorer)
    assert widget.session is explorer.session() and widget.method == "layercam" and widget.target == explorer.target
    with pytest.raises(ExplainError, match="takes apart gradcam, gradcam\\+\\+, layercam"):
        GradCAMSteps(model, image, method="scorecam")

"""Expensive settings do not start at a click: a slow method's cost (images through the model,
and seconds from the measured forward) is shown first, and above a threshold it waits for a
confirmation; the counts are the ones the methods really run."""

import pytest
import torch
from torch import nn

from tests.models import random_image, tiny_cnn
from xai_widgets import Explorer, Session
from xai_widgets.engine import get_method
from xai_widgets.engine.costs import model_passes


class Counting(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = tiny_cnn()
        self.images = 0

    def forward(self, x):
        self.images += len(x)
        return self.net(x)


@pytest.mark.parametrize(
    "method, params",
    [
        ("occlusion", {"window": 8, "stride": 4}),
        ("occlusion", {"window": 32, "stride": 16}),
        ("occlusion", {"window": 12, "stride": 8}),  # windows that do not tile: one more, cut at the border
        ("scorecam", {}),
        ("rise", {"masks": 48}),
        ("kernel_shap", {"samples": 32}),
    ],
)
def test_the_estimate_counts_the_images_the_method_runs(method, params):
    model = Counting().eval()
    session = Session(model, random_image(0))
    spec = get_method(method)
    layer = "net.features.3" if spec.uses_layer else None
    expected = model_passes(session, method, layer, spec.resolve_params(params))
    before = model.images
    session.attribution(method, layer=layer, **params)
    assert model.images - before == expected


def test_gradient_methods_count_forward_and_backward():
    session = Session(tiny_cnn(), random_image(0))
    assert model_passes(session, "integrated_gradients", None, {"steps": 32, "baseline": 0.0}) == 96
    assert model_passes(session, "gradcam", "features", {}) == 0


def test_an_expensive_setting_waits_for_a_confirmation_then_runs():
    model = Counting().eval()
    widget = Explorer(model, random_image(0), confirm_above=1e-9)  # everything slow counts as expensive
    try:
        shown = dict(widget.result)
        images = model.images
        with widget.hold_trait_notifications():  # as the front end sends a method pick: one change
            widget.method = "occlusion"
            widget.method_params = {"window": 8, "stride": 4}
        widget.wait()
        pending = widget.pending_cost
        assert pending["key"]["method"] == "occlusion" and pending["forwards"] == 49
        assert "runs the model on 49 images" in pending["message"]
        assert model.images == images and widget.result == shown  # nothing ran, nothing was published
        widget.confirmed = dict(pending["key"])  # what the front end's Run button sends
        widget.wait()
        assert widget.pending_cost == {} and widget.result["key"]["method"] == "occlusion"
        assert widget.result["error"] is None and model.images - images == 49
    finally:
        widget.close()


def test_moving_away_clears_the_question_and_zero_never_asks():
    widget = Explorer(tiny_cnn(), random_image(0), confirm_above=1e-9)
    try:
        widget.method = "scorecam"
        assert widget.pending_cost["key"]["method"] == "scorecam"
        widget.method = "gradcam"
        assert widget.pending_cost == {} and widget.result["key"]["method"] == "gradcam"
        widget.confirm_above = 0
        widget.method = "scorecam"
        widget.wait()
        assert widget.pending_cost == {} and widget.result["key"]["method"] == "scorecam"
    finally:
        widget.close()


def test_run_pending_starts_it_headless():
    widget = Explorer(tiny_cnn(), random_image(0), confirm_above=1e-9)
    try:
        widget.method = "rise"
        assert widget.pending_cost
        widget.run_pending()
        widget.wait()
        assert widget.pending_cost == {} and widget.result["key"]["method"] == "rise"
        assert torch.isfinite(torch.as_tensor(widget.attribution())).all()
    finally:
        widget.close()


def test_aug_smooth_turns_a_quick_cam_into_a_confirmed_worker_job():
    model = Counting().eval()
    widget = Explorer(model, random_image(0), confirm_above=1e-9)
    try:
        images = model.images
        widget.method_params = {"aug_smooth": "on"}
        widget.wait()
        pending = widget.pending_cost
        assert pending["key"]["params"] == {"aug_smooth": "on"} and pending["forwards"] == 6 * 3
        assert model.images == images  # nothing ran before the confirmation
        widget.run_pending()
        widget.wait()
        assert widget.result["key"]["params"] == {"aug_smooth": "on"} and widget.result["error"] is None
        assert model.images - images == 6  # the six aug-smooth images, one forward each
        widget.method = "saliency"  # the CAM option means nothing to saliency: quick again
        widget.wait()
        assert widget.pending_cost == {} and widget.result["key"]["method"] == "saliency"
    finally:
        widget.close()

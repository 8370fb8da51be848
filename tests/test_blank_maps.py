"""A map that shows nothing says so: all zero (and why), constant, or not finite."""

import pytest
import torch
from torch import nn

from tests.models import random_image, tiny_cnn
from xai_widgets import Compare, Explorer
from xai_widgets.engine.map_checks import blank_map_warning


def test_usable_maps_get_no_warning():
    assert blank_map_warning(torch.tensor([[0.0, 1.0], [2.0, 0.5]]), "gradcam", "features") is None


def test_an_all_zero_cam_names_the_relu_and_the_layer():
    message = blank_map_warning(torch.zeros(7, 7), "scorecam", "_bn1")
    assert message.startswith("This map is all zero at '_bn1'")
    assert "negative everywhere" in message and "another layer" in message


def test_an_all_zero_gradient_map_names_the_output():
    message = blank_map_warning(torch.zeros(32, 32), "saliency")
    assert "gradient (or response) is zero at every pixel" in message and "zero classifier head" in message


@pytest.mark.parametrize(
    "values, expected",
    [(torch.full((3, 3), 0.25), "same value (0.25)"), (torch.tensor([[float("nan"), 1.0]]), "NaN or infinite")],
)
def test_constant_and_non_finite_maps_are_named(values, expected):
    assert expected in blank_map_warning(values, "gradcam")


class Negate(nn.Module):
    def forward(self, x):
        return -(x.abs() + 1)


class NegativeLayer(nn.Module):
    """A layer whose every output is negative while every class score rises with it: the
    class-weighted sum of its channels is negative everywhere, so Grad-CAM there is all zero."""

    def __init__(self) -> None:
        super().__init__()
        self.net = tiny_cnn()
        self.shift = Negate()

    def forward(self, x):
        features = self.net.features(x)
        pooled = self.net.pool(self.shift(features)).flatten(1).sum(1, keepdim=True)
        return torch.cat([pooled * (k + 1) for k in range(3)], dim=1)  # every class rises with the layer


def test_the_widgets_send_the_warning_with_the_map():
    widget = Explorer(NegativeLayer(), random_image(0), layer="shift")
    try:
        widget.method = "gradcam"
        zero = widget.result
        assert zero["error"] is None and "all zero at 'shift'" in zero["warning"]
        widget.method = "saliency"
        assert widget.result["error"] is None and widget.result["warning"] is None
    finally:
        widget.close()
    grid = Compare(NegativeLayer(), random_image(0), methods=["gradcam", "saliency"], layers=["shift"])
    assert "all zero" in grid.cells[0]["warning"] and grid.cells[1]["warning"] is None

"""A kernel interrupt (KeyboardInterrupt) in engine work leaves a consistent Explorer: an
"Interrupted" error on the result, the photo, classes and map of one image, and the same
choice can be made again."""

import numpy as np
import pytest
from torch import nn

from tests.models import random_image, tiny_cnn
from xai_widgets import Explorer


class InterruptOnce(nn.Module):
    """Raises KeyboardInterrupt on the next forward once armed, as a kernel interrupt would."""

    def __init__(self) -> None:
        super().__init__()
        self.net = tiny_cnn()
        self.armed = False

    def forward(self, x):
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt
        return self.net(x)


@pytest.fixture
def widget():
    explorer = Explorer(InterruptOnce(), [random_image(0), random_image(1)])
    yield explorer
    explorer.close()


def test_an_interrupt_in_a_slow_job_is_published_and_the_job_can_run_again(widget):
    widget.model.armed = True
    widget.method = "occlusion"  # runs on the worker thread
    widget.wait()
    assert widget.result["key"]["method"] == "occlusion" and "Interrupted (KeyboardInterrupt)" in widget.result["error"]
    assert "data" not in widget.result and widget.progress == {}
    widget.refresh()
    widget.wait()
    assert widget.result["error"] is None and widget.result["key"]["method"] == "occlusion"


def test_an_interrupt_in_a_quick_map_reaches_the_caller_and_leaves_an_error(widget):
    widget.model.armed = True
    with pytest.raises(KeyboardInterrupt):
        widget.method = "guided_backprop"  # runs inline, on this thread
    assert widget.result["key"]["method"] == "guided_backprop" and "Interrupted" in widget.result["error"]
    widget.method = "gradcam"
    widget.method = "guided_backprop"  # the same choice again works
    assert widget.result["error"] is None and np.abs(widget.attribution()).max() > 0


def test_an_interrupt_while_an_image_loads_keeps_the_previous_image_whole(widget):
    photo, classes, result = widget.photo, widget.top_classes, dict(widget.result)
    widget.model.armed = True
    with pytest.raises(KeyboardInterrupt):
        widget.image_index = 1
    assert widget.image_index == 0 and widget.photo == photo and widget.top_classes == classes
    assert (
        widget.result["key"] == result["key"]
        and "Interrupted (KeyboardInterrupt) while loading" in (widget.result["error"])
    )
    widget.image_index = 1  # and the same image can be chosen again
    assert widget.image_index == 1 and widget.result["error"] is None and widget.photo != photo
    assert widget.result["key"]["image_index"] == 1

"""Slow methods: progress is reported, the newest request wins, stale work stops early."""

import threading

from torch import nn

from tests.models import random_image, tiny_cnn
from xai_widgets import Explorer


class Gated(nn.Module):
    """A CNN whose batched forwards (a slow method's) wait until the test opens a gate."""

    def __init__(self) -> None:
        super().__init__()
        self.net = tiny_cnn()
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.batched_calls = 0

    def forward(self, x):
        if x.shape[0] > 1:
            self.batched_calls += 1
            self.entered.set()
            assert self.gate.wait(20), "the test never opened the gate"
        return self.net(x)


def keys_published(widget) -> list:
    seen = []
    widget.observe(lambda change: seen.append(change["new"]["key"]), names="result")
    return seen


def test_moving_on_abandons_a_slow_job():
    model = Gated()
    widget = Explorer(model, random_image(0))
    published = keys_published(widget)
    widget.method_params = {"window": 4, "stride": 2}  # 225 occluded copies: 4 batches of 64
    widget.method = "occlusion"
    assert model.entered.wait(20)
    assert widget.progress["key"]["method"] == "occlusion"  # the front end shows it busy
    widget.method = "gradcam"  # the user moves on while the engine is busy
    model.gate.set()
    widget.wait()
    assert widget.result["key"]["method"] == "gradcam"
    assert {key["method"] for key in published} == {"gradcam"}  # no occlusion map ever shown
    assert model.batched_calls == 1  # stopped after its first batch, not all four
    assert widget.progress == {}


def test_a_slow_job_reports_progress_to_the_end():
    widget = Explorer(tiny_cnn(), random_image(0))
    reports = []
    widget.observe(lambda change: reports.append(dict(change["new"])), names="progress")
    widget.method_params = {"window": 4, "stride": 2}
    widget.method = "occlusion"
    widget.wait()
    counts = [(r["done"], r["total"]) for r in reports if r]
    assert counts == [(0, 0), (64, 225), (128, 225), (192, 225), (225, 225)]
    assert reports[-1] == {} and widget.result["error"] is None
    assert widget.attribution().shape == (32, 32)


def test_an_image_change_during_a_slow_job_wins():
    model = Gated()
    widget = Explorer(model, [random_image(0), random_image(1)])
    published = keys_published(widget)
    widget.method = "smoothgrad"
    assert model.entered.wait(20)
    opener = threading.Timer(0.05, model.gate.set)  # the image change waits for the lock
    opener.start()
    widget.image_index = 1
    widget.method = "gradcam"
    widget.wait()
    opener.join()
    assert widget.result["key"]["image_index"] == 1 and widget.result["key"]["method"] == "gradcam"
    assert all(key["method"] != "smoothgrad" for key in published)

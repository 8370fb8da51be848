"""A binary classifier with one output per image, shape (N,) or (N, 1), is read as one logit z:
the class scores [0, z] (softmax = [1 − sigmoid(z), sigmoid(z)]), class 1 explained through z,
in every method, batched ones included, with a note."""

import pytest
import torch
from torch import nn

from tests.models import random_image, tiny_cnn
from xai_widgets import Explorer, Session
from xai_widgets.engine import all_methods
from xai_widgets.engine.outputs import SINGLE_LOGIT

# CAM reads the weights of a linear classifier producing the class scores; a score that is the
# difference of two logits has none, and CAM says so (test_cam_variants.py)
CNN_METHODS = [method.name for method in all_methods() if not method.needs_attention and method.name != "cam"]
PARAMS = {"occlusion": {"window": 8, "stride": 4}}


class OneLogit(nn.Module):
    """tiny_cnn's class-3 logit minus its class-5 logit, as one score per image."""

    def __init__(self, keep_dim: bool) -> None:
        super().__init__()
        self.net = tiny_cnn()
        self.keep_dim = keep_dim

    def forward(self, x):
        logits = self.net(x)
        z = logits[:, 3] - logits[:, 5]
        return z[:, None] if self.keep_dim else z


class TwoScores(nn.Module):
    """The same model written with two class scores [0, z]: the reference."""

    def __init__(self, single: OneLogit) -> None:
        super().__init__()
        self.single = single

    def forward(self, x):
        logits = self.single.net(x)
        z = logits[:, 3] - logits[:, 5]
        return torch.stack([torch.zeros_like(z), z], dim=1)


@pytest.mark.parametrize("keep_dim", [False, True], ids=["(N,)", "(N,1)"])
def test_probabilities_are_the_sigmoid_and_the_note_says_so(keep_dim):
    model = OneLogit(keep_dim).eval()
    session = Session(model, random_image(0))
    z = float(model(random_image(0)[None]).flatten()[0])
    assert session.num_classes == 2 and SINGLE_LOGIT in session.notes
    probabilities = dict(session.top_k(2))
    assert probabilities[1] == pytest.approx(torch.sigmoid(torch.tensor(z)).item(), rel=1e-5)
    assert probabilities[0] == pytest.approx(1 - probabilities[1], abs=1e-6)


@pytest.mark.parametrize("method", CNN_METHODS)
@pytest.mark.parametrize("keep_dim", [False, True], ids=["(N,)", "(N,1)"])
def test_every_method_explains_the_logit(method, keep_dim):
    model = OneLogit(keep_dim).eval()
    reference = Session(TwoScores(model).eval(), random_image(0))
    session = Session(model, random_image(0))
    layered = method in _layered()
    params = PARAMS.get(method, {})
    ours = session.attribution(method, target=1, layer="net.features.3" if layered else None, **params)
    expected = reference.attribution(method, target=1, layer="single.net.features.3" if layered else None, **params)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-6)


def _layered() -> set[str]:
    return {method.name for method in all_methods() if method.uses_layer}


def test_the_widget_lists_two_classes():
    widget = Explorer(OneLogit(keep_dim=False).eval(), random_image(0))
    try:
        assert len(widget.labels) == 2 and len(widget.top_classes) == 2
        assert SINGLE_LOGIT in widget.notes and widget.result["error"] is None
    finally:
        widget.close()

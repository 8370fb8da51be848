"""One forward per image: class, layer and method changes reuse the kept graph."""

import torch
from torch import nn

from tests.models import tiny_cnn
from xai_widgets import Session


class Counting(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.net(x)


def test_one_forward_serves_every_layer_class_and_method(image):
    model = Counting(tiny_cnn())
    session = Session(model, image)
    assert model.calls == 1
    maps = {}
    for layer in ("net.features.0", "net.features.3", "net.features"):
        for target in range(10):
            maps[layer, target] = session.attribution("gradcam", layer=layer, target=target)
    saliency = session.attribution("saliency", target=3)
    assert model.calls == 1
    assert saliency.shape == (32, 32)
    assert not torch.equal(maps["net.features.3", 0], maps["net.features.3", 1])  # classes differ
    assert maps["net.features.0", 0].shape == (32, 32) and maps["net.features", 0].shape == (16, 16)


def test_repeated_requests_are_served_from_the_cache(image):
    session = Session(tiny_cnn(), image)
    first = session.attribution("gradcam", layer="features.3", target=2)
    again = session.attribution("gradcam", layer="features.3", target=2)
    assert again is first


def test_gradient_stops_at_the_chosen_layer(image):
    """A class change at a deep layer must not run the backward of the layers below it."""
    session = Session(tiny_cnn(), image)
    seen = []
    # the autograd node of the first convolution runs only if a backward reaches it
    first_conv = session._activations["features.0"].grad_fn
    first_conv.register_hook(lambda *args: seen.append("features.0"))
    session.attribution("gradcam", layer="features.4", target=1)
    assert seen == []
    session.attribution("saliency", target=1)
    assert seen == ["features.0"]


def test_activations_stay_on_the_model_device(image):
    session = Session(tiny_cnn(), image)
    assert session.activation("features.3").device == session.device
    assert session.attribution("gradcam", target=0).device == session.device


def test_close_drops_kept_tensors(image):
    session = Session(tiny_cnn(), image)
    session.attribution("gradcam", target=0)
    session.close()
    assert session.logits is None and len(session.attributions) == 0

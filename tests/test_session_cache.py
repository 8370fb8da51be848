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


def test_a_layer_sweep_costs_one_backward(image, monkeypatch):
    session = Session(tiny_cnn(), image)
    calls = []
    real_grad = torch.autograd.grad
    monkeypatch.setattr(torch.autograd, "grad", lambda *a, **k: calls.append(1) or real_grad(*a, **k))
    first = session.attribution("gradcam", layer="features", target=4)  # a class change: partial backward
    for layer in ("features.3", "features.0", "features.2", "features.4"):  # the user sweeps layers
        session.attribution("gradcam", layer=layer, target=4)
    assert len(calls) == 2
    fresh = Session(tiny_cnn(), image)
    torch.testing.assert_close(first, fresh.attribution("gradcam", layer="features", target=4))
    torch.testing.assert_close(
        session.attribution("gradcam", layer="features.0", target=4),
        fresh.attribution("gradcam", layer="features.0", target=4),
    )


def test_sweep_equals_one_map_at_a_time(image, monkeypatch):
    session = Session(tiny_cnn(), image)
    calls = []
    real_grad = torch.autograd.grad
    monkeypatch.setattr(torch.autograd, "grad", lambda *a, **k: calls.append(1) or real_grad(*a, **k))
    maps = session.sweep("gradcam")
    assert len(calls) == 1  # every layer × top-5 classes from one batched backward
    top5 = [index for index, _ in session.top_k(5)]
    assert set(maps) == {(info.name, t) for info in session.layers for t in top5}
    monkeypatch.undo()
    for (layer, target), value in maps.items():
        expected = Session(tiny_cnn(), image).attribution("gradcam", layer=layer, target=target)
        torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-7)

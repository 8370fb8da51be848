"""Levers that remove model passes without changing a result: Score-CAM and IS-CAM send one
black image for all the channels that are silent on the image (their masks are zero), instead
of one each."""

from __future__ import annotations

import torch

from tests.models import random_image, tiny_cnn
from xai_widgets import Session
from xai_widgets.engine.costs import model_passes


def silenced_cnn(silent: int):
    """The tiny CNN with its first ``silent`` channels after the second block forced to zero."""
    model = tiny_cnn()
    with torch.no_grad():
        model.features[2].weight[:silent] = 0
        model.features[3].bias[:silent] = -1.0  # BN output −1 before the ReLU: zero everywhere
        model.features[3].weight[:silent] = 0
    return model


def rows_seen(model) -> list[int]:
    seen: list[int] = []
    model.register_forward_pre_hook(lambda _m, args: seen.append(int(args[0].shape[0])))
    return seen


def by_hand(model, x, layer, target, scales) -> torch.Tensor:
    """Score-CAM (IS-CAM for several ``scales``) with one masked image per channel, silent or not."""
    session = Session(model, x)
    activation = session.activation(layer)[0]
    masks = torch.nn.functional.interpolate(activation[:, None], size=x.shape[-2:], mode="bilinear")[:, 0]
    low, high = masks.amin(dim=(1, 2), keepdim=True), masks.amax(dim=(1, 2), keepdim=True)
    masks = (masks - low) / (high - low).clamp(min=1e-8)
    with torch.no_grad():
        scores = sum(model(x * scale * masks[:, None])[:, target] for scale in scales) / len(scales)
    return torch.relu(torch.einsum("c,chw->hw", torch.softmax(scores, 0), activation))


def test_silent_channels_share_one_black_image():
    model, x = silenced_cnn(silent=10), random_image(3)[None]
    session = Session(model, x)
    target, layer = session.top_k(1)[0][0], "features.4"
    silent = int((session.activation(layer)[0].flatten(1).amax(1) == 0).sum())
    assert silent >= 10  # one more channel of the 16 happens to be silent on this image
    seen = rows_seen(model)
    ours = session.attribution("scorecam", layer=layer, target=target)
    assert sum(seen) == 16 - silent + 1 == model_passes(session, "scorecam", layer, {})  # live ones and a black one
    assert torch.allclose(ours, by_hand(model, x, layer, target, [1.0]), atol=1e-5)
    seen.clear()
    integrated = session.attribution("iscam", layer=layer, target=target, steps=3)
    assert sum(seen) == 3 * (16 - silent + 1)
    scales = [sum(step / 3 for step in range(1, k + 1)) for k in range(1, 4)]
    assert torch.allclose(integrated, by_hand(model, x, layer, target, scales), atol=1e-5)


class FlatInput(torch.nn.Module):
    """A model that views its input as rows (fails on a channels-last batch)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = torch.nn.Linear(3 * 8 * 8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.view(len(x), -1))


def test_forwards_without_autograd_go_channels_last_on_the_cpu_with_the_same_scores():
    from xai_widgets.engine.model_calls import _ROW_MAJOR_ONLY, class_scores

    model, x = tiny_cnn(), torch.stack([random_image(seed) for seed in range(6)])
    layouts = []
    model.register_forward_pre_hook(lambda _m, args: layouts.append(args[0].is_contiguous()))
    scores = class_scores(model, x, 3)
    assert layouts and not any(layouts)  # every chunk went in channels-last
    with torch.no_grad():
        assert torch.allclose(scores, model(x)[:, 3], atol=1e-5)
    flat, images = FlatInput().eval(), torch.rand(5, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(class_scores(flat, images, 1), flat(images)[:, 1], atol=1e-6)
    assert flat in _ROW_MAJOR_ONLY  # the channels-last try failed once; plain batches from then on


def test_input_gradients_go_channels_last_on_the_cpu_with_the_same_values():
    from xai_widgets.engine.model_calls import input_gradients

    model, x = tiny_cnn(), torch.stack([random_image(seed) for seed in range(4)])
    layouts = []
    model.register_forward_pre_hook(lambda _m, args: layouts.append(args[0].is_contiguous()))
    ours = input_gradients(model, x, 2)
    assert layouts and not any(layouts)
    point = x.clone().requires_grad_(True)
    (plain,) = torch.autograd.grad(model(point)[:, 2].sum(), point)
    assert torch.allclose(ours, plain, atol=1e-6)
    flat, images = FlatInput().eval(), torch.rand(3, 3, 8, 8)
    point = images.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(flat(point)[:, 0].sum(), point)
    assert torch.allclose(input_gradients(flat, images, 0), expected, atol=1e-6)

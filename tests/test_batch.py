"""Batched Grad-CAM equals one Session per image."""

import pytest
import torch

from tests.models import random_image, tiny_cnn
from xai_widgets import Session
from xai_widgets.engine import grad_cam_batch


def test_batch_equals_one_image_at_a_time():
    model = tiny_cnn()
    images = torch.stack([random_image(seed) for seed in range(10)])
    maps = grad_cam_batch(model, images, layer="features.3", batch_size=4)
    assert maps.shape == (10, 16, 16)
    for image, cam in zip(images, maps, strict=True):
        session = Session(model, image)
        torch.testing.assert_close(cam, session.attribution("gradcam", layer="features.3"), rtol=1e-5, atol=1e-7)


def test_batch_with_given_classes_and_default_layer():
    model = tiny_cnn()
    images = [random_image(seed) for seed in range(3)]
    maps = grad_cam_batch(model, images, targets=[1, 2, 3])
    for image, cam, target in zip(images, maps, [1, 2, 3], strict=True):
        expected = Session(model, image).attribution("gradcam", target=target)
        torch.testing.assert_close(cam, expected, rtol=1e-5, atol=1e-7)
    assert not any(module._forward_hooks for module in model.modules())


def test_no_graph_is_kept_below_the_layer():
    model = tiny_cnn()
    seen = []
    model.features[0].register_forward_hook(lambda _m, _i, out: seen.append(out.requires_grad))
    grad_cam_batch(model, torch.stack([random_image(0), random_image(1)]), layer="features.3")
    # one image's checking forward (layer and class range) keeps a graph; the call-count probe and
    # the chunk of every image record none below the layer
    assert seen == [True, False, False]
    assert torch.is_grad_enabled()  # and the caller's grad mode is back


def test_a_reused_module_is_explained_at_its_last_call():
    from torch import nn

    class Reuse(nn.Module):  # one ReLU module used twice, like EfficientNet-Lite's stem and head
        def __init__(self) -> None:
            super().__init__()
            self.stem, self.head, self.act = nn.Conv2d(3, 4, 3), nn.Conv2d(4, 6, 3), nn.ReLU()
            self.fc = nn.Linear(6, 5)

        def forward(self, x):
            return self.fc(self.act(self.head(self.act(self.stem(x)))).mean(dim=(2, 3)))

    torch.manual_seed(0)
    model = Reuse().eval()
    images = torch.stack([random_image(0), random_image(1)])
    maps = grad_cam_batch(model, images, layer="act", targets=2)
    assert maps.shape == (2, 28, 28)
    for image, cam in zip(images, maps, strict=True):
        torch.testing.assert_close(cam, Session(model, image).attribution("gradcam", layer="act", target=2))


def test_token_layers_batch_over_their_patch_grid():
    from tests.vit_models import tiny_vit

    model = tiny_vit(depth=2, registers=1)
    images = torch.stack([random_image(seed) for seed in range(5)])
    maps = grad_cam_batch(model, images, targets=3, batch_size=2)  # default: the last live token layer
    assert maps.shape == (5, 4, 4)
    for image, batch_map in zip(images, maps, strict=True):
        session = Session(model, image)
        assert session.default_layer == "blocks.1.norm1"
        torch.testing.assert_close(batch_map, session.attribution("gradcam", target=3), rtol=1e-4, atol=1e-6)


def test_every_argument_is_checked_with_a_message_that_names_the_fix():
    from xai_widgets.engine import ImageError, LayerError, TargetError

    model, stack = tiny_cnn(), torch.stack([random_image(0), random_image(1)])
    before = stack.clone()
    with pytest.raises(TargetError, match="Got 1 targets for 2 images; pass one class per image"):
        grad_cam_batch(model, stack, targets=[3])
    with pytest.raises(TargetError, match="Class 10 is out of range"):
        grad_cam_batch(model, stack, targets=[1, 10])
    with pytest.raises(LayerError, match="no layer named 'features.9'. Did you mean"):
        grad_cam_batch(model, stack, layer="features.9")
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="batch_size must be a whole number of images, at least 1"):
            grad_cam_batch(model, stack, batch_size=bad)
    with pytest.raises(ImageError, match="non-empty N×C×H×W batch"):
        grad_cam_batch(model, stack[0])
    with pytest.raises(ImageError, match="pass transform=... to prepare PIL images"):
        grad_cam_batch(model, ["photo.png"])
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        grad_cam_batch(lambda x: x, stack)
    assert torch.equal(stack, before)


def test_output_and_transform_are_taken_as_elsewhere():
    from torch import nn

    class Pair(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = tiny_cnn()

        def forward(self, x):
            return x.mean(), self.net(x)

    stack = torch.stack([random_image(0), random_image(1)])
    expected = grad_cam_batch(tiny_cnn(), stack, layer="features.3", targets=[1, 2])
    paired = grad_cam_batch(Pair(), stack, layer="net.features.3", targets=[1, 2], output=1)
    torch.testing.assert_close(paired, expected)
    prepared = grad_cam_batch(
        tiny_cnn(), [stack[0] * 2, stack[1] * 2], layer="features.3", targets=[1, 2], transform=lambda t: t / 2
    )
    torch.testing.assert_close(prepared, expected)

"""Batched Grad-CAM equals one Session per image."""

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

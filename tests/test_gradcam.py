"""Grad-CAM equals an independent reference and Captum's LayerGradCam."""

import pytest
import torch
from captum.attr import LayerGradCam

from tests.reference import reference_grad_cam
from xai_widgets import Session, explain


@pytest.mark.parametrize("layer", ["features.0", "features.2", "features.3", "features.4"])
@pytest.mark.parametrize("target", [0, 3, 9])
def test_grad_cam_matches_reference_on_cnn(cnn, image, layer, target):
    ours = explain(cnn, image, method="gradcam", layer=layer, target=target)
    expected = reference_grad_cam(cnn, image[None], cnn.get_submodule(layer), target)
    assert ours.shape == expected.shape
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer", ["features.0", "features.3"])
def test_grad_cam_matches_captum_on_cnn(cnn, image, layer):
    # features.0 is followed by an in-place ReLU: captum differentiates at the module's
    # output too, which must not be overwritten by that ReLU.
    target = 4
    ours = explain(cnn, image, layer=layer, target=target)
    captum = LayerGradCam(cnn, cnn.get_submodule(layer)).attribute(image[None], target=target, relu_attributions=True)
    torch.testing.assert_close(ours, captum[0, 0].detach(), rtol=1e-5, atol=1e-6)


def test_grad_cam_is_not_trivial(cnn, image):
    cam = explain(cnn, image, layer="features.3", target=2)
    assert cam.shape == (16, 16)
    assert cam.max() > 0 and cam.std() > 0.1 * cam.mean()  # a real map, not a constant


def test_session_grad_cam_matches_captum_on_demo_model(demo_assets):
    model, images, _labels, transform = demo_assets
    session = Session(model, images["coffee"], transform=transform)
    x = transform(images["coffee"])[None]
    for layer in ["_bn1", "_blocks.15", "_blocks.10._bn2"]:
        target = session.top_k(1)[0][0]
        ours = session.attribution("gradcam", layer=layer, target=target)
        captum = LayerGradCam(model, model.get_submodule(layer)).attribute(x, target=target, relu_attributions=True)
        torch.testing.assert_close(ours, captum[0, 0].detach(), rtol=1e-4, atol=1e-6)
        expected = reference_grad_cam(model, x, model.get_submodule(layer), target)
        torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-6)


def test_default_layer_is_last_spatial_layer(cnn, image):
    session = Session(cnn, image)
    assert [info.name for info in session.layers] == [
        "features.0",
        "features.1",
        "features.2",
        "features.3",
        "features.4",
        "features",
    ]
    assert session.default_layer == "features"
    assert session.layers[-1].shape == (16, 16, 16)
    torch.testing.assert_close(explain(cnn, image, target=1), explain(cnn, image, layer="features", target=1))


def test_pass_through_modules_are_not_listed(image):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Identity(), torch.nn.ReLU(inplace=True))
    model.append(torch.nn.Flatten()).append(torch.nn.LazyLinear(5))
    model(image[None])  # materialise the lazy layer
    assert [info.name for info in Session(model, image).layers] == ["0", "2"]

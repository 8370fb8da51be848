"""Saliency equals |d score / d pixel| (max over channels), as Captum's Saliency."""

import torch
from captum.attr import Saliency

from tests.reference import reference_saliency
from xai_widgets import Session, explain


def test_saliency_matches_reference_and_captum(cnn, image):
    for target in (0, 7):
        ours = explain(cnn, image, method="saliency", target=target)
        assert ours.shape == (32, 32)
        torch.testing.assert_close(ours, reference_saliency(cnn, image[None], target), rtol=1e-5, atol=1e-7)
        captum = Saliency(cnn).attribute(image[None].clone(), target=target, abs=True)
        torch.testing.assert_close(ours, captum[0].max(dim=0).values, rtol=1e-5, atol=1e-7)


def test_saliency_on_demo_model(demo_assets):
    model, images, _labels, transform = demo_assets
    session = Session(model, images["chelsea"], transform=transform)
    target = session.top_k(1)[0][0]
    ours = session.attribution("saliency", target=target)
    x = transform(images["chelsea"])[None]
    captum = Saliency(model).attribute(x, target=target, abs=True)[0].max(dim=0).values
    assert ours.shape == (224, 224)
    torch.testing.assert_close(ours, captum, rtol=1e-4, atol=1e-7)

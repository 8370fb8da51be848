"""A ViT whose classifier head is zero (torchvision's own initialisation with weights=None) and
a ViT walked image by image: dead gradients never block the photo, the top classes or the
class-free methods, and every note and check holds for every image, not only the first."""

import numpy as np
import pytest
import torch
from torchvision.models import VisionTransformer

from tests.models import random_image
from xai_widgets import Explorer, Session, explain
from xai_widgets.engine import LayerError


def _vit(zero_head: bool) -> VisionTransformer:
    torch.manual_seed(0)
    model = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64)
    if not zero_head:
        torch.nn.init.normal_(model.heads.head.weight, std=0.5)
    return model.eval()


@pytest.fixture(scope="module")
def zero_head_vit():
    model = _vit(zero_head=True)
    assert bool((model.heads.head.weight == 0).all())  # as torchvision leaves it
    return model


@pytest.mark.parametrize("method", ["eigencam", "attention", "rollout"])
def test_class_free_methods_work_on_a_zero_head(zero_head_vit, method):
    heat = explain(zero_head_vit, random_image(0), method=method)
    assert heat.shape == (4, 4) and torch.isfinite(heat).all() and float(heat.abs().sum()) > 0


def test_gradient_maps_say_why_they_are_empty_and_recommend_only_what_works(zero_head_vit):
    session = Session(zero_head_vit, random_image(0))
    assert len(session.layers) > 0 and session.default_layer  # a layer for Eigen-CAM, no error
    for _attempt in range(2):  # the second ask must give the same message, not a raw autograd error
        with pytest.raises(LayerError) as info:
            session.attribution("gradcam")
        message = str(info.value)
        assert "all 1000 class scores are equal" in message and "weights are all zero" in message
        assert "'eigencam', 'attention' and 'rollout'" in message and "saliency" not in message
    assert any("class scores are equal" in note for note in session.notes)


def test_a_zero_head_explorer_shows_photo_classes_layers_and_class_free_maps(zero_head_vit):
    widget = Explorer(zero_head_vit, [random_image(0), random_image(1)])
    try:
        assert widget.photo and len(widget.top_classes) == 5 and widget.layers and widget.layer
        # it opens on a map that needs no gradient, and says why
        assert widget.method == "eigencam" and widget.result["error"] is None
        assert any("opened on Eigen-CAM" in note for note in widget.notes)
        widget.method = "gradcam"
        assert "weights are all zero" in widget.result["error"]
        for method in ("eigencam", "rollout", "attention"):
            widget.method = method
            assert widget.result["error"] is None, method
            assert np.abs(widget.attribution()).max() > 0
    finally:
        widget.close()


def test_every_image_keeps_its_notes_and_checks():
    widget = Explorer(_vit(zero_head=False), [random_image(i) for i in range(3)])
    try:
        dead = "encoder.layers.encoder_layer_1.ln_2"  # after the last attention: no patch gradient
        for index in range(3):
            widget.image_index = index
            assert widget.photo and widget.result["key"]["image_index"] == index
            assert any("get no gradient" in note for note in widget.notes), index
            widget.method = "gradcam"
            widget.layer = dead
            assert "get no gradient" in widget.result["error"], index
            assert "RuntimeError" not in widget.result["error"]
            widget.layer = "encoder.layers.encoder_layer_1.ln_1"
            assert widget.result["error"] is None
    finally:
        widget.close()

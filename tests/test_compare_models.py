"""CompareModels: one image, one panel per model (a CNN beside a ViT); each panel's map equals
explain() for that model; a layer change recomputes that panel only; one failing model stays
in its own panel; bad input is named; closing frees the sessions."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from xai_widgets import CompareModels, explain
from xai_widgets.digits_vit import tiny_vit
from xai_widgets.engine import ExplainError
from xai_widgets.widgets.serialize import decode_map

from .models import random_image, tiny_cnn


def panel_map(panel: dict) -> np.ndarray:
    return decode_map(panel)


@pytest.fixture
def pair():
    return {"cnn": tiny_cnn(), "vit": tiny_vit(0)}, random_image(2)


def test_each_panel_equals_explain_for_its_model(pair):
    models, image = pair
    grid = CompareModels(models, image, labels=[f"digit {i}" for i in range(10)])
    assert [panel["name"] for panel in grid.panels] == ["cnn", "vit"] and len(grid.photos) == 2
    for panel, (name, model) in zip(grid.panels, models.items(), strict=True):
        assert panel["error"] is None and panel["layer"] == grid.session(name).default_layer
        expected = explain(model, image, method="gradcam", layer=panel["layer"])
        np.testing.assert_allclose(panel_map(panel), expected.numpy(), rtol=1e-5, atol=1e-7)
        top = model(image[None]).softmax(1)[0].topk(3)
        assert [entry["index"] for entry in panel["top"]] == top.indices.tolist()
        assert panel["top"][0]["label"] == f"digit {top.indices[0]}" and panel["target"] == int(top.indices[0])
    grid.method = "saliency"
    for panel, model in zip(grid.panels, models.values(), strict=True):
        np.testing.assert_allclose(panel_map(panel), explain(model, image, method="saliency").numpy(), rtol=1e-5)


def test_a_layer_change_recomputes_only_its_panel(pair):
    models, image = pair
    grid = CompareModels(models, image)
    other_before = grid.panels[1]
    layer = grid.panels[0]["layers"][0]
    calls = []
    session = grid.session("vit")
    original = session.attribution
    session.attribution = lambda *args, **kwargs: calls.append(args) or original(*args, **kwargs)
    grid.layer_choice = [layer, grid.layer_choice[1]]
    assert grid.panels[0]["layer"] == layer and calls == [] and grid.panels[1] is other_before
    expected = explain(models["cnn"], image, method="gradcam", layer=layer)
    np.testing.assert_allclose(panel_map(grid.panels[0]), expected.numpy(), rtol=1e-5, atol=1e-7)


def test_one_class_for_every_model_and_a_class_one_model_lacks():
    models = {"ten": tiny_cnn(classes=10), "four": tiny_cnn(classes=4)}
    image = random_image(1)
    grid = CompareModels(models, image, target=7)
    assert grid.panels[0]["error"] is None and grid.panels[0]["target"] == 7
    assert "out of range" in grid.panels[1]["error"] and "4 classes" in grid.panels[1]["error"]


def test_a_failing_model_stays_in_its_own_panel():
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("shape mismatch in my head")

    grid = CompareModels({"ok": tiny_cnn(), "broken": Broken()}, random_image(1))
    assert grid.panels[0]["error"] is None and grid.photos[1] == b""
    assert "shape mismatch in my head" in grid.panels[1]["error"]
    grid.method = "saliency"
    assert grid.panels[0]["error"] is None


def test_torchvision_cnn_beside_torchvision_vit_with_random_weights():
    torch.manual_seed(0)
    models = {
        "mobilenet": torchvision.models.mobilenet_v3_small(weights=None).eval(),
        "vit": torchvision.models.VisionTransformer(
            image_size=64, patch_size=16, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64
        ).eval(),
    }
    nn.init.normal_(models["vit"].heads.head.weight, std=0.02)  # torchvision starts a ViT's head at zero
    image = random_image(3, size=64)
    grid = CompareModels(models, image, method="gradcam")
    for panel, model in zip(grid.panels, models.values(), strict=True):
        assert panel["error"] is None, panel["error"]
        expected = explain(model, image, method="gradcam", layer=panel["layer"])
        np.testing.assert_allclose(panel_map(panel), expected.numpy(), rtol=1e-4, atol=1e-6)
    assert grid.panels[1]["layer"].startswith("encoder.layers")


def test_bad_input_is_named():
    with pytest.raises(ExplainError, match="two or more models"):
        CompareModels(tiny_cnn(), random_image(1))
    with pytest.raises(ExplainError, match="at least one model"):
        CompareModels({}, random_image(1))
    with pytest.raises(ExplainError, match="not a torch.nn.Module"):
        CompareModels({"a": tiny_cnn(), "b": "resnet"}, random_image(1))
    with pytest.raises(ExplainError, match="not one of the models"):
        CompareModels({"a": tiny_cnn()}, random_image(1), layers={"b": "features"})


def test_a_list_of_models_is_named_by_class_and_closing_frees_them():
    first, second = tiny_cnn(0), tiny_cnn(1)
    grid = CompareModels([first, second], random_image(1))
    assert [panel["name"] for panel in grid.panels] == ["TinyCNN", "TinyCNN 2"]
    refs = [weakref.ref(obj) for obj in (grid, first, second, grid.session("TinyCNN"))]
    grid.close()
    del grid, first, second
    gc.collect()
    assert [ref() is None for ref in refs] == [True] * 4

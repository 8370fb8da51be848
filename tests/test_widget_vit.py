"""The Explorer on a transformer with no extra arguments: token layers, the live default
layer, attention methods with model-sized block and head sliders, and the all-heads grid."""

import numpy as np
import pytest
import torch
from torchvision.models import VisionTransformer

from tests.models import random_image, tiny_cnn
from xai_widgets import Compare, Explorer


@pytest.fixture(scope="module")
def small_vit():
    """torchvision's own ViT code (nn.MultiheadAttention), small enough for quick tests."""
    torch.manual_seed(0)
    model = VisionTransformer(image_size=32, patch_size=8, num_layers=3, num_heads=4, hidden_dim=32, mlp_dim=64)
    torch.nn.init.normal_(model.heads.head.weight, std=0.5)
    return model.eval()


@pytest.fixture
def explorer(small_vit):
    widget = Explorer(small_vit, [random_image(0), random_image(1)])
    yield widget
    widget.close()


def test_a_vit_needs_no_extra_arguments(explorer):
    assert explorer.layer == "encoder.layers.encoder_layer_2.ln_1"  # the last layer with patch gradients
    entry = next(layer for layer in explorer.layers if layer["name"] == explorer.layer)
    assert entry["shape"] == [32, 4, 4] and entry["tokens"] == "1 prefix + 4×4 patch tokens"
    assert not explorer.result["error"] and explorer.result["shape"] == [4, 4]
    assert np.abs(explorer.attribution()).max() > 0
    # the widget says why the default is not the last layer
    assert any("get no gradient" in note and "encoder_layer_2.ln_1" in note for note in explorer.notes)


def test_attention_methods_are_offered_with_model_sized_sliders(explorer):
    methods = {m["name"]: m for m in explorer.methods}
    assert {"attention", "rollout", "gradrollout"} <= set(methods)
    params = {p["name"]: p for p in methods["attention"]["params"]}
    assert (params["block"]["min"], params["block"]["max"]) == (-1, 2)
    assert (params["head"]["min"], params["head"]["max"]) == (-1, 3)


def test_cnn_explorers_do_not_offer_attention_methods():
    widget = Explorer(tiny_cnn(), random_image(0))
    try:
        assert not {"attention", "rollout", "gradrollout"} & {m["name"] for m in widget.methods}
    finally:
        widget.close()


def test_layer_and_head_controls_rerun_attention(explorer):
    session = explorer.session()
    explorer.method = "attention"
    explorer.method_params = {"block": 1, "head": 2}
    np.testing.assert_allclose(explorer.attribution(), session.attention(1)[2, 0, 1:].reshape(4, 4).numpy(), rtol=1e-6)
    assert explorer.result["key"]["params"] == {"block": 1, "head": 2}
    explorer.method_params = {"block": 1, "head": 9}
    assert "Head 9 does not exist" in explorer.result["error"] and "pick 0 to 3" in explorer.result["error"]
    explorer.method = "rollout"
    explorer.method_params = {"head_fusion": "min"}
    assert not explorer.result["error"] and explorer.result["shape"] == [4, 4]
    explorer.method = "gradrollout"
    explorer.method_params = {}
    assert not explorer.result["error"]


def test_the_head_grid_shows_every_head_and_opens_one_in_the_explorer(explorer):
    explorer.method = "attention"
    explorer.method_params = {"block": 2, "head": -1}
    grid = Compare.heads(explorer)
    try:
        assert len(grid.cells) == 4 and grid.columns == 4
        assert [cell["params"] for cell in grid.cells] == [{"block": 2, "head": h} for h in range(4)]
        assert all(cell["error"] is None and cell["shape"] == [4, 4] for cell in grid.cells)
        grid.selected = 3
        assert explorer.method == "attention" and explorer.method_params == {"block": 2, "head": 3}
        expected = explorer.session().attention(2)[3, 0, 1:].reshape(4, 4).numpy()
        np.testing.assert_allclose(explorer.attribution(), expected, rtol=1e-6)
    finally:
        grid.close()


def test_a_head_grid_opens_its_own_image_after_the_explorer_moved_on(explorer):
    explorer.method = "attention"
    grid = Compare.heads(explorer, block=1)
    try:
        first_target = explorer.target
        explorer.image_index = 1
        explorer.target = (first_target + 1) % 1000
        grid.selected = 2
        assert explorer.image_index == 0 and explorer.target == grid.target == first_target
        assert explorer.result["key"]["image_index"] == 0 and explorer.method_params == {"block": 1, "head": 2}
        expected = explorer.session().attention(1)[2, 0, 1:].reshape(4, 4).numpy()
        np.testing.assert_allclose(explorer.attribution(), expected, rtol=1e-6)
    finally:
        grid.close()

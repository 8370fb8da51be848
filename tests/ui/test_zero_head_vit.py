"""A ViT as torchvision initialises it (weights=None: a zero classifier head) in the real browser:
the photo, the top-5 list and the class-free methods work, and Grad-CAM says why it cannot."""

from __future__ import annotations

import pytest

from .conftest import ExplorerHandle, write_code_notebook

pytestmark = pytest.mark.ui

NOTEBOOK = "ui_zero_head_vit.ipynb"
SOURCE = """\
import torch
from torchvision.models import VisionTransformer
from xai_widgets import Explorer

torch.manual_seed(0)
vit = VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64).eval()
assert bool((vit.heads.head.weight == 0).all())  # torchvision's own initialisation
Explorer(vit, [torch.rand(3, 32, 32), torch.rand(3, 32, 32)])"""


def write_notebook(path) -> None:
    write_code_notebook(path, [("vit", SOURCE)])


@pytest.mark.parametrize("flavour", ["lab", "notebook7"])
def test_a_zero_head_vit_shows_its_photo_classes_and_class_free_maps(jupyter_server, open_notebook, flavour):
    write_notebook(jupyter_server.root / NOTEBOOK)
    notebook = open_notebook(NOTEBOOK, flavour)
    notebook.run_all()
    notebook.wait_explorers_ready(1)
    explorer = ExplorerHandle(notebook, 0)
    # it opens on Eigen-CAM (no gradient needed), with the photo, the top-5 and a note saying why
    assert explorer.method.input_value() == "eigencam" and explorer.state() == "ready"
    assert explorer.pixels().std() > 0
    assert explorer.top_items.count() == 5
    assert explorer.layer_select.locator("option").count() > 0
    assert "opened on Eigen-CAM" in explorer.root.locator(".xai-session-notes").text_content()
    after = explorer.draw_count()
    explorer.method.select_option("rollout")
    explorer.wait_drawn(after=after)
    assert explorer.state() == "ready"
    explorer.method.select_option("gradcam")
    explorer.root.locator(".xai-error").wait_for(state="visible")
    error = explorer.root.locator(".xai-error").text_content()
    assert "class scores are equal" in error and "'rollout' need no gradient" in error
    notebook.assert_clean()

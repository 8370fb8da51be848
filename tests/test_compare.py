"""The Compare grid: one forward, each cell once, a click opens the cell in the Explorer."""

import numpy as np
from torch import nn

from tests.models import random_image, tiny_cnn
from xai_widgets import Compare, Session
from xai_widgets.widgets.serialize import decode_map


class Counting(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = tiny_cnn()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.net(x)


def test_grid_cells_are_the_engine_maps_from_one_forward():
    model = Counting()
    grid = Compare(
        model, random_image(0), methods=["gradcam", "layercam", "saliency"], layers=["net.features.3", "net.features"]
    )
    assert model.calls == 1  # the grid's forward; the linked Explorer is made on first use, from it
    assert [cell["title"] for cell in grid.cells] == [
        "Grad-CAM · net.features.3",
        "Grad-CAM · net.features",
        "LayerCAM · net.features.3",
        "LayerCAM · net.features",
        "Saliency",
    ]
    reference = Session(model, random_image(0))
    for cell in grid.cells:
        expected = reference.attribution(cell["method"], layer=cell["layer"] or None, target=grid.target)
        np.testing.assert_allclose(decode_map(cell), expected.numpy(), rtol=1e-6)
    assert grid.photo[:4] == b"\x89PNG"


def test_clicking_a_cell_opens_it_in_the_explorer():
    grid = Compare(tiny_cnn(), random_image(0), methods=["gradcam", "saliency"], layers=["features.0"])
    grid.selected = 1
    assert grid.explorer.method == "saliency"
    grid.selected = 0
    assert (grid.explorer.method, grid.explorer.layer) == ("gradcam", "features.0")
    assert grid.explorer.result["key"]["layer"] == "features.0"
    assert grid.explorer.result["key"]["target"] == grid.target


class DeadBranch(nn.Module):
    """Computes a feature map that never reaches the output."""

    def __init__(self) -> None:
        super().__init__()
        self.unused = nn.Conv2d(3, 4, 3)
        self.net = tiny_cnn()

    def forward(self, x):
        self.unused(x)
        return self.net(x)


def test_a_failing_cell_shows_its_error_and_the_others_still_draw():
    grid = Compare(DeadBranch(), random_image(0), methods=["gradcam", "saliency"], layers=["unused"])
    gradcam, saliency = grid.cells
    assert "does not influence the class score" in gradcam["error"] and "data" not in gradcam
    assert saliency["error"] is None and saliency["shape"] == [32, 32]


def test_closing_frees_the_session():
    grid = Compare(tiny_cnn(), random_image(0), methods=["gradcam"])
    grid.close()
    assert grid.session.logits is None


def test_the_linked_explorer_reuses_the_grid_forward_and_its_model_arguments():
    class Pair(nn.Module):  # class scores in the second output: needs output=1 everywhere
        def __init__(self) -> None:
            super().__init__()
            self.net = Counting()

        def forward(self, x):
            return x.mean(), self.net(x)

    model = Pair()
    grid = Compare(model, random_image(0), methods=["gradcam"], output=1)
    assert model.net.calls == 1 and grid.cells[0]["error"] is None
    explorer = grid.explorer
    assert model.net.calls == 1 and explorer.session() is grid.session and explorer.output == 1
    grid.selected = 0
    assert explorer.result["error"] is None and explorer.result["key"]["target"] == grid.target
    grid.close()
    assert grid.session.logits is not None  # the Explorer owns it now
    explorer.close()
    assert grid.session.logits is None

"""FeatureMaps in the real browser, in JupyterLab and Notebook 7: the demo model's 1,280-channel
last layer and a digit CNN's channels page, sort and show a clicked channel over the photo;
the longest main-thread task is measured and reported (tests/ui/artifacts/feature_maps_longtasks.json)."""

from __future__ import annotations

import pytest

from .conftest import report_longest_task, watch_long_tasks, widget_shot, write_code_notebook

pytestmark = pytest.mark.ui

NOTEBOOK = "ui_feature_maps.ipynb"
DEMO = """\
from xai_widgets import FeatureMaps, demo
model = demo.model()
grid = FeatureMaps(model, demo.photo("coffee"), transform=demo.transform(), labels=demo.imagenet_labels())
grid"""
DIGITS = """\
import torch
from torch import nn
from sklearn.datasets import load_digits
digits = load_digits()
torch.manual_seed(0)
cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10)).eval()
FeatureMaps(cnn, torch.tensor(digits.images[0], dtype=torch.float32)[None] / 16, layer="3")"""


def write_notebook(path) -> None:
    write_code_notebook(path, [("demo", DEMO), ("digits", DIGITS)])


def draws(grid) -> int:
    return int(grid.locator("canvas.xai-fm-grid").get_attribute("data-draw-count"))


@pytest.mark.parametrize("flavour", ["lab", "notebook7"])
def test_feature_maps_page_sort_and_show_a_channel(jupyter_server, open_notebook, flavour):
    write_notebook(jupyter_server.root / NOTEBOOK)
    notebook = open_notebook(NOTEBOOK, flavour)
    watch_long_tasks(notebook)
    notebook.run_all()
    notebook.wait_state(
        """() => { const roots = [...document.querySelectorAll('.xai-feature-maps')];
          return roots.length === 2 && roots.every((r) => r.dataset.state === 'ready'
            && Number(r.querySelector('canvas.xai-fm-grid').dataset.drawCount) >= 1); }""",
        what="two feature-map grids drawn",
    )
    grid = notebook.page.locator(".xai-feature-maps").nth(0)
    assert "1280 channels of 7×7" in grid.locator(".xai-compare-title").text_content()
    assert grid.locator(".xai-fm-page").text_content() == "page 1 of 5"
    before = draws(grid)
    grid.locator("button.xai-fm-next").click()
    assert grid.locator(".xai-fm-page").text_content() == "page 2 of 5" and draws(grid) == before + 1
    grid.locator("select.xai-fm-sort").select_option("activation")
    notebook.wait_state(
        "(before) => Number(document.querySelector('.xai-feature-maps canvas.xai-fm-grid').dataset.drawCount) > before",
        arg=before + 1,
        what="the grid redrawn in the kernel's new order",
    )
    assert grid.locator(".xai-fm-page").text_content() == "page 1 of 5"
    grid.locator("canvas.xai-fm-grid").click(position={"x": 10, "y": 10})
    focus = grid.locator(".xai-fm-focus")
    focus.wait_for(state="visible")
    assert focus.locator(".xai-cell-title").text_content().startswith("channel ")
    pixels = focus.locator("canvas").evaluate(
        "(c) => [...c.getContext('2d').getImageData(0, 0, c.width, c.height).data]"
    )
    assert len(set(pixels)) > 16

    digits = notebook.page.locator(".xai-feature-maps").nth(1)
    assert "16 channels of 8×8" in digits.locator(".xai-compare-title").text_content()

    report_longest_task(notebook, "feature_maps_longtasks.json", channels=1280)
    notebook.screenshot(f"feature_maps_{flavour}.png")
    widget_shot(notebook.page.locator(".xai-feature-maps").first, "feature_maps", flavour)
    notebook.assert_clean()

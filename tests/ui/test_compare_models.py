"""CompareModels in the real browser, in JupyterLab and Notebook 7: the demo CNN beside a small
ViT; both panels draw; a layer change redraws only its panel; opacity repaints both with no
kernel message. Screenshot: tests/ui/artifacts/compare_models_<flavour>.png."""

from __future__ import annotations

import pytest

from .conftest import ARTIFACTS, widget_shot, write_code_notebook

pytestmark = pytest.mark.ui

NOTEBOOK = "ui_compare_models.ipynb"
CELL = """\
import torch
from xai_widgets import CompareModels, demo
from xai_widgets.digits_vit import tiny_vit
vit = tiny_vit(0, image_size=224, patch=32)
torch.nn.init.normal_(vit.head.weight, std=0.02)
CompareModels({"EfficientNet-Lite0": demo.model(), "tiny ViT": vit}, demo.photo("coffee"),
              transforms=demo.transform(), labels={"EfficientNet-Lite0": demo.imagenet_labels()})"""

DRAWS = "(root) => [...root.querySelectorAll('canvas.xai-cell-canvas')].map((c) => Number(c.dataset.drawCount))"


@pytest.mark.parametrize("flavour", ["lab", "notebook7"])
def test_two_models_side_by_side(jupyter_server, open_notebook, flavour):
    write_code_notebook(jupyter_server.root / NOTEBOOK, [("models", CELL)])
    notebook = open_notebook(NOTEBOOK, flavour)
    notebook.run_all()
    notebook.wait_state(
        """() => { const r = document.querySelector('.xai-compare-models');
          return !!r && r.dataset.state === 'ready' && [...r.querySelectorAll('canvas.xai-cell-canvas')]
            .every((c) => Number(c.dataset.drawCount) >= 1); }""",
        what="both model panels drawn",
    )
    root = notebook.page.locator(".xai-compare-models")
    panels = root.locator(".xai-model-panel")
    assert panels.count() == 2, root.evaluate("(r) => r.outerHTML.slice(0, 3000)")
    assert panels.nth(0).locator(".xai-cell-title").text_content().startswith("EfficientNet-Lite0 · espresso")
    assert panels.nth(0).locator(".xai-model-top li").first.text_content().startswith("espresso")
    assert panels.nth(1).locator(".xai-cell-title").text_content().startswith("tiny ViT · ")
    assert panels.nth(1).locator(".xai-cell-error").is_hidden()

    before = root.evaluate(DRAWS)
    panels.nth(0).locator("select.xai-model-layer").select_option("_blocks.10")
    notebook.wait_state(
        f"(root) => Number(root.querySelectorAll('canvas.xai-cell-canvas')[0].dataset.drawCount) > {before[0]}",
        arg=root.element_handle(),
        what="the first panel redrawn at the new layer",
    )
    after = root.evaluate(DRAWS)
    assert after[1] == before[1]  # the other model's panel did not move
    assert "_blocks.10" in panels.nth(0).locator("select.xai-model-layer").input_value()

    start = notebook.traffic.mark()
    opacity = root.locator("input.xai-opacity")
    opacity.focus()
    opacity.press("ArrowLeft")
    notebook.wait_state(
        f"(root) => {{ const d = ({DRAWS})(root); return d[0] > {after[0]} && d[1] > {after[1]}; }}",
        arg=root.element_handle(),
        what="both panels repainted for the new opacity",
    )
    assert notebook.traffic.comm_msgs(start) == []  # opacity never reaches the kernel
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget_shot(root, "compare_models", flavour)
    notebook.assert_clean()

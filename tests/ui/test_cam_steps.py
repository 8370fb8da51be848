"""Teaching mode in the real browser, in JupyterLab and Notebook 7, on the demo model: every step
of Grad-CAM draws (channel grids, the weights' bar chart, the maps, the map over the photo); a
new class marks the steps it changed; LayerCAM swaps the bar chart for per-pixel weights.
Screenshots: tests/ui/artifacts/cam_steps_<flavour>_<step>.png (the docs take them from there)."""

from __future__ import annotations

import os
import pathlib

import pytest

from .conftest import ARTIFACTS, write_code_notebook

DOCS_SHOT = pathlib.Path(__file__).resolve().parents[2] / "docs" / "teaching_steps.png"
UPDATE_TRACKED = os.environ.get("XAI_UPDATE_ARTIFACTS") == "1"  # `make screenshots` rewrites the docs' copy

pytestmark = pytest.mark.ui

NOTEBOOK = "ui_cam_steps.ipynb"
CELL = """\
from xai_widgets import GradCAMSteps, demo
model, images, labels, transform = demo.load()
GradCAMSteps(model, images["coffee"], labels=labels, transform=transform, layer="_bn1")"""

AT_STEP = """([root, name]) => root.dataset.step === name && root.dataset.state === 'ready'"""


@pytest.mark.parametrize("flavour", ["lab", "notebook7"])
def test_every_step_draws_and_a_class_change_is_marked(jupyter_server, open_notebook, flavour):
    write_code_notebook(jupyter_server.root / NOTEBOOK, [("steps", CELL)])
    notebook = open_notebook(NOTEBOOK, flavour)
    notebook.run_all()
    notebook.wait_state(
        "() => { const r = document.querySelector('.xai-cam-steps'); return !!r && r.dataset.state === 'ready'; }",
        what="the first step drawn",
    )
    root = notebook.page.locator(".xai-cam-steps")
    canvas = root.locator("canvas.xai-steps-canvas")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    names = ["activations", "gradients", "weights", "sum", "relu", "upsample"]
    for position, name in enumerate(names):
        notebook.wait_state(AT_STEP, arg=[root.element_handle(), name], what=f"step {name}")
        assert root.locator(".xai-steps-counter").text_content() == f"step {position + 1} of 6"
        assert len(root.locator(".xai-steps-text").text_content()) > 40  # an explanation for every step
        if name == "weights":
            assert root.locator(".xai-steps-bar").count() == 16 and canvas.is_hidden()
        else:
            assert int(canvas.get_attribute("data-draw-count")) >= 1 and canvas.is_visible()
        root.screenshot(path=str(ARTIFACTS / f"cam_steps_{flavour}_{position + 1}_{name}.png"))
        if UPDATE_TRACKED and flavour == "lab" and name == "weights":
            root.screenshot(path=str(DOCS_SHOT))
        if position < len(names) - 1:
            root.locator("button.xai-steps-next").click()
    assert root.locator("button.xai-steps-next").is_disabled()

    root.locator("select.xai-steps-class").select_option(index=1)  # the second of the top classes
    notebook.wait_state(
        "(root) => root.querySelector('.xai-steps-heading').textContent.includes('changed with the class')",
        arg=root.element_handle(),
        what="the last step marked as changed",
    )
    for _ in range(5):
        root.locator("button.xai-steps-previous").click()
    notebook.wait_state(AT_STEP, arg=[root.element_handle(), "activations"], what="back at the activations")
    assert "changed" not in root.locator(".xai-steps-heading").text_content()  # the class does not touch them

    root.locator("select.xai-steps-method").select_option("layercam")
    root.locator("button.xai-steps-next").click()
    root.locator("button.xai-steps-next").click()
    notebook.wait_state(AT_STEP, arg=[root.element_handle(), "weights"], what="LayerCAM's weights step")
    canvas.wait_for(state="visible")  # LayerCAM's weights are drawn once its map is back
    assert root.locator(".xai-steps-heading").text_content() == "3. Weights, pixel by pixel"
    notebook.assert_clean()

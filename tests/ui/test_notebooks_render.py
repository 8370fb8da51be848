"""Every notebook renders in a real browser: JupyterLab and Notebook 7, no errors, Explorers ready."""

from __future__ import annotations

import json

import pytest

from .conftest import NOTEBOOKS, ExplorerHandle

pytestmark = pytest.mark.ui

NAMES = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))


def _run_and_check(notebook) -> int:
    notebook.run_all()
    # Every widget output is an Explorer; each must reach "ready" with a drawn map.
    notebook.page.wait_for_function(
        """() => !document.body.textContent.includes('Loading widget...')""", timeout=60_000
    )
    expected = notebook.widget_output_count()
    assert expected >= 1, "no widget output at all"
    try:
        notebook.wait_explorers_ready(expected)
    finally:
        notebook.screenshot(f"{notebook.flavour}_{notebook.name.removesuffix('.ipynb')}.png")
    notebook.assert_clean()
    return expected


@pytest.mark.parametrize("name", NAMES)
def test_notebook_renders_in_lab(open_notebook, name):
    notebook = open_notebook(name, "lab")
    count = _run_and_check(notebook)
    if name == "01_quickstart.ipynb":
        assert count == 2  # the demo Explorer and the digits Explorer (offline: no torchvision one)
        # Cell 2 sets layer and target from Python: the first Explorer must show exactly that.
        demo = ExplorerHandle(notebook, 0)
        demo.wait_drawn({"image_index": 0, "layer": "_blocks.12", "method": "gradcam", "target": 968})
        assert demo.layer_select.input_value() == "_blocks.12"
        assert demo.selected_target() == 968
        assert json.loads(demo.canvas.get_attribute("data-drawn-key"))["layer"] == "_blocks.12"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_renders_in_notebook7(open_notebook, name):
    notebook = open_notebook(name, "notebook7")
    _run_and_check(notebook)

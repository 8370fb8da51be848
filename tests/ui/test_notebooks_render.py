"""Every notebook renders in a real browser: JupyterLab and Notebook 7, no errors, Explorers ready."""

from __future__ import annotations

import json

import pytest

from .conftest import ARTIFACTS, KERNEL_TIMEOUT_MS, NOTEBOOKS, ExplorerHandle

pytestmark = pytest.mark.ui

NAMES = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))
# Notebook 7 shares Lab's widget manager and output areas; its smoke test runs the quickstart
# only, which keeps the suite near two minutes on a 2-core machine.
NOTEBOOK7_NAMES = ["01_quickstart.ipynb"]


def _run_and_check(notebook) -> int:
    """Run every cell; no error anywhere; every widget rendered; every Explorer ready. Returns #Explorers."""
    notebook.run_all()
    stem = notebook.name.removesuffix(".ipynb")
    widgets = notebook.widget_output_count()
    assert widgets >= 1, "no widget output at all"
    try:
        # Each widget output shows an xai root (Explorer or Compare); an ESM that throws
        # leaves an empty output, which never satisfies this.
        notebook.wait_state(
            """(widgets) => document.querySelectorAll('.xai-explorer, .xai-compare').length >= widgets
                && !document.body.textContent.includes('Loading widget...')""",
            arg=widgets,
            timeout=KERNEL_TIMEOUT_MS,
            what=f"{widgets} widget output(s) rendered",
        )
        explorers = notebook.page.locator(".xai-explorer").count()
        notebook.wait_explorers_ready(explorers, timeout=KERNEL_TIMEOUT_MS)
        notebook.wait_state(
            "() => [...document.querySelectorAll('.xai-compare')].every((r) => r.dataset.state === 'ready')",
            timeout=KERNEL_TIMEOUT_MS,
            what="every Compare ready",
        )
    finally:
        notebook.screenshot(f"{notebook.flavour}_{stem}.png")
        for i, root in enumerate(notebook.page.locator(".xai-explorer, .xai-compare").all()):
            root.screenshot(path=str(ARTIFACTS / f"{notebook.flavour}_{stem}_widget{i}.png"))
    notebook.assert_clean()
    return explorers


@pytest.mark.parametrize("name", NAMES)
def test_notebook_renders_in_lab(open_notebook, name):
    notebook = open_notebook(name, "lab")
    count = _run_and_check(notebook)
    if name == "01_quickstart.ipynb":
        assert count == 3  # the demo, the digits and the exercise's least certain digit (offline: no torchvision one)
        # Cell 2 sets layer and target from Python: the first Explorer must show exactly that.
        demo = ExplorerHandle(notebook, 0)
        demo.wait_drawn({"image_index": 0, "layer": "_swish", "method": "gradcam", "target": 968})
        assert demo.layer_select.input_value() == "_swish"
        assert demo.selected_target() == 968
        assert json.loads(demo.canvas.get_attribute("data-drawn-key"))["layer"] == "_swish"


@pytest.mark.parametrize("name", NOTEBOOK7_NAMES)
def test_notebook_renders_in_notebook7(open_notebook, name):
    notebook = open_notebook(name, "notebook7")
    _run_and_check(notebook)

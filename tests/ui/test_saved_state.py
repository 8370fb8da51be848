"""A notebook saved with its widget state shows the last overlays of the Explorer, Compare and
Gallery when it is opened again, before (and without) running a cell: the state written by
nbclient (store_widget_state, as "Save Widget State Automatically" does) holds each widget's
front end and every byte it draws."""

from __future__ import annotations

import pathlib

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.sign import NotebookNotary

pytestmark = pytest.mark.ui

NOTEBOOK = "ui_saved_state.ipynb"
REPO = str(pathlib.Path(__file__).resolve().parents[2])  # the cell imports tests.models
SOURCE = """\
import torch
from tests.models import random_image, tiny_cnn
from xai_widgets import Compare, Explorer, Gallery

model = tiny_cnn()
explorer = Explorer(model, [random_image(0), random_image(1)], method="gradcam")
compare = Compare(model, random_image(0), methods=["gradcam", "saliency"])
gallery = Gallery(model, [random_image(seed) for seed in range(12)], true_labels=list(range(10)) + [0, 1])
gallery.wait()
display(explorer, compare, gallery)"""


@pytest.mark.parametrize("flavour", ["lab", "notebook7"])
def test_saved_widget_state_draws_without_running_a_cell(jupyter_server, open_notebook, flavour, tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SOURCE)])
    notebook.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", store_widget_state=True, resources={"metadata": {"path": REPO}}
    ).execute()
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    ours = [model for model in state.values() if "_esm" in model.get("state", {})]
    assert len(ours) == 3  # the Explorer, Compare and Gallery, with their front ends
    NotebookNotary().sign(notebook)  # as if run here: an untrusted notebook shows only text/plain
    nbformat.write(notebook, jupyter_server.root / NOTEBOOK)

    page = open_notebook(NOTEBOOK, flavour)  # nothing is run: the widgets come from the saved state
    page.wait_state(
        """() => {
          const explorer = document.querySelector('.xai-explorer');
          const compare = document.querySelector('.xai-compare:not(.xai-gallery)');
          const gallery = document.querySelector('.xai-gallery');
          const drawn = (root) => root
            && [...root.querySelectorAll('canvas')].some((c) => Number(c.dataset.drawCount) >= 1);
          return explorer && explorer.dataset.state === 'ready' && drawn(explorer)
            && compare && compare.dataset.state === 'ready' && drawn(compare)
            && gallery && gallery.querySelectorAll('.xai-cell').length === 12 && drawn(gallery);
        }""",
        what="the saved Explorer, Compare and Gallery drawn",
    )
    key = page.page.locator(".xai-explorer .xai-canvas").get_attribute("data-drawn-key")
    assert '"method":"gradcam"' in key.replace(" ", "")
    page.screenshot(f"saved_state_{flavour}.png")

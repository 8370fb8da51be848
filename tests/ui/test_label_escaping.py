"""Untrusted class labels are shown as text in the real browser: no markup, no script, no dialog."""

from __future__ import annotations

import json

import pytest

from .conftest import ExplorerHandle

pytestmark = pytest.mark.ui

EVIL = "<img src=x onerror=alert(1)>"
NOTEBOOK = "ui_label_escaping.ipynb"
SOURCE = f"""\
import torch
from torch import nn
from xai_widgets import Explorer

torch.manual_seed(0)
model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                      nn.Linear(8, 10)).eval()
labels = [{EVIL!r}] * 10
Explorer(model, torch.rand(3, 32, 32), labels=labels)"""


def write_notebook(path) -> None:
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": "labels",
        "metadata": {},
        "outputs": [],
        "source": SOURCE.splitlines(keepends=True),
    }
    notebook = {
        "cells": [cell],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1))


def test_labels_render_as_text(jupyter_server, open_notebook):
    write_notebook(jupyter_server.root / NOTEBOOK)
    notebook = open_notebook(NOTEBOOK, "lab")
    dialogs: list[str] = []
    notebook.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    notebook.run_all()
    notebook.wait_explorers_ready(1)
    explorer = ExplorerHandle(notebook, 0)
    explorer.wait_drawn()

    labels = explorer.top_items.locator(".xai-top-label")
    assert labels.count() == 5
    assert labels.all_text_contents() == [EVIL] * 5  # shown as the literal text
    assert all(labels.nth(i).is_visible() for i in range(5))
    # no element was made from the label (the push section's own perturbation picture aside)
    assert explorer.root.locator("img:not(.xai-push-perturbation)").count() == 0
    assert notebook.page.locator('img[src="x"]').count() == 0
    options = explorer.root.locator("datalist option").evaluate_all("(os) => os.map((o) => o.value)")
    assert len(options) == 10 and all(EVIL in value for value in options)
    assert dialogs == []
    notebook.assert_clean()

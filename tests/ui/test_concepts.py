"""Concepts (Deep Feature Factorization) in the real browser, in JupyterLab and Notebook 7, on the
demo model: the coloured concept map and the legend of votes draw; a click on a concept shows it
alone and a second click brings all back; a new concept count redraws. Screenshot:
tests/ui/artifacts/concepts_<flavour>.png."""

from __future__ import annotations

import pytest

from .conftest import ARTIFACTS, widget_shot, write_code_notebook

pytestmark = pytest.mark.ui

NOTEBOOK = "ui_concepts.ipynb"
CELL = """\
from xai_widgets import Concepts, demo
model, images, labels, transform = demo.load()
Concepts(model, images["chelsea"], labels=labels, transform=transform, layer="_bn1", concepts=4)"""

DRAWN = """([root, shown, after]) => {
  const c = root.querySelector('canvas.xai-concept-canvas');
  return root.dataset.state === 'ready' && c.dataset.shown === shown && Number(c.dataset.drawCount) > after;
}"""


@pytest.mark.parametrize("flavour", ["lab", "notebook7"])
def test_concepts_draw_and_one_concept_shows_alone(jupyter_server, open_notebook, flavour):
    write_code_notebook(jupyter_server.root / NOTEBOOK, [("concepts", CELL)])
    notebook = open_notebook(NOTEBOOK, flavour)
    notebook.run_all()
    notebook.wait_state(
        "() => { const r = document.querySelector('.xai-concepts'); return !!r && r.dataset.state === 'ready'; }",
        what="the concept map drawn",
    )
    root = notebook.page.locator(".xai-concepts")
    canvas = root.locator("canvas.xai-concept-canvas")
    draws = lambda: int(canvas.get_attribute("data-draw-count"))  # noqa: E731
    assert canvas.get_attribute("data-shown") == "all" and draws() >= 1
    items = root.locator("button.xai-concept")
    assert items.count() == 4
    texts = items.all_text_contents()
    assert all(text.startswith(f"concept {i + 1}: ") and "%" in text for i, text in enumerate(texts))
    assert any("cat" in text for text in texts)  # the photo is a cat: some concept votes for one
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget_shot(root, "concepts", flavour)

    before = draws()
    items.nth(1).click()
    notebook.wait_state(DRAWN, arg=[root.element_handle(), "1", before], what="concept 2 alone")
    assert items.nth(1).get_attribute("aria-pressed") == "true"
    before = draws()
    items.nth(1).click()
    notebook.wait_state(DRAWN, arg=[root.element_handle(), "all", before], what="all concepts again")

    before = draws()
    root.locator("select.xai-concept-count").select_option("6")
    notebook.wait_state(
        "(root) => root.querySelectorAll('button.xai-concept').length === 6", arg=root.element_handle(),
        what="six concepts listed",
    )
    notebook.wait_state(DRAWN, arg=[root.element_handle(), "all", before], what="six concepts drawn")
    notebook.assert_clean()

"""The Gallery in the real browser, in JupyterLab and Notebook 7: all 1,797 digits and the
demo photos stream in, filters and pages answer, a click opens the Explorer; the longest
main-thread task is measured and reported (tests/ui/artifacts/gallery_longtasks.json). The
exported HTML report opens in Chromium from a file with every image and row."""

from __future__ import annotations

import pytest

from .conftest import report_longest_task, watch_long_tasks, widget_shot, write_code_notebook

pytestmark = pytest.mark.ui

NOTEBOOK = "ui_gallery.ipynb"
DIGITS = """\
import torch
from torch import nn
from sklearn.datasets import load_digits
from xai_widgets import Gallery

digits = load_digits()
images = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16.0
torch.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10),
).eval()
gallery = Gallery(model, list(images), true_labels=digits.target.tolist(), labels=[str(d) for d in range(10)])
gallery.view()"""
DEMO = """\
from xai_widgets import demo
photos = demo.photos()
Gallery(demo.model(), photos, transform=demo.transform(), labels=demo.imagenet_labels(), deletion_steps=8)"""


def write_notebook(path) -> None:
    write_code_notebook(path, [("digits", DIGITS), ("demo", DEMO)])


def wait_galleries_done(notebook, expected: int) -> None:
    notebook.wait_state(
        """(expected) => {
          const roots = [...document.querySelectorAll('.xai-gallery')];
          return roots.length === expected && roots.every((r) => r.dataset.running === 'false'
            && r.dataset.state === 'ready' && r.querySelectorAll('.xai-cell').length > 0
            && [...r.querySelectorAll('canvas.xai-cell-canvas')].every((c) => Number(c.dataset.drawCount) >= 1));
        }""",
        arg=expected,
        what=f"{expected} galleries finished and drawn",
    )


@pytest.mark.parametrize("flavour", ["lab", "notebook7"])
def test_the_gallery_streams_filters_pages_and_opens_the_explorer(jupyter_server, open_notebook, flavour):
    write_notebook(jupyter_server.root / NOTEBOOK)
    notebook = open_notebook(NOTEBOOK, flavour)
    watch_long_tasks(notebook)
    notebook.run_all()
    wait_galleries_done(notebook, 2)
    digits, photos = notebook.page.locator(".xai-gallery").nth(0), notebook.page.locator(".xai-gallery").nth(1)
    assert digits.locator(".xai-cell").count() == 48
    assert digits.locator(".xai-gallery-summary").text_content().startswith("1,797 of 1,797 images explained")
    assert photos.locator(".xai-cell").count() >= 3
    assert all(title.strip() for title in photos.locator(".xai-cell-title").all_text_contents())
    first = digits.locator("canvas.xai-cell-canvas").first
    pixels = first.evaluate("(c) => [...c.getContext('2d').getImageData(0, 0, c.width, c.height).data]")
    assert len(set(pixels)) > 4  # a photo with a map over it, not a blank canvas

    # the photos' deletion AUC: on each tile, and a sort that puts the most faithful map first
    assert "deletion AUC, most faithful map first" in photos.locator("select.xai-gallery-sort").inner_text()
    photos.locator("select.xai-gallery-sort").select_option("deletion")
    notebook.wait_state(
        """() => { const r = document.querySelectorAll('.xai-gallery')[1];
          const titles = [...r.querySelectorAll('.xai-cell-title')].map((t) => t.textContent);
          const values = titles.map((t) => Number((t.match(/deletion AUC ([\\d.]+)/) || [])[1]));
          const sorted = values.every((v, i) => !Number.isNaN(v) && (i === 0 || values[i - 1] <= v));
          return values.length >= 3 && sorted; }""",
        what="the photos sorted by deletion AUC, lowest first",
    )

    digits.locator("select.xai-gallery-filter").select_option("misclassified")
    notebook.wait_state(
        """() => { const r = document.querySelector('.xai-gallery');
          const cells = [...r.querySelectorAll('.xai-cell')];
          return cells.length > 0 && cells.every((c) => c.dataset.correct === 'false'); }""",
        what="only misclassified tiles",
    )
    first_page = digits.locator(".xai-cell").first.get_attribute("data-index")
    digits.locator("button.xai-gallery-next").click()
    notebook.wait_state(
        """(before) => { const r = document.querySelector('.xai-gallery');
          return r.querySelector('.xai-gallery-page').textContent.startsWith('page 2 of')
            && r.querySelector('.xai-cell').dataset.index !== before; }""",
        arg=first_page,
        what="the second page",
    )
    digits.locator("select.xai-gallery-method").select_option("gradcam++")
    notebook.wait_state(
        """() => { const r = document.querySelector('.xai-gallery');
          return r.querySelector('.xai-compare-title').textContent === 'Grad-CAM++ of 1,797 images'
            && r.dataset.running === 'false' && r.dataset.state === 'ready'
            && r.querySelector('.xai-gallery-summary').textContent.startsWith('1,797 of 1,797'); }""",
        what="every digit explained again with Grad-CAM++",
    )
    clicked = digits.locator(".xai-cell").nth(3)
    index = int(clicked.get_attribute("data-index"))
    clicked.click()
    notebook.wait_state(
        """(index) => { const r = document.querySelector('.xai-explorer');
          const key = r && r.querySelector('.xai-canvas').dataset.drawnKey;
          return r.dataset.state === 'ready' && r.querySelector('select.xai-image-select').value === String(index)
            && key && JSON.parse(key).image_index === index; }""",
        arg=index,
        what="the clicked image drawn in the Explorer",
    )

    report_longest_task(notebook, "gallery_longtasks.json", images=1797)
    notebook.screenshot(f"gallery_{flavour}.png")
    widget_shot(notebook.page.locator(".xai-gallery").first, "gallery", flavour)
    notebook.assert_clean()


def test_the_exported_report_opens_from_a_file_with_every_image_and_row(chromium, tmp_path):
    from tests.models import random_image, tiny_cnn
    from xai_widgets import audit, export

    result = audit(
        tiny_cnn(), [random_image(seed) for seed in range(40)], true_labels=[i % 10 for i in range(40)], progress=False
    )
    page_path = export(result, tmp_path, maps=None, sheet=False).html
    context = chromium.new_context(offline=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(page_path.as_uri())
    page.wait_for_function("() => [...document.images].every((i) => i.complete)")
    assert page.locator("tbody tr").count() == 40
    assert page.evaluate("() => [...document.images].filter((i) => i.naturalWidth > 0).length") == 40
    page.locator("th", has_text="confidence").click()
    shown = [
        float(v)
        for v in page.locator("tbody tr td:nth-child(5)").evaluate_all("(cells) => cells.map((c) => c.dataset.value)")
    ]
    assert shown == sorted(shown) and sorted(shown) == pytest.approx(sorted(result.confidence.tolist()), abs=1e-6)
    assert not errors
    context.close()

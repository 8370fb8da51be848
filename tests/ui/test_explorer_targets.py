"""Targets in the real browser, in JupyterLab and Notebook 7: "why A rather than B" picked from the
top-5 on the demo model; a segmenter trained in the notebook, whose region is picked by a click
and a drag on the photo; torchvision's detector (random weights), whose box is picked by a click
on the boxes drawn over the photo. Screenshot: tests/ui/artifacts/targets_<flavour>.png."""

from __future__ import annotations

import pytest

from ..models import squares
from .conftest import ARTIFACTS, widget_shot, write_code_notebook

pytestmark = pytest.mark.ui

NOTEBOOK = "ui_targets.ipynb"
DEMO = """\
from xai_widgets import Explorer, demo
model, images, labels, transform = demo.load()
Explorer(model, images["coffee"], labels=labels, transform=transform, reference=images["chelsea"])"""
SEGMENTER = """\
import torch
from torch import nn
torch.manual_seed(0)
def squares(count, seed):  # as tests/models.py's squares()
    g = torch.Generator().manual_seed(seed)
    x, y = torch.zeros(count, 3, 24, 24), torch.zeros(count, 24, 24, dtype=torch.long)
    for i in range(count):
        r, c = torch.randint(0, 6, (2,), generator=g).tolist()
        r2, c2 = torch.randint(13, 18, (2,), generator=g).tolist()
        x[i, 0, r:r + 6, c:c + 6], y[i, r:r + 6, c:c + 6] = 1.0, 1
        x[i, 2, r2:r2 + 6, c2:c2 + 6], y[i, r2:r2 + 6, c2:c2 + 6] = 1.0, 2
    return x, y
segmenter = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                          nn.Conv2d(8, 3, 1))
x, y = squares(64, 0)
opt = torch.optim.Adam(segmenter.parameters(), lr=0.02)
for _ in range(150):
    opt.zero_grad(); nn.functional.cross_entropy(segmenter(x), y).backward(); opt.step()
segmenter.eval()
photo, truth = squares(1, 7)
Explorer(segmenter, photo[0], labels=["background", "red", "blue"], method="saliency")"""
DETECTOR = """\
import torchvision
torch.manual_seed(0)
detector = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
    weights=None, weights_backbone=None, box_score_thresh=0.0, box_detections_per_img=4).eval()
Explorer(detector, torch.rand(3, 128, 128, generator=torch.Generator().manual_seed(0)), method="saliency")"""

DRAWN_SPEC = """([root, kind, after]) => {
  const c = root.querySelector('.xai-canvas');
  if (root.dataset.state !== 'ready' || Number(c.dataset.drawCount) <= after) return false;
  const key = c.dataset.drawnKey ? JSON.parse(c.dataset.drawnKey) : null;
  return !!key && (key.target_spec.kind || 'class') === kind;
}"""


def wait_spec(notebook, explorer, kind: str, after: int) -> dict:
    """Wait for a map of target kind ``kind`` drawn after ``after`` draws; return its key."""
    notebook.wait_state(
        DRAWN_SPEC, arg=[explorer.root.element_handle(), kind, after], what=f"a {kind} map drawn after draw {after}"
    )
    return explorer.drawn_key()


def click_photo(explorer, fx: float, fy: float, to: tuple[float, float] | None = None) -> None:
    """A real mouse click (or drag to ``to``) at fractions of the canvas's width and height."""
    explorer.canvas.scroll_into_view_if_needed()
    box = explorer.canvas.bounding_box()
    mouse = explorer.page.mouse
    mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
    mouse.down()
    if to is not None:
        mouse.move(box["x"] + to[0] * box["width"], box["y"] + to[1] * box["height"], steps=4)
    mouse.up()


@pytest.mark.parametrize("flavour", ["lab", "notebook7"])
def test_contrast_region_and_box_targets_in_the_browser(jupyter_server, open_notebook, explorer_factory, flavour):
    write_code_notebook(jupyter_server.root / NOTEBOOK, [("demo", DEMO), ("seg", SEGMENTER), ("det", DETECTOR)])
    notebook = open_notebook(NOTEBOOK, flavour)
    notebook.run_all()
    notebook.wait_state(
        """() => { const roots = [...document.querySelectorAll('.xai-explorer')];
          return roots.length === 3 && roots.every((r) => r.dataset.state === 'ready'); }""",
        what="three Explorers ready",
    )
    demo, segment, detect = (explorer_factory(notebook, i) for i in range(3))

    # a classifier: "espresso rather than B", B chosen from the top-5
    kinds = demo.root.locator("select.xai-target-kind")
    assert kinds.locator("option[value=region]").is_disabled()
    assert "N×K×H×W" in demo.root.locator(".xai-target-absent").text_content()
    before = demo.draw_count()
    kinds.select_option("contrast")
    key = wait_spec(notebook, demo, "contrast", before)
    top = [int(i) for i in demo.top_items.evaluate_all("(items) => items.map((b) => b.dataset.index)")]
    assert key["target"] == top[0] and key["target_spec"]["other"] == top[1]
    before = demo.draw_count()
    demo.root.locator("select.xai-target-other").select_option(str(top[2]))
    key = wait_spec(notebook, demo, "contrast", before)
    assert key["target_spec"]["other"] == top[2]
    labels = demo.top_items.locator(".xai-top-label").all_text_contents()
    assert demo.root.locator(".xai-explains").text_content() == f"explains: {labels[0]} rather than {labels[2]}"

    # the class's probability, and the similarity of the output to the reference photo's
    before = demo.draw_count()
    kinds.select_option("probability")
    assert wait_spec(notebook, demo, "probability", before)["target"] == top[0]
    assert demo.root.locator(".xai-explains").text_content() == f"explains: P({labels[0]})"
    before = demo.draw_count()
    kinds.select_option("similarity")
    wait_spec(notebook, demo, "similarity", before)
    assert demo.root.locator(".xai-explains").text_content() == "explains: similarity to the reference"

    # a segmenter: the list is classes by share of the pixels; a click, then a drag, on the photo
    assert segment.root.locator(".xai-target-layer").get_attribute("data-kind") == "segmentation"
    assert segment.drawn_key()["target_spec"] == {"kind": "region"}
    _, truth = squares(1, 7)  # the notebook's test photo, made the same way here
    rows, cols = (truth[0] == 2).nonzero(as_tuple=True)
    cy, cx = (float(rows.float().mean()) + 0.5) / 24, (float(cols.float().mean()) + 0.5) / 24
    before = segment.draw_count()
    click_photo(segment, cx, cy)
    key = wait_spec(notebook, segment, "region", before)
    assert set(key["target_spec"]) == {"kind", "x", "y"}
    assert segment.root.locator(".xai-explains").text_content().startswith("explains: blue region")
    assert segment.selected_target() == 2  # the list follows the click
    before = segment.draw_count()
    click_photo(segment, cx - 0.2, cy - 0.2, to=(cx + 0.02, cy + 0.02))  # about 5 photo pixels
    key = wait_spec(notebook, segment, "region", before)
    assert set(key["target_spec"]) == {"kind", "x", "y", "x2", "y2"}
    explains = segment.root.locator(".xai-explains").text_content()
    assert explains.startswith("explains: blue region (") and explains != "explains: blue region (36 px)"

    # a detector: boxes drawn over the photo; a real click picks the box on top at that point
    boxes = detect.root.locator(".xai-box")
    assert boxes.count() == 4 and detect.drawn_key()["target_spec"] == {"kind": "box"}
    detect.canvas.scroll_into_view_if_needed()
    other = detect.root.locator(".xai-box:not(.xai-selected)").first
    box = other.bounding_box()
    point = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    hit = notebook.page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('.xai-box')?.dataset.index ?? null", list(point)
    )
    assert hit is not None
    before = detect.draw_count()
    notebook.page.mouse.click(*point)
    key = wait_spec(notebook, detect, "box", before)
    assert key["target"] == int(hit)
    assert detect.root.locator(".xai-box.xai-selected").get_attribute("data-index") == hit
    assert detect.root.locator("button.xai-top-item.xai-selected").get_attribute("data-index") == hit
    notebook.assert_clean()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget_shot(segment.root, "targets_segment", flavour)
    widget_shot(detect.root, "targets_detect", flavour)
    widget_shot(demo.root, "targets_contrast", flavour)

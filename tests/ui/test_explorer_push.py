"""The adversarial push in the real browser, in JupyterLab and Notebook 7, on the demo model: PGD
toward "coffee mug" moves the prediction, the top-5 and the map; the perturbation is shown
amplified; the smallest flip is found; strength 0 brings the photo back. Screenshot:
tests/ui/artifacts/push_<flavour>.png."""

from __future__ import annotations

import json

import pytest

from .conftest import ARTIFACTS, widget_shot, write_code_notebook

pytestmark = pytest.mark.ui

NOTEBOOK = "ui_push.ipynb"
DEMO = """\
from xai_widgets import Explorer, demo
model, images, labels, transform = demo.load()
Explorer(model, images["coffee"], labels=labels, transform=transform)"""

DRAWN_PUSH = """([root, pushed, after]) => {
  const c = root.querySelector('.xai-canvas');
  if (root.dataset.state !== 'ready' || Number(c.dataset.drawCount) <= after) return false;
  const key = c.dataset.drawnKey ? JSON.parse(c.dataset.drawnKey) : null;
  return !!key && (Object.keys(key.push).length > 0) === pushed;
}"""


@pytest.mark.parametrize("flavour", ["lab", "notebook7"])
def test_a_push_toward_a_class_moves_prediction_and_map(jupyter_server, open_notebook, explorer_factory, flavour):
    write_code_notebook(jupyter_server.root / NOTEBOOK, [("demo", DEMO)])
    notebook = open_notebook(NOTEBOOK, flavour)
    notebook.run_all()
    notebook.wait_explorers_ready(1)
    explorer = explorer_factory(notebook)
    root = explorer.root
    assert explorer.top_items.first.locator(".xai-top-label").text_content() == "espresso"
    # timings on request: a change the kernel computes (saliency is never sent ahead) splits into
    # kernel, transport and paint; one painted from the maps sent ahead says so
    root.locator("input.xai-latency-toggle").check()

    def timed_move(action) -> dict:
        before = explorer.draw_count()
        action()
        notebook.wait_state(
            "([root, after]) => root.dataset.state === 'ready' && !!root.dataset.latency"
            " && Number(root.querySelector('.xai-canvas').dataset.drawCount) > after",
            arg=[root.element_handle(), before],
            what="the new map drawn with its timings",
        )
        return json.loads(root.get_attribute("data-latency"))

    timing = timed_move(lambda: explorer.method.select_option("saliency"))
    assert timing["kernel"] > 0 and timing["paint"] > 0 and timing["transport"] >= 0 and not timing["cached"]
    assert timing["total"] >= timing["kernel"] + timing["paint"] - 0.2  # rounded to 0.1 ms each
    assert root.locator(".xai-latency").text_content().startswith(f"{timing['total']} ms: kernel ")
    print(f"{flavour}: method change {timing}")
    timing = timed_move(lambda: explorer.method.select_option("gradcam"))  # the first map: in the cache
    assert timing["cached"] and timing["kernel"] == 0, timing
    assert root.locator(".xai-latency").text_content() == (
        f"{timing['total']} ms from the maps sent ahead: paint {timing['paint']}"
    )
    root.locator(".xai-push summary").click()
    aim = root.locator("select.xai-push-aim")
    assert aim.locator("option").first.text_content() == "away from espresso"
    aim.select_option(label="toward coffee mug")
    root.locator("select.xai-push-attack").select_option(label="PGD (10 steps)")
    before = explorer.draw_count()
    root.locator("input.xai-push-strength").fill("10")
    notebook.wait_state(DRAWN_PUSH, arg=[root.element_handle(), True, before], what="the pushed map drawn")
    key = explorer.drawn_key()
    assert key["push"]["steps"] == 10 and key["push"]["toward"] == 504 and key["push"]["epsilon"] > 0
    assert "pixel levels" in root.locator(".xai-push-epsilon").text_content()
    outcome = root.locator(".xai-push-outcome")
    assert outcome.text_content().startswith("now coffee mug") and outcome.get_attribute("data-flipped") == "true"
    assert explorer.top_items.first.locator(".xai-top-label").text_content() == "coffee mug"
    image = root.locator("img.xai-push-perturbation")
    notebook.wait_state(
        "(img) => !img.hidden && img.complete && img.naturalWidth === 224", arg=image.element_handle(),
        what="the perturbation drawn",
    )
    root.locator("button.xai-push-flip").click()
    notebook.wait_state(
        "(el) => el.textContent.includes('→ coffee mug')",
        arg=root.locator(".xai-push-flip-result").element_handle(),
        what="the smallest flip found",
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    widget_shot(root, "push", flavour)
    # "Copy code": the headless calls of this pushed map reach the clipboard (their result is
    # checked against the widget's map in tests/test_reproduce.py)
    notebook.page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    root.locator("button.xai-copy-code").click()
    notebook.wait_state(
        "(el) => el.textContent === 'copied'", arg=root.locator(".xai-copy-status").element_handle(),
        what="the code copied",
    )
    copied = notebook.page.evaluate("() => navigator.clipboard.readText()")
    assert copied == root.locator("pre.xai-code").text_content()
    assert "push(model, image, " in copied and "toward=504" in copied and "attribution = explain(" in copied
    before = explorer.draw_count()
    root.locator("input.xai-push-strength").fill("0")
    notebook.wait_state(DRAWN_PUSH, arg=[root.element_handle(), False, before], what="the unpushed map drawn")
    assert explorer.top_items.first.locator(".xai-top-label").text_content() == "espresso"
    assert root.locator(".xai-push-outcome").text_content() == ""
    notebook.assert_clean()

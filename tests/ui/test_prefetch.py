"""Maps sent ahead, in the real browser (JupyterLab and Notebook 7), demo Explorer.

Once the prefetch of the coffee photo is complete: layer, class and CAM-method moves paint from
the browser's cache (the drawn key matches, `data-latency` says cached), each sends one state
message and gets no result back; a drag over every layer paints every layer; a cached move
while the kernel runs a slow method in a cell still paints; the kernel's `explorer.result`
follows. Event-to-paint times are written to artifacts/prefetch_latency.json (not asserted:
benchmarks and README report them).
"""

from __future__ import annotations

import json
import os
import platform
import sys

import pytest

from .conftest import ARTIFACTS, REPO, write_code_notebook
from .test_explorer_interactions import PROBE, measure, summary

pytestmark = pytest.mark.ui

NOTEBOOK = "ui_prefetch.ipynb"
UPDATE_TRACKED = os.environ.get("XAI_UPDATE_ARTIFACTS") == "1"
REPORT = REPO / "benchmarks" / "results" / "ui_prefetch.json" if UPDATE_TRACKED else ARTIFACTS / "prefetch_latency.json"
CELLS = [
    (
        "explorer",
        "from xai_widgets import Explorer, demo, explain\n"
        "explorer = Explorer(demo.model(), demo.photo('coffee'), transform=demo.transform(), "
        "labels=demo.imagenet_labels())\nexplorer",
    ),
    # A slow method run in a cell: the kernel is busy with it, messages wait in its queue.
    # A slow method run in a cell until the test lets go: the kernel is busy, messages wait in its queue.
    (
        "busy",
        "import pathlib\nruns = 0\nwhile not pathlib.Path('busy.release').exists():\n"
        "    explain(demo.model(), demo.photo('coffee'), method='occlusion', transform=demo.transform(), "
        "window=32, stride=16)\n    runs += 1\nprint('busy done', runs)",
    ),
    ("state", "key = explorer.result['key']\nprint(explorer.layer, key['layer'], key['method'], explorer.target)"),
    # The same Explorer with nothing sent ahead: every first visit is a round trip through the kernel.
    (
        "round_trip",
        "without = Explorer(demo.model(), demo.photo('coffee'), transform=demo.transform(), "
        "labels=demo.imagenet_labels(), prefetch_budget=0)\nwithout",
    ),
]

PREFETCH_DONE = """(root) => { const s = root.dataset.prefetch ? JSON.parse(root.dataset.prefetch) : null;
  return !!s && s.complete === true; }"""

DRAG = """async (root, frames) => {
  // One input event per animation frame, as a browser delivers a drag, from the first layer to the last.
  const slider = root.querySelector('input.xai-layer-slider');
  const last = Number(slider.max);
  const passed = [];
  for (let frame = 0; frame < frames; frame++) {
    const index = Math.round((frame * last) / (frames - 1));
    if (passed[passed.length - 1] === index) continue;
    passed.push(index);
    slider.value = String(index);
    slider.dispatchEvent(new Event('input', { bubbles: true }));
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  return passed;
}"""


def wait_output(notebook, index: int, text: str) -> None:
    """Wait until cell ``index`` printed ``text``."""
    notebook.wait_state(
        """([i, text]) => { const w = window.jupyterapp.shell.currentWidget;
          return w.content.model.cells.get(i).outputs.toJSON()
            .some((o) => [].concat(o.text || []).join('').includes(text)); }""",
        arg=[index, text],
        what=f"cell {index} to print {text!r}",
    )


def is_subsequence(items: list, sequence: list) -> bool:
    remaining = iter(sequence)
    return all(any(item == candidate for candidate in remaining) for item in items)


def cached(ex) -> bool:
    return json.loads(ex.root.get_attribute("data-latency") or "{}").get("cached") is True


@pytest.mark.parametrize("flavour", ["lab", "notebook7"])
def test_moves_paint_from_the_maps_sent_ahead(jupyter_server, open_notebook, explorer_factory, flavour):
    write_code_notebook(jupyter_server.root / NOTEBOOK, CELLS)
    (jupyter_server.root / "busy.release").unlink(missing_ok=True)
    notebook = open_notebook(NOTEBOOK, flavour)
    notebook.run_cell(0)
    notebook.wait_explorers_ready(1)
    ex = explorer_factory(notebook, 0)
    ex.wait_drawn()
    notebook.wait_state(PREFETCH_DONE, arg=ex.root.element_handle(), what="the prefetch complete")
    status = json.loads(ex.root.get_attribute("data-prefetch"))
    start_layer = ex.drawn_key()["layer"]
    target = ex.drawn_key()["target"]
    layers = ex.layer_select.locator("option").evaluate_all("(os) => os.map((o) => o.value)")
    classes = [int(i) for i in ex.top_items.evaluate_all("(bs) => bs.map((b) => b.dataset.index)")]
    ex.root.evaluate(PROBE)

    def key(layer=start_layer, cls=target, method="gradcam") -> dict:
        return {"image_index": 0, "layer": layer, "method": method, "target": cls}

    results, moved_to = {}, []

    def cached_move(action, expected, start=None) -> dict:
        sample = measure(ex, action, expected, start)
        assert cached(ex), f"{expected} was not painted from the cache"
        moved_to.append(expected)
        return sample

    first_sent, received = notebook.traffic.mark(), len(notebook.traffic.received)
    picks = [name for name in layers if name != start_layer][-6:]
    results["layer"] = summary(
        [cached_move(lambda n=n: ex.layer_select.select_option(n), key(n)) for n in [*picks, start_layer]],
        "layer <select> change, map sent ahead",
    )
    others = [c for c in classes if c != target]
    results["class"] = summary(
        [
            cached_move(
                lambda c=c: ex.root.locator(f'button.xai-top-item[data-index="{c}"]').click(), key(cls=c), "click"
            )
            for c in [*others, target]
        ],
        "click on a top-5 class button (from its click event), map sent ahead",
    )
    methods = ["gradcam++", "xgradcam", "layercam", "hirescam", "eigencam", "gradcam"]
    results["method"] = summary(
        [cached_move(lambda m=m: ex.method.select_option(m), key(method=m)) for m in methods],
        "CAM method <select> change, map sent ahead",
    )
    # The next explicit map (saliency is never sent ahead): the websocket keeps order, so once its
    # message has left, every cached move's message has too, and once its result is back, any
    # result sent for a cached move would have come before it.
    mark = len(notebook.traffic.received)
    notebook.traffic.expect_update("method", lambda: ex.method.select_option("saliency"))
    ex.wait_drawn(key(method="saliency"))
    sent = [m["data"]["state"] for m in notebook.traffic.comm_msgs(first_sent)]
    sent = sent[: next(i for i, state in enumerate(sent) if state.get("method") == "saliency")]
    told = [state["drawn_from_cache"]["key"] for state in sent]
    # At most one state message per move, each naming the map the browser drew (never a miss).
    # ipywidgets holds a message back while the kernel has not acknowledged the previous one and
    # merges the next move into it, so on a busy machine two moves may travel as one.
    wanted = [(k["layer"], k["target"], k["method"]) for k in moved_to]
    named = [(t["layer"], t["target"], t["method"]) for t in told if t is not None]
    assert len(named) == len(told) and 1 <= len(told) <= len(moved_to), sent
    assert is_subsequence(named, wanted), (named, wanted)
    came_back = [u["result"]["key"]["method"] for u in notebook.traffic.state_updates(received) if "result" in u]
    assert came_back == ["saliency"], came_back
    assert notebook.traffic.state_updates(mark)  # the saliency result itself did come
    ex.method.select_option("gradcam")
    ex.wait_drawn(key())

    # A 1-second drag (60 frames) over every layer with the slider.
    ex.page.evaluate("() => { window.__xaiProbe.draws.length = 0; }")
    passed = [layers[i] for i in ex.root.evaluate(DRAG, 60)]
    ex.wait_drawn(key(layers[-1]))
    painted = {json.loads(d["key"])["layer"] for d in ex.page.evaluate("() => window.__xaiProbe.draws") if d["key"]}
    assert len(passed) == 60 and painted >= set(passed), sorted(set(passed) - painted)

    # The kernel busy with a slow method in a cell: a cached move still paints at once.
    notebook.run_cell(1)
    notebook.wait_state(
        "() => document.querySelector('.jp-Notebook-ExecutionIndicator')?.getAttribute('data-status') === 'busy'",
        what="the kernel busy with the occlusion cell",
    )
    busy_sample = measure(ex, lambda: ex.layer_select.select_option(picks[0]), key(picks[0]))
    still_busy = notebook.page.evaluate(
        "() => document.querySelector('.jp-Notebook-ExecutionIndicator')?.getAttribute('data-status')"
    )
    assert cached(ex) and still_busy == "busy"
    results["layer_kernel_busy"] = summary([busy_sample], "layer change while the kernel runs occlusion in a cell")
    (jupyter_server.root / "busy.release").write_text("go")
    wait_output(notebook, 1, "busy done")
    notebook.run_cell(2)
    wait_output(notebook, 2, "gradcam")
    assert notebook.cell_text(2).split() == [picks[0], picks[0], "gradcam", str(target)]

    # The same moves without maps sent ahead (first visits, so the kernel computes each).
    notebook.run_cell(3)
    notebook.wait_explorers_ready(2)
    plain = explorer_factory(notebook, 1)
    plain.wait_drawn(key())
    plain.root.evaluate(PROBE)
    results["layer_round_trip"] = summary(
        [measure(plain, lambda n=n: plain.layer_select.select_option(n), key(n)) for n in picks[:5]],
        "layer <select> change, prefetch_budget=0: a round trip through the kernel",
    )
    results["class_round_trip"] = summary(
        [
            measure(plain, lambda c=c: plain.top_items.and_(plain.root.locator(f'[data-index="{c}"]')).click(),
                    key(picks[4], c), "click")
            for c in others
        ],
        "click on a top-5 class button (from its click event), prefetch_budget=0",
    )
    results["method_round_trip"] = summary(
        [measure(plain, lambda m=m: plain.method.select_option(m), key(picks[4], others[-1], m)) for m in methods[:5]],
        "CAM method <select> change, prefetch_budget=0",
    )
    assert [results[f"{kind}_round_trip"]["painted_from_cache"] for kind in ("layer", "class", "method")] == [0, 0, 0]
    plain.page.evaluate("() => { window.__xaiProbe.draws.length = 0; }")
    plain.method.select_option("gradcam")
    plain.wait_drawn(key(picks[4], others[-1]))
    plain_passed = [layers[i] for i in plain.root.evaluate(DRAG, 60)]
    plain.wait_drawn(key(layers[-1], others[-1]))
    plain_painted = {
        json.loads(d["key"])["layer"] for d in plain.page.evaluate("() => window.__xaiProbe.draws") if d["key"]
    } & set(plain_passed)
    notebook.assert_clean()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    report[flavour] = {
        "what": "time from the user's DOM event to the canvas repaint with the matching key, for moves "
        "painted from the maps sent ahead; demo Explorer (EfficientNet-Lite0, coffee 224×224), kernel on the CPU",
        "prefetch": status,
        "drag": f"60 frames over {len(layers)} layers: {len(set(passed) & painted)} of {len(passed)} passed painted",
        "drag_round_trip": f"prefetch_budget=0: {len(plain_painted)} of {len(plain_passed)} passed painted",
        "state_messages": f"{len(told)} for {len(moved_to)} cached moves (ipywidgets may merge two into one)",
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0]},
        "results": results,
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({flavour: results}, indent=2))

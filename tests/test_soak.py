"""Nothing leaks: 1,000 random control changes, then closing the widget frees its tensors.

Bounds, and why:

- Live tensors (counted with ``gc.get_objects()``) may grow by at most what the widget's
  bounded caches can hold: per image session (at most ``Explorer.SESSIONS``) its input,
  logits, probabilities and recorded activations, the gradients of ``Session.GRADIENT_CLASSES`` classes (each
  for every layer and the input) and 64 finished maps. Growth past that is a leak.
- Process RSS may grow by at most 50 MB over the 1,000 changes, measured after a 200-change
  warm-up (caches filled, lazy imports and allocator pools settled). The caches' tensors here
  are tiny (a 32×32 image), so 50 MB is far above what they hold and far below what 1,000
  leaked maps/graphs would take.
- No hook is left on any module, and no worker thread survives ``close()``.
"""

import gc
import random
import threading
import warnings
import weakref

import psutil
import torch

from tests.models import random_image, tiny_cnn
from tests.test_model_untouched import assert_same, snapshot
from tests.test_races import FAST
from xai_widgets import Explorer, Session

RSS_BOUND = 50 * 2**20
SLOW_SMALL = {  # slow methods with small parameters: each still runs on the worker thread
    "smoothgrad": lambda rng: {"samples": rng.choice([2, 3]), "seed": rng.randrange(3)},
    "integrated_gradients": lambda rng: {"steps": rng.choice([2, 4])},
    "occlusion": lambda rng: {"window": 16, "stride": rng.choice([8, 16])},
    "scorecam": lambda rng: {},
}


def live_tensors() -> int:
    gc.collect()
    with warnings.catch_warnings():  # isinstance() wakes deprecated lazy torch attributes
        warnings.simplefilter("ignore")
        return sum(1 for obj in gc.get_objects() if isinstance(obj, torch.Tensor))


def rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


def change(widget: Explorer, rng: random.Random) -> None:
    kind = rng.choices(["image", "layer", "target", "fast", "slow"], weights=[1, 3, 3, 4, 1])[0]
    with widget.hold_trait_notifications():
        if kind == "image":
            widget.image_index = rng.randrange(len(widget.image_names))
        elif kind == "layer":
            widget.layer = rng.choice(widget.layers)["name"]
        elif kind == "target":
            widget.target = rng.randrange(10)
        elif kind == "fast":
            widget.method, widget.method_params = rng.choice(FAST), {}
        else:
            widget.method = rng.choice(sorted(SLOW_SMALL))
            widget.method_params = SLOW_SMALL[widget.method](rng)


def changes(widget: Explorer, rng: random.Random, count: int) -> None:
    for step in range(count):
        change(widget, rng)
        if step % 50 == 49:
            widget.wait()  # let queued slow work finish now and then, as a pausing user does
    widget.wait()


def cache_capacity(widget: Explorer) -> int:
    """The most tensors the widget's caches may hold (see the module docstring)."""
    sessions = min(Explorer.SESSIONS, len(widget.image_names))
    layers = len(widget.layers)
    per_session = 3 + layers + Session.GRADIENT_CLASSES * (layers + 1) + 64
    return sessions * per_session


def test_a_thousand_random_changes_leak_nothing(record_property):
    model = tiny_cnn()
    before_model = snapshot(model)
    baseline_tensors, threads_before = live_tensors(), set(threading.enumerate())
    widget = Explorer(model, [random_image(i) for i in range(3)])
    rng = random.Random(0)
    changes(widget, rng, 200)
    start_rss, start_tensors = rss(), live_tensors()
    changes(widget, rng, 1000)
    grown_rss, end_tensors = rss() - start_rss, live_tensors()

    record_property("rss_growth_mb", round(grown_rss / 2**20, 2))
    record_property("tensors", f"baseline {baseline_tensors}, after warm-up {start_tensors}, end {end_tensors}")
    print(
        f"RSS growth {grown_rss / 2**20:.1f} MB (bound {RSS_BOUND / 2**20:.0f}); live tensors {baseline_tensors} → "
        f"{start_tensors} → {end_tensors} (bound {baseline_tensors} + {cache_capacity(widget)})"
    )
    assert widget.result["key"] == widget._key()
    assert grown_rss < RSS_BOUND, f"RSS grew by {grown_rss / 2**20:.1f} MB"
    assert end_tensors - baseline_tensors <= cache_capacity(widget), (baseline_tensors, end_tensors)
    assert_same(before_model, snapshot(model))  # no hooks left, weights and flags untouched

    widget.close()
    closed = live_tensors()
    print(f"live tensors after close(): {closed}")
    assert closed <= baseline_tensors + 4  # the model's own tensors are in the baseline already
    assert not [t for t in set(threading.enumerate()) - threads_before if t.name.startswith("xai-widgets")]


def test_closing_the_widget_frees_its_tensors():
    widget = Explorer(tiny_cnn(), [random_image(0), random_image(1)])
    widget.method, widget.method_params = "smoothgrad", {"samples": 2}
    widget.wait()
    first = widget.session()._activations[widget.layer]
    widget.image_index = 1
    session = widget.session()
    kept = [weakref.ref(t) for t in (first, session._activations[widget.layer], session.input, session.logits)]
    del session, first
    widget.close()
    gc.collect()
    assert [ref() is None for ref in kept] == [True] * len(kept)


def test_two_explorers_on_one_model_for_five_hundred_changes_leak_nothing_and_leave_it_as_it_was():
    """The soak, shared: two widgets on one train-mode model, changed in turn; no tensor is
    kept past both widgets' caches, no hook or worker thread survives, the model is untouched."""
    model = tiny_cnn().train()
    before_model = snapshot(model)
    baseline_tensors, threads_before = live_tensors(), set(threading.enumerate())
    widgets = [Explorer(model, [random_image(i), random_image(i + 3)]) for i in range(2)]
    rng = random.Random(1)
    for step in range(500):
        change(widgets[step % 2], rng)
        if step % 50 == 49:
            for widget in widgets:
                widget.wait()
    for widget in widgets:
        widget.wait()
        assert widget.result["key"] == widget._key() and widget.result["error"] is None
    end_tensors = live_tensors()
    assert end_tensors - baseline_tensors <= sum(cache_capacity(widget) for widget in widgets)
    assert_same(before_model, snapshot(model))
    for widget in widgets:
        widget.close()
    assert live_tensors() <= baseline_tensors + 4
    assert not [t for t in set(threading.enumerate()) - threads_before if t.name.startswith("xai-widgets")]

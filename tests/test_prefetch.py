"""Maps sent ahead to the browser: what is planned, how it is packed, the quiet record of a
move the browser painted from its cache, the budget, and how it gives way to requests."""

import gc
import threading
import weakref

import numpy as np
import pytest

from tests.models import random_image, tiny_cnn
from xai_widgets import Explorer, explain
from xai_widgets.widgets.jobs import BACKGROUND_STEP_WAIT, LatestWins
from xai_widgets.widgets.prefetch import PREFETCH_METHODS, candidate_keys, dequantize, key_id, quantize


def captured(widget, monkeypatch) -> list:
    sent = []
    monkeypatch.setattr(widget, "send", lambda content, buffers=None: sent.append((content, buffers)))
    return sent


def unpacked(sent) -> dict:
    """key id -> (key, dequantized map, entry) for every prefetched map sent."""
    maps = {}
    for content, buffers in sent:
        if content.get("kind") != "prefetch":
            continue
        for entry in content["entries"]:
            height, width = entry["shape"]
            data = bytes(buffers[0][entry["offset"] : entry["offset"] + height * width])
            values = dequantize(data, entry["shape"], entry["low"], entry["step"])
            maps[key_id(entry["key"])] = (entry["key"], values, entry)
    return maps


def test_quantisation_is_off_by_at_most_half_a_step():
    values = np.random.default_rng(0).normal(size=(14, 14)).astype("<f4")
    data, low, step = quantize(values.tobytes(), [14, 14])
    assert len(data) == 14 * 14 and step == pytest.approx((values.max() - values.min()) / 255)
    back = dequantize(data, [14, 14], low, step)
    assert np.abs(back - values).max() <= step / 2 + 1e-6
    assert back.min() == pytest.approx(values.min()) and back.max() == pytest.approx(values.max(), rel=1e-6)


def test_quantisation_of_constant_and_non_finite_maps():
    data, low, step = quantize(np.full((3, 3), 2.5, "<f4").tobytes(), [3, 3])
    assert (low, step) == (2.5, 0.0) and np.all(dequantize(data, [3, 3], low, step) == 2.5)
    values = np.array([[np.nan, 1.0], [np.inf, 3.0]], "<f4")
    data, low, step = quantize(values.tobytes(), [2, 2])
    back = dequantize(data, [2, 2], low, step)
    assert np.all(np.isfinite(back)) and back[0, 1] == pytest.approx(1.0) and back[1, 1] == pytest.approx(3.0)


def test_candidates_are_layers_then_classes_then_methods_without_the_anchor():
    anchor = {"image_index": 0, "layer": "b", "method": "gradcam", "target": 3, "params": {"smooth": "none"}}
    keys = candidate_keys(anchor, ["a", "b", "c"], [3, 5], [("gradcam", {"smooth": "none"}), ("eigencam", {})])
    assert [(k["layer"], k["target"], k["method"]) for k in keys] == [
        ("a", 3, "gradcam"),
        ("c", 3, "gradcam"),
        ("b", 5, "gradcam"),
        ("b", 3, "eigencam"),
    ]
    assert keys[-1]["params"] == {}


def test_every_map_sent_ahead_is_the_widget_map_of_its_key(monkeypatch):
    model, image = tiny_cnn(), random_image(0)
    widget = Explorer(model, image)
    sent = captured(widget, monkeypatch)
    status = widget.prefetch_now()
    maps = unpacked(sent)
    layers = [entry["name"] for entry in widget.layers]
    classes = [entry["index"] for entry in widget.top_classes]
    methods = [name for name in PREFETCH_METHODS if name in {m["name"] for m in widget.methods}]
    assert status["complete"] and status["stopped"] == ""
    assert status["maps"] == len(maps) == (len(layers) - 1) + (len(classes) - 1) + (len(methods) - 1)
    assert status["messages"] == len(sent) and status["bytes"] > sum(len(b[0]) for _, b in sent)
    assert all(len(content["entries"]) <= 8 for content, _ in sent)
    for key, values, entry in maps.values():
        expected = explain(
            model, image, method=key["method"], layer=key["layer"], target=key["target"], **key["params"]
        ).numpy()
        assert np.abs(values - expected).max() <= entry["step"] / 2 + 1e-5 * max(1.0, np.abs(expected).max())
        assert f"method='{key['method']}'" in entry["code"] and f"layer='{key['layer']}'" in entry["code"]
    widget.close()


def test_a_move_the_browser_painted_from_its_cache_is_recorded_without_a_message(monkeypatch):
    widget = Explorer(tiny_cnn(), random_image(0))
    sent = captured(widget, monkeypatch)
    widget.prefetch_now()
    states = []
    monkeypatch.setattr(widget, "send_state", lambda key=None: states.extend([key] if isinstance(key, str) else key))
    first = widget.layer
    other = next(entry["name"] for entry in widget.layers if entry["name"] != first)
    wanted = {**widget._key(), "layer": other}
    widget.set_state({"drawn_from_cache": {"key": wanted, "n": 1}, "layer": other})  # one browser message
    assert states == []  # neither `result` nor `code` went back to the browser
    assert widget.result["key"] == wanted and "_blocks" not in widget.code and other in widget.code
    exact = explain(widget.model, random_image(0), method="gradcam", layer=other, target=wanted["target"]).numpy()
    np.testing.assert_array_equal(widget.attribution(), exact)  # the kernel's own float32 map
    messages_before = len(sent)
    # The same move number again (a stale record) is not taken up: the map is sent as usual.
    back = {**widget._key(), "layer": first}
    widget.set_state({"layer": back["layer"]})
    assert sorted(states) == ["code", "result"] and widget.result["key"] == back
    assert len(sent) == messages_before
    widget.close()


def test_a_key_with_default_parameters_spelt_out_is_the_same_map(monkeypatch):
    widget = Explorer(tiny_cnn(), random_image(0))
    captured(widget, monkeypatch)
    widget.prefetch_now()
    states = []
    monkeypatch.setattr(widget, "send_state", lambda key=None: states.extend([key] if isinstance(key, str) else key))
    other = next(entry["name"] for entry in widget.layers if entry["name"] != widget.layer)
    told = {**widget._key(), "layer": other, "params": {"smooth": "none"}}  # what a method pick sends
    widget.set_state({"drawn_from_cache": {"key": told, "n": 1}, "layer": other, "method_params": {"smooth": "none"}})
    assert states == [] and widget.result["key"] == told
    widget.close()


def test_a_cache_miss_is_answered_as_usual(monkeypatch):
    widget = Explorer(tiny_cnn(), random_image(0))
    captured(widget, monkeypatch)
    states = []
    monkeypatch.setattr(widget, "send_state", lambda key=None: states.extend([key] if isinstance(key, str) else key))
    other = next(entry["name"] for entry in widget.layers if entry["name"] != widget.layer)
    # the browser claims a hit, but nothing was sent ahead
    widget.set_state({"drawn_from_cache": {"key": {**widget._key(), "layer": other}, "n": 1}, "layer": other})
    assert "result" in states and widget.result["key"]["layer"] == other


def test_the_budget_stops_the_prefetch(monkeypatch):
    widget = Explorer(tiny_cnn(), random_image(0))
    sent = captured(widget, monkeypatch)
    widget.prefetch_budget = 1
    status = widget.prefetch_now()
    assert status["stopped"] == "budget" and not status["complete"]
    assert status["messages"] == len(sent) == 1 and status["maps"] == 1
    widget.prefetch_budget = 0
    widget.image_index = 0
    assert widget.prefetch_now()["maps"] == 1  # off: nothing more is sent
    widget.close()


def test_a_new_image_drops_what_was_sent_and_the_background_follows_the_new_one(monkeypatch):
    widget = Explorer(tiny_cnn(), {"a": random_image(0), "b": random_image(1)})
    sent = captured(widget, monkeypatch)
    widget._prefetch_live = True
    widget.image_index = 1
    assert sent[0][0] == {"kind": "prefetch_reset", "epoch": 2}
    assert widget._prefetcher.wait_idle(60)
    status = widget.prefetch_status()
    assert status["complete"] and status["maps"] > 0
    keys = [key for key, _, _ in unpacked(sent).values()]
    assert keys and {key["image_index"] for key in keys} == {1}
    assert widget._prefetcher.stored({**keys[0]}) is not None
    widget.image_index = 0
    assert widget._prefetcher.stored(keys[0]) is None  # dropped with its image
    widget.close()


def test_a_view_that_opens_gets_everything_sent_again(monkeypatch):
    widget = Explorer(tiny_cnn(), random_image(0))
    sent = captured(widget, monkeypatch)
    first = widget.prefetch_now()
    widget._prefetch_live = True
    widget._on_view_message(widget, {"kind": "prefetch_request"}, [])
    assert widget._prefetcher.wait_idle(60)
    again = widget.prefetch_status()
    assert again["maps"] == first["maps"] > 0 and again["complete"]
    assert sum(len(content["entries"]) for content, _ in sent) == 2 * first["maps"]
    widget._on_view_message(widget, {"kind": "something else"}, [])  # ignored
    widget.close()


class WatchedLock:
    """The engine lock, telling the test when a request starts waiting for background work's step."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.request_waits = threading.Event()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if timeout == BACKGROUND_STEP_WAIT:
            self.request_waits.set()
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    __enter__ = acquire

    def __exit__(self, *exc) -> None:
        self.release()


def test_background_work_waits_for_a_queued_request_and_a_request_waits_only_one_step():
    jobs = LatestWins()
    gate, ran, looks, looked = threading.Event(), [], [], threading.Event()

    def still_wanted() -> bool:
        looks.append(1)
        if len(looks) >= 3:
            looked.set()
        return True

    jobs.submit(lambda still_wanted: gate.wait(20), jobs.new_request(), lambda done, total: None)
    background = threading.Thread(target=lambda: ran.append(jobs.run_when_free(lambda: "map", still_wanted)))
    background.start()
    assert looked.wait(20)  # it looked at the engine twice and more while the request was queued
    assert ran == []  # the queued request holds the engine: background work waits
    gate.set()
    background.join(20)
    assert ran == ["map"]

    jobs._lock = lock = WatchedLock()
    step, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=lambda: jobs.run_when_free(lambda: (step.set(), release.wait(20)), lambda: True))
    holder.start()
    assert step.wait(20)
    answers = []
    request = threading.Thread(target=lambda: answers.append(jobs.run_inline(lambda w: answers.append("ran"), 1)))
    request.start()
    assert lock.request_waits.wait(20)
    assert jobs._waiting == 1  # the request waits for the step instead of queueing behind it
    release.set()
    request.join(20)
    holder.join(20)
    assert answers == ["ran", True]


def test_a_closed_explorer_stops_its_prefetch_thread_and_is_collected():
    model, image = tiny_cnn(), random_image(0)
    widget = Explorer(model, image)
    sent = []
    widget.send = lambda content, buffers=None: sent.append(content)  # (monkeypatch would keep the widget)
    widget._prefetch_live = True
    widget.layer = widget.layers[0]["name"]  # a map shown: the background thread starts
    thread = widget._prefetcher._thread
    assert thread is not None and thread.is_alive()
    assert widget._prefetcher.wait_idle(60) and sent[-1]["kind"] == "prefetch"
    widget.close()
    assert not thread.is_alive()
    refs = [weakref.ref(obj) for obj in (widget, model, image)]
    del widget, model, image
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]

"""A burst of control changes faster than the engine ends on exactly the final state's map."""

import random
import threading

import numpy as np
import pytest
import torch

from tests.models import random_image, tiny_cnn
from xai_widgets import Explorer, Session
from xai_widgets.engine import get_method
from xai_widgets.widgets.serialize import decode_map

FAST = ["gradcam", "gradcam++", "layercam", "eigencam", "saliency", "gradxinput", "guided_backprop"]
SLOW = {
    "smoothgrad": lambda rng: {"samples": rng.choice([8, 16, 32]), "seed": rng.randrange(5)},
    "integrated_gradients": lambda rng: {"steps": rng.choice([8, 16, 64])},
    "occlusion": lambda rng: {"window": rng.choice([8, 16]), "stride": rng.choice([4, 8])},
    "scorecam": lambda rng: {},
    "ablationcam": lambda rng: {},
}


def random_change(widget: Explorer, rng: random.Random) -> None:
    """One user move: a layer, a class, a fast or slow method (with its parameters), or parameters alone."""
    kind = rng.choice(["layer", "target", "fast", "slow", "slow", "params"])
    with widget.hold_trait_notifications():  # method + params in one message, as the front end sends them
        if kind == "layer":
            widget.layer = rng.choice(widget.layers)["name"]
        elif kind == "target":
            widget.target = rng.randrange(10)
        elif kind == "fast":
            widget.method, widget.method_params = rng.choice(FAST), {}
        elif kind == "slow" or widget.method not in SLOW:
            widget.method = rng.choice(sorted(SLOW))
            widget.method_params = SLOW[widget.method](rng)
        else:
            widget.method_params = SLOW[widget.method](rng)


def fresh_map(image, key: dict) -> np.ndarray:
    """The final state's map from a new Session: no cache, no widget."""
    spec = get_method(key["method"])
    layer = key["layer"] if spec.uses_layer else None
    return Session(tiny_cnn(), image).attribution(spec.name, layer=layer, target=key["target"], **key["params"]).numpy()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_burst_of_fifty_changes_ends_on_the_final_state(seed):
    image = random_image(seed, size=64)
    widget = Explorer(tiny_cnn(), image)
    jobs = widget._jobs
    published = []  # (newest request when it was published, key), in publication order
    widget.observe(lambda change: published.append((jobs._generation, change["new"]["key"])), names="result")
    rng = random.Random(seed)
    for _ in range(50):
        random_change(widget, rng)
    final_generation, final_key = jobs._generation, widget._key()
    widget.wait()

    assert widget.result["key"] == final_key and widget.result["error"] is None
    np.testing.assert_allclose(decode_map(widget.result), fresh_map(image, final_key), rtol=1e-5, atol=1e-7)
    after_final = [key for generation, key in published if generation == final_generation]
    assert after_final == [final_key]  # published once, and nothing stale once it was asked for
    assert published[-1][1] == final_key
    assert len(published) < 50  # the engine was outpaced: stale slow work was dropped, not shown
    assert widget.progress == {}
    widget.close()


def test_a_newer_request_waits_for_a_delivery_in_progress():
    """The check "still the newest?" and the publish are one step: a request made meanwhile comes after."""
    from xai_widgets.widgets.jobs import LatestWins

    jobs = LatestWins()
    generation = jobs.new_request()
    order, started = [], threading.Event()

    def newer_request() -> None:
        started.set()
        jobs.new_request()
        order.append("newer request")

    def publish() -> None:
        helper.start()
        assert started.wait(10)
        order.append("published")

    helper = threading.Thread(target=newer_request)
    assert jobs.deliver(generation, publish)
    helper.join(10)
    assert order == ["published", "newer request"]
    assert not jobs.deliver(generation, lambda: order.append("stale"))  # too late now
    assert order == ["published", "newer request"]


def test_two_explorers_and_a_script_on_one_train_mode_model_each_end_on_their_own_final_state():
    """The burst, shared: two widgets take turns on one model while a script explains it in a
    thread; each widget ends on its own final map, and the model keeps its mode and weights."""
    from xai_widgets import explain

    model = tiny_cnn().train()
    state = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    images = [random_image(seed, size=64) for seed in (3, 4)]
    widgets = [Explorer(model, image) for image in images]
    stop, errors = threading.Event(), []

    def script() -> None:
        try:
            while not stop.is_set():
                explain(model, random_image(5), method="gradcam")
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    worker = threading.Thread(target=script)
    worker.start()
    rng = random.Random(7)
    for _ in range(30):
        random_change(rng.choice(widgets), rng)
    for widget in widgets:
        widget.wait()
    stop.set()
    worker.join()

    assert errors == [] and model.training
    for name, tensor in model.state_dict().items():
        assert torch.equal(tensor, state[name]), name
    for widget, image in zip(widgets, images, strict=True):
        key = widget._key()
        assert widget.result["key"] == key and widget.result["error"] is None
        spec = get_method(key["method"])
        want = Session(model, image).attribution(
            spec.name, layer=key["layer"] if spec.uses_layer else None, target=key["target"], **key["params"]
        )
        np.testing.assert_allclose(decode_map(widget.result), want.numpy(), rtol=1e-5, atol=1e-7)
        widget.close()

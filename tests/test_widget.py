"""The Explorer's traits, driven from Python as the front end drives them (no browser)."""

import numpy as np
import pytest
import torch

from tests.models import random_image, tiny_cnn
from xai_widgets import Explorer, explain
from xai_widgets.widgets.serialize import decode_map


class CountingSession:
    """Counts engine attribution calls made by a widget."""

    def __init__(self, widget):
        self.calls = 0
        original = widget._session_for

        def counted(key):
            session = original(key)
            if not getattr(session, "_counted", False):
                inner = session.attribution

                def attribution(*args, **kwargs):
                    self.calls += 1
                    return inner(*args, **kwargs)

                session.attribution = attribution
                session._counted = True
            return session

        widget._session_for = counted


@pytest.fixture
def explorer():
    images = {"a": random_image(0), "b": random_image(1)}
    return Explorer(tiny_cnn(), images, labels=[f"thing {i}" for i in range(10)])


def shown(widget) -> np.ndarray:
    assert widget.result["error"] is None, widget.result["error"]
    return decode_map(widget.result)


def test_initial_state(explorer):
    assert explorer.image_names == ["a", "b"]
    assert explorer.layer == "features"  # the last spatial layer
    assert [layer["name"] for layer in explorer.layers][-1] == "features"
    assert explorer.layers[0] == {"name": "features.0", "shape": [8, 32, 32]}
    assert len(explorer.top_classes) == 5
    assert explorer.target == explorer.top_classes[0]["index"]
    assert explorer.top_classes[0]["label"] == f"thing {explorer.target}"
    probs = [c["prob"] for c in explorer.top_classes]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0 + 1e-6
    assert explorer.photo[:8] == b"\x89PNG\r\n\x1a\n"
    assert {m["name"] for m in explorer.methods} >= {"gradcam", "saliency"}
    expected = explain(tiny_cnn(), random_image(0), layer="features", target=explorer.target)
    np.testing.assert_allclose(shown(explorer), expected.numpy(), rtol=1e-6)
    assert explorer.result["shape"] == [16, 16]
    assert len(explorer.result["data"]) == 16 * 16 * 4  # native resolution, float32


def test_layer_class_and_method_changes_update_the_map(explorer):
    first = shown(explorer).copy()
    explorer.layer = "features.0"
    assert explorer.result["key"]["layer"] == "features.0"
    assert shown(explorer).shape == (32, 32)
    explorer.layer = "features"
    np.testing.assert_array_equal(shown(explorer), first)
    explorer.target = explorer.top_classes[1]["index"]
    assert not np.array_equal(shown(explorer), first)
    np.testing.assert_allclose(
        shown(explorer), explain(tiny_cnn(), random_image(0), target=explorer.target).numpy(), rtol=1e-6
    )
    explorer.method = "saliency"
    assert shown(explorer).shape == (32, 32)
    expected = explain(tiny_cnn(), random_image(0), method="saliency", target=explorer.target)
    np.testing.assert_allclose(shown(explorer), expected.numpy(), rtol=1e-6)


def test_image_change_selects_the_new_top_class(explorer):
    explorer.image_index = 1
    assert explorer.result["key"]["image_index"] == 1
    assert explorer.target == explorer.top_classes[0]["index"]
    expected = explain(tiny_cnn(), random_image(1), target=explorer.target)
    np.testing.assert_allclose(shown(explorer), expected.numpy(), rtol=1e-6)


def test_opacity_and_colormap_never_reach_the_engine(explorer):
    counter = CountingSession(explorer)
    seq = explorer.result["seq"]
    explorer.opacity = 0.9
    explorer.colormap = "viridis"
    assert counter.calls == 0 and explorer.result["seq"] == seq
    explorer.layer = "features.3"
    assert counter.calls == 1 and explorer.result["seq"] == seq + 1


def test_every_result_key_matches_the_controls(explorer):
    for layer in ("features.0", "features.3", "features"):
        for target in (0, 4):
            explorer.layer, explorer.target = layer, target
            assert explorer.result["key"] == {
                "image_index": 0,
                "layer": layer,
                "method": "gradcam",
                "target": target,
                "target_spec": {},
                "push": {},
                "params": {},
            }


def test_an_engine_error_shows_in_the_widget_and_it_stays_usable(explorer):
    explorer.target = 42
    assert "out of range" in explorer.result["error"]
    assert explorer.result["key"]["target"] == 42
    explorer.target = 3
    assert explorer.result["error"] is None and shown(explorer).shape == (16, 16)


def test_unnamed_classes_are_numbered():
    widget = Explorer(tiny_cnn(), random_image(0))
    assert widget.labels == [f"class {i}" for i in range(10)]
    assert widget.image_names == ["image 0"]


def test_unknown_method_fails_early_with_the_list():
    with pytest.raises(ValueError, match="gradcam"):
        Explorer(tiny_cnn(), random_image(0), method="nope")


def test_close_frees_the_sessions(explorer):
    session = explorer.session()
    explorer.close()
    assert session.logits is None


def test_demo_model_in_the_widget(demo_assets):
    model, images, labels, transform = demo_assets
    widget = Explorer(model, images, labels=labels, transform=transform)
    assert widget.image_names[0] == "coffee"
    assert widget.top_classes[0]["label"] == "espresso"
    assert widget.result["shape"] == [7, 7]
    assert widget.layers[-1] == {"name": "_swish", "shape": [1280, 7, 7]}
    widget.image_index = widget.image_names.index("chelsea")
    assert widget.top_classes[0]["label"] in {"tiger cat", "Egyptian cat", "tabby"}
    assert torch.is_tensor(widget.session().logits)


def test_method_parameters_reach_the_engine(explorer):
    explorer.method = "occlusion"
    explorer.method_params = {"window": 8, "stride": 8}
    explorer.wait()
    assert explorer.result["key"]["params"] == {"window": 8, "stride": 8}
    expected = explain(tiny_cnn(), random_image(0), method="occlusion", target=explorer.target)
    coarse = explorer.attribution()
    assert coarse.shape == (32, 32) and not np.allclose(coarse, expected.numpy())  # not the default window
    from xai_widgets import Session

    session = Session(tiny_cnn(), random_image(0))
    reference = session.attribution("occlusion", target=explorer.target, window=8, stride=8)
    np.testing.assert_allclose(coarse, reference.numpy(), rtol=1e-5, atol=1e-8)


def test_a_bad_parameter_is_a_readable_error(explorer):
    explorer.method = "smoothgrad"
    explorer.method_params = {"variant": "loud"}
    explorer.wait()
    assert "must be one of mean, squared, var" in explorer.result["error"]


def test_catalogue_entries_describe_their_parameters(explorer):
    entries = {m["name"]: m for m in explorer.methods}
    assert entries["occlusion"]["slow"] and not entries["gradcam"]["slow"]
    assert [p["name"] for p in entries["integrated_gradients"]["params"]] == ["steps", "baseline"]
    assert entries["smoothgrad"]["params"][2]["choices"] == ["mean", "squared", "var"]
    assert entries["eigencam"]["uses_target"] is False

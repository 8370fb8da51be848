"""Bad input gets a clear message, and the model comes out unharmed (the catalogue in bad_inputs.py)."""

import re

import numpy as np
import pytest
import torch

from tests.bad_inputs import CASES, MLP, Case
from tests.models import random_image, tiny_cnn
from tests.test_model_untouched import assert_same, snapshot
from xai_widgets import Explorer, Session
from xai_widgets.widgets.serialize import decode_map


@pytest.mark.parametrize("case", CASES, ids=[case.problem for case in CASES])
def test_bad_input(case: Case, tmp_path):
    model = case.model()
    before = snapshot(model)
    try:
        if case.error is not None:
            with pytest.raises(case.error, match=case.match) as raised:
                case.call(model, tmp_path)
            assert type(raised.value) is case.error  # the specific class, not only a base
        else:
            outcome = case.call(model, tmp_path)
            assert outcome.attribution.dim() == 2 and outcome.attribution.numel() > 0
            assert bool(torch.isfinite(outcome.attribution.float()).all())
            for pattern in case.notes:
                assert any(re.search(pattern, note) for note in outcome.notes), (pattern, outcome.notes)
            assert len(outcome.notes) == len(case.notes), outcome.notes  # no unexplained notes
    finally:
        assert_same(before, snapshot(model))


def test_the_catalogue_is_broad():
    assert len(CASES) >= 30
    assert len({case.problem for case in CASES}) == len(CASES)
    assert sum(case.error is None for case in CASES) >= 10 and sum(case.error is not None for case in CASES) >= 20


def test_output_choice_gives_the_same_map_as_a_plain_model():
    """output= reaches the batched forwards too: SmoothGrad on (features, logits) equals the plain CNN's."""
    from tests.bad_inputs import Returns

    wrapped = Session(Returns("features-first"), random_image(), output=1)
    plain = Session(tiny_cnn(), random_image())
    for method, params in (("gradcam", {}), ("smoothgrad", {"samples": 3}), ("ablationcam", {})):
        layer = "net.features" if method != "smoothgrad" else None
        torch.testing.assert_close(
            wrapped.attribution(method, layer=layer, target=2, **params),
            plain.attribution(method, layer=layer and "features", target=2, **params),
        )
    assert wrapped.notes == [] and wrapped.layers[-1].name == "net.features"


def test_explain_issues_the_notes_as_warnings():
    from xai_widgets import explain

    with pytest.warns(UserWarning, match="grayscale: its channel was repeated"):
        explain(tiny_cnn(), np.zeros((32, 32), np.uint8))


def test_the_widget_shows_each_error_and_stays_usable():
    model = tiny_cnn()
    before = snapshot(model)
    widget = Explorer(model, {"ok": random_image(0), "missing": "/no/such/file.png"}, labels=list("abcdefghij"))
    good_key = dict(widget.result["key"])
    bad = [
        ({"target": 42}, r"Class 42 is out of range.*from 0 to 9"),
        ({"layer": "feature.3"}, r"Did you mean 'features\.3'"),
        ({"layer": "fc"}, r"Layer 'fc' has no spatial"),
        ({"method": "gradcamm"}, r"Unknown method 'gradcamm'; choose one of"),
        ({"method": "smoothgrad", "method_params": {"samples": 0}}, r"'samples' of SmoothGrad must be at least 1"),
        ({"method": "occlusion", "method_params": {"stride": "wide"}}, r"'stride' of Occlusion must be an int"),
        ({"image_index": 1}, r"Image file not found: '/no/such/file\.png'\. Check the path"),
    ]
    for changes, message in bad:
        with widget.hold_trait_notifications():
            for name, value in changes.items():
                setattr(widget, name, value)
        widget.wait()
        assert re.search(message, widget.result["error"] or ""), (changes, widget.result["error"])
        assert widget.result["key"] == widget._key() and "data" not in widget.result
        widget.image_index, widget.method, widget.method_params = 0, "gradcam", {}
        widget.layer, widget.target = good_key["layer"], good_key["target"]
    widget.method = "saliency"
    assert widget.result["error"] is None
    expected = Session(tiny_cnn(), random_image(0)).attribution("saliency", target=good_key["target"])
    np.testing.assert_allclose(decode_map(widget.result), expected.numpy(), rtol=1e-6)
    widget.close()
    assert_same(before, snapshot(model))


def test_a_model_without_spatial_layers_in_the_widget():
    widget = Explorer(MLP(), random_image(0))
    assert widget.layers == [] and widget.layer == ""
    assert "no layer with a spatial" in widget.result["error"]
    widget.method = "saliency"
    assert widget.result["error"] is None and decode_map(widget.result).shape == (32, 32)
    widget.method = "guided_backprop"
    assert "needs nn.ReLU" in widget.result["error"]
    widget.close()


def test_the_widget_takes_an_output_choice():
    from tests.bad_inputs import Returns

    widget = Explorer(Returns("features-first"), random_image(0), output=1)
    assert widget.result["error"] is None and widget.layer == "net.features"
    plain = Session(tiny_cnn(), random_image(0)).attribution("gradcam", target=widget.target)
    np.testing.assert_allclose(decode_map(widget.result), plain.numpy(), rtol=1e-6)
    widget.close()

"""A model changed after its forward was kept, a model written for one image at a time, and an
explicit layer name the model does not have: each is noticed, said, and never gives a stale
or silently different map."""

import pytest
import torch
from torch import nn

from tests.bad_inputs import BatchOfOne, train_one_step
from tests.models import random_image, tiny_cnn
from xai_widgets import Explorer, Session
from xai_widgets.engine import LayerError, ModelChangedError, grad_cam_batch
from xai_widgets.engine.model_calls import one_at_a_time_note


def fresh_map(model: nn.Module, image: torch.Tensor, method: str = "gradcam", **kwargs) -> torch.Tensor:
    session = Session(model, image)
    try:
        return session.attribution(method, **kwargs)
    finally:
        session.close()


def test_a_session_refuses_to_map_after_a_layer_is_replaced_and_after_training():
    model = tiny_cnn()
    session = Session(model, random_image())
    assert session.model_change() is None
    session.attribution("gradcam", target=1)
    train_one_step(model)
    assert "weights changed ('fc.weight', 'fc.bias'" in session.model_change()
    with pytest.raises(ModelChangedError, match="make a new Session"):
        session.attribution("gradcam", target=1)  # even though this map is cached: it is stale
    fresh = Session(model, random_image())
    model.features[0] = nn.Conv2d(3, 8, 3, padding=1)
    assert fresh.model_change() == "its layers changed (replaced 'features.0')"


def test_the_explorer_runs_the_image_again_when_the_model_changed():
    model, image = tiny_cnn(), random_image()
    widget = Explorer(model, image, target=2)
    before = widget.attribution().copy()
    train_one_step(model)
    widget.refresh()
    after = widget.attribution()
    torch.testing.assert_close(torch.from_numpy(after), fresh_map(model, image, target=2))
    assert not torch.allclose(torch.from_numpy(after), torch.from_numpy(before))
    assert any("model changed since the last map (its weights changed" in note for note in widget.notes)
    widget.close()


def test_a_new_head_changes_the_explorers_classes_on_the_next_control_change():
    model, image = tiny_cnn(), random_image()
    widget = Explorer(model, image, labels=[str(i) for i in range(10)])
    model.fc = nn.Linear(16, 3)
    widget.method = "gradcam++"
    assert len(widget.top_classes) == 3 and len(widget.labels) == 3
    assert widget.result["error"] is None and widget.result["key"]["method"] == "gradcam++"
    torch.testing.assert_close(
        torch.from_numpy(widget.attribution()), fresh_map(model, image, "gradcam++", target=widget.target)
    )
    assert any("replaced 'fc'" in note for note in widget.notes)
    widget.close()


@pytest.mark.parametrize(
    "method, params",
    [
        ("scorecam", {}),
        ("ablationcam", {}),
        ("occlusion", {"window": 8, "stride": 8}),
        ("smoothgrad", {"samples": 4}),
        ("rise", {"masks": 16}),
    ],
)
def test_a_model_written_for_one_image_gives_the_batched_models_maps(method, params):
    single, batched = BatchOfOne().eval(), tiny_cnn()  # the same weights
    layer = "net.features" if method in ("scorecam", "ablationcam") else None
    session = Session(single, random_image())
    got = session.attribution(method, layer=layer, target=3, **params)
    want = fresh_map(batched, random_image(), method, layer=layer and "features", target=3, **params)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    assert any("fails on a batch of" in note and "one at a time" in note for note in session.notes)
    assert one_at_a_time_note(batched) is None


def test_grad_cam_batch_feeds_a_batch_of_one_model_image_by_image_and_warns():
    single, batched = BatchOfOne().eval(), tiny_cnn()
    images = torch.stack([random_image(seed) for seed in range(5)])
    with pytest.warns(UserWarning, match="fails on a batch of 5 images"):
        got = grad_cam_batch(single, images, layer="net.features", targets=[1, 2, 3, 4, 5])
    want = grad_cam_batch(batched, images, layer="features", targets=[1, 2, 3, 4, 5])
    torch.testing.assert_close(got, want)


def test_a_model_that_fails_on_one_image_too_gets_its_own_error():
    class Broken(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net, self.calls = tiny_cnn(), 0

        def forward(self, x):
            self.calls += 1
            if self.calls > 1:
                raise RuntimeError("broken after the first call")
            return self.net(x)

    session = Session(Broken(), random_image())
    with pytest.raises(RuntimeError, match="broken after the first call"):
        session.attribution("scorecam", layer="net.features")


def test_the_explorer_shows_the_one_at_a_time_note_after_the_first_batched_map():
    widget = Explorer(BatchOfOne().eval(), random_image(), method="scorecam")
    widget.wait()
    assert widget.result["error"] is None
    assert any("one at a time" in note for note in widget.notes)
    widget.close()


def test_an_explicit_layer_the_model_lacks_is_refused_with_close_names():
    with pytest.raises(LayerError, match=r"no layer named 'features\.9'\. Did you mean 'features\.4'"):
        Explorer(tiny_cnn(), random_image(), layer="features.9")
    widget = Explorer(tiny_cnn(), random_image(), layer="features.3")
    assert widget.layer == "features.3" and widget.result["key"]["layer"] == "features.3"
    widget.close()
    missing = Explorer(tiny_cnn(), "/no/such/file.png", layer="features.9")  # the image's error comes first
    assert "Image file not found" in missing.result["error"]
    missing.close()


def test_a_parameter_replaced_by_a_new_one_is_noticed():
    model = tiny_cnn()
    session = Session(model, random_image())
    model.fc.weight = nn.Parameter(model.fc.weight.detach().clone())  # same values, another tensor
    assert session.model_change() == "its weights changed ('fc.weight': trained or loaded since)"

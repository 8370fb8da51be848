"""FeatureMaps: a layer's channels from the kept forward, each scaled on its own, sorted by
mean activation or by the class's Grad-CAM weight, with no new forward for any control."""

import gc
import weakref

import numpy as np
import pytest
import torch

from tests.models import random_image, tiny_cnn
from tests.vit_models import tiny_vit
from xai_widgets import Explorer, FeatureMaps, Session


def forwards(model) -> list:
    calls = []
    model.register_forward_hook(lambda *_: calls.append(1))
    return calls


def atlas(widget) -> np.ndarray:
    return np.frombuffer(widget.atlas, np.uint8).reshape(widget.atlas_shape)


def test_each_channel_is_scaled_by_its_own_range():
    model = tiny_cnn()
    widget = FeatureMaps(model, random_image(), layer="features.0")
    activation = Session(model, random_image()).activation("features.0")[0]
    low = activation.flatten(1).min(1).values[:, None, None]
    high = activation.flatten(1).max(1).values[:, None, None]
    want = torch.round((activation - low) / (high - low) * 255).to(torch.uint8).numpy()
    assert widget.atlas_shape == [8, 32, 32] and np.array_equal(atlas(widget), want)
    assert widget.channel_stats["mean"] == pytest.approx(activation.flatten(1).mean(1).tolist(), abs=1e-6)
    assert widget.title == "features.0: 8 channels of 32×32"
    np.testing.assert_allclose(widget.channel(3), activation[3].numpy())
    widget.close()


def test_sorts_follow_the_mean_and_the_grad_cam_weight_with_no_new_forward():
    model = tiny_cnn()
    calls = forwards(model)
    widget = FeatureMaps(model, random_image(), target=4)
    assert len(calls) == 1
    session = widget.session
    mean = session.activation("features")[0].flatten(1).mean(1)
    weight = session.gradient("features", 4)[0].mean(dim=(-2, -1))
    widget.sort = "activation"
    assert widget.order == torch.argsort(mean, descending=True, stable=True).tolist()
    widget.sort = "contribution"
    assert widget.order == torch.argsort(weight, descending=True, stable=True).tolist()
    # the weights rebuild the Grad-CAM map: the sort is by exactly what Grad-CAM uses
    cam = torch.relu(
        (torch.tensor(widget.channel_stats["weight"])[:, None, None] * session.activation("features")[0]).sum(0)
    )
    torch.testing.assert_close(cam, session.attribution("gradcam", layer="features", target=4), rtol=1e-4, atol=1e-6)
    widget.target, widget.layer = 7, "features.0"
    assert widget.atlas_shape == [8, 32, 32] and len(widget.channel_stats["weight"]) == 8
    assert len(calls) == 1  # layer, class and sort reuse the kept forward
    widget.close()


def test_of_an_explorer_shares_its_session():
    model = tiny_cnn()
    explorer = Explorer(model, [random_image(0), random_image(1)], target=2)
    explorer.image_index = 1
    calls = forwards(model)
    widget = FeatureMaps.of(explorer, sort="activation")
    assert calls == [] and widget.session is explorer.session()
    assert widget.layer == explorer.layer and widget.target == explorer.target
    widget.close()
    assert explorer.session().input is not None  # the Explorer's session is not freed by the grid
    explorer.close()


def test_errors_are_shown_and_bad_choices_are_refused():
    widget = FeatureMaps(tiny_cnn(), random_image())
    widget.layer = "fc"
    assert "no spatial" in widget.error
    widget.layer = "features"
    assert widget.error == ""
    with pytest.raises(ValueError, match="sort must be one of index, activation, contribution"):
        FeatureMaps(tiny_cnn(), random_image(), sort="mean")
    widget.close()


def test_token_layers_of_a_vit_show_their_patch_grid():
    model = tiny_vit()
    widget = FeatureMaps(model, random_image(), sort="contribution")
    count, height, width = widget.atlas_shape
    assert (height, width) == (4, 4) and count == widget.session.activation(widget.layer).shape[1]
    widget.close()


def test_a_closed_grid_lets_its_model_and_image_go():
    model, image = tiny_cnn(), torch.rand(3, 32, 32)
    widget = FeatureMaps(model, image)
    refs = [weakref.ref(model), weakref.ref(image), weakref.ref(widget)]
    widget.close()
    del widget, model, image
    gc.collect()
    assert [ref() is None for ref in refs] == [True] * 3

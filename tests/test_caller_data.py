"""The caller's data is read, never written, and the names it gives are taken as meant:
an in-place transform never reaches the caller's tensor, labels may be a dict, a string is
refused, a list of the wrong length is noted, top_k must be at least 1."""

import numpy as np
import pytest
import torch
from torchvision.transforms import Normalize

from tests.models import random_image, tiny_cnn
from xai_widgets import Compare, Explorer, Session, explain
from xai_widgets.engine import TargetError, grad_cam_batch

IN_PLACE = Normalize(mean=[0.5, 0.5, 0.5], std=[0.2, 0.2, 0.2], inplace=True)


@pytest.mark.parametrize(
    "call",
    [
        lambda model, image: Session(model, image, transform=IN_PLACE),
        lambda model, image: explain(model, image, transform=IN_PLACE),
        lambda model, image: Explorer(model, [image], transform=IN_PLACE).close(),
        lambda model, image: grad_cam_batch(model, [image], transform=IN_PLACE),
    ],
    ids=["Session", "explain", "Explorer", "grad_cam_batch"],
)
@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 3, 32, 32)])
def test_an_in_place_transform_never_writes_into_the_callers_tensor(call, shape):
    image = random_image(0).reshape(shape)
    before = image.clone()
    call(tiny_cnn(), image)
    assert torch.equal(image, before)


def test_a_numpy_image_is_left_as_it_was():
    image = (np.random.default_rng(0).random((32, 32, 3)) * 255).astype(np.uint8)
    before = image.copy()
    explain(tiny_cnn(), image, transform=lambda pil: IN_PLACE(torch.as_tensor(np.array(pil)).permute(2, 0, 1) / 255))
    assert np.array_equal(image, before)


def test_labels_as_a_dict_name_their_classes_and_the_rest_are_numbered():
    widget = Explorer(tiny_cnn(), random_image(0), labels={0: "zero", 3: "three"})
    try:
        assert widget.labels[:4] == ["zero", "class 1", "class 2", "three"] and len(widget.labels) == 10
        assert any("8 of the model's 10 classes have no name" in note for note in widget.notes)
    finally:
        widget.close()


def test_labels_as_one_string_are_refused_with_the_fix():
    with pytest.raises(TypeError, match=r"labels='cat' is one string; pass a list of class names"):
        Explorer(tiny_cnn(), random_image(0), labels="cat")
    with pytest.raises(TypeError, match=r"one string"):
        Compare(tiny_cnn(), random_image(0), labels="cat", methods=["gradcam"])


def test_a_longer_label_list_is_noted_not_cut_silently():
    names = [f"n{i}" for i in range(12)]
    widget = Explorer(tiny_cnn(), random_image(0), labels=names)
    try:
        assert widget.labels == names[:10]
        assert any("labels has 12 names but the model scores 10 classes" in note for note in widget.notes)
    finally:
        widget.close()


@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_top_k_must_be_at_least_one(k):
    with pytest.raises(TargetError, match="top_k must be a whole number of classes to list, at least 1"):
        Explorer(tiny_cnn(), random_image(0), top_k=k)
    with pytest.raises(TargetError, match="top_k must be"):
        Session(tiny_cnn(), random_image(0)).top_k(k)

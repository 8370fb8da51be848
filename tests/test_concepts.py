"""Deep Feature Factorization: agrees with pytorch-grad-cam's DFF (the same factorisation error,
the same concept maps and embeddings up to order and scale) on the demo model and on a CNN
trained here; class votes are the classifier read on each embedding; the Concepts widget shows
them and stays usable; the model and the input are untouched."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pytorch_grad_cam.feature_factorization.deep_feature_factorization import dff as reference_dff
from torch import nn

from xai_widgets import Concepts, Explorer, demo
from xai_widgets.engine import ExplainError, Session
from xai_widgets.engine.concepts import deep_feature_factorization, factorise
from xai_widgets.widgets.serialize import decode_map

from .models import random_image, tiny_cnn


def layer_activation(model: nn.Module, x: torch.Tensor, layer: str) -> np.ndarray:
    recorded = {}
    hook = dict(model.named_modules())[layer].register_forward_hook(lambda m, i, o: recorded.setdefault("a", o))
    with torch.no_grad():
        model(x)
    hook.remove()
    return recorded["a"].detach().numpy().copy()


def reference(activation: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float]:
    """pytorch-grad-cam's DFF: concepts (C × k, offset added), maps (k × h·w), relative error."""
    concepts, explanations = reference_dff(activation.copy(), n_components=k)
    values = activation[0].reshape(activation.shape[1], -1)
    offset = values.min(axis=1)
    shifted = values - offset[:, None]
    maps = explanations[0].reshape(k, -1)
    error = np.linalg.norm(shifted - (concepts - offset[:, None]) @ maps) / np.linalg.norm(shifted)
    return concepts - offset[:, None], maps, float(error)


def match(ours: np.ndarray, theirs: np.ndarray) -> np.ndarray:
    """For each of our rows, the correlation with its best-matching reference row (one to one)."""
    k = len(ours)
    corr = np.corrcoef(np.vstack([ours, theirs]))[:k, k:]
    order = corr.argmax(axis=1)
    assert sorted(order.tolist()) == list(range(k)), corr  # a permutation
    return corr[np.arange(k), order]


def check_against_reference(model, image, transform, layer: str, k: int) -> None:
    ours = deep_feature_factorization(model, image, layer=layer, concepts=k, transform=transform)
    x = transform(image)[None] if transform is not None else image[None]
    activation = layer_activation(model, x, layer)
    their_concepts, their_maps, their_error = reference(activation, k)
    assert ours.error <= their_error * 1.01 + 1e-6, (ours.error, their_error)
    assert match(ours.maps.reshape(k, -1).numpy(), their_maps).min() > 0.99
    offset = activation[0].reshape(activation.shape[1], -1).min(axis=1)
    shifted_embeddings = ours.embeddings.numpy() - offset[None, :]  # W, without the offset
    assert match(shifted_embeddings, their_concepts.T).min() > 0.99  # the same W, each at its own scale


@pytest.mark.parametrize("name", ["coffee", "chelsea"])
def test_the_demo_model_agrees_with_pytorch_grad_cam(name):
    model, images, _, transform = demo.load()
    check_against_reference(model, images[name], transform, "_bn1", 4)


def test_a_cnn_trained_here_agrees_with_pytorch_grad_cam():
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32)[:, None] / 16
    y = torch.tensor(digits.target)
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 10),
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(80):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimiser.step()
    model.eval()
    assert (model(x).argmax(1) == y).float().mean() > 0.85
    check_against_reference(model, x[0], None, "3", 3)


def test_votes_are_the_classifier_on_each_embedding_and_the_error_falls_with_k():
    model, images, _, transform = demo.load()
    session = Session(model, images["coffee"], transform=transform)
    errors = []
    for k in (2, 4, 8):
        found = deep_feature_factorization(model, None, layer="_bn1", concepts=k, session=session)
        errors.append(found.error)
        assert found.maps.shape == (k, 7, 7) and bool((found.maps >= 0).all())
        assert torch.allclose(found.maps.flatten(1).amax(dim=1), torch.ones(k))  # each map peaks at 1
        by_hand = model._fc(found.embeddings).softmax(dim=1)
        for votes, row in zip(found.votes(3), by_hand, strict=True):
            assert [index for index, _ in votes] == row.topk(3).indices.tolist()
            assert votes[0][1] == pytest.approx(float(row.max()), rel=1e-5)
    assert errors[0] > errors[1] > errors[2]


def test_factorise_recovers_an_exact_non_negative_product():
    generator = torch.Generator().manual_seed(0)
    w, h = torch.rand(20, 3, generator=generator), torch.rand(3, 30, generator=generator)
    found_w, found_h = factorise(w @ h, 3, 300)
    assert float((w @ h - found_w @ found_h).norm() / (w @ h).norm()) < 1e-3


def test_bad_choices_say_what_to_fix_and_the_model_and_input_are_untouched():
    model, image = tiny_cnn(), random_image(1)
    kept_image, kept_weights = image.clone(), {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(ExplainError, match="concepts must be a whole number from 1 to"):
        deep_feature_factorization(model, image, concepts=0)
    with pytest.raises(ExplainError, match="no layer named|close|Unknown layer|not a layer"):
        deep_feature_factorization(model, image, layer="nope")
    found = deep_feature_factorization(model, image, concepts=3, classifier=None)
    assert found.scores is not None  # the tiny CNN's head reads the pooled channels
    assert torch.equal(image, kept_image)
    assert all(torch.equal(v, kept_weights[k]) for k, v in model.state_dict().items())


# -- the widget --------------------------------------------------------------------------


def test_the_widget_shows_each_concept_with_its_votes():
    model, images, labels, transform = demo.load()
    widget = Concepts(model, images["coffee"], labels=labels, transform=transform, layer="_bn1", concepts=4)
    found = widget.factorisation()
    assert widget.title.startswith("4 concepts of _bn1") and len(widget.concept_maps) == 4
    for index, entry in enumerate(widget.legend):
        np.testing.assert_allclose(decode_map(widget.concept_maps[index]), found.maps[index].numpy(), rtol=1e-6)
        assert [vote["index"] for vote in entry["votes"]] == [c for c, _ in found.votes(3)[index]]
        assert entry["votes"][0]["label"] == labels[entry["votes"][0]["index"]]
        assert entry["color"].startswith("#")
    widget.count = 3
    assert len(widget.concept_maps) == 3 and widget.error == ""
    widget.selected = 2
    widget.count = 2
    assert widget.selected == -1  # the chosen concept no longer exists
    widget.layer = "_blocks.10"
    assert widget.title.startswith("2 concepts of _blocks.10")
    widget.close()


def test_the_widget_shares_an_explorers_session_and_survives_a_bad_choice():
    model, image = tiny_cnn(), random_image(2)
    explorer = Explorer(model, image)
    widget = Concepts.of(explorer, concepts=2)
    assert widget.session is explorer.session() and widget.error == ""
    widget.count = 500
    assert "concepts must be a whole number" in widget.error and widget.concept_maps == []
    widget.count = 3
    assert widget.error == "" and len(widget.legend) == 3
    widget.close()
    assert explorer.session().logits is not None  # the Explorer's session is not closed
    with pytest.raises(ExplainError, match="concepts must be"):
        Concepts(model, image, concepts=0)

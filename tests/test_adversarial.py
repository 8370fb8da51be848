"""Adversarial pushes: FGSM equals a direct loop, PGD stays in its ball, the smallest flip of a
linear model is the margin over the weights' L1 distance, and nothing of the caller's changes."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tests.models import random_image, tiny_cnn
from tests.test_model_untouched import assert_same, snapshot
from xai_widgets.engine import ExplainError, TargetError
from xai_widgets.engine.adversarial import push, smallest_flip


def direct_fgsm(model: nn.Module, image: torch.Tensor, epsilon: float, target: int, toward: bool) -> torch.Tensor:
    """The textbook step, on a copy of the model (it writes .grad)."""
    model = copy.deepcopy(model).eval()
    x = image[None].clone().requires_grad_(True)
    F.cross_entropy(model(x), torch.tensor([target])).backward()
    return (x - epsilon * x.grad.sign() if toward else x + epsilon * x.grad.sign())[0].detach()


def test_fgsm_away_and_toward_equal_a_direct_loop():
    model, image = tiny_cnn(), random_image(3)
    predicted = int(model.eval()(image[None]).argmax())
    away = push(model, image, 0.05)
    torch.testing.assert_close(away.image, direct_fgsm(model, image, 0.05, predicted, toward=False))
    assert away.away == predicted and away.original_predicted == predicted and away.toward is None
    assert away.predicted == int(model(away.image[None]).argmax())
    toward = push(model, image, 0.05, toward=7)
    torch.testing.assert_close(toward.image, direct_fgsm(model, image, 0.05, 7, toward=True))
    assert toward.perturbation.abs().max() == pytest.approx(0.05)


def test_pgd_stays_in_its_ball_and_raises_the_aimed_class_at_least_as_much_as_fgsm():
    model, image = tiny_cnn().eval(), random_image(5)
    fgsm = push(model, image, 0.03, toward=2)
    pgd = push(model, image, 0.03, toward=2, steps=10)
    assert pgd.steps == 10 and float(pgd.perturbation.abs().max()) <= 0.03 + 1e-6
    probability = lambda x: float(model(x[None]).detach().softmax(dim=1)[0, 2])  # noqa: E731
    assert probability(pgd.image) >= probability(fgsm.image) - 1e-6
    assert probability(pgd.image) > probability(image)


def linear_model() -> nn.Module:
    generator = torch.Generator().manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(48, 2))
    with torch.no_grad():
        model[1].weight.copy_(torch.randn(2, 48, generator=generator))
        model[1].bias.zero_()
    return model.eval()


def test_the_smallest_flip_of_a_linear_model_is_its_margin_over_the_weights_l1_distance():
    model, image = linear_model(), random_image(2, size=4)
    logits = model(image[None])[0].detach()
    winner, loser = int(logits.argmax()), int(logits.argmin())
    weights = model[1].weight.detach()
    exact = float((logits[winner] - logits[loser]) / (weights[winner] - weights[loser]).abs().sum())
    found = smallest_flip(model, image, largest=5.0, tolerance=1e-4)
    assert found is not None and found.flipped and found.predicted == loser
    assert exact <= found.epsilon <= exact + 1e-4
    assert not push(model, image, exact * 0.99).flipped
    assert smallest_flip(model, image, largest=exact / 2) is None


def test_the_callers_image_and_model_are_left_alone():
    model, image = tiny_cnn().train(), random_image(4)
    model.fc.weight.grad = torch.full_like(model.fc.weight, 0.25)
    before, kept = snapshot(model), image.clone()
    push(model, image, 0.1, steps=3, toward=1)
    smallest_flip(model, image, largest=0.2, tolerance=0.05)
    assert torch.equal(image, kept)
    assert_same(before, snapshot(model))


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        (dict(epsilon=-0.1), ExplainError, "epsilon must be a number of at least 0"),
        (dict(epsilon=0.1, steps=0), ExplainError, "steps must be a whole number of at least 1"),
        (dict(epsilon=0.1, toward=1, away=2), TargetError, "not both"),
        (dict(epsilon=0.1, toward=10), TargetError, r"toward=10 is not a class of this model \(0 … 9\)"),
        (dict(epsilon=0.1, away=True), TargetError, "away must be a class index"),
    ],
)
def test_bad_arguments_are_named(arguments, error, message):
    with pytest.raises(error, match=message):
        push(tiny_cnn(), random_image(0), **arguments)

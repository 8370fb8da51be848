"""The model comes back exactly as it went in, after success and after failure."""

import pytest
import torch
from torch import nn

from tests.models import tiny_cnn
from xai_widgets import Session, explain
from xai_widgets.engine import ExplainError, LayerError, MethodError, TargetError

HOOK_DICTS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks", "_state_dict_hooks")


def snapshot(model: nn.Module) -> dict:
    return {
        "hooks": {name: {d: len(getattr(m, d)) for d in HOOK_DICTS} for name, m in model.named_modules()},
        "training": {name: m.training for name, m in model.named_modules()},
        "requires_grad": {name: p.requires_grad for name, p in model.named_parameters()},
        "grad": {name: None if p.grad is None else p.grad.clone() for name, p in model.named_parameters()},
        # quantized models keep packed parameters (dtypes, tuples) beside tensors: compare what is a tensor
        # (and a meta model's tensors have no values to compare)
        "state": {
            name: t.clone() for name, t in model.state_dict().items() if isinstance(t, torch.Tensor) and not t.is_meta
        },
    }


def assert_same(before: dict, after: dict) -> None:
    assert after["hooks"] == before["hooks"]
    assert after["training"] == before["training"]
    assert after["requires_grad"] == before["requires_grad"]
    for name, grad in before["grad"].items():
        if grad is None:
            assert after["grad"][name] is None, name
        else:
            assert torch.equal(after["grad"][name], grad), name
    for name, value in before["state"].items():
        assert torch.equal(after["state"][name], value), name  # bit-identical, BN statistics included


def awkward_model() -> nn.Module:
    """Training mode, some frozen parameters, some stale .grad: all must survive."""
    model = tiny_cnn().train()
    model.features[0].weight.requires_grad_(False)
    model.fc.weight.grad = torch.full_like(model.fc.weight, 0.5)
    model.features[2].eval()  # a mixed set of per-module flags
    return model


class ExplodingModel(nn.Module):
    """Raises half-way through the forward, after the hooks are in place."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.head = nn.Conv2d(4, 4, 3)

    def forward(self, x):
        x = self.head(self.conv(x))
        raise RuntimeError("boom")


CALLS = {
    "gradcam": lambda m, x: explain(m, x, method="gradcam", layer="features.3", target=1),
    "gradcam-default": lambda m, x: explain(m, x),
    "saliency": lambda m, x: explain(m, x, method="saliency", target=2),
    "session-many": lambda m, x: [
        Session(m, x).attribution("gradcam", layer=n, target=t) for n in ("features.0", "features") for t in (0, 5)
    ],
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
@pytest.mark.parametrize("grad_mode", ["enabled", "no_grad", "inference_mode"])
def test_model_unchanged_after_success(call, grad_mode, image):
    model = awkward_model()
    before = snapshot(model)
    context = {"enabled": torch.enable_grad, "no_grad": torch.no_grad, "inference_mode": torch.inference_mode}[
        grad_mode
    ]
    with context():
        result = call(model, image)
    assert result is not None
    assert_same(before, snapshot(model))


FAILURES = {
    "unknown layer": (lambda m, x: explain(m, x, layer="features.99"), LayerError, "features.99"),
    "class out of range": (lambda m, x: explain(m, x, target=10), TargetError, "0 to 9"),
    "negative class": (lambda m, x: Session(m, x).attribution("gradcam", target=-1), TargetError, "out of range"),
    "unknown method": (lambda m, x: explain(m, x, method="nope"), MethodError, "gradcam"),
    "batch of images": (lambda m, x: explain(m, torch.stack([x, x])), ExplainError, "one image"),
}


@pytest.mark.parametrize("call,error,words", FAILURES.values(), ids=FAILURES.keys())
def test_model_unchanged_after_failure(call, error, words, image):
    model = awkward_model()
    before = snapshot(model)
    with pytest.raises(error, match=words):
        call(model, image)
    assert_same(before, snapshot(model))


def test_hooks_removed_when_forward_raises(image):
    model = ExplodingModel().train()
    before = snapshot(model)
    with pytest.raises(RuntimeError, match="boom"):
        Session(model, image)
    assert_same(before, snapshot(model))


def test_unknown_layer_message_suggests_close_names(image):
    with pytest.raises(LayerError, match=r"Did you mean 'features.3'"):
        explain(tiny_cnn(), image, layer="features.33")


def test_training_mode_is_explained_in_eval_mode(image):
    model = awkward_model()
    in_train = Session(model, image)
    in_eval = Session(tiny_cnn(), image)
    torch.testing.assert_close(in_train.logits, in_eval.logits)
    assert any("training mode" in note for note in in_train.notes)
    assert model.training

"""The default class is the logits' argmax, as every peer's is, also when the logits are tiny or
tied (random weights): their softmax rounds to equal float32 probabilities."""

import torch
from torch import nn

from xai_widgets import Explorer, Session, explain
from xai_widgets.engine.session import Session as EngineSession


def tiny_logits_model(scale: float) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 50)).eval()
    with torch.no_grad():
        model[1].weight.mul_(scale)
        model[1].bias.zero_()
    return model


def test_tiny_logits_rank_by_the_logits_not_their_rounded_probabilities():
    model, x = tiny_logits_model(1e-9), torch.rand(3, 2, 2, generator=torch.Generator().manual_seed(1))
    logits = model(x[None])[0]
    session = Session(model, x)
    assert len(set(session.probabilities.tolist())) == 1  # the softmax cannot tell them apart
    assert [index for index, _ in session.top_k(5)] == logits.argsort(descending=True)[:5].tolist()
    assert session.check_target(None) == int(logits.argmax())
    assert Explorer(model, x, method="saliency").target == int(logits.argmax())
    torch.testing.assert_close(
        explain(model, x, method="saliency"), explain(model, x, method="saliency", target=int(logits.argmax()))
    )


def test_exact_ties_give_the_first_index_as_argmax_does():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 6)).eval()
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.copy_(torch.tensor([0.0, 1.0, 3.0, 3.0, 1.0, 3.0]))
    session = EngineSession(model, torch.rand(3, 2, 2))
    assert [index for index, _ in session.top_k(4)] == [2, 3, 5, 1]

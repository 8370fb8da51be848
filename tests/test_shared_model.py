"""One model, several users at once: this library's calls take turns on a per-model lock, the
last user restores the training flags, and its hooks act only on its own calls, so a user's
concurrent forward of the same model is never touched."""

import threading

import pytest
import torch
from torch import nn

from tests.models import random_image, tiny_cnn
from xai_widgets import Explorer, Session, explain
from xai_widgets.engine.model_calls import FULL, NARROWED, layer_swap_scores


def _train_mode_model() -> nn.Module:
    model = tiny_cnn()
    model.train()
    return model


def _state(model: nn.Module) -> dict:
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


def test_sessions_in_many_threads_leave_a_train_mode_model_as_it_was():
    model = _train_mode_model()
    before = _state(model)
    errors = []

    def work(seed: int) -> None:
        try:
            for _ in range(5):
                explain(model, random_image(seed), method="gradcam")
                Session(model, random_image(seed)).attribution("scorecam")
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    explorer = Explorer(model, [random_image(9)])
    for thread in threads:
        thread.start()
    explorer.method = "ablationcam"
    explorer.wait()
    for thread in threads:
        thread.join()
    explorer.close()
    assert errors == []
    assert all(module.training for module in model.modules())
    after = model.state_dict()
    assert all(torch.equal(before[name], after[name]) for name in before)  # BatchNorm statistics included


class UserForwardInside(nn.Module):
    """While the library's own call runs (its hooks registered), a user thread runs a plain
    forward of the same layers, and the forward waits for it: a deterministic interleaving."""

    def __init__(self, user_at_call: int) -> None:
        super().__init__()
        self.net = tiny_cnn().eval()
        self.batch = torch.stack([random_image(i) for i in range(4)])
        self.user_outputs: list[torch.Tensor] = []
        self.calls, self.user_at_call = 0, user_at_call

    def forward(self, x):
        self.calls += 1
        if self.calls != self.user_at_call:
            return self.net(x)

        def user() -> None:
            with torch.no_grad():
                self.user_outputs.append(self.net(self.batch))

        thread = threading.Thread(target=user)
        thread.start()
        thread.join()
        return self.net(x)


@pytest.mark.parametrize(
    "method, user_at_call",  # ablation: the session's forward, the call count, then the swapped tail
    [("ablationcam", 3), ("gradcam", 1), ("guided_backprop", 2), ("scorecam", 2), ("rise", 2)],
)
def test_a_users_plain_forward_in_another_thread_is_not_touched_by_our_hooks(method, user_at_call):
    model = UserForwardInside(user_at_call).eval()
    with torch.no_grad():
        expected = model.net(model.batch)
    explain(model, random_image(0), method=method, layer="net.features.3" if "cam" in method else None)
    assert model.user_outputs and all(out.shape == (4, 10) for out in model.user_outputs)
    assert all(torch.allclose(out, expected, atol=1e-6) for out in model.user_outputs)


class ReadsBatchSize(nn.Module):
    """Like EfficientNet-Lite: the batch size is read from the input and used after the layers."""

    def __init__(self) -> None:
        super().__init__()
        self.net = tiny_cnn()

    def forward(self, x):
        bs = x.size(0)
        features = self.net.pool(self.net.features(x))
        return self.net.fc(features.view(bs, -1))


def test_ablation_runs_only_the_tail_for_a_model_that_reads_its_batch_size():
    torch.manual_seed(0)
    model = ReadsBatchSize().eval()
    x = random_image(0)[None]
    activation = Session(model, x).activation("net.features.3")
    channels = activation.shape[1]
    ablated = activation.repeat(channels, 1, 1, 1)
    ablated[torch.arange(channels), torch.arange(channels)] = 0
    calls = []
    model.net.features[0].register_forward_hook(lambda _m, inputs, _o: calls.append(inputs[0].shape[0]))
    way: list[str] = []
    narrowed = layer_swap_scores(model, x, "net.features.3", ablated, 2, batch_size=5, way=way)
    assert way == [NARROWED]
    # the stem ran on one image for each chunk (after the count and the one-time check)
    assert calls[-2:] == [1, 1]
    reference = layer_swap_scores(model, x, "net.features.3", ablated, 2, batch_size=5, way=[FULL])
    torch.testing.assert_close(narrowed, reference, rtol=1e-5, atol=1e-6)


def test_the_session_says_when_ablation_takes_the_slow_path():
    class FixedBatch(nn.Module):  # uses the batch size inside the layers below: no shortcut works
        def __init__(self) -> None:
            super().__init__()
            self.net = tiny_cnn()

        def forward(self, x):
            bs = x.size(0)
            h = self.net.features[0](x).reshape(bs, -1).reshape(bs, 8, 32, 32)
            for layer in list(self.net.features)[1:]:
                h = layer(h)
            return self.net.fc(self.net.pool(h).view(bs, -1))

    model = FixedBatch().eval()
    session = Session(model, random_image(0))
    slow = session.attribution("ablationcam", layer="net.features.3")
    assert any("slow path" in note for note in session.notes)
    fast = Session(tiny_cnn().eval(), random_image(0))
    torch.testing.assert_close(slow, fast.attribution("ablationcam", layer="features.3"), rtol=1e-4, atol=1e-6)
    assert not any("slow path" in note for note in fast.notes)

"""torchvision's ViT-B/16 and Swin-T (random weights): token layers, the patch grid, the
default layer, attention capture through nn.MultiheadAttention, and the model untouched."""

import pytest
import torch
import torch.nn.functional as F
from torchvision.models import swin_t, vit_b_16

from tests.reference import reference_channels_last_grad_cam, reference_rollout, reference_token_grad_cam
from xai_widgets.engine import LayerError, Session

LAST_BLOCK = "encoder.layers.encoder_layer_11"


@pytest.fixture(scope="module")
def vit():
    torch.manual_seed(0)
    model = vit_b_16().eval()
    torch.nn.init.normal_(model.heads.head.weight, std=0.05)  # torchvision zero-initialises the head
    return model


@pytest.fixture(scope="module")
def vit_session(vit):
    image = torch.rand(3, 224, 224, generator=torch.Generator().manual_seed(1))
    return vit, image[None], Session(vit, image)


def test_transformer_blocks_are_listed_as_token_layers(vit_session):
    _, _, session = vit_session
    layers = {info.name: info for info in session.layers}
    for block in ("encoder.layers.encoder_layer_0", LAST_BLOCK):
        info = layers[block]
        assert info.kind == "tokens" and info.shape == (768, 14, 14) and info.layout.prefix == 1
    assert layers["conv_proj"].kind == "spatial"
    assert not any("self_attention" in name for name in layers)  # attention outputs are tuples, not maps


def test_default_layer_is_the_last_whose_patch_tokens_get_a_gradient(vit_session):
    _, _, session = vit_session
    assert session.default_layer == f"{LAST_BLOCK}.ln_1"
    assert any("get no gradient" in note for note in session.notes)
    with pytest.raises(LayerError, match="get no gradient.*prefix \\(CLS\\) token.*encoder_layer_11.ln_1"):
        session.attribution("gradcam", layer=LAST_BLOCK)
    assert session.attribution("eigencam", layer=LAST_BLOCK).shape == (14, 14)  # needs no gradient


@pytest.mark.parametrize("layer", [f"{LAST_BLOCK}.ln_1", "encoder.layers.encoder_layer_6"])
def test_token_grad_cam_equals_a_hand_written_reshape_transform(vit_session, layer):
    model, x, session = vit_session
    target = session.top_k(2)[1][0]
    ours = session.attribution("gradcam", layer=layer, target=target)
    expected = reference_token_grad_cam(model, x, model.get_submodule(layer), target, prefix=1, grid=(14, 14))
    assert expected.abs().max() > 0
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-6 * float(expected.abs().max()))


def test_multihead_attention_weights_are_captured_per_head(vit_session):
    model, _, session = vit_session
    assert len(session.attention_layers) == 12
    assert session.attention_layers[0] == "encoder.layers.encoder_layer_0.self_attention"
    probabilities = session.attention(-1)
    assert probabilities.shape == (12, 197, 197)
    torch.testing.assert_close(probabilities.sum(dim=-1), torch.ones(12, 197))
    # the same weights, asked of the module directly on the input it saw
    block = model.get_submodule(LAST_BLOCK)
    tokens = session._activations[f"{LAST_BLOCK}.ln_1"].detach()
    with torch.no_grad():
        _, expected = block.self_attention(tokens, tokens, tokens, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(probabilities, expected[0], rtol=1e-4, atol=1e-6)


def test_attention_maps_read_the_cls_row(vit_session):
    _, _, session = vit_session
    probabilities = session.attention(3)
    torch.testing.assert_close(
        session.attribution("attention", block=3, head=5), probabilities[5, 0, 1:].reshape(14, 14)
    )
    torch.testing.assert_close(
        session.attribution("attention", block=3), probabilities.mean(dim=0)[0, 1:].reshape(14, 14)
    )
    rollout = session.attribution("rollout", head_fusion="max", discard_ratio=0.5)
    expected = reference_rollout([session.attention(i) for i in range(12)], "max", 0.5, prefix=1)
    torch.testing.assert_close(rollout.double().flatten(), expected, rtol=1e-4, atol=1e-7)


def test_the_model_and_its_outputs_are_untouched(vit):
    x = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(2))
    state = {k: v.clone() for k, v in vit.state_dict().items()}
    with torch.no_grad():
        before = vit(x)
    session = Session(vit, x)
    session.attribution("gradrollout")
    torch.testing.assert_close(session.logits.detach(), before, rtol=1e-4, atol=1e-5)
    assert F.scaled_dot_product_attention is torch._C._nn.scaled_dot_product_attention
    assert all(torch.equal(state[k], v) for k, v in vit.state_dict().items())
    for module in vit.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks
        assert not module.__dict__.get("_forward_hooks_with_kwargs")
    assert all(p.grad is None for p in vit.parameters())
    with torch.no_grad():
        torch.testing.assert_close(vit(x), before)


def test_swin_channels_last_stages_are_layers_and_grad_cam_works():
    torch.manual_seed(0)
    model = swin_t().eval()
    x = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(3))
    session = Session(model, x)
    layers = {info.name: info for info in session.layers}
    assert layers["features.7.1"].kind == "channels_last" and layers["features.7.1"].shape == (768, 7, 7)
    assert layers["features.1.1"].shape == (96, 56, 56)
    assert session.default_layer == "permute"  # the last map: channels first again before pooling
    target = session.top_k(1)[0][0]
    ours = session.attribution("gradcam", layer="features.7.1", target=target)
    expected = reference_channels_last_grad_cam(model, x, model.get_submodule("features.7.1"), target)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-6 * float(expected.abs().max()))
    with pytest.raises(LayerError, match="windowed attention such as Swin's"):
        session.attribution("rollout")

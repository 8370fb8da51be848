"""Attention capture and token maps on timm-style ViTs built in the test: fused and explicit
attention, prefix tokens (CLS, distillation, registers), mean pooling and non-square grids."""

import pytest
import torch
import torch.nn.functional as F

from tests.reference import reference_gradient_rollout, reference_rollout, reference_token_grad_cam
from tests.vit_models import tiny_vit
from xai_widgets.engine import LayerError, MethodError, Session


def _image(size=(32, 32), seed=0):
    return torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(seed))


def _explicit_attention(model, x):
    """Every block's attention probabilities, recomputed from the block inputs by hand."""
    inputs = []
    handles = [block.attn.register_forward_hook(lambda m, i, o: inputs.append(i[0])) for block in model.blocks]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
    result = []
    for block, tokens in zip(model.blocks, inputs, strict=True):
        attn = block.attn
        qkv = attn.qkv(tokens).reshape(1, tokens.shape[1], 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)
        q, k, _ = qkv
        result.append(((q @ k.transpose(-2, -1)) * attn.scale).softmax(-1)[0])
    return result


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "explicit"])
def test_attention_is_captured_from_fused_and_explicit_modules(fused):
    model = tiny_vit(depth=3, fused=fused)
    x = _image()
    session = Session(model, x)
    assert session.attention_layers == ["blocks.0.attn", "blocks.1.attn", "blocks.2.attn"]
    for name, expected in zip(session.attention_layers, _explicit_attention(model, x), strict=True):
        torch.testing.assert_close(session.attention(name), expected, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        torch.testing.assert_close(session.logits.detach(), model(x), rtol=1e-5, atol=1e-6)
    assert not any(".attn_drop" in info.name for info in session.layers)  # probabilities are not feature maps
    assert F.scaled_dot_product_attention is torch._C._nn.scaled_dot_product_attention
    assert all(block.attn.fused_attn is fused for block in model.blocks)


@pytest.mark.parametrize(
    ("options", "prefix"),
    [({}, 1), ({"dist_token": True}, 2), ({"registers": 4}, 5), ({"cls_token": False, "pool": "mean"}, 0)],
    ids=["cls", "cls+dist", "cls+4 registers", "mean-pooled"],
)
def test_prefix_tokens_are_found_and_dropped(options, prefix):
    model = tiny_vit(**options)
    x = _image()
    session = Session(model, x)
    info = next(i for i in session.layers if i.name == "blocks.0")
    assert (info.kind, info.layout.prefix, info.shape) == ("tokens", prefix, (32, 4, 4))
    target = session.top_k(1)[0][0]
    expected = reference_token_grad_cam(model, x, model.blocks[0], target, prefix=prefix, grid=(4, 4))
    torch.testing.assert_close(session.attribution("gradcam", layer="blocks.0", target=target), expected)


def test_non_square_inputs_give_non_square_grids():
    model = tiny_vit(image_size=(32, 48), registers=2)
    x = _image((32, 48))
    session = Session(model, x)
    assert {i.name: i.shape for i in session.layers}["blocks.1.norm1"] == (32, 4, 6)
    for method in ("gradcam", "layercam", "eigencam", "rollout", "gradrollout", "attention"):
        assert session.attribution(method).shape == (4, 6), method
    target = session.top_k(1)[0][0]
    expected = reference_token_grad_cam(model, x, model.blocks[1].norm1, target, prefix=3, grid=(4, 6))
    torch.testing.assert_close(session.attribution("gradcam", layer="blocks.1.norm1", target=target), expected)


def test_cls_readout_makes_the_last_blocks_patch_tokens_dead_and_the_default_avoids_them():
    session = Session(tiny_vit(depth=2), _image())
    assert session.default_layer == "blocks.1.norm1"
    with pytest.raises(LayerError, match="'blocks.1' get no gradient"):
        session.attribution("gradcam", layer="blocks.1")
    mean_pooled = Session(tiny_vit(depth=2, cls_token=False, pool="mean"), _image())
    assert mean_pooled.default_layer == "norm"  # every patch token reaches the mean: the last layer works


@pytest.mark.parametrize(("fusion", "discard"), [("mean", 0.0), ("max", 0.9), ("min", 0.3)])
def test_rollout_matches_the_written_out_formula(fusion, discard):
    session = Session(tiny_vit(depth=3, registers=1), _image())
    attentions = [session.attention(name) for name in session.attention_layers]
    expected = reference_rollout(attentions, fusion, discard, prefix=2).reshape(4, 4)
    ours = session.attribution("rollout", head_fusion=fusion, discard_ratio=discard)
    torch.testing.assert_close(ours.double(), expected, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "explicit"])
def test_gradient_rollout_uses_the_attention_gradients_of_the_target(fused):
    model = tiny_vit(depth=3, fused=fused)
    x = _image()
    session = Session(model, x)
    target = session.top_k(3)[2][0]
    # independent gradients: explicit attention with tensor hooks, one full backward
    model_explicit = tiny_vit(depth=3, fused=False)
    kept, grads = [], {}
    handles = []
    for index, block in enumerate(model_explicit.blocks):

        def keep(_m, _i, out, index=index):
            kept.append(out.detach())
            out.register_hook(lambda g: grads.__setitem__(index, g[0]))

        handles.append(block.attn.attn_drop.register_forward_hook(keep))
    try:
        model_explicit(x)[0, target].backward()
    finally:
        for handle in handles:
            handle.remove()
    expected = reference_gradient_rollout([a[0] for a in kept], [grads[i] for i in range(3)], prefix=1)
    ours = session.attribution("gradrollout", target=target)
    torch.testing.assert_close(ours.double(), expected.reshape(4, 4), rtol=1e-4, atol=1e-7)
    other = session.attribution("gradrollout", target=session.top_k(1)[0][0])
    assert not torch.allclose(ours, other)  # class-specific


def test_attention_requests_that_cannot_be_met_say_what_to_do():
    session = Session(tiny_vit(depth=2, heads=4), _image())
    with pytest.raises(MethodError, match="Head 4 does not exist: block 'blocks.1.attn' has 4 heads, so pick 0 to 3"):
        session.attribution("attention", head=4)
    with pytest.raises(LayerError, match="Attention block 5 does not exist: the model has 2 attention blocks"):
        session.attribution("attention", block=5)
    with pytest.raises(MethodError, match="discard_ratio must be at least 0 and below 1"):
        session.attribution("rollout", discard_ratio=1.0)


def test_grouped_query_attention_through_sdpa_is_recorded_and_unchanged():
    from xai_widgets.engine.attention_capture import AttentionRecorder

    class GroupedQuery(torch.nn.Module):
        def forward(self, q, k, v):
            return F.scaled_dot_product_attention(q, k, v, enable_gqa=True)

    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, heads, 5, 8, generator=generator) for heads in (4, 2, 2))
    model = GroupedQuery()
    expected = model(q, k, v)
    with AttentionRecorder(model) as recorder:
        out = model(q, k, v)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-6)
    (record,) = recorder.records.values()
    probabilities = record.probabilities()
    k_shared = k.repeat_interleave(2, dim=1)
    torch.testing.assert_close(probabilities, ((q @ k_shared.transpose(-2, -1)) / 8**0.5).softmax(-1)[0])
    assert list(recorder.records) == ["attention"]

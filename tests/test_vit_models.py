"""The small test ViTs: shapes of every token layout, fused == non-fused attention, the digits data."""

import pytest
import torch
import torch.nn.functional as F

from tests.vit_models import TimmStyleAttention, TinyViT, digits_data, tiny_vit

VARIANTS = {
    "cls": dict(image_size=32, patch=8),
    "mean": dict(image_size=32, patch=8, cls_token=False, pool="mean"),
    "dist": dict(image_size=32, patch=8, dist_token=True),
    "registers": dict(image_size=32, patch=8, registers=4),
    "dist+registers": dict(image_size=32, patch=8, dist_token=True, registers=2),
    "non-square": dict(image_size=(32, 48), patch=8),
    "non-square-mean": dict(image_size=(32, 48), patch=8, registers=1, pool="mean"),
}
EXPECTED = {  # name: (grid, prefix tokens)
    "cls": ((4, 4), 1),
    "mean": ((4, 4), 0),
    "dist": ((4, 4), 2),
    "registers": ((4, 4), 5),
    "dist+registers": ((4, 4), 4),
    "non-square": ((4, 6), 1),
    "non-square-mean": ((4, 6), 2),
}


def _inputs(model: TinyViT, batch: int = 3) -> torch.Tensor:
    height, width = model.grid[0] * model.patch_embed.stride[0], model.grid[1] * model.patch_embed.stride[1]
    return torch.rand(batch, model.patch_embed.in_channels, height, width, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("name", list(VARIANTS))
def test_token_layout_and_output_shape(name):
    model = tiny_vit(0, **VARIANTS[name])
    grid, prefix = EXPECTED[name]
    assert model.grid == grid and model.prefix == prefix
    assert model.pos_embed.shape == (1, prefix + grid[0] * grid[1], 32)
    assert not model.training
    x = _inputs(model)
    assert x.shape[-2:] == ((32, 48) if "non-square" in name else (32, 32))
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (3, 10)
    assert torch.isfinite(logits).all()
    assert (logits[0] - logits[1]).abs().max() > 1e-4  # different images, different logits


@pytest.mark.parametrize("name", list(VARIANTS))
def test_fused_and_unfused_attention_give_the_same_logits(name):
    fused = tiny_vit(0, **VARIANTS[name])
    unfused = tiny_vit(0, **VARIANTS[name], fused=False)
    for a, b in zip(fused.state_dict().values(), unfused.state_dict().values(), strict=True):
        assert torch.equal(a, b)  # same seed, same weights: only the attention path differs
    assert all(m.fused_attn for m in fused.modules() if isinstance(m, TimmStyleAttention))
    assert not any(m.fused_attn for m in unfused.modules() if isinstance(m, TimmStyleAttention))
    x = _inputs(fused)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), unfused(x), atol=1e-5, rtol=0)


def test_fused_path_looks_up_sdpa_at_call_time(monkeypatch):
    calls = []
    original = F.scaled_dot_product_attention

    def spy(q, k, v, *args, **kwargs):
        calls.append((tuple(q.shape), kwargs.get("dropout_p")))
        return original(q, k, v, *args, **kwargs)

    monkeypatch.setattr(F, "scaled_dot_product_attention", spy)
    model = tiny_vit(0, image_size=(32, 48), patch=8, depth=3, heads=4, registers=2)
    with torch.no_grad():
        model(_inputs(model, batch=2))
    assert calls == [((2, 4, 3 + 24, 8), 0.0)] * 3  # B × heads × N × head_dim, once per block, no eval dropout
    calls.clear()
    for module in model.modules():
        if isinstance(module, TimmStyleAttention):
            module.fused_attn = False
    with torch.no_grad():
        model(_inputs(model, batch=2))
    assert calls == []


def test_attention_layout_matches_timm():
    attention = tiny_vit(0).blocks[0].attn
    assert (attention.num_heads, attention.head_dim) == (4, 8)
    assert attention.scale == pytest.approx(8**-0.5)
    assert attention.qkv.in_features == 32 and attention.qkv.out_features == 96
    assert isinstance(attention.attn_drop, torch.nn.Dropout) and isinstance(attention.proj_drop, torch.nn.Dropout)
    assert attention.proj.in_features == attention.proj.out_features == 32


def test_seeded_construction_is_deterministic():
    a, b, c = tiny_vit(3), tiny_vit(3), tiny_vit(4)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))
    assert not torch.equal(a.head.weight, c.head.weight)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(image_size=30, patch=8),  # not a multiple of the patch
        dict(image_size=32, patch=8, pool="max"),
        dict(image_size=32, patch=8, cls_token=False),  # pool="cls" without a cls token
        dict(image_size=32, patch=8, dist_token=True, pool="mean"),
    ],
)
def test_bad_configurations_are_refused(kwargs):
    with pytest.raises(ValueError):
        TinyViT(**kwargs)


def test_digits_data():
    images, labels = digits_data()
    assert images.shape == (1797, 1, 8, 8) and images.dtype == torch.float32
    assert labels.shape == (1797,) and labels.dtype == torch.int64
    assert images.min() == 0.0 and images.max() == 1.0
    assert set(labels.tolist()) == set(range(10))
    assert torch.bincount(labels).min() >= 170  # about 180 of each digit

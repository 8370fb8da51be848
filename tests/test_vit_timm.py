"""timm's own ViTs (random weights, built offline): fused attention, distillation and
register tokens, non-square inputs. Skipped where timm is not installed (it is in the
``test`` extra)."""

import copy

import pytest
import torch
import torch.nn.functional as F

from tests.reference import reference_token_grad_cam
from xai_widgets.engine import Session

timm = pytest.importorskip("timm")


def _model(name: str, **kwargs):
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, **kwargs).eval()
    torch.nn.init.normal_(model.head.weight, std=0.05)
    return model


@pytest.mark.parametrize(
    ("name", "kwargs", "size", "prefix", "grid"),
    [
        ("vit_tiny_patch16_224", {}, (224, 224), 1, (14, 14)),
        ("deit_tiny_distilled_patch16_224", {}, (224, 224), 2, (14, 14)),
        ("vit_small_patch14_reg4_dinov2", {"img_size": 224, "num_classes": 10}, (224, 224), 5, (16, 16)),
        ("vit_tiny_patch16_224", {"img_size": (224, 320)}, (224, 320), 1, (14, 20)),
    ],
    ids=["vit", "deit-distilled", "dinov2-registers", "non-square"],
)
def test_timm_vits_need_no_reshape_transform(name, kwargs, size, prefix, grid):
    model = _model(name, **kwargs)
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(1))
    assert model.blocks[0].attn.fused_attn  # timm's default: F.scaled_dot_product_attention
    with torch.no_grad():
        expected_logits = model(x)
    session = Session(model, x)
    torch.testing.assert_close(session.logits.detach(), expected_logits, rtol=1e-4, atol=1e-5)
    info = next(i for i in session.layers if i.name == "blocks.0")
    assert (info.layout.prefix, (info.layout.height, info.layout.width)) == (prefix, grid)
    assert session.default_layer == "blocks.11.norm1"
    assert len(session.attention_layers) == 12 and session.attention(0).shape[-1] == prefix + grid[0] * grid[1]
    assert session.attribution("rollout").shape == grid
    target = session.top_k(1)[0][0]
    reference = reference_token_grad_cam(model, x, model.blocks[6], target, prefix=prefix, grid=grid)
    torch.testing.assert_close(
        session.attribution("gradcam", layer="blocks.6", target=target),
        reference,
        rtol=1e-4,
        atol=1e-6 * float(reference.abs().max()),
    )
    assert (
        model.blocks[0].attn.fused_attn and F.scaled_dot_product_attention is torch._C._nn.scaled_dot_product_attention
    )


def test_fused_and_explicit_timm_attention_are_recorded_alike():
    fused = _model("vit_tiny_patch16_224")
    explicit = copy.deepcopy(fused)
    for block in explicit.blocks:
        block.attn.fused_attn = False  # timm's own switch to its softmax path
    x = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(2))
    ours, theirs = Session(fused, x), Session(explicit, x)
    for name in ours.attention_layers:
        torch.testing.assert_close(ours.attention(name), theirs.attention(name), rtol=1e-4, atol=1e-6)
    target = ours.top_k(1)[0][0]
    torch.testing.assert_close(
        ours.attribution("gradrollout", target=target),
        theirs.attribution("gradrollout", target=target),
        rtol=1e-3,
        atol=1e-6,
    )

"""LeGrad on small ViTs with seeded random weights (built offline, no downloads).

torchvision's VisionTransformer is checked against torchcam 0.5's ``LeGrad`` (unnormalised
maps). torchcam's LeGrad only hooks ``nn.MultiheadAttention`` blocks, so timm's ViT, timm's
distilled DeiT and the package's mean-pooled TinyViT are checked against a reference written
here from the paper with plain autograd: explicit (non-fused) attention on a copy of the model,
each block's mean-pooled tokens through the final norm and head, ReLU of the gradient w.r.t.
that block's attention, mean over heads and queries, prefix keys dropped, mean over blocks.

Tolerance: 1e-5 relative, plus 1e-6 of the map's maximum (float32; the engine computes the
same gradients through the same kept graph, so differences are rounding only).
"""

import copy

import pytest
import torch
import torch.nn.functional as F
from torchcam.methods import LeGrad as TorchcamLeGrad
from torchvision.models.vision_transformer import VisionTransformer

import xai_widgets.engine.methods.legrad  # noqa: F401  (registers "legrad")
from tests.models import random_image, tiny_cnn
from tests.vit_models import tiny_vit
from xai_widgets.engine import LayerError, MethodError, Session, explain, get_method

timm = pytest.importorskip("timm")


def _image(size: int = 32, seed: int = 1) -> torch.Tensor:
    return torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed))


def _torchvision_vit() -> VisionTransformer:
    torch.manual_seed(0)
    model = VisionTransformer(
        image_size=32, patch_size=8, num_layers=3, num_heads=4, hidden_dim=32, mlp_dim=64, num_classes=10
    ).eval()
    torch.nn.init.normal_(model.heads.head.weight, std=0.5)  # torchvision zero-initialises the head
    return model


def _timm_vit(distilled: bool = False) -> torch.nn.Module:
    torch.manual_seed(0)
    cls = timm.models.deit.VisionTransformerDistilled if distilled else timm.models.vision_transformer.VisionTransformer
    model = cls(img_size=32, patch_size=8, embed_dim=32, depth=3, num_heads=4, num_classes=10).eval()
    for head in (model.head, getattr(model, "head_dist", None)):
        if head is not None:
            torch.nn.init.normal_(head.weight, std=0.5)
    return model


def _close(ours: torch.Tensor, expected: torch.Tensor) -> None:
    assert float(expected.abs().max()) > 0
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-6 * float(expected.abs().max()))


def _torchcam_map(model: torch.nn.Module, x: torch.Tensor, target: int, first: int) -> torch.Tensor:
    with TorchcamLeGrad(model, list(model.encoder.layers)[first:]) as extractor:
        scores = model(x)
        return extractor(target, scores, normalized=False)[0][0]


def reference_legrad(model: torch.nn.Module, x: torch.Tensor, target: int, prefix: int, first: int = 0):
    """LeGrad from the paper with plain autograd, on a timm-style ViT (``blocks[i].attn.attn_drop``)."""
    model = copy.deepcopy(model)
    attention, tokens = [], []
    handles = []
    for block in model.blocks:
        block.attn.fused_attn = False  # probabilities pass through attn_drop, where a hook keeps them

        def keep(_module, _inputs, output):
            kept = output.clone()
            attention.append(kept)
            return kept

        handles.append(block.attn.attn_drop.register_forward_hook(keep))
        handles.append(block.register_forward_hook(lambda _m, _i, output: tokens.append(output)))
    model(x.clone().requires_grad_(True))
    for handle in handles:
        handle.remove()
    maps = []
    for probabilities, block_tokens in list(zip(attention, tokens, strict=True))[first:]:
        pooled = model.norm(block_tokens.mean(dim=1))
        pooled = model.fc_norm(pooled) if hasattr(model, "fc_norm") else pooled
        scores = model.head(pooled)
        if getattr(model, "head_dist", None) is not None:
            scores = (scores + model.head_dist(pooled)) / 2
        (grad,) = torch.autograd.grad(scores[0, target], probabilities, retain_graph=True)
        relevance = grad[0].clamp(min=0).mean(dim=(0, 1))[prefix:]
        side = int(relevance.numel() ** 0.5)
        maps.append(relevance.reshape(side, side))
    return torch.stack(maps).mean(dim=0).detach()


@pytest.mark.parametrize("first", [0, 1, -1])
def test_torchvision_vit_matches_torchcam(first):
    model, x = _torchvision_vit(), _image()
    session = Session(model, x)
    for target in (session.top_k(1)[0][0], session.top_k(3)[2][0]):
        ours = session.attribution("legrad", target=target, first_block=first)
        assert ours.shape == (4, 4) and ours.dtype == torch.float32
        _close(ours, _torchcam_map(model, x, target, first))


@pytest.mark.parametrize(
    ("build", "prefix"),
    [
        (lambda: _timm_vit(), 1),
        (lambda: _timm_vit(distilled=True), 2),
        (lambda: tiny_vit(depth=3, cls_token=False, pool="mean"), 0),
    ],
    ids=["timm-vit", "timm-deit-distilled", "tinyvit-mean-pooled"],
)
@pytest.mark.parametrize("first", [0, -2])
def test_timm_style_vits_match_the_paper_by_hand(build, prefix, first):
    model, x = build(), _image()
    session = Session(model, x)
    assert session.token_layout(session.attention(0).shape[-1]).prefix == prefix
    target = session.top_k(2)[1][0]
    expected = reference_legrad(model, x, target, prefix, first)
    _close(session.attribution("legrad", target=target, first_block=first), expected)


def test_reachable_through_explain_and_the_catalogue():
    model, x = _timm_vit(), _image()
    session = Session(model, x)
    target = session.top_k(1)[0][0]
    spec = get_method("legrad")
    assert (spec.label, spec.uses_layer, spec.needs_attention, spec.uses_target) == ("LeGrad", False, True, True)
    assert "2404.03214" in spec.reference and spec.applies_to(session)
    assert spec.slider_bounds(session) == {"first_block": (0, 2)}
    torch.testing.assert_close(explain(model, x, "legrad"), session.attribution("legrad", target=target))
    assert not torch.equal(session.attribution("legrad", target=target), session.attribution("legrad", target=3))


def _hook_counts(model: torch.nn.Module) -> list[tuple[int, int, int]]:
    return [(len(m._forward_hooks), len(m._forward_pre_hooks), len(m._backward_hooks)) for m in model.modules()]


def test_model_is_untouched():
    model, x = _torchvision_vit(), _image()
    model.train()
    model.encoder.layers[0].self_attention.in_proj_weight.requires_grad_(False)
    before = {name: (p.detach().clone(), p.requires_grad) for name, p in model.named_parameters()}
    hooks = _hook_counts(model)
    session = Session(model, x)
    session.attribution("legrad")
    session.attribution("legrad", first_block=-1, target=4)
    assert all(module.training for module in model.modules())
    assert hooks == _hook_counts(model)
    for name, p in model.named_parameters():
        assert p.grad is None and p.requires_grad == before[name][1] and torch.equal(p.detach(), before[name][0])
    assert F.scaled_dot_product_attention is torch._C._nn.scaled_dot_product_attention


def test_a_cnn_gets_the_attention_message():
    session = Session(tiny_cnn().eval(), random_image(0))
    assert not get_method("legrad").applies_to(session)
    with pytest.raises(LayerError, match="No attention was recorded"):
        session.attribution("legrad")


def test_first_block_out_of_range_and_unknown_head_are_explained():
    session = Session(tiny_vit(depth=2), _image())
    with pytest.raises(MethodError, match="Block 2 does not exist.*2 attention blocks.*0 to 1"):
        session.attribution("legrad", first_block=2)
    with pytest.raises(MethodError, match="Block -3 does not exist"):
        session.attribution("legrad", first_block=-3)

    class Wrapped(torch.nn.Module):  # the ViT's head under a name LeGrad does not know
        def __init__(self) -> None:
            super().__init__()
            self.vit = tiny_vit(depth=2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.vit(x)

    with pytest.raises(MethodError, match="final norm and classifier head.*'gradrollout'"):
        Session(Wrapped(), _image()).attribution("legrad")


def test_half_precision_model_gives_a_float32_map_close_to_float32():
    x = _image()
    expected = Session(tiny_vit(depth=3), x).attribution("legrad", target=1)
    half = Session(tiny_vit(depth=3).half(), x).attribution("legrad", target=1)
    assert half.dtype == torch.float32 and bool(torch.isfinite(half).all())
    correlation = float(torch.corrcoef(torch.stack([half.flatten(), expected.flatten()]))[0, 1])
    assert correlation > 0.99, correlation

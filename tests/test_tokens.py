"""Token and channel-last layouts: the patch grid is found from shapes alone, and the map
view of a layer output goes back to the layer's own layout unchanged."""

import pytest
import torch

from xai_widgets.engine.tokens import CHANNELS_LAST, SPATIAL, TOKENS, Layout, infer_layout


@pytest.mark.parametrize(
    ("shape", "image", "expected"),
    [
        ((1, 197, 768), (224, 224), Layout(TOKENS, 14, 14, 1)),  # ViT-B/16: CLS
        ((1, 198, 768), (224, 224), Layout(TOKENS, 14, 14, 2)),  # DeiT distilled: CLS + distillation
        ((1, 261, 384), (224, 224), Layout(TOKENS, 16, 16, 5)),  # DINOv2-style: CLS + 4 registers, patch 14
        ((1, 281, 768), (224, 320), Layout(TOKENS, 14, 20, 1)),  # non-square input
        ((1, 196, 768), (224, 224), Layout(TOKENS, 14, 14, 0)),  # no prefix (mean-pooled)
        ((1, 65, 32), (8, 8), Layout(TOKENS, 8, 8, 1)),  # digits, patch 1
        ((1, 7, 7, 768), (224, 224), Layout(CHANNELS_LAST, 7, 7)),  # Swin stage output
        ((1, 56, 56, 96), (224, 224), Layout(CHANNELS_LAST, 56, 56)),
        ((1, 7, 10, 768), (224, 320), Layout(CHANNELS_LAST, 7, 10)),
        ((1, 2048, 7, 7), (224, 224), Layout(SPATIAL, 7, 7)),  # CNN
        ((1, 64, 8, 12), (32, 48), Layout(SPATIAL, 8, 12)),
        ((1, 7, 7, 7), (224, 224), Layout(SPATIAL, 7, 7)),  # ambiguous: channels first wins
    ],
)
def test_layouts_are_inferred_from_shapes(shape, image, expected):
    assert infer_layout(shape, image) == expected


@pytest.mark.parametrize(
    ("shape", "image"),
    [
        ((1, 1000), (224, 224)),  # logits
        ((1, 2048, 1, 1), (224, 224)),  # pooled
        ((1, 3, 768), (224, 224)),  # too few tokens for a grid
        ((1, 223, 768), (224, 224)),  # 223 - p is never an image-shaped grid for p ≤ 16
    ],
)
def test_outputs_without_a_grid_are_not_layers(shape, image):
    assert infer_layout(shape, image) is None


def test_a_patch_embedding_grid_is_preferred_to_factorising():
    # 50 tokens over a 4:1 image: without a hint 7×7+1 does not fit the aspect; the
    # patch-embedding conv said the grid is 4×12 (2 prefix tokens)
    assert infer_layout((1, 50, 16), (64, 192), hints=[(4, 12)]) == Layout(TOKENS, 4, 12, 2)


@pytest.mark.parametrize(
    ("layout", "raw_shape"),
    [
        (Layout(TOKENS, 3, 5, 2), (1, 17, 6)),
        (Layout(CHANNELS_LAST, 3, 5), (1, 3, 5, 6)),
        (Layout(SPATIAL, 3, 5), (1, 6, 3, 5)),
    ],
)
def test_map_view_round_trips(layout, raw_shape):
    raw = torch.randn(raw_shape)
    grid = layout.to_grid(raw)
    assert grid.shape == (1, 6, 3, 5)
    assert torch.equal(layout.from_grid(grid, raw), raw)
    batch = layout.from_grid(torch.zeros(4, 6, 3, 5), raw)
    assert batch.shape[0] == 4 and not batch.any() or layout.kind == TOKENS
    if layout.kind == TOKENS:  # prefix tokens are kept, patch tokens replaced
        assert torch.equal(batch[:, :2], raw[:, :2].expand(4, -1, -1)) and not batch[:, 2:].any()


def test_token_map_is_row_major_over_the_grid():
    tokens = torch.arange(1 + 6, dtype=torch.float32).reshape(1, 7, 1)  # CLS, then patches 1..6
    grid = Layout(TOKENS, 2, 3, 1).to_grid(tokens)
    assert grid[0, 0].tolist() == [[1, 2, 3], [4, 5, 6]]

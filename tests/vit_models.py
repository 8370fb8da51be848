"""Small Vision Transformers for the tests: the package's own offline ViT material."""

from xai_widgets.digits_vit import (  # noqa: F401  (re-exported for the tests)
    DIGIT_VIT_KWARGS,
    DIGITS_HELD_OUT,
    Block,
    TimmStyleAttention,
    TinyViT,
    digits_data,
    tiny_vit,
    train_digit_vit,
)

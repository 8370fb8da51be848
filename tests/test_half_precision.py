"""Every CNN method on float16 and bfloat16 models: finite maps, computed in float32 where it
matters (Score-CAM's mask normalisation once gave all-NaN maps in float16; the CAM family now
weighs channels in float32), that agree with the float32 model's map.

Tolerance: Pearson correlation with the float32 map ≥ 0.95 — the half model's own rounding
(weights and activations at 11 or 8 significant bits) moves gradients by up to 25 % at single
pixels, so a max-difference bound would measure the model, not the method. Occlusion and
KernelSHAP on bfloat16 read small differences of class scores that bfloat16 rounds to about 3
significant digits on this random model, so they are held to ≥ 0.7.
"""

import warnings

import pytest
import torch

from tests.models import random_image, tiny_cnn
from xai_widgets import Session
from xai_widgets.engine import all_methods

CNN_METHODS = [method.name for method in all_methods() if not method.needs_attention]
PARAMS = {"occlusion": {"window": 8, "stride": 4}}  # the default window covers this 32×32 image whole


@pytest.fixture(scope="module")
def reference():
    return Session(tiny_cnn().eval(), random_image(0))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("method", CNN_METHODS)
def test_half_models_give_finite_maps_that_agree_with_float32(reference, dtype, method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        session = Session(tiny_cnn().eval().to(dtype), random_image(0))
        heat = session.attribution(method, **PARAMS.get(method, {})).float()
    expected = reference.attribution(method, **PARAMS.get(method, {})).float()
    assert heat.shape == expected.shape and bool(torch.isfinite(heat).all())
    correlation = float(torch.corrcoef(torch.stack([heat.flatten(), expected.flatten()]))[0, 1])
    coarse = dtype == torch.bfloat16 and method in ("kernel_shap", "occlusion")
    assert correlation >= (0.7 if coarse else 0.95)

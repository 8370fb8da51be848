"""Faithfulness metrics against the peers that compute the same thing, timed in turns in one
process, with the values printed side by side (a speed-up only counts at equal values).

- Deletion + insertion AUC of one map, 16 steps (224 × 224 = 16 × 3136 pixels, so every peer
  takes the same steps), zero baseline: ours (``deletion_curve`` + ``insertion_curve``) against
  torchcam's ``DeletionInsertionMetric`` (given the same map) and Quantus's ``PixelFlipping``
  (deletion; insertion is the same loop started from the baseline and putting the original
  values back). Quantus's "black" baseline is the input's minimum, so the input is shifted to a
  minimum of 0 for every contender. Quantus steps over the C × H × W values of the map broadcast
  over channels (16 steps of 3 × 3136 values: whole pixels) but asserts that a step divides
  H × W, which no whole-pixel step of a 3-channel 224 × 224 input does; that assertion is skipped.
- ROAD, most- and least-relevant first at 10 … 90 %: ours (``road_curves``) against
  pytorch-grad-cam's ``ROADMostRelevantFirstAverage`` + ``ROADLeastRelevantFirstAverage``
  (noise 0.01 on both sides, so values agree to about the noise's effect).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from xai_widgets.engine.explain import map_for
from xai_widgets.engine.faithfulness import deletion_curve, insertion_curve
from xai_widgets.engine.road import PERCENTILES, road_curves

from .interactive import row
from .timing import interleaved_medians

STEPS = 16


def resnet18() -> nn.Module:
    from torchvision.models import resnet18

    torch.manual_seed(0)
    return resnet18(weights=None).eval()


def _full_map(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Grad-CAM of the top class, upsampled to the input (every contender ranks the same pixels)."""
    cam, target, _ = map_for(model, x, "gradcam", None, None, None, None)
    up = torch.nn.functional.interpolate(cam[None, None].float(), size=tuple(x.shape[-2:]), mode="bilinear")[0, 0]
    return up.cpu(), int(target)


def _ours_curves(model: nn.Module, x: torch.Tensor, cam: torch.Tensor, target: int) -> tuple[float, float]:
    common = dict(steps=STEPS, baseline="zero")
    deletion = deletion_curve(model, x, cam, target, **common)
    insertion = insertion_curve(model, x, cam, target, **common)
    return deletion.auc, insertion.auc


class _FixedMap:
    """torchcam's CAM-extractor protocol around a map already computed."""

    def __init__(self, model: nn.Module, cam: torch.Tensor) -> None:
        self.model, self.cam = model, cam

    def __call__(self, class_idx=None, scores=None, normalized=True, **kwargs):
        return [self.cam[None]]

    def fuse_cams(self, cams):
        return cams[0]

    def _hooks_off(self):
        import contextlib

        return contextlib.nullcontext()


def _torchcam_curves(model: nn.Module, x: torch.Tensor, cam: torch.Tensor, target: int) -> tuple[float, float]:
    from functools import partial

    from torchcam.metrics import DeletionInsertionMetric

    metric = DeletionInsertionMetric(_FixedMap(model, cam), partial(torch.softmax, dim=-1), steps=STEPS)
    metric.update(x[None] if x.dim() == 3 else x, class_idx=target)
    summary = metric.summary()
    return summary["deletion_auc"], summary["insertion_auc"]


def _pixel_flipping(**kwargs):
    import quantus

    class PixelFlipping(quantus.PixelFlipping):
        def custom_preprocess(self, x_batch, **kwargs):  # see the module's docstring
            return None

    return PixelFlipping(**kwargs)


def _quantus_curves(model: nn.Module, x: torch.Tensor, cam: torch.Tensor, target: int) -> tuple[float, float]:
    batch = (x[None] if x.dim() == 3 else x).cpu().numpy()
    attribution = cam[None, None].numpy()
    pixels = batch.shape[-1] * batch.shape[-2]
    step = batch.shape[1] * pixels // STEPS
    common = dict(features_in_step=step, normalise=False, disable_warnings=True, perturb_baseline="black")
    fractions = np.linspace(0, 1, STEPS + 1)
    y = np.array([target])
    with torch.no_grad():
        full = float(model(torch.from_numpy(batch)).softmax(1)[0, target])
        empty = float(model(torch.zeros_like(torch.from_numpy(batch))).softmax(1)[0, target])
    deletion = _pixel_flipping(**common)(model, batch, y, attribution, device="cpu", channel_first=True)[0]

    def put_back(arr, indices, **kwargs):
        out = arr.copy()
        rows = np.arange(arr.shape[0])[:, None]
        out[rows, indices] = batch.reshape(arr.shape)[rows, indices]
        return out

    insertion = _pixel_flipping(**common, perturb_func=put_back)(
        model, np.zeros_like(batch), y, attribution, device="cpu", channel_first=True
    )[0]
    return float(np.trapezoid([full, *deletion], fractions)), float(np.trapezoid([empty, *insertion], fractions))


def _timed(contenders: dict, model: nn.Module, x: torch.Tensor, cam: torch.Tensor, target: int, repeats: int) -> dict:
    def setup(run):
        return lambda: ((lambda: run(model, x, cam, target)), lambda: None)

    return interleaved_medians({name: setup(run) for name, run in contenders.items()}, repeats)


def deletion_insertion_row(model_name: str, model: nn.Module, x: torch.Tensor, repeats: int) -> dict:
    """Deletion + insertion AUC of one Grad-CAM map: ours against torchcam and Quantus."""
    x = x - x.min()  # Quantus's "black" is the input's minimum: make it the zero baseline everyone uses
    cam, target = _full_map(model, x)
    x = x.cpu()
    contenders = {"ours": _ours_curves, "torchcam": _torchcam_curves}
    try:
        import quantus  # noqa: F401

        contenders["quantus"] = _quantus_curves
    except ImportError:
        pass
    values = {name: run(model, x, cam, target) for name, run in contenders.items()}
    times = _timed(contenders, model, x, cam, target, repeats)
    ours = times.pop("ours")
    result = row(model_name, f"deletion + insertion AUC, one map, {STEPS} steps", ours, times, target=1 / 5)
    result["values"] = {name: {"deletion_auc": d, "insertion_auc": i} for name, (d, i) in values.items()}
    agree = max(abs(a - b) for v in values.values() for a, b in zip(v, values["ours"], strict=True))
    result["max_auc_difference"] = agree
    result["note"] = (
        "AUCs (deletion / insertion): "
        + "; ".join(f"{name} {d:.4f} / {i:.4f}" for name, (d, i) in values.items())
        + f" (largest difference {agree:.1e}); "
        + ", ".join(f"{name} {ms * 1000:.0f} ms" for name, ms in [("ours", ours), *times.items()])
    )
    return result


def _grad_cam_road(model: nn.Module, x: torch.Tensor, cam: torch.Tensor, target: int) -> tuple[float, float]:
    from pytorch_grad_cam.metrics.road import ROADLeastRelevantFirstAverage, ROADMostRelevantFirstAverage
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    batch, cams, targets = x[None] if x.dim() == 3 else x, cam[None].numpy(), [ClassifierOutputSoftmaxTarget(target)]
    most = ROADMostRelevantFirstAverage(list(PERCENTILES))(batch, cams, targets, model)
    least = ROADLeastRelevantFirstAverage(list(PERCENTILES))(batch, cams, targets, model)
    return float(most[0]), float(least[0])


def _ours_road(model: nn.Module, x: torch.Tensor, cam: torch.Tensor, target: int) -> tuple[float, float]:
    curves = road_curves(model, x, cam, target)
    return curves["most"].mean_change, curves["least"].mean_change


def road_row(model_name: str, model: nn.Module, x: torch.Tensor, repeats: int) -> dict:
    """ROAD MoRF + LeRF at 10 … 90 % for one Grad-CAM map: ours against pytorch-grad-cam."""
    cam, target = _full_map(model, x)
    x = x.cpu()
    contenders = {"ours": _ours_road, "pytorch-grad-cam": _grad_cam_road}
    torch.manual_seed(0)  # grad-cam's noise comes from the global generator
    values = {name: run(model, x, cam, target) for name, run in contenders.items()}
    times = _timed(contenders, model, x, cam, target, repeats)
    ours = times.pop("ours")
    result = row(model_name, "ROAD most + least relevant first, 10 … 90 %", ours, times, target=1 / 5)
    result["values"] = {name: {"most_mean_change": m, "least_mean_change": le} for name, (m, le) in values.items()}
    agree = max(abs(a - b) for a, b in zip(values["ours"], values["pytorch-grad-cam"], strict=True))
    result["max_value_difference"] = agree
    result["note"] = (
        "mean probability change (most / least relevant first): "
        + "; ".join(f"{name} {m:+.4f} / {le:+.4f}" for name, (m, le) in values.items())
        + f" (largest difference {agree:.1e}, noise 0.01 drawn differently); "
        + ", ".join(f"{name} {ms * 1000:.0f} ms" for name, ms in [("ours", ours), *times.items()])
    )
    return result


__all__ = ["deletion_insertion_row", "resnet18", "road_row"]

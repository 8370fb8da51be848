"""Rows for the method catalogue's speed at equal accuracy (``python -m benchmarks.run --only-methods``).

* Integrated Gradients to a completeness error of at most 1 %: each library's error (|sum of the
  attributions − (score(image) − score(baseline))| / |that difference|) is measured along a
  ladder of step counts; each is then timed at the fewest steps that reach 1 %.
* Score-CAM at a layer with silent channels: ours sends one black image for all of them.
"""

from __future__ import annotations

import torch
from torch import nn

from xai_widgets import Session

from .interactive import row
from .peers import pytorch_grad_cam
from .timing import median_seconds

STEP_LADDER = (4, 8, 16, 24, 32, 48, 64, 96, 128)
CAPTUM_RULES = ("gausslegendre", "riemann_trapezoid", "riemann_middle")
GOAL = 0.01


def _error(attribution: torch.Tensor, gap: float) -> float:
    return abs(float(attribution.sum()) - gap) / abs(gap)


def _fewest_steps(error_at) -> tuple[int, float]:
    """The first step count of the ladder whose error is at most 1 % (and that error)."""
    for steps in STEP_LADDER:
        error = error_at(steps)
        if error <= GOAL:
            return steps, error
    return STEP_LADDER[-1], error


def integrated_gradients_row(model_name: str, model: nn.Module, x: torch.Tensor, repeats: int) -> dict:
    from captum.attr import IntegratedGradients

    session = Session(model, x)
    target = session.top_k(1)[0][0]
    with torch.no_grad():
        gap = float(model(x)[0, target] - model(torch.zeros_like(x))[0, target])

    def ours(steps: int) -> torch.Tensor:
        session.clear_caches(gradients=False)
        return session.attribution("integrated_gradients", target=target, steps=steps)

    ours_steps, ours_error = _fewest_steps(lambda steps: _error(ours(steps), gap))
    ig = IntegratedGradients(model)
    peers, described = {}, []
    for rule in CAPTUM_RULES:

        def theirs(steps: int, rule: str = rule, batch: int = 16) -> torch.Tensor:
            return ig.attribute(x, target=target, n_steps=steps, method=rule, internal_batch_size=min(steps, batch))

        steps, error = _fewest_steps(lambda steps, theirs=theirs: _error(theirs(steps), gap))
        for batch in (4, 16):  # the user's choice of internal_batch_size: the faster one counts
            peers[f"captum {rule}, {batch} a batch"] = median_seconds(
                lambda theirs=theirs, steps=steps, batch=batch: theirs(steps, batch=batch), repeats
            )
        described.append(f"captum {rule}: {steps} steps ({100 * error:.2f} %)")
    mine = median_seconds(lambda: ours(ours_steps), repeats)
    session.close()
    note = (
        f"fewest steps of {STEP_LADDER} to a completeness error ≤ 1 %: ours (Gauss–Legendre) {ours_steps} steps "
        f"({100 * ours_error:.2f} %); " + "; ".join(described)
    )
    return row(model_name, "Integrated Gradients to a completeness error ≤ 1 %", mine, peers, target=0.35, note=note)


def score_cam_rows(model_name: str, model: nn.Module, x: torch.Tensor, repeats: int) -> list[dict]:
    """Score-CAM against pytorch-grad-cam at the head's batch norm (1280 channels, called once; the
    head's ``_swish`` module is also the stem's, and grad-cam explains a reused module's first
    call), and the silent-channel lever at ``_swish``: ours against ours with one image per channel."""
    from xai_widgets.engine.costs import model_passes
    from xai_widgets.engine.methods.perturbation import channel_masks, weighted_channels
    from xai_widgets.engine.model_calls import class_scores

    session = Session(model, x)
    target = session.top_k(1)[0][0]

    def ours(layer: str):
        def run():
            session.clear_caches(gradients=False)
            return session.attribution("scorecam", layer=layer, target=target)

        return run

    peer = pytorch_grad_cam(model, "_bn1", "ScoreCAM", batch_size=64)
    try:
        theirs = {"grad-cam": median_seconds(lambda: peer.call(x, [target]), repeats)}
    finally:
        peer.close()
    rows = [row(model_name, "Score-CAM at _bn1 (1280 channels)", median_seconds(ours("_bn1"), repeats), theirs, 0.667)]

    def every_channel():
        activation, masks = channel_masks(session, "_swish")
        scores = class_scores(model, x * masks[:, None], target).float()
        return weighted_channels(scores, activation)

    flat = session.activation("_swish")[0].flatten(1)
    channels, silent = flat.shape[0], int((flat.amax(dim=1) == flat.amin(dim=1)).sum())
    passes = model_passes(session, "scorecam", "_swish", {})
    same = float((every_channel() - ours("_swish")()).abs().max())
    note = (
        f"the lever's effect: {channels} channels, {silent} of them silent on this photo; ours sends {passes} masked "
        f"images (one black image for every silent channel), against {channels} with one image per channel; "
        f"the maps differ by {same:.1e}"
    )
    lever = {"ours, one image per channel": median_seconds(every_channel, repeats)}
    rows.append(
        row(model_name, "Score-CAM at _swish, silent channels", median_seconds(ours("_swish"), repeats), lever, 0.667,
            note=note)
    )  # fmt: skip
    session.close()
    return rows


def occlusion_rows(model_name: str, model: nn.Module, x: torch.Tensor, repeats: int) -> list[dict]:
    """Occlusion (32 px window, stride 16) against Captum, and the channels-last lever alone:
    ours against ours with plain (row-major) batches."""
    from captum.attr import Occlusion

    from xai_widgets.engine import model_calls

    session = Session(model, x)
    target = session.top_k(1)[0][0]

    def ours():
        session.clear_caches(gradients=False)
        return session.attribution("occlusion", window=32, stride=16, target=target)

    def plain_batches():
        model_calls._ROW_MAJOR_ONLY[model] = True
        try:
            return ours()
        finally:
            model_calls._ROW_MAJOR_ONLY.pop(model, None)

    occlusion = Occlusion(model)
    theirs = {
        f"captum, {per_eval} a batch": median_seconds(
            lambda per_eval=per_eval: occlusion.attribute(
                x, target=target, sliding_window_shapes=(3, 32, 32), strides=(3, 16, 16), baselines=0,
                perturbations_per_eval=per_eval,
            ),
            repeats,
        )
        for per_eval in (4, 16, 64)
    }  # fmt: skip
    mine = median_seconds(ours, repeats)
    gap = float((ours() - plain_batches()).abs().max() / ours().abs().max())
    rows = [row(model_name, "occlusion, 32 px window, stride 16", mine, theirs, target=0.667)]
    lever = {"ours, row-major batches": median_seconds(plain_batches, repeats)}
    note = f"the lever's effect: channels-last batches on the CPU; the maps differ by {gap:.1e} of their range"
    rows.append(row(model_name, "occlusion, channels-last batches (the lever alone)", mine, lever, 0.667, note=note))
    session.close()
    return rows

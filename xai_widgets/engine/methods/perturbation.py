"""Attributions from batched forwards of perturbed inputs or perturbed layer outputs."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..model_calls import FULL, class_scores, layer_swap_scores
from .base import Method, Param, SessionView, register
from .cam_options import cam_method

SLOW_ABLATION = (
    "Ablation-CAM ran every layer for each ablated channel (the slow path): this model's layers below the "
    "chosen one could not run once for the whole batch."
)


def occlusion(
    session: SessionView, layer: None, target: int, window: int = 32, stride: int = 16, baseline: float = 0.0
) -> torch.Tensor:
    """Occlusion: the class-score drop when a square window is set to ``baseline``.

    Zeiler & Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014. Each
    pixel gets the mean drop over the windows that cover it (signed: a rise is negative). Where
    the windows do not tile the image, one more window starts past the last full one and is cut
    at the border (as Captum places them), so every pixel is covered.
    """
    x = session.input.detach()
    height, width = x.shape[-2:]
    window_h, window_w = min(int(window), height), min(int(window), width)
    tops = window_starts(height, window_h, int(stride))
    lefts = window_starts(width, window_w, int(stride))
    boxes = [(top, left) for top in tops for left in lefts]
    masked = x.repeat(len(boxes), 1, 1, 1)
    for index, (top, left) in enumerate(boxes):
        masked[index, :, top : top + window_h, left : left + window_w] = float(baseline)
    scores = class_scores(session.model, masked, target, output=session.output)
    drops = session.logits.detach()[0, target].float() - scores
    total = torch.zeros(height, width, device=x.device)
    count = torch.zeros(height, width, device=x.device)
    for drop, (top, left) in zip(drops, boxes, strict=True):
        total[top : top + window_h, left : left + window_w] += drop
        count[top : top + window_h, left : left + window_w] += 1
    return torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total))


def window_starts(size: int, window: int, stride: int) -> list[int]:
    """Where windows start along one side: every ``stride`` pixels, the last one reaching (or cut
    at) the border — ceil((size − window) / stride) + 1 windows."""
    return [k * stride for k in range(-(-(size - window) // stride) + 1)]


def channel_masks(session: SessionView, layer: str) -> tuple[torch.Tensor, torch.Tensor]:
    """``layer``'s activation (C×h×w, float32) and each channel upsampled to the input and scaled
    to [0, 1] (C×H×W): the masks the Score-CAM family multiplies the input by."""
    activation = session.activation(layer)[0].float()  # float32: a half model's 1e-8 would be 0
    size = session.input.shape[-2:]
    masks = F.interpolate(activation[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
    low = masks.amin(dim=(1, 2), keepdim=True)
    high = masks.amax(dim=(1, 2), keepdim=True)
    return activation, (masks - low) / (high - low).clamp(min=1e-8)


def masked_scores(session: SessionView, masks: torch.Tensor, target: int) -> torch.Tensor:
    """The class score of the input multiplied by each of ``masks`` (C×H×W), in batches.

    Masks that are zero everywhere (a channel silent on this image) all give the score of a
    black image: one forward serves them all, so a layer with many silent channels costs fewer
    passes and the scores are the same."""
    empty = masks.flatten(1).abs().amax(dim=1) == 0
    if not bool(empty.any()):
        return _scores_of_masked(session, masks, target)
    live = int((~empty).sum())
    scores = _scores_of_masked(session, torch.cat([masks[~empty], masks[empty][:1]]), target)
    result = torch.empty(len(masks), dtype=scores.dtype, device=scores.device)
    result[~empty], result[empty] = scores[:live], scores[live]
    return result


def _scores_of_masked(session: SessionView, masks: torch.Tensor, target: int) -> torch.Tensor:
    x = session.input.detach()
    return class_scores(session.model, (x.float() * masks[:, None]).to(x.dtype), target, output=session.output).float()


def weighted_channels(weights: torch.Tensor, activation: torch.Tensor) -> torch.Tensor:
    return torch.relu(torch.einsum("c,chw->hw", torch.softmax(weights, dim=0), activation))


def score_cam(session: SessionView, layer: str, target: int) -> torch.Tensor:
    """Score-CAM: channels weighted by the softmax of the scores of the input masked by each.

    Wang et al., "Score-CAM: Score-Weighted Visual Explanations for Convolutional Neural
    Networks", CVPR Workshops 2020. One forward per channel, in batches.
    """
    activation, masks = channel_masks(session, layer)
    return weighted_channels(masked_scores(session, masks, target), activation)


def is_cam(session: SessionView, layer: str, target: int, steps: int = 10) -> torch.Tensor:
    """IS-CAM: Score-CAM whose channel scores are integrated along the path from a black image
    to the masked input: step i of ``steps`` scales the mask by i(i+1) / (2·steps), and the
    scores are averaged before the softmax.

    Naidu et al., "IS-CAM: Integrated Score-CAM for axiomatic-based explanations", 2020 (the
    scaling as torchcam implements it). One forward per channel and step, in batches.
    """
    activation, masks = channel_masks(session, layer)
    total = torch.zeros(len(masks), device=masks.device)
    scale = 0.0
    for step in range(1, int(steps) + 1):
        scale += step / int(steps)
        total += masked_scores(session, scale * masks, target)
    return weighted_channels(total / int(steps), activation)


def ss_cam(
    session: SessionView, layer: str, target: int, samples: int = 35, noise: float = 2.0, seed: int = 0
) -> torch.Tensor:
    """SS-CAM: Score-CAM whose channel scores are averaged over masks with Gaussian noise
    (standard deviation ``noise``, drawn at the input's resolution) added before the softmax.

    Wang et al., "SS-CAM: Smoothed Score-CAM for Sharper Visual Feature Localization", 2020. One
    forward per channel and sample, in batches; same seed, same map.
    """
    activation, masks = channel_masks(session, layer)
    generator = torch.Generator().manual_seed(int(seed))
    total = torch.zeros(len(masks), device=masks.device)
    for _ in range(int(samples)):
        jitter = float(noise) * torch.randn(masks.shape, generator=generator).to(masks.device)
        total += masked_scores(session, masks + jitter, target)
    return weighted_channels(total / int(samples), activation)


def ablation_cam(session: SessionView, layer: str, target: int) -> torch.Tensor:
    """Ablation-CAM: a channel's weight is the relative score drop when it is zeroed.

    Desai & Ramaswamy, "Ablation-CAM: Visual Explanations for Deep Convolutional Network via
    Gradient-free Localization", WACV 2020. Only the network's tail above ``layer`` runs,
    one batch row per channel.
    """
    activation = session.activation(layer)
    channels = activation.shape[1]
    ablated = activation.repeat(channels, 1, 1, 1)
    ablated[torch.arange(channels), torch.arange(channels)] = 0
    way: list[str] = []
    scores = layer_swap_scores(
        session.model,
        session.input.detach(),
        layer,
        ablated,
        target,
        output=session.output,
        to_output=lambda chunk: session.layer_outputs(layer, chunk),
        way=way,
    )
    if way == [FULL]:
        session.notes.append(SLOW_ABLATION)
    original = session.logits.detach()[0, target].float()
    weights = ((original - scores) / original).to(activation.dtype)
    return torch.relu(torch.einsum("c,chw->hw", weights, activation[0]))


for _method in (
    Method(
        "occlusion",
        "Occlusion",
        occlusion,
        uses_layer=False,
        signed=True,
        reference="Zeiler & Fergus, ECCV 2014",
        slow=True,
        params=(
            Param("window", "window (px)", 32, 4, 112, 4, at_least=1),
            Param("stride", "stride (px)", 16, 2, 112, 2, at_least=1),
            Param("baseline", "baseline value", 0.0, -3.0, 3.0, 0.1),
        ),
    ),
    cam_method("scorecam", "Score-CAM", score_cam, slow=True, reference="Wang et al., CVPRW 2020"),
    cam_method(
        "iscam",
        "IS-CAM",
        is_cam,
        slow=True,
        reference="Naidu et al., 2020 (arXiv:2010.03023)",
        params=(Param("steps", "integration steps", 10, 1, 50, 1, at_least=1),),
    ),
    cam_method(
        "sscam",
        "SS-CAM",
        ss_cam,
        slow=True,
        reference="Wang et al., 2020 (arXiv:2006.14255)",
        params=(
            Param("samples", "noisy samples", 35, 1, 100, 1, at_least=1),
            Param("noise", "noise σ", 2.0, 0.0, 4.0, 0.1, at_least=0.0),
            Param("seed", "random seed", 0, 0, 99, 1),
        ),
    ),
    cam_method(
        "ablationcam",
        "Ablation-CAM",
        ablation_cam,
        slow=True,
        reference="Desai & Ramaswamy, WACV 2020",
    ),
):
    register(_method)

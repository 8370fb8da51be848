"""Options every CAM method takes: aug-smooth and multi-layer fusion.

* ``aug_smooth="on"``: the map is computed again on the image flipped left–right and with its
  values scaled by 0.9, 1 and 1.1 (six images), each map flipped back, scaled to [0, 1] and
  averaged, as pytorch-grad-cam's ``aug_smooth`` (Jacob Gildenblat & contributors, 2021).
* ``fuse=n``: the map at the chosen layer and at the last layer of each of the n − 1 other
  resolutions before it (the network's earlier stages), each scaled to [0, 1] and resized to
  the finest of them, then averaged (``fusion="mean"``, as pytorch-grad-cam's several target
  layers) or their element-wise maximum (``fusion="max"``, as torchcam's ``fuse_cams``).

Signed maps are scaled by their largest magnitude instead, so zero stays zero. With the defaults
(``aug_smooth="off"``, ``fuse=1``) the method's own map comes back unchanged.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from ..progress import report
from .base import Compute, Method, Param, SessionView

BRIGHTNESS = (0.9, 1.0, 1.1)
"""The factors aug-smooth multiplies the image by (each with and without a left–right flip)."""

AUG_SMOOTH_IMAGES = 2 * len(BRIGHTNESS)
"""How many images aug-smooth explains (the original among them)."""

CAM_OPTIONS = (
    Param("aug_smooth", "aug-smooth (flip × brightness)", "off", choices=("off", "on")),
    Param("fuse", "fused stages (1: this layer)", 1, 1, 4, 1, at_least=1),
    Param("fusion", "fusion of stages", "mean", choices=("mean", "max")),
)
"""The parameters :func:`with_cam_options` adds to a CAM method."""


def fused_layers(session: SessionView, layer: str, stages: int) -> list[str]:
    """``layer``, then the last layer of each earlier resolution, up to ``stages`` layers in all
    (fewer when the network has fewer resolutions before ``layer``)."""
    names = [info.name for info in session.layers]
    shapes = {info.name: tuple(info.shape[1:]) for info in session.layers}
    chosen, seen = [layer], {shapes.get(layer)}
    for name in reversed(names[: names.index(layer)] if layer in names else []):
        if len(chosen) >= int(stages):
            break
        if shapes[name] not in seen:
            chosen.append(name)
            seen.add(shapes[name])
    return chosen


def scaled(cam: torch.Tensor, signed: bool) -> torch.Tensor:
    """``cam`` in [0, 1] (min to max), or in [−1, 1] by its largest magnitude when ``signed``."""
    cam = cam.float()
    if signed:
        return cam / cam.abs().max().clamp(min=1e-12)
    cam = cam - cam.min()
    return cam / cam.max().clamp(min=1e-12)


def fuse_maps(maps: list[torch.Tensor], fusion: str, signed: bool) -> torch.Tensor:
    """Maps of several layers, scaled and resized to the finest grid among them, averaged or maxed."""
    height = max(cam.shape[-2] for cam in maps)
    width = max(cam.shape[-1] for cam in maps)
    resized = [
        F.interpolate(scaled(cam, signed)[None, None], size=(height, width), mode="bilinear", align_corners=False)[0, 0]
        for cam in maps
    ]
    stack = torch.stack(resized)
    return stack.amax(dim=0) if fusion == "max" else stack.mean(dim=0)


def augmented_inputs(x: torch.Tensor) -> list[tuple[torch.Tensor, bool]]:
    """The aug-smooth images of ``x`` (1×C×H×W, never written to), each with whether it is flipped."""
    return [((x.flip(-1) if flip else x) * factor, flip) for flip in (False, True) for factor in BRIGHTNESS]


def with_cam_options(compute: Compute, signed: bool = False) -> Compute:
    """``compute`` taking the :data:`CAM_OPTIONS` too (its own map when they are at their defaults)."""

    @functools.wraps(compute)
    def run(
        session: SessionView,
        layer: str,
        target: int,
        aug_smooth: str = "off",
        fuse: int = 1,
        fusion: str = "mean",
        **params: Any,
    ) -> torch.Tensor:
        layers = fused_layers(session, layer, fuse)

        def one(view: SessionView) -> torch.Tensor:
            if len(layers) == 1:
                return compute(view, layer, target, **params)
            return fuse_maps([compute(view, name, target, **params) for name in layers], fusion, signed)

        if aug_smooth != "on":
            return one(session)
        return _aug_smoothed(session, one, layers, signed)

    return run


def _aug_smoothed(
    session: SessionView, one: Callable[[SessionView], torch.Tensor], layers: list[str], signed: bool
) -> torch.Tensor:
    images = augmented_inputs(session.input.detach())
    total = None
    for index, (image, flipped) in enumerate(images):
        view = session.on_image(image, layers)
        try:
            cam = scaled(one(view), signed)
        finally:
            view.close()
        cam = cam.flip(-1) if flipped else cam
        total = cam if total is None else total + cam
        report(index + 1, len(images))
    return total / len(images)


def cam_method(name: str, label: str, compute: Compute, **fields: Any) -> Method:
    """A CAM :class:`Method` (it uses a layer) whose parameters end with the :data:`CAM_OPTIONS`."""
    params = tuple(fields.pop("params", ())) + CAM_OPTIONS
    signed = bool(fields.get("signed", False))
    return Method(name, label, with_cam_options(compute, signed), uses_layer=True, params=params, **fields)

"""GradCAMSteps: Grad-CAM taken apart for teaching, one step at a time, from the real tensors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import torch
import traitlets
from torch import nn

from ..engine import ExplainError, Session
from ..engine.cam_steps import TEACHABLE, CamSteps, cam_steps
from ..engine.inputs import ImageLike, Transform
from ..engine.outputs import OutputChoice
from .bundles import bundle
from .explorer import Explorer
from .labels import check_labels, label_list
from .one_image import OneImageWidget
from .serialize import encode_map

METHOD_LABELS = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "layercam": "LayerCAM"}


class GradCAMSteps(OneImageWidget):
    """Grad-CAM (or Grad-CAM++ / LayerCAM) of one image, step by step: the layer's activations,
    the class's gradients, the channel weights, their weighted sum, the ReLU and the upsampling
    over the photo — each drawn from the engine's own tensors, with a short explanation. Change
    the class: the steps that changed are marked (the activations never do).

    Args:
        model, image, labels, transform, output: as for :class:`Explorer` (one image).
        layer: the layer (default: the session's default layer).
        target: the class (default: top-1).
        method: ``gradcam``, ``gradcam++`` or ``layercam``.
        channels: how many channels the grids show (those that contribute most).
        session: an engine session of this image to share (see :meth:`of`).
    """

    _esm = bundle("camSteps.js")

    classes = traitlets.List(traitlets.Dict()).tag(sync=True)
    target = traitlets.Int(0).tag(sync=True)
    method = traitlets.Unicode("gradcam").tag(sync=True)
    methods = traitlets.List(traitlets.Dict()).tag(sync=True)
    steps = traitlets.List(traitlets.Dict()).tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(
        self,
        model: nn.Module,
        image: ImageLike,
        *,
        labels: Optional[Sequence[str]] = None,
        transform: Optional[Transform] = None,
        output: OutputChoice = None,
        layer: Optional[str] = None,
        target: Optional[int] = None,
        method: str = "gradcam",
        channels: int = 16,
        session: Optional[Session] = None,
        opacity: float = 0.5,
        colormap: str = "turbo",
        normalization: str = "auto",
    ) -> None:
        if method not in TEACHABLE:
            raise ExplainError(f"Teaching mode takes apart {', '.join(TEACHABLE)}; got {method!r}.")
        self._open_session(model, image, transform, output, session)
        self.model, self._channels = model, max(1, int(channels))
        self._names = label_list(check_labels(labels), self.session.num_classes)[0]
        chosen = self.session.check_target(target)
        self._previous: Optional[list[dict[str, Any]]] = None
        self._quiet = True
        super().__init__(
            **self._image_traits(),
            layer=self.session.check_layer(layer),
            classes=self._classes(self._names, chosen, 5),
            target=chosen,
            method=method,
            methods=[{"name": name, "label": label} for name, label in METHOD_LABELS.items()],
            opacity=opacity,
            colormap=colormap,
            normalization=normalization,
        )
        self._quiet = False
        self._show()

    @classmethod
    def of(cls, explorer: Explorer, **kwargs: Any) -> GradCAMSteps:
        """The steps of ``explorer``'s current image, layer and class, from its own session."""
        method = explorer.method if explorer.method in TEACHABLE else "gradcam"
        arguments = cls.explorer_arguments(explorer)
        return cls(**arguments, target=explorer.target, method=method, **kwargs)

    def tensors(self) -> CamSteps:
        """The engine's tensors of the steps on screen."""
        return cam_steps(self.session, self.layer, self.target, self.method)

    @traitlets.observe("layer", "target", "method")
    def _on_control(self, change: dict) -> None:
        if not self._quiet:
            if change["name"] != "target":
                self._previous = None  # "changed" marks what a new class changes
            self._show()

    def _show(self) -> None:
        try:
            found = self.tensors()
        except ExplainError as err:
            self.error = str(err)
            return
        steps = step_payloads(found, self._channels, self._names)
        if self._previous is not None:
            for step, before in zip(steps, self._previous, strict=True):
                step["changed"] = _fingerprint(step) != _fingerprint(before)
        self._previous = steps
        label = self._names[found.target]
        with self.hold_sync():
            self.error = ""
            self.title = f"{METHOD_LABELS[found.method]} of {label} at {found.layer}, step by step"
            self.steps = steps

    def close(self) -> None:
        """Close the widget (its own session freed) and drop the kept steps."""
        self._previous = None
        super().close()


def _fingerprint(step: dict[str, Any]) -> bytes:
    parts = [bytes(step.get(name) or b"") for name in ("atlas", "data")]
    bars = step.get("bars") or []
    return b"".join(parts) + repr([(bar["channel"], round(bar["value"], 9)) for bar in bars]).encode()


def _atlas(values: torch.Tensor, signed: bool) -> bytes:
    """k×h×w values as uint8, each channel on its own scale (signed: 128 is zero)."""
    flat = values.flatten(1)
    if signed:
        scale = flat.abs().amax(dim=1).clamp_min(1e-12)[:, None, None]
        scaled = 0.5 + 0.5 * values / scale
    else:
        low, high = flat.amin(dim=1)[:, None, None], flat.amax(dim=1)[:, None, None]
        scaled = (values - low) / (high - low).clamp_min(1e-12)
    return torch.round(scaled.clamp(0, 1) * 255).to(torch.uint8).numpy().tobytes()


def step_payloads(found: CamSteps, channels: int, labels: Sequence[str]) -> list[dict[str, Any]]:
    """Each step for the browser: a title, an explanation, and what to draw."""
    count, height, width = found.activations.shape
    weights = found.channel_weights()
    # the most active channels: a choice that does not depend on the class, so a new class
    # changes what is drawn of them only where the class matters
    shown = torch.argsort(found.activations.mean(dim=(1, 2)), descending=True, stable=True)[: min(channels, count)]
    shown = shown.tolist()
    grid = {"shape": [len(shown), height, width], "channels": shown}
    label = labels[found.target] if 0 <= found.target < len(labels) else f"class {found.target}"
    per_pixel = found.weights.dim() == 3
    positive, negative = int((weights > 0).sum()), int((weights < 0).sum())
    steps: list[dict[str, Any]] = [
        {
            "name": "activations", "kind": "grid", "signed": False, **grid,
            "atlas": _atlas(found.activations[shown], signed=False),
            "title": "Activations",
            "text": (f"The layer {found.layer} answers the photo with {count} channels of {height}×{width}: each a "
                     f"detector's response. Shown: the {len(shown)} most active channels, each scaled on its own. "
                     "They do not depend on the class."),
        },
        {
            "name": "gradients", "kind": "grid", "signed": True, **grid,
            "atlas": _atlas(found.gradients[shown], signed=True),
            "title": "Gradients",
            "text": (f"How the score of '{label}' changes when each activation grows: one gradient per activation "
                     "(red up, blue down, grey none). One backward pass from the class score to this layer."),
        },
    ]
    if per_pixel:
        steps.append({
            "name": "weights", "kind": "grid", "signed": False, **grid,
            "atlas": _atlas(found.weights[shown], signed=False),
            "title": "Weights, pixel by pixel",
            "text": ("LayerCAM keeps each activation's own positive gradient as its weight (negative ones become 0), "
                     "so a channel can count in one place and not in another."),
        })
    else:
        top = sorted(range(count), key=lambda c: -abs(float(weights[c])))[: min(channels, count)]
        how = ("the mean of its gradient over the grid" if found.method == "gradcam"
               else "its positive gradients, each weighted by Grad-CAM++'s coefficient α")
        steps.append({
            "name": "weights", "kind": "bars", "title": "Channel weights",
            "bars": [{"channel": c, "value": float(weights[c])} for c in top],
            "text": (f"Each channel gets one weight: {how}. {positive} channels push the class up, {negative} down; "
                     f"the {len(top)} largest are drawn."),
        })
    steps += [
        {
            "name": "sum", "kind": "map", "signed": True, **encode_map(found.weighted_sum),
            "title": "Weighted sum",
            "text": ("Every channel times its weight, added up: one map at the layer's resolution, positive where the "
                     "evidence for the class sits, negative where evidence against it does."),
        },
        {
            "name": "relu", "kind": "map", "signed": False, **encode_map(found.cam),
            "title": "ReLU",
            "text": "Negative values are set to zero: the map keeps only the evidence for the class.",
        },
        {
            "name": "upsample", "kind": "overlay", "signed": False, **encode_map(found.cam),
            "title": "Upsampled over the photo",
            "text": (f"The {height}×{width} map is stretched to the photo (bilinear) and coloured over it: this is "
                     "the map the Explorer shows."),
        },
    ]  # fmt: skip
    for step in steps:
        step["changed"] = False
    return steps

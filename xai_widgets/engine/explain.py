"""One call, one map: the headless entry point."""

from __future__ import annotations

import warnings
from typing import Any, Optional

import torch
from torch import nn

from .inputs import ImageLike, Transform
from .methods import get_method
from .outputs import OutputChoice
from .session import Session
from .targets import TargetLike, is_target, resolve


def explain(
    model: nn.Module,
    image: ImageLike,
    method: str = "gradcam",
    layer: Optional[str] = None,
    target: TargetLike = None,
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
    **params: Any,
) -> torch.Tensor:
    """Return the attribution map of ``image`` for class ``target`` (default: top-1).

    ``target`` is a class index, or a :class:`~xai_widgets.engine.targets.Target`: a class's
    probability, class A rather than B (``Contrast``), a segmentation ``Region``, a detected
    ``Box``, an embedding's ``Similarity`` to a reference.

    The map is a 2-D tensor at the method's native resolution (for Grad-CAM, the layer's
    H×W; for saliency, the input's) on the model's device. ``layer`` defaults to the last
    layer with a spatial output. ``params`` go to the method (for example ``steps=64`` for
    Integrated Gradients; ``get_method(name).params`` lists them). ``output`` picks the class
    scores in a model that returns a tuple, dict or object (see ``Session``). Each of the
    session's notes (image rescaled, first output tensor used, ...) is issued as a
    ``UserWarning``. The model is left exactly as it was.
    """
    attribution, _, notes = map_for(model, image, method, layer, target, transform, output, **params)
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    return attribution


def map_for(
    model: nn.Module,
    image: ImageLike,
    method: str = "gradcam",
    layer: Optional[str] = None,
    target: TargetLike = None,
    transform: Optional[Transform] = None,
    output: OutputChoice = None,
    **params: Any,
) -> tuple[torch.Tensor, TargetLike, list[str]]:
    """The map of :func:`explain`, what it explains (the class index — ``target`` or the
    top-1 class — or the Target given) and the session's notes; one forward that records
    only the layer asked for, freed after."""
    spec = get_method(method)
    if not spec.uses_layer and not spec.needs_attention:
        layer_names: Optional[list[str]] = []  # a map of the input: no layer's activation is kept
    else:
        fused = _number(params.get("fuse", 1)) > 1  # fusion reads the layers before the chosen one too
        layer_names = [layer] if (layer is not None and spec.uses_layer and not fused) else None
    scored, index = resolve(target, output)
    session = Session(model, image, transform=transform, layer_names=layer_names, output=scored)
    try:
        index = session.check_target(index)
        attribution = session.attribution(method, layer=layer, target=index, **params)
        return attribution, (target if is_target(target) else index), list(session.notes)
    finally:
        session.close()


def _number(value: Any) -> float:
    """``value`` as a number, or 0 when it is none (the method's own check names the problem)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0

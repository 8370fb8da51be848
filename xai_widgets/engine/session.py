"""One image, one forward: the state every attribution of that image is computed from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import nn

from .cache import LRUCache
from .errors import LayerError, TargetError
from .inputs import ImageLike, Transform, prepare_image
from .model_state import evaluation_mode, forward_hooks, model_device, model_dtype, unknown_layer_message
from .outputs import select_logits

INPUT = "input"
"""The pseudo-layer name for gradients with respect to the input pixels."""


@dataclass(frozen=True)
class LayerInfo:
    """A layer with a spatial output: its module name and output shape (C, H, W)."""

    name: str
    shape: tuple[int, int, int]


def _is_spatial(output: torch.Tensor) -> bool:
    return output.dim() == 4 and output.is_floating_point() and output.shape[-1] * output.shape[-2] > 1


class Session:
    """Run ``model`` once on ``image`` and keep what attributions need.

    The forward pass records the output of every layer with a spatial output (or only of
    ``layer_names``) and keeps the autograd graph, all on the model's device. Gradients for
    a (layer, class) pair come from ``torch.autograd.grad`` on that graph, which only walks
    back as far as the chosen layer, and are cached, as are finished attributions. The model
    comes back as it was: hooks removed, training flags, ``requires_grad`` and ``.grad``
    untouched (gradients never accumulate into parameters).
    """

    def __init__(
        self,
        model: nn.Module,
        image: ImageLike,
        *,
        transform: Optional[Transform] = None,
        layer_names: Optional[Sequence[str]] = None,
        cache_size: int = 64,
    ) -> None:
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, not {type(model).__name__}.")
        self.model = model
        self.device = model_device(model)
        prepared = prepare_image(image, transform)
        self.display = prepared.display
        self.notes: list[str] = []
        self._activations: dict[str, torch.Tensor] = {}
        self._gradients: LRUCache[dict[str, torch.Tensor]] = LRUCache(8)  # class → {layer: gradient}
        self.attributions: LRUCache[torch.Tensor] = LRUCache(cache_size)
        self._forward(prepared.tensor.to(self.device, model_dtype(model)), layer_names)

    def _record(self, name: str, output: torch.Tensor) -> Optional[torch.Tensor]:
        if not _is_spatial(output):
            return None
        self._activations.pop(name, None)  # a reused module: keep its last call, in call order
        self._activations[name] = output
        # Later in-place ops (ReLU(inplace=True), `out += identity`) act on a copy, so the
        # recorded tensor keeps its values and stays a valid point to differentiate at.
        return output.clone()

    def _forward(self, tensor: torch.Tensor, layer_names: Optional[Sequence[str]]) -> None:
        with torch.inference_mode(False), torch.enable_grad():
            self.input = tensor.clone().requires_grad_(True)
            with evaluation_mode(self.model) as was_training, forward_hooks(self.model, self._record, layer_names):
                output = self.model(self.input)
            self.logits = select_logits(output)
        if was_training:
            self.notes.append(
                "The model was in training mode; it was explained in eval mode and left in training mode."
            )
        self.layers = [LayerInfo(name, tuple(t.shape[1:])) for name, t in self._activations.items()]
        self.probabilities = torch.softmax(self.logits.detach()[0].float(), dim=0)

    @property
    def num_classes(self) -> int:
        return int(self.logits.shape[-1])

    @property
    def default_layer(self) -> str:
        """The last layer with a spatial output: the usual choice for Grad-CAM."""
        if not self.layers:
            raise LayerError(
                "The model has no layer with a spatial (N×C×H×W) output, so CAM methods cannot run; "
                "use a gradient method such as 'saliency'."
            )
        return self.layers[-1].name

    def top_k(self, k: int = 5) -> list[tuple[int, float]]:
        """The ``k`` most probable classes as (index, probability), best first."""
        values, indices = self.probabilities.topk(min(k, self.num_classes))
        return [(int(i), float(v)) for i, v in zip(indices.tolist(), values.tolist(), strict=False)]

    def check_target(self, target: Optional[int]) -> int:
        """Validate a class index; ``None`` means the top-1 class."""
        if target is None:
            return self.top_k(1)[0][0]
        if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < self.num_classes:
            raise TargetError(
                f"Class {target!r} is out of range: the model scores {self.num_classes} classes, "
                f"so pick an index from 0 to {self.num_classes - 1}."
            )
        return target

    def check_layer(self, layer: Optional[str]) -> str:
        """Validate a layer name; ``None`` means the default (last spatial) layer."""
        if layer is None:
            return self.default_layer
        if layer not in self._activations:
            raise LayerError(unknown_layer_message(layer, [info.name for info in self.layers]))
        return layer

    def activation(self, layer: str) -> torch.Tensor:
        """The recorded output of ``layer`` (1×C×H×W, detached, on the model's device)."""
        return self._activations[self.check_layer(layer)].detach()

    def gradient(self, layer: str, target: int) -> torch.Tensor:
        """d logit[target] / d output of ``layer`` (or of the input for ``INPUT``), cached.

        The first request for a class walks back only as far as ``layer``. A second layer for
        the same class means the user is sweeping layers: one backward then fills in every
        layer's gradient for that class, so the rest of the sweep needs no autograd at all.
        """
        if layer != INPUT:
            layer = self.check_layer(layer)
        known = self._gradients.get(target)
        if known is None:
            known = {}
            self._gradients.put(target, known)
        if layer not in known:
            sweep = layer != INPUT and any(name != INPUT for name in known)
            names = [info.name for info in self.layers if info.name not in known] if sweep else [layer]
            known.update(self._backward(target, names))
        return known[layer]

    def _backward(self, target: int, names: Sequence[str]) -> dict[str, torch.Tensor]:
        points = [self.input if name == INPUT else self._activations[name] for name in names]
        with torch.inference_mode(False), torch.enable_grad():
            grads = torch.autograd.grad(self.logits[0, target], points, retain_graph=True, allow_unused=True)
        found = {}
        for name, grad in zip(names, grads, strict=True):
            if grad is None:
                if len(names) == 1:
                    raise LayerError(
                        f"Layer {name!r} does not influence the class score; choose a layer closer to the output."
                    )
                continue
            found[name] = grad
        return found

    def sweep(
        self, method: str = "gradcam", layers: Optional[Sequence[str]] = None, targets: Optional[Sequence[int]] = None
    ) -> dict[tuple[str, int], torch.Tensor]:
        """Maps for every (layer, class) pair: default every layer × the top-5 classes.

        One batched backward (``is_grads_batched``) serves all classes and layers; each map
        then costs a re-weighting of kept tensors. This is what a Compare grid over layers
        and classes needs.
        """
        names = [self.check_layer(name) for name in (layers or [info.name for info in self.layers])]
        classes = [self.check_target(t) for t in (targets or [index for index, _ in self.top_k(5)])]
        missing = [t for t in classes if not all(n in (self._gradients.get(t) or {}) for n in names)]
        if missing:
            self._batched_backward(missing, names)
        return {(name, t): self.attribution(method, layer=name, target=t) for name in names for t in classes}

    def _batched_backward(self, classes: Sequence[int], names: Sequence[str]) -> None:
        one_hot = torch.zeros(len(classes), *self.logits.shape, device=self.logits.device, dtype=self.logits.dtype)
        one_hot[torch.arange(len(classes)), 0, torch.as_tensor(classes)] = 1
        points = [self._activations[name] for name in names]
        with torch.inference_mode(False), torch.enable_grad():
            try:
                grads = torch.autograd.grad(
                    self.logits,
                    points,
                    grad_outputs=one_hot,
                    retain_graph=True,
                    allow_unused=True,
                    is_grads_batched=True,
                )
            except RuntimeError:  # an op without a batched backward rule: one backward per class
                per_class = [
                    torch.autograd.grad(self.logits[0, c], points, retain_graph=True, allow_unused=True)
                    for c in classes
                ]
                grads = [
                    None if per_class[0][i] is None else torch.stack([g[i] for g in per_class])
                    for i in range(len(points))
                ]
        for row, target in enumerate(classes):
            known = self._gradients.get(target)
            if known is None:
                known = {}
                self._gradients.put(target, known)
            for name, grad in zip(names, grads, strict=True):
                if grad is not None:
                    known.setdefault(name, grad[row])

    def attribution(
        self, method: str = "gradcam", layer: Optional[str] = None, target: Optional[int] = None, **params: Any
    ) -> torch.Tensor:
        """The 2-D attribution map of ``method`` for ``target`` at ``layer`` (cached)."""
        from .methods import get_method

        spec = get_method(method)
        target = self.check_target(target)
        layer = self.check_layer(layer) if spec.uses_layer else None
        values = spec.resolve_params(params)
        key = (spec.name, layer, target, tuple(sorted(values.items())))
        cached = self.attributions.get(key)
        if cached is None:
            cached = spec.compute(self, layer, target, **values).detach()
            self.attributions.put(key, cached)
        return cached

    def close(self) -> None:
        """Drop the graph and every kept tensor so their memory can be freed."""
        self._activations.clear()
        self._gradients.clear()
        self.attributions.clear()
        self.input = self.logits = None  # type: ignore[assignment]

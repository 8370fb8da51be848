"""One image, one forward: the state every attribution of that image is computed from."""

from __future__ import annotations

import contextlib
import operator
import time
from collections.abc import Callable, Sequence
from typing import Any, Optional

import torch
from torch import nn

from .attention_capture import AttentionRecord, AttentionRecorder
from .cache import LRUCache
from .errors import ExplainError, LayerError, ModelCallError, ModelChangedError, TargetError
from .inputs import ImageLike, Transform, prepare_image
from .layers import INPUT, LayerInfo
from .methods import get_method
from .model_calls import one_at_a_time_note
from .model_changes import ModelSnapshot
from .model_state import (
    SCRIPTED,
    check_model,
    evaluation_mode,
    forward_hooks,
    is_scripted,
    model_device,
    model_dtype,
    quantized_modules,
    unknown_layer_message,
    unusable_weights_message,
    unwrap_compiled,
)
from .outputs import OutputChoice, find_logits
from .tokens import MAX_PREFIX, SPATIAL, Layout, infer_layout


class Session:
    """Run ``model`` once on ``image`` and keep what attributions need.

    The forward pass records the output of every layer with a spatial output (or only of
    ``layer_names``) and keeps the autograd graph, all on the model's device. Gradients for
    a (layer, class) pair come from ``torch.autograd.grad`` on that graph, which only walks
    back as far as the chosen layer, and are cached, as are finished attributions. The model
    comes back as it was: hooks removed, training flags, ``requires_grad`` and ``.grad``
    untouched (gradients never accumulate into parameters).

    ``output`` picks the class scores when the model returns more than a tensor (an index,
    a key or a function of the output; default: ``.logits`` or the first tensor). Whatever
    the engine changed on the way (image rescaled or downscaled, first output tensor used,
    training mode, compiled or scripted model, dtype) is described in ``notes``.
    """

    GRADIENT_CLASSES = 4
    """How many classes' gradients a session keeps (Finer-CAM's default compares a class with
    its three nearest)."""

    def __init__(
        self,
        model: nn.Module,
        image: ImageLike,
        *,
        transform: Optional[Transform] = None,
        layer_names: Optional[Sequence[str]] = None,
        cache_size: int = 64,
        output: OutputChoice = None,
    ) -> None:
        model, compiled_note = unwrap_compiled(check_model(model))
        self.model = model
        self.output = output
        unusable = unusable_weights_message(model)
        if unusable:
            raise ModelCallError(unusable)
        self.device = model_device(model)
        prepared = prepare_image(image, transform)
        self.display = prepared.display
        self.notes: list[str] = list(prepared.notes) + ([compiled_note] if compiled_note else [])
        dtype = model_dtype(model)
        if prepared.tensor.dtype != dtype:
            self.notes.append(f"The {prepared.tensor.dtype} input was converted to the model's dtype, {dtype}.")
        self._activations: dict[str, torch.Tensor] = {}
        self._layouts: dict[str, Layout] = {}
        self._attention: dict[str, AttentionRecord] = {}
        self._attention_gradients: LRUCache[dict[str, torch.Tensor]] = LRUCache(self.GRADIENT_CLASSES)
        self._default_layer: Optional[str] = None
        self._no_live_layer = False  # set when no token layer gets a gradient (e.g. a zero classifier head)
        self._live: set[str] = set()  # token layers whose patch tokens have had a gradient
        # class → {layer: gradient}; a class swept over every layer costs about as much
        # memory as the activations, so only the most recent few are kept
        self._gradients: LRUCache[dict[str, torch.Tensor]] = LRUCache(self.GRADIENT_CLASSES)
        self.attributions: LRUCache[torch.Tensor] = LRUCache(cache_size)
        self._forward(prepared.tensor.to(self.device, dtype), layer_names)
        self._snapshot = ModelSnapshot(model)  # after the forward: a model may set its own buffers there

    def on_image(self, image: torch.Tensor, layer_names: Optional[Sequence[str]] = None) -> Session:
        """A new session of this model and class scores on another ``image`` (1×C×H×W, in the
        model's dtype and device, e.g. a flipped or noisy copy of this one), recording only
        ``layer_names`` when given; close it after use."""
        return Session(self.model, image, output=self.output, layer_names=layer_names)

    def model_change(self) -> Optional[str]:
        """How the model changed since this session's forward (a layer replaced, weights
        trained or loaded), in words; ``None`` while the kept forward is still its own."""
        return self._snapshot.change(self.model)

    def check_unchanged(self) -> None:
        """A ModelChangedError when the model changed after the forward (its maps would be stale)."""
        change = self.model_change()
        if change is not None:
            raise ModelChangedError(
                f"The model changed after this image was run through it: {change}. The kept forward no longer "
                "matches it; make a new Session (an Explorer runs the image again by itself on the next control "
                "change, or on refresh())."
            )

    def _record(self, name: str, output: torch.Tensor) -> Optional[torch.Tensor]:
        if not output.is_floating_point() or name in self._attention_points:
            return None
        if output.dim() == 4 and output.shape[0] != self.input.shape[0]:
            return None  # not one map per image: a detector's pooled regions of interest, say
        layout = infer_layout(tuple(output.shape), tuple(self.input.shape[-2:]), self._grid_hints)
        if layout is None:
            return None
        if layout.kind == SPATIAL:
            self._grid_hints.append((layout.height, layout.width))
        self._layouts[name] = layout
        self._calls.append((name, output))  # a reused module: the last call that matters is kept
        # Later in-place ops (ReLU(inplace=True), `out += identity`) act on a copy, so the
        # recorded tensor keeps its values and stays a valid point to differentiate at.
        return output.clone()

    def _forward(self, tensor: torch.Tensor, layer_names: Optional[Sequence[str]]) -> None:
        with torch.inference_mode(False), torch.enable_grad():
            self.input = tensor.clone().requires_grad_(True)
            self._calls: list[tuple[str, torch.Tensor]] = []
            self._grid_hints: list[tuple[int, int]] = []
            scripted = is_scripted(self.model)
            recorder = AttentionRecorder(self.model)
            self._attention_points = recorder.points
            hooks = contextlib.nullcontext() if scripted else forward_hooks(self.model, self._record, layer_names)
            attention = contextlib.nullcontext() if scripted else recorder
            with evaluation_mode(self.model) as was_training, attention, hooks:
                started = time.perf_counter()
                output = self._call(self.input)
                self.forward_seconds = time.perf_counter() - started  # the unit of cost estimates
            self.logits, note = find_logits(output, self.output, len(self.input))
            self._attention = recorder.records
        if scripted:
            self.notes.append(SCRIPTED)
        if note:
            self.notes.append(note)
        if was_training:
            self.notes.append(
                "The model was in training mode; it was explained in eval mode and left in training mode."
            )
        if not self.logits.requires_grad and not scripted:
            raise ModelCallError(
                "The model's class scores carry no gradient: its forward runs under torch.no_grad() or "
                "inference_mode (or detaches its output), so nothing can be traced back to the image or its "
                "layers. Remove that from forward (the engine adds no_grad itself where it can), or wrap the "
                "model so that the output keeps its graph."
            )
        self._keep_influencing()
        self.layers = [
            LayerInfo(name, tuple(self.activation(name).shape[1:]), self._layouts[name]) for name in self._influencing
        ]
        self.probabilities = torch.softmax(self.logits.detach()[0].float(), dim=0)

    def _call(self, tensor: torch.Tensor) -> Any:
        try:
            return self.model(tensor)
        except ExplainError:
            raise
        except TypeError as err:
            if "required positional argument" not in str(err) and "required keyword" not in str(err):
                raise self._call_error(err, tensor) from err
            raise ModelCallError(
                f"The model's forward needs more than the image ({err}). Wrap it in an nn.Module whose forward "
                "takes the image alone and supplies the rest, e.g. forward(self, x): return model(x, extra)."
            ) from err
        except Exception as err:
            raise self._call_error(err, tensor) from err

    @staticmethod
    def _call_error(err: Exception, tensor: torch.Tensor) -> ModelCallError:
        first_line = (str(err).strip().splitlines() or [""])[0][:300].rstrip(".")
        return ModelCallError(
            f"The model raised {type(err).__name__} on the input of shape {tuple(tensor.shape)} "
            f"({tensor.dtype}): {first_line}. Check that the image matches what the model expects "
            "(channels, size, normalisation): pass transform=... to prepare it."
        )

    def _keep_influencing(self) -> None:
        """List each layer at its last call the class scores depend on, in call order.

        A layer only on another output's branch stays recorded (asking for it gives a clear
        error) but is not listed in ``layers`` nor chosen by default.
        """
        reached, stack = set(), [self.logits.grad_fn]
        while stack:
            node = stack.pop()
            if node is None or node in reached:
                continue
            reached.add(node)
            stack.extend(parent for parent, _ in node.next_functions)
        unused: dict[str, torch.Tensor] = {}
        for name, output in self._calls:
            if output.grad_fn in reached:
                self._activations.pop(name, None)  # re-insert: the order is that of the kept calls
                self._activations[name] = output
            else:
                unused[name] = output
        self._influencing = list(self._activations)
        self._activations.update((name, t) for name, t in unused.items() if name not in self._activations)
        self._calls = []

    @property
    def num_classes(self) -> int:
        return int(self.logits.shape[-1])

    @property
    def default_layer(self) -> str:
        """The last layer whose map the class score depends on: the usual choice for Grad-CAM.

        For a CNN that is the last spatial layer. In a ViT that reads its prediction from the
        CLS token, the patch tokens of the last blocks get no gradient at all (after the last
        attention, nothing mixes them into the CLS token), so the default is the last token
        layer whose patch tokens do get one, found with one backward for the top class
        (whose gradients are kept for the first map).
        """
        if not self.layers:
            raise LayerError(self._no_layer_message())
        if self._default_layer is None:
            self._default_layer = self._last_live_layer()
        return self._default_layer

    def _last_live_layer(self) -> str:
        if all(info.kind == SPATIAL for info in self.layers):
            return self.layers[-1].name
        top = self.top_k(1)[0][0]
        known = self._class_gradients(top)
        known.update(self._backward(top, [info.name for info in self.layers if info.name not in known]))
        live = [info for info in self.layers if info.name in known and bool(known[info.name].any())]
        # prefer the width of the model's last layer (its embedding width): q·k·v and MLP-hidden
        # outputs are poor defaults
        width = self.layers[-1].shape[0]
        if not live:
            # gradient maps are empty everywhere; the class-free methods still need a layer
            self._no_live_layer = True
            self.notes.append(self.dead_gradient_message())
            return next((info for info in reversed(self.layers) if info.shape[0] == width), self.layers[-1]).name
        default = next((info for info in reversed(live) if info.shape[0] == width), live[-1]).name
        if live[-1] is not self.layers[-1]:
            first_dead = self.layers[self.layers.index(live[-1]) + 1].name
            self.notes.append(
                f"The patch tokens of the last layers (from {first_dead!r} on) get no gradient: the model reads "
                f"its prediction from the prefix (CLS) token. Gradient maps default to {default!r}."
            )
        return default

    @property
    def gradients_dead(self) -> bool:
        """True when no layer's map gets a gradient from the class scores (e.g. a ViT with a zero
        classifier head): gradient maps are empty, class-free ones (Eigen-CAM, attention) work."""
        if self.layers:
            self.default_layer  # noqa: B018 - finding the default layer is what checks it
        return self._no_live_layer

    def dead_gradient_message(self) -> str:
        """Why no layer's patch tokens get a gradient, and which methods work all the same."""
        scores = self.logits.detach()[0]
        if bool((scores == scores[0]).all()):
            cause = (
                f"all {self.num_classes} class scores are equal ({float(scores[0]):.3g}) whatever the image, as with a "
                "classifier head whose weights are all zero (torchvision initialises a ViT's head so with "
                "weights=None): load trained weights or train the head for class-specific maps"
            )
        else:
            cause = "the class scores do not depend on any layer's patch tokens"
        working = "'eigencam'" + (", 'attention' and 'rollout'" if self.attention_layers else "")
        return (
            f"No layer's map gets any gradient from the class score: {cause}. Gradient maps would be empty here; "
            f"{working} need no gradient and still work."
        )

    def _no_layer_message(self) -> str:
        if is_scripted(self.model):
            return SCRIPTED
        size = tuple(self.input.shape[-2:])
        if size[0] * size[1] <= 4:
            return (
                f"The model input is only {size[0]}×{size[1]} pixels, so no layer has a spatial output for layer "
                "methods; resize the image (pass transform=..., e.g. Resize(224)) or use 'saliency'."
            )
        return (
            "The model has no layer with a spatial (N×C×H×W) output, so layer methods (CAMs) cannot run; "
            "use an input method such as 'saliency'."
        )

    def top_k(self, k: int = 5) -> list[tuple[int, float]]:
        """The ``k`` most probable classes as (index, probability), best first."""
        check_top_k(k)
        # ranked by the logits themselves: probabilities of tiny or tied logits (random weights,
        # ~1e-9 apart) round to equal float32 values, and the top-1 must stay the logits' argmax
        order = torch.sort(self.logits.detach()[0], descending=True, stable=True).indices[: min(k, self.num_classes)]
        return [(int(i), float(self.probabilities[i])) for i in order.tolist()]

    def check_target(self, target: Optional[int]) -> int:
        """Validate a class index; ``None`` means the top-1 class."""
        if target is None:
            return self.top_k(1)[0][0]
        last = self.num_classes - 1
        try:
            if isinstance(target, bool):
                raise TypeError
            index = operator.index(target)
        except TypeError:
            raise TargetError(
                f"Class {target!r} ({type(target).__name__}) is not an integer; pass an int class index "
                f"from 0 to {last} (Session.top_k() lists the likeliest)."
            ) from None
        if not 0 <= index <= last:
            hint = " (negative indices do not count from the end)" if index < 0 else ""
            raise TargetError(
                f"Class {index} is out of range{hint}: the model scores {self.num_classes} classes, "
                f"so pick an index from 0 to {last}."
            )
        return index

    def check_layer(self, layer: Optional[str]) -> str:
        """Validate a layer name; ``None`` means the default (last spatial) layer."""
        if layer is None:
            return self.default_layer
        if layer not in self._activations:
            raise LayerError(self._layer_message(layer))
        return layer

    def _layer_message(self, layer: str) -> str:
        if is_scripted(self.model):
            return SCRIPTED
        names = [info.name for info in self.layers]
        example = f", e.g. {names[-1]!r}" if names else " (none here: use an input method such as 'saliency')"
        if isinstance(layer, str) and layer in dict(self.model.named_modules()):
            return (
                f"Layer {layer!r} has no spatial (N×C×H×W) output in this forward, so layer methods cannot use it; "
                f"pick one of Session.layers{example}."
            )
        if not names:
            return self._no_layer_message()
        return unknown_layer_message(str(layer), names)

    def activation(self, layer: str) -> torch.Tensor:
        """The recorded output of ``layer`` as a 1×C×h×w map (patch tokens only; detached)."""
        layer = self.check_layer(layer)
        return self._layouts[layer].to_grid(self._activations[layer].detach())

    def layer_outputs(self, layer: str, maps: torch.Tensor) -> torch.Tensor:
        """A batch of outputs of ``layer`` in its own layout, from B×C×h×w maps (prefix tokens kept)."""
        layer = self.check_layer(layer)
        return self._layouts[layer].from_grid(maps, self._activations[layer].detach())

    def _class_gradients(self, target: int) -> dict[str, torch.Tensor]:
        known = self._gradients.get(target)
        if known is None:
            known = {}
            self._gradients.put(target, known)
        return known

    def gradient(self, layer: str, target: int) -> torch.Tensor:
        """d logit[target] / d output of ``layer`` (or of the input for ``INPUT``), cached.

        The first request for a class walks back only as far as ``layer``. A second layer for
        the same class means the user is sweeping layers: one backward then fills in every
        layer's gradient for that class, so the rest of the sweep needs no autograd at all.
        """
        if layer != INPUT:
            layer = self.check_layer(layer)
        known = self._class_gradients(target)
        if layer not in known:
            sweep = layer != INPUT and any(name != INPUT for name in known)
            names = [info.name for info in self.layers if info.name not in known] if sweep else [layer]
            known.update(self._backward(target, names))
        grad = known[layer]
        if layer != INPUT and self._layouts[layer].kind != SPATIAL and not self._gets_gradient(layer, grad):
            default = self.default_layer
            if self._no_live_layer:
                raise LayerError(self.dead_gradient_message())
            raise LayerError(
                f"The patch tokens of layer {layer!r} get no gradient from class {target}: the model reads its "
                "prediction from the prefix (CLS) token, and after this layer nothing mixes the patches into it, "
                f"so gradient maps are empty here. Pick an earlier layer such as {default!r} "
                "(the default), or use 'eigencam' or an attention method, which need no gradient."
            )
        return grad

    def hessian_vector_product(
        self, layer: str, score: Callable[[torch.Tensor], torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The gradient of ``score(class scores)`` w.r.t. the output A of ``layer`` and its
        Hessian-vector product with A itself, (∇, H·A), both 1×C×h×w (detached, not cached).

        ``score`` maps the 1-D class scores of the image to a scalar (e.g. one logit, or a
        function of the softmax). Two backwards over the kept graph, the first with
        ``create_graph``; the model and its parameters' ``.grad`` are untouched. H·A is zero
        where the score is linear in A (its graph has no curvature there).
        """
        layer = self.check_layer(layer)
        point = self._activations[layer]
        with torch.inference_mode(False), torch.enable_grad():
            value = score(self.logits[0])
            (grad,) = torch.autograd.grad(value, point, retain_graph=True, create_graph=True, allow_unused=True)
            if grad is None:
                raise LayerError(
                    f"Layer {layer!r} does not influence the class score; choose a layer closer to the output."
                )
            hvp = None
            if grad.requires_grad:  # else the score is linear in the layer's output: H·A = 0
                (hvp,) = torch.autograd.grad(
                    grad, point, grad_outputs=point.detach(), retain_graph=True, allow_unused=True
                )
        layout = self._layouts[layer]
        grad = grad.detach()
        return layout.to_grid(grad), layout.to_grid(torch.zeros_like(grad) if hvp is None else hvp.detach())

    def _backward(self, target: int, names: Sequence[str]) -> dict[str, torch.Tensor]:
        if not names:
            return {}
        points = [self.input if name == INPUT else self._activations[name] for name in names]
        with torch.inference_mode(False), torch.enable_grad():
            grads = torch.autograd.grad(self.logits[0, target], points, retain_graph=True, allow_unused=True)
        found = {}
        for name, grad in zip(names, grads, strict=True):
            if grad is None:
                if len(names) == 1:
                    quantized = quantized_modules(self.model)
                    if quantized:
                        raise LayerError(
                            f"No gradient reaches layer {name!r}: the model has quantized layers (e.g. "
                            f"{quantized[0]!r}), whose integer kernels pass no gradient. Explain the float model "
                            "(before torch.ao.quantization), or use a method that needs no gradient: 'eigencam', "
                            "'scorecam', 'occlusion' or 'rise'."
                        )
                    raise LayerError(
                        f"Layer {name!r} does not influence the class score; choose a layer closer to the output."
                    )
                continue
            found[name] = grad if name == INPUT else self._layouts[name].to_grid(grad)
        return found

    def _gets_gradient(self, layer: str, grad: torch.Tensor) -> bool:
        """Whether a token layer's patch tokens get any gradient. That is a property of the model's
        wiring, so once a layer has had one it is not checked again (the check waits for the device)."""
        if layer not in self._live and bool(grad.any()):
            self._live.add(layer)
        return layer in self._live

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
        computed = self._batched_backward(missing, names) if missing else {}
        maps = {}
        for target in classes:
            if target in computed:  # cached just before use: the class cache is small
                known = self._gradients.get(target) or {}
                self._gradients.put(target, {**computed[target], **known})
            for name in names:
                try:
                    maps[(name, target)] = self.attribution(method, layer=name, target=target)
                except LayerError:
                    if layers is not None:
                        raise
                    # by default, layers whose patch tokens get no gradient are left out
        return maps

    def _batched_backward(self, classes: Sequence[int], names: Sequence[str]) -> dict[int, dict[str, torch.Tensor]]:
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
        return {
            target: {
                name: self._layouts[name].to_grid(grad[row])
                for name, grad in zip(names, grads, strict=True)
                if grad is not None
            }
            for row, target in enumerate(classes)
        }

    def attribution(
        self, method: str = "gradcam", layer: Optional[str] = None, target: Optional[int] = None, **params: Any
    ) -> torch.Tensor:
        """The 2-D attribution map of ``method`` for ``target`` at ``layer`` (cached)."""
        spec = get_method(method)
        self.check_unchanged()
        target = self.check_target(target)
        layer = self.check_layer(layer) if spec.uses_layer else None
        values = spec.resolve_params(params)
        key = (spec.name, layer, target, tuple(sorted(values.items())))
        cached = self.attributions.get(key)
        if cached is None:
            cached = spec.compute(self, layer, target, **values).detach()
            self.attributions.put(key, cached)
            batches = one_at_a_time_note(self.model)
            if batches and batches not in self.notes:
                self.notes.append(batches)
        return cached

    # -- attention --------------------------------------------------------------------------

    @property
    def attention_layers(self) -> list[str]:
        """Modules whose attention probabilities were recorded, in call order."""
        return list(self._attention)

    def check_attention_layer(self, layer: Any) -> str:
        """An attention module's name from its name or its index (negative counts from the end)."""
        names = self.attention_layers
        if not names:
            raise LayerError(
                "No attention was recorded in this model's forward, so attention maps cannot be shown. They need "
                "global self-attention (nn.MultiheadAttention, a timm-style Attention or "
                "F.scaled_dot_product_attention); windowed attention such as Swin's has no CLS token to read. "
                "Use Grad-CAM on the model's layers instead."
            )
        if isinstance(layer, str):
            if layer not in self._attention:
                message = unknown_layer_message(layer, names)
                raise LayerError(message.replace("Session.layers", "Session.attention_layers"))
            return layer
        try:
            return names[operator.index(layer)]
        except (TypeError, IndexError):
            raise LayerError(
                f"Attention block {layer!r} does not exist: the model has {len(names)} attention blocks, "
                f"so pick an index from 0 to {len(names) - 1} (or -1 for the last)."
            ) from None

    def attention(self, layer: Any) -> torch.Tensor:
        """Attention probabilities of one block (name or index): heads×queries×keys, detached."""
        return self._attention[self.check_attention_layer(layer)].probabilities()

    def attention_gradient(self, layer: Any, target: int) -> torch.Tensor:
        """d logit[target] / d attention probabilities of one block (heads×queries×keys).

        The first request for a class fills in every block's gradient with one backward.
        """
        layer = self.check_attention_layer(layer)
        known = self._attention_gradients.get(target)
        if known is None:
            names = self.attention_layers
            points = [self._attention[name].point for name in names]
            with torch.inference_mode(False), torch.enable_grad():
                grads = torch.autograd.grad(self.logits[0, target], points, retain_graph=True, allow_unused=True)
            known = {
                name: self._attention[name].as_probabilities(grad)
                if grad is not None
                else torch.zeros(self._attention[name].shape[1:], device=points[0].device, dtype=points[0].dtype)
                for name, grad in zip(names, grads, strict=True)
            }
            self._attention_gradients.put(target, known)
        return known[layer]

    def attention_gradient_of(
        self, layer: Any, source: str, score: Callable[[torch.Tensor], torch.Tensor]
    ) -> torch.Tensor:
        """d ``score(output of source)`` / d attention probabilities of block ``layer`` (heads×queries×keys).

        ``source`` is a recorded layer; ``score`` maps its output as the forward produced it (its
        own layout, prefix tokens kept, graph attached) to a scalar, e.g. a class score read from a
        block's own tokens (LeGrad). Not cached; no parameter's ``.grad`` changes. Zeros when the
        score does not depend on that attention.
        """
        name = self.check_attention_layer(layer)
        source = self.check_layer(source)
        record = self._attention[name]
        with torch.inference_mode(False), torch.enable_grad():
            (grad,) = torch.autograd.grad(
                score(self._activations[source]), record.point, retain_graph=True, allow_unused=True
            )
        if grad is None:
            return torch.zeros(record.shape[1:], device=record.point.device, dtype=record.point.dtype)
        return record.as_probabilities(grad)

    def token_layout(self, tokens: int) -> Layout:
        """Where a sequence of ``tokens`` tokens puts its prefix and its patch grid."""
        layout = infer_layout((1, tokens, 1), tuple(self.input.shape[-2:]), self._grid_hints)
        if layout is None:
            raise LayerError(
                f"{tokens} tokens do not form a patch grid over the {tuple(self.input.shape[-2:])} input "
                f"(with up to {MAX_PREFIX} prefix tokens), so attention cannot be drawn over the image."
            )
        return layout

    def clear_caches(self, gradients: bool = True) -> None:
        """Forget finished maps (and, by default, gradients): the next request recomputes them."""
        self.attributions.clear()
        if gradients:
            self._gradients.clear()
            self._attention_gradients.clear()

    def close(self) -> None:
        """Drop the graph and every kept tensor so their memory can be freed."""
        self._activations.clear()
        self._gradients.clear()
        self._attention.clear()
        self._attention_gradients.clear()
        self.attributions.clear()
        self.input = self.logits = None  # type: ignore[assignment]


def check_top_k(k: Any) -> int:
    """``k`` if it is a whole number of classes to list (at least 1); else a message with the fix."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise TargetError(f"top_k must be a whole number of classes to list, at least 1; got {k!r} (e.g. top_k=5).")
    return k

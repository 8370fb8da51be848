"""The Explorer widget: a photo, its top classes and a live attribution heatmap."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Optional, Union

import numpy as np
import torch
import traitlets
from torch import nn

from ..engine import ExplainError, Method, Session, all_methods, get_method
from ..engine.cache import LRUCache
from ..engine.costs import estimated_seconds, model_passes
from ..engine.inputs import Transform
from ..engine.map_checks import blank_map_warning
from ..engine.model_state import check_model
from ..engine.outputs import OutputChoice
from ..engine.progress import Cancelled
from ..engine.sanity import cascading_randomisation
from ..engine.session import check_top_k
from ..engine.target_picking import CLASSES, DETECTION, SEGMENTATION, OutputKind, embedding_of, output_kind
from ..engine.targets import ClassScore, Contrast, Similarity, Target, TargetScores
from .bundles import bundle
from .images import named_images
from .jobs import LatestWins
from .labels import check_labels, label_list
from .map_check import curves_payload, metrics_payload, sanity_payload
from .overlay import OverlayWidget
from .prefetch import DEFAULT_BUDGET, PREFETCH_METHODS, Prefetcher, candidate_keys
from .push_view import Pushed, check_push, flip_payload, push_payload, push_setup, pushed_image
from .reproduce import reproduce_code
from .serialize import decode_map, describe_layer, describe_method, encode_map, encode_png
from .target_choice import (
    check_spec,
    default_region_class,
    offered_kinds,
    segmentation_classes,
    spec_id,
    spec_kind,
    target_for,
)

log = logging.getLogger(__name__)

CHECK_TRAITS = ("faithfulness", "sanity", "flip")
"""The checks of the map on screen, each answered in its own trait with the map's key."""
CLASS_FREE_START = "The Explorer opened on Eigen-CAM, which needs no gradient, because gradient maps are empty here."


class Explorer(OverlayWidget):
    """Explore why ``model`` classifies ``images`` as it does.

    Shows each image as the model sees it, its top-k classes and an attribution map blended
    over it, with live controls for layer, class, method (and its parameters), opacity,
    colormap and normalisation. Opacity, colormap and normalisation live in the browser
    only; the other controls ask the engine, which answers from its caches when it can.
    Slow methods run on a worker thread, report progress and are abandoned when the
    controls move on.

    Args:
        model: any ``torch.nn.Module`` image classifier (on any device).
        images: one image (PIL, numpy, tensor or path), a list, or a dict name → image.
        labels: class names, a list (index = class id) or a dict {class id: name}
            (default: numbered classes); a mismatch with the model's classes is noted.
        transform: preprocessing from image to model input (for example torchvision's
            ``weights.transforms()``); without it images are used as they are.
        layer, method, target: initial choices (default: the live default layer, Grad-CAM, top-1;
            Eigen-CAM, with a note, for a model whose class scores give no layer a gradient,
            such as a ViT with a zero classifier head). ``target`` is a class index or a
            ``ClassScore`` (probability), ``Contrast`` (A rather than B) or ``Similarity``.
        reference: an image or an embedding vector that a similarity target compares the
            model's output with (the "Similarity to a reference" target).
        opacity, colormap, normalization: initial look of the overlay.
        top_k: how many of the best classes to list.
        output: which part of the model's output holds the class scores when it returns a
            tuple, dict or object: an index, a key or a function (default: ``.logits`` or
            the first tensor; see ``Session``).

    Segmentation models (per-pixel class scores, N×K×H×W) and torchvision detectors (a list
    of box dicts) open on a region or a box: the list shows the classes by share of the
    pixels, or the boxes found; a click (or a drag) on the image picks the region of the
    class under it, a click on a drawn box picks that box. ``target_kinds`` lists every kind
    of target with the reason an absent one does not fit this model.
        confirm_above: a slow method whose estimated run (images through the model × this
            image's measured forward) exceeds this many seconds waits for a confirmation
            (``pending_cost``; the Run button, or ``run_pending()``); 0 never asks.
        session: an engine session of the first image to reuse (its forward and kept graph),
            for example the one a linked ``Compare`` already made; the Explorer then owns it.
        prefetch_budget: bytes of maps sent ahead to the browser per image (default 1 MB; 0:
            none). After each map, in a kernel, the maps of every layer, the top classes and
            the quick CAM methods go ahead in the background, so moving to them paints with no
            round trip (``prefetch_status()`` tells what was sent).
    """

    SESSIONS = 2
    """How many images keep their engine session (graph, activations, gradients) at once."""

    _esm = bundle("explorer.js")

    photo = traitlets.Bytes(b"").tag(sync=True)
    image_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    layers = traitlets.List(traitlets.Dict()).tag(sync=True)
    methods = traitlets.List(traitlets.Dict()).tag(sync=True)
    labels = traitlets.List(traitlets.Unicode()).tag(sync=True)
    top_classes = traitlets.List(traitlets.Dict()).tag(sync=True)
    result = traitlets.Dict().tag(sync=True)
    progress = traitlets.Dict().tag(sync=True)
    pending_cost = traitlets.Dict().tag(sync=True)
    confirmed = traitlets.Dict().tag(sync=True)
    confirm_above = traitlets.Float(10.0).tag(sync=True)
    notes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    faithfulness = traitlets.Dict().tag(sync=True)
    check_request = traitlets.Int(0).tag(sync=True)
    sanity = traitlets.Dict().tag(sync=True)
    sanity_request = traitlets.Int(0).tag(sync=True)

    image_index = traitlets.Int(0).tag(sync=True)
    layer = traitlets.Unicode("").tag(sync=True)
    method = traitlets.Unicode("gradcam").tag(sync=True)
    method_params = traitlets.Dict().tag(sync=True)
    target = traitlets.Int(0).tag(sync=True)
    target_spec = traitlets.Dict().tag(sync=True)
    """What ``target`` names: {} a class's logit, or a kind and its details (see ``target_choice``)."""
    target_kinds = traitlets.List(traitlets.Dict()).tag(sync=True)
    output_kind = traitlets.Unicode(CLASSES).tag(sync=True)
    boxes = traitlets.List(traitlets.Dict()).tag(sync=True)
    """A detector's boxes on the current image, in photo pixels (index, box, label, score)."""
    push = traitlets.Dict().tag(sync=True)
    """An adversarial push of the image: {} or {epsilon, steps, toward?} (see ``push_view``)."""
    push_setup = traitlets.Dict().tag(sync=True)
    push_info = traitlets.Dict().tag(sync=True)
    flip = traitlets.Dict().tag(sync=True)
    flip_request = traitlets.Int(0).tag(sync=True)
    code = traitlets.Unicode("").tag(sync=True)
    """The headless ``explain(...)`` (and ``audit``/``export``) calls of the map on screen."""
    drawn_from_cache = traitlets.Dict().tag(sync=True)
    """``{key, n}`` from the browser: it drew ``key`` from the maps it was sent ahead (``n`` counts
    the moves), so the kernel records the result without sending it back."""
    prefetch_budget = traitlets.Int(DEFAULT_BUDGET)
    """Bytes of maps sent ahead to the browser per image (0: none); see ``prefetch_status()``."""

    def __init__(
        self,
        model: nn.Module,
        images: Any,
        *,
        labels: Optional[Sequence[str]] = None,
        transform: Optional[Transform] = None,
        layer: Optional[str] = None,
        method: Optional[str] = None,
        target: Union[None, int, Target] = None,
        reference: Any = None,
        opacity: float = 0.5,
        colormap: str = "turbo",
        normalization: str = "auto",
        top_k: int = 5,
        output: OutputChoice = None,
        session: Optional[Session] = None,
        confirm_above: float = 10.0,
        prefetch_budget: int = DEFAULT_BUDGET,
    ) -> None:
        check_model(model)
        chosen = method
        method = method or "gradcam"
        get_method(method)  # fail early, with the list of methods
        names, self._images = named_images(images)
        self.model = model
        self.transform = transform
        self.output = output
        self.top_k = check_top_k(top_k)
        self._class_names = check_labels(labels)
        self._labels_note: Optional[str] = None
        self._sessions: LRUCache[Session] = LRUCache(self.SESSIONS)
        self._target_sessions: LRUCache[Session] = LRUCache(self.SESSIONS)  # one per target that is not a logit
        self._kinds: LRUCache[OutputKind] = LRUCache(2 * self.SESSIONS)  # a segmenter's or detector's output
        self._model_kind: Optional[str] = None  # classes, segmentation or detection: read from the first image
        self._photo_sizes: dict[int, tuple[int, int]] = {}
        self._reference_input = reference
        self._reference: Optional[torch.Tensor] = None
        self._pushes: LRUCache[Pushed] = LRUCache(self.SESSIONS)
        target, spec = _target_and_spec(target, reference)
        if session is not None:  # a linked widget's forward of the first image, reused
            self._sessions.put(0, session)
        self._jobs = LatestWins()
        self._seq = 0
        self._error: Optional[str] = None  # why the current image could not be loaded
        self._requested: Optional[dict[str, Any]] = None  # key of the newest request
        self._approved: Optional[dict[str, Any]] = None  # a slow map the user agreed to run
        self._quiet = True  # no engine calls while the traits are first set
        self._closed = False
        self._model_note: Optional[str] = None  # why the images were run through the model again
        self._unsynced: frozenset[str] = frozenset()  # traits set without telling the browser
        self._drawn_seen: Any = None  # the last `drawn_from_cache` move taken up
        self._prefetch_live = _in_kernel()  # a browser can only be sent maps from a kernel
        self._prefetcher = Prefetcher(
            plan=self._prefetch_plan,
            compute=self._prefetch_compute,
            send=lambda content, buffers: self.send(content, buffers=buffers),
            run_when_free=self._jobs.run_when_free,
            budget=lambda: self.prefetch_budget,
            canonical=_canonical,
        )
        if layer is not None:
            self._check_first_layer(layer)
        super().__init__(
            image_names=names,
            methods=[describe_method(m) for m in all_methods()],
            method=method,
            opacity=opacity,
            colormap=colormap,
            normalization=normalization,
            confirm_above=confirm_above,
            target_spec=spec,
            prefetch_budget=prefetch_budget,
        )
        self.on_msg(self._on_view_message)
        self._load_image(layer=layer, target=target)
        if chosen is None and not self._error and self.session().gradients_dead:
            self.notes = [*self.notes, CLASS_FREE_START]
            self.method = "eigencam"  # a map that needs no gradient, rather than an error first

    # -- engine calls -------------------------------------------------------------------

    def session(self) -> Session:
        """The engine session of the current image and target (one forward each, kept in an LRU)."""
        return self._session_for(self._key())

    def _session_for(self, key: dict[str, Any]) -> Session:
        """The session that explains ``key``'s target: the image's own for a class logit, or one
        whose output is the target's score (class 0) for any other target."""
        if self._closed:
            raise ExplainError("This Explorer is closed; create a new one to explain more images.")
        index = key["image_index"]
        target = self._target_object(key)
        pushed = key.get("push") or {}
        cache, cache_key, output, image = self._sessions, index, self.output, self._images[index]
        if target is not None or pushed:
            cache = self._target_sessions
            cache_key = (index, key["target"], spec_id(key["target_spec"]), spec_id(pushed))
            output = TargetScores(target, self.output) if target is not None else self.output
            image = self._pushed(index, pushed).prepared if pushed else image
        session = cache.get(cache_key)
        if session is None:
            transform = None if pushed else self.transform  # a pushed input is a model input already
            session = Session(self.model, image, transform=transform, output=output)
            cache.put(cache_key, session)
        return session

    def _pushed(self, index: int, spec: dict[str, Any]) -> Pushed:
        """Image ``index`` pushed as ``spec`` says (kept for the last few pushes)."""
        cache_key = (index, spec_id(spec))
        found = self._pushes.get(cache_key)
        if found is None:
            found = pushed_image(self.model, self._images[index], spec, self.transform, self.output)
            self._pushes.put(cache_key, found)
        return found

    def _target_object(self, key: dict[str, Any]) -> Optional[Target]:
        """The engine Target that ``key`` names (None for a class's logit on a classifier)."""
        spec = key.get("target_spec") or {}
        if spec_kind(spec) == "class" and self._model_kind in (None, CLASSES):
            return None  # a class's logit (a model that gives none says so when its session is made)
        kind = self._kind_of(key["image_index"])
        spec = check_spec(spec, kind, self._reference_input is not None)
        reference = self._reference_vector() if spec_kind(spec) == "similarity" else None
        size = self._photo_sizes.get(key["image_index"], (1, 1))
        return target_for(spec, key["target"], kind, reference, size)

    @staticmethod
    def _class_index(key: dict[str, Any], target: Optional[Target]) -> int:
        """The class a session explains for ``key``: its target's, or 0 for a target's one score."""
        return key["target"] if target is None else 0

    def _kind_of(self, index: int) -> OutputKind:
        """What the model returns for image ``index`` (read once for a classifier: one forward
        without a graph; for each image of a segmenter or detector: its classes or boxes)."""
        if self._model_kind is None and self._is_classifier(index):
            self._model_kind = CLASSES
        if self._model_kind == CLASSES:
            return OutputKind(CLASSES, classes=0)
        found = self._kinds.get(index)
        if found is None:
            try:
                found = output_kind(self.model, self._images[index], self.transform, self.output)
            except ExplainError:
                found = OutputKind(CLASSES, classes=0)  # the session says what is wrong
            if self._model_kind is None:
                self._model_kind = found.kind
            if found.kind != CLASSES:
                self._kinds.put(index, found)
        return found

    def _is_classifier(self, index: int) -> bool:
        """Whether the model gives one row of class scores per image: read from image ``index``'s
        session (kept for its maps), so a classifier costs no extra forward."""
        try:
            session = self._session_for({"image_index": index, "target": 0, "target_spec": {}})
        except Exception:  # a segmenter's N×K×H×W output, a detector with no box, a failing model:
            return False  # output_kind says which (and a classifier's own error comes back with its map)
        if session.logits is not None and session.logits.shape[0] == session.input.shape[0]:
            return True
        session.close()  # rows that are not images (a detector's proposals): of no use
        self._sessions.clear()
        return False

    def _reference_vector(self) -> torch.Tensor:
        """The embedding a similarity target compares with: ``reference=`` as given (a vector)
        or the model's output on it (an image)."""
        if self._reference is None:
            given = self._reference_input
            if isinstance(given, (torch.Tensor, np.ndarray)) and np.ndim(given) == 1:
                self._reference = torch.as_tensor(np.asarray(given) if isinstance(given, np.ndarray) else given)
            else:
                self._reference = embedding_of(self.model, given, self.transform, self.output)
        return self._reference

    def _check_first_layer(self, layer: str) -> None:
        """A LayerError (with close names) for a layer the model does not have: an explicit
        choice is never swapped for another. An image that cannot be loaded is left to say so."""
        try:
            session = self.session()
        except Exception:
            return  # shown as the widget's error once the image is loaded
        session.check_layer(layer)

    def _drop_stale_sessions(self) -> bool:
        """Forget every kept forward if the model changed since the current one (a layer
        replaced, weights trained or loaded); the next map runs the image again, with a note."""
        kept = [self._sessions.get(self.image_index), *self._target_sessions.values()]
        changes = (session.model_change() for session in kept if session is not None)
        change = next((found for found in changes if found), None)
        if change is None:
            return False
        self._close_sessions()
        self._model_note = f"The model changed since the last map ({change}); the image was run through it again."
        return True

    def _close_sessions(self) -> None:
        for session in [*self._sessions.values(), *self._target_sessions.values()]:
            session.close()
        self._sessions.clear()
        self._target_sessions.clear()
        self._kinds.clear()  # a changed model predicts other regions and boxes
        self._pushes.clear()  # and pushes its images elsewhere
        self._model_kind, self._reference = None, None

    def image(self) -> Any:
        """The current image as it was given (PIL, array, tensor or path)."""
        return self._images[self.image_index]

    def _load_image(self, layer: Optional[str] = None, target: Optional[int] = None, previous: Optional[int] = None):
        epoch = self._prefetcher.reset()  # first: the background stops before sessions may be dropped
        if self._prefetch_live:
            self.send({"kind": "prefetch_reset", "epoch": epoch})  # what the browser was sent is stale
        self._drop_stale_sessions()
        self._requested = None
        generation = self._jobs.new_request()
        try:
            self._jobs.run_blocking(lambda current: self._show_image(layer, target), generation)
        except BaseException as err:  # a kernel interrupt: back to the image on screen, in one piece
            if previous is None or isinstance(err, Exception):
                raise
            self._quiet = True
            try:
                self.image_index = previous
            finally:
                self._quiet = False
            message = _interrupted(err, "loading that image", "the previous image is shown; choose it again to retry.")
            self._publish(self._key(), error=message)
            raise
        self._refresh()

    def _show_image(self, layer: Optional[str], target: Optional[int]) -> None:
        """Make every trait of the image, then set them together: an interrupt on the way
        (a KeyboardInterrupt) leaves the previous image's photo, classes and map in place."""
        try:
            kind = self._kind_of(self.image_index)
            choice = self._choose_target(kind, target)
            pushed = check_push(self.push) if kind.kind == CLASSES else {}
            key = {"image_index": self.image_index, **choice, "push": pushed}
            session = self._session_for(key)
            labels, labels_note, top = self._listed(kind, session)
            known = {info.name for info in session.layers}
            wanted = layer if layer is not None else self.layer
            # found for every image (not only the first), so its note is shown for each one
            default = session.default_layer if session.layers else ""
            self._photo_sizes[self.image_index] = (session.display.shape[1], session.display.shape[0])
            state = {
                "labels": labels,
                "photo": encode_png(session.display),
                "methods": [describe_method(m, session) for m in all_methods() if m.applies_to(session)],
                "layers": [describe_layer(info) for info in session.layers],
                "layer": wanted if wanted in known else default,
                "top_classes": top,
                **choice,
                "output_kind": kind.kind,
                "target_kinds": offered_kinds(kind.kind, self._reference_input is not None),
                "boxes": _boxes(kind, labels),
                **self._push_state(kind, key, labels),
                "notes": [*session.notes, *(note for note in (labels_note, self._model_note) if note)],
            }
            self._model_note = None
            error = None
        except Exception as err:  # the widget must stay usable: the message goes to `result.error`
            if not isinstance(err, ExplainError):
                log.exception("loading the image failed")
            state, labels_note = {"photo": b"", "top_classes": [], "notes": []}, self._labels_note
            error = str(err) if isinstance(err, ExplainError) else f"{type(err).__name__}: {err}"
        self._quiet = True
        try:
            with self.hold_sync():
                for name, value in state.items():
                    setattr(self, name, value)
            self._labels_note, self._error = labels_note, error
        finally:
            self._quiet = False

    def _choose_target(self, kind: OutputKind, target: Optional[int]) -> dict[str, Any]:
        """The ``target`` and ``target_spec`` an image opens on: the given class if it fits, else
        the top-1 class (a segmenter: its largest class; a detector: its best box); a kind of
        target that does not fit the model gives way to the model's own kind."""
        spec = dict(self.target_spec)
        if kind.kind == SEGMENTATION:
            shares = segmentation_classes(kind.predicted, self.top_k)
            fits = target is not None and 0 <= target < kind.classes
            return {"target": target if fits else default_region_class(shares), "target_spec": {"kind": "region"}}
        if kind.kind == DETECTION:
            if not kind.detections:
                raise ExplainError(
                    "The detector found no box in this image, so there is nothing to explain; lower its score "
                    "threshold (torchvision: box_score_thresh=0.01 when building the model; the default is 0.05) "
                    "or choose another image."
                )
            fits = target is not None and 0 <= target < len(kind.detections)
            return {"target": target if fits else 0, "target_spec": {"kind": "box"}}
        session = self._session_for({"image_index": self.image_index, "target": 0, "target_spec": {}})
        ranked = [index for index, _ in session.top_k(max(self.top_k, 2))]
        fits = target is not None and 0 <= target < session.num_classes
        chosen = target if fits else ranked[0]
        if spec_kind(spec) in ("region", "box"):
            spec = {}
        if spec_kind(spec) == "contrast" and spec.get("other") in (None, chosen):
            spec["other"] = next((index for index in ranked if index != chosen), chosen)
        return {"target": chosen, "target_spec": spec}

    def _push_state(self, kind: OutputKind, key: dict[str, Any], labels: list[str]) -> dict[str, Any]:
        """The push traits of an image: the slider's range and aims, what the push did (if any)."""
        if kind.kind != CLASSES:
            return {"push_setup": {}, "push_info": {}}
        plain = self._session_for({**key, "push": {}, "target_spec": {}})
        choices = [{"index": index, "label": _label(labels, index)} for index, _ in plain.top_k(self.top_k)]
        state: dict[str, Any] = {"push_setup": push_setup(plain.input, self.transform, choices), "push_info": {}}
        if key["push"]:
            push_key = {"image_index": key["image_index"], "push": key["push"]}
            state["push_info"] = push_payload(self._pushed(key["image_index"], key["push"]), labels, push_key)
        return state

    def _listed(self, kind: OutputKind, session: Session) -> tuple[list[str], Optional[str], list[dict[str, Any]]]:
        """The class names, their note, and the list beside the image: the top classes with their
        probability (a classifier), with their share of the pixels (a segmenter), or the boxes
        with their score (a detector, whose names then name each box)."""
        count = session.num_classes if kind.kind == CLASSES else kind.classes
        if kind.kind == DETECTION and self._class_names is not None:
            count = max(count, len(self._class_names))  # a detector's classes: as many as the names given
        labels, labels_note = self.labels, self._labels_note
        if len(labels) != count or kind.kind == DETECTION:
            labels, labels_note = label_list(self._class_names, max(count, 1))
        if kind.kind == SEGMENTATION:
            ranked = segmentation_classes(kind.predicted, self.top_k)
        elif kind.kind == DETECTION:
            labels = [f"{labels[d['label']] if d['label'] < len(labels) else d['label']} (box {i + 1})"
                      for i, d in enumerate(kind.detections)]
            ranked = [(i, d["score"]) for i, d in enumerate(kind.detections[: self.top_k])]
        else:
            ranked = session.top_k(self.top_k)
        return labels, labels_note, [{"index": index, "label": labels[index], "prob": prob} for index, prob in ranked]

    @traitlets.observe("image_index")
    def _on_image(self, change: dict) -> None:
        if not self._quiet and not self._closed:
            self._load_image(previous=change["old"])

    @traitlets.observe("push")
    def _on_push(self, change: dict) -> None:
        """A push moves the image: its photo, classes and map follow (the target is kept)."""
        if self._quiet or self._closed:
            return
        try:
            checked = check_push(change["new"])
        except ExplainError as err:  # the photo on screen stays; the map says what is wrong
            self._requested = None
            self._publish(self._key(), error=str(err))
            return
        if checked != change["new"]:  # one spelling of each push (ε = 0 is {}), in the browser too
            self._quiet = True
            try:
                self.push = checked
            finally:
                self._quiet = False
        self._load_image(target=self.target)

    @traitlets.observe("flip_request")
    def _on_flip_request(self, change: dict) -> None:
        if not self._quiet and not self._closed:
            self.find_smallest_flip()

    def find_smallest_flip(self) -> None:
        """The smallest push that flips the prediction, with the push's attack and aim (``flip``
        trait; the "Smallest push that flips it" button), found by bisection on the worker."""

        def compute(key: dict[str, Any], spec: Method, params: dict[str, Any]) -> dict[str, Any]:
            aim = check_push({"epsilon": 1.0, "steps": 1, **{k: v for k, v in key["push"].items() if k != "epsilon"}})
            largest = float(self.push_setup.get("max") or 1.0)
            return flip_payload(
                self.model, self.image(), aim, largest, list(self.labels), self.transform, self.output
            )

        self._run_check("flip", compute)

    @traitlets.observe("layer", "method", "target", "target_spec", "method_params")
    def _on_control(self, change: dict) -> None:
        if not self._quiet and not self._closed:
            if change["name"] == "target_spec":
                self._follow_clicked_region()
            self._refresh()

    def _follow_clicked_region(self) -> None:
        """After a click (or drag) on a segmenter's photo, ``target`` becomes the class under it,
        so the list and the class picker show the class the map explains."""
        spec = self.target_spec
        if spec_kind(spec) != "region" or "x" not in spec:
            return
        try:
            region = self._target_object(self._key())
        except ExplainError:
            return  # the map's own error says what is wrong
        if region is not None and region.index != self.target:
            self._quiet = True
            try:
                self.target = region.index
            finally:
                self._quiet = False

    def _key(self) -> dict[str, Any]:
        return {
            "image_index": self.image_index,
            "layer": self.layer,
            "method": self.method,
            "target": self.target,
            "target_spec": dict(self.target_spec),
            "push": _push_of(self.push),
            "params": dict(self.method_params),
        }

    def refresh(self) -> None:
        """Compute the map for the current controls again (after an interrupt, or after the
        model was changed in place: then the image is run through it again first)."""
        self._requested = None
        self._refresh()

    def _refresh(self) -> None:
        """Compute the map for the current controls and send it (or a readable error)."""
        if self._drop_stale_sessions():  # the classes and layers may have changed with the model
            self._load_image(target=self.target)
            return
        key = self._key()
        for trait in CHECK_TRAITS:
            if getattr(self, trait) and getattr(self, trait).get("key") != key:
                setattr(self, trait, {})  # a check belongs to the map it was made for
        if key == self._requested:
            return  # already shown, or on its way
        self._requested = key
        generation = self._jobs.new_request()
        drawn = self._drawn_by_browser(key)
        if drawn is not None:  # the browser painted it from what it was sent: record, send nothing
            self._clear_progress()
            if self.pending_cost:
                self.pending_cost = {}
            self._publish(key, quiet=True, **drawn)
            return
        slow = _is_slow(self.method, key["params"])
        cost = self._cost(key) if slow else None
        if cost is not None and key != self._approved and 0 < self.confirm_above < cost["seconds"]:
            self.pending_cost = cost  # the front end asks; nothing runs until `confirmed` names this key
            return
        if self.pending_cost:
            self.pending_cost = {}
        job = self._job(key, generation)
        if not slow and self._jobs.run_inline(job, generation):
            return
        self.progress = {"key": key, "done": 0, "total": 0}
        self._jobs.submit(job, generation, lambda done, total: self._report(key, done, total))

    def _cost(self, key: dict[str, Any]) -> Optional[dict[str, Any]]:
        """What the map of ``key`` will cost: images through the model and an estimate in seconds."""
        try:
            spec = get_method(key["method"])
            session = self._session_for(key)
            layer = session.check_layer(key["layer"] or None) if spec.uses_layer else None
            passes = model_passes(session, spec.name, layer, spec.resolve_params(spec.select_params(key["params"])))
        except ExplainError:
            return None  # the job itself will say what is wrong
        seconds = estimated_seconds(session, passes)
        return {
            "key": key,
            "forwards": passes,
            "seconds": seconds,
            "message": (
                f"{spec.label} with these settings runs the model on {passes:,} images, about {seconds:,.0f} s "
                f"here (from this image's measured forward). Run it?"
            ),
        }

    @traitlets.observe("confirmed")
    def _on_confirmed(self, change: dict) -> None:
        if self._closed or not self.pending_cost or change["new"] != self.pending_cost.get("key"):
            return
        self.run_pending()

    def run_pending(self) -> None:
        """Start the slow map that is waiting for a confirmation (``pending_cost``)."""
        if not self.pending_cost:
            return
        self._approved = self.pending_cost["key"]
        self.pending_cost = {}
        self._requested = None
        self._refresh()

    @traitlets.observe("check_request")
    def _on_check_request(self, change: dict) -> None:
        if not self._quiet and not self._closed:
            self.check_map()

    @traitlets.observe("sanity_request")
    def _on_sanity_request(self, change: dict) -> None:
        if not self._quiet and not self._closed:
            self.check_sanity()

    def check_map(self, steps: int = 20, baseline: str = "blur", metrics: bool = True) -> None:
        """Deletion and insertion curves of the map on screen, and of a random map beside them,
        computed on the worker (``faithfulness`` trait; the "Check this map" button); with
        ``metrics``, also ROAD, sensitivity and the random-logit test (``metrics_payload``). A
        control change abandons the check; a map still on its way is waited for, not interrupted."""

        def compute(key: dict[str, Any], spec: Method, params: dict[str, Any]) -> dict[str, Any]:
            layer, session, chosen = key["layer"] or None, self._session_for(key), self._target_object(key)
            attribution = session.attribution(spec.name, layer=layer, target=self._class_index(key, chosen), **params)
            target = key["target"] if chosen is None else chosen
            common = dict(transform=self.transform, output=self.output)
            curves = curves_payload(
                self.model, self.image(), attribution, target, steps=steps, baseline=baseline, **common
            )
            if not metrics or chosen is not None:  # the metrics take a class index
                return curves
            layer = session.check_layer(layer) if spec.uses_layer else None
            numbers = metrics_payload(self.model, self.image(), attribution, target, spec, layer, params, **common)
            return {**curves, "metrics": numbers}

        self._run_check("faithfulness", compute)

    def check_sanity(self, shown: int = 6, stages: Optional[int] = 12) -> None:
        """The sanity check of the map on screen (``sanity`` trait; the "Sanity check" button):
        the layers of a copy of the model are re-initialised from the output down in ``stages``
        steps (None: one a layer), and each map is compared with the original; ``shown`` maps
        are sent for display beside it. The model itself is never touched; a control change
        abandons the check between steps."""

        def compute(key: dict[str, Any], spec: Method, params: dict[str, Any]) -> dict[str, Any]:
            report = cascading_randomisation(
                self.model,
                self.image(),
                method=spec.name,
                layer=key["layer"] or None,
                target=self._target_object(key) or key["target"],
                transform=self.transform,
                output=self.output,
                stages=stages,
                **params,
            )
            return sanity_payload(report, shown, spec.signed)

        self._run_check("sanity", compute, show_progress=True)

    def _run_check(
        self,
        trait: str,
        compute: Callable[[dict[str, Any], Method, dict[str, Any]], dict[str, Any]],
        show_progress: bool = False,
    ) -> None:
        """Run one check of the map on screen on the worker; its answer goes to ``trait`` with the
        map's key. A check started while another runs takes its place (the other is cleared)."""
        key = self._key()
        if self.result.get("key") != key or self.result.get("error") or self.progress:
            setattr(self, trait, {"key": key, "error": "Wait for the map to be drawn, then check it."})
            return
        for other in CHECK_TRAITS:
            if other != trait and getattr(self, other).get("running"):
                setattr(self, other, {})  # abandoned: one job runs at a time
        setattr(self, trait, {"key": key, "running": True})
        generation = self._jobs.new_request()
        self._requested = key  # the map on screen is the current one: nothing to recompute

        def job(still_wanted: Callable[[], bool]) -> None:
            try:
                spec = get_method(key["method"])
                fields = compute(key, spec, spec.select_params(key["params"]))
            except ExplainError as err:
                fields = {"error": str(err)}
            self._jobs.deliver(generation, lambda: setattr(self, trait, {"key": key, **fields}))

        def progress(done: int, total: int) -> None:
            if show_progress:
                setattr(self, trait, {"key": key, "running": True, "done": done, "total": total})

        self._jobs.submit(job, generation, progress)

    def _report(self, key: dict, done: int, total: int) -> None:
        self.progress = {"key": key, "done": done, "total": total}

    def _job(self, key: dict[str, Any], generation: int) -> Callable[[Callable[[], bool]], None]:
        def run(still_wanted: Callable[[], bool]) -> None:
            interrupt: Optional[BaseException] = None
            try:
                fields = self._compute(key)
            except Cancelled:
                raise
            except BaseException as err:  # a KeyboardInterrupt: say so, and let the same choice run again
                interrupt, fields = (
                    err,
                    {
                        "error": _interrupted(
                            err, "computing this map", "nothing half-done is shown; call refresh() or choose it again."
                        )
                    },
                )
                self._requested = None
            finally:
                self._jobs.deliver(generation, self._clear_progress)
            self._jobs.deliver(generation, lambda: self._publish(key, **fields))
            if interrupt is not None and threading.current_thread() is threading.main_thread():
                raise interrupt

        return run

    def _clear_progress(self) -> None:
        if self.progress:
            self.progress = {}

    def _compute(self, key: dict[str, Any]) -> dict[str, Any]:
        if self._error:
            return {"error": self._error}
        started = time.perf_counter()
        try:
            spec = get_method(key["method"])
            params = spec.select_params(key["params"])
            chosen = self._target_object(key)
            attribution = self._session_for(key).attribution(
                spec.name, layer=key["layer"] or None, target=self._class_index(key, chosen), **params
            )
            explained = chosen.describe(self.labels) if chosen is not None else _label(self.labels, key["target"])
        except ExplainError as err:
            return {"error": str(err)}
        except Cancelled:
            raise
        except Exception as err:  # the widget must stay usable whatever the model does
            log.exception("attribution failed")
            return {"error": f"{type(err).__name__}: {err}"}
        layer = key["layer"] if spec.uses_layer else None
        warning = blank_map_warning(attribution, spec.name, layer)
        fields = {"signed": spec.signed, "warning": warning, "explains": explained, **encode_map(attribution)}
        return {**fields, "compute_ms": round(1000 * (time.perf_counter() - started), 3)}

    def _publish(self, key: dict[str, Any], quiet: bool = False, **fields: Any) -> None:
        """Set ``result`` (and ``code``) for ``key``; ``quiet``: the browser has it already."""
        self._seq += 1
        result = {"seq": self._seq, "key": key, "error": None, "signed": False, "warning": None, **fields}
        result.pop("code", None)
        code = "" if fields.get("error") else fields.get("code") or self._code(key)
        if quiet:
            self._unsynced = frozenset({"result", "code"})
            try:
                self.result, self.code = result, code
            finally:
                self._unsynced = frozenset()
        else:
            with self.hold_sync():
                self.result, self.code = result, code
        if not fields.get("error"):
            self._prefetcher.remember(key, {**fields, "code": code})
            if self._prefetch_live and self.prefetch_budget > 0 and not self._closed:
                self._prefetcher.follow(key)
        session = self._sessions.get(self.image_index)
        found = [note for note in session.notes if note not in self.notes] if session is not None else []
        if found:  # learnt while computing a map (e.g. that the model must be fed one image at a time)
            self.notes = [*self.notes, *found]

    def _should_send_property(self, key: str, value: Any) -> bool:
        return key not in self._unsynced and super()._should_send_property(key, value)

    # -- maps sent ahead -----------------------------------------------------------------

    def _drawn_by_browser(self, key: dict[str, Any]) -> Optional[dict[str, Any]]:
        """The stored fields of ``key`` if the browser says it drew ``key`` from its cache with
        the move that brought this change (each move is taken up once)."""
        drawn = self.drawn_from_cache
        told = drawn.get("key") if drawn else None
        if not isinstance(told, dict) or drawn.get("n") in (None, self._drawn_seen):
            return None
        if _canonical(dict(told)) != _canonical(key):
            return None
        fields = self._prefetcher.stored(key)
        if fields is not None:
            self._drawn_seen = drawn.get("n")
        return fields

    def _prefetch_plan(self, anchor: dict[str, Any]) -> list[dict[str, Any]]:
        """What to send ahead of ``anchor``: its layers, the top classes, the quick CAM methods."""
        offered = {entry["name"]: entry for entry in self.methods}
        anchor_method = offered.get(anchor["method"])
        slow = _is_slow(anchor["method"], anchor.get("params"))
        if anchor_method is None or slow or anchor["image_index"] != self.image_index:
            return []
        layers = [entry["name"] for entry in self.layers] if anchor_method.get("uses_layer") else []
        classes = []
        if self.output_kind == CLASSES and spec_kind(anchor["target_spec"]) == "class":
            classes = [int(entry["index"]) for entry in self.top_classes]
        methods = [
            (name, {param["name"]: param["default"] for param in offered[name]["params"]})
            for name in PREFETCH_METHODS
            if name in offered and self.layers
        ]
        return candidate_keys(anchor, layers, classes, methods)

    def _prefetch_compute(self, key: dict[str, Any]) -> Optional[dict[str, Any]]:
        """A key's result fields with its code, or None where it has no map (an error)."""
        fields = self._compute(key)
        if fields.get("error"):
            return None
        return {**fields, "code": self._code(key)}

    def _on_view_message(self, widget: Any, content: Any, buffers: Sequence[Any]) -> None:
        """A view that opens asks for the maps sent ahead (any sent before it existed were lost)."""
        if not isinstance(content, dict) or content.get("kind") != "prefetch_request" or self._closed:
            return
        self._prefetcher.resend()
        if self._prefetch_live and self.prefetch_budget > 0 and self.result and not self.result.get("error"):
            self._prefetcher.follow(self._key())

    def prefetch_now(self) -> dict[str, Any]:
        """Send ahead of the map on screen now, on this thread, and return ``prefetch_status()``
        (a kernel does this in the background after each map; scripts and tests call it)."""
        self._jobs.wait()
        if not self._closed and self.prefetch_budget > 0 and self.result and not self.result.get("error"):
            self._prefetcher.follow(self._key(), background=False)
        return self.prefetch_status()

    def prefetch_status(self) -> dict[str, Any]:
        """The current image's maps sent ahead: ``maps``, ``bytes`` (JSON and buffers),
        ``messages``, ``ms`` (first map to last), ``complete`` and why it ``stopped`` early."""
        return self._prefetcher.status()

    def _code(self, key: dict[str, Any]) -> str:
        """The headless calls that give the map of ``key`` (the "Copy code" button)."""
        try:
            spec = get_method(key["method"])
        except ExplainError:
            return ""
        shown = {**key, "params": spec.select_params(key.get("params") or {})}
        names = self.image_names
        name = names[key["image_index"]] if 0 <= key["image_index"] < len(names) else f"image {key['image_index']}"
        return reproduce_code(shown, name, self.transform is not None, spec.uses_layer)

    # -- for scripts and tests ----------------------------------------------------------

    def wait(self, timeout: Optional[float] = 60.0) -> Explorer:
        """Wait until slow work queued by the controls has finished; returns the widget."""
        self._jobs.wait(timeout)
        return self

    def attribution(self) -> np.ndarray:
        """The current map as a numpy array (what the widget shows, before normalisation)."""
        self.wait()
        if self.result.get("error"):
            raise ExplainError(self.result["error"])
        return decode_map(self.result)

    def close(self) -> None:
        """Close the widget and free the engine's tensors (device memory included).

        A closed Explorer ignores control changes (no new forward, no worker thread) and
        keeps no reference that stops its model and images from being collected.
        """
        self._closed = True
        prefetcher = getattr(self, "_prefetcher", None)
        if prefetcher is not None:
            prefetcher.close()
        jobs = getattr(self, "_jobs", None)
        if jobs is not None:
            jobs.shutdown()
        if getattr(self, "_sessions", None) is not None:
            self._close_sessions()
        self._images = []
        self._reference_input = self._reference = None  # the similarity's reference image, too
        super().close()


def _canonical(key: dict[str, Any]) -> dict[str, Any]:
    """``key`` with every parameter of its method spelt out (defaults filled in, others' dropped):
    ``{}`` and ``{"smooth": "none"}`` name the same Grad-CAM. An unknown method's key is kept."""
    try:
        spec = get_method(key["method"])
        params = spec.resolve_params(spec.select_params(dict(key.get("params") or {})))
    except (ExplainError, KeyError):
        return key
    return {**key, "params": params}


def _in_kernel() -> bool:
    """Whether this runs in a Jupyter kernel (where a browser view may be listening)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _interrupted(err: BaseException, doing: str, then: str) -> str:
    """The result's error after a KeyboardInterrupt (or another BaseException) in engine work."""
    return f"Interrupted ({type(err).__name__}) while {doing}; {then}"


def _is_slow(method: str, params: Optional[dict[str, Any]] = None) -> bool:
    """A method marked slow, or a CAM asked to aug-smooth (six images through the model): both
    run on the worker, with progress and the cost confirmation, and are not sent ahead."""
    try:
        spec = get_method(method)
    except ExplainError:
        return False
    return spec.slow or spec.select_params(dict(params or {})).get("aug_smooth") == "on"


def _label(labels: Sequence[str], index: int) -> str:
    return labels[index] if 0 <= index < len(labels) else f"class {index}"


def _target_and_spec(target: Union[None, int, Target], reference: Any) -> tuple[Optional[int], dict[str, Any]]:
    """The ``target`` index and ``target_spec`` of the Explorer's ``target=`` argument."""
    if isinstance(target, ClassScore):
        return target.index, ({"kind": "probability"} if target.probability else {})
    if isinstance(target, Contrast):
        return target.a, {"kind": "contrast", "other": target.b}
    if isinstance(target, Similarity):
        if reference is None:
            raise ExplainError("Give the Similarity's reference as Explorer(reference=...) (an image or a vector).")
        return None, {"kind": "similarity"}
    if isinstance(target, Target):
        raise ExplainError(
            f"The Explorer picks {target.kind} targets on the image (a click or a drag); target= takes a class "
            "index, ClassScore, Contrast or Similarity. For this exact target use explain(..., target=...)."
        )
    return target, {}


def _boxes(kind: OutputKind, labels: Sequence[str]) -> list[dict[str, Any]]:
    """A detector's boxes for the front end to draw and click (photo pixels)."""
    if kind.kind != DETECTION:
        return []
    return [
        {"index": i, "box": [round(v, 1) for v in found["box"]], "label": labels[i], "score": found["score"]}
        for i, found in enumerate(kind.detections)
    ]


def _push_of(spec: Any) -> dict[str, Any]:
    """The push part of a key: the checked push, or the push as given when it is malformed
    (its map is the error that says why)."""
    try:
        return check_push(spec)
    except ExplainError:
        return dict(spec) if isinstance(spec, dict) else {"invalid": repr(spec)}

"""CompareModels: one image under several models side by side (a CNN beside a Transformer)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import traitlets
from torch import nn

from ..engine import ExplainError, Session, all_methods, get_method
from ..engine.inputs import ImageLike, Transform
from ..engine.map_checks import blank_map_warning
from ..engine.model_state import check_model
from ..engine.outputs import OutputChoice
from .bundles import bundle
from .labels import label_list
from .overlay import OverlayWidget
from .serialize import describe_method, encode_map, encode_png

Models = Union[Mapping[str, nn.Module], Sequence[nn.Module]]


class CompareModels(OverlayWidget):
    """The same image explained by two or more models, one panel each.

    Each panel shows the image as that model sees it (its own transform), the map of the chosen
    method blended over it, that model's top classes and its own layer control; a layer change
    recomputes that panel only. One method, opacity, colormap and normalisation serve every
    panel (the last three in the browser only). A model that fails shows its error in its own
    panel; the others stay usable.

    Args:
        models: a dict name → model, or a list (named by their class).
        image: one image (PIL, numpy, tensor or path).
        transforms: one transform for every model, or a dict name → transform (missing: none).
        labels: class names for every model, or a dict name → names.
        outputs: the ``output=`` choice for every model, or a dict name → choice.
        method: the method every panel shows (default Grad-CAM).
        layers: a dict name → layer (default: each model's default layer).
        target: one class index for every model (default: each model's own top-1 class).
        top_k: how many classes each panel lists.
    """

    _esm = bundle("compareModels.js")

    title = traitlets.Unicode("").tag(sync=True)
    photos = traitlets.List(traitlets.Bytes()).tag(sync=True)
    panels = traitlets.List(traitlets.Dict()).tag(sync=True)
    methods = traitlets.List(traitlets.Dict()).tag(sync=True)
    method = traitlets.Unicode("gradcam").tag(sync=True)
    layer_choice = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(
        self,
        models: Models,
        image: ImageLike,
        *,
        transforms: Union[None, Transform, Mapping[str, Transform]] = None,
        labels: Union[None, Sequence[str], Mapping[str, Sequence[str]]] = None,
        outputs: Union[OutputChoice, Mapping[str, OutputChoice]] = None,
        method: str = "gradcam",
        layers: Optional[Mapping[str, str]] = None,
        target: Optional[int] = None,
        top_k: int = 3,
        opacity: float = 0.5,
        colormap: str = "turbo",
        normalization: str = "auto",
    ) -> None:
        named = _named_models(models)
        get_method(method)  # fail early, with the list of methods
        unknown = sorted(set(layers or {}) - set(named))
        if unknown:
            raise ExplainError(f"layers names {unknown[0]!r}, which is not one of the models ({', '.join(named)}).")
        self._names = list(named)
        self._models = named
        self._target = target
        self._top_k = top_k
        self._labels = {name: _per_model(labels, name, named, is_names=True) for name in named}
        self._sessions: dict[str, Optional[Session]] = {}
        self._errors: dict[str, str] = {}
        self._seq = 0  # grows with every panel computed: the browser repaints only new ones
        for name, model in named.items():
            try:
                self._sessions[name] = Session(
                    model, image, transform=_per_model(transforms, name, named), output=_per_model(outputs, name, named)
                )
            except Exception as err:  # one model's failure stays in its panel
                self._sessions[name] = None
                self._errors[name] = str(err) if isinstance(err, ExplainError) else f"{type(err).__name__}: {err}"
        live = [session for session in self._sessions.values() if session is not None]
        wanted = dict(layers or {})
        choice = [self._first_layer(name, wanted.get(name)) for name in self._names]
        self._quiet = True
        super().__init__(
            title=f"{len(named)} models on one image",
            photos=[encode_png(s.display) if s is not None else b"" for s in self._sessions.values()],
            methods=[describe_method(m) for m in all_methods() if all(m.applies_to(s) for s in live)],
            method=method,
            layer_choice=choice,
            opacity=opacity,
            colormap=colormap,
            normalization=normalization,
        )
        self.panels = [self._panel(index) for index in range(len(self._names))]
        self._quiet = False

    def _first_layer(self, name: str, wanted: Optional[str]) -> str:
        session = self._sessions[name]
        if session is None or not session.layers:
            return ""
        return session.check_layer(wanted) if wanted is not None else session.default_layer

    def session(self, name: str) -> Session:
        """The engine session of model ``name`` (its forward of the image, kept)."""
        session = self._sessions.get(name)
        if session is None:
            raise ExplainError(self._errors.get(name, f"No model named {name!r}; the models are {self._names}."))
        return session

    def _panel(self, index: int) -> dict[str, Any]:
        """Model ``index``'s panel: its layers, top classes and the map (or why there is none)."""
        name = self._names[index]
        self._seq += 1
        panel: dict[str, Any] = {"name": name, "seq": self._seq, "layers": [], "layer": "", "top": [], "signed": False}
        session = self._sessions[name]
        if session is None:
            return {**panel, "title": name, "error": self._errors[name]}
        labels = label_list(self._labels[name], session.num_classes)[0]
        top = [{"index": i, "label": labels[i], "prob": p} for i, p in session.top_k(self._top_k)]
        layer = self.layer_choice[index] if index < len(self.layer_choice) else ""
        panel.update(name=name, layers=[info.name for info in session.layers], layer=layer, top=top)
        try:
            spec = get_method(self.method)
            target = session.check_target(self._target)
            used = session.check_layer(layer or None) if spec.uses_layer else None
            attribution = session.attribution(spec.name, layer=used, target=target)
        except ExplainError as err:
            return {**panel, "title": name, "error": str(err)}
        title = f"{name} · {labels[target]} ({float(session.probabilities[target]):.2f})"
        warning = blank_map_warning(attribution, spec.name, used)
        fields = {"signed": spec.signed, "warning": warning, "error": None, **encode_map(attribution)}
        return {**panel, "title": title, "target": target, "method": spec.name, **fields}

    @traitlets.observe("layer_choice")
    def _on_layers(self, change: dict) -> None:
        if self._quiet:
            return
        old, new = list(change["old"]), list(change["new"])
        panels = list(self.panels)
        for index in range(min(len(new), len(panels))):
            if index >= len(old) or old[index] != new[index]:
                panels[index] = self._panel(index)  # only the panel whose layer moved
        self.panels = panels

    @traitlets.observe("method")
    def _on_method(self, change: dict) -> None:
        if not self._quiet:
            self.panels = [self._panel(index) for index in range(len(self._names))]

    def close(self) -> None:
        """Close the widget and free every model's session (device memory included)."""
        for session in getattr(self, "_sessions", {}).values():
            if session is not None:
                session.close()
        self._sessions, self._models = {}, {}
        super().close()


def _named_models(models: Models) -> dict[str, nn.Module]:
    if isinstance(models, nn.Module):
        raise ExplainError("CompareModels takes two or more models: a dict name → model, or a list of models.")
    if isinstance(models, Mapping):
        named = {str(name): model for name, model in models.items()}
    elif isinstance(models, Sequence) and not isinstance(models, (str, bytes)):
        named = {}
        for model in models:
            base = type(model).__name__
            name, count = base, 2
            while name in named:
                name, count = f"{base} {count}", count + 1
            named[name] = model
    else:
        raise ExplainError(f"models must be a dict name → model or a list of models; got {type(models).__name__}.")
    if not named:
        raise ExplainError("CompareModels needs at least one model; pass a dict name → model.")
    for name, model in named.items():
        if not isinstance(model, nn.Module):
            raise ExplainError(f"Model {name!r} is a {type(model).__name__}, not a torch.nn.Module.")
        check_model(model)
    return named


def _per_model(value: Any, name: str, named: Mapping[str, Any], is_names: bool = False) -> Any:
    """``value[name]`` when ``value`` is a dict keyed by the models' names, else ``value`` itself
    (a list of class names is one value for every model, not a per-model choice)."""
    if isinstance(value, Mapping) and set(value) <= set(named) and value:
        if is_names and not all(isinstance(key, str) for key in value):
            return value  # a dict class id → name
        return value.get(name)
    return value

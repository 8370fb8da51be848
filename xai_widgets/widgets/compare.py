"""The Compare widget: one image under several methods and layers, side by side."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import ipywidgets
import traitlets
from torch import nn

from ..engine import ExplainError, Method, Session, get_method
from ..engine.inputs import ImageLike, Transform
from ..engine.map_checks import blank_map_warning
from ..engine.outputs import OutputChoice
from .bundles import bundle
from .explorer import Explorer
from .labels import label_list
from .overlay import OverlayWidget
from .serialize import encode_map, encode_png

DEFAULT_METHODS = ("gradcam", "gradcam++", "layercam", "eigencam", "saliency", "gradxinput")


class Compare(OverlayWidget):
    """A grid of attribution maps of one image: each method × layer once, from one forward.

    Every cell comes from the same engine session, so CAM-family cells reuse one set of
    activations and gradients. The cells share one opacity, colormap and normalisation, set
    in the browser. Clicking a cell opens it in the linked :class:`Explorer` (``.explorer``,
    shown together with the grid by :meth:`view`); that Explorer is made on first use and
    reuses the grid's forward.

    Args:
        model, image, labels, transform, output: as for :class:`Explorer` (one image).
        methods: method names, one column each (default: a CAM and gradient selection).
        layers: layer names for the methods that use one (default: the session's default layer).
        params: parameter sets, one cell per method × layer × set (e.g. one per attention
            head: ``[{"block": -1, "head": h} for h in range(12)]``); each method takes the
            names it declares.
        target: class index (default: top-1).
        explorer: an Explorer to open clicked cells in (default: a new one on this image).
    """

    _esm = bundle("compare.js")

    photo = traitlets.Bytes(b"").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    cells = traitlets.List(traitlets.Dict()).tag(sync=True)
    columns = traitlets.Int(3).tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)

    def __init__(
        self,
        model: nn.Module,
        image: ImageLike,
        *,
        methods: Sequence[str] = DEFAULT_METHODS,
        layers: Optional[Sequence[str]] = None,
        target: Optional[int] = None,
        labels: Optional[Sequence[str]] = None,
        transform: Optional[Transform] = None,
        output: OutputChoice = None,
        params: Sequence[dict[str, Any]] = ({},),
        explorer: Optional[Explorer] = None,
        opacity: float = 0.5,
        colormap: str = "turbo",
        normalization: str = "auto",
    ) -> None:
        specs = [get_method(name) for name in methods]
        self.session = Session(model, image, transform=transform, output=output)
        self.target = self.session.check_target(target)
        layer_names = [self.session.check_layer(name) for name in (layers or [self.session.default_layer])]
        requests = [
            (spec, layer, spec.select_params(values))
            for spec in specs
            for layer in (layer_names if spec.uses_layer else [None])
            for values in params
        ]
        label = label_list(labels, self.session.num_classes)[0][self.target]
        probability = float(self.session.probabilities[self.target])
        super().__init__(
            photo=encode_png(self.session.display),
            title=f"{label} ({probability:.2f})",
            cells=[self._cell(spec, layer, values) for spec, layer, values in requests],
            columns=min(len(requests), 3 if len(requests) != 4 else 2),
            opacity=opacity,
            colormap=colormap,
            normalization=normalization,
        )
        self._model, self._image, self._labels, self._transform, self._output = model, image, labels, transform, output
        self._explorer = explorer
        self._explorer_image: Optional[int] = None  # which of the Explorer's images the grid shows
        self._session_handed_over = False

    @classmethod
    def heads(cls, explorer: Explorer, block: Optional[int] = None, columns: int = 4) -> Compare:
        """Every head's CLS attention in one attention block of ``explorer``'s current image,
        side by side, linked to that Explorer: a click shows the head there (on this image,
        even if the Explorer has moved on to another one).

        ``block``: an index into ``session().attention_layers`` (default: the block the
        Explorer's attention controls show, else the last).
        """
        session = explorer.session()
        if block is None:
            block = int(explorer.method_params.get("block", -1)) if explorer.method == "attention" else -1
        heads = int(session.attention(block).shape[0])
        grid = cls(
            explorer.model,
            explorer.image(),
            methods=["attention"],
            params=[{"block": block, "head": head} for head in range(heads)],
            transform=explorer.transform,
            output=explorer.output,
            labels=explorer.labels,
            target=explorer.target,
            explorer=explorer,
            opacity=explorer.opacity,
            colormap=explorer.colormap,
            normalization=explorer.normalization,
        )
        grid._explorer_image = explorer.image_index
        grid.columns = min(columns, heads)
        return grid

    def _cell(self, spec: Method, layer: Optional[str], params: dict[str, Any]) -> dict[str, Any]:
        settings = "".join(f" · {name} {value}" for name, value in params.items())
        title = spec.label + (f" · {layer}" if layer else "") + settings
        cell = {"title": title, "method": spec.name, "layer": layer or "", "params": params, "target": self.target}
        try:
            attribution = self.session.attribution(spec.name, layer=layer, target=self.target, **params)
        except ExplainError as err:
            return {**cell, "error": str(err), "signed": spec.signed}
        warning = blank_map_warning(attribution, spec.name, layer)
        return {**cell, "error": None, "signed": spec.signed, "warning": warning, **encode_map(attribution)}

    @property
    def explorer(self) -> Explorer:
        """The Explorer clicked cells open in, made on first use from the grid's own forward."""
        if self._explorer is None:
            self._explorer = Explorer(
                self._model,
                self._image,
                labels=self._labels,
                transform=self._transform,
                output=self._output,
                target=self.target,
                session=self.session,
            )
            self._session_handed_over = True
        return self._explorer

    @traitlets.observe("selected")
    def _open_selected(self, change: dict) -> None:
        if not 0 <= change["new"] < len(self.cells):
            return
        cell = self.cells[change["new"]]
        explorer = self.explorer
        if self._explorer_image is not None and explorer.image_index != self._explorer_image:
            explorer.image_index = self._explorer_image  # the grid's image, with its own classes
        with explorer.hold_trait_notifications():
            explorer.method = cell["method"]
            explorer.method_params = dict(cell.get("params", {}))
            if cell["layer"]:
                explorer.layer = cell["layer"]
            explorer.target = cell["target"]

    def view(self) -> ipywidgets.VBox:
        """The grid with its linked Explorer below it."""
        return ipywidgets.VBox([self, self.explorer])

    def close(self) -> None:
        """Close the grid and free the engine's tensors (unless its Explorer now uses them)."""
        session = getattr(self, "session", None)
        if session is not None and not getattr(self, "_session_handed_over", False):
            session.close()
        super().close()

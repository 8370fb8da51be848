"""The FeatureMaps widget: a layer's channels as a grid, sorted, each one viewable over the photo."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

import traitlets
from torch import nn

from ..engine import ExplainError, Session
from ..engine.feature_maps import SORTS, channel_maps
from ..engine.inputs import ImageLike, Transform
from ..engine.outputs import OutputChoice
from .bundles import bundle
from .explorer import Explorer
from .labels import check_labels, label_list
from .one_image import OneImageWidget


class FeatureMaps(OneImageWidget):
    """Every channel of one layer's activation for one image, as a grid of small images.

    Built on the engine session's kept activations: changing the layer, the class or the
    sort runs no new forward (the class's gradient, for the ``contribution`` sort, walks back
    only to the layer). Each channel is scaled by its own range; the channels travel to the
    browser as one uint8 atlas (C×h×w bytes), which the front end pages and draws on one
    canvas. Clicking a channel shows it upsampled over the photo (in the browser).

    Args:
        model, image, labels, transform, output: as for :class:`Explorer` (one image).
        layer: the layer (default: the session's default layer).
        target: the class whose Grad-CAM weights give the ``contribution`` sort (default: top-1).
        sort: ``index``, ``activation`` (mean, largest first) or ``contribution``.
        session: an engine session of this image to share (see :meth:`of`).
    """

    _esm = bundle("featureMaps.js")

    classes = traitlets.List(traitlets.Dict()).tag(sync=True)
    target = traitlets.Int(0).tag(sync=True)
    sort = traitlets.Unicode("index").tag(sync=True)
    sorts = traitlets.List(traitlets.Unicode(), list(SORTS)).tag(sync=True)
    atlas = traitlets.Bytes(b"").tag(sync=True)
    atlas_shape = traitlets.List(traitlets.Int()).tag(sync=True)
    order = traitlets.List(traitlets.Int()).tag(sync=True)
    channel_stats = traitlets.Dict().tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)
    columns = traitlets.Int(16).tag(sync=True)
    page_size = traitlets.Int(256).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    notes = traitlets.List(traitlets.Unicode()).tag(sync=True)

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
        sort: str = "index",
        session: Optional[Session] = None,
        top_k: int = 10,
        columns: int = 16,
        page_size: int = 256,
        opacity: float = 0.6,
        colormap: str = "viridis",
        normalization: str = "minmax",
    ) -> None:
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}; got {sort!r}.")
        self.model, self.transform, self.output = model, transform, output
        self._open_session(model, image, transform, output, session)
        names = label_list(check_labels(labels), self.session.num_classes)[0]
        chosen_target = self.session.check_target(target)
        self._quiet = True
        super().__init__(
            **self._image_traits(),
            layer=self.session.check_layer(layer),
            classes=self._classes(names, chosen_target, top_k),
            target=chosen_target,
            sort=sort,
            columns=max(1, int(columns)),
            page_size=max(1, int(page_size)),
            opacity=opacity,
            colormap=colormap,
            normalization=normalization,
        )
        self._quiet = False
        self._show()

    @classmethod
    def of(cls, explorer: Explorer, **kwargs: Any) -> FeatureMaps:
        """The channels of ``explorer``'s current image, layer and class, from its own session."""
        return cls(**cls.explorer_arguments(explorer), target=explorer.target, **kwargs)

    @traitlets.observe("layer", "target", "sort")
    def _on_control(self, change: dict) -> None:
        if not self._quiet:
            self._show()

    def _show(self) -> None:
        """Send the chosen layer's channels (atlas, order and stats), or the error that stops it."""
        try:
            layer = self.session.check_layer(self.layer)
            target = self.session.check_target(self.target)
            maps = channel_maps(self.session, layer, target)
            if self.sort not in SORTS:
                raise ExplainError(f"Unknown sort {self.sort!r}; choose one of {', '.join(SORTS)}.")
        except ExplainError as err:
            self.error = str(err)
            return
        count, height, width = maps.atlas.shape
        stats: dict[str, Any] = {
            "mean": [round(float(v), 6) for v in maps.mean],
            "low": [round(float(v), 6) for v in maps.low],
            "high": [round(float(v), 6) for v in maps.high],
        }
        if maps.weight is not None:
            stats["weight"] = [round(float(v), 8) for v in maps.weight]
        with self.hold_sync():
            self.atlas = maps.atlas.numpy().tobytes()
            self.atlas_shape = [count, height, width]
            self.order = maps.order(self.sort)
            self.channel_stats = stats
            self.selected = -1
            self.notes = [maps.weight_note] if maps.weight_note and self.sort == "contribution" else []
            self.title = f"{layer}: {count} channels of {height}×{width}"
            self.error = ""

    def channel(self, index: int):
        """Channel ``index`` of the current layer as a float h×w array (its raw values)."""
        return self.session.activation(self.layer)[0, index].float().cpu().numpy()


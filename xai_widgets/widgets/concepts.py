"""The Concepts widget: Deep Feature Factorization of one layer, a coloured concept map with a
legend of the classes each concept votes for; a click shows one concept alone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Optional

import torch
import traitlets
from torch import nn

from ..engine import ExplainError, Session
from ..engine.concepts import deep_feature_factorization
from ..engine.inputs import ImageLike, Transform
from ..engine.outputs import OutputChoice
from .bundles import bundle
from .explorer import Explorer
from .labels import check_labels, label_list
from .one_image import OneImageWidget
from .serialize import encode_map

PALETTE = (
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
    "#bfef45", "#fabed4", "#469990", "#dcbeff", "#9a6324", "#fffac8", "#800000", "#aaffc3",
)  # fmt: skip
"""Concept colours, far apart for the first few (Sasha Trubetskoy's list of distinct colours)."""


class Concepts(OneImageWidget):
    """Deep Feature Factorization (Collins et al., ECCV 2018) of one layer of one image.

    The layer's activations are factorised into ``concepts`` non-negative parts; the photo shows
    each pixel in the colour of the concept that dominates it (stronger = more opaque), and the
    legend lists the classes each concept votes for (the model's classifier read on the concept's
    embedding). Clicking a concept shows it alone as a heatmap; the layer and the number of
    concepts are controls (no new forward: the session's kept activations are factorised again).

    Args:
        model, image, labels, transform, output: as for :class:`Explorer` (one image).
        layer: the layer to factorise (default: the session's default layer).
        concepts: how many concepts (1 … 16).
        classifier: maps concept embeddings (k × C) to class scores (default: the model's last
            ``nn.Linear`` reading C features); without one the legend lists no classes.
        top: how many classes each concept lists.
        session: an engine session of this image to share (see :meth:`of`).
    """

    _esm = bundle("concepts.js")

    count = traitlets.Int(5).tag(sync=True)
    concept_maps = traitlets.List(traitlets.Dict()).tag(sync=True)
    legend = traitlets.List(traitlets.Dict()).tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)
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
        concepts: int = 5,
        classifier: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
        top: int = 3,
        session: Optional[Session] = None,
        opacity: float = 0.6,
        colormap: str = "viridis",
        normalization: str = "minmax",
    ) -> None:
        self.model, self._classifier, self._top = model, classifier, top
        self._open_session(model, image, transform, output, session)
        self._names = label_list(check_labels(labels), self.session.num_classes)[0]
        found = self._run(self.session.check_layer(layer), concepts)  # a bad first choice fails at once
        self._quiet = True
        super().__init__(
            **self._image_traits(),
            layer=found.layer,
            count=concepts,
            opacity=opacity,
            colormap=colormap,
            normalization=normalization,
        )
        self._quiet = False
        self._show(found)

    @classmethod
    def of(cls, explorer: Explorer, **kwargs: Any) -> Concepts:
        """The concepts of ``explorer``'s current image and layer, from its own session."""
        return cls(**cls.explorer_arguments(explorer), **kwargs)

    def factorisation(self):
        """The engine's :class:`~xai_widgets.engine.concepts.ConceptMaps` on screen."""
        return self._found

    def _run(self, layer: str, count: int):
        return deep_feature_factorization(
            self.model, None, layer=layer, concepts=count, classifier=self._classifier, session=self.session
        )

    def _factorise(self) -> None:
        """Factorise again for the current layer and count (a bad choice shows as the error)."""
        try:
            found = self._run(self.layer, self.count)
        except ExplainError as err:
            self._found = None
            with self.hold_sync():
                self.error, self.concept_maps, self.legend, self.selected = str(err), [], [], -1
            return
        self._show(found)

    def _show(self, found) -> None:
        self._found = found
        legend = [
            {
                "index": index,
                "color": PALETTE[index % len(PALETTE)],
                "votes": [{"index": c, "label": self._names[c], "prob": p} for c, p in votes],
            }
            for index, votes in enumerate(found.votes(self._top))
        ]
        with self.hold_sync():
            self.error = ""
            self.title = f"{found.count} concepts of {found.layer} (factorisation error {found.error:.0%})"
            self.concept_maps = [encode_map(found.maps[i]) for i in range(found.count)]
            self.legend = legend
            if self.selected >= found.count:
                self.selected = -1

    @traitlets.observe("layer", "count")
    def _on_choice(self, change: dict) -> None:
        if not self._quiet:
            self._factorise()

    def close(self) -> None:
        """Close the widget (its own session freed) and drop the factorisation."""
        self._found = None
        super().close()

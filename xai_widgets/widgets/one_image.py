"""The base of the widgets that look inside one image's forward (FeatureMaps, Concepts,
GradCAMSteps): their shared traits, their engine session (made here, or an Explorer's shared),
the classes they offer, opening from an Explorer, and freeing what they made on close."""

from __future__ import annotations

from typing import Any, Optional

import traitlets
from torch import nn

from ..engine import Session
from ..engine.inputs import ImageLike, Transform
from ..engine.model_state import check_model
from ..engine.outputs import OutputChoice
from .overlay import OverlayWidget
from .serialize import describe_layer, encode_png


class OneImageWidget(OverlayWidget):
    """An overlay widget on one image's engine session: ``photo``, ``title``, ``layers``, ``layer``."""

    photo = traitlets.Bytes(b"").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    layers = traitlets.List(traitlets.Dict()).tag(sync=True)
    layer = traitlets.Unicode("").tag(sync=True)

    def _open_session(
        self,
        model: nn.Module,
        image: ImageLike,
        transform: Optional[Transform],
        output: OutputChoice,
        session: Optional[Session],
    ) -> Session:
        """The session to work on: ``session`` when shared (its owner frees it), else a new one."""
        check_model(model)
        self._own_session = session is None
        self.session = session or Session(model, image, transform=transform, output=output)
        return self.session

    def _image_traits(self) -> dict[str, Any]:
        """The photo and layer list of the session, for ``__init__``."""
        return {
            "photo": encode_png(self.session.display),
            "layers": [describe_layer(info) for info in self.session.layers],
        }

    def _classes(self, names: list[str], chosen: int, top_k: int) -> list[dict[str, Any]]:
        """The ``top_k`` classes of the image and ``chosen`` (if not among them), with probabilities."""
        top = [index for index, _ in self.session.top_k(top_k)]
        if chosen not in top:
            top.append(chosen)
        probabilities = self.session.probabilities
        return [{"index": i, "label": names[i], "prob": float(probabilities[i])} for i in top]

    @staticmethod
    def explorer_arguments(explorer: Any) -> dict[str, Any]:
        """The model, image, labels, transform, output, layer and shared session of ``explorer``'s
        current view, as keyword arguments for a widget's ``of``."""
        return {
            "model": explorer.model,
            "image": explorer.image(),
            "labels": explorer.labels,
            "transform": explorer.transform,
            "output": explorer.output,
            "layer": explorer.layer or None,
            "session": explorer.session(),
        }

    def close(self) -> None:
        """Close the widget; a session it made itself is freed (a shared one stays with its owner)."""
        session = getattr(self, "session", None)
        if session is not None and getattr(self, "_own_session", False):
            session.close()
        super().close()

"""What every attribution method declares, and the registry the engine and widgets read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional, Protocol

import torch
from torch import nn

from ..errors import MethodError
from ..outputs import OutputChoice
from ..tokens import Layout


class SessionView(Protocol):
    """What a method may read of a :class:`~xai_widgets.engine.Session`: the kept forward
    of one image (its input, class scores and layer outputs) and the gradients it answers."""

    model: nn.Module
    output: OutputChoice
    input: torch.Tensor
    display: Any  # the image as the model sees it, H×W×3 uint8 (numpy)
    logits: torch.Tensor
    notes: list[str]
    layers: list[Any]  # LayerInfo of every recorded layer, in forward order

    def activation(self, layer: str) -> torch.Tensor: ...

    def gradient(self, layer: str, target: int) -> torch.Tensor: ...

    def layer_outputs(self, layer: str, maps: torch.Tensor) -> torch.Tensor: ...

    @property
    def attention_layers(self) -> list[str]: ...

    def check_attention_layer(self, layer: Any) -> str: ...

    def attention(self, layer: Any) -> torch.Tensor: ...

    def attention_gradient(self, layer: Any, target: int) -> torch.Tensor: ...

    def token_layout(self, tokens: int) -> Layout: ...

    def on_image(self, image: torch.Tensor, layer_names: Any = None) -> Any: ...


Compute = Callable[..., torch.Tensor]
"""``compute(session: SessionView, layer, target, **params)`` → a 2-D map on the model's device."""


@dataclass(frozen=True)
class Param:
    """A method parameter the widget shows as a control (a slider, or a select for choices).

    ``minimum``/``maximum`` bound the slider; ``at_least`` is the smallest value the method
    can run with (checked on every call; values beyond the slider are allowed).
    """

    name: str
    label: str
    default: Any
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    step: Optional[float] = None
    choices: tuple = ()
    at_least: Optional[float] = None


@dataclass(frozen=True)
class Method:
    """An attribution method.

    ``compute(session, layer, target, **params)`` returns a 2-D map on the model's device;
    ``layer`` is ``None`` for methods that do not use one. ``signed`` maps are shown with a
    diverging colormap around zero. ``needs_attention`` methods read recorded attention (a
    transformer); ``bounds(session)`` gives slider ranges that depend on the model.
    """

    name: str
    label: str
    compute: Compute
    uses_layer: bool
    uses_target: bool = True
    signed: bool = False
    reference: str = ""
    params: tuple[Param, ...] = ()
    slow: bool = False
    needs_attention: bool = False
    bounds: Optional[Callable[[Any], dict[str, tuple[float, float]]]] = None

    def applies_to(self, session: Any) -> bool:
        """Whether the method can run on ``session``'s model (attention methods need attention)."""
        return not self.needs_attention or bool(session.attention_layers)

    def slider_bounds(self, session: Any) -> dict[str, tuple[float, float]]:
        """Slider ranges that depend on the model (an attention block or head count)."""
        return self.bounds(session) if self.bounds is not None else {}

    def select_params(self, values: dict[str, Any]) -> dict[str, Any]:
        """The entries of ``values`` that are this method's parameters (a shared set may hold others')."""
        names = {param.name for param in self.params}
        return {name: value for name, value in values.items() if name in names}

    def resolve_params(self, values: dict[str, Any]) -> dict[str, Any]:
        """Every parameter's value: from ``values`` when given (cast to the default's type), else the default."""
        unknown = sorted(set(values) - {param.name for param in self.params})
        if unknown:
            known = ", ".join(param.name for param in self.params)
            fix = f"use one of its parameters: {known}" if known else "it takes none, so remove it"
            raise MethodError(f"{self.label} has no parameter {unknown[0]!r}; {fix}.")
        return {param.name: self._checked(param, values.get(param.name, param.default)) for param in self.params}

    def _checked(self, param: Param, value: Any) -> Any:
        kind = type(param.default)
        name = f"Parameter {param.name!r} of {self.label}"
        article = "an" if kind.__name__[0] in "aeiou" else "a"
        try:
            if isinstance(value, bool) and kind is not bool:
                raise TypeError
            cast = kind(value)
            if kind is int and float(value) != cast:
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            raise MethodError(
                f"{name} must be {article} {kind.__name__}, got {value!r}; pass e.g. {param.default!r}."
            ) from None
        if param.choices and cast not in param.choices:
            raise MethodError(f"{name} must be one of {', '.join(param.choices)}; got {value!r}.")
        if param.at_least is not None and not cast >= param.at_least:
            raise MethodError(
                f"{name} must be at least {param.at_least:g}, got {value!r}; its default is {param.default!r}."
            )
        return cast


_REGISTRY: dict[str, Method] = {}


def register(method: Method) -> Method:
    """Add ``method`` to the catalogue (its name must be new)."""
    if method.name in _REGISTRY:
        raise ValueError(f"A method named {method.name!r} is already registered.")
    _REGISTRY[method.name] = method
    return method


def get_method(name: str) -> Method:
    """Look a method up by name, with a message listing the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise MethodError(f"Unknown method {name!r}; choose one of: {', '.join(sorted(_REGISTRY))}.") from None


def all_methods() -> list[Method]:
    """Every registered method, in registration order."""
    return list(_REGISTRY.values())


__all__ = ["Method", "Param", "SessionView", "register", "get_method", "all_methods"]

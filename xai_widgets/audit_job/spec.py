"""The job's inputs from plain strings: a model factory or checkpoint, a data set, a transform."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import pathlib
import sys
from collections.abc import Callable
from typing import Any, Optional, Union

import torch
from torch import nn

from ..engine.errors import AuditJobError
from ..engine.image_source import ImageSource, image_source

Factory = str
"""``package.module:function`` (or ``path/to/file.py:function``): called with no arguments."""


def load_object(spec: str, what: str) -> Any:
    """What ``spec`` (``package.module:function`` or ``file.py:function``) names, called with no arguments."""
    if not isinstance(spec, str) or spec.count(":") != 1 or not all(spec.split(":")):
        raise AuditJobError(
            f"The {what} {spec!r} is not of the form package.module:function (or path/to/file.py:function); "
            f"name an importable function that returns the {what}."
        )
    module_name, function_name = spec.split(":")
    module = _import(module_name, spec, what)
    function = getattr(module, function_name, None)
    if function is None:
        raise AuditJobError(f"Module {module_name!r} has no attribute {function_name!r} (from {what} {spec!r}).")
    if not callable(function):
        raise AuditJobError(f"{spec!r} is a {type(function).__name__}, not a function: name a function to call.")
    return function()


def _import(module_name: str, spec: str, what: str) -> Any:
    if module_name.endswith(".py"):
        path = pathlib.Path(module_name)
        if not path.is_file():
            raise AuditJobError(f"No file {module_name!r} (from {what} {spec!r}); check the path.")
        name = f"_xai_job_{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]}"
        if name in sys.modules:
            return sys.modules[name]
        loader_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(loader_spec)  # type: ignore[arg-type]
        sys.modules[name] = module
        loader_spec.loader.exec_module(module)  # type: ignore[union-attr]
        return module
    try:
        return importlib.import_module(module_name)
    except ImportError as err:
        raise AuditJobError(
            f"Cannot import {module_name!r} (from {what} {spec!r}): {err}. Install it, or put its folder on "
            "PYTHONPATH, or name a file: path/to/file.py:function."
        ) from err


def load_model(model: Union[nn.Module, Factory], checkpoint: Optional[Union[str, os.PathLike]] = None) -> nn.Module:
    """The model: ``model`` itself, or built by its factory; then ``checkpoint``'s weights, if given.

    The checkpoint is read with ``torch.load(..., weights_only=True)``: a state dict (or a dict
    holding one under ``"state_dict"`` or ``"model"``), never pickled code.
    """
    built = load_object(model, "model factory") if isinstance(model, str) else model
    if not isinstance(built, nn.Module):
        raise AuditJobError(
            f"The model factory {model!r} returned a {type(built).__name__}, not a torch.nn.Module; "
            "make it return the model."
        )
    if checkpoint is not None:
        _load_checkpoint(built, checkpoint)
    return built.eval() if isinstance(model, str) else built


def _load_checkpoint(model: nn.Module, checkpoint: Union[str, os.PathLike]) -> None:
    path = pathlib.Path(checkpoint)
    if not path.is_file():
        raise AuditJobError(f"Checkpoint file not found: {str(path)!r}; check the path.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise AuditJobError(
            f"Cannot read checkpoint {str(path)!r} with torch.load(weights_only=True) ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}). Save the weights alone: "
            "torch.save(model.state_dict(), path), and give the architecture as the model factory."
        ) from err
    if isinstance(state, dict):
        for key in ("state_dict", "model"):
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise AuditJobError(
            f"Checkpoint {str(path)!r} holds a {type(state).__name__}, not a state dict of tensors; save "
            "torch.save(model.state_dict(), path)."
        )
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise AuditJobError(
            f"Checkpoint {str(path)!r} does not fit the factory's model ({first}); pass the factory that "
            "builds the architecture these weights were saved from."
        ) from err


def load_data(data: Any, true_labels: Optional[Any] = None) -> tuple[ImageSource, Any]:
    """The images as an ImageSource, and what the data was (for paths and class names).

    ``data``: an image folder, a ``package.module:function`` that returns a Dataset (or any
    data :func:`xai_widgets.engine.image_source.image_source` reads), or such data itself.
    """
    raw = data
    if isinstance(data, (str, os.PathLike)):
        text = os.fspath(data)
        if os.path.isdir(text):
            raw = text
        elif ":" in text and not os.path.exists(text):
            raw = load_object(text, "data factory")
        else:
            raise AuditJobError(
                f"The data {text!r} is neither an image folder nor a package.module:function Dataset factory; "
                "check the path."
            )
    return image_source(raw, true_labels), raw


def load_transform(transform: Union[None, str, Callable]) -> Optional[Callable]:
    """The transform itself, or what its factory (``package.module:function``) returns."""
    if not isinstance(transform, str):
        return transform
    made = load_object(transform, "transform factory")
    if not callable(made):
        raise AuditJobError(f"The transform factory {transform!r} returned a {type(made).__name__}, not a callable.")
    return made


def image_paths(source: ImageSource, raw: Any) -> Optional[list[str]]:
    """Each image's file path when the data has them (a folder, or a Dataset with ``samples``)."""
    if isinstance(raw, str):
        return [str(source.image(i)) for i in range(len(source))]
    samples = getattr(raw, "samples", None) or getattr(raw, "imgs", None)
    if isinstance(samples, list) and len(samples) == len(source):
        return [str(s[0]) if isinstance(s, (tuple, list)) else str(s) for s in samples]
    return None


def class_names(raw: Any, labels: Any) -> Any:
    """``labels`` when given, else a Dataset's ``classes`` (ImageFolder's class folders)."""
    if labels is not None:
        return list(labels) if not isinstance(labels, dict) else labels
    classes = getattr(raw, "classes", None)
    return list(classes) if isinstance(classes, (list, tuple)) else None


def model_fingerprint(model: nn.Module) -> str:
    """A short hash of the model's class and weights: a resumed run must explain the same model."""
    digest = hashlib.sha256(type(model).__qualname__.encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(str(tuple(tensor.shape)).encode())
        digest.update(tensor.detach().to("cpu").reshape(-1).contiguous().view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def data_fingerprint(source: ImageSource) -> str:
    """A short hash of the images' names and true classes (not their pixels: that would read them all)."""
    digest = hashlib.sha256("\n".join(source.names).encode())
    digest.update(repr(source.true_labels).encode())
    return digest.hexdigest()[:16]

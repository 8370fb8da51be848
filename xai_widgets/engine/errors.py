"""Errors the engine raises: each names the problem and the fix."""

from __future__ import annotations


class ExplainError(ValueError):
    """A request the engine cannot serve; the message says what to change."""


class ImageError(ExplainError):
    """The image could not be turned into a model input."""


class LayerError(ExplainError):
    """The requested layer does not exist or cannot be explained."""


class TargetError(ExplainError):
    """The requested class index is not one the model predicts."""


class MethodError(ExplainError):
    """The requested method is unknown or does not apply to this model."""


class ModelOutputError(ExplainError):
    """The model's output holds no class scores the engine can use."""


class ModelCallError(ExplainError, RuntimeError):
    """The model itself raised on the prepared input (a RuntimeError too, for older callers)."""


class ModelChangedError(ExplainError):
    """The model changed (a layer replaced, weights updated) after the image's forward was kept."""


class AuditJobError(ExplainError):
    """A batch audit job's arguments, inputs or output folder cannot be used as given."""

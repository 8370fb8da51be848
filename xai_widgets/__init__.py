"""xai_widgets: see why a vision model decided what it did, live, in a notebook."""

import importlib

from .engine import (
    Box,
    ClassScore,
    Contrast,
    Region,
    Session,
    Similarity,
    audit,
    benchmark_methods,
    embedding_of,
    explain,
)

__version__ = "0.1.0"
__all__ = [
    "Box",
    "Camera",
    "ClassScore",
    "Compare",
    "CompareModels",
    "Concepts",
    "Contrast",
    "GradCAMSteps",
    "Region",
    "Similarity",
    "embedding_of",
    "Explorer",
    "FeatureMaps",
    "Gallery",
    "Session",
    "audit",
    "benchmark_methods",
    "demo",
    "explain",
    "export",
    "__version__",
]


def __getattr__(name: str):
    # The widget and the demo load on first use so that the engine stays importable
    # (scripts, batch jobs) without ipywidgets or the demo's extras.
    widgets = ("Explorer", "Camera", "Compare", "CompareModels", "Concepts", "Gallery", "FeatureMaps", "GradCAMSteps")
    if name in widgets:
        return getattr(importlib.import_module(".widgets", __name__), name)
    if name == "export":
        return importlib.import_module(".reports", __name__).export
    if name == "demo":
        return importlib.import_module(".demo", __name__)
    raise AttributeError(f"module 'xai_widgets' has no attribute {name!r}")

"""The method catalogue. Adding a method: one file with a compute function and a ``register`` call."""

from . import (  # noqa: F401
    attention,
    cam,
    cam_objectives,
    cam_variants,
    deeplift,
    fullgrad,
    gradient,
    guided,
    legrad,
    lrp,
    perturbation,
    sampling,
)
from .base import Method, Param, all_methods, get_method, register

__all__ = ["Method", "Param", "all_methods", "get_method", "register"]

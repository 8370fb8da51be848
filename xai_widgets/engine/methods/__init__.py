"""The method catalogue. Adding a method: one file with a compute function and a ``register`` call."""

from . import attention, cam, cam_variants, deeplift, fullgrad, gradient, guided, perturbation, sampling  # noqa: F401
from .base import Method, Param, all_methods, get_method, register

__all__ = ["Method", "Param", "all_methods", "get_method", "register"]

"""Guided Backpropagation and Guided Grad-CAM."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import MethodError
from ..model_calls import input_gradients
from ..model_state import is_scripted, scoped
from .base import Method, SessionView, register
from .cam import grad_cam

RECTIFIERS = (nn.ReLU, nn.ReLU6)


class _PositiveGradient(torch.autograd.Function):
    """Identity forward; the backward lets only positive gradients through."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return x.clone()  # a new tensor, so later in-place ops never touch a custom op's output

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return grad.clamp(min=0)


@contextlib.contextmanager
def guided_rectifiers(model: nn.Module) -> Iterator[None]:
    """Apply the guided rule behind every ``nn.ReLU``/``nn.ReLU6`` module while the block runs.

    A rectifier module passes gradient where its input was positive; the guided rule further
    keeps only positive gradients. Rectifiers called as functions (``F.relu``) are not seen.
    """
    handles = [
        module.register_forward_hook(scoped(lambda _m, _i, out: _PositiveGradient.apply(out)))
        for module in model.modules()
        if isinstance(module, RECTIFIERS)
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def check_rectifiers(model: nn.Module) -> None:
    """Raise a MethodError when the guided rule would have no ReLU module to act on."""
    if is_scripted(model):
        raise MethodError(
            "Guided Backprop changes the backward pass of nn.ReLU modules with hooks, which a TorchScript "
            "model does not run; pass the original nn.Module (before torch.jit.script/trace), or use 'saliency'."
        )
    if not any(isinstance(module, RECTIFIERS) for module in model.modules()):
        raise MethodError(
            "Guided Backprop needs nn.ReLU or nn.ReLU6 modules and this model has none (F.relu calls cannot be "
            "hooked, and GELU/SiLU have no guided rule); use 'saliency' or 'smoothgrad' instead."
        )


def _guided_gradient(session: SessionView, target: int) -> torch.Tensor:
    check_rectifiers(session.model)
    return input_gradients(
        session.model, session.input.detach(), target, context=guided_rectifiers, output=session.output
    )[0]


def guided_backprop(session: SessionView, layer: None, target: int) -> torch.Tensor:
    """Guided Backpropagation, max over channels of |gradient|.

    Springenberg et al., "Striving for Simplicity: The All Convolutional Net", ICLR Workshop
    2015.
    """
    return _guided_gradient(session, target).abs().amax(dim=0)


def guided_grad_cam(session: SessionView, layer: str, target: int) -> torch.Tensor:
    """Guided Grad-CAM: guided backprop times the Grad-CAM upsampled to the input, max over channels.

    Selvaraju et al., ICCV 2017.
    """
    check_rectifiers(session.model)
    cam = grad_cam(session, layer, target)
    size = session.input.shape[-2:]
    upsampled = F.interpolate(cam[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
    return (_guided_gradient(session, target) * upsampled).abs().amax(dim=0)


for _method in (
    Method(
        "guided_backprop", "Guided Backprop", guided_backprop, uses_layer=False, reference="Springenberg et al., 2015"
    ),
    Method(
        "guided_gradcam", "Guided Grad-CAM", guided_grad_cam, uses_layer=True, reference="Selvaraju et al., ICCV 2017"
    ),
):
    register(_method)

"""Attributions read off the gradient of the class score with respect to the pixels."""

from __future__ import annotations

import numpy as np
import torch

from ..layers import INPUT
from ..model_calls import input_gradients
from .base import Method, Param, SessionView, register


def saliency(session: SessionView, layer: None, target: int) -> torch.Tensor:
    """Vanilla saliency: max over colour channels of |d score / d pixel|.

    Simonyan et al., "Deep Inside Convolutional Networks: Visualising Image Classification
    Models and Saliency Maps", ICLR Workshop 2014.
    """
    return session.gradient(INPUT, target)[0].abs().amax(dim=0)


def gradient_x_input(session: SessionView, layer: None, target: int) -> torch.Tensor:
    """Gradient × input, summed over colour channels (signed).

    Shrikumar et al., "Not Just a Black Box: Learning Important Features Through Propagating
    Activation Differences", 2016.
    """
    return (session.gradient(INPUT, target)[0] * session.input.detach()[0]).sum(dim=0)


def smoothgrad(
    session: SessionView,
    layer: None,
    target: int,
    samples: int = 25,
    noise: float = 0.15,
    seed: int = 0,
    variant: str = "mean",
) -> torch.Tensor:
    """SmoothGrad: |gradient| averaged over noisy copies of the input, max over channels.

    Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017. ``noise`` is the
    Gaussian's standard deviation as a fraction of the input's value range; ``variant``
    ``"mean"`` (SmoothGrad), ``"squared"`` (SmoothGrad², mean of squares) or ``"var"``
    (VarGrad, Adebayo et al. 2018: the variance over samples). Same seed, same map.
    """
    x = session.input.detach()
    sigma = noise * float(x.max() - x.min())
    generator = torch.Generator(device=x.device).manual_seed(int(seed))
    draws = torch.randn((int(samples), *x.shape[1:]), generator=generator, device=x.device, dtype=x.dtype)
    grads = input_gradients(session.model, x + sigma * draws, target, output=session.output).abs()
    if variant == "mean":
        per_channel = grads.mean(dim=0)
    elif variant == "squared":
        per_channel = grads.pow(2).mean(dim=0)
    elif variant == "var":
        per_channel = grads.pow(2).mean(dim=0) - grads.mean(dim=0).pow(2)
    else:
        raise ValueError(f"Unknown SmoothGrad variant {variant!r}; use 'mean', 'squared' or 'var'.")
    return per_channel.amax(dim=0)


def integrated_gradients(
    session: SessionView, layer: None, target: int, steps: int = 32, baseline: float = 0.0
) -> torch.Tensor:
    """Integrated Gradients from a constant baseline, summed over channels (signed).

    Sundararajan et al., "Axiomatic Attribution for Deep Networks", ICML 2017. The path
    integral uses Gauss-Legendre quadrature with ``steps`` nodes, all nodes in batches;
    ``baseline`` is the constant model-input value of the reference image.
    """
    x = session.input.detach()
    reference = torch.full_like(x, float(baseline))
    nodes, weights = np.polynomial.legendre.leggauss(int(steps))
    alphas = torch.tensor((nodes + 1) / 2, dtype=x.dtype, device=x.device)
    weights = torch.tensor(weights / 2, dtype=x.dtype, device=x.device)
    path = reference + alphas.view(-1, 1, 1, 1) * (x - reference)
    grads = input_gradients(session.model, path, target, output=session.output)
    average = (weights.view(-1, 1, 1, 1) * grads).sum(dim=0)
    return ((x - reference)[0] * average).sum(dim=0)


def gradient_shap(
    session: SessionView, layer: None, target: int, samples: int = 32, noise: float = 0.0, seed: int = 0
) -> torch.Tensor:
    """GradientShap: gradient × (input − baseline) at random points between a baseline and the
    input, averaged (signed); an expectation of Integrated Gradients over a background.

    Lundberg & Lee, "A Unified Approach to Interpreting Model Predictions", NeurIPS 2017 (as
    Captum's GradientShap). Each sample draws a baseline from the input's shuffled pixels, a
    point α ~ U(0, 1) along the path and, with ``noise`` > 0, Gaussian noise (a fraction of the
    input's value range) on the input. Same seed, same map.
    """
    from .deeplift import shuffled_baselines

    x = session.input.detach()
    count = int(samples)
    generator = torch.Generator().manual_seed(int(seed))
    baselines = shuffled_baselines(x[0], count, int(seed)).to(x)
    alphas = torch.rand(count, generator=generator).to(x).view(-1, 1, 1, 1)
    sigma = float(noise) * float(x.max() - x.min())
    noisy = x + sigma * torch.randn((count, *x.shape[1:]), generator=generator).to(x)
    points = baselines + alphas * (noisy - baselines)
    grads = input_gradients(session.model, points, target, output=session.output)
    return (grads * (noisy - baselines)).mean(dim=0).sum(dim=0)


for _method in (
    Method("saliency", "Saliency", saliency, uses_layer=False, reference="Simonyan et al., 2014"),
    Method(
        "gradxinput",
        "Gradient × input",
        gradient_x_input,
        uses_layer=False,
        signed=True,
        reference="Shrikumar et al., 2016",
    ),
    Method(
        "smoothgrad",
        "SmoothGrad",
        smoothgrad,
        uses_layer=False,
        reference="Smilkov et al., 2017",
        slow=True,
        params=(
            Param("samples", "samples", 25, 1, 200, 1, at_least=1),
            Param("noise", "noise (fraction of range)", 0.15, 0.0, 0.5, 0.01, at_least=0),
            Param("variant", "variant", "mean", choices=("mean", "squared", "var")),
            Param("seed", "random seed", 0, 0, 99, 1),
        ),
    ),
    Method(
        "integrated_gradients",
        "Integrated Gradients",
        integrated_gradients,
        uses_layer=False,
        signed=True,
        reference="Sundararajan et al., ICML 2017",
        slow=True,
        params=(
            Param("steps", "steps", 32, 2, 256, 1, at_least=1),
            Param("baseline", "baseline value", 0.0, -3.0, 3.0, 0.1),
        ),
    ),
    Method(
        "gradientshap",
        "GradientShap",
        gradient_shap,
        uses_layer=False,
        signed=True,
        reference="Lundberg & Lee, NeurIPS 2017",
        slow=True,
        params=(
            Param("samples", "samples", 32, 1, 256, 1, at_least=1),
            Param("noise", "noise (fraction of range)", 0.0, 0.0, 0.5, 0.01, at_least=0),
            Param("seed", "random seed", 0, 0, 99, 1),
        ),
    ),
):
    register(_method)

"""Noisy linear imputation (Rong et al., "A Consistent and Efficient Evaluation Strategy for
Attribution Methods", ICML 2022): every removed pixel becomes the weighted mean of its eight
neighbours (edge neighbours 1/6, corner neighbours 1/12, neighbours outside the image left
out), all removed pixels at once, plus a little Gaussian noise.

The mean-of-neighbours conditions form one sparse, symmetric, positive-definite linear system
per image and channel (a discrete Laplace equation whose boundary values are the kept pixels).
It is solved here matrix-free on the image's device, for a whole batch at once, by conjugate
gradients preconditioned with one multigrid V-cycle (2 × 2 aggregation, Galerkin coarse
operators as 9-point stencils, damped Jacobi smoothing), run until every system's residual is
within :data:`TOLERANCE` of its right-hand side.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F

EDGE_WEIGHT = 1 / 6
CORNER_WEIGHT = 1 / 12
TOLERANCE = 1e-4
"""Stop when every system's residual norm is at most this share of its right-hand side's norm
(the imputed values then differ from a direct sparse solve by about 3e-4, under 2e-3 in
tests/test_road.py: a fifth of the default noise at most)."""

_OFFSETS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
_CENTRE = 4
_DAMPING = 0.8
"""Jacobi damping: below 2 / ρ(D⁻¹A), and ρ ≤ 2 for every weakly diagonally dominant level."""
_COARSEST = 4
"""A grid whose shorter side is at most this is solved by Jacobi sweeps alone."""


def noisy_linear_imputation(
    image: torch.Tensor,
    removed: torch.Tensor,
    *,
    noise: float = 0.01,
    generator: Optional[torch.Generator] = None,
    tolerance: float = TOLERANCE,
) -> torch.Tensor:
    """``image`` (N×C×H×W) with the pixels where ``removed`` (N×1×H×W or N×H×W, true = removed)
    replaced by the mean of their neighbours, solved jointly, plus ``noise`` × N(0, 1) on the
    removed pixels only. Float32 maths on the image's device; the result has the image's dtype.
    A new tensor: ``image`` is not written."""
    if removed.dim() == 3:
        removed = removed[:, None]
    mask = removed.to(device=image.device, dtype=torch.float32)
    x = image.detach().float()
    kept = x * (1 - mask)
    filled = kept + _solve(kept, mask, tolerance)
    if noise:
        draw = torch.randn(filled.shape, generator=generator, device=filled.device, dtype=filled.dtype)
        filled = filled + noise * draw * mask
    return filled.to(image.dtype)


def _shift(u: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``u`` read at (row + dy, column + dx), zero outside the grid."""
    height, width = u.shape[-2:]
    padded = F.pad(u, (1, 1, 1, 1))
    return padded[..., 1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]


def _window(dy: int, dx: int, height: int, width: int) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """Where a pixel's neighbour at (dy, dx) exists: the pixels' slices and their neighbours' slices."""
    rows = (slice(max(0, -dy), height - max(0, dy)), slice(max(0, dy), height - max(0, -dy)))
    cols = (slice(max(0, -dx), width - max(0, dx)), slice(max(0, dx), width - max(0, -dx)))
    return (rows[0], cols[0]), (rows[1], cols[1])


def _neighbours(u: torch.Tensor) -> torch.Tensor:
    """Σ weight × neighbour value at every pixel (neighbours outside the image are absent): the
    separable [1, 2, 1] ⊗ [1, 2, 1] / 12 less a third of the centre."""
    return _smooth(u).mul_(1 / 12).sub_(u, alpha=1 / 3)


def _smooth(u: torch.Tensor) -> torch.Tensor:
    """[1, 2, 1] ⊗ [1, 2, 1] over the last two axes, zero outside, by shifted in-place additions
    (cheaper than a depthwise convolution on a CPU)."""
    rows = 2 * u
    rows[..., 1:, :] += u[..., :-1, :]
    rows[..., :-1, :] += u[..., 1:, :]
    smooth = 2 * rows
    smooth[..., 1:] += rows[..., :-1]
    smooth[..., :-1] += rows[..., 1:]
    return smooth


def _solve(kept: torch.Tensor, mask: torch.Tensor, tolerance: float) -> torch.Tensor:
    """The removed pixels' values (zero elsewhere): ``kept`` holds the known pixels, zero at removed ones."""
    weight_sum = _neighbours(torch.ones_like(mask[:1]))  # 1 inside, less on the border

    centre = weight_sum + 1 / 3  # _neighbours less its centre term, folded in

    def apply(u: torch.Tensor) -> torch.Tensor:  # the system's matrix; u is zero at kept pixels
        return (centre * u).sub_(_smooth(u), alpha=1 / 12).mul_(mask)

    rhs = mask * _neighbours(kept)
    stencils = _hierarchy(_fine_stencil(mask, weight_sum))
    levels = [_level(apply if i == 0 else (lambda u, s=s: _stencil_apply(s, u)), s) for i, s in enumerate(stencils)]
    return _preconditioned_cg(apply, lambda r: _v_cycle(levels, 0, r), rhs, tolerance)


class _Level(NamedTuple):
    apply: Callable[[torch.Tensor], torch.Tensor]
    step: torch.Tensor  # damping / diagonal where the grid has an unknown, 0 elsewhere
    active: torch.Tensor  # 1 where the grid has an unknown, 0 elsewhere


def _level(apply: Callable[[torch.Tensor], torch.Tensor], stencil: torch.Tensor) -> _Level:
    diagonal = stencil[:, _CENTRE : _CENTRE + 1]
    step = torch.where(diagonal > 0, _DAMPING / diagonal.clamp(min=1e-30), torch.zeros_like(diagonal))
    return _Level(apply, step, (diagonal > 0).to(diagonal.dtype))


def _fine_stencil(mask: torch.Tensor, weight_sum: torch.Tensor) -> torch.Tensor:
    """The fine system as a 9-point stencil, N×9×H×W: entry k links a removed pixel to its
    neighbour at ``_OFFSETS[k]`` (zero when that neighbour is kept or outside)."""
    weights = {0: 0.0, 1: EDGE_WEIGHT, 2: CORNER_WEIGHT}
    entries = [
        mask * weight_sum if (dy, dx) == (0, 0) else -weights[abs(dy) + abs(dx)] * mask * _shift(mask, dy, dx)
        for dy, dx in _OFFSETS
    ]
    return torch.cat(entries, dim=1)


def _coarsen(stencil: torch.Tensor) -> torch.Tensor:
    """The Galerkin operator Pᵀ A P on a grid half as fine, P = each coarse cell copied to its 2 × 2 block."""
    height, width = stencil.shape[-2:]
    stencil = F.pad(stencil, (0, width % 2, 0, height % 2))
    coarse = stencil.new_zeros(*stencil.shape[:2], (height + 1) // 2, (width + 1) // 2)
    for s in (0, 1):
        for t in (0, 1):
            part = stencil[..., s::2, t::2]
            for k, (dy, dx) in enumerate(_OFFSETS):
                target = _OFFSETS.index(((s + dy) // 2, (t + dx) // 2))
                coarse[:, target] += part[:, k]
    return coarse


def _hierarchy(stencil: torch.Tensor) -> list[torch.Tensor]:
    levels = [stencil]
    while min(levels[-1].shape[-2:]) > _COARSEST:
        levels.append(_coarsen(levels[-1]))
    return levels


def _stencil_apply(stencil: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    height, width = u.shape[-2:]
    out = stencil[:, _CENTRE : _CENTRE + 1] * u
    for k, (dy, dx) in enumerate(_OFFSETS):
        if k != _CENTRE:
            here, there = _window(dy, dx, height, width)
            out[(..., *here)].addcmul_(stencil[(slice(None), slice(k, k + 1), *here)], u[(..., *there)])
    return out


def _v_cycle(levels: list[_Level], level: int, residual: torch.Tensor) -> torch.Tensor:
    """One symmetric V-cycle from zero (one damped Jacobi sweep before and after the coarse
    correction): an SPD approximation of A⁻¹ applied to ``residual``."""
    apply, step, active = levels[level]
    u = step * residual
    if level == len(levels) - 1:
        for _ in range(2 * sum(residual.shape[-2:])):
            u = u + step * (residual - apply(u))
        return u
    height, width = residual.shape[-2:]
    rest = residual - apply(u)
    if height % 2 or width % 2:
        rest = F.pad(rest, (0, width % 2, 0, height % 2))
    coarse = F.avg_pool2d(rest, 2).mul_(4)
    correction = _v_cycle(levels, level + 1, coarse)
    fine = F.interpolate(correction, scale_factor=2, mode="nearest")[..., :height, :width]
    u.addcmul_(fine, active)
    return u.addcmul_(step, residual - apply(u))


def _preconditioned_cg(apply, precondition, rhs: torch.Tensor, tolerance: float) -> torch.Tensor:
    """Solve ``apply(u) = rhs`` for every image and channel at once (each its own system), until
    every residual is within ``tolerance`` of its right-hand side (relative, Euclidean norms)."""

    def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a * b).sum(dim=(-2, -1), keepdim=True)

    def ratio(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.where(b > 0, a / b.clamp(min=1e-30), torch.zeros_like(a))

    u = torch.zeros_like(rhs)
    residual = rhs.clone()
    goal = (tolerance**2) * dot(rhs, rhs)
    z = precondition(residual)
    direction = z
    rz = dot(residual, z)
    for _ in range(2 * sum(rhs.shape[-2:])):  # far above what these systems need; the norm check ends it
        if bool((dot(residual, residual) <= goal).all()):
            break
        product = apply(direction)
        alpha = ratio(rz, dot(direction, product))
        u.addcmul_(alpha, direction)
        residual.addcmul_(alpha, product, value=-1)
        z = precondition(residual)
        new_rz = dot(residual, z)
        direction = direction.mul_(ratio(new_rz, rz)).add_(z)
        rz = new_rz
    return u

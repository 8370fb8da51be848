"""Explanations from many randomly masked copies of the image: RISE and KernelSHAP / LIME."""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import MethodError
from ..model_calls import class_scores
from .base import Method, Param, SessionView, register


def rise_masks(count: int, grid: int, keep: float, size: tuple[int, int], generator: torch.Generator) -> torch.Tensor:
    """RISE's smooth random masks (count×H×W): a coarse binary grid, upsampled, randomly shifted."""
    height, width = size
    cell_h, cell_w = math.ceil(height / grid), math.ceil(width / grid)
    coarse = (torch.rand(count, 1, grid, grid, generator=generator) < keep).float()
    big = F.interpolate(coarse, size=((grid + 1) * cell_h, (grid + 1) * cell_w), mode="bilinear", align_corners=False)
    shifts_y = torch.randint(0, cell_h, (count,), generator=generator)
    shifts_x = torch.randint(0, cell_w, (count,), generator=generator)
    return torch.stack(
        [big[i, 0, y : y + height, x : x + width] for i, (y, x) in enumerate(zip(shifts_y, shifts_x, strict=True))]
    )


def rise(
    session: SessionView, layer: None, target: int, masks: int = 256, grid: int = 7, keep: float = 0.5, seed: int = 0
):
    """RISE: the class probability of randomly masked copies, averaged per pixel over the masks.

    Petsiuk et al., "RISE: Randomized Input Sampling for Explanation of Black-box Models",
    BMVC 2018. Same seed, same masks, same map.
    """
    x = session.input.detach()
    generator = torch.Generator().manual_seed(int(seed))
    mask = rise_masks(int(masks), int(grid), float(keep), tuple(x.shape[-2:]), generator).to(x.device, x.dtype)
    scores = class_scores(session.model, x * mask[:, None], target, output=session.output, probabilities=True)
    return torch.einsum("n,nhw->hw", scores.to(mask.dtype), mask) / (len(mask) * float(keep))


def grid_segments(size: tuple[int, int], rows: int, columns: int) -> torch.Tensor:
    """An H×W map of segment ids: a ``rows``×``columns`` grid of rectangles."""
    height, width = size
    row = torch.arange(height) * rows // height
    column = torch.arange(width) * columns // width
    return row[:, None] * columns + column[None, :]


def slic_segments(picture: np.ndarray, size: tuple[int, int], count: int) -> torch.Tensor:
    """An H×W map of segment ids 0…K−1: about ``count`` SLIC superpixels of ``picture`` (the
    image as the model sees it, H×W×3), as the LIME paper's image explanations use regions that
    follow the image's edges rather than a grid (Achanta et al., "SLIC Superpixels", TPAMI 2012).
    Needs scikit-image."""
    try:
        from skimage.segmentation import slic
    except ImportError:
        raise MethodError(
            "SLIC regions need scikit-image: pip install scikit-image (or xai_widgets[superpixels]); "
            "regions='grid' needs nothing."
        ) from None
    labels = slic(np.asarray(picture), n_segments=int(count), compactness=10.0, start_label=0, channel_axis=-1)
    ids = torch.from_numpy(np.ascontiguousarray(labels)).long()
    if tuple(ids.shape) != tuple(size):  # a display of another size than the input: follow the input
        ids = F.interpolate(ids[None, None].float(), size=size, mode="nearest")[0, 0].long()
    return torch.unique(ids, return_inverse=True)[1]  # consecutive ids, none left empty


def coalitions(features: int, samples: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Feature subsets to evaluate and their regression weights under the Shapley kernel.

    With ``samples ≥ 2**features`` every subset is used, weighted by the kernel, and the
    regression gives the exact Shapley values. Otherwise subset sizes are drawn with the
    kernel's probabilities (so the weights are equal) and members uniformly. The empty and the
    full coalition are always included, with a large weight that pins the efficiency
    constraint.
    """
    big = 1e6
    if samples >= 2**features:
        rows = torch.tensor(list(itertools.product([0.0, 1.0], repeat=features)))
        sizes = rows.sum(dim=1)
        inner = (sizes > 0) & (sizes < features)
        weights = torch.full((len(rows),), big)
        weights[inner] = torch.tensor(
            [(features - 1) / (math.comb(features, int(k)) * k * (features - k)) for k in sizes[inner].tolist()]
        )
        return rows, weights
    sizes = torch.arange(1, features)
    size_probability = (features - 1) / (sizes * (features - sizes)).float()
    drawn = torch.multinomial(
        size_probability / size_probability.sum(), samples - 2, replacement=True, generator=generator
    )
    rows = torch.zeros(samples, features)
    rows[1] = 1.0
    for i, size_index in enumerate(drawn.tolist(), start=2):
        members = torch.randperm(features, generator=generator)[: int(sizes[size_index])]
        rows[i, members] = 1.0
    weights = torch.ones(samples)
    weights[:2] = big
    return rows, weights


def kernel_shap(
    session: SessionView,
    layer: None,
    target: int,
    segments: int = 8,
    samples: int = 256,
    baseline: float = 0.0,
    kernel: str = "shap",
    seed: int = 0,
    regions: str = "grid",
) -> torch.Tensor:
    """KernelSHAP (or LIME) over image regions (signed): a ``segments``×``segments`` grid, or
    (``regions="slic"``) about ``segments``² SLIC superpixels of the image as the model sees it.

    Lundberg & Lee, "A Unified Approach to Interpreting Model Predictions", NeurIPS 2017;
    Ribeiro et al., "Why Should I Trust You?", KDD 2016 (``kernel="lime"``: an exponential
    kernel on the fraction of regions removed, width 0.25). Regions switched off take the
    ``baseline`` value; the class logit of each masked copy is fitted by weighted least
    squares, and each region's coefficient is painted over its pixels. All masked copies run
    in batches on the model's device.
    """
    x = session.input.detach()
    size = tuple(x.shape[-2:])
    if regions == "slic":
        ids = slic_segments(session.display, size, int(segments) ** 2).to(x.device)
    elif regions == "grid":
        ids = grid_segments(size, int(segments), int(segments)).to(x.device)
    else:
        raise MethodError(f"Unknown regions {regions!r}; use 'grid' or 'slic'.")
    features = int(ids.max()) + 1
    generator = torch.Generator().manual_seed(int(seed))
    rows, weights = coalitions(features, int(samples), generator)
    if kernel == "lime":
        removed = 1 - rows.mean(dim=1)
        weights = torch.exp(-(removed**2) / 0.25**2)
    elif kernel != "shap":
        raise ValueError(f"Unknown kernel {kernel!r}; use 'shap' or 'lime'.")
    rows, weights = rows.to(x.device, torch.float64), weights.to(x.device, torch.float64)
    pixel_masks = rows[:, ids].to(x.dtype)  # N×H×W: 1 keeps a pixel, 0 sets it to the baseline
    masked = x * pixel_masks[:, None] + float(baseline) * (1 - pixel_masks[:, None])
    scores = class_scores(session.model, masked, target, output=session.output).to(torch.float64)
    design = torch.cat([torch.ones(len(rows), 1, dtype=torch.float64, device=x.device), rows], dim=1)
    root = weights.sqrt()[:, None]
    solution = torch.linalg.lstsq(design * root, scores[:, None] * root).solution[:, 0]
    return solution[1:][ids].to(x.dtype)


for _method in (
    Method(
        "rise",
        "RISE",
        rise,
        uses_layer=False,
        slow=True,
        reference="Petsiuk et al., BMVC 2018",
        params=(
            Param("masks", "masks", 256, 16, 4000, 16),
            Param("grid", "grid cells", 7, 2, 16, 1),
            Param("keep", "keep probability", 0.5, 0.1, 0.9, 0.05),
            Param("seed", "random seed", 0, 0, 99, 1),
        ),
    ),
    Method(
        "kernel_shap",
        "KernelSHAP / LIME (regions)",
        kernel_shap,
        uses_layer=False,
        signed=True,
        slow=True,
        reference="Lundberg & Lee, NeurIPS 2017; Ribeiro et al., KDD 2016",
        params=(
            Param("segments", "regions per side", 8, 2, 16, 1),
            Param("samples", "samples", 256, 16, 4096, 16),
            Param("kernel", "kernel", "shap", choices=("shap", "lime")),
            Param("regions", "regions", "grid", choices=("grid", "slic")),
            Param("baseline", "baseline value", 0.0, -3.0, 3.0, 0.1),
            Param("seed", "random seed", 0, 0, 99, 1),
        ),
    ),
):
    register(_method)

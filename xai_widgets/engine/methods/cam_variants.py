"""More class activation maps from a layer's kept activations (and gradients): the original CAM,
Element-wise Grad-CAM, EigenGrad-CAM, FEM, KPCA-CAM and RandomCAM (a baseline). Like the rest
of the CAM family, a switch between them runs no model call."""

from __future__ import annotations

import torch

from ..classifier_head import classifier_head
from ..errors import MethodError
from ..progress import report
from .base import Param, SessionView, register
from .cam import EPS, SMOOTH, channel_weighted, combined, oriented, principal_projection
from .cam_options import cam_method

KPCA_MAX_PIXELS = 2500
"""The largest layer (pixels) KPCA-CAM factorises: its kernel is pixels² float64 values."""


def class_activation_map(session: SessionView, layer: str, target: int) -> torch.Tensor:
    """CAM: the layer's channels weighted by the classifier's weights for the class (signed).

    Zhou et al., "Learning Deep Features for Discriminative Localization", CVPR 2016. Needs a
    layer followed by global average pooling and one linear classifier (its weights, per
    channel, are the map's weights); no gradient.
    """
    activation = session.activation(layer)[0].float()
    head = classifier_head(session.model, activation.shape[0])
    if head is None or head.out_features != session.logits.shape[1]:
        raise MethodError(
            f"CAM needs layer {layer!r}'s {activation.shape[0]} channels to feed a linear classifier after global "
            "pooling, and this model has no nn.Linear reading that many features into its class scores; use "
            "'gradcam' (the same map for such models, from gradients) or choose the last convolutional layer."
        )
    weights = head.weight.detach()[target].float().to(activation.device)
    return torch.einsum("c,chw->hw", weights, activation)


def grad_cam_element_wise(session: SessionView, layer: str, target: int, smooth: str = "none") -> torch.Tensor:
    """Element-wise Grad-CAM: positive gradient × activation products, summed over channels.

    The element-wise variant of Grad-CAM in pytorch-grad-cam (Gildenblat & contributors, 2021),
    close to HiResCAM but clipping each product before the sum.
    """
    activation = session.activation(layer)[0].float()
    grad = session.gradient(layer, target)[0].float()
    return combined(torch.relu(grad * activation), smooth)


def eigen_grad_cam(session: SessionView, layer: str, target: int) -> torch.Tensor:
    """EigenGrad-CAM: the first principal component of gradient × activation (class-specific).

    Eigen-CAM (Muhammad & Yeasin, IJCNN 2020) applied to the products with the class's gradient,
    as pytorch-grad-cam does; the component is oriented along the summed products.
    """
    activation = session.activation(layer)[0].float()
    grad = session.gradient(layer, target)[0].float()
    return torch.relu(principal_projection(grad * activation))


def feature_explanation(session: SessionView, layer: str, target: int, k: float = 2.0) -> torch.Tensor:
    """FEM: each channel weighted by the share of its pixels above its mean + k standard
    deviations (class-free, no gradient).

    Fuad et al., "Features Understanding in 3D CNNs for Actions Recognition in Video", IPTA 2020.
    """
    activation = session.activation(layer)[0].float()
    flat = activation.flatten(1)
    threshold = flat.mean(dim=1) + float(k) * flat.std(dim=1, unbiased=False)
    weights = (flat > threshold[:, None]).float().mean(dim=1)
    return torch.relu(torch.einsum("c,chw->hw", weights, activation))


def kernel_pca_cam(session: SessionView, layer: str, target: int, gamma: float = 0.0) -> torch.Tensor:
    """KPCA-CAM: the pixels' first kernel principal component (sigmoid kernel; class-free).

    Karmani et al., "KPCA-CAM: Visual Explainability of Deep Computer Vision Models using Kernel
    PCA", MMSP 2024. The kernel is tanh(γ·⟨x, y⟩ + 1) on the centred pixels (γ = 0: 1 / channels,
    scikit-learn's default), double-centred; the projection is the top eigenvector scaled by the
    root of its eigenvalue, oriented along the summed activation.
    """
    activation = session.activation(layer)[0].float()
    channels = activation.shape[0]
    count = activation.shape[1] * activation.shape[2]
    if count > KPCA_MAX_PIXELS:
        raise MethodError(
            f"KPCA-CAM builds a pixels × pixels kernel: layer {layer!r} has {count} pixels "
            f"({8 * count * count / 2**20:,.0f} MB, and an eigensolver of that size); choose a layer of at most "
            f"{KPCA_MAX_PIXELS} pixels (e.g. 50×50), or use 'eigencam'."
        )
    pixels = activation.reshape(channels, -1).T.double()  # (H·W, C), float64 as scikit-learn's
    centred = pixels - pixels.mean(dim=0, keepdim=True)
    slope = float(gamma) if gamma > 0 else 1.0 / channels
    kernel = torch.tanh(slope * centred @ centred.T + 1.0)
    n = kernel.shape[0]
    ones = torch.full((n, n), 1.0 / n, dtype=kernel.dtype, device=kernel.device)
    kernel = kernel - ones @ kernel - kernel @ ones + ones @ kernel @ ones
    values, vectors = torch.linalg.eigh(kernel)
    projection = vectors[:, -1] * values[-1].clamp(min=0).sqrt()
    projection = oriented(projection.float(), pixels.sum(dim=1).float())
    return torch.relu(projection.reshape(activation.shape[1:]))


def layer_gradient_x_activation(session: SessionView, layer: str, target: int) -> torch.Tensor:
    """Layer gradient × activation, summed over channels (signed: HiResCAM before its ReLU).

    As Captum's LayerGradientXActivation (Kokhlikyan et al., 2020), reduced to one map per layer.
    """
    activation = session.activation(layer)[0].float()
    return (session.gradient(layer, target)[0].float() * activation).sum(dim=0)


def smooth_grad_cam_plus_plus(
    session: SessionView, layer: str, target: int, samples: int = 4, noise: float = 0.3, seed: int = 0,
    smooth: str = "none",
) -> torch.Tensor:
    """Smooth Grad-CAM++: Grad-CAM++ with the gradient's powers averaged over ``samples`` copies
    of the image with Gaussian noise (standard deviation ``noise``, in model-input units).

    Omeiza et al., "Smooth Grad-CAM++: An Enhanced Inference Level Visualization Technique for
    Deep Convolutional Neural Network Models", 2019, with the averaged second derivative in
    the coefficient's numerator (as torchcam). The map weighs the image's own activations;
    ``noise=0`` gives Grad-CAM++. One forward and one backward per sample; same seed, same map.
    """
    activation = session.activation(layer)[0].float()
    x = session.input.detach()
    generator = torch.Generator().manual_seed(int(seed))
    grad_1 = torch.zeros_like(activation)
    grad_2, grad_3 = torch.zeros_like(activation), torch.zeros_like(activation)
    for index in range(int(samples)):
        noisy = x + float(noise) * torch.randn(x.shape, generator=generator).to(x)
        view = session.on_image(noisy, [layer])
        try:
            grad = view.gradient(layer, target)[0].float()
        finally:
            view.close()
        grad_1, grad_2, grad_3 = grad_1 + grad, grad_2 + grad.pow(2), grad_3 + grad.pow(3)
        report(index + 1, int(samples))
    grad_1, grad_2, grad_3 = (total / int(samples) for total in (grad_1, grad_2, grad_3))
    denominator = 2 * grad_2 + activation.sum(dim=(1, 2), keepdim=True) * grad_3
    alpha = torch.where(grad_2 != 0, grad_2 / (denominator + EPS), torch.zeros_like(grad_2))
    return channel_weighted((alpha * torch.relu(grad_1)).sum(dim=(1, 2)), activation, smooth)


def random_cam(session: SessionView, layer: str, target: int, seed: int = 0) -> torch.Tensor:
    """RandomCAM: channels weighted by uniform random weights in [−1, 1] (seeded) — a baseline a
    real method should beat on the faithfulness checks."""
    activation = session.activation(layer)[0].float()
    generator = torch.Generator().manual_seed(int(seed))
    weights = torch.rand(activation.shape[0], generator=generator) * 2 - 1
    return torch.relu(torch.einsum("c,chw->hw", weights.to(activation.device), activation))


for _method in (
    cam_method("cam", "CAM (classifier weights)", class_activation_map, signed=True,
           reference="Zhou et al., CVPR 2016"),
    cam_method("gradcam_elementwise", "Element-wise Grad-CAM", grad_cam_element_wise,
           reference="pytorch-grad-cam (Gildenblat & contributors, 2021)", params=SMOOTH),
    cam_method("eigengradcam", "EigenGrad-CAM", eigen_grad_cam,
           reference="after Muhammad & Yeasin, IJCNN 2020"),
    cam_method("fem", "FEM (class-free)", feature_explanation, uses_target=False,
           reference="Fuad et al., IPTA 2020",
           params=(Param("k", "k (standard deviations)", 2.0, 0.0, 4.0, 0.1, at_least=0.0),)),
    cam_method("kpcacam", "KPCA-CAM (class-free)", kernel_pca_cam, uses_target=False,
           reference="Karmani et al., MMSP 2024",
           params=(Param("gamma", "kernel γ (0: 1/channels)", 0.0, 0.0, 1.0, 0.001, at_least=0.0),)),
    cam_method("layer_gradxact", "Layer gradient × activation", layer_gradient_x_activation,
           signed=True, reference="Captum's LayerGradientXActivation (Kokhlikyan et al., 2020)"),
    cam_method("smoothgradcam++", "Smooth Grad-CAM++", smooth_grad_cam_plus_plus, slow=True,
           reference="Omeiza et al., 2019 (arXiv:1908.01224)",
           params=(Param("samples", "noisy samples", 4, 1, 50, 1, at_least=1),
                   Param("noise", "noise σ (input units)", 0.3, 0.0, 1.0, 0.05, at_least=0.0),
                   Param("seed", "random seed", 0, 0, 99, 1)) + SMOOTH),
    cam_method("randomcam", "RandomCAM (baseline)", random_cam, uses_target=False,
           reference="a random baseline, as in pytorch-grad-cam",
           params=(Param("seed", "seed", 0, 0, 99, 1),)),
):  # fmt: skip
    register(_method)

"""Class activation maps computed from a layer's recorded activations and gradients.

Every method here reuses the session's kept activations and (layer, class) gradients, so a
switch between them costs a few tensor operations and no model call.
"""

from __future__ import annotations

import torch

from .base import Param, SessionView, register
from .cam_options import cam_method

EPS = 1e-7


SMOOTHING = ("none", "eigen")
"""How a CAM's channel contributions become one map: summed, or their first principal component
("eigen-smooth", as pytorch-grad-cam offers it: less noise, the dominant pattern only)."""


def combined(contributions: torch.Tensor, smooth: str = "none") -> torch.Tensor:
    """ReLU of the C×H×W channel contributions summed over channels, or of their first principal
    component with ``smooth="eigen"``."""
    if smooth == "eigen":
        return torch.relu(principal_projection(contributions))
    if smooth != "none":
        raise ValueError(f"Unknown smoothing {smooth!r}; use one of {', '.join(SMOOTHING)}.")
    return torch.relu(contributions.sum(dim=0))


def channel_weighted(weights: torch.Tensor, activation: torch.Tensor, smooth: str = "none") -> torch.Tensor:
    if smooth == "none":  # the common case without the C×H×W product
        return torch.relu(torch.einsum("c,chw->hw", weights, activation))
    return combined(weights[:, None, None] * activation, smooth)


def grad_cam_weights(grad: torch.Tensor) -> torch.Tensor:
    """Grad-CAM's channel weights: the gradient averaged over space (…×C×H×W → …×C)."""
    return grad.mean(dim=(-2, -1))


def grad_cam(session: SessionView, layer: str, target: int, smooth: str = "none") -> torch.Tensor:
    """Grad-CAM: ReLU of the activation channels weighted by their mean gradient.

    Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based
    Localization", ICCV 2017.
    """
    activation = session.activation(layer)[0].float()  # float32 maths for half models
    return channel_weighted(grad_cam_weights(session.gradient(layer, target)[0].float()), activation, smooth)


def grad_cam_plus_plus(session: SessionView, layer: str, target: int, smooth: str = "none") -> torch.Tensor:
    """Grad-CAM++: channel weights sum positive gradients with per-pixel coefficients.

    Chattopadhyay et al., "Grad-CAM++: Improved Visual Explanations for Deep Convolutional
    Networks", WACV 2018 (the closed form with the exponential's higher derivatives).
    """
    activation = session.activation(layer)[0].float()  # float32 maths for half models
    grad = session.gradient(layer, target)[0].float()
    grad_2, grad_3 = grad.pow(2), grad.pow(3)
    denominator = 2 * grad_2 + activation.sum(dim=(1, 2), keepdim=True) * grad_3
    alpha = torch.where(grad != 0, grad_2 / (denominator + EPS), torch.zeros_like(grad))
    weights = (alpha * torch.relu(grad)).sum(dim=(1, 2))
    return channel_weighted(weights, activation, smooth)


def xgrad_cam(session: SessionView, layer: str, target: int, smooth: str = "none") -> torch.Tensor:
    """XGrad-CAM: gradients averaged with the activation's own spatial distribution as weights.

    Fu et al., "Axiom-based Grad-CAM: Towards Accurate Visualization and Explanation of CNNs",
    BMVC 2020.
    """
    activation = session.activation(layer)[0].float()  # float32 maths for half models
    grad = session.gradient(layer, target)[0].float()
    share = activation / (activation.sum(dim=(1, 2), keepdim=True) + EPS)
    return channel_weighted((grad * share).sum(dim=(1, 2)), activation, smooth)


def layer_cam(session: SessionView, layer: str, target: int, smooth: str = "none") -> torch.Tensor:
    """LayerCAM: each activation weighted by its own positive gradient, per pixel.

    Jiang et al., "LayerCAM: Exploring Hierarchical Class Activation Maps for Localization",
    IEEE TIP 2021.
    """
    activation = session.activation(layer)[0].float()  # float32 maths for half models
    grad = session.gradient(layer, target)[0].float()
    return combined(torch.relu(grad) * activation, smooth)


def hires_cam(session: SessionView, layer: str, target: int, smooth: str = "none") -> torch.Tensor:
    """HiResCAM: the element-wise product of gradient and activation, summed over channels.

    Draelos & Carin, "Use HiResCAM instead of Grad-CAM for faithful explanations of
    convolutional neural networks", 2020.
    """
    activation = session.activation(layer)[0].float()  # float32 maths for half models
    grad = session.gradient(layer, target)[0].float()
    return combined(grad * activation, smooth)


def eigen_cam(session: SessionView, layer: str, target: int) -> torch.Tensor:
    """Eigen-CAM: the activations projected on their first principal component (class-free).

    Muhammad & Yeasin, "Eigen-CAM: Class Activation Map using Principal Components", IJCNN
    2020. The component's sign is chosen so that the map correlates positively with the
    channel-summed activation, which makes the result independent of the SVD routine.
    """
    activation = session.activation(layer)[0].float()  # float32 maths for half models
    return torch.relu(principal_projection(activation))


def principal_projection(values: torch.Tensor) -> torch.Tensor:
    """C×H×W ``values`` projected on the first principal component of their pixels (H·W points
    in C dimensions, centred), oriented to correlate positively with the channel sum: H×W."""
    channels = values.shape[0]
    pixels = values.reshape(channels, -1).T.float()  # (H·W, C)
    centred = pixels - pixels.mean(dim=0, keepdim=True)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    return oriented(centred @ vh[0], pixels.sum(dim=1)).reshape(values.shape[1:])


def oriented(projection: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``projection`` or its negative, whichever correlates positively with ``reference`` (a
    principal component's sign is arbitrary; this makes the map independent of the routine)."""
    return -projection if torch.dot(projection, reference - reference.mean()) < 0 else projection


SMOOTH = (Param("smooth", "smoothing", "none", choices=SMOOTHING),)
"""The eigen-smooth option of the CAMs that sum channel contributions."""

for _method in (  # fmt: skip
    cam_method("gradcam", "Grad-CAM", grad_cam, reference="Selvaraju et al., ICCV 2017", params=SMOOTH),
    cam_method("gradcam++", "Grad-CAM++", grad_cam_plus_plus, reference="Chattopadhyay et al., WACV 2018",
           params=SMOOTH),
    cam_method("xgradcam", "XGrad-CAM", xgrad_cam, reference="Fu et al., BMVC 2020", params=SMOOTH),
    cam_method("layercam", "LayerCAM", layer_cam, reference="Jiang et al., IEEE TIP 2021", params=SMOOTH),
    cam_method("hirescam", "HiResCAM", hires_cam, reference="Draelos & Carin, 2020", params=SMOOTH),
    cam_method(
        "eigencam",
        "Eigen-CAM (class-free)",
        eigen_cam,
        uses_target=False,
        reference="Muhammad & Yeasin, IJCNN 2020",
    ),
):
    register(_method)

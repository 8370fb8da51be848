"""The bad-input catalogue: each case is a problem, how to provoke it, and what the user gets.

Shared by ``tests/test_bad_input.py`` (which runs every case and checks the model after it)
and ``scripts/troubleshooting.py`` (which turns the failing cases into the README's
Troubleshooting table). A case either succeeds, with the notes (regexes) the session must
carry, or raises a specific exception whose message names the problem and the fix.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np
import torch
from PIL import Image
from torch import nn

from tests.models import random_image, tiny_cnn
from tests.vit_models import tiny_vit
from xai_widgets.engine import (
    ImageError,
    LayerError,
    MethodError,
    ModelCallError,
    ModelChangedError,
    ModelOutputError,
    Session,
    TargetError,
)


@dataclass(frozen=True)
class Outcome:
    """What a successful case produced: the session's notes and the map."""

    notes: list[str]
    attribution: torch.Tensor


@dataclass(frozen=True)
class Case:
    """One bad input. ``error`` None: success, with every regex of ``notes`` matching a note."""

    problem: str
    call: Callable[[nn.Module, pathlib.Path], Outcome]
    model: Callable[[], nn.Module] = tiny_cnn
    error: Optional[type[Exception]] = None
    match: str = ""
    notes: tuple[str, ...] = ()


def attribute(model: nn.Module, image: Any, method: str = "gradcam", **kwargs: Any) -> Outcome:
    """Build a Session (``transform``/``output`` go to it), compute one map, free the session."""
    session_args = {name: kwargs.pop(name) for name in ("transform", "output") if name in kwargs}
    session = Session(model, image, **session_args)
    try:
        attribution = session.attribution(method, **kwargs)  # some notes come with the first map
        return Outcome(list(session.notes), attribution)
    finally:
        session.close()


# -- models ------------------------------------------------------------------------------------


class Returns(nn.Module):
    """The tiny CNN whose forward wraps its logits (and the feature map) in another structure."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.net = tiny_cnn()
        self.kind = kind
        self.eval()

    def forward(self, x: torch.Tensor) -> Any:
        features = self.net.features(x)
        logits = self.net.fc(self.net.pool(features).flatten(1))
        if self.kind == "tuple":
            return logits, features
        if self.kind == "list":
            return [logits, logits.softmax(-1)]
        if self.kind == "dict":
            return {"scores": logits, "features": features}
        if self.kind == "features-first":
            return features, logits
        if self.kind == "object":
            return _ModelOutput(logits)
        return "no tensor here"


class _ModelOutput:
    """Like transformers' ``ModelOutput``: the scores under ``.logits``."""

    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits
        self.hidden_states = None


class MLP(nn.Module):
    """A linear classifier on the flattened image: no spatial layer, no ReLU module."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(3 * 32 * 32, 10)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.tanh(x.flatten(1)))


class Exploding(nn.Module):
    """Raises inside its forward."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.conv(x)
        raise RuntimeError("boom")


def training_model() -> nn.Module:
    return tiny_cnn().train()


def frozen_model() -> nn.Module:
    model = tiny_cnn()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def densenet() -> nn.Module:
    from torchvision.models import densenet121

    torch.manual_seed(0)
    return densenet121(weights=None, num_classes=10).eval()


def scripted() -> nn.Module:
    return torch.jit.script(tiny_cnn())


def traced() -> nn.Module:
    return torch.jit.trace(tiny_cnn(), random_image()[None])


def compiled() -> nn.Module:
    return torch.compile(tiny_cnn())


# -- inputs ------------------------------------------------------------------------------------


def _u8(*shape: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)


def _text_file(tmp: pathlib.Path) -> pathlib.Path:
    path = tmp / "notes.txt"
    path.write_text("not an image")
    return path


def _resize(size: int) -> Callable[[Any], torch.Tensor]:
    from torchvision import transforms

    return transforms.Compose([transforms.Resize((size, size)), transforms.ToTensor()])


def _compose(last: Callable[[Any], torch.Tensor]) -> Callable[[Any], torch.Tensor]:
    from torchvision import transforms

    return transforms.Compose([transforms.Resize((32, 32)), last])


def _tensor_resize(size: int) -> Callable[[torch.Tensor], torch.Tensor]:
    from torchvision import transforms

    return transforms.Resize((size, size), antialias=True)


def _divide_by_zero(image: Image.Image) -> torch.Tensor:
    from torchvision.transforms.functional import to_tensor

    return (to_tensor(image) - 0.5) / 0.0


def batching_transform(image: Image.Image) -> torch.Tensor:
    """A transform that ends in a batch of two (a test-time augmentation left in)."""
    from torchvision.transforms.functional import hflip, to_tensor

    tensor = to_tensor(image)
    return torch.stack([tensor, hflip(tensor)])


def channels_last_transform(image: Image.Image) -> torch.Tensor:
    """A transform that makes an H×W×C tensor (torch.from_numpy without a permute)."""
    return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)


X = random_image()
GRAY = r"grayscale: its channel was repeated"
ALPHA = r"alpha channel was dropped"
FIRST = r"first tensor, out{}.*Pass output="


CASES: list[Case] = [
    # -- images ----------------------------------------------------------------------------------
    Case("grayscale image (H×W)", lambda m, t: attribute(m, _u8(32, 32)), notes=(GRAY,)),
    Case("grayscale image (H×W×1)", lambda m, t: attribute(m, _u8(32, 32, 1)), notes=(GRAY,)),
    Case("grayscale PIL image", lambda m, t: attribute(m, Image.fromarray(_u8(32, 32))), notes=(GRAY,)),
    Case("RGBA image (H×W×4)", lambda m, t: attribute(m, _u8(32, 32, 4)), notes=(ALPHA,)),
    Case("RGBA PIL image", lambda m, t: attribute(m, Image.fromarray(_u8(32, 32, 4))), notes=(ALPHA,)),
    Case(
        "16-bit image (uint16 array)",
        lambda m, t: attribute(m, (_u8(32, 32, 3).astype(np.uint16) * 257)),
        notes=(r"16-bit image: values were scaled from 0–65535",),
    ),
    Case(
        "16-bit PIL image (mode I;16)",
        lambda m, t: attribute(m, Image.fromarray(_u8(32, 32).astype(np.uint16) * 257)),
        notes=(r"16-bit image", GRAY),
    ),
    Case("float image in 0–1", lambda m, t: attribute(m, _u8(32, 32, 3) / 255.0)),
    Case(
        "float image in 0–255",
        lambda m, t: attribute(m, _u8(32, 32, 3).astype(np.float32)),
        notes=(r"values above 1: read as 0–255",),
    ),
    Case(
        "float image already normalised (values below 0)",
        lambda m, t: attribute(m, np.random.default_rng(0).normal(size=(32, 32, 3))),
        error=ImageError,
        match=r"neither 0–1 nor 0–255; rescale them to 0–1, or pass a torch tensor",
    ),
    Case(
        "NaN-filled image",
        lambda m, t: attribute(m, np.full((32, 32, 3), np.nan, np.float32)),
        error=ImageError,
        match=r"NaN or infinite values; clean it \(np\.nan_to_num\)",
    ),
    Case(
        "inf-filled image tensor",
        lambda m, t: attribute(m, torch.full((3, 32, 32), float("inf"))),
        error=ImageError,
        match=r"contains 3072 NaN or infinite values; clean the image first",
    ),
    Case(
        "transform that produces NaN (division by zero)",
        lambda m, t: attribute(m, _u8(32, 32, 3), transform=_divide_by_zero),
        error=ImageError,
        match=r"NaN or infinite values after the transform.*check the transform",
    ),
    Case(
        "transform that returns a batch",
        lambda m, t: attribute(m, _u8(32, 32, 3), transform=batching_transform),
        error=ImageError,
        match=r"transform batching_transform returned a batch of 2 images.*remove the step that stacks",
    ),
    Case(
        "transform that returns H×W×C",
        lambda m, t: attribute(m, _u8(32, 32, 3), transform=channels_last_transform),
        error=ImageError,
        match=r"transform channels_last_transform returned a channels-last \(H×W×C\) tensor of shape "
        r"\(32, 32, 3\).*ToTensor\(\)",
    ),
    Case(
        "Compose that returns a batch",
        lambda m, t: attribute(m, _u8(32, 32, 3), transform=_compose(batching_transform)),
        error=ImageError,
        match=r"transform Compose\(Resize, batching_transform\) returned a batch",
    ),
    Case(
        "empty image (0×0)",
        lambda m, t: attribute(m, np.zeros((0, 0, 3), np.uint8)),
        error=ImageError,
        match=r"is empty; pass an image with at least one pixel",
    ),
    Case(
        "empty image tensor (3×0×0)",
        lambda m, t: attribute(m, torch.zeros(3, 0, 0)),
        error=ImageError,
        match=r"is empty; pass an image with pixels",
    ),
    Case(
        "1×1 image with Grad-CAM",
        lambda m, t: attribute(m, _u8(1, 1, 3)),
        error=LayerError,
        match=r"only 1×1 pixels.*resize the image \(pass transform=",
    ),
    Case("1×1 image with saliency", lambda m, t: attribute(m, _u8(1, 1, 3), "saliency")),
    Case(
        "10,000×10,000 image",
        lambda m, t: attribute(m, np.zeros((10_000, 10_000, 3), np.uint8), transform=_resize(32)),
        notes=(r"10000×10000 pixels: it was downscaled by 3 to 3334×3334 \(longest side at most 4096\)",),
    ),
    Case(
        "10,000×10,000 PIL image",
        lambda m, t: attribute(m, Image.new("RGB", (10_000, 10_000)), transform=_resize(32)),
        notes=(r"10000×10000 pixels: it was downscaled by 3 to 3334×3334",),
    ),
    Case(
        "5,000×5,000 image tensor",
        lambda m, t: attribute(m, torch.zeros(3, 5_000, 5_000), transform=_tensor_resize(32)),
        notes=(r"5000×5000 pixels: it was downscaled by 2 to 2500×2500",),
    ),
    Case(
        "uint8 image tensor (0–255)",
        lambda m, t: attribute(m, torch.from_numpy(_u8(3, 32, 32))),
        notes=(r"uint8 image tensor was scaled to 0–1",),
    ),
    Case(
        "a text file instead of an image",
        lambda m, t: attribute(m, _text_file(t)),
        error=ImageError,
        match=r"is not an image file PIL can read .*Pass a PNG/JPEG path",
    ),
    Case(
        "missing image path",
        lambda m, t: attribute(m, t / "missing.png"),
        error=ImageError,
        match=r"Image file not found: .*missing\.png'\. Check the path",
    ),
    Case(
        "a batch of several images (N×C×H×W)",
        lambda m, t: attribute(m, torch.stack([X, X, X])),
        error=ImageError,
        match=r"batch of 3 images .*pass one image .*Explorer a list",
    ),
    Case(
        "a list of images given to Session/explain",
        lambda m, t: attribute(m, [X, X]),
        error=ImageError,
        match=r"list of 2 images; .*call them once per image, or pass the collection to Explorer",
    ),
    Case(
        "5-D tensor",
        lambda m, t: attribute(m, X[None, None]),
        error=ImageError,
        match=r"has 5 dimensions.*index or squeeze the extra dimensions",
    ),
    Case(
        "2-D tensor (no channel axis)",
        lambda m, t: attribute(m, X[0]),
        error=ImageError,
        match=r"2-D tensor .* add a channel axis",
    ),
    Case(
        "image with channels the model does not take (1-channel tensor, RGB model)",
        lambda m, t: attribute(m, X[:1]),
        error=ModelCallError,
        match=r"model raised RuntimeError on the input of shape \(1, 1, 32, 32\).*pass transform=",
    ),
    # -- models ----------------------------------------------------------------------------------
    Case(
        "model returns a tuple",
        lambda m, t: attribute(m, X),
        model=lambda: Returns("tuple"),
        notes=(FIRST.format(r"\[0\]"),),
    ),
    Case(
        "model returns a list",
        lambda m, t: attribute(m, X, "saliency"),
        model=lambda: Returns("list"),
        notes=(FIRST.format(r"\[0\]"),),
    ),
    Case(
        "model returns a dict",
        lambda m, t: attribute(m, X),
        model=lambda: Returns("dict"),
        notes=(FIRST.format(r"\['scores'\]"),),
    ),
    Case(
        "model returns a ModelOutput-like object (.logits)",
        lambda m, t: attribute(m, X),
        model=lambda: Returns("object"),
    ),
    Case(
        "model returns (features, logits)",
        lambda m, t: attribute(m, X),
        model=lambda: Returns("features-first"),
        error=ModelOutputError,
        match=r"out\[0\] has shape \(1, 16, 16, 16\), not N×K class scores; pass output=1 to use out\[1\]",
    ),
    Case(
        "output= picks the logits",
        lambda m, t: attribute(m, X, "smoothgrad", output=1, samples=2),
        model=lambda: Returns("features-first"),
    ),
    Case(
        "output= a dict key, with a slow method",
        lambda m, t: attribute(m, X, "occlusion", output="scores", window=16, stride=16),
        model=lambda: Returns("dict"),
    ),
    Case(
        "output= an index the output does not have",
        lambda m, t: attribute(m, X, output=5),
        model=lambda: Returns("tuple"),
        error=ModelOutputError,
        match=r"output=5 selects nothing in the model's tuple .*its tensors are: out\[0\] \(shape \(1, 10\)\)",
    ),
    Case(
        "model returns no tensor",
        lambda m, t: attribute(m, X),
        model=lambda: Returns("none"),
        error=ModelOutputError,
        match=r"returned str with no tensor of class scores; wrap it so that forward returns",
    ),
    Case("MLP (no spatial layer) with saliency", lambda m, t: attribute(m, X, "saliency"), model=MLP),
    Case(
        "MLP (no spatial layer) with Grad-CAM",
        lambda m, t: attribute(m, X),
        model=MLP,
        error=LayerError,
        match=r"no layer with a spatial \(N×C×H×W\) output.*use an input method such as 'saliency'",
    ),
    Case(
        "Guided Backprop on a model with no ReLU modules",
        lambda m, t: attribute(m, X, "guided_backprop"),
        model=MLP,
        error=MethodError,
        match=r"needs nn\.ReLU or nn\.ReLU6 modules and this model has none.*use 'saliency'",
    ),
    Case(
        "float64 model, float32 image",
        lambda m, t: attribute(m, X),
        model=lambda: tiny_cnn().double(),
        notes=(r"torch.float32 input was converted to the model's dtype, torch.float64",),
    ),
    Case(
        "bfloat16 model, float32 image",
        lambda m, t: attribute(m, X, "integrated_gradients", steps=4),
        model=lambda: tiny_cnn().to(torch.bfloat16),
        notes=(r"converted to the model's dtype, torch.bfloat16",),
    ),
    Case(
        "model left in training mode",
        lambda m, t: attribute(m, X),
        model=training_model,
        notes=(r"training mode; it was explained in eval mode and left in training mode",),
    ),
    Case("all parameters frozen", lambda m, t: attribute(m, X, "gradcam++"), model=frozen_model),
    Case(
        "DenseNet-121: in-place ReLU after the hooked layer",
        lambda m, t: attribute(m, torch.rand(3, 64, 64, generator=torch.Generator().manual_seed(0))),
        model=densenet,
    ),
    Case(
        "TorchScript model with Grad-CAM",
        lambda m, t: attribute(m, X),
        model=scripted,
        error=LayerError,
        match=r"TorchScript models do not run forward hooks.*pass the original nn\.Module",
    ),
    Case(
        "traced TorchScript model with saliency",
        lambda m, t: attribute(m, X, "saliency"),
        model=traced,
        notes=(r"TorchScript models do not run forward hooks",),
    ),
    Case(
        "TorchScript model with Guided Backprop",
        lambda m, t: attribute(m, X, "guided_backprop"),
        model=scripted,
        error=MethodError,
        match=r"TorchScript model does not run; pass the original nn\.Module",
    ),
    Case(
        "torch.compile'd model",
        lambda m, t: attribute(m, X),
        model=compiled,
        notes=(r"compiled with torch\.compile; it is explained through its original module",),
    ),
    Case(
        "model that raises in its forward",
        lambda m, t: attribute(m, X),
        model=Exploding,
        error=ModelCallError,
        match=r"model raised RuntimeError on the input of shape \(1, 3, 32, 32\) \(torch.float32\): boom",
    ),
    Case(
        "a plain function instead of an nn.Module",
        lambda m, t: attribute(lambda x: x, X),
        error=TypeError,
        match=r"must be a torch\.nn\.Module, not function; wrap a plain function",
    ),
    # -- requests --------------------------------------------------------------------------------
    Case(
        "layer name that does not exist (typo)",
        lambda m, t: attribute(m, X, layer="feature.3"),
        error=LayerError,
        match=r"no layer named 'feature\.3'\. Did you mean 'features\.3'",
    ),
    Case(
        "layer without a spatial output (the classifier)",
        lambda m, t: attribute(m, X, layer="fc"),
        error=LayerError,
        match=r"Layer 'fc' has no spatial .* pick one of Session\.layers, e\.g\. 'features'",
    ),
    Case(
        "class index out of range",
        lambda m, t: attribute(m, X, target=10),
        error=TargetError,
        match=r"Class 10 is out of range: the model scores 10 classes, so pick an index from 0 to 9",
    ),
    Case(
        "negative class index",
        lambda m, t: attribute(m, X, target=-1),
        error=TargetError,
        match=r"negative indices do not count from the end.*from 0 to 9",
    ),
    Case(
        "non-integer class (1.5)",
        lambda m, t: attribute(m, X, target=1.5),
        error=TargetError,
        match=r"Class 1\.5 \(float\) is not an integer; pass an int class index from 0 to 9",
    ),
    Case(
        "class given as a string",
        lambda m, t: attribute(m, X, target="3"),
        error=TargetError,
        match=r"Class '3' \(str\) is not an integer",
    ),
    Case("class as a numpy integer", lambda m, t: attribute(m, X, target=np.int64(3))),
    Case(
        "method that does not exist",
        lambda m, t: attribute(m, X, "gradcamm"),
        error=MethodError,
        match=r"Unknown method 'gradcamm'; choose one of: .*gradcam",
    ),
    Case(
        "method parameter that does not exist",
        lambda m, t: attribute(m, X, "smoothgrad", sample=3),
        error=MethodError,
        match=r"SmoothGrad has no parameter 'sample'; use one of its parameters: samples",
    ),
    Case(
        "parameter given to a method without parameters",
        lambda m, t: attribute(m, X, "saliency", steps=3),
        error=MethodError,
        match=r"Saliency has no parameter 'steps'; it takes none, so remove it",
    ),
    Case(
        "parameter of the wrong type",
        lambda m, t: attribute(m, X, "smoothgrad", samples="many"),
        error=MethodError,
        match=r"'samples' of SmoothGrad must be an int, got 'many'; pass e\.g\. 25",
    ),
    Case(
        "whole-number parameter given a fraction",
        lambda m, t: attribute(m, X, "integrated_gradients", steps=2.5),
        error=MethodError,
        match=r"'steps' of Integrated Gradients must be an int, got 2\.5",
    ),
    Case(
        "parameter below what the method can run with",
        lambda m, t: attribute(m, X, "occlusion", stride=0),
        error=MethodError,
        match=r"'stride' of Occlusion must be at least 1, got 0; its default is 16",
    ),
    Case(
        "parameter choice that is not offered",
        lambda m, t: attribute(m, X, "smoothgrad", variant="median"),
        error=MethodError,
        match=r"'variant' of SmoothGrad must be one of mean, squared, var; got 'median'",
    ),
    Case(
        "attention method on a model with no attention (a CNN)",
        lambda m, t: attribute(m, X, "rollout"),
        error=LayerError,
        match=r"No attention was recorded .* windowed attention such as Swin's has no CLS token.*Grad-CAM",
    ),
    Case(
        "gradient map at a ViT layer whose patch tokens get no gradient",
        lambda m, t: attribute(m, X, "gradcam", layer="blocks.1"),
        model=tiny_vit,
        error=LayerError,
        match=r"patch tokens of layer 'blocks.1' get no gradient.*Pick an earlier layer such as 'blocks.1.norm1'",
    ),
    Case(
        "attention head that does not exist",
        lambda m, t: attribute(m, X, "attention", head=4),
        model=tiny_vit,
        error=MethodError,
        match=r"Head 4 does not exist: block 'blocks.1.attn' has 4 heads, so pick 0 to 3, or -1",
    ),
    Case(
        "attention block that does not exist",
        lambda m, t: attribute(m, X, "attention", block=7),
        model=tiny_vit,
        error=LayerError,
        match=r"Attention block 7 does not exist: the model has 2 attention blocks, so pick an index from 0 to 1",
    ),
    Case(
        "ViT with no arguments: the default layer skips the dead last block",
        lambda m, t: attribute(m, X, "gradcam"),
        model=tiny_vit,
        notes=(r"get no gradient: the model reads its prediction from the prefix \(CLS\) token",),
    ),
    Case(
        "a ViT whose classifier head is zero (torchvision's weights=None), with Grad-CAM",
        lambda m, t: attribute(m, X, "gradcam"),
        model=lambda: zero_head_vit(),
        error=LayerError,
        match=r"all 10 class scores are equal .* weights are all zero .*'eigencam', 'attention' and 'rollout' need no",
    ),
    Case(
        "dynamically quantized model with Grad-CAM",
        lambda m, t: attribute(m, X, "gradcam"),
        model=lambda: torch.ao.quantization.quantize_dynamic(tiny_cnn().eval(), {nn.Linear}, dtype=torch.qint8),
        error=LayerError,
        match=r"quantized layers \(e.g. 'fc'\), whose integer kernels pass no gradient.*'eigencam', 'scorecam'",
    ),
    Case(
        "binary classifier with one logit per image, shape (N,)",
        lambda m, t: attribute(m, X, "scorecam", target=1),
        model=lambda: OneLogitCNN().eval(),
        notes=(r"one score per image; it is read as a binary classifier's logit",),
    ),
    Case(
        "a forward with two required inputs",
        lambda m, t: attribute(m, X, "gradcam"),
        model=lambda: TwoInputs(),
        error=ModelCallError,
        match=r"forward needs more than the image .*missing 1 required positional argument: 'mask'.*Wrap it",
    ),
    Case(
        "a forward wrapped in torch.no_grad()",
        lambda m, t: attribute(m, X, "gradcam"),
        model=lambda: NoGradForward(),
        error=ModelCallError,
        match=r"class scores carry no gradient: its forward runs under torch.no_grad\(\).*Remove that from forward",
    ),
    Case(
        "a model on the meta device",
        lambda m, t: attribute(m, X, "gradcam"),
        model=lambda: built_on("meta"),
        error=ModelCallError,
        match=r"weights are on the 'meta' device.*model.to_empty\(device='cpu'\) then model.load_state_dict",
    ),
    Case(
        "a model created under torch.inference_mode()",
        lambda m, t: attribute(m, X, "gradcam"),
        model=lambda: built_on("inference"),
        error=ModelCallError,
        match=r"weights are inference tensors .*Create or load it outside inference_mode",
    ),
    Case(
        "a forward written for one image (x.view(1, -1)), with Score-CAM",
        lambda m, t: attribute(m, X, "scorecam"),
        model=lambda: BatchOfOne().eval(),
        notes=(r"fails on a batch of \d+ images \(RuntimeError: .*\) but works on one, so methods that run many",),
    ),
    Case(
        "a layer replaced after the session was made",
        lambda m, t: changed_after(lambda model: setattr(model, "fc", nn.Linear(16, 10))),
        error=ModelChangedError,
        match=r"model changed after this image was run through it: its layers changed \(replaced 'fc'\).*new Session",
    ),
    Case(
        "weights trained after the session was made",
        lambda m, t: changed_after(train_one_step),
        error=ModelChangedError,
        match=r"its weights changed \('fc.weight', 'fc.bias': trained or loaded since\)",
    ),
    Case(
        "top_k of 0",
        lambda m, t: top_classes(m, 0),
        error=TargetError,
        match=r"top_k must be a whole number of classes to list, at least 1; got 0",
    ),
    Case(
        "fewer targets than images in grad_cam_batch",
        lambda m, t: batch_maps(m, targets=[1]),
        error=TargetError,
        match=r"Got 1 targets for 2 images; pass one class per image, a single int for all, or None",
    ),
    Case(
        "batch_size of 0 in grad_cam_batch",
        lambda m, t: batch_maps(m, batch_size=0),
        error=ValueError,
        match=r"batch_size must be a whole number of images, at least 1; got 0",
    ),
]


def zero_head_vit() -> nn.Module:
    """torchvision's ViT code as torchvision initialises it: the classifier head is all zeros."""
    from torchvision.models import VisionTransformer

    torch.manual_seed(0)
    return VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=10
    ).eval()


def top_classes(model: nn.Module, k: int) -> Outcome:
    session = Session(model, X)
    try:
        session.top_k(k)
        return Outcome(list(session.notes), session.attribution("gradcam"))
    finally:
        session.close()


def batch_maps(model: nn.Module, **kwargs: Any) -> Outcome:
    from xai_widgets.engine import grad_cam_batch

    maps = grad_cam_batch(model, torch.stack([X, X]), **kwargs)
    return Outcome([], maps[0])


class OneLogitCNN(nn.Module):
    """A binary classifier returning one logit per image, shape (N,)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = tiny_cnn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[:, 0]


class BatchOfOne(nn.Module):
    """A forward written for one image: it flattens with x.view(1, -1), so a batch fails."""

    def __init__(self) -> None:
        super().__init__()
        self.net = tiny_cnn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.fc(self.net.pool(self.net.features(x)).view(1, -1))


def changed_after(change: Callable[[nn.Module], Any]) -> Outcome:
    """A session on a fresh tiny_cnn, then ``change`` to that model, then a map from the session."""
    model = tiny_cnn()
    session = Session(model, X)
    change(model)
    return Outcome(list(session.notes), session.attribution("gradcam"))


def train_one_step(model: nn.Module) -> None:
    """One SGD step on the classifier, as a training loop beside an open Explorer would take."""
    optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.1)
    model(X[None]).sum().backward()
    optimizer.step()
    model.zero_grad(set_to_none=True)


class TwoInputs(nn.Module):
    """A forward that needs a second input besides the image."""

    def __init__(self) -> None:
        super().__init__()
        self.net = tiny_cnn()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.net(x * mask)


class NoGradForward(nn.Module):
    """A forward that switches gradients off inside itself."""

    def __init__(self) -> None:
        super().__init__()
        self.net = tiny_cnn()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.net(x)


def built_on(where: str) -> nn.Module:
    """tiny_cnn built with no weight values ('meta') or inside torch.inference_mode()."""
    if where == "meta":
        with torch.device("meta"):
            return tiny_cnn()
    with torch.inference_mode():
        return tiny_cnn()

"""Targets beyond a class index: probability, contrast, segmentation region, detected box,
embedding similarity; the same objects in explain(), the curves and batched Grad-CAM."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from xai_widgets.engine import Session, TargetError, deletion_curve, explain, grad_cam_batch
from xai_widgets.engine.target_picking import box_at, embedding_of, output_kind, region_at
from xai_widgets.engine.targets import Box, ClassScore, Contrast, Region, Similarity, TargetScores

from .models import random_image, square_segmenter, tiny_cnn


@pytest.fixture(scope="module")
def classifier():
    return tiny_cnn(), random_image()


def input_gradient(model: nn.Module, x: torch.Tensor, score) -> torch.Tensor:
    """d score / d input, by hand: the reference every gradient map of a target is built from."""
    point = x[None].clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(score(model(point)).sum(), point)
    return grad[0]


def test_class_score_is_the_class_index(classifier):
    model, x = classifier
    for method in ("gradcam", "gradxinput", "occlusion"):
        torch.testing.assert_close(explain(model, x, method, target=ClassScore(3)), explain(model, x, method, target=3))


def test_probability_target_is_the_softmax_gradient(classifier):
    model, x = classifier
    expected = (input_gradient(model, x, lambda out: out.softmax(dim=1)[:, 3]) * x).sum(0)
    ours = explain(model, x, "gradxinput", target=ClassScore(3, probability=True))
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-7)


def test_contrast_is_the_difference_of_the_two_classes(classifier):
    model, x = classifier
    ours = explain(model, x, "gradxinput", target=Contrast(1, 2))
    torch.testing.assert_close(
        ours, explain(model, x, "gradxinput", target=1) - explain(model, x, "gradxinput", target=2)
    )
    # contrastive Grad-CAM: channels weighted by the mean of the two gradients' difference
    session = Session(model, x)
    layer = session.default_layer
    grad = session.gradient(layer, 1) - session.gradient(layer, 2)
    expected = torch.relu((grad.mean(dim=(2, 3), keepdim=True) * session.activation(layer)).sum(1))[0]
    torch.testing.assert_close(explain(model, x, "gradcam", target=Contrast(1, 2)), expected.detach())


def test_contrast_deletion_curve_scores_the_difference(classifier):
    model, x = classifier
    attribution = explain(model, x, "gradcam", target=Contrast(1, 2))
    curve = deletion_curve(model, x, attribution, Contrast(1, 2), steps=4)
    logits = model(x[None]).detach()[0]
    assert curve.scores[0] == pytest.approx(float(logits[1] - logits[2]), rel=1e-4)


# -- segmentation: a tiny model trained here, where the answer is known ---------------------


@pytest.fixture(scope="module")
def segmenter():
    return square_segmenter()


def test_region_map_falls_inside_the_region(segmenter):
    model, image, labels = segmenter
    for index in (1, 2):
        region = labels == index
        # the receptive field is 5×5: evidence may sit 2 pixels around the region
        near = nn.functional.max_pool2d(region[None, None].float(), 5, stride=1, padding=2)[0, 0].bool()
        saliency = explain(model, image, "saliency", target=Region(index, region))
        assert float(saliency[near].sum() / saliency.sum()) > 0.95
        cam = explain(model, image, "gradcam", layer="2", target=Region(index, region))
        assert float(cam[near].sum() / cam.sum()) > 0.9


def test_region_score_is_the_summed_logit(segmenter):
    model, image, labels = segmenter
    region = labels == 1
    session = Session(model, image, output=TargetScores(Region(1, region)))
    expected = model(image[None])[0, 1][region].sum()
    assert float(session.logits.detach()[0, 0]) == pytest.approx(float(expected.detach()), rel=1e-5)


def test_region_from_a_click_and_a_drag(segmenter):
    model, image, labels = segmenter
    kind = output_kind(model, image)
    assert kind.kind == "segmentation" and kind.classes == 3
    torch.testing.assert_close(kind.predicted, labels)
    row, col = map(int, (labels == 2).nonzero()[0])
    clicked = region_at(kind.predicted, col, row)
    assert clicked.index == 2 and torch.equal(clicked.mask, labels == 2)
    dragged = region_at(kind.predicted, col, row, rectangle=(col, row, col + 2, row + 1))
    assert int(dragged.mask.sum()) == 6 and bool((dragged.mask <= (labels == 2)).all())


def test_region_on_a_torchvision_segmentation_model():
    torch.manual_seed(0)
    model = torchvision.models.segmentation.lraspp_mobilenet_v3_large(
        weights=None, weights_backbone=None, num_classes=4
    ).eval()
    image = random_image(size=96)
    kind = output_kind(model, image)
    assert kind.kind == "segmentation" and kind.classes == 4 and kind.predicted.shape == (96, 96)
    region = region_at(kind.predicted, 48, 48)
    out = model(image[None])["out"]
    session = Session(model, image, output=TargetScores(region))
    assert float(session.logits.detach()[0, 0]) == pytest.approx(
        float(out[0, region.index][region.mask].sum()), rel=1e-4
    )
    cam = session.attribution("gradcam")
    assert cam.dim() == 2 and bool(torch.isfinite(cam).all())


# -- detection -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def detector():
    torch.manual_seed(0)
    model = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, box_score_thresh=0.0
    ).eval()
    return model, random_image(size=128)


def test_box_target_scores_the_clicked_detection(detector):
    model, image = detector
    kind = output_kind(model, image)
    assert kind.kind == "detection" and len(kind.detections) > 0
    best = max(kind.detections, key=lambda d: d["score"])
    x, y = (best["box"][0] + best["box"][2]) / 2, (best["box"][1] + best["box"][3]) / 2
    box = box_at(kind.detections, x, y)
    inside = [d for d in kind.detections if d["box"][0] <= x <= d["box"][2] and d["box"][1] <= y <= d["box"][3]]
    assert box.label == max(inside, key=lambda d: d["score"])["label"]
    session = Session(model, image, output=TargetScores(box))
    assert float(session.logits.detach()[0, 0]) == pytest.approx(max(d["score"] for d in inside), rel=1e-4)
    assert session.default_layer.startswith("backbone")  # pooled regions of interest are not maps of the image
    saliency = session.attribution("saliency")
    assert saliency.shape == (128, 128) and float(saliency.sum()) > 0


def test_a_box_no_detection_overlaps_scores_zero(detector):
    model, image = detector
    output = model(image[None])
    far = Box((0.0, 0.0, 1.0, 1.0), label=1, min_iou=0.9)
    assert float(far.score(output)[0]) == 0.0
    with pytest.raises(TargetError, match="click inside one of the boxes"):
        box_at([{"box": [10, 10, 20, 20], "label": 1, "score": 0.5}], 50, 50)


# -- embedding similarity ------------------------------------------------------------------


def test_similarity_target_is_the_cosine_gradient(classifier):
    model, x = classifier
    reference = embedding_of(model, random_image(seed=3))
    expected = (input_gradient(model, x, lambda out: nn.functional.cosine_similarity(out, reference[None])) * x).sum(0)
    ours = explain(model, x, "gradxinput", target=Similarity(reference))
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-7)
    itself = Session(model, x, output=TargetScores(Similarity(embedding_of(model, x))))
    assert float(itself.logits.detach()[0, 0]) == pytest.approx(1.0, abs=1e-5)


# -- per-image targets in batched runs -----------------------------------------------------


def test_batched_grad_cam_takes_one_target_per_image(classifier):
    model, _ = classifier
    images = torch.stack([random_image(seed=s) for s in range(3)])
    targets = [ClassScore(1), Contrast(2, 5), ClassScore(4, probability=True)]
    maps = grad_cam_batch(model, images, targets=targets, batch_size=2)
    for image, target, cam in zip(images, targets, maps, strict=True):
        torch.testing.assert_close(cam, explain(model, image, "gradcam", target=target), rtol=1e-4, atol=1e-6)
    for image, cam in zip(images, grad_cam_batch(model, images, targets=Contrast(0, 1)), strict=True):
        torch.testing.assert_close(cam, explain(model, image, "gradcam", target=Contrast(0, 1)), rtol=1e-4, atol=1e-6)


# -- bad input -----------------------------------------------------------------------------


def test_targets_that_do_not_fit_the_output_say_which_do(classifier):
    model, x = classifier
    with pytest.raises(TargetError, match="segmentation model.*ClassScore or Contrast"):
        explain(model, x, target=Region(1, np.ones((4, 4), bool)))
    with pytest.raises(TargetError, match="detector's output"):
        explain(model, x, target=Box((0, 0, 5, 5), 1))
    with pytest.raises(TargetError, match="out of range"):
        explain(model, x, target=Contrast(1, 99))
    with pytest.raises(TargetError, match="10 per image"):
        explain(model, x, target=Similarity(torch.ones(7)))
    with pytest.raises(TargetError, match="2 targets for 3 images"):
        grad_cam_batch(model, torch.stack([x] * 3), targets=[ClassScore(1), ClassScore(2)])


def test_malformed_targets_are_refused_when_made():
    with pytest.raises(TargetError, match="two different classes"):
        Contrast(3, 3)
    with pytest.raises(TargetError, match="selects no pixel"):
        Region(1, np.zeros((4, 4), bool))
    with pytest.raises(TargetError, match="x2 > x1"):
        Box((5, 5, 1, 1), 1)
    with pytest.raises(TargetError, match="non-zero, finite"):
        Similarity(torch.zeros(4))
    with pytest.raises(TargetError, match="int class index"):
        ClassScore(1.5)


def test_targets_keep_copies_of_the_callers_mask_and_vector():
    mask, reference = np.zeros((4, 4), bool), torch.ones(3)
    mask[1, 1] = True
    region, similarity = Region(1, mask), Similarity(reference)
    mask[2, 2] = True
    reference.mul_(-1)
    assert int(region.mask.sum()) == 1 and float(similarity.reference.sum()) == 3.0

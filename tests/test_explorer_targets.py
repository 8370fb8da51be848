"""The Explorer's targets: the kinds that fit the model (and why the others do not), and each
kind's map equal to the headless explain() of the same Target — on a classifier, a segmenter
trained in the test, and torchvision's detector with random weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchvision

from xai_widgets import Explorer
from xai_widgets.engine import ExplainError, explain
from xai_widgets.engine.target_picking import embedding_of, output_kind, region_at
from xai_widgets.engine.targets import Box, ClassScore, Contrast, Region, Similarity

from .models import random_image, square_segmenter, tiny_cnn


def shown(explorer: Explorer) -> torch.Tensor:
    return torch.from_numpy(np.array(explorer.attribution()))


def same_map(explorer: Explorer, expected: torch.Tensor) -> None:
    torch.testing.assert_close(shown(explorer), expected.detach().cpu().float(), rtol=1e-4, atol=1e-6)


def available(explorer: Explorer) -> dict[str, str]:
    """kind → '' when offered, else the reason given."""
    return {entry["kind"]: ("" if entry["available"] else entry["reason"]) for entry in explorer.target_kinds}


@pytest.fixture
def classifier():
    return tiny_cnn(), random_image(1)


def test_a_classifier_offers_class_targets_and_says_why_not_regions_or_boxes(classifier):
    model, image = classifier
    explorer = Explorer(model, image)
    kinds = available(explorer)
    assert explorer.output_kind == "classes" and explorer.boxes == []
    assert kinds["class"] == kinds["probability"] == kinds["contrast"] == ""
    assert "N×K×H×W" in kinds["region"] and "detector" in kinds["box"] and "reference=" in kinds["similarity"]
    assert "reference=" not in available(Explorer(model, image, reference=random_image(2)))["similarity"]


@pytest.mark.parametrize("method", ["gradcam", "saliency"])
def test_probability_and_contrast_maps_equal_the_headless_targets(classifier, method):
    model, image = classifier
    explorer = Explorer(model, image, method=method)
    first, second = (entry["index"] for entry in explorer.top_classes[:2])
    same_map(explorer, explain(model, image, method=method, target=first))
    explorer.target_spec = {"kind": "probability"}
    same_map(explorer, explain(model, image, method=method, target=ClassScore(first, probability=True)))
    explorer.target_spec = {"kind": "contrast", "other": second}
    same_map(explorer, explain(model, image, method=method, target=Contrast(first, second)))
    assert explorer.result["explains"] == f"class {first} rather than class {second}"
    explorer.target_spec = {}
    same_map(explorer, explain(model, image, method=method, target=first))
    assert explorer.result["explains"] == f"class {first}"


def test_similarity_to_a_reference_image_or_vector(classifier):
    model, image = classifier
    reference = random_image(5)
    expected = explain(model, image, method="saliency", target=Similarity(embedding_of(model, reference)))
    explorer = Explorer(model, image, method="saliency", reference=reference)
    explorer.target_spec = {"kind": "similarity"}
    same_map(explorer, expected)
    vector = embedding_of(model, reference).numpy()
    kept = vector.copy()
    by_vector = Explorer(model, image, method="saliency", reference=vector, target=Similarity(vector))
    assert by_vector.target_spec == {"kind": "similarity"}
    same_map(by_vector, expected)
    np.testing.assert_array_equal(vector, kept)  # the caller's vector is not written


def test_target_objects_open_the_explorer_on_that_target(classifier):
    model, image = classifier
    explorer = Explorer(model, image, target=Contrast(3, 7))
    assert explorer.target == 3 and explorer.target_spec == {"kind": "contrast", "other": 7}
    same_map(explorer, explain(model, image, target=Contrast(3, 7)))
    assert Explorer(model, image, target=ClassScore(2, probability=True)).target_spec == {"kind": "probability"}
    with pytest.raises(ExplainError, match="reference="):
        Explorer(model, image, target=Similarity(torch.ones(10)))
    with pytest.raises(ExplainError, match="click or a drag"):
        Explorer(model, image, target=Region(1, torch.ones(4, 4)))


def test_a_target_that_does_not_fit_says_why_and_the_widget_stays_usable(classifier):
    model, image = classifier
    explorer = Explorer(model, image)
    explorer.target_spec = {"kind": "region", "x": 3, "y": 3}
    assert "segmentation region target does not fit" in explorer.result["error"]
    assert "N×K×H×W" in explorer.result["error"]
    explorer.target_spec = {"kind": "contrast", "other": explorer.target}
    assert "two different classes" in explorer.result["error"]
    explorer.target_spec = {"kind": "similarity"}
    assert "reference=" in explorer.result["error"]
    explorer.target_spec = {"kind": "weird"}
    assert "Unknown target kind 'weird'" in explorer.result["error"]
    explorer.target_spec = {}
    assert explorer.result["error"] is None
    same_map(explorer, explain(model, image, target=explorer.target))


def test_a_contrast_follows_an_image_change_to_a_different_class_b(classifier):
    model, _ = classifier
    explorer = Explorer(model, [random_image(1), random_image(2)], target=Contrast(4, 4 + 1))
    explorer.image_index = 1
    spec = explorer.target_spec
    assert spec["kind"] == "contrast" and spec["other"] != explorer.target
    same_map(explorer, explain(model, random_image(2), target=Contrast(explorer.target, spec["other"])))


# -- a segmenter trained here: regions ------------------------------------------------------


@pytest.fixture(scope="module")
def segmenter():
    return square_segmenter()


def test_a_segmenter_opens_on_its_largest_region_and_lists_classes_by_share(segmenter):
    model, image, truth = segmenter
    explorer = Explorer(model, image, labels=["background", "red", "blue"], method="saliency")
    assert explorer.output_kind == "segmentation" and explorer.target_spec == {"kind": "region"}
    shares = {entry["label"]: entry["prob"] for entry in explorer.top_classes}
    for index, name in enumerate(["background", "red", "blue"]):
        assert shares[name] == pytest.approx(float((truth == index).float().mean()), abs=0.03)
    assert explorer.target in (1, 2)  # the largest class that is not the background
    predicted = model(image[None]).argmax(1)[0]
    same_map(
        explorer, explain(model, image, method="saliency", target=Region(explorer.target, predicted == explorer.target))
    )
    kinds = available(explorer)
    assert kinds["region"] == "" and "click or drag" in kinds["class"] and "detector" in kinds["box"]


def test_a_click_or_drag_on_the_photo_explains_the_region_under_it(segmenter):
    model, image, truth = segmenter
    explorer = Explorer(model, image, method="saliency")
    predicted = model(image[None]).argmax(1)[0]
    rows, cols = torch.nonzero(truth == 2, as_tuple=True)
    x, y = int(cols[0]) + 1, int(rows[0]) + 1  # inside the blue square (photo = input size here)
    explorer.target = 1  # the red square chosen in the list, then a click on the blue one
    explorer.target_spec = {"kind": "region", "x": x, "y": y}
    assert explorer.result["explains"].startswith("class 2 region")
    assert explorer.target == 2 and explorer.result["key"]["target"] == 2  # the list follows the click
    same_map(explorer, explain(model, image, method="saliency", target=region_at(predicted, x, y)))
    # the map lies on the clicked square (give or take the 5×5 receptive field), not on the red one
    near = torch.nn.functional.max_pool2d((truth == 2)[None, None].float(), 5, stride=1, padding=2)[0, 0].bool()
    assert float(shown(explorer).abs()[near].sum() / shown(explorer).abs().sum()) > 0.95
    # a drag from outside the square into it: the class at the rectangle's centre, inside the rectangle
    explorer.target_spec = {"kind": "region", "x": x - 3, "y": y - 3, "x2": x + 1, "y2": y + 1}
    assert explorer.result["explains"] == "class 2 region (9 px)"
    dragged = region_at(predicted, x - 1, y - 1, (x - 3, y - 3, x + 1, y + 1))
    same_map(explorer, explain(model, image, method="saliency", target=dragged))


def test_a_torchvision_segmentation_model_with_random_weights():
    model = torchvision.models.segmentation.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None).eval()
    image = random_image(3, size=64)
    explorer = Explorer(model, image, method="gradcam")
    assert explorer.output_kind == "segmentation" and explorer.result["error"] is None
    kind = output_kind(model, image)
    expected = explain(
        model,
        image,
        method="gradcam",
        layer=explorer.layer,
        target=Region(explorer.target, kind.predicted == explorer.target),
    )
    same_map(explorer, expected)


# -- torchvision's detector with random weights: boxes -----------------------------------


@pytest.fixture(scope="module")
def detector():
    torch.manual_seed(0)
    model = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None, box_score_thresh=0.0
    ).eval()
    return model, random_image(size=128)


def test_a_detector_lists_its_boxes_and_explains_the_chosen_one(detector):
    model, image = detector
    explorer = Explorer(model, image, method="saliency", labels={1: "person", 2: "bicycle"})
    found = output_kind(model, image).detections
    assert explorer.output_kind == "detection" and explorer.target_spec == {"kind": "box"}
    assert len(explorer.boxes) == len(found) > 1 and explorer.target == 0
    assert [box["box"] for box in explorer.boxes[:3]] == [[round(v, 1) for v in d["box"]] for d in found[:3]]
    assert explorer.top_classes[0]["prob"] == pytest.approx(found[0]["score"])
    assert explorer.top_classes[0]["label"].endswith("(box 1)")
    same_map(explorer, explain(model, image, method="saliency", target=Box(found[0]["box"], found[0]["label"])))
    explorer.target = 1
    same_map(explorer, explain(model, image, method="saliency", target=Box(found[1]["box"], found[1]["label"])))
    kinds = available(explorer)
    assert kinds["box"] == "" and "click a box" in kinds["class"]
    explorer.close()


def test_a_detector_that_finds_no_box_says_what_to_change():
    torch.manual_seed(0)  # random weights and the default score threshold: no box on this image
    model = torchvision.models.detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        weights=None, weights_backbone=None
    ).eval()
    explorer = Explorer(model, random_image(size=128))
    assert "found no box" in explorer.result["error"] and "box_score_thresh" in explorer.result["error"]
    assert explorer.boxes == [] and explorer.top_classes == []

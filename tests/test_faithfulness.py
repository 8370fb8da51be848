"""Deletion and insertion curves, checked against a step-by-step loop and on a model whose right
answer is known by construction (it reads only the image's top-left quadrant)."""

import pytest
import torch
from torch import nn

from tests.models import TopLeftReader, bright_image, quadrant_maps, random_image, tiny_cnn
from xai_widgets import Session
from xai_widgets.engine import ExplainError
from xai_widgets.engine.faithfulness import deletion_curve, insertion_curve, random_map


def test_the_map_on_what_the_model_reads_wins_both_curves():
    model, image = TopLeftReader(), bright_image()
    deletion = {name: deletion_curve(model, image, m, 1, baseline="zero").auc for name, m in quadrant_maps().items()}
    insertion = {name: insertion_curve(model, image, m, 1, baseline="zero").auc for name, m in quadrant_maps().items()}
    assert deletion["on the quadrant"] < deletion["random"] < deletion["elsewhere"]
    assert insertion["on the quadrant"] > insertion["random"] > insertion["elsewhere"]


def test_the_batched_curve_equals_a_step_by_step_loop():
    model, image = tiny_cnn(), random_image(2)
    session = Session(model, image)
    target = session.top_k(1)[0][0]
    cam = session.attribution("gradcam", target=target)
    curve = deletion_curve(model, image, cam, target, steps=10, baseline="mean", batch_size=3)
    up = torch.nn.functional.interpolate(cam[None, None], size=(32, 32), mode="bilinear", align_corners=False)
    order = torch.argsort(up.flatten(), descending=True, stable=True)
    mean = image.mean(dim=(-2, -1), keepdim=True).expand_as(image)
    want = []
    for k in range(11):
        mask = torch.zeros(32 * 32)
        mask[order[: round(k / 10 * 1024)]] = 1
        mask = mask.reshape(1, 32, 32)
        with torch.no_grad():
            want.append(float(model((image * (1 - mask) + mean * mask)[None]).softmax(1)[0, target]))
    torch.testing.assert_close(curve.scores, torch.tensor(want), rtol=1e-5, atol=1e-6)
    assert curve.auc == pytest.approx(float(torch.trapezoid(torch.tensor(want), torch.linspace(0, 1, 11))))
    assert curve.fractions.tolist() == pytest.approx([k / 10 for k in range(11)])


def test_the_ends_of_the_curves_are_the_image_and_the_baseline():
    model, image = TopLeftReader(), bright_image()
    full = float(model(image[None]).softmax(1)[0, 1])
    empty = float(model(torch.zeros(1, 3, 32, 32)).softmax(1)[0, 1])
    deletion = deletion_curve(model, image, quadrant_maps()["random"], 1, baseline="zero")
    insertion = insertion_curve(model, image, quadrant_maps()["random"], 1, baseline="zero")
    assert float(deletion.scores[0]) == pytest.approx(full) and float(deletion.scores[-1]) == pytest.approx(empty)
    assert float(insertion.scores[0]) == pytest.approx(empty) and float(insertion.scores[-1]) == pytest.approx(full)


def test_the_blur_baseline_keeps_a_uniform_image_and_the_callers_tensor():
    model, image = TopLeftReader(), torch.full((3, 32, 32), 0.7)
    before = image.clone()
    curve = deletion_curve(model, image, quadrant_maps()["on the quadrant"], 1, baseline="blur")
    assert torch.allclose(curve.scores, curve.scores[0].expand_as(curve.scores), atol=1e-5)
    assert torch.equal(image, before)


def test_bad_arguments_are_named():
    model, image = TopLeftReader(), bright_image()
    with pytest.raises(ExplainError, match="baseline must be one of blur, mean, zero"):
        deletion_curve(model, image, torch.ones(4, 4), 1, baseline="noise")
    with pytest.raises(ExplainError, match="steps must be a whole number of at least 1"):
        insertion_curve(model, image, torch.ones(4, 4), 1, steps=0)
    with pytest.raises(ExplainError, match=r"must be a 2-D map \(h×w\); got shape \(1, 4, 4\)"):
        deletion_curve(model, image, torch.ones(1, 4, 4), 1)


def trained_quadrant_cnn() -> nn.Module:
    """A small CNN trained here: class 1 = a bright square somewhere in the top-left quadrant."""
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 2),
    )
    images = torch.rand(256, 3, 32, 32) * 0.3
    labels = torch.randint(0, 2, (256,))
    for index in torch.nonzero(labels).flatten().tolist():
        row, col = torch.randint(0, 10, (2,)).tolist()
        images[index, :, row : row + 6, col : col + 6] = 1.0
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(60):
        optimiser.zero_grad()
        nn.functional.cross_entropy(model(images), labels).backward()
        optimiser.step()
    return model.eval()


def square_image() -> torch.Tensor:
    test = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(5)) * 0.3
    test[:, 4:10, 3:9] = 1.0
    return test


def test_faithfulness_scores_grad_cam_of_a_trained_quadrant_cnn_above_a_random_map():
    from xai_widgets.engine.faithfulness import faithfulness

    model = trained_quadrant_cnn()
    test = square_image()
    assert int(model(test[None]).argmax()) == 1
    curves = faithfulness(model, test, method="gradcam", layer="2", target=1, baseline="zero")
    assert curves["deletion"].auc < curves["random_deletion"].auc
    assert curves["insertion"].auc > curves["random_insertion"].auc


def test_the_explorer_checks_the_map_on_screen_and_forgets_the_check_when_the_map_changes():
    from xai_widgets import Explorer
    from xai_widgets.engine.faithfulness import map_curves

    model, image = tiny_cnn(), random_image(4)
    widget = Explorer(model, image, target=2)
    widget.check_request += 1  # the "Check this map" button
    widget.wait()
    check = widget.faithfulness
    assert check["key"] == widget._key() and "error" not in check and check["steps"] == 20
    want = map_curves(model, image, torch.from_numpy(widget.attribution().copy()), 2)
    for name, curve in want.items():
        assert check["curves"][name] == pytest.approx(curve.scores.tolist(), abs=1e-5)
        assert check["auc"][name] == pytest.approx(curve.auc, abs=1e-5)
    from xai_widgets.engine import random_logit, road_curves, sensitivity

    attribution = torch.from_numpy(widget.attribution().copy())
    numbers = check["metrics"]
    road = road_curves(model, image, attribution, 2)
    assert numbers["road_most"] == pytest.approx(road["most"].mean, abs=1e-5)
    assert numbers["road_least"] == pytest.approx(road["least"].mean, abs=1e-5)
    assert numbers["random_road_most"] == pytest.approx(
        road_curves(model, image, random_map(attribution), 2)["most"].mean, abs=1e-5
    )
    moved = sensitivity(model, image, layer=widget.layer, target=2, samples=8)
    assert numbers["max_sensitivity"] == pytest.approx(moved.max, abs=1e-5)
    other = random_logit(model, image, layer=widget.layer, target=2)
    assert numbers["other_class"] == other.other and numbers["random_logit_ssim"] == pytest.approx(other.ssim, abs=1e-5)
    widget.target = 5
    assert widget.faithfulness == {}
    widget.close()


def test_a_check_waits_for_the_map():
    from xai_widgets import Explorer

    widget = Explorer(tiny_cnn(), random_image(4), confirm_above=1e-9, method="scorecam")
    assert widget.pending_cost  # the map waits for a confirmation: nothing to check yet
    widget.check_map()
    assert widget.faithfulness["error"] == "Wait for the map to be drawn, then check it."
    widget.close()


def test_relevance_mass_and_the_pointing_game_on_a_known_map():
    from xai_widgets.engine.regions import pointing_hit, region_mask, relevance_mass

    attribution = torch.zeros(4, 4)
    attribution[0, 0] = 3.0
    attribution[3, 3] = 1.0
    box = region_mask("box", (0, 0, 16, 16), (32, 32))  # the top-left quadrant of a 32×32 input
    assert pointing_hit(attribution, box)
    assert not pointing_hit(attribution, ~box)
    up = torch.nn.functional.interpolate(attribution[None, None], size=(32, 32), mode="bilinear", align_corners=False)[
        0, 0
    ]
    assert relevance_mass(attribution, box) == pytest.approx(float(up[:16, :16].sum() / up.sum()))
    assert relevance_mass(attribution, box) + relevance_mass(attribution, ~box) == pytest.approx(1.0)
    assert relevance_mass(torch.zeros(4, 4), box) != relevance_mass(torch.zeros(4, 4), box)  # NaN: no mass


def test_the_audit_plays_the_pointing_game_with_its_boxes():
    from xai_widgets import audit

    model = tiny_cnn()
    result = audit(model, [random_image(s) for s in range(4)], boxes=[(0, 0, 32, 32), (0, 0, 1, 1)] * 2, progress=False)
    hits = [row["pointing_hit"] for row in result.rows()]
    assert hits[0] and hits[2]  # a box over the whole image always holds the peak
    assert result.outside[0] == pytest.approx(0.0)


def test_confidence_change_keeps_what_the_quadrant_map_points_at():
    from xai_widgets.engine.faithfulness import confidence_change

    model, image = TopLeftReader(), bright_image()
    on = confidence_change(model, image, quadrant_maps()["on the quadrant"], 1)
    off = confidence_change(model, image, quadrant_maps()["elsewhere"], 1)
    assert on.before == pytest.approx(float(model(image[None]).softmax(1)[0, 1]))
    assert on.drop < 0.1 and not on.increased  # the quadrant is kept (its upsampled edge is soft)
    assert off.drop > 0.5 and off.after < on.after

"""Reports: overlay PNGs, raw maps, the CSV, one self-contained HTML page, a contact sheet and
TensorBoard, each checked against the audit it came from."""

import csv
import re

import numpy as np
import pytest
import torch
from PIL import Image

from tests.models import random_image, tiny_cnn
from xai_widgets import audit, export
from xai_widgets.reports import overlay_picture
from xai_widgets.reports.overlay import colormap_table

IMAGES = [random_image(seed) for seed in range(12)]
TRUTH = [i % 10 for i in range(12)]


@pytest.fixture(scope="module")
def result():
    return audit(tiny_cnn(), IMAGES, true_labels=TRUTH, labels=[f"digit {i}" for i in range(10)], progress=False)


def test_every_file_matches_the_audit(result, tmp_path):
    done = export(result, tmp_path, maps="npy")
    assert len(done.overlays) == 12 and len(done.maps) == 12
    with open(done.csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["predicted"]) for row in rows] == result.predicted.tolist()
    assert [row["true_label"] for row in rows] == [f"digit {t}" for t in TRUTH]
    assert [float(row["confidence"]) for row in rows] == pytest.approx(result.confidence.tolist(), abs=1e-6)
    assert {row["method"] for row in rows} == {"gradcam"} and {row["layer"] for row in rows} == {"features"}
    for index, row in enumerate(rows):
        np.testing.assert_array_equal(np.load(tmp_path / row["map"]), result.maps[index].numpy())
        picture = np.asarray(Image.open(tmp_path / row["overlay"]))
        np.testing.assert_array_equal(picture, overlay_picture(result.picture(index), result.maps[index]))
    sheet = Image.open(done.contact_sheet)
    assert sheet.size[0] > 300 and sheet.size[1] > 300


def test_npz_maps_carry_the_prediction(result, tmp_path):
    done = export(result, tmp_path, maps="npz", overlays=False, html=False, sheet=False)
    saved = np.load(done.maps[3])
    np.testing.assert_array_equal(saved["map"], result.maps[3].numpy())
    assert int(saved["predicted"]) == int(result.predicted[3]) and int(saved["target"]) == int(result.targets[3])


def test_the_html_page_is_self_contained_with_every_row_and_image(result, tmp_path):
    page = export(result, tmp_path, overlays=False, maps=None).html.read_text()
    assert page.count('src="data:image/png;base64,') == 12
    assert len(re.findall(r"<tr( class=\"wrong\")? data-index=", page)) == 12
    assert page.count('<tr class="wrong"') == len(result.misclassified())
    assert "http://" not in page and "https://" not in page and "<link" not in page  # nothing to fetch
    accuracy = 1 - len(result.misclassified()) / 12
    assert f"accuracy {accuracy:.3f}" in page


def test_names_are_escaped_in_the_page(tmp_path):
    named = audit(tiny_cnn(), {"<b>cat</b>": IMAGES[0]}, progress=False)
    page = export(named, tmp_path, overlays=False, maps=None, sheet=False).html.read_text()
    assert "<b>cat</b>" not in page and "&lt;b&gt;cat&lt;/b&gt;" in page


def test_tensorboard_gets_images_and_scalars(result, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    export(result, tmp_path / "out", overlays=False, maps=None, html=False, sheet=False, tensorboard=tmp_path / "tb")
    events = EventAccumulator(str(tmp_path / "tb"), size_guidance={"images": 0})
    events.Reload()
    assert len(events.Tags()["images"]) == 12
    accuracy = events.Scalars("audit/accuracy")[0].value
    assert accuracy == pytest.approx(1 - len(result.misclassified()) / 12)


def test_overlay_blends_as_the_widgets_do():
    picture = np.full((4, 4, 3), 100, np.uint8)
    ramp = torch.arange(16.0).reshape(4, 4)
    assert np.array_equal(overlay_picture(picture, ramp, opacity=0.0), picture)
    solid = overlay_picture(picture, ramp, opacity=1.0)
    table = colormap_table("turbo")
    assert np.array_equal(solid[0, 0], table[0]) and np.array_equal(solid[3, 3], table[255])
    zero = overlay_picture(picture, torch.zeros(4, 4), opacity=1.0, signed=True)
    assert np.array_equal(zero, picture)  # a signed map's zero leaves the photo

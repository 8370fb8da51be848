"""The Gallery: maps of a whole data set streamed in, filtered, sorted and paged in the kernel,
stoppable, opening a clicked image in an Explorer that shares the model."""

import gc
import threading
import weakref

import numpy as np
import pytest
import torch
from torch import nn

from tests.models import random_image, tiny_cnn
from xai_widgets import Gallery, audit, export
from xai_widgets.widgets.serialize import decode_map

IMAGES = [random_image(seed) for seed in range(30)]
TRUTH = [seed % 10 for seed in range(30)]


@pytest.fixture
def gallery():
    widget = Gallery(
        tiny_cnn(), IMAGES, true_labels=TRUTH, labels=[f"c{i}" for i in range(10)], page_size=8, batch_size=7
    )
    widget.wait()
    yield widget
    widget.close()


def test_tiles_carry_the_audits_maps_and_predictions(gallery):
    plain = audit(tiny_cnn(), IMAGES, true_labels=TRUTH, progress=False)
    assert gallery.pages == 4 and len(gallery.tiles) == 8 and not gallery.running
    for tile in gallery.tiles:
        index = tile["index"]
        np.testing.assert_allclose(decode_map(tile), plain.maps[index].numpy(), rtol=1e-5, atol=1e-7)
        assert tile["predicted"] == int(plain.predicted[index])
        assert tile["correct"] == (tile["predicted"] == TRUTH[index])
        assert tile["photo"][:4] == b"\x89PNG"
    wrong = len(plain.misclassified())
    assert gallery.summary == f"30 of 30 images explained · {wrong} misclassified (accuracy {1 - wrong / 30:.3f})"


def test_filters_sorts_and_pages(gallery):
    plain = audit(tiny_cnn(), IMAGES, true_labels=TRUTH, progress=False)
    gallery.filter = "misclassified"
    shown = gallery.visible()
    assert shown == plain.misclassified() and gallery.page == 0
    gallery.sort = "-confidence"
    confidences = [float(plain.confidence[i]) for i in gallery.visible()]
    assert confidences == sorted(confidences, reverse=True)
    assert [t["index"] for t in gallery.tiles] == gallery.visible()[:8]
    gallery.page = 1
    assert [t["index"] for t in gallery.tiles] == gallery.visible()[8:16]
    gallery.page = 99
    assert gallery.page == gallery.pages - 1  # clamped to the last page
    gallery.filter = "class:3"
    assert all(int(plain.predicted[i]) == 3 or TRUTH[i] == 3 for i in gallery.visible())
    assert {TRUTH[i] for i in gallery.visible()} >= {3}
    gallery.filter, gallery.low_confidence, gallery.sort = "low_confidence", 0.2, "index"
    assert gallery.visible() == [i for i in range(30) if float(plain.confidence[i]) < 0.2]
    assert {"value": "misclassified", "label": "misclassified"} in gallery.filters


def test_a_click_opens_the_image_in_an_explorer_sharing_the_model(gallery):
    gallery.selected = 13
    explorer = gallery.explorer
    assert explorer.model is gallery.model and explorer.image_index == 13
    assert explorer.target == int(gallery.result().targets[13]) and explorer.layer == "features"
    np.testing.assert_allclose(
        explorer.attribution(),
        decode_map(next(t for t in gallery.tiles if True) if False else gallery._tile(13)),
        rtol=1e-4,
        atol=1e-6,
    )


def test_the_result_exports_like_an_audit(gallery, tmp_path):
    done = export(gallery.result(), tmp_path, overlays=False, maps=None, sheet=False)
    assert done.html.read_text().count("data:image/png;base64,") == 30


class Gate(nn.Module):
    """tiny_cnn whose forwards after the first few wait for a gate to open."""

    def __init__(self, free: int) -> None:
        super().__init__()
        self.net, self.free, self.calls, self.gate = tiny_cnn(), free, 0, threading.Event()

    def forward(self, x):
        self.calls += 1
        if self.calls > self.free:
            self.gate.wait(10)
        return self.net(x)


def test_stop_ends_the_run_after_the_current_batch_and_keeps_what_was_done():
    model = Gate(free=4)  # the probe, the call count and two batches run freely
    ten_done = threading.Event()
    widget = Gallery(model, IMAGES, batch_size=5)
    widget.observe(lambda change: change["new"].get("done", 0) >= 10 and ten_done.set(), names="progress")
    if widget.progress.get("done", 0) >= 10:  # reached before the observer was in place
        ten_done.set()
    assert ten_done.wait(120), widget.progress  # the two free batches are in; the third waits on the gate
    widget.stop = 1  # the Stop button
    model.gate.set()
    widget.wait()
    assert not widget.running and widget.progress == {}
    assert 10 <= len(widget.visible()) < 30
    assert all(tile["index"] < len(widget.visible()) for tile in widget.tiles)
    widget.run()  # and it can run again, to the end
    widget.wait()
    assert len(widget.visible()) == 30
    widget.close()


def test_an_error_is_shown_and_the_widget_stays_usable():
    widget = Gallery(tiny_cnn(), IMAGES[:4], layer="features.9")
    widget.wait()
    assert "no layer named 'features.9'" in widget.error and not widget.running and widget.tiles == []
    widget.close()


def test_a_dataset_with_labels_and_the_outside_sort():
    dataset = torch.utils.data.TensorDataset(torch.stack(IMAGES[:10]), torch.tensor(TRUTH[:10]))
    widget = Gallery(tiny_cnn(), dataset, boxes=[(0, 0, 16, 16)] * 10)
    widget.wait()
    assert widget.source.true_labels == TRUTH[:10] and "-outside" in widget.sorts
    widget.sort = "-outside"
    outside = [tile["outside"] for tile in widget.tiles]
    assert outside == sorted(outside, reverse=True) and 0 <= min(outside) and max(outside) <= 1
    widget.close()


def test_a_closed_gallery_lets_its_model_and_images_go():
    model, images = tiny_cnn(), [torch.rand(3, 32, 32) for _ in range(6)]
    widget = Gallery(model, images)
    widget.wait()
    widget.selected = 2
    refs = [weakref.ref(model), weakref.ref(images[0]), weakref.ref(widget), weakref.ref(widget.explorer)]
    widget.close()
    del widget, model, images
    gc.collect()
    assert [ref() is None for ref in refs] == [True] * 4


def test_another_method_from_the_select_computes_every_map_again(gallery):
    names = [m["name"] for m in gallery.methods]
    assert "gradcam" in names and "saliency" in names and "scorecam" not in names and "rollout" not in names
    gallery.method = "saliency"
    gallery.wait()
    plain = audit(tiny_cnn(), IMAGES, method="saliency", progress=False)
    assert gallery.title == "Saliency of 30 images" and not gallery.running
    for tile in gallery.tiles:
        np.testing.assert_allclose(decode_map(tile), plain.maps[tile["index"]].numpy(), rtol=1e-5, atol=1e-7)
    assert gallery.result().method == "saliency" and gallery.result().layer is None


def test_a_deletion_column_is_measured_shown_and_sorted_like_the_audit(gallery):
    model = tiny_cnn()
    widget = Gallery(model, IMAGES[:9], deletion_steps=5, batch_size=4)
    widget.wait()
    assert {"deletion", "-deletion"} <= set(widget.sorts) and "deletion" not in gallery.sorts
    want = audit(model, IMAGES[:9], deletion_steps=5, progress=False).deletion.tolist()
    widget.sort = "deletion"
    tiles = widget.tiles
    assert [tile["index"] for tile in tiles] == sorted(range(9), key=lambda i: want[i])
    assert [tile["deletion"] for tile in tiles] == pytest.approx(sorted(want), abs=1e-5)
    assert tiles[0]["title"].endswith(f"deletion AUC {tiles[0]['deletion']:.2f}")
    assert widget.result().rows()[0]["deletion_auc"] == pytest.approx(want[0], abs=1e-5)
    widget.close()

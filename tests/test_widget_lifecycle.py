"""Closed widgets let go: their model, images and engine sessions can be collected, they ignore
control changes without starting threads, and re-creating a widget many times does not grow
the process."""

import ctypes
import gc
import platform
import threading
import weakref

import numpy as np
import torch

from tests.models import random_image, tiny_cnn
from xai_widgets import Compare, Explorer


def _rss_mb() -> float:
    """Resident memory after a collection, with freed heap handed back to the system first
    (glibc keeps freed blocks of finished threads' arenas, which is noise, not a leak)."""
    gc.collect()
    if platform.system() == "Linux":
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_a_closed_explorer_and_its_model_images_and_sessions_are_collected():
    model, image = tiny_cnn(), torch.rand(3, 32, 32)
    widget = Explorer(model, [image, random_image(1)])
    widget.method = "occlusion"  # a slow method: the worker thread ran
    widget.wait()
    refs = [weakref.ref(obj) for obj in (widget, model, image, widget.session())]
    widget.close()
    del widget, model, image
    gc.collect()
    assert [ref() is None for ref in refs] == [True, True, True, True]


def test_a_closed_explorer_lets_its_target_sessions_and_reference_go():
    model, image, reference = tiny_cnn(), torch.rand(3, 32, 32), torch.rand(3, 32, 32)
    widget = Explorer(model, image, reference=reference)
    widget.target_spec = {"kind": "similarity"}
    similarity = widget.session()
    widget.target_spec = {"kind": "contrast", "other": widget.top_classes[1]["index"]}
    refs = [weakref.ref(obj) for obj in (widget, model, image, reference, similarity, widget.session())]
    assert widget.result["error"] is None and refs[4]() is not refs[5]()
    widget.close()
    del widget, model, image, reference, similarity
    gc.collect()
    assert [ref() is None for ref in refs] == [True] * 6


def test_a_closed_compare_and_its_linked_explorer_are_collected():
    model = tiny_cnn()
    grid = Compare(model, random_image(0), methods=["gradcam"])
    grid.selected = 0  # makes the linked Explorer
    refs = [weakref.ref(obj) for obj in (grid, grid.explorer, model, grid.session)]
    grid.explorer.close()
    grid.close()
    del grid, model
    gc.collect()
    assert all(ref() is None for ref in refs)


def test_a_closed_explorer_ignores_changes_and_starts_no_thread():
    widget = Explorer(tiny_cnn(), [random_image(0), random_image(1)])
    widget.close()
    threads = threading.active_count()
    result = dict(widget.result)
    widget.method = "occlusion"
    widget.image_index = 1
    widget.layer = "features.0"
    assert threading.active_count() == threads and widget.result == result
    assert not widget._sessions.get(1) and not widget._sessions.get(0)


def test_fifty_create_close_cycles_on_large_images_do_not_grow_memory():
    model = tiny_cnn()
    photo = (np.random.default_rng(0).random((1024, 1024, 3)) * 255).astype(np.uint8)  # 3 MB a copy

    widgets = []

    def cycle() -> None:
        widget = Explorer(model, photo)
        widget.method = "saliency"
        widget.close()
        widgets.append(weakref.ref(widget))

    for _ in range(5):  # warm-up: allocator pools, lazily imported code
        cycle()
    gc.collect()
    before = _rss_mb()
    for _ in range(50):
        cycle()
    gc.collect()
    growth = _rss_mb() - before
    assert all(ref() is None for ref in widgets)
    assert growth <= 20, f"RSS grew {growth:.1f} MB over 50 create/close cycles"

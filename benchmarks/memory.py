"""Peak memory, each scenario in a fresh process: ``python -m benchmarks.memory explorer|batch``."""

from __future__ import annotations

import json
import random
import subprocess
import sys

import psutil
import torch

from xai_widgets import Explorer, demo
from xai_widgets.engine import grad_cam_batch

from .models import photo_batch


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it does not carry the parent's peak over exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def current_rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def explorer_scenario(changes: int = 1000, warmup: int = 200) -> dict:
    """An Explorer on the demo, ``warmup`` random control changes, then ``changes`` more.

    The warm-up fills the bounded caches (two image sessions, three classes of gradients
    each); growth after it is what a leak would show.
    """
    model, images, labels, transform = demo.load()
    widget = Explorer(model, images, labels=labels, transform=transform)
    fast = ["gradcam", "gradcam++", "xgradcam", "layercam", "hirescam", "eigencam", "gradxinput"]
    layers = [layer["name"] for layer in widget.layers]
    rng = random.Random(0)

    def change() -> None:
        control = rng.choice(["layer", "target", "method", "image"])
        if control == "layer":
            widget.layer = rng.choice(layers)
        elif control == "target":
            widget.target = rng.choice(widget.top_classes)["index"]
        elif control == "method":
            widget.method = rng.choice(fast)
        else:
            widget.image_index = rng.randrange(len(widget.image_names))

    created = current_rss_mb()
    for _ in range(warmup):
        change()
    warm = current_rss_mb()
    for _ in range(changes):
        change()
    widget.wait()
    after = current_rss_mb()
    return {
        "peak_rss_mb": peak_rss_mb(),
        "after_creation_mb": created,
        "cache_fill_mb": warm - created,
        "growth_after_changes_mb": after - warm,
        "changes": changes,
        "warmup": warmup,
    }


def batch_scenario(count: int = 1000, batch_size: int = 64) -> dict:
    """Grad-CAM of ``count`` photos through EfficientNet-Lite0, ``batch_size`` at a time."""
    model = demo.model()
    images = photo_batch(count)
    maps = grad_cam_batch(model, images, batch_size=batch_size)
    return {
        "peak_rss_mb": peak_rss_mb(),
        "images": count,
        "maps": list(maps.shape),
        "input_mb": images.numel() * 4 / 2**20,
    }


def measure(scenario: str) -> dict:
    """Run one scenario in a fresh Python and return what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", scenario], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    torch.manual_seed(0)
    scenario = {"explorer": explorer_scenario, "batch": batch_scenario}[sys.argv[1]]
    print(json.dumps(scenario()))

"""Peak memory, each scenario in a fresh process: ``python -m benchmarks.memory explorer|batch``."""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys

import psutil
import torch

from xai_widgets import Explorer, demo
from xai_widgets.engine import grad_cam_batch

from .models import photo_batch


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def explorer_scenario(changes: int = 1000) -> dict:
    """An Explorer on the demo, then ``changes`` random control changes through its traits."""
    model, images, labels, transform = demo.load()
    widget = Explorer(model, images, labels=labels, transform=transform)
    fast = ["gradcam", "gradcam++", "xgradcam", "layercam", "hirescam", "eigencam", "gradxinput"]
    layers = [layer["name"] for layer in widget.layers]
    rng = random.Random(0)
    for _ in range(50):  # warm every cache once
        widget.layer = rng.choice(layers)
    before = current_rss_mb()
    for _ in range(changes):
        control = rng.choice(["layer", "target", "method", "image"])
        if control == "layer":
            widget.layer = rng.choice(layers)
        elif control == "target":
            widget.target = rng.choice(widget.top_classes)["index"]
        elif control == "method":
            widget.method = rng.choice(fast)
        else:
            widget.image_index = rng.randrange(len(widget.image_names))
    widget.wait()
    after = current_rss_mb()
    return {"peak_rss_mb": peak_rss_mb(), "growth_after_changes_mb": after - before, "changes": changes}


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

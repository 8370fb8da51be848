"""The audit job at scale: images per second on 1 and 2 processes (torchrun, CPU), the store's bytes
per image, the host-side cost of each image, and from those a paper estimate for 1.28 M images on
8 GPUs. Writes benchmarks/results/audit_scale.json (and prints a Markdown table).

    python -m benchmarks.audit_scale [--images 256] [--gpu-images-per-second 2000]

Two workloads: scikit-learn's 1,797 digits (ten times over) with a small CNN (8×8 images, Grad-CAM at a 4×4
layer), and ResNet-18 (``weights=None``) on JPEG files made from the photos that ship with
scikit-image and scikit-learn (random crops, about 400×300, resized 256 and cropped 224),
Grad-CAM at ``layer4`` (7×7). Both runs go through the ``xai-widgets audit`` command under
``torchrun --nproc_per_node=N``, one thread per process (``OMP_NUM_THREADS=1``: on a
shared 2-core machine two intra-op threads wait on each other, and every small tensor
operation then costs milliseconds); a run's throughput is the store's own figure (from the first
shard to the last, startup excluded), the wall time includes startup.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np
import torch
from torch import nn

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "audit_scale.json"
HERE = "benchmarks.audit_scale"
IMAGENET_TRAIN = 1_281_167
GPUS = 8


# -- factories the command names (benchmarks.audit_scale:...) ----------------------------------


def digits_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 4 * 4, 10),
    ).eval()  # fmt: skip


def all_digits() -> torch.utils.data.Dataset:
    """The 1,797 digits ten times over (17,970 images): runs long enough to time on a noisy machine."""
    from xai_widgets.digits_vit import digits_data

    images, labels = digits_data()
    return torch.utils.data.TensorDataset(images.repeat(10, 1, 1, 1), labels.repeat(10))


def resnet18_model() -> nn.Module:
    from torchvision.models import resnet18

    torch.manual_seed(0)
    return resnet18(weights=None).eval()


def imagenet_transform() -> Any:
    from torchvision import transforms as T

    return T.Compose(
        [T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])]
    )


# -- data ------------------------------------------------------------------------------------


def photo_folder(folder: pathlib.Path, count: int) -> pathlib.Path:
    """``count`` JPEG files (about 400×300) cut at random from the photos bundled with scikit-image
    and scikit-learn, in 4 class folders."""
    import skimage
    import sklearn
    from PIL import Image

    sources = [pathlib.Path(skimage.__file__).parent / "data" / n for n in ("coffee.png", "chelsea.png", "rocket.jpg")]
    sources += [pathlib.Path(sklearn.__file__).parent / "datasets" / "images" / n for n in ("china.jpg", "flower.jpg")]
    photos = [Image.open(p).convert("RGB") for p in sources]
    chance = random.Random(0)
    for index in range(count):
        photo = photos[index % len(photos)]
        width, height = min(400, photo.width), min(300, photo.height)
        x, y = chance.randrange(photo.width - width + 1), chance.randrange(photo.height - height + 1)
        cut = photo.crop((x, y, x + width, y + height))
        if chance.random() < 0.5:
            cut = cut.transpose(Image.FLIP_LEFT_RIGHT)
        target = folder / f"class_{index % 4}"
        target.mkdir(parents=True, exist_ok=True)
        cut.save(target / f"{index:05d}.jpg", quality=90)
    return folder


# -- measurements ------------------------------------------------------------------------------


def run_job(processes: int, model: str, data: str, out: pathlib.Path, extra: list[str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    command += ["-m", "xai_widgets.audit_job.cli", "audit", "--model", model, "--data", data, "--out", str(out)]
    command += ["--no-progress", *extra]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=_env())
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"the audit failed:\n{done.stdout}\n{done.stderr}")
    manifest = json.loads((out / "manifest.json").read_text())
    run = manifest["runs"][-1]
    return {
        "bytes_per_image_by_part": store_breakdown(out, manifest["images"]),
        "processes": processes,
        "images": manifest["images"],
        "images_per_second": run["images_per_second"],
        "seconds_in_run": run["seconds"],
        "wall_seconds_with_startup": round(wall, 2),
        "bytes_per_image": manifest["bytes_per_image"],
        "store_bytes": manifest["bytes"],
    }


def store_breakdown(folder: pathlib.Path, images: int) -> dict[str, float]:
    """Bytes per image of the table, the maps, the thumbnails and the rest (notes, zip headers)."""
    import zipfile

    parts = {"table": 0, "maps": 0, "thumbnails": 0, "other": 0}
    for path in (folder / "shards").iterdir():
        if path.suffix == ".csv":
            parts["table"] += path.stat().st_size
        elif path.suffix == ".npz":
            with zipfile.ZipFile(path) as archive:
                members = archive.infolist()
                for member in members:
                    kind = "maps" if member.filename.startswith("map:") else "thumbnails"
                    kind = kind if not member.filename.startswith("index") else "other"
                    parts[kind] += member.compress_size
            parts["other"] += path.stat().st_size - sum(m.compress_size for m in members)
        else:
            parts["other"] += path.stat().st_size
    return {kind: round(size / images, 1) for kind, size in parts.items()}


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def host_costs(folder: pathlib.Path, shard_size: int = 256) -> dict[str, float]:
    """Per image, in ms, what a rank's CPU does besides the model: read and decode the file,
    prepare it (the transform and the engine's checks) and cut its thumbnail, on the read-ahead
    threads; write its share of a shard, on the writer thread."""
    from xai_widgets.audit_job.reading import _read
    from xai_widgets.audit_job.shards import write_shard
    from xai_widgets.engine.audit import _thumbnail
    from xai_widgets.engine.image_source import image_source
    from xai_widgets.engine.inputs import prepare_image

    source = image_source(str(folder))
    indices = list(range(min(64, len(source))))
    transform = imagenet_transform()

    def per_image(work) -> float:
        times = []
        for index in indices:
            start = time.perf_counter()
            work(index)
            times.append(time.perf_counter() - start)
        return statistics.median(times) * 1000

    pictures = {i: _read(source, i) for i in indices}
    prepared = {i: prepare_image(pictures[i], transform) for i in indices}
    costs = {
        "read_and_decode_ms": per_image(lambda i: _read(source, i)),
        "prepare_ms": per_image(lambda i: prepare_image(pictures[i], transform)),
        "thumbnail_ms": per_image(lambda i: _thumbnail(prepared[i].display, 64)),
    }
    rows = [{"index": i, "file": f"class_0/{i:05d}.jpg", "confidence": 0.5} for i in range(shard_size)]
    thumbs = [_thumbnail(prepared[indices[i % len(indices)]].display, 64) for i in range(shard_size)]
    arrays = {"index": np.arange(shard_size), "map:gradcam@layer4": np.random.rand(shard_size, 7, 7).astype(np.float16)}
    arrays.update({f"thumbnail:{i}": thumbs[i] for i in range(shard_size)})
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        for number in range(3):
            write_shard(pathlib.Path(scratch), number, rows, ["index", "file", "confidence"], arrays, {})
        costs["write_ms"] = (time.perf_counter() - start) / (3 * shard_size) * 1000
    return {key: round(value, 3) for key, value in costs.items()}


def model_floor(batch: int = 32) -> float:
    """ResNet-18 Grad-CAM at layer4 (forward + backward) on this CPU, one thread, ms per image."""
    from xai_widgets.engine import grad_cam_batch

    model = resnet18_model()
    x = torch.randn(batch, 3, 224, 224)
    grad_cam_batch(model, x[:4], "layer4", batch_size=4)
    start = time.perf_counter()
    grad_cam_batch(model, x, "layer4", batch_size=batch)
    return (time.perf_counter() - start) / batch * 1000


def estimate(costs: dict[str, float], bytes_per_image: float, gpu_rate: float, read_threads: int) -> dict[str, Any]:
    """1.28 M images on 8 GPUs, one rank per GPU. A rank's ``read_threads`` read, decode and
    prepare each image and cut its thumbnail, its writer thread writes the shards (all measured
    here), and its main thread feeds the GPU (``gpu_rate``: assumed). The three overlap, so a
    rank goes at the pace of the slowest."""
    reading_ms = (costs["read_and_decode_ms"] + costs["prepare_ms"] + costs["thumbnail_ms"]) / read_threads
    gpu_ms = 1000 / gpu_rate
    stages = {"reading threads": reading_ms, "writer thread": costs["write_ms"], "GPU": gpu_ms}
    per_rank_ms = max(stages.values())
    rate = GPUS * 1000 / per_rank_ms
    threads_for_gpu = math.ceil(reading_ms * read_threads / gpu_ms)
    return {
        "images": IMAGENET_TRAIN,
        "gpus": GPUS,
        "assumed_gpu_images_per_second_per_gpu": gpu_rate,
        "read_threads_per_rank": read_threads,
        "ms_per_image_per_rank": {name: round(value, 3) for name, value in stages.items()},
        "images_per_second": round(rate, 1),
        "minutes": round(IMAGENET_TRAIN / rate / 60, 1),
        "store_gigabytes": round(IMAGENET_TRAIN * bytes_per_image / 1e9, 1),
        "cpu_cores_needed": GPUS * (2 + read_threads),
        "bound": max(stages, key=stages.get),
        "read_threads_to_be_gpu_bound": threads_for_gpu,
        "images_per_second_gpu_bound": round(GPUS * gpu_rate, 1),
        "minutes_gpu_bound": round(IMAGENET_TRAIN / (GPUS * gpu_rate) / 60, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=256, help="ResNet-18 images (default 256)")
    parser.add_argument("--gpu-images-per-second", type=float, default=2000.0, help="assumed, per GPU (default 2000)")
    parser.add_argument("--read-threads", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each, in turns; the median is reported")
    arguments = parser.parse_args()
    report: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": __import__("os").cpu_count(),
            "torch": torch.__version__,
            "device": "cpu",
        },
        "runs": [],
    }
    torch.set_num_threads(1)
    started, load_before = time.perf_counter(), __import__("os").getloadavg()
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = pathlib.Path(scratch_name)
        photos = photo_folder(scratch / "photos", arguments.images)
        workloads = [
            ("digits (17,970 × 8×8), small CNN", f"{HERE}:digits_model", f"{HERE}:all_digits", ["--shard-size", "256"]),
            (f"ResNet-18 ({arguments.images} JPEG → 224×224)", f"{HERE}:resnet18_model", str(photos),
             ["--shard-size", "64", "--transform", f"{HERE}:imagenet_transform", "--layers", "layer4",
              "--read-threads", str(arguments.read_threads)]),
        ]  # fmt: skip
        for name, model, data, extra in workloads:
            trials: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
            for _ in range(arguments.repeats):  # in turns, so that a machine whose load drifts slows both alike
                for processes in (1, 2):
                    row = run_job(processes, model, data, scratch / f"store_{name[:6]}_{processes}_{_}", extra)
                    trials[processes].append(row)
                    print(json.dumps({"workload": name, **row}), flush=True)
            for rows in trials.values():
                rates = [r["images_per_second"] for r in rows]
                middle = sorted(rows, key=lambda r: r["images_per_second"])[len(rows) // 2]
                report["runs"].append({**middle, "workload": name, "images_per_second_each_run": rates})
        costs = host_costs(photos)
    costs["resnet18_forward_backward_cpu_ms"] = round(model_floor(), 2)
    report["host_costs_ms_per_image"] = costs
    resnet = [r for r in report["runs"] if r["workload"].startswith("ResNet")]
    report["estimate_imagenet_8_gpus"] = estimate(
        costs, resnet[0]["bytes_per_image"], arguments.gpu_images_per_second, arguments.read_threads
    )
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["machine"]["load_average_before_after"] = [
        round(load_before[0], 2),
        round(__import__("os").getloadavg()[0], 2),
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(markdown(report))


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "| workload | processes | images/s (median in run) | each run | wall time with startup | bytes per image |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["runs"]:
        each = ", ".join(f"{v:.1f}" for v in r["images_per_second_each_run"])
        lines.append(
            f"| {r['workload']} | {r['processes']} | {r['images_per_second']:.1f} | {each} | "
            f"{r['wall_seconds_with_startup']:.1f} s | {r['bytes_per_image']:,.0f} B |"
        )
    costs, guess = report["host_costs_ms_per_image"], report["estimate_imagenet_8_gpus"]
    lines += [
        "",
        "Host cost per 224-px image (ms): " + ", ".join(f"{k.removesuffix('_ms')} {v}" for k, v in costs.items()),
        "",
        f"Estimate, {guess['images']:,} images on {guess['gpus']} GPUs (GPU assumed at "
        f"{guess['assumed_gpu_images_per_second_per_gpu']:.0f} images/s each for ResNet-18 Grad-CAM): "
        f"{guess['images_per_second']:,.0f} images/s, {guess['minutes']} min, {guess['store_gigabytes']} GB of store, "
        f"bound by the {guess['bound']}; {guess['cpu_cores_needed']} CPU cores "
        f"({guess['read_threads_to_be_gpu_bound']} read threads a rank would make it GPU-bound: "
        f"{guess['minutes_gpu_bound']} min).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

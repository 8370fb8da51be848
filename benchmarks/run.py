"""One command for the whole comparison: ``python -m benchmarks.run`` (or ``make bench``).

Prints a table and writes it as JSON to benchmarks/results/latest.json. Every figure is a
median of repeated runs after a warm-up, and every peer is measured in this same process on
the same model, input, layer and class, so the ratios hold on a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import time

import torch

from .faithfulness import deletion_insertion_row, resnet18, road_row
from .interactive import interaction_rows
from .memory import measure
from .methods import integrated_gradients_row, occlusion_rows, score_cam_rows
from .models import BUILDERS, models, photo_batch
from .peers import vit_reshape
from .prefetch import prefetch_row
from .rollout import rollout_rows
from .throughput import audit_row, batch_row, slow_method_rows
from .wire import bytes_row

RESULTS = pathlib.Path(__file__).parent / "results"


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--vit-repeats", type=int, default=3, help="repeats for vit_b_16 (a forward alone takes ≈ 0.4 s on 2 cores)"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        choices=list(BUILDERS),
        help="only these models; the table then goes to results/models.json (latest.json is left alone) "
        "and memory is skipped",
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--only-memory", action="store_true", help="rerun the memory scenarios into latest.json")
    parser.add_argument("--only-audit", action="store_true", help="only the batch engine's rows (results/audit.json)")
    parser.add_argument(
        "--only-faithfulness",
        action="store_true",
        help="only the faithfulness metrics' rows (results/faithfulness.json)",
    )
    parser.add_argument(
        "--only-prefetch", action="store_true", help="only the maps sent ahead to the browser (results/prefetch.json)"
    )
    parser.add_argument(
        "--only-methods",
        action="store_true",
        help="only the method catalogue's rows: IG at equal completeness, Score-CAM's silent channels, rollout "
        "(results/methods.json)",
    )
    parser.add_argument("--faithfulness-models", nargs="+", choices=["resnet18", "resnet50"], default=["resnet50"])
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    started = time.time()
    if args.only_memory:
        report = json.loads((RESULTS / "latest.json").read_text())
        report["memory"] = {"explorer": measure("explorer"), "batch_1000": measure("batch")}
        (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))
        print(markdown(report))
        return
    if args.only_audit:
        rows = []
        for name in ("efficientnet_lite0", "resnet50"):
            model = BUILDERS[name]().to(device)
            images = photo_batch(2 * args.batch).to(device)
            rows += log([audit_row(name, model, images, args.batch // 2, max(3, args.repeats // 2))], started)
        report = {"machine": machine(), "rows": rows, "seconds": time.time() - started}
        (RESULTS / "audit.json").write_text(json.dumps(report, indent=2))
        print(markdown(report))
        return
    if args.only_faithfulness:
        rows = faithfulness_rows(args.faithfulness_models, device, max(3, args.repeats // 2), started)
        report = {"machine": machine(), "rows": rows, "seconds": time.time() - started}
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "faithfulness.json").write_text(json.dumps(report, indent=2))
        print(markdown(report))
        return
    if args.only_prefetch:
        report = {"machine": machine(), "prefetch": prefetch_rows(device), "seconds": time.time() - started}
        ui = RESULTS / "ui_prefetch.json"
        if ui.exists():
            report["ui_prefetch"] = json.loads(ui.read_text())
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "prefetch.json").write_text(json.dumps(report, indent=2))
        print(prefetch_markdown(report))
        return
    if args.only_methods:
        rows = method_rows(device, max(3, args.repeats // 2), args.vit_repeats, started)
        report = {"machine": machine(), "rows": rows, "seconds": time.time() - started}
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "methods.json").write_text(json.dumps(report, indent=2))
        print(markdown(report))
        return
    subset = args.models is not None and set(args.models) != set(BUILDERS)
    rows = []
    x = photo_batch(1).to(device)
    for name, build in models(args.models).items():
        model = build().to(device)
        if name == "vit_b_16":
            repeats = args.vit_repeats
            rows += log(
                interaction_rows(name, model, x, repeats, kind="tokens", reshape_transform=vit_reshape), started
            )
            rows += log(rollout_rows(name, model, x, repeats), started)
        else:
            rows += log(interaction_rows(name, model, x, args.repeats), started)
        rows += log([bytes_row(name, model, x)], started)
        if name in ("efficientnet_lite0", "resnet50"):
            audit_images = photo_batch(2 * args.batch).to(device)
            rows += log([audit_row(name, model, audit_images, args.batch // 2, max(2, args.repeats // 2))], started)
        if name == "efficientnet_lite0":
            rows += log(
                [batch_row(name, model, photo_batch(args.batch).to(device), max(2, args.repeats // 2))], started
            )
            rows += log(slow_method_rows(name, model, x, max(2, args.repeats // 2), "_blocks.10"), started)
        del model
    report = {"machine": machine(), "rows": rows, "seconds": None}
    ui = RESULTS / "ui_latency.json"
    if ui.exists() and not subset:
        report["ui_latency"] = json.loads(ui.read_text())
    if not args.skip_memory and not subset:
        report["memory"] = {"explorer": measure("explorer"), "batch_1000": measure("batch")}
    report["seconds"] = time.time() - started
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("models.json" if subset else "latest.json")).write_text(json.dumps(report, indent=2))
    print(markdown(report))


def method_rows(device: str, repeats: int, vit_repeats: int, started: float) -> list[dict]:
    """IG to a completeness error of 1 %, Score-CAM with silent channels and occlusion with
    channels-last batches on the demo model, and a rollout setting change on ViT-B/16."""
    x = photo_batch(1).to(device)
    demo = BUILDERS["efficientnet_lite0"]().to(device)
    rows = log([integrated_gradients_row("efficientnet_lite0", demo, x, repeats)], started)
    rows += log(score_cam_rows("efficientnet_lite0", demo, x, 1), started)
    rows += log(occlusion_rows("efficientnet_lite0", demo, x, repeats), started)
    del demo
    vit = BUILDERS["vit_b_16"]().to(device)
    rows += log(rollout_rows("vit_b_16", vit, x, vit_repeats)[:1], started)
    return rows


def faithfulness_rows(names: list[str], device: str, repeats: int, started: float) -> list[dict]:
    """Deletion + insertion and ROAD rows on ResNet-18 and/or ResNet-50 (random weights), one demo photo."""
    rows = []
    x = photo_batch(1).to(device)
    builders = {"resnet18": resnet18, "resnet50": BUILDERS["resnet50"]}
    for name in names:
        model = builders[name]().to(device)
        rows += log([deletion_insertion_row(name, model, x, repeats)], started)
        rows += log([road_row(name, model, x, repeats)], started)
    return rows


def prefetch_rows(device: str) -> list[dict]:
    """The maps sent ahead of one demo photo on the demo model and ResNet-50."""
    x = photo_batch(1).to(device)
    return [prefetch_row(name, BUILDERS[name]().to(device), x) for name in ("efficientnet_lite0", "resnet50")]


def prefetch_markdown(report: dict) -> str:
    """The prefetch figures as the README's table: what is sent, and the browser's event-to-paint."""
    lines = [
        "| model | maps sent ahead | layers | bytes (uint8) | as float32 | messages | kernel time | "
        "largest error / map range |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["prefetch"]:
        lines.append(
            f"| {r['model']} | {r['maps']}{'' if r['complete'] else ' (budget)'} | {r['layers']} | "
            f"{r['bytes'] / 1000:.0f} kB | {r['float32_bytes'] / 1000:.0f} kB | {r['messages']} | "
            f"{r['kernel_ms']:.0f} ms | {r['worst_error_of_range']:.4f} |"
        )
    ui = report.get("ui_prefetch")
    if ui:
        kinds = [("layer", "layer"), ("class", "class"), ("method", "CAM method")]
        lines += [
            "",
            "| browser | move | painted from the cache | round trip (prefetch_budget=0) |",
            "|---|---|---|---|",
        ]
        for flavour, entry in ui.items():
            results = entry["results"]
            for kind, label in kinds:
                lines.append(
                    f"| {flavour} | {label} | {results[kind]['median_ms']:.1f} ms | "
                    f"{results[kind + '_round_trip']['median_ms']:.1f} ms |"
                )
            lines.append(
                f"| {flavour} | layer, kernel busy running occlusion | "
                f"{results['layer_kernel_busy']['median_ms']:.1f} ms | — |"
            )
    return "\n".join(lines)


def log(rows: list[dict], started: float) -> list[dict]:
    """Say on stderr which rows are done (a run takes minutes)."""
    for r in rows:
        print(f"[{time.time() - started:5.0f} s] {r['model']}: {r['row']}: ratio {r['ratio']:.3f}", file=sys.stderr)
    return rows


def markdown(report: dict) -> str:
    """The report as the markdown table the README shows."""
    lines = [
        f"Machine: {report['machine']['processor']}, {report['machine']['cpu_count']} cores, "
        f"{report['machine']['device']}, torch {report['machine']['torch']}; run took {report['seconds']:.0f} s.",
        "",
        "| model | interaction | ours | fastest peer | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        if "ours_bytes" in r:
            ours, peer = f"{r['ours_bytes']} B", f"PNG {r['png_bytes']} B"
        else:
            ours, peer = f"{r['ours_ms']:.1f} ms", f"{r['fastest_peer']} {r['peers_ms'][r['fastest_peer']]:.1f} ms"
        lines.append(
            f"| {r['model']} | {r['row']} | {ours} | {peer} | {r['ratio']:.3f} | ≤ {r['target']:.3f} | "
            f"{'yes' if r['met'] else 'no'} |"
        )
    notes = [f"- {r['model']}, {r['row']}: {r['note']}" for r in report["rows"] if r.get("note")]
    if notes:
        lines += ["", *notes]
    memory = report.get("memory")
    if memory:
        explorer, batch = memory["explorer"], memory["batch_1000"]
        lines += [
            "",
            f"Memory: Explorer on the demo, {explorer['after_creation_mb']:.0f} MB after creation, peak RSS "
            f"{explorer['peak_rss_mb']:.0f} MB; {explorer['warmup']} warm-up changes filled the bounded caches "
            f"(+{explorer['cache_fill_mb']:.0f} MB), then {explorer['changes']} random control changes grew it "
            f"{explorer['growth_after_changes_mb']:.1f} MB (target ≤ 20 MB). "
            f"Grad-CAM of {batch['images']} images in batches of 64: peak RSS "
            f"{batch['peak_rss_mb']:.0f} MB (the input tensor alone is {batch['input_mb']:.0f} MB).",
        ]
    ui = report.get("ui_latency")
    if ui:
        medians = ", ".join(f"{name} {entry['median_ms']:.0f} ms" for name, entry in ui["results"].items())
        cached = ", ".join(
            f"{name} {entry.get('painted_from_cache', 0)}/{len(entry['samples_ms'])}"
            for name, entry in ui["results"].items()
            if name != "opacity"
        )
        lines += [
            "",
            f"Browser (tests/ui, demo Explorer in JupyterLab, headless Chromium): control change to repainted "
            f"canvas, median: {medians} (painted from the maps sent ahead: {cached}; see \"Scrubbing\" above). "
            "Opacity and colormap moves send 0 kernel messages (counted on the kernel websocket and asserted by "
            "tests/ui/test_explorer_interactions.py).",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

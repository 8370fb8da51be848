"""Rows for batch work and the slow methods: throughput against every peer."""

from __future__ import annotations

import torch
from torch import nn

from xai_widgets import Session
from xai_widgets.engine import grad_cam_batch

from .interactive import row
from .peers import GRAD_CAM_PEERS, Peer, pytorch_grad_cam
from .timing import interleaved_medians, median_seconds


def floor_seconds(model: nn.Module, x: torch.Tensor, layer: str, repeats: int) -> float:
    """The model's own forward + backward to ``layer`` output: what any Grad-CAM must pay."""
    module = model.get_submodule(layer)
    kept = {}
    handle = module.register_forward_hook(lambda _m, _i, out: kept.__setitem__("a", out))

    def run():
        logits = model(x)
        torch.autograd.grad(logits.max(dim=1).values.sum(), kept["a"])

    try:
        return median_seconds(run, repeats)
    finally:
        handle.remove()


def batch_row(model_name: str, model: nn.Module, x: torch.Tensor, repeats: int) -> dict:
    layer = Session(model, x[:1]).default_layer
    targets = [int(t) for t in model(x[:1]).argmax(1).repeat(len(x))]
    ours = median_seconds(lambda: grad_cam_batch(model, x, layer, targets, batch_size=len(x)), repeats)
    peers = {}
    for name, make in GRAD_CAM_PEERS.items():
        peer = make(model, layer)
        try:
            peers[name] = median_seconds(lambda peer=peer: peer.call(x, targets), repeats)
        finally:
            peer.close()
    floor = floor_seconds(model, x, layer, repeats)
    result = row(model_name, f"batch of {len(x)}, Grad-CAM at the last layer", ours, peers, target=1 / 1.2)
    result["floor_ms"] = floor * 1000
    result["vs_floor"] = ours / floor
    result["met"] = result["met"] and ours / floor <= 1.15
    result["note"] = f"floor (forward + backward to the layer) {floor * 1000:.0f} ms; ours/floor {ours / floor:.2f}"
    return result


def slow_method_rows(model_name: str, model: nn.Module, x: torch.Tensor, repeats: int, score_cam_layer: str) -> list:
    from captum.attr import IntegratedGradients, Occlusion

    session = Session(model, x)
    target = session.top_k(1)[0][0]
    rows = []

    def ours(method, **params):
        def run():
            session.clear_caches(gradients=False)
            return session.attribution(
                method, layer=score_cam_layer if method == "scorecam" else None, target=target, **params
            )

        return median_seconds(run, repeats)

    peer = pytorch_grad_cam(model, score_cam_layer, "ScoreCAM", batch_size=64)
    try:
        score_peer = {"grad-cam": median_seconds(lambda: peer.call(x, [target]), repeats)}
    finally:
        peer.close()
    rows.append(row(model_name, f"Score-CAM at {score_cam_layer}", ours("scorecam"), score_peer, target=1 / 1.5))

    ig = IntegratedGradients(model)
    ig_peer = {
        "captum": median_seconds(lambda: ig.attribute(x, target=target, n_steps=50, internal_batch_size=50), repeats)
    }
    rows.append(
        row(
            model_name,
            "Integrated Gradients, 50 steps",
            ours("integrated_gradients", steps=50),
            ig_peer,
            target=1 / 1.5,
        )
    )

    occlusion = Occlusion(model)
    occ_peer = {
        "captum": median_seconds(
            lambda: occlusion.attribute(
                x,
                target=target,
                sliding_window_shapes=(3, 32, 32),
                strides=(3, 16, 16),
                baselines=0,
                perturbations_per_eval=64,
            ),
            repeats,
        )
    }
    rows.append(
        row(
            model_name,
            "occlusion, 32 px window, stride 16",
            ours("occlusion", window=32, stride=16),
            occ_peer,
            target=1 / 1.5,
        )
    )
    session.close()
    return rows


def audit_row(model_name: str, model: nn.Module, images: torch.Tensor, batch_size: int, repeats: int) -> dict:
    """The Gallery's batch engine over a data set: images per second against each peer's batch
    loop (the same images, batch size, layer and classes) and against the model's own
    forward + backward to the layer over the same batches."""
    from xai_widgets import audit

    layer = Session(model, images[:1]).default_layer
    first = audit(model, images, layer=layer, batch_size=batch_size, progress=False)
    targets = first.predicted.tolist()
    chunks = [(images[i : i + batch_size], targets[i : i + batch_size]) for i in range(0, len(images), batch_size)]

    def ours():
        return (lambda: audit(model, images, layer=layer, batch_size=batch_size, progress=False)), (lambda: None)

    def peer_loop(make):
        def setup():
            peer = make(model, layer)
            return (lambda: [peer.call(x, t) for x, t in chunks]), peer.close

        return setup

    contenders = {"ours": ours, **{name: peer_loop(make) for name, make in GRAD_CAM_PEERS.items()}}
    times = interleaved_medians(contenders, repeats)
    floor = sum(floor_seconds(model, x, layer, repeats) for x, _ in chunks)
    ours = times.pop("ours")
    peers = times
    count = len(images)
    result = row(
        model_name, f"audit of {count} images, batches of {batch_size} (images/s)", ours, peers, target=1 / 1.2
    )
    result["floor_ms"] = floor * 1000
    result["vs_floor"] = ours / floor
    result["met"] = result["met"] and ours / floor <= 1.15
    fastest = result["fastest_peer"]
    result["note"] = (
        f"{count / ours:.1f} images/s (predictions, confidences and maps) against {fastest} "
        f"{count / peers[fastest]:.1f} images/s; forward + backward alone {count / floor:.1f} images/s, "
        f"ours/floor {ours / floor:.2f}"
    )
    return result


__all__ = ["Peer", "audit_row", "batch_row", "slow_method_rows"]

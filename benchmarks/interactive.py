"""Rows for live interactions: what one control move costs, ours against each peer's call."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Optional

import torch
from torch import nn

from xai_widgets import Session

from .peers import GRAD_CAM_PEERS, Peer, pytorch_grad_cam
from .timing import median_seconds

PeerFactory = Callable[[nn.Module, str], Peer]
KIND_WORDS = {"tokens": "token", "channels_last": "channels-last"}


def peer_grad_cam_seconds(
    model: nn.Module, x: torch.Tensor, layer: str, target: int, repeats: int, peers: dict[str, PeerFactory]
) -> dict[str, float]:
    """Median seconds of one Grad-CAM call of every peer (each a forward and a backward)."""
    seconds = {}
    for name, make in peers.items():
        peer = make(model, layer)
        try:
            seconds[name] = median_seconds(lambda peer=peer: peer.call(x, [target]), repeats)
        finally:
            peer.close()
    return seconds


TOKEN_PEERS_NOTE = (
    "peer: pytorch-grad-cam with a reshape_transform (CLS token dropped, 196 tokens → 768×14×14), as its ViT "
    "tutorial does; torchcam and Captum's LayerGradCam are left out: they take no reshape and read N×197×768 "
    "tokens as N×C×H×W, so they run without error but return a 1×768 vector (tokens as channels), not a map"
)


def interaction_rows(
    model_name: str,
    model: nn.Module,
    x: torch.Tensor,
    repeats: int,
    kind: Optional[str] = None,
    reshape_transform: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
) -> list[dict]:
    """The live-interaction rows of one model.

    ``kind`` keeps only the layers of that layout (``"tokens"`` for a ViT's token layers);
    ``reshape_transform`` turns such a layer's output into N×C×h×w for pytorch-grad-cam, the
    one peer that takes it (torchcam and Captum then sit out).
    """
    session = Session(model, x)
    target = session.top_k(1)[0][0]
    other = session.top_k(2)[1][0]
    # the deepest live layer: in a ViT the patch tokens of the last blocks get no gradient
    deepest = session.default_layer
    live = session.layers[: [info.name for info in session.layers].index(deepest) + 1]
    names = [info.name for info in live if kind is None or info.kind == kind]
    scope = "layer" if kind is None else f"live {KIND_WORDS.get(kind, kind)} layer"
    # the first layer with weights of its own: the peers cannot reach a layer that only pads the input
    shallowest = next(n for n in names if any(True for _ in model.get_submodule(n).parameters(recurse=False)))
    if reshape_transform is None:
        peers: dict[str, PeerFactory] = GRAD_CAM_PEERS
        peer_note = ""
    else:
        peers = {"grad-cam": functools.partial(pytorch_grad_cam, reshape_transform=reshape_transform)}
        peer_note = "; " + TOKEN_PEERS_NOTE
    rows = []

    def reset(classes=True):
        session.clear_caches(gradients=classes)

    # a layer sweep: the first change pays one backward for every layer, then cache + CAM
    def sweep():
        reset()
        session.attribution("gradcam", layer=deepest, target=target)
        for name in names[::-1]:
            session.attribution("gradcam", layer=name, target=target)

    whole_sweep = median_seconds(sweep, max(2, repeats // 2))
    warm_layer = median_seconds(
        lambda: session.attribution("gradcam", layer=names[len(names) // 2], target=target),
        repeats,
        setup=lambda: session.clear_caches(gradients=False),
    )
    peers_deep = peer_grad_cam_seconds(model, x, deepest, target, repeats, peers)
    rows.append(
        row(
            model_name,
            "layer change, same image and class",
            warm_layer,
            peers_deep,
            target=0.02,
            note=f"warm; a whole sweep of {len(names)} layers takes {whole_sweep * 1000:.0f} ms "
            f"({whole_sweep / len(names) * 1000:.1f} ms a layer){peer_note}",
        )
    )
    ours_deep = median_seconds(
        lambda: session.attribution("gradcam", layer=deepest, target=other), repeats, setup=reset
    )
    rows.append(
        row(model_name, "class change, deepest layer", ours_deep, peers_deep, target=0.10, note=f"at {deepest}")
    )
    ours_shallow = median_seconds(
        lambda: session.attribution("gradcam", layer=shallowest, target=other), repeats, setup=reset
    )
    peers_shallow = peer_grad_cam_seconds(model, x, shallowest, target, repeats, peers)
    rows.append(
        row(
            model_name,
            "class change, shallowest layer",
            ours_shallow,
            peers_shallow,
            target=0.60,
            note=f"at {shallowest}",
        )
    )

    session.attribution("gradcam", layer=deepest, target=target)
    ours_method = median_seconds(
        lambda: session.attribution("gradcam++", layer=deepest, target=target),
        repeats,
        setup=lambda: reset(classes=False),
    )
    peer = pytorch_grad_cam(model, deepest, "GradCAMPlusPlus", reshape_transform=reshape_transform)
    try:
        peer_method = {"grad-cam": median_seconds(lambda: peer.call(x, [target]), repeats)}
    finally:
        peer.close()
    rows.append(row(model_name, "method change within the CAM family", ours_method, peer_method, target=0.02))

    calls = len(names) * 5
    ours_full = median_seconds(lambda: Session(model, x).sweep("gradcam", layers=names), max(2, repeats // 2))
    estimated = {name: seconds * calls for name, seconds in peers_deep.items()}
    rows.append(
        row(
            model_name,
            f"every {scope} × top-5 classes ({calls} maps)",
            ours_full,
            estimated,
            target=1 / 20,
            note="peers: measured per-call median × number of maps",
        )
    )
    session.close()
    return rows


def row(model: str, name: str, ours: float, peers: dict[str, float], target: float, note: str = "") -> dict:
    """One table row: ratio = ours / fastest peer; met when ratio ≤ target."""
    fastest = min(peers, key=peers.get)
    ratio = ours / peers[fastest]
    return {
        "model": model,
        "row": name,
        "ours_ms": ours * 1000,
        "peers_ms": {k: v * 1000 for k, v in peers.items()},
        "fastest_peer": fastest,
        "ratio": ratio,
        "target": target,
        "met": ratio <= target,
        "note": note,
    }

"""The audit job: one process and two torchrun ranks (gloo, CPU) write the same store over the first
200 digits; a run whose rank is killed resumes with every image exactly once; damaged shards are
done again; bad arguments are refused with a clear message; the Gallery browses the store a page
at a time, also while it grows."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

from tests.audit_job_factories import DIGITS, digit_cnn, first_digits, trained_state
from tests.models import tiny_cnn
from xai_widgets import Gallery, audit
from xai_widgets.audit_job import AuditStore, run_audit
from xai_widgets.audit_job.cli import main
from xai_widgets.audit_job.distributed import Ranks, share
from xai_widgets.audit_job.shards import SHARDS
from xai_widgets.audit_job.store import _OpenShard
from xai_widgets.engine.errors import AuditJobError
from xai_widgets.widgets.serialize import decode_map

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODEL = "tests.audit_job_factories:digit_cnn"
DATA = "tests.audit_job_factories:first_digits"
SHARD = 16
SHARDS_IN_ALL = -(-DIGITS // SHARD)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("model") / "digit_cnn.pt"
    torch.save(trained_state(), path)
    return path


@pytest.fixture(scope="module")
def model(checkpoint):
    net = digit_cnn()
    net.load_state_dict(torch.load(checkpoint, weights_only=True))
    return net.eval()


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, checkpoint) -> pathlib.Path:
    out = tmp_path_factory.mktemp("stores") / "one"
    run = run_audit(MODEL, DATA, checkpoint=checkpoint, out=out, shard_size=SHARD, progress=False)
    assert run.explained == DIGITS and run.world == 1 and run.skipped_shards == 0
    return out


def torchrun(out: pathlib.Path, checkpoint: pathlib.Path, *, data: str = DATA, hold_from: str = "", wait: bool = True):
    """``xai-widgets audit`` under ``torchrun --nproc_per_node=2`` (gloo on the CPU)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    command += ["-m", "xai_widgets.audit_job.cli", "audit", "--model", MODEL, "--checkpoint", str(checkpoint)]
    command += ["--data", data, "--out", str(out), "--shard-size", str(SHARD)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "XAI_TEST_HOLD_FROM": hold_from}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    if not wait:
        return process
    output, _ = process.communicate(timeout=240)
    return process.returncode, output.decode(errors="replace")


def indices_in_shards(folder: pathlib.Path) -> list[int]:
    seen = []
    for path in sorted((folder / SHARDS).glob("*.npz")):
        with np.load(path) as arrays:
            seen.extend(arrays["index"].tolist())
    return seen


def assert_same_store(a: pathlib.Path, b: pathlib.Path) -> None:
    one, two = AuditStore.open(a), AuditStore.open(b)
    assert one.complete and two.complete and one.maps == two.maps and one.columns == two.columns
    for name in ("predicted", "true", "target"):
        np.testing.assert_array_equal(one.column(name), two.column(name))
    for name in one.numbers:
        np.testing.assert_allclose(one.column(name), two.column(name), rtol=1e-4, atol=1e-5, err_msg=name)
    assert one.texts == two.texts
    for index in range(DIGITS):
        np.testing.assert_allclose(one.map(index), two.map(index), rtol=2e-3, atol=2e-3 * np.abs(one.map(index)).max())
        np.testing.assert_array_equal(one.thumbnail(index), two.thumbnail(index))


def test_two_torchrun_ranks_write_the_same_store_as_one_process(one_process, checkpoint, tmp_path):
    code, output = torchrun(tmp_path / "two", checkpoint)
    assert code == 0, output
    assert "audited 200 images on 2 process(es)" in output and "images/s" in output
    assert sorted(indices_in_shards(tmp_path / "two")) == list(range(DIGITS))  # each image exactly once
    notes = [json.loads(p.read_text()) for p in sorted((tmp_path / "two" / SHARDS).glob("*.json"))]
    assert sorted({note["rank"] for note in notes}) == [0, 1] and {note["world"] for note in notes} == {2}
    manifest = json.loads((tmp_path / "two" / "manifest.json").read_text())
    assert manifest["complete"] and len(manifest["shard_list"]) == SHARDS_IN_ALL
    assert manifest["runs"][-1]["world"] == 2 and manifest["runs"][-1]["images_explained"] == DIGITS
    assert_same_store(one_process, tmp_path / "two")


def test_the_store_holds_what_the_in_memory_audit_computes(one_process, model):
    store = AuditStore.open(one_process)
    layer = store.maps[0].split("@")[1]
    plain = audit(model, first_digits(), layer=layer, labels=None, progress=False)
    np.testing.assert_array_equal(store.column("predicted"), plain.predicted.numpy())
    np.testing.assert_allclose(store.column("confidence"), plain.confidence.numpy(), atol=1e-6)
    assert (plain.predicted.numpy() == np.asarray(plain.true_labels)).mean() > 0.8  # a trained model
    report_rows = plain.rows()
    for index in (0, 17, 199):
        row = store.row(index)
        for key in ("index", "file", "predicted", "predicted_label", "true", "true_label", "correct", "target"):
            assert row[key] == report_rows[index][key], key
        expected = plain.maps[index].numpy()
        np.testing.assert_allclose(store.map(index), expected, rtol=1e-3, atol=1e-3 * np.abs(expected).max())
        assert store.map(index).shape == expected.shape == (4, 4)  # the layer's own (head.0), not the input's 8×8
    assert store.maps == ["gradcam@head.0"]


def test_a_run_whose_rank_is_killed_resumes_with_every_image_once(one_process, checkpoint, tmp_path):
    out, held = tmp_path / "killed", "tests.audit_job_factories:held_digits"
    # shards 0-2 (images 0-47) can be read, no later one: each rank stops on its next shard
    process = torchrun(out, checkpoint, data=held, hold_from=str(3 * SHARD), wait=False)
    try:
        seen, written = [], None
        while written is None:  # a rank prints "(shard N)" once shard N is on disk
            line = process.stdout.readline().decode(errors="replace")
            assert line, "the run ended before a shard was written:\n" + "".join(seen)
            seen.append(line)
            written = re.search(r"\(shard (\d+)\)", line)
        first = json.loads((out / SHARDS / f"{int(written.group(1)):06d}.json").read_text())
        os.kill(first["pid"], signal.SIGKILL)  # one rank dies; torchrun stops the other
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode != 0
    finished_before = [json.loads(p.read_text())["rows"] for p in (out / SHARDS).glob("*.json")]
    assert 1 <= len(finished_before) < SHARDS_IN_ALL and not (out / "manifest.json").exists()

    code, output = torchrun(out, checkpoint, data=held)
    assert code == 0, output
    assert sorted(indices_in_shards(out)) == list(range(DIGITS))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["runs"][-1]["images_explained"] == DIGITS - sum(finished_before)  # finished shards skipped
    assert list((out / SHARDS).glob(".*")) == []  # no temporary file left
    assert_same_store(one_process, out)


def test_damaged_and_partial_shards_are_done_again(one_process, checkpoint, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(one_process, out)
    shards = out / SHARDS
    arrays = bytearray((shards / "000002.npz").read_bytes())
    arrays[len(arrays) // 2] ^= 0xFF
    (shards / "000002.npz").write_bytes(bytes(arrays))  # a flipped bit
    table = (shards / "000005.csv").read_bytes()
    (shards / "000005.csv").write_bytes(table[: len(table) // 2])  # a cut-off file
    (shards / "000007.json").unlink()  # killed before its note was written
    (shards / ".000008.npz.tmp-1234").write_bytes(b"half")
    (out / "manifest.json").unlink()
    run = run_audit(MODEL, DATA, checkpoint=checkpoint, out=out, shard_size=SHARD, progress=False)
    assert run.explained == 3 * SHARD and run.skipped_shards == SHARDS_IN_ALL - 3
    assert not (shards / ".000008.npz.tmp-1234").exists()
    for number in (2, 5, 7):
        name = f"{number:06d}.csv"
        assert (shards / name).read_bytes() == (one_process / SHARDS / name).read_bytes()
    assert_same_store(one_process, out)
    again = run_audit(MODEL, DATA, checkpoint=checkpoint, out=out, shard_size=SHARD, progress=False)
    assert again.explained == 0 and again.skipped_shards == SHARDS_IN_ALL
    assert len(json.loads((out / "manifest.json").read_text())["runs"]) == 2


def test_other_arguments_on_a_store_are_refused(one_process, checkpoint):
    with pytest.raises(AuditJobError, match=r"other arguments \(methods: \['gradcam'\] then, \['saliency'\] now\)"):
        run_audit(MODEL, DATA, checkpoint=checkpoint, out=one_process, shard_size=SHARD, methods=["saliency"])
    with pytest.raises(AuditJobError, match="model_fingerprint"):
        run_audit(MODEL, DATA, out=one_process, shard_size=SHARD, progress=False)  # untrained weights


@pytest.mark.parametrize(
    ("model", "message"),
    [
        ("no_colon_here", "not of the form package.module:function"),
        ("nowhere.at_all:f", "Cannot import 'nowhere.at_all'"),
        ("tests.audit_job_factories:missing", "has no attribute 'missing'"),
        ("tests.audit_job_factories:DIGITS", "is a int, not a function"),
        ("tests.audit_job_factories:first_digits", "returned a TensorDataset, not a torch.nn.Module"),
        ("/no/such/file.py:model", "No file '/no/such/file.py'"),
    ],
)
def test_a_bad_model_factory_is_named(model, message, tmp_path):
    with pytest.raises(AuditJobError, match=message):
        run_audit(model, DATA, out=tmp_path / "out", progress=False)


def test_bad_checkpoints_data_and_sizes_are_named(tmp_path, checkpoint):
    pickled = tmp_path / "whole_model.pt"
    torch.save(digit_cnn(), pickled)
    other = tmp_path / "other.pt"
    torch.save(tiny_cnn().state_dict(), other)
    cases = [
        (dict(checkpoint=tmp_path / "absent.pt"), "Checkpoint file not found"),
        (dict(checkpoint=pickled), r"weights_only=True.*Save the weights alone"),
        (dict(checkpoint=other), "does not fit the factory's model"),
        (dict(shard_size=0), "shard_size must be a whole number of images, at least 1; got 0"),
        (dict(batch_size=-2), "batch_size must be a whole number"),
    ]
    for arguments, message in cases:
        with pytest.raises(AuditJobError, match=message):
            run_audit(MODEL, DATA, out=tmp_path / "out", progress=False, **arguments)
    with pytest.raises(AuditJobError, match="neither an image folder nor a package.module:function"):
        run_audit(MODEL, str(tmp_path / "no_such_folder"), out=tmp_path / "out", progress=False)
    with pytest.raises(AuditJobError, match="No audit store in"):
        AuditStore.open(tmp_path)


def test_the_command_line_reports_a_bad_argument_and_exits_2(tmp_path, capsys):
    code = main(["audit", "--model", "nowhere.at_all:f", "--data", DATA, "--out", str(tmp_path / "o")])
    assert code == 2 and "xai-widgets audit: error: Cannot import 'nowhere.at_all'" in capsys.readouterr().err


def test_an_image_folder_with_a_transform_factory(tmp_path):
    from PIL import Image

    images, _ = first_digits().tensors
    for index in range(5):
        folder = tmp_path / "images" / f"class_{index % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((images[index, 0].numpy() * 255).astype(np.uint8)).save(folder / f"{index}.png")
    factory = tmp_path / "job.py"
    factory.write_text(
        "import torchvision.transforms as T\n"
        "from tests.audit_job_factories import digit_cnn as model\n"
        "def grey():\n    return T.Compose([T.Grayscale(), T.ToTensor()])\n"
    )
    run = run_audit(
        f"{factory}:model",
        tmp_path / "images",
        transform=f"{factory}:grey",
        out=tmp_path / "out",
        shard_size=2,
        progress=False,
    )
    store = AuditStore.open(run.folder)
    assert run.explained == 5 and store.texts["file"] == [f"class_{i % 2}/{i}.png" for i in (0, 2, 4, 1, 3)]
    assert store.texts["path"][0] == str(tmp_path / "images" / "class_0" / "0.png")


def test_the_sampler_deals_each_shard_to_exactly_one_rank():
    items = [10, 11, 12, 13, 14, 15, 16]
    dealt = [share(items, Ranks(rank=r, world=3)) for r in range(3)]
    assert dealt == [[10, 13, 16], [11, 14], [12, 15]]  # DistributedSampler's padding (10, 11) dropped


@pytest.fixture
def count_reads(monkeypatch):
    reads: list[str] = []
    original = _OpenShard.__getitem__

    def counted(self, name):
        reads.append(f"{pathlib.Path(self.npz.fid.name).stem}/{name}")
        return original(self, name)

    monkeypatch.setattr(_OpenShard, "__getitem__", counted)
    return reads


def test_the_gallery_opens_the_store_with_the_in_memory_gallerys_rows(one_process, model, count_reads):
    store_view = Gallery.open(one_process, page_size=8)
    layer = AuditStore.open(one_process).maps[0].split("@")[1]
    dataset = first_digits()
    memory = Gallery(model, dataset, layer=layer, page_size=8)
    memory.wait()
    try:
        assert not store_view.running and store_view.summary == memory.summary
        assert sorted(count_reads) == sorted(
            [f"000000/thumbnail:{i}" for i in range(8)] + [f"000000/map:gradcam@{layer}"]
        )
        for view in ("all", "misclassified", "correct", "low_confidence", "class:3"):
            for order in ("index", "-confidence", "confidence"):
                store_view.filter = memory.filter = view
                store_view.sort = memory.sort = order
                assert store_view.visible() == memory.visible(), (view, order)
        store_view.filter, store_view.sort = memory.filter, memory.sort = "all", "index"
        count_reads.clear()
        store_view.page = memory.page = 3
        assert {read.split("/")[0] for read in count_reads} == {"000001"}  # the shard of images 16–31 only
        assert sorted(r for r in count_reads if "thumbnail" in r) == sorted(
            f"000001/thumbnail:{i}" for i in range(24, 32)
        )
        for shown, expected in zip(store_view.tiles, memory.tiles, strict=True):
            assert shown["index"] == expected["index"] and shown["title"] == expected["title"]
            reference = decode_map(expected)
            np.testing.assert_allclose(decode_map(shown), reference, rtol=1e-3, atol=1e-3 * np.abs(reference).max())
            assert shown["photo"][:4] == b"\x89PNG"
        assert len(store_view._data.store._open) <= 8  # a few shards open, never the whole store
    finally:
        store_view.close()
        memory.close()


def test_the_gallery_follows_a_store_that_is_still_growing(one_process, tmp_path):
    out = tmp_path / "growing"
    shutil.copytree(one_process, out)
    aside = tmp_path / "aside"
    aside.mkdir()
    for number in range(5, SHARDS_IN_ALL):
        (out / SHARDS / f"{number:06d}.json").rename(aside / f"{number:06d}.json")  # not finished yet
    (out / "manifest.json").rename(aside / "manifest.json")
    gallery = Gallery.open(out, page_size=8, follow=0.05)
    try:
        assert gallery.running and gallery.summary.startswith(f"{5 * SHARD} of 200 images explained")
        assert max(gallery.visible()) == 5 * SHARD - 1
        finished = threading.Event()
        gallery.observe(lambda change: finished.set() if not change["new"] else None, names="running")
        for path in aside.iterdir():
            path.rename((out / SHARDS / path.name) if path.name != "manifest.json" else out / path.name)
        assert finished.wait(30)
        assert gallery.summary.startswith("200 of 200 images explained") and len(gallery.visible()) == DIGITS
    finally:
        gallery.close()


def test_every_method_at_every_layer_and_the_gallerys_map_select(tmp_path, model):
    data = torch.utils.data.TensorDataset(*[t[:20] for t in first_digits().tensors])
    run_audit(
        model, data, out=tmp_path / "out", methods=["gradcam", "saliency"], layers=["features.1", "features.3"],
        shard_size=8, progress=False, boxes=[(0, 0, 4, 8)] * 20,
    )  # fmt: skip
    store = AuditStore.open(tmp_path / "out")
    assert store.maps == ["gradcam@features.1", "gradcam@features.3", "saliency"]
    assert "saliency:outside" in store.columns and "gradcam@features.3:pointing_hit" in store.columns
    plain = audit(model, data, method="saliency", boxes=[(0, 0, 4, 8)] * 20, progress=False)
    np.testing.assert_allclose(store.column("saliency:outside"), plain.outside.numpy(), atol=1e-6)
    gallery = Gallery.open(tmp_path / "out", page_size=4)
    try:
        assert [m["name"] for m in gallery.methods] == store.maps and gallery.method == "gradcam@features.1"
        assert gallery.title == "Grad-CAM at features.1 of 20 images" and "-outside" in gallery.sorts
        gallery.method = "saliency"
        assert gallery.title == "Saliency of 20 images" and gallery.tiles[0]["shape"] == [8, 8]
        np.testing.assert_allclose(decode_map(gallery.tiles[0]), plain.maps[0].numpy(), rtol=1e-3, atol=1e-4)
        gallery.sort = "-outside"
        shown = [t["outside"] for t in gallery.tiles]
        assert shown == pytest.approx(sorted(plain.outside.tolist(), reverse=True)[:4], abs=1e-6)
        with pytest.raises(AuditJobError, match="has no model to run"):
            gallery.run()
    finally:
        gallery.close()


def test_a_store_with_no_finished_shard_yet_opens_empty(one_process, tmp_path):
    out = tmp_path / "starting"
    shutil.copytree(one_process, out)
    for note in (out / SHARDS).glob("*.json"):
        note.unlink()
    (out / "manifest.json").unlink()
    store = AuditStore.open(out)
    assert store.ready.sum() == 0 and not store.complete and store.refresh() == []
    with pytest.raises(AuditJobError, match="shard is not finished yet"):
        store.map(0)
    gallery = Gallery.open(out, follow=0)
    try:
        assert gallery.tiles == [] and gallery.summary == "0 of 200 images explained" and not gallery.running
    finally:
        gallery.close()


def test_images_of_different_sizes_get_the_command_lines_flag_in_the_message(tmp_path, capsys):
    from PIL import Image

    (tmp_path / "images").mkdir()
    for name, size in (("a", (8, 8)), ("b", (12, 10))):
        Image.new("RGB", size).save(tmp_path / "images" / f"{name}.png")
    factory = tmp_path / "colour.py"
    factory.write_text(
        "from torch import nn\n"
        "def model():\n"
        "    layers = [nn.Conv2d(3, 4, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)]\n"
        "    return nn.Sequential(*layers)\n"
    )
    data, out = str(tmp_path / "images"), str(tmp_path / "o")
    code = main(["audit", "--model", f"{factory}:model", "--data", data, "--out", out, "--no-progress"])
    error = capsys.readouterr().err
    assert code == 2 and "batches need one size" in error
    assert "On the command line: --transform package.module:function" in error

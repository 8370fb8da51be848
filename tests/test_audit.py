"""The batch engine: every image's map, prediction and confidence, from any kind of data,
surviving out-of-memory by splitting, cancellable, with the outside-the-object metric."""

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from tests.models import random_image, tiny_cnn
from xai_widgets import Session, audit
from xai_widgets.engine import ImageError, TargetError
from xai_widgets.engine.audit import audit_batches
from xai_widgets.engine.image_source import image_source
from xai_widgets.engine.model_calls import fitting_batch_size
from xai_widgets.engine.progress import Cancelled, reporting

IMAGES = [random_image(seed) for seed in range(23)]


def session_map(model, image, method="gradcam", target=None, layer=None):
    session = Session(model, image)
    try:
        return session.attribution(method, layer=layer, target=target), session.probabilities
    finally:
        session.close()


def test_batched_grad_cam_equals_the_session_for_every_image():
    model = tiny_cnn()
    result = audit(model, IMAGES, batch_size=5, progress=False)
    assert len(result) == 23 and result.layer == "features" and result.method == "gradcam"
    for index, image in enumerate(IMAGES):
        want, probabilities = session_map(model, image)
        torch.testing.assert_close(result.maps[index], want, rtol=1e-4, atol=1e-6)
        assert int(result.predicted[index]) == int(probabilities.argmax())
        assert float(result.confidence[index]) == pytest.approx(float(probabilities.max()), rel=1e-5)
        assert int(result.targets[index]) == int(probabilities.argmax())


def test_other_methods_run_image_by_image_with_the_chosen_target():
    model = tiny_cnn()
    result = audit(model, IMAGES[:4], method="saliency", target=3, progress=False)
    assert result.layer is None and result.targets.tolist() == [3] * 4
    for index, image in enumerate(IMAGES[:4]):
        torch.testing.assert_close(result.maps[index], session_map(model, image, "saliency", 3)[0])


def test_true_labels_give_mistakes_and_the_true_class_can_be_explained():
    model = tiny_cnn()
    truth = [i % 10 for i in range(23)]
    result = audit(model, IMAGES, true_labels=truth, target="true", progress=False)
    assert result.targets.tolist() == truth
    wrong = [i for i in range(23) if int(result.predicted[i]) != truth[i]]
    assert result.misclassified() == wrong
    rows = result.rows()
    assert [row["correct"] for row in rows] == [i not in wrong for i in range(23)]
    torch.testing.assert_close(result.maps[7], session_map(model, IMAGES[7], target=7)[0], rtol=1e-4, atol=1e-6)


def test_data_from_a_folder_a_dataset_a_dataloader_a_dict_and_a_tensor(tmp_path):
    pictures = [(np.asarray(img.permute(1, 2, 0)) * 255).astype(np.uint8) for img in IMAGES[:6]]
    for index, picture in enumerate(pictures):
        (tmp_path / f"class{index % 2}").mkdir(exist_ok=True)
        Image.fromarray(picture).save(tmp_path / f"class{index % 2}" / f"{index}.png")
    folder = image_source(tmp_path)
    assert folder.names == [
        "class0/0.png",
        "class0/2.png",
        "class0/4.png",
        "class1/1.png",
        "class1/3.png",
        "class1/5.png",
    ]

    dataset = torch.utils.data.TensorDataset(torch.stack(IMAGES[:6]), torch.arange(6))
    from_dataset = image_source(dataset)
    assert from_dataset.true_labels == list(range(6)) and torch.equal(from_dataset.image(4), IMAGES[4])
    loader = image_source(torch.utils.data.DataLoader(dataset, batch_size=4))
    assert loader.true_labels == list(range(6)) and len(loader) == 6 and torch.equal(loader.image(5), IMAGES[5])
    assert image_source({"a": IMAGES[0], "b": IMAGES[1]}).names == ["a", "b"]
    assert len(image_source(torch.stack(IMAGES[:3]))) == 3

    model = tiny_cnn()
    by_dataset = audit(model, dataset, progress=False)
    by_list = audit(model, IMAGES[:6], progress=False)
    torch.testing.assert_close(torch.stack(by_dataset.maps), torch.stack(by_list.maps))
    assert by_dataset.true_labels == list(range(6))


class RunsOutOfMemory(nn.Module):
    """tiny_cnn that raises CUDA's out-of-memory error for batches above ``limit``."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.net, self.limit, self.sizes = tiny_cnn(), limit, []

    def forward(self, x):
        self.sizes.append(len(x))
        if len(x) > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.net(x)


def test_out_of_memory_splits_the_batch_and_loses_no_image():
    model = RunsOutOfMemory(limit=3)
    result = audit(model, IMAGES, batch_size=16, progress=False)
    plain = audit(tiny_cnn(), IMAGES, batch_size=16, progress=False)
    torch.testing.assert_close(torch.stack(result.maps), torch.stack(plain.maps))
    assert torch.equal(result.predicted, plain.predicted)
    assert model.sizes[2:5] == [16, 8, 4] and max(model.sizes[5:]) <= 2  # after the probe: halved until it fit
    assert fitting_batch_size(model, 16) == 2  # 16 → 8 → 4 → 2, remembered for the next run
    model.sizes.clear()
    audit(model, IMAGES[:6], batch_size=16, progress=False)
    assert max(model.sizes) <= 3


def test_a_cancelled_run_stops_between_batches_and_leaves_the_model_as_it_was():
    from tests.test_model_untouched import assert_same, snapshot

    model = tiny_cnn().train()
    before = snapshot(model)
    seen = []

    def cancel_after_two(done, total):
        seen.append(done)
        if len(seen) == 2:
            raise Cancelled()

    source = image_source(IMAGES)
    with reporting(cancel_after_two), pytest.raises(Cancelled):
        for _ in audit_batches(model, source, batch_size=4):
            pass
    assert seen == [4, 8]
    assert_same(before, snapshot(model))


def test_the_outside_metric_measures_map_mass_outside_the_box_or_mask():
    model = tiny_cnn()
    whole = audit(model, IMAGES[:3], boxes=[(0, 0, 32, 32)] * 3, progress=False)
    assert whole.outside.tolist() == [0.0, 0.0, 0.0]
    left = audit(model, IMAGES[:3], boxes=[(0, 0, 16, 32)] * 3, progress=False)
    right_mask = np.zeros((32, 32), bool)
    right_mask[:, 16:] = True
    right = audit(model, IMAGES[:3], masks=[right_mask] * 3, progress=False)
    np.testing.assert_allclose(left.outside + right.outside, 1.0, rtol=1e-5)
    import torch.nn.functional as F

    up = F.interpolate(left.maps[0][None, None], size=(32, 32), mode="bilinear", align_corners=False)[0, 0]
    assert float(left.outside[0]) == pytest.approx(float(up[:, 16:].clamp(min=0).sum() / up.clamp(min=0).sum()))
    assert "outside" in left.rows()[0]


def test_bad_arguments_are_named():
    model = tiny_cnn()
    with pytest.raises(ImageError, match=r"is \(16, 16\) after the transform, the first is \(32, 32\).*Resize"):
        audit(model, [IMAGES[0], random_image(1, size=16)], progress=False)
    with pytest.raises(ImageError, match="Got 2 true labels for 23 images"):
        audit(model, IMAGES, true_labels=[0, 1], progress=False)
    with pytest.raises(TargetError, match='target="true" needs true labels'):
        audit(model, IMAGES, target="true", progress=False)
    with pytest.raises(ValueError, match="Got 1 boxes for 23 images"):
        audit(model, IMAGES, boxes=[(0, 0, 1, 1)], progress=False)
    with pytest.raises(ImageError, match="Cannot read images from a int"):
        audit(model, 3, progress=False)
    with pytest.raises(TargetError, match="No true labels"):
        audit(model, IMAGES[:2], progress=False).misclassified()


def test_deletion_steps_add_each_maps_deletion_auc_for_its_class():
    from xai_widgets.engine import ExplainError
    from xai_widgets.engine.faithfulness import deletion_curve

    model = tiny_cnn()
    result = audit(model, IMAGES[:5], batch_size=2, deletion_steps=6, progress=False)
    assert result.deletion.shape == (5,)
    for index in (0, 4):
        want = deletion_curve(model, IMAGES[index], result.maps[index], int(result.targets[index]), steps=6).auc
        assert float(result.deletion[index]) == pytest.approx(want, abs=1e-5)
    assert result.rows()[0]["deletion_auc"] == pytest.approx(float(result.deletion[0]), abs=1e-6)
    assert audit(model, IMAGES[:2], progress=False).deletion is None
    with pytest.raises(ExplainError, match="deletion_steps must be a whole number of at least 1"):
        audit(model, IMAGES[:2], deletion_steps=0, progress=False)

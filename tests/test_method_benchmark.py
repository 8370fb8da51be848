"""benchmark_methods: one table of every method's deletion and insertion areas and time per map,
on a model whose right answer is known (it reads only the top-left quadrant)."""

import math

import pytest
import torch

from tests.models import QuadrantCNN, random_image
from xai_widgets import benchmark_methods, explain
from xai_widgets.engine import ExplainError, MethodError
from xai_widgets.engine.faithfulness import deletion_curve, insertion_curve


def bright_images(count: int = 2, size: int = 32) -> list[torch.Tensor]:
    return [0.5 + 0.5 * random_image(seed, size=size) for seed in range(count)]


@pytest.fixture(scope="module")
def table():
    methods = ["gradcam", "hirescam", "saliency", "gradxinput"]
    return benchmark_methods(QuadrantCNN(), bright_images(), methods=methods, steps=8, baseline="zero")


def test_maps_on_the_read_quadrant_beat_a_random_map(table):
    noise = table.row("random")
    for method in ("hirescam", "saliency", "gradxinput"):
        row = table.row(method)
        assert row.images == 2 and row.failed == 0
        assert row.deletion_auc < noise.deletion_auc, method
        assert row.insertion_auc > noise.insertion_auc, method
        assert row.seconds > 0
    assert math.isnan(noise.seconds)
    assert [row.method for row in table.rows] == ["gradcam", "hirescam", "saliency", "gradxinput", "random"]


def test_grad_cam_cannot_place_what_the_model_reads_and_hirescam_can(table):
    # Grad-CAM averages each channel's gradient over the whole map, so its map follows the
    # activations everywhere; HiResCAM keeps the gradient's place: only the read quadrant
    gradcam, hirescam = table.row("gradcam"), table.row("hirescam")
    assert hirescam.deletion_auc < gradcam.deletion_auc - 0.1
    assert hirescam.insertion_auc > gradcam.insertion_auc + 0.1


def test_a_row_is_the_mean_of_the_curves_of_each_image():
    from xai_widgets.engine import road_curves

    model, images = QuadrantCNN(), bright_images()
    table = benchmark_methods(model, images, methods=["gradcam"], steps=8, baseline="zero")
    curves = []
    for image in images:
        target = int(model(image[None]).argmax())
        attribution = explain(model, image, "gradcam", target=target)
        road = road_curves(model, image, attribution, target)
        curves.append(
            (
                deletion_curve(model, image, attribution, target, steps=8, baseline="zero").auc,
                insertion_curve(model, image, attribution, target, steps=8, baseline="zero").auc,
                road["most"].mean,
            )
        )
    row = table.row("gradcam")
    assert row.deletion_auc == pytest.approx(sum(c[0] for c in curves) / 2, abs=1e-6)
    assert row.insertion_auc == pytest.approx(sum(c[1] for c in curves) / 2, abs=1e-6)
    assert row.road_most == pytest.approx(sum(c[2] for c in curves) / 2, abs=1e-5)
    assert table.targets == [int(model(image[None]).argmax()) for image in images]


def test_given_targets_are_used_and_ranked_rows_put_the_best_first():
    table = benchmark_methods(QuadrantCNN(), bright_images(), methods=["gradcam", "eigencam"], targets=[0, 0], steps=6)
    assert table.targets == [0, 0]
    by_deletion = table.ranked("deletion_auc")
    assert [r.deletion_auc for r in by_deletion] == sorted(r.deletion_auc for r in by_deletion)
    by_insertion = table.ranked("insertion_auc")
    assert [r.insertion_auc for r in by_insertion] == sorted((r.insertion_auc for r in by_insertion), reverse=True)
    assert "random" not in [r.method for r in table.ranked("seconds")]


def test_a_method_the_model_cannot_run_gets_a_row_with_its_reason(table):
    result = benchmark_methods(QuadrantCNN(), bright_images(1), methods=["attention", "gradcam"], steps=4)
    row = result.row("attention")
    assert row.images == 0 and row.failed == 1 and math.isnan(row.deletion_auc)
    assert "attention" in row.error.lower()
    assert "Attention" in result.table() and row.error in result.table()
    assert result.row("gradcam").images == 1


def test_the_default_set_is_every_fast_method_for_any_model():
    result = benchmark_methods(QuadrantCNN(), bright_images(1), steps=2)
    names = [row.method for row in result.rows]
    assert {"gradcam", "saliency", "layercam"} <= set(names)
    assert not {"rise", "occlusion", "kernel_shap", "attention"} & set(names)
    assert names[-1] == "random"


def test_the_table_writes_a_csv_with_a_line_a_method(table, tmp_path):
    path = table.to_csv(tmp_path / "methods.csv")
    lines = path.read_text().splitlines()
    assert lines[0].startswith("method,label,images,deletion_auc,insertion_auc,road_most,road_least,seconds")
    assert len(lines) == 1 + len(table.rows)
    assert lines[1].startswith("gradcam,Grad-CAM,2,")


@pytest.mark.parametrize(
    "arguments, error, message",
    [
        (dict(images=[]), ExplainError, "non-empty list of images"),
        (dict(targets=[1]), ExplainError, "targets has 1 entries for 2 images"),
        (dict(methods=[]), ExplainError, "methods is empty"),
        (dict(methods=["gradcam", "no-such"]), MethodError, "no-such"),
    ],
)
def test_bad_arguments_are_named(arguments, error, message):
    arguments = {"images": bright_images(), **arguments}
    with pytest.raises(error, match=message):
        benchmark_methods(QuadrantCNN(), **arguments)


def test_the_model_comes_back_untouched():
    model = QuadrantCNN().train()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    with pytest.warns(UserWarning, match="training mode"):
        benchmark_methods(model, bright_images(1), methods=["gradcam", "saliency"], steps=2)
    assert model.training
    assert all(torch.equal(model.state_dict()[name], value) for name, value in before.items())
    assert all(p.grad is None for p in model.parameters())


def test_the_chart_has_a_bar_a_method_and_the_random_line(table, tmp_path):
    from PIL import Image

    from xai_widgets.reports import method_chart

    figure = method_chart(table, tmp_path / "methods.png")
    deletion, insertion, road_most, road_least, seconds = figure.axes
    labels = ["Grad-CAM", "HiResCAM", "Saliency", "Gradient × input"]
    assert [t.get_text() for t in deletion.get_yticklabels()] == labels
    assert [bar.get_width() for bar in deletion.patches] == pytest.approx(
        [table.row(m).deletion_auc for m in ("gradcam", "hirescam", "saliency", "gradxinput")]
    )
    assert deletion.lines[0].get_xdata()[0] == pytest.approx(table.row("random").deletion_auc)
    assert insertion.lines[0].get_xdata()[0] == pytest.approx(table.row("random").insertion_auc)
    assert road_most.lines[0].get_xdata()[0] == pytest.approx(table.row("random").road_most)
    assert not seconds.lines
    assert Image.open(tmp_path / "methods.png").size[0] == 1600


def test_the_chart_leaves_the_notebooks_matplotlib_backend_alone(table):
    import matplotlib

    from xai_widgets.reports import method_chart

    before = matplotlib.get_backend()
    matplotlib.use("svg")  # stands for a notebook's inline backend
    try:
        method_chart(table)
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)


def test_the_chart_shows_itself_as_a_png_in_a_notebook(table):
    import io

    from PIL import Image

    from xai_widgets.reports import method_chart

    png = method_chart(table)._repr_png_()
    assert Image.open(io.BytesIO(png)).size == (1600, int(100 * (0.45 * 4 + 1.6)))

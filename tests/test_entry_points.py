"""Every public entry point takes the same model arguments, checked by one function."""

import inspect

import pytest

from xai_widgets import Compare, Explorer, FeatureMaps, Gallery, Session, audit, benchmark_methods, explain
from xai_widgets.audit_job import run_audit
from xai_widgets.engine import cascading_randomisation, faithfulness, grad_cam_batch, random_logit, sensitivity

MODEL_ARGUMENTS = ("model", "transform", "output")


@pytest.mark.parametrize(
    "entry",
    [Session, explain, Explorer, Compare, Gallery, FeatureMaps, audit, benchmark_methods, run_audit],
    ids=lambda e: e.__name__,
)
def test_model_arguments_are_the_same_everywhere(entry):
    parameters = inspect.signature(entry).parameters
    assert all(name in parameters for name in MODEL_ARGUMENTS)
    if entry in (Explorer, Compare, Gallery, FeatureMaps, audit, run_audit):
        assert "labels" in parameters


def test_batched_grad_cam_takes_the_model_arguments_too():
    parameters = inspect.signature(grad_cam_batch).parameters
    assert all(name in parameters for name in MODEL_ARGUMENTS)


@pytest.mark.parametrize(
    "metric", [faithfulness, cascading_randomisation, sensitivity, random_logit], ids=lambda e: e.__name__
)
def test_the_metrics_take_the_model_arguments_and_refuse_a_plain_function(metric):
    parameters = inspect.signature(metric).parameters
    assert list(parameters)[:2] == ["model", "image"]
    assert all(name in parameters for name in (*MODEL_ARGUMENTS, "method", "layer", "target", "seed"))
    with pytest.raises(TypeError, match="must be a torch.nn.Module, not function; wrap a plain function"):
        metric(lambda x: x, None)


def test_heads_take_their_model_arguments_from_the_explorer():
    parameters = inspect.signature(Compare.heads).parameters
    assert list(parameters)[:1] == ["explorer"]


@pytest.mark.parametrize(
    "entry",
    [Session, Explorer, Compare, explain, Gallery, FeatureMaps, audit, benchmark_methods],
    ids=lambda e: e.__name__,
)
def test_one_check_refuses_a_plain_function(entry):
    with pytest.raises(TypeError, match="must be a torch.nn.Module, not function; wrap a plain function"):
        entry(lambda x: x, None)

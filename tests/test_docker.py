"""The workshop image (Dockerfile): its GPU and CPU variants install the same package version
with the same notebooks, and where a Docker daemon answers, the CPU image builds and runs a
notebook offline."""

from __future__ import annotations

import pathlib
import re
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).parent.parent
DOCKERFILE = (REPO / "Dockerfile").read_text()
VERSION = re.search(r'^version = "([^"]+)"$', (REPO / "pyproject.toml").read_text(), flags=re.M).group(1)


def stages() -> dict[str, str]:
    """Stage name → its text (from its FROM line to the next)."""
    parts = re.split(r"^(?=FROM )", DOCKERFILE, flags=re.M)
    return {re.match(r"FROM \S+ AS (\S+)", part).group(1): part for part in parts if part.startswith("FROM ")}


def test_both_variants_build_the_same_workshop_stage():
    found = stages()
    assert set(found) == {"bundle", "gpu-base", "cpu-base", "workshop"}
    assert re.search(r"^ARG VARIANT=gpu$", DOCKERFILE, flags=re.M)
    assert found["workshop"].startswith("FROM ${VARIANT}-base AS workshop")
    assert re.match(r"FROM pytorch/pytorch:[\d.]+-cuda[\d.]+-cudnn\d+-runtime AS gpu-base", found["gpu-base"])
    assert "--index-url https://download.pytorch.org/whl/cpu torch torchvision" in found["cpu-base"]
    # Nothing else in the bases: every install step after them is shared.
    assert found["gpu-base"].count("RUN") == 0 and found["cpu-base"].count("RUN") == 1


def test_the_image_names_this_package_version_and_the_notebooks():
    assert re.search(rf"^ARG XAI_WIDGETS_VERSION={re.escape(VERSION)}$", DOCKERFILE, flags=re.M)
    workshop = stages()["workshop"]
    assert 'pip install --no-cache-dir ".[demo]"' in workshop
    assert "m.version('xai_widgets') == '${XAI_WIDGETS_VERSION}'" in workshop  # checked while building
    assert "COPY notebooks/ notebooks/" in workshop
    assert "COPY --from=bundle /src/xai_widgets/static/ xai_widgets/static/" in workshop
    start = re.search(r"default_url=/lab/tree/(\S+?)\"", workshop).group(1)
    assert (REPO / start).is_file(), start
    assert re.search(r"EXPOSE 8888", workshop) and '"--ip=0.0.0.0"' in workshop


def test_the_readme_says_how_to_build_and_run_each_variant():
    readme = (REPO / "README.md").read_text()
    for command in (
        "docker build -t xai-widgets .",
        "docker run --gpus all -p 8888:8888 xai-widgets",
        "docker build --build-arg VARIANT=cpu -t xai-widgets-cpu .",
        "docker run -p 8888:8888 xai-widgets-cpu",
    ):
        assert command in readme and command in DOCKERFILE


def docker_answers() -> str:
    """'' when a Docker daemon answers here, else why not."""
    if shutil.which("docker") is None:
        return "no docker command on this machine"
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60)
    if probe.returncode != 0:
        lines = [line for line in (probe.stderr or probe.stdout).splitlines() if line.strip()]
        return f"docker is installed but its daemon does not answer ({lines[-1] if lines else 'no output'})"
    return ""


@pytest.mark.slow
def test_the_cpu_image_builds_and_runs_a_notebook_offline(tmp_path):
    why = docker_answers()
    if why:
        pytest.skip(why)
    tag = "xai-widgets-cpu-test"
    subprocess.run(
        ["docker", "build", "--build-arg", "VARIANT=cpu", "-t", tag, str(REPO)], check=True, timeout=3600
    )
    run = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "-e", "XAI_WIDGETS_OFFLINE=1", tag,
         "jupyter", "nbconvert", "--to", "notebook", "--execute", "--stdout", "notebooks/01_quickstart.ipynb"],
        capture_output=True, text=True, timeout=1800,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert '"output_type": "error"' not in run.stdout

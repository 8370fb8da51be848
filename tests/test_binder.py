"""The Binder files agree with the project: the package and extra that postBuild installs exist
in pyproject.toml, torch comes from PyTorch's CPU-only index, Python and Node.js versions fit,
and the notebook README sends Binder users to exists."""

from __future__ import annotations

import os
import pathlib
import re

import pytest

tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")

ROOT = pathlib.Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"


def test_post_build_installs_cpu_torch_then_this_package_with_an_existing_extra():
    script = (BINDER / "postBuild").read_text()
    torch_line = next(line for line in script.splitlines() if "torch" in line and line.startswith("pip install"))
    assert "--index-url https://download.pytorch.org/whl/cpu" in torch_line and "torchvision" in torch_line
    extras = re.findall(r'pip install[^\n]* -e "\.\[(\w+)\]"', script)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert extras and all(extra in project["optional-dependencies"] for extra in extras)
    assert "jupyterlab" in " ".join(project["optional-dependencies"][extras[0]])  # Binder opens JupyterLab
    assert script.index("torch") < script.index('-e ".')  # torch first: the package must not pull CUDA wheels


def test_environment_versions_fit_the_project():
    environment = (BINDER / "environment.yml").read_text()
    python = re.search(r"python=(\d+)\.(\d+)", environment).groups()
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    minimum = re.search(r">=(\d+)\.(\d+)", requires)
    assert tuple(map(int, python)) >= tuple(map(int, minimum.groups()))
    node = int(re.search(r"nodejs=(\d+)", environment).group(1))
    assert node >= 18  # the JS build's toolchain (README: Node.js >= 18)


def test_the_notebook_binder_opens_exists():
    readme = (ROOT / "README.md").read_text()
    named = re.findall(r"On Binder, open `(notebooks/[\w.]+)`", readme)
    assert named and all((ROOT / path).exists() for path in named)


def test_the_start_script_and_the_image_run_kernels_with_the_measured_memory_setting():
    from tests.test_notebooks import MMAP_THRESHOLD

    start = (BINDER / "start").read_text()
    assert start.startswith("#!") and f"export MALLOC_MMAP_THRESHOLD_={MMAP_THRESHOLD}\n" in start
    assert start.rstrip().endswith('exec "$@"') and os.access(BINDER / "start", os.X_OK)
    dockerfile = (BINDER.parent / "Dockerfile").read_text()
    assert f"ENV MALLOC_MMAP_THRESHOLD_={MMAP_THRESHOLD}\n" in dockerfile

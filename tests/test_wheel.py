"""The wheel build bundles the front end (hatch-jupyter-builder runs esbuild) and ships it."""

import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SKIP = {".git", ".venv", "node_modules", "static", "dist", "build", "__pycache__", ".pytest_cache", "artifacts"}


@pytest.mark.slow
def test_wheel_contains_the_freshly_built_bundle(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=lambda _dir, names: [n for n in names if n in SKIP])
    assert not (source / "xai_widgets" / "static").exists()
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(tmp_path / "dist")],
        cwd=source,
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("xai_widgets-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        bundle = archive.read("xai_widgets/static/explorer.js").decode()
        compare = archive.read("xai_widgets/static/compare.js").decode()
        style = archive.read("xai_widgets/static/widgets.css").decode()
        entry_points = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "xai_widgets/widgets/explorer.py" in names
    assert "xai_widgets/engine/session.py" in names
    assert "export" in bundle and "xai-canvas" in bundle  # the anywidget ESM, not a stand-in
    assert "export" in compare and "xai-cell-canvas" in compare
    assert ".xai-explorer" in style and ".xai-legend" in style  # the widgets' _css
    assert not [n for n in names if "node_modules" in n or n.startswith("tests/")]
    assert "xai-widgets = xai_widgets.audit_job.cli:main" in entry_points  # the audit job's console script

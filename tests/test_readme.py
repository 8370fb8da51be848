"""Every Python block of README.md runs as written, in order, offline, with the demo model.

A block that needs the network says so with `<!-- readme-test: skip (reason) -->` on the line
before it; the test checks that such a block is rare and gives its reason."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"(<!-- readme-test: skip \(([^)]+)\) -->\n)?```python\n(.*?)```", re.DOTALL)


def blocks() -> list[tuple[str, str]]:
    """(code, skip reason or "") for each ```python block."""
    return [(match.group(3), match.group(2) or "") for match in BLOCK.finditer(README.read_text())]


def test_the_readme_has_python_blocks_and_skips_only_downloads():
    found = blocks()
    assert len(found) >= 2
    assert [reason for _, reason in found if reason] == ["downloads pretrained weights"]


@pytest.mark.slow
def test_every_readme_block_runs_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the blocks may write files (reports)
    namespace: dict = {"__name__": "readme"}
    ran = 0
    for code, reason in blocks():
        if reason:
            continue
        exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - the README's own code
        ran += 1
    assert ran >= 1
    assert namespace["cam"].shape == (7, 7) and namespace["maps"].shape[0] == len(namespace["images"])
    assert (tmp_path / "report" / "report.html").exists() and len(namespace["result"]) == len(namespace["images"])

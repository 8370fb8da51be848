"""Every checkpoint the project loads itself goes through ``torch.load(..., weights_only=True)``."""

import ast
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[1]
SCANNED = ("xai_widgets", "scripts", "benchmarks")


def unsafe_loads(source: str, name: str = "<string>") -> list[str]:
    """``torch.load`` calls (also as ``load`` imported from torch) without a literal ``weights_only=True``."""
    tree = ast.parse(source, filename=name)
    aliases = {"torch.load"} | {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "torch"
        for alias in node.names
        if alias.name == "load"
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in aliases:
            safe = any(
                k.arg == "weights_only" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in node.keywords
            )
            if not safe:
                found.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_the_scanner_sees_unsafe_loads():
    assert unsafe_loads("import torch\ntorch.load('m.pt')\ntorch.load('m.pt', weights_only=True)") == [
        "<string>:2: torch.load('m.pt')"
    ]
    assert len(unsafe_loads("from torch import load as L\nL('m.pt', weights_only=False)")) == 1


def test_every_torch_load_uses_weights_only():
    files = [path for folder in SCANNED for path in sorted((REPO / folder).rglob("*.py"))]
    assert any(path.name == "demo.py" for path in files)  # the demo's checkpoint is among them
    found = [hit for path in files for hit in unsafe_loads(path.read_text(), str(path.relative_to(REPO)))]
    assert found == [], "torch.load without weights_only=True:\n" + "\n".join(found)

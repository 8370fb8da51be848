"""README's Troubleshooting table is the catalogue's failing cases, as scripts/troubleshooting.py prints them."""

import importlib.util
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[1]


def load_script():
    spec = importlib.util.spec_from_file_location("troubleshooting", REPO / "scripts" / "troubleshooting.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_troubleshooting_is_up_to_date():
    script = load_script()
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Troubleshooting") :]
    start, stop = section.index(script.BEGIN), section.index(script.END) + len(script.END)
    expected = script.table()
    assert section[start:stop] == expected, "README is stale: run `python scripts/troubleshooting.py --write`"
    assert expected.count("\n| ") >= 20  # header + one row per failing case

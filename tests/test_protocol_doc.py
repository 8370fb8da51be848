"""docs/protocol.md lists, for each widget, exactly the traits its class syncs with the browser."""

import pathlib
import re

import anywidget
import pytest

from xai_widgets import Camera, Compare, CompareModels, Concepts, Explorer, FeatureMaps, Gallery, GradCAMSteps

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "protocol.md"


def documented(section: str) -> set[str]:
    """The backticked names in the first column of the table under ``## section``."""
    text = DOC.read_text()
    start = text.index(f"\n## {section}\n")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end != -1 else None]
    return set(re.findall(r"^\| `(\w+)` \|", body, flags=re.MULTILINE))


def synced(cls) -> set[str]:
    """The class's own synced traits (anywidget's and ipywidgets' bookkeeping left out)."""
    return set(cls.class_traits(sync=True)) - set(anywidget.AnyWidget.class_traits(sync=True))


WIDGETS = [Camera, Explorer, Compare, CompareModels, Concepts, Gallery, FeatureMaps, GradCAMSteps]


@pytest.mark.parametrize("cls", WIDGETS, ids=lambda cls: cls.__name__)
def test_the_protocol_table_lists_exactly_the_synced_traits(cls):
    assert documented(cls.__name__) == synced(cls)


def test_the_check_sees_a_missing_trait():
    assert "result" in documented("Explorer") and "cells" not in documented("Explorer")
    assert "cells" in documented("Compare")

"""Class labels are untrusted text: they reach the front end unchanged, as plain strings."""

import pathlib
import re

from tests.models import random_image, tiny_cnn
from xai_widgets import Explorer

EVIL = "<img src=x onerror=alert(1)>"
JS_SOURCES = pathlib.Path(__file__).resolve().parents[1] / "js" / "src"
HTML_SINKS = re.compile(r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|createContextualFragment")


def test_labels_pass_through_unchanged_as_plain_strings():
    labels = [EVIL] + [f'<b>class {i}</b> & "quoted" <script>alert({i})</script>' for i in range(1, 10)]
    widget = Explorer(tiny_cnn(), random_image(0), labels=labels)
    assert widget.labels == labels and all(type(label) is str for label in widget.labels)
    assert [entry["label"] for entry in widget.top_classes] == [labels[e["index"]] for e in widget.top_classes]
    assert widget.get_state()["labels"] == labels  # what is sent to the browser, byte for byte
    widget.close()


def test_the_front_end_never_parses_text_as_html():
    sources = sorted(JS_SOURCES.rglob("*.ts"))
    assert sources, f"no TypeScript sources under {JS_SOURCES}"
    sinks = [
        f"{path.name}: {line.strip()}"
        for path in sources
        for line in path.read_text().splitlines()
        if HTML_SINKS.search(line)
    ]
    assert sinks == [], "HTML sinks in the front end (use textContent):\n" + "\n".join(sinks)

"""The built front end (esbuild output in ``xai_widgets/static``), handed to anywidget as text.

Text rather than a path: anywidget watches a path for changes and its change signal keeps a
strong reference to every widget instance, so a closed widget (with its model and images)
could never be collected.
"""

from __future__ import annotations

import functools
import logging
import pathlib

STATIC = pathlib.Path(__file__).resolve().parent.parent / "static"
log = logging.getLogger(__name__)


@functools.cache
def bundle(name: str) -> str:
    """The contents of ``static/name``, or a stand-in that says how to build it (an ESM that
    shows the message; no style for a missing stylesheet)."""
    path = STATIC / name
    if path.exists():
        return path.read_text(encoding="utf-8")
    message = f"xai_widgets: the front end {path} is missing; build it with `make js` or install from a wheel."
    log.warning(message)
    if name.endswith(".css"):
        return ""
    return f"export default {{ render({{ el }}) {{ el.textContent = {message!r}; }} }};"

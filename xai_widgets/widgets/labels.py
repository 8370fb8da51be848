"""Class names for the widgets: a list (index = class id) or a dict {class id: name}."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional


def check_labels(labels: Any) -> Optional[Any]:
    """``labels`` if it can name classes; a clear TypeError for a string or a non-collection."""
    if labels is None or isinstance(labels, Mapping):
        return labels
    if isinstance(labels, (str, bytes)):
        raise TypeError(
            f"labels={labels!r} is one string; pass a list of class names (index = class id), "
            "e.g. labels=['cat', 'dog'], or a dict {class id: name}."
        )
    try:
        return list(labels)
    except TypeError:
        raise TypeError(
            f"labels must be a list of class names or a dict {{class id: name}}, not {type(labels).__name__}."
        ) from None


def label_list(labels: Any, count: int) -> tuple[list[str], Optional[str]]:
    """A name for each of ``count`` classes (numbered where ``labels`` has none) and a note
    when ``labels`` does not fit the model's classes (``None`` when it fits)."""
    labels = check_labels(labels)
    if labels is None:
        return [f"class {i}" for i in range(count)], None
    if isinstance(labels, Mapping):
        names = {int(key): str(value) for key, value in labels.items()}
        outside = sorted(key for key in names if not 0 <= key < count)
        missing = count - sum(1 for key in names if 0 <= key < count)
        note = None
        if outside or missing:
            parts = [f"{missing} of the model's {count} classes have no name (shown as 'class i')"] if missing else []
            if outside:
                parts.append(f"the ids {outside[:5]} are not classes of this model (0 to {count - 1})")
            note = "labels: " + "; ".join(parts) + "."
        return [names.get(i, f"class {i}") for i in range(count)], note
    names = [str(name) for name in labels]
    note = None
    if len(names) != count:
        note = f"labels has {len(names)} names but the model scores {count} classes; " + (
            "the extra names are not used." if len(names) > count else "the others are shown as 'class i'."
        )
    return [names[i] if i < len(names) else f"class {i}" for i in range(count)], note

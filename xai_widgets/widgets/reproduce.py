"""The Explorer's "Copy code": the headless calls that give the map on screen, as text.

The code names the Explorer's model ``model``, its current image ``image`` and its transform
``transform`` (a comment says which image); run with those three bound it returns the map the
widget shows (``attribution``), and the ``audit``/``export`` pair writes the same map to a
report folder where the state allows it (a class's logit and the method's default parameters).
"""

from __future__ import annotations

from typing import Any

from .target_choice import spec_kind


def reproduce_code(key: dict[str, Any], image_name: str, has_transform: bool, uses_layer: bool) -> str:
    """The Python lines that recompute the map of ``key`` (an Explorer result key)."""
    kind = spec_kind(key.get("target_spec") or {})
    imports = ["explain"]
    transform = "transform" if has_transform else "None"
    target = _target_text(key, kind, imports, transform)
    given = "model, image, transform" + (" and reference" if kind == "similarity" else "")
    lines = [f"# the Explorer's image {image_name!r}; {given} as given to it"]
    subject = "image"
    push = key.get("push") or {}
    if push:
        lines.append("from xai_widgets.engine import push")
        aim = f", toward={push['toward']}" if "toward" in push else ""
        lines.append(
            f"pushed = push(model, image, {push['epsilon']!r}, steps={push['steps']}{aim}, transform={transform}).image"
        )
        subject, transform = "pushed", "None"  # the pushed tensor is a model input already
    arguments = [f"method={key['method']!r}"]
    if uses_layer and key.get("layer"):
        arguments.append(f"layer={key['layer']!r}")
    arguments.append(f"target={target}")
    arguments.append(f"transform={transform}")
    arguments += [f"{name}={value!r}" for name, value in sorted((key.get("params") or {}).items())]
    lines.insert(1, f"from xai_widgets import {', '.join(sorted(set(imports)))}")
    if kind in ("region", "box"):  # picked on the photo, which has the model input's pixels
        lines.insert(2, "from xai_widgets.engine import output_kind, region_at")
        lines.insert(3, f"found = output_kind(model, image, {'transform' if has_transform else 'None'})")
    lines.append(f"attribution = explain(model, {subject}, {', '.join(arguments)})")
    export = _export_lines(key, kind, uses_layer, has_transform)
    return "\n".join(lines + export) + "\n"


def _target_text(key: dict[str, Any], kind: str, imports: list[str], transform: str) -> str:
    spec, index = key.get("target_spec") or {}, key["target"]
    if kind == "probability":
        imports.append("ClassScore")
        return f"ClassScore({index}, probability=True)"
    if kind == "contrast":
        imports.append("Contrast")
        return f"Contrast({index}, {spec.get('other')})"
    if kind == "similarity":
        imports.append("Similarity")
        imports.append("embedding_of")
        # reference: the image or embedding vector given to the Explorer as reference=
        vector = "reference if getattr(reference, 'ndim', 0) == 1"
        return f"Similarity({vector} else embedding_of(model, reference, {transform}))"
    if kind == "box":
        imports.append("Box")
        return f"Box(found.detections[{index}]['box'], found.detections[{index}]['label'])"
    if kind == "region":
        if "x" not in spec:
            imports.append("Region")
            return f"Region({index}, found.predicted == {index})"
        x, y = spec["x"], spec["y"]
        if "x2" in spec:
            rectangle = (x, y, spec["x2"], spec["y2"])
            return f"region_at(found.predicted, {(x + rectangle[2]) / 2!r}, {(y + rectangle[3]) / 2!r}, {rectangle!r})"
        return f"region_at(found.predicted, {x!r}, {y!r})"
    return str(index)


def _export_lines(key: dict[str, Any], kind: str, uses_layer: bool, has_transform: bool) -> list[str]:
    """``audit`` + ``export`` of the same map, for a class's logit with default parameters."""
    if kind != "class" or key.get("params") or key.get("push"):
        return []
    layer = f", layer={key['layer']!r}" if uses_layer and key.get("layer") else ""
    transform = ", transform=transform" if has_transform else ""
    return [
        "# the same map in a report folder (overlay PNG, raw map, CSV, HTML):",
        "from xai_widgets import audit, export",
        f"result = audit(model, [image], method={key['method']!r}{layer}, target={key['target']}{transform})",
        'export(result, "explorer_report")',
    ]

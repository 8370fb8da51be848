"""mkdocs hook: the method catalogue page is written from the engine's registry at build time,
so every method the engine offers is listed with its paper."""

from __future__ import annotations

PLACEHOLDER = "<!-- method catalogue -->"


def catalogue() -> str:
    from xai_widgets.engine import all_methods

    rows = [
        "| method | name | paper | layer | signed | many passes | parameters |",
        "|---|---|---|---|---|---|---|",
    ]
    for method in all_methods():
        params = ", ".join(f"`{p.name}`={p.default!r}" for p in method.params) or "—"
        rows.append(
            f"| {method.label} | `{method.name}` | {method.reference or '—'} | {'yes' if method.uses_layer else 'no'} | "
            f"{'yes' if method.signed else 'no'} | {'yes' if method.slow else 'no'} | {params} |"
        )
    return "\n".join(rows)


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 - mkdocs' hook signature
    return markdown.replace(PLACEHOLDER, catalogue()) if PLACEHOLDER in markdown else markdown

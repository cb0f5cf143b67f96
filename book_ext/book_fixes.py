"""Small Sphinx extension with the book's fixes to its toolchain (Jupyter Book 1.0.4).

- sphinx-thebe 0.3.1 registers its inline configuration script once per "env-before-read-docs"
  event, which fires more than once in a full build: every page then declared `const
  THEBE_JS_URL` twice and the browser reported a SyntaxError. We drop repeated scripts.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _dedupe_scripts(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                    doctree: object) -> None:
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in context.get("script_files", []):
        # An inline script is registered with filename None once and "" the other time.
        key = (str(getattr(script, "filename", script) or ""),
               str(getattr(script, "attributes", {}).get("body", "")))
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _dedupe_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


"""Small Sphinx extension with the book's fixes to its toolchain (Jupyter Book 1.0.4).

- sphinx-thebe 0.3.1 registers its inline configuration script once per "env-before-read-docs"
  event, which fires more than once in a full build: every page then declared `const
  THEBE_JS_URL` twice and the browser reported a SyntaxError. We drop repeated scripts.
- pydata-sphinx-theme 0.17 puts `fontawesome.js` (1.5 MB, the SVG version of Font Awesome,
  there "so that users can add custom icons") on every page, although its own stylesheet
  already draws every icon the book uses from the Font Awesome web fonts. It was half of the
  weight of a text page. The script tag sits in a template macro, so we take it out of the
  written pages when the build finishes, and the file with it.

Each fix checks that it still applies and stops the build with an error when it does not (a
theme or Sphinx update changed what it edits): a fix that silently stops working would leave
pages loading a deleted file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError


def _dedupe_scripts(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                    doctree: object) -> None:
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in context.get("script_files", []):
        if not isinstance(script, str) and not (hasattr(script, "filename")
                                                and hasattr(script, "attributes")):
            raise ExtensionError(
                f"book_fixes: a script entry of {pagename} is a {type(script).__name__} without "
                "the filename/attributes that the de-duplication reads (Sphinx changed its "
                "_JavaScript class): update book_ext/book_fixes.py")
        # An inline script is registered with filename None once and "" the other time.
        key = (str(getattr(script, "filename", script) or ""),
               str(getattr(script, "attributes", {}).get("body", "")))
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    context["script_files"] = unique


_FONTAWESOME_JS = re.compile(
    r'\s*<!-- So that users can add custom icons -->'
    r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js(\?digest=\w+)?"></script>')


def _drop_fontawesome_js(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    scripts = sorted((out / "_static" / "scripts").glob("fontawesome.js*"))
    matched, still = 0, []
    for page in out.rglob("*.html"):
        if "_static" in page.relative_to(out).parts:
            continue  # the theme's Jinja macros copied as static files, not pages
        text = page.read_text(encoding="utf-8")
        slim, n = _FONTAWESOME_JS.subn("", text)
        if n:
            matched += 1
            page.write_text(slim, encoding="utf-8")
        if "_static/scripts/fontawesome.js" in slim:
            still.append(page.relative_to(out))
    if still:
        raise ExtensionError(
            f"book_fixes: {len(still)} pages (first: {still[0]}) load fontawesome.js with a tag "
            "the fix's pattern no longer matches (pydata-sphinx-theme changed its template); "
            "the file is kept. Update _FONTAWESOME_JS in book_ext/book_fixes.py")
    if not scripts and not matched:
        raise ExtensionError(
            "book_fixes: the theme no longer ships _static/scripts/fontawesome.js and no page "
            "loads it: the fix no longer applies, remove _drop_fontawesome_js")
    for leftover in scripts:
        leftover.unlink()


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _dedupe_scripts)
    app.connect("build-finished", _drop_fontawesome_js)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


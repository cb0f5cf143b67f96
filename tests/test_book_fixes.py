"""book_ext/book_fixes.py: each fix does its job, and stops the build when it no longer applies
(a theme or Sphinx update changed what it edits) instead of leaving pages that load a deleted
file."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from sphinx.errors import ExtensionError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book_ext"))
import book_fixes  # noqa: E402

TAG = ('\n    <!-- So that users can add custom icons -->\n'
       '  <script defer src="../_static/scripts/fontawesome.js?digest=8878045cc6db502f8baf">'
       '</script>')


def _site(tmp_path: Path, page: str, with_script: bool = True) -> SimpleNamespace:
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "02.html").write_text(f"<head>{page}</head>", encoding="utf-8")
    (tmp_path / "index.html").write_text("<head></head>", encoding="utf-8")
    if with_script:
        (tmp_path / "_static" / "scripts").mkdir(parents=True)
        for name in ("fontawesome.js", "fontawesome.js.map"):
            (tmp_path / "_static" / "scripts" / name).write_text("x")
    return SimpleNamespace(outdir=str(tmp_path), builder=SimpleNamespace(format="html"))


def test_fontawesome_tag_and_file_are_removed(tmp_path: Path) -> None:
    app = _site(tmp_path, TAG)
    book_fixes._drop_fontawesome_js(app, None)  # type: ignore[arg-type]
    assert (tmp_path / "chapters" / "02.html").read_text() == "<head></head>"
    assert not list((tmp_path / "_static" / "scripts").iterdir())


def test_a_changed_tag_fails_the_build_and_keeps_the_file(tmp_path: Path) -> None:
    changed = TAG.replace("So that users can add custom icons", "Custom icons")
    app = _site(tmp_path, changed)
    with pytest.raises(ExtensionError, match="no longer matches"):
        book_fixes._drop_fontawesome_js(app, None)  # type: ignore[arg-type]
    assert (tmp_path / "_static" / "scripts" / "fontawesome.js").exists()


def test_a_theme_without_the_script_fails_the_build(tmp_path: Path) -> None:
    app = _site(tmp_path, "", with_script=False)
    with pytest.raises(ExtensionError, match="no longer applies"):
        book_fixes._drop_fontawesome_js(app, None)  # type: ignore[arg-type]


def test_other_builders_and_failed_builds_are_left_alone(tmp_path: Path) -> None:
    app = _site(tmp_path, TAG)
    book_fixes._drop_fontawesome_js(app, RuntimeError("build failed"))  # type: ignore[arg-type]
    app.builder.format = "latex"
    book_fixes._drop_fontawesome_js(app, None)  # type: ignore[arg-type]
    assert "fontawesome.js" in (tmp_path / "chapters" / "02.html").read_text()


def test_repeated_scripts_are_dropped_once_each() -> None:
    def js(filename: str | None, body: str = "") -> SimpleNamespace:
        return SimpleNamespace(filename=filename, attributes={"body": body})

    inline_a, inline_b = js(None, "const THEBE_JS_URL = 1"), js("", "const THEBE_JS_URL = 1")
    context = {"script_files": [js("a.js"), inline_a, js("a.js"), inline_b, "b.js", "b.js"]}
    book_fixes._dedupe_scripts(None, "p", "page.html", context, None)  # type: ignore[arg-type]
    kept = context["script_files"]
    assert len(kept) == 3 and kept[1] is inline_a and kept[2] == "b.js"


def test_a_script_entry_of_an_unknown_shape_fails_the_build() -> None:
    context = {"script_files": [object()]}
    with pytest.raises(ExtensionError, match="_JavaScript"):
        book_fixes._dedupe_scripts(None, "p", "page.html", context, None)  # type: ignore[arg-type]

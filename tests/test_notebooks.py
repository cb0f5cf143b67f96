"""Checks on the notebooks as stored in git.

nbval re-runs each notebook and compares fresh outputs with the stored ones, so a notebook stored
without outputs would pass while testing nothing. These tests make sure every notebook is stored
executed top to bottom, with no error, that its varying outputs are backed by asserts, and that
no warning is left unexplained in its outputs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for d in ("chapters", "labs") for p in (ROOT / d).glob("*.ipynb"))


def _code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebook found under chapters/ or labs/"


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT)))
def notebook(request: pytest.FixtureRequest) -> tuple[Path, nbformat.NotebookNode]:
    path: Path = request.param
    return path, nbformat.read(path, as_version=4)


def test_valid_and_uses_the_course_kernel(notebook: tuple[Path, nbformat.NotebookNode]) -> None:
    path, nb = notebook
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", path


def test_stored_executed_top_to_bottom(notebook: tuple[Path, nbformat.NotebookNode]) -> None:
    path, nb = notebook
    cells = _code_cells(nb)
    assert cells, f"{path.name}: no code cells"
    counts = [c.execution_count for c in cells]
    assert None not in counts, f"{path.name}: cells never executed at {counts.index(None)}"
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts} are not 1..n: run it with `make execute`"
    )
    errors = [c.execution_count for c in cells for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: stored error outputs in cells {errors}"
    with_output = sum(1 for c in cells if c.outputs)
    assert with_output >= len(cells) // 2, f"{path.name}: most code cells show nothing"


def test_no_stored_widget_state(notebook: tuple[Path, nbformat.NotebookNode]) -> None:
    path, nb = notebook
    assert "widgets" not in nb.metadata, (
        f"{path.name} stores ipywidgets state (useless without a kernel, heavy in the book): "
        "re-run it with `make execute`, which strips it"
    )


def test_first_code_cell_sets_up_device_profile_and_seed(
    notebook: tuple[Path, nbformat.NotebookNode],
) -> None:
    path, nb = notebook
    first = _code_cells(nb)[0]
    assert "cnnlab.train.setup(" in first.source, f"{path.name}: first cell must call setup()"
    assert "pip" in first.source, f"{path.name}: first cell must install cnnlab when missing"
    # On Colab the install line is what makes the notebook run from its first cell: it must
    # name the repository that _config.yml (and so every launch button) points at.
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert f"cnnlab @ git+{url}" in first.source, (
        f"{path.name}: the first cell must install cnnlab from {url}, the book's repository")


def _assert_statements(source: str) -> int:
    """How many ``assert`` statements the cell's code holds (IPython magics and shell lines
    are blanked first; a comment, a string or ``assert_close`` is not an assert statement).
    A call of ``assert_trained(...)``, lab 6's assert that stands aside after an interrupted
    training run, counts as one."""
    lines = ["pass" if line.lstrip().startswith(("%", "!")) else line
             for line in source.splitlines()]
    tree = ast.parse("\n".join(lines))
    return sum(isinstance(node, ast.Assert)
               or (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                   and node.func.id == "assert_trained")
               for node in ast.walk(tree))


def test_assert_statements_are_counted_as_such() -> None:
    assert _assert_statements("assert x > 0") == 1
    assert _assert_statements("if ok:\n    assert a, 'msg'\nassert b") == 2
    assert _assert_statements("# assert x\ns = 'assert'\ntorch.testing.assert_close(a, b)") == 0
    assert _assert_statements("%time x = 1\nassert x") == 1
    assert _assert_statements("assert_trained(acc > 0.9)\nlabcheck.assert_trained(x)") == 1


def test_varying_outputs_are_backed_by_asserts(
    notebook: tuple[Path, nbformat.NotebookNode],
) -> None:
    path, nb = notebook
    cells = _code_cells(nb)
    for i, cell in enumerate(cells):
        if "nbval-ignore-output" not in cell.metadata.get("tags", []):
            continue
        nearby = sum(_assert_statements(c.source) for c in cells[i : i + 3])
        assert nearby, (
            f"{path.name}, cell [{cell.execution_count}]: output ignored by nbval but no assert "
            "statement in it or the next two code cells backs what it shows"
        )


def test_no_unexplained_warnings(notebook: tuple[Path, nbformat.NotebookNode]) -> None:
    path, nb = notebook
    for cell in _code_cells(nb):
        if "warning-explained" in cell.metadata.get("tags", []):
            continue
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stderr":
                assert "Warning" not in out.text, (
                    f"{path.name}, cell [{cell.execution_count}] printed a warning: "
                    f"{out.text[:300]!r}; fix it or explain it and tag the cell warning-explained"
                )


def _figure_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    """Code cells that show one matplotlib figure (an image, not an instrument's HTML view)."""
    cells = []
    for cell in _code_cells(nb):
        shown = [o for o in cell.outputs if o.output_type in ("display_data", "execute_result")]
        if (len(shown) == 1 and any(k.startswith("image/") for k in shown[0].data)
                and "text/html" not in shown[0].data):
            cells.append(cell)
    return cells


def test_chapter_figures_have_numbered_captions() -> None:
    names: dict[str, str] = {}
    problems = []
    for path in (p for p in NOTEBOOKS if p.parent.name == "chapters"):
        nb = nbformat.read(path, as_version=4)
        prefix = f"fig-{path.name[:2]}-"
        for cell in _figure_cells(nb):
            figure = cell.metadata.get("mystnb", {}).get("figure", {})
            name, caption = figure.get("name", ""), str(figure.get("caption", "")).strip()
            where = f"{path.name}, cell [{cell.execution_count}]"
            if not name.startswith(prefix) or not caption:
                problems.append(f"{where}: needs metadata mystnb.figure with a name "
                                f"{prefix}... and a caption (got {figure!r})")
            elif name in names:
                problems.append(f"{where}: figure name {name} already used in {names[name]}")
            elif "\n" in caption:
                problems.append(f"{where}: the caption of {name} must be one paragraph")
            names[name] = path.name
    assert names, "no chapter figure found"
    assert not problems, "\n".join(problems)


def test_full_profile_table_states_no_time_nobody_measured() -> None:
    """docs/teaching.md's full-profile table is the one `make full` writes: one row per notebook,
    and wall times only where a GPU run produced them."""
    text = (ROOT / "docs" / "teaching.md").read_text()
    begin, end = "<!-- make full: table begins -->", "<!-- make full: table ends -->"
    assert begin in text and end in text, "docs/teaching.md lost the markers `make full` writes in"
    block = text.split(begin, 1)[1].split(end, 1)[0]
    rows = [line for line in block.splitlines() if line.startswith("| `")]
    assert sorted(r.split("`")[1] for r in rows) == sorted(
        str(p.relative_to(ROOT)) for p in NOTEBOOKS), "re-run `make full`: notebooks changed"
    if "without a GPU" in block:
        assert all("| not measured | not measured |" in r for r in rows), (
            "the table claims times from a machine without a GPU")
    else:
        note = block.strip().splitlines()[0]
        assert note.startswith("Written by") and "make full" in note and " on one " in note, (
            "the table must say what wrote it and on which GPU")


def test_architecture_chapters_show_a_diagram_drawn_by_cnnlab() -> None:
    """Chapters 06-13 introduce architectures and mechanisms: each shows at least one picture
    drawn by cnnlab from the model or the operation itself (``cnnlab.diagrams``/``draw_model``),
    stored as a captioned figure."""
    import re

    missing = []
    chapters = [p for p in NOTEBOOKS if p.parent.name == "chapters" and "06" <= p.name[:2] <= "13"]
    assert len(chapters) == 8
    for path in chapters:
        nb = nbformat.read(path, as_version=4)
        drawn = [c for c in _figure_cells(nb)
                 if re.search(r"\b(diagrams\.\w+|draw_model)\(", c.source)
                 and c.metadata.get("mystnb", {}).get("figure", {}).get("caption")]
        if not drawn:
            missing.append(path.name)
    assert not missing, f"no captioned cnnlab diagram in: {missing}"

"""tools/run_notebooks.py, the runner behind make test-matrix, test-smoke and full: it passes each
setting to a fresh kernel, reports a failing cell with its error, collects glued values, and
writes its table between docs/teaching.md's markers."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import run_notebooks as rn  # noqa: E402


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)
    return path


def test_settings_reach_the_kernel_and_failures_name_their_cell(tmp_path: Path) -> None:
    good = _notebook(tmp_path / "good.ipynb",
                     "import os\nfrom myst_nb import glue",
                     "glue('seed', int(os.environ['CNNLAB_SEED']) * 10)\n"
                     "assert os.environ['OMP_NUM_THREADS'] == '4'")
    bad = _notebook(tmp_path / "bad.ipynb", "x = 1", "# the second cell\nassert x == 2, 'x is 1'")
    settings = rn.matrix((2,), (4,))[0]
    runs = rn.run_all([(good, settings), (bad, settings)], jobs=2, echo=False)
    assert [r.ok for r in runs] == [True, False]
    assert runs[0].glued == {"seed": "20"}
    assert "code cell 2" in runs[1].error and "AssertionError: x is 1" in runs[1].error
    assert rn.matrix() == [rn.matrix((s,), (t,))[0] for s in (0, 1, 2) for t in (1, 4)]


def test_table_goes_between_the_markers(tmp_path: Path) -> None:
    page = tmp_path / "teaching.md"
    page.write_text(f"before\n{rn.BEGIN}\nold table\n{rn.END}\nafter\n")
    run = rn.Run("chapters/x.ipynb", {}, ok=True, seconds=12.3, glued={"acc": "0.97"})
    rn.write_table(page, rn.table([run], "Written by a test."))
    text = page.read_text()
    assert text.startswith("before\n") and text.endswith(f"{rn.END}\nafter\n")
    assert "old table" not in text and "| `chapters/x.ipynb` | 12 s | acc = 0.97 |" in text
    assert "In all: chapters 0.2 min." in text
    rows = rn.not_measured(rn.all_notebooks()[:2], "No GPU.").splitlines()
    assert rows[-1].endswith("| not measured | not measured |") and len(rows) == 6


def test_a_timeout_names_the_cell_that_ran_out_of_time(tmp_path: Path) -> None:
    slow = _notebook(tmp_path / "slow.ipynb", "x = 1", "import time\ntime.sleep(60)")
    run = rn.run_one(slow, {}, timeout=5)
    assert not run.ok and run.error.startswith("code cell 2 ('import time')")
    assert "CellTimeoutError" in run.error


def test_the_deadline_stops_a_run_and_starts_no_other(tmp_path: Path) -> None:
    slow = _notebook(tmp_path / "slow.ipynb", "x = 1", "print('half way')",
                     "import time\ntime.sleep(60)")
    later = _notebook(tmp_path / "later.ipynb", "x = 1")
    saved = tmp_path / "saved"
    runs = rn.run_all([(slow, {}), (later, {})], jobs=1, echo=False,
                      deadline=rn.time.time() + 20, save=saved)   # a loaded machine's start-up
    assert [r.stopped for r in runs] == [True, True] and not any(r.ok for r in runs)
    assert runs[0].error.startswith("stopped at the deadline in code cell 3 ('import time')")
    assert runs[0].seconds < 50 and runs[1].error == "not started before the deadline"
    kept = nbformat.read(saved / "slow.ipynb", as_version=4)  # the part that ran, with outputs
    assert kept.cells[1].outputs[0]["text"] == "half way\n"
    assert not (saved / "later.ipynb").exists()
    text = rn.table(runs, "Written by a test.")
    assert "| not finished in the time given (stopped at the deadline in code cell 3" in text
    assert text.index("later.ipynb") < text.index("slow.ipynb")  # rows in book (path) order


def test_a_named_table_replaces_only_its_own_section(tmp_path):
    page = tmp_path / "teaching.md"
    times_begin, times_end = rn.markers("make times")
    page.write_text(f"a\n{rn.BEGIN}\nfull table\n{rn.END}\nb\n{times_begin}\nold\n{times_end}\nc\n")
    rn.write_table(page, "new times\n", "make times")
    text = page.read_text()
    assert "full table" in text and "old" not in text
    assert f"{times_begin}\nnew times\n{times_end}\nc\n" in text



def test_glued_values_are_shortened_for_the_table() -> None:
    assert rn.short("0.9039999842643738") == "0.904"
    assert rn.short("871.5619322883549") == "872"
    assert rn.short("4000") == "4,000" and rn.short("204800") == "204,800"
    assert rn.short("0.0") == "0" and rn.short("6.599998474121094") == "6.6"
    assert rn.short("'3 of 9'") == "3 of 9"

"""Instructor editions of the labs: the student notebooks with the reference solutions filled in.

Usage: python tools/instructor.py [--execute] [--solutions DIR] [--out DIR] labs/*.ipynb

The student notebook ``labs/labNN_*.ipynb`` is the one source; it holds no solution. Every cell
where a learner writes an answer carries its task id in its metadata,
``{"cnnlab": {"task": "labNN/name"}}``. The reference solutions live in ``solutions/labNN.py``,
one section per task, each opened by a line ``# %% task: labNN/name``. This script copies each
notebook to ``--out`` (default ``_build/instructor``) with every task cell replaced by its
section, and with ``--execute`` runs it (quick profile) so that every checker shows its ✓.

It also gives the test suite two functions: :func:`leaks` (does a student notebook contain any
line of a solution?) and :func:`sections`. To move the solutions out of the public repository,
keep the same files elsewhere and pass ``--solutions``.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path

MARK = re.compile(r"^# %% task: (\S+)\s*$", re.MULTILINE)
# Lines too generic to count as giving an answer away when they occur in a student notebook.
GENERIC = re.compile(r"^(def |class |return (None|model|out|dx|grad)$|import |from |@|#|\"\"\"|"
                     r"with torch\.no_grad\(\):|[\w, ]+ = [\w.]+$)")


def sections(path: Path) -> dict[str, str]:
    """``{task id: code}`` of a solutions file (the text after each ``# %% task:`` line)."""
    text = Path(path).read_text(encoding="utf-8")
    marks = list(MARK.finditer(text))
    out = {}
    for mark, following in zip(marks, marks[1:] + [None], strict=True):
        end = following.start() if following else len(text)
        out[mark.group(1)] = text[mark.end():end].strip("\n") + "\n"
    return out


def _cells(notebook: Path) -> list[dict]:
    return json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]


def task_cells(notebook: Path) -> dict[str, int]:
    """``{task id: cell index}`` of a notebook's answer cells."""
    found = {}
    for i, cell in enumerate(_cells(notebook)):
        task = cell.get("metadata", {}).get("cnnlab", {}).get("task")
        if task:
            found[task] = i
    return found


def _significant(code: str) -> list[str]:
    """The lines of a solution that would give it away: no signatures, docstrings, comments."""
    lines, in_doc = [], False
    for raw in code.splitlines():
        line = raw.split("  #")[0].strip()
        if line.startswith('"""'):
            in_doc = not (line.count('"""') >= 2) and not in_doc
            continue
        if in_doc or len(line) < 14 or GENERIC.match(line):
            continue
        lines.append(re.sub(r"\s+", "", line))
    return lines


def leaks(notebook: Path, solutions: Path) -> list[str]:
    """Where a student notebook gives a reference solution away; empty when it does not."""
    problems = []
    cells = _cells(notebook)
    texts = [re.sub(r"\s+", "", "".join(c.get("source", ""))) for c in cells]
    for task, code in sections(solutions).items():
        for line in _significant(code):
            for i, text in enumerate(texts):
                if line in text:
                    problems.append(f"{Path(notebook).name} cell {i}: line of {task}'s "
                                    f"solution: {line}")
    for i, cell in enumerate(cells):
        tags = cell.get("metadata", {}).get("tags", [])
        source = "".join(cell.get("source", ""))
        if "solution" in tags or re.search(r"def \w+_(reference|answer)\b", source):
            problems.append(f"{Path(notebook).name} cell {i}: a reference solution cell")
    return problems


def build(notebook: Path, solutions: Path, out_dir: Path, execute: bool = False) -> Path:
    """Write the instructor edition of ``notebook`` into ``out_dir``; return its path."""
    nb = json.loads(Path(notebook).read_text(encoding="utf-8"))
    answers = sections(solutions)
    cells = task_cells(notebook)
    missing = set(cells) - set(answers)
    if missing:
        raise SystemExit(f"{notebook}: no solution for {sorted(missing)} in {solutions}")
    for task, index in cells.items():
        cell = nb["cells"][index]
        cell["source"] = answers[task].splitlines(keepends=True)
        cell["outputs"], cell["execution_count"] = [], None
        cell["metadata"] = copy.deepcopy(cell["metadata"])
        cell["metadata"].setdefault("tags", []).append("instructor-solution")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / Path(notebook).name
    target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if execute:
        sys.path.insert(0, str(Path(__file__).parent))
        from execute import execute as run

        seconds = run(target)
        print(f"{target}: executed in {seconds:.1f} s")
    return target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--solutions", type=Path, default=Path("solutions"))
    parser.add_argument("--out", type=Path, default=Path("_build/instructor"))
    parser.add_argument("--execute", action="store_true")
    args = parser.parse_args(argv)
    for notebook in args.notebooks:
        lab = notebook.stem.split("_")[0]
        solutions = args.solutions / f"{lab}.py"
        if not solutions.exists():
            print(f"{notebook}: no {solutions}, skipped")
            continue
        target = build(notebook, solutions, args.out, execute=args.execute)
        print(f"{notebook} -> {target} ({len(task_cells(notebook))} solutions filled in)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

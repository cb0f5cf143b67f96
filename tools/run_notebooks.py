"""Run notebooks top to bottom in fresh kernels under given settings; report what ended and how.

Usage:
    python tools/run_notebooks.py [NOTEBOOK ...] [--set KEY=VALUE ...] [--matrix]
                                  [--jobs N] [--table FILE] [--timeout S]

Nothing is written back to the notebooks: each runs from a copy, outputs cleared, in an empty
temporary folder (as on Colab), in the ``python3`` kernel, which inherits this process's
environment plus the ``--set`` variables. Only "ends without an error" is checked, not outputs.

``--deadline S`` stops every run still going S seconds after the start (the cell running then is
interrupted) and starts none after it: a machine lent for a fixed time still returns a table, in
which such a run reads "not finished in the time given" and names the cell it stopped in.
``--save DIR`` writes each executed notebook, outputs and all (a stopped one up to where it
stopped), to ``DIR``.

``--matrix`` runs every notebook for each ``CNNLAB_SEED`` in 0, 1, 2 and each thread count
(``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS``) in 1, 4 (``make test-matrix``); ``--seeds`` and
``--threads`` narrow it. ``--case NOTEBOOK:SEED:THREADS`` (repeatable) runs single
cells of that matrix instead (the fixed subset ``make test`` runs). ``--table`` writes a Markdown
table of wall times and the values each notebook glues (``myst_nb.glue``: the page's headline
numbers); with ``--gpu-only`` (``make full``) nothing runs on a machine without CUDA and every
row of the table says "not measured", so that no GPU time is ever stated that nobody measured.
The exit status is 1 if any run failed; each failure is printed with the cell and the error.
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
SEEDS = (0, 1, 2)
THREADS = (1, 4)


@dataclass
class Run:
    """One notebook run: its settings, whether it ended, its wall time and what it glued."""

    notebook: str
    settings: dict[str, str]
    ok: bool = False
    seconds: float = 0.0
    error: str = ""
    glued: dict[str, str] = field(default_factory=dict)
    stopped: bool = False  # stopped at the deadline: neither ended nor failed

    @property
    def label(self) -> str:
        shown = {k: v for k, v in self.settings.items() if k != "MKL_NUM_THREADS"}
        return f"{self.notebook} [{' '.join(f'{k}={v}' for k, v in shown.items())}]"


def all_notebooks() -> list[Path]:
    """Every chapter and lab, in book order."""
    return sorted(p for d in ("chapters", "labs") for p in (ROOT / d).glob("*.ipynb"))


def matrix(seeds: tuple[int, ...] = SEEDS, threads: tuple[int, ...] = THREADS
           ) -> list[dict[str, str]]:
    """The seed x thread settings, as environment variables."""
    return [{"CNNLAB_SEED": str(s), "OMP_NUM_THREADS": str(t), "MKL_NUM_THREADS": str(t)}
            for s, t in itertools.product(seeds, threads)]


def _glued(nb: nbformat.NotebookNode) -> dict[str, str]:
    values = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                text = next((v for k, v in out.get("data", {}).items()
                             if k.endswith("text/plain")), "")
                values[name] = str(text).strip()
    return values


def run_one(path: Path, settings: dict[str, str], timeout: int = 900,
            deadline: float | None = None, save: Path | None = None) -> Run:
    """Run ``path`` once in a fresh kernel with ``settings`` added to the environment; no cell
    runs past ``deadline`` (a ``time.time()`` value), and the executed notebook is written into
    the folder ``save`` when one is given."""
    result = Run(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path), settings)
    if deadline is not None and time.time() >= deadline:
        result.stopped, result.error = True, "not started before the deadline"
        return result
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    os.environ.update(settings)

    def cell_timeout(cell: nbformat.NotebookNode) -> int:
        if deadline is None:
            return timeout
        return max(1, min(timeout, math.ceil(deadline - time.time())))  # not before it

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nbrun-") as folder:
        started: list[int] = []  # index in nb.cells of each cell as it starts
        client = NotebookClient(nb, timeout=timeout, timeout_func=cell_timeout,
                                kernel_name="python3",
                                resources={"metadata": {"path": folder}},
                                on_cell_start=lambda cell, cell_index: started.append(cell_index))
        try:
            client.execute()
            result.ok = True
        except CellExecutionError as err:
            result.error = _describe(nb, err)
        except (CellTimeoutError, DeadKernelError) as err:
            cell = nb.cells[started[-1]] if started else nbformat.v4.new_code_cell()
            index = [c for c in nb.cells if c.cell_type == "code"].index(cell) if started else -1
            first = next((line for line in cell.source.splitlines()
                          if line.strip() and not line.startswith("#")), "")
            where = f"code cell {index + 1} ({first.strip()[:60]!r})"
            if (isinstance(err, CellTimeoutError) and deadline is not None
                    and time.time() >= deadline - 1):
                result.stopped = True
                result.error = f"stopped at the deadline in {where}"
            else:
                result.error = f"{where}: {type(err).__name__} (cell timeout {timeout} s)"
    result.seconds = time.perf_counter() - start
    result.glued = _glued(nb)
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, save / path.name)
    return result


def _describe(nb: nbformat.NotebookNode, err: CellExecutionError) -> str:
    for index, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                first = next((line for line in cell.source.splitlines()
                              if line.strip() and not line.startswith("#")), "")
                return (f"code cell {index + 1} ({first.strip()[:60]!r}): "
                        f"{out.ename}: {out.evalue.strip()[:300]}")
    return f"{err.ename}: {err.evalue.strip()[:300]}"


def run_all(work: list[tuple[Path, dict[str, str]]], jobs: int = 1, timeout: int = 900,
            echo: bool = True, deadline: float | None = None, save: Path | None = None
            ) -> list[Run]:
    """Each (notebook, settings) pair, ``jobs`` kernels at a time (one process each, so each
    sees only its own environment), in the order given; see :func:`run_one` for ``deadline``
    and ``save``."""
    results: dict[int, Run] = {}
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(run_one, p, s, timeout, deadline, save): i
                   for i, (p, s) in enumerate(work)}
        for future in as_completed(futures):  # report each run as it ends
            run = results[futures[future]] = future.result()
            if echo:
                verdict = "ok  " if run.ok else "STOP" if run.stopped else "FAIL"
                print(f"{verdict} {run.seconds:6.1f} s  {run.label}"
                      + (f"\n       {run.error}" if run.error else ""), flush=True)
    return [results[i] for i in range(len(work))]


def not_measured(paths: list[Path], note: str) -> str:
    """The table ``make full`` writes where there is no GPU: nothing measured."""
    lines = [note, "", "| notebook | wall time | headline numbers (glued) |", "|---|---:|---|"]
    lines += [f"| `{p.relative_to(ROOT)}` | not measured | not measured |" for p in paths]
    return "\n".join(lines) + "\n"


def short(value: str) -> str:
    """A glued value as the table shows it: whole numbers as they are, others to 3 significant
    digits (at least to the unit), text unquoted."""
    try:
        number = float(value)
    except ValueError:
        return value.strip("'\"")
    if number.is_integer() or abs(number) >= 100:
        return f"{number:,.0f}"
    return f"{number:.3g}"


def table(results: list[Run], note: str) -> str:
    """A Markdown table: notebook, wall time (or why not), what it glued; then the totals."""
    lines = [note, "", "| notebook | wall time | headline numbers (glued) |", "|---|---:|---|"]
    totals: dict[str, float] = {}
    for run in sorted(results, key=lambda r: r.notebook):  # book order, whatever ran first
        time_cell = (f"{run.seconds:.0f} s" if run.ok else
                     f"not finished in the time given ({run.error})" if run.stopped else
                     f"failed ({run.error[:80]})")
        glued = "; ".join(f"{k} = {short(v)}" for k, v in run.glued.items()) or "none glued"
        lines.append(f"| `{run.notebook}` | {time_cell} | {glued.replace('|', '/')} |")
        if run.ok:
            part = run.notebook.split("/")[0]
            totals[part] = totals.get(part, 0.0) + run.seconds
    if totals:
        lines += ["", "In all: " + ", ".join(f"{part} {sum_s / 60:.1f} min"
                                            for part, sum_s in totals.items()) + "."]
    return "\n".join(lines) + "\n"


def markers(name: str) -> tuple[str, str]:
    """The comment lines that fence the table named ``name`` in a Markdown file."""
    return f"<!-- {name}: table begins -->", f"<!-- {name}: table ends -->"


BEGIN, END = markers("make full")


def write_table(path: Path, text: str, name: str = "make full") -> None:
    """Write ``text`` to ``path``; where the file holds the markers of table ``name``
    (docs/teaching.md), replace only what lies between them."""
    begin, end = markers(name)
    old = path.read_text() if path.exists() else ""
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        text = head + begin + "\n" + text + end + rest.split(end, 1)[1]
    path.write_text(text)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--matrix", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--threads", type=int, nargs="+", default=list(THREADS))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=900)
    parser.add_argument("--table", type=Path)
    parser.add_argument("--note", default="")
    parser.add_argument("--table-name", default="make full",
                        help="whose markers fence the table in --table's file")
    parser.add_argument("--case", action="append", default=[], metavar="NOTEBOOK:SEED:THREADS")
    parser.add_argument("--gpu-only", action="store_true")
    parser.add_argument("--deadline", type=float, metavar="SECONDS")
    parser.add_argument("--save", type=Path, metavar="DIR")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or all_notebooks()
    extra = dict(item.split("=", 1) for item in args.set)
    if args.gpu_only:
        import torch

        if not torch.cuda.is_available():
            print("make full: this machine has no CUDA GPU; the full profile was not run "
                  "and the table says 'not measured'")
            if args.table:
                write_table(args.table, not_measured(
                    paths, args.note + " The full profile was not run: nothing measured."))
            return 0
        extra.setdefault("CNNLAB_PROFILE", "full")
    start = time.perf_counter()
    deadline = None if args.deadline is None else time.time() + args.deadline
    work: list[tuple[Path, dict[str, str]]] = []
    for case in args.case:
        name, seed, threads = case.rsplit(":", 2)
        work.append((Path(name).resolve(),
                     {**matrix((int(seed),), (int(threads),))[0], **extra}))
    if not args.case:
        settings = ([{**s, **extra} for s in matrix(tuple(args.seeds), tuple(args.threads))]
                    if args.matrix else [extra])
        work = [(p, s) for s in settings for p in paths]
    results = run_all(work, args.jobs, args.timeout, deadline=deadline, save=args.save)
    failed = [r for r in results if not r.ok and not r.stopped]
    stopped = [r for r in results if r.stopped]
    print(f"{len(results) - len(failed) - len(stopped)} of {len(results)} runs ended without "
          f"error in {time.perf_counter() - start:.0f} s ({args.jobs} at a time)"
          + (f"; {len(stopped)} stopped at the deadline" if stopped else ""))
    for run in failed:
        print(f"FAILED {run.label}: {run.error}")
    if args.table:
        write_table(args.table, table(results, args.note), args.table_name)
        print(f"table written to {args.table}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

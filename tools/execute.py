"""Execute notebooks top to bottom in a fresh kernel and store their outputs in place.

Usage: python tools/execute.py chapters/02_convolution.ipynb [more.ipynb ...]

Each notebook runs in its own directory with the ``python3`` kernel, exactly as nbval will
re-run it; the wall time of each is printed so that the quick profile can be kept in budget.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def execute(path: Path, timeout: int = 900) -> float:
    """Run ``path`` in place; return its wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    # Widget state is useless without a kernel and weighs hundreds of KB per instrument; the
    # book shows each instrument's static view instead. (It is stripped here rather than with
    # store_widget_state=False, which makes nbclient fail on ipywidgets.Output captures.)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv if a.endswith(".ipynb")]
    if not paths:
        print("usage: python tools/execute.py NOTEBOOK.ipynb [...]")
        return 2
    for path in paths:
        seconds = execute(path)
        print(f"{path}: executed in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

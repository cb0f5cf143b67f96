"""Every notebook runs on its own, as it does on Colab: copied into an empty folder outside the
repository and executed with cnnlab installed from its built wheel, not from the source tree.

A notebook that reads a file beside it, or imports from the repository through a relative path,
fails here. The run also checks what nbval cannot (it skips images): every code cell shows as
many figures as its stored outputs, each of the same pixel size (within 5% in a cell whose
outputs vary, tagged nbval-ignore-output). Part of ``make test``; ``make test-standalone`` runs
it alone.

The heavy dependencies come from the course environment here; tests/standalone/test_colab.py
installs cnnlab into an environment of its own, the way a Colab reader does.
"""

from __future__ import annotations

import base64
import os
import shutil
import struct
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p for d in ("chapters", "labs") for p in (ROOT / d).glob("*.ipynb"))
KERNEL = "cnnlab-wheel"


@pytest.fixture(scope="session")
def wheel_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A virtual environment with cnnlab installed from its wheel, and a kernel that uses it.

    The heavy dependencies (torch, ...) are shared with the course environment through a .pth
    file: a path added that way does not run the editable install's hook, so the only cnnlab
    this environment can import is the wheel's.
    """
    base = tmp_path_factory.mktemp("standalone")
    # Build from a copy of what the wheel is made of: setuptools writes build/ and *.egg-info
    # beside the sources, and two xdist workers building in the repository would collide.
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "cnnlab", src / "cnnlab",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = base / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist),
                    str(src)], check=True)
    wheel = next(dist.glob("cnnlab-*.whl"))
    env_dir = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    python = env_dir / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = subprocess.run([str(python), "-c", purelib],
                          check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "course_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([str(python), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], check=True)
    subprocess.run([str(python), "-m", "ipykernel", "install", "--prefix", str(env_dir),
                    "--name", KERNEL], check=True, capture_output=True)
    where = subprocess.run([str(python), "-c", "import cnnlab; print(cnnlab.__file__)"],
                           check=True, capture_output=True, text=True, cwd=base).stdout.strip()
    assert where.startswith(str(env_dir)), f"cnnlab imported from {where}, not from the wheel"
    yield env_dir


def _png_size(data: str) -> tuple[int, int]:
    """(width, height) of a base64 PNG, read from its IHDR chunk."""
    head = base64.b64decode(data[:64])
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def figures(nb: nbformat.NotebookNode) -> list[list[tuple[str, tuple[int, int]]]]:
    """For each code cell, the images it shows: (MIME type, pixel size) in output order
    (JPEGs are reported with size (0, 0): only their count is compared)."""
    cells = []
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        shown = []
        for out in cell.get("outputs", []):
            for mime, data in out.get("data", {}).items():
                if mime == "image/png":
                    shown.append((mime, _png_size(data)))
                elif mime.startswith("image/") and mime != "image/svg+xml":
                    shown.append((mime, (0, 0)))
        cells.append(shown)
    return cells


def figure_differences(stored: nbformat.NotebookNode, fresh: nbformat.NotebookNode) -> list[str]:
    """Cells whose fresh images differ in number or pixel size from the stored ones."""
    problems = []
    code = [c for c in stored.cells if c.cell_type == "code"]
    for index, (cell, old, new) in enumerate(zip(code, figures(stored), figures(fresh),
                                                 strict=True)):
        where = f"code cell {index + 1} ([{cell.execution_count}] stored)"
        if len(old) != len(new):
            problems.append(f"{where}: {len(new)} images, stored {len(old)}")
            continue
        varies = "nbval-ignore-output" in cell.metadata.get("tags", [])
        for (mime, (w0, h0)), (_, (w1, h1)) in zip(old, new, strict=True):
            if varies:
                same = abs(w1 - w0) <= 0.05 * w0 and abs(h1 - h0) <= 0.05 * h0
            else:
                same = (w0, h0) == (w1, h1)
            if not same:
                problems.append(f"{where}: {mime} {w1}x{h1} px, stored {w0}x{h0}")
    return problems


def test_figure_check_sees_a_missing_and_a_resized_image() -> None:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAIAAAADCAYAAAC56t6BAAAAEklEQVR4nGP4z8DwHwyBNAMDAE"
    assert _png_size(png) == (2, 3)
    def nb(*outputs: dict) -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell("plot()", execution_count=1)
        cell.outputs = [nbformat.v4.new_output("display_data", data=o) for o in outputs]
        return nbformat.v4.new_notebook(cells=[cell])
    one = nb({"image/png": png, "text/plain": "<Figure size 2x3 with 1 Axes>"})
    assert figure_differences(one, one) == []
    assert "1 images, stored 0" in figure_differences(nb(), one)[0]
    wide = png.replace("AAAAIAAAAD", "AAAAMAAAAD")  # the width field says 3
    assert _png_size(wide) == (3, 3)
    assert "3x3 px, stored 2x3" in figure_differences(one, nb({"image/png": wide}))[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_alone(path: Path, wheel_env: Path, tmp_path: Path) -> None:
    alone = tmp_path / path.name
    shutil.copy(path, alone)
    nb = nbformat.read(alone, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    old = dict(os.environ)
    os.environ.update(CNNLAB_PROFILE="quick", CNNLAB_OFFLINE="1", OMP_NUM_THREADS="1",
                      JUPYTER_PATH=str(wheel_env / "share" / "jupyter"))
    # One more cell at the end, run in the same kernel: where did cnnlab come from?
    nb.cells.append(nbformat.v4.new_code_cell("import cnnlab; print(cnnlab.__file__)"))
    try:
        client = NotebookClient(nb, timeout=900, kernel_name=KERNEL,
                                resources={"metadata": {"path": str(tmp_path)}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    where = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert str(wheel_env) in where, f"{path.name} imported cnnlab from {where.strip()}"
    nb.cells.pop()
    differ = figure_differences(nbformat.read(path, as_version=4), nb)
    assert not differ, (f"{path.name}: the re-run's figures differ from the stored ones "
                        "(re-execute it with `make execute` if that is intended):\n"
                        + "\n".join(differ))
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".ipynb") == [path.name]

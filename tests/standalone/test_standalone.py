"""Every notebook runs on its own, as it does on Colab: copied into an empty folder outside the
repository and executed with cnnlab installed from its built wheel, not from the source tree.

A notebook that reads a file beside it, or imports from the repository through a relative path,
fails here. Part of ``make test``; ``make test-standalone`` runs it alone.
"""

from __future__ import annotations

import os
import shutil
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
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".ipynb") == [path.name]

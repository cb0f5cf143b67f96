"""Colab's stack: cnnlab installed by the notebooks' own first cell into an environment that has
only what Colab starts with (the newest torch, torchvision and numpy, and a kernel), nothing of
the course's environment and not its lock.

What this installs, and from where: ``pip install --upgrade torch torchvision numpy ipykernel``
in a fresh virtual environment, resolved by pip as this machine configures it (``pip config
list``). On the CI machine pip reads PyPI plus local mirrors, and a constraints file caps torch
at the newest release kept on local disk (2.14.1 when this was written, against 2.15.0 on PyPI);
torch from PyPI is the CUDA build, so this installs about 4 GB of nvidia-* wheels too (from the
local mirror there; the PyTorch CPU index is not reachable from CI). The versions installed, and
the newest the registry lists, are printed.

The first cell's install line runs as written: ``pip install "cnnlab @ git+<repository>"``. Git
is told, through its environment (``url.<local>.insteadOf``), to fetch that repository from a
local repository holding this checkout's package sources, so pip clones it, builds cnnlab's wheel
and installs cnnlab's declared dependencies from the registry. No notebook is changed for this.

Checks: the install leaves torch as it was; ``import cnnlab`` works and comes from that
environment; chapter 7 (trains LeNet-5) and lab 1 run to the end in a kernel of that
environment (quick profile, offline data, as CI). ``make test-colab`` runs it (minutes: most of
it is installing torch); ``.ci/run`` calls it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
import yaml
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = [ROOT / "chapters" / "07_lenet.ipynb", ROOT / "labs" / "lab01_filters_by_hand.ipynb"]
KERNEL = "colab-stack"
COLAB_STARTS_WITH = ["torch", "torchvision", "numpy", "ipykernel"]


def _run(*args: str, **kw: Any) -> str:
    """Run a command outside the checkout (python -c would import cnnlab/ from the current
    folder) and return what it printed."""
    kw.setdefault("cwd", "/")
    done = subprocess.run(list(args), check=True, capture_output=True, text=True, **kw)
    return done.stdout


def _torch_state(python: Path) -> dict[str, str]:
    probe = ("import importlib.metadata as m, hashlib, json; d = m.distribution('torch'); "
             "print(json.dumps({'version': d.version, 'record': hashlib.sha256("
             "d.read_text('RECORD').encode()).hexdigest()}))")
    return dict(json.loads(_run(str(python), "-c", probe)))


def _repository(base: Path) -> Path:
    """A git repository holding this checkout's package sources (uncommitted edits included)."""
    repo = base / "repo"
    repo.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / "cnnlab", repo / "cnnlab",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost", "-C", str(repo)]
    _run(*git, "init", "-q")
    _run(*git, "add", "-A")
    _run(*git, "commit", "-q", "-m", "cnnlab as checked out")
    return repo


def test_notebooks_install_cnnlab_on_colabs_stack(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.fail("git is needed: the notebooks' install line fetches cnnlab with it")
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    for path in NOTEBOOKS:
        first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert f"cnnlab @ git+{url}" in first.source, f"{path.name}: install line changed"
    repo = _repository(tmp_path)

    env_dir = tmp_path / "venv"
    _run(getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(env_dir))
    python = env_dir / "bin" / "python"
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    _run(str(python), "-m", "pip", "install", "-q", "--upgrade", *COLAB_STARTS_WITH, env=clean)
    versions = _run(str(python), "-c", "import importlib.metadata as m; print(', '.join("
                    f"f'{{n}} {{m.version(n)}}' for n in {COLAB_STARTS_WITH[:3]!r}))")
    newest = _run(str(python), "-m", "pip", "index", "versions", "torch", env=clean).split("\n")[0]
    print(f"\nColab's stack here: {versions.strip()} (registry lists {newest.strip()})")
    leaked = _run(str(python), "-c", "import importlib.util as u; "
                  "print([n for n in ('cnnlab', 'matplotlib', 'mlxtend', 'skimage', 'sklearn')"
                  " if u.find_spec(n)])", env=clean).strip()
    assert leaked == "[]", f"the fresh environment sees packages it never installed: {leaked}"
    before = _torch_state(python)
    _run(str(python), "-m", "ipykernel", "install", "--prefix", str(env_dir), "--name", KERNEL)

    kernel_env = {
        **clean,
        "JUPYTER_PATH": str(env_dir / "share" / "jupyter"),
        "CNNLAB_PROFILE": "quick", "CNNLAB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
        # git fetches the repository's URL from the local repository instead.
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{repo.as_uri()}.insteadOf",
        "GIT_CONFIG_VALUE_0": url,
    }
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(kernel_env)
    try:
        for path in NOTEBOOKS:
            folder = tmp_path / path.stem
            folder.mkdir()
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
            nb.cells.append(nbformat.v4.new_code_cell("import cnnlab; print(cnnlab.__file__)"))
            NotebookClient(nb, timeout=1800, kernel_name=KERNEL,
                           resources={"metadata": {"path": str(folder)}}).execute()
            where = "".join(o.get("text", "") for o in nb.cells[-1].outputs).strip()
            assert where.startswith(str(env_dir)), f"{path.name} imported cnnlab from {where}"
    finally:
        os.environ.clear()
        os.environ.update(old)

    assert _torch_state(python) == before, "installing cnnlab changed torch"
    where = _run(str(python), "-c", "import cnnlab; print(cnnlab.__file__)", env=clean).strip()
    assert where.startswith(str(env_dir)), where
    origin = _run(str(python), "-c", "import importlib.metadata as m; "
                  "print(m.distribution('cnnlab').read_text('direct_url.json'))", env=clean)
    assert "git" in origin, f"cnnlab was not installed from the git URL: {origin}"
    _run(str(python), "-m", "pip", "check", env=clean)

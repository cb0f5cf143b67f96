"""The environment the course promises is the one it declares and tests.

- pyproject.toml declares every third-party package that cnnlab, the notebooks, the tests, the
  benchmarks, the tools and the book's extension import, and nothing they do not use (a build or
  test tool that is run rather than imported is listed in TOOLS, with what runs it);
- requirements.lock pins exactly what those declarations pull in, no more (an unused pin such as
  a package nobody imports is caught), no less;
- the Python floor in pyproject.toml, README.md and mypy's settings is one version, and every
  locked package installs on it.

The checks read pyproject.toml and the source files themselves, and the installed packages'
metadata only to follow dependencies (so a stale editable install cannot hide a new import).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, distribution, packages_distributions
from pathlib import Path

import nbformat
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

# Declared but run, not imported: who runs each.
TOOLS = {
    "pytest-xdist": "pytest -n 2 (Makefile)",
    "nbval": "pytest --nbval (Makefile: test-notebooks)",
    "mypy": "Makefile: lint",
    "ruff": "Makefile: lint",
    "jupyter-book": "Makefile: book, test-book",
    "sphinxcontrib-bibtex": "_config.yml: sphinx extension",
    "sphinx-exercise": "_config.yml: sphinx extra_extensions",
    "ipykernel": "the kernel every notebook runs in (Makefile: env)",
}
# Imported only where it exists (Colab's own module), never installed by the course.
OPTIONAL_IMPORTS = {"google"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imports(source: str) -> set[str]:
    lines = ["pass" if line.lstrip().startswith(("%", "!")) else line
             for line in source.splitlines()]
    names = set()
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _all_imports() -> dict[str, set[str]]:
    """Top-level module name -> the files importing it (third-party modules only)."""
    found: dict[str, set[str]] = {}
    files = [p for d in ("cnnlab", "tests", "tools", "benchmarks", "book_ext")
             for p in (ROOT / d).rglob("*.py")]
    for path in files:
        for name in _imports(path.read_text()):
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    for path in sorted(p for d in ("chapters", "labs") for p in (ROOT / d).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                for name in _imports(cell.source):
                    found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    local = {"cnnlab", "conftest"} | {p.stem for d in ("tests", "tools", "book_ext")
                                      for p in (ROOT / d).rglob("*.py")}
    return {name: where for name, where in found.items()
            if name not in sys.stdlib_module_names and name not in local}


def _declared() -> dict[str, Requirement]:
    project = PYPROJECT["project"]
    reqs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return {_norm(Requirement(r).name): Requirement(r) for r in reqs}


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[_norm(name)] = version.strip()
    return pins


def test_every_import_is_declared_and_every_declaration_used() -> None:
    declared = _declared()
    to_dist = packages_distributions()
    undeclared, unknown = [], []
    used = set()
    for module, where in sorted(_all_imports().items()):
        if module in OPTIONAL_IMPORTS:
            continue
        dists = {_norm(d) for d in to_dist.get(module, [])}
        if not dists:
            unknown.append(f"{module} (imported in {sorted(where)[:3]}) is not installed")
        elif not dists & declared.keys():
            undeclared.append(f"{module} -> {sorted(dists)} (imported in {sorted(where)[:3]})")
        used |= dists & declared.keys()
    assert not unknown, "\n".join(unknown)
    assert not undeclared, "imported but not declared in pyproject.toml:\n" + "\n".join(undeclared)
    unused = sorted(declared.keys() - used - TOOLS.keys())
    assert not unused, f"declared in pyproject.toml but imported nowhere: {unused}"
    stale_tools = sorted(TOOLS.keys() - declared.keys())
    assert not stale_tools, f"TOOLS names packages pyproject.toml no longer declares: {stale_tools}"


def _closure(roots: list[Requirement]) -> set[str]:
    """The packages ``roots`` name and everything they require here, recursively (markers
    evaluated for this machine, extras followed where a requirement names them)."""
    env = default_environment()
    seen: set[tuple[str, str]] = set()
    todo = [(_norm(r.name), extra) for r in roots for extra in ("", *r.extras)]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for req in map(Requirement, requires):
            if req.marker is None or req.marker.evaluate({**env, "extra": extra}):
                if req.marker is not None and "extra" in str(req.marker) and not extra:
                    continue
                todo += [(_norm(req.name), e) for e in ("", *req.extras)]
    return {name for name, _ in seen}


def test_the_lock_pins_what_the_declarations_pull_in_and_nothing_else() -> None:
    lock = _lock()
    declared = _declared()
    missing = sorted(declared.keys() - lock.keys())
    assert not missing, f"declared but not pinned in requirements.lock: {missing}"
    needed = _closure(list(declared.values())) - {"cnnlab"}
    unused = sorted(lock.keys() - needed)
    assert not unused, f"pinned in requirements.lock but needed by nothing declared: {unused}"
    # pip freeze leaves out the packaging tools every virtual environment starts with.
    unpinned = sorted(needed - lock.keys() - {"pip", "setuptools", "wheel"})
    assert not unpinned, f"a dependency of a declared package is not locked: {unpinned}"


def test_one_python_floor_that_every_locked_package_accepts() -> None:
    spec = SpecifierSet(PYPROJECT["project"]["requires-python"])
    floor = re.fullmatch(r">=\s*(3\.\d+)", str(spec))
    assert floor, f"requires-python should be a plain floor such as >=3.11, not {spec}"
    minor = floor.group(1)
    assert PYPROJECT["tool"]["mypy"]["python_version"] == minor
    # The README states the lock's floor (a patch release may be needed by a locked package).
    promised = set(re.findall(r"Python (3\.\d+(?:\.\d+)?)\+", (ROOT / "README.md").read_text()))
    assert len(promised) == 1, f"README.md promises several Python versions: {promised}"
    version = promised.pop()
    assert version == minor or version.startswith(minor + "."), (
        f"README.md promises Python {version}+, pyproject.toml >={minor}")
    full = version if version.count(".") == 2 else version + ".0"
    refuse = []
    for name, pinned in _lock().items():
        try:
            dist = distribution(name)
        except PackageNotFoundError:
            continue
        needs = dist.metadata.get("Requires-Python")
        if dist.version == pinned and needs and not SpecifierSet(needs).contains(full):
            refuse.append(f"{name}=={pinned} needs Python {needs}")
    assert not refuse, f"the lock does not install on Python {full}, as README.md says: {refuse}"
    here = ".".join(map(str, sys.version_info[:3]))
    assert SpecifierSet(f">={full}").contains(here), (
        f"this test runs on Python {here}, below the promised floor {full}")

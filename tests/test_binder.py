"""The Binder set-up (binder/) behind the book's Binder and Live Code buttons stays in step with
what CI tests: the same pinned versions as requirements.lock, every dependency of cnnlab, and
cnnlab itself installed from the checkout."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_binder_pins_are_the_tested_ones_and_cover_cnnlab_dependencies() -> None:
    binder, lock = _pins(ROOT / "binder" / "requirements.txt"), _pins(ROOT / "requirements.lock")
    differ = {name: (version, lock.get(name)) for name, version in binder.items()
              if lock.get(name) != version}
    assert not differ, f"binder/requirements.txt pins that differ from requirements.lock: {differ}"
    # pyproject.toml itself, not the installed metadata (a stale editable install would hide a
    # dependency added since it was made).
    runtime = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    needed = {re.sub(r"[-_.]+", "-", re.split(r"[<>=!~ \[;]", dep)[0]).lower() for dep in runtime}
    assert "torch" in needed, f"pyproject.toml lists no torch: {runtime}"
    missing = needed - binder.keys()
    assert not missing, f"missing from binder/requirements.txt: {sorted(missing)}"


def test_binder_installs_cnnlab_from_the_checkout() -> None:
    post_build = ROOT / "binder" / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    assert "pip install --no-deps ." in post_build.read_text()
    assert (ROOT / "binder" / "runtime.txt").read_text().strip().startswith("python-3.")

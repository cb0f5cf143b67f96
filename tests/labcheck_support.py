"""Helpers shared by the labcheck tests: the reference solutions and a failed-verdict check."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from cnnlab import labcheck as L

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def load_solution(lab: str) -> ModuleType:
    """solutions/<lab>.py as a module (it is not a package, so it is loaded from its file)."""
    spec = importlib.util.spec_from_file_location(f"solutions_{lab}", SOLUTIONS / f"{lab}.py")
    assert spec is not None and spec.loader is not None, lab
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fails(verdict: L.Verdict, *words: str) -> str:
    """The verdict is a failure of an attempted answer whose message has every word."""
    assert not verdict, verdict
    assert verdict.attempted, verdict
    for word in words:
        assert word in verdict.message, (word, verdict.message)
    return verdict.message

"""The examples in cnnlab's docstrings are run, so that what a learner reads in them is true."""

from __future__ import annotations

import doctest
import importlib
import os
import pkgutil

import numpy as np
import pytest
import torch

import cnnlab

os.environ.setdefault("MPLBACKEND", "Agg")

# Every module of the package, subpackages' files included (doctest only looks at the objects a
# module defines itself, so a package's re-exports are tested in the file that defines them).
MODULES = sorted(
    info.name for info in pkgutil.walk_packages(cnnlab.__path__, prefix="cnnlab.")
)
# Modules whose examples the course points readers to: each must have at least one.
WITH_EXAMPLES = [f"cnnlab.{m}" for m in
                 ("ops", "receptive", "models", "data", "train", "viz", "inside", "widgets",
                  "quiz", "session", "summary", "_checks", "_state")]


def _run(name: str) -> doctest.TestResults:
    module = importlib.import_module(name)
    # An example in cnnlab/inside/deconvnet.py may use any name of cnnlab.inside, the module a
    # reader imports, as if it were written there.
    package = importlib.import_module(".".join(name.split(".")[:2]))
    names = {n: getattr(package, n) for n in getattr(package, "__all__", ())}
    names.update(np=np, torch=torch, nn=torch.nn)  # as every example page imports them
    return doctest.testmod(module, extraglobs=names,
                           optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    results = _run(name)
    assert results.failed == 0, f"{results.failed} docstring example(s) of {name} failed"


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_documented_modules_have_examples(name: str) -> None:
    prefix = name + "."
    attempted = sum(_run(m).attempted for m in MODULES if m == name or m.startswith(prefix))
    assert attempted > 0, f"{name} has no docstring example"

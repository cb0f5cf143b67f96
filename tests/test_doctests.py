"""The examples in cnnlab's docstrings are run, so that what a learner reads in them is true."""

from __future__ import annotations

import doctest
import importlib
import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

MODULES = ["ops", "receptive", "models", "data", "train", "viz", "inside", "widgets", "quiz"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"cnnlab.{name}")
    results = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert results.attempted > 0, f"cnnlab.{name} has no docstring example"
    assert results.failed == 0, f"{results.failed} docstring example(s) of cnnlab.{name} failed"

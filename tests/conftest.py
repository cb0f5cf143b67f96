"""Fixtures and settings shared by cnnlab's unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from hypothesis import settings


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """One PyTorch thread for the test, the caller's count back afterwards.

    The tensors here are tiny: a second thread only adds hand-over cost (100x on a busy
    2-core CPU), and the numbers must not depend on how many threads ran.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# The property tests replay a fixed table of cases (derandomized) with no deadline on a shared
# machine; each test sets its own number of examples with @settings(max_examples=n).
settings.register_profile("cnnlab", derandomize=True, deadline=None)
settings.load_profile("cnnlab")

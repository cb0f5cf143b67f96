"""Leaving things as they were: a model's train/eval modes and PyTorch's process-wide settings.

A model in train mode can hold modules in eval mode on purpose: a frozen BatchNorm backbone in
transfer learning keeps its running statistics only if it stays in eval mode. ``model.train(m)``
would put every module back to ``m``, so cnnlab saves and restores the mode of each module.

>>> from torch import nn
>>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).train()
>>> _ = net[1].eval()                # frozen
>>> with evaluating(net):
...     net.training, net[1].training
(False, False)
>>> net.training, net[1].training    # each module as it was
(True, False)
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["evaluating", "global_settings", "modes", "restore_modes", "training"]


def modes(model: nn.Module) -> dict[nn.Module, bool]:
    """The training flag of every module of ``model``, the model itself included."""
    return {module: module.training for module in model.modules()}


def restore_modes(saved: dict[nn.Module, bool]) -> None:
    """Put every module back into the mode :func:`modes` recorded."""
    for module, mode in saved.items():
        module.training = mode


@contextmanager
def evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode inside the block; afterwards every module's own mode, even after an error."""
    saved = modes(model)
    model.eval()
    try:
        yield
    finally:
        restore_modes(saved)


@contextmanager
def training(model: nn.Module) -> Iterator[Any]:
    """Restore every module's mode at the end; inside, the returned ``train()`` switches the
    model to train mode except for the modules that were frozen (in eval mode inside a model
    in train mode) when the block began."""
    saved = modes(model)
    frozen = [m for m, mode in saved.items() if not mode] if model.training else []

    def train() -> None:
        model.train()
        for module in frozen:
            module.eval()

    try:
        yield train
    finally:
        restore_modes(saved)


@contextmanager
def global_settings(*, keep_rng: bool = True) -> Iterator[None]:
    """Restore PyTorch's process-wide settings after the block: deterministic algorithms (and
    their warn-only flag), the thread count, the default dtype and, with ``keep_rng``, the
    state of Python's, NumPy's and PyTorch's random generators (CUDA's too)."""
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    threads, dtype = torch.get_num_threads(), torch.get_default_dtype()
    rng = (random.getstate(), np.random.get_state(), torch.get_rng_state(),
           torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None)
    try:
        yield
    finally:
        if torch.are_deterministic_algorithms_enabled() != deterministic or (
            deterministic and torch.is_deterministic_algorithms_warn_only_enabled() != warn_only
        ):
            torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        torch.set_default_dtype(dtype)
        if keep_rng:
            random.setstate(rng[0])
            np.random.set_state(rng[1])
            torch.set_rng_state(rng[2])
            if rng[3] is not None:
                torch.cuda.set_rng_state_all(rng[3])

"""cnnlab: the helper package of the course *Convolutional Neural Networks: How Machines Learn
to See*.

Each module holds one idea of the course and shares its name with the chapter that introduces it:

- :mod:`cnnlab.ops` -- convolution and pooling from scratch (NumPy), checked against PyTorch.
- :mod:`cnnlab.receptive` -- output geometry and receptive fields, analytical and measured.
- :mod:`cnnlab.models` -- the architectures of the course, from LeNet-5 to a small ViT.
- :mod:`cnnlab.data` -- offline-first data loading (MNIST, Fashion-MNIST, CIFAR-10, photographs).
- :mod:`cnnlab.train` -- device choice, seeding, run profiles and a training loop with curves.
- :mod:`cnnlab.viz` -- the plotting helpers every notebook uses.
- :mod:`cnnlab.inside` -- Zeiler-Fergus deconvnet, top activations, occlusion, saliency.
- :mod:`cnnlab.widgets` -- the interactive instruments (ipywidgets).
- :mod:`cnnlab.quiz` -- quizzes with instant feedback that also work in the static book.

Submodules are imported on demand, so ``import cnnlab`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = ("ops", "receptive", "models", "data", "train", "viz", "inside", "widgets", "quiz")

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"cnnlab.{name}")
    raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")

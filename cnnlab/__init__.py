"""cnnlab: the helper package of the course *Convolutional Neural Networks: How Machines Learn
to See*.

Each module holds one idea of the course; a package splits an idea into one file per part:

- :mod:`cnnlab.ops` -- convolution and pooling from scratch (NumPy), checked against PyTorch;
  the im2col route is the lesson, ``_conv_fast`` a labelled stride-1 optimisation behind it.
- :mod:`cnnlab.receptive` -- output geometry and receptive fields, analytical and measured.
- :mod:`cnnlab.models` -- the architectures of the course, one file per family (``lenet``,
  ``alexnet``, ``vgg``, ``googlenet``, ``resnet``, ``mobile``, ``vit``, ``sequence``, ...).
- :mod:`cnnlab.summary` -- a per-layer table of any model, and torchvision's parameter counts.
- :mod:`cnnlab.data` -- offline-first data: sources and caches, batches and augmentation,
  synthetic shapes, photographs.
- :mod:`cnnlab.session` -- starting a notebook: device, seeding, run profiles (:func:`setup`).
- :mod:`cnnlab.train` -- the training loop with curves, evaluation and prediction (it
  re-exports :mod:`cnnlab.session`, :mod:`cnnlab.checkpoints` and ``train_lenet``).
- :mod:`cnnlab.checkpoints` -- saving and loading a model, its optimizer and its history.
- :mod:`cnnlab.viz` -- the plotting helpers every notebook uses.
- :mod:`cnnlab.inside` -- Zeiler-Fergus deconvnet, top activations, occlusion, saliency.
- :mod:`cnnlab.widgets` -- ``live``: ipywidgets controls driving your own figures (the labs).
- :mod:`cnnlab.instruments` -- the interactive instruments, live in the static book and as
  anywidgets in Jupyter and Colab (JavaScript modules, checked against ``ops`` and
  ``receptive``).
- :mod:`cnnlab.diagrams` -- block diagrams traced from a model's forward pass, and mechanism
  diagrams (window, im2col, switches, the residual ``+1``...) drawn from cnnlab's numbers.
- :mod:`cnnlab.labcheck` -- the labs' checkers: a learner's code judged against cnnlab's tested
  functions and properties.
- :mod:`cnnlab.quiz` -- quizzes with instant feedback that also work in the static book.

Argument checks shared by all of them live in the private ``cnnlab._checks``; saving and
restoring train/eval modes and global settings in ``cnnlab._state``.

Submodules are imported on demand, so ``import cnnlab`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what __getattr__ loads on demand, spelled out for type checkers
    from cnnlab import checkpoints as checkpoints
    from cnnlab import data as data
    from cnnlab import diagrams as diagrams
    from cnnlab import inside as inside
    from cnnlab import instruments as instruments
    from cnnlab import labcheck as labcheck
    from cnnlab import models as models
    from cnnlab import ops as ops
    from cnnlab import quiz as quiz
    from cnnlab import receptive as receptive
    from cnnlab import session as session
    from cnnlab import summary as summary
    from cnnlab import train as train
    from cnnlab import viz as viz
    from cnnlab import widgets as widgets

__version__ = "0.1.0"

_SUBMODULES = (
    "ops",
    "receptive",
    "models",
    "summary",
    "data",
    "session",
    "train",
    "checkpoints",
    "viz",
    "inside",
    "widgets",
    "instruments",
    "diagrams",
    "labcheck",
    "quiz",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"cnnlab.{name}")
    raise AttributeError(f"module 'cnnlab' has no attribute {name!r}")

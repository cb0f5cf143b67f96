"""Photographs that ship with scikit-image, the one photo loader of the course.

:func:`sample_photo` crops, resizes and converts them; the instruments of
:mod:`cnnlab.instruments` load their photographs through it too. Each call returns a new array.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from cnnlab import _checks

__all__ = [
    "PHOTOS",
    "sample_photo",
]

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
    name: str = "chelsea",
    gray: bool = False,
    size: int | tuple[int, int] | None = None,
    *,
    rgb: bool = False,
    max_side: int | None = None,
) -> np.ndarray:
    """A photograph that ships with scikit-image, as floats in ``[0, 1]`` (no download).

    Args:
        name: one of :data:`PHOTOS`, e.g. ``"chelsea"`` (a cat), ``"camera"`` (grayscale),
            ``"astronaut"``, ``"coffee"``, ``"rocket"``, ``"brick"`` (a texture).
        gray: convert colour photographs to grayscale (luminance, ``skimage.color.rgb2gray``).
            Otherwise a photograph keeps its own channels: grayscale ones stay ``(H, W)``.
        size: ``int``: centre-crop to a square and resize to ``(size, size)``; ``(h, w)``:
            resize to exactly that; ``None``: native size.
        rgb: give grayscale photographs three equal channels, so every photo is ``(H, W, 3)``
            (the instruments draw any photo the same way). Not together with ``gray``.
        max_side: with ``size=None``, shrink (never enlarge) so the longer side is at most this.

    Returns:
        float64 array ``(H, W)`` (grayscale) or ``(H, W, 3)`` (colour), a new array on every
        call: changing it in place changes no later call.

    >>> sample_photo("chelsea", size=64).shape
    (64, 64, 3)
    >>> sample_photo("camera").shape, sample_photo("camera", rgb=True, max_side=128).shape
    ((512, 512), (128, 128, 3))
    """
    if not isinstance(name, str) or name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; expected one of {', '.join(PHOTOS)}")
    if gray and rgb:
        raise ValueError("gray=True and rgb=True ask for one and three channels; pick one")
    if size is not None:
        size = (
            _checks.as_int(size, "size", minimum=1)
            if not isinstance(size, tuple | list)
            else _checks.as_pair(size, "size", minimum=1)
        )
    if max_side is not None:
        max_side = _checks.as_int(max_side, "max_side", minimum=1)
    return _prepared(name, bool(gray), size, bool(rgb), max_side).copy()


@lru_cache(maxsize=32)
def _prepared(
    name: str, gray: bool, size: int | tuple[int, int] | None, rgb: bool, max_side: int | None
) -> np.ndarray:
    """:func:`sample_photo`'s work, cached; the array is read-only so the cache cannot change."""
    import skimage.color
    import skimage.data
    import skimage.transform
    import skimage.util

    image = skimage.util.img_as_float(getattr(skimage.data, name)()).astype(np.float64)
    if image.ndim == 3 and image.shape[2] == 4:
        image = skimage.color.rgba2rgb(image)
    if gray and image.ndim == 3:
        image = skimage.color.rgb2gray(image)
    if rgb and image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    shape: tuple[int, int] | None = None
    if isinstance(size, int):
        h, w = image.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        image, shape = image[top : top + side, left : left + side], (size, size)
    elif size is not None:
        shape = size
    elif max_side is not None and max(image.shape[:2]) > max_side:
        scale = max_side / max(image.shape[:2])
        shape = (max(1, round(image.shape[0] * scale)), max(1, round(image.shape[1] * scale)))
    if shape is not None:
        image = skimage.transform.resize(image, shape + image.shape[2:], anti_aliasing=True)
    out = np.clip(image, 0.0, 1.0).astype(np.float64)
    out.flags.writeable = False
    return out

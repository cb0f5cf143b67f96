"""Shapes: a colour data set of ten classes, drawn on the fly (no files, no network).

:func:`shapes` renders circles, rings, squares, frames, triangles, crosses, stars and three
textures with random size, position, colour and background, so a CIFAR-sized colour task runs
offline; ``difficulty`` adds clutter and noise.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from cnnlab import _checks
from cnnlab.data.labeled import LabeledData, _normalize

__all__ = [
    "SHAPE_CLASSES",
    "shapes",
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

# Per-channel mean and std of shapes() pixels in [0, 1]: the channels are alike by design.
_SHAPES_STATS = ((0.5, 0.5, 0.5), (0.298, 0.298, 0.298))


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
    n = _checks.as_int(n, "n", minimum=1)
    size = _checks.as_int(size, "size", minimum=8)
    difficulty = _checks.as_float(difficulty, "difficulty", 0.0, 1.0)
    seed = _checks.as_int(seed, "seed", minimum=0)
    images, labels = _shapes_tensors(n, size, float(difficulty), seed)
    mean, std = _SHAPES_STATS
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

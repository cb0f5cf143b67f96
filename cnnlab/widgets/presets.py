"""The inputs the instruments start from: a hand-drawn 7, classic 3x3 kernels, filter presets
and a small feature map. Arrays here are read-only; instruments copy what they change.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "SEVEN",
    "KERNELS_3X3",
    "FILTER_PRESETS",
    "FEATURE_MAP_8X8",
    "PHOTOS",
]

#: A "7" drawn by hand on a 9x9 grid (1 = ink, 0 = paper): the kernel explorer's input.
SEVEN = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 1, 1, 1, 1, 0],
        [0, 0, 0, 0, 0, 0, 1, 1, 0],
        [0, 0, 0, 0, 0, 1, 1, 0, 0],
        [0, 0, 0, 0, 1, 1, 0, 0, 0],
        [0, 0, 0, 1, 1, 0, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0, 0, 0],
        [0, 0, 1, 1, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0, 0],
    ],
    dtype=np.float64,
)

#: The four kernels of the kernel explorer.
KERNELS_3X3: dict[str, np.ndarray] = {
    "EDGE": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float64),
    "BLUR": np.full((3, 3), 1.0 / 9.0),
    "SHARPEN": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
    "IDENTITY": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64),
}


def _gaussian(size: int, sigma: float) -> np.ndarray:
    r = np.arange(size) - size // 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2.0 * sigma**2))
    return np.asarray(g / g.sum())


#: The filter designer's presets (3x3 and 5x5).
FILTER_PRESETS: dict[str, np.ndarray] = {
    # Sobel: a [1, 2, 1] smoothing across the edge times a [-1, 0, 1] difference along it
    "Sobel x (vertical edges)": np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0]),
    "Sobel y (horizontal edges)": np.outer([-1.0, 0.0, 1.0], [1.0, 2.0, 1.0]),
    "horizontal edge (by hand)": np.array([[-1, -1, -1], [0, 0, 0], [1, 1, 1]], dtype=np.float64),
    "vertical edge (by hand)": np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], dtype=np.float64),
    "Laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64),
    "box blur 3×3": np.full((3, 3), 1.0 / 9.0),
    "Gaussian 3×3": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float64) / 16.0,
    "sharpen": KERNELS_3X3["SHARPEN"].copy(),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64),
    "identity": KERNELS_3X3["IDENTITY"].copy(),
    "box blur 5×5": np.full((5, 5), 1.0 / 25.0),
    "Gaussian 5×5": _gaussian(5, 1.0),
    "Laplacian of Gaussian 5×5": np.array(
        [
            [0, 0, -1, 0, 0],
            [0, -1, -2, -1, 0],
            [-1, -2, 16, -2, -1],
            [0, -1, -2, -1, 0],
            [0, 0, -1, 0, 0],
        ],
        dtype=np.float64,
    ),
}

#: An 8x8 feature map for the pooling instrument. Every 2x2 window has its peak in its top-left
#: cell except one: the 9 sits in a right-hand column, so a 1-pixel shift to the right moves it.
FEATURE_MAP_8X8 = np.array(
    [
        [6, 1, 4, 0, 5, 2, 3, 0],
        [1, 0, 2, 1, 0, 1, 1, 2],
        [3, 0, 0, 9, 7, 1, 2, 0],
        [0, 2, 1, 0, 2, 0, 1, 1],
        [5, 2, 8, 1, 3, 0, 6, 2],
        [1, 0, 2, 0, 1, 2, 0, 1],
        [4, 1, 3, 2, 7, 0, 5, 0],
        [2, 0, 1, 0, 1, 1, 2, 1],
    ],
    dtype=np.float64,
)

#: Photographs bundled with scikit-image (no download), by name.


#: The photographs the instruments offer (a few of :data:`cnnlab.data.PHOTOS`, by name).
PHOTOS = ("chelsea", "astronaut", "coffee", "camera", "rocket", "cat")

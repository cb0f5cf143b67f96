"""An optimisation, not a lesson: :func:`cnnlab.ops.conv2d`'s route for stride 1.

``cnnlab.ops.conv2d`` teaches convolution as im2col and one matrix product. For stride 1 it
calls :func:`conv2d_stride1` instead, which computes the same numbers with less copying, so that
the course's NumPy convolution stays within a small factor of PyTorch's (``benchmarks/conv.py``).
Its tests compare it with the im2col product and with ``torch.nn.functional.conv2d``. Nothing
here is needed to understand convolution; the cache-size heuristic is tuned for laptop CPUs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["conv2d_stride1"]

FloatArray = NDArray[np.floating[Any]]

_CACHE_BYTES = 4 * 2**20  # how much shifted input conv2d_stride1 prepares at a time


def conv2d_stride1(x_padded: FloatArray, w_arr: FloatArray, groups: int,
                   dilation: tuple[int, int], out_hw: tuple[int, int]) -> FloatArray:
    """:func:`conv2d` with stride 1, from a padded (N, C, Hp, Wp) input; returns (N, O, Ho, Wo).

    Flatten each padded map into one row of Hp * Wp pixels. Output (r, c) reads pixel
    ``(r + i*dh) * Wp + (c + j*dw)`` for tap (i, j): the same flat position ``r * Wp + c``
    shifted by ``i*dh*Wp + j*dw``. So the input is copied kw times, copy j shifted left by
    ``j*dw`` (the rows (c, j) of ``shifted``), and kernel row i is a *view* of those copies
    starting ``i*dh*Wp`` further on: kh matrix products of depth C/groups * kw, added up.

    The products compute every flat position of the first Ho rows, Wp per row; the last
    Wp - Wo of each row are windows that wrap around the edge of the map and are dropped.
    A few images are done at a time, so that their shifted copies stay in the processor's
    cache while the kh products read them.
    """
    batch, in_channels, hp, wp = x_padded.shape
    out_channels, in_per_group, kh, kw = w_arr.shape
    (dh, dw), (ho, wo) = dilation, out_hw
    pixels, length = hp * wp, ho * wp  # reads end exactly at the last pixel: Ho + (kh-1)dh = Hp
    depth = in_per_group * kw
    flat = x_padded.reshape(batch, in_channels, pixels)
    # kernel_rows[i, g] is the (O / groups, C / groups * kw) matrix of kernel row i, group g.
    kernel_rows = np.ascontiguousarray(
        w_arr.transpose(2, 0, 1, 3).reshape(kh, groups, out_channels // groups, depth))

    chunk = max(1, min(batch, _CACHE_BYTES // (in_channels * kw * pixels * flat.itemsize)))
    shifted = np.zeros((chunk, in_channels, kw, pixels), dtype=flat.dtype)
    total = np.empty((chunk, groups, out_channels // groups, length), dtype=flat.dtype)
    term = np.empty_like(total)
    out = np.empty((batch, out_channels, ho, wo), dtype=flat.dtype)
    for first in range(0, batch, chunk):
        n = min(chunk, batch - first)
        for j in range(kw):  # the last j*dw pixels of copy j stay zero
            shifted[:n, :, j, :pixels - j * dw] = flat[first:first + n, :, j * dw:]
        rows = shifted[:n].reshape(n, groups, depth, pixels)
        np.matmul(kernel_rows[0], rows[..., :length], out=total[:n])
        for i in range(1, kh):
            start = i * dh * wp
            np.matmul(kernel_rows[i], rows[..., start:start + length], out=term[:n])
            total[:n] += term[:n]
        out[first:first + n] = total[:n].reshape(n, out_channels, ho, wp)[..., :wo]
    return out

"""Convolution and pooling from scratch, in NumPy, with the semantics of ``torch.nn.functional``.

A convolution slides one small set of weights over every position of its input and takes a
dot product with the patch under it; pooling slides a window and keeps one summary (the maximum
or the mean) of each patch. Everything here works on NCHW arrays, is checked against PyTorch to
1e-10 in float64, and is written to be read: ``corr2d`` and ``conv2d_naive`` are the loops of the
textbook, ``conv2d`` is the same computation as one matrix product (im2col).

Two facts used throughout. A window's geometry is its kernel size ``k``, stride ``s``, padding
``p`` and dilation ``d`` (gaps between kernel taps); the kernel then spans ``d*(k-1)+1`` pixels
and an axis of ``n`` pixels gives ``floor((n + 2p - d*(k-1) - 1) / s) + 1`` outputs
(:func:`conv_output_size`). And every backward pass here is the forward pass run in reverse:
what the forward gathered from the ``k*k`` shifted views of the input, the backward adds back
into those same views.
"""

from __future__ import annotations

from itertools import product
from typing import Any, Literal, NamedTuple, overload

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

from cnnlab import _checks, _conv_fast

__all__ = [
    "corr2d",
    "conv2d",
    "conv2d_naive",
    "conv2d_backward",
    "im2col",
    "max_pool2d",
    "max_pool2d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
    "global_avg_pool2d",
    "conv_output_size",
    "conv_params",
]

FloatArray = NDArray[np.floating[Any]]
IntPair = int | tuple[int, int]
Padding = int | tuple[int, int] | str  # an int, a pair (rows, cols), "valid" or "same"


# ---------------------------------------------------------------------------------------------
# Checking arguments: every error says what was expected and what came.
# ---------------------------------------------------------------------------------------------


def _output_length(size: int, kernel: int, stride: int, pad_before: int, pad_after: int,
                   dilation: int, axis: str) -> int:
    """Number of window positions along one axis: ``floor((padded - span) / stride) + 1``."""
    span = dilation * (kernel - 1) + 1  # pixels covered by the kernel, gaps included
    padded = size + pad_before + pad_after
    if span > padded:
        spread = f" (kernel {kernel}, dilation {dilation})" if dilation > 1 else ""
        raise ValueError(
            f"the kernel spans {span} {axis}{spread} but the padded input has only {padded} "
            f"{axis} ({size} + {pad_before + pad_after} padding); use a smaller kernel, more "
            "padding or a larger input"
        )
    return (padded - span) // stride + 1


class _Geometry(NamedTuple):
    """Everything about a sliding window on a 2-D map, as (rows, cols) pairs."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[tuple[int, int], tuple[int, int]]  # ((top, bottom), (left, right))
    dilation: tuple[int, int]
    out: tuple[int, int]  # output height and width


def _geometry(in_hw: tuple[int, ...], kernel: tuple[int, int], stride: object, padding: object,
              dilation: object) -> _Geometry:
    """Check stride/padding/dilation and compute the output size of a window on ``in_hw``."""
    stride_hw = _checks.as_pair(stride, "stride", minimum=1)
    dilation_hw = _checks.as_pair(dilation, "dilation", minimum=1)
    if isinstance(padding, str):
        if padding == "valid":
            pads = ((0, 0), (0, 0))
        elif padding == "same":
            if stride_hw != (1, 1):
                raise ValueError(f"padding='same' needs stride 1 (a larger stride cannot keep "
                                 f"the input size), got stride {stride!r}")
            # Pad span-1 pixels in total; like PyTorch, an odd pixel goes to the bottom/right.
            totals = [d * (k - 1) for k, d in zip(kernel, dilation_hw, strict=True)]
            pads = ((totals[0] // 2, totals[0] - totals[0] // 2),
                    (totals[1] // 2, totals[1] - totals[1] // 2))
        else:
            raise ValueError(f"padding must be an int, a pair of ints, 'valid' or 'same', "
                             f"got {padding!r}")
    else:
        pad_h, pad_w = _checks.as_pair(padding, "padding", minimum=0)
        pads = ((pad_h, pad_h), (pad_w, pad_w))
    out = tuple(
        _output_length(in_hw[axis], kernel[axis], stride_hw[axis], *pads[axis],
                       dilation_hw[axis], ("rows", "columns")[axis])
        for axis in (0, 1)
    )
    return _Geometry(kernel, stride_hw, pads, dilation_hw, (out[0], out[1]))


def _pad(x: FloatArray, geometry: _Geometry, value: float = 0.0) -> FloatArray:
    """Pad the two spatial axes of an (N, C, H, W) array; a no-op without padding."""
    if geometry.padding == ((0, 0), (0, 0)):
        return x
    return np.pad(x, ((0, 0), (0, 0), *geometry.padding), constant_values=value)


def _windows(x_padded: FloatArray, geometry: _Geometry) -> FloatArray:
    """All windows of a padded (N, C, H, W) array as a view of shape (N, C, Ho, Wo, kh, kw).

    ``windows[n, c, i, j]`` is the kh x kw patch under the kernel at output position (i, j).
    No data is copied: the view reuses the input's memory with different strides.
    """
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel, geometry.stride, geometry.dilation
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    every_window = sliding_window_view(x_padded, span, axis=(2, 3))  # stride 1, dilation 1
    return every_window[:, :, ::sh, ::sw, ::dh, ::dw]  # keep every s-th window, every d-th tap


def _shifted_views(x_padded: FloatArray, geometry: _Geometry) -> list[tuple[int, int, FloatArray]]:
    """For each kernel tap (i, j): the (N, C, Ho, Wo) view of the pixels that tap touches.

    Tap (i, j) of the window at output (r, c) reads padded pixel (r*sh + i*dh, c*sw + j*dw), so
    for a fixed tap the pixels of all windows form one strided slice. The views share memory
    with ``x_padded``: adding into them adds into ``x_padded`` (this is how backward passes
    scatter gradients).
    """
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel, geometry.stride, geometry.dilation
    ho, wo = geometry.out
    views = []
    for i, j in product(range(kh), range(kw)):
        top, left = i * dh, j * dw
        rows = slice(top, top + sh * (ho - 1) + 1, sh)
        cols = slice(left, left + sw * (wo - 1) + 1, sw)
        views.append((i, j, x_padded[:, :, rows, cols]))
    return views


def _unpad(x_padded: FloatArray, geometry: _Geometry, in_hw: tuple[int, ...]) -> FloatArray:
    """Cut the padding border off a gradient with respect to the padded input."""
    (top, _), (left, _) = geometry.padding
    return x_padded[:, :, top:top + in_hw[0], left:left + in_hw[1]]


def _check_conv(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None, groups: object,
                ) -> tuple[FloatArray, FloatArray, FloatArray | None, int]:
    """Convert and cross-check the arrays of a convolution; return them in a common dtype."""
    x_arr = _checks.as_float_array(x, "x", "NCHW")
    # weight: (out channels, in channels / groups, kh, kw)
    w_arr = _checks.as_float_array(weight, "weight", "OIHW")
    n_groups = _checks.as_int(groups, "groups", minimum=1)
    out_channels, in_per_group = w_arr.shape[:2]
    in_channels = x_arr.shape[1]
    if out_channels % n_groups:
        raise ValueError(f"weight has {out_channels} output channels, which groups={n_groups} "
                         f"cannot split evenly (weight shape {w_arr.shape})")
    if in_channels != in_per_group * n_groups:
        expected = (f"{in_per_group}" if n_groups == 1 else
                    f"{in_per_group * n_groups} ({n_groups} groups x {in_per_group} channels)")
        raise ValueError(f"input has {in_channels} channels but the kernel expects {expected} "
                         f"(weight shape {w_arr.shape}, groups={n_groups})")
    b_arr = None
    if bias is not None:
        b_arr = _checks.as_float_array(bias, "bias", "O")
        if b_arr.shape != (out_channels,):
            raise ValueError(f"bias must have shape ({out_channels},), one value per output "
                             f"channel, got shape {b_arr.shape}")
    dtype = np.result_type(x_arr, w_arr, *(() if b_arr is None else (b_arr,)))
    return (x_arr.astype(dtype, copy=False), w_arr.astype(dtype, copy=False),
            None if b_arr is None else b_arr.astype(dtype, copy=False), n_groups)


def _check_gradient(dout: ArrayLike, expected: tuple[int, ...], op: str,
                    dtype: np.dtype[Any]) -> FloatArray:
    grad = _checks.as_float_array(dout, "dout", "NCHW")
    if grad.shape != expected:
        raise ValueError(f"dout must have the shape of {op}'s output {expected}, "
                         f"got {grad.shape}")
    return grad.astype(np.result_type(grad, dtype), copy=False)


# ---------------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------------


def corr2d(image: ArrayLike, kernel: ArrayLike) -> FloatArray:
    """Valid 2-D cross-correlation of one image with one kernel, written as two loops.

    ``out[i, j] = sum over (m, n) of image[i + m, j + n] * kernel[m, n]``: the kernel is not
    flipped, which is what deep-learning libraries call convolution.

    Args:
        image: (H, W) array.
        kernel: (kh, kw) array with kh <= H and kw <= W.

    Returns:
        (H - kh + 1, W - kw + 1) array.

    >>> image = np.arange(1, 26).reshape(5, 5)
    >>> edge = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]])
    >>> corr2d(image, edge)
    array([[6., 6., 6.],
           [6., 6., 6.],
           [6., 6., 6.]])
    """
    image_arr = _checks.as_float_array(image, "image", "HW")
    kernel_arr = _checks.as_float_array(kernel, "kernel", "HW")
    kh, kw = kernel_arr.shape
    out_h = _output_length(image_arr.shape[0], kh, 1, 0, 0, 1, "rows")
    out_w = _output_length(image_arr.shape[1], kw, 1, 0, 0, 1, "columns")
    out = np.zeros((out_h, out_w), dtype=np.result_type(image_arr, kernel_arr))
    for i in range(out_h):
        for j in range(out_w):
            patch = image_arr[i:i + kh, j:j + kw]  # the pixels under the kernel
            out[i, j] = np.sum(patch * kernel_arr)  # multiply element by element, add up
    return out


def conv2d_naive(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None,
                 stride: IntPair = 1, padding: Padding = 0, dilation: IntPair = 1,
                 groups: int = 1) -> FloatArray:
    """2-D convolution (cross-correlation) with explicit loops: the definition, for reading.

    Same arguments and result as :func:`conv2d`, and as slow as Python loops are; use it to
    see what each output number is, and :func:`conv2d` to compute.

    Args:
        x: (N, C, H, W) input.
        weight: (O, C // groups, kh, kw) kernels, one per output channel.
        bias: optional (O,) array.
        stride, padding, dilation: an int or a (rows, cols) pair; padding may also be
            ``"valid"`` (0) or ``"same"`` (output as large as the input; stride 1 only).
        groups: split channels into this many independent groups.

    Returns:
        (N, O, Ho, Wo) array, with Ho and Wo given by :func:`conv_output_size`.

    >>> x = np.ones((1, 1, 4, 4))
    >>> conv2d_naive(x, np.ones((1, 1, 3, 3)), padding=1)[0, 0]
    array([[4., 6., 6., 4.],
           [6., 9., 9., 6.],
           [6., 9., 9., 6.],
           [4., 6., 6., 4.]])
    """
    x_arr, w_arr, b_arr, groups = _check_conv(x, weight, bias, groups)
    batch = x_arr.shape[0]
    out_channels, in_per_group, kh, kw = w_arr.shape
    geometry = _geometry(x_arr.shape[2:], (kh, kw), stride, padding, dilation)
    (sh, sw), (dh, dw), (ho, wo) = geometry.stride, geometry.dilation, geometry.out
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    out_per_group = out_channels // groups
    x_padded = _pad(x_arr, geometry)

    out = np.zeros((batch, out_channels, ho, wo), dtype=x_arr.dtype)
    for n in range(batch):
        for o in range(out_channels):
            group = o // out_per_group  # output channel o reads only its group's input channels
            channels = slice(group * in_per_group, (group + 1) * in_per_group)
            for i in range(ho):
                for j in range(wo):
                    top, left = i * sh, j * sw
                    patch = x_padded[n, channels, top:top + span_h:dh, left:left + span_w:dw]
                    out[n, o, i, j] = np.sum(patch * w_arr[o])
            if b_arr is not None:
                out[n, o] += b_arr[o]
    return out


def im2col(x: ArrayLike, kernel_size: IntPair, stride: IntPair = 1, padding: Padding = 0,
           dilation: IntPair = 1) -> FloatArray:
    """Unroll every kernel-sized patch of ``x`` into a column ("image to columns").

    Layout (the same as ``torch.nn.functional.unfold``): the result has shape
    (N, C * kh * kw, Ho * Wo). Row ``(c * kh + i) * kw + j`` holds tap (i, j) of channel c, and
    column ``r * Wo + s`` is the window at output position (r, s). A convolution is then one
    matrix product: ``weight.reshape(O, -1) @ im2col(x, ...)`` has shape (N, O, Ho * Wo).

    Args:
        x: (N, C, H, W) input.
        kernel_size, stride, dilation: an int or a (rows, cols) pair.
        padding: an int, a pair, ``"valid"`` or ``"same"`` (as in :func:`conv2d`).

    >>> x = np.arange(9).reshape(1, 1, 3, 3)
    >>> im2col(x, 2)[0]
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])
    """
    x_arr = _checks.as_float_array(x, "x", "NCHW")
    kernel = _checks.as_pair(kernel_size, "kernel_size", minimum=1)
    geometry = _geometry(x_arr.shape[2:], kernel, stride, padding, dilation)
    n, c = x_arr.shape[:2]
    windows = _windows(_pad(x_arr, geometry), geometry)  # (N, C, Ho, Wo, kh, kw), a view
    columns = windows.transpose(0, 1, 4, 5, 2, 3)  # (N, C, kh, kw, Ho, Wo), still a view
    return columns.reshape(n, c * kernel[0] * kernel[1], -1)  # the copy happens here


def conv2d(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None = None, stride: IntPair = 1,
           padding: Padding = 0, dilation: IntPair = 1, groups: int = 1) -> FloatArray:
    """2-D convolution (cross-correlation) of a batch, as matrix products (im2col + GEMM).

    ``out[n, o, i, j] = bias[o] + sum over (c, m, q) of
    weight[o, c, m, q] * x_padded[n, g*C/groups + c, i*sh + m*dh, j*sw + q*dw]``, where g is the
    group of output channel o. Identical to ``torch.nn.functional.conv2d``.

    The computation is im2col: copy every window into a column, and one matrix product per group
    does the rest (the code below the stride-1 branch). With stride 1 (most layers of VGG and
    ResNet) a faster route gives the same numbers: the windows of neighbouring outputs are
    shifted copies of each other, so the private module ``cnnlab._conv_fast`` copies the input
    kw times instead of kh * kw times (about 2.5x less memory traffic for a 3x3 kernel). It is
    an optimisation only, tested against this im2col route; read it after this one.

    Args:
        x: (N, C, H, W) input.
        weight: (O, C // groups, kh, kw) kernels, one per output channel.
        bias: optional (O,) array, one value per output channel.
        stride, dilation: an int or a (rows, cols) pair.
        padding: an int or a pair (zeros added on each side), ``"valid"`` (no padding) or
            ``"same"`` (output as large as the input; stride 1 only).
        groups: split the channels into this many independent groups; ``groups=C`` with
            ``O=C`` is a depthwise convolution.

    Returns:
        (N, O, Ho, Wo) array, Ho and Wo as given by :func:`conv_output_size`.

    >>> x = np.random.default_rng(0).normal(size=(2, 3, 8, 8))
    >>> w = np.random.default_rng(1).normal(size=(4, 3, 3, 3))
    >>> conv2d(x, w, stride=2, padding=1).shape
    (2, 4, 4, 4)
    >>> np.allclose(conv2d(x, w), conv2d_naive(x, w))
    True
    """
    x_arr, w_arr, b_arr, groups = _check_conv(x, weight, bias, groups)
    batch, in_channels = x_arr.shape[:2]
    out_channels, in_per_group, kh, kw = w_arr.shape
    geometry = _geometry(x_arr.shape[2:], (kh, kw), stride, padding, dilation)
    ho, wo = geometry.out

    if geometry.stride == (1, 1):  # an optimisation with the same result: see cnnlab._conv_fast
        out = _conv_fast.conv2d_stride1(_pad(x_arr, geometry), w_arr, groups,
                                        geometry.dilation, geometry.out)
        if b_arr is not None:
            out += b_arr.reshape(1, out_channels, 1, 1)
        return out

    # im2col for the whole batch at once: columns[g, (c, i, j), (n, r, s)] is tap (i, j) of
    # channel c of group g in the window at (r, s) of image n. Putting the images side by side
    # makes the batch one large matrix product, which BLAS runs faster than N small ones.
    windows = _windows(_pad(x_arr, geometry), geometry)  # (N, C, Ho, Wo, kh, kw), a view
    columns = windows.transpose(1, 4, 5, 0, 2, 3).reshape(
        groups, in_per_group * kh * kw, batch * ho * wo)
    kernels = w_arr.reshape(groups, out_channels // groups, in_per_group * kh * kw)

    out = kernels @ columns  # (groups, O // groups, N * Ho * Wo): one product per group
    out = out.reshape(out_channels, batch, ho, wo).transpose(1, 0, 2, 3)
    out = np.ascontiguousarray(out)
    if b_arr is not None:
        out += b_arr.reshape(1, out_channels, 1, 1)
    return out


def conv2d_backward(dout: ArrayLike, x: ArrayLike, weight: ArrayLike, stride: IntPair = 1,
                    padding: Padding = 0, dilation: IntPair = 1, groups: int = 1,
                    ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Gradients of :func:`conv2d` with respect to its input, weight and bias.

    The forward pass is ``out = kernels @ columns`` (see :func:`conv2d`), so by the rule for a
    matrix product ``dkernels = dout @ columns.T`` and ``dcolumns = kernels.T @ dout``. Every
    input pixel appears in several columns (the windows overlap), so ``dx`` adds each column's
    gradient back onto the pixels it was copied from (col2im).

    Args:
        dout: (N, O, Ho, Wo) gradient of the loss with respect to the conv2d output.
        x, weight, stride, padding, dilation, groups: the arguments of the forward call.

    Returns:
        ``(dx, dweight, dbias)`` with the shapes of x (N, C, H, W), weight (O, C // groups,
        kh, kw) and bias (O,).

    >>> x, w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))
    >>> dx, dw, db = conv2d_backward(np.ones((1, 1, 2, 2)), x, w)
    >>> dx[0, 0]  # the centre pixel is in all four windows
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    >>> dw[0, 0], db
    (array([[4., 4.],
           [4., 4.]]), array([4.]))
    """
    x_arr, w_arr, _, groups = _check_conv(x, weight, None, groups)
    batch, in_channels = x_arr.shape[:2]
    out_channels, in_per_group, kh, kw = w_arr.shape
    geometry = _geometry(x_arr.shape[2:], (kh, kw), stride, padding, dilation)
    ho, wo = geometry.out
    grad = _check_gradient(dout, (batch, out_channels, ho, wo), "conv2d", x_arr.dtype)
    dtype = grad.dtype
    x_arr, w_arr = x_arr.astype(dtype, copy=False), w_arr.astype(dtype, copy=False)

    # The same columns and kernels as in the forward pass.
    x_padded = _pad(x_arr, geometry)
    columns = _windows(x_padded, geometry).transpose(1, 4, 5, 0, 2, 3).reshape(
        groups, in_per_group * kh * kw, batch * ho * wo)
    kernels = w_arr.reshape(groups, out_channels // groups, in_per_group * kh * kw)
    grad_out = grad.transpose(1, 0, 2, 3).reshape(groups, out_channels // groups, -1)

    dbias = grad.sum(axis=(0, 2, 3))
    dweight = (grad_out @ columns.transpose(0, 2, 1)).reshape(w_arr.shape)
    dcolumns = (kernels.transpose(0, 2, 1) @ grad_out).reshape(
        in_channels, kh, kw, batch, ho, wo)

    # col2im: add the gradient of every tap back onto the input pixels that tap read.
    dx_padded = np.zeros(x_padded.shape, dtype=dtype)
    for i, j, pixels in _shifted_views(dx_padded, geometry):
        pixels += dcolumns[:, i, j].transpose(1, 0, 2, 3)  # one tap touches each pixel once
    return _unpad(dx_padded, geometry, x_arr.shape[2:]), dweight, dbias


# ---------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------


def _pool_geometry(x_arr: FloatArray, kernel_size: IntPair, stride: IntPair | None,
                   padding: IntPair) -> _Geometry:
    kernel = _checks.as_pair(kernel_size, "kernel_size", minimum=1)
    pad_h, pad_w = _checks.as_pair(padding, "padding", minimum=0)
    if pad_h > kernel[0] // 2 or pad_w > kernel[1] // 2:
        # As in PyTorch: a larger padding would allow windows made of padding only.
        raise ValueError(f"padding must be at most half the kernel size: kernel {kernel}, "
                         f"padding {(pad_h, pad_w)}")
    return _geometry(x_arr.shape[2:], kernel, kernel if stride is None else stride,
                     (pad_h, pad_w), 1)


@overload
def max_pool2d(x: ArrayLike, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0, return_indices: Literal[False] = False) -> FloatArray: ...


@overload
def max_pool2d(x: ArrayLike, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0, *, return_indices: Literal[True],
               ) -> tuple[FloatArray, NDArray[np.int64]]: ...


def max_pool2d(x: ArrayLike, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0, return_indices: bool = False,
               ) -> FloatArray | tuple[FloatArray, NDArray[np.int64]]:
    """Max pooling: the largest value of each window, channel by channel.

    Padding adds ``-inf`` (it can never win), as in ``torch.nn.functional.max_pool2d``.

    Args:
        x: (N, C, H, W) input.
        kernel_size: window size, an int or a (rows, cols) pair.
        stride: step between windows; defaults to ``kernel_size`` (windows side by side).
        padding: at most half the kernel size.
        return_indices: also return where each maximum came from.

    Returns:
        (N, C, Ho, Wo) array; with ``return_indices``, also an int64 array of the same shape
        holding ``row * W + col`` of each maximum in its (H, W) input plane (as PyTorch; ties
        go to the first in row-major window order).

    >>> x = np.array([[1, 3, 0, 2], [4, 8, 1, 1], [0, 2, 5, 7], [1, 0, 6, 3]])[None, None]
    >>> max_pool2d(x, 2)[0, 0]
    array([[8., 2.],
           [2., 7.]])
    >>> max_pool2d(x, 2, return_indices=True)[1][0, 0]  # 8 is at row 1, col 1: 1 * 4 + 1
    array([[ 5,  3],
           [ 9, 11]])
    """
    x_arr = _checks.as_float_array(x, "x", "NCHW")
    geometry = _pool_geometry(x_arr, kernel_size, stride, padding)
    x_padded = _pad(x_arr, geometry, value=-np.inf)

    if not return_indices:
        # The maximum of every window, built one kernel tap at a time: the element-wise maximum
        # of the kh*kw shifted views (much faster than reducing two tiny axes of each window).
        taps = _shifted_views(x_padded, geometry)
        out = taps[0][2].copy()
        for _, _, pixels in taps[1:]:
            np.maximum(out, pixels, out=out)
        return out

    # Find the winner of each window. An input of -inf must still beat the -inf padding (the
    # winner is always a real pixel), so here it counts as the lowest finite number instead.
    kh, kw = geometry.kernel
    n, c, h, w = x_arr.shape
    ranking = np.maximum(x_arr, np.finfo(x_arr.dtype).min)  # NaN stays NaN and wins, as in torch
    windows = _windows(_pad(ranking, geometry, value=-np.inf), geometry)  # (N, C, Ho, Wo, kh, kw)
    ho, wo = geometry.out
    flat = windows.reshape(n, c, ho, wo, kh * kw)
    tap = flat.argmax(axis=-1)  # the first maximum, row-major
    nan = np.isnan(flat)
    if nan.any():  # torch keeps the *last* NaN of a window (it replaces the winner on a NaN)
        last_nan = kh * kw - 1 - nan[..., ::-1].argmax(axis=-1)
        tap = np.where(nan.any(axis=-1), last_nan, tap)
    # Window (r, s) starts at padded pixel (r*sh, s*sw), i.e. at input pixel (r*sh - top,
    # s*sw - left); its winning tap is kh x kw-cell number `tap`.
    (sh, sw), ((top, _), (left, _)) = geometry.stride, geometry.padding
    rows = np.arange(ho).reshape(ho, 1) * sh - top + tap // kw
    cols = np.arange(wo).reshape(1, wo) * sw - left + tap % kw
    indices = (rows * w + cols).astype(np.int64)
    out = np.take_along_axis(x_arr.reshape(n, c, h * w), indices.reshape(n, c, -1), axis=2)
    return out.reshape(n, c, ho, wo), indices


def max_pool2d_backward(dout: ArrayLike, x: ArrayLike, kernel_size: IntPair,
                        stride: IntPair | None = None, padding: IntPair = 0) -> FloatArray:
    """Gradient of :func:`max_pool2d` with respect to its input.

    Each output passes its gradient to the one input pixel that won its window; every other
    pixel gets zero. When windows overlap (stride < kernel size) one pixel can win several
    windows, and then its gradient is the SUM of theirs.

    Args:
        dout: (N, C, Ho, Wo) gradient with respect to the max_pool2d output.
        x, kernel_size, stride, padding: the arguments of the forward call.

    Returns:
        (N, C, H, W) gradient with respect to x.

    >>> x = np.array([[1, 2, 1], [2, 9, 2], [1, 2, 1]])[None, None]
    >>> max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2, stride=1)[0, 0]  # 9 wins 4 windows
    array([[0., 0., 0.],
           [0., 4., 0.],
           [0., 0., 0.]])
    """
    x_arr = _checks.as_float_array(x, "x", "NCHW")
    geometry = _pool_geometry(x_arr, kernel_size, stride, padding)
    n, c, h, w = x_arr.shape
    grad = _check_gradient(dout, (n, c, *geometry.out), "max_pool2d", x_arr.dtype)
    _, winners = max_pool2d(x_arr, kernel_size, stride, padding, return_indices=True)

    dx = np.zeros((n, c, h * w), dtype=grad.dtype)
    # np.add.at adds once per occurrence of an index; `dx[..., winners] += grad` would not:
    # with repeated indices only one of the writes would survive.
    planes = np.arange(n * c).reshape(n, c, 1, 1)
    np.add.at(dx.reshape(n * c, h * w), (planes, winners), grad)
    return dx.reshape(n, c, h, w)


def avg_pool2d(x: ArrayLike, kernel_size: IntPair, stride: IntPair | None = None,
               padding: IntPair = 0) -> FloatArray:
    """Average pooling: the mean of each window, channel by channel.

    As in ``torch.nn.functional.avg_pool2d`` with its defaults (``count_include_pad=True``,
    ``ceil_mode=False``): padding adds zeros and every window divides by kh * kw.

    Args:
        x: (N, C, H, W) input.
        kernel_size: window size, an int or a (rows, cols) pair.
        stride: step between windows; defaults to ``kernel_size``.
        padding: at most half the kernel size.

    Returns:
        (N, C, Ho, Wo) array.

    >>> avg_pool2d(np.arange(16).reshape(1, 1, 4, 4), 2)[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    x_arr = _checks.as_float_array(x, "x", "NCHW")
    geometry = _pool_geometry(x_arr, kernel_size, stride, padding)
    total = np.zeros((*x_arr.shape[:2], *geometry.out), dtype=x_arr.dtype)
    for _, _, pixels in _shifted_views(_pad(x_arr, geometry), geometry):
        total += pixels  # add tap (i, j) of every window
    return total / (geometry.kernel[0] * geometry.kernel[1])


def avg_pool2d_backward(dout: ArrayLike, x: ArrayLike, kernel_size: IntPair,
                        stride: IntPair | None = None, padding: IntPair = 0) -> FloatArray:
    """Gradient of :func:`avg_pool2d` with respect to its input.

    Each output is a mean of kh * kw pixels, so it hands ``dout / (kh * kw)`` to each of them;
    pixels shared by overlapping windows collect a share from each.

    Args:
        dout: (N, C, Ho, Wo) gradient with respect to the avg_pool2d output.
        x, kernel_size, stride, padding: the arguments of the forward call.

    Returns:
        (N, C, H, W) gradient with respect to x.

    >>> avg_pool2d_backward(np.ones((1, 1, 1, 1)), np.zeros((1, 1, 2, 2)), 2)[0, 0]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    x_arr = _checks.as_float_array(x, "x", "NCHW")
    geometry = _pool_geometry(x_arr, kernel_size, stride, padding)
    grad = _check_gradient(dout, (*x_arr.shape[:2], *geometry.out), "avg_pool2d", x_arr.dtype)
    share = grad / (geometry.kernel[0] * geometry.kernel[1])
    (top, bottom), (left, right) = geometry.padding
    n, c, h, w = x_arr.shape
    dx_padded = np.zeros((n, c, h + top + bottom, w + left + right), dtype=grad.dtype)
    for _, _, pixels in _shifted_views(dx_padded, geometry):
        pixels += share  # the reverse of `total += pixels` in avg_pool2d
    return _unpad(dx_padded, geometry, (h, w))


def global_avg_pool2d(x: ArrayLike, keepdims: bool = True) -> FloatArray:
    """Global average pooling: one number per channel, the mean of its whole feature map.

    The same as ``torch.nn.functional.adaptive_avg_pool2d(x, 1)``. It is the usual bridge from
    the last feature map to a linear classifier, with no weights of its own.

    Args:
        x: (N, C, H, W) input.
        keepdims: return (N, C, 1, 1) like PyTorch (default), or (N, C) if False.

    >>> global_avg_pool2d(np.arange(8).reshape(1, 2, 2, 2), keepdims=False)
    array([[1.5, 5.5]])
    """
    x_arr = _checks.as_float_array(x, "x", "NCHW")
    return x_arr.mean(axis=(2, 3), keepdims=keepdims)


# ---------------------------------------------------------------------------------------------
# Geometry and parameter counts
# ---------------------------------------------------------------------------------------------


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0,
                     dilation: int = 1) -> int:
    """Output length along one axis of a convolution or pooling window.

    ``floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1``, which for
    ``dilation=1`` is the familiar ``floor((size - kernel_size + 2*padding) / stride) + 1``.
    It holds for convolution and pooling alike; apply it to height and width separately.

    >>> conv_output_size(32, 5)  # a 5x5 kernel on a 32x32 image gives 28x28
    28
    >>> conv_output_size(224, 3, stride=2, padding=1)
    112
    """
    size = _checks.as_int(size, "size", minimum=1)
    kernel = _checks.as_int(kernel_size, "kernel_size", minimum=1)
    step = _checks.as_int(stride, "stride", minimum=1)
    pad = _checks.as_int(padding, "padding", minimum=0)
    spread = _checks.as_int(dilation, "dilation", minimum=1)
    return _output_length(size, kernel, step, pad, pad, spread, "pixels")


def conv_params(in_channels: int, out_channels: int, kernel_size: IntPair, bias: bool = True,
                groups: int = 1) -> int:
    """Number of learnable parameters of a conv layer: ``kh*kw*(C_in/groups)*C_out (+ C_out)``.

    Each of the ``out_channels`` kernels spans ``in_channels / groups`` channels and a kh x kw
    window; the bias adds one number per output channel. The count does not depend on the
    size of the image.

    >>> conv_params(256, 256, 3)  # (9 * 256 + 1) * 256
    590080
    >>> conv_params(32, 32, 3, groups=32)  # depthwise: one 3x3 kernel per channel
    320
    """
    c_in = _checks.as_int(in_channels, "in_channels", minimum=1)
    c_out = _checks.as_int(out_channels, "out_channels", minimum=1)
    kh, kw = _checks.as_pair(kernel_size, "kernel_size", minimum=1)
    n_groups = _checks.as_int(groups, "groups", minimum=1)
    if not isinstance(bias, bool | np.bool_):
        raise TypeError(f"bias must be True or False, got {bias!r}")
    if c_in % n_groups or c_out % n_groups:
        raise ValueError(f"groups={n_groups} must divide both in_channels ({c_in}) and "
                         f"out_channels ({c_out})")
    return kh * kw * (c_in // n_groups) * c_out + (c_out if bias else 0)

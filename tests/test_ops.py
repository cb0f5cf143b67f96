"""cnnlab.ops against PyTorch: forward passes, backward passes, gradient checks and errors.

Every property test draws random geometries (batch, channels, groups, non-square and even
kernels, strides, paddings, dilations, inputs where the window just fits) and compares with
torch.nn.functional in float64 to 1e-10; the backward passes are also checked against finite
differences with torch.autograd.gradcheck.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlab import ops

TOL = dict(rtol=1e-10, atol=1e-10)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


# ---------------------------------------------------------------------------------------------
# Random configurations
# ---------------------------------------------------------------------------------------------


@dataclass
class ConvCase:
    x: np.ndarray
    weight: np.ndarray
    bias: np.ndarray | None
    kwargs: dict[str, Any]


def _input_side(draw: Any, span: int, pad_total: int) -> int:
    """A side length where the window just fits (extra=0) or fits with a few pixels to spare."""
    return max(1, span - pad_total + draw(st.integers(0, 6)))


@st.composite
def conv_cases(draw: Any, allow_strings: bool = True, max_groups: int = 3) -> ConvCase:
    groups = draw(st.integers(1, max_groups))
    in_per_group, out_per_group = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding_kind = draw(st.sampled_from(["pair", "int", "same", "valid"] if allow_strings
                                        else ["pair", "int"]))
    stride = (1, 1) if padding_kind == "same" else (draw(st.integers(1, 3)),
                                                    draw(st.integers(1, 3)))
    padding: Any
    if padding_kind == "pair":
        padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
        pads = padding
    elif padding_kind == "int":
        padding = draw(st.integers(0, 3))
        pads = (padding, padding)
    else:
        padding = padding_kind
        pads = (0, 0)  # "same" needs no input size at all; "valid" pads nothing
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    h = _input_side(draw, spans[0], 2 * pads[0])
    w = _input_side(draw, spans[1], 2 * pads[1])
    batch = draw(st.integers(1, 3))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((batch, in_per_group * groups, h, w))
    weight = rng.standard_normal((out_per_group * groups, in_per_group, *kernel))
    bias = rng.standard_normal(out_per_group * groups) if draw(st.booleans()) else None
    stride_arg = stride if stride[0] != stride[1] or draw(st.booleans()) else stride[0]
    kwargs = dict(stride=stride_arg, padding=padding, dilation=dilation, groups=groups)
    return ConvCase(x, weight, bias, kwargs)


@dataclass
class PoolCase:
    x: np.ndarray
    kwargs: dict[str, Any]


@st.composite
def pool_cases(draw: Any, values: str = "normal") -> PoolCase:
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = None if draw(st.booleans()) else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    h = _input_side(draw, kernel[0], 2 * padding[0])
    w = _input_side(draw, kernel[1], 2 * padding[1])
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), h, w)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # "ties": small integers, so that windows often hold several equal maxima
    x = rng.standard_normal(shape) if values == "normal" else rng.integers(0, 3, shape) * 1.0
    square = kernel[0] == kernel[1] and draw(st.booleans())
    return PoolCase(x, dict(kernel_size=kernel[0] if square else kernel, stride=stride,
                            padding=padding))


# ---------------------------------------------------------------------------------------------
# Known answers
# ---------------------------------------------------------------------------------------------


def test_corr2d_worked_example() -> None:
    # A left-to-right ramp of slope 1 under a vertical-edge kernel: every window gives 6.
    image = np.arange(1, 26).reshape(5, 5)
    kernel = np.array([[-1, 0, 1]] * 3)
    np.testing.assert_array_equal(ops.corr2d(image, kernel), np.full((3, 3), 6.0))


def test_corr2d_finds_the_edges_of_a_bar() -> None:
    image = np.zeros((6, 6))
    image[:, 2:4] = 1.0
    sobel_x = np.outer([1, 2, 1], [-1, 0, 1])  # smooth down the rows, differentiate across
    out = ops.corr2d(image, sobel_x)
    np.testing.assert_array_equal(out, np.tile([4.0, 4.0, -4.0, -4.0], (4, 1)))


@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 4), st.integers(0, 4),
       st.integers(0, 2**32 - 1))
@settings(max_examples=40)
def test_corr2d_matches_torch(kh: int, kw: int, extra_h: int, extra_w: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    image, kernel = rng.standard_normal((kh + extra_h, kw + extra_w)), rng.standard_normal((kh, kw))
    expected = F.conv2d(t(image)[None, None], t(kernel)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(ops.corr2d(image, kernel), expected, **TOL)


def test_conv2d_is_translation_equivariant() -> None:
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 2, 12, 12)), rng.standard_normal((3, 2, 3, 3))
    shifted = np.roll(x, (2, 1), axis=(2, 3))
    # Away from the wrapped border, shifting the input shifts the output by the same amount.
    np.testing.assert_allclose(ops.conv2d(shifted, w)[..., 2:, 1:],
                               ops.conv2d(x, w)[..., :-2, :-1], **TOL)


def test_max_pool2d_backward_adds_over_overlapping_windows() -> None:
    x = np.array([[1.0, 2, 1], [2, 9, 2], [1, 2, 1]])[None, None]
    dout = np.array([[1.0, 2], [3, 4]])[None, None]  # the 9 wins all four 2x2 windows
    dx = ops.max_pool2d_backward(dout, x, 2, stride=1)
    expected = np.zeros((3, 3))
    expected[1, 1] = 10.0
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_max_pool2d_absorbs_a_shift_only_inside_the_window() -> None:
    fmap = np.array([[1, 3, 0, 2], [4, 8, 1, 1], [0, 2, 5, 7], [1, 0, 6, 3]])[None, None]
    left = np.roll(fmap, -1, axis=3)  # the 8 moves from column 1 to 0: same 2x2 window
    right = np.roll(fmap, 1, axis=3)  # the 8 moves from column 1 to 2: the next window
    assert ops.max_pool2d(fmap, 2)[0, 0, 0, 0] == ops.max_pool2d(left, 2)[0, 0, 0, 0] == 8
    assert ops.max_pool2d(right, 2)[0, 0, 0, 0] == 4
    assert ops.max_pool2d(right, 2)[0, 0, 0, 1] == 8


def test_conv_params_known_counts() -> None:
    assert ops.conv_params(256, 256, 3) == 590_080
    assert ops.conv_params(3, 64, 11) == 23_296  # AlexNet's first layer
    assert ops.conv_params(32, 32, 3, bias=False, groups=32) == 288
    assert ops.conv_params(8, 4, (1, 3)) == 100


def test_im2col_layout_is_documented_one() -> None:
    x = np.arange(2 * 4 * 5).reshape(1, 2, 4, 5)
    cols = ops.im2col(x, (2, 3), stride=(2, 1))
    c, i, j, r, s = 1, 1, 2, 1, 2  # tap (i, j) of channel c in the window at (r, s)
    assert cols.shape == (1, 2 * 2 * 3, 2 * 3)
    assert cols[0, (c * 2 + i) * 3 + j, r * 3 + s] == x[0, c, r * 2 + i, s + j]


# ---------------------------------------------------------------------------------------------
# Forward passes against PyTorch
# ---------------------------------------------------------------------------------------------


def _torch_conv(case: ConvCase) -> np.ndarray:
    bias = None if case.bias is None else t(case.bias)
    return F.conv2d(t(case.x), t(case.weight), bias, **case.kwargs).numpy()


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@given(conv_cases())
@settings(max_examples=200)
def test_conv2d_matches_torch(case: ConvCase) -> None:
    out = ops.conv2d(case.x, case.weight, case.bias, **case.kwargs)
    np.testing.assert_allclose(out, _torch_conv(case), **TOL)


@given(conv_cases(allow_strings=False), st.sampled_from([np.float64, np.float32]))
@settings(max_examples=120)
def test_conv2d_stride1_route_matches_im2col_product(case: ConvCase, dtype: type) -> None:
    # conv2d takes a copy-saving route when the stride is 1 (the input copied kw times, not
    # kh*kw). Force stride 1 and check it against the plain im2col matrix product.
    kwargs = dict(case.kwargs, stride=1)
    x, weight = case.x.astype(dtype), case.weight.astype(dtype)
    groups, (out_channels, in_per_group, kh, kw) = kwargs["groups"], weight.shape
    cols = ops.im2col(x, (kh, kw), padding=kwargs["padding"], dilation=kwargs["dilation"])
    cols = cols.reshape(x.shape[0], groups, in_per_group * kh * kw, -1)
    kernels = weight.reshape(groups, out_channels // groups, -1)
    expected = (kernels @ cols).reshape(x.shape[0], out_channels, -1)
    out = ops.conv2d(x, weight, **kwargs)
    assert out.dtype == dtype and out.flags.c_contiguous
    tol = TOL if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out.reshape(expected.shape), expected, **tol)
    np.testing.assert_allclose(out, _torch_conv(ConvCase(x, weight, None, kwargs)), **tol)


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@given(conv_cases())
@settings(max_examples=60)
def test_conv2d_naive_matches_torch(case: ConvCase) -> None:
    out = ops.conv2d_naive(case.x, case.weight, case.bias, **case.kwargs)
    np.testing.assert_allclose(out, _torch_conv(case), **TOL)


def case_kwargs(case: ConvCase) -> dict[str, Any]:
    return {k: v for k, v in case.kwargs.items() if k != "groups"}


@given(conv_cases(max_groups=1))
@settings(max_examples=60)
def test_im2col_matches_torch_unfold(case: ConvCase) -> None:
    kwargs = dict(case.kwargs)
    del kwargs["groups"]
    kernel = case.weight.shape[2:]
    x = case.x
    if isinstance(kwargs["padding"], str):  # F.unfold knows no "same"/"valid": pad by hand
        if kwargs["padding"] == "same":  # span - 1 pixels per axis, the odd one after (torch)
            dilation = kwargs["dilation"]
            dh, dw = dilation if isinstance(dilation, tuple) else (dilation, dilation)
            th, tw = dh * (kernel[0] - 1), dw * (kernel[1] - 1)
            x = np.pad(x, ((0, 0), (0, 0), (th // 2, th - th // 2), (tw // 2, tw - tw // 2)))
        kwargs["padding"] = 0
    expected = F.unfold(t(x), kernel, **kwargs).numpy()
    np.testing.assert_array_equal(ops.im2col(case.x, kernel, **case_kwargs(case)), expected)


@given(pool_cases())
@settings(max_examples=120)
def test_max_pool2d_matches_torch(case: PoolCase) -> None:
    expected, expected_indices = F.max_pool2d(t(case.x), return_indices=True, **case.kwargs)
    out, indices = ops.max_pool2d(case.x, return_indices=True, **case.kwargs)
    np.testing.assert_array_equal(out, expected.numpy())
    np.testing.assert_array_equal(indices, expected_indices.numpy())
    np.testing.assert_array_equal(ops.max_pool2d(case.x, **case.kwargs), expected.numpy())


@given(pool_cases(values="ties"))
@settings(max_examples=60)
def test_max_pool2d_breaks_ties_like_torch(case: PoolCase) -> None:
    _, expected = F.max_pool2d(t(case.x), return_indices=True, **case.kwargs)
    _, indices = ops.max_pool2d(case.x, return_indices=True, **case.kwargs)
    np.testing.assert_array_equal(indices, expected.numpy())


def test_max_pool2d_special_values_like_torch() -> None:
    x = np.full((1, 2, 5, 5), -np.inf)  # windows of -inf only: the winner is still a pixel
    x[0, 1, 1, 1], x[0, 1, 3, 4] = np.nan, 2.0  # NaN wins its windows, as in PyTorch
    for stride in (1, 2):
        out, indices = ops.max_pool2d(x, 3, stride, padding=1, return_indices=True)
        expected, expected_indices = F.max_pool2d(t(x), 3, stride, padding=1,
                                                  return_indices=True)
        np.testing.assert_array_equal(out, expected.numpy())
        np.testing.assert_array_equal(indices, expected_indices.numpy())
        np.testing.assert_array_equal(ops.max_pool2d(x, 3, stride, padding=1), expected.numpy())


@given(pool_cases())
@settings(max_examples=80)
def test_avg_pool2d_matches_torch(case: PoolCase) -> None:
    expected = F.avg_pool2d(t(case.x), **case.kwargs).numpy()
    np.testing.assert_allclose(ops.avg_pool2d(case.x, **case.kwargs), expected, **TOL)


@given(st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 7), st.integers(1, 7)),
       st.integers(0, 2**32 - 1))
@settings(max_examples=30)
def test_global_avg_pool2d_matches_torch(shape: tuple[int, ...], seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal(shape)
    expected = F.adaptive_avg_pool2d(t(x), 1).numpy()
    np.testing.assert_allclose(ops.global_avg_pool2d(x), expected, **TOL)
    np.testing.assert_allclose(ops.global_avg_pool2d(x, keepdims=False), expected[:, :, 0, 0],
                               **TOL)


@given(st.integers(1, 40), st.integers(1, 7), st.integers(1, 4), st.integers(0, 4),
       st.integers(1, 3))
@settings(max_examples=150)
def test_conv_output_size_matches_torch(size: int, kernel: int, stride: int, padding: int,
                                        dilation: int) -> None:
    if size + 2 * padding < dilation * (kernel - 1) + 1:
        with pytest.raises(ValueError, match="spans"):
            ops.conv_output_size(size, kernel, stride, padding, dilation)
        return
    out = F.conv2d(torch.zeros(1, 1, size, 1), torch.zeros(1, 1, kernel, 1), stride=stride,
                   padding=(padding, 0), dilation=dilation)
    assert ops.conv_output_size(size, kernel, stride, padding, dilation) == out.shape[2]


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(1, 7),
       st.integers(1, 7), st.booleans())
@settings(max_examples=50)
def test_conv_params_matches_torch(cin_g: int, cout_g: int, groups: int, kh: int, kw: int,
                                   bias: bool) -> None:
    layer = torch.nn.Conv2d(cin_g * groups, cout_g * groups, (kh, kw), bias=bias, groups=groups)
    expected = sum(p.numel() for p in layer.parameters())
    assert ops.conv_params(cin_g * groups, cout_g * groups, (kh, kw), bias, groups) == expected


# ---------------------------------------------------------------------------------------------
# Backward passes against autograd
# ---------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@given(conv_cases(), st.integers(0, 2**32 - 1))
@settings(max_examples=120)
def test_conv2d_backward_matches_autograd(case: ConvCase, seed: int) -> None:
    x, w = t(case.x).requires_grad_(), t(case.weight).requires_grad_()
    b = torch.zeros(case.weight.shape[0], dtype=torch.float64, requires_grad=True)
    out = F.conv2d(x, w, b, **case.kwargs)
    dout = torch.from_numpy(np.random.default_rng(seed).standard_normal(tuple(out.shape)))
    out.backward(dout)
    dx, dw, db = ops.conv2d_backward(dout.numpy(), case.x, case.weight, **case.kwargs)
    assert x.grad is not None and w.grad is not None and b.grad is not None
    np.testing.assert_allclose(dx, x.grad.numpy(), **TOL)
    np.testing.assert_allclose(dw, w.grad.numpy(), **TOL)
    np.testing.assert_allclose(db, b.grad.numpy(), **TOL)


def _pool_backward_check(case: PoolCase, seed: int, kind: str) -> None:
    forward = F.max_pool2d if kind == "max" else F.avg_pool2d
    backward = ops.max_pool2d_backward if kind == "max" else ops.avg_pool2d_backward
    x = t(case.x).requires_grad_()
    out = forward(x, **case.kwargs)
    dout = torch.from_numpy(np.random.default_rng(seed).standard_normal(tuple(out.shape)))
    out.backward(dout)
    assert x.grad is not None
    np.testing.assert_allclose(backward(dout.numpy(), case.x, **case.kwargs), x.grad.numpy(),
                               **TOL)


@given(pool_cases(), st.integers(0, 2**32 - 1))
@settings(max_examples=80)
def test_max_pool2d_backward_matches_autograd(case: PoolCase, seed: int) -> None:
    _pool_backward_check(case, seed, "max")


@given(pool_cases(), st.integers(0, 2**32 - 1))
@settings(max_examples=80)
def test_avg_pool2d_backward_matches_autograd(case: PoolCase, seed: int) -> None:
    _pool_backward_check(case, seed, "avg")


# Gradient checks: cnnlab's forward and backward wrapped as one autograd.Function, checked by
# finite differences of cnnlab's own forward (PyTorch's convolution plays no part).


class NumpyConv2d(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor,
                kwargs: dict[str, Any]) -> torch.Tensor:
        ctx.save_for_backward(x, w)
        ctx.kwargs = kwargs
        return t(ops.conv2d(x.detach().numpy(), w.detach().numpy(), b.detach().numpy(),
                            **kwargs))

    @staticmethod
    def backward(ctx: Any, dout: torch.Tensor) -> tuple[Any, ...]:
        x, w = ctx.saved_tensors
        dx, dw, db = ops.conv2d_backward(dout.numpy(), x.detach().numpy(), w.detach().numpy(),
                                         **ctx.kwargs)
        return t(dx), t(dw), t(db), None


class NumpyPool(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kind: str, kwargs: dict[str, Any]) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.kind, ctx.kwargs = kind, kwargs
        pool = ops.max_pool2d if kind == "max" else ops.avg_pool2d
        return t(pool(x.detach().numpy(), **kwargs))

    @staticmethod
    def backward(ctx: Any, dout: torch.Tensor) -> tuple[Any, ...]:
        (x,) = ctx.saved_tensors
        backward = ops.max_pool2d_backward if ctx.kind == "max" else ops.avg_pool2d_backward
        return t(backward(dout.numpy(), x.detach().numpy(), **ctx.kwargs)), None, None


@given(conv_cases())
@settings(max_examples=20)
def test_conv2d_backward_gradcheck(case: ConvCase) -> None:
    x, w = t(case.x).requires_grad_(), t(case.weight).requires_grad_()
    b = torch.zeros(case.weight.shape[0], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: NumpyConv2d.apply(x, w, b, case.kwargs),
                                    (x, w, b))


@given(pool_cases(), st.sampled_from(["max", "avg"]))
@settings(max_examples=30)
def test_pool_backward_gradcheck(case: PoolCase, kind: str) -> None:
    x = t(case.x).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: NumpyPool.apply(x, kind, case.kwargs), (x,))


# ---------------------------------------------------------------------------------------------
# Dtypes and inputs
# ---------------------------------------------------------------------------------------------


def test_integers_are_computed_in_float64() -> None:
    x, w = np.arange(32).reshape(1, 2, 4, 4), np.ones((1, 2, 2, 2), dtype=np.int32)
    assert ops.conv2d(x, w).dtype == np.float64
    np.testing.assert_array_equal(ops.conv2d(x, w), ops.conv2d(x * 1.0, w * 1.0))
    assert ops.max_pool2d(x, 2).dtype == np.float64
    assert ops.avg_pool2d(x, 2).dtype == np.float64
    assert ops.corr2d(x[0, 0], w[0, 0]).dtype == np.float64
    assert ops.im2col(x, 2).dtype == np.float64


def test_float32_stays_float32() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    out = ops.conv2d(x, w, np.zeros(4, np.float32), padding=1, groups=2)
    assert out.dtype == np.float32
    assert ops.conv2d_naive(x, w, groups=2).dtype == np.float32
    assert all(g.dtype == np.float32 for g in ops.conv2d_backward(out, x, w, padding=1, groups=2))
    assert ops.max_pool2d(x, 2).dtype == ops.avg_pool2d(x, 2).dtype == np.float32
    assert ops.max_pool2d_backward(np.ones((2, 4, 3, 3), np.float32), x, 2).dtype == np.float32
    assert ops.conv2d(x, w.astype(np.float64), groups=2).dtype == np.float64  # promotion


def test_torch_tensors_are_accepted() -> None:
    x, w = torch.randn(1, 2, 5, 5, requires_grad=True), torch.randn(3, 2, 3, 3)
    np.testing.assert_allclose(ops.conv2d(x, w), F.conv2d(x, w).detach().numpy(), rtol=1e-5,
                               atol=1e-5)


def test_inputs_are_not_modified() -> None:
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 1, 5, 5)), rng.standard_normal((1, 1, 3, 3))
    x0, w0 = x.copy(), w.copy()
    ops.conv2d(x, w, padding=1)
    ops.conv2d_backward(np.ones((1, 1, 5, 5)), x, w, padding=1)
    ops.max_pool2d_backward(np.ones((1, 1, 2, 2)), x, 2)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(w, w0)


# ---------------------------------------------------------------------------------------------
# Documentation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ops.__all__)
def test_public_functions_are_documented(name: str) -> None:
    function = getattr(ops, name)
    assert ">>>" in (function.__doc__ or ""), f"{name} has no example"
    assert all(p.annotation is not inspect.Parameter.empty
               for p in inspect.signature(function).parameters.values())


# ---------------------------------------------------------------------------------------------
# Errors a learner can act on
# ---------------------------------------------------------------------------------------------

X = np.zeros((1, 3, 4, 4))
W = np.zeros((8, 3, 3, 3))

ERRORS = [
    # wrong number of dimensions
    (lambda: ops.conv2d(X[0], W), ValueError, r"x must have 4 dimensions \(N, C, H, W\), got 3 "
     r"with shape \(3, 4, 4\); for a single example add a batch axis: x\[None\]"),
    (lambda: ops.conv2d(X, W[0]), ValueError, r"weight must have 4 dimensions .* got 3"),
    (lambda: ops.corr2d(X, W[0, 0]), ValueError, r"image must have 2 dimensions \(H, W\), got 4"),
    (lambda: ops.max_pool2d(X[0, 0], 2), ValueError, r"x must have 4 dimensions .* got 2"),
    (lambda: ops.global_avg_pool2d(X[0]), ValueError, r"x must have 4 dimensions"),
    # channels and groups
    (lambda: ops.conv2d(X, np.zeros((8, 1, 3, 3))), ValueError,
     r"input has 3 channels but the kernel expects 1 \(weight shape \(8, 1, 3, 3\), groups=1\)"),
    (lambda: ops.conv2d(np.zeros((1, 4, 4, 4)), W, groups=2), ValueError,
     r"input has 4 channels but the kernel expects 6 \(2 groups x 3 channels\)"),
    (lambda: ops.conv2d(X, np.zeros((4, 1, 3, 3)), groups=3), ValueError,
     r"weight has 4 output channels, which groups=3 cannot split evenly"),
    (lambda: ops.conv2d(X, W, groups=0), ValueError, r"groups must be positive, got 0"),
    (lambda: ops.conv2d(X, W, np.zeros(4)), ValueError,
     r"bias must have shape \(8,\), one value per output channel, got shape \(4,\)"),
    # the kernel does not fit
    (lambda: ops.conv2d(X, np.zeros((8, 3, 5, 3))), ValueError,
     r"the kernel spans 5 rows but the padded input has only 4 rows \(4 \+ 0 padding\)"),
    (lambda: ops.conv2d(X, W, dilation=(1, 2)), ValueError,
     r"spans 5 columns \(kernel 3, dilation 2\) but the padded input has only 4 columns"),
    (lambda: ops.corr2d(np.zeros((3, 3)), np.zeros((2, 4))), ValueError, r"spans 4 columns"),
    (lambda: ops.max_pool2d(X, 5, padding=0), ValueError, r"spans 5 rows"),
    (lambda: ops.im2col(X, 7, padding=1), ValueError,
     r"spans 7 rows but the padded input has only 6 rows \(4 \+ 2 padding\)"),
    (lambda: ops.conv_output_size(4, 7, padding=1), ValueError, r"spans 7 pixels"),
    # strides, paddings, dilations
    (lambda: ops.conv2d(X, W, stride=0), ValueError, r"stride must be positive, got 0"),
    (lambda: ops.conv2d(X, W, stride=(1, -2)), ValueError,
     r"stride must be positive, got \(1, -2\)"),
    (lambda: ops.conv2d(X, W, padding=-1), ValueError, r"padding must be at least 0, got -1"),
    (lambda: ops.conv2d(X, W, dilation=0), ValueError, r"dilation must be positive, got 0"),
    (lambda: ops.max_pool2d(X, 2, stride=0), ValueError, r"stride must be positive, got 0"),
    (lambda: ops.avg_pool2d(X, 2, padding=-1), ValueError, r"padding must be at least 0"),
    (lambda: ops.max_pool2d(X, 2, padding=2), ValueError,
     r"padding must be at most half the kernel size: kernel \(2, 2\), padding \(2, 2\)"),
    (lambda: ops.conv2d(X, W, padding="full"), ValueError,
     r"padding must be an int, a pair of ints, 'valid' or 'same', got 'full'"),
    (lambda: ops.conv2d(X, W, padding="same", stride=2), ValueError,
     r"padding='same' needs stride 1"),
    (lambda: ops.conv_output_size(8, 3, stride=0), ValueError, r"stride must be positive"),
    (lambda: ops.conv_output_size(8, 3, padding=-1), ValueError, r"padding must be at least 0"),
    (lambda: ops.conv_output_size(0, 3), ValueError, r"size must be positive, got 0"),
    # non-integer sizes
    (lambda: ops.conv2d(X, W, stride=1.5), TypeError,
     r"stride must be an int or a pair of ints, got 1.5 \(float\)"),
    (lambda: ops.conv2d(X, W, padding=(1, 1, 1)), TypeError, r"padding must be an int or a pair"),
    (lambda: ops.max_pool2d(X, 2.0), TypeError, r"kernel_size must be an int or a pair of ints, "
     r"got 2.0 \(float\)"),
    (lambda: ops.avg_pool2d(X, True), TypeError, r"kernel_size must be an int or a pair"),
    (lambda: ops.conv2d(X, W, groups=1.0), TypeError, r"groups must be an int, got 1.0"),
    (lambda: ops.conv_output_size(32.0, 3), TypeError, r"size must be an int, got 32.0 \(float\)"),
    (lambda: ops.conv_output_size(32, "3"), TypeError, r"kernel_size must be an int"),
    (lambda: ops.conv_params(3, 8, 2.5), TypeError, r"kernel_size must be an int or a pair"),
    (lambda: ops.conv_params(3, 8, 3, groups=2), ValueError,
     r"groups=2 must divide both in_channels \(3\) and out_channels \(8\)"),
    (lambda: ops.conv_params(3, 8, 3, bias=1), TypeError, r"bias must be True or False"),
    # empty arrays and non-numbers
    (lambda: ops.conv2d(np.zeros((0, 3, 4, 4)), W), ValueError,
     r"x is empty \(shape \(0, 3, 4, 4\)\)"),
    (lambda: ops.max_pool2d(np.zeros((1, 1, 0, 4)), 1), ValueError, r"x is empty"),
    (lambda: ops.corr2d(np.zeros((3, 3)), np.zeros((0, 2))), ValueError, r"kernel is empty"),
    (lambda: ops.conv2d(X.astype(str), W), TypeError, r"x must hold real numbers, got an array "
     r"of dtype <U"),
    (lambda: ops.max_pool2d(X + 1j, 2), TypeError, r"must hold real numbers, got .*complex128"),
    # gradients of the wrong shape
    (lambda: ops.conv2d_backward(np.zeros((1, 8, 3, 3)), X, W), ValueError,
     r"dout must have the shape of conv2d's output \(1, 8, 2, 2\), got \(1, 8, 3, 3\)"),
    (lambda: ops.max_pool2d_backward(np.zeros((1, 3, 4, 4)), X, 2), ValueError,
     r"dout must have the shape of max_pool2d's output \(1, 3, 2, 2\)"),
    (lambda: ops.avg_pool2d_backward(np.zeros((1, 3, 2)), X, 2), ValueError,
     r"dout must have 4 dimensions"),
]


@pytest.mark.parametrize("call, error, message", ERRORS)
def test_bad_input_raises_a_clear_error(call: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_max_pool2d_with_several_nans_picks_the_index_torch_picks() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 6, 6))
    x[rng.random(x.shape) < 0.3] = np.nan  # many windows hold two or more NaNs
    assert ops.max_pool2d(np.array([[[[np.nan, np.nan]]]]), (1, 2), return_indices=True)[1] == 1
    for kwargs in (dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1)):
        out, idx = ops.max_pool2d(x, return_indices=True, **kwargs)
        expected, expected_idx = F.max_pool2d(t(x), return_indices=True, **kwargs)
        np.testing.assert_array_equal(idx, expected_idx.numpy())
        np.testing.assert_array_equal(out, expected.numpy())  # NaN == NaN for this check
        dout = rng.standard_normal(out.shape)
        xt = t(x).requires_grad_()
        F.max_pool2d(xt, **kwargs).backward(t(dout))
        np.testing.assert_allclose(ops.max_pool2d_backward(dout, x, **kwargs), xt.grad.numpy())

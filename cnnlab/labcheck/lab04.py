"""Lab 4's checkers: convolution and max pooling forward and backward by hand, residual
blocks, evaluation mode and a network built to a specification."""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnlab import models, ops
from cnnlab import train as cnn_train
from cnnlab.labcheck._core import (
    Verdict,
    _as_numpy,
    _describe,
    _name,
    _Problem,
    _rng,
    _run,
    attempt,
    compare,
    numerical_gradient,
    relative_error,
)

# ---------------------------------------------------------------------------------------------
# Lab 4, part 1: convolution and max pooling by hand, forward and backward (NumPy)
# ---------------------------------------------------------------------------------------------

# (N, C, H, W), (F, C, kh, kw), stride, pad: non-square images and kernels, so that swapped
# rows and columns show; a stride of 2 and padding, so that each is exercised.
_CONV_CASES = (
    ((2, 3, 7, 6), (4, 3, 3, 3), 1, 1),
    ((1, 2, 6, 9), (3, 2, 2, 3), 2, 0),
    ((2, 1, 5, 5), (2, 1, 3, 1), 1, 2),
)


def _conv_inputs(case: tuple[Any, ...], seed: int) -> tuple[np.ndarray, ...]:
    xs, ws, _, _ = case
    rng = _rng(seed)
    return rng.normal(size=xs), rng.normal(size=ws), rng.normal(size=ws[0])


def _unchanged(before: Sequence[np.ndarray], after: Sequence[np.ndarray], label: str) -> None:
    names = ("x", "w", "b", "dout")
    for name, a, b in zip(names, before, after, strict=False):
        if not np.array_equal(a, b):
            raise _Problem(f"{label} changed its input {name} in place: the caller's array is "
                           "shared data; work on a copy (np.pad returns a new array)")


def check_conv_forward(fn: Any, quiet: bool = False) -> Verdict:
    """Is ``fn(x, w, b, stride, pad)`` (all NumPy, x (N, C, H, W), w (F, C, kh, kw), b (F,))
    a cross-correlation equal to :func:`cnnlab.ops.conv2d`? Returns a :class:`Verdict`."""

    def body() -> str:
        for k, case in enumerate(_CONV_CASES):
            x, w, b = _conv_inputs(case, k)
            stride, pad = case[2], case[3]
            args = (x.copy(), w.copy(), b.copy())
            label = f"conv_forward(x {x.shape}, w {w.shape}, stride={stride}, pad={pad})"
            got = attempt(fn, *args, stride, pad, what=label)
            _unchanged((x, w, b), args, label)
            expected = ops.conv2d(x, w, b, stride=stride, padding=pad)
            problem = compare(got, expected, label)
            if problem is None:
                continue
            g = _as_numpy(got, label, expected)
            if g.shape == expected.shape:
                flipped = ops.conv2d(x, w[:, :, ::-1, ::-1], b, stride=stride, padding=pad)
                if np.allclose(g, flipped, atol=1e-6):
                    problem = (f"{label}: you flipped the kernel (that is convolution in the "
                               "signal-processing sense); a CNN layer slides it unflipped")
                elif np.allclose(g, expected - b[None, :, None, None], atol=1e-6):
                    problem = f"{label}: the values miss the bias: add b[f] to every output"
                elif w.shape[2] == w.shape[3] and np.allclose(
                        g, ops.conv2d(x, w.swapaxes(2, 3), b, stride=stride, padding=pad),
                        atol=1e-6):
                    problem = (f"{label}: the shape is right, but the kernel's rows and "
                               "columns are swapped: w[f, c, row, column] meets the window's "
                               "pixel at that row and column")
            elif stride > 1:
                unstrided = ops.conv2d(x, w, b, stride=1, padding=pad)
                if g.shape == unstrided.shape:
                    problem += "; the stride is ignored: move the window by `stride` pixels"
            elif pad > 0 and g.shape == ops.conv2d(x, w, b, padding=0).shape:
                problem += "; the padding is missing: pad H and W by `pad` zeros first"
            raise _Problem(problem)
        return (f"{_name(fn)} equals cnnlab.ops.conv2d on {len(_CONV_CASES)} cases (non-square "
                "kernels, stride 2, padding)")

    return _run(body, quiet)


def check_conv_backward(fn: Any, quiet: bool = False) -> Verdict:
    """Is ``fn(dout, x, w, b, stride, pad) -> (dx, dw, db)`` the gradient of conv2d?

    The expected gradients are :func:`cnnlab.ops.conv2d_backward`'s, confirmed on the spot by a
    numerical gradient of :func:`cnnlab.ops.conv2d`.
    """

    def body() -> str:
        worst = 0.0
        for k, case in enumerate(_CONV_CASES):
            x, w, b = _conv_inputs(case, 10 + k)
            stride, pad = case[2], case[3]
            out = ops.conv2d(x, w, b, stride=stride, padding=pad)
            dout = _rng(20 + k).normal(size=out.shape)
            args = (dout.copy(), x.copy(), w.copy(), b.copy())
            label = f"conv_backward(x {x.shape}, w {w.shape}, stride={stride}, pad={pad})"
            got = attempt(fn, *args, stride, pad, what=label)
            _unchanged((x, w, b, dout), args[1:] + args[:1], label)
            if not isinstance(got, tuple | list) or len(got) != 3:
                raise _Problem(f"{label}: expected the tuple (dx, dw, db), got {_describe(got)}")
            expected = ops.conv2d_backward(dout, x, w, stride=stride, padding=pad)
            if k == 0:  # cnnlab's gradient itself, against a numerical one
                def forward(v: np.ndarray, x: np.ndarray = x, b: np.ndarray = b,
                            stride: int = stride, pad: int = pad) -> np.ndarray:
                    return ops.conv2d(x, v, b, stride=stride, padding=pad)

                num_dw = numerical_gradient(forward, w.copy(), dout)
                assert relative_error(num_dw, expected[1]) < 1e-6
            for name, g, e in zip(("dx", "dw", "db"), got, expected, strict=True):
                problem = compare(g, e, f"{label}: {name}", atol=1e-6)
                if problem is None:
                    worst = max(worst, relative_error(g, e))
                    continue
                garr = _as_numpy(g, f"{label}: {name}", e)
                if name == "db" and garr.shape == (x.shape[0], w.shape[0]):
                    problem += "; sum db over the batch too, not only over the positions"
                elif name == "db" and garr.shape == e.shape and np.allclose(
                        garr, dout.sum(axis=(2, 3))[0], atol=1e-6):
                    problem += "; db must add up every example of the batch"
                elif name == "dw" and garr.shape == e.shape:
                    one = ops.conv2d_backward(dout[:1], x[:1], w, stride=stride, padding=pad)[1]
                    if np.allclose(garr, one, atol=1e-6):
                        problem += ("; dw holds only the first example: add (+=) every "
                                    "example's contribution")
                    else:
                        problem += ("; every window adds x_window * dout[n, f, i, j] to "
                                    "dw[f] (+=, not =)")
                elif name == "dx" and garr.shape != e.shape and pad > 0:
                    problem += "; cut the padding off dx: it has x's shape"
                elif name == "dx" and garr.shape == e.shape:
                    problem += ("; windows overlap, so a pixel collects (+=) the gradient of "
                                "every window it is in")
                raise _Problem(problem)
        return (f"{_name(fn)} equals cnnlab.ops.conv2d_backward (itself checked numerically) "
                f"on {len(_CONV_CASES)} cases; largest relative error {worst:.1e}")

    return _run(body, quiet)


# (N, C, H, W), (pool height, pool width), stride: a rectangular window on a non-square input,
# windows that overlap (stride < size) and windows that leave a border unused.
_POOL_CASES = (
    ((2, 3, 6, 8), (2, 2), 2),
    ((1, 2, 7, 9), (2, 3), 2),
    ((2, 2, 5, 5), (3, 3), 1),
)


def _pool_input(shape: tuple[int, ...], seed: int) -> np.ndarray:
    # Distinct values (a random permutation), so that every window has one clear maximum.
    rng = _rng(seed)
    return rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.float64) / 10 - 3


def check_maxpool_forward(fn: Any, quiet: bool = False) -> Verdict:
    """Is ``fn(x, size, stride)``, with ``size = (height, width)`` of the window, equal to
    :func:`cnnlab.ops.max_pool2d`?"""

    def body() -> str:
        for k, (shape, size, stride) in enumerate(_POOL_CASES):
            x = _pool_input(shape, 30 + k)
            arg = x.copy()
            label = f"maxpool_forward(x {x.shape}, size={size}, stride={stride})"
            got = attempt(fn, arg, size, stride, what=label)
            _unchanged((x,), (arg,), label)
            expected = ops.max_pool2d(x, size, stride)
            problem = compare(got, expected, label)
            if problem is None:
                continue
            g = _as_numpy(got, label, expected)
            swapped = size[::-1]
            if size[0] != size[1] and g.shape == ops.max_pool2d(x, swapped, stride).shape:
                problem += (f"; the window is {size[0]} rows by {size[1]} columns: you used "
                            "its width for the rows")
            elif g.shape == expected.shape and np.allclose(
                    g, ops.avg_pool2d(x, size, stride), atol=1e-6):
                problem += "; that is the mean of each window, not its maximum"
            raise _Problem(problem)
        return f"{_name(fn)} equals cnnlab.ops.max_pool2d on {len(_POOL_CASES)} cases"

    return _run(body, quiet)


def check_maxpool_backward(fn: Any, quiet: bool = False) -> Verdict:
    """Is ``fn(dout, x, size, stride) -> dx`` the gradient of max pooling, as
    :func:`cnnlab.ops.max_pool2d_backward`?"""

    def body() -> str:
        for k, (shape, size, stride) in enumerate(_POOL_CASES):
            x = _pool_input(shape, 40 + k)
            dout = _rng(50 + k).normal(size=ops.max_pool2d(x, size, stride).shape)
            args = (dout.copy(), x.copy())
            label = f"maxpool_backward(x {x.shape}, size={size}, stride={stride})"
            got = attempt(fn, *args, size, stride, what=label)
            _unchanged((dout, x), args, label)
            expected = ops.max_pool2d_backward(dout, x, size, stride)
            problem = compare(got, expected, label)
            if problem is None:
                continue
            g = _as_numpy(got, label, expected)
            if g.shape == expected.shape:
                winners = expected != 0
                if np.all(g[~winners] == 0) and stride < max(size):
                    problem += ("; these windows overlap, so one pixel can win several: add "
                                "(+=) their gradients instead of overwriting (=)")
                elif np.count_nonzero(g) > np.count_nonzero(expected):
                    problem += ("; only the pixel that won its window gets the gradient; the "
                                "others get 0")
            raise _Problem(problem)
        return f"{_name(fn)} equals cnnlab.ops.max_pool2d_backward on {len(_POOL_CASES)} cases"

    return _run(body, quiet)


def check_numerical_gradient(fn: Any, quiet: bool = False) -> Verdict:
    """Is ``fn(f, x, dout, h)`` a central-difference gradient of ``sum(f(x) * dout)``?

    Tried on functions whose gradient is known exactly: an elementwise cube, a matrix product
    and :func:`cnnlab.ops.conv2d` (against :func:`cnnlab.ops.conv2d_backward`).
    """

    def body() -> str:
        rng = _rng(60)
        m = rng.normal(size=(3, 4))
        xw = rng.normal(size=(1, 2, 5, 4))
        kw = rng.normal(size=(2, 2, 3, 2))
        cases: list[tuple[str, Callable[[np.ndarray], np.ndarray], np.ndarray, np.ndarray,
                          Callable[[np.ndarray, np.ndarray], np.ndarray]]] = [
            ("x ** 3", lambda v: v ** 3, rng.normal(size=(2, 3)), rng.normal(size=(2, 3)),
             lambda v, d: 3 * v ** 2 * d),
            ("x @ m", lambda v: v @ m, rng.normal(size=(2, 3)), rng.normal(size=(2, 4)),
             lambda v, d: d @ m.T),
            ("conv2d(x, w)", lambda v: ops.conv2d(v, kw), xw, rng.normal(size=(1, 2, 3, 3)),
             lambda v, d: ops.conv2d_backward(d, v, kw)[0]),
        ]
        for name, f, x, dout, exact in cases:
            arg = x.copy()
            label = f"numerical_gradient for f(x) = {name}"
            got = attempt(fn, f, arg, dout.copy(), 1e-5, what=label)
            if not np.array_equal(arg, x):
                raise _Problem(f"{label}: x is not as it was afterwards; put every entry back "
                               "after nudging it")
            expected = exact(x, dout)
            problem = compare(got, expected, label, atol=1e-6, rtol=1e-4)
            if problem is None:
                continue
            g = _as_numpy(got, label, expected)
            if g.shape == expected.shape and np.allclose(g, 2 * expected, rtol=1e-3):
                problem += "; a central difference divides by 2h"
            elif g.shape == expected.shape and np.allclose(g, -expected, rtol=1e-3):
                problem += "; the sign is reversed: (f(x + h) - f(x - h)) / 2h"
            elif g.shape == expected.shape:
                problem += ("; nudge one entry of x at a time and weight f's change by dout "
                            "(sum(f(x) * dout))")
            raise _Problem(problem)
        return f"{_name(fn)} agrees with the exact gradient of three functions"

    return _run(body, quiet)


# ---------------------------------------------------------------------------------------------
# Lab 4, part 2: residual networks
# ---------------------------------------------------------------------------------------------


def _close(a: Any, b: Tensor) -> bool:
    return (isinstance(a, Tensor) and a.shape == b.shape and a.dtype == b.dtype
            and bool(torch.allclose(a, b, atol=1e-5)))


def _tensor_problem(got: Any, expected: Tensor, label: str) -> str:
    if isinstance(got, np.ndarray):
        return f"{label}: expected a torch tensor, got a NumPy array"
    if (isinstance(got, Tensor) and got.shape == expected.shape and got.dtype != expected.dtype
            and torch.allclose(got.to(expected.dtype), expected, atol=1e-5)):
        return (f"{label}: the values are right but the dtype is {got.dtype}, expected "
                f"{expected.dtype}; keep the input's dtype (no .double() or .float())")
    return compare(got, expected, label, atol=1e-5) or f"{label}: the values differ"


def check_residual_forward(fn: Any, quiet: bool = False) -> Verdict:
    """Compare ``fn(block, h)`` with :class:`cnnlab.models.ResidualBlock`, in train and eval
    mode, and make sure it does not call ``block(h)`` itself."""

    def body() -> str:
        torch.manual_seed(1)
        for channels, side in ((3, 5), (8, 8)):
            block = models.ResidualBlock(channels)
            with torch.no_grad():
                for bn in (block.bn1, block.bn2):
                    bn.weight.uniform_(0.5, 1.5)
                    bn.bias.normal_()
                    bn.running_mean.normal_()  # type: ignore[union-attr]
                    bn.running_var.uniform_(0.5, 2.0)  # type: ignore[union-attr]
            h = torch.randn(4, channels, side, side)
            for training in (True, False):
                block.train(training)
                mode = "train" if training else "eval"
                label = f"residual_forward in {mode} mode, h {tuple(h.shape)}"
                with torch.no_grad():
                    expected = block(h)
                    called: list[bool] = []
                    handle = block.register_forward_hook(
                        lambda *a, called=called: called.append(True))
                    try:
                        got = attempt(fn, block, h.clone(), what=label)
                    finally:
                        handle.remove()
                    if called:
                        raise _Problem(f"{label}: it calls block(h); use the four layers "
                                       "block.conv1, block.bn1, block.conv2, block.bn2")
                    if _close(got, expected):
                        continue
                    r = block.bn2(block.conv2(F.relu(block.bn1(block.conv1(h)))))
                    typical = {
                        "apply the ReLU after adding h, not to R(h) before it": F.relu(r) + h,
                        "the block ends with a ReLU of the sum": r + h,
                        "you left out the shortcut: add the input h back": F.relu(r),
                        "R(h) has a ReLU between the two convolutions": F.relu(
                            block.bn2(block.conv2(block.bn1(block.conv1(h)))) + h),
                        "R(h) is conv1, bn1, relu, conv2, bn2, in that order": F.relu(h + block.bn2(
                            block.conv2(block.bn1(F.relu(block.conv1(h)))))),
                    }
                    for hint, wrong in typical.items():
                        if _close(got, wrong):
                            raise _Problem(f"{label}: not quite, {hint}")
                    if not training:
                        block.train(True)
                        in_train_mode = block(h)
                        block.train(False)
                        if _close(got, in_train_mode):
                            raise _Problem(f"{label}: the result is the train-mode one; do not "
                                           "switch the layers' mode inside the function")
                    raise _Problem(_tensor_problem(got, expected, label))
        return ("residual_forward computes relu(h + R(h)) exactly like "
                "cnnlab.models.ResidualBlock, in train and eval mode")

    return _run(body, quiet)


def check_shortcut_a(fn: Any, quiet: bool = False) -> Verdict:
    """Compare ``fn(h, out_channels, stride)`` with :class:`cnnlab.models.ZeroPadShortcut`."""

    def body() -> str:
        torch.manual_seed(2)
        for c_in, c_out, stride, side in ((16, 32, 2, 8), (8, 16, 2, 7), (4, 10, 1, 5)):
            h = torch.randn(2, c_in, side, side)
            arg = h.clone()
            label = f"shortcut_a(h {tuple(h.shape)}, out_channels={c_out}, stride={stride})"
            got = attempt(fn, arg, c_out, stride, what=label)
            if not torch.equal(arg, h):
                raise _Problem(f"{label} changed h in place; return a new tensor")
            expected = models.ZeroPadShortcut(c_in, c_out, stride)(h)
            if _close(got, expected):
                continue
            extra = c_out - c_in
            kept = h[:, :, ::stride, ::stride]
            typical = {
                "keep every stride-th pixel starting at 0 (h[:, :, ::stride, ::stride])":
                    F.pad(h[:, :, 1::stride, 1::stride], (0, 0, 0, 0, 0, extra)),
                "put all the new zero channels after the existing ones, not in front":
                    F.pad(kept, (0, 0, 0, 0, extra, 0)),
                "put all the new zero channels after the existing ones; splitting them "
                "between both sides (a common variant) is not what ZeroPadShortcut does":
                    F.pad(kept, (0, 0, 0, 0, extra // 2, extra - extra // 2)),
                "keep every stride-th pixel; do not average":
                    F.pad(F.avg_pool2d(h, stride, ceil_mode=True), (0, 0, 0, 0, 0, extra)),
                "keep every stride-th pixel; do not take the maximum":
                    F.pad(F.max_pool2d(h, stride, ceil_mode=True), (0, 0, 0, 0, 0, extra)),
            }
            for hint, wrong in typical.items():
                if _close(got, wrong):
                    raise _Problem(f"{label}: the shape is right, but {hint}")
            raise _Problem(_tensor_problem(got, expected, label))
        return "shortcut_a subsamples and zero-pads exactly like cnnlab.models.ZeroPadShortcut"

    return _run(body, quiet)


def _int_answer(value: Any, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _Problem(f"{label}: expected a whole number, got {_describe(value)}")
    return int(value)


def check_counts(depth_fn: Any, params_fn: Any, quiet: bool = False) -> Verdict:
    """Compare ``depth_fn(n)`` and ``params_fn(n, width, in_channels, num_classes)`` with real
    :func:`cnnlab.models.resnet_cifar` networks; the formulas must not build a network."""

    def body() -> str:
        for n in (1, 2, 3, 5, 9, 18):
            net = models.resnet_cifar(6 * n + 2)
            layers = sum(isinstance(m, nn.Conv2d | nn.Linear) for m in net.modules())
            got = _int_answer(attempt(depth_fn, n, what=f"cifar_depth({n})"), f"cifar_depth({n})")
            if got != layers:
                hint = (", count the first convolution and the classifier too"
                        if got == layers - 2 else "")
                raise _Problem(f"cifar_depth({n}) gave {got}, the network has {layers} "
                               f"weighted layers{hint}")
        built: list[int] = []
        original = models.CifarResNet.__init__

        def spy(self: Any, *args: Any, **kwargs: Any) -> None:
            built.append(1)
            original(self, *args, **kwargs)

        for n, width, c_in, k in ((1, 16, 3, 10), (3, 16, 3, 10), (5, 8, 1, 10), (9, 4, 3, 100)):
            net = models.resnet_cifar(6 * n + 2, width=width, in_channels=c_in, num_classes=k)
            expected = models.count_params(net)
            label = f"cifar_params({n}, {width}, {c_in}, {k})"
            models.CifarResNet.__init__ = spy  # type: ignore[method-assign]
            try:
                raw = attempt(params_fn, n, width, c_in, k, what=label)
            finally:
                models.CifarResNet.__init__ = original  # type: ignore[method-assign]
            if built:
                raise _Problem(f"{label} builds a network to count it; the task asks for a "
                               "formula")
            got = _int_answer(raw, label)
            if got == expected:
                continue
            bn = sum(p.numel() for m in net.modules() if isinstance(m, nn.BatchNorm2d)
                     for p in m.parameters())
            conv_bias = sum(m.out_channels for m in net.modules() if isinstance(m, nn.Conv2d))
            hints = {bn: "batch norm learns a scale and a shift for every channel",
                     k: "the classifier has one bias per class",
                     bn + k: "count batch norm's scale and shift, and the classifier's bias",
                     -conv_bias: "the convolutions have no bias (batch norm's shift replaces it)"}
            hint = hints.get(expected - got, "")
            raise _Problem(f"{label} gave {got:,}, count_params says {expected:,}"
                           + (f": {hint}" if hint else ""))
        return "cifar_depth and cifar_params agree with resnet_cifar at every size"

    return _run(body, quiet)


# ---------------------------------------------------------------------------------------------
# Lab 4, part 3: evaluation mode, and a network built to a specification
# ---------------------------------------------------------------------------------------------


def _bn_net(seed: int) -> nn.Module:
    """A small network with batch norm and dropout, trained a little so that its running
    statistics differ from any one batch's."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.Dropout(0.5), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    with torch.no_grad():
        bn = net[1]
        assert isinstance(bn, nn.BatchNorm2d)
        bn.running_mean.normal_(0.0, 1.0)  # type: ignore[union-attr]
        bn.running_var.uniform_(0.3, 3.0)  # type: ignore[union-attr]
    return net


def _eval_batches(seed: int) -> list[tuple[Tensor, Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(n, 1, 6, 6, generator=g) * 2 + 1,
             torch.randint(0, 3, (n,), generator=g)) for n in (8, 8, 5)]


def check_evaluate(fn: Any, quiet: bool = False) -> Verdict:
    """Is ``fn(model, batches) -> accuracy`` (a float in [0, 1]) the accuracy of ``model`` as
    :func:`cnnlab.train.evaluate` measures it, without side effects on the model?

    The model has batch norm and dropout, so forgetting ``model.eval()`` changes the answer and
    the running statistics; the model must be left in the mode it came in.
    """

    def body() -> str:
        for seed, start_training in ((0, True), (1, False)):
            net = _bn_net(seed)
            net.train(start_training)
            batches = _eval_batches(seed)
            expected = cnn_train.evaluate(copy.deepcopy(net), batches)["acc"]
            before = copy.deepcopy(net.state_dict())
            mode = "train" if start_training else "eval"
            label = f"evaluate(model, batches) on a model in {mode} mode"
            got = attempt(fn, net, batches, what=label)
            if isinstance(got, Tensor) and got.numel() == 1:
                got = float(got)
            if isinstance(got, bool) or not isinstance(got, numbers.Real):
                raise _Problem(f"{label}: expected the accuracy as a float, got {_describe(got)}")
            got = float(got)
            changed = [k for k, v in net.state_dict().items() if not torch.equal(v, before[k])]
            if changed:
                raise _Problem(f"{label} changed the model ({', '.join(changed[:2])}): batch norm "
                               "updates its running statistics in train mode; call model.eval() "
                               "before the forward passes")
            if net.training != start_training:
                raise _Problem(f"{label} left the model in "
                               f"{'train' if net.training else 'eval'} mode; put it back with "
                               "model.train(was_training) at the end")
            if math.isnan(got):
                raise _Problem(f"{label}: got NaN")
            if 1 < got <= 100 and math.isclose(got / 100, expected, abs_tol=1e-6):
                raise _Problem(f"{label}: gave {got:g}, a percentage; return a fraction in [0, 1]")
            if not math.isclose(got, expected, abs_tol=1e-6):
                n = sum(len(y) for _, y in batches)
                if math.isclose(got * n, expected * n, abs_tol=0.5) is False and any(
                        math.isclose(got, c / len(batches[-1][1]), abs_tol=1e-6)
                        for c in range(len(batches[-1][1]) + 1)):
                    raise _Problem(f"{label}: gave {got:.4f}, the accuracy of the last batch "
                                   "alone; count the correct answers over every batch")
                raise _Problem(f"{label}: gave {got:.4f}, cnnlab.train.evaluate gives "
                               f"{expected:.4f}; did you call model.eval()? (dropout and batch "
                               "norm behave differently in train mode)")
        return (f"{_name(fn)} matches cnnlab.train.evaluate, leaves the model's statistics and "
                "mode alone")

    return _run(body, quiet)


#: The specification of the network to build: the output shape (C, H, W) or (features,) of
#: each convolution, pooling and linear layer in the order they run, for a (1, 8, 8) input.
SPEC_NET: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("conv", (16, 8, 8)), ("pool", (16, 4, 4)), ("conv", (32, 4, 4)), ("conv", (32, 4, 4)),
    ("pool", (32, 1, 1)), ("linear", (10,)))
#: The input of one image, and the exact parameter count of the specified network.
SPEC_INPUT, SPEC_PARAMS = (1, 8, 8), 14_458


def _kind(module: nn.Module) -> str | None:
    if isinstance(module, nn.Conv2d):
        return "conv"
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d | nn.AdaptiveAvgPool2d
                  | nn.AdaptiveMaxPool2d):
        return "pool"
    if isinstance(module, nn.Linear):
        return "linear"
    return None


def check_spec_net(build: Any, quiet: bool = False) -> Verdict:
    """Does ``build()`` return a network to :data:`SPEC_NET`: the listed layers with those
    output shapes, batch norm after every convolution, and exactly its parameter count?"""

    def body() -> str:
        net = attempt(build, what="build_net()")
        if not isinstance(net, nn.Module):
            raise _Problem(f"build_net() must return an nn.Module, got {_describe(net)}")
        seen: list[tuple[str, tuple[int, ...], nn.Module, float]] = []

        def hook(mod: nn.Module, inputs: Any, output: Any) -> None:
            low = float(inputs[0].min()) if inputs and isinstance(inputs[0], Tensor) else 0.0
            shape = tuple(output.shape[1:]) if isinstance(output, Tensor) else ()
            seen.append((_kind(mod) or "", shape, mod, low))

        hooks = [m.register_forward_hook(hook) for m in net.modules() if _kind(m) is not None]
        x = torch.randn(2, *SPEC_INPUT)
        try:
            net.eval()
            with torch.no_grad():
                out = net(x)
        except Exception as err:
            raise _Problem(f"build_net(): a (2, 1, 8, 8) batch raised {type(err).__name__}: "
                           f"{err}") from None
        finally:
            for h in hooks:
                h.remove()
        want = SPEC_NET
        got = [(k, s) for k, s, _, _ in seen]
        for i, ((wk, ws), (gk, gs)) in enumerate(zip(want, got, strict=False)):
            if wk != gk:
                raise _Problem(f"layer {i + 1} should be a {wk} layer, yours is a {gk} layer "
                               f"(the layers that run: {[k for k, _ in got]})")
            if ws != gs:
                hint = ""
                if wk == "conv" and len(gs) == 3 and gs[0] == ws[0] and gs[1] < ws[1]:
                    hint = ": the convolutions keep the size; pad by 1 for a 3x3 kernel"
                elif len(gs) == 3 and gs[0] != ws[0]:
                    hint = ": count the filters"
                raise _Problem(f"{wk} layer {i + 1}: output {gs}, the specification says {ws}"
                               f"{hint}")
        if len(got) != len(want):
            raise _Problem(f"the network runs {len(got)} conv/pool/linear layers, the "
                           f"specification lists {len(want)}")
        if not isinstance(out, Tensor) or tuple(out.shape) != (2, 10):
            raise _Problem(f"the network's output for a batch of 2 should be (2, 10), got "
                           f"{_describe(out)}")
        convs = [m for k, _, m, _ in seen if k == "conv"]
        norms = sum(isinstance(m, nn.BatchNorm2d) for m in net.modules())
        if norms < len(convs):
            raise _Problem(f"{len(convs)} convolutions but {norms} batch-norm layers: put "
                           "nn.BatchNorm2d after every convolution")
        count = models.count_params(net, trainable_only=False)
        if count != SPEC_PARAMS:
            biases = sum(m.out_channels for m in convs if isinstance(m, nn.Conv2d)
                         and m.bias is not None)
            hint = (": the convolutions should have no bias (bias=False; batch norm's shift "
                    "replaces it)" if count - biases == SPEC_PARAMS else "")
            raise _Problem(f"{count:,} parameters, the specification says "
                           f"{SPEC_PARAMS:,}{hint}")
        for i, (kind, _, _, low) in enumerate(seen[1:], 2):
            if kind in ("conv", "linear") and low < 0:
                raise _Problem(f"the input of layer {i} ({kind}) has negative values: put a "
                               "ReLU after every batch norm")
        return (f"build_net() follows the specification: {len(want)} layers with the listed "
                f"shapes and {SPEC_PARAMS:,} parameters")

    return _run(body, quiet)



"""Checkers for the labs: each one judges a learner's function against cnnlab's tested code.

A checker takes the learner's function (and whatever the lab has built, e.g. a network), calls it
on several inputs, and returns a :class:`Verdict`: true when the function is right, false with a
message that says what is wrong. It prints the verdict unless ``quiet=True``. Three rules:

- a checker never raises, whatever it is given (a string, a bare int, NaN, a function that
  crashes): it says what came and what was expected;
- a stub (a body that still raises ``NotImplementedError`` or returns ``None``) is reported as
  *not attempted yet*, a neutral line and no error output;
- the expected values come from cnnlab's own tested functions (``cnnlab.ops``,
  ``cnnlab.models``, ``cnnlab.train``) or from properties, never from a reference solution:
  the reference solutions live outside the learner's notebook (``solutions/`` in the
  repository) and are only merged in by ``make instructor``.

Each lab's checkers are listed in :data:`TASKS` under ``"labNN/task-id"``; a notebook cell that
holds a learner's answer carries the same id in its metadata (``{"cnnlab": {"task": ...}}``),
which is how ``tools/instructor.py`` knows where each reference solution goes.

>>> import numpy as np
>>> def stub(x, w, b, stride, pad):
...     raise NotImplementedError
>>> bool(check_conv_forward(stub, quiet=True))
False
>>> check_conv_forward(stub, quiet=True).attempted
False
"""

from __future__ import annotations

import copy
import math
import numbers
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

# An optimiser's first step imports hundreds of modules (torch._dynamo and what it pulls in).
# An interrupt that lands in the middle of that leaves them half-imported, and every later
# training cell then fails with an ImportError. Importing them here, with the lab's checkers,
# means a lab's long training cells never import anything.
import torch._dynamo  # noqa: F401, E402
import torch.nn.functional as F
from torch import Tensor, nn

from cnnlab import models, ops
from cnnlab import train as cnn_train

__all__ = [
    "Verdict",
    "TASKS",
    "attempt",
    "compare",
    "numerical_gradient",
    "relative_error",
    "yours_or",
    "PAPER_IMAGE",
    "PAPER_KERNEL",
    "SOBEL_X",
    "START_KERNELS",
    "TEST_IMAGES",
    "check_first_two",
    "check_corr2d",
    "check_vertical",
    "check_blur",
    "check_diagonal",
    "sobel_magnitude",
    "check_edge_map",
    "check_unpool",
    "check_box",
    "check_guess",
    "check_padding",
    "check_shapes",
    "check_params",
    "check_train_step",
    "check_schedule",
    "fit_with_schedule",
    "check_numerical_gradient",
    "check_conv_forward",
    "check_conv_backward",
    "check_maxpool_forward",
    "check_maxpool_backward",
    "check_residual_forward",
    "check_shortcut_a",
    "check_counts",
    "check_evaluate",
    "check_spec_net",
    "SPEC_NET",
    "freeze_first",
    "replace_head",
    "make_optimizer",
    "check_freeze",
    "check_head",
    "check_optimizer",
    "fgsm",
    "smallest_flip",
    "check_fgsm",
    "check_smallest_flip",
    "check_contrast",
    "DesignLog",
    "run_design",
]


# ---------------------------------------------------------------------------------------------
# Verdicts and calling the learner's code safely
# ---------------------------------------------------------------------------------------------


@dataclass
class Verdict:
    """The outcome of a checker: truthy when the answer is right.

    ``attempted`` is False for a stub (the task was not tried yet); ``message`` is the line a
    learner reads.
    """

    ok: bool
    message: str
    attempted: bool = True

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        mark = "✓" if self.ok else ("✗" if self.attempted else "○")
        return f"{mark} {self.message}"


def _verdict(ok: bool, message: str, quiet: bool, attempted: bool = True) -> Verdict:
    v = Verdict(ok, message, attempted)
    if not quiet:
        print(v)
    return v


class _Problem(Exception):
    """A learner's answer is wrong; the message says how (raised inside checkers only)."""

    def __init__(self, message: str, attempted: bool = True):
        super().__init__(message)
        self.attempted = attempted


def _name(fn: Any) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def attempt(fn: Any, *args: Any, what: str | None = None) -> Any:
    """Call the learner's ``fn(*args)``; raise :class:`_Problem` with a readable message if it
    is not callable, is a stub, raises or returns ``None``."""
    label = what or _name(fn)
    if not callable(fn):
        raise _Problem(f"{label}: expected a function, got {_describe(fn)}")
    try:
        result = fn(*args)
    except NotImplementedError:
        raise _Problem(f"{label}: not attempted yet (the body still raises "
                       "NotImplementedError); write it and run this cell again",
                       attempted=False) from None
    except Exception as err:  # the learner's bug, reported instead of a traceback
        raise _Problem(f"{label} raised {type(err).__name__}: {err}") from None
    if result is None:
        raise _Problem(f"{label}: not attempted yet (it returns None); write the body and "
                       "run this cell again", attempted=False)
    return result


def _run(check: Callable[[], str], quiet: bool) -> Verdict:
    """Run a checker body: its return value is the success message; a _Problem is the failure."""
    try:
        message = check()
    except _Problem as problem:
        return _verdict(False, str(problem), quiet, problem.attempted)
    return _verdict(True, message, quiet)


def _describe(value: Any) -> str:
    """A short description of a value for a message: its type, and shape or text."""
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, str):
        text = value if len(value) <= 30 else value[:27] + "..."
        return f"a string ({text!r})"
    if isinstance(value, bool):
        return f"a bool ({value})"
    if isinstance(value, numbers.Number):
        return f"a bare number ({value!r})"
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"a {type(value).__name__}"


def _as_numpy(value: Any, label: str, expected: np.ndarray) -> np.ndarray:
    """``value`` as a NumPy array (a tensor is accepted too), or a _Problem saying why not."""
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    if not isinstance(value, np.ndarray):
        raise _Problem(f"{label}: expected an array of shape {expected.shape}, got "
                       f"{_describe(value)}")
    return value


def compare(got: Any, expected: np.ndarray | Tensor, label: str, *, atol: float = 1e-6,
            rtol: float = 1e-5) -> str | None:
    """What is wrong with ``got`` as an approximation of ``expected``; ``None`` if nothing.

    The checks go in order: type, dtype (an integer or boolean array where floats are
    expected), shape, non-finite values, then values. A message speaks of the shape only when
    the shape differs.

    >>> compare(np.zeros((2, 3)), np.zeros((2, 3)), "out") is None
    True
    >>> compare(np.zeros((2, 3), dtype=int), np.zeros((2, 3)), "out")[:36]
    'out: holds integers (dtype int64); t'
    """
    exp = expected.detach().cpu().numpy() if isinstance(expected, Tensor) else expected
    is_tensor = isinstance(got, Tensor)
    if is_tensor:
        got = got.detach().cpu().numpy()
    if not isinstance(got, np.ndarray):
        kind = "tensor" if isinstance(expected, Tensor) else "array"
        return f"{label}: expected {kind} of shape {exp.shape}, got {_describe(got)}"
    if got.dtype.kind in "biu" and exp.dtype.kind == "f":
        return (f"{label}: holds integers (dtype {got.dtype}); the result must be floating "
                "point. Did you create the output with np.zeros(..., dtype=int) or from an "
                "integer array? Every value is then truncated")
    if got.dtype.kind not in "biuf":
        return f"{label}: expected real numbers, got an array of dtype {got.dtype}"
    if got.shape != exp.shape:
        hint = ""
        if got.ndim == exp.ndim and got.ndim >= 2 and got.shape[-2:] == exp.shape[-2:][::-1]:
            hint = "; height and width are swapped (rows come first)"
        return f"{label}: expected shape {exp.shape}, got {got.shape}{hint}"
    bad = ~np.isfinite(got)
    if bad.any() and np.isfinite(exp).all():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        return (f"{label}: the shape is right but {int(bad.sum())} of {got.size} values are NaN "
                f"or infinite (the first at index {first})")
    if np.allclose(got, exp, atol=atol, rtol=rtol, equal_nan=True):
        return None
    diff = np.abs(got.astype(np.float64) - exp)
    where = tuple(int(i) for i in np.unravel_index(int(np.nanargmax(diff)), diff.shape))
    return (f"{label}: the shape {exp.shape} is right, the values are not: the largest "
            f"difference is {float(np.nanmax(diff)):.3g} at index {where} (got "
            f"{float(got[where]):.4g}, expected {float(exp[where]):.4g})")


def relative_error(a: Any, b: Any) -> float:
    """max |a - b| / max(|a| + |b|), the usual measure of a gradient check (0 when both are 0).

    >>> relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    0.0
    """
    a64, b64 = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = float(np.max(np.abs(a64) + np.abs(b64))) if a64.size else 0.0
    return 0.0 if scale == 0 else float(np.max(np.abs(a64 - b64)) / scale)


def numerical_gradient(f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray,
                       h: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of ``sum(f(x) * dout)`` with respect to ``x``.

    Shapes: ``x`` any, ``dout`` the shape of ``f(x)``; returns an array shaped like ``x``. ``x``
    is changed one entry at a time and always restored. This is cnnlab's own version, which
    checks the learner's.

    >>> numerical_gradient(lambda v: v ** 2, np.array([3.0]), np.array([1.0])).round(6)
    array([6.])
    """
    x = np.asarray(x, dtype=np.float64)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        plus = float(np.sum(f(x) * dout))
        flat[i] = old - h
        minus = float(np.sum(f(x) * dout))
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * h)
    return grad


def yours_or(yours: Any, verdict: Verdict | bool, fallback: Any, what: str = "") -> Any:
    """``yours`` when its checker passed, else cnnlab's ``fallback``; says which is used."""
    label = what or _name(yours)
    if verdict:
        print(f"using your {label}")
        return yours
    print(f"using cnnlab's {label} until yours passes its checker")
    return fallback


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


# ---------------------------------------------------------------------------------------------
# Lab 1: filters by hand (the paper exercise, corr2d, three kernels, an edge detector)
# ---------------------------------------------------------------------------------------------

#: The paper exercise of lab 1: a 5x5 image (brightness 0 to 9) and the kernel slid over it.
PAPER_IMAGE = np.array([[1, 0, 2, 1, 0],
                        [0, 1, 1, 2, 1],
                        [8, 9, 9, 7, 8],
                        [9, 8, 9, 9, 7],
                        [2, 1, 0, 1, 2]], dtype=float)
PAPER_KERNEL = np.array([[-1, -1, -1],
                         [0, 0, 0],
                         [1, 1, 1]], dtype=float)
SOBEL_X = np.outer([1, 2, 1], [-1, 0, 1]).astype(float)

#: The kernel each of lab 1's design tasks starts from (an answer equal to it is not an attempt).
START_KERNELS = {
    "my_vertical": (PAPER_KERNEL, "the paper kernel, which finds horizontal edges"),
    "my_blur": (np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float),
                "the identity kernel, which copies the image"),
    "my_diagonal": (np.array([[-1, -1, -1], [2, 2, 2], [-1, -1, -1]], dtype=float),
                    "the detector of horizontal lines"),
}


def _test_images(size: int = 16) -> dict[str, np.ndarray]:
    """Synthetic test images of lab 1: steps, thin lines and a flat patch (values 0 to 1)."""
    rows, cols = np.indices((size, size))
    return {
        "vertical step": (cols >= size // 2).astype(float),
        "horizontal step": (rows >= size // 2).astype(float),
        "flat region": np.full((size, size), 0.6),
        "/ line": (rows + cols == size - 1).astype(float),
        "\\ line": (rows == cols).astype(float),
        "horizontal line": (rows == size // 2).astype(float),
        "vertical line": (cols == size // 2).astype(float),
    }


TEST_IMAGES = _test_images()
_NOISE = np.random.default_rng(0).random((64, 64))     # for measuring how much a kernel smooths


def _real(value: Any, label: str) -> float:
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, str):
        raise _Problem(f"{label}: give a number, not a string ({value!r})")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _Problem(f"{label}: give a number, got {_describe(value)}")
    if not math.isfinite(float(value)):
        raise _Problem(f"{label}: {value!r} is not a finite number")
    return float(value)


def _numbers(value: Any, count: int, label: str, example: str) -> list[float]:
    """``value`` as ``count`` finite numbers, or a _Problem saying what came instead."""
    if isinstance(value, str):
        raise _Problem(f"{label}: give {count} numbers, {example}, not a string ({value!r})")
    if not isinstance(value, tuple | list | np.ndarray | Tensor):
        raise _Problem(f"{label}: give {count} numbers, {example}; got {_describe(value)}")
    items = list(value)
    if len(items) != count:
        raise _Problem(f"{label}: give exactly {count} numbers, {example}; got {len(items)}")
    return [_real(v, label) for v in items]


def check_first_two(answer: Any, image: np.ndarray = PAPER_IMAGE,
                    kernel: np.ndarray = PAPER_KERNEL, quiet: bool = False) -> Verdict:
    """Lab 1, Task A: ``(first output, second output)`` of the paper exercise, compared with
    :func:`cnnlab.ops.corr2d`."""

    def body() -> str:
        if answer is None or (isinstance(answer, tuple | list)
                              and all(a is None for a in answer)):
            raise _Problem("my_first_two: not attempted yet; set my_first_two = (first output, "
                           "second output)", attempted=False)
        if isinstance(answer, tuple | list) and any(a is None for a in answer):
            raise _Problem("my_first_two: one of the two numbers is still None")
        first, second = _numbers(answer, 2, "my_first_two", "(first output, second output)")
        full_map = ops.corr2d(image, kernel)
        expected = full_map[0, :2]
        if np.allclose([first, second], expected):
            return f"{first:g} and {second:g}: cnnlab.ops.corr2d agrees"
        if np.allclose([first, second], -expected):
            raise _Problem("right size, wrong sign: the kernel's top row (-1) subtracts the "
                           "pixels under it and its bottom row (+1) adds them")
        if np.isclose(first, image[2, :3].sum()):
            raise _Problem("the first output: you added the pixels under the bottom row, but "
                           "the top row's -1 weights must also subtract the pixels under them")
        if not np.isclose(first, expected[0]):
            raise _Problem("the first output is not right: multiply each of the nine weights "
                           "by the pixel under it (rows 0-2, columns 0-2) and add the nine "
                           "products")
        if np.isclose(second, full_map[1, 0]):
            raise _Problem("the first output is right; for the second you moved the kernel "
                           "down: slide it one column to the right instead (rows 0-2, "
                           "columns 1-3)")
        raise _Problem("the first output is right, the second is not: the kernel now covers "
                       "rows 0-2 and columns 1-3")

    return _run(body, quiet)


def _corr2d_cases(trials: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = _rng(3)
    cases = [(PAPER_IMAGE, PAPER_KERNEL)]
    for t in range(trials):
        square = t < 4                                # square kernels first, odd shapes later
        kh = int(rng.integers(1, 5))
        kw = kh if square else int(rng.integers(1, 5))
        h, w = kh + int(rng.integers(0, 6)), kw + int(rng.integers(0, 6))
        if t % 2:                                     # small integers: exact sums
            cases.append((rng.integers(-5, 6, (h, w)).astype(float),
                          rng.integers(-3, 4, (kh, kw)).astype(float)))
        else:                                         # fractions, as in a photograph
            cases.append((rng.random((h, w)), rng.normal(size=(kh, kw))))
    return cases


def _corr2d_shape_hint(got: tuple[int, ...], expected: tuple[int, ...]) -> str:
    if len(got) != 2:
        return "; the output is a 2-D map"
    (h, w), (eh, ew) = got, expected
    if (h, w) == (eh - 1, ew - 1):
        return "; one row and one column short: there are H - kh + 1 positions, not H - kh"
    if (h, w) == (eh + 1, ew + 1):
        return "; one row and one column too many: the last window must end at the last pixel"
    if (h, w) == (ew, eh):
        return "; rows and columns swapped: H - kh + 1 rows, W - kw + 1 columns"
    return "; the output has H - kh + 1 rows and W - kw + 1 columns"


def check_corr2d(fn: Any, trials: int = 20, quiet: bool = False) -> Verdict:
    """Lab 1, Task B: is ``fn(image, kernel)`` the valid cross-correlation of
    :func:`cnnlab.ops.corr2d`? Tried on the paper exercise and on ``trials`` random images and
    kernels (square and not, whole numbers and fractions)."""

    def body() -> str:
        cases = _corr2d_cases(trials)
        for image, kernel in cases:
            what = "{}x{} image, {}x{} kernel".format(*image.shape, *kernel.shape)
            label = f"{_name(fn)} on a {what}"
            args = (image.copy(), kernel.copy())
            try:
                got = attempt(fn, *args, what=label)
            except _Problem as problem:
                if not problem.attempted:
                    raise _Problem(str(problem).replace(label, _name(fn)), False) from None
                if "IndexError" in str(problem) or "could not be broadcast" in str(problem):
                    raise _Problem(f"{problem}: a window runs past the edge of the image; the "
                                   "last window starts at row H - kh and column W - kw") from None
                raise
            for name, before, after in (("image", image, args[0]), ("kernel", kernel, args[1])):
                if not np.array_equal(before, after):
                    raise _Problem(f"{label}: changed its input {name} in place; the caller's "
                                   "array is shared data, so work on a copy")
            if isinstance(got, list | tuple):
                try:
                    got = np.asarray(got, dtype=float)
                except (TypeError, ValueError):
                    raise _Problem(f"{label}: expected an array, got {_describe(got)}") from None
            expected = ops.corr2d(image, kernel)
            problem = compare(got, expected, label)
            if problem is None:
                continue
            g = _as_numpy(got, label, expected)
            if g.shape != expected.shape and g.dtype.kind in "biuf":
                problem += _corr2d_shape_hint(g.shape, expected.shape)
            elif g.shape == expected.shape and g.dtype.kind == "f":
                if np.allclose(g, ops.corr2d(image, kernel[::-1, ::-1])):
                    problem = (f"{label}: you flipped the kernel; that is convolution in the "
                               "signal-processing sense, while CNNs use the kernel as it is: "
                               "W[u, v] times I[r + u, c + v]")
                elif kernel.shape[0] == kernel.shape[1] and np.allclose(
                        g, ops.corr2d(image, kernel.T)):
                    problem = (f"{label}: rows and columns of the kernel are swapped: W[u, v] "
                               "must multiply I[r + u, c + v], u the row")
                elif g.shape[0] == g.shape[1] and np.allclose(g, expected.T):
                    problem = f"{label}: the output is transposed; write out[r, c], r the row"
            raise _Problem(problem)
        return f"{_name(fn)} matches cnnlab.ops.corr2d on {len(cases)} images and kernels"

    return _run(body, quiet)


def _kernel(kernel: Any, label: str) -> np.ndarray:
    """A design task's kernel as a (3, 3) or (5, 5) float array, or a _Problem."""
    if kernel is None:
        raise _Problem(f"{label}: not attempted yet; give it a 3x3 array of weights",
                       attempted=False)
    if isinstance(kernel, str):
        raise _Problem(f"{label}: give the weights as an array, not a string ({kernel!r})")
    if callable(kernel) and not isinstance(kernel, np.ndarray | Tensor):
        raise _Problem(f"{label}: give an array of weights, got a function")
    if isinstance(kernel, Tensor):
        kernel = kernel.detach().cpu().numpy()
    try:
        k = np.asarray(kernel, dtype=float)
    except (TypeError, ValueError):
        raise _Problem(f"{label}: could not read {_describe(kernel)} as an array of "
                       "numbers") from None
    if k.shape not in ((3, 3), (5, 5)):
        shown = _describe(kernel) if k.ndim < 2 else f"shape {k.shape}"
        raise _Problem(f"{label}: use a 3x3 or 5x5 kernel, got {shown}")
    if not np.all(np.isfinite(k)):
        raise _Problem(f"{label}: every weight must be a finite number (some are NaN or "
                       "infinite)")
    if not np.any(k):
        raise _Problem(f"{label}: the weights are all 0, so nothing comes out")
    start, what = START_KERNELS.get(label, (None, ""))
    if start is not None and k.shape == start.shape and np.array_equal(k, start):
        raise _Problem(f"{label}: not attempted yet; this is the starting kernel ({what}): "
                       "change its weights", attempted=False)
    return k


def _peak(kernel: np.ndarray, name: str, signed: bool = False) -> float:
    response = ops.corr2d(TEST_IMAGES[name], kernel)
    return float(response.max() if signed else np.abs(response).max())


def check_vertical(kernel: Any, quiet: bool = False) -> Verdict:
    """Lab 1, C1: a vertical-edge detector: strong on a vertical step, silent on a horizontal
    step and on a flat region."""

    def body() -> str:
        k = _kernel(kernel, "my_vertical")
        v, h, flat = (_peak(k, n) for n in ("vertical step", "horizontal step", "flat region"))
        if v < 1e-9:
            turned = " It responds to horizontal edges: turn it by 90 degrees." if h > 1e-9 else ""
            raise _Problem(f"no response at all on a vertical step.{turned}")
        if flat > 0.05 * v:
            raise _Problem(f"a flat region gives {flat:.2g} (the edge {v:.2g}): make the "
                           "weights sum to 0 so that constant brightness gives nothing")
        if h > 0.2 * v:
            raise _Problem(f"it also responds to a horizontal step ({h / v:.0%} of the vertical "
                           "response): all the weights in one column should be alike")
        return f"vertical step {v:.2g}, horizontal step {h:.2g}, flat region {flat:.2g}"

    return _run(body, quiet)


def check_blur(kernel: Any, quiet: bool = False) -> Verdict:
    """Lab 1, C2: a blur: keeps flat brightness, smooths noise, softens edges both ways."""

    def body() -> str:
        k = _kernel(kernel, "my_blur")
        total = float(k.sum())
        if abs(total - 1) > 0.02:
            fix = ("they sum to 0, like an edge detector" if abs(total) < 1e-9
                   else "divide every weight by their sum")
            raise _Problem(f"the weights sum to {total:.3g}, so a flat region becomes "
                           f"{total:.3g} times brighter; a blur keeps brightness (weights "
                           f"summing to 1): {fix}")
        ratio = float(ops.corr2d(_NOISE, k).std() / _NOISE.std())
        if ratio > 0.5:
            what = "copies or moves the image" if np.count_nonzero(k) == 1 else (
                "sharpens" if ratio > 1 else "smooths too little")
            raise _Problem(f"random noise keeps {ratio:.0%} of its spread after your kernel: "
                           f"it {what}; a blur averages several neighbours (noise keeps at "
                           "most 50%)")
        for name in ("vertical step", "horizontal step"):
            out = ops.corr2d(TEST_IMAGES[name], k)
            if not np.any((out > 0.05) & (out < 0.95)):
                raise _Problem(f"the {name} stays sharp: a blur mixes neighbours in both "
                               "directions")
        return (f"weights sum to {total:.3g}; noise keeps {ratio:.0%} of its spread; both "
                "edges soften")

    return _run(body, quiet)


def check_diagonal(kernel: Any, quiet: bool = False) -> Verdict:
    """Lab 1, C3: a detector of thin bright lines at 45 degrees, rising to the right ('/')."""

    def body() -> str:
        k = _kernel(kernel, "my_diagonal")
        line = _peak(k, "/ line", signed=True)
        if line <= 1e-9:
            hint = (" It responds to the \\ diagonal: mirror it left to right."
                    if _peak(k, "\\ line", signed=True) > 1e-9 else
                    " Put positive weights on the cells from bottom-left to top-right.")
            raise _Problem(f"no positive response to a bright / line.{hint}")
        flat = _peak(k, "flat region")
        if flat > 0.05 * line:
            raise _Problem(f"a flat region gives {flat:.2g} against {line:.2g} for the line: "
                           "make the weights sum to 0 (negative weights beside the line) so "
                           "that only lines respond")
        others = {name: _peak(k, name) / line
                  for name in ("\\ line", "horizontal line", "vertical line")}
        worst = max(others, key=others.__getitem__)
        if others[worst] > 0.5:
            raise _Problem(f"a {worst} gives {others[worst]:.0%} of the response to the / "
                           "line: the kernel should clearly prefer the / direction (at most "
                           "50%)")
        return (f"/ line {line:.2g}; the other lines at most {others[worst]:.0%} of that; flat "
                f"region {flat:.2g}")

    return _run(body, quiet)


def _correlate(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return np.asarray(ops.conv2d(img[None, None], np.asarray(kernel, float)[None, None]))[0, 0]


def sobel_magnitude(image: Any) -> np.ndarray:
    """cnnlab's edge map of a grayscale image (H, W): the Sobel gradient magnitude,
    sqrt(Gx**2 + Gy**2), (H - 2, W - 2)."""
    img = np.asarray(image, dtype=float)
    return np.hypot(_correlate(img, SOBEL_X), _correlate(img, SOBEL_X.T))


def _centre_crop(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    top, left = (a.shape[0] - shape[0]) // 2, (a.shape[1] - shape[1]) // 2
    return a[top:top + shape[0], left:left + shape[1]]


def _agreement(mine: np.ndarray, reference: np.ndarray) -> float:
    """Correlation of two edge maps after smoothing both (sigma 1 pixel), allowing a one-pixel
    offset (kernels with an even side are off-centre by half a pixel)."""
    from scipy import ndimage

    shape = tuple(min(a, b) for a, b in zip(mine.shape, reference.shape, strict=True))
    a, b = _centre_crop(mine, shape), _centre_crop(reference, shape)
    b = ndimage.gaussian_filter(b, 1.0)[2:-2, 2:-2]
    best = -1.0
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            moved = ndimage.gaussian_filter(np.roll(a, (dy, dx), axis=(0, 1)), 1.0)[2:-2, 2:-2]
            if moved.std() > 0 and b.std() > 0:
                best = max(best, float(np.corrcoef(moved.ravel(), b.ravel())[0, 1]))
    return best


_EDGE_PHOTOS: dict[str, np.ndarray] = {}


def _edge_photos() -> dict[str, np.ndarray]:
    if not _EDGE_PHOTOS:
        from cnnlab import data

        for name in ("camera", "astronaut"):
            _EDGE_PHOTOS[name] = np.asarray(data.sample_photo(name, gray=True, size=128), float)
    return _EDGE_PHOTOS


def check_edge_map(fn: Any, quiet: bool = False) -> Verdict:
    """Lab 1, Task D: is ``fn(image) -> map`` a gradient-magnitude edge detector? The same
    response to vertical and horizontal edges, 0 on flat regions, a map that scales with the
    contrast (a magnitude, not its square), and one that correlates above 0.9 with the Sobel
    magnitude of two photographs (after smoothing, so other kernels and pre-smoothing pass)."""
    from scipy import ndimage

    def run(img: np.ndarray, name: str) -> np.ndarray:
        arg = img.copy()
        label = f"{_name(fn)} on the {name}"
        try:
            out = attempt(fn, arg, what=label)
        except _Problem as problem:
            if not problem.attempted:
                raise _Problem(str(problem).replace(label, _name(fn)), False) from None
            raise
        if not np.array_equal(arg, img):
            raise _Problem(f"{label}: changed its input image in place; the caller's "
                           "photograph is shared data, so work on a copy")
        if isinstance(out, Tensor):
            out = out.detach().cpu().numpy()
        if isinstance(out, list | tuple):
            try:
                out = np.asarray(out, dtype=float)
            except (TypeError, ValueError):
                raise _Problem(f"{label}: expected a 2-D array, got {_describe(out)}") from None
        if not isinstance(out, np.ndarray):
            raise _Problem(f"{label}: expected a 2-D array, got {_describe(out)}")
        if out.dtype.kind not in "biuf":
            raise _Problem(f"{label}: expected real numbers, got dtype {out.dtype}")
        if out.ndim != 2 or min(out.shape) < img.shape[0] - 8:
            raise _Problem(f"{label}: expected a 2-D map about the image's size {img.shape}, "
                           f"got shape {out.shape}")
        if out.dtype.kind in "biu":
            raise _Problem(f"{label}: the map holds integers (dtype {out.dtype}); edge "
                           "strengths are fractions, so build it from floats")
        if not np.all(np.isfinite(out)):
            hint = (" (dividing by the map's maximum gives 0/0 on a flat image: return the "
                    "magnitude itself)" if name == "flat region" else "")
            raise _Problem(f"{label}: the shape {out.shape} is fine, but "
                           f"{int((~np.isfinite(out)).sum())} values are NaN or infinite{hint}")
        return out.astype(float)

    def body() -> str:
        flat = float(np.abs(run(TEST_IMAGES["flat region"], "flat region")).max())
        steps = {name: float(run(TEST_IMAGES[name] * 0.8 + 0.1, name).max())
                 for name in ("vertical step", "horizontal step")}
        v, h = steps["vertical step"], steps["horizontal step"]
        strongest = max(v, h)
        if strongest <= 1e-9:
            raise _Problem("the map is 0 (or negative) on both a vertical and a horizontal "
                           "edge: take the magnitude, which is never negative")
        if flat > 0.05 * strongest:
            raise _Problem(f"a flat region gives {flat:.2g} (an edge {strongest:.2g}): an edge "
                           "map must be 0 where nothing changes; did you use kernels that sum "
                           "to 0?")
        if min(v, h) < 0.5 * strongest:
            weak = "horizontal" if h < v else "vertical"
            raise _Problem(f"{weak} edges give only {min(v, h) / strongest:.0%} of the "
                           "response to the others: combine a kernel for each direction as in "
                           "the formula")
        half = float(run(TEST_IMAGES["vertical step"] * 0.4 + 0.1, "fainter step").max())
        ratio = half / v
        if abs(ratio - 0.25) < 0.05:
            raise _Problem("at half the contrast your map drops to a quarter: that is "
                           "Gx^2 + Gy^2; take the square root, E = sqrt(Gx^2 + Gy^2)")
        if abs(ratio - 1) < 0.05:
            raise _Problem("at half the contrast your map stays the same: did you divide by "
                           "its maximum? Return the magnitude itself (normalise only to draw "
                           "it)")
        if not 0.4 < ratio < 0.6:
            raise _Problem(f"at half the contrast your map falls to {ratio:.0%} of its value "
                           "(50% expected): a gradient magnitude grows in proportion to the "
                           "change in brightness")
        scores = {}
        for name, img in _edge_photos().items():
            mine = run(img, f"{name} photograph")
            scores[name] = max(_agreement(mine, sobel_magnitude(
                ndimage.gaussian_filter(img, s) if s else img)) for s in (0, 1, 2))
        worst = min(scores, key=scores.__getitem__)
        if scores[worst] < 0.9:
            raise _Problem(f"on the {worst} photograph your map correlates "
                           f"{scores[worst]:.2f} with the Sobel magnitude (0.9 needed): is it "
                           "the magnitude of two perpendicular responses?")
        shown = ", ".join(f"{n} {s:.2f}" for n, s in scores.items())
        return ("same response to vertical and horizontal edges, 0 on flat regions, "
                f"proportional to contrast; correlation with the Sobel magnitude: {shown}")

    return _run(body, quiet)


# ---------------------------------------------------------------------------------------------
# Lab 3: unpooling, a receptive field by hand, an occlusion guess
# ---------------------------------------------------------------------------------------------


def check_unpool(fn: Any, trials: int = 5, quiet: bool = False) -> Verdict:
    """Lab 3, Task A: ``fn(value, switch, top, left, width) -> (2, 2) block``; the blocks of
    random 6x8 maps (not square) are compared with :func:`cnnlab.ops.max_pool2d_backward`,
    which routes each pooled value to its switch."""

    def body() -> str:
        generator = torch.Generator().manual_seed(1)
        for _ in range(trials):
            x = torch.rand(1, 1, 6, 8, generator=generator)
            pooled, switches = F.max_pool2d(x, 2, return_indices=True)
            expected = ops.max_pool2d_backward(pooled.numpy(), x.numpy(), 2)[0, 0]
            yours = np.zeros((6, 8))
            for r in range(3):
                for c in range(4):
                    args = (float(pooled[0, 0, r, c]), int(switches[0, 0, r, c]), 2 * r, 2 * c, 8)
                    call = (f"{_name(fn)}(value={args[0]:.3f}, switch={args[1]}, top={args[2]}, "
                            f"left={args[3]}, width={args[4]})")
                    try:
                        block = attempt(fn, *args, what=call)
                    except _Problem as problem:
                        if not problem.attempted:
                            raise _Problem(str(problem).replace(call, _name(fn)),
                                           False) from None
                        raise
                    if isinstance(block, Tensor):
                        block = block.detach().cpu().numpy()
                    if isinstance(block, list | tuple):
                        try:
                            block = np.asarray(block, dtype=float)
                        except (TypeError, ValueError):
                            raise _Problem(f"{call}: expected a 2x2 array, got "
                                           f"{_describe(block)}") from None
                    if not isinstance(block, np.ndarray) or block.dtype.kind not in "biuf":
                        raise _Problem(f"{call}: expected a 2x2 array, got {_describe(block)}")
                    if block.shape != (2, 2):
                        raise _Problem(f"{call}: returned shape {block.shape}, not (2, 2)")
                    if block.dtype.kind in "biu":
                        raise _Problem(f"{call}: the block holds integers (dtype "
                                       f"{block.dtype}), so the value {args[0]:.3f} is cut to "
                                       f"{int(args[0])}; start from np.zeros((2, 2)), which "
                                       "holds floats")
                    yours[2 * r:2 * r + 2, 2 * c:2 * c + 2] = block
            if not np.allclose(yours, expected):
                if np.count_nonzero(yours) > np.count_nonzero(expected):
                    raise _Problem("more than one nonzero per window: only the switch gets the "
                                   "value")
                if np.allclose(np.sort(yours[yours != 0]), np.sort(expected[expected != 0])):
                    raise _Problem("the values land in the wrong places: row = switch // "
                                   "width, col = switch % width, then subtract the window's "
                                   "corner")
                raise _Problem("the values differ from the pooled ones: each window gets the "
                               "pooled value, unchanged, at its switch")
        return f"{_name(fn)} matches cnnlab.ops.max_pool2d_backward on {trials} random maps"

    return _run(body, quiet)


def _whole_numbers(value: Any, count: int, label: str, example: str) -> tuple[int, ...]:
    vals = _numbers(value, count, label, example)
    if any(v != int(v) for v in vals):
        raise _Problem(f"{label}: pixel positions are whole numbers, got {tuple(vals)}")
    return tuple(int(v) for v in vals)


def check_box(box: Any, unit: tuple[int, int] = (3, 5), layers: nn.Module | None = None,
              quiet: bool = False) -> Verdict:
    """Lab 3, Task B: the ``(top, left, bottom, right)`` input box (bottom and right exclusive)
    seen by unit ``unit`` of LeNet-5's ``c3`` maps, compared with
    :func:`cnnlab.receptive.input_window`. ``layers`` defaults to LeNet-5's c1, act1, s2, c3."""
    from cnnlab import receptive

    def body() -> str:
        if box is None or (isinstance(box, tuple | list) and all(b is None for b in box)):
            raise _Problem("my_box: not attempted yet; set my_box = (top, left, bottom, right)",
                           attempted=False)
        mine = _whole_numbers(box, 4, "my_box", "(top, left, bottom, right)")
        stack = layers if layers is not None else models.LeNet5("modern").features[:4]
        table = receptive.receptive_field(stack, input_size=32)
        want = tuple(int(v) for v in receptive.input_window(table, unit, 32))
        height, width = want[2] - want[0], want[3] - want[1]
        if mine == want:
            return (f"{want}: unit {tuple(unit)} of c3 sees a {height}x{width} patch "
                    "(cnnlab.receptive agrees)")
        if mine == (want[1], want[0], want[3], want[2]):
            raise _Problem(f"rows and columns are swapped: the unit is at row {unit[0]}, column "
                           f"{unit[1]}, and the box is (top, left, bottom, right), rows first")
        if mine[:2] == want[:2] and mine[2:] == (height, width):
            raise _Problem(f"the last two numbers are the height and width ({height}, {width}); "
                           "give bottom and right instead: bottom = top + height, right = left "
                           "+ width")
        size = (mine[2] - mine[0], mine[3] - mine[1])
        if size[0] <= 0 or size[1] <= 0:
            raise _Problem(f"bottom must be below top and right beyond left; {mine} is an "
                           "empty box")
        if size == (height - 1, width - 1) and mine[:2] == want[:2]:
            raise _Problem("off by one: bottom and right are exclusive (one past the last "
                           "pixel)")
        if size != (height, width):
            raise _Problem(f"your box is {size[0]}x{size[1]}; a c3 unit sees {height}x{width}: "
                           "did you multiply by the jump (2) that the pooling layer "
                           "introduces?")
        raise _Problem("right size, wrong place: neighbouring c3 units are 2 input pixels "
                       "apart, so unit (r, c) starts at input pixel (2r, 2c)")

    return _run(body, quiet)


def check_guess(guess: Any, maps: Any, quiet: bool = False) -> Verdict:
    """Lab 3, Task C: is covering the square centred at ``guess = (row, col)`` among the most
    damaging places of ``maps`` (:func:`cnnlab.inside.occlusion`)? It must remove at least
    half of the largest possible drop in the probability of the right class."""

    def body() -> str:
        if guess is None or (isinstance(guess, tuple | list) and all(g is None for g in guess)):
            raise _Problem("my_guess: not attempted yet; set my_guess = (row, col)",
                           attempted=False)
        row, col = _numbers(guess, 2, "my_guess", "(row, col)")
        half = maps.window / 2
        side = maps.rows[-1] + maps.window
        if not (0 <= row < side and 0 <= col < side):
            raise _Problem(f"my_guess: ({row:g}, {col:g}) lies outside the {side}x{side} image")
        i = int(np.clip(round((row - half) / maps.stride), 0, len(maps.rows) - 1))
        j = int(np.clip(round((col - half) / maps.stride), 0, len(maps.cols) - 1))
        p, base = float(maps.probability[i, j]), float(maps.baseline_probability)
        worst = float(maps.probability.min())
        shown = f"({row:g}, {col:g})"
        if base - p >= 0.5 * (base - worst):
            return (f"covering around {shown} drops p({maps.target}) from {base:.2f} to "
                    f"{p:.2f} (the worst place gives {worst:.2f})")
        raise _Problem(f"covering around {shown} leaves p({maps.target}) at {p:.2f} "
                       f"(unoccluded: {base:.2f}); some places drop it to {worst:.2f}. Look at "
                       "the map below.")

    return _run(body, quiet)


# ---------------------------------------------------------------------------------------------
# Lab 2: LeNet-5's input, shapes, parameters, training step and schedule
# ---------------------------------------------------------------------------------------------


def check_padding(fn: Any, images: Tensor, expected: Tensor, background: float,
                  quiet: bool = False) -> Verdict:
    """Does ``fn(images)`` turn normalized (N, 1, 28, 28) digits into ``expected``, the
    (N, 1, 32, 32) ones of ``cnnlab.data.load_dataset(..., size=32)``? ``background`` is a
    blank pixel in normalized units."""

    def body() -> str:
        x_in = images.clone()
        out = attempt(fn, x_in, what=_name(fn))
        if not torch.equal(x_in, images):
            raise _Problem(f"{_name(fn)} changed the images it was given in place; return a "
                           "new tensor (F.pad does)")
        if _close(out, expected):
            return (f"{_name(fn)} gives exactly cnnlab.data's 32x32 digits (background "
                    f"{background:.3f} in normalized units)")
        if not isinstance(out, Tensor) or out.shape != expected.shape:
            raise _Problem(_tensor_problem(out, expected, _name(fn)))
        if out.dtype != expected.dtype:
            raise _Problem(_tensor_problem(out, expected, _name(fn)))
        if torch.allclose(out[..., 2:30, 2:30], images, atol=1e-5):
            border = torch.ones(32, 32, dtype=torch.bool)
            border[2:30, 2:30] = False
            if bool(torch.all(out[..., border] == 0)):
                raise _Problem(f"the digit is in place but the border is 0. After normalization "
                               f"a blank pixel is (0 - mean) / std = {background:.3f}, so 0 is "
                               "a gray frame the network never saw in training")
            raise _Problem(f"the digit is in place but the border is not background "
                           f"({background:.3f} after normalization)")
        for top in range(5):
            for left in range(5):
                if torch.allclose(out[..., top:top + 28, left:left + 28], images, atol=1e-5):
                    raise _Problem(f"the digit starts at row {top}, column {left}: put 2 pixels "
                                   "on every side so that it stays centred")
        raise _Problem("the 28x28 digit is not in the output unchanged: pad, do not stretch it")

    return _run(body, quiet)


def _shape_answer(value: Any, name: str) -> tuple[int, ...]:
    if isinstance(value, str):
        raise _Problem(f"{name}: give a tuple of whole numbers such as (6, 28, 28), not a "
                       f"string ({value!r})")
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),)
    if isinstance(value, tuple | list | torch.Size):
        out = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise _Problem(f"{name}: every entry must be a whole number, got "
                               f"{_describe(v)} in {value!r}")
            out.append(int(v))
        return tuple(out)
    raise _Problem(f"{name}: give a tuple such as (6, 28, 28), got {_describe(value)}")


def check_shapes(answer: Any, net: nn.Module, input_shape: tuple[int, ...] = (1, 32, 32),
                 layers: Sequence[str] = ("c1", "s2", "c3", "s4", "c5", "f6", "output"),
                 quiet: bool = False) -> Verdict:
    """Compare a dict ``layer -> output shape`` of one image with a forward pass of ``net``
    (:func:`cnnlab.models.summary`); the layers are named by the last part of their names."""

    def body() -> str:
        if not isinstance(answer, dict):
            raise _Problem(f"my_shapes must be a dict layer -> shape, got {_describe(answer)}")
        rows = models.summary(net, input_shape).rows
        true = {row.name.split(".")[-1]: tuple(row.output_shape) for row in rows}
        sides: dict[str, int] = {}
        previous = input_shape[-1]
        for row in rows:
            key = row.name.split(".")[-1]
            sides[key] = previous
            if len(row.output_shape) == 3:
                previous = row.output_shape[-1]
        for name in layers:
            if answer.get(name) is None:
                tried = any(answer.get(n) is not None for n in layers)
                raise _Problem(f"{name}: no answer yet" if tried else "my_shapes: not "
                               "attempted yet; fill in the seven shapes", attempted=tried)
            mine, want = _shape_answer(answer[name], name), true[name]
            if mine == want:
                continue
            if name == "c5" and mine == (want[0],):
                raise _Problem("c5 is still a convolution: its output is a stack of maps of "
                               "size 1 x 1. Flattening comes afterwards (classifier.flatten)")
            if len(mine) != len(want):
                what = "(channels, height, width)" if len(want) == 3 else "(units,)"
                many = "number" if len(want) == 1 else "numbers"
                batch = (" (without the batch dimension)" if len(mine) == len(want) + 1
                         else "")
                raise _Problem(f"{name}: give {len(want)} {many}, {what}{batch}")
            if len(want) == 3 and mine == (want[1], want[2], want[0]):
                raise _Problem(f"{name}: channels come first in PyTorch: (channels, height, "
                               "width)")
            if name.startswith("c") and mine[0] != want[0]:
                raise _Problem(f"{name}: a convolution outputs one map per filter; count its "
                               "filters in the printout")
            if name.startswith("c") and mine[1] == sides[name]:
                raise _Problem(f"{name}: no padding here, so a 5x5 window fits in fewer places "
                               "than there are pixels: a side of N becomes N - 5 + 1")
            if name.startswith("c") and abs(mine[1] - want[1]) == 1:
                raise _Problem(f"{name}: off by one. A window of k pixels fits N - k + 1 times "
                               "in N pixels")
            if name.startswith("s"):
                raise _Problem(f"{name}: 2x2 windows with stride 2 halve each side and keep "
                               "the channels")
            raise _Problem(f"{name}: {mine} is not what a forward pass gives; check the layer "
                           "before it")
        return ("all seven shapes match a forward pass: "
                + " -> ".join("x".join(map(str, true[n])) for n in layers))

    return _run(body, quiet)


def check_params(answer: Any, layers: dict[str, nn.Module], quiet: bool = False) -> Verdict:
    """Compare a dict ``layer -> parameter count`` with :func:`cnnlab.models.count_params` of
    each module in ``layers``."""

    def body() -> str:
        if not isinstance(answer, dict):
            raise _Problem(f"my_params must be a dict layer -> count, got {_describe(answer)}")
        for name, layer in layers.items():
            mine, true = answer.get(name), models.count_params(layer)
            if mine is None:
                tried = any(answer.get(n) is not None for n in layers)
                raise _Problem(f"{name}: no answer yet" if tried else "my_params: not "
                               "attempted yet; fill in the five counts", attempted=tried)
            mine = _int_answer(mine, name)
            if mine == true:
                continue
            weight = getattr(layer, "weight", None)
            assert isinstance(weight, Tensor)
            n_out, n_in = int(weight.shape[0]), int(weight.shape[1])
            if mine == true - n_out:
                kind = "filter" if name.startswith("c") else "output unit"
                raise _Problem(f"{name}: {mine:,} are the weights only; every {kind} also has "
                               "a bias")
            if name == "c3" and mine == 1_516:
                raise _Problem("c3: 1,516 is the paper's partly connected C3; here each of the "
                               "16 filters reads all 6 input maps")
            if name.startswith("c") and mine in (n_out * (25 + 1), n_out * 25):
                raise _Problem(f"{name}: each filter has a 5x5 window on every one of its "
                               f"{n_in} input maps")
            if mine == n_in * (n_out + 1):
                raise _Problem(f"{name}: one bias per output unit, not per input")
            raise _Problem(f"{name}: {mine:,} is not cnnlab.models.count_params of this layer")
        total = sum(models.count_params(m) for m in layers.values())
        return f"all {len(layers)} match count_params; they add up to {total:,}"

    return _run(body, quiet)


def _lenet_twins(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    net = models.LeNet5("modern")
    return net, copy.deepcopy(net)


def check_train_step(fn: Any, images: Tensor, labels: Tensor, steps: int = 4,
                     quiet: bool = False) -> Verdict:
    """Run ``fn(model, optimizer, loss_fn, images, labels)`` and :func:`cnnlab.train.fit` step
    by step on twin LeNet-5s with SGD; compare every parameter after every step."""

    def body() -> str:
        ref_net, your_net = _lenet_twins()
        ref_opt = torch.optim.SGD(ref_net.parameters(), lr=0.05)
        your_opt = torch.optim.SGD(your_net.parameters(), lr=0.05)
        loss_fn = nn.CrossEntropyLoss()
        x, y = images[:64], labels[:64]
        losses = []
        for step in range(1, steps + 1):
            before = [p.detach().clone() for p in your_net.parameters()]
            value = attempt(fn, your_net, your_opt, loss_fn, x, y, what=_name(fn))
            ref_loss = cnn_train.fit(ref_net, [(x, y)], epochs=1, optimizer=ref_opt,
                                     loss_fn=loss_fn, device="cpu",
                                     progress=False)["train_loss"][0]
            if isinstance(value, Tensor):
                raise _Problem("return the loss as a Python float (loss.item()), not a tensor: "
                               "a tensor keeps the whole graph alive")
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise _Problem(f"return the loss as a Python float, got {_describe(value)}")
            moved = any(not torch.equal(b, p)
                        for b, p in zip(before, your_net.parameters(), strict=True))
            if not moved:
                if all(p.grad is None or not p.grad.any() for p in your_net.parameters()):
                    raise _Problem(f"step {step}: no parameter moved and no gradient is left. "
                                   "Call loss.backward(), then optimizer.step(); zero_grad() "
                                   "belongs before backward(), not between backward() and "
                                   "step()")
                raise _Problem(f"step {step}: the gradients are there but no parameter moved: "
                               "call optimizer.step()")
            pairs = zip(your_net.parameters(), ref_net.parameters(), strict=True)
            if not all(torch.allclose(p, q, rtol=1e-5, atol=1e-7) for p, q in pairs):
                if step > 1:
                    raise _Problem(f"step 1 was right, step {step} is not: the gradients of the "
                                   "previous steps were still there and got added to the new "
                                   "ones. Call optimizer.zero_grad() in every step")
                raise _Problem("the parameters moved, but not by one step on this batch's "
                               "loss: compute loss_fn(model(images), labels), call backward() "
                               "once and step() once")
            if not math.isclose(float(value), ref_loss, rel_tol=1e-5):
                raise _Problem(f"the parameters are right, but you returned {float(value):.4f} "
                               f"instead of the batch's loss before the step, {ref_loss:.4f}")
            losses.append(float(value))
        if not losses[-1] < losses[0]:
            raise _Problem(f"the loss did not go down: {losses}")
        return (f"{steps} steps agree with cnnlab.train.fit parameter for parameter; the loss "
                f"on this batch went {' -> '.join(f'{v:.3f}' for v in losses)}")

    return _run(body, quiet)


def fit_with_schedule(model: nn.Module, batches: Any, epochs: int, lr: float,
                      progress: bool = True) -> list[float]:
    """cnnlab's version of lab 2's Task E: :func:`cnnlab.train.fit` with SGD (momentum 0.9)
    at ``lr`` and ``StepLR(step_size=2, gamma=0.5)``; returns the rate of each epoch."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    rates = [lr]  # fit's callbacks run after the scheduler's step: they see the next rate
    cnn_train.fit(model, batches, epochs=epochs, optimizer=optimizer, scheduler=schedule,
                  callbacks=[lambda e, h, m: rates.append(optimizer.param_groups[0]["lr"])],
                  progress=progress)
    return rates[:epochs]


def check_schedule(fn: Any, images: Tensor, labels: Tensor, quiet: bool = False) -> Verdict:
    """Does ``fn(model, batches, epochs, lr)`` train with SGD (momentum 0.9) at ``lr``, halving
    the rate after every 2 epochs, and return the rate of each epoch? Compared, parameter for
    parameter, with :func:`cnnlab.train.fit` given the same optimiser and a ``StepLR``."""

    def reference(kind: Any, per_batch: bool, epochs: int,
                  lr: float, batches: list[tuple[Tensor, Tensor]],
                  step_size: int = 2) -> nn.Module:
        net = _lenet_twins()[0]
        opt = (kind(net.parameters(), lr=lr, momentum=0.9) if kind is torch.optim.SGD
               else kind(net.parameters(), lr=lr))
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=step_size, gamma=0.5)
        cnn_train.fit(net, batches, epochs=epochs, optimizer=opt, scheduler=sched,
                      scheduler_step="batch" if per_batch else "epoch", device="cpu",
                      progress=False)
        return net

    def same(a: nn.Module, b: nn.Module) -> bool:
        return all(torch.allclose(p, q, rtol=1e-4, atol=1e-6)
                   for p, q in zip(a.parameters(), b.parameters(), strict=True))

    def body() -> str:
        batches = [(images[i:i + 16], labels[i:i + 16]) for i in (0, 16, 32)]
        epochs, lr = 5, 0.02
        net = _lenet_twins()[0]
        rates = attempt(fn, net, batches, epochs, lr, what=_name(fn))
        want = [lr * 0.5 ** (e // 2) for e in range(epochs)]
        expected = reference(torch.optim.SGD, False, epochs, lr, batches)
        if not isinstance(rates, list | tuple) or len(rates) != epochs or not all(
                isinstance(r, numbers.Real) and not isinstance(r, bool) for r in rates):
            raise _Problem(f"return the list of the {epochs} learning rates, one per epoch "
                           f"(e.g. {want[:3]}...), got {_describe(rates)}")
        if same(net, expected):
            if not all(math.isclose(float(r), w, rel_tol=1e-6) for r, w in zip(rates, want,
                                                                             strict=True)):
                raise _Problem(f"the training is right but the rates you return, "
                               f"{[float(r) for r in rates]}, are not the ones used, {want}: "
                               "read optimizer.param_groups[0]['lr'] at the start of each epoch")
            return (f"{_name(fn)} trains exactly like cnnlab.train.fit with SGD and StepLR; "
                    f"rates {', '.join(f'{r:g}' for r in want)}")
        if same(net, _lenet_twins()[0]):
            raise _Problem("no parameter moved: call your train_step on every batch")
        if same(net, reference(torch.optim.SGD, True, epochs, lr, batches)):
            raise _Problem("the rate halves every 2 *batches*: call scheduler.step() once per "
                           "epoch, after the epoch's batches, not after every batch")
        if same(net, reference(torch.optim.SGD, False, epochs, lr, batches, step_size=10)):
            raise _Problem("the rate never changes: call scheduler.step() at the end of every "
                           "epoch")
        for kind in (torch.optim.Adam, torch.optim.AdamW):
            if same(net, reference(kind, False, epochs, lr, batches)):
                raise _Problem(f"you used {kind.__name__}; the task asks for "
                               "torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)")
        first = [float(r) for r in rates]
        if first == want:
            raise _Problem("the rates are right, but the parameters differ from fit's with "
                           "SGD (momentum 0.9): check the optimiser and that every batch of "
                           "every epoch is used once, in order")
        raise _Problem(f"the parameters differ from cnnlab.train.fit's with SGD (momentum 0.9) "
                       f"and StepLR(step_size=2, gamma=0.5); your rates were {first}, the "
                       f"schedule's are {want}")

    return _run(body, quiet)


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


# ---------------------------------------------------------------------------------------------
# Lab 5: transfer learning
# ---------------------------------------------------------------------------------------------


def freeze_first(model: nn.Module, blocks: Sequence[nn.Module], k: int) -> nn.Module:
    """cnnlab's version: every parameter of ``model`` trainable except those of ``blocks[:k]``."""
    model.requires_grad_(True)
    for block in blocks[:k]:
        block.requires_grad_(False)
    return model


def replace_head(model: nn.Module, head: str, num_classes: int) -> nn.Module:
    """cnnlab's version: a fresh ``nn.Linear`` with ``num_classes`` outputs at ``head``."""
    old = model.get_submodule(head)
    if not isinstance(old, nn.Linear):
        raise TypeError(f"the module at {head!r} must be nn.Linear, got {type(old).__name__}")
    model.set_submodule(head, nn.Linear(old.in_features, num_classes))
    return model


def make_optimizer(model: nn.Module, head: nn.Module, lr: float) -> torch.optim.Optimizer:
    """cnnlab's version: AdamW, ``head`` at ``lr``, the other trainable parameters at ``lr/10``."""
    mine = {id(p) for p in head.parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW([
        {"params": [p for p in trainable if id(p) in mine], "lr": lr},
        {"params": [p for p in trainable if id(p) not in mine], "lr": lr / 10}])


def check_freeze(fn: Any, source: nn.Module, blocks_of: Callable[[nn.Module], Sequence[nn.Module]],
                 quiet: bool = False) -> Verdict:
    """Does ``fn(model, blocks, k)`` freeze exactly ``blocks[:k]``, for every k, on a fresh copy
    of ``source`` and on one frozen entirely before, and return the model?"""

    def body() -> str:
        total = models.count_params(source, trainable_only=False)
        n_blocks = len(blocks_of(source))
        for before in ("fresh", "entirely frozen"):
            for k in range(n_blocks + 1):
                model = copy.deepcopy(source)
                if before == "entirely frozen":
                    model.requires_grad_(False)
                blocks = blocks_of(model)
                sizes = [models.count_params(b, trainable_only=False) for b in blocks]
                expected = total - sum(sizes[:k])
                call = f"freeze_first(model, blocks, {k}) on a {before} model"
                result = attempt(fn, model, blocks, k, what=call)
                if result is not model:
                    raise _Problem(f"{call} returned {_describe(result)}: return the model")
                got = models.count_params(model)
                if got == expected:
                    continue
                weights_only = total - sum(
                    p.numel() for b in blocks[:k] for n, p in b.named_parameters()
                    if n.endswith("weight"))
                if got == total and k > 0:
                    hint = ("nothing was frozen: model.eval() and torch.no_grad() do not freeze "
                            "weights; set requires_grad to False on the parameters")
                elif got == weights_only:
                    hint = "the biases are still trainable: freeze every parameter of the block"
                elif got == total - sum(sizes[:k + 1]) or (
                        k > 0 and got == total - sum(sizes[:k - 1])):
                    hint = "off by one: blocks[:k] are the first k blocks"
                elif before == "entirely frozen" and got < expected:
                    hint = "the blocks after the first k, and the head, must be trainable again"
                else:
                    hint = "count what your function freezes"
                raise _Problem(f"{call}: {got:,} trainable parameters, expected {expected:,} "
                               f"(all {total:,} minus the first {k} blocks); {hint}")
        return f"{_name(fn)} freezes exactly the first k blocks, for k = 0 to {n_blocks}"

    return _run(body, quiet)


def check_head(fn: Any, source: nn.Module, head: str, sample: Tensor,
               quiet: bool = False) -> Verdict:
    """Does ``fn(model, n)`` put a fresh, trainable n-class ``nn.Linear`` at ``head``, keep every
    other weight, and return the model? ``sample`` is a batch of 2 inputs for ``source``."""

    def body() -> str:
        for n in (3, 7):
            model = copy.deepcopy(source)
            old = model.get_submodule(head)
            assert isinstance(old, nn.Linear)
            kept = {name: value.clone() for name, value in model.state_dict().items()
                    if not name.startswith(head + ".")}
            call = f"replace_head(model, {n})"
            result = attempt(fn, model, n, what=call)
            if not isinstance(result, nn.Module) or (
                    result is not model and isinstance(result, nn.Linear)):
                raise _Problem(f"{call} returned {_describe(result)}: return the model")
            try:
                with torch.no_grad():
                    scores = result.eval()(sample)
            except Exception as err:
                at = model.get_submodule(head)
                hint = ("; changing out_features does not resize the weights: build a new "
                        "nn.Linear" if isinstance(at, nn.Linear)
                        and at.weight.shape[0] != at.out_features else "")
                raise _Problem(f"{call}: the model no longer runs ({type(err).__name__}: "
                               f"{err}){hint}") from None
            if tuple(scores.shape) != (len(sample), n):
                raise _Problem(f"with {n} classes the output has shape {tuple(scores.shape)}, "
                               f"expected {(len(sample), n)}; changing out_features does not "
                               "resize the weights: build a new nn.Linear")
            new = result.get_submodule(head)
            if not isinstance(new, nn.Linear) or new.in_features != old.in_features:
                raise _Problem(f"the module at {head!r} should be nn.Linear({old.in_features}, "
                               f"{n})")
            if new.in_features == old.in_features and torch.equal(
                    new.weight.detach(), old.weight.detach()[:n]):
                raise _Problem("the new head copies the old head's first rows: a head for new "
                               "classes starts fresh (a new nn.Linear), since the old rows "
                               "score other classes")
            state = result.state_dict()
            changed = [name for name, value in kept.items()
                       if name not in state or not torch.equal(state[name], value)]
            if changed:
                raise _Problem(f"{len(changed)} backbone tensors changed or vanished (first: "
                               f"{changed[0]}): keep the pretrained weights, replace only the "
                               "head")
            if not all(p.requires_grad for p in new.parameters()):
                raise _Problem("the new head must be trainable")
        return (f"{_name(fn)} gives a fresh n-class head and keeps all {len(kept)} backbone "
                "tensors unchanged")

    return _run(body, quiet)


def check_optimizer(fn: Any, source: nn.Module, head: str,
                    blocks_of: Callable[[nn.Module], Sequence[nn.Module]],
                    quiet: bool = False) -> Verdict:
    """Does ``fn(model, head_module, lr)`` give an AdamW with the head at ``lr`` and every other
    trainable parameter, once, at ``lr / 10``?"""

    def body() -> str:
        for lr in (0.02, 0.003):
            model = replace_head(copy.deepcopy(source), head, 5)
            freeze_first(model, blocks_of(model), 2)
            head_module = model.get_submodule(head)
            call = f"make_optimizer(model, head, lr={lr})"
            try:
                optimizer = attempt(fn, model, head_module, lr, what=call)
            except _Problem as problem:
                if "more than one" in str(problem):
                    raise _Problem(f"{problem}: put each parameter in one group only") from None
                raise
            if not isinstance(optimizer, torch.optim.Optimizer):
                raise _Problem(f"{call}: expected a torch.optim optimizer, got "
                               f"{_describe(optimizer)}")
            if type(optimizer) is not torch.optim.AdamW:
                raise _Problem(f"{call} returned {type(optimizer).__name__}; the task asks for "
                               "torch.optim.AdamW (the lab's runs and its answers assume it: "
                               "with another optimiser the same rates give other results)")
            rate = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
            head_ids = {id(p) for p in head_module.parameters()}
            for name, p in model.named_parameters():
                if not p.requires_grad:
                    continue
                want = lr if id(p) in head_ids else lr / 10
                got = rate.get(id(p))
                if got is None:
                    raise _Problem(f"{name} is trainable but in no parameter group")
                if not math.isclose(got, want, rel_tol=1e-6):
                    if id(p) in head_ids:
                        hint = "the head learns at lr itself"
                    elif math.isclose(got, lr, rel_tol=1e-6):
                        hint = "the backbone learns as fast as the head: give it lr / 10"
                    elif math.isclose(got, 10 * lr, rel_tol=1e-6):
                        hint = "ten times smaller for the backbone, not larger"
                    else:
                        hint = "use the lr you are given, not a fixed number"
                    raise _Problem(f"with lr={lr}, {name} learns at {got:g} instead of "
                                   f"{want:g}: {hint}")
        return f"{_name(fn)}: AdamW, head at lr, the other trainable parameters at lr / 10"

    return _run(body, quiet)


# ---------------------------------------------------------------------------------------------
# Lab 6: adversarial examples and distribution shift
# ---------------------------------------------------------------------------------------------


def fgsm(model: nn.Module, x: Tensor, y: Tensor, eps: float) -> Tensor:
    """cnnlab's fast gradient sign method: ``clip(x + eps * sign(grad_x CE(model(x), y)), 0, 1)``.

    Shapes: ``x`` (N, C, H, W) in [0, 1], ``y`` (N,); returns a detached tensor like ``x``,
    which is left unchanged. The lab's checker compares the learner's version with it.

    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> fgsm(net, torch.zeros(1, 1, 2, 2), torch.tensor([0]), 0.1).shape
    torch.Size([1, 1, 2, 2])
    """
    x = x.detach().clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    return (x + eps * gradient.sign()).clamp(0, 1).detach()


def smallest_flip(model: nn.Module, image: Tensor, label: Tensor, grid: Sequence[float],
                  attack: Callable[..., Tensor] = fgsm) -> float | None:
    """The first ``eps`` in ``grid`` at which ``attack`` changes ``model``'s prediction for one
    ``image`` (1, C, H, W) with ``label`` (1,); ``None`` if none does."""
    for eps in grid:
        attacked = attack(model, image, label, eps)   # needs gradients: outside no_grad
        with torch.no_grad():
            guess = int(model(attacked).argmax(1)[0])
        if guess != int(label[0]):
            return eps
    return None


def check_fgsm(fn: Any, model: nn.Module, x: Tensor, y: Tensor, quiet: bool = False) -> Verdict:
    """Compare ``fn(model, x, y, eps)`` with :func:`fgsm` at three values of eps."""

    def body() -> str:
        for eps in (0.1, 0.25, 0.0):
            x_in = x.clone()
            label = f"fgsm(model, x, y, eps={eps})"
            out = attempt(fn, model, x_in, y.clone(), eps, what=label)
            if not torch.equal(x_in, x):
                raise _Problem(f"{label} changed the images it was given: work on a copy "
                               "(x.clone().requires_grad_(True))")
            if isinstance(out, Tensor) and out.requires_grad:
                raise _Problem(f"{label}: the result is still attached to the computation graph "
                               "(it has a grad_fn): return it .detach()ed")
            expected = fgsm(model, x, y, eps)
            if _close(out, expected):
                continue
            if (not isinstance(out, Tensor) or out.shape != expected.shape
                    or out.dtype != expected.dtype):
                raise _Problem(_tensor_problem(out, expected, label))
            step = float((out - x).abs().max())
            if _close(out, fgsm(model, x, y, -eps)):
                hint = ("the step goes the wrong way: it lowers the loss and makes the network "
                        "more sure of the right answer; add eps times the sign of the gradient")
            elif float(out.min()) < 0 or float(out.max()) > 1:
                hint = (f"pixels leave [0, 1] (from {float(out.min()):.2f} to "
                        f"{float(out.max()):.2f}): clip the result with .clamp(0, 1)")
            elif eps > 0 and step < 0.5 * eps:
                hint = (f"pixels move by at most {step:.2g}, not eps = {eps}: did you forget "
                        "sign()? The raw gradient is tiny; its sign moves every pixel by eps")
            else:
                hint = (f"your images differ from cnnlab's FGSM by up to "
                        f"{float((out - expected).abs().max()):.2g}: check the loss (the "
                        "cross-entropy with the true labels y) and the gradient")
            raise _Problem(f"{label}: the shape is right, but {hint}")
        return f"{_name(fn)} matches cnnlab's FGSM on {len(x)} digits at eps = 0.1, 0.25 and 0"

    return _run(body, quiet)


def check_smallest_flip(fn: Any, model: nn.Module, images: Tensor, labels: Tensor,
                        grid: Sequence[float], quiet: bool = False) -> Verdict:
    """Compare ``fn(model, image, label, grid)`` with :func:`smallest_flip` on each image."""

    def body() -> str:
        for i in range(len(images)):
            image, label = images[i:i + 1], labels[i:i + 1]
            expected = smallest_flip(model, image, label, grid)
            where = f"image {i} (a {int(label[0])})"
            got = attempt(fn, model, image.clone(), label.clone(), list(grid),
                          what=f"smallest_flip on {where}") if expected is not None else \
                _none_ok(fn, model, image, label, grid, where)
            if got == expected:
                continue
            if got is None:
                raise _Problem(f"{where}: you found no eps, but {expected} in the grid changes "
                               "the prediction")
            if isinstance(got, str) or not isinstance(got, numbers.Real):
                raise _Problem(f"{where}: expected an eps from the grid (a float) or None, got "
                               f"{_describe(got)}")
            if expected is None:
                raise _Problem(f"{where}: no eps in the grid changes the prediction, you say {got}")
            if got not in grid:
                raise _Problem(f"{where}: {got} is not one of the values in grid")
            if got < expected:
                raise _Problem(f"{where}: at eps = {got} the model still reads a "
                               f"{int(label[0])}; return the first eps at which the prediction "
                               "changes")
            raise _Problem(f"{where}: eps = {got} changes the prediction, but a smaller value in "
                           "the grid already does; stop at the first one")
        return f"{_name(fn)} finds the same smallest eps as cnnlab on {len(images)} digits"

    return _run(body, quiet)


def _none_ok(fn: Any, model: nn.Module, image: Tensor, label: Tensor, grid: Sequence[float],
             where: str) -> Any:
    """Call fn where None is a right answer (no eps flips): only a stub's error is 'not tried'."""
    try:
        return fn(model, image.clone(), label.clone(), list(grid))
    except NotImplementedError:
        raise _Problem("smallest_flip: not attempted yet (the body still raises "
                       "NotImplementedError)", attempted=False) from None
    except Exception as err:
        raise _Problem(f"smallest_flip on {where} raised {type(err).__name__}: {err}") from None


def check_contrast(fn: Any, x: Tensor, quiet: bool = False) -> Verdict:
    """Compare ``fn(x, factor)`` with torchvision's ``adjust_contrast`` at four factors, on a
    batch of one-channel images ``x`` (N, 1, H, W) in [0, 1] that it must leave unchanged."""
    import torchvision.transforms.functional as TF

    def body() -> str:
        for factor in (0.5, 0.1, 1.0, 1.8):
            x_in = x.clone()
            label = f"contrast(x, {factor})"
            try:
                out = attempt(fn, x_in, factor, what=label)
            except _Problem as problem:
                if "must match the size" in str(problem) or "broadcast" in str(problem):
                    raise _Problem(f"{problem}. The mean of each image must keep its "
                                   "dimensions to broadcast: x.mean(dim=(1, 2, 3), "
                                   "keepdim=True)") from None
                raise
            if not torch.equal(x_in, x):
                raise _Problem(f"{label} changed the images it was given in place (mul_, add_, "
                               "clamp_ or an assignment into x): the lab calls it on the shared "
                               "test batch, which every later measurement reads; return a new "
                               "tensor")
            expected = TF.adjust_contrast(x, factor)
            if _close(out, expected):
                continue
            if (not isinstance(out, Tensor) or out.shape != expected.shape
                    or out.dtype != expected.dtype):
                raise _Problem(_tensor_problem(out, expected, label))
            whole = (factor * x + (1 - factor) * x.mean()).clamp(0, 1)
            per_pixel = (factor * x + (1 - factor) * x.mean(0, keepdim=True)).clamp(0, 1)
            median = x.flatten(1).median(dim=1).values.view(-1, 1, 1, 1)
            if float(out.min()) < -1e-6 or float(out.max()) > 1 + 1e-6:
                hint = "pixels leave [0, 1]: clip the result"
            elif _close(out, whole):
                hint = ("you used one mean for the whole batch; each image is pulled towards "
                        "its own mean: x.mean(dim=(1, 2, 3), keepdim=True)")
            elif _close(out, per_pixel):
                hint = ("you averaged over the batch at each pixel (dim 0); average over each "
                        "image's pixels instead: dim=(1, 2, 3)")
            elif _close(out, (factor * x + (1 - factor) * median).clamp(0, 1)):
                hint = ("you pulled each image towards its median (0 for a digit on black); the "
                        "formula uses its mean")
            elif _close(out, (factor * x).clamp(0, 1)):
                hint = ("multiplying by the factor only darkens the image; pull it towards its "
                        "mean with (1 - factor) * mean")
            else:
                hint = (f"your images differ from adjust_contrast by up to "
                        f"{float((out - expected).abs().max()):.2g}")
            raise _Problem(f"{label}: the shape is right, but {hint}")
        return (f"{_name(fn)} matches torchvision's adjust_contrast at factors 0.5, 0.1, 1 and "
                "1.8, and leaves its input alone")

    return _run(body, quiet)


# ---------------------------------------------------------------------------------------------
# Open-ended design tasks: a budget of parameters and seconds, measured and recorded
# ---------------------------------------------------------------------------------------------


@dataclass
class DesignLog:
    """The record of a lab's design task: every attempt, with its measured numbers."""

    max_params: int
    max_seconds: float
    records: list[dict[str, Any]] = field(default_factory=list)

    def best(self) -> dict[str, Any] | None:
        """The most accurate attempt within both budgets, or ``None``."""
        fair = [r for r in self.records if r["within budget"]]
        return max(fair, key=lambda r: r["accuracy"]) if fair else None

    def table(self) -> Any:
        """The attempts as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.records)


def run_design(log: DesignLog, name: str, model: nn.Module, train_batches: Any,
               test_data: Any, *, epochs: int, optimizer: torch.optim.Optimizer,
               scheduler: Any = None, evaluate: Callable[[nn.Module, Any], float] | None = None,
               progress: bool = True, stop: Any = None) -> dict[str, Any]:
    """Train ``model`` within ``log``'s time budget and record its test accuracy.

    Training stops when the epochs are done or the time budget is spent (the epoch running at
    the deadline finishes). ``evaluate(model, data) -> accuracy`` defaults to
    :func:`cnnlab.train.evaluate`. Returns the record, also appended to ``log.records``.
    """
    params = models.count_params(model, trainable_only=False)
    start = time.perf_counter()

    def deadline(epoch: int, history: Any, net: nn.Module) -> bool:
        return time.perf_counter() - start > log.max_seconds

    history = cnn_train.fit(model, train_batches, epochs=epochs, optimizer=optimizer,
                            scheduler=scheduler, callbacks=[deadline], progress=progress,
                            stop=stop)
    seconds = time.perf_counter() - start
    done = len(history["epoch"])
    if evaluate is None:
        acc = cnn_train.evaluate(model, test_data)["acc"]
    else:
        acc = float(evaluate(model, test_data))
    record = {"attempt": len(log.records) + 1, "design": name, "parameters": params,
              "epochs": f"{done}/{epochs}", "seconds": round(seconds, 1), "accuracy": acc,
              "within budget": params <= log.max_params and seconds <= 1.5 * log.max_seconds,
              "cut short": done < epochs}
    log.records.append(record)
    return record


# ---------------------------------------------------------------------------------------------
# The task registry: "labNN/task-id" -> (names of the learner's functions, checker)
# ---------------------------------------------------------------------------------------------

TASKS: dict[str, tuple[tuple[str, ...], Callable[..., Verdict]]] = {
    "lab01/first_two": (("my_first_two",), check_first_two),
    "lab01/corr2d": (("corr2d",), check_corr2d),
    "lab01/vertical": (("my_vertical",), check_vertical),
    "lab01/blur": (("my_blur",), check_blur),
    "lab01/diagonal": (("my_diagonal",), check_diagonal),
    "lab01/edge_map": (("edge_map",), check_edge_map),
    "lab02/pad_to_32": (("pad_to_32",), check_padding),
    "lab02/shapes": (("my_shapes",), check_shapes),
    "lab02/params": (("my_params",), check_params),
    "lab02/train_step": (("train_step",), check_train_step),
    "lab02/schedule": (("train_with_schedule",), check_schedule),
    "lab04/conv_forward": (("conv_forward",), check_conv_forward),
    "lab04/conv_backward": (("conv_backward",), check_conv_backward),
    "lab04/numerical_gradient": (("numerical_gradient",), check_numerical_gradient),
    "lab04/maxpool_forward": (("maxpool_forward",), check_maxpool_forward),
    "lab04/maxpool_backward": (("maxpool_backward",), check_maxpool_backward),
    "lab04/residual_forward": (("residual_forward",), check_residual_forward),
    "lab04/shortcut_a": (("shortcut_a",), check_shortcut_a),
    "lab04/counts": (("cifar_depth", "cifar_params"), check_counts),
    "lab04/evaluate": (("evaluate_accuracy",), check_evaluate),
    "lab04/build_net": (("build_net",), check_spec_net),
    "lab05/freeze_first": (("freeze_first",), check_freeze),
    "lab05/replace_head": (("replace_head",), check_head),
    "lab05/make_optimizer": (("make_optimizer",), check_optimizer),
    "lab06/fgsm": (("fgsm",), check_fgsm),
    "lab06/smallest_flip": (("smallest_flip",), check_smallest_flip),
    "lab06/contrast": (("contrast",), check_contrast),
    "lab03/unpool_window": (("unpool_window",), check_unpool),
    "lab03/box": (("my_box",), check_box),
    "lab03/guess": (("my_guess",), check_guess),
}

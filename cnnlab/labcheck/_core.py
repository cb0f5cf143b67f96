"""What every lab's checkers share: verdicts, calling the learner's code safely, comparisons
and numerical gradients."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

# An optimiser's first step imports hundreds of modules (torch._dynamo and what it pulls in).
# An interrupt that lands in the middle of that leaves them half-imported, and every later
# training cell then fails with an ImportError. Importing them here, with the lab's checkers,
# means a lab's long training cells never import anything.
import torch._dynamo  # noqa: F401, E402
from torch import Tensor

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



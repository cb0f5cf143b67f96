"""Argument checks shared by every module of cnnlab: one wording, one set of rules.

A wrong *type* raises ``TypeError``, a value of the right type outside its range raises
``ValueError``; both name the argument, what was expected and what came. NumPy integers and
floats are accepted wherever Python ones are; ``True`` and ``False`` are not numbers here.

>>> as_int(np.int64(3), "epochs", minimum=1)
3
>>> as_pair(2, "stride", minimum=1)
(2, 2)
>>> as_int(0, "in_channels", minimum=1)
Traceback (most recent call last):
...
ValueError: in_channels must be positive, got 0
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "as_bool",
    "as_float",
    "as_float_array",
    "as_int",
    "as_pair",
    "check_tensor",
    "is_int",
    "positive_ints",
]


def _shown(value: object) -> str:
    return f"{value!r} ({type(value).__name__})"


def is_int(value: object) -> bool:
    """True for Python and NumPy integers, False for booleans and everything else."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _rule(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f"in [{minimum}, {maximum}]"
    if minimum == 1:
        return "positive"
    if minimum is not None:
        return f"at least {minimum}"
    return f"at most {maximum}"


def as_int(
    value: object, name: str, minimum: int | None = None, maximum: int | None = None
) -> int:
    """``value`` as a Python int, checked against ``minimum <= value <= maximum``."""
    if not is_int(value):
        raise TypeError(f"{name} must be an int, got {_shown(value)}")
    number = int(value)  # type: ignore[call-overload]
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValueError(f"{name} must be {_rule(minimum, maximum)}, got {number}")
    return number


def positive_ints(**values: object) -> None:
    """Check that every keyword's value is a positive int: ``positive_ints(in_channels=c)``."""
    for name, value in values.items():
        as_int(value, name, minimum=1)


def as_pair(value: object, name: str, minimum: int | None = None) -> tuple[int, int]:
    """An int or a pair of ints as ``(rows, cols)``, both checked against ``minimum``."""
    items = tuple(value) if isinstance(value, tuple | list) else (value, value)
    if len(items) != 2 or not all(is_int(item) for item in items):
        raise TypeError(f"{name} must be an int or a pair of ints, got {_shown(value)}")
    rows, cols = int(items[0]), int(items[1])
    if minimum is not None and min(rows, cols) < minimum:
        raise ValueError(f"{name} must be {_rule(minimum, None)}, got {value!r}")
    return rows, cols


def as_float(
    value: object,
    name: str,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    above: float | None = None,
) -> float:
    """``value`` as a finite Python float in ``[minimum, maximum]`` (and ``> above`` if given).

    Ints and NumPy numbers are accepted; NaN and infinities are refused.
    """
    if not isinstance(value, int | float | np.integer | np.floating) or isinstance(
        value, bool | np.bool_
    ):
        raise TypeError(f"{name} must be a number, got {_shown(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, got {number}")
    if above is not None and number <= above:
        raise ValueError(f"{name} must be greater than {above}, got {number}")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ValueError(f"{name} must be {_rule(minimum, maximum)}, got {number}")
    return number


def as_bool(value: object, name: str) -> bool:
    """``value`` if it is ``True`` or ``False`` (NumPy booleans too); no truthy stand-ins."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {_shown(value)}")
    return bool(value)


def check_tensor(
    x: Any,
    name: str,
    dims: Sequence[int | str] | None = None,
    *,
    floating: bool = True,
    hint: str = "",
) -> None:
    """Raise unless ``x`` is a torch tensor of shape ``dims`` and, if ``floating``, a real float.

    ``dims`` lists the expected sizes: an int must match exactly, a string (``"N"``, ``"H"``)
    matches any size. An integer image (``uint8`` pixels 0-255), a boolean or a complex tensor
    is refused with a ``TypeError`` that says how to convert it.
    """
    import torch

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} expects a torch.Tensor, got {type(x).__name__}")
    if dims is not None:
        expected = "(" + ", ".join(str(d) for d in dims) + ")"
        shape = tuple(x.shape)
        fits = len(shape) == len(dims) and all(
            isinstance(d, str) or d == s for d, s in zip(dims, shape, strict=True)
        )
        if not fits:
            message = f"{name} expects input of shape {expected}, got {shape}"
            raise ValueError(message + (f"; {hint}" if hint else ""))
    if floating and not x.dtype.is_floating_point:
        advice = (
            "; scale integer pixels to floats first, e.g. x.float() / 255"
            if not x.dtype.is_complex and x.dtype != torch.bool
            else "; pass real floating-point values"
        )
        raise TypeError(f"{name} expects a floating-point tensor, got dtype {x.dtype}{advice}")


def as_float_array(value: Any, name: str, axes: str) -> np.ndarray:
    """Return ``value`` as a float32 or float64 array whose dimensions are named by ``axes``.

    Integers and booleans become float64, float32 stays float32, other floats become float64.
    ``axes`` is e.g. ``"NCHW"``; it fixes the number of dimensions and words the error.
    """
    if hasattr(value, "detach"):  # a torch.Tensor: leave autograd (and any GPU) behind
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype.kind in "biu":
        array = array.astype(np.float64)
    elif array.dtype.kind == "f":
        if array.dtype not in (np.float32, np.float64):
            array = array.astype(np.float32 if array.dtype.itemsize < 4 else np.float64)
    else:
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {array.dtype}")
    layout = "(" + ", ".join(axes) + ")"
    if array.ndim != len(axes):
        hint = ""
        if axes.startswith("N") and array.ndim == len(axes) - 1:
            hint = f"; for a single example add a batch axis: {name}[None]"
        raise ValueError(
            f"{name} must have {len(axes)} dimensions {layout}, "
            f"got {array.ndim} with shape {array.shape}{hint}"
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty (shape {array.shape}); every axis of {layout} needs "
                         "at least one element")
    return array

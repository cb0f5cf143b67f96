"""What every diagram shares: the style, the colours by kind of layer and the shape notation."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["format_shape"]

_RC: dict[str, Any] = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 9,
    "savefig.bbox": "tight",
}

# Colours by kind of layer (colour-blind friendly, light enough for black text).
_COLOURS = {
    "conv": "#cfe2f3",
    "depthwise": "#d9ead3",
    "pool": "#fce5cd",
    "linear": "#ead1dc",
    "merge": "#fff2cc",
    "norm": "#eeeeee",
    "other": "#eeeeee",
    "input": "#ffffff",
}


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(cast(Any, _RC)):
        yield


def _new_figure(figsize: tuple[float, float], cls: type[Figure] = Figure) -> Any:
    fig = plt.figure(figsize=figsize, FigureClass=cls)
    plt.close(fig)
    return fig


def format_shape(shape: Sequence[int]) -> str:
    """A tensor shape without its batch axis, written the way the course writes it.

    ``(C, H, W)`` becomes ``"C@HxW"`` (LeCun's notation: C maps of H x W), ``(C, L)`` becomes
    ``"C@L"``, ``(C, D, H, W)`` becomes ``"C@DxHxW"`` and a vector ``(F,)`` just ``"F"``.

    >>> format_shape((6, 28, 28)), format_shape((84,)), format_shape((16, 40))
    ('6@28x28', '84', '16@40')
    """
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence):
        raise TypeError(f"format_shape expects a sequence of ints, got {type(shape).__name__}")
    dims = [int(d) for d in shape]
    if not dims:
        return "scalar"
    if len(dims) == 1:
        return str(dims[0])
    return f"{dims[0]}@" + "x".join(str(d) for d in dims[1:])



"""Mechanism diagrams: small labelled pictures of the course's ideas whose numbers are computed
with :mod:`cnnlab.ops` and :mod:`cnnlab.receptive`, never typed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from cnnlab.diagrams._style import _COLOURS, _new_figure, _style

__all__ = [
    "conv_window",
    "padding_stride",
    "im2col_diagram",
    "max_pool_switches",
    "receptive_field_growth",
    "residual_identity",
    "depthwise_separable",
    "transposed_conv_unpool",
    "unet_skips",
    "sliding_vs_convolutional",
]

# ---------------------------------------------------------------------------------------------
# 4. Mechanism diagrams: small labelled pictures whose numbers come from cnnlab.ops/receptive
# ---------------------------------------------------------------------------------------------

_HIGHLIGHT = "#f6b26b"
_SECOND = "#93c47d"
_ZERO = "#eeeeee"


def _canvas(width: float, height: float) -> tuple[Figure, Axes]:
    """A figure with one bare axes in inch coordinates (x right, y up)."""
    with _style():
        fig = _new_figure((width, height))
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(0, width)
        ax.set_ylim(0, height)
        ax.set_aspect("equal")
        ax.axis("off")
    return fig, ax


def _grid(ax: Axes, values: Any, x0: float, top: float, cell: float, *,
          colours: dict[tuple[int, int], str] | None = None, fmt: str = "{:g}",
          fontsize: float = 8.0, label: str = "", show: bool = True) -> None:
    """Draw a 2-D array as a grid of cells with its numbers; ``top`` is the grid's upper edge."""
    arr = np.asarray(values)
    rows, cols = arr.shape
    for i in range(rows):
        for j in range(cols):
            colour = (colours or {}).get((i, j), "white")
            ax.add_patch(Rectangle((x0 + j * cell, top - (i + 1) * cell), cell, cell,
                                   fc=colour, ec="#666666", lw=0.7))
            if show:
                ax.text(x0 + (j + 0.5) * cell, top - (i + 0.5) * cell, fmt.format(arr[i, j]),
                        ha="center", va="center", fontsize=fontsize)
    if label:
        ax.text(x0 + cols * cell / 2, top + 0.12, label, ha="center", va="bottom",
                fontsize=fontsize + 0.5)


def _outline(ax: Axes, x0: float, top: float, cell: float, r: int, c: int, h: int, w: int,
             colour: str, lw: float = 2.2, ls: str = "-") -> None:
    ax.add_patch(Rectangle((x0 + c * cell, top - (r + h) * cell), w * cell, h * cell, fc="none",
                           ec=colour, lw=lw, ls=ls, zorder=5))


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], colour: str = "#444444",
           text: str = "", rad: float = 0.0, fontsize: float = 8.0) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, lw=1.1,
                                 color=colour, connectionstyle=f"arc3,rad={rad}", zorder=6))
    if text:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.1, text, ha="center",
                va="bottom", fontsize=fontsize, color=colour)


def _square_array(value: Any, name: str, ndim: int = 2) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim != ndim or min(arr.shape) < 1:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {arr.shape}")
    return arr


def _positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


_DEFAULT_IMAGE = np.array([[1, 2, 0, 1, 3], [0, 1, 3, 2, 1], [2, 1, 0, 0, 2], [1, 3, 1, 2, 0],
                           [0, 2, 2, 1, 1]], dtype=float)
_DEFAULT_KERNEL = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=float)


def conv_window(image: Any = None, kernel: Any = None, position: tuple[int, int] = (1, 1)
                ) -> Figure:
    """One output cell of a convolution: the window it reads, the kernel, the sum of products.

    Shapes: ``image`` (H, W), ``kernel`` (kh, kw); the output is (H - kh + 1, W - kw + 1),
    computed with :func:`cnnlab.ops.corr2d` (cross-correlation, as in PyTorch). The window at
    ``position`` (row, col of the output) is outlined on the input and its output cell
    highlighted; the caption under the grids writes out its nine (kh x kw) products.

    >>> fig = conv_window()
    >>> fig.output[1, 1]  # the values drawn in the output grid
    np.float64(1.0)
    """
    from cnnlab import ops

    img = _square_array(_DEFAULT_IMAGE if image is None else image, "image")
    ker = _square_array(_DEFAULT_KERNEL if kernel is None else kernel, "kernel")
    if ker.shape[0] > img.shape[0] or ker.shape[1] > img.shape[1]:
        raise ValueError(f"kernel {ker.shape} must fit in image {img.shape}")
    out = ops.corr2d(img, ker)
    r, c = position
    if not (0 <= r < out.shape[0] and 0 <= c < out.shape[1]):
        raise ValueError(f"position must index the {out.shape} output, got {position}")
    cell = 0.42
    h, w = img.shape
    kh, kw = ker.shape
    total_w = (w + kw + out.shape[1]) * cell + 2.6
    fig, ax = _canvas(total_w, h * cell + 1.5)
    top = h * cell + 0.75
    window = {(r + i, c + j): _HIGHLIGHT for i in range(kh) for j in range(kw)}
    _grid(ax, img, 0.2, top, cell, colours=window, label=f"input {h}x{w}")
    _outline(ax, 0.2, top, cell, r, c, kh, kw, "#b45f06")
    kx = 0.2 + w * cell + 0.9
    _grid(ax, ker, kx, top, cell, colours={(i, j): "#cfe2f3" for i in range(kh)
                                           for j in range(kw)}, label=f"kernel {kh}x{kw}")
    ox = kx + kw * cell + 0.9
    _grid(ax, out, ox, top, cell, colours={(r, c): _HIGHLIGHT},
          label=f"output {out.shape[0]}x{out.shape[1]}")
    _outline(ax, ox, top, cell, r, c, 1, 1, "#b45f06")
    ax.text(kx - 0.45, top - kh * cell / 2, "⊙", ha="center", va="center", fontsize=16)
    ax.text(ox - 0.45, top - kh * cell / 2, "→", ha="center", va="center", fontsize=16)
    patch = img[r : r + kh, c : c + kw]
    def num(v: float) -> str:
        return f"({v:g})" if v < 0 else f"{v:g}"

    terms = " + ".join(f"{num(a)}·{num(b)}" for a, b in zip(patch.ravel(), ker.ravel(),
                                                           strict=True))
    ax.text(total_w / 2, 0.35, f"output[{r},{c}] = {terms} = {out[r, c]:g}", ha="center",
            va="center", fontsize=7.5 if kh * kw > 9 else 8.5)
    fig.output = out  # type: ignore[attr-defined]
    return fig


def padding_stride(size: int = 5, kernel: int = 3, padding: int = 1, stride: int = 2) -> Figure:
    """Where the windows of a convolution fall with padding ``p`` and stride ``s``.

    Shapes: an ``size`` x ``size`` input, zero-padded to ``size + 2p``; the output side is
    :func:`cnnlab.ops.conv_output_size`, ``floor((n + 2p - k) / s) + 1``. The first window is
    outlined in orange, the next one along the row (``s`` cells to the right) in green, and
    the output grid shows which cell each window fills.

    >>> padding_stride(5, 3, 1, 2).out_size
    3
    """
    from cnnlab import ops

    n = _positive_int(size, "size")
    k = _positive_int(kernel, "kernel")
    p = _positive_int(padding, "padding", 0)
    s = _positive_int(stride, "stride")
    if k > n + 2 * p:
        raise ValueError(f"kernel {k} does not fit in the padded input {n + 2 * p}")
    out = ops.conv_output_size(n, k, s, p)
    cell = 0.36
    padded = n + 2 * p
    width = (padded + out) * cell + 2.0
    fig, ax = _canvas(width, padded * cell + 1.6)
    top = padded * cell + 0.9
    colours = {(i, j): _ZERO for i in range(padded) for j in range(padded)
               if i < p or j < p or i >= p + n or j >= p + n}
    values = np.zeros((padded, padded))
    _grid(ax, values, 0.3, top, cell, colours=colours, show=False,
          label=f"input {n}x{n}, padding p={p} (grey: zeros)")
    for i in range(padded):
        for j in range(padded):
            if (i, j) in colours:
                ax.text(0.3 + (j + 0.5) * cell, top - (i + 0.5) * cell, "0", ha="center",
                        va="center", fontsize=7, color="#999999")
    _outline(ax, 0.3, top, cell, 0, 0, k, k, "#b45f06", lw=2.4)
    if out > 1:
        _outline(ax, 0.3, top, cell, 0, s, k, k, "#38761d", lw=2.0, ls="--")
    ox = 0.3 + padded * cell + 1.2
    otop = top - (padded - out) * cell / 2
    cols = {(0, 0): _HIGHLIGHT}
    if out > 1:
        cols[(0, 1)] = _SECOND
    _grid(ax, np.zeros((out, out)), ox, otop, cell, colours=cols, show=False,
          label=f"output {out}x{out}")
    _arrow(ax, (0.3 + padded * cell + 0.05, top - k * cell / 2), (ox - 0.05, otop - cell / 2),
           "#b45f06", rad=-0.15)
    ax.text(width / 2, 0.35,
            f"kernel k={k}, stride s={s}:  ⌊({n} + 2·{p} − {k}) / {s}⌋ + 1 = {out}",
            ha="center", va="center", fontsize=9)
    fig.out_size = out  # type: ignore[attr-defined]
    return fig


def im2col_diagram(size: int = 4, kernel: int = 2, stride: int = 1) -> Figure:
    """im2col: every window of the input becomes one column, and convolution one product.

    Shapes: a (size, size) input numbered 1, 2, ... row by row; :func:`cnnlab.ops.im2col`
    gives a (kernel², out²) matrix whose column ``r * out + s`` is the window at (r, s). The
    first window and its column are highlighted; the kernel, flattened to a row, times that
    matrix gives the output, one column per output cell.

    >>> im2col_diagram().columns.shape
    (4, 9)
    """
    from cnnlab import ops

    n = _positive_int(size, "size", 2)
    k = _positive_int(kernel, "kernel")
    s = _positive_int(stride, "stride")
    if k > n:
        raise ValueError(f"kernel {k} must be at most size {n}")
    x = np.arange(1, n * n + 1, dtype=float).reshape(n, n)
    cols = ops.im2col(x[None, None], k, s)[0]
    out = ops.conv_output_size(n, k, s)
    cell = 0.34
    width = (n + cols.shape[1]) * cell + 2.0
    height = max(n, cols.shape[0]) * cell + 1.6
    fig, ax = _canvas(width, height)
    top = height - 0.55
    first = {(i, j): _HIGHLIGHT for i in range(k) for j in range(k)}
    second = {(i, j + s): _SECOND for i in range(k) for j in range(k) if (i, j + s) not in first}
    _grid(ax, x, 0.2, top, cell, colours={**second, **first}, fmt="{:.0f}",
          label=f"input {n}x{n}")
    mx = 0.2 + n * cell + 1.0
    colours = {(i, 0): _HIGHLIGHT for i in range(cols.shape[0])}
    if cols.shape[1] > 1:
        colours.update({(i, 1): _SECOND for i in range(cols.shape[0])})
    _grid(ax, cols, mx, top, cell, colours=colours, fmt="{:.0f}",
          label=f"im2col: {cols.shape[0]} rows (k·k taps) x {cols.shape[1]} columns (windows)")
    _arrow(ax, (0.2 + n * cell + 0.05, top - k * cell / 2), (mx - 0.05, top - k * cell / 2),
           "#b45f06")
    ax.text(width / 2, 0.55, "each window (orange, then green, one step on) becomes one column",
            ha="center", va="center", fontsize=8.5)
    ax.text(width / 2, 0.25, f"output ({out}x{out}) = kernel as a 1x{k * k} row  @  this "
            f"{cols.shape[0]}x{cols.shape[1]} matrix", ha="center", va="center", fontsize=8.5)
    fig.columns = cols  # type: ignore[attr-defined]
    return fig


_DEFAULT_POOL = np.array([[1, 3, 0, 2], [4, 8, 1, 1], [0, 2, 5, 7], [1, 0, 6, 3]], dtype=float)


def max_pool_switches(x: Any = None, kernel: int = 2) -> Figure:
    """Max pooling keeps each window's largest value and remembers where it was (a switch).

    Shapes: ``x`` (H, W) pooled with ``kernel`` x ``kernel`` windows side by side into
    (H / k, W / k) by :func:`cnnlab.ops.max_pool2d` with ``return_indices``. The winners
    (switches) are highlighted on the input; the right panel unpools with
    :func:`cnnlab.ops.max_pool2d_backward`, which puts each value back at its switch and zeros
    elsewhere -- what Zeiler and Fergus's deconvnet does.

    >>> fig = max_pool_switches()
    >>> fig.pooled.tolist()
    [[8.0, 2.0], [2.0, 7.0]]
    """
    from cnnlab import ops

    arr = _square_array(_DEFAULT_POOL if x is None else x, "x")
    k = _positive_int(kernel, "kernel")
    if arr.shape[0] % k or arr.shape[1] % k:
        raise ValueError(f"kernel {k} must divide the input's sides {arr.shape}")
    pooled, idx = ops.max_pool2d(arr[None, None], k, return_indices=True)
    pooled, idx = pooled[0, 0], idx[0, 0]
    unpooled = ops.max_pool2d_backward(pooled[None, None], arr[None, None], k)[0, 0]
    h, w = arr.shape
    switches = {(int(i) // w, int(i) % w): _HIGHLIGHT for i in idx.ravel()}
    cell = 0.42
    width = (2 * w + pooled.shape[1]) * cell + 2.4
    fig, ax = _canvas(width, h * cell + 1.3)
    top = h * cell + 0.8
    _grid(ax, arr, 0.2, top, cell, colours=switches, label=f"input {h}x{w}: switches in orange")
    for i in range(0, h, k):
        for j in range(0, w, k):
            _outline(ax, 0.2, top, cell, i, j, k, k, "#444444", lw=1.6)
    px = 0.2 + w * cell + 0.9
    ptop = top - (h - pooled.shape[0]) * cell / 2
    _grid(ax, pooled, px, ptop, cell, colours={(i, j): _HIGHLIGHT for i in range(pooled.shape[0])
                                                for j in range(pooled.shape[1])},
          label=f"max pool {k}x{k}")
    ux = px + pooled.shape[1] * cell + 0.9
    _grid(ax, unpooled, ux, top, cell, colours=switches, label="unpooled: back at the switches")
    ax.text(px - 0.45, top - h * cell / 2, "→", ha="center", va="center", fontsize=16)
    ax.text(ux - 0.45, top - h * cell / 2, "→", ha="center", va="center", fontsize=16)
    fig.pooled, fig.switches, fig.unpooled = pooled, idx, unpooled  # type: ignore[attr-defined]
    return fig


def receptive_field_growth(layers: Sequence[Any] | None = None, input_size: int = 16) -> Figure:
    """How far one unit of each layer reaches back into the input, drawn along one axis.

    Shapes: a 1-D input of ``input_size`` pixels; each row is one layer's output (its length
    from :func:`cnnlab.receptive.receptive_field`). Starting from the middle unit of the top
    layer, the cells it depends on are shaded layer by layer down to the input; each row is
    labelled with its layer and receptive field ``rf`` from the table. ``layers`` is a list of
    :class:`cnnlab.receptive.Layer` (default: three 3x3 convolutions with a 2x2 pool).

    >>> fig = receptive_field_growth()
    >>> fig.table.final.rf, fig.covered
    (10, 10)
    """
    from cnnlab import receptive

    if layers is None:
        layers = [receptive.conv(3), receptive.conv(3), receptive.pool(2), receptive.conv(3)]
    if not isinstance(layers, Sequence) or not all(isinstance(
            layer, receptive.Layer) for layer in layers) or not layers:
        raise TypeError("layers must be a non-empty list of cnnlab.receptive.Layer "
                        "(receptive.conv(3), receptive.pool(2), ...)")
    n = _positive_int(input_size, "input_size", 2)
    table = receptive.receptive_field(list(layers), input_size=n)
    sizes = [n] + [int(row.out_size or 0) for row in table]
    if min(sizes) < 1:
        raise ValueError(f"the layers shrink an input of {n} to nothing: sizes {sizes}")
    # walk down from the top layer's middle unit: output span [a, b] -> input span
    spans: list[tuple[int, int]] = [(sizes[-1] // 2, sizes[-1] // 2)]
    for layer in reversed(list(layers)):
        a, b = spans[0]
        spans.insert(0, (a * layer.stride - layer.padding,
                         b * layer.stride - layer.padding + layer.dilation * (layer.kernel - 1)))
    cell = 0.3
    row_h = 0.62
    width = n * cell + 3.2
    fig, ax = _canvas(width, row_h * len(sizes) + 0.75)
    ax.text(width / 2, row_h * len(sizes) + 0.45, "what one unit of the top layer sees, layer "
            "by layer (rf: receptive field in input pixels)", ha="center", fontsize=9)
    for level, (count, (a, b)) in enumerate(zip(sizes, spans, strict=True)):
        y = 0.35 + level * row_h
        x0 = 0.2 + (n - count) * cell / 2
        for i in range(count):
            inside = a <= i <= b
            ax.add_patch(Rectangle((x0 + i * cell, y), cell, cell * 0.9,
                                   fc=_HIGHLIGHT if inside else "white", ec="#666666", lw=0.6))
        name = "input" if level == 0 else (
            f"{table[level - 1].kind} {table[level - 1].kernel}"
            f"{'/' + str(table[level - 1].stride) if table[level - 1].stride > 1 else ''}")
        rf = 1 if level == 0 else table[level - 1].rf
        ax.text(0.2 + n * cell + 0.2, y + cell * 0.45, f"{name}: {count} units, rf = {rf}",
                ha="left", va="center", fontsize=8.5)
        if level:
            pa, pb = spans[level - 1]
            px0 = 0.2 + (n - sizes[level - 1]) * cell / 2
            centre = x0 + (a + b + 1) / 2 * cell
            for edge in (max(pa, 0), min(pb, sizes[level - 1] - 1) + 1):
                ax.plot([centre, px0 + edge * cell], [y, y - row_h + cell * 0.9],
                        color="#b45f06", lw=0.8)
    a, b = spans[0]
    fig.table = table  # type: ignore[attr-defined]
    fig.covered = b - a + 1  # type: ignore[attr-defined]
    return fig


def residual_identity() -> Figure:
    """A residual block, ``y = F(x) + x``, and why its Jacobian contains the identity.

    The main path ``F`` (weight layer, ReLU, weight layer) and the identity shortcut meet in
    a ``+``; the formula under the block, ``∂y/∂x = ∂F/∂x + I``, is the reason a gradient
    reaches early layers even when ``∂F/∂x`` is small. No shapes: the picture is the same for
    every width.

    >>> "identity" in [t.get_text() for t in residual_identity().axes[0].texts]
    True
    """
    fig, ax = _canvas(5.6, 3.6)
    cx = 2.0
    ax.text(cx, 3.35, "x", ha="center", va="center", fontsize=12)
    boxes = [("weight layer", 2.75), ("ReLU", 2.2), ("weight layer", 1.65)]
    _arrow(ax, (cx, 3.2), (cx, 2.95))
    for i, (label, y) in enumerate(boxes):
        ax.add_patch(FancyBboxPatch((cx - 0.8, y - 0.18), 1.6, 0.36,
                                    boxstyle="round,pad=0,rounding_size=0.06",
                                    fc=_COLOURS["conv"] if "weight" in label else _COLOURS["norm"],
                                    ec="#555555"))
        ax.text(cx, y, label, ha="center", va="center", fontsize=9)
        if i < len(boxes) - 1:
            _arrow(ax, (cx, y - 0.18), (cx, boxes[i + 1][1] + 0.18))
    ax.text(cx - 1.0, 2.2, "F(x)", ha="right", va="center", fontsize=11, color="#1f3d7a")
    ax.add_patch(Circle((cx, 1.05), 0.17, fc=_COLOURS["merge"], ec="#444444"))
    ax.text(cx, 1.05, "+", ha="center", va="center", fontsize=12)
    _arrow(ax, (cx, 1.47), (cx, 1.22))
    ax.plot([cx, 3.3, 3.3], [3.1, 3.1, 1.05], color="#b45f06", lw=1.6)
    _arrow(ax, (3.3, 1.05), (cx + 0.17, 1.05), "#b45f06")
    ax.text(3.4, 2.2, "identity", rotation=-90, ha="left", va="center", fontsize=9,
            color="#b45f06")
    _arrow(ax, (cx, 0.88), (cx, 0.62))
    ax.text(cx, 0.5, "y = F(x) + x", ha="center", va="center", fontsize=11)
    ax.text(4.55, 2.35, r"$\frac{\partial y}{\partial x} = \frac{\partial F}{\partial x}"
            r" + I$", ha="center", va="center", fontsize=13)
    ax.text(4.55, 1.75, "the +I (a +1 per unit)\nreaches x even when\n∂F/∂x is tiny",
            ha="center", va="center", fontsize=8.5, color="#555555")
    return fig


def depthwise_separable(in_channels: int = 3, out_channels: int = 4, kernel: int = 3) -> Figure:
    """A standard convolution against its depthwise-separable split, with the weight counts.

    Standard: ``out_channels`` kernels, each ``kernel x kernel x in_channels``. Separable: one
    ``kernel x kernel`` kernel per input channel (depthwise), then ``out_channels`` 1x1 kernels
    across channels (pointwise). The counts are :func:`cnnlab.ops.conv_params` without bias.

    >>> depthwise_separable().counts
    {'standard': 108, 'depthwise': 27, 'pointwise': 12}
    """
    from cnnlab import ops

    c_in = _positive_int(in_channels, "in_channels")
    c_out = _positive_int(out_channels, "out_channels")
    k = _positive_int(kernel, "kernel")
    counts = {
        "standard": ops.conv_params(c_in, c_out, k, bias=False),
        "depthwise": ops.conv_params(c_in, c_in, k, bias=False, groups=c_in),
        "pointwise": ops.conv_params(c_in, c_out, 1, bias=False),
    }
    palette = ["#e06666", "#6fa8dc", "#93c47d", "#f6b26b", "#8e7cc3", "#c27ba0"]
    shown_in, shown_out = min(c_in, 6), min(c_out, 6)
    width = 9.2
    fig, ax = _canvas(width, 4.3)

    def stack(x: float, y: float, channels: int, side: float, colours: Sequence[str],
              label: str) -> None:
        """A kernel drawn as ``channels`` squares offset like a deck of cards."""
        for c in range(channels):
            ax.add_patch(Rectangle((x + c * 0.08, y + c * 0.08), side, side,
                                   fc=colours[c % len(colours)], ec="#444444", lw=0.6,
                                   alpha=0.85))
        ax.text(x + side / 2 + channels * 0.04, y - 0.14, label, ha="center", va="top",
                fontsize=7.5)

    ax.text(2.2, 4.05, "standard convolution", ha="center", fontsize=10, fontweight="bold")
    for o in range(shown_out):
        stack(0.25 + o * 1.05, 2.55, shown_in, 0.55, palette, f"kernel {o + 1}")
    ax.text(2.2, 2.0, f"{c_out} kernels of {k}x{k}x{c_in}", ha="center", fontsize=9)
    ax.text(2.2, 1.65, f"{c_out}·{k}·{k}·{c_in} = {counts['standard']} weights", ha="center",
            fontsize=9, color="#1f3d7a")
    ax.plot([4.55, 4.55], [0.3, 4.1], color="#cccccc", lw=1)
    ax.text(6.9, 4.05, "depthwise-separable", ha="center", fontsize=10, fontweight="bold")
    for c in range(shown_in):
        stack(4.8 + c * 0.7, 2.75, 1, 0.45, [palette[c % len(palette)]], f"ch {c + 1}")
    ax.text(4.8 + shown_in * 0.35, 2.25, f"depthwise: {c_in} kernels of {k}x{k}x1", ha="center",
            fontsize=8.5)
    for o in range(shown_out):
        stack(4.8 + o * 0.75, 0.95, shown_in, 0.22, palette, f"1x1 #{o + 1}")
    ax.text(6.9, 1.85, "then", ha="center", fontsize=8.5, color="#555555")
    ax.text(8.1, 1.1, f"pointwise:\n{c_out} kernels\nof 1x1x{c_in}", ha="center", fontsize=8.5)
    total = counts["depthwise"] + counts["pointwise"]
    ax.text(6.9, 0.3, f"{c_in}·{k}·{k} + {c_in}·{c_out} = {counts['depthwise']} + "
            f"{counts['pointwise']} = {total} weights", ha="center", fontsize=9, color="#1f3d7a")
    fig.counts = counts  # type: ignore[attr-defined]
    return fig


def transposed_conv_unpool(kernel: Any = None, stride: int = 2) -> Figure:
    """Two ways up: a transposed convolution scatters kernels, unpooling puts values back.

    Left: a 2x2 input ``[[1, 2], [3, 4]]``; each input cell adds ``value x kernel`` into the
    output at ``stride`` steps, overlaps summed. The output is computed with
    :func:`cnnlab.ops.conv2d_backward` (a transposed convolution is the gradient of a
    convolution with respect to its input): (2 - 1) * stride + k per side. Right: unpooling the
    same 2x2 with the switches of :func:`max_pool_switches`'s example.

    >>> transposed_conv_unpool().upsampled.shape
    (5, 5)
    """
    from cnnlab import ops

    ker = _square_array(np.ones((3, 3)) if kernel is None else kernel, "kernel")
    s = _positive_int(stride, "stride")
    small = np.array([[1.0, 2.0], [3.0, 4.0]])
    kh, kw = ker.shape
    side_h, side_w = (2 - 1) * s + kh, (2 - 1) * s + kw
    x = np.zeros((1, 1, side_h, side_w))
    up = ops.conv2d_backward(small[None, None], x, ker[None, None], stride=s)[0][0, 0]
    pooled, idx = ops.max_pool2d(_DEFAULT_POOL[None, None], 2, return_indices=True)
    unpooled = ops.max_pool2d_backward(small[None, None], _DEFAULT_POOL[None, None], 2)[0, 0]
    cell = 0.38
    width = (2 + side_w + 2 + 4) * cell + 4.0
    fig, ax = _canvas(width, max(side_h, 4) * cell + 1.5)
    top = max(side_h, 4) * cell + 0.85
    colours = {(0, 0): _HIGHLIGHT}
    _grid(ax, small, 0.2, top - cell, cell, colours=colours, fmt="{:.0f}", label="input 2x2")
    ox = 0.2 + 2 * cell + 0.9
    first = {(i, j): _HIGHLIGHT for i in range(kh) for j in range(kw)}
    _grid(ax, up, ox, top, cell, colours=first, fmt="{:.0f}",
          label=f"transposed conv {kh}x{kw}/{s}: {side_h}x{side_w}")
    _outline(ax, ox, top, cell, 0, 0, kh, kw, "#b45f06")
    _outline(ax, ox, top, cell, 0, s, kh, kw, "#38761d", lw=1.6, ls="--")
    _arrow(ax, (0.2 + cell, top - 1.5 * cell), (ox - 0.05, top - cell), "#b45f06", rad=-0.2)
    ax.text(ox + side_w * cell / 2, top - side_h * cell - 0.3, "overlaps add up",
            ha="center", fontsize=8, color="#555555")
    ux0 = ox + side_w * cell + 0.9
    _grid(ax, small, ux0, top - cell, cell, fmt="{:.0f}", label="input 2x2")
    ux = ux0 + 2 * cell + 0.9
    switches = {(int(i) // 4, int(i) % 4): _HIGHLIGHT for i in idx.ravel()}
    _grid(ax, unpooled, ux, top, cell, colours=switches, fmt="{:.0f}",
          label="unpool 2x2 with switches: 4x4")
    ax.text(ux - 0.45, top - 2 * cell, "→", ha="center", va="center", fontsize=16)
    fig.upsampled, fig.unpooled = up, unpooled  # type: ignore[attr-defined]
    del pooled
    return fig


def unet_skips(size: int = 32, channels: Sequence[int] = (16, 32, 64)) -> Figure:
    """A U-Net in outline: an encoder that pools, a decoder that upsamples, and the skips.

    Shapes: stage ``i`` of the encoder has ``channels[i]`` maps of ``size / 2^i`` (each 2x2
    pooling computed with :func:`cnnlab.ops.conv_output_size`); the decoder mirrors it with
    transposed convolutions, and each decoder stage concatenates the encoder's maps of the same
    size (the grey arrows), so fine detail need not pass through the bottleneck.

    >>> unet_skips().sizes
    [32, 16, 8]
    """
    from cnnlab import ops

    n = _positive_int(size, "size", 2)
    if isinstance(channels, (str, bytes)) or not isinstance(channels, Sequence) or len(
            channels) < 2:
        raise ValueError(f"channels must list at least two stage widths, got {channels!r}")
    chans = [_positive_int(c, "channels") for c in channels]
    sizes = [n]
    for _ in chans[1:]:
        if sizes[-1] < 2:
            raise ValueError(f"{len(chans) - 1} poolings are too many for size {n}")
        sizes.append(ops.conv_output_size(sizes[-1], 2, 2))
    depth = len(chans)
    step_y, box_w, box_h, shift = 0.85, 1.75, 0.42, 1.0
    width = 2 * (depth - 1) * shift + 2 * box_w + 3.0
    fig, ax = _canvas(width, depth * step_y + 0.8)
    top = depth * step_y + 0.25

    def box(x: float, y: float, label: str, colour: str) -> None:
        ax.add_patch(FancyBboxPatch((x, y - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0,rounding_size=0.05", fc=colour,
                                    ec="#555555"))
        ax.text(x + box_w / 2, y, label, ha="center", va="center", fontsize=8.5)

    left = [0.9 + i * shift for i in range(depth)]
    right = [width - 0.9 - box_w - i * shift for i in range(depth)]
    left[-1] = right[-1] = width / 2 - box_w / 2  # the bottleneck, shared by both sides
    for i, (c, s) in enumerate(zip(chans, sizes, strict=True)):
        y = top - i * step_y
        box(left[i], y, f"conv  {c}@{s}x{s}", _COLOURS["conv"])
        if i == depth - 1:
            ax.text(left[i] + box_w / 2, y - box_h / 2 - 0.08, "bottleneck", ha="center",
                    va="top", fontsize=8, color="#555555", style="italic")
            continue
        box(right[i], y, f"concat, conv  {c}@{s}x{s}", _COLOURS["depthwise"])
        _arrow(ax, (left[i] + 0.35, y - box_h / 2), (left[i + 1] + 0.35, y - step_y + box_h / 2),
               "#b45f06")
        ax.text(left[i] + 0.2, y - step_y / 2, "pool 2x2", ha="right", va="center",
                fontsize=7.5, color="#b45f06")
        _arrow(ax, (left[i] + box_w, y), (right[i], y), "#888888", text=f"skip: copy {c}@{s}x{s}")
        _arrow(ax, (right[i + 1] + box_w - 0.35, y - step_y + box_h / 2),
               (right[i] + box_w - 0.35, y - box_h / 2), "#38761d")
        ax.text(right[i] + box_w - 0.2, y - step_y / 2, "transposed\nconv 2x2/2", ha="left",
                va="center", fontsize=7.5, color="#38761d")
    fig.sizes = sizes  # type: ignore[attr-defined]
    return fig


def sliding_vs_convolutional(image_size: int = 64, window: int = 32, step: int = 4) -> Figure:
    """Detection two ways: classify every crop, or run the network once as convolutions.

    Left: a few of the ``window`` x ``window`` crops a sliding window classifies, ``step``
    pixels apart; there are :func:`cnnlab.ops.conv_output_size` ``(image_size, window, step)``
    of them per side. Right: the same classifier written as convolutions (its linear layers as
    1x1 convolutions) runs once on the whole image and outputs a score map with one cell per
    crop; overlapping crops share their convolutions instead of recomputing them.

    >>> sliding_vs_convolutional().per_side
    9
    """
    from cnnlab import ops

    n = _positive_int(image_size, "image_size", 2)
    w = _positive_int(window, "window")
    s = _positive_int(step, "step")
    if w > n:
        raise ValueError(f"window {w} must fit in image_size {n}")
    per_side = ops.conv_output_size(n, w, s)
    fig, ax = _canvas(8.6, 3.9)
    scale = 2.6 / n
    x0, y0 = 0.3, 0.55
    ax.add_patch(Rectangle((x0, y0), n * scale, n * scale, fc="#f3f3f3", ec="#444444"))
    colours = ["#b45f06", "#38761d", "#1f3d7a"]
    for k, (r, c) in enumerate([(0, 0), (0, 1), (1, 0)]):
        if max(r, c) >= per_side:
            continue
        ax.add_patch(Rectangle((x0 + c * s * scale, y0 + (n - w - r * s) * scale), w * scale,
                               w * scale, fc="none", ec=colours[k], lw=1.6,
                               ls="-" if k == 0 else "--"))
    ax.text(x0 + n * scale / 2, y0 + n * scale + 0.25,
            f"(a) sliding window: {per_side}x{per_side} = {per_side ** 2} crops of {w}x{w},\n"
            f"each classified on its own", ha="center", fontsize=8.5)
    ax.text(x0 + n * scale / 2, y0 - 0.3, f"image {n}x{n}, step {s}", ha="center", fontsize=8)
    mx = 4.9
    ax.add_patch(Rectangle((mx - 1.0, y0), 0.7, n * scale, fc="#f3f3f3", ec="#444444"))
    ax.text(mx - 0.65, y0 + n * scale / 2, f"image\n{n}x{n}", ha="center", va="center",
            fontsize=8)
    ax.add_patch(FancyBboxPatch((mx, y0 + 0.6), 1.0, n * scale - 1.2,
                                boxstyle="round,pad=0,rounding_size=0.06", fc=_COLOURS["conv"],
                                ec="#555555"))
    ax.text(mx + 0.5, y0 + n * scale / 2, "convs +\n1x1 convs\n(the old\nlinear\nlayers)",
            ha="center", va="center", fontsize=7.5)
    _arrow(ax, (mx - 0.3, y0 + n * scale / 2), (mx, y0 + n * scale / 2))
    gx = mx + 1.4
    cell = min(0.2, 2.0 / per_side)
    gtop = y0 + n * scale / 2 + per_side * cell / 2
    _grid(ax, np.zeros((per_side, per_side)), gx, gtop, cell,
          colours={(0, 0): "#f6b26b", (0, 1): "#b6d7a8", (1, 0): "#9fc5e8"}, show=False)
    _arrow(ax, (mx + 1.0, y0 + n * scale / 2), (gx - 0.05, y0 + n * scale / 2))
    ax.text(gx + per_side * cell / 2, gtop + 0.2, f"score map {per_side}x{per_side}",
            ha="center", fontsize=8.5)
    ax.text(mx + 0.9, y0 + n * scale + 0.25, "(b) fully convolutional: one pass,\none score "
            "cell per crop", ha="center", fontsize=8.5)
    fig.per_side = per_side  # type: ignore[attr-defined]
    return fig

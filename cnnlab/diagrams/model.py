"""``draw_model``: the layout tree of :mod:`cnnlab.diagrams.trace` laid out and painted."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import torch
from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle
from torch import nn

from cnnlab.diagrams._style import _COLOURS, _new_figure, _style, format_shape
from cnnlab.diagrams.trace import (
    DrawnBox,
    ModelDiagram,
    _Box,
    _boxes,
    _flatten,
    _node,
    _Parallel,
    _record,
    _Residual,
    _Series,
    _stages,
)

__all__ = ["draw_model"]

# ---------------------------------------------------------------------------------------------
# 3. Geometry and drawing (inches; y grows downwards while laying out, flipped when drawn)
# ---------------------------------------------------------------------------------------------

_BW, _BH, _GAP, _LANE, _PAD, _TITLE, _ENTRY = 2.3, 0.42, 0.24, 0.45, 0.1, 0.22, 0.16


def _size(node: Any, width: float) -> tuple[float, float]:
    if isinstance(node, _Box):
        return width, _BH
    if isinstance(node, _Series):
        sizes = [_size(i, width) for i in node.items]
        w = max([s[0] for s in sizes], default=width)
        h = sum(s[1] for s in sizes) + _GAP * max(len(sizes) - 1, 0)
        if node.title:
            return w + 2 * _PAD, h + 2 * _PAD + _TITLE
        return w, h
    if isinstance(node, _Parallel):
        bw = max(1.25, min(width, 5.6 / max(len(node.branches), 1)))
        sizes = [_size(b, bw) for b in node.branches]
        w = sum(s[0] for s in sizes) + 0.12 * (len(sizes) - 1)
        h = max(s[1] for s in sizes) + 2 * _GAP + _BH
        return max(w, width), h + (_TITLE if node.title else 0.0)
    if isinstance(node, _Residual):
        mw, mh = _size(node.main, width)
        sw, sh = _size(node.shortcut, 1.6) if node.shortcut else (0.0, 0.0)
        body = max(mh, sh + _GAP if node.shortcut else 0.0)
        return mw + _LANE + sw, _ENTRY + body + _GAP + _BH + (_TITLE if node.title else 0.0)
    raise TypeError(type(node).__name__)


class _Painter:
    def __init__(self, ax: Axes, fontsize: float):
        self.ax = ax
        self.fontsize = fontsize
        self.drawn: list[DrawnBox] = []

    def arrow(self, start: tuple[float, float], end: tuple[float, float], **kw: Any) -> None:
        style = kw.pop("style", "-|>")
        self.ax.add_patch(
            FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=9, lw=0.9,
                            color=kw.pop("color", "#444444"), shrinkA=0, shrinkB=0, **kw)
        )

    def box(self, b: _Box, cx: float, top: float, width: float) -> None:
        colour = _COLOURS.get(b.kind, _COLOURS["other"])
        shape = format_shape(b.shape)
        if b.kind == "merge":
            sign = {"+": "+", "x": "×", "concat": "concat"}.get(b.label.split(",")[0], b.label)
            rest = b.label.split(",", 1)[1].strip() if "," in b.label else ""
            if sign == "concat":
                self._rounded(cx, top, width, colour, f"concat{', ' + rest if rest else ''}", shape)
            else:
                r = _BH * 0.42
                self.ax.add_patch(Circle((cx, -(top + _BH / 2)), r, fc=colour, ec="#444444",
                                         lw=0.9, zorder=3))
                self.ax.text(cx, -(top + _BH / 2), sign, ha="center", va="center",
                             fontsize=self.fontsize + 2, zorder=4)
                text = f"{rest}  {shape}".strip() if rest else shape
                self.ax.text(cx - r - 0.08, -(top + _BH / 2), text, ha="right", va="center",
                             fontsize=self.fontsize - 0.5, color="#222222")
        else:
            self._rounded(cx, top, width, colour, b.label, shape)
        self.drawn.append(DrawnBox(b.label, b.shape, b.module, b.kind))

    def _rounded(self, cx: float, top: float, width: float, colour: str, label: str,
                 shape: str) -> None:
        w = width - 0.06
        self.ax.add_patch(
            FancyBboxPatch((cx - w / 2, -(top + _BH)), w, _BH,
                           boxstyle="round,pad=0,rounding_size=0.06", fc=colour, ec="#555555",
                           lw=0.8, zorder=2)
        )
        size = self.fontsize if len(label) * 0.062 * self.fontsize / 9 < w else self.fontsize - 1.5
        self.ax.text(cx, -(top + _BH * 0.34), label, ha="center", va="center", fontsize=size,
                     zorder=3)
        self.ax.text(cx, -(top + _BH * 0.74), shape, ha="center", va="center",
                     fontsize=size - 0.5, color="#1f3d7a", fontweight="bold", zorder=3)

    def node(self, node: Any, cx: float, top: float, width: float) -> float:
        """Draw ``node`` centred at ``cx`` from ``top`` down; return its bottom."""
        if isinstance(node, _Box):
            self.box(node, cx, top, width)
            return top + _BH
        if isinstance(node, _Series):
            w, h = _size(node, width)
            y = top
            inner = width
            if node.title:
                self.ax.add_patch(Rectangle((cx - w / 2, -(top + h)), w, h, fc="none",
                                            ec="#999999", ls="--", lw=0.8, zorder=1))
                self.ax.text(cx - w / 2 + 0.06, -(top + 0.04), node.title, ha="left", va="top",
                             fontsize=self.fontsize - 1, color="#555555", style="italic")
                y += _PAD + _TITLE
            for i, item in enumerate(node.items):
                _, ih = _size(item, inner)
                if i:
                    self.arrow((cx, -(y - _GAP)), (cx, -y))
                y = self.node(item, cx, y, inner)
                if i < len(node.items) - 1:
                    y += _GAP
            return top + h
        if isinstance(node, _Parallel):
            return self._parallel(node, cx, top, width)
        if isinstance(node, _Residual):
            return self._residual(node, cx, top, width)
        raise TypeError(type(node).__name__)

    def _parallel(self, node: _Parallel, cx: float, top: float, width: float) -> float:
        w, h = _size(node, width)
        y = top
        if node.title:
            self.ax.text(cx - w / 2, -(y + 0.02), node.title, ha="left", va="top",
                         fontsize=self.fontsize - 1, color="#555555", style="italic")
            y += _TITLE
        bw = max(1.25, min(width, 5.6 / len(node.branches)))
        sizes = [_size(b, bw) for b in node.branches]
        total = sum(s[0] for s in sizes) + 0.12 * (len(sizes) - 1)
        x = cx - total / 2
        bottoms = []
        split = (cx, -y)
        self.ax.plot([cx], [-y], "o", ms=3, color="#444444")
        for branch, (sw, _) in zip(node.branches, sizes, strict=True):
            bx = x + sw / 2
            self.arrow(split, (bx, -(y + _GAP)))
            bottom = self.node(branch, bx, y + _GAP, bw)
            bottoms.append((bx, bottom))
            x += sw + 0.12
        merge_top = top + h - _BH
        level = merge_top - _GAP * 0.55
        mw = min(width, 2.3)
        for bx, bottom in bottoms:
            self.ax.plot([bx, bx], [-bottom, -level], color="#444444", lw=0.9)
            tx = min(max(bx, cx - mw / 2 + 0.15), cx + mw / 2 - 0.15)
            self.arrow((bx, -level), (tx, -merge_top))
        self.box(node.merge, cx, merge_top, mw)
        return top + h

    def _residual(self, node: _Residual, cx: float, top: float, width: float) -> float:
        w, h = _size(node, width)
        mw, mh = _size(node.main, width)
        left = cx - w / 2
        mcx = left + mw / 2
        y = top
        if node.title:
            self.ax.text(left, -(y + 0.02), node.title, ha="left", va="top",
                         fontsize=self.fontsize - 1, color="#555555", style="italic")
            y += _TITLE
        # the main path, shifted left so the skip runs in a lane on the right
        self.ax.plot([cx, mcx], [-y, -y], color="#444444", lw=0.9)
        self.arrow((mcx, -y), (mcx, -(y + _ENTRY)))
        bottom = self.node(node.main, mcx, y + _ENTRY, width)
        merge_top = top + h - _BH
        self.arrow((mcx, -bottom), (mcx, -(merge_top + _BH / 2 - _BH * 0.42)))
        lane = left + mw + _LANE / 2
        colour = "#b45f06"
        if node.shortcut is None:
            self.ax.plot([cx, lane, lane], [-y, -y, -(merge_top + _BH / 2)], color=colour, lw=1.3)
            self.ax.text(lane + 0.05, -(y + (merge_top - y) / 2), "identity", rotation=-90,
                         ha="left", va="center", fontsize=self.fontsize - 1.5, color=colour)
        else:
            sw, sh = _size(node.shortcut, 1.6)
            scx = left + mw + _LANE / 2 + sw / 2
            lane = scx
            self.ax.plot([cx, scx], [-y, -y], color=colour, lw=1.3)
            self.arrow((scx, -y), (scx, -(y + _ENTRY + _GAP)), color=colour)
            sbottom = self.node(node.shortcut, scx, y + _ENTRY + _GAP, 1.6)
            self.ax.plot([scx, scx], [-sbottom, -(merge_top + _BH / 2)], color=colour, lw=1.3)
        r = _BH * 0.42
        self.arrow((lane, -(merge_top + _BH / 2)), (mcx + r, -(merge_top + _BH / 2)), color=colour)
        self.box(node.merge, mcx, merge_top, width)
        return top + h


def _columns(items: list[Any], width: float, max_height: float) -> list[list[Any]]:
    """Split the top-level items into as few columns as ``max_height`` allows, balanced."""
    heights = [_size(i, width)[1] for i in items]
    total = sum(heights) + _GAP * (len(items) - 1)
    wanted = len(_pack(items, width, max_height))
    target = max(max(heights), total / wanted)
    while target < max_height:
        columns = _pack(items, width, target)
        if len(columns) <= wanted:
            return columns
        target += 0.1
    return _pack(items, width, max_height)


def _pack(items: list[Any], width: float, max_height: float) -> list[list[Any]]:
    columns: list[list[Any]] = [[]]
    height = 0.0
    for item in items:
        _, h = _size(item, width)
        if columns[-1] and height + _GAP + h > max_height:
            columns.append([])
            height = 0.0
        columns[-1].append(item)
        height += h + _GAP
    return columns


def draw_model(
    model: nn.Module,
    input_shape: Sequence[int],
    *,
    title: str | None = None,
    max_depth: int | None = None,
    show_names: bool = False,
    max_height: float = 9.0,
    fontsize: float = 8.5,
) -> ModelDiagram:
    """Draw ``model`` as a block diagram, with the shapes a forward pass produces.

    The model runs once on zeros of shape ``(1, *input_shape)`` in eval mode (its mode is
    restored afterwards). Each module call becomes a box saying what the layer is (``conv
    5x5``, ``max pool 3x3/2``: kernel and, if not 1, stride) and the shape it outputs
    (``6@28x28``: 6 maps of 28 x 28); batch normalisation, activations and dropout are written
    into the box of the layer before them. Branches that read one tensor and are concatenated
    stand side by side; an addition of a block's input (or of a shortcut's output) to its
    result is drawn as an arrow around the block into a ``+``; a gate ``x * f(x)``
    (squeeze-and-excitation) is one box. Long runs of boxes cut by pooling layers are framed
    as stages; a column taller than ``max_height`` inches continues to the right.

    Args:
        model: any ``nn.Module`` taking one tensor.
        input_shape: one example's shape without the batch axis, e.g. ``(1, 32, 32)``.
        title: figure title (default: the model's class name and the input shape).
        max_depth: draw modules nested deeper than this as one box each (``None``: expand all;
            ``1`` on a ResNet draws each stage as one box).
        show_names: start each box with its module's name (``c1: conv 5x5``).
        max_height: height of a column in inches before the drawing wraps.
        fontsize: font size of the box labels.

    Returns:
        A :class:`ModelDiagram` (a matplotlib ``Figure``) whose ``boxes`` attribute lists each
        drawn :class:`DrawnBox` (label, output shape without batch axis, module name).

    >>> from cnnlab.models import InceptionBlock
    >>> fig = draw_model(InceptionBlock(192, 64, 96, 128, 16, 32, 32), (192, 28, 28))
    >>> fig.boxes[-1].label, fig.boxes[-1].shape
    ('concat', (256, 28, 28))
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"draw_model expects an nn.Module, got {type(model).__name__}")
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence):
        raise TypeError(
            f"input_shape must be a sequence of ints such as (1, 32, 32), got "
            f"{type(input_shape).__name__}"
        )
    if not input_shape or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0
                                  for d in input_shape):
        raise ValueError(
            f"input_shape must be positive ints without the batch axis, e.g. (1, 32, 32); "
            f"got {tuple(input_shape)!r}"
        )
    if max_depth is not None and (not isinstance(max_depth, int) or max_depth < 0):
        raise ValueError(f"max_depth must be None or an int >= 0, got {max_depth!r}")
    if max_height <= 0:
        raise ValueError(f"max_height must be positive, got {max_height}")
    try:
        param = next(model.parameters())
        device, dtype = param.device, param.dtype
    except StopIteration:
        device, dtype = torch.device("cpu"), torch.float32
    zeros = torch.zeros((1, *input_shape), device=device, dtype=dtype)
    try:
        root = _record(model, zeros)
    except Exception as error:  # the model's own message says what it expected
        raise ValueError(
            f"{type(model).__name__} cannot run on an input of shape (1, "
            f"{', '.join(map(str, input_shape))}): {error}"
        ) from error
    tree = _node(root, 0, max_depth)
    items = tree.items if isinstance(tree, _Series) and not tree.title else [tree]
    items = _stages(_flatten(list(items)))
    if show_names:
        for box in _boxes(_Series(items)):
            name = box.first.split(".")[-1]
            if box.kind != "merge" and name != box.label.split(",")[0]:
                box.label = f"{name}: {box.label}"
    source = _Box("input", tuple(input_shape), "<input>", "input")
    items = [source, *items]

    width = _BW
    max_height = max(max_height, max(_size(i, width)[1] for i in items))
    columns = _columns(items, width, max_height)
    sizes = [[_size(i, width) for i in col] for col in columns]
    col_w = [max(s[0] for s in col) for col in sizes]
    col_h = [sum(s[1] for s in col) + _GAP * (len(col) - 1) for col in sizes]
    spacing = 0.6
    total_w = sum(col_w) + spacing * (len(columns) - 1)
    total_h = max(col_h)
    heading = title if title is not None else (
        f"{type(model).__name__} on {format_shape(tuple(input_shape))}")
    lines = textwrap.wrap(heading, max(16, int((total_w + 0.4) / (0.0085 * (fontsize + 2)))),
                          break_long_words=False) or [""]
    heading = "\n".join(lines)
    extra = 0.2 * max(len(lines) - 1, 0)
    with _style():
        fig: ModelDiagram = _new_figure((total_w + 0.4, total_h + 0.7 + extra), ModelDiagram)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(-0.2, total_w + 0.2)
        ax.set_ylim(-(total_h + 0.2), 0.5 + extra)
        ax.set_aspect("equal")
        ax.axis("off")
        if heading:
            ax.text(total_w / 2, 0.25 + extra / 2, heading, ha="center", va="center",
                    fontsize=fontsize + 2, fontweight="bold")
        painter = _Painter(ax, fontsize)
        x = 0.0
        previous_end: tuple[float, float] | None = None
        for col, cw in zip(columns, col_w, strict=True):
            cx = x + cw / 2
            y = 0.0
            for i, item in enumerate(col):
                if i:
                    painter.arrow((cx, -(y - _GAP)), (cx, -y))
                elif previous_end is not None:
                    px, py = previous_end
                    gap_x = x - spacing / 2
                    ax.plot([px, px, gap_x, gap_x, cx], [-py, -(py + 0.12), -(py + 0.12),
                            0.12, 0.12], color="#444444", lw=0.9)
                    painter.arrow((cx, 0.12), (cx, 0.0))
                y = painter.node(item, cx, y, width)
                if i < len(col) - 1:
                    y += _GAP
            previous_end = (cx, y)
            x += cw + spacing
        fig.boxes = painter.drawn
    return fig



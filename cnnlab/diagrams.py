"""Diagrams drawn by code: networks from the models themselves, and the mechanisms of the course.

Two kinds of picture live here.

1. :func:`draw_model` draws any ``nn.Module`` as a block diagram. It runs the model once on a
   zero input with forward hooks on every module and a :class:`torch.overrides.TorchFunctionMode`
   that sees the additions, multiplications and concatenations between them, so the picture
   shows the shapes the model really produces and the wiring its ``forward`` really follows:
   a chain of layers is a column of boxes, branches that read the same tensor and are
   concatenated stand side by side (Inception), and an addition of a block's input to its
   output is an arrow around the block (ResNet, MBConv). Edit a model and its diagram changes.
2. Mechanism diagrams (``conv_window``, ``padding_stride``, ``im2col_diagram``,
   ``max_pool_switches``, ``receptive_field_growth``, ``residual_identity``,
   ``depthwise_separable``, ``transposed_conv_unpool``, ``unet_skips``,
   ``sliding_vs_convolutional``): small labelled pictures whose numbers are computed with
   :mod:`cnnlab.ops` and :mod:`cnnlab.receptive`, never typed.

Every function returns a matplotlib ``Figure`` (closed in pyplot, so it is shown only where it is
returned) and raises ``TypeError``/``ValueError`` naming what it expected.

>>> from cnnlab.models import LeNet5
>>> fig = draw_model(LeNet5(), (1, 32, 32))
>>> [box.shape for box in fig.boxes][1:3]
[(6, 28, 28), (6, 14, 14)]
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

__all__ = [
    "DrawnBox",
    "ModelDiagram",
    "draw_model",
    "format_shape",
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


# ---------------------------------------------------------------------------------------------
# 1. Recording one forward pass: module calls and the tensor operations between them
# ---------------------------------------------------------------------------------------------

_MERGE_OPS = {
    "add": "+", "__add__": "+", "__radd__": "+", "__iadd__": "+", "add_": "+",
    "mul": "x", "__mul__": "x", "__rmul__": "x", "__imul__": "x", "mul_": "x",
    "cat": "concat", "concat": "concat", "concatenate": "concat", "stack": "concat",
}


@dataclass
class _Op:
    seq: int
    kind: str  # "+", "x", "concat" or "other"
    func: str
    operands: list[int]
    result: int
    out: Tensor


@dataclass
class _Call:
    seq: int
    module: nn.Module
    name: str
    inp: int = -1
    out_id: int = -1
    out: Tensor | None = None
    children: list[_Call] = field(default_factory=list)
    ops: list[_Op] = field(default_factory=list)


def _first_tensor(value: Any) -> Tensor | None:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (list, tuple)):
        for item in value:
            found = _first_tensor(item)
            if found is not None:
                return found
    if isinstance(value, dict):
        return _first_tensor(list(value.values()))
    return None


def _tensors(value: Any) -> list[Tensor]:
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    return []


class _Recorder(TorchFunctionMode):
    """Records module calls (as a tree) and tensor operations made directly inside each one."""

    def __init__(self, names: dict[int, str]):
        super().__init__()
        self.names = names
        self.seq = 0
        self.root = _Call(-1, nn.Identity(), "")
        self.stack: list[_Call] = [self.root]
        self.keep: list[Tensor] = []  # holds every recorded tensor, so no id() is reused

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def pre_hook(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        call = _Call(self._next(), module, self.names.get(id(module), type(module).__name__))
        first = _first_tensor(args)
        if first is not None:
            call.inp = id(first)
            self.keep.append(first)
        self.stack[-1].children.append(call)
        self.stack.append(call)

    def post_hook(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        call = self.stack.pop()
        out = _first_tensor(output)
        if out is not None:
            call.out, call.out_id = out, id(out)
            self.keep.append(out)

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        result = func(*args, **(kwargs or {}))
        if isinstance(result, Tensor) and len(self.stack) > 1:
            name = getattr(func, "__name__", "")
            operands = _tensors(list(args)) + _tensors(list((kwargs or {}).values()))
            if operands and not name.startswith("__get"):
                self.keep.extend(operands)
                self.keep.append(result)
                kind = _MERGE_OPS.get(name, "other")
                self.stack[-1].ops.append(
                    _Op(self._next(), kind, name, [id(t) for t in operands], id(result), result)
                )
        return result


def _record(model: nn.Module, x: Tensor) -> _Call:
    names: dict[int, str] = {}
    for name, module in model.named_modules():
        names.setdefault(id(module), name or type(model).__name__)
    recorder = _Recorder(names)
    handles = []
    for module in model.modules():
        handles.append(module.register_forward_pre_hook(recorder.pre_hook))
        handles.append(module.register_forward_hook(recorder.post_hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), recorder:
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return recorder.root.children[0]


# ---------------------------------------------------------------------------------------------
# 2. From the recorded calls to a layout tree
# ---------------------------------------------------------------------------------------------


@dataclass
class DrawnBox:
    """One box of a :class:`ModelDiagram`: what it says, and the shape it outputs.

    ``module`` is the qualified name of the module whose output the box shows (as in
    ``model.named_modules()``); ``shape`` excludes the batch axis.
    """

    label: str
    shape: tuple[int, ...]
    module: str
    kind: str = "other"


class ModelDiagram(Figure):
    """The figure :func:`draw_model` returns; ``boxes`` lists what it drew, top to bottom."""

    boxes: list[DrawnBox]


@dataclass
class _Box:
    label: str
    shape: tuple[int, ...]
    module: str
    kind: str
    modifier: bool = False  # BN, activation, dropout: fused into the box before it
    inp: int = -1
    out: int = -1
    first: str = ""  # the module that opened the box (before BN/activation were fused in)

    def __post_init__(self) -> None:
        self.first = self.first or self.module


@dataclass
class _Series:
    items: list[Any]
    title: str = ""


@dataclass
class _Parallel:
    branches: list[_Series]
    merge: _Box
    title: str = ""


@dataclass
class _Residual:
    main: _Series
    shortcut: _Series | None
    merge: _Box
    title: str = ""


_MODIFIERS = (
    nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm,
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.SiLU, nn.GELU, nn.Hardswish,
    nn.Hardsigmoid, nn.ELU, nn.Dropout, nn.Dropout2d, nn.Softmax, nn.LocalResponseNorm,
)
_SHORT = {
    "BatchNorm1d": "BN", "BatchNorm2d": "BN", "BatchNorm3d": "BN", "LayerNorm": "LN",
    "GroupNorm": "GN", "LocalResponseNorm": "LRN", "Hardswish": "h-swish",
    "Dropout": "dropout", "Dropout2d": "dropout",
}


def _pair_text(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        if len(set(value)) == 1:
            value = value[0]
        else:
            return "x".join(str(v) for v in value)
    return str(value)


def _kernel_text(kernel: Any, stride: Any) -> str:
    k = kernel if isinstance(kernel, (tuple, list)) else (kernel, kernel)
    text = "x".join(str(v) for v in k)
    s = _pair_text(stride)
    return text if s == "1" else f"{text}/{s}"


def _leaf_label(module: nn.Module, out: Tensor) -> tuple[str, str, bool]:
    """(label, kind, modifier) for a module drawn as one box."""
    if isinstance(module, nn.ConvTranspose2d):
        return f"transposed conv {_kernel_text(module.kernel_size, module.stride)}", "conv", False
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        geometry = _kernel_text(module.kernel_size, module.stride)
        if module.groups > 1 and module.groups == module.in_channels:
            return f"depthwise conv {geometry}", "depthwise", False
        if module.groups > 1:
            return f"conv {geometry}, {module.groups} groups", "conv", False
        return f"conv {geometry}", "conv", False
    if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)):
        return f"max pool {_kernel_text(module.kernel_size, module.stride)}", "pool", False
    if isinstance(module, (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)):
        return f"avg pool {_kernel_text(module.kernel_size, module.stride)}", "pool", False
    if isinstance(module, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)):
        spatial = tuple(out.shape[2:])
        if spatial and all(s == 1 for s in spatial):
            return "global avg pool", "pool", False
        return "adaptive avg pool", "pool", False
    if isinstance(module, (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)):
        return "adaptive max pool", "pool", False
    if isinstance(module, nn.MaxUnpool2d):
        return "max unpool", "pool", False
    if isinstance(module, nn.Upsample):
        return f"upsample x{_pair_text(module.scale_factor)}", "pool", False
    if isinstance(module, nn.Linear):
        return "linear", "linear", False
    if isinstance(module, nn.Flatten):
        return "flatten", "other", False
    if isinstance(module, nn.Embedding):
        return "embedding", "other", False
    name = type(module).__name__
    if isinstance(module, _MODIFIERS):
        if isinstance(module, (nn.Dropout, nn.Dropout2d)):
            return f"dropout {module.p:g}", "norm", True
        return _SHORT.get(name, name), "norm", True
    return _CLASS_LABELS.get(name, name), "other", False


def _shape(t: Tensor | None) -> tuple[int, ...]:
    return tuple(int(d) for d in t.shape[1:]) if t is not None else ()


def _collapsed(call: _Call) -> _Box:
    label = _CLASS_LABELS.get(type(call.module).__name__, type(call.module).__name__)
    children = list(call.module.children())
    kinds = {type(c).__name__ for c in children}
    if isinstance(call.module, nn.Sequential) and len(kinds) == 1:
        label = f"{call.name.split('.')[-1]}: {len(children)} x {kinds.pop()}"
    return _Box(label, _shape(call.out), call.name, "other", False, call.inp, call.out_id)


_CLASS_LABELS = {
    "SqueezeExcitation": "squeeze-excite",
    "ZeroPadShortcut": "subsample, zero-pad",
    "StochasticDepth": "stochastic depth",
}
_FUNCTIONAL = {
    "relu": "ReLU", "relu_": "ReLU", "relu6": "ReLU6", "silu": "SiLU", "gelu": "GELU",
    "sigmoid": "sigmoid", "tanh": "tanh", "hardswish": "h-swish", "flatten": "flatten",
}


def _node(call: _Call, depth: int = 0, max_depth: int | None = None) -> Any:
    """The layout node of one module call (children deeper than ``max_depth`` collapsed)."""
    if isinstance(call.module, nn.Identity):
        return _Series([])
    if type(call.module).__name__ == "StochasticDepth":
        return _Box("stochastic depth", _shape(call.out), call.name, "norm", True, call.inp,
                    call.out_id)
    if call.children and max_depth is not None and depth > max_depth:
        return _collapsed(call)
    if not call.children:
        assert call.out is not None
        label, kind, modifier = _leaf_label(call.module, call.out)
        return _Box(label, _shape(call.out), call.name, kind, modifier, call.inp, call.out_id)
    # A gate (x * f(x), squeeze-and-excitation) is drawn as one box.
    if any(op.kind == "x" and call.inp in op.operands for op in call.ops):
        return _collapsed(call)
    return _wire(call, depth, max_depth)


@dataclass
class _Chain:
    start: int
    tail: int
    items: list[Any]


def _wire(call: _Call, depth: int, max_depth: int | None) -> Any:
    """Children of ``call`` in the order they ran, grouped into chains, branches and skips."""
    events: list[Any] = sorted([*call.children, *call.ops], key=lambda e: e.seq)
    items: list[Any] = []
    current = call.inp  # the tensor the open chains branch from
    chains: list[_Chain] = []
    for event in events:
        if isinstance(event, _Call):
            child = _node(event, depth + 1, max_depth)
            for chain in reversed(chains):
                if chain.tail == event.inp:
                    chain.items.append(child)
                    chain.tail = event.out_id
                    break
            else:
                if event.inp != current and chains:
                    # input made by an operation we do not draw (flatten, view): keep the order
                    chains[-1].items.append(child)
                    chains[-1].tail = event.out_id
                else:
                    chains.append(_Chain(event.inp, event.out_id, [child]))
            continue
        op: _Op = event
        involved = [c for c in chains if c.tail in op.operands]
        identity = current in op.operands and op.kind != "other"
        if op.kind == "other" or len(involved) + identity < 2:
            for chain in involved:  # a functional step inside one chain (relu, flatten, ...)
                if op.func in _FUNCTIONAL:
                    flat = op.func == "flatten"
                    chain.items.append(_Box(_FUNCTIONAL[op.func], _shape(op.out), call.name,
                                            "other" if flat else "norm", not flat, chain.tail,
                                            op.result))
                chain.tail = op.result
            if not involved and current in op.operands:
                current = op.result
            continue
        # A merge: branches (concat) or a skip connection (+).
        for chain in chains:
            if chain not in involved:
                items.extend(chain.items)
        merge = _Box(op.kind, _shape(op.out), call.name, "merge", False, -1, op.result)
        series = [_Series(_flatten(c.items)) for c in involved]
        if op.kind == "concat" or (len(series) > 2):
            items.append(_Parallel(series, merge))
        else:
            if identity:
                main, shortcut = series[0], None
            else:
                ranked = sorted(series, key=lambda s: -len(_boxes(s)))
                main, shortcut = ranked[0], ranked[1]
            items.append(_Residual(main, shortcut, merge))
        chains = []
        current = op.result
    for chain in chains:
        items.extend(chain.items)
    items = _flatten(items)
    if depth == 1 and call.name and len(items) >= 3 and all(isinstance(i, _Box) for i in items):
        # a named part of the model (features, classifier, stage1): framed, or cut into stages
        staged = _stages(items)
        return _Series(items, title=call.name) if staged is items else _Series(staged)
    structured = [i for i in items if isinstance(i, (_Parallel, _Residual))]
    if len(structured) == 1 and call.name and depth > 0 and not structured[0].title:
        structured[0].title = call.name
        # the merge box stands for the block's output: name it after the block
        structured[0].merge.module = call.name
        if items[-1] is structured[0]:
            structured[0].merge.shape = _shape(call.out)
    elif len(structured) > 1 and call.name:
        return _Series(items, title=call.name)
    return _Series(items)


def _flatten(items: list[Any]) -> list[Any]:
    """Inline untitled sub-series and fuse modifiers (BN, activation) into the box before."""
    flat: list[Any] = []
    for item in items:
        if isinstance(item, _Series) and not item.title:
            flat.extend(_flatten(item.items))
        else:
            flat.append(item)
    fused: list[Any] = []
    for item in flat:
        previous = fused[-1] if fused else None
        target = previous.merge if isinstance(previous, (_Parallel, _Residual)) else previous
        if isinstance(item, _Box) and item.modifier and isinstance(target, _Box) and (
            item.inp == target.out
        ):
            target.label += f", {item.label}"
            target.shape = item.shape
            target.module = item.module
            target.out = item.out
            continue
        fused.append(item)
    return fused


def _boxes(node: Any) -> list[_Box]:
    if isinstance(node, _Box):
        return [node]
    if isinstance(node, _Series):
        return [b for item in node.items for b in _boxes(item)]
    if isinstance(node, _Parallel):
        return [b for s in node.branches for b in _boxes(s)] + [node.merge]
    if isinstance(node, _Residual):
        inner = _boxes(node.main) + (_boxes(node.shortcut) if node.shortcut else [])
        return inner + [node.merge]
    return []


def _stages(items: list[Any], min_items: int = 11) -> list[Any]:
    """Cut a long flat run of boxes into stages that end at a pooling layer (VGG's blocks)."""
    if len(items) < min_items or not all(isinstance(i, _Box) for i in items):
        return items
    pools = [i for i, b in enumerate(items) if b.kind == "pool"]
    if len(pools) < 3:
        return items
    out: list[Any] = []
    start, number = 0, 1
    for end in pools:
        group = items[start : end + 1]
        if sum(b.kind in ("conv", "depthwise") for b in group) >= 2:
            out.append(_Series(group, title=f"stage {number}"))
            number += 1
        else:
            out.extend(group)
        start = end + 1
    out.extend(items[start:])
    return out


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

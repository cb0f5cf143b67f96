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
>>> [box.shape for box in fig.boxes][:2]
[(6, 28, 28), (6, 14, 14)]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

import matplotlib
import matplotlib.pyplot as plt
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
    structured = [i for i in items if isinstance(i, (_Parallel, _Residual))]
    if len(structured) == 1 and isinstance(call.module, nn.Module) and call.name:
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
    with _style():
        fig: ModelDiagram = _new_figure((total_w + 0.4, total_h + 0.7), ModelDiagram)
        ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
        ax.set_xlim(-0.2, total_w + 0.2)
        ax.set_ylim(-(total_h + 0.2), 0.5)
        ax.set_aspect("equal")
        ax.axis("off")
        if heading:
            ax.text(total_w / 2, 0.25, heading, ha="center", va="center",
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

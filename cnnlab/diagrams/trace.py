"""Recording one forward pass of a model and turning it into a layout tree (boxes in series,
branches side by side, residual arrows) for :func:`cnnlab.diagrams.draw_model`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from matplotlib.figure import Figure
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

__all__ = ["DrawnBox", "ModelDiagram"]

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



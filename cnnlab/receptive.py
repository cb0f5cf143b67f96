"""Receptive fields: which input pixels a unit deep inside a CNN can see.

A unit's receptive field is the window of the input that can change its value. Walking the
layers from the input, three numbers describe it for every layer: the *jump* (how many input
pixels apart two neighbouring units are), the *field* size ``rf`` and the *start* (the input
coordinate of the centre of the first unit's field). A layer with kernel ``k``, stride ``s``,
padding ``p`` and dilation ``d`` spans ``span = d*(k-1) + 1`` of its input units, so::

    rf_l    = rf_{l-1} + (span - 1) * jump_{l-1}
    jump_l  = jump_{l-1} * s
    start_l = start_{l-1} + ((span - 1) / 2 - p) * jump_{l-1}

starting from ``rf = 1, jump = 1, start = 0`` at the input (pixel coordinates: pixel ``i``
has centre ``i``). :func:`receptive_field` applies this to a list of :class:`Layer` or to a
PyTorch model, and :func:`empirical_receptive_field` measures the same field by
back-propagating from one output unit, together with the *effective* receptive field: how
strongly each input pixel actually matters, which is concentrated near the centre.
"""

from __future__ import annotations

import copy
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn

from cnnlab import _checks, _state
from cnnlab.ops import conv_output_size

__all__ = [
    "Layer",
    "conv",
    "pool",
    "RFRow",
    "RFTable",
    "receptive_field",
    "input_window",
    "ERFResult",
    "empirical_receptive_field",
    "parse_layers",
    "stack_spec",
]


# ---------------------------------------------------------------------------------------------
# Layers as geometry
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Layer:
    """The geometry of one layer along one image axis (all that a receptive field depends on).

    ``kind`` is a label: ``"conv"`` and ``"pool"`` from :func:`conv` and :func:`pool`,
    ``"pointwise"`` for layers such as ReLU or batch norm that act on each pixel alone.
    ``ceil_mode`` rounds the output size up, as PyTorch's pooling option of that name.

    >>> Layer("conv", 3, padding=1)
    Layer(kind='conv', kernel=3, stride=1, padding=1, dilation=1, name='', ceil_mode=False)
    """

    kind: str
    kernel: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    name: str = ""
    ceil_mode: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.kind, str) or not isinstance(self.name, str):
            raise TypeError(f"kind and name must be strings, got {self.kind!r} and {self.name!r}")
        for field, minimum in (("kernel", 1), ("stride", 1), ("padding", 0), ("dilation", 1)):
            object.__setattr__(self, field, _checks.as_int(getattr(self, field), field, minimum))

    @property
    def span(self) -> int:
        """Input units covered by the kernel, gaps of a dilated kernel included."""
        return self.dilation * (self.kernel - 1) + 1


def conv(k: int, s: int = 1, p: int = 0, d: int = 1) -> Layer:
    """A convolution with a k x k kernel, stride s, padding p and dilation d.

    >>> conv(3, p=1)
    Layer(kind='conv', kernel=3, stride=1, padding=1, dilation=1, name='', ceil_mode=False)
    """
    return Layer("conv", k, s, p, d)


def pool(k: int, s: int | None = None, p: int = 0) -> Layer:
    """A k x k pooling window with stride s (default: k, windows side by side) and padding p.

    >>> pool(2)
    Layer(kind='pool', kernel=2, stride=2, padding=0, dilation=1, name='', ceil_mode=False)
    """
    return Layer("pool", k, k if s is None else s, p)


# ---------------------------------------------------------------------------------------------
# The table: one row per layer
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RFRow:
    """One layer of a receptive-field table.

    ``out_size`` is the output side length (None when no input size was given); ``jump``,
    ``rf`` and ``start`` are in input pixels, ``start`` being the centre of the first unit's
    field (pixel ``i`` has centre ``i``; it can be negative or a half-integer).
    """

    name: str
    kind: str
    kernel: int
    stride: int
    padding: int
    dilation: int
    out_size: int | None
    jump: int
    rf: int
    start: float

    @property
    def first(self) -> int:
        """The first input pixel of the first unit's field (negative: it starts in padding)."""
        return round(self.start - (self.rf - 1) / 2)


_COLUMNS = ("layer", "kind", "k", "s", "p", "d", "out", "jump", "rf", "start")


def _cells(row: RFRow) -> tuple[str, ...]:
    return (row.name, row.kind, str(row.kernel), str(row.stride), str(row.padding),
            str(row.dilation), "-" if row.out_size is None else str(row.out_size),
            str(row.jump), str(row.rf), f"{row.start:g}")


class RFTable(list[RFRow]):
    """The rows of :func:`receptive_field`, printable as a table (text or HTML in Jupyter).

    ``final`` is the last row; ``stopped_at`` names the layer where the walk through a model
    ended because spatial position stops meaning anything after it (global pooling, flatten,
    a linear layer), or is None.
    """

    def __init__(self, rows: Sequence[RFRow] = (), input_size: int | None = None,
                 stopped_at: str | None = None):
        super().__init__(rows)
        self.input_size = input_size
        self.stopped_at = stopped_at

    @property
    def final(self) -> RFRow:
        """The last layer's row."""
        if not self:
            raise ValueError("the table is empty: the model has no layers before "
                             f"{self.stopped_at or 'its end'}")
        return self[-1]

    def row(self, name: str) -> RFRow:
        """The row of the layer called ``name`` (e.g. ``"features.3"``)."""
        for row in self:
            if row.name == name:
                return row
        raise KeyError(f"no layer named {name!r}; the layers are {[r.name for r in self]}")

    def _footer(self) -> str:
        if self.stopped_at is None:
            return ""
        return (f"walk stopped at {self.stopped_at}: after it, units are no longer tied to "
                "one window of the input")

    def __str__(self) -> str:
        size = "-" if self.input_size is None else str(self.input_size)
        lines: list[tuple[str, ...]] = [_COLUMNS, ("input", "", "", "", "", "", size, "1", "1",
                                                   "0")]
        lines += [_cells(row) for row in self]
        widths = [max(len(line[i]) for line in lines) for i in range(len(_COLUMNS))]
        text = ["  ".join(cell.ljust(w) if i < 2 else cell.rjust(w)
                          for i, (cell, w) in enumerate(zip(line, widths, strict=True)))
                for line in lines]
        text.insert(1, "  ".join("-" * w for w in widths))
        if self.stopped_at is not None:
            text.append(self._footer())
        return "\n".join(line.rstrip() for line in text)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{c}</th>" for c in _COLUMNS)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in _cells(row)) + "</tr>"
            for row in self
        )
        footer = f"<p>{html.escape(self._footer())}</p>" if self.stopped_at else ""
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{footer}"


# ---------------------------------------------------------------------------------------------
# Reading the geometry off a PyTorch model
# ---------------------------------------------------------------------------------------------

# Layers that act on each pixel on its own: no effect on the receptive field.
_POINTWISE: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Sigmoid, nn.Tanh, nn.Softplus,
    nn.BatchNorm2d, nn.GroupNorm, nn.InstanceNorm2d, nn.LocalResponseNorm,
    nn.Dropout, nn.Dropout2d, nn.AlphaDropout, nn.Identity,
)
# Layers after which a unit no longer has a position: the walk ends there.
_GLOBAL: tuple[type[nn.Module], ...] = (
    nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Flatten, nn.Linear,
)
# Children off the deepest path: residual shortcuts (shallower than the main path) and the
# auxiliary classifiers of GoogLeNet/Inception.
_SHORTCUTS = frozenset({"downsample", "shortcut"})


def _is_side_branch(name: str) -> bool:
    return name in _SHORTCUTS or name.startswith("aux")


def _square(value: Any, what: str, name: str, module: nn.Module) -> int:
    if isinstance(value, tuple | list):
        if len(set(value)) != 1:
            raise ValueError(
                f"layer {name!r} ({type(module).__name__}) has {what} {tuple(value)}; "
                "receptive_field follows one image axis and needs the same value on both "
                "axes (pass a list of Layer for the axis you want instead)"
            )
        value = value[0]
    return int(value)


def _layer_of(name: str, module: nn.Module) -> Layer | None:
    """The geometry of a leaf module, or None for a module that ends the walk."""
    if isinstance(module, nn.Conv2d):
        kernel = _square(module.kernel_size, "kernel size", name, module)
        dilation = _square(module.dilation, "dilation", name, module)
        if isinstance(module.padding, str):  # "valid" or "same" (stride 1)
            total = 0 if module.padding == "valid" else dilation * (kernel - 1)
            if total % 2:
                raise ValueError(f"layer {name!r} pads unevenly (padding='same' with an even "
                                 "kernel); receptive_field needs the same padding on both sides")
            padding = total // 2
        else:
            padding = _square(module.padding, "padding", name, module)
        return Layer("conv", kernel, _square(module.stride, "stride", name, module), padding,
                     dilation, name)
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        kernel = _square(module.kernel_size, "kernel size", name, module)
        stride = _square(module.stride or kernel, "stride", name, module)
        dilation = _square(getattr(module, "dilation", 1), "dilation", name, module)
        return Layer("pool", kernel, stride, _square(module.padding, "padding", name, module),
                     dilation, name, bool(module.ceil_mode))
    if isinstance(module, _POINTWISE):
        return Layer("pointwise", 1, name=name)
    if isinstance(module, _GLOBAL):
        return None
    raise ValueError(
        f"receptive_field does not know how layer {name!r} ({type(module).__name__}) moves "
        "pixels; it knows Conv2d, MaxPool2d, AvgPool2d, pointwise layers (activations, "
        "normalisation, dropout) and global pooling / Flatten / Linear. Describe the model "
        "as a list of Layer instead"
    )


def _model_layers(module: nn.Module, prefix: str = "") -> tuple[list[Layer], str | None]:
    """The layers along the deepest path of a model, and the layer where the walk stopped.

    Children are walked in the order they were registered, which is the forward order for
    nn.Sequential stacks, torchvision's AlexNet, VGG and ResNet, and residual blocks (whose
    shortcut is skipped). Children all named ``branch...`` are parallel branches (Inception):
    only the one that widens the field most is followed.
    """
    children = list(module.named_children())
    if not children:  # a layer
        name = prefix or type(module).__name__
        layer = _layer_of(name, module)
        return ([], f"{name} ({type(module).__name__})") if layer is None else ([layer], None)
    children = [(name, child) for name, child in children if not _is_side_branch(name)]
    walks = [_model_layers(child, f"{prefix}.{name}" if prefix else name)
             for name, child in children]
    if len(walks) > 1 and all(name.startswith("branch") for name, _ in children):
        return max(walks, key=lambda walk: receptive_field(walk[0]).final.rf if walk[0] else 1)
    layers: list[Layer] = []
    for branch_layers, stopped_at in walks:
        layers += branch_layers
        if stopped_at is not None:
            return layers, stopped_at
    return layers, None


def _output_size(layer: Layer, name: str, size: int, input_size: int) -> int:
    """Output side length of a layer, rounding down (or up with ``ceil_mode``, as PyTorch)."""
    try:
        out = conv_output_size(size, layer.kernel, layer.stride, layer.padding, layer.dilation)
    except ValueError:
        raise ValueError(
            f"layer {name} spans {layer.span} pixels but its input is only {size} pixels "
            f"(+ {2 * layer.padding} padding) wide at input_size={input_size}; use a larger "
            "input"
        ) from None
    if layer.ceil_mode:
        padded = size + 2 * layer.padding
        out = -(-(padded - layer.span) // layer.stride) + 1
        if (out - 1) * layer.stride >= size + layer.padding:  # window must start on the input
            out -= 1
    return out


# ---------------------------------------------------------------------------------------------
# The receptive field, computed
# ---------------------------------------------------------------------------------------------


def receptive_field(model_or_layers: nn.Module | Sequence[Layer],
                    input_size: int | None = None) -> RFTable:
    """The receptive field, jump and start of every layer of a CNN, by the recursion above.

    Args:
        model_or_layers: a list of :class:`Layer` (see :func:`conv`, :func:`pool`), or a
            PyTorch model: ``nn.Sequential`` stacks (nested ones too), torchvision's AlexNet
            and VGG (``features`` or the whole model), ResNet and GoogLeNet, followed along
            the deepest path (a residual block's main convolutions, never its ``downsample``
            shortcut; of parallel ``branch...`` children, the one that widens the field most).
            Modules are read in the order they were registered. Pointwise layers (ReLU, batch
            norm, dropout) get a row that changes nothing; the walk ends at the first global
            pooling, Flatten or Linear layer (see ``RFTable.stopped_at``).
        input_size: the input's side length, to fill in ``out_size`` (optional).

    Returns:
        An :class:`RFTable`, one :class:`RFRow` per layer.

    >>> receptive_field([conv(3), conv(3)]).final.rf  # two 3x3 convolutions see 5x5
    5
    >>> table = receptive_field([conv(3), pool(2), conv(3), pool(2), conv(3)], input_size=32)
    >>> table.final.rf, table.final.jump, table.final.out_size
    (18, 4, 4)
    """
    stopped_at = None
    if isinstance(model_or_layers, nn.Module):
        layers, stopped_at = _model_layers(model_or_layers)
    elif isinstance(model_or_layers, Sequence) and not isinstance(model_or_layers, str):
        layers = list(model_or_layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {i} must be a Layer (see conv() and pool()), "
                                f"got {type(layer).__name__}")
    else:
        raise TypeError("receptive_field expects an nn.Module or a list of Layer, got "
                        f"{type(model_or_layers).__name__}")
    given = None if input_size is None else _checks.as_int(input_size, "input_size", 1)
    size = given

    rows = []
    jump, rf, start = 1, 1, 0.0  # the input: each pixel sees itself
    counts: dict[str, int] = {}
    for layer in layers:
        counts[layer.kind] = counts.get(layer.kind, 0) + 1
        name = layer.name or f"{layer.kind}{counts[layer.kind]}"  # conv1, pool1, conv2, ...
        if size is not None and given is not None:
            size = _output_size(layer, name, size, given)
        start += ((layer.span - 1) / 2 - layer.padding) * jump
        rf += (layer.span - 1) * jump
        jump *= layer.stride
        rows.append(RFRow(name, layer.kind, layer.kernel, layer.stride, layer.padding,
                          layer.dilation, size, jump, rf, start))
    return RFTable(rows, given, stopped_at)


def input_window(table_or_row: RFTable | RFRow, index: tuple[int, int],
                 input_size: int | tuple[int, int]) -> tuple[int, int, int, int]:
    """The input pixels seen by the unit at ``index = (row, col)`` of a layer's output.

    Args:
        table_or_row: a row of :func:`receptive_field`, or a table (then its last row).
        index: (row, col) of the unit in that layer's output map.
        input_size: the input's side length, or (height, width).

    Returns:
        ``(top, left, bottom, right)``, clipped to the image, bottom and right exclusive, so
        ``image[top:bottom, left:right]`` is the patch the unit sees.

    >>> table = receptive_field([conv(3), pool(2), conv(3)], input_size=16)
    >>> input_window(table, (0, 0), 16), input_window(table, (2, 3), 16)
    ((0, 0, 8, 8), (4, 6, 12, 14))
    """
    row = table_or_row.final if isinstance(table_or_row, RFTable) else table_or_row
    if not isinstance(row, RFRow):
        raise TypeError(f"input_window expects an RFTable or RFRow, got {type(row).__name__}")
    height, width = _checks.as_pair(input_size, "input_size", minimum=1)
    if not isinstance(index, tuple | list) or len(index) != 2:
        raise TypeError(f"index must be a (row, col) pair, got {index!r}")
    r, c = (_checks.as_int(i, "index", 0) for i in index)
    if row.out_size is not None and max(r, c) >= row.out_size:
        raise ValueError(f"index {(r, c)} is outside the {row.out_size}x{row.out_size} "
                         f"output of layer {row.name!r}")
    top, left = row.first + r * row.jump, row.first + c * row.jump
    return max(top, 0), max(left, 0), min(top + row.rf, height), min(left + row.rf, width)


# ---------------------------------------------------------------------------------------------
# The receptive field, measured
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ERFResult:
    """What :func:`empirical_receptive_field` measured for one output unit.

    ``box`` is ``(top, left, bottom, right)`` (bottom/right exclusive) of the input pixels with
    a nonzero gradient and ``extent`` its (rows, cols): the theoretical receptive field, as
    far as it lies inside the image. ``gradient`` is the (H, W) effective receptive field:
    the mean |d unit / d pixel| over random inputs, under the model's own weights.
    """

    extent: tuple[int, int]
    box: tuple[int, int, int, int]
    gradient: NDArray[np.float64]
    position: tuple[int, int]
    output_size: tuple[int, int]


def _replace(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, child, new)


def _wiring_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in which every path from input to output counts positively.

    The gradient of a unit with respect to a pixel is a sum over the paths between them. To
    see every path, and nothing but paths, make the network linear with positive weights:
    convolution weights become ``1 / fan_in`` (activations stay in [0, 1]) and biases 0, max
    pooling becomes average pooling (a max passes gradient to one pixel only), pointwise
    layers become the identity, and the copy runs in float64 in eval mode (batch norm in
    training mode would mix all positions through its batch statistics).
    """
    wiring = copy.deepcopy(model).to("cpu", torch.float64).eval()
    for name, module in list(wiring.named_modules()):
        if isinstance(module, nn.Conv2d):
            with torch.no_grad():
                module.weight.fill_(1.0 / module.weight[0].numel())
                if module.bias is not None:
                    module.bias.zero_()
        elif isinstance(module, nn.MaxPool2d):
            if module.dilation not in (1, (1, 1)):
                raise ValueError(f"layer {name!r} is a dilated max pool, which "
                                 "empirical_receptive_field cannot turn into an average pool")
            _replace(wiring, name, nn.AvgPool2d(module.kernel_size, module.stride,
                                                module.padding, module.ceil_mode))
        elif isinstance(module, nn.AdaptiveMaxPool2d):
            _replace(wiring, name, nn.AdaptiveAvgPool2d(module.output_size))
        elif isinstance(module, _POINTWISE):
            _replace(wiring, name, nn.Identity())
    return wiring


def _unit_gradient(model: nn.Module, x: torch.Tensor, position: tuple[int, int] | None,
                   ) -> tuple[NDArray[np.float64], tuple[int, int], tuple[int, int]]:
    """|d out[0, :, row, col].sum() / d x| summed over input channels, as an (H, W) array."""
    x = x.clone().requires_grad_(True)
    out = model(x)
    if not isinstance(out, torch.Tensor) or out.ndim != 4:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"the model returns {shape}, not a feature map (N, C, H, W); pass "
                         "its convolutional part instead (e.g. model.features)")
    out_size = (int(out.shape[2]), int(out.shape[3]))
    r, c = (out_size[0] // 2, out_size[1] // 2) if position is None else position
    if not (0 <= r < out_size[0] and 0 <= c < out_size[1]):
        raise ValueError(f"position {(r, c)} is outside the {out_size[0]}x{out_size[1]} "
                         "output map")
    # autograd.grad, not backward(): the model's parameters must not collect gradients.
    (grad,) = torch.autograd.grad(out[0, :, r, c].sum(), x)
    gradient = grad[0].abs().sum(dim=0).detach().cpu().numpy().astype(np.float64)
    return gradient, (r, c), out_size


def _first_conv_channels(model: nn.Module) -> int:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            return int(module.in_channels)
    raise ValueError("the model has no Conv2d to read the number of input channels from; "
                     "pass channels=")


def empirical_receptive_field(model: nn.Module, input_size: int | tuple[int, int],
                              channels: int | None = None,
                              position: tuple[int, int] | None = None, *, samples: int = 4,
                              seed: int = 0) -> ERFResult:
    """Measure a unit's receptive field by back-propagating from it to the input.

    Two backward passes from ``out[0, :, row, col]`` (all channels of one output unit):

    - through a *wiring copy* of the model (positive constant weights, average instead of max
      pooling, no nonlinearities, float64), where a pixel has a nonzero gradient exactly when
      some path connects it to the unit. The box of those pixels is the theoretical receptive
      field (clipped to the image), to compare with :func:`receptive_field`;
    - through the model as it is (its weights, device and dtype, in eval mode) on ``samples``
      random normal inputs: the mean |gradient| is the *effective* receptive field.

    Args:
        model: a module mapping (N, C, H, W) to a feature map (N, C', H', W').
        input_size: side length of the input, or (height, width).
        channels: input channels; by default those of the first Conv2d.
        position: (row, col) of the output unit; by default the centre one.
        samples: random inputs averaged for the effective receptive field.
        seed: seed of those random inputs.

    >>> stack = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 4, 3))
    >>> result = empirical_receptive_field(stack, 20)
    >>> result.extent, receptive_field(stack).final.rf
    ((8, 8), 8)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    height, width = _checks.as_pair(input_size, "input_size", minimum=1)
    channels = _first_conv_channels(model) if channels is None else _checks.as_int(
        channels, "channels", 1)
    if position is not None:
        if not isinstance(position, tuple | list) or len(position) != 2:
            raise TypeError(f"position must be a (row, col) pair, got {position!r}")
        position = _checks.as_pair(position, "position", minimum=0)
    samples = _checks.as_int(samples, "samples", 1)

    ones = torch.ones(1, channels, height, width, dtype=torch.float64)
    reach, position, out_size = _unit_gradient(_wiring_copy(model), ones, position)
    touched = reach > 0
    rows, cols = np.flatnonzero(touched.any(axis=1)), np.flatnonzero(touched.any(axis=0))
    if rows.size == 0:
        raise ValueError(f"no input pixel reaches output unit {position}; is it all padding?")
    box = (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)

    # The effective field: the model itself, on its device and in its dtype, in eval mode.
    parameter = next(model.parameters(), None)
    device, dtype = ((parameter.device, parameter.dtype) if parameter is not None
                     else (torch.device("cpu"), torch.float32))
    generator = torch.Generator().manual_seed(seed)
    effective = np.zeros((height, width))
    with _state.evaluating(model):  # every layer comes back in its own mode
        for _ in range(samples):
            x = torch.randn(1, channels, height, width, generator=generator)
            effective += _unit_gradient(model, x.to(device, dtype), position)[0] / samples
    return ERFResult((box[2] - box[0], box[3] - box[1]), box, effective, position, out_size)


# ---------------------------------------------------------------------------------------------
# Layer lists typed as text (the receptive-field instrument's grammar)
# ---------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"^(conv|c|pool|p)(\d+)(?:s(\d+))?(?:p(\d+))?(?:d(\d+))?$")


def parse_layers(spec: str) -> list[Layer]:
    """Parse a layer list such as ``"conv3 pool2 conv3 pool2 conv3"`` into Layer.

    Tokens (separated by spaces, commas or arrows): ``conv<k>`` (or ``c<k>``) is a k×k conv with
    stride 1 and "same" padding k//2; ``pool<k>`` (or ``p<k>``) is a k×k max pool with stride k.
    Suffixes override: ``s<stride>``, ``p<padding>``, ``d<dilation>`` -- e.g. ``conv7s2p3``,
    ``pool3s2``, ``conv3d2``.

    >>> [(l.kind, l.kernel, l.stride, l.padding) for l in parse_layers("conv3, pool2")]
    [('conv', 3, 1, 1), ('pool', 2, 2, 0)]
    """
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a string, got {type(spec).__name__}")
    tokens = [t for t in re.split(r"[\s,;>→-]+", spec.strip().lower()) if t]
    if not tokens:
        raise ValueError("the layer list is empty: write layers such as 'conv3 pool2 conv3'")
    layers: list[Layer] = []
    for n, tok in enumerate(tokens, 1):
        m = _TOKEN.match(tok)
        if m is None:
            raise ValueError(
                f"cannot read layer {n} {tok!r}: expected conv<k> or pool<k> with optional "
                "s<stride>, p<padding>, d<dilation> (e.g. conv3, pool2, conv7s2p3)"
            )
        kind, k = ("conv" if m[1].startswith("c") else "pool"), int(m[2])
        if k < 1:
            raise ValueError(f"layer {n} {tok!r}: the kernel size must be at least 1")
        if kind == "conv":
            s = int(m[3]) if m[3] else 1
            d = int(m[5]) if m[5] else 1
            p = int(m[4]) if m[4] else (d * (k - 1)) // 2
            layer = conv(k, s, p, d)
        else:
            if m[5]:
                raise ValueError(f"layer {n} {tok!r}: pooling has no dilation here")
            s = int(m[3]) if m[3] else k
            layer = pool(k, s, int(m[4]) if m[4] else 0)
        if s < 1:
            raise ValueError(f"layer {n} {tok!r}: the stride must be at least 1")
        layers.append(layer)
    return layers


def stack_spec(convs: int, pools: int) -> str:
    """A layer list of ``convs`` 3x3 convolutions spread over ``pools + 1`` groups separated by
    2x2 max pools (extra convolutions go to the last groups), in :func:`parse_layers`' grammar:
    what the receptive-field instrument builds from its two counts.

    >>> stack_spec(3, 1)
    'conv3 pool2 conv3 conv3'
    """
    convs = _checks.as_int(convs, "convs", 0)
    pools = _checks.as_int(pools, "pools", 0)
    groups = [convs // (pools + 1)] * (pools + 1)
    for i in range(convs % (pools + 1)):
        groups[-1 - i] += 1
    parts: list[str] = []
    for g, n in enumerate(groups):
        parts += ["conv3"] * n
        if g < pools:
            parts.append("pool2")
    return " ".join(parts)

"""Looking at a model from outside: a per-layer table and reference parameter counts.

:func:`summary` runs one forward pass with hooks and lists every layer's output shape,
parameters, multiply-adds (attention included) and, where :mod:`cnnlab.receptive` can describe
the network, its receptive field. :func:`torchvision_param_counts` counts torchvision's
ImageNet models on the ``meta`` device, without downloading or allocating anything.

This is introspection, not a model: it works on any ``nn.Module``, the course's or yours.

>>> from cnnlab.models import LeNet5
>>> summary(LeNet5(), (1, 32, 32)).total_params
61706
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from cnnlab import _state

__all__ = [
    "count_params",
    "SummaryRow",
    "ModelSummary",
    "summary",
    "TORCHVISION_MODELS",
    "torchvision_param_counts",
]




def count_params(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters of ``model`` (shared tensors counted once).

    Args:
        model: any ``nn.Module``.
        trainable_only: count only parameters with ``requires_grad=True`` (the default), or all.

    >>> count_params(nn.Conv2d(3, 8, 3))  # 8 * 3 * 3 * 3 weights + 8 biases
    224
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"count_params expects an nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@dataclass(frozen=True)
class SummaryRow:
    """One line of :func:`summary`: a layer, its output shape (one sample), cost and RF."""

    name: str
    kind: str
    output_shape: tuple[int, ...]
    params: int
    mult_adds: int
    receptive_field: int | None = None


@dataclass
class ModelSummary:
    """What :func:`summary` returns: ``rows``, totals, and table renderings.

    ``print(s)`` shows a text table; in Jupyter ``s`` renders as HTML (``_repr_html_``).
    """

    model_name: str
    input_size: tuple[int, ...]
    rows: list[SummaryRow] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    total_mult_adds: int = 0

    _NOTE = (
        "Mult-adds per sample, of convolution, linear and attention weights only;\n"
        "bias additions, normalisation, pooling and activations count 0."
    )

    def _table(self) -> tuple[list[str], list[list[str]]]:
        header = ["Layer", "Type", "Output shape", "Params", "Mult-adds", "RF"]
        body = [
            [
                r.name or "(model)",
                r.kind,
                " x ".join(str(s) for s in r.output_shape),
                f"{r.params:,}",
                f"{r.mult_adds:,}",
                "" if r.receptive_field is None else str(r.receptive_field),
            ]
            for r in self.rows
        ]
        return header, body

    def _footer(self) -> list[str]:
        return [
            f"Input: {' x '.join(str(s) for s in self.input_size)} (one sample)",
            f"Total params: {self.total_params:,} (trainable {self.trainable_params:,})",
            f"Total mult-adds: {self.total_mult_adds:,} ({_human(self.total_mult_adds)})",
            self._NOTE,
        ]

    def __str__(self) -> str:
        header, body = self._table()
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
        right = {3, 4, 5}

        def line(cells: list[str]) -> str:
            parts = [
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            ]
            return "  ".join(parts).rstrip()

        rule = "-" * len(line(header))
        lines = [self.model_name, rule, line(header), rule, *map(line, body), rule, *self._footer()]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        header, body = self._table()
        esc = html.escape
        head = "".join(f"<th>{esc(h)}</th>" for h in header)
        rows = "".join(
            "<tr>"
            + "".join(
                f'<td style="text-align:{"right" if i >= 3 else "left"}">{esc(c)}</td>'
                for i, c in enumerate(r)
            )
            + "</tr>"
            for r in body
        )
        foot = "<br>".join(esc(f).replace("\n", "<br>") for f in self._footer())
        return (
            f"<div><b>{esc(self.model_name)}</b><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{rows}</tbody></table><p>{foot}</p></div>"
        )


def _human(n: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f}{unit}"
    return str(n)


def _first_tensor(value: Any) -> Tensor | None:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (tuple, list)):
        for v in value:
            t = _first_tensor(v)
            if t is not None:
                return t
    return None


def _mult_adds(module: nn.Module, inputs: tuple[Any, ...], out: Tensor) -> int:
    """Multiply-adds of one call, per sample (the batch is one sample in :func:`summary`)."""
    if isinstance(module, nn.modules.conv._ConvNd):
        kernel = math.prod(module.kernel_size)
        if module.transposed:  # every input element is spread over out_channels/groups x kernel
            x = _first_tensor(inputs)
            assert x is not None
            return x.numel() * module.out_channels // module.groups * kernel
        return out.numel() * module.in_channels // module.groups * kernel
    if isinstance(module, nn.Linear):
        return out.numel() * module.in_features
    if isinstance(module, nn.MultiheadAttention):
        q, k = inputs[0], inputs[1]
        if not module.batch_first:
            q, k = q.transpose(0, 1), k.transpose(0, 1)
        lq, lk, e = q.shape[-2], k.shape[-2], module.embed_dim
        projections = lq * e * e + 2 * lk * e * module.kdim + lq * e * e  # q, k, v and output
        return projections + 2 * lq * lk * e  # scores and weighted sum
    return 0


def _is_unit(module: nn.Module) -> bool:
    """A module summary reports on: a leaf, anything holding parameters itself, or attention."""
    own_params = next(module.parameters(recurse=False), None) is not None
    has_children = next(module.children(), None) is not None
    return isinstance(module, nn.MultiheadAttention) or own_params or not has_children


def summary(
    model: nn.Module, input_size: Sequence[int], *, dtype: torch.dtype = torch.float32
) -> ModelSummary:
    """Per-layer table: output shape, parameters, multiply-adds and receptive field.

    Args:
        model: the network. It runs once in eval mode on one sample of zeros (its train/eval
            state is restored afterwards), on the device of its parameters. A model built on
            the ``meta`` device (``with torch.device("meta"): ...``) is summarised without
            allocating any memory.
        input_size: the shape of **one sample, without the batch dimension**, e.g.
            ``(1, 32, 32)`` for LeNet-5 or ``(20,)`` (tokens) for a :class:`TextCNN`.
        dtype: the dtype of the sample (``torch.long`` for token ids).

    Returns:
        a :class:`ModelSummary`: ``.rows`` (one :class:`SummaryRow` per leaf module that has
        parameters, computes multiply-adds or changes the shape -- activations and dropout are
        left out; a module called twice appears twice, its parameters once), ``.total_params``,
        ``.trainable_params``, ``.total_mult_adds``.

    Multiply-adds are counted per sample, for weights only: a convolution costs
    ``output elements x in_channels / groups x kernel area``, a linear layer
    ``in_features x out_features`` (per token for sequences), attention its four projections
    plus ``2 L^2 dim``. **Bias additions are not counted**, nor batch/layer norm, pooling,
    activations or residual additions (the convention of He et al. and Szegedy et al., whose
    tables count multiply-adds of convolutions and fully connected layers). Pooling rows
    therefore show 0.

    The RF column is the receptive field (in input pixels) of a unit of that layer, from
    :func:`cnnlab.receptive.receptive_field`, for the layers that function can place (plain
    stacks of convolutions and pooling); it is empty elsewhere.

    >>> from cnnlab.models import LeNet5
    >>> s = summary(LeNet5(), (1, 32, 32))
    >>> s.total_params, s.total_mult_adds
    (61706, 416520)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"summary expects an nn.Module, got {type(model).__name__}")
    size = tuple(int(s) for s in input_size)
    if not size or any(s < 1 for s in size):
        raise ValueError(
            f"input_size must be a non-empty shape of positive sizes, got {input_size!r}"
        )
    calls: list[tuple[str, nn.Module, tuple[Any, ...], Tensor]] = []
    attention: list[str] = []  # names of attention modules: one row each, children skipped
    handles = []
    for name, module in model.named_modules():
        if any(name.startswith(a + ".") if a else name for a in attention):
            continue
        if isinstance(module, nn.MultiheadAttention):
            attention.append(name)
        if not _is_unit(module):
            continue

        def hook(mod: nn.Module, inputs: tuple[Any, ...], output: Any, _name: str = name) -> None:
            out = _first_tensor(output)
            if out is not None:
                calls.append((_name, mod, inputs, out.detach()))

        handles.append(module.register_forward_hook(hook))
    saved = _state.modes(model)
    try:
        param = next(model.parameters(), None)
        device = param.device if param is not None else None  # "meta" works too: shapes only
        model.eval()
        # Gradients stay enabled: under no_grad PyTorch's transformer layers take a fused fast
        # path that skips their submodules, and the hooks would not see them.
        model(torch.zeros((1, *size), dtype=dtype, device=device))
    except ValueError as err:
        raise ValueError(
            f"{err} (summary's input_size is the shape of one sample without the batch "
            f"dimension, got {size})"
        ) from err
    finally:
        for h in handles:
            h.remove()
        _state.restore_modes(saved)

    rows: list[SummaryRow] = []
    counted: set[int] = set()
    for name, module, inputs, out in calls:
        params = 0
        if id(module) not in counted:
            counted.add(id(module))
            recurse = isinstance(module, nn.MultiheadAttention)
            params = sum(p.numel() for p in module.parameters(recurse=recurse))
        macs = _mult_adds(module, inputs, out)
        x = _first_tensor(inputs)
        reshapes = x is None or tuple(x.shape) != tuple(out.shape)
        if params or macs or reshapes:
            shape = tuple(out.shape[1:])
            rows.append(SummaryRow(name, type(module).__name__, shape, params, macs))
    rows = _with_receptive_fields(model, size, rows)
    return ModelSummary(
        model_name=type(model).__name__,
        input_size=size,
        rows=rows,
        total_params=count_params(model, trainable_only=False),
        trainable_params=count_params(model),
        total_mult_adds=sum(r.mult_adds for r in rows),
    )


def _with_receptive_fields(
    model: nn.Module, size: tuple[int, ...], rows: list[SummaryRow]
) -> list[SummaryRow]:
    """Fill the RF column from cnnlab.receptive where it can describe the model."""
    if len(size) != 3 or size[1] != size[2]:
        return rows
    from cnnlab.receptive import receptive_field
    try:
        table = receptive_field(model, input_size=size[-1])
    except (TypeError, ValueError, NotImplementedError):
        return rows
    rf = {str(r.name): int(r.rf) for r in table}
    return [
        SummaryRow(r.name, r.kind, r.output_shape, r.params, r.mult_adds, rf.get(r.name))
        for r in rows
    ]


#: Models :func:`torchvision_param_counts` reports by default.
TORCHVISION_MODELS: tuple[str, ...] = (
    "alexnet",
    "vgg16",
    "vgg19",
    "googlenet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "mobilenet_v2",
    "efficientnet_b0",
    "efficientnet_b7",
    "convnext_tiny",
    "vit_b_16",
)


def torchvision_param_counts(names: Sequence[str] | None = None) -> dict[str, int]:
    """Parameter counts of torchvision's ImageNet models, computed from their definitions.

    Nothing is downloaded (``weights=None``) and nothing is allocated: the models are built on
    PyTorch's ``meta`` device, which records shapes only, so even VGG-19 takes milliseconds.
    GoogLeNet is counted without its two auxiliary training heads (``aux_logits=False``), as it
    runs at test time.

    Args:
        names: torchvision model names (default :data:`TORCHVISION_MODELS`).

    Returns:
        ``{name: number of parameters}`` in the order given.

    >>> torchvision_param_counts(["resnet50"])
    {'resnet50': 25557032}
    """
    import torchvision

    counts: dict[str, int] = {}
    available = set(torchvision.models.list_models())
    for name in names if names is not None else TORCHVISION_MODELS:
        if name not in available:
            raise ValueError(f"torchvision has no model named {name!r}")
        kwargs: dict[str, Any] = {"weights": None}
        if name in ("googlenet", "inception_v3"):
            kwargs.update(aux_logits=False, init_weights=False)
        with torch.device("meta"):
            counts[name] = count_params(torchvision.models.get_model(name, **kwargs))
    return counts

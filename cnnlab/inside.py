"""Looking inside a trained conv net: how we *know* what its filters respond to.

Zeiler and Fergus (2014) attached a "deconvnet" to a trained network: keep one activation of one
feature map, set every other activation of that layer to zero, and map it back down to the
pixels, layer by layer -- unpool through the max-pooling switches recorded on the way up,
rectify, and filter with the transposed weights of the same convolution.  What arrives in pixel
space is the input pattern that activation stands for.

Going down a network is what backpropagation does, and the three classic pictures differ in one
place only, what a ReLU lets through (:func:`relu_backward`):

================  ==============================================================
rule              a ReLU with forward input ``x`` passes the signal ``g`` as ...
================  ==============================================================
``"gradient"``    ``g`` where ``x > 0`` (the true gradient; Simonyan et al., 2014)
``"deconvnet"``   ``relu(g)``, whatever ``x`` was (Zeiler & Fergus, 2014)
``"guided"``      ``relu(g)`` where ``x > 0`` (guided backprop; Springenberg et al., 2015)
================  ==============================================================

Convolutions go down through the transposed convolution with the same weights and max pooling
sends each value back to the place it came from, under all three rules.

The module reads in this order:

1. which layers a model has (:func:`feature_layers`, :func:`feature_maps`);
2. the three rules at a ReLU (:func:`relu_backward`);
3. :class:`DeconvNet`, the deconvnet written out layer by layer as in the paper;
4. the same rules through autograd (:func:`relu_rule`, :func:`backward_with_rule`,
   :func:`saliency`, :func:`guided_backprop`) -- the tests check that both routes agree;
5. the paper's experiments: :func:`top_activations` (figure 2), :func:`occlusion` (figure 7)
   and :func:`feature_evolution` (figure 4), plotted by :mod:`cnnlab.viz`.

Nothing here leaves a trace on the model: its training mode, its modules and its hooks are as
they were after every call.
"""

from __future__ import annotations

import copy
import operator
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from cnnlab.receptive import Layer as RFLayer
from cnnlab.receptive import receptive_field

__all__ = [
    "RULES",
    "feature_layers",
    "feature_maps",
    "relu_backward",
    "Projection",
    "DeconvNet",
    "relu_rule",
    "backward_with_rule",
    "saliency",
    "guided_backprop",
    "TopActivation",
    "top_activations",
    "OcclusionMaps",
    "occlusion",
    "FeatureEvolution",
    "feature_evolution",
    "Snapshots",
]

Rule = Literal["gradient", "deconvnet", "guided"]
LayerSpec = int | str | nn.Module

RULES: tuple[Rule, ...] = ("gradient", "deconvnet", "guided")

# The layers a deconvnet can go down through, and those it passes unchanged (in eval mode).
_INVERTIBLE = (nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.BatchNorm2d)
_PASS_THROUGH = (nn.Identity, nn.Dropout, nn.Dropout2d)


# --------------------------------------------------------------------------------------------
# 1. Which layers
# --------------------------------------------------------------------------------------------


def feature_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The layers of a model's convolutional part, in order, as ``(name, module)`` pairs.

    The walk goes through ``model.features`` when the model has that ``nn.Sequential`` (the
    convention of torchvision's AlexNet/VGG and of :mod:`cnnlab.models`), or through the model
    itself when it is an ``nn.Sequential``.  Nested ``nn.Sequential`` containers are opened, so
    the list is flat; a module used twice appears twice.  A *layer index* anywhere in this module
    is a position in this list.

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
    >>> [name for name, _ in feature_layers(net)]
    ['0', '1', '2']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
    features = getattr(model, "features", None)
    if isinstance(features, nn.Sequential):
        root, prefix = features, "features."
    elif isinstance(model, nn.Sequential):
        root, prefix = model, ""
    else:
        raise TypeError(
            f"expected an nn.Sequential or a model with a .features nn.Sequential, got "
            f"{type(model).__name__} (features: {type(features).__name__})"
        )
    layers: list[tuple[str, nn.Module]] = []

    def walk(container: nn.Sequential, prefix: str) -> None:
        for name, module in container._modules.items():  # keeps a module registered twice
            if module is None:
                continue
            if isinstance(module, nn.Sequential):
                walk(module, f"{prefix}{name}.")
            else:
                layers.append((f"{prefix}{name}", module))

    walk(root, prefix)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no layers to look inside")
    return layers


def feature_maps(model: nn.Module, image: Tensor, layer: LayerSpec) -> Tensor:
    """The feature maps a layer produces for one image: shape (C, h, w), on the CPU.

    ``image`` is (C, H, W) or (1, C, H, W); ``layer`` is an index into :func:`feature_layers`,
    a layer name such as ``"features.3"``, or the module itself.  The model runs in eval mode.

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
    >>> feature_maps(net, torch.rand(1, 8, 8), layer=2).shape
    torch.Size([4, 3, 3])
    """
    layers = feature_layers(model)
    top = _layer_index(layers, layer)
    x = _as_image(image, model)
    with _evaluating(model), torch.no_grad():
        out = _run(layers, x, top)
    if out.dim() != 4:
        raise ValueError(f"layer {top} ({layers[top][0]}) gives shape {tuple(out.shape)}, "
                         "not feature maps (N, C, h, w)")
    return out[0].cpu()


# --------------------------------------------------------------------------------------------
# 2. The three rules at a ReLU
# --------------------------------------------------------------------------------------------


def relu_backward(signal: Tensor, x: Tensor, rule: Rule) -> Tensor:
    """What a ReLU passes down: the one place where gradient, deconvnet and guided backprop differ.

    ``signal`` is what arrives from above (shape of the ReLU's output) and ``x`` the ReLU's
    forward input (same shape).

    - ``"gradient"``: the true derivative -- ``signal`` where ``x > 0``, else 0;
    - ``"deconvnet"``: the signal is rectified like a forward pass -- ``relu(signal)``;
      ``x`` is not used;
    - ``"guided"``: both at once -- ``relu(signal)`` where ``x > 0``, else 0.

    >>> g, x = torch.tensor([2.0, -1.0, 3.0]), torch.tensor([1.0, 1.0, -1.0])
    >>> [relu_backward(g, x, r).tolist() for r in RULES]
    [[2.0, -1.0, 0.0], [2.0, 0.0, 3.0], [2.0, 0.0, 0.0]]
    """
    if signal.shape != x.shape:
        raise ValueError(f"signal has shape {tuple(signal.shape)} but the ReLU input has "
                         f"shape {tuple(x.shape)}")
    zero = signal.new_zeros(())
    if rule == "gradient":
        return torch.where(x > 0, signal, zero)
    if rule == "deconvnet":
        return signal.clamp(min=0)
    if rule == "guided":
        return torch.where(x > 0, signal.clamp(min=0), zero)
    raise ValueError(f"rule must be one of {RULES}, got {rule!r}")


# --------------------------------------------------------------------------------------------
# 3. The deconvnet, layer by layer
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """One activation mapped down to pixel space by :meth:`DeconvNet.project`.

    ``pixels`` has the input's shape (C, H, W); ``position`` is (row, col) in the layer's
    feature map and ``value`` the activation kept there.
    """

    pixels: Tensor
    layer: int
    layer_name: str
    channel: int
    position: tuple[int, int]
    value: float


class DeconvNet:
    """Zeiler & Fergus's deconvolutional network attached to a trained conv net.

    Works on the layers listed by :func:`feature_layers` -- ``Conv2d`` (zero padding, any stride,
    dilation or groups), ``ReLU``, ``MaxPool2d`` (overlapping windows too), ``BatchNorm2d``
    right after a convolution (eval mode: it is folded into that convolution's weights), and
    ``Dropout``/``Identity``, which do nothing in eval mode.  Other layers may sit *above* the
    projected layer (they are never run); a projection through one raises an error naming it.

    The weights are read at every call, so a DeconvNet follows its model through training.

    >>> _ = torch.manual_seed(0)  # a random net: some seeds give channel 0 no positive unit
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
    >>> image = torch.rand(1, 8, 8)
    >>> p = DeconvNet(net).project(image, layer=2, channel=0)
    >>> p.pixels.shape, p.value > 0
    (torch.Size([1, 8, 8]), True)

    The same picture is autograd's backward pass with the deconvnet rule at every ReLU:

    >>> g = backward_with_rule(net, image, "deconvnet", layer=2, channel=0)
    >>> torch.allclose(p.pixels, p.value * g)
    True
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.layers = feature_layers(model)

    def forward(self, image: Tensor, top: int) -> tuple[Tensor, list[Tensor], dict[int, Tensor]]:
        """Run layers 0..``top`` on a batch (N, C, H, W), recording what the way down needs.

        Returns ``(output, inputs, switches)``: the output of layer ``top``, the input each
        layer received, and for every max-pooling layer its *switches* -- the flat index
        (into its input's H*W plane) of the maximum of each window.
        """
        x = image
        inputs: list[Tensor] = []
        switches: dict[int, Tensor] = {}
        for i, (_, layer) in enumerate(self.layers[: top + 1]):
            inputs.append(x)
            if isinstance(layer, nn.ReLU):
                x = torch.relu(x)  # never in place: the input is kept
            elif isinstance(layer, nn.MaxPool2d):
                x, switches[i] = F.max_pool2d(
                    x, layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                    ceil_mode=layer.ceil_mode, return_indices=True,
                )
            else:  # Conv2d, BatchNorm2d (eval), Dropout, Identity
                x = layer(x)
        return x, inputs, switches

    def project(self, image: Tensor, layer: LayerSpec, channel: int,
                position: tuple[int, int] | None = None) -> Projection:
        """Map one activation of ``layer`` down to pixel space.

        ``image``: (C, H, W) or (1, C, H, W).  ``layer``: index into :func:`feature_layers`,
        name, or module; the activation is that layer's output.  ``channel``: the feature map.
        ``position``: (row, col) in the map; by default the strongest activation of the map.

        All other activations of the layer are set to zero, and the map goes down: through
        each max-pooling layer by its switches (where windows overlap, contributions add),
        through each ReLU by rectifying, through each convolution by the transposed
        convolution with the same weights and no bias.  Returns a :class:`Projection` whose
        ``pixels`` have shape (C, H, W), on the CPU.
        """
        top = _layer_index(self.layers, layer)
        self._check_invertible(top)
        x = _as_image(image, self.model)
        with _evaluating(self.model), torch.no_grad():
            output, inputs, switches = self.forward(x, top)
            row, col = _pick_position(output, channel, position, self.layers[top][0])
            value = output[0, channel, row, col]
            signal = torch.zeros_like(output)
            signal[0, channel, row, col] = value
            for i in reversed(range(top + 1)):
                signal = self._down(i, top, signal, inputs[i], switches.get(i))
        return Projection(signal[0].cpu(), top, self.layers[top][0], channel, (row, col),
                          float(value))

    def _down(self, i: int, top: int, signal: Tensor, x: Tensor, switches: Tensor | None) -> Tensor:
        """Take ``signal`` (shaped like layer i's output) down to layer i's input ``x``."""
        layer = self.layers[i][1]
        if isinstance(layer, nn.ReLU):
            return relu_backward(signal, x, "deconvnet")  # rectify
        if isinstance(layer, nn.MaxPool2d):
            assert switches is not None
            return _unpool(signal, switches, x.shape)
        if isinstance(layer, nn.Conv2d):
            return _conv_transpose(signal, layer, self._filters(i, top), x.shape)
        return signal  # BatchNorm2d (folded into the conv below it), Dropout, Identity

    def _filters(self, i: int, top: int) -> Tensor:
        """Conv i's weights (out, in/groups, kh, kw), with a BatchNorm2d right above folded in."""
        conv = self.layers[i][1]
        assert isinstance(conv, nn.Conv2d)
        weight = conv.weight
        if i < top and isinstance(self.layers[i + 1][1], nn.BatchNorm2d):
            bn = self.layers[i + 1][1]
            assert isinstance(bn, nn.BatchNorm2d) and bn.running_var is not None
            scale = torch.rsqrt(bn.running_var + bn.eps)
            if bn.weight is not None:
                scale = scale * bn.weight
            weight = weight * scale.view(-1, 1, 1, 1)
        return weight

    def _check_invertible(self, top: int) -> None:
        for i, (name, layer) in enumerate(self.layers[: top + 1]):
            kind = type(layer).__name__
            if not isinstance(layer, _INVERTIBLE + _PASS_THROUGH):
                raise ValueError(
                    f"cannot project layer {top} ({self.layers[top][0]}) down to the pixels: "
                    "the deconvnet goes through Conv2d, ReLU, MaxPool2d, BatchNorm2d (after a "
                    f"Conv2d), Dropout and Identity, but layer {i} ({name}) is {kind}"
                )
            if isinstance(layer, nn.Conv2d) and layer.padding_mode != "zeros":
                raise ValueError(f"layer {i} ({name}) pads with {layer.padding_mode!r}; the "
                                 "deconvnet needs zero padding")
            if isinstance(layer, nn.BatchNorm2d):
                below = self.layers[i - 1][1] if i > 0 else None
                if not isinstance(below, nn.Conv2d) or layer.running_var is None:
                    raise ValueError(
                        f"layer {i} ({name}) is a BatchNorm2d that cannot be folded: it must "
                        "come right after a Conv2d and track running statistics (got after "
                        f"{type(below).__name__})"
                    )


def _unpool(signal: Tensor, switches: Tensor, input_shape: torch.Size) -> Tensor:
    """Send each pooled value back to where its maximum came from; overlapping windows add."""
    n, c, h, w = input_shape
    flat = signal.new_zeros(n, c, h * w)
    flat.scatter_add_(2, switches.flatten(2), signal.flatten(2))
    return flat.view(n, c, h, w)


def _conv_transpose(signal: Tensor, conv: nn.Conv2d, weight: Tensor,
                    input_shape: torch.Size) -> Tensor:
    """The transposed convolution with ``conv``'s geometry, back to ``input_shape``'s size."""
    kernel, stride, dilation = conv.kernel_size, conv.stride, conv.dilation
    padding = _conv_padding(conv)
    extra = []  # output_padding: rows/cols the strided forward pass dropped at the far edge
    for d in range(2):
        size = (signal.shape[2 + d] - 1) * stride[d] - 2 * padding[d]
        size += dilation[d] * (kernel[d] - 1) + 1
        extra.append(input_shape[2 + d] - size)
    return F.conv_transpose2d(signal, weight, None, stride, padding, tuple(extra), conv.groups,
                              dilation)


def _conv_padding(conv: nn.Conv2d) -> tuple[int, int]:
    if isinstance(conv.padding, str):
        if conv.padding == "valid":
            return (0, 0)
        total = [d * (k - 1) for d, k in zip(conv.dilation, conv.kernel_size, strict=True)]
        if any(t % 2 for t in total):
            raise ValueError(f"{conv} pads asymmetrically ('same' with an even kernel); "
                             "use an odd kernel or explicit padding")
        return (total[0] // 2, total[1] // 2)
    return (int(conv.padding[0]), int(conv.padding[1]))


# --------------------------------------------------------------------------------------------
# 4. The same rules through autograd
# --------------------------------------------------------------------------------------------


class _ReLUWithRule(torch.autograd.Function):
    """max(x, 0) going up; :func:`relu_backward` with the chosen rule coming down."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, rule: Rule) -> Tensor:
        ctx.save_for_backward(x)
        ctx.rule = rule
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, signal: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        return relu_backward(signal, x, ctx.rule), None


class _RuleReLU(nn.Module):
    """Stands in for an nn.ReLU inside :func:`relu_rule`."""

    def __init__(self, rule: Rule) -> None:
        super().__init__()
        self.rule = rule

    def forward(self, x: Tensor) -> Tensor:
        return _ReLUWithRule.apply(x, self.rule)

    def extra_repr(self) -> str:
        return f"rule={self.rule!r}"


@contextmanager
def relu_rule(model: nn.Module, rule: Rule) -> Iterator[nn.Module]:
    """Inside the ``with`` block, every ``nn.ReLU`` of ``model`` goes backward by ``rule``.

    Each ``nn.ReLU`` module (in-place or not, used once or reused) is swapped for one whose
    forward is the same and whose backward is :func:`relu_backward` with ``rule``; the original
    modules are put back when the block ends, even after an error.  ReLUs applied as functions
    (``F.relu``, ``torch.relu``, ``x.relu()``) are not swapped -- :func:`backward_with_rule`
    detects them and refuses.

    >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    >>> with relu_rule(net, "guided"):
    ...     type(net[1]).__name__
    '_RuleReLU'
    >>> type(net[1]).__name__
    'ReLU'
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    swapped: list[tuple[nn.Module, str, nn.Module]] = []
    try:
        for parent in list(model.modules()):
            for name, child in list(parent._modules.items()):
                if isinstance(child, nn.ReLU):
                    parent._modules[name] = _RuleReLU(rule)
                    swapped.append((parent, name, child))
        yield model
    finally:
        for parent, name, child in swapped:
            parent._modules[name] = child


# Nonlinearities whose backward the rules do not define, as modules and as functions.
_OTHER_ACTIVATIONS = (
    nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ReLU6, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Softplus, nn.Tanh, nn.Sigmoid, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid,
)
_FUNCTIONAL_ACTIVATIONS: dict[Callable[..., Any], str] = {
    F.relu: "F.relu", F.relu_: "F.relu_", torch.relu: "torch.relu", torch.relu_: "torch.relu_",
    Tensor.relu: "Tensor.relu", Tensor.relu_: "Tensor.relu_", F.leaky_relu: "F.leaky_relu",
    F.relu6: "F.relu6", F.elu: "F.elu", F.selu: "F.selu", F.gelu: "F.gelu", F.silu: "F.silu",
    F.mish: "F.mish", F.softplus: "F.softplus", F.hardtanh: "F.hardtanh",
    torch.tanh: "torch.tanh", Tensor.tanh: "Tensor.tanh", torch.sigmoid: "torch.sigmoid",
    Tensor.sigmoid: "Tensor.sigmoid",
}


class _ActivationSpy(TorchFunctionMode):
    """Notes every nonlinearity called as a function while a forward pass runs."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __torch_function__(self, func: Callable[..., Any], types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        name = _FUNCTIONAL_ACTIVATIONS.get(func)
        if name is not None:
            self.seen.append(name)
        return func(*args, **(kwargs or {}))


def backward_with_rule(model: nn.Module, image: Tensor, rule: Rule, *, target: int | None = None,
                       layer: LayerSpec | None = None, channel: int | None = None,
                       position: tuple[int, int] | None = None) -> Tensor:
    """Send one number back to the pixels by autograd, each ReLU passing it by ``rule``.

    The number is either the class score ``model(image)[target]`` (the logit; default target:
    the predicted class) or, when ``layer`` and ``channel`` are given, one activation of a
    feature map (at ``position``, by default the strongest).  Returns d(number)/d(image) under
    the rule, shape (C, H, W), on the CPU.  With ``rule="gradient"`` that is the plain
    gradient; with ``"deconvnet"`` and a layer it is :meth:`DeconvNet.project`'s projection
    divided by the activation's value (when that value is positive: rectifying commutes with
    positive scales only); with ``"guided"`` it is guided backprop.

    For the deconvnet and guided rules the model's nonlinearities must all be ``nn.ReLU``
    modules: other activation modules, and ReLUs called as functions in ``forward``, raise a
    ``ValueError`` (the rule would silently not apply there).

    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 3))
    >>> backward_with_rule(net, torch.rand(1, 8, 8), "guided", target=0).shape
    torch.Size([1, 8, 8])
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if layer is not None and target is not None:
        raise ValueError("give either a target class or a layer and channel, not both")
    if layer is not None and channel is None:
        raise ValueError("a layer needs a channel: which feature map to start from")
    target = None if target is None else _class_index(target)
    x = _as_image(image, model).requires_grad_(True)
    spy = _ActivationSpy()
    with _evaluating(model), torch.enable_grad(), relu_rule(model, rule):
        if layer is None:
            named: Iterable[tuple[str, nn.Module]] = model.named_modules()
        else:
            layers = feature_layers(model)
            top = _layer_index(layers, layer)
            named = layers[: top + 1]
        if rule != "gradient":
            _refuse_other_activations(named, rule)
        with spy:
            if layer is None:
                scores = _class_scores(model, x, target)
                score = scores[0, int(scores[0].argmax()) if target is None else target]
            else:
                assert channel is not None
                output = _run(layers, x, top)
                row, col = _pick_position(output, channel, position, layers[top][0])
                score = output[0, channel, row, col]
        if rule != "gradient" and spy.seen:
            raise ValueError(
                f"the model calls {', '.join(sorted(set(spy.seen)))} inside its forward "
                f"({len(spy.seen)} calls); the {rule!r} rule can only be given to nn.ReLU "
                "modules -- use an nn.ReLU module (self.relu = nn.ReLU()) instead"
            )
        (grad,) = torch.autograd.grad(score, x)
    return grad[0].detach().cpu()


def saliency(model: nn.Module, image: Tensor, target: int | None = None) -> Tensor:
    """The gradient of the class score with respect to the pixels (Simonyan et al., 2014).

    ``image``: (C, H, W) or (1, C, H, W); ``target``: class index (default: the predicted
    class).  Returns the signed gradient, shape (C, H, W); the paper's saliency map is
    ``saliency(...).abs().amax(0)``, shape (H, W).

    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 3))
    >>> saliency(net, torch.rand(1, 8, 8), target=2).shape
    torch.Size([1, 8, 8])
    """
    return backward_with_rule(model, image, "gradient", target=target)


def guided_backprop(model: nn.Module, image: Tensor, target: int | None = None) -> Tensor:
    """Guided backpropagation of the class score to the pixels (Springenberg et al., 2015).

    Like :func:`saliency`, but each ReLU passes only positive signals, and only where its
    forward input was positive.  Returns shape (C, H, W).

    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 3))
    >>> guided_backprop(net, torch.rand(1, 8, 8), target=1).shape
    torch.Size([1, 8, 8])
    """
    return backward_with_rule(model, image, "guided", target=target)


def _refuse_other_activations(named: Iterable[tuple[str, nn.Module]], rule: Rule) -> None:
    others = [f"{name} ({type(m).__name__})" for name, m in named
              if isinstance(m, _OTHER_ACTIVATIONS)]
    if others:
        raise ValueError(f"the {rule!r} rule is defined for ReLU only, but the model also "
                         f"has {', '.join(others)}")


# --------------------------------------------------------------------------------------------
# 5a. The k strongest activations of a feature map over a data set (paper's figure 2)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopActivation:
    """One of the strongest activations of a feature map, found by :func:`top_activations`.

    ``index`` is the image's index in the data set, ``position`` (row, col) the unit in the
    feature map and ``value`` its activation.  ``window`` = (top, left, bottom, right), bottom
    and right exclusive, is the unit's receptive field in input pixels -- it may stick out of
    the image -- and ``box`` is that window clipped to the image.  ``patch`` and
    ``projection`` are the image and the deconvnet projection cropped to ``box``: (C, h, w).
    """

    index: int
    value: float
    position: tuple[int, int]
    window: tuple[int, int, int, int]
    box: tuple[int, int, int, int]
    patch: Tensor
    projection: Tensor


def top_activations(model: nn.Module, layer: LayerSpec, channel: int, images: Any, k: int = 9,
                    batch_size: int = 256) -> list[TopActivation]:
    """The ``k`` strongest activations of one feature map over a data set, at most one per image.

    ``images``: a tensor (N, C, H, W) or a data set with an ``.images`` tensor (such as
    :func:`cnnlab.data.load_dataset`'s).  Each image is scored by the maximum of the feature
    map; the ``k`` best images are kept, strongest first, each with its patch of input (the
    receptive field of the unit that fired) and its deconvnet projection cropped the same way.
    :func:`cnnlab.viz.plot_top_activations` draws them as in Zeiler & Fergus's figure 2.

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
    >>> tops = top_activations(net, 2, channel=1, images=torch.rand(20, 1, 8, 8), k=3)
    >>> len(tops), tops[0].patch.shape
    (3, torch.Size([1, 4, 4]))
    """
    data = _as_image_batch(images)
    if not 1 <= k <= len(data):
        raise ValueError(f"k must be between 1 and the number of images ({len(data)}), got {k}")
    deconv = DeconvNet(model)
    top = _layer_index(deconv.layers, layer)
    deconv._check_invertible(top)  # before the pass over the data, not after it
    best: list[Tensor] = []
    with _evaluating(model), torch.no_grad():
        for start in range(0, len(data), batch_size):
            x = _as_image(data[start:start + batch_size], model, batch=True)
            out = _run(deconv.layers, x, top)
            _check_channel(out, channel, deconv.layers[top][0])
            best.append(out[:, channel].flatten(1).amax(1).cpu())
    scores = torch.cat(best)
    order = torch.sort(scores, descending=True, stable=True).indices[:k]
    height, width = data.shape[-2:]
    found = []
    for index in order.tolist():
        p = deconv.project(data[index], top, channel)
        window = _receptive_window(deconv.layers, top, p.position)
        box = (max(window[0], 0), max(window[1], 0), min(window[2], height), min(window[3], width))
        crop = (slice(None), slice(box[0], box[2]), slice(box[1], box[3]))
        found.append(TopActivation(index, p.value, p.position, window, box,
                                   data[index].detach().cpu()[crop], p.pixels[crop]))
    return found


def _receptive_window(layers: Sequence[tuple[str, nn.Module]], top: int,
                      position: tuple[int, int]) -> tuple[int, int, int, int]:
    """Input pixels (top, left, bottom, right), bottom/right exclusive, that one unit of layer
    ``top`` sees -- not clipped to the image (it may start in the padding).

    The field comes from :func:`cnnlab.receptive.receptive_field`, once per image axis (a
    kernel may be 3x1): unit ``i`` of a layer sees ``rf`` pixels from ``first + i * jump``.
    """
    start, end = [], []
    for axis in (0, 1):
        row = receptive_field([_rf_layer(name, layer, axis)
                               for name, layer in layers[: top + 1]]).final
        start.append(row.first + position[axis] * row.jump)
        end.append(start[-1] + row.rf)
    return (start[0], start[1], end[0], end[1])


def _rf_layer(name: str, layer: nn.Module, axis: int) -> RFLayer:
    """One layer's geometry along one image axis (0: rows, 1: columns)."""
    if isinstance(layer, nn.Conv2d):
        kernel, stride, dilation = layer.kernel_size, layer.stride, layer.dilation
        return RFLayer("conv", kernel[axis], stride[axis], _conv_padding(layer)[axis],
                       dilation[axis], name)
    if isinstance(layer, nn.MaxPool2d):
        kernel = _pair(layer.kernel_size)
        stride = _pair(layer.stride) if layer.stride is not None else kernel
        padding, dilation = _pair(layer.padding), _pair(layer.dilation)
        return RFLayer("pool", kernel[axis], stride[axis], padding[axis], dilation[axis], name,
                       bool(layer.ceil_mode))
    return RFLayer("pointwise", 1, name=name)  # ReLU, BatchNorm2d, Dropout, Identity


# --------------------------------------------------------------------------------------------
# 5b. Occlusion sensitivity (paper's figure 7)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OcclusionMaps:
    """What a model sees as a square of ``fill`` slides over an image (:func:`occlusion`).

    Entry [i, j] of each map is computed on the image with the window covering rows
    ``rows[i]:rows[i] + window`` and columns ``cols[j]:cols[j] + window`` -- the values
    themselves, not differences from the unoccluded image (those are the ``baseline_*``):

    - ``activation`` (float, (h, w)): total activation (sum over the map) of feature map
      ``channel`` of layer ``layer_name``, the map strongest on the unoccluded image;
    - ``probability`` (float, (h, w)): softmax probability of class ``target``;
    - ``label`` (long, (h, w)): the most probable class.
    """

    activation: Tensor
    probability: Tensor
    label: Tensor
    rows: list[int]
    cols: list[int]
    window: int
    stride: int
    fill: float | Tensor
    target: int
    layer: int
    layer_name: str
    channel: int
    baseline_activation: float
    baseline_probability: float
    baseline_label: int


def occlusion(model: nn.Module, image: Tensor, target: int, window: int = 8, stride: int = 4,
              fill: float | Literal["mean"] = "mean", *, layer: LayerSpec | None = None,
              channel: int | None = None, batch_size: int = 128) -> OcclusionMaps:
    """Slide a ``window`` x ``window`` square of ``fill`` over ``image`` and watch the model.

    ``image``: (C, H, W) or (1, C, H, W); ``target``: the correct class.  The square's top-left
    corner visits rows and columns 0, stride, 2*stride, ... while it fits in the image.
    ``fill`` is a value (in the units of the image the model gets) or ``"mean"``, the image's
    per-channel mean.  ``layer`` defaults to the last layer of :func:`feature_layers` that
    still gives feature maps, and ``channel`` to its map with the largest total activation on
    the unoccluded image.  The occluded images are run in batches of ``batch_size``.

    Returns :class:`OcclusionMaps` with maps of shape (h, w) = (len(rows), len(cols)).

    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 3))
    >>> maps = occlusion(net, torch.rand(1, 8, 8), target=0, window=4, stride=2)
    >>> maps.probability.shape
    torch.Size([3, 3])
    """
    target = _class_index(target)
    x = _as_image(image, model)
    _, n_channels, height, width = x.shape
    if not isinstance(window, int) or not 1 <= window <= min(height, width):
        raise ValueError(f"window must be an int between 1 and {min(height, width)} (the image "
                         f"is {height}x{width}), got {window!r}")
    if not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be a positive int, got {stride!r}")
    if isinstance(fill, str):
        if fill != "mean":
            raise ValueError(f"fill must be a number or 'mean', got {fill!r}")
        value: float | Tensor = x[0].mean(dim=(1, 2)).view(n_channels, 1, 1)
    else:
        value = float(fill)
    layers = feature_layers(model)
    rows = list(range(0, height - window + 1, stride))
    cols = list(range(0, width - window + 1, stride))
    with _evaluating(model), torch.no_grad():
        top = _last_spatial_layer(layers, x) if layer is None else _layer_index(layers, layer)
        maps0 = _run(layers, x, top)
        if maps0.dim() != 4:
            raise ValueError(f"layer {top} ({layers[top][0]}) does not give feature maps: "
                             f"shape {tuple(maps0.shape)}")
        if channel is None:
            channel = int(maps0[0].sum(dim=(1, 2)).argmax())
        _check_channel(maps0, channel, layers[top][0])
        probs0 = _probabilities(model, x, target)
        corners = [(r, c) for r in rows for c in cols]
        activation, probability, label = [], [], []
        for start in range(0, len(corners), batch_size):
            batch = x.repeat(len(corners[start:start + batch_size]), 1, 1, 1)
            for b, (r, c) in enumerate(corners[start:start + batch_size]):
                batch[b, :, r:r + window, c:c + window] = value
            activation.append(_run(layers, batch, top)[:, channel].sum(dim=(1, 2)))
            probs = _probabilities(model, batch, target)
            probability.append(probs[:, target])
            label.append(probs.argmax(1))
    shape = (len(rows), len(cols))
    return OcclusionMaps(
        activation=torch.cat(activation).view(shape).cpu(),
        probability=torch.cat(probability).view(shape).cpu(),
        label=torch.cat(label).view(shape).cpu(),
        rows=rows, cols=cols, window=window, stride=stride,
        fill=value.flatten().cpu() if isinstance(value, Tensor) else value,
        target=target, layer=top, layer_name=layers[top][0], channel=channel,
        baseline_activation=float(maps0[0, channel].sum()),
        baseline_probability=float(probs0[0, target]),
        baseline_label=int(probs0[0].argmax()),
    )


def _probabilities(model: nn.Module, x: Tensor, target: int) -> Tensor:
    return _class_scores(model, x, target).softmax(dim=1)


def _class_scores(model: nn.Module, x: Tensor, target: int | None) -> Tensor:
    """``model(x)``, checked to be class scores (N, classes) that ``target`` indexes."""
    scores = model(x)
    if not isinstance(scores, Tensor) or scores.dim() != 2:
        shape = tuple(scores.shape) if isinstance(scores, Tensor) else type(scores).__name__
        raise ValueError(f"expected the model to output class scores (N, classes), got {shape}")
    if target is not None and not 0 <= target < scores.shape[1]:
        raise ValueError(f"target must be a class index in [0, {scores.shape[1]}), got {target}")
    return scores


def _class_index(target: Any) -> int:
    """An int, NumPy integer or one-element integer tensor as an int."""
    if isinstance(target, bool):
        raise TypeError("target must be a class index, got a bool")
    try:
        return operator.index(target)
    except TypeError:
        raise TypeError(f"target must be an int class index, got {target!r}") from None


def _last_spatial_layer(layers: Sequence[tuple[str, nn.Module]], x: Tensor) -> int:
    """The last layer whose output still has the shape (N, C, h, w) of feature maps."""
    last = -1
    for i, (_, layer) in enumerate(layers):
        x = layer(x)
        if x.dim() != 4:
            break
        last = i
    if last < 0:
        raise ValueError("the model's first layer already gives no feature maps (N, C, h, w)")
    return last


# --------------------------------------------------------------------------------------------
# 5c. How features evolve during training (paper's figure 4)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureEvolution:
    """Deconvnet projections of chosen feature maps at several moments of training.

    ``projections``: (S, K, C, H, W) for S snapshots and K channels; ``values``: (S, K), the
    activations projected; ``positions[s][k]``: where they were; ``labels``: one per snapshot;
    ``channels``: the K feature maps of layer ``layer_name``.  Plot with
    :func:`cnnlab.viz.plot_feature_evolution` (snapshots down, channels across).
    """

    projections: Tensor
    values: Tensor
    positions: list[list[tuple[int, int]]]
    labels: list[str]
    channels: list[int]
    layer: int
    layer_name: str


class Snapshots:
    """A :func:`cnnlab.train.fit` callback that keeps a copy of the weights after some epochs.

    ``every``: keep every n-th epoch (and the epoch numbers given in ``epochs``).  After
    training, ``states`` holds the state dicts (tensors copied to the CPU) and ``epochs`` their
    epoch numbers, ready for :func:`feature_evolution`.

    >>> snaps = Snapshots(every=2)
    >>> net = nn.Linear(2, 2)
    >>> [snaps(epoch, {}, net) for epoch in (1, 2, 3, 4)]
    [False, False, False, False]
    >>> snaps.epochs
    [2, 4]
    """

    def __init__(self, every: int = 1, epochs: Iterable[int] = ()) -> None:
        if every < 1:
            raise ValueError(f"every must be a positive int, got {every}")
        self.every = every
        self.wanted = set(epochs)
        self.states: list[dict[str, Tensor]] = []
        self.epochs: list[int] = []

    def __call__(self, epoch: int, history: Any, model: nn.Module) -> bool:
        if epoch % self.every == 0 or epoch in self.wanted:
            self.states.append({k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
            self.epochs.append(epoch)
        return False  # never asks fit to stop


def feature_evolution(model: nn.Module, snapshots: Sequence[Any], image: Tensor,
                      layer: LayerSpec, channels: Sequence[int],
                      labels: Sequence[str] | None = None) -> FeatureEvolution:
    """Project the strongest activation of each of ``channels`` for a fixed image, at each
    snapshot of a training run.

    ``snapshots``: state dicts (e.g. :class:`Snapshots` ``.states``), paths of files saved
    with ``torch.save`` (a state dict, or a checkpoint dict holding one under ``"model"``,
    ``"model_state"``, ``"model_state_dict"`` or ``"state_dict"``), or models.  Each is loaded
    into a copy of ``model``; ``model`` itself is not changed.  ``image``: (C, H, W).
    Returns :class:`FeatureEvolution` with projections of shape (S, K, C, H, W).

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU())
    >>> states = [copy.deepcopy(net.state_dict()) for _ in range(2)]
    >>> feature_evolution(net, states, torch.rand(1, 8, 8), 1, [0, 3]).projections.shape
    torch.Size([2, 2, 1, 8, 8])
    """
    if len(snapshots) == 0:
        raise ValueError("snapshots is empty: give at least one state dict, file or model")
    if labels is not None and len(labels) != len(snapshots):
        raise ValueError(f"got {len(labels)} labels for {len(snapshots)} snapshots")
    if len(channels) == 0:
        raise ValueError("channels is empty: give the feature maps to follow")
    replica = copy.deepcopy(model)
    deconv = DeconvNet(replica)
    rows: list[list[Projection]] = []
    for snapshot in snapshots:
        replica.load_state_dict(_state_dict(snapshot))
        rows.append([deconv.project(image, layer, c) for c in channels])
    return FeatureEvolution(
        projections=torch.stack([torch.stack([p.pixels for p in row]) for row in rows]),
        values=torch.tensor([[p.value for p in row] for row in rows]),
        positions=[[p.position for p in row] for row in rows],
        labels=list(labels) if labels is not None else [f"snapshot {s}" for s in
                                                         range(len(snapshots))],
        channels=list(channels), layer=rows[0][0].layer, layer_name=rows[0][0].layer_name,
    )


def _state_dict(snapshot: Any) -> Mapping[str, Tensor]:
    if isinstance(snapshot, nn.Module):
        return snapshot.state_dict()
    if isinstance(snapshot, str | os.PathLike):
        snapshot = torch.load(snapshot, map_location="cpu", weights_only=True)
    if not isinstance(snapshot, Mapping):
        raise TypeError(f"a snapshot must be a state dict, a file path or a model, got "
                        f"{type(snapshot).__name__}")
    for key in ("model", "model_state", "model_state_dict", "state_dict"):
        if isinstance(snapshot.get(key), Mapping):
            return snapshot[key]
    return snapshot


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _layer_index(layers: Sequence[tuple[str, nn.Module]], layer: LayerSpec) -> int:
    listing = ", ".join(f"{i} {name} ({type(m).__name__})" for i, (name, m) in enumerate(layers))
    if isinstance(layer, bool) or not isinstance(layer, int | str | nn.Module):
        raise TypeError(f"layer must be an index, a name or a module, got {type(layer).__name__}")
    if isinstance(layer, int):
        if not -len(layers) <= layer < len(layers):
            raise ValueError(f"layer {layer} is out of range; the layers are: {listing}")
        return layer % len(layers)
    if isinstance(layer, str):
        found = [i for i, (name, _) in enumerate(layers) if name == layer]
    else:
        found = [i for i, (_, m) in enumerate(layers) if m is layer]
    if not found:
        raise ValueError(f"no layer {layer!r}; the layers are: {listing}")
    if len(found) > 1:
        raise ValueError(f"{layer!r} is used at layers {found}; give the index instead")
    return found[0]


def _run(layers: Sequence[tuple[str, nn.Module]], x: Tensor, top: int) -> Tensor:
    """Output of layer ``top`` (layers 0..top run in order)."""
    for _, layer in layers[: top + 1]:
        x = layer(x)
    return x


def _pick_position(output: Tensor, channel: int, position: tuple[int, int] | None,
                   name: str) -> tuple[int, int]:
    """(row, col) in feature map ``channel`` of ``output`` (1, C, h, w): given, or the maximum."""
    _check_channel(output, channel, name)
    fmap = output[0, channel]
    if position is None:
        flat = int(fmap.argmax())
        return flat // fmap.shape[1], flat % fmap.shape[1]
    row, col = position
    if not (0 <= row < fmap.shape[0] and 0 <= col < fmap.shape[1]):
        raise ValueError(f"position {position} is outside the {fmap.shape[0]}x{fmap.shape[1]} "
                         f"feature maps of {name}")
    return int(row), int(col)


def _check_channel(output: Tensor, channel: int, name: str) -> None:
    if output.dim() != 4:
        raise ValueError(f"layer {name} gives shape {tuple(output.shape)}, not feature maps "
                         "(N, C, h, w)")
    if isinstance(channel, bool) or not isinstance(channel, int):
        raise TypeError(f"channel must be an int, got {type(channel).__name__}")
    if not 0 <= channel < output.shape[1]:
        raise ValueError(f"channel must be in [0, {output.shape[1]}) for layer {name}, "
                         f"got {channel}")


def _as_image(image: Tensor, model: nn.Module, batch: bool = False) -> Tensor:
    """``image`` as a batch (N, C, H, W) on the model's device and dtype, channels checked."""
    if not isinstance(image, Tensor):
        raise TypeError(f"expected the image as a torch.Tensor (C, H, W), got "
                        f"{type(image).__name__}")
    if image.dim() == 3:
        image = image.unsqueeze(0)
    if image.dim() != 4 or (image.shape[0] != 1 and not batch):
        raise ValueError(f"expected one image of shape (C, H, W) or (1, C, H, W), got shape "
                         f"{tuple(image.shape)}")
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if first is not None and image.shape[1] != first.in_channels:
        raise ValueError(f"the image has {image.shape[1]} channels but the first convolution "
                         f"expects {first.in_channels} (weight shape {tuple(first.weight.shape)})")
    param = next(model.parameters(), None)
    if param is None:  # a copy, so that no in-place layer can write into the caller's tensor
        return image.detach().float().clone()
    return image.detach().to(device=param.device, dtype=param.dtype).clone()


def _as_image_batch(images: Any) -> Tensor:
    data = getattr(images, "images", images)
    if not isinstance(data, Tensor):
        raise TypeError(f"expected images as a tensor (N, C, H, W) or a data set with an "
                        f".images tensor, got {type(images).__name__}")
    if data.dim() != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got {tuple(data.shape)}")
    return data


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[1]))


@contextmanager
def _evaluating(model: nn.Module) -> Iterator[None]:
    """Eval mode inside the block; every module's own training flag restored after it."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, mode in modes:
            module.training = mode


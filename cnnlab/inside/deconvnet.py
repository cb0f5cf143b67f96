"""The deconvnet of Zeiler and Fergus (2014), written out layer by layer as in the paper.

:func:`relu_backward` is the one place the three rules differ (what a ReLU lets through on the
way down); :class:`DeconvNet` keeps one activation, unpools through the recorded switches,
rectifies and filters with the transposed weights, down to the pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnlab.inside.layers import (
    _INVERTIBLE,
    _PASS_THROUGH,
    RULES,
    LayerSpec,
    Rule,
    _as_image,
    _evaluating,
    _layer_index,
    _pick_position,
    feature_layers,
)

__all__ = [
    "relu_backward",
    "Projection",
    "DeconvNet",
]



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
# The deconvnet, layer by layer
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



"""Pieces every architecture of :mod:`cnnlab.models` shares.

The 3x3 and 1x1 convolutions of VGG and ResNet, the activation table, He
initialisation, and the input checks each model's ``forward`` runs (shape and dtype, with a
message that names what was expected and what came).
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from cnnlab import _checks

__all__ = [
    "conv3x3",
    "conv1x1",
]





def conv3x3(
    in_channels: int, out_channels: int, stride: int = 1, groups: int = 1, dilation: int = 1
) -> nn.Conv2d:
    """3x3 convolution without bias that keeps the spatial size when ``stride=1``.

    Shapes: ``(N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))``.

    >>> conv3x3(16, 32, stride=2)(torch.zeros(1, 16, 32, 32)).shape
    torch.Size([1, 32, 16, 16])
    """
    _checks.positive_ints(
        in_channels=in_channels,
        out_channels=out_channels,
        stride=stride,
        groups=groups,
        dilation=dilation,
    )
    return nn.Conv2d(
        in_channels,
        out_channels,
        kernel_size=3,
        stride=stride,
        padding=dilation,
        groups=groups,
        dilation=dilation,
        bias=False,
    )


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution without bias: a linear map across channels at every pixel.

    Shapes: ``(N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))``.

    >>> conv1x1(64, 16)(torch.zeros(1, 64, 8, 8)).shape
    torch.Size([1, 16, 8, 8])
    """
    _checks.positive_ints(in_channels=in_channels, out_channels=out_channels, stride=stride)
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False)


_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
}


def _activation(name: str) -> nn.Module:
    """A fresh activation module from its name ("relu", "tanh", "sigmoid", "gelu", "silu")."""
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name]()


def _init_convs(model: nn.Module, activation: str) -> None:
    """He (Kaiming) initialisation of every convolution, zero biases (as torchvision's VGG).

    PyTorch's default initialisation shrinks the signal layer by layer, so a deep stack without
    batch norm starts almost flat; this keeps its variance roughly constant instead.
    """
    nonlinearity: Literal["relu", "tanh", "sigmoid"] = "relu"
    if activation == "tanh":
        nonlinearity = "tanh"
    elif activation == "sigmoid":
        nonlinearity = "sigmoid"
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity=nonlinearity)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def _check_min_size(x: Tensor, who: str, minimum: int) -> None:
    """Raise unless every spatial (or temporal) size of ``x`` is at least ``minimum``."""
    if min(x.shape[2:]) < minimum:
        raise ValueError(
            f"{who} needs spatial sizes of at least {minimum}, got input shape {tuple(x.shape)}"
        )

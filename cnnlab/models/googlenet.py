"""GoogLeNet / Inception (Szegedy et al., 2015): parallel branches, concatenated (chapter 08).

``InceptionBlock`` is the four-branch module (1x1, 3x3, 5x5, pool) with its 1x1 reductions;
``GoogLeNetSmall`` stacks a few of them for 32x32 images.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import Tensor, nn

from cnnlab import _checks
from cnnlab.models._blocks import _check_min_size

__all__ = [
    "InceptionBlock",
    "GoogLeNetSmall",
]



def _conv_act(
    in_channels: int, out_channels: int, kernel_size: int, batch_norm: bool
) -> nn.Sequential:
    """Convolution ("same" padding), optional batch norm, ReLU."""
    layers: list[nn.Module] = [
        nn.Conv2d(
            in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=not batch_norm
        )
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class InceptionBlock(nn.Module):
    """Four parallel branches concatenated along channels (Szegedy et al., 2015, Figure 2).

    Shapes: ``(N, in_channels, H, W) -> (N, out_channels, H, W)``.

    ====================  ===============================  =============================
    branch                with reductions (``reduce``)     naive (``reduce=False``)
    ====================  ===============================  =============================
    1                     1x1 -> ch1x1                     1x1 -> ch1x1
    2                     1x1 -> ch3x3red, 3x3 -> ch3x3    3x3 -> ch3x3
    3                     1x1 -> ch5x5red, 5x5 -> ch5x5    5x5 -> ch5x5
    4                     3x3 max pool, 1x1 -> pool_proj   3x3 max pool (in_channels out)
    ====================  ===============================  =============================

    ``out_channels`` is ``ch1x1 + ch3x3 + ch5x5 + pool_proj`` with reductions and
    ``ch1x1 + ch3x3 + ch5x5 + in_channels`` without. The 1x1 reductions shrink the channels the
    expensive 3x3 and 5x5 windows read: for the paper's block 3a at 28x28
    (``InceptionBlock(192, 64, 96, 128, 16, 32, 32)``) the weights cost 163,328 parameters and
    128M multiply-adds, the "128M ops" of the paper's Table 1 (checked in the tests).

    The argument order is that of ``torchvision.models.googlenet.Inception``. Two differences
    from torchvision's block: branch 3 really is 5x5 here (torchvision's uses a 3x3 kernel, a
    slip kept for weight compatibility), and normalisation is optional (torchvision always
    uses ``BatchNorm2d`` after bias-free convolutions; the 2014 network had none).

    >>> block = InceptionBlock(192, 64, 96, 128, 16, 32, 32)
    >>> block(torch.zeros(1, 192, 28, 28)).shape
    torch.Size([1, 256, 28, 28])
    """

    def __init__(
        self,
        in_channels: int,
        ch1x1: int,
        ch3x3red: int,
        ch3x3: int,
        ch5x5red: int,
        ch5x5: int,
        pool_proj: int,
        *,
        reduce: bool = True,
        batch_norm: bool = False,
    ):
        super().__init__()
        _checks.positive_ints(
            in_channels=in_channels,
            ch1x1=ch1x1,
            ch3x3red=ch3x3red,
            ch3x3=ch3x3,
            ch5x5red=ch5x5red,
            ch5x5=ch5x5,
            pool_proj=pool_proj,
        )
        bn = batch_norm
        self.in_channels = in_channels
        self.branch1 = _conv_act(in_channels, ch1x1, 1, bn)
        pool = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        if reduce:
            self.branch2 = nn.Sequential(
                _conv_act(in_channels, ch3x3red, 1, bn), _conv_act(ch3x3red, ch3x3, 3, bn)
            )
            self.branch3 = nn.Sequential(
                _conv_act(in_channels, ch5x5red, 1, bn), _conv_act(ch5x5red, ch5x5, 5, bn)
            )
            self.branch4 = nn.Sequential(pool, _conv_act(in_channels, pool_proj, 1, bn))
            self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj
        else:
            self.branch2 = _conv_act(in_channels, ch3x3, 3, bn)
            self.branch3 = _conv_act(in_channels, ch5x5, 5, bn)
            self.branch4 = nn.Sequential(pool)
            self.out_channels = ch1x1 + ch3x3 + ch5x5 + in_channels

    def forward(self, x: Tensor) -> Tensor:
        _checks.check_tensor(x, "InceptionBlock", ("N", self.in_channels, "H", "W"))
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([branch(x) for branch in branches], dim=1)


class GoogLeNetSmall(nn.Module):
    """A five-block GoogLeNet for 32x32 images.

    Shapes: ``(N, in_channels, 32, 32) -> (N, num_classes)`` (any size >= 4 works; the head
    averages over space).

    ``features``: a 3x3 stem (64 channels), Inception blocks 3a and 3b at full resolution,
    3x3/2 max pooling, blocks 4a and 4b, pooling again, block 5a; then global average pooling,
    dropout and one linear layer, as in the paper. Each block has exactly half the channels
    of the paper's block of the same name. ``torchvision.models.googlenet`` (6.6M parameters
    without its auxiliary heads) has a 7x7 stride-2 stem, nine blocks and auxiliary
    classifiers; each cnnlab :class:`InceptionBlock` corresponds to one of its ``Inception``
    modules.

    Args:
        in_channels, num_classes: input channels and classes.
        reduce: use the 1x1 reductions (``False`` builds the naive blocks; channels then grow).
        batch_norm: batch norm after each convolution (on by default: it trains much faster).
        dropout: dropout before the linear layer.
        width_mult: scales every channel count (0.25 makes a quick CPU model).

    >>> GoogLeNetSmall()(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """

    # (ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj): half of each block of the paper's
    # Table 1; None marks a 3x3 stride-2 max pooling.
    _LAYOUT: tuple[tuple[str, tuple[int, ...] | None], ...] = (
        ("inception3a", (32, 48, 64, 8, 16, 16)),
        ("inception3b", (64, 64, 96, 16, 48, 32)),
        ("pool3", None),
        ("inception4a", (96, 48, 104, 8, 24, 32)),
        ("inception4b", (80, 56, 112, 12, 32, 32)),
        ("pool4", None),
        ("inception5a", (128, 80, 160, 16, 64, 64)),
    )

    def __init__(
        self,
        in_channels: int = 3,
        *,
        num_classes: int = 10,
        reduce: bool = True,
        batch_norm: bool = True,
        dropout: float = 0.2,
        width_mult: float = 1.0,
    ):
        super().__init__()
        _checks.positive_ints(in_channels=in_channels, num_classes=num_classes)
        if width_mult <= 0:
            raise ValueError(f"width_mult must be positive, got {width_mult}")

        def scaled(c: int) -> int:
            return max(1, round(c * width_mult))

        self.in_channels = in_channels
        channels = scaled(64)
        layers: list[tuple[str, nn.Module]] = [
            ("stem", _conv_act(in_channels, channels, 3, batch_norm))
        ]
        for name, spec in self._LAYOUT:
            if spec is None:
                layers.append((name, nn.MaxPool2d(kernel_size=3, stride=2, padding=1)))
                continue
            c1, c3r, c3, c5r, c5, cp = (scaled(c) for c in spec)
            block = InceptionBlock(
                channels, c1, c3r, c3, c5r, c5, cp, reduce=reduce, batch_norm=batch_norm
            )
            layers.append((name, block))
            channels = block.out_channels
        self.features = nn.Sequential(OrderedDict(layers))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(channels, num_classes)
        )

    def forward(self, x: Tensor) -> Tensor:
        _checks.check_tensor(x, "GoogLeNetSmall", ("N", self.in_channels, "H", "W"))
        _check_min_size(x, "GoogLeNetSmall", 4)
        return self.classifier(self.avgpool(self.features(x)))



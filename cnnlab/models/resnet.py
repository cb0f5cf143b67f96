"""Residual networks (He et al., 2016): the blocks of chapter 09 and the CIFAR ResNets.

``ResidualBlock`` is the block as the text draws it; ``BasicBlock`` and ``Bottleneck`` keep
torchvision's signatures and attribute names (torchvision's weights load into them);
``PlainBlock`` is the same block without its shortcut, for the degradation experiment;
``resnet_cifar`` and ``plain_cifar`` build the 6n+2-layer networks of the paper's section 4.2.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from cnnlab import _checks
from cnnlab.models._blocks import _check_min_size, conv1x1, conv3x3

__all__ = [
    "ResidualBlock",
    "BasicBlock",
    "PlainBlock",
    "Bottleneck",
    "ZeroPadShortcut",
    "resnet_stage",
    "CifarResNet",
    "resnet_cifar",
    "plain_cifar",
]



class ResidualBlock(nn.Module):
    """The residual block of the text: ``y = relu(F(x) + x)`` with ``F`` = conv-BN-ReLU-conv-BN.

    Shapes: ``(N, channels, H, W) -> (N, channels, H, W)``.

    Both convolutions are 3x3 and keep the size, so the input can be added back unchanged (an
    identity shortcut). If the best the block can do is nothing, it only has to push ``F``
    towards zero. This is :class:`BasicBlock` without stride or downsampling: its state dict
    loads into ``BasicBlock(channels, channels)``.

    >>> ResidualBlock(16)(torch.zeros(1, 16, 8, 8)).shape
    torch.Size([1, 16, 8, 8])
    """

    def __init__(self, channels: int):
        super().__init__()
        _checks.positive_ints(channels=channels)
        self.channels = channels
        self.conv1 = conv3x3(channels, channels)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        _checks.check_tensor(x, "ResidualBlock", ("N", self.channels, "H", "W"))
        fx = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        return self.relu(fx + x)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a shortcut; ResNet-18/34's block and the CIFAR ResNets'.

    Shapes: ``(N, inplanes, H, W) -> (N, planes, H / stride, W / stride)``.

    Same arguments, attribute names and computation as ``torchvision.models.resnet.BasicBlock``
    (its state dicts load into this class): ``conv1`` carries the stride, and when the shape
    changes, ``downsample`` maps the input to the output's shape (torchvision: a strided 1x1
    convolution with batch norm, He et al.'s option B; the CIFAR networks here: a
    :class:`ZeroPadShortcut`, option A). ``downsample=None`` means an identity shortcut.

    >>> BasicBlock(16, 16)(torch.zeros(1, 16, 8, 8)).shape
    torch.Size([1, 16, 8, 8])
    """

    expansion: int = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: Callable[..., nn.Module] | None = None,
    ):
        super().__init__()
        _checks.positive_ints(
            inplanes=inplanes,
            planes=planes,
            stride=stride,
            groups=groups,
            base_width=base_width,
            dilation=dilation,
        )
        if groups != 1 or base_width != 64:
            raise ValueError(
                f"BasicBlock supports only groups=1 and base_width=64, got {groups}, {base_width}"
            )
        if dilation != 1:
            raise ValueError(f"BasicBlock supports only dilation=1, got {dilation}")
        norm = norm_layer or nn.BatchNorm2d
        self.inplanes = inplanes
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm(planes)
        self.relu = nn.ReLU()
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm(planes)
        self.downsample = downsample
        self.stride = stride

    def residual(self, x: Tensor) -> Tensor:
        """``F(x)``: conv-BN-ReLU-conv-BN, without the shortcut."""
        return self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))

    def forward(self, x: Tensor) -> Tensor:
        _checks.check_tensor(x, type(self).__name__, ("N", self.inplanes, "H", "W"))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(self.residual(x) + shortcut)


class PlainBlock(BasicBlock):
    """:class:`BasicBlock` without its shortcut: ``y = relu(F(x))``.

    Shapes: ``(N, inplanes, H, W) -> (N, planes, H / stride, W / stride)``. Same layers and
    parameter names as :class:`BasicBlock` (a residual network's state dict loads into its
    plain twin), so the two differ only in the wiring -- what the degradation experiment of
    He et al. (2016) needs.

    >>> PlainBlock(16, 32, stride=2)(torch.zeros(1, 16, 8, 8)).shape
    torch.Size([1, 32, 4, 4])
    """

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        **kwargs: Any,
    ):
        if downsample is not None:
            raise ValueError("PlainBlock has no shortcut, so it takes no downsample module")
        super().__init__(inplanes, planes, stride, None, **kwargs)

    def forward(self, x: Tensor) -> Tensor:
        _checks.check_tensor(x, "PlainBlock", ("N", self.inplanes, "H", "W"))
        return self.relu(self.residual(x))


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4), with a shortcut; ResNet-50/101/152's block.

    Shapes: ``(N, inplanes, H, W) -> (N, 4 * planes, H / stride, W / stride)``.

    Same arguments, attribute names and computation as ``torchvision.models.resnet.Bottleneck``,
    so ``resnet_stage(Bottleneck, 256, 128, 4, stride=2)`` loads the state dict of
    ``torchvision.models.resnet50().layer2`` and computes the same function (tested). Like
    torchvision ("ResNet v1.5"), the stride sits on the 3x3 convolution; He et al. put it on the
    first 1x1, which is why torchvision's ResNet-50 needs 4.1G multiply-adds where the paper
    lists 3.8G. ``groups`` and ``base_width`` give ResNeXt and wide ResNets:
    the middle width is ``int(planes * base_width / 64) * groups``.

    >>> Bottleneck(64, 16)(torch.zeros(1, 64, 8, 8)).shape
    torch.Size([1, 64, 8, 8])
    """

    expansion: int = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: Callable[..., nn.Module] | None = None,
    ):
        super().__init__()
        _checks.positive_ints(
            inplanes=inplanes,
            planes=planes,
            stride=stride,
            groups=groups,
            base_width=base_width,
            dilation=dilation,
        )
        norm = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.inplanes = inplanes
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm(planes * self.expansion)
        self.relu = nn.ReLU()
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        _checks.check_tensor(x, "Bottleneck", ("N", self.inplanes, "H", "W"))
        reduced = self.relu(self.bn1(self.conv1(x)))  # 1x1: fewer channels
        mixed = self.relu(self.bn2(self.conv2(reduced)))  # 3x3 at the reduced width
        expanded = self.bn3(self.conv3(mixed))  # 1x1: back to 4 * planes
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(expanded + shortcut)


class ZeroPadShortcut(nn.Module):
    """He et al.'s option-A shortcut: subsample by ``stride``, pad new channels with zeros.

    Shapes: ``(N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))``.
    Parameter-free, so a network with these shortcuts has exactly the parameters of its plain
    twin.

    >>> ZeroPadShortcut(16, 32, stride=2)(torch.ones(1, 16, 8, 8)).shape
    torch.Size([1, 32, 4, 4])
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 2):
        super().__init__()
        _checks.positive_ints(in_channels=in_channels, out_channels=out_channels, stride=stride)
        if out_channels < in_channels:
            raise ValueError(
                f"ZeroPadShortcut can only add channels: got {in_channels} -> {out_channels}"
            )
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x: Tensor) -> Tensor:
        _checks.check_tensor(x, "ZeroPadShortcut", ("N", self.in_channels, "H", "W"))
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, 0, self.out_channels - self.in_channels))


def resnet_stage(
    block: type[BasicBlock] | type[Bottleneck],
    inplanes: int,
    planes: int,
    blocks: int,
    stride: int = 1,
    *,
    shortcut: str = "B",
) -> nn.Sequential:
    """A stage of ``blocks`` residual blocks; the first may change stride and channels.

    Shapes: ``(N, inplanes, H, W) -> (N, planes * block.expansion, H / stride, W / stride)``.

    This is torchvision's ``ResNet._make_layer``: ``torchvision.models.resnet50()`` is a 7x7
    stride-2 stem with 3x3 max pooling, then ``resnet_stage(Bottleneck, 64, 64, 3)``,
    ``(256, 128, 4, stride=2)``, ``(512, 256, 6, stride=2)``, ``(1024, 512, 3, stride=2)``,
    global average pooling and a 2048 -> 1000 linear layer. ResNet-18 is the same with
    ``BasicBlock`` and 2 blocks per stage (ResNet-34: 3, 4, 6, 3).

    Args:
        block: :class:`BasicBlock`, :class:`Bottleneck` or :class:`PlainBlock`.
        inplanes: channels coming in.
        planes: the block's width (output channels are ``planes * block.expansion``).
        blocks: number of blocks.
        stride: stride of the first block.
        shortcut: when the first block changes the shape, ``"B"`` projects with a strided 1x1
            convolution and batch norm (torchvision), ``"A"`` subsamples and zero-pads
            (:class:`ZeroPadShortcut`, no parameters). Ignored for :class:`PlainBlock`.

    >>> stage = resnet_stage(BasicBlock, 16, 32, 3, stride=2, shortcut="A")
    >>> stage(torch.zeros(1, 16, 32, 32)).shape
    torch.Size([1, 32, 16, 16])
    """
    _checks.positive_ints(inplanes=inplanes, planes=planes, blocks=blocks, stride=stride)
    if shortcut not in ("A", "B"):
        raise ValueError(
            f"shortcut must be 'A' (zero-padding) or 'B' (projection), got {shortcut!r}"
        )
    outplanes = planes * block.expansion
    downsample: nn.Module | None = None
    if (stride != 1 or inplanes != outplanes) and block is not PlainBlock:
        if shortcut == "A":
            downsample = ZeroPadShortcut(inplanes, outplanes, stride)
        else:
            downsample = nn.Sequential(
                conv1x1(inplanes, outplanes, stride), nn.BatchNorm2d(outplanes)
            )
    layers: list[nn.Module] = [block(inplanes, planes, stride, downsample)]
    layers += [block(outplanes, planes) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class CifarResNet(nn.Module):
    """The CIFAR-10 networks of He et al. (2016), section 4.2, with or without shortcuts.

    Shapes: ``(N, in_channels, H, W) -> (N, num_classes)`` (32x32 in the paper; any size works,
    the head averages over space).

    A 3x3 convolution to ``width`` channels, then three stages of ``n`` blocks with ``width``,
    ``2 width`` and ``4 width`` channels on 32x32, 16x16 and 8x8 maps, global average pooling
    and a linear layer: ``6n + 2`` weighted layers. Shortcuts are identities, and where the
    shape changes they subsample and zero-pad (option A), so residual and plain networks have
    exactly the same parameters. Parameter counts at ``width=16`` (Table 6 of the paper prints
    0.27M, 0.46M, 0.66M, 0.85M, 1.7M): ResNet-20 269,722; -32 464,154; -44 658,586;
    -56 853,018; -110 1,727,962. Build them with :func:`resnet_cifar` and :func:`plain_cifar`.

    Attributes:
        features: ``conv1, bn1, relu, layer1, layer2, layer3``.
        avgpool, classifier: global average pooling; ``flatten, fc``.
    """

    def __init__(
        self,
        depth: int,
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        width: int = 16,
        residual: bool = True,
    ):
        super().__init__()
        _checks.positive_ints(num_classes=num_classes, in_channels=in_channels, width=width)
        depth = _checks.as_int(depth, "depth")
        if depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth must be 6n+2 (e.g. 20, 32, 44, 56, 110), got {depth!r}")
        n = (depth - 2) // 6
        block: type[BasicBlock] = BasicBlock if residual else PlainBlock
        self.depth, self.residual, self.in_channels = depth, residual, in_channels
        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("conv1", conv3x3(in_channels, width)),
                    ("bn1", nn.BatchNorm2d(width)),
                    ("relu", nn.ReLU()),
                    ("layer1", resnet_stage(block, width, width, n, shortcut="A")),
                    ("layer2", resnet_stage(block, width, 2 * width, n, 2, shortcut="A")),
                    ("layer3", resnet_stage(block, 2 * width, 4 * width, n, 2, shortcut="A")),
                ]
            )
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            OrderedDict([("flatten", nn.Flatten()), ("fc", nn.Linear(4 * width, num_classes))])
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        name = f"{'resnet' if self.residual else 'plain'}_cifar({self.depth})"
        _checks.check_tensor(x, name, ("N", self.in_channels, "H", "W"))
        _check_min_size(x, name, 4)
        return self.classifier(self.avgpool(self.features(x)))


def resnet_cifar(
    depth: int, *, num_classes: int = 10, in_channels: int = 3, width: int = 16
) -> CifarResNet:
    """ResNet-``depth`` for CIFAR-10 (He et al., 2016, section 4.2); ``depth = 6n + 2``.

    Shapes: ``(N, in_channels, 32, 32) -> (N, num_classes)``. ``width`` is the first stage's
    channel count (16 in the paper; 8 or 4 make CPU experiments quick).

    >>> count_params(resnet_cifar(20))
    269722
    """
    return CifarResNet(depth, num_classes=num_classes, in_channels=in_channels, width=width,
                       residual=True)


def plain_cifar(
    depth: int, *, num_classes: int = 10, in_channels: int = 3, width: int = 16
) -> CifarResNet:
    """The plain twin of :func:`resnet_cifar`: the same layers and parameters, no shortcuts.

    Shapes: ``(N, in_channels, 32, 32) -> (N, num_classes)``.

    >>> count_params(plain_cifar(20)) == count_params(resnet_cifar(20))
    True
    """
    return CifarResNet(depth, num_classes=num_classes, in_channels=in_channels, width=width,
                       residual=False)



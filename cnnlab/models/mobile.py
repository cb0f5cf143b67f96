"""Efficient blocks (chapter 10): MobileNet's depthwise-separable convolution,
squeeze-and-excitation, and EfficientNet's MBConv (inverted residual).
"""

from __future__ import annotations

from torch import Tensor, nn

from cnnlab import _checks
from cnnlab.models._blocks import _activation, conv1x1

__all__ = [
    "DepthwiseSeparableConv",
    "SqueezeExcitation",
    "MBConv",
]



class DepthwiseSeparableConv(nn.Module):
    """A kxk convolution split in two (MobileNet): per-channel kxk, then 1x1 across channels.

    Shapes: ``(N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))``.

    Weights: ``in k^2 + in out`` instead of ``in out k^2``; for 3x3 and 256 -> 256 channels
    that is 67,840 instead of 589,824 (8.7x fewer), and the multiply-adds shrink by the same
    factor. Each half is followed by batch norm (if ``norm``) and the activation.

    >>> DepthwiseSeparableConv(32, 64, stride=2)(torch.zeros(1, 32, 16, 16)).shape
    torch.Size([1, 64, 8, 8])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        *,
        norm: bool = True,
        activation: str = "relu",
    ):
        super().__init__()
        _checks.positive_ints(
            in_channels=in_channels,
            out_channels=out_channels,
            kernel_size=kernel_size,
            stride=stride,
        )
        self.in_channels = in_channels
        self.depthwise = nn.Conv2d(
            in_channels,
            in_channels,
            kernel_size,
            stride,
            padding=kernel_size // 2,
            groups=in_channels,
            bias=not norm,
        )
        self.bn1 = nn.BatchNorm2d(in_channels) if norm else nn.Identity()
        self.act1 = _activation(activation)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=not norm)
        self.bn2 = nn.BatchNorm2d(out_channels) if norm else nn.Identity()
        self.act2 = _activation(activation)

    def forward(self, x: Tensor) -> Tensor:
        _checks.check_tensor(x, "DepthwiseSeparableConv", ("N", self.in_channels, "H", "W"))
        x = self.act1(self.bn1(self.depthwise(x)))
        return self.act2(self.bn2(self.pointwise(x)))


class SqueezeExcitation(nn.Module):
    """Reweight channels by a gate computed from their global averages (Hu et al., 2018).

    Shapes: ``(N, channels, H, W) -> (N, channels, H, W)``. Average over space, 1x1 conv down to
    ``squeeze_channels``, activation, 1x1 conv back up, sigmoid, multiply. Same layers and
    names (``fc1``, ``fc2``) as ``torchvision.ops.SqueezeExcitation``.

    >>> SqueezeExcitation(32, 8)(torch.zeros(1, 32, 4, 4)).shape
    torch.Size([1, 32, 4, 4])
    """

    def __init__(self, channels: int, squeeze_channels: int, activation: str = "silu"):
        super().__init__()
        _checks.positive_ints(channels=channels, squeeze_channels=squeeze_channels)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.act = _activation(activation)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        _checks.check_tensor(x, "SqueezeExcitation", ("N", self.fc2.out_channels, "H", "W"))
        scale = self.gate(self.fc2(self.act(self.fc1(self.avgpool(x)))))
        return x * scale


class MBConv(nn.Module):
    """EfficientNet's mobile inverted bottleneck (Tan and Le, 2019; Sandler et al., 2018).

    Shapes: ``(N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))``.

    1x1 expansion to ``expand_ratio x in_channels`` (skipped when the ratio is 1), depthwise
    kxk with the stride, squeeze-and-excitation (squeezing to ``in_channels x se_ratio``),
    1x1 projection with no activation ("linear bottleneck"), and a residual connection when the
    input and output shapes match. Activations are SiLU. Parameters and their order match
    ``torchvision.models.efficientnet.MBConv`` for the same configuration (tested on a block of
    EfficientNet-B0); torchvision also rounds channel counts to multiples of 8 and adds
    stochastic depth on the residual branch, both left out here.

    >>> MBConv(16, 24, expand_ratio=6, stride=2)(torch.zeros(1, 16, 32, 32)).shape
    torch.Size([1, 24, 16, 16])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        expand_ratio: int = 6,
        kernel_size: int = 3,
        stride: int = 1,
        se_ratio: float = 0.25,
    ):
        super().__init__()
        _checks.positive_ints(
            in_channels=in_channels,
            out_channels=out_channels,
            expand_ratio=expand_ratio,
            kernel_size=kernel_size,
            stride=stride,
        )
        if stride not in (1, 2):
            raise ValueError(f"MBConv stride must be 1 or 2, got {stride}")
        hidden = in_channels * expand_ratio
        self.in_channels = in_channels
        self.use_residual = stride == 1 and in_channels == out_channels
        self.expand: nn.Module = nn.Identity()
        if expand_ratio != 1:
            self.expand = nn.Sequential(
                conv1x1(in_channels, hidden), nn.BatchNorm2d(hidden), nn.SiLU()
            )
        self.depthwise = nn.Sequential(
            nn.Conv2d(
                hidden,
                hidden,
                kernel_size,
                stride,
                padding=kernel_size // 2,
                groups=hidden,
                bias=False,
            ),
            nn.BatchNorm2d(hidden),
            nn.SiLU(),
        )
        self.se = SqueezeExcitation(hidden, max(1, int(in_channels * se_ratio)))
        self.project = nn.Sequential(conv1x1(hidden, out_channels), nn.BatchNorm2d(out_channels))

    def forward(self, x: Tensor) -> Tensor:
        _checks.check_tensor(x, "MBConv", ("N", self.in_channels, "H", "W"))
        out = self.project(self.se(self.depthwise(self.expand(x))))
        return out + x if self.use_residual else out



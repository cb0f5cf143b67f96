"""VGG (Simonyan and Zisserman, 2015): stacks of 3x3 convolutions (chapter 08).

``vgg_block`` is one stage (n convolutions, then a 2x2 max pool); ``VGGSmall`` builds a
network from one of the :data:`VGG_CFGS` lists, sized for 32x32 inputs.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from cnnlab import _checks
from cnnlab.models._blocks import _activation, _init_convs

__all__ = [
    "VGG_CFGS",
    "vgg_block",
    "VGGSmall",
]

VGG_CFGS: dict[str, list[int | str]] = {
    "small": [32, 32, "M", 64, 64, "M", 128, 128, "M"],
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}  # fmt: skip


def vgg_block(
    in_channels: int,
    out_channels: int,
    num_convs: int,
    *,
    activation: str = "relu",
    batch_norm: bool = False,
) -> nn.Sequential:
    """VGG's unit: ``num_convs`` 3x3 convolutions (padding 1), then 2x2 max pooling.

    Shapes: ``(N, in_channels, H, W) -> (N, out_channels, H // 2, W // 2)``. Two stacked 3x3
    convolutions see a 5x5 window with 2 x 9 = 18 weights per channel pair instead of 25, and
    put a nonlinearity between them.

    >>> vgg_block(3, 64, 2)(torch.zeros(1, 3, 32, 32)).shape
    torch.Size([1, 64, 16, 16])
    """
    _checks.positive_ints(in_channels=in_channels, out_channels=out_channels, num_convs=num_convs)
    return _vgg_layers([out_channels] * num_convs + ["M"], in_channels, activation, batch_norm)


def _vgg_layers(
    cfg: Sequence[int | str], in_channels: int, activation: str, batch_norm: bool
) -> nn.Sequential:
    """A flat ``nn.Sequential`` from a cfg list (same indices as ``torchvision.models.vgg``)."""
    layers: list[nn.Module] = []
    channels = in_channels
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        elif isinstance(v, int) and not isinstance(v, bool) and v > 0:
            layers.append(nn.Conv2d(channels, v, kernel_size=3, padding=1))
            if batch_norm:
                layers.append(nn.BatchNorm2d(v))
            layers.append(_activation(activation))
            channels = v
        else:
            raise ValueError(f"cfg entries must be positive ints or 'M', got {v!r}")
    return nn.Sequential(*layers)


class VGGSmall(nn.Module):
    """A VGG-style network built from a cfg list, sized for small images.

    Shapes: ``(N, in_channels, image_size, image_size) -> (N, num_classes)``.

    ``features`` is built exactly like torchvision's ``vgg.make_layers``: with ``cfg="D"`` and
    ``in_channels=3`` its layers, indices and parameter shapes are those of
    ``torchvision.models.vgg16().features`` (the test loads one state dict into the other).
    The head is torchvision's (linear, activation, dropout, twice, then the output layer) with
    ``hidden`` units instead of 4,096 and no adaptive pooling: the input size is fixed, and
    the first linear layer reads ``channels x (image_size / 2**pools)**2`` values.

    Args:
        cfg: a key of :data:`VGG_CFGS` or a list such as ``[32, 32, "M", 64, "M"]``.
        in_channels: 1 or 3.
        num_classes: size of the output layer.
        image_size: height = width of the input; must be divisible by 2 ** (number of "M").
        hidden: units of the two hidden linear layers.
        activation: ``"relu"`` or ``"tanh"`` (chapter 08 compares them).
        dropout: dropout probability after the hidden linear layers.
        batch_norm: insert ``BatchNorm2d`` after every convolution (torchvision's ``vgg16_bn``).

    >>> VGGSmall("small", in_channels=1)(torch.zeros(2, 1, 32, 32)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        cfg: str | Sequence[int | str] = 'small',
        *,
        in_channels: int = 3,
        num_classes: int = 10,
        image_size: int = 32,
        hidden: int = 256,
        activation: str = 'relu',
        dropout: float = 0.5,
        batch_norm: bool = False,
    ):
        super().__init__()
        _checks.positive_ints(
            in_channels=in_channels,
            num_classes=num_classes,
            image_size=image_size,
            hidden=hidden,
        )
        if isinstance(cfg, str):
            if cfg not in VGG_CFGS:
                raise ValueError(f"cfg must be one of {sorted(VGG_CFGS)} or a list, got {cfg!r}")
            cfg = VGG_CFGS[cfg]
        cfg = list(cfg)
        convs = [v for v in cfg if v != "M"]
        if not convs:
            raise ValueError(f"cfg needs at least one convolution, got {cfg}")
        pools = cfg.count("M")
        if image_size % 2**pools:
            raise ValueError(
                f"image_size must be divisible by 2**{pools} (one halving per 'M' in cfg), "
                f"got {image_size}"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.in_channels, self.image_size = in_channels, image_size
        self.features = _vgg_layers(cfg, in_channels, activation, batch_norm)
        last = convs[-1]
        assert isinstance(last, int)
        flat = last * (image_size // 2**pools) ** 2
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, hidden),
            _activation(activation),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            _activation(activation),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        _init_convs(self, activation)

    def forward(self, x: Tensor) -> Tensor:
        s = self.image_size
        _checks.check_tensor(x, "VGGSmall", ("N", self.in_channels, s, s))
        return self.classifier(self.features(x))



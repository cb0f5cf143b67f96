"""The architectures of the course, small enough to read and to train on a laptop.

Chapters 06-10 and the labs build and train these networks. Each one is a compact teaching
version of a published design, sized for small images (32x32 digits or CIFAR-10 photographs);
where a network only makes sense at ImageNet scale, the course uses torchvision's own definition
(``torchvision.models.resnet50`` and friends) and the docstrings below say which cnnlab block
corresponds to which part of it.

The module reads top to bottom, from the oldest idea to the newest:

1. helpers -- ``count_params``, ``conv3x3``, ``conv1x1`` and the input checks every model runs;
2. ``LeNet5`` (LeCun et al., 1998);
3. ``AlexNetSmall`` (Krizhevsky et al., 2012), ``vgg_block`` and ``VGGSmall`` (Simonyan and
   Zisserman, 2015);
4. ``InceptionBlock`` and ``GoogLeNetSmall`` (Szegedy et al., 2015);
5. ``ResidualBlock``, ``BasicBlock``, ``Bottleneck``, ``resnet_stage``, ``resnet_cifar`` and
   ``plain_cifar`` (He et al., 2016);
6. ``DepthwiseSeparableConv`` (MobileNet), ``SqueezeExcitation`` and ``MBConv`` (EfficientNet);
7. ``TinyVGG`` (the network of CNN Explainer);
8. convolutions beyond images: ``TextCNN`` (Kim, 2014), ``Conv1dNet`` and ``Conv3dNet``;
9. ``SmallViT``, a patch-embedding vision transformer for the inductive-bias comparison;
10. ``summary`` (a per-layer table of shapes, parameters, multiply-adds and receptive fields)
    and ``torchvision_param_counts``.

Conventions. Tensors are NCHW (``N`` = batch). Every model checks the shape of its input in
``forward`` and raises a ``ValueError`` that names the expected shape. Convolutions followed by
batch normalisation carry no bias (the normalisation's shift replaces it), as in torchvision.
Activations are never in-place, so that the hooks of :mod:`cnnlab.inside` can see every tensor.
Feature extractors are exposed as ``model.features`` (an ``nn.Sequential``) and heads as
``model.classifier``, so :mod:`cnnlab.receptive` and :mod:`cnnlab.inside` can walk them.

>>> import torch
>>> from cnnlab.models import LeNet5, count_params
>>> net = LeNet5()
>>> net(torch.zeros(2, 1, 32, 32)).shape
torch.Size([2, 10])
>>> count_params(net)
61706
"""

from __future__ import annotations

import html
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "count_params",
    "conv3x3",
    "conv1x1",
    "LENET5_C3_TABLE",
    "LeNet5",
    "AlexNetSmall",
    "VGG_CFGS",
    "vgg_block",
    "VGGSmall",
    "InceptionBlock",
    "GoogLeNetSmall",
    "ResidualBlock",
    "BasicBlock",
    "PlainBlock",
    "Bottleneck",
    "ZeroPadShortcut",
    "resnet_stage",
    "CifarResNet",
    "resnet_cifar",
    "plain_cifar",
    "DepthwiseSeparableConv",
    "SqueezeExcitation",
    "MBConv",
    "TinyVGG",
    "TextCNN",
    "Conv1dNet",
    "Conv3dNet",
    "PatchEmbedding",
    "SmallViT",
    "SummaryRow",
    "ModelSummary",
    "summary",
    "TORCHVISION_MODELS",
    "torchvision_param_counts",
]


# ---------------------------------------------------------------------------------------------
# 1. Helpers
# ---------------------------------------------------------------------------------------------


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


def conv3x3(
    in_channels: int, out_channels: int, stride: int = 1, groups: int = 1, dilation: int = 1
) -> nn.Conv2d:
    """3x3 convolution without bias that keeps the spatial size when ``stride=1``.

    Shapes: ``(N, in_channels, H, W) -> (N, out_channels, ceil(H / stride), ceil(W / stride))``.

    >>> conv3x3(16, 32, stride=2)(torch.zeros(1, 16, 32, 32)).shape
    torch.Size([1, 32, 16, 16])
    """
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


def _check_input(x: Any, who: str, dims: Sequence[int | str], hint: str = "") -> None:
    """Raise a readable error unless ``x`` is a tensor of shape ``dims``.

    ``dims`` lists the expected sizes; an int must match exactly, a string (``"N"``, ``"H"``)
    matches any size. The message names the expected and the actual shape.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{who} expects a torch.Tensor, got {type(x).__name__}")
    expected = "(" + ", ".join(str(d) for d in dims) + ")"
    shape = tuple(x.shape)
    fits = len(shape) == len(dims) and all(
        isinstance(d, str) or d == s for d, s in zip(dims, shape, strict=True)
    )
    if not fits:
        message = f"{who} expects input of shape {expected}, got {shape}"
        raise ValueError(message + (f"; {hint}" if hint else ""))


def _check_min_size(x: Tensor, who: str, minimum: int) -> None:
    """Raise unless every spatial (or temporal) size of ``x`` is at least ``minimum``."""
    if min(x.shape[2:]) < minimum:
        raise ValueError(
            f"{who} needs spatial sizes of at least {minimum}, got input shape {tuple(x.shape)}"
        )


def _positive(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


# ---------------------------------------------------------------------------------------------
# 2. LeNet-5
# ---------------------------------------------------------------------------------------------

#: LeCun et al. (1998), Table I: the S2 feature maps (0-5) each C3 map (0-15) reads.
#: 60 of the 96 possible connections; ``sum(map(len, LENET5_C3_TABLE)) == 60``.
LENET5_C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip


class LeNet5(nn.Module):
    """LeNet-5 (LeCun, Bottou, Bengio and Haffner, 1998) on 32x32 single-channel images.

    Shapes: ``(N, in_channels, 32, 32) -> (N, num_classes)``.

    ========  ==========================  ================  ==========  =================
    layer     what                        output            params      paper's params
    ========  ==========================  ================  ==========  =================
    C1        conv 5x5, 6 maps            6 x 28 x 28       156         156
    S2        pool 2x2                    6 x 14 x 14       0           12
    C3        conv 5x5, 16 maps           16 x 10 x 10      2,416       1,516
    S4        pool 2x2                    16 x 5 x 5        0           32
    C5        conv 5x5, 120 maps          120 x 1 x 1       48,120      48,120
    F6        linear 120 -> 84            84                10,164      10,164
    output    linear 84 -> 10             10                850         (840, fixed RBF)
    total                                                   61,706      60,000 trainable
    ========  ==========================  ================  ==========  =================

    Where this version departs from the paper, and what each departure costs:

    * **C3 is fully connected here.** In the paper each C3 map reads only 3, 4 or 6 of the six
      S2 maps (:data:`LENET5_C3_TABLE`, 60 of 96 connections), to break symmetry between maps
      and to save computation: 60 x 25 weights + 16 biases = 1,516 parameters. Reading all six
      costs 16 x (6 x 25 + 1) = 2,416, i.e. 900 more; it also raises C3's multiply-adds from
      100 x 60 x 25 = 150,000 to 240,000 per image.
    * **S2 and S4 have no parameters here.** The paper's subsampling units added their four
      inputs, multiplied by one trainable coefficient and added one trainable bias per map
      (before a sigmoid): 2 x 6 = 12 parameters in S2 and 2 x 16 = 32 in S4. Plain average
      pooling drops those 44.
    * **The output is a trainable linear layer.** The paper's output units were Euclidean
      radial basis functions comparing F6's 84 values with a 7x12 bitmap of each class,
      84 x 10 = 840 parameters set by hand and kept fixed (at least initially). A linear layer
      with bias has 84 x 10 + 10 = 850 trainable ones.
    * The paper squashed with a scaled tanh, ``1.7159 tanh(2a/3)``; ``"classic"`` uses plain
      ``tanh``.

    Totals: the paper's trainable parameters are 156 + 12 + 1,516 + 32 + 48,120 + 10,164 =
    60,000 exactly (the "about 60k" everyone quotes), 60,840 with the fixed RBF layer.
    ``LeNet5("classic")`` has 60,000 + 900 - 44 + 850 = 61,706.

    Args:
        variant: ``"classic"`` (tanh, average pooling, as in 1998) or ``"modern"`` (ReLU, max
            pooling, how one would build it today).
        num_classes: size of the output layer.
        in_channels: 1 for grayscale digits.

    Attributes:
        features: ``c1, act1, s2, c3, act3, s4, c5, act5`` (an ``nn.Sequential``).
        classifier: ``flatten, f6, act6, output``.

    >>> net = LeNet5("modern")
    >>> net.features(torch.zeros(1, 1, 32, 32)).shape
    torch.Size([1, 120, 1, 1])
    """

    image_size = 32

    def __init__(self, variant: str = "classic", num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        if variant not in ("classic", "modern"):
            raise ValueError(f"variant must be 'classic' or 'modern', got {variant!r}")
        _positive("num_classes", num_classes)
        _positive("in_channels", in_channels)
        self.variant = variant
        self.in_channels = in_channels
        act = "tanh" if variant == "classic" else "relu"
        pool: type[nn.Module] = nn.AvgPool2d if variant == "classic" else nn.MaxPool2d
        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("c1", nn.Conv2d(in_channels, 6, kernel_size=5)),  # 6 x 28 x 28
                    ("act1", _activation(act)),
                    ("s2", pool(kernel_size=2, stride=2)),  # 6 x 14 x 14
                    ("c3", nn.Conv2d(6, 16, kernel_size=5)),  # 16 x 10 x 10
                    ("act3", _activation(act)),
                    ("s4", pool(kernel_size=2, stride=2)),  # 16 x 5 x 5
                    ("c5", nn.Conv2d(16, 120, kernel_size=5)),  # 120 x 1 x 1
                    ("act5", _activation(act)),
                ]
            )
        )
        self.classifier = nn.Sequential(
            OrderedDict(
                [
                    ("flatten", nn.Flatten()),
                    ("f6", nn.Linear(120, 84)),
                    ("act6", _activation(act)),
                    ("output", nn.Linear(84, num_classes)),
                ]
            )
        )

    def forward(self, x: Tensor) -> Tensor:
        hint = ""
        if x.ndim == 4 and tuple(x.shape[2:]) == (28, 28):
            hint = "pad MNIST's 28x28 digits by 2 pixels (or use size=32 in cnnlab.data)"
        _check_input(x, "LeNet5", ("N", self.in_channels, 32, 32), hint)
        return self.classifier(self.features(x))


# ---------------------------------------------------------------------------------------------
# 3. AlexNet and VGG, scaled down to 32x32 images
# ---------------------------------------------------------------------------------------------


def _pooled(size: int, kernel: int, stride: int, padding: int = 0) -> int:
    """Output size of a pooling (or convolution) window along one axis."""
    return (size + 2 * padding - kernel) // stride + 1


class AlexNetSmall(nn.Module):
    """AlexNet's recipe (Krizhevsky, Sutskever and Hinton, 2012) sized for 32x32 images.

    Shapes: ``(N, in_channels, image_size, image_size) -> (N, num_classes)``.

    Five convolutions with the original channel ratios 1 : 3 : 6 : 4 : 4 (64, 192, 384, 256, 256
    at ``width=64``), overlapping 3x3 max pooling with stride 2 after the first, second and
    fifth, then three fully connected layers with dropout before the first two. On a 32x32
    image the maps go 32 -> 15 -> 7 -> 3.

    How it maps onto ``torchvision.models.alexnet`` (61.1M parameters, 224x224 input):
    torchvision's first convolution is 11x11 with stride 4 (a 224 image becomes 55x55);
    here it is 5x5 with stride 1, since a 32x32 image has no pixels to spare. The second
    convolution (5x5), the three 3x3 convolutions, the pooling windows and the
    dropout-linear-ReLU head are the same, with the head's 4,096 units scaled to ``hidden``.
    torchvision follows the single-GPU variant (64-192-384-256-256 channels, no local response
    normalisation); the 2012 network had 96-256-384-384-256 channels split over two GPUs and
    normalised responses after the first two layers -- neither is kept here.

    Args:
        in_channels: 1 (digits) or 3 (colour photographs).
        num_classes: size of the output layer.
        image_size: height = width of the input (at least 15, so three poolings leave a pixel).
        width: channels of the first convolution; the others follow AlexNet's ratios.
        hidden: units of the two hidden fully connected layers.
        activation: ``"relu"`` (AlexNet's choice) or ``"tanh"`` (the comparison of chapter 08).
        dropout: dropout probability before the first two linear layers (0 turns it off).

    >>> AlexNetSmall(width=16, hidden=64)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 10,
        *,
        image_size: int = 32,
        width: int = 64,
        hidden: int = 1024,
        activation: str = "relu",
        dropout: float = 0.5,
    ):
        super().__init__()
        for name, value in (
            ("in_channels", in_channels),
            ("num_classes", num_classes),
            ("width", width),
            ("hidden", hidden),
        ):
            _positive(name, value)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        size = _pooled(_pooled(_pooled(image_size, 3, 2), 3, 2), 3, 2)
        if size < 1:
            raise ValueError(f"AlexNetSmall needs image_size >= 15, got {image_size}")
        self.in_channels, self.image_size = in_channels, image_size
        c1, c2, c3, c4 = width, 3 * width, 6 * width, 4 * width
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, c1, kernel_size=5, padding=2),
            _activation(activation),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c1, c2, kernel_size=5, padding=2),
            _activation(activation),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c2, c3, kernel_size=3, padding=1),
            _activation(activation),
            nn.Conv2d(c3, c4, kernel_size=3, padding=1),
            _activation(activation),
            nn.Conv2d(c4, c4, kernel_size=3, padding=1),
            _activation(activation),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Dropout(dropout),
            nn.Linear(c4 * size * size, hidden),
            _activation(activation),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            _activation(activation),
            nn.Linear(hidden, num_classes),
        )
        _init_convs(self, activation)

    def forward(self, x: Tensor) -> Tensor:
        s = self.image_size
        _check_input(x, "AlexNetSmall", ("N", self.in_channels, s, s))
        return self.classifier(self.features(x))


#: Layer lists in torchvision's format: an int is a 3x3 convolution with that many output
#: channels (followed by the activation), ``"M"`` a 2x2 max pooling. "A", "B", "D", "E" are the
#: columns of Simonyan and Zisserman's Table 1 (VGG-11, 13, 16, 19), as in torchvision;
#: "small" is three :func:`vgg_block` stages for CPU-sized experiments.
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
    _positive("num_convs", num_convs)
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
        cfg: str | Sequence[int | str] = "small",
        in_channels: int = 3,
        num_classes: int = 10,
        *,
        image_size: int = 32,
        hidden: int = 256,
        activation: str = "relu",
        dropout: float = 0.5,
        batch_norm: bool = False,
    ):
        super().__init__()
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
        _check_input(x, "VGGSmall", ("N", self.in_channels, s, s))
        return self.classifier(self.features(x))


# ---------------------------------------------------------------------------------------------
# 4. GoogLeNet / Inception
# ---------------------------------------------------------------------------------------------


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
        _check_input(x, "InceptionBlock", ("N", self.in_channels, "H", "W"))
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
        num_classes: int = 10,
        *,
        reduce: bool = True,
        batch_norm: bool = True,
        dropout: float = 0.2,
        width_mult: float = 1.0,
    ):
        super().__init__()
        _positive("in_channels", in_channels)
        _positive("num_classes", num_classes)
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
        _check_input(x, "GoogLeNetSmall", ("N", self.in_channels, "H", "W"))
        _check_min_size(x, "GoogLeNetSmall", 4)
        return self.classifier(self.avgpool(self.features(x)))


# ---------------------------------------------------------------------------------------------
# 5. ResNet
# ---------------------------------------------------------------------------------------------


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
        self.channels = channels
        self.conv1 = conv3x3(channels, channels)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, "ResidualBlock", ("N", self.channels, "H", "W"))
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
        _check_input(x, type(self).__name__, ("N", self.inplanes, "H", "W"))
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
        _check_input(x, "PlainBlock", ("N", self.inplanes, "H", "W"))
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
        _check_input(x, "Bottleneck", ("N", self.inplanes, "H", "W"))
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
        if out_channels < in_channels:
            raise ValueError(
                f"ZeroPadShortcut can only add channels: got {in_channels} -> {out_channels}"
            )
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, "ZeroPadShortcut", ("N", self.in_channels, "H", "W"))
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
    if shortcut not in ("A", "B"):
        raise ValueError(
            f"shortcut must be 'A' (zero-padding) or 'B' (projection), got {shortcut!r}"
        )
    _positive("blocks", blocks)
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
        num_classes: int = 10,
        in_channels: int = 3,
        width: int = 16,
        *,
        residual: bool = True,
    ):
        super().__init__()
        if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth must be 6n+2 (e.g. 20, 32, 44, 56, 110), got {depth!r}")
        _positive("width", width)
        _positive("in_channels", in_channels)
        _positive("num_classes", num_classes)
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
        _check_input(x, name, ("N", self.in_channels, "H", "W"))
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
    return CifarResNet(depth, num_classes, in_channels, width, residual=True)


def plain_cifar(
    depth: int, *, num_classes: int = 10, in_channels: int = 3, width: int = 16
) -> CifarResNet:
    """The plain twin of :func:`resnet_cifar`: the same layers and parameters, no shortcuts.

    Shapes: ``(N, in_channels, 32, 32) -> (N, num_classes)``.

    >>> count_params(plain_cifar(20)) == count_params(resnet_cifar(20))
    True
    """
    return CifarResNet(depth, num_classes, in_channels, width, residual=False)


# ---------------------------------------------------------------------------------------------
# 6. Efficient blocks: depthwise-separable convolution, squeeze-and-excitation, MBConv
# ---------------------------------------------------------------------------------------------


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
        _check_input(x, "DepthwiseSeparableConv", ("N", self.in_channels, "H", "W"))
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
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.act = _activation(activation)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, "SqueezeExcitation", ("N", self.fc2.out_channels, "H", "W"))
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
        if stride not in (1, 2):
            raise ValueError(f"MBConv stride must be 1 or 2, got {stride}")
        _positive("expand_ratio", expand_ratio)
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
        _check_input(x, "MBConv", ("N", self.in_channels, "H", "W"))
        out = self.project(self.se(self.depthwise(self.expand(x))))
        return out + x if self.use_residual else out


# ---------------------------------------------------------------------------------------------
# 7. TinyVGG (CNN Explainer)
# ---------------------------------------------------------------------------------------------


class TinyVGG(nn.Module):
    """The network CNN Explainer (Wang et al., 2020) draws: two conv-conv-pool blocks.

    Shapes: ``(N, in_channels, image_size, image_size) -> (N, num_classes)``.

    With the defaults (3x64x64 input, 10 filters per layer, 3x3 kernels without padding, as in
    CNN Explainer) the maps go 64 -> 62 -> 60 -> 30 -> 28 -> 26 -> 13, the flattened vector
    has 10 x 13 x 13 = 1,690 values, and the whole network has 19,920 parameters.

    Args:
        in_channels, num_classes: input channels and classes.
        hidden: filters in every convolution.
        image_size: height = width of the input.
        padding: 0 (CNN Explainer) or 1 ("same" convolutions).

    >>> TinyVGG()(torch.zeros(2, 3, 64, 64)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 10,
        *,
        hidden: int = 10,
        image_size: int = 64,
        padding: int = 0,
    ):
        super().__init__()
        _positive("hidden", hidden)
        size = image_size
        for _ in range(2):
            size = (size + 4 * padding - 4) // 2
        if size < 1:
            raise ValueError(f"TinyVGG image_size {image_size} is too small for two blocks")
        self.in_channels, self.image_size = in_channels, image_size
        layers: list[tuple[str, nn.Module]] = []
        channels = in_channels
        for b in (1, 2):
            for c in (1, 2):
                layers.append((f"conv_{b}_{c}", nn.Conv2d(channels, hidden, 3, padding=padding)))
                layers.append((f"relu_{b}_{c}", nn.ReLU()))
                channels = hidden
            layers.append((f"max_pool_{b}", nn.MaxPool2d(2)))
        self.features = nn.Sequential(OrderedDict(layers))
        self.classifier = nn.Sequential(
            OrderedDict(
                [
                    ("flatten", nn.Flatten()),
                    ("output", nn.Linear(hidden * size * size, num_classes)),
                ]
            )
        )

    def forward(self, x: Tensor) -> Tensor:
        s = self.image_size
        _check_input(x, "TinyVGG", ("N", self.in_channels, s, s))
        return self.classifier(self.features(x))


# ---------------------------------------------------------------------------------------------
# 8. Convolutions beyond images: text, time series, video
# ---------------------------------------------------------------------------------------------


class TextCNN(nn.Module):
    """Sentence classification with parallel 1-D convolutions (Kim, 2014).

    Shapes: token ids ``(N, L)`` (integers, ``L >= max(widths)``) -> ``(N, num_classes)``.

    Embed each token (``(N, L, embed_dim)``), treat the embedding dimensions as channels
    (``(N, embed_dim, L)``), run one ``Conv1d`` per filter width (2, 3, 4 and 5 tokens by
    default) with ReLU, keep each filter's maximum over time (``(N, num_filters)`` per width),
    concatenate, apply dropout and one linear layer. Max-over-time makes the output independent
    of the sentence length and of where in the sentence a phrase occurs.

    >>> TextCNN(vocab_size=100)(torch.randint(0, 100, (4, 12))).shape
    torch.Size([4, 2])
    """

    def __init__(
        self,
        vocab_size: int,
        num_classes: int = 2,
        *,
        embed_dim: int = 128,
        widths: Sequence[int] = (2, 3, 4, 5),
        num_filters: int = 100,
        dropout: float = 0.5,
        padding_idx: int | None = 0,
    ):
        super().__init__()
        _positive("vocab_size", vocab_size)
        if not widths or any(w < 1 for w in widths):
            raise ValueError(f"widths must be a non-empty list of positive ints, got {widths!r}")
        self.vocab_size, self.widths = vocab_size, tuple(widths)
        self.embedding = nn.Embedding(vocab_size, embed_dim, padding_idx=padding_idx)
        self.convs = nn.ModuleList(nn.Conv1d(embed_dim, num_filters, w) for w in self.widths)
        self.relu = nn.ReLU()
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(num_filters * len(self.widths), num_classes)
        )

    def forward(self, tokens: Tensor) -> Tensor:
        _check_input(tokens, "TextCNN", ("N", "L"))
        if tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
            raise TypeError(f"TextCNN expects integer token ids, got dtype {tokens.dtype}")
        if tokens.shape[1] < max(self.widths):
            raise ValueError(
                f"TextCNN needs sequences of at least {max(self.widths)} tokens (its widest "
                f"filter), got shape {tuple(tokens.shape)}"
            )
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= self.vocab_size):
            raise ValueError(
                f"token ids must lie in [0, {self.vocab_size}), got values in "
                f"[{int(tokens.min())}, {int(tokens.max())}]"
            )
        x = self.embedding(tokens).transpose(1, 2)  # (N, embed_dim, L)
        pooled = [self.relu(conv(x)).amax(dim=2) for conv in self.convs]  # each (N, num_filters)
        return self.classifier(torch.cat(pooled, dim=1))


class Conv1dNet(nn.Module):
    """A 1-D CNN for time series: "same" Conv1d-BN-ReLU layers, global average pooling, linear.

    Shapes: ``(N, in_channels, T) -> (N, num_classes)``.

    With ``dilation_growth=2`` layer ``i`` uses dilation ``2**i`` (1, 2, 4, 8, ...), as in
    WaveNet and temporal convolutional networks: the receptive field, ``1 + sum((k - 1) d_i)``
    (attribute :attr:`receptive_field`), then grows exponentially with depth instead of
    linearly, at no extra parameters.

    >>> net = Conv1dNet(2, 3, channels=(8, 8, 8, 8), dilation_growth=2)
    >>> net(torch.zeros(5, 2, 100)).shape, net.receptive_field
    (torch.Size([5, 3]), 31)
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        channels: Sequence[int] = (32, 32, 32, 32),
        kernel_size: int = 3,
        dilation_growth: int = 1,
    ):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (for 'same' padding), got {kernel_size}")
        _positive("dilation_growth", dilation_growth)
        if not channels:
            raise ValueError("channels must list at least one layer width")
        self.in_channels = in_channels
        dilations = [dilation_growth**i for i in range(len(channels))]
        self.receptive_field = 1 + sum((kernel_size - 1) * d for d in dilations)
        layers: list[nn.Module] = []
        c_in = in_channels
        for c_out, d in zip(channels, dilations, strict=True):
            pad = d * (kernel_size - 1) // 2
            layers += [
                nn.Conv1d(c_in, c_out, kernel_size, padding=pad, dilation=d, bias=False),
                nn.BatchNorm1d(c_out),
                nn.ReLU(),
            ]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool1d(1)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c_in, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, "Conv1dNet", ("N", self.in_channels, "T"))
        return self.classifier(self.avgpool(self.features(x)))


class Conv3dNet(nn.Module):
    """A small 3-D CNN for clips (or volumes): [Conv3d 3x3x3, BN, ReLU, MaxPool3d 2] per stage.

    Shapes: ``(N, in_channels, T, H, W) -> (N, num_classes)``; each stage halves T, H and W, so
    each must be at least ``2 ** len(channels)``. A 3x3x3 kernel mixes three neighbouring
    frames as well as a 3x3 neighbourhood (C3D's choice), at ``3x`` the weights of a 3x3 one.

    >>> Conv3dNet(1, 4, channels=(4, 8))(torch.zeros(2, 1, 8, 16, 16)).shape
    torch.Size([2, 4])
    """

    def __init__(
        self, in_channels: int = 3, num_classes: int = 10, *, channels: Sequence[int] = (16, 32)
    ):
        super().__init__()
        if not channels:
            raise ValueError("channels must list at least one stage width")
        self.in_channels, self.min_size = in_channels, 2 ** len(channels)
        layers: list[nn.Module] = []
        c_in = in_channels
        for c_out in channels:
            layers += [
                nn.Conv3d(c_in, c_out, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm3d(c_out),
                nn.ReLU(),
                nn.MaxPool3d(2),
            ]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool3d(1)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(c_in, num_classes))

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, "Conv3dNet", ("N", self.in_channels, "T", "H", "W"))
        _check_min_size(x, "Conv3dNet", self.min_size)
        return self.classifier(self.avgpool(self.features(x)))


# ---------------------------------------------------------------------------------------------
# 9. A small vision transformer
# ---------------------------------------------------------------------------------------------


class PatchEmbedding(nn.Module):
    """Cut the image into patches, embed each linearly, prepend a class token, add positions.

    Shapes: ``(N, C, H, W) -> (N, 1 + (H / p) (W / p), dim)``. The linear embedding of
    non-overlapping ``p x p`` patches is a convolution with kernel and stride ``p``.

    >>> PatchEmbedding(3, 64, patch_size=4, image_size=32)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 65, 64])
    """

    def __init__(self, in_channels: int, dim: int, patch_size: int, image_size: int):
        super().__init__()
        num_patches = (image_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + num_patches, dim))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, x: Tensor) -> Tensor:
        _check_input(x, "PatchEmbedding", ("N", self.proj.in_channels, "H", "W"))
        patches = self.proj(x).flatten(2).transpose(1, 2)  # (N, num_patches, dim)
        cls = self.cls_token.expand(patches.shape[0], -1, -1)
        return torch.cat([cls, patches], dim=1) + self.pos_embed


class SmallViT(nn.Module):
    """A small vision transformer (Dosovitskiy et al., 2021) for 32x32 images.

    Shapes: ``(N, in_channels, image_size, image_size) -> (N, num_classes)``.

    :class:`PatchEmbedding` turns the image into ``(image_size / patch_size)**2`` tokens plus a
    class token; ``depth`` pre-norm transformer encoder layers (``nn.TransformerEncoderLayer``
    with ``batch_first=True, norm_first=True``, GELU, MLP of ``mlp_ratio x dim``) mix them; a
    final LayerNorm and a linear layer read the class token. Apart from cutting the image into
    patches it builds in no locality: attention lets every patch look at every other from the
    first layer on, and which patches are neighbours must be learned from data through the
    position embeddings. ``SmallViT.with_budget(n)`` picks the width whose parameter count is
    closest to ``n``, for comparisons at an equal parameter budget (chapter 10).

    >>> vit = SmallViT(dim=32, depth=2, heads=4)
    >>> vit(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """

    def __init__(
        self,
        image_size: int = 32,
        patch_size: int = 4,
        in_channels: int = 3,
        num_classes: int = 10,
        *,
        dim: int = 64,
        depth: int = 4,
        heads: int = 4,
        mlp_ratio: float = 2.0,
        dropout: float = 0.0,
    ):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(
                f"image_size must be divisible by patch_size, got {image_size} and {patch_size}"
            )
        if dim % heads:
            raise ValueError(f"dim must be divisible by heads, got dim={dim}, heads={heads}")
        _positive("depth", depth)
        self.in_channels, self.image_size = in_channels, image_size
        self.embed = PatchEmbedding(in_channels, dim, patch_size, image_size)
        layer = nn.TransformerEncoderLayer(
            d_model=dim,
            nhead=heads,
            dim_feedforward=int(mlp_ratio * dim),
            dropout=dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, num_layers=depth, norm=nn.LayerNorm(dim), enable_nested_tensor=False
        )
        self.classifier = nn.Linear(dim, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        s = self.image_size
        _check_input(x, "SmallViT", ("N", self.in_channels, s, s))
        tokens = self.encoder(self.embed(x))  # (N, 1 + num_patches, dim)
        return self.classifier(tokens[:, 0])

    @classmethod
    def with_budget(cls, num_params: int, *, heads: int = 4, **kwargs: Any) -> SmallViT:
        """The ``SmallViT`` whose width ``dim`` (a multiple of ``heads``) brings its parameter
        count closest to ``num_params``; other arguments are passed on.

        >>> vit = SmallViT.with_budget(100_000, depth=2)
        >>> abs(count_params(vit) - 100_000) < 5_000
        True
        """
        _positive("num_params", num_params)

        def size(dim: int) -> int:
            with torch.device("meta"):
                return count_params(cls(dim=dim, heads=heads, **kwargs))

        best, best_gap, dim = heads, abs(size(heads) - num_params), heads
        while True:
            dim += heads
            n = size(dim)
            if abs(n - num_params) < best_gap:
                best, best_gap = dim, abs(n - num_params)
            if n > num_params:
                break
        return cls(dim=best, heads=heads, **kwargs)


# ---------------------------------------------------------------------------------------------
# 10. summary and reference parameter counts
# ---------------------------------------------------------------------------------------------


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
    modes = {m: m.training for m in model.modules()}
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
        for m, mode in modes.items():
            m.train(mode)

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
    try:
        from cnnlab.receptive import receptive_field
    except ImportError:
        return rows
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

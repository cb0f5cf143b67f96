"""The architectures of the course, small enough to read and to train on a laptop.

Chapters 06-10 and the labs build and train these networks. Each one is a compact teaching
version of a published design, sized for small images (32x32 digits or CIFAR-10 photographs);
where a network only makes sense at ImageNet scale, the course uses torchvision's own definition
(``torchvision.models.resnet50`` and friends) and the docstrings below say which cnnlab block
corresponds to which part of it.

The package has one file per architecture family, as torchvision does, in the order the
course meets them:

- ``_blocks.py`` -- ``conv3x3``, ``conv1x1`` and the input checks every model runs;
- ``tinyvgg.py`` -- ``TinyVGG`` (the network of CNN Explainer, chapter 06);
- ``lenet.py`` -- ``LeNet5`` (LeCun et al., 1998) and its training recipe ``train_lenet``;
- ``alexnet.py`` -- ``AlexNetSmall`` (Krizhevsky et al., 2012);
- ``vgg.py`` -- ``vgg_block`` and ``VGGSmall`` (Simonyan and Zisserman, 2015);
- ``googlenet.py`` -- ``InceptionBlock`` and ``GoogLeNetSmall`` (Szegedy et al., 2015);
- ``resnet.py`` -- ``ResidualBlock``, ``BasicBlock``, ``Bottleneck``, ``resnet_stage``,
  ``resnet_cifar`` and ``plain_cifar`` (He et al., 2016);
- ``mobile.py`` -- ``DepthwiseSeparableConv`` (MobileNet), ``SqueezeExcitation`` and ``MBConv``
  (EfficientNet);
- ``vit.py`` -- ``SmallViT``, a patch-embedding vision transformer for the inductive-bias
  comparison;
- ``sequence.py`` -- convolutions beyond images: ``TextCNN`` (Kim, 2014), ``Conv1dNet`` and
  ``Conv3dNet``.

``count_params``, ``summary`` (a per-layer table of shapes, parameters, multiply-adds and
receptive fields) and ``torchvision_param_counts`` look at a model from outside; they live in
:mod:`cnnlab.summary` and are re-exported here.

Conventions. Tensors are NCHW (``N`` = batch). Every model checks its input in ``forward``: a
wrong shape raises a ``ValueError`` that names the expected shape, a wrong dtype (``uint8``
pixels, say) a ``TypeError``. These checks are why the models cannot be scripted with
TorchScript, unlike torchvision's. Convolutions followed by batch normalisation carry no bias
(the normalisation's shift replaces it), as in torchvision.
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

from typing import Any

from cnnlab.models._blocks import (
    conv1x1,
    conv3x3,
)
from cnnlab.models.alexnet import (
    AlexNetSmall,
)
from cnnlab.models.googlenet import (
    GoogLeNetSmall,
    InceptionBlock,
)
from cnnlab.models.lenet import (
    LENET5_C3_TABLE,
    LeNet5,
)
from cnnlab.models.mobile import (
    DepthwiseSeparableConv,
    MBConv,
    SqueezeExcitation,
)
from cnnlab.models.resnet import (
    BasicBlock,
    Bottleneck,
    CifarResNet,
    PlainBlock,
    ResidualBlock,
    ZeroPadShortcut,
    plain_cifar,
    resnet_cifar,
    resnet_stage,
)
from cnnlab.models.sequence import (
    Conv1dNet,
    Conv3dNet,
    TextCNN,
)
from cnnlab.models.tinyvgg import (
    TinyVGG,
)
from cnnlab.models.vgg import (
    VGG_CFGS,
    VGGSmall,
    vgg_block,
)
from cnnlab.models.vit import (
    PatchEmbedding,
    SmallViT,
)
from cnnlab.summary import (
    TORCHVISION_MODELS,
    ModelSummary,
    SummaryRow,
    count_params,
    summary,
    torchvision_param_counts,
)

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
    "PRETRAINED",
    "pretrained",
]

# The backbones with weights learned from real photographs (shipped offline with the package)
# live in :mod:`cnnlab.pretrained`; they are offered here too, loaded on first use.
_FROM_PRETRAINED = ("PRETRAINED", "pretrained")


def __getattr__(name: str) -> Any:
    if name in _FROM_PRETRAINED:
        from cnnlab import pretrained as _pretrained

        return getattr(_pretrained, name)
    raise AttributeError(f"module 'cnnlab.models' has no attribute {name!r}")

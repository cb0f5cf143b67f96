"""Diagrams drawn by code: networks from the models themselves, and the mechanisms of the course.

Two kinds of picture live here.

1. :func:`draw_model` draws any ``nn.Module`` as a block diagram. It runs the model once on a
   zero input with forward hooks on every module and a :class:`torch.overrides.TorchFunctionMode`
   that sees the additions, multiplications and concatenations between them, so the picture
   shows the shapes the model really produces and the wiring its ``forward`` really follows:
   a chain of layers is a column of boxes, branches that read the same tensor and are
   concatenated stand side by side (Inception), and an addition of a block's input to its
   output is an arrow around the block (ResNet, MBConv). Edit a model and its diagram changes.
2. Mechanism diagrams (``conv_window``, ``padding_stride``, ``im2col_diagram``,
   ``max_pool_switches``, ``receptive_field_growth``, ``residual_identity``,
   ``depthwise_separable``, ``transposed_conv_unpool``, ``unet_skips``,
   ``sliding_vs_convolutional``): small labelled pictures whose numbers are computed with
   :mod:`cnnlab.ops` and :mod:`cnnlab.receptive`, never typed.

Every function returns a matplotlib ``Figure`` (closed in pyplot, so it is shown only where it is
returned) and raises ``TypeError``/``ValueError`` naming what it expected.

>>> from cnnlab.models import LeNet5
>>> fig = draw_model(LeNet5(), (1, 32, 32))
>>> [box.shape for box in fig.boxes][1:3]
[(6, 28, 28), (6, 14, 14)]
"""

from __future__ import annotations

from cnnlab.diagrams._style import format_shape
from cnnlab.diagrams.mechanisms import (
    conv_window,
    depthwise_separable,
    im2col_diagram,
    max_pool_switches,
    padding_stride,
    receptive_field_growth,
    residual_identity,
    sliding_vs_convolutional,
    transposed_conv_unpool,
    unet_skips,
)
from cnnlab.diagrams.model import draw_model
from cnnlab.diagrams.trace import DrawnBox, ModelDiagram

__all__ = [
    "DrawnBox",
    "ModelDiagram",
    "draw_model",
    "format_shape",
    "conv_window",
    "padding_stride",
    "im2col_diagram",
    "max_pool_switches",
    "receptive_field_growth",
    "residual_identity",
    "depthwise_separable",
    "transposed_conv_unpool",
    "unet_skips",
    "sliding_vs_convolutional",
]

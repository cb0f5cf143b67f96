"""Convolutions beyond images (chapter 13): text, time series and video.

``TextCNN`` (Kim, 2014) slides 1-D filters over word embeddings; ``Conv1dNet`` is a dilated
causal stack for signals; ``Conv3dNet`` convolves over time as well as space.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from cnnlab import _checks
from cnnlab.models._blocks import _check_min_size

__all__ = [
    "TextCNN",
    "Conv1dNet",
    "Conv3dNet",
]



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
        *,
        num_classes: int = 2,
        embed_dim: int = 128,
        widths: Sequence[int] = (2, 3, 4, 5),
        num_filters: int = 100,
        dropout: float = 0.5,
        padding_idx: int | None = 0,
    ):
        super().__init__()
        _checks.positive_ints(
            vocab_size=vocab_size,
            num_classes=num_classes,
            embed_dim=embed_dim,
            num_filters=num_filters,
        )
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
        _checks.check_tensor(tokens, "TextCNN", ("N", "L"), floating=False)
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

    >>> net = Conv1dNet(2, num_classes=3, channels=(8, 8, 8, 8), dilation_growth=2)
    >>> net(torch.zeros(5, 2, 100)).shape, net.receptive_field
    (torch.Size([5, 3]), 31)
    """

    def __init__(
        self,
        in_channels: int = 1,
        *,
        num_classes: int = 2,
        channels: Sequence[int] = (32, 32, 32, 32),
        kernel_size: int = 3,
        dilation_growth: int = 1,
    ):
        super().__init__()
        _checks.positive_ints(
            in_channels=in_channels,
            num_classes=num_classes,
            kernel_size=kernel_size,
        )
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd (for 'same' padding), got {kernel_size}")
        _checks.as_int(dilation_growth, "dilation_growth", minimum=1)
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
        _checks.check_tensor(x, "Conv1dNet", ("N", self.in_channels, "T"))
        return self.classifier(self.avgpool(self.features(x)))


class Conv3dNet(nn.Module):
    """A small 3-D CNN for clips (or volumes): [Conv3d 3x3x3, BN, ReLU, MaxPool3d 2] per stage.

    Shapes: ``(N, in_channels, T, H, W) -> (N, num_classes)``; each stage halves T, H and W, so
    each must be at least ``2 ** len(channels)``. A 3x3x3 kernel mixes three neighbouring
    frames as well as a 3x3 neighbourhood (C3D's choice), at ``3x`` the weights of a 3x3 one.

    >>> Conv3dNet(1, num_classes=4, channels=(4, 8))(torch.zeros(2, 1, 8, 16, 16)).shape
    torch.Size([2, 4])
    """

    def __init__(
        self,
        in_channels: int = 3,
        *,
        num_classes: int = 10,
        channels: Sequence[int] = (16, 32),
    ):
        super().__init__()
        _checks.positive_ints(in_channels=in_channels, num_classes=num_classes)
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
        _checks.check_tensor(x, "Conv3dNet", ("N", self.in_channels, "T", "H", "W"))
        _check_min_size(x, "Conv3dNet", self.min_size)
        return self.classifier(self.avgpool(self.features(x)))



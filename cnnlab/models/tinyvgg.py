"""TinyVGG, the small network that CNN Explainer draws (chapter 06).

Two blocks of two 3x3 convolutions and a max pool, then one linear layer: small enough to
follow every activation by eye.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import Tensor, nn

from cnnlab import _checks

__all__ = [
    "TinyVGG",
]



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
        *,
        num_classes: int = 10,
        hidden: int = 10,
        image_size: int = 64,
        padding: int = 0,
    ):
        super().__init__()
        _checks.positive_ints(
            in_channels=in_channels,
            num_classes=num_classes,
            hidden=hidden,
            image_size=image_size,
        )
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
        _checks.check_tensor(x, "TinyVGG", ("N", self.in_channels, s, s))
        return self.classifier(self.features(x))



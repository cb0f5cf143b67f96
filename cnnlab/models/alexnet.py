"""AlexNet (Krizhevsky et al., 2012), scaled down to 32x32 images (chapter 08).

Five convolutions with ReLU, overlapping max pooling and dropout in the head: the design that
won ImageNet 2012, with channel widths a laptop can train.
"""

from __future__ import annotations

from torch import Tensor, nn

from cnnlab import _checks
from cnnlab.models._blocks import _activation, _init_convs

__all__ = [
    "AlexNetSmall",
]



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
        *,
        num_classes: int = 10,
        image_size: int = 32,
        width: int = 64,
        hidden: int = 1024,
        activation: str = 'relu',
        dropout: float = 0.5,
    ):
        super().__init__()
        _checks.positive_ints(
            in_channels=in_channels,
            num_classes=num_classes,
            image_size=image_size,
            width=width,
            hidden=hidden,
        )
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
        _checks.check_tensor(x, "AlexNetSmall", ("N", self.in_channels, s, s))
        return self.classifier(self.features(x))


#: Layer lists in torchvision's format: an int is a 3x3 convolution with that many output
#: channels (followed by the activation), ``"M"`` a 2x2 max pooling. "A", "B", "D", "E" are the
#: columns of Simonyan and Zisserman's Table 1 (VGG-11, 13, 16, 19), as in torchvision;
#: "small" is three :func:`vgg_block` stages for CPU-sized experiments.

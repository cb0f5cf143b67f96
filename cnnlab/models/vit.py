"""A small vision transformer (Dosovitskiy et al., 2021) for chapter 10's inductive-bias comparison.

``PatchEmbedding`` cuts an image into patches and projects each to a token (one strided
convolution); ``SmallViT`` adds a class token, positions and a few encoder layers.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from cnnlab import _checks
from cnnlab.summary import count_params

__all__ = [
    "PatchEmbedding",
    "SmallViT",
]



class PatchEmbedding(nn.Module):
    """Cut the image into patches, embed each linearly, prepend a class token, add positions.

    Shapes: ``(N, C, H, W) -> (N, 1 + (H / p) (W / p), dim)``. The linear embedding of
    non-overlapping ``p x p`` patches is a convolution with kernel and stride ``p``.

    >>> PatchEmbedding(3, 64, patch_size=4, image_size=32)(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 65, 64])
    """

    def __init__(self, in_channels: int, dim: int, patch_size: int, image_size: int):
        super().__init__()
        _checks.positive_ints(
            in_channels=in_channels,
            dim=dim,
            patch_size=patch_size,
            image_size=image_size,
        )
        num_patches = (image_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + num_patches, dim))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, x: Tensor) -> Tensor:
        _checks.check_tensor(x, "PatchEmbedding", ("N", self.proj.in_channels, "H", "W"))
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
        *,
        patch_size: int = 4,
        in_channels: int = 3,
        num_classes: int = 10,
        dim: int = 64,
        depth: int = 4,
        heads: int = 4,
        mlp_ratio: float = 2.0,
        dropout: float = 0.0,
    ):
        super().__init__()
        _checks.positive_ints(
            image_size=image_size,
            patch_size=patch_size,
            in_channels=in_channels,
            num_classes=num_classes,
            dim=dim,
            depth=depth,
            heads=heads,
        )
        if image_size % patch_size:
            raise ValueError(
                f"image_size must be divisible by patch_size, got {image_size} and {patch_size}"
            )
        if dim % heads:
            raise ValueError(f"dim must be divisible by heads, got dim={dim}, heads={heads}")
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
        _checks.check_tensor(x, "SmallViT", ("N", self.in_channels, s, s))
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
        _checks.as_int(num_params, "num_params", minimum=1)

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



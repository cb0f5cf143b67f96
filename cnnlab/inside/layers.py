"""Which layers a model has, and the small helpers every tool of :mod:`cnnlab.inside` shares.

:func:`feature_layers` lists the layers the tools can walk (a model's ``features`` or its
top-level children) and :func:`feature_maps` runs an image up to one of them.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn

from cnnlab import _checks
from cnnlab._state import evaluating as _evaluating

__all__ = [
    "RULES",
    "feature_layers",
    "feature_maps",
]

Rule = Literal["gradient", "deconvnet", "guided"]
LayerSpec = int | str | nn.Module

RULES: tuple[Rule, ...] = ("gradient", "deconvnet", "guided")

# The layers a deconvnet can go down through, and those it passes unchanged (in eval mode).
_INVERTIBLE = (nn.Conv2d, nn.ReLU, nn.MaxPool2d, nn.BatchNorm2d)
_PASS_THROUGH = (nn.Identity, nn.Dropout, nn.Dropout2d)



def feature_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The layers of a model's convolutional part, in order, as ``(name, module)`` pairs.

    The walk goes through ``model.features`` when the model has that ``nn.Sequential`` (the
    convention of torchvision's AlexNet/VGG and of :mod:`cnnlab.models`), or through the model
    itself when it is an ``nn.Sequential``.  Nested ``nn.Sequential`` containers are opened, so
    the list is flat; a module used twice appears twice.  A *layer index* anywhere in this module
    is a position in this list.

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
    >>> [name for name, _ in feature_layers(net)]
    ['0', '1', '2']
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(model).__name__}")
    features = getattr(model, "features", None)
    if isinstance(features, nn.Sequential):
        root, prefix = features, "features."
    elif isinstance(model, nn.Sequential):
        root, prefix = model, ""
    else:
        raise TypeError(
            f"expected an nn.Sequential or a model with a .features nn.Sequential, got "
            f"{type(model).__name__} (features: {type(features).__name__})"
        )
    layers: list[tuple[str, nn.Module]] = []

    def walk(container: nn.Sequential, prefix: str) -> None:
        for name, module in container._modules.items():  # keeps a module registered twice
            if module is None:
                continue
            if isinstance(module, nn.Sequential):
                walk(module, f"{prefix}{name}.")
            else:
                layers.append((f"{prefix}{name}", module))

    walk(root, prefix)
    if not layers:
        raise ValueError(f"{type(model).__name__} has no layers to look inside")
    return layers


def feature_maps(model: nn.Module, image: Tensor, layer: LayerSpec) -> Tensor:
    """The feature maps a layer produces for one image: shape (C, h, w), on the CPU.

    ``image`` is (C, H, W) or (1, C, H, W); ``layer`` is an index into :func:`feature_layers`,
    a layer name such as ``"features.3"``, or the module itself.  The model runs in eval mode.

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
    >>> feature_maps(net, torch.rand(1, 8, 8), layer=2).shape
    torch.Size([4, 3, 3])
    """
    layers = feature_layers(model)
    top = _layer_index(layers, layer)
    x = _as_image(image, model)
    with _evaluating(model), torch.no_grad():
        out = _run(layers, x, top)
    if out.dim() != 4:
        raise ValueError(f"layer {top} ({layers[top][0]}) gives shape {tuple(out.shape)}, "
                         "not feature maps (N, C, h, w)")
    return out[0].cpu()



def _layer_index(layers: Sequence[tuple[str, nn.Module]], layer: LayerSpec) -> int:
    listing = ", ".join(f"{i} {name} ({type(m).__name__})" for i, (name, m) in enumerate(layers))
    if isinstance(layer, bool) or not isinstance(layer, int | str | nn.Module):
        raise TypeError(f"layer must be an index, a name or a module, got {type(layer).__name__}")
    if isinstance(layer, int):
        if not -len(layers) <= layer < len(layers):
            raise ValueError(f"layer {layer} is out of range; the layers are: {listing}")
        return layer % len(layers)
    if isinstance(layer, str):
        found = [i for i, (name, _) in enumerate(layers) if name == layer]
    else:
        found = [i for i, (_, m) in enumerate(layers) if m is layer]
    if not found:
        raise ValueError(f"no layer {layer!r}; the layers are: {listing}")
    if len(found) > 1:
        raise ValueError(f"{layer!r} is used at layers {found}; give the index instead")
    return found[0]


def _run(layers: Sequence[tuple[str, nn.Module]], x: Tensor, top: int) -> Tensor:
    """Output of layer ``top`` (layers 0..top run in order)."""
    for _, layer in layers[: top + 1]:
        x = layer(x)
    return x


def _pick_position(output: Tensor, channel: int, position: tuple[int, int] | None,
                   name: str) -> tuple[int, int]:
    """(row, col) in feature map ``channel`` of ``output`` (1, C, h, w): given, or the maximum."""
    _check_channel(output, channel, name)
    fmap = output[0, channel]
    if position is None:
        flat = int(fmap.argmax())
        return flat // fmap.shape[1], flat % fmap.shape[1]
    row, col = position
    if not (0 <= row < fmap.shape[0] and 0 <= col < fmap.shape[1]):
        raise ValueError(f"position {position} is outside the {fmap.shape[0]}x{fmap.shape[1]} "
                         f"feature maps of {name}")
    return int(row), int(col)


def _check_channel(output: Tensor, channel: int, name: str) -> None:
    if output.dim() != 4:
        raise ValueError(f"layer {name} gives shape {tuple(output.shape)}, not feature maps "
                         "(N, C, h, w)")
    if isinstance(channel, bool) or not isinstance(channel, int):
        raise TypeError(f"channel must be an int, got {type(channel).__name__}")
    if not 0 <= channel < output.shape[1]:
        raise ValueError(f"channel must be in [0, {output.shape[1]}) for layer {name}, "
                         f"got {channel}")


def _as_image(image: Tensor, model: nn.Module, batch: bool = False) -> Tensor:
    """``image`` as a batch (N, C, H, W) on the model's device and dtype, channels checked."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(image, Tensor):
        raise TypeError(f"expected the image as a torch.Tensor (C, H, W), got "
                        f"{type(image).__name__}")
    _checks.check_tensor(image, "the image")
    if image.dim() == 3:
        image = image.unsqueeze(0)
    if image.dim() != 4 or (image.shape[0] != 1 and not batch):
        raise ValueError(f"expected one image of shape (C, H, W) or (1, C, H, W), got shape "
                         f"{tuple(image.shape)}")
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    if first is not None and image.shape[1] != first.in_channels:
        raise ValueError(f"the image has {image.shape[1]} channels but the first convolution "
                         f"expects {first.in_channels} (weight shape {tuple(first.weight.shape)})")
    param = next(model.parameters(), None)
    if param is None:  # a copy, so that no in-place layer can write into the caller's tensor
        return image.detach().float().clone()
    return image.detach().to(device=param.device, dtype=param.dtype).clone()


def _as_image_batch(images: Any) -> Tensor:
    data = getattr(images, "images", images)
    if not isinstance(data, Tensor):
        raise TypeError(f"expected images as a tensor (N, C, H, W) or a data set with an "
                        f".images tensor, got {type(images).__name__}")
    if data.dim() != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got {tuple(data.shape)}")
    _checks.check_tensor(data, "images")
    return data


def _class_scores(model: nn.Module, x: Tensor, target: int | None) -> Tensor:
    """``model(x)``, checked to be class scores (N, classes) that ``target`` indexes."""
    scores = model(x)
    if not isinstance(scores, Tensor) or scores.dim() != 2:
        shape = tuple(scores.shape) if isinstance(scores, Tensor) else type(scores).__name__
        raise ValueError(f"expected the model to output class scores (N, classes), got {shape}")
    if target is not None and not 0 <= target < scores.shape[1]:
        raise ValueError(f"target must be a class index in [0, {scores.shape[1]}), got {target}")
    return scores


def _class_index(target: Any) -> int:
    """An int, NumPy integer or one-element integer tensor as an int."""
    if isinstance(target, bool):
        raise TypeError("target must be a class index, got a bool")
    try:
        return operator.index(target)
    except TypeError:
        raise TypeError(f"target must be an int class index, got {target!r}") from None

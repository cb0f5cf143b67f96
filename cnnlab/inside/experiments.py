"""The experiments of Zeiler and Fergus (2014): top activations, occlusion, feature evolution.

:func:`top_activations` finds the images (and the patches) that excite one feature map most
(the paper's figure 2), :func:`occlusion` slides a grey square over an image and records what
the network loses (figure 7), and :func:`feature_evolution` follows the strongest patterns
through training snapshots (figure 4). :mod:`cnnlab.viz` plots each result.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from cnnlab import _checks
from cnnlab.inside.deconvnet import DeconvNet, Projection, _conv_padding
from cnnlab.inside.layers import (
    LayerSpec,
    _as_image,
    _as_image_batch,
    _check_channel,
    _class_index,
    _class_scores,
    _evaluating,
    _layer_index,
    _run,
    feature_layers,
)
from cnnlab.receptive import Layer as RFLayer
from cnnlab.receptive import receptive_field

__all__ = [
    "TopActivation",
    "top_activations",
    "OcclusionMaps",
    "occlusion",
    "FeatureEvolution",
    "feature_evolution",
    "Snapshots",
]


@dataclass(frozen=True)
class TopActivation:
    """One of the strongest activations of a feature map, found by :func:`top_activations`.

    ``index`` is the image's index in the data set, ``position`` (row, col) the unit in the
    feature map and ``value`` its activation.  ``window`` = (top, left, bottom, right), bottom
    and right exclusive, is the unit's receptive field in input pixels -- it may stick out of
    the image -- and ``box`` is that window clipped to the image.  ``patch`` and
    ``projection`` are the image and the deconvnet projection cropped to ``box``: (C, h, w).
    """

    index: int
    value: float
    position: tuple[int, int]
    window: tuple[int, int, int, int]
    box: tuple[int, int, int, int]
    patch: Tensor
    projection: Tensor


def top_activations(model: nn.Module, layer: LayerSpec, channel: int, images: Any, k: int = 9,
                    batch_size: int = 256) -> list[TopActivation]:
    """The ``k`` strongest activations of one feature map over a data set, at most one per image.

    ``images``: a tensor (N, C, H, W) or a data set with an ``.images`` tensor (such as
    :func:`cnnlab.data.load_dataset`'s).  Each image is scored by the maximum of the feature
    map; the ``k`` best images are kept, strongest first, each with its patch of input (the
    receptive field of the unit that fired) and its deconvnet projection cropped the same way.
    :func:`cnnlab.viz.plot_top_activations` draws them as in Zeiler & Fergus's figure 2.

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
    >>> tops = top_activations(net, 2, channel=1, images=torch.rand(20, 1, 8, 8), k=3)
    >>> len(tops), tops[0].patch.shape
    (3, torch.Size([1, 4, 4]))
    """
    data = _as_image_batch(images)
    k = _checks.as_int(k, "k", 1, len(data))
    batch_size = _checks.as_int(batch_size, "batch_size", minimum=1)
    deconv = DeconvNet(model)
    top = _layer_index(deconv.layers, layer)
    deconv._check_invertible(top)  # before the pass over the data, not after it
    best: list[Tensor] = []
    with _evaluating(model), torch.no_grad():
        for start in range(0, len(data), batch_size):
            x = _as_image(data[start:start + batch_size], model, batch=True)
            out = _run(deconv.layers, x, top)
            _check_channel(out, channel, deconv.layers[top][0])
            best.append(out[:, channel].flatten(1).amax(1).cpu())
    scores = torch.cat(best)
    order = torch.sort(scores, descending=True, stable=True).indices[:k]
    height, width = data.shape[-2:]
    found = []
    for index in order.tolist():
        p = deconv.project(data[index], top, channel)
        window = _receptive_window(deconv.layers, top, p.position)
        box = (max(window[0], 0), max(window[1], 0), min(window[2], height), min(window[3], width))
        crop = (slice(None), slice(box[0], box[2]), slice(box[1], box[3]))
        found.append(TopActivation(index, p.value, p.position, window, box,
                                   data[index].detach().cpu()[crop], p.pixels[crop]))
    return found


def _receptive_window(layers: Sequence[tuple[str, nn.Module]], top: int,
                      position: tuple[int, int]) -> tuple[int, int, int, int]:
    """Input pixels (top, left, bottom, right), bottom/right exclusive, that one unit of layer
    ``top`` sees -- not clipped to the image (it may start in the padding).

    The field comes from :func:`cnnlab.receptive.receptive_field`, once per image axis (a
    kernel may be 3x1): unit ``i`` of a layer sees ``rf`` pixels from ``first + i * jump``.
    """
    start, end = [], []
    for axis in (0, 1):
        row = receptive_field([_rf_layer(name, layer, axis)
                               for name, layer in layers[: top + 1]]).final
        start.append(row.first + position[axis] * row.jump)
        end.append(start[-1] + row.rf)
    return (start[0], start[1], end[0], end[1])


def _rf_layer(name: str, layer: nn.Module, axis: int) -> RFLayer:
    """One layer's geometry along one image axis (0: rows, 1: columns)."""
    if isinstance(layer, nn.Conv2d):
        kernel, stride, dilation = layer.kernel_size, layer.stride, layer.dilation
        return RFLayer("conv", kernel[axis], stride[axis], _conv_padding(layer)[axis],
                       dilation[axis], name)
    if isinstance(layer, nn.MaxPool2d):
        kernel = _checks.as_pair(layer.kernel_size, "kernel_size")
        stride = _checks.as_pair(layer.stride, "stride") if layer.stride is not None else kernel
        padding, dilation = (_checks.as_pair(layer.padding, "padding"),
                             _checks.as_pair(layer.dilation, "dilation"))
        return RFLayer("pool", kernel[axis], stride[axis], padding[axis], dilation[axis], name,
                       bool(layer.ceil_mode))
    return RFLayer("pointwise", 1, name=name)  # ReLU, BatchNorm2d, Dropout, Identity


# --------------------------------------------------------------------------------------------
# Occlusion sensitivity (paper's figure 7)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OcclusionMaps:
    """What a model sees as a square of ``fill`` slides over an image (:func:`occlusion`).

    Entry [i, j] of each map is computed on the image with the window covering rows
    ``rows[i]:rows[i] + window`` and columns ``cols[j]:cols[j] + window`` -- the values
    themselves, not differences from the unoccluded image (those are the ``baseline_*``):

    - ``activation`` (float, (h, w)): total activation (sum over the map) of feature map
      ``channel`` of layer ``layer_name``, the map strongest on the unoccluded image;
    - ``probability`` (float, (h, w)): softmax probability of class ``target``;
    - ``label`` (long, (h, w)): the most probable class.
    """

    activation: Tensor
    probability: Tensor
    label: Tensor
    rows: list[int]
    cols: list[int]
    window: int
    stride: int
    fill: float | Tensor
    target: int
    layer: int
    layer_name: str
    channel: int
    baseline_activation: float
    baseline_probability: float
    baseline_label: int


def occlusion(model: nn.Module, image: Tensor, target: int, window: int = 8, stride: int = 4,
              fill: float | Literal["mean"] = "mean", *, layer: LayerSpec | None = None,
              channel: int | None = None, batch_size: int = 128) -> OcclusionMaps:
    """Slide a ``window`` x ``window`` square of ``fill`` over ``image`` and watch the model.

    ``image``: (C, H, W) or (1, C, H, W); ``target``: the correct class.  The square's top-left
    corner visits rows and columns 0, stride, 2*stride, ... while it fits in the image.
    ``fill`` is a value (in the units of the image the model gets) or ``"mean"``, the image's
    per-channel mean.  ``layer`` defaults to the last layer of :func:`feature_layers` that
    still gives feature maps, and ``channel`` to its map with the largest total activation on
    the unoccluded image.  The occluded images are run in batches of ``batch_size``.

    Returns :class:`OcclusionMaps` with maps of shape (h, w) = (len(rows), len(cols)).

    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 3))
    >>> maps = occlusion(net, torch.rand(1, 8, 8), target=0, window=4, stride=2)
    >>> maps.probability.shape
    torch.Size([3, 3])
    """
    target = _class_index(target)
    x = _as_image(image, model)
    _, n_channels, height, width = x.shape
    window = _checks.as_int(window, "window", 1, min(height, width))
    stride = _checks.as_int(stride, "stride", minimum=1)
    if isinstance(fill, str):
        if fill != "mean":
            raise ValueError(f"fill must be a number or 'mean', got {fill!r}")
        value: float | Tensor = x[0].mean(dim=(1, 2)).view(n_channels, 1, 1)
    else:
        value = _checks.as_float(fill, "fill")  # a NaN fill would make every map NaN
    layers = feature_layers(model)
    rows = list(range(0, height - window + 1, stride))
    cols = list(range(0, width - window + 1, stride))
    with _evaluating(model), torch.no_grad():
        top = _last_spatial_layer(layers, x) if layer is None else _layer_index(layers, layer)
        maps0 = _run(layers, x, top)
        if maps0.dim() != 4:
            raise ValueError(f"layer {top} ({layers[top][0]}) does not give feature maps: "
                             f"shape {tuple(maps0.shape)}")
        if channel is None:
            channel = int(maps0[0].sum(dim=(1, 2)).argmax())
        _check_channel(maps0, channel, layers[top][0])
        probs0 = _probabilities(model, x, target)
        corners = [(r, c) for r in rows for c in cols]
        activation, probability, label = [], [], []
        for start in range(0, len(corners), batch_size):
            batch = x.repeat(len(corners[start:start + batch_size]), 1, 1, 1)
            for b, (r, c) in enumerate(corners[start:start + batch_size]):
                batch[b, :, r:r + window, c:c + window] = value
            activation.append(_run(layers, batch, top)[:, channel].sum(dim=(1, 2)))
            probs = _probabilities(model, batch, target)
            probability.append(probs[:, target])
            label.append(probs.argmax(1))
    shape = (len(rows), len(cols))
    return OcclusionMaps(
        activation=torch.cat(activation).view(shape).cpu(),
        probability=torch.cat(probability).view(shape).cpu(),
        label=torch.cat(label).view(shape).cpu(),
        rows=rows, cols=cols, window=window, stride=stride,
        fill=value.flatten().cpu() if isinstance(value, Tensor) else value,
        target=target, layer=top, layer_name=layers[top][0], channel=channel,
        baseline_activation=float(maps0[0, channel].sum()),
        baseline_probability=float(probs0[0, target]),
        baseline_label=int(probs0[0].argmax()),
    )


def _probabilities(model: nn.Module, x: Tensor, target: int) -> Tensor:
    return _class_scores(model, x, target).softmax(dim=1)






def _last_spatial_layer(layers: Sequence[tuple[str, nn.Module]], x: Tensor) -> int:
    """The last layer whose output still has the shape (N, C, h, w) of feature maps."""
    last = -1
    for i, (_, layer) in enumerate(layers):
        x = layer(x)
        if x.dim() != 4:
            break
        last = i
    if last < 0:
        raise ValueError("the model's first layer already gives no feature maps (N, C, h, w)")
    return last


# --------------------------------------------------------------------------------------------
# How features evolve during training (paper's figure 4)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeatureEvolution:
    """Deconvnet projections of chosen feature maps at several moments of training.

    ``projections``: (S, K, C, H, W) for S snapshots and K channels; ``values``: (S, K), the
    activations projected; ``positions[s][k]``: where they were; ``labels``: one per snapshot;
    ``channels``: the K feature maps of layer ``layer_name``.  Plot with
    :func:`cnnlab.viz.plot_feature_evolution` (snapshots down, channels across).
    """

    projections: Tensor
    values: Tensor
    positions: list[list[tuple[int, int]]]
    labels: list[str]
    channels: list[int]
    layer: int
    layer_name: str


class Snapshots:
    """A :func:`cnnlab.train.fit` callback that keeps a copy of the weights after some epochs.

    ``every``: keep every n-th epoch (and the epoch numbers given in ``epochs``).  After
    training, ``states`` holds the state dicts (tensors copied to the CPU) and ``epochs`` their
    epoch numbers, ready for :func:`feature_evolution`.

    >>> snaps = Snapshots(every=2)
    >>> net = nn.Linear(2, 2)
    >>> [snaps(epoch, {}, net) for epoch in (1, 2, 3, 4)]
    [False, False, False, False]
    >>> snaps.epochs
    [2, 4]
    """

    def __init__(self, every: int = 1, epochs: Iterable[int] = ()) -> None:
        self.every = _checks.as_int(every, "every", minimum=1)
        self.wanted = set(epochs)
        self.states: list[dict[str, Tensor]] = []
        self.epochs: list[int] = []

    def __call__(self, epoch: int, history: Any, model: nn.Module) -> bool:
        if epoch % self.every == 0 or epoch in self.wanted:
            self.states.append({k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
            self.epochs.append(epoch)
        return False  # never asks fit to stop


def feature_evolution(model: nn.Module, snapshots: Sequence[Any], image: Tensor,
                      layer: LayerSpec, channels: Sequence[int],
                      labels: Sequence[str] | None = None) -> FeatureEvolution:
    """Project the strongest activation of each of ``channels`` for a fixed image, at each
    snapshot of a training run.

    ``snapshots``: state dicts (e.g. :class:`Snapshots` ``.states``), paths of files saved
    with ``torch.save`` (a state dict, or a checkpoint dict holding one under ``"model"``,
    ``"model_state"``, ``"model_state_dict"`` or ``"state_dict"``), or models.  Each is loaded
    into a copy of ``model``; ``model`` itself is not changed.  ``image``: (C, H, W).
    Returns :class:`FeatureEvolution` with projections of shape (S, K, C, H, W).

    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU())
    >>> states = [copy.deepcopy(net.state_dict()) for _ in range(2)]
    >>> feature_evolution(net, states, torch.rand(1, 8, 8), 1, [0, 3]).projections.shape
    torch.Size([2, 2, 1, 8, 8])
    """
    if len(snapshots) == 0:
        raise ValueError("snapshots is empty: give at least one state dict, file or model")
    if labels is not None and len(labels) != len(snapshots):
        raise ValueError(f"got {len(labels)} labels for {len(snapshots)} snapshots")
    if len(channels) == 0:
        raise ValueError("channels is empty: give the feature maps to follow")
    replica = copy.deepcopy(model)
    deconv = DeconvNet(replica)
    rows: list[list[Projection]] = []
    for snapshot in snapshots:
        replica.load_state_dict(_state_dict(snapshot))
        rows.append([deconv.project(image, layer, c) for c in channels])
    return FeatureEvolution(
        projections=torch.stack([torch.stack([p.pixels for p in row]) for row in rows]),
        values=torch.tensor([[p.value for p in row] for row in rows]),
        positions=[[p.position for p in row] for row in rows],
        labels=list(labels) if labels is not None else [f"snapshot {s}" for s in
                                                         range(len(snapshots))],
        channels=list(channels), layer=rows[0][0].layer, layer_name=rows[0][0].layer_name,
    )


def _state_dict(snapshot: Any) -> Mapping[str, Tensor]:
    if isinstance(snapshot, nn.Module):
        return snapshot.state_dict()
    if isinstance(snapshot, str | os.PathLike):
        snapshot = torch.load(snapshot, map_location="cpu", weights_only=True)
    if not isinstance(snapshot, Mapping):
        raise TypeError(f"a snapshot must be a state dict, a file path or a model, got "
                        f"{type(snapshot).__name__}")
    for key in ("model", "model_state", "model_state_dict", "state_dict"):
        if isinstance(snapshot.get(key), Mapping):
            return snapshot[key]
    return snapshot


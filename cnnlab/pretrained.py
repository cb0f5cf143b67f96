"""Conv nets whose weights were learned from real photographs, loaded with no network.

The course cannot download ImageNet weights when it is built (the build machine is offline), so
this module ships two kinds of photo-trained CNN inside the package:

``"photonet"``
    The course's own backbone: a five-layer conv net (7x7 stride-2 first layer, as in Zeiler and
    Fergus's revision of AlexNet) trained by ``tools/train_backbone.py`` on the real photographs
    that ship with scikit-image, scikit-learn and matplotlib.  Its task is to say which
    photograph a random, augmented crop comes from (one class per photograph).  It is small,
    reproducible on a laptop CPU and fully convolutional, so the deconvnet, top-9 patches,
    occlusion and Grad-CAM all work on it.  It has seen only ~20 photographs: its filters are
    those of *photographs*, its classes mean nothing outside them.

``"mtcnn-pnet"``, ``"mtcnn-rnet"``, ``"mtcnn-onet"``
    The three face-detection CNNs of MTCNN (Zhang et al., 2016), trained on many thousands of
    real photographs (WIDER FACE and CelebA), with the weights that the MIT-licensed
    facenet-pytorch 2.6.0 wheel ships.  Each answers "is this a face?" (two logits) and
    regresses a box; ``onet`` also gives five facial landmarks.

:func:`pretrained` returns a :class:`Pretrained` (model, preprocessing, provenance);
:data:`PRETRAINED` lists the names.  :func:`filter_measures` compares first-layer filters with
their random start.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "PRETRAINED",
    "Pretrained",
    "pretrained",
    "PhotoNet",
    "PNet",
    "RNet",
    "ONet",
    "photo_sources",
    "load_photos",
    "PhotoCrops",
    "train_photonet",
    "filter_measures",
    "random_filter_measures",
    "imagenet_model",
]

PRETRAINED: tuple[str, ...] = ("photonet", "mtcnn-pnet", "mtcnn-rnet", "mtcnn-onet")

_WEIGHTS = "weights"

# --------------------------------------------------------------------------------------------
# The photographs
# --------------------------------------------------------------------------------------------

# (name, where it comes from).  Every one is a photograph (or a scan of one) that the package
# ships in its wheel; skimage's "cat" is "chelsea" again and is left out.
_SOURCES: tuple[tuple[str, str], ...] = (
    ("astronaut", "skimage.data.astronaut"),
    ("coffee", "skimage.data.coffee"),
    ("chelsea", "skimage.data.chelsea"),
    ("rocket", "skimage.data.rocket"),
    ("hubble_deep_field", "skimage.data.hubble_deep_field"),
    ("immunohistochemistry", "skimage.data.immunohistochemistry"),
    ("retina", "skimage.data.retina"),
    ("motorcycle", "skimage.data.stereo_motorcycle"),
    ("camera", "skimage.data.camera"),
    ("coins", "skimage.data.coins"),
    ("grass", "skimage.data.grass"),
    ("gravel", "skimage.data.gravel"),
    ("brick", "skimage.data.brick"),
    ("moon", "skimage.data.moon"),
    ("clock", "skimage.data.clock"),
    ("page", "skimage.data.page"),
    ("china", "sklearn.datasets.load_sample_images"),
    ("flower", "sklearn.datasets.load_sample_images"),
    ("grace_hopper", "matplotlib.cbook.get_sample_data('grace_hopper.jpg')"),
)


def photo_sources() -> list[tuple[str, str]]:
    """The photographs the course's backbone is trained on, as ``(name, origin)`` pairs."""
    return list(_SOURCES)


def _read_photo(name: str) -> np.ndarray:
    if name == "china" or name == "flower":
        from sklearn.datasets import load_sample_images

        sample = load_sample_images()
        index = [f.endswith(f"{name}.jpg") for f in sample.filenames].index(True)
        return np.asarray(sample.images[index])
    if name == "grace_hopper":
        import matplotlib.cbook as cbook
        from PIL import Image

        path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        with Image.open(str(path)) as image:
            return np.asarray(image.convert("RGB"))
    import skimage.data as skdata

    if name == "motorcycle":
        return np.asarray(skdata.stereo_motorcycle()[0])
    return np.asarray(getattr(skdata, name)())


def load_photos(short_side: int = 256, names: Sequence[str] | None = None) -> dict[str, Tensor]:
    """The training photographs as float tensors (3, H, W) in [0, 1], shorter side ``short_side``.

    Grey photographs are repeated on three channels.  ``names`` picks some of
    :func:`photo_sources` (all by default); an unknown name raises ValueError.
    """
    if not isinstance(short_side, int) or short_side < 32:
        raise ValueError(f"short_side must be an int >= 32, got {short_side!r}")
    known = [n for n, _ in _SOURCES]
    chosen = list(known if names is None else names)
    unknown = [n for n in chosen if n not in known]
    if unknown:
        raise ValueError(f"unknown photographs {unknown}; expected names from {known}")
    photos: dict[str, Tensor] = {}
    for name in chosen:
        array = _read_photo(name)
        if array.ndim == 2:
            array = np.repeat(array[:, :, None], 3, axis=2)
        x = torch.from_numpy(np.array(array[:, :, :3])).permute(2, 0, 1).float()
        x = x / 255.0
        h, w = x.shape[1:]
        scale = short_side / min(h, w)
        size = (max(short_side, round(h * scale)), max(short_side, round(w * scale)))
        x = F.interpolate(x[None], size=size, mode="bilinear", antialias=True,
                          align_corners=False)[0].clamp(0, 1)
        photos[name] = x
    return photos


@dataclass
class PhotoCrops:
    """Random augmented square crops of photographs, labelled by the photograph they come from.

    Each photograph is split by columns: the left ``1 - val_fraction`` for training crops, the
    rest for validation crops, so validation measures recognition of regions never trained on.

    Augmentation (training and validation alike, so the task is the same): a crop whose side is
    a fraction ``scale`` of the photo's shorter side, resized to ``size`` x ``size``; a
    horizontal flip; brightness, contrast and saturation jitter; grey with probability 0.2.
    """

    photos: dict[str, Tensor]
    size: int = 64
    scale: tuple[float, float] = (0.15, 0.45)
    val_fraction: float = 0.25
    jitter: float = 0.4
    names: list[str] = field(init=False)

    def __post_init__(self) -> None:
        if not self.photos:
            raise ValueError("PhotoCrops needs at least one photograph")
        self.names = list(self.photos)

    def batch(self, n: int, generator: torch.Generator, split: str = "train"
              ) -> tuple[Tensor, Tensor]:
        """``n`` crops (n, 3, size, size) in [0, 1] and their labels (n,), from ``generator``."""
        from torchvision.ops import roi_align

        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        labels = torch.randint(len(self.names), (n,), generator=generator)
        out = torch.empty(n, 3, self.size, self.size)
        for c in labels.unique().tolist():
            where = (labels == c).nonzero().flatten()
            photo = self.photos[self.names[c]]
            h, w = photo.shape[1:]
            cut = round(w * (1 - self.val_fraction))
            x0, x1 = (0, cut) if split == "train" else (cut, w)
            lo, hi = self.scale
            side = (lo + (hi - lo) * torch.rand(len(where), generator=generator)) * min(h, w)
            side = side.clamp(max=min(h, x1 - x0))
            left = x0 + torch.rand(len(where), generator=generator) * (x1 - x0 - side)
            top = torch.rand(len(where), generator=generator) * (h - side)
            boxes = torch.stack([torch.zeros_like(side), left, top, left + side, top + side], 1)
            out[where] = roi_align(photo[None], boxes, (self.size, self.size), 1.0, 2, True)
        flip = torch.rand(n, generator=generator) < 0.5
        out[flip] = out[flip].flip(-1)
        return self._jitter(out, generator), labels

    def _jitter(self, x: Tensor, generator: torch.Generator) -> Tensor:
        n, j = len(x), self.jitter

        def factor() -> Tensor:
            return (1 + j * (2 * torch.rand(n, 1, 1, 1, generator=generator) - 1))

        grey = x.mean(1, keepdim=True)
        x = grey + factor() * (x - grey)                                   # saturation
        x = x.mean((1, 2, 3), keepdim=True) + factor() * (x - x.mean((1, 2, 3), keepdim=True))
        x = x * factor()                                                   # brightness
        to_grey = torch.rand(n, generator=generator) < 0.2
        x[to_grey] = x[to_grey].mean(1, keepdim=True).expand(-1, 3, -1, -1)
        return x.clamp(0, 1)


# --------------------------------------------------------------------------------------------
# The course's backbone
# --------------------------------------------------------------------------------------------


class PhotoNet(nn.Module):
    """A fully convolutional five-layer net for (N, 3, H, W) photos, H, W >= 32 -> (N, classes).

    ``features`` (an ``nn.Sequential`` of Conv2d/BatchNorm2d/ReLU/MaxPool2d, so
    :mod:`cnnlab.inside` can project every layer) maps a 64 x 64 crop to 128 maps of 4 x 4;
    global average pooling and one linear layer give the class scores.

    ========  =====================  ===========  ===========
    layer     conv                   out (64 px)  RF (px)
    ========  =====================  ===========  ===========
    conv1     7x7 stride 2, 3->32    32 x 32      7
    conv2     5x5, 32->64 (pool 3/2) 16 x 16      27
    conv3     3x3, 64->128 (pool 2)  8 x 8        47
    conv4     3x3, 128->128 (pool 2) 4 x 4        87
    ========  =====================  ===========  ===========
    """

    def __init__(self, classes: int = len(_SOURCES), width: Sequence[int] = (32, 64, 128, 128)
                 ) -> None:
        super().__init__()
        if not isinstance(classes, int) or classes < 2:
            raise ValueError(f"classes must be an int >= 2, got {classes!r}")
        a, b, c, d = width
        self.features = nn.Sequential()
        layers: list[tuple[str, nn.Module]] = [
            ("conv1", nn.Conv2d(3, a, 7, stride=2, padding=3, bias=False)),
            ("bn1", nn.BatchNorm2d(a)), ("relu1", nn.ReLU()),
            ("pool1", nn.MaxPool2d(3, stride=2, padding=1)),
            ("conv2", nn.Conv2d(a, b, 5, padding=2, bias=False)),
            ("bn2", nn.BatchNorm2d(b)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
            ("conv3", nn.Conv2d(b, c, 3, padding=1, bias=False)),
            ("bn3", nn.BatchNorm2d(c)), ("relu3", nn.ReLU()), ("pool3", nn.MaxPool2d(2)),
            ("conv4", nn.Conv2d(c, d, 3, padding=1, bias=False)),
            ("bn4", nn.BatchNorm2d(d)), ("relu4", nn.ReLU()),
        ]
        for name, module in layers:
            self.features.add_module(name, module)
        self.classifier = nn.Linear(d, classes)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"PhotoNet expects (N, 3, H, W) images, got shape {tuple(x.shape)}")
        return self.classifier(self.features(x).mean((2, 3)))


@dataclass
class _Normalize:
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def __call__(self, x: Tensor) -> Tensor:
        m = torch.tensor(self.mean, dtype=x.dtype).view(3, 1, 1)
        s = torch.tensor(self.std, dtype=x.dtype).view(3, 1, 1)
        return (x - m) / s


def train_photonet(steps: int = 1600, batch: int = 128, seed: int = 0, lr: float = 0.1,
                   weight_decay: float = 5e-4, short_side: int = 256, val_crops: int = 1520,
                   names: Sequence[str] | None = None, log: Callable[[str], None] | None = None
                   ) -> tuple[PhotoNet, dict[str, Tensor], dict[str, Any]]:
    """Train :class:`PhotoNet` to tell which photograph a crop comes from.

    SGD with momentum 0.9 and Nesterov, a one-cycle learning rate peaking at ``lr``, weight
    decay, ``steps`` batches of ``batch`` fresh crops (:class:`PhotoCrops`).  Returns the
    trained model (eval mode), its initial state dict and a provenance dict (data, seed, steps,
    seconds, training and validation accuracy).
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    torch.manual_seed(seed)
    photos = load_photos(short_side, names)
    crops = PhotoCrops(photos)
    stats = torch.cat([p.flatten(1) for p in photos.values()], 1)
    mean, std = stats.mean(1).tolist(), stats.std(1).tolist()
    norm = _Normalize((mean[0], mean[1], mean[2]), (std[0], std[1], std[2]))
    model = PhotoNet(classes=len(crops.names))
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    rest = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": weight_decay},
                           {"params": rest, "weight_decay": 0.0}], lr=lr, momentum=0.9,
                          nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(seed)
    m = torch.tensor(norm.mean).view(1, 3, 1, 1)
    s = torch.tensor(norm.std).view(1, 3, 1, 1)
    start, correct, seen = time.perf_counter(), 0, 0
    train_curve: list[float] = []
    model.train()
    for step in range(1, steps + 1):
        x, y = crops.batch(batch, gen)
        out = model((x - m) / s)
        loss = F.cross_entropy(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        correct += int((out.argmax(1) == y).sum())
        seen += len(y)
        if step % max(1, steps // 20) == 0 or step == steps:
            train_curve.append(correct / seen)
            if log is not None:
                log(f"step {step}/{steps} loss {loss.item():.3f} train acc {correct / seen:.3f} "
                    f"{time.perf_counter() - start:.0f}s")
            correct = seen = 0
    seconds = time.perf_counter() - start
    model.eval()
    val_gen = torch.Generator().manual_seed(10_000 + seed)
    xv, yv = crops.batch(val_crops, val_gen, split="val")
    xt, yt = crops.batch(val_crops, val_gen, split="train")
    with torch.no_grad():
        val_acc = float((model((xv - m) / s).argmax(1) == yv).float().mean())
        train_acc = float((model((xt - m) / s).argmax(1) == yt).float().mean())
    provenance: dict[str, Any] = {
        "name": "photonet",
        "task": "which of the photographs a random augmented 64x64 crop comes from",
        "classes": crops.names,
        "data": {n: o for n, o in _SOURCES if n in crops.names},
        "split": "left 75% of each photograph's columns for training, right 25% for validation",
        "augmentation": "crop side 15-45% of the shorter side (256 px), resized to 64; flip; "
                        "brightness/contrast/saturation x[0.6, 1.4]; grey with p=0.2",
        "seed": seed, "steps": steps, "batch": batch, "crops_seen": steps * batch,
        "optimizer": f"SGD nesterov momentum 0.9, one-cycle lr {lr}, weight decay "
                     f"{weight_decay} (weights only)",
        "seconds": round(seconds, 1), "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "train_accuracy": round(train_acc, 4), "val_accuracy": round(val_acc, 4),
        "train_curve": [round(a, 4) for a in train_curve],
        "chance": round(1 / len(crops.names), 4),
        "mean": [round(v, 4) for v in norm.mean], "std": [round(v, 4) for v in norm.std],
    }
    return model, initial, provenance


# --------------------------------------------------------------------------------------------
# MTCNN (Zhang et al., 2016), weights from facenet-pytorch 2.6.0 (MIT)
# --------------------------------------------------------------------------------------------


class PNet(nn.Module):
    """MTCNN's proposal net: (N, 3, H, W), H, W >= 12 -> face logits (N, 2, h, w) and box
    offsets (N, 4, h, w).

    Fully convolutional; a 12 x 12 input gives one output position.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential()
        for name, module in (
            ("conv1", nn.Conv2d(3, 10, 3)), ("prelu1", nn.PReLU(10)),
            ("pool1", nn.MaxPool2d(2, 2, ceil_mode=True)),
            ("conv2", nn.Conv2d(10, 16, 3)), ("prelu2", nn.PReLU(16)),
            ("conv3", nn.Conv2d(16, 32, 3)), ("prelu3", nn.PReLU(32)),
        ):
            self.features.add_module(name, module)
        self.conv4_1 = nn.Conv2d(32, 2, 1)
        self.conv4_2 = nn.Conv2d(32, 4, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        _check_faces(x, 12, "PNet")
        x = self.features(x)
        return self.conv4_1(x), self.conv4_2(x)


class RNet(nn.Module):
    """MTCNN's refine net: (N, 3, 24, 24) -> face logits (N, 2), box offsets (N, 4)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential()
        for name, module in (
            ("conv1", nn.Conv2d(3, 28, 3)), ("prelu1", nn.PReLU(28)),
            ("pool1", nn.MaxPool2d(3, 2, ceil_mode=True)),
            ("conv2", nn.Conv2d(28, 48, 3)), ("prelu2", nn.PReLU(48)),
            ("pool2", nn.MaxPool2d(3, 2, ceil_mode=True)),
            ("conv3", nn.Conv2d(48, 64, 2)), ("prelu3", nn.PReLU(64)),
        ):
            self.features.add_module(name, module)
        self.dense4 = nn.Linear(576, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        _check_faces(x, 24, "RNet", exact=True)
        x = self.features(x)
        # the weights were ported from a framework that flattens (W, H, C)
        x = self.prelu4(self.dense4(x.permute(0, 3, 2, 1).flatten(1)))
        return self.dense5_1(x), self.dense5_2(x)


class ONet(nn.Module):
    """MTCNN's output net: (N, 3, 48, 48) -> face logits (N, 2), box (N, 4), landmarks (N, 10)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential()
        for name, module in (
            ("conv1", nn.Conv2d(3, 32, 3)), ("prelu1", nn.PReLU(32)),
            ("pool1", nn.MaxPool2d(3, 2, ceil_mode=True)),
            ("conv2", nn.Conv2d(32, 64, 3)), ("prelu2", nn.PReLU(64)),
            ("pool2", nn.MaxPool2d(3, 2, ceil_mode=True)),
            ("conv3", nn.Conv2d(64, 64, 3)), ("prelu3", nn.PReLU(64)),
            ("pool3", nn.MaxPool2d(2, 2, ceil_mode=True)),
            ("conv4", nn.Conv2d(64, 128, 2)), ("prelu4", nn.PReLU(128)),
        ):
            self.features.add_module(name, module)
        self.dense5 = nn.Linear(1152, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        _check_faces(x, 48, "ONet", exact=True)
        x = self.features(x)
        x = self.prelu5(self.dense5(x.permute(0, 3, 2, 1).flatten(1)))
        return self.dense6_1(x), self.dense6_2(x), self.dense6_3(x)


def _check_faces(x: Tensor, size: int, name: str, exact: bool = False) -> None:
    ok = x.ndim == 4 and x.shape[1] == 3 and (
        tuple(x.shape[2:]) == (size, size) if exact else min(x.shape[2:]) >= size)
    if not ok:
        want = f"(N, 3, {size}, {size})" if exact else f"(N, 3, H, W) with H, W >= {size}"
        raise ValueError(f"{name} expects {want} images, got shape {tuple(x.shape)}")


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


@dataclass
class Pretrained:
    """A photo-trained model with what it needs: ``preprocess`` maps (3, H, W) or (N, 3, H, W)
    RGB floats in [0, 1] to the model's input; ``provenance`` says where the weights come from,
    what they were trained on and what they can and cannot show.  ``initial`` is the state dict
    the training started from, when it is known (``None`` for MTCNN)."""

    name: str
    model: nn.Module
    preprocess: Callable[[Tensor], Tensor]
    provenance: dict[str, Any]
    initial: dict[str, Tensor] | None = None

    def untrained(self) -> nn.Module:
        """A copy of the model at its random start (the state before training), in eval mode."""
        import copy

        if self.initial is None:
            raise ValueError(f"{self.name!r} has no recorded initial state")
        model = copy.deepcopy(self.model)
        model.load_state_dict(self.initial)
        return model.eval()


def _mtcnn_preprocess(x: Tensor) -> Tensor:
    """MTCNN's input scaling: RGB in [0, 1] -> (255 x - 127.5) / 128."""
    return (x * 255.0 - 127.5) * 0.0078125


def pretrained(name: str) -> Pretrained:
    """Load one of :data:`PRETRAINED` from the package, with no network: model (eval mode, CPU),
    preprocessing and provenance.

    >>> p = pretrained("photonet")
    >>> p.model(p.preprocess(torch.rand(1, 3, 64, 64))).shape[1] == len(p.provenance["classes"])
    True
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, one of {PRETRAINED}, got {type(name).__name__}")
    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained model {name!r}; expected one of {PRETRAINED}")
    folder = resources.files("cnnlab").joinpath(_WEIGHTS)
    if name == "photonet":
        provenance = json.loads(folder.joinpath("photonet.json").read_text())
        with resources.as_file(folder.joinpath("photonet.pt")) as path:
            stored = torch.load(path, map_location="cpu", weights_only=True)
        net = PhotoNet(classes=len(provenance["classes"]))
        net.load_state_dict(stored["trained"])
        m, s = provenance["mean"], provenance["std"]
        norm = _Normalize((m[0], m[1], m[2]), (s[0], s[1], s[2]))
        return Pretrained(name, net.eval(), norm, provenance, stored["initial"])
    provenance = json.loads(folder.joinpath("mtcnn.json").read_text())
    part = name.split("-")[1]
    model: nn.Module = {"pnet": PNet, "rnet": RNet, "onet": ONet}[part]()
    with resources.as_file(folder.joinpath(f"mtcnn_{part}.pt")) as path:
        state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(_mtcnn_keys(state, model))
    return Pretrained(name, model.eval(), _mtcnn_preprocess, {**provenance, "name": name})


def imagenet_model(arch: str = "resnet18", *, connect_timeout: float = 3.0,
                   read_timeout: float = 20.0) -> tuple[nn.Module, Any]:
    """torchvision's ImageNet model ``arch`` with its default weights, fetched with bounded waits.

    torchvision's download opens its connection with no timeout, so on a network that accepts
    connections and never answers it hangs for ever.  Here the download server must accept a
    TCP connection within ``connect_timeout`` seconds, and every read of the download must
    answer within ``read_timeout`` seconds; otherwise ``ConnectionError`` is raised, saying
    which wait ran out (a notebook catches it and takes its offline path).  Weights already in
    torch's cache load without the network.

    Returns ``(model, weights)``: the model in eval mode on the CPU (input (N, 3, H, W), output
    (N, 1000) logits) and torchvision's weights enum, whose ``transforms()`` is the preparation
    the model was trained with.

    >>> imagenet_model("resnet18", connect_timeout=0)
    Traceback (most recent call last):
    ...
    ValueError: connect_timeout must be a positive number of seconds, got 0
    """
    import os
    import socket

    import torchvision
    from torch.hub import get_dir

    from cnnlab.data.sources import _can_reach

    if not isinstance(arch, str):
        raise TypeError(f"arch must be a str naming a torchvision model, got {type(arch).__name__}")
    for label, value in (("connect_timeout", connect_timeout), ("read_timeout", read_timeout)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{label} must be a positive number of seconds, got {value!r}")
    try:
        weights = torchvision.models.get_model_weights(arch).DEFAULT
    except (ValueError, KeyError) as err:
        raise ValueError(f"arch must name a torchvision model with ImageNet weights "
                         f"(e.g. 'resnet18'), got {arch!r}") from err
    cached = os.path.exists(os.path.join(get_dir(), "checkpoints", os.path.basename(weights.url)))
    if not cached and not _can_reach("download.pytorch.org", 443, connect_timeout):
        raise ConnectionError(f"download.pytorch.org did not accept a connection within "
                              f"{connect_timeout:g} s, so {arch}'s ImageNet weights cannot "
                              "be fetched")
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(read_timeout)       # torchvision's urlopen sets none of its own
    try:
        model = torchvision.models.get_model(arch, weights=weights)
    except (OSError, RuntimeError) as err:       # socket.timeout and URLError are OSErrors
        raise ConnectionError(f"downloading {arch}'s ImageNet weights failed or stalled for more "
                              f"than {read_timeout:g} s ({type(err).__name__}: {err})") from err
    finally:
        socket.setdefaulttimeout(previous)
    return model.eval(), weights


def _mtcnn_keys(state: dict[str, Tensor], model: nn.Module) -> dict[str, Tensor]:
    """facenet-pytorch's names (conv1.weight) -> ours (features.conv1.weight where it is there)."""
    ours = model.state_dict()
    return {(f"features.{k}" if f"features.{k}" in ours else k): v for k, v in state.items()}


# --------------------------------------------------------------------------------------------
# What the first layer learned
# --------------------------------------------------------------------------------------------


def filter_measures(weight: Tensor, initial: Tensor | None = None, fft: int = 32
                    ) -> dict[str, np.ndarray]:
    """Per-filter measures of first-layer filters ``weight`` (F, 3, k, k), one value per filter.

    - ``low_freq``: share of the filter's power (mean removed, channels summed, zero-padded to
      ``fft`` x ``fft``) at spatial frequencies below a quarter cycle per pixel -- smooth
      filters score near 1, white noise about 0.2;
    - ``orientation``: orientation selectivity, the length of the power-weighted mean of
      exp(2i theta) over frequencies (0: no preferred orientation, 1: a single one);
    - ``peak``: spectral concentration, the share of power in the 5% strongest frequencies;
    - ``chroma``: share of the filter's energy in its colour-opponent part (the filter minus
      its channel mean); iid random filters give about 2/3, a grey edge detector 0;
    - ``cosine``: cosine similarity to ``initial`` (same shape), when given.
    """
    if not isinstance(weight, Tensor) or weight.ndim != 4 or weight.shape[1] != 3:
        raise ValueError(f"weight must be a (F, 3, k, k) tensor, got "
                         f"{getattr(weight, 'shape', type(weight).__name__)}")
    w = weight.detach().double().cpu()
    spatial = w - w.mean((2, 3), keepdim=True)
    power = torch.fft.fft2(spatial, s=(fft, fft)).abs().pow(2).sum(1)      # (F, fft, fft)
    fy = torch.fft.fftfreq(fft, dtype=torch.float64).view(-1, 1)
    fx = torch.fft.fftfreq(fft, dtype=torch.float64).view(1, -1)
    radius = (fx**2 + fy**2).sqrt()
    theta = torch.atan2(fy, fx).expand(fft, fft)
    total = power.flatten(1).sum(1).clamp_min(1e-30)
    low = (power * (radius < 0.25)).flatten(1).sum(1) / total
    phase = torch.polar(torch.ones_like(theta), 2 * theta)
    orient = (power * phase).flatten(1).sum(1).abs() / total
    top = max(1, round(0.05 * fft * fft))
    peak = power.flatten(1).sort(1, descending=True).values[:, :top].sum(1) / total
    grey = w.mean(1, keepdim=True)
    chroma = (w - grey).pow(2).flatten(1).sum(1) / w.pow(2).flatten(1).sum(1).clamp_min(1e-30)
    out = {"low_freq": low.numpy(), "orientation": orient.numpy(), "peak": peak.numpy(),
           "chroma": chroma.numpy()}
    if initial is not None:
        if not isinstance(initial, Tensor) or initial.shape != weight.shape:
            raise ValueError(f"initial must have the shape of weight {tuple(weight.shape)}, got "
                             f"{getattr(initial, 'shape', type(initial).__name__)}")
        out["cosine"] = F.cosine_similarity(w.flatten(1), initial.detach().double().flatten(1),
                                            dim=1).numpy()
    return out


def random_filter_measures(shape: Sequence[int], seeds: int = 20) -> dict[str, np.ndarray]:
    """:func:`filter_measures` of PyTorch's default (Kaiming-uniform) initialisation of a conv
    layer of ``shape`` (F, 3, k, k), for ``seeds`` seeds: each entry is (seeds,) per-seed means.
    """
    if len(shape) != 4 or shape[1] != 3 or seeds < 1:
        raise ValueError(f"shape must be (F, 3, k, k) and seeds >= 1, got {shape}, {seeds}")
    f, c, k, _ = shape
    means: dict[str, list[float]] = {}
    for seed in range(seeds):
        torch.manual_seed(10_000 + seed)
        conv = nn.Conv2d(c, f, k, bias=False)
        for key, value in filter_measures(conv.weight).items():
            means.setdefault(key, []).append(float(value.mean()))
    return {key: np.array(v) for key, v in means.items()}


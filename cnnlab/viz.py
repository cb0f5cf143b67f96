"""The plotting helpers every notebook of the course uses.

One look for the whole book: small figures at 100 dpi, light grids, nearest-neighbour pixels.
Call :func:`use_style` once at the top of a notebook; every function here also draws in that
style on its own.  Each function returns a matplotlib ``Figure`` and never calls
``plt.show()``.  The figure is closed in pyplot's figure manager before it is returned, so
Jupyter shows it exactly once when it is the value of a cell (or on ``display(fig)``), loops
that redraw do not pile up open figures, and a script saves it with ``fig.savefig(path)``.

Images may come as torch tensors or NumPy arrays, grayscale or RGB (see :func:`show_images`).
Signed pictures -- filters, gradients, deconvnet projections -- are scaled symmetrically, so
that zero is always mid-gray (or white on a diverging colour map) and the sign stays readable.

Contents: :func:`use_style`; images and filters (:func:`show_images`, :func:`show_filters`,
:func:`show_feature_maps`, :func:`show_heatmap`, :func:`show_attributions`); training
(:func:`plot_history`, :func:`plot_confusion_matrix`); the figures of chapter 11
(:func:`plot_top_activations`, :func:`plot_occlusion`, :func:`plot_feature_evolution`); and
:func:`as_jpeg` for figures that are mostly photographs.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

if TYPE_CHECKING:
    from IPython.display import Image

    from cnnlab.inside import FeatureEvolution, OcclusionMaps, TopActivation

from cnnlab import _checks

__all__ = [
    "use_style",
    "show_images",
    "show_filters",
    "show_feature_maps",
    "show_heatmap",
    "show_attributions",
    "plot_history",
    "plot_confusion_matrix",
    "plot_top_activations",
    "plot_occlusion",
    "plot_feature_evolution",
    "as_jpeg",
]

Scale = Literal["minmax", "signed", "clip"]

# Okabe-Ito colours: distinguishable with any colour vision.
_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]

_STYLE: Any = {  # rcParams
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.figsize": (6.0, 3.5),
    "font.size": 9,
    "axes.titlesize": 9,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "figure.titlesize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": cycler(color=_COLORS),
    "image.cmap": "gray",
    "image.interpolation": "nearest",
    "savefig.bbox": "tight",
}

_CELL = 1.1  # inches per image in a grid


def use_style() -> None:
    """Set the course's matplotlib style for the rest of the session (dpi 100, small fonts).

    >>> use_style()
    >>> matplotlib.rcParams["figure.dpi"]
    100.0
    """
    matplotlib.rcParams.update(_STYLE)


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(_STYLE):
        yield


def as_jpeg(fig: Figure, quality: int = 85) -> Image:
    """The figure as a JPEG picture for Jupyter; use it for figures made mostly of photographs.

    PNG is lossless, and camera noise gives it little to compress: a figure of three filtered
    photographs makes a PNG of about 300 kB, the same figure as a JPEG at quality 85 under
    100 kB, with no difference a reader can see. Plots, diagrams and small pixel grids stay PNG
    (sharp edges are where JPEG shows its blocks). The figure is closed in pyplot's manager, so
    only the JPEG shows when this is the value of a cell.

    Args:
        fig: a matplotlib figure of any size; it is rendered at its own dpi.
        quality: JPEG quality from 1 (smallest) to 95 (best).

    Returns:
        an ``IPython.display.Image`` of format "jpeg"; its ``data`` holds the file's bytes.

    >>> fig = plt.figure(figsize=(2, 1))
    >>> picture = as_jpeg(fig)
    >>> picture.format, picture.data[:2] == b"\\xff\\xd8"  # the JPEG signature
    ('jpeg', True)
    """
    from IPython.display import Image

    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}")
    quality = _checks.as_int(quality, "quality", 1, 95)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="jpeg", facecolor="white",
                pil_kwargs={"quality": int(quality), "optimize": True})
    plt.close(fig)
    return Image(data=buffer.getvalue(), format="jpeg")


# --------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------


def show_images(images: Any, labels: Sequence[Any] | None = None, ncols: int = 8,
                title: str | None = None, ax: Axes | None = None, *, scale: Scale = "minmax",
                cmap: str = "gray") -> Figure:
    """A grid of images with optional labels.

    ``images``: a torch tensor (N, C, H, W), (N, H, W) or (H, W); a NumPy array (N, H, W),
    (N, H, W, C), (N, C, H, W), (H, W, C) or (H, W); or a list of single images (H, W), (C, H, W)
    or (H, W, C).  C is 1 (grayscale) or 3 (RGB).  ``labels``: one per image (shown above it).
    ``scale``: ``"minmax"`` stretches each image to its own range, ``"signed"`` maps 0 to
    mid-gray and the largest magnitude to black/white (for gradients and projections),
    ``"clip"`` shows values in [0, 1] as they are.  ``ax``: draw a single image into this axes
    (then ``title`` is that axes' title and the returned figure is the one ``ax`` is in).

    >>> fig = show_images(np.random.rand(3, 8, 8), labels=["a", "b", "c"])
    >>> len(fig.axes)
    3
    """
    pictures = _image_list(images)
    if labels is not None and len(labels) != len(pictures):
        raise ValueError(f"got {len(labels)} labels for {len(pictures)} images")
    ncols = _checks.as_int(ncols, "ncols", minimum=1)
    with _style():
        if ax is not None:
            if len(pictures) != 1:
                raise ValueError(f"ax= draws one image, got {len(pictures)}; leave ax=None "
                                 "for a grid")
            axes = [ax]
            fig = _figure_of(ax)
        else:
            fig, axes = _grid(len(pictures), ncols)
        for i, (a, picture) in enumerate(zip(axes, pictures, strict=True)):
            _imshow(a, picture, scale, cmap)
            if labels is not None:
                a.set_title(str(labels[i]))
        if title is not None:
            if ax is None:
                fig.suptitle(title)
            else:
                ax.set_title(title if labels is None else f"{title}: {labels[0]}")
    return fig


def show_filters(weight: Any, ncols: int = 8, title: str | None = "First-layer filters") -> Figure:
    """The filters of a first convolution layer, one small picture each.

    ``weight``: (out_channels, in_channels, kh, kw) as a tensor or array, or an ``nn.Conv2d``;
    in_channels must be 1 (drawn with a diverging map, blue < 0 < red) or 3 (drawn in colour).
    Each filter is scaled on its own, symmetrically around 0: the colour of 0 is the same in
    every picture.

    >>> fig = show_filters(np.random.randn(6, 1, 5, 5))
    >>> len(fig.axes)
    6
    """
    w = getattr(weight, "weight", weight)
    w = _numpy(w)
    if w.ndim != 4:
        raise ValueError(f"expected filters of shape (out_channels, in_channels, kh, kw), got "
                         f"shape {w.shape}")
    if w.shape[1] not in (1, 3):
        raise ValueError(f"show_filters draws filters with 1 or 3 input channels, got weight "
                         f"shape {w.shape}; pick input channels, e.g. weight[:, :1]")
    with _style():
        fig, axes = _grid(w.shape[0], ncols)
        for i, (ax, f) in enumerate(zip(axes, w, strict=True)):
            m = float(np.abs(f).max()) or 1.0
            if f.shape[0] == 1:
                ax.imshow(f[0], cmap="RdBu_r", vmin=-m, vmax=m)
            else:
                ax.imshow(0.5 + f.transpose(1, 2, 0) / (2 * m))
            _bare(ax)
            ax.set_title(str(i))
        if title:
            fig.suptitle(title)
    return fig


def show_feature_maps(maps: Any, ncols: int = 8, title: str | None = None,
                      max_maps: int | None = None, cmap: str = "viridis") -> Figure:
    """The feature maps of one layer for one image, each scaled to its own range.

    ``maps``: (C, h, w) or (1, C, h, w), tensor or array -- e.g. from
    :func:`cnnlab.inside.feature_maps`.  ``max_maps`` shows only the first ones.

    >>> fig = show_feature_maps(np.random.rand(4, 6, 6))
    >>> len(fig.axes)
    4
    """
    m = _numpy(maps)
    if m.ndim == 4 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 3:
        raise ValueError(f"expected feature maps of shape (C, h, w) or (1, C, h, w), got "
                         f"shape {_numpy(maps).shape}")
    if max_maps is not None:
        m = m[:max_maps]
    with _style():
        fig, axes = _grid(len(m), ncols)
        for i, (ax, fmap) in enumerate(zip(axes, m, strict=True)):
            ax.imshow(fmap, cmap=cmap)
            _bare(ax)
            ax.set_title(f"ch {i}")
        if title:
            fig.suptitle(title)
    return fig


def show_heatmap(heatmap: Any, image: Any = None, *, alpha: float = 0.5,
                 cmap: str | None = None, symmetric: bool = False, title: str | None = None,
                 ax: Axes | None = None, colorbar: bool = True) -> Figure:
    """A heat map (h, w), alone or laid over an image.

    The heat map is stretched over the whole image, whatever its size (an occlusion map is
    coarser than the image).  ``image``: (H, W), (C, H, W) or (H, W, C), C = 1 or 3.
    ``symmetric``: centre the colour map on 0 (diverging map), for signed maps.

    >>> fig = show_heatmap(np.random.rand(4, 4), image=np.random.rand(16, 16))
    >>> len(fig.axes[0].images)
    2
    """
    h = _numpy(heatmap)
    if h.ndim == 3 and h.shape[0] == 1:
        h = h[0]
    if h.ndim != 2:
        raise ValueError(f"expected a heat map of shape (h, w), got shape "
                         f"{_numpy(heatmap).shape}")
    with _style():
        if ax is None:
            fig = _new_figure(figsize=(3.2, 3.0))
            ax = fig.subplots()
        else:
            fig = _figure_of(ax)
        extent = None
        if image is not None:
            picture = _single_image(image)
            _imshow(ax, picture, "minmax", "gray")
            height, width = picture.shape[:2]
            extent = (-0.5, width - 0.5, height - 0.5, -0.5)
        kwargs: dict[str, Any] = {"cmap": cmap or ("RdBu_r" if symmetric else "inferno")}
        if symmetric:
            m = float(np.abs(h).max()) or 1.0
            kwargs.update(vmin=-m, vmax=m)
        shown = ax.imshow(h, alpha=alpha if image is not None else 1.0, extent=extent,
                          interpolation="nearest", **kwargs)
        _bare(ax)
        if colorbar:
            fig.colorbar(shown, ax=ax, shrink=0.8)
        if title:
            ax.set_title(title)
    return fig


def show_attributions(image: Any, maps: Mapping[str, Any], title: str | None = None) -> Figure:
    """An image next to signed maps of the same size -- e.g. saliency, deconvnet and guided
    backprop for one class -- each scaled symmetrically (0 is mid-gray).

    ``image``: (H, W), (C, H, W) or (H, W, C); ``maps``: name -> (C, H, W) or (H, W).

    >>> fig = show_attributions(np.random.rand(8, 8), {"gradient": np.random.randn(1, 8, 8)})
    >>> len(fig.axes)
    2
    """
    if not isinstance(maps, Mapping) or not maps:
        raise TypeError("maps must be a non-empty dict name -> map (C, H, W) or (H, W)")
    pictures = [_single_image(image)] + [_single_image(m) for m in maps.values()]
    with _style():
        fig, axes = _grid(len(pictures), len(pictures))
        for i, (ax, picture, name) in enumerate(zip(axes, pictures, ["image", *maps],
                                                    strict=True)):
            _imshow(ax, picture, "minmax" if i == 0 else "signed", "gray")
            ax.set_title(name)
        if title:
            fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def plot_history(history: Mapping[str, Any], title: str | None = None) -> Figure:
    """Loss and accuracy per epoch: training solid, validation dashed.

    ``history``: one History (a dict of lists with keys ``epoch``, ``train_loss``,
    ``train_acc``, ``val_loss``, ``val_acc``, as :func:`cnnlab.train.fit` returns), or a dict
    run name -> History to compare runs, one colour per run.  Missing or empty validation
    lists are skipped.

    >>> h = {"epoch": [1, 2], "train_loss": [1.0, 0.5], "train_acc": [0.6, 0.8],
    ...      "val_loss": [1.1, 0.7], "val_acc": [0.5, 0.7]}
    >>> len(plot_history(h).axes), len(plot_history({"a": h, "b": h}).axes)
    (2, 2)
    """
    if not isinstance(history, Mapping) or not history:
        raise TypeError(f"expected a History dict or a dict name -> History, got "
                        f"{type(history).__name__}")
    if all(isinstance(v, Mapping) for v in history.values()):
        runs = dict(history)
    elif not any(isinstance(v, Mapping) for v in history.values()):
        runs = {"": history}
    else:
        raise TypeError("history mixes lists and dicts: give one History or a dict of them")
    for name, run in runs.items():
        _check_history(run, name)
    with _style():
        fig = _new_figure(figsize=(7.0, 2.8))
        ax_loss, ax_acc = fig.subplots(1, 2)
        for color, (name, run) in zip(_COLORS * 4, runs.items(), strict=False):
            epochs = list(run["epoch"])
            for ax, metric in ((ax_loss, "loss"), (ax_acc, "acc")):
                for split, style in (("train", "-"), ("val", "--")):
                    values = run.get(f"{split}_{metric}") or []
                    if len(values) == len(epochs) and values:
                        label = f"{name} {split}".strip() if len(runs) > 1 else split
                        ax.plot(epochs, values, style, color=color, marker=".", label=label)
        ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss")
        ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
        for ax in (ax_loss, ax_acc):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
            if ax.get_legend_handles_labels()[0]:
                ax.legend()
        if title:
            fig.suptitle(title)
    return fig


def _check_history(run: Mapping[str, Any], name: str) -> None:
    where = f" (run {name!r})" if name else ""
    missing = [key for key in ("epoch", "train_loss") if key not in run]
    if missing:
        raise ValueError(f"a History needs the keys 'epoch' and 'train_loss'; missing "
                         f"{missing}{where}, got keys {sorted(run)}")
    for key, values in run.items():
        if key in ("epoch", "train_loss", "train_acc") and len(values) != len(run["epoch"]):
            raise ValueError(f"{key!r} has {len(values)} values but 'epoch' has "
                             f"{len(run['epoch'])}{where}")


def plot_confusion_matrix(cm: Any, classes: Sequence[str] | None = None, normalize: bool = False,
                          title: str = "Confusion matrix") -> Figure:
    """A confusion matrix: row = true class, column = predicted class.

    ``cm``: (K, K) counts, e.g. from :func:`cnnlab.train.confusion_matrix`; ``classes``: K
    names.  ``normalize=True`` shows each row as fractions of that class.  Cells are
    annotated when K <= 20.

    >>> fig = plot_confusion_matrix(np.array([[5, 1], [0, 4]]), ["cat", "dog"])
    >>> len(fig.axes)  # the matrix and its colour bar
    2
    """
    m = _numpy(cm).astype(float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"expected a square confusion matrix (K, K), got shape {m.shape}")
    k = m.shape[0]
    if classes is not None and len(classes) != k:
        raise ValueError(f"got {len(classes)} class names for a {k}x{k} confusion matrix")
    if normalize:
        m = m / np.maximum(m.sum(axis=1, keepdims=True), 1)
    names = list(classes) if classes is not None else [str(i) for i in range(k)]
    with _style():
        side = min(2.0 + 0.35 * k, 8.0)
        fig = _new_figure(figsize=(side + 0.8, side))
        ax = fig.subplots()
        shown = ax.imshow(m, cmap="Blues", vmin=0)
        fig.colorbar(shown, ax=ax, shrink=0.8, label="fraction" if normalize else "count")
        tilted = k > 5
        ax.set_xticks(range(k), names, rotation=45 if tilted else 0,
                      ha="right" if tilted else "center")
        ax.set_yticks(range(k), names)
        ax.set(xlabel="predicted", ylabel="true", title=title)
        ax.grid(False)
        if k <= 20:
            top = m.max() or 1.0
            for i in range(k):
                for j in range(k):
                    text = f"{m[i, j]:.2f}" if normalize else f"{m[i, j]:.0f}"
                    ax.text(j, i, text, ha="center", va="center", fontsize=7,
                            color="white" if m[i, j] > 0.6 * top else "black")
    return fig


# --------------------------------------------------------------------------------------------
# Chapter 11: inside the network
# --------------------------------------------------------------------------------------------


def plot_top_activations(tops: Sequence[TopActivation], title: str | None = None) -> Figure:
    """Zeiler & Fergus's figure 2 for one feature map: deconvnet projections on the left,
    the image patches that caused them on the right, in the same grid order (strongest first).

    ``tops``: the list :func:`cnnlab.inside.top_activations` returns.  Every patch is drawn at
    the scale of the full receptive field; where the field sticks out of the image the cell
    stays blank.

    >>> import torch
    >>> from cnnlab.inside import top_activations
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU())
    >>> fig = plot_top_activations(top_activations(net, 1, 0, torch.rand(9, 1, 6, 6)))
    >>> len(fig.axes)
    18
    """
    if len(tops) == 0:
        raise ValueError("no activations to plot: tops is empty")
    side = math.ceil(math.sqrt(len(tops)))
    nrows = math.ceil(len(tops) / side)
    with _style():
        fig = _new_figure(figsize=(2 * side * 0.8 + 0.4, nrows * 0.8 + 0.6))
        halves: Any = fig.subfigures(1, 2, wspace=0.05)
        for sub, kind in zip(halves, ("projection", "patch"), strict=True):
            axes = sub.subplots(nrows, side, squeeze=False).ravel()
            for ax, top in zip(axes, tops, strict=False):
                picture = _single_image(getattr(top, kind))
                t, lft, b, r = top.box
                wt, wl, wb, wr = top.window
                _imshow(ax, picture, "signed" if kind == "projection" else "minmax", "gray",
                        extent=(lft - 0.5, r - 0.5, b - 0.5, t - 0.5))
                ax.set_xlim(wl - 0.5, wr - 0.5)
                ax.set_ylim(wb - 0.5, wt - 0.5)
                ax.set_facecolor("#dddddd")
            for ax in axes[len(tops):]:
                sub.delaxes(ax)
            sub.suptitle("deconvnet projections" if kind == "projection" else "image patches")
        if title:
            fig.suptitle(title)
    return fig


def plot_occlusion(maps: OcclusionMaps, image: Any, classes: Sequence[str] | None = None,
                   title: str | None = None) -> Figure:
    """Zeiler & Fergus's figure 7 for one image: (a) the image with one occluder drawn,
    (b) the chosen feature map's total activation, (c) the probability of the correct class
    and (d) the most probable class, each as a function of where the gray square was.

    ``maps``: from :func:`cnnlab.inside.occlusion`; ``image``: the image it was computed on;
    ``classes``: class names for the labels in (d).  The occluder drawn in (a) is the one
    that lowered the probability most.
    """
    picture = _single_image(image)
    rows, cols, w, s = maps.rows, maps.cols, maps.window, maps.stride
    # Cell (i, j) of a map stands for the window centred at (rows[i], cols[j]) + w/2.
    extent = (cols[0] + (w - s) / 2 - 0.5, cols[-1] + (w + s) / 2 - 0.5,
              rows[-1] + (w + s) / 2 - 0.5, rows[0] + (w - s) / 2 - 0.5)
    names = list(classes) if classes is not None else None
    with _style():
        fig = _new_figure(figsize=(10.0, 2.8))
        axes = fig.subplots(1, 4)
        _imshow(axes[0], picture, "minmax", "gray")
        i, j = np.unravel_index(int(np.argmin(_numpy(maps.probability))), maps.probability.shape)
        axes[0].add_patch(Rectangle((cols[j] - 0.5, rows[i] - 0.5), w, w, edgecolor="white",
                                    facecolor=_fill_color(maps.fill, picture)))
        axes[0].set_title("(a) image and an occluder")
        panels = ((axes[1], maps.activation, "inferno",
                   f"(b) total activation\n{maps.layer_name}, map {maps.channel}"),
                  (axes[2], maps.probability, "viridis",
                   f"(c) p({_name(maps.target, names)})"))
        for ax, values, cmap, label in panels:
            shown = ax.imshow(_numpy(values), cmap=cmap, extent=extent)
            fig.colorbar(shown, ax=ax, shrink=0.8)
            ax.set_title(label)
        labels = _numpy(maps.label).astype(int)
        present = sorted(set(labels.ravel().tolist()))
        palette = matplotlib.colormaps["tab10" if max(present) < 10 else "tab20"]
        colored = palette(labels % palette.N)
        axes[3].imshow(colored, extent=extent)
        axes[3].legend(handles=[Patch(color=palette(c % palette.N), label=_name(c, names))
                                for c in present], loc="upper left", bbox_to_anchor=(1.0, 1.0),
                       title="label")
        axes[3].set_title("(d) most probable class")
        for ax in axes:
            ax.set_xlim(-0.5, picture.shape[1] - 0.5)
            ax.set_ylim(picture.shape[0] - 0.5, -0.5)
            _bare(ax)
            for spine in ax.spines.values():  # a thin frame: the image's outline
                spine.set(visible=True, color="0.75", linewidth=0.6)
        if title:
            fig.suptitle(title)
    return fig


def plot_feature_evolution(evolution: FeatureEvolution, title: str | None = None) -> Figure:
    """Deconvnet projections through training: one row per snapshot, one column per channel.

    ``evolution``: from :func:`cnnlab.inside.feature_evolution`.  Each projection is scaled
    on its own, symmetrically around 0.
    """
    p = _numpy(evolution.projections)
    if p.ndim != 5:
        raise ValueError(f"expected projections of shape (S, K, C, H, W), got {p.shape}")
    n_snap, n_chan = p.shape[:2]
    with _style():
        fig = _new_figure(figsize=(n_chan * _CELL + 0.6, n_snap * _CELL + 0.4))
        grid = fig.subplots(n_snap, n_chan, squeeze=False)
        for s in range(n_snap):
            for k in range(n_chan):
                ax = grid[s, k]
                _imshow(ax, _single_image(p[s, k]), "signed", "gray")
                if s == 0:
                    ax.set_title(f"map {evolution.channels[k]}")
                if k == 0:
                    ax.set_ylabel(evolution.labels[s])
        fig.suptitle(title or f"Projections from {evolution.layer_name} during training")
    return fig


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _numpy(x: Any) -> np.ndarray:
    """A tensor (any device, with or without grad) or array-like as a float NumPy array."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"expected a tensor or an array, got {type(x).__name__}") from err


def _image_list(images: Any) -> list[np.ndarray]:
    """Images as a list of (H, W) or (H, W, 3) arrays; see :func:`show_images` for layouts."""
    if isinstance(images, list | tuple):
        if not images:
            raise ValueError("no images to show: the list is empty")
        return [_single_image(image) for image in images]
    is_tensor = hasattr(images, "detach")
    a = _numpy(images)
    if a.ndim == 2:
        return [a]
    if a.ndim == 3:
        if not is_tensor and a.shape[-1] == 3:  # one NumPy (H, W, 3) picture
            return [a]
        return list(a)  # (N, H, W)
    if a.ndim == 4:
        if not is_tensor and a.shape[-1] in (1, 3):
            a = a.transpose(0, 3, 1, 2)
        if a.shape[1] not in (1, 3):
            raise ValueError(f"expected 1 or 3 channels, got images of shape {a.shape} "
                             "(tensors are (N, C, H, W), arrays (N, H, W, C) or (N, C, H, W))")
        return [_single_image(image) for image in a]
    raise ValueError(f"expected images (N, C, H, W), (N, H, W) or (H, W), got shape {a.shape}")


def _single_image(image: Any) -> np.ndarray:
    """One image (H, W), (C, H, W) or (H, W, C) with C in 1, 3 as (H, W) or (H, W, 3)."""
    a = _numpy(image)
    if a.ndim == 2:
        return a
    if a.ndim == 3:
        if a.shape[0] in (1, 3) and a.shape[-1] not in (1, 3):
            a = a.transpose(1, 2, 0)
        elif a.shape[0] in (1, 3) and a.shape[-1] in (1, 3) and hasattr(image, "detach"):
            a = a.transpose(1, 2, 0)  # ambiguous: tensors are channels-first
        if a.shape[-1] == 1:
            return a[..., 0]
        if a.shape[-1] == 3:
            return a
    raise ValueError(f"expected one image (H, W), (C, H, W) or (H, W, C) with 1 or 3 channels, "
                     f"got shape {a.shape}")


def _scaled(picture: np.ndarray, scale: Scale) -> np.ndarray:
    if scale == "minmax":
        lo, hi = float(picture.min()), float(picture.max())
        return (picture - lo) / (hi - lo) if hi > lo else np.zeros_like(picture)
    if scale == "signed":
        m = float(np.abs(picture).max())
        return 0.5 + picture / (2 * m) if m > 0 else np.full_like(picture, 0.5)
    if scale == "clip":
        return np.clip(picture, 0.0, 1.0)
    raise ValueError(f"scale must be 'minmax', 'signed' or 'clip', got {scale!r}")


def _imshow(ax: Axes, picture: np.ndarray, scale: Scale, cmap: str, **kwargs: Any) -> None:
    shown = _scaled(picture, scale)
    if shown.ndim == 2:
        ax.imshow(shown, cmap=cmap, vmin=0.0, vmax=1.0, **kwargs)
    else:
        ax.imshow(shown, **kwargs)
    _bare(ax)


def _bare(ax: Axes) -> None:
    """No ticks, grid or frame: an image speaks for itself."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _grid(n: int, ncols: int) -> tuple[Figure, list[Axes]]:
    """A figure with exactly n small image axes, ncols per row."""
    cols = min(n, ncols)
    rows = math.ceil(n / cols)
    fig = _new_figure(figsize=(cols * _CELL + 0.2, rows * _CELL + 0.4))
    grid = fig.subplots(rows, cols, squeeze=False)
    axes = list(grid.ravel())
    for ax in axes[n:]:
        fig.delaxes(ax)
    return fig, axes[:n]


def _new_figure(figsize: tuple[float, float]) -> Figure:
    """A figure with constrained layout, made by pyplot (which sets up Jupyter's display of
    figures) and closed at once in pyplot's manager: it shows only where it is returned."""
    fig = plt.figure(figsize=figsize, layout="constrained")
    plt.close(fig)
    return fig


def _figure_of(ax: Axes) -> Figure:
    """The figure an axes belongs to (through any subfigures)."""
    fig: Any = ax.figure
    while not isinstance(fig, Figure):
        fig = fig.figure  # a SubFigure's parent
    return fig


def _fill_color(fill: Any, picture: np.ndarray) -> tuple[float, float, float]:
    """The occluder's colour as :func:`_imshow` draws ``picture`` (min-max scaled)."""
    lo, hi = float(picture.min()), float(picture.max())
    values = _numpy(fill).ravel()
    if values.size not in (1, 3):
        values = np.array([0.5 * (lo + hi)])
    values = np.broadcast_to(values, (3,))
    scaled = np.clip((values - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.full(3, 0.5)
    return (float(scaled[0]), float(scaled[1]), float(scaled[2]))


def _name(label: int, names: Sequence[str] | None) -> str:
    return names[label] if names is not None and 0 <= label < len(names) else str(label)


# Block diagrams of models live in their own module; the plotting namespace offers them too.
from cnnlab.diagrams import draw_model  # noqa: E402

__all__ += ["draw_model"]

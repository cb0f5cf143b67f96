"""The filter designer (lab 01): type or pick a 3x3 or 5x5 kernel and see it applied to a
photograph, in colour and in gray.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from cnnlab import ops
from cnnlab.data.photos import sample_photo
from cnnlab.widgets._instrument import (
    Instrument,
    _annotate,
    _cell_axes,
    _dropdown,
    _fmt,
    _signed_imshow,
)
from cnnlab.widgets.presets import FILTER_PRESETS, PHOTOS

__all__ = [
    "FilterDesigner",
    "filter_designer",
]

_DISPLAYS = ("auto", "clip to [0, 1]", "stretch min-max", "absolute value")


@dataclass
class FilterResult:
    """The kernel and its responses on the photograph (same size as the photograph)."""

    kernel: np.ndarray  # (k, k)
    colour: np.ndarray  # (H, W, 3) response of each colour channel
    gray: np.ndarray  # (H, W) response of the gray image
    kernel_sum: float


class FilterDesigner(Instrument):
    """Design a 3x3 or 5x5 filter and see it applied to a photograph, in colour and in gray.

    Controls: ``controls["size"]`` (3×3 / 5×5), ``controls["preset"]`` (Sobel, Laplacian,
    blur, Gaussian, sharpen, emboss, identity, the hand-made edge filters...), ``weights``
    (25 FloatText, row-major 5x5; in 3×3 mode only the centre 3x3 counts),
    ``controls["normalise"]`` (divide by the sum of the weights), ``controls["display"]`` and
    ``controls["photo"]``. Each colour channel is filtered separately (``cnnlab.ops.conv2d``
    with groups=3) after reflect padding, so the output keeps the photograph's size.
    """

    title = "Filter designer: your kernel on a photograph"
    figsize = (9.6, 3.0)

    def __init__(self, photo: str | np.ndarray | None = None,
                 preset: str = "Sobel x (vertical edges)") -> None:
        super().__init__()
        options = list(PHOTOS)
        self._own: np.ndarray | None = None
        if photo is None:
            photo = "chelsea"
        if isinstance(photo, np.ndarray):
            self._own = _check_photo(photo)
            options = ["your photo", *options]
            photo = "your photo"
        elif not isinstance(photo, str) or photo not in PHOTOS:
            raise ValueError(f"photo must be None, an array or one of {PHOTOS}, got {photo!r}")
        if preset not in FILTER_PRESETS:
            raise ValueError(f"preset must be one of {list(FILTER_PRESETS)}, got {preset!r}")
        self._syncing = False
        k0 = FILTER_PRESETS[preset]
        self.weights = [widgets.FloatText(value=0.0, step=0.1, layout=widgets.Layout(width="62px"))
                        for _ in range(25)]
        start = _embed5(k0)
        for wt, v in zip(self.weights, start.ravel(), strict=True):
            wt.value = float(v)
            wt.observe(self._on_weight, names="value")
        self.controls = {
            "size": widgets.ToggleButtons(options=["3×3", "5×5"],
                                          value="3×3" if k0.shape[0] == 3 else "5×5",
                                          description="size"),
            "preset": _dropdown("preset", [*FILTER_PRESETS, "custom"], preset),
            "normalise": widgets.Checkbox(value=False, description="divide by the sum"),
            "display": _dropdown("display", _DISPLAYS, "auto"),
            "photo": _dropdown("photo", options, photo),
        }
        self.controls["preset"].observe(self._on_preset, names="value")
        self.controls["size"].observe(self._on_weight, names="value")
        self._watch(self.controls["normalise"], self.controls["display"], self.controls["photo"])
        c = self.controls
        grid = widgets.GridBox(self.weights, layout=widgets.Layout(
            grid_template_columns="repeat(5, 64px)", grid_gap="2px"))
        self._layout(widgets.HBox([
            widgets.VBox([c["preset"], c["size"], c["normalise"], c["display"], c["photo"]]),
            widgets.VBox([widgets.HTML("weights (type to edit):"), grid])]))
        self._sync()
        self.refresh()

    # -- state ---------------------------------------------------------------------------------
    def _sync(self) -> None:
        self.size = 3 if self.controls["size"].value == "3×3" else 5
        full = np.array([float(w.value) for w in self.weights]).reshape(5, 5)
        self.kernel = full[1:4, 1:4].copy() if self.size == 3 else full
        for i, wt in enumerate(self.weights):
            r, c = divmod(i, 5)
            outer = r in (0, 4) or c in (0, 4)
            wt.disabled = self.size == 3 and outer
        self.normalise = bool(self.controls["normalise"].value)
        self.display = str(self.controls["display"].value)
        self.photo = str(self.controls["photo"].value)

    def _on_preset(self, change: dict[str, Any]) -> None:
        name = change["new"]
        if name == "custom" or self._syncing:
            return
        k = FILTER_PRESETS[name]
        self._syncing = True
        try:
            with self.batch():
                self.controls["size"].value = "3×3" if k.shape[0] == 3 else "5×5"
                for wt, v in zip(self.weights, _embed5(k).ravel(), strict=True):
                    wt.value = float(v)
        finally:
            self._syncing = False

    def _on_weight(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        self._sync()
        match = [n for n, k in FILTER_PRESETS.items()
                 if k.shape == self.kernel.shape and np.allclose(k, self.kernel)]
        self._syncing = True
        try:
            self.controls["preset"].value = match[0] if match else "custom"
        finally:
            self._syncing = False
        self.refresh()

    def image(self) -> np.ndarray:
        """The photograph, (H, W, 3) float64 in [0, 1]."""
        return self._own if self.photo == "your photo" and self._own is not None else sample_photo(
            self.photo, rgb=True, max_side=320)

    # -- numbers -------------------------------------------------------------------------------
    def effective_kernel(self) -> np.ndarray:
        """The kernel as applied: the typed weights, divided by their sum when asked (k, k)."""
        k = self.kernel
        if self.normalise:
            s = float(k.sum())
            if abs(s) < 1e-12:
                raise ValueError("the weights sum to 0, so they cannot be divided by their sum: "
                                 "untick 'divide by the sum' (edge filters are meant to sum to 0)")
            k = k / s
        return k

    def compute(self) -> FilterResult:
        from skimage.color import rgb2gray  # luminance with Rec. 709 weights

        k = self.effective_kernel()
        img = self.image()
        h, w = img.shape[:2]
        half = k.shape[0] // 2
        if min(h, w) <= half:
            raise ValueError(f"the photograph ({h}×{w}) is too small for a "
                             f"{k.shape[0]}×{k.shape[0]} kernel")
        chw = np.pad(img.transpose(2, 0, 1), ((0, 0), (half, half), (half, half)), mode="reflect")
        colour = ops.conv2d(chw[None], np.repeat(k[None, None], 3, axis=0), groups=3)[0]
        g = np.pad(rgb2gray(img), half, mode="reflect")
        gray = ops.conv2d(g[None, None], k[None, None])[0, 0]
        return FilterResult(kernel=k, colour=np.asarray(colour).transpose(1, 2, 0),
                            gray=np.asarray(gray), kernel_sum=float(k.sum()))

    def to_display(self, response: np.ndarray) -> np.ndarray:
        """Map a response to [0, 1] for showing, by the chosen display mode.

        "auto" centres zero-sum kernels at mid-gray (negative dark, positive bright; the
        strongest 0.5% saturate) and clips the others to [0, 1].
        """
        mode = self.display
        if mode == "auto":
            mode = "centred" if abs(self.result.kernel_sum) < 1e-9 else "clip to [0, 1]"
        if mode == "clip to [0, 1]":
            return np.clip(response, 0.0, 1.0)
        if mode == "absolute value":
            a = np.abs(response)
            return np.asarray(np.clip(a / max(float(np.percentile(a, 99.5)), 1e-12), 0, 1))
        if mode == "stretch min-max":
            lo, hi = float(response.min()), float(response.max())
            return np.asarray((response - lo) / max(hi - lo, 1e-12))
        v = max(float(np.percentile(np.abs(response), 99.5)), 1e-12)
        return np.asarray(np.clip(0.5 + 0.5 * response / v, 0, 1))

    def readout(self) -> dict[str, str]:
        r: FilterResult = self.result
        return {
            "kernel": f"{r.kernel.shape[0]}×{r.kernel.shape[1]}",
            "sum of weights": _fmt(r.kernel_sum),
            "gray response range": f"{_fmt(float(r.gray.min()))} … {_fmt(float(r.gray.max()))}",
        }

    def _note(self) -> str:
        r: FilterResult = self.result
        if not np.any(r.kernel):
            return "All weights are 0, so every output is 0."
        if abs(r.kernel_sum) < 1e-9:
            return ("The weights sum to 0: flat regions give 0 (mid-gray) and only changes in "
                    "brightness respond, as in an edge detector.")
        if abs(r.kernel_sum - 1) < 1e-9:
            return "The weights sum to 1: flat regions keep their brightness."
        return (f"The weights sum to {_fmt(r.kernel_sum)}: flat regions are multiplied by that "
                "factor (tick 'divide by the sum' to keep the brightness).")

    def _draw(self, fig: Figure) -> None:
        r: FilterResult = self.result
        axs = fig.subplots(1, 4, width_ratios=[1, 1, 1, 0.5])
        axs[0].imshow(self.image())
        _cell_axes(axs[0], "photograph")
        axs[1].imshow(np.clip(self.to_display(r.colour), 0, 1))
        _cell_axes(axs[1], "filtered, each colour")
        axs[2].imshow(self.to_display(r.gray), cmap="gray", vmin=0, vmax=1)
        _cell_axes(axs[2], "filtered, gray")
        _signed_imshow(axs[3], r.kernel)
        if all(len(_fmt(float(v))) <= 4 for v in r.kernel.ravel()):  # else the grid shows them
            _annotate(axs[3], r.kernel, fontsize=7 if r.kernel.shape[0] == 5 else 8, dark=0.6)
        _cell_axes(axs[3], "kernel")


def _embed5(k: np.ndarray) -> np.ndarray:
    out = np.zeros((5, 5))
    off = (5 - k.shape[0]) // 2
    out[off:off + k.shape[0], off:off + k.shape[1]] = k
    return out


def _check_photo(photo: np.ndarray) -> np.ndarray:
    img = np.asarray(photo)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    if img.ndim != 3 or img.shape[-1] not in (3, 4):
        raise ValueError(f"photo must be (H, W) or (H, W, 3) or (H, W, 4), got shape {photo.shape}")
    img = img[..., :3].astype(np.float64)
    if img.max() > 1.0:
        img = img / 255.0
    return np.clip(img, 0.0, 1.0)


def filter_designer(photo: str | np.ndarray | None = None,
                    preset: str = "Sobel x (vertical edges)") -> FilterDesigner:
    """Design a 3x3/5x5 kernel and see it on a photograph (a name from PHOTOS or an array).

    ``photo`` may be None (scikit-image's "chelsea"), one of :data:`PHOTOS`, or an array
    (H, W), (H, W, 3) or (H, W, 4), uint8 or float in [0, 1]. Responses have the photograph's
    size: ``result.colour`` (H, W, 3) and ``result.gray`` (H, W).

    >>> fd = filter_designer(preset="identity")
    >>> fd.result.gray.shape == fd.image().shape[:2]
    True
    """
    return FilterDesigner(photo=photo, preset=preset)


# ---------------------------------------------------------------------------------------------
# live: any figure driven by controls
# ---------------------------------------------------------------------------------------------



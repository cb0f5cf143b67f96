"""The kernel explorer (chapter 02): draw on a 9x9 grid, pick or type a 3x3 kernel, set
stride, padding and dilation, and watch the feature map and how often each weight is reused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnlab import ops
from cnnlab.widgets._instrument import (
    Instrument,
    _annotate,
    _cell_axes,
    _dropdown,
    _int_slider,
    _signed_imshow,
)
from cnnlab.widgets.presets import KERNELS_3X3, SEVEN

__all__ = [
    "KernelExplorer",
    "kernel_explorer",
]


@dataclass
class KernelResult:
    """What the kernel explorer shows: the feature map and the weight-sharing count."""

    feature_map: np.ndarray  # (H_out, W_out)
    out_size: tuple[int, int]
    reuse: int  # applications of each weight = H_out * W_out
    dense_weights: int  # weights of a dense layer mapping the same input to the same output


class KernelExplorer(Instrument):
    """A 3x3 kernel slid over a small hand-drawn image (default: a "7" on a 9x9 grid).

    Controls: ``cells`` (a grid of toggle buttons, one per input pixel), ``controls["kernel"]``
    (EDGE, BLUR, SHARPEN, IDENTITY or custom), ``weights`` (nine FloatText, row-major; typing
    into one switches the preset to "custom"), ``controls["stride"]`` (1-3),
    ``controls["padding"]`` (0-3) and ``controls["dilation"]`` (1-5).
    ``image`` may be any (H, W) array from 3x3 to 16x16; values above 0.5 count as ink.
    State: ``image`` (H, W) float array of 0/1, ``kernel`` (3, 3), ``stride``, ``padding``,
    ``dilation``. ``compute()`` returns a :class:`KernelResult` computed with
    ``cnnlab.ops.conv2d`` and ``cnnlab.ops.conv_output_size``.
    """

    title = "Kernel explorer: one 3×3 kernel reused at every position"
    figsize = (9.6, 3.4)

    def __init__(self, image: np.ndarray | None = None, kernel: str = "EDGE", stride: int = 1,
                 padding: int = 0, dilation: int = 1) -> None:
        super().__init__()
        img = SEVEN if image is None else np.asarray(image, dtype=np.float64)
        if img.ndim != 2 or not (3 <= img.shape[0] <= 16 and 3 <= img.shape[1] <= 16):
            raise ValueError("image must be a 2-D array between 3x3 and 16x16, "
                             f"got shape {img.shape}")
        if kernel not in KERNELS_3X3:
            raise ValueError(f"kernel must be one of {list(KERNELS_3X3)}, got {kernel!r}")
        self.image = (img > 0.5).astype(np.float64)
        self.kernel = KERNELS_3X3[kernel].copy()
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self._syncing = False

        h, w = self.image.shape
        self.cells = [
            [widgets.ToggleButton(value=bool(self.image[r, c]), tooltip=f"pixel ({r}, {c})",
                                  layout=widgets.Layout(width="26px", height="26px", padding="0"))
             for c in range(w)]
            for r in range(h)
        ]
        for row in self.cells:
            for b in row:
                b.observe(self._on_cell, names="value")
        self.weights = [
            widgets.FloatText(value=float(v), step=0.1, layout=widgets.Layout(width="64px"))
            for v in self.kernel.ravel()
        ]
        for wt in self.weights:
            wt.observe(self._on_weight, names="value")
        preset = _dropdown("kernel", [*KERNELS_3X3, "custom"], kernel)
        preset.observe(self._on_preset, names="value")
        self.controls = {
            "kernel": preset,
            "stride": _int_slider("stride", stride, 1, 3),
            "padding": _int_slider("padding", padding, 0, 3),
            "dilation": _int_slider("dilation", dilation, 1, 5),
        }
        self._watch(self.controls["stride"], self.controls["padding"], self.controls["dilation"])

        grid = widgets.GridBox([b for row in self.cells for b in row], layout=widgets.Layout(
            grid_template_columns=f"repeat({w}, 26px)", grid_gap="1px"))
        wgrid = widgets.GridBox(self.weights, layout=widgets.Layout(
            grid_template_columns="repeat(3, 66px)", grid_gap="2px"))
        side = widgets.VBox([preset, widgets.HTML("weights (type to edit):"), wgrid,
                             self.controls["stride"], self.controls["padding"],
                             self.controls["dilation"]])
        left = widgets.VBox([widgets.HTML("input (click a cell to draw or erase):"), grid])
        self._layout(widgets.HBox([left, side], layout=widgets.Layout(grid_gap="24px")))
        self._sync()
        self.refresh()

    # -- control handlers ----------------------------------------------------------------------
    def _sync(self) -> None:
        self.stride = int(self.controls["stride"].value)
        self.padding = int(self.controls["padding"].value)
        self.dilation = int(self.controls["dilation"].value)
        self.image = np.array([[float(b.value) for b in row] for row in self.cells])
        self.kernel = np.array([float(w.value) for w in self.weights]).reshape(3, 3)

    def _on_cell(self, change: dict[str, Any]) -> None:
        self._sync()
        self.refresh()

    def _on_preset(self, change: dict[str, Any]) -> None:
        name = change["new"]
        if name == "custom" or self._syncing:
            return
        self._syncing = True
        try:
            with self.batch():
                for wt, v in zip(self.weights, KERNELS_3X3[name].ravel(), strict=True):
                    wt.value = float(v)
        finally:
            self._syncing = False

    def _on_weight(self, change: dict[str, Any]) -> None:
        self._sync()
        if not self._syncing:
            match = [n for n, k in KERNELS_3X3.items() if np.allclose(k, self.kernel)]
            self._syncing = True
            try:
                self.controls["kernel"].value = match[0] if match else "custom"
            finally:
                self._syncing = False
        self.refresh()

    # -- numbers -------------------------------------------------------------------------------
    def compute(self) -> KernelResult:
        h, w = self.image.shape
        oh = ops.conv_output_size(h, 3, self.stride, self.padding, self.dilation)
        ow = ops.conv_output_size(w, 3, self.stride, self.padding, self.dilation)
        fmap = ops.conv2d(self.image[None, None], self.kernel[None, None], stride=self.stride,
                          padding=self.padding, dilation=self.dilation)[0, 0]
        return KernelResult(feature_map=np.asarray(fmap), out_size=(oh, ow), reuse=oh * ow,
                            dense_weights=h * w * oh * ow)

    def readout(self) -> dict[str, str]:
        r: KernelResult = self.result
        return {
            "output size": f"{r.out_size[0]} × {r.out_size[1]}",
            "weight reuse": f"{r.reuse}×",
            "conv weights": "9",
            "dense weights": f"{r.dense_weights:,}",
        }

    def _note(self) -> str:
        r: KernelResult = self.result
        h, w = self.image.shape
        return (f"The same 9 weights produce all {r.reuse} outputs. A dense layer mapping the "
                f"{h * w} input pixels to the same {r.reuse} outputs would need "
                f"{h * w} × {r.reuse} = {r.dense_weights:,} weights.")

    def _draw(self, fig: Figure) -> None:
        r: KernelResult = self.result
        p, d = self.padding, self.dilation
        ax_in, ax_k, ax_out = fig.subplots(1, 3, width_ratios=[1.2, 0.7, 1.0])
        padded = np.pad(self.image, p)
        ax_in.imshow(padded, cmap="Greys", vmin=0, vmax=1.6)
        h, w = self.image.shape
        if p:
            ax_in.add_patch(Rectangle((p - 0.5, p - 0.5), w, h, fill=False, ec="#555", lw=1,
                                      ls="--"))
        for i in range(3):  # the cells the first output position reads
            for j in range(3):
                ax_in.add_patch(Rectangle((j * d - 0.5, i * d - 0.5), 1, 1, fill=False,
                                          ec="#e76f51", lw=2))
        _cell_axes(ax_in, f"input {h}×{w}" + (f", padded by {p}" if p else ""), grid=True)
        _signed_imshow(ax_k, self.kernel)
        _annotate(ax_k, self.kernel, fontsize=9, dark=0.6)
        _cell_axes(ax_k, "kernel 3×3")
        _signed_imshow(ax_out, r.feature_map)
        if max(r.out_size) <= 11:
            _annotate(ax_out, r.feature_map, fontsize=7 if max(r.out_size) > 7 else 8, dark=0.6)
        _cell_axes(ax_out, f"feature map {r.out_size[0]}×{r.out_size[1]}", grid=True)
        ax_out.add_patch(Rectangle((-0.5, -0.5), 1, 1, fill=False, ec="#e76f51", lw=2))


def kernel_explorer(image: np.ndarray | None = None, kernel: str = "EDGE", stride: int = 1,
                    padding: int = 0, dilation: int = 1) -> KernelExplorer:
    """The kernel explorer: a hand-drawn "7" (9x9), a 3x3 kernel, stride, padding, dilation.

    Shows the feature map (H_out, W_out) = floor((9 + 2p - d*2 - 1)/s) + 1 per side and how
    many times each weight is reused (H_out * W_out: 49 at the defaults, 7x7 output).

    >>> ke = kernel_explorer(kernel="BLUR")
    >>> ke.result.feature_map.shape
    (7, 7)
    """
    return KernelExplorer(image=image, kernel=kernel, stride=stride, padding=padding,
                          dilation=dilation)


# ---------------------------------------------------------------------------------------------

"""The convolution stepper (chapter 02): the kernel window stepping over a 5x5 input, with the
nine products and their sum written out at each position.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from cnnlab import ops
from cnnlab.widgets._instrument import (
    _CMAP_SIGNED,
    Instrument,
    _annotate,
    _cell_axes,
    _dropdown,
    _fmt,
    _int_slider,
    _signed_imshow,
)
from cnnlab.widgets.presets import KERNELS_3X3

__all__ = [
    "ConvStepper",
    "conv_stepper",
]

_STEPPER_KERNELS: dict[str, np.ndarray] = {
    "vertical edge (columns -1, 0, 1)": np.tile([-1.0, 0.0, 1.0], (3, 1)),
    "horizontal edge (rows -1, 0, 1)": np.tile([-1.0, 0.0, 1.0], (3, 1)).T.copy(),
    "box sum (all ones)": np.ones((3, 3)),
    "identity": KERNELS_3X3["IDENTITY"].copy(),
}


@dataclass
class StepResult:
    """One position of the sliding window."""

    position: tuple[int, int]  # (row, col) in the output
    window: np.ndarray  # (3, 3) input values under the kernel (zeros where padding)
    products: np.ndarray  # (3, 3) window * kernel
    total: float  # sum of the products = output[row, col]
    output: np.ndarray  # (H_out, W_out) the whole feature map
    positions: int  # H_out * W_out


class ConvStepper(Instrument):
    """The worked 5x5 example: the window slides one step at a time, products and sum shown.

    Controls: ``controls["kernel"]``, ``controls["stride"]`` (1-3), ``controls["padding"]``
    (0-2), ``controls["step"]`` (which output position, row-major) and ``controls["play"]``
    (animates the step). The window values come from ``cnnlab.ops.im2col`` and the whole map
    from ``cnnlab.ops.conv2d``; the sum of the shown products equals the map's entry.
    """

    title = "Convolution, one step at a time"
    figsize = (9.6, 3.3)

    def __init__(self, image: np.ndarray | None = None,
                 kernel: str = "vertical edge (columns -1, 0, 1)", stride: int = 1,
                 padding: int = 0) -> None:
        super().__init__()
        img = np.arange(1, 26, dtype=np.float64).reshape(5, 5) if image is None else image
        self.image = np.asarray(img, dtype=np.float64)
        if self.image.ndim != 2 or max(self.image.shape) > 9 or min(self.image.shape) < 1:
            raise ValueError(f"image must be a 2-D array of at most 9x9, got {self.image.shape}")
        if kernel not in _STEPPER_KERNELS:
            raise ValueError(f"kernel must be one of {list(_STEPPER_KERNELS)}, got {kernel!r}")
        self.kernel = _STEPPER_KERNELS[kernel].copy()
        self.stride, self.padding, self.step = stride, padding, 0
        self.controls = {
            "kernel": _dropdown("kernel", list(_STEPPER_KERNELS), kernel),
            "stride": _int_slider("stride", stride, 1, 3),
            "padding": _int_slider("padding", padding, 0, 2),
            "step": _int_slider("position", 0, 0, 0),
            "play": widgets.Play(value=0, min=0, max=0, interval=900, description="play"),
        }
        widgets.jslink((self.controls["play"], "value"), (self.controls["step"], "value"))
        self._watch(*(self.controls[k] for k in ("kernel", "stride", "padding", "step")))
        self._update_range()
        row = widgets.HBox([self.controls["kernel"], self.controls["stride"],
                            self.controls["padding"]])
        self._layout(widgets.VBox([row, widgets.HBox([self.controls["play"],
                                                      self.controls["step"]])]))
        self._sync()
        self.refresh()

    def _positions(self) -> tuple[int, int]:
        h, w = self.image.shape
        return (ops.conv_output_size(h, 3, self.stride, self.padding),
                ops.conv_output_size(w, 3, self.stride, self.padding))

    def _update_range(self) -> None:
        try:
            oh, ow = self._positions()
        except ValueError:
            oh, ow = 1, 1
        for key in ("step", "play"):
            self.controls[key].max = oh * ow - 1

    def _sync(self) -> None:
        self.kernel = _STEPPER_KERNELS[self.controls["kernel"].value].copy()
        self.stride = int(self.controls["stride"].value)
        self.padding = int(self.controls["padding"].value)
        with self._quiet():  # the step slider's range follows the geometry, even in a batch
            self._update_range()
        self.step = int(self.controls["step"].value)

    def compute(self) -> StepResult:
        oh, ow = self._positions()
        if not 0 <= self.step < oh * ow:
            raise ValueError(f"step must be in 0..{oh * ow - 1}, got {self.step}")
        x = self.image[None, None]
        cols = np.asarray(ops.im2col(x, 3, stride=self.stride, padding=self.padding))
        cols = cols.reshape(9, oh * ow)  # (C*k*k, L) for one image and one channel
        window = cols[:, self.step].reshape(3, 3)
        products = window * self.kernel
        output = np.asarray(ops.conv2d(x, self.kernel[None, None], stride=self.stride,
                                       padding=self.padding))[0, 0]
        return StepResult(position=divmod(self.step, ow), window=window, products=products,
                          total=float(products.sum()), output=output, positions=oh * ow)

    def readout(self) -> dict[str, str]:
        r: StepResult = self.result
        return {
            "position": f"row {r.position[0]}, col {r.position[1]}",
            "sum of products": _fmt(r.total),
            "output size": f"{r.output.shape[0]} × {r.output.shape[1]}",
        }

    def _note(self) -> str:
        r: StepResult = self.result
        terms = " + ".join(f"({_fmt(k)}×{_fmt(v)})"
                           for k, v in zip(self.kernel.ravel(), r.window.ravel(), strict=True))
        return f"{html.escape(terms)} = <b>{_fmt(r.total)}</b>"

    def _draw(self, fig: Figure) -> None:
        r: StepResult = self.result
        p, s = self.padding, self.stride
        ax_in, ax_p, ax_out = fig.subplots(1, 3, width_ratios=[1.2, 0.8, 1.0])
        padded = np.pad(self.image, p)
        inside = np.pad(np.ones(self.image.shape, dtype=bool), p)
        cmap = matplotlib.colormaps["Blues"].with_extremes(bad="#e9e9e9")
        ax_in.imshow(np.ma.masked_array(padded, ~inside), cmap=cmap,
                     vmin=self.image.min() - 5, vmax=self.image.max() + 5)
        _annotate(ax_in, padded, fontsize=8)
        top, left = r.position[0] * s, r.position[1] * s
        ax_in.add_patch(Rectangle((left - 0.5, top - 0.5), 3, 3, fill=False, ec="#e76f51", lw=2.5))
        _cell_axes(ax_in, "input" + (f" (zero padding {p})" if p else ""), grid=True)
        _signed_imshow(ax_p, r.products)
        _annotate(ax_p, r.products, fontsize=9, dark=0.6)
        _cell_axes(ax_p, "kernel × window")
        done = np.zeros(r.output.shape, dtype=bool)
        done.ravel()[: self.step + 1] = True
        shown = np.where(done, r.output, np.nan)
        v = max(float(np.max(np.abs(r.output))), 1e-9)
        ax_out.imshow(shown, cmap=_CMAP_SIGNED, vmin=-v, vmax=v)
        _annotate(ax_out, r.output, fontsize=9, mask=done)
        ax_out.add_patch(Rectangle((r.position[1] - 0.5, r.position[0] - 0.5), 1, 1, fill=False,
                                   ec="#e76f51", lw=2.5))
        _cell_axes(ax_out, f"output {r.output.shape[0]}×{r.output.shape[1]}", grid=True)


def conv_stepper(image: np.ndarray | None = None,
                 kernel: str = "vertical edge (columns -1, 0, 1)", stride: int = 1,
                 padding: int = 0) -> ConvStepper:
    """Step a 3x3 kernel over a small input (default: 1..25 row-major, 5x5).

    At each position shows the (3, 3) window, the products with the kernel and their sum; the
    default kernel has columns -1, 0, 1 and its first output is 6.

    >>> cs = conv_stepper()
    >>> cs.result.total
    6.0
    """
    return ConvStepper(image=image, kernel=kernel, stride=stride, padding=padding)


# ---------------------------------------------------------------------------------------------

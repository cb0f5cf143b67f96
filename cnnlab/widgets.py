"""Interactive instruments for the core ideas of the course (ipywidgets + matplotlib).

Six instruments, each a class with a factory function of the same name in snake case:

- :func:`kernel_explorer` -- draw on a 9x9 grid, pick or type a 3x3 kernel, set stride, padding
  and dilation, and watch the feature map and how often each weight is reused.
- :func:`conv_stepper` -- the kernel window stepping over a 5x5 input, with the nine products
  and their sum written out at each position.
- :func:`pooling_shift` -- shift a feature map by 0-3 pixels and see which pooled outputs move.
- :func:`feature_map_visualizer` -- stages of "same" conv + stride-2 pool: spatial size falls,
  channels rise, and the activation count of every stage is drawn as a bar.
- :func:`receptive_field_calculator` -- a stack of convs and pools, the receptive field and jump
  after every layer (table and plot), drawn as boxes over a photograph.
- :func:`filter_designer` -- type or pick a 3x3/5x5 kernel and see it applied to a photograph,
  in colour and in gray.

And one frame for any figure of your own: :func:`live` ties ipywidgets controls to a function
that draws matplotlib figures, with the same still view in the book (the labs use it).

Every number an instrument shows comes from :mod:`cnnlab.ops` or :mod:`cnnlab.receptive` (the
course has one implementation of each idea). The state lives in plain attributes, ``compute()``
returns the numbers behind the view and ``readout()`` the numbers as shown, so a test (or a
curious reader) can drive every control programmatically::

    >>> from cnnlab.widgets import kernel_explorer
    >>> ke = kernel_explorer()
    >>> ke.readout()["output size"], ke.readout()["weight reuse"]
    ('7 × 7', '49×')
    >>> ke.controls["padding"].value = 1
    >>> ke.readout()["output size"]
    '9 × 9'

Settings that cannot work (a kernel wider than the padded input, a map pooled down to nothing)
show a message in the instrument instead of a traceback; ``error`` holds it.

In Jupyter and Colab an instrument displays as a live widget. In the static book there is no
kernel behind the page, so the display also carries a still picture of the current view and a
line inviting the reader to launch the page live (``_repr_mimebundle_`` emits the widget view,
``image/png`` and ``text/html``; the book picks the HTML).
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import ipywidgets as widgets
import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle
from matplotlib.ticker import MaxNLocator

from cnnlab import ops, receptive

__all__ = [
    "SEVEN",
    "KERNELS_3X3",
    "FILTER_PRESETS",
    "FEATURE_MAP_8X8",
    "PHOTOS",
    "Instrument",
    "KernelExplorer",
    "ConvStepper",
    "PoolingShift",
    "FeatureMapVisualizer",
    "ReceptiveFieldCalculator",
    "FilterDesigner",
    "kernel_explorer",
    "conv_stepper",
    "pooling_shift",
    "feature_map_visualizer",
    "receptive_field_calculator",
    "filter_designer",
    "parse_layers",
    "Live",
    "live",
]

# ---------------------------------------------------------------------------------------------
# Data the instruments start from
# ---------------------------------------------------------------------------------------------

#: A "7" drawn by hand on a 9x9 grid (1 = ink, 0 = paper): the kernel explorer's input.
SEVEN = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0, 0, 0],
        [0, 1, 1, 1, 1, 1, 1, 1, 0],
        [0, 0, 0, 0, 0, 0, 1, 1, 0],
        [0, 0, 0, 0, 0, 1, 1, 0, 0],
        [0, 0, 0, 0, 1, 1, 0, 0, 0],
        [0, 0, 0, 1, 1, 0, 0, 0, 0],
        [0, 0, 0, 1, 0, 0, 0, 0, 0],
        [0, 0, 1, 1, 0, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0, 0, 0, 0],
    ],
    dtype=np.float64,
)

#: The four kernels of the kernel explorer.
KERNELS_3X3: dict[str, np.ndarray] = {
    "EDGE": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float64),
    "BLUR": np.full((3, 3), 1.0 / 9.0),
    "SHARPEN": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
    "IDENTITY": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64),
}


def _gaussian(size: int, sigma: float) -> np.ndarray:
    r = np.arange(size) - size // 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2.0 * sigma**2))
    return np.asarray(g / g.sum())


#: The filter designer's presets (3x3 and 5x5).
FILTER_PRESETS: dict[str, np.ndarray] = {
    # Sobel: a [1, 2, 1] smoothing across the edge times a [-1, 0, 1] difference along it
    "Sobel x (vertical edges)": np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0]),
    "Sobel y (horizontal edges)": np.outer([-1.0, 0.0, 1.0], [1.0, 2.0, 1.0]),
    "horizontal edge (by hand)": np.array([[-1, -1, -1], [0, 0, 0], [1, 1, 1]], dtype=np.float64),
    "vertical edge (by hand)": np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], dtype=np.float64),
    "Laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64),
    "box blur 3×3": np.full((3, 3), 1.0 / 9.0),
    "Gaussian 3×3": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float64) / 16.0,
    "sharpen": KERNELS_3X3["SHARPEN"].copy(),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64),
    "identity": KERNELS_3X3["IDENTITY"].copy(),
    "box blur 5×5": np.full((5, 5), 1.0 / 25.0),
    "Gaussian 5×5": _gaussian(5, 1.0),
    "Laplacian of Gaussian 5×5": np.array(
        [
            [0, 0, -1, 0, 0],
            [0, -1, -2, -1, 0],
            [-1, -2, 16, -2, -1],
            [0, -1, -2, -1, 0],
            [0, 0, -1, 0, 0],
        ],
        dtype=np.float64,
    ),
}

#: An 8x8 feature map for the pooling instrument. Every 2x2 window has its peak in its top-left
#: cell except one: the 9 sits in a right-hand column, so a 1-pixel shift to the right moves it.
FEATURE_MAP_8X8 = np.array(
    [
        [6, 1, 4, 0, 5, 2, 3, 0],
        [1, 0, 2, 1, 0, 1, 1, 2],
        [3, 0, 0, 9, 7, 1, 2, 0],
        [0, 2, 1, 0, 2, 0, 1, 1],
        [5, 2, 8, 1, 3, 0, 6, 2],
        [1, 0, 2, 0, 1, 2, 0, 1],
        [4, 1, 3, 2, 7, 0, 5, 0],
        [2, 0, 1, 0, 1, 1, 2, 1],
    ],
    dtype=np.float64,
)

#: Photographs bundled with scikit-image (no download), by name.
PHOTOS = ("chelsea", "astronaut", "coffee", "camera", "rocket", "cat")

_DPI = 80
_CMAP_SIGNED = "RdBu_r"
_BOX_COLOURS = ("#f4a261", "#e76f51", "#2a9d8f", "#e9c46a", "#8ab17d", "#264653", "#9b5de5")


@lru_cache(maxsize=16)
def _photo(name: str, max_side: int = 320) -> np.ndarray:
    """A bundled scikit-image photograph, float64 in [0, 1], (H, W, 3), longer side <= max_side."""
    from skimage import data as skdata
    from skimage.color import gray2rgb
    from skimage.transform import rescale
    from skimage.util import img_as_float

    if name not in PHOTOS:
        raise ValueError(f"photo must be one of {PHOTOS}, got {name!r}")
    img = img_as_float(getattr(skdata, name)())
    if img.ndim == 2:
        img = gray2rgb(img)
    img = img[..., :3]
    scale = max_side / max(img.shape[:2])
    if scale < 1:
        img = rescale(img, scale, channel_axis=-1, anti_aliasing=True)
    return np.clip(np.asarray(img, dtype=np.float64), 0.0, 1.0)


@lru_cache(maxsize=8)
def _square_photo(name: str, size: int) -> np.ndarray:
    """The centre square of a bundled photograph resized to (size, size, 3)."""
    from skimage.transform import resize

    img = _photo(name, 512)
    h, w = img.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = img[top:top + side, left:left + side]
    return np.asarray(resize(square, (size, size), anti_aliasing=True))


def _gray(rgb: np.ndarray) -> np.ndarray:
    """Luminance of an (H, W, 3) image (ITU-R 601 weights, as scikit-image's rgb2gray)."""
    return np.asarray(rgb @ np.array([0.2125, 0.7154, 0.0721]))


# ---------------------------------------------------------------------------------------------
# Small drawing and formatting helpers
# ---------------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    """A number as a reader would write it: 6, -1, 0.11, 1.5e+03."""
    if abs(x - round(x)) < 1e-9:
        return str(int(round(x)))
    if abs(x) >= 1000 or abs(x) < 0.01:
        return f"{x:.2g}"
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _annotate(ax: Any, values: np.ndarray, fontsize: float = 8, mask: np.ndarray | None = None,
              offset: tuple[int, int] = (0, 0), dark: float | None = None) -> None:
    """Write each value of a 2-D array in its cell (white on dark cells)."""
    vmax = float(np.max(np.abs(values))) if values.size else 0.0
    for (r, c), v in np.ndenumerate(values):
        if mask is not None and not mask[r, c]:
            continue
        strong = dark is not None and abs(v) > dark * max(vmax, 1e-12)
        ax.text(c + offset[1], r + offset[0], _fmt(float(v)), ha="center", va="center",
                fontsize=fontsize, color="white" if strong else "black")


def _cell_axes(ax: Any, title: str, grid: bool = False) -> None:
    """Title, no ticks, and (grid=True) thin lines between the cells of an imshow'd array."""
    ax.set_title(title, fontsize=10)
    if grid:
        h, w = ax.images[0].get_array().shape[:2]
        ax.set_xticks(np.arange(-0.5, w, 1), minor=True)
        ax.set_yticks(np.arange(-0.5, h, 1), minor=True)
        ax.grid(which="minor", color="white", lw=0.8)
        ax.tick_params(which="minor", length=0)
    ax.set_xticks([])
    ax.set_yticks([])


def _signed_imshow(ax: Any, values: np.ndarray) -> None:
    v = max(float(np.max(np.abs(values))) if values.size else 0.0, 1e-9)
    ax.imshow(values, cmap=_CMAP_SIGNED, vmin=-v, vmax=v)


def _figure_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    return buf.getvalue()


def _message_figure(fig: Figure, title: str, message: str) -> None:
    ax = fig.add_subplot(1, 1, 1)
    ax.axis("off")
    ax.text(0.5, 0.62, "This setting cannot work", ha="center", va="center", fontsize=13,
            color="#b00020", weight="bold", transform=ax.transAxes)
    import textwrap

    ax.text(0.5, 0.4, "\n".join(textwrap.wrap(message, 80)), ha="center", va="center",
            fontsize=10, transform=ax.transAxes)
    fig.suptitle(title, fontsize=11)


def _readout_html(items: dict[str, str]) -> str:
    cards = "".join(
        '<div style="display:inline-block;margin:0 1.6em 0.4em 0;vertical-align:top">'
        f'<div style="font-size:0.72em;letter-spacing:0.06em;color:#666;text-transform:uppercase">'
        f"{html.escape(k)}</div>"
        f'<div style="font-size:1.35em;font-weight:600">{html.escape(v)}</div></div>'
        for k, v in items.items()
    )
    return f"<div>{cards}</div>"


def _error_html(message: str) -> str:
    return (
        '<div style="border-left:4px solid #b00020;background:#fdecee;padding:0.4em 0.8em;'
        f'color:#5f0010"><b>This setting cannot work.</b> {html.escape(message)}</div>'
    )


def _note_html(note: str) -> str:
    return f'<div style="color:#444;font-size:0.92em;margin-top:0.2em">{note}</div>'


def _in_colab() -> bool:
    return "google.colab" in sys.modules


def _enable_colab_widgets() -> None:
    """Colab renders ipywidgets 8 through its custom widget manager, which must be switched on."""
    if not _in_colab():
        return
    with contextlib.suppress(Exception):  # pragma: no cover - only runs on Colab
        from google.colab import output

        output.enable_custom_widget_manager()


_INVITE = (
    "This is a still picture of the instrument at its starting settings: the page you are "
    "reading has no Python running behind it. To move the controls yourself, launch the page "
    "live with the rocket button at the top of the page (Colab or Binder) and run its cells."
)


def _still_img(png: bytes, alt: str) -> str:
    b64 = base64.b64encode(png).decode("ascii")
    return (f'<img src="data:image/png;base64,{b64}" alt="{html.escape(alt)}" '
            'style="max-width:100%;height:auto"/>')


def _still_html(title: str, *parts: str) -> str:
    """What the book shows for a live widget: its title, ``parts`` and the invitation to go live."""
    heading = f'<div style="font-weight:600">{html.escape(title)}</div>' if title else ""
    invite = f'<p style="font-size:0.9em;color:#555;margin-top:0.4em">{html.escape(_INVITE)}</p>'
    return ('<div class="cnnlab-instrument" style="margin:0.5em 0">'
            f'{heading}{"".join(parts)}{invite}</div>')


# ---------------------------------------------------------------------------------------------
# The common base class
# ---------------------------------------------------------------------------------------------


class Instrument:
    """Base class: a live ipywidgets view, a matplotlib figure and a static fallback.

    Subclasses fill ``controls`` (name -> widget), implement ``compute()`` (the numbers, from
    cnnlab.ops / cnnlab.receptive), ``readout()`` (those numbers as shown) and ``_draw(fig)``.
    Moving any control calls ``refresh()``, which recomputes, redraws and updates the readout;
    a ``ValueError`` from ``compute()`` becomes the message in ``error``.
    """

    title = "instrument"
    figsize: tuple[float, float] = (9.0, 3.2)
    # fixed margins (faster than a layout engine, and the panels never move while dragging)
    margins: dict[str, float] = {"left": 0.02, "right": 0.98, "bottom": 0.03, "top": 0.9,
                                 "wspace": 0.12, "hspace": 0.3}

    def __init__(self) -> None:
        self.controls: dict[str, widgets.Widget] = {}
        self.result: Any = None
        self.error: str | None = None
        self._held = 0
        self._png = b""
        self._image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self._status = widgets.HTML()
        self.widget: widgets.Box = widgets.VBox()

    # -- to be provided by subclasses ----------------------------------------------------------
    def compute(self) -> Any:  # pragma: no cover - abstract
        """Compute the numbers behind the view from the current state."""
        raise NotImplementedError

    def readout(self) -> dict[str, str]:  # pragma: no cover - abstract
        """The numbers the instrument shows, as label -> text."""
        raise NotImplementedError

    def _draw(self, fig: Figure) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _note(self) -> str:
        return ""

    # -- machinery -----------------------------------------------------------------------------
    def _watch(self, *ws: widgets.Widget) -> None:
        for w in ws:
            w.observe(self._on_change, names="value")

    def _on_change(self, change: dict[str, Any]) -> None:
        self._sync()
        self.refresh()

    def _sync(self) -> None:
        """Copy control values into the plain attributes (subclasses override)."""

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Change several controls and redraw once at the end::

            with inst.batch():
                inst.controls["stride"].value = 2
                inst.controls["padding"].value = 1
        """
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1
            if self._held == 0:
                self._sync()
                self.refresh()

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        """Change controls without any redraw (the caller refreshes)."""
        self._held += 1
        try:
            yield
        finally:
            self._held -= 1

    def refresh(self) -> None:
        """Recompute the numbers, redraw the figure and update the readout."""
        if self._held:
            return
        try:
            self.result = self.compute()
            self.error = None
        except ValueError as exc:
            self.result = None
            self.error = str(exc)
        self._png = _figure_png(self.figure())
        self._image.value = self._png
        self._status.value = self.status_html()

    def figure(self) -> Figure:
        """The matplotlib figure of the current view (a message figure when the setting fails)."""
        fig = Figure(figsize=self.figsize, dpi=_DPI)
        fig.subplots_adjust(**self.margins)
        if self.error is not None:
            _message_figure(fig, self.title, self.error)
        else:
            self._draw(fig)
        return fig

    def status_html(self) -> str:
        """The readout (or the error message) as HTML."""
        if self.error is not None:
            return _error_html(self.error)
        note = self._note()
        return _readout_html(self.readout()) + (_note_html(note) if note else "")

    @property
    def png(self) -> bytes:
        """PNG bytes of the current view."""
        return self._png

    def _layout(self, controls: widgets.Widget) -> None:
        header = widgets.HTML(f"<b>{html.escape(self.title)}</b>")
        self.widget = widgets.VBox([header, controls, self._image, self._status])

    def static_html(self) -> str:
        """Self-contained HTML: the picture, the readout and the invitation to go live."""
        return _still_html(self.title, _still_img(self._png, f"{self.title}: still view"),
                           self.status_html())

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        _enable_colab_widgets()
        bundle: dict[str, Any] = dict(self.widget._repr_mimebundle_())
        bundle["text/plain"] = repr(self)
        bundle["image/png"] = base64.b64encode(self._png).decode("ascii")
        bundle["text/html"] = self.static_html()
        return bundle

    def __repr__(self) -> str:
        if self.error is not None:
            return f"{type(self).__name__}(error={self.error!r})"
        shown = ", ".join(f"{k}: {v}" for k, v in self.readout().items())
        return f"{type(self).__name__}({shown})"


def _int_slider(description: str, value: int, lo: int, hi: int, step: int = 1) -> widgets.IntSlider:
    return widgets.IntSlider(value=value, min=lo, max=hi, step=step, description=description,
                             continuous_update=False, style={"description_width": "initial"})


def _dropdown(description: str, options: Sequence[Any], value: Any) -> widgets.Dropdown:
    return widgets.Dropdown(options=list(options), value=value, description=description,
                            style={"description_width": "initial"})


# ---------------------------------------------------------------------------------------------
# 1. Kernel explorer
# ---------------------------------------------------------------------------------------------


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
# 2. Convolution stepper
# ---------------------------------------------------------------------------------------------

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
# 3. Pooling and small shifts
# ---------------------------------------------------------------------------------------------

_POOL_WINDOWS: dict[str, tuple[int, int]] = {
    "2×2, stride 2": (2, 2),
    "3×3, stride 2 (overlapping)": (3, 2),
    "4×4, stride 4": (4, 4),
}
_DIRECTIONS: dict[str, tuple[int, int]] = {"right": (0, 1), "down": (1, 0), "diagonal": (1, 1)}


def _shift(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Move the content of a 2-D map down by dy and right by dx, filling with zeros."""
    out = np.zeros_like(x)
    h, w = x.shape
    out[dy:, dx:] = x[: h - dy, : w - dx]
    return out


@dataclass
class PoolResult:
    """Pooled outputs before and after the shift, and which of them changed."""

    shifted: np.ndarray  # (H, W)
    pooled: np.ndarray  # (H', W')
    pooled_shifted: np.ndarray  # (H', W')
    changed: np.ndarray  # (H', W') bool
    n_changed: int


class PoolingShift(Instrument):
    """Shift a feature map by a few pixels and see which pooled outputs change.

    Controls: ``controls["shift"]`` (0-3 px), ``controls["direction"]`` (right, down,
    diagonal), ``controls["window"]`` (2×2/2, 3×3/2 overlapping, 4×4/4) and
    ``controls["mode"]`` (max or average). Pooling by ``cnnlab.ops.max_pool2d`` /
    ``cnnlab.ops.avg_pool2d``.
    """

    title = "Pooling: which outputs survive a small shift?"
    figsize = (9.6, 2.9)

    def __init__(self, feature_map: np.ndarray | None = None, shift: int = 1,
                 direction: str = "right", window: str = "2×2, stride 2",
                 mode: str = "max") -> None:
        super().__init__()
        fm = FEATURE_MAP_8X8 if feature_map is None else feature_map
        self.feature_map = np.asarray(fm, dtype=np.float64)
        if self.feature_map.ndim != 2:
            raise ValueError(f"feature_map must be 2-D, got shape {self.feature_map.shape}")
        self.controls = {
            "shift": _int_slider("shift (px)", shift, 0, 3),
            "direction": widgets.ToggleButtons(options=list(_DIRECTIONS), value=direction,
                                               description="direction"),
            "window": _dropdown("pool", list(_POOL_WINDOWS), window),
            "mode": widgets.ToggleButtons(options=["max", "average"], value=mode,
                                          description="mode"),
        }
        self._watch(*self.controls.values())
        self._layout(widgets.VBox([
            widgets.HBox([self.controls["shift"], self.controls["window"]]),
            self.controls["direction"], self.controls["mode"]]))
        self._sync()
        self.refresh()

    def _sync(self) -> None:
        self.shift = int(self.controls["shift"].value)
        self.direction = str(self.controls["direction"].value)
        self.window = _POOL_WINDOWS[self.controls["window"].value]
        self.mode = str(self.controls["mode"].value)

    def _pool(self, x: np.ndarray) -> np.ndarray:
        k, s = self.window
        pool = ops.max_pool2d if self.mode == "max" else ops.avg_pool2d
        return np.asarray(pool(x[None, None], k, stride=s))[0, 0]

    def compute(self) -> PoolResult:
        dy, dx = (self.shift * v for v in _DIRECTIONS[self.direction])
        shifted = _shift(self.feature_map, dy, dx)
        pooled, pooled_shifted = self._pool(self.feature_map), self._pool(shifted)
        changed = ~np.isclose(pooled, pooled_shifted)
        return PoolResult(shifted=shifted, pooled=pooled, pooled_shifted=pooled_shifted,
                          changed=changed, n_changed=int(changed.sum()))

    def readout(self) -> dict[str, str]:
        r: PoolResult = self.result
        return {
            "pooled outputs changed": f"{r.n_changed} of {r.pooled.size}",
            "pooled size": f"{r.pooled.shape[0]} × {r.pooled.shape[1]}",
            "largest output": (f"{_fmt(float(r.pooled.max()))} → "
                               f"{_fmt(float(r.pooled_shifted.max()))}"),
        }

    def _note(self) -> str:
        return ("Red boxes mark the pooled outputs that differ after the shift. Max pooling "
                "keeps an output as long as its peak stays inside the same window; averaging "
                "notices almost every move.")

    def _draw(self, fig: Figure) -> None:
        r: PoolResult = self.result
        axs = fig.subplots(1, 4, width_ratios=[1, 1, 0.75, 0.75])
        vmax = float(self.feature_map.max()) or 1.0
        for ax, m, t in ((axs[0], self.feature_map, "feature map"),
                         (axs[1], r.shifted, f"shifted {self.shift} px {self.direction}")):
            ax.imshow(m, cmap="viridis", vmin=0, vmax=vmax)
            _annotate(ax, m, fontsize=7, mask=m != 0)
            _cell_axes(ax, t, grid=True)
        for ax, m, t in ((axs[2], r.pooled, f"{self.mode}-pooled"),
                         (axs[3], r.pooled_shifted, "pooled after shift")):
            ax.imshow(m, cmap="viridis", vmin=0, vmax=vmax)
            _annotate(ax, m, fontsize=8)
            _cell_axes(ax, t, grid=True)
        for (i, j), ch in np.ndenumerate(r.changed):
            if ch:
                axs[3].add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec="#e63946",
                                           lw=2.5))


def pooling_shift(feature_map: np.ndarray | None = None, shift: int = 1, direction: str = "right",
                  window: str = "2×2, stride 2", mode: str = "max") -> PoolingShift:
    """Shift a feature map (default an (8, 8) map with three peaks) and pool it.

    Compares the pooled map (H', W') before and after a shift of 0-3 pixels and counts the
    outputs that changed.

    >>> ps = pooling_shift(shift=0)
    >>> ps.result.n_changed
    0
    """
    return PoolingShift(feature_map=feature_map, shift=shift, direction=direction, window=window,
                        mode=mode)


# ---------------------------------------------------------------------------------------------
# 4. Feature-map visualizer
# ---------------------------------------------------------------------------------------------


@dataclass
class Stage:
    """One stage: a "same" conv to ``channels`` channels, then a 2x2 stride-2 pool."""

    index: int
    in_size: int
    in_channels: int
    conv_size: int
    channels: int
    out_size: int
    conv_activations: int  # conv_size**2 * channels
    out_activations: int  # out_size**2 * channels
    params: int  # weights and biases of the conv


class FeatureMapVisualizer(Instrument):
    """Spatial size falls and channels rise, stage by stage, as in a typical backbone.

    Each stage is a k×k conv with "same" padding (size kept) to twice the previous channel
    count (the first stage to ``base channels``), followed by a 2x2 max pool with stride 2
    (size halved). Controls: ``controls["input size"]`` (16-512, step 16), ``controls["input
    channels"]`` (1 or 3), ``controls["base channels"]`` (8-128), ``controls["stages"]`` (1-8)
    and ``controls["kernel"]`` (1, 3, 5, 7). Sizes from ``cnnlab.ops.conv_output_size``,
    parameters from ``cnnlab.ops.conv_params``.
    """

    title = "Feature maps: smaller and deeper, stage by stage"
    figsize = (9.6, 4.4)
    margins = {"left": 0.08, "right": 0.98, "bottom": 0.1, "top": 0.94, "hspace": 0.3}

    def __init__(self, input_size: int = 224, in_channels: int = 3, base_channels: int = 64,
                 stages: int = 4, kernel: int = 3) -> None:
        super().__init__()
        self.controls = {
            "input size": _int_slider("input size", input_size, 16, 512, 16),
            "input channels": widgets.ToggleButtons(options=[1, 3], value=in_channels,
                                                    description="input channels"),
            "base channels": widgets.SelectionSlider(options=[8, 16, 32, 64, 128],
                                                     value=base_channels,
                                                     description="first channels",
                                                     continuous_update=False,
                                                     style={"description_width": "initial"}),
            "stages": _int_slider("stages", stages, 1, 8),
            "kernel": widgets.ToggleButtons(options=[1, 3, 5, 7], value=kernel,
                                            description="kernel"),
        }
        self._watch(*self.controls.values())
        c = self.controls
        self._layout(widgets.VBox([
            widgets.HBox([c["input size"], c["stages"], c["base channels"]]),
            widgets.HBox([c["input channels"], c["kernel"]])]))
        self._sync()
        self.refresh()

    def _sync(self) -> None:
        self.input_size = int(self.controls["input size"].value)
        self.in_channels = int(self.controls["input channels"].value)
        self.base_channels = int(self.controls["base channels"].value)
        self.stages = int(self.controls["stages"].value)
        self.kernel = int(self.controls["kernel"].value)

    def compute(self) -> list[Stage]:
        size, cin, k = self.input_size, self.in_channels, self.kernel
        out: list[Stage] = []
        for i in range(1, self.stages + 1):
            cout = self.base_channels * 2 ** (i - 1)
            conv_size = ops.conv_output_size(size, k, 1, k // 2)
            try:
                pooled = ops.conv_output_size(conv_size, 2, 2)
            except ValueError as exc:
                raise ValueError(
                    f"stage {i} cannot pool its {conv_size} × {conv_size} map ({exc}). A "
                    f"{self.input_size}-pixel input allows at most {len(out)} stages: use fewer "
                    "stages or a larger input."
                ) from exc
            out.append(Stage(index=i, in_size=size, in_channels=cin, conv_size=conv_size,
                             channels=cout, out_size=pooled,
                             conv_activations=conv_size * conv_size * cout,
                             out_activations=pooled * pooled * cout,
                             params=ops.conv_params(cin, cout, k)))
            size, cin = pooled, cout
        return out

    def readout(self) -> dict[str, str]:
        st: list[Stage] = self.result
        last = st[-1]
        return {
            "final map": f"{last.out_size} × {last.out_size}",
            "final channels": str(last.channels),
            "activations per stage": " → ".join(f"{s.conv_activations:,}" for s in st),
            "parameters": f"{sum(s.params for s in st):,}",
        }

    def _note(self) -> str:
        st: list[Stage] = self.result
        first, last = st[0], st[-1]
        mb = sum(s.conv_activations + s.out_activations for s in st) * 4 / 2**20
        return (f"Stage 1 holds {first.conv_activations:,} activations with {first.params:,} "
                f"parameters; stage {last.index} holds {last.conv_activations:,} with "
                f"{last.params:,}. Storing every map of one image in float32 takes "
                f"{mb:.1f} MiB, which training keeps for the backward pass.")

    def _draw(self, fig: Figure) -> None:
        st: list[Stage] = self.result
        ax_vol, ax_bar = fig.subplots(2, 1, height_ratios=[1.1, 1.0])
        # volumes drawn on a log scale: height and oblique depth ~ log2(size),
        # thickness ~ log2(channels)
        vols = [(self.input_size, self.in_channels, "input")]
        vols += [(s.out_size, s.channels, f"stage {s.index}") for s in st]
        x = 0.0
        hmax = np.log2(self.input_size)
        cmax = np.log2(max(c for _, c, _ in vols)) + 1
        for n, (size, ch, label) in enumerate(vols):
            hgt = max(np.log2(max(size, 1)) / hmax, 0.08)
            dep = 0.1 + 1.1 * (np.log2(ch) + 1) / cmax
            skew = 0.35 * hgt
            col = "#bcd4e6" if n == 0 else _BOX_COLOURS[(n - 1) % len(_BOX_COLOURS)]
            front = [(x, 0), (x + dep, 0), (x + dep, hgt), (x, hgt)]
            top = [(x, hgt), (x + dep, hgt), (x + dep + skew, hgt + skew * 0.6),
                   (x + skew, hgt + skew * 0.6)]
            side = [(x + dep, 0), (x + dep + skew, skew * 0.6), (x + dep + skew, hgt + skew * 0.6),
                    (x + dep, hgt)]
            for poly, alpha in ((front, 0.95), (top, 0.7), (side, 0.55)):
                ax_vol.add_patch(Polygon(poly, closed=True, fc=col, ec="#333", lw=0.6,
                                         alpha=alpha))
            ax_vol.text(x + dep / 2, -0.12, f"{label}\n{size}×{size}×{ch}", ha="center",
                        va="top", fontsize=7.5)
            x += dep + skew + 0.45
        ax_vol.set_xlim(-0.2, x)
        ax_vol.set_ylim(-0.55, 1.75)
        ax_vol.axis("off")
        ax_vol.set_title("volume after each stage (log scale: height ∝ log₂ size, "
                         "thickness ∝ log₂ channels)", fontsize=9.5)
        labels = [f"stage {s.index}\n{s.conv_size}²×{s.channels}" for s in st]
        acts = [s.conv_activations / 1e6 for s in st]
        bars = ax_bar.bar(labels, acts, color=[_BOX_COLOURS[i % len(_BOX_COLOURS)]
                                               for i in range(len(st))])
        ax_bar.bar_label(bars, labels=[f"{a:,.2f}M" if a < 10 else f"{a:,.1f}M" for a in acts],
                         fontsize=7.5)
        ax_bar.set_ylabel("activations (millions)", fontsize=8.5)
        ax_bar.set_title("activations in each stage's conv output (H × W × C)", fontsize=9.5)
        ax_bar.tick_params(labelsize=7.5)
        ax_bar.margins(y=0.2)


def feature_map_visualizer(input_size: int = 224, in_channels: int = 3, base_channels: int = 64,
                           stages: int = 4, kernel: int = 3) -> FeatureMapVisualizer:
    """Stages of "same" conv + 2x2 stride-2 pool that double the channels.

    At the defaults (224x224x3 input, 64 channels, 4 stages): 112x112x64 -> 56x56x128 ->
    28x28x256 -> 14x14x512, so the final map is 14 x 14 with 512 channels.

    >>> fv = feature_map_visualizer()
    >>> fv.readout()["final map"], fv.readout()["final channels"]
    ('14 × 14', '512')
    """
    return FeatureMapVisualizer(input_size=input_size, in_channels=in_channels,
                                base_channels=base_channels, stages=stages, kernel=kernel)


# ---------------------------------------------------------------------------------------------
# 5. Receptive-field calculator
# ---------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"^(conv|c|pool|p)(\d+)(?:s(\d+))?(?:p(\d+))?(?:d(\d+))?$")


def parse_layers(spec: str) -> list[receptive.Layer]:
    """Parse a layer list such as ``"conv3 pool2 conv3 pool2 conv3"`` into receptive.Layer.

    Tokens (separated by spaces, commas or arrows): ``conv<k>`` (or ``c<k>``) is a k×k conv with
    stride 1 and "same" padding k//2; ``pool<k>`` (or ``p<k>``) is a k×k max pool with stride k.
    Suffixes override: ``s<stride>``, ``p<padding>``, ``d<dilation>`` -- e.g. ``conv7s2p3``,
    ``pool3s2``, ``conv3d2``.

    >>> [(l.kind, l.kernel, l.stride, l.padding) for l in parse_layers("conv3, pool2")]
    [('conv', 3, 1, 1), ('pool', 2, 2, 0)]
    """
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a string, got {type(spec).__name__}")
    tokens = [t for t in re.split(r"[\s,;>→-]+", spec.strip().lower()) if t]
    if not tokens:
        raise ValueError("the layer list is empty: write layers such as 'conv3 pool2 conv3'")
    layers: list[receptive.Layer] = []
    for n, tok in enumerate(tokens, 1):
        m = _TOKEN.match(tok)
        if m is None:
            raise ValueError(
                f"cannot read layer {n} {tok!r}: expected conv<k> or pool<k> with optional "
                "s<stride>, p<padding>, d<dilation> (e.g. conv3, pool2, conv7s2p3)"
            )
        kind, k = ("conv" if m[1].startswith("c") else "pool"), int(m[2])
        if k < 1:
            raise ValueError(f"layer {n} {tok!r}: the kernel size must be at least 1")
        if kind == "conv":
            s = int(m[3]) if m[3] else 1
            d = int(m[5]) if m[5] else 1
            p = int(m[4]) if m[4] else (d * (k - 1)) // 2
            layer = receptive.conv(k, s, p, d)
        else:
            if m[5]:
                raise ValueError(f"layer {n} {tok!r}: pooling has no dilation here")
            s = int(m[3]) if m[3] else k
            layer = receptive.pool(k, s, int(m[4]) if m[4] else 0)
        if s < 1:
            raise ValueError(f"layer {n} {tok!r}: the stride must be at least 1")
        layers.append(layer)
    return layers


def _counts_spec(convs: int, pools: int) -> str:
    """Spread ``convs`` 3x3 convs into pools + 1 groups separated by 2x2 pools (extras last)."""
    groups = [convs // (pools + 1)] * (pools + 1)
    for i in range(convs % (pools + 1)):
        groups[-1 - i] += 1
    parts: list[str] = []
    for g, n in enumerate(groups):
        parts += ["conv3"] * n
        if g < pools:
            parts.append("pool2")
    return " ".join(parts)


class ReceptiveFieldCalculator(Instrument):
    """Receptive field and jump after every layer of a stack of convs and pools.

    Controls: ``controls["convs"]`` (0-12 3x3 convs) and ``controls["pools"]`` (0-5 2x2
    pools) write a layer list into ``controls["layers"]``, which can also be edited directly
    (see :func:`parse_layers`); ``controls["input size"]`` (32-512) and ``controls["photo"]``.
    Numbers from ``cnnlab.receptive.receptive_field``; the boxes over the photograph from
    ``cnnlab.receptive.input_window`` for the centre unit of each layer.
    """

    title = "Receptive field: how much of the image one unit sees"
    figsize = (9.6, 4.0)
    margins = {"left": 0.02, "right": 0.98, "bottom": 0.12, "top": 0.92, "wspace": 0.18}

    def __init__(self, convs: int = 3, pools: int = 2, layers: str | None = None,
                 input_size: int = 224, photo: str = "astronaut") -> None:
        super().__init__()
        spec = layers if layers is not None else _counts_spec(convs, pools)
        self.controls = {
            "convs": _int_slider("3×3 convs", convs, 0, 12),
            "pools": _int_slider("2×2 pools", pools, 0, 5),
            "layers": widgets.Text(value=spec, description="layers", continuous_update=False,
                                   layout=widgets.Layout(width="95%"),
                                   style={"description_width": "initial"}),
            "input size": _int_slider("input size", input_size, 32, 512, 16),
            "photo": _dropdown("photo", PHOTOS, photo),
        }
        self._syncing = False
        for key in ("convs", "pools"):
            self.controls[key].observe(self._on_counts, names="value")
        self._watch(self.controls["layers"], self.controls["input size"], self.controls["photo"])
        c = self.controls
        help_ = widgets.HTML(
            "<small>conv3 = 3×3 conv (stride 1, same padding), pool2 = 2×2 pool (stride 2); "
            "add s&lt;stride&gt;, p&lt;padding&gt;, d&lt;dilation&gt;, e.g. conv7s2p3 pool3s2"
            "</small>")
        self._layout(widgets.VBox([widgets.HBox([c["convs"], c["pools"]]), c["layers"], help_,
                                   widgets.HBox([c["input size"], c["photo"]])]))
        self._sync()
        self.refresh()

    def _on_counts(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        self.controls["layers"].value = _counts_spec(int(self.controls["convs"].value),
                                                     int(self.controls["pools"].value))

    def _sync(self) -> None:
        self.spec = str(self.controls["layers"].value)
        self.input_size = int(self.controls["input size"].value)
        self.photo = str(self.controls["photo"].value)

    def compute(self) -> Any:
        layers = parse_layers(self.spec)
        table = receptive.receptive_field(layers, input_size=self.input_size)
        for i, row in enumerate(table):
            if row.out_size is not None and row.out_size < 1:
                raise ValueError(
                    f"layer {i + 1} ({row.kind} {row.kernel}×{row.kernel}) leaves no output at "
                    f"input size {self.input_size}: use a larger input or fewer layers"
                )
        return table

    def readout(self) -> dict[str, str]:
        final = self.result.final
        return {
            "receptive field": f"{final.rf} px",
            "jump (feature stride)": str(final.jump),
            "total layers": str(len(self.result)),
            "output size": f"{final.out_size} × {final.out_size}",
        }

    def _note(self) -> str:
        final = self.result.final
        share = min(final.rf, self.input_size) ** 2 / self.input_size**2
        table = self.result._repr_html_()
        return (f"One output unit sees {final.rf} × {final.rf} input pixels "
                f"({100 * share:.1f}% of the image); neighbouring units are {final.jump} px "
                f"apart. Each layer adds (k − 1) × (jump so far) to the field; a stride "
                f"multiplies the jump. {table}")

    def _draw(self, fig: Figure) -> None:
        table = self.result
        ax_img, ax_plot = fig.subplots(1, 2, width_ratios=[1.0, 1.25])
        ax_img.imshow(_square_photo(self.photo, self.input_size))
        for i, row in enumerate(table):
            centre = (row.out_size // 2, row.out_size // 2)
            top, left, bottom, right = receptive.input_window(row, centre, self.input_size)
            col = _BOX_COLOURS[i % len(_BOX_COLOURS)]
            last = i == len(table) - 1
            ax_img.add_patch(Rectangle((left - 0.5, top - 0.5), right - left, bottom - top,
                                       fill=False, ec="white" if last else col,
                                       lw=2.5 if last else 1.2, ls="-" if last else "--"))
        _cell_axes(ax_img, f"centre unit's field on a {self.input_size}² input")
        idx = np.arange(0, len(table) + 1)
        rf = [1] + [r.rf for r in table]
        jump = [1] + [r.jump for r in table]
        ax_plot.plot(idx, rf, marker="o", color="#e76f51", label="receptive field")
        ax_plot.plot(idx, jump, marker="s", color="#2a9d8f", label="jump")
        for x, y in zip(idx, rf, strict=True):
            ax_plot.annotate(str(y), (x, y), textcoords="offset points", xytext=(0, 6),
                             ha="center", fontsize=7.5, color="#e76f51")
        ax_plot.set_xticks(idx, ["in"] + [f"{r.kind[0]}{r.kernel}" for r in table], fontsize=8)
        ax_plot.set_xlabel("layer", fontsize=9)
        ax_plot.set_ylabel("pixels of the input", fontsize=9)
        ax_plot.set_title(f"RF {table.final.rf} px, jump {table.final.jump}", fontsize=10)
        ax_plot.legend(fontsize=8, loc="upper left")
        ax_plot.grid(alpha=0.3)
        ax_plot.margins(y=0.12)
        ax_plot.yaxis.set_major_locator(MaxNLocator(integer=True))


def receptive_field_calculator(convs: int = 3, pools: int = 2, layers: str | None = None,
                               input_size: int = 224,
                               photo: str = "astronaut") -> ReceptiveFieldCalculator:
    """Receptive-field calculator for a stack of 3x3 convs and 2x2 pools (or any layer list).

    The default stack conv3 pool2 conv3 pool2 conv3 (3 convs, 2 pools, 5 layers) has a
    receptive field of 18 px and a jump of 4; on a 224x224 input its output is 56x56.

    >>> rf = receptive_field_calculator()
    >>> rf.readout()["receptive field"], rf.readout()["jump (feature stride)"]
    ('18 px', '4')
    """
    return ReceptiveFieldCalculator(convs=convs, pools=pools, layers=layers,
                                    input_size=input_size, photo=photo)


# ---------------------------------------------------------------------------------------------
# 6. Filter designer
# ---------------------------------------------------------------------------------------------

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
        return self._own if self.photo == "your photo" and self._own is not None else _photo(
            self.photo)

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
        k = self.effective_kernel()
        img = self.image()
        h, w = img.shape[:2]
        half = k.shape[0] // 2
        if min(h, w) <= half:
            raise ValueError(f"the photograph ({h}×{w}) is too small for a "
                             f"{k.shape[0]}×{k.shape[0]} kernel")
        chw = np.pad(img.transpose(2, 0, 1), ((0, 0), (half, half), (half, half)), mode="reflect")
        colour = ops.conv2d(chw[None], np.repeat(k[None, None], 3, axis=0), groups=3)[0]
        g = np.pad(_gray(img), half, mode="reflect")
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


class Live:
    """Controls driving a function that draws matplotlib figures, with a still view for the book.

    ``draw(**values)`` receives the current value of every control, by the names of
    ``controls``, and returns a figure or a list of figures. Moving a control redraws them; a
    ``ValueError`` raised by ``draw`` (a setting that cannot work) is shown as a message above
    the last good pictures, and kept in ``error``. Displayed in Jupyter or Colab it is a live
    widget; the book, which has no kernel, shows the pictures of the starting values with an
    invitation to launch the page (like the instruments).

    Attributes:
        controls: name -> ipywidgets control (anything with a ``value`` trait).
        pngs: the PNG bytes of the pictures shown, one per figure.
        error: the message of the last failed redraw, or None.
        widget: the ipywidgets view.
    """

    def __init__(self, controls: Mapping[str, widgets.ValueWidget],
                 draw: Callable[..., Figure | Sequence[Figure]], title: str = "") -> None:
        if not isinstance(controls, Mapping) or not controls:
            raise TypeError("controls must be a non-empty dict of name -> ipywidgets control, "
                            f"got {type(controls).__name__}")
        for name, control in controls.items():
            if not isinstance(name, str) or not isinstance(control, widgets.ValueWidget):
                raise TypeError("controls must map names (str) to ipywidgets controls with a "
                                f"value, got {name!r}: {type(control).__name__}")
        if not callable(draw):
            raise TypeError(f"draw must be a function returning figures, got "
                            f"{type(draw).__name__}")
        self.controls: dict[str, widgets.ValueWidget] = dict(controls)
        self.title = title
        self.error: str | None = None
        self._draw = draw
        self.pngs = self._pictures()  # the starting values must draw: errors propagate here
        self._images = [widgets.Image(value=png, format="png",
                                      layout=widgets.Layout(max_width="100%"))
                        for png in self.pngs]
        self._status = widgets.HTML()
        header = [widgets.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        self.widget = widgets.VBox([*header, widgets.HBox(list(self.controls.values())),
                                    self._status, *self._images])
        for control in self.controls.values():
            control.observe(self._on_change, names="value")

    def values(self) -> dict[str, Any]:
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def _pictures(self) -> list[bytes]:
        figures = self._draw(**self.values())
        if isinstance(figures, Figure):
            figures = [figures]
        if not figures or not all(isinstance(f, Figure) for f in figures):
            raise TypeError("draw must return a matplotlib Figure or a list of them, got "
                            f"{type(figures).__name__}")
        import matplotlib.pyplot as plt  # only to close what pyplot made (no-op otherwise)

        pngs = []
        for fig in figures:
            pngs.append(_figure_png(fig))
            plt.close(fig)
        return pngs

    def _on_change(self, change: dict[str, Any]) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Redraw with the current values (moving a control does this)."""
        try:
            pngs = self._pictures()
        except ValueError as exc:
            self.error = str(exc)
            self._status.value = _error_html(self.error)
            return
        self.error = None
        self._status.value = ""
        self.pngs = pngs
        for image, png in zip(self._images, pngs, strict=False):
            image.value = png

    def settings(self) -> dict[str, str]:
        """Every control as it reads on screen: its description (or name) -> its value."""
        shown = {}
        for name, control in self.controls.items():
            value = getattr(control, "label", None)  # a menu shows the label, not the value
            if value is None:
                value = control.value
            text = f"{value:g}" if isinstance(value, float) else str(value)
            shown[getattr(control, "description", "") or name] = text
        return shown

    def static_html(self) -> str:
        """Self-contained HTML: the settings, their pictures and the invitation to go live."""
        alt = f"{self.title or 'figure'}: still view"
        return _still_html(self.title, _readout_html(self.settings()),
                           *(_still_img(png, alt) for png in self.pngs))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        _enable_colab_widgets()
        bundle: dict[str, Any] = dict(self.widget._repr_mimebundle_())
        bundle["text/plain"] = repr(self)
        bundle["text/html"] = self.static_html()
        return bundle

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.values().items())
        return f"Live({shown}; {len(self.pngs)} figure(s))"


def live(controls: Mapping[str, widgets.ValueWidget],
         draw: Callable[..., Figure | Sequence[Figure]], title: str = "") -> Live:
    """Tie ipywidgets ``controls`` to ``draw(**values) -> Figure | list[Figure]`` (a :class:`Live`).

    Make the figures with ``matplotlib.figure.Figure`` or ``plt.subplots`` (they are closed
    after drawing, so Jupyter shows them only inside the panel). End a cell with the returned
    object to display it.

    >>> import matplotlib.pyplot as plt
    >>> def draw(k):
    ...     fig, ax = plt.subplots(figsize=(2, 1))
    ...     ax.plot(range(k))
    ...     return fig
    >>> panel = live({"k": widgets.IntSlider(value=3, min=2, max=9)}, draw)
    >>> panel
    Live(k=3; 1 figure(s))
    >>> panel.controls["k"].value = 5  # what moving the slider does
    >>> panel.values(), len(panel.pngs)
    ({'k': 5}, 1)
    """
    return Live(controls, draw, title)

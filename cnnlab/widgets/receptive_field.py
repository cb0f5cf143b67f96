"""The receptive-field calculator (chapter 05): a stack of convolutions and pools, the receptive
field and jump after every layer (table and plot), drawn as boxes over a photograph.
"""

from __future__ import annotations

import re
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from cnnlab import receptive
from cnnlab.data.photos import sample_photo
from cnnlab.widgets._instrument import _BOX_COLOURS, Instrument, _cell_axes, _dropdown, _int_slider
from cnnlab.widgets.presets import PHOTOS

__all__ = [
    "ReceptiveFieldCalculator",
    "receptive_field_calculator",
    "parse_layers",
]

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
        ax_img.imshow(sample_photo(self.photo, size=self.input_size, rgb=True))
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

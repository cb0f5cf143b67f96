"""The feature-map visualizer (chapter 04): stages of "same" convolution and stride-2 pooling,
where the spatial size falls, the channels rise, and each stage's activation count is a bar.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Polygon

from cnnlab import ops
from cnnlab.widgets._instrument import _BOX_COLOURS, Instrument, _int_slider

__all__ = [
    "FeatureMapVisualizer",
    "feature_map_visualizer",
]


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

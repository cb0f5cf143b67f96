"""Pooling and small shifts (chapter 03): shift a feature map by 0-3 pixels and see which
pooled outputs move.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    _fmt,
    _int_slider,
)
from cnnlab.widgets.presets import FEATURE_MAP_8X8

__all__ = [
    "PoolingShift",
    "pooling_shift",
]

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

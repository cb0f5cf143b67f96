"""The frame every instrument of :mod:`cnnlab.widgets` shares.

:class:`Instrument` keeps the state in plain attributes, builds its controls, redraws on every
change and shows a still view (a picture plus the readout) where no kernel runs, as in the
static book. The small drawing and formatting helpers the instruments use are here too.
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from cnnlab import _checks

__all__ = [
    "Instrument",
]

_DPI = 80
_CMAP_SIGNED = "RdBu_r"
_BOX_COLOURS = ("#f4a261", "#e76f51", "#2a9d8f", "#e9c46a", "#8ab17d", "#264653", "#9b5de5")

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
    """A slider from ``lo`` to ``hi``; a start value it cannot show raises instead of being
    clamped or rounded by ipywidgets."""
    value = _checks.as_int(value, description, lo, hi)
    if (value - lo) % step:
        raise ValueError(f"{description} must be {lo} plus a multiple of {step}, got {value}")
    return widgets.IntSlider(value=value, min=lo, max=hi, step=step, description=description,
                             continuous_update=False, style={"description_width": "initial"})


def _dropdown(description: str, options: Sequence[Any], value: Any) -> widgets.Dropdown:
    return widgets.Dropdown(options=list(options), value=value, description=description,
                            style={"description_width": "initial"})


# ---------------------------------------------------------------------------------------------

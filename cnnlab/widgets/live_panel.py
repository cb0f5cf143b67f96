"""``live``: any figure of your own driven by ipywidgets controls, with the instruments' still
view in the static book (the labs use it).
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets
from matplotlib.figure import Figure

__all__ = [
    "Live",
    "live",
]


# The still view (what the book shows where no kernel runs) and Colab's widget switch
# ---------------------------------------------------------------------------------------------


def _figure_png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    return buf.getvalue()


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

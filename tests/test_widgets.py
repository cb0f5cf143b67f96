"""Tests of cnnlab.widgets: ``live`` (controls driving a learner's own figures, with a still
view for the book) and the pointers that the retired ipywidgets instruments leave behind."""

from __future__ import annotations

import base64
import html
import os
import re

os.environ.setdefault("MPLBACKEND", "Agg")

import ipywidgets
import pytest

from cnnlab import instruments, receptive, widgets


@pytest.mark.parametrize("name", sorted(widgets._RETIRED))
def test_a_retired_instrument_says_where_it_went(name: str) -> None:
    with pytest.raises(AttributeError, match=r"was retired: use cnnlab\.") as err:
        getattr(widgets, name)
    module, _, attr = widgets._RETIRED[name].rpartition(".")
    assert getattr({"cnnlab.instruments": instruments, "cnnlab.receptive": receptive}[module],
                   attr)  # the pointer leads somewhere real
    assert name in str(err.value)


def test_an_unknown_name_is_a_plain_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        widgets.nothing_here  # noqa: B018


# ---------------------------------------------------------------------------------------------
# live: any figure driven by controls
# ---------------------------------------------------------------------------------------------


def _bars(height: int, colour: str = "C0") -> object:
    import matplotlib.pyplot as plt

    if height > 8:
        raise ValueError(f"height {height} does not fit: at most 8")
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.bar([0], [height], color=colour)
    ax.set_ylim(0, 8)
    return fig


def test_live_draws_the_start_values_and_redraws_when_a_control_moves() -> None:
    import matplotlib.pyplot as plt

    plt.close("all")
    height = ipywidgets.IntSlider(value=2, min=0, max=10)
    colour = ipywidgets.Dropdown(options=["C0", "C1"], value="C0")
    calls: list[dict[str, object]] = []

    def draw(height: int, colour: str) -> list[object]:
        calls.append({"height": height, "colour": colour})
        return [_bars(height, colour), _bars(8 - height, colour)]

    panel = widgets.live({"height": height, "colour": colour}, draw, title="two bars")
    assert calls == [{"height": 2, "colour": "C0"}] and len(panel.pngs) == 2
    assert plt.get_fignums() == []  # drawn figures are closed: Jupyter shows only the panel
    first = list(panel.pngs)
    height.value = 5
    assert calls[-1] == {"height": 5, "colour": "C0"} and panel.pngs != first
    assert [img.value for img in panel._images] == panel.pngs
    colour.value = "C1"
    assert calls[-1] == {"height": 5, "colour": "C1"} and panel.error is None
    assert repr(panel) == "Live(height=5, colour='C1'; 2 figure(s))"


def test_live_shows_a_setting_that_cannot_work_and_keeps_the_last_pictures() -> None:
    height = ipywidgets.IntSlider(value=3, min=0, max=10)
    panel = widgets.live({"height": height}, _bars)
    good = list(panel.pngs)
    height.value = 9
    assert panel.error == "height 9 does not fit: at most 8"
    assert "This setting cannot work" in panel._status.value and panel.pngs == good
    height.value = 4
    assert panel.error is None and panel._status.value == "" and panel.pngs != good


def test_live_mimebundle_is_a_widget_with_a_still_view_for_the_book() -> None:
    panel = widgets.live({"height": ipywidgets.IntSlider(value=3, max=8)},
                         lambda height: [_bars(height), _bars(height + 1)], title="bars")
    bundle = panel._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == \
        panel.widget.model_id
    page = bundle["text/html"]
    assert page.startswith('<div class="cnnlab-instrument"') and "rocket button" in page
    shown = [base64.b64decode(src)
             for src in re.findall(r'src="data:image/png;base64,([^"]+)"', page)]
    assert shown == panel.pngs and all(p.startswith(b"\x89PNG") for p in shown)
    assert html.escape("bars") in page and "https://" not in page
    assert panel.settings() == {"height": "3"}


def test_live_settings_read_as_on_screen() -> None:
    menu = ipywidgets.Dropdown(options={"a seven": 7, "a one": 1}, value=1, description="digit")
    eps = ipywidgets.FloatSlider(value=0.25, description="eps")
    panel = widgets.live({"index": menu, "eps": eps}, lambda index, eps: _bars(index))
    assert panel.settings() == {"digit": "a one", "eps": "0.25"}
    assert ">a one<" in panel.static_html() and ">digit<" in panel.static_html()


@pytest.mark.parametrize(("controls", "draw", "error", "match"), [
    ({}, _bars, TypeError, "controls must be a non-empty dict"),
    ([ipywidgets.IntSlider()], _bars, TypeError, "got list"),
    ({"height": 3}, _bars, TypeError, "got 'height': int"),
    ({"height": ipywidgets.IntSlider(value=1)}, "not a function", TypeError,
     "draw must be a function returning figures, got str"),
    ({"height": ipywidgets.IntSlider(value=1)}, lambda height: None, TypeError,
     "draw must return a matplotlib Figure or a list of them, got NoneType"),
    ({"height": ipywidgets.IntSlider(value=9, max=10)}, _bars, ValueError, "does not fit"),
])
def test_live_rejects_bad_input(controls: object, draw: object, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        widgets.live(controls, draw)  # type: ignore[arg-type]

"""The ``{instrument}`` directive: the course's instruments live in the static book, offline.

In a MyST cell::

    ```{instrument} kernel-explorer
    {"kernel": "BLUR", "padding": 1}
    ```

The argument names an instrument of :mod:`cnnlab.instruments`; the optional JSON body holds
keyword arguments for its widget class (the same ones a notebook passes in Python). The
directive writes into the page the instrument's self-contained ES module
(:func:`cnnlab.instruments.esm`), the widget's initial state, and a small classic loader that
imports the module from a Blob URL and calls its ``render({model, el})`` with a model that keeps
the state in the page (``get``, ``set``, ``on``, ``off``, ``save_changes``). Nothing is fetched:
no kernel, no widget manager, no CDN, and it works from ``file://`` (where Chromium refuses to
import a module from a file but accepts a Blob URL). The module is the one the notebook's
``anywidget`` loads in Jupyter and Colab.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

# The loader runs once per instrument; it mounts every instrument not mounted yet.
LOADER = """
(function () {
  function model(state) {
    var on = {};
    function fire(name, value) {
      (on[name] || []).slice().forEach(function (f) { f({ name: name, new: value }); });
    }
    return {
      get: function (k) { return state[k]; },
      set: function (k, v) {
        var old = state[k];
        state[k] = v;
        if (JSON.stringify(old) === JSON.stringify(v)) return;
        fire("change:" + k, v);
        fire("change", v);
      },
      on: function (e, f) {
        String(e).split(" ").forEach(function (n) { (on[n] = on[n] || []).push(f); });
      },
      off: function (e, f) {
        if (!e) { on = {}; return; }
        String(e).split(" ").forEach(function (n) {
          on[n] = f ? (on[n] || []).filter(function (g) { return g !== f; }) : []; });
      },
      save_changes: function () {}, send: function () {}, widget_manager: null
    };
  }
  function mount(box) {
    box.setAttribute("data-live", "loading");
    var src = JSON.parse(box.querySelector("script.cnnlab-esm").textContent);
    var state = JSON.parse(box.querySelector("script.cnnlab-state").textContent);
    var url = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
    return import(url).then(function (mod) {
      URL.revokeObjectURL(url);
      var widget = mod.default, m = model(state);
      var target = box.querySelector(".cnnlab-live-target");
      return Promise.resolve(widget.initialize && widget.initialize({ model: m }))
        .then(function () { return widget.render({ model: m, el: target }); })
        .then(function () { box.setAttribute("data-live", "ready"); });
    }).catch(function (err) {
      box.setAttribute("data-live", "failed");
      box.querySelector(".cnnlab-live-target").textContent =
        "This instrument could not start in this browser: " + err;
      console.error("cnnlab instrument", box.getAttribute("data-name"), err);
    });
  }
  document.querySelectorAll("div.cnnlab-live:not([data-live])").forEach(mount);
})();
"""


def _script_json(value: Any) -> str:
    """JSON safe inside <script type="application/json"> (no "</script>", no "<!--")."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


def instrument_html(name: str, kwargs: dict[str, Any] | None = None) -> str:
    """The HTML that shows instrument ``name`` live, built with the widget class's kwargs."""
    from cnnlab import instruments

    cls = instruments.instrument_class(name)
    widget = cls(**(kwargs or {}))
    try:
        state = widget.initial_state()
    finally:
        widget.close()
    return (
        f'<div class="cnnlab-live" data-name="{html.escape(name)}">'
        f'<script type="application/json" class="cnnlab-esm">{_script_json(instruments.esm(name))}'
        "</script>"
        f'<script type="application/json" class="cnnlab-state">{_script_json(state)}</script>'
        '<div class="cnnlab-live-target"><noscript>This instrument needs JavaScript; open the '
        "notebook in Jupyter or Colab to use it there.</noscript></div>"
        f"<script>{LOADER}</script></div>"
    )


class InstrumentDirective(SphinxDirective):
    """``{instrument} NAME`` with an optional JSON body of keyword arguments."""

    required_arguments = 1
    has_content = True
    option_spec = {"class": directives.class_option}

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        body = "\n".join(self.content).strip()
        try:
            kwargs = json.loads(body) if body else {}
            if not isinstance(kwargs, dict):
                raise ValueError("the body must be a JSON object of keyword arguments")
            markup = instrument_html(name, kwargs)
        except (ValueError, TypeError) as exc:
            raise self.error(f"instrument {name!r}: {exc}") from exc
        self.env.note_dependency(__file__)
        from cnnlab import instruments

        here = Path(instruments.__file__).parent
        for dep in ("__init__.py", "common.mjs", instruments.NAMES[name]):
            self.env.note_dependency(str(here / dep))
        return [nodes.raw("", markup, format="html")]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("instrument", InstrumentDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

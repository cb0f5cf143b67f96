"""Drive every live instrument in the built book and check its numbers against cnnlab's NumPy.

Run after a book build, as test_book.py:

    pytest tests/browser --book _build/html

For each instrument the test changes controls the way a reader does (clicks, typing, the
keyboard), then reads the numbers the page shows (each number cell carries its exact value in
``data-value``) and compares them with the same settings computed in Python by
:mod:`cnnlab.instruments`' ``compute()``, which uses cnnlab.ops and cnnlab.receptive: the
fixtures are generated here, from the oracle, for the settings the test just chose. Every page
must log no console error, send no request off the site, and weigh under 3 MiB with what it
loads; at a phone's width (375 px) no instrument may be wider than the screen.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_book import CHROMIUM, MAX_PAGE_BYTES

from cnnlab import instruments as ins

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

PAGES = {
    "chapters/02_convolution.html": ("kernel-explorer", "conv-stepper"),
    "chapters/03_pooling.html": ("pooling-shift",),
    "chapters/04_channels_stride_padding.html": ("feature-maps",),
    "chapters/05_receptive_fields.html": ("receptive-field",),
    "labs/lab01_filters_by_hand.html": ("conv-stepper", "filter-designer"),
}
LAB_IMAGE = [[1, 0, 2, 1, 0], [0, 1, 1, 2, 1], [8, 9, 9, 7, 8], [9, 8, 9, 9, 7],
             [2, 1, 0, 1, 2]]


class Tab:
    """One page in a fresh browser context, with everything that went wrong collected."""

    def __init__(self, browser: Any, server: str, rel: str, width: int = 1280) -> None:
        self.problems: list[str] = []
        self.bytes = 0
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}")
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        self.page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url}"))
        self.page.on("response", self._response)
        self.server = server
        self.page.goto(f"{server}/{rel}", wait_until="load")
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_function(
            "Array.from(document.querySelectorAll('div.cnnlab-live'))"
            ".every(d => d.dataset.live === 'ready')", timeout=15000)

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith((self.server, "data:", "blob:")):
            route.continue_()
        else:
            self.problems.append(f"request leaves the site: {url}")
            route.abort()

    def _response(self, response: Any) -> None:
        try:
            self.bytes += len(response.body())
        except Exception:  # redirects and aborted bodies have none
            pass

    def instrument(self, name: str, nth: int = 0) -> Any:
        return self.page.locator(f'[data-instrument="{name}"]').nth(nth)

    def close(self) -> list[str]:
        self.context.close()
        return self.problems


def grid(table: Any) -> np.ndarray:
    """The exact values of a number table (null cells, not yet computed, become nan)."""
    rows = table.evaluate("t => Array.from(t.rows).map(r => Array.from(r.cells)"
                          ".map(c => c.dataset.value))")
    return np.array([[np.nan if v == "null" else float(v) for v in r] for r in rows])


def type_into(field: Any, value: object) -> None:
    field.fill(str(value))
    field.press("Tab")  # the change event, as when a reader leaves the field


def readout(box: Any, key: str) -> str:
    return str(box.locator(f'[data-readout="{key}"]').inner_text())


# ---------------------------------------------------------------------------------------------


def test_kernel_explorer(browser: Any, server: str) -> None:
    tab = Tab(browser, server, "chapters/02_convolution.html")
    box = tab.instrument("kernel-explorer")
    ref = ins.KernelExplorer()

    def check() -> None:
        r = ref.compute()
        np.testing.assert_allclose(grid(box.locator("table.ke-map")), r["feature_map"],
                                   atol=1e-12)
        assert readout(box, "output size") == f"{r['out_size'][0]} × {r['out_size'][1]}"
        assert readout(box, "weight reuse") == f"{r['reuse']}×"
        assert readout(box, "dense weights") == f"{r['dense']:,}"

    check()
    box.get_by_role("button", name="BLUR", exact=True).click()
    ref.kernel = list(ins.KERNELS["BLUR"].ravel())
    check()
    type_into(box.get_by_label("padding", exact=True), 1)
    type_into(box.get_by_label("stride", exact=True), 2)
    ref.padding, ref.stride = 1, 2
    check()
    # keyboard only: focus SHARPEN and press Enter, then Space on a pixel
    box.get_by_role("button", name="SHARPEN", exact=True).focus()
    tab.page.keyboard.press("Enter")
    ref.kernel = list(ins.KERNELS["SHARPEN"].ravel())
    check()
    box.get_by_role("button", name="pixel row 1, column 1", exact=True).focus()
    tab.page.keyboard.press("Space")
    image = [row[:] for row in ref.image]
    image[0][0] = 1
    ref.image = image
    check()
    assert box.get_by_role("button", name="pixel row 1, column 1").get_attribute(
        "aria-pressed") == "true"
    # a typed weight makes the kernel "custom"
    type_into(box.get_by_label("w22", exact=True), -2.5)
    k = list(ref.kernel)
    k[4] = -2.5
    ref.kernel = k
    check()
    assert box.get_by_role("button", name="custom").get_attribute("aria-pressed") == "true"
    type_into(box.get_by_label("dilation", exact=True), 4)
    type_into(box.get_by_label("padding", exact=True), 0)
    type_into(box.get_by_label("stride", exact=True), 1)
    ref.dilation, ref.padding, ref.stride = 4, 0, 1
    check()  # a dilated kernel spans 9 pixels: one output
    assert not tab.close()


def test_conv_stepper(browser: Any, server: str) -> None:
    tab = Tab(browser, server, "chapters/02_convolution.html")
    box = tab.instrument("conv-stepper")
    ref = ins.ConvStepper()

    def check() -> None:
        r = ref.compute()
        assert readout(box, "sum") == f"{r['total']:g}"
        shown = grid(box.locator("table.cs-output"))
        done = np.arange(r["positions"]).reshape(r["output"].shape) <= min(ref.step,
                                                                            r["positions"] - 1)
        np.testing.assert_allclose(shown[done], r["output"][done], atol=1e-12)
        assert np.isnan(shown[~done]).all()

    check()
    box.get_by_role("button", name="next ▶").click()
    box.get_by_role("button", name="next ▶").click()
    ref.step = 2
    check()
    box.get_by_label("kernel").select_option("box sum (all ones)")
    type_into(box.get_by_label("padding", exact=True), 1)
    ref.kernel, ref.padding, ref.step = "box sum (all ones)", 1, 0
    check()
    type_into(box.get_by_label("position", exact=True), 24)
    ref.step = 24
    check()
    assert "step 25 of 25" in readout(box, "position")
    assert not tab.close()


def test_pooling_shift(browser: Any, server: str) -> None:
    tab = Tab(browser, server, "chapters/03_pooling.html")
    box = tab.instrument("pooling-shift")
    ref = ins.PoolingShift()

    def check() -> None:
        r = ref.compute()
        np.testing.assert_allclose(grid(box.locator("table.ps-pooled")), r["pooled"], atol=1e-12)
        np.testing.assert_allclose(grid(box.locator("table.ps-after")), r["pooled_shifted"],
                                   atol=1e-12)
        assert readout(box, "changed") == f"{r['n_changed']} of {r['pooled'].size}"
        marked = box.locator("table.ps-after td.ci-changed").count()
        assert marked == r["n_changed"]

    check()
    for direction, mode, window, shift in [("down", "max", None, 1),
                                           ("right", "average", None, 1),
                                           ("diagonal", "max", "3×3, stride 2 (overlapping)", 2),
                                           ("right", "max", "4×4, stride 4", 3)]:
        box.get_by_role("button", name=direction, exact=True).click()
        box.get_by_role("button", name=mode, exact=True).click()
        if window:
            box.get_by_label("pool").select_option(window)
            ref.window = window
        type_into(box.get_by_label("shift (px)"), shift)
        ref.direction, ref.mode, ref.shift = direction, mode, shift
        check()
    assert not tab.close()


def test_feature_maps(browser: Any, server: str) -> None:
    tab = Tab(browser, server, "chapters/04_channels_stride_padding.html")
    box = tab.instrument("feature-maps")
    ref = ins.FeatureMaps()

    def check() -> None:
        r = ref.compute()
        rows = box.locator("tbody tr")
        assert rows.count() == len(r["rows"])
        for i, want in enumerate(r["rows"]):
            row = rows.nth(i)
            assert row.locator("[data-out]").get_attribute("data-out") == (
                f"{want['out_size']},{want['channels']}")
            assert int(row.locator("[data-activations]").get_attribute(
                "data-activations")) == want["conv_activations"]
            assert int(row.locator("[data-params]").get_attribute("data-params")) == want["params"]
        assert readout(box, "memory") == f"{r['memory_mib']:.1f} MiB".replace(".0 MiB", " MiB")

    check()
    type_into(box.get_by_label("stages", exact=True), 6)
    box.get_by_role("button", name="7×7").click()
    box.get_by_role("button", name="1 (gray)").click()
    box.get_by_label("first channels").select_option("32")
    ref.stages, ref.kernel, ref.in_channels, ref.base_channels = 6, 7, 1, 32
    check()
    type_into(box.get_by_label("input size", exact=True), 64)
    type_into(box.get_by_label("stages", exact=True), 8)
    ref.input_size, ref.stages = 64, 8
    with pytest.raises(ValueError):
        ref.compute()
    assert "allows at most 6 stages" in box.inner_text()
    assert not tab.close()


def test_receptive_field(browser: Any, server: str) -> None:
    tab = Tab(browser, server, "chapters/05_receptive_fields.html")
    box = tab.instrument("receptive-field")

    def check(layers: str, size: int) -> None:
        want = ins.ReceptiveField(layers=layers, input_size=size).compute()["rows"]
        rows = box.locator("tbody tr[data-layer]")
        assert rows.count() == len(want)
        for i, w in enumerate(want):
            row = rows.nth(i)
            got = [int(row.get_attribute(a) or -1) for a in ("data-rf", "data-jump", "data-out")]
            assert got == [w["rf"], w["jump"], w["out_size"]], (layers, i)
        assert readout(box, "rf") == f"{want[-1]['rf']} px"

    check("conv3 pool2 conv3 pool2 conv3", 224)
    type_into(box.get_by_label("2×2 pools"), 3)
    type_into(box.get_by_label("3×3 convs"), 7)
    from cnnlab.receptive import stack_spec as _counts_spec

    spec = _counts_spec(7, 3)
    assert box.get_by_label("layers", exact=True).input_value() == spec
    check(spec, 224)
    field = box.get_by_label("layers", exact=True)
    field.fill("c7s2p3 p3s2 c3d2 c3d4")
    field.press("Enter")
    type_into(box.get_by_label("input size"), 96)
    check("c7s2p3 p3s2 c3d2 c3d4", 96)
    field.fill("c3 fc10")
    field.press("Enter")
    assert "Cannot read layer 2" in box.get_by_role("alert").inner_text()
    assert not tab.close()


def test_lab01_stepper_and_filter_designer(browser: Any, server: str) -> None:
    tab = Tab(browser, server, "labs/lab01_filters_by_hand.html")
    stepper = tab.instrument("conv-stepper")
    ref = ins.ConvStepper(image=LAB_IMAGE, kernel="horizontal edge (rows -1, 0, 1)")
    for step in range(9):
        ref.step = step
        assert readout(stepper, "sum") == f"{ref.compute()['total']:g}"
        stepper.get_by_role("button", name="next ▶").click()
    np.testing.assert_allclose(grid(stepper.locator("table.cs-output")), ref.compute()["output"])

    box = tab.instrument("filter-designer")
    fd = ins.FilterDesigner(photos=["brick", "chelsea", "astronaut"],
                            preset="horizontal edge (by hand)")

    def check() -> None:
        tab.page.wait_for_function(
            "b => b.querySelector('[data-readout=range]') !== null", arg=box.element_handle())
        r = fd.compute()
        dd = box.locator('[data-readout="range"]')
        got = [float(dd.get_attribute(a) or "nan") for a in ("data-min", "data-max", "data-mean")]
        want = [r["gray"].min(), r["gray"].max(), r["gray"].mean()]
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
        assert readout(box, "sum") == f"{r['kernel_sum']:g}"

    check()
    box.get_by_label("preset").select_option("Laplacian")
    fd.kernel = list(ins.FILTER_PRESETS["Laplacian"].ravel())
    check()
    box.get_by_role("button", name="chelsea").click()
    fd.photo = "chelsea"
    box.get_by_label("preset").select_option("box blur")
    fd.kernel = list(ins.FILTER_PRESETS["box blur"].ravel())
    check()
    for i in range(9):  # a block of ones, typed weight by weight
        type_into(box.get_by_label(f"weight row {i // 3 + 1}, column {i % 3 + 1}"), 1)
    fd.kernel = [1.0] * 9
    check()
    box.get_by_label("divide by the sum").check()
    fd.normalise = True
    check()
    box.get_by_label("preset").select_option("Sobel x (vertical edges)")
    assert "sum to 0" in box.get_by_role("alert").inner_text()
    # the canvases show something other than a blank image
    varied = box.locator("canvas").nth(0).evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let lo = 255, hi = 0; for (let i = 0; i < d.length; i += 4) { lo = Math.min(lo, d[i]);"
        " hi = Math.max(hi, d[i]); } return hi - lo; }")
    assert varied > 100
    assert not tab.close()


@pytest.mark.parametrize("rel", sorted(PAGES))
def test_instrument_pages_fit_a_phone_and_weigh_little(browser: Any, server: str,
                                                       rel: str) -> None:
    tab = Tab(browser, server, rel, width=375)
    names = tab.page.eval_on_selector_all("[data-instrument]",
                                          "els => els.map(e => e.dataset.instrument)")
    assert sorted(names) == sorted(PAGES[rel])
    too_wide = tab.page.eval_on_selector_all(
        "[data-instrument]",
        "els => els.filter(e => e.getBoundingClientRect().right > 375 + 0.5"
        " || e.scrollWidth > e.clientWidth + 1).map(e => e.dataset.instrument)")
    assert not too_wide, f"wider than a 375 px screen: {too_wide}"
    weight = tab.bytes
    assert not tab.close()
    assert weight < MAX_PAGE_BYTES, f"{rel}: {weight / 2**20:.2f} MiB"
    print(f"\n{rel}: {weight / 1e6:.2f} MB with what it loads")


def test_instruments_work_from_file_urls(browser: Any, book: Path) -> None:
    """A downloaded copy of the book opened from disk: the instruments still start."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto((book / "chapters" / "02_convolution.html").as_uri(), wait_until="load")
    page.wait_for_function("document.querySelectorAll('div.cnnlab-live[data-live=ready]')"
                           ".length === 2", timeout=15000)
    page.locator('[data-instrument="kernel-explorer"]').get_by_role(
        "button", name="IDENTITY").click()
    values = page.locator("table.ke-map td").evaluate_all("cs => cs.map(c => +c.dataset.value)")
    seven = np.array(ins.SEVEN, dtype=float)
    assert np.array_equal(np.array(values).reshape(7, 7), seven[1:8, 1:8])
    page.close()
    assert not errors, errors


def test_page_carries_the_notebook_widgets_module(book: Path) -> None:
    """The module inlined in the page is the very string the notebook's widget loads."""
    text = (book / "chapters" / "02_convolution.html").read_text(encoding="utf-8")
    start = text.index('<script type="application/json" class="cnnlab-esm">')
    body = text[start:].split(">", 1)[1].split("</script>", 1)[0]
    assert json.loads(body) == ins.KernelExplorer()._esm

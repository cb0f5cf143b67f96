"""cnnlab.instruments: the widgets' Python side, and the JavaScript checked against NumPy.

The JavaScript arithmetic of every instrument runs in Node (tests/instruments/run_js.mjs) on
cases generated here; each result must equal what cnnlab's NumPy functions give for the same
settings (the Python classes' ``compute()``, built on cnnlab.ops and cnnlab.receptive). The
browser test (tests/browser/test_instruments_live.py) checks the same in the built book.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cnnlab import instruments as ins
from cnnlab import ops

NODE = shutil.which("node")
RUN_JS = Path(__file__).parent / "instruments" / "run_js.mjs"
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


def run_js(tmp_path: Path, cases: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    out = subprocess.run([NODE or "node", str(RUN_JS), str(path)], capture_output=True,
                         text=True, check=True, timeout=120)
    result: list[Any] = json.loads(out.stdout)
    assert len(result) == len(cases)
    return result


# ---------------------------------------------------------------------------------------------
# the modules
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ins.NAMES))
def test_esm_is_self_contained_and_is_the_widgets_module(name: str) -> None:
    source = ins.esm(name)
    assert not re.search(r"^\s*import\s", source, flags=re.M), "no import may remain"
    assert "export default { render }" in source
    assert f'"{name}"' in source  # the root's data-instrument
    cls = ins.instrument_class(name)
    assert cls()._esm == source  # the notebook widget loads exactly this module


def test_package_data_ships_the_modules() -> None:
    here = Path(ins.__file__).parent
    assert {p.name for p in here.glob("*.mjs")} == {*ins.NAMES.values(), "common.mjs"}
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    assert '"instruments/*.mjs"' in text  # package data
    assert '"cnnlab.*"' in text or '"cnnlab.instruments"' in text  # the subpackage is found


def test_unknown_names_raise() -> None:
    with pytest.raises(ValueError, match="instrument must be one of"):
        ins.esm("oscilloscope")
    with pytest.raises(ValueError, match="instrument must be one of"):
        ins.instrument_class("oscilloscope")


# ---------------------------------------------------------------------------------------------
# Python state: read, set, validated
# ---------------------------------------------------------------------------------------------


def test_kernel_explorer_state_reads_and_sets() -> None:
    ke = ins.KernelExplorer(kernel="BLUR", padding=1)
    assert ke.kernel == pytest.approx([1 / 9] * 9)
    assert ke.compute()["out_size"] == (9, 9)
    ke.stride = 2
    assert ke.compute()["out_size"] == (5, 5)
    ke.kernel = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    assert ke.kernel == [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0]
    assert ke.initial_state()["stride"] == 2
    with pytest.raises(ValueError, match="9 finite numbers"):
        ke.kernel = [1, 2]
    with pytest.raises(ValueError, match="stride must be in 1..3"):
        ins.KernelExplorer(stride=4)
    with pytest.raises(TypeError, match="stride must be an int"):
        ins.KernelExplorer(stride=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kernel must be one of"):
        ins.KernelExplorer(kernel="EMBOSS")
    with pytest.raises(ValueError, match="image must be 9x9"):
        ins.KernelExplorer(image=np.zeros((5, 5)))


def test_defaults_of_the_other_instruments() -> None:
    cs = ins.ConvStepper()
    assert cs.compute()["total"] == 6.0 and cs.compute()["positions"] == 9
    with pytest.raises(ValueError, match="kernel must be one of"):
        cs.kernel = "sobel"
    ps = ins.PoolingShift()
    assert ps.compute()["n_changed"] == 2  # the 9 in a right-hand column moves, and one more
    assert ins.PoolingShift(shift=0).compute()["n_changed"] == 0
    rows = ins.FeatureMaps().compute()["rows"]
    assert [(r["out_size"], r["channels"]) for r in rows] == [(112, 64), (56, 128), (28, 256),
                                                               (14, 512)]
    with pytest.raises(ValueError):
        ins.FeatureMaps(input_size=16, stages=5).compute()
    last = ins.ReceptiveField().compute()["rows"][-1]
    assert (last["rf"], last["jump"], last["out_size"]) == (18, 4, 56)
    rf = ins.ReceptiveField(layers="conv3d2 conv3d4")
    assert (rf.convs, rf.pools) == (2, 0)
    with pytest.raises(ValueError, match="cannot read layer"):
        ins.ReceptiveField(layers="conv3 fc10")
    with pytest.raises(TypeError, match="layers must be a string"):
        ins.ReceptiveField(layers=3)  # type: ignore[arg-type]


def test_filter_designer_photo_round_trip() -> None:
    rng = np.random.default_rng(0)
    img = rng.random((12, 10, 3))
    fd = ins.FilterDesigner(photos={"noise": img}, preset="identity")
    back = fd.image()
    assert back.shape == (12, 10, 3)
    assert np.abs(back - img).max() <= 0.5 / 255 + 1e-12  # 8-bit, lossless PNG
    r = fd.compute()
    assert np.allclose(r["gray"], back @ np.array([0.2125, 0.7154, 0.0721]))
    fd.normalise = True
    fd.kernel = [0, 0, 0, -1, 0, 1, 0, 0, 0]
    with pytest.raises(ValueError, match="sum to 0"):
        fd.compute()
    with pytest.raises(ValueError, match="photo must be one of"):
        fd.photo = "chelsea"
    with pytest.raises(TypeError, match="photos must be"):
        ins.FilterDesigner(photos="chelsea")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shape"):
        ins.photo_data_url(np.zeros((2, 2)))
    assert ins.FilterDesigner().photo == "chelsea"  # the bundled photograph, no download


# ---------------------------------------------------------------------------------------------
# the JavaScript against the NumPy oracle
# ---------------------------------------------------------------------------------------------


@needs_node
def test_kernel_explorer_js_equals_numpy(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    widgets = []
    for (name, s, p, d) in itertools.product(ins.KERNELS, (1, 2, 3), (0, 1, 2, 3), (1, 2, 3, 4)):
        widgets.append(ins.KernelExplorer(kernel=name, stride=s, padding=p, dilation=d))
    for _ in range(20):
        widgets.append(ins.KernelExplorer(kernel=list(rng.normal(size=9)),
                                          image=rng.random((9, 9)), padding=int(rng.integers(4))))
    cases = []
    for w in widgets:
        if 9 + 2 * w.padding >= 2 * w.dilation + 1:  # cnnlab raises otherwise; JS shows a message
            cases.append(w)
    got = run_js(tmp_path, [("kernel-explorer", w.initial_state()) for w in cases])
    assert len(cases) > 150
    for w, js in zip(cases, got, strict=True):
        ref = w.compute()
        assert tuple(js["outSize"]) == ref["out_size"]
        assert js["reuse"] == ref["reuse"] and js["dense"] == ref["dense"]
        np.testing.assert_allclose(np.array(js["featureMap"]), ref["feature_map"], atol=1e-12)
    too_small = ins.KernelExplorer(dilation=4).initial_state()
    too_small["dilation"] = 5
    assert run_js(tmp_path, [("kernel-explorer", too_small)])[0]["featureMap"] == []


@needs_node
def test_conv_stepper_js_equals_numpy(tmp_path: Path) -> None:
    cases = []
    for kernel, s, p in itertools.product(ins.STEPPER_KERNELS, (1, 2, 3), (0, 1, 2)):
        positions = ins.ConvStepper(kernel=kernel, stride=s, padding=p).compute()["positions"]
        cases += [ins.ConvStepper(kernel=kernel, stride=s, padding=p, step=i)
                  for i in range(positions)]
    rng = np.random.default_rng(2)
    cases.append(ins.ConvStepper(image=rng.normal(size=(7, 6)), step=11, padding=1))
    got = run_js(tmp_path, [("conv-stepper", w.initial_state()) for w in cases])
    for w, js in zip(cases, got, strict=True):
        ref = w.compute()
        assert js["positions"] == ref["positions"] and (js["row"], js["col"]) == ref["position"]
        np.testing.assert_allclose(js["window"], ref["window"], atol=1e-12)
        np.testing.assert_allclose(js["products"], ref["products"], atol=1e-12)
        assert js["total"] == pytest.approx(ref["total"], abs=1e-12)
        np.testing.assert_allclose(js["output"], ref["output"], atol=1e-12)


@needs_node
def test_pooling_shift_js_equals_numpy(tmp_path: Path) -> None:
    cases = [ins.PoolingShift(shift=s, direction=d, window=w, mode=m)
             for s, d, w, m in itertools.product(range(4), ins.DIRECTIONS, ins.POOL_WINDOWS,
                                                 ("max", "average"))]
    got = run_js(tmp_path, [("pooling-shift", w.initial_state()) for w in cases])
    for w, js in zip(cases, got, strict=True):
        ref = w.compute()
        np.testing.assert_allclose(js["shifted"], ref["shifted"])
        np.testing.assert_allclose(js["pooled"], ref["pooled"], atol=1e-12)
        np.testing.assert_allclose(js["pooledShifted"], ref["pooled_shifted"], atol=1e-12)
        assert np.array_equal(np.array(js["changed"]), ref["changed"])
        assert js["nChanged"] == ref["n_changed"]


@needs_node
def test_feature_maps_js_equals_numpy(tmp_path: Path) -> None:
    settings = list(itertools.product((16, 32, 48, 224, 512), (1, 3), (8, 64, 128), (1, 4, 5, 8),
                                      (1, 3, 7)))
    cases = [ins.FeatureMaps(input_size=a, in_channels=b, base_channels=c, stages=d, kernel=e)
             for a, b, c, d, e in settings]
    got = run_js(tmp_path, [("feature-maps", w.initial_state()) for w in cases])
    errors = 0
    for w, js in zip(cases, got, strict=True):
        try:
            ref = w.compute()
        except ValueError:
            errors += 1
            assert "error" in js and "cannot pool" in js["error"]
            continue
        assert "error" not in js
        assert js["rows"] == ref["rows"]
        assert js["memory"] == pytest.approx(ref["memory_mib"], rel=1e-12)
    assert 0 < errors < len(cases)


RF_SPECS = [
    "conv3 pool2 conv3 pool2 conv3", "c3 c3 c3 c3 c3", "c7s2p3 p3s2 c3 c3", "c3d2 c3d4 c3d8",
    "conv5, pool3s2, conv3", "c3 -> p2 -> c3s2", "c11s4 p3s2 c5 p3s2 c3 c3 c3 p3s2", "p2 p2 p2",
    "c1", "c3p0 c3p0 c3p0", "c3p0d2 p2s1", "C3 P2",
]


@needs_node
def test_receptive_field_js_equals_numpy(tmp_path: Path) -> None:
    cases = [ins.ReceptiveField(layers=s, input_size=n) for s in RF_SPECS for n in (32, 64, 224)]
    got = run_js(tmp_path, [("receptive-field", w.initial_state()) for w in cases])
    errors = 0
    for w, js in zip(cases, got, strict=True):
        try:
            ref = w.compute()["rows"]
        except ValueError:
            errors += 1
            assert js["rows"] == [] and "spans" in js["error"]
            continue
        assert js["error"] == ""
        keys = ("name", "kernel", "stride", "padding", "dilation", "out_size", "rf", "jump",
                "first")
        assert [{k: r[k] for k in keys} for r in js["rows"]] == ref
    assert errors > 0  # c11s4... on a 32-pixel input runs out of pixels
    bad = ["conv3 fc10", "", "pool2d2", "conv0"]
    got = run_js(tmp_path, [("receptive-field", {"layers": b, "input_size": 64}) for b in bad])
    for spec, js in zip(bad, got, strict=True):
        with pytest.raises(ValueError):
            ins.ReceptiveField._parse(spec)
        assert js["rows"] == [] and js["error"]
    from cnnlab.receptive import stack_spec as _counts_spec

    pairs = [(c, p) for c in range(13) for p in range(6)]
    got = run_js(tmp_path, [("counts-spec", {"convs": c, "pools": p}) for c, p in pairs])
    assert got == [_counts_spec(c, p) for c, p in pairs]


@needs_node
def test_filter_designer_js_equals_numpy(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    img = rng.random((11, 13, 3))
    kernels = [list(k.ravel()) for k in ins.FILTER_PRESETS.values()]
    kernels += [list(rng.normal(size=9)) for _ in range(5)]
    cases, widgets = [], []
    for k, norm in itertools.product(kernels, (False, True)):
        w = ins.FilterDesigner(photos={"noise": img}, kernel=k)
        w.normalise = norm
        x = w.image()
        widgets.append(w)
        cases.append(("filter-designer", {"width": 13, "height": 11, "kernel": w.kernel,
                                          "normalise": norm,
                                          "rgb": [x[..., c].ravel().tolist() for c in range(3)]}))
    got = run_js(tmp_path, cases)
    errors = 0
    for w, js in zip(widgets, got, strict=True):
        try:
            ref = w.compute()
        except ValueError:
            errors += 1
            assert "sum to 0" in js["error"]
            continue
        np.testing.assert_allclose(np.array(js["gray"]).reshape(11, 13), ref["gray"], atol=1e-12)
        colour = np.stack([np.array(c).reshape(11, 13) for c in js["colour"]], axis=-1)
        np.testing.assert_allclose(colour, ref["colour"], atol=1e-12)
        assert js["kernelSum"] == pytest.approx(ref["kernel_sum"], abs=1e-12)
    assert errors == 5  # the zero-sum presets cannot be normalised


def test_conv2d_is_the_oracle() -> None:
    """The oracle itself: cnnlab.ops.conv2d is cross-correlation (a sanity anchor)."""
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    k = np.zeros((1, 1, 3, 3))
    k[0, 0, 0, 0] = 1.0
    assert np.array_equal(ops.conv2d(x, k)[0, 0], x[0, 0, :3, :3])


def test_docstring_examples() -> None:
    import doctest

    results = doctest.testmod(ins, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert results.attempted >= 10 and results.failed == 0


@pytest.mark.parametrize("make", [
    lambda image: ins.ConvStepper(image=image),
    lambda image: ins.KernelExplorer(image=image),
    lambda image: ins.FilterDesigner(photos={"mine": image}),
], ids=["conv-stepper", "kernel-explorer", "filter-designer"])
def test_images_an_instrument_cannot_show_are_refused(make) -> None:
    size = 9
    nan = np.zeros((size, size))
    nan[2, 3] = np.nan
    with pytest.raises(ValueError, match="image must be finite, got 1 NaN or infinite values"):
        make(nan)
    with pytest.raises(TypeError, match="image must hold real numbers, got dtype complex128"):
        make(np.zeros((size, size), dtype=complex))
    with pytest.raises(TypeError, match="image must hold real numbers, got dtype <U1"):
        make(np.full((size, size), "a"))


"""Tests of cnnlab.widgets: every control driven over its whole range, the numbers shown checked
against PyTorch (or an independent recursion), impossible settings shown as messages, and the
static fallback that the book shows instead of a live widget."""

from __future__ import annotations

import base64
import html
import itertools
import os
import re

os.environ.setdefault("MPLBACKEND", "Agg")

import ipywidgets
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage.color import rgb2gray

from cnnlab import receptive, widgets
from cnnlab.widgets import (
    FEATURE_MAP_8X8,
    FILTER_PRESETS,
    KERNELS_3X3,
    PHOTOS,
    SEVEN,
    _instrument,
    conv_stepper,
    feature_map_visualizer,
    filter_designer,
    kernel_explorer,
    parse_layers,
    pooling_shift,
    receptive_field_calculator,
)


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def _torch_conv(image: np.ndarray, kernel: np.ndarray, **kw: int) -> np.ndarray:
    return F.conv2d(_t(image)[None, None], _t(kernel)[None, None], **kw)[0, 0].numpy()


def _slider_values(w: ipywidgets.Widget) -> list[object]:
    if isinstance(w, ipywidgets.IntSlider):
        return list(range(w.min, w.max + 1, w.step))
    return list(w.options)


def _live_values(w: ipywidgets.Widget) -> list[object]:
    """Values at which a control is moved with a full redraw: all of them for short ranges, a
    dozen spread over long ones (ends included). Every value is checked numerically, in a
    batch, by the whole-range tests."""
    values = _slider_values(w)
    if len(values) <= 12:
        return values
    picks = np.linspace(0, len(values) - 1, 12).round().astype(int)
    return [values[i] for i in sorted(set(picks.tolist()))]


def _assert_shows(inst: widgets.Instrument) -> None:
    """The view is up to date: a PNG, and either the readout or the error message."""
    assert inst.png.startswith(b"\x89PNG")
    if inst.error is None:
        for value in inst.readout().values():
            assert value in inst._status.value
    else:
        assert "cannot work" in inst._status.value
        assert html.escape(inst.error) in inst._status.value


# ---------------------------------------------------------------------------------------------
# Kernel explorer
# ---------------------------------------------------------------------------------------------


def test_kernel_explorer_defaults_match_the_source_instrument() -> None:
    ke = kernel_explorer()
    assert ke.readout()["output size"] == "7 × 7"
    assert ke.readout()["weight reuse"] == "49×"
    np.testing.assert_allclose(ke.result.feature_map, _torch_conv(SEVEN, KERNELS_3X3["EDGE"]))
    assert ke.result.dense_weights == 81 * 49
    _assert_shows(ke)


def test_kernel_explorer_every_preset_and_typed_weight() -> None:
    ke = kernel_explorer()
    for name, kernel in KERNELS_3X3.items():
        ke.controls["kernel"].value = name
        assert [w.value for w in ke.weights] == pytest.approx(kernel.ravel().tolist())
        np.testing.assert_allclose(ke.result.feature_map, _torch_conv(SEVEN, kernel))
        _assert_shows(ke)
    ke.controls["kernel"].value = "IDENTITY"
    for i, w in enumerate(ke.weights):  # typing switches to "custom" and is used at once
        w.value = -2.5 + i
        assert ke.controls["kernel"].value == "custom"
        np.testing.assert_allclose(ke.result.feature_map, _torch_conv(SEVEN, ke.kernel))
    assert ke.kernel.ravel().tolist() == [-2.5 + i for i in range(9)]
    with ke.batch():
        for w, v in zip(ke.weights, KERNELS_3X3["SHARPEN"].ravel(), strict=True):
            w.value = float(v)  # typing a preset's weights selects that preset again
    assert ke.controls["kernel"].value == "SHARPEN"
    np.testing.assert_allclose(ke.result.feature_map, _torch_conv(SEVEN, KERNELS_3X3["SHARPEN"]))


def test_kernel_explorer_every_cell_toggles_the_input() -> None:
    ke = kernel_explorer(kernel="SHARPEN")
    with ke.batch():  # redraw once at the end; the numbers are checked after every click
        for r, c in itertools.product(range(9), range(9)):
            ke.cells[r][c].value = not ke.cells[r][c].value
            expected = SEVEN.copy()
            expected[r, c] = 1 - expected[r, c]
            assert ke.image[r, c] == expected[r, c]
            np.testing.assert_allclose(ke.compute().feature_map,
                                       _torch_conv(ke.image, KERNELS_3X3["SHARPEN"]))
            ke.cells[r][c].value = not ke.cells[r][c].value
    np.testing.assert_array_equal(ke.image, SEVEN)
    ke.cells[4][4].value = not ke.cells[4][4].value  # one click, redrawn live
    np.testing.assert_allclose(ke.result.feature_map, _torch_conv(ke.image, ke.kernel))
    _assert_shows(ke)


def test_kernel_explorer_stride_padding_dilation_whole_range() -> None:
    ke = kernel_explorer()
    c = ke.controls
    errors = 0
    with ke.batch():  # all 60 combinations, numbers checked; redrawn once at the end
        for s, p, d in itertools.product(_slider_values(c["stride"]),
                                         _slider_values(c["padding"]),
                                         _slider_values(c["dilation"])):
            c["stride"].value, c["padding"].value, c["dilation"].value = s, p, d
            assert (ke.stride, ke.padding, ke.dilation) == (s, p, d)
            span = 2 * d + 1
            if span > 9 + 2 * p:  # the kernel cannot fit anywhere
                errors += 1
                with pytest.raises(ValueError, match="spans"):
                    ke.compute()
                continue
            r = ke.compute()
            expected = _torch_conv(SEVEN, KERNELS_3X3["EDGE"], stride=s, padding=p, dilation=d)
            np.testing.assert_allclose(r.feature_map, expected)
            n = (9 + 2 * p - span) // s + 1
            assert r.out_size == (n, n) and r.reuse == expected.size == n * n
    assert errors == 3  # dilation 5 without padding, for strides 1, 2, 3
    for name in ("stride", "padding", "dilation"):  # each slider alone, redrawn live
        for v in _slider_values(c[name]):
            c[name].value = v
            n = (9 + 2 * ke.padding - 2 * ke.dilation - 1) // ke.stride + 1
            if ke.error is None:
                assert ke.readout()["output size"] == f"{n} × {n}"
                assert ke.readout()["weight reuse"] == f"{n * n}×"
            _assert_shows(ke)
    c["padding"].value, c["dilation"].value = 0, 5  # impossible: a message, not a traceback
    assert ke.result is None and ke.error is not None and "spans 11 pixels" in ke.error
    _assert_shows(ke)


def test_kernel_explorer_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="kernel must be one of"):
        kernel_explorer(kernel="GAUSS")
    with pytest.raises(ValueError, match="image must be a 2-D array"):
        kernel_explorer(image=np.zeros((40, 40)))


# ---------------------------------------------------------------------------------------------
# Convolution stepper
# ---------------------------------------------------------------------------------------------


def test_conv_stepper_worked_example() -> None:
    cs = conv_stepper()
    r = cs.result
    assert r.total == 6.0 and cs.readout()["sum of products"] == "6"
    np.testing.assert_array_equal(r.window, [[1, 2, 3], [6, 7, 8], [11, 12, 13]])
    np.testing.assert_array_equal(r.products, [[-1, 0, 3], [-6, 0, 8], [-11, 0, 13]])
    np.testing.assert_array_equal(r.output, np.full((3, 3), 6.0))
    assert "(-1×1) + (0×2) + (1×3)" in cs._status.value and "<b>6</b>" in cs._status.value
    assert cs.controls["step"].max == 8 and cs.controls["play"].max == 8


def test_conv_stepper_every_kernel_stride_padding_and_step() -> None:
    cs = conv_stepper()
    c = cs.controls
    image = np.arange(1, 26, dtype=np.float64).reshape(5, 5)
    checked = 0
    with cs.batch():
        for name, s, p in itertools.product(_slider_values(c["kernel"]),
                                            _slider_values(c["stride"]),
                                            _slider_values(c["padding"])):
            c["kernel"].value, c["stride"].value, c["padding"].value = name, s, p
            n = (5 + 2 * p - 3) // s + 1
            assert c["step"].max == c["play"].max == n * n - 1
            expected = _torch_conv(image, cs.kernel, stride=s, padding=p)
            padded = np.pad(image, p)
            for step in range(n * n):
                c["step"].value = step
                r = cs.compute()
                i, j = divmod(step, n)
                assert r.position == (i, j)
                np.testing.assert_array_equal(r.window, padded[i * s:i * s + 3, j * s:j * s + 3])
                np.testing.assert_allclose(r.products, r.window * cs.kernel)
                assert r.total == pytest.approx(expected[i, j])
                np.testing.assert_allclose(r.output, expected)
                checked += 1
    assert checked == 4 * sum(((5 + 2 * p - 3) // s + 1) ** 2 for s in (1, 2, 3) for p in (0, 1, 2))
    for name in ("kernel", "stride", "padding", "step"):  # each control alone, redrawn live
        for v in _slider_values(c[name]):
            c[name].value = v
            assert cs.error is None
            assert cs.readout()["sum of products"] == _instrument._fmt(cs.result.total)
            _assert_shows(cs)


# ---------------------------------------------------------------------------------------------
# Pooling and shifts
# ---------------------------------------------------------------------------------------------


def _shifted(x: np.ndarray, dy: int, dx: int) -> np.ndarray:
    t = torch.zeros(x.shape, dtype=torch.float64)
    t[dy:, dx:] = _t(x)[: x.shape[0] - dy, : x.shape[1] - dx]
    return t.numpy()


def test_pooling_shift_default_absorbs_most_of_a_one_pixel_shift() -> None:
    ps = pooling_shift()
    assert ps.readout()["pooled outputs changed"] == "2 of 16"
    ps.controls["mode"].value = "average"
    assert ps.result.n_changed > 10  # averaging notices almost every move
    ps.controls["shift"].value = 0
    assert ps.result.n_changed == 0


def test_pooling_shift_whole_range_against_torch() -> None:
    ps = pooling_shift()
    c = ps.controls
    windows = {"2×2, stride 2": (2, 2), "3×3, stride 2 (overlapping)": (3, 2),
               "4×4, stride 4": (4, 4)}
    steps = {"right": (0, 1), "down": (1, 0), "diagonal": (1, 1)}
    with ps.batch():
        for shift, direction, window, mode in itertools.product(
                _slider_values(c["shift"]), _slider_values(c["direction"]),
                _slider_values(c["window"]), _slider_values(c["mode"])):
            c["shift"].value, c["direction"].value = shift, direction
            c["window"].value, c["mode"].value = window, mode
            r = ps.compute()
            k, s = windows[str(window)]
            pool = F.max_pool2d if mode == "max" else F.avg_pool2d
            dy, dx = (shift * v for v in steps[str(direction)])
            moved = _shifted(FEATURE_MAP_8X8, dy, dx)
            a = pool(_t(FEATURE_MAP_8X8)[None, None], k, s)[0, 0].numpy()
            b = pool(_t(moved)[None, None], k, s)[0, 0].numpy()
            np.testing.assert_array_equal(r.shifted, moved)
            np.testing.assert_allclose(r.pooled, a)
            np.testing.assert_allclose(r.pooled_shifted, b)
            assert r.n_changed == int((~np.isclose(a, b)).sum())
            if shift == 0:
                assert r.n_changed == 0
    for w in c.values():  # each control alone, redrawn live
        for v in _slider_values(w):
            w.value = v
            assert ps.error is None
            _assert_shows(ps)


# ---------------------------------------------------------------------------------------------
# Feature-map visualizer
# ---------------------------------------------------------------------------------------------


def test_feature_map_visualizer_defaults_reproduce_the_source() -> None:
    fv = feature_map_visualizer()
    assert fv.readout()["final map"] == "14 × 14"
    assert fv.readout()["final channels"] == "512"
    assert [s.out_size for s in fv.result] == [112, 56, 28, 14]
    assert [s.channels for s in fv.result] == [64, 128, 256, 512]
    # the same stack in PyTorch: shapes and parameter counts
    x = torch.zeros(1, 3, 224, 224)
    layers: list[torch.nn.Module] = []
    cin = 3
    for cout in (64, 128, 256, 512):
        layers += [torch.nn.Conv2d(cin, cout, 3, padding=1), torch.nn.MaxPool2d(2)]
        cin = cout
    with torch.no_grad():
        acts = []
        for layer in layers:
            x = layer(x)
            if isinstance(layer, torch.nn.Conv2d):
                acts.append(x.numel())
    assert [s.conv_activations for s in fv.result] == acts
    assert tuple(x.shape) == (1, 512, 14, 14)
    params = [sum(p.numel() for p in m.parameters()) for m in layers[::2]]
    assert [s.params for s in fv.result] == params
    assert fv.readout()["parameters"] == f"{sum(params):,}"
    _assert_shows(fv)


def _expected_stages(size: int, stages: int) -> list[int] | None:
    """Side length after each stage ("same" conv keeps it, the pool floors it), None if a
    stage would have to pool a 1x1 map."""
    sizes = [size]
    while len(sizes) <= stages and sizes[-1] >= 2:
        sizes.append(sizes[-1] // 2)
    return sizes[1:] if len(sizes) > stages else None


def test_feature_map_visualizer_whole_range() -> None:
    fv = feature_map_visualizer()
    c = fv.controls
    impossible = 0
    combos = [dict(zip(("input size", "stages"), v, strict=True)) for v in itertools.product(
        _slider_values(c["input size"]), _slider_values(c["stages"]))]
    combos += [dict(zip(("base channels", "kernel", "input channels", "stages"), v, strict=True))
               for v in itertools.product(_slider_values(c["base channels"]),
                                          _slider_values(c["kernel"]),
                                          _slider_values(c["input channels"]),
                                          _slider_values(c["stages"]))]
    defaults = {"input size": 224, "stages": 4, "base channels": 64, "kernel": 3,
                "input channels": 3}
    with fv.batch():
        for combo in combos:
            values = {**defaults, **combo}
            for name, v in values.items():
                c[name].value = v
            size, stages, base = values["input size"], values["stages"], values["base channels"]
            k, cin = values["kernel"], values["input channels"]
            sizes = _expected_stages(size, stages)
            if sizes is None:
                impossible += 1
                with pytest.raises(ValueError, match="fewer stages or a larger input"):
                    fv.compute()
                continue
            st = fv.compute()
            assert [s.out_size for s in st] == sizes
            chans = [cin] + [base * 2**i for i in range(stages)]
            assert [s.channels for s in st] == chans[1:]
            assert [s.params for s in st] == [(k * k * a + 1) * b
                                              for a, b in itertools.pairwise(chans)]
            assert [s.conv_activations for s in st] == [n * n * ch for n, ch in
                                                        zip([size, *sizes], chans[1:],
                                                            strict=False)]
    assert impossible > 0
    for name, w in c.items():  # each control alone, redrawn live
        for v in _live_values(w):
            w.value = v
            _assert_shows(fv)
        w.value = {"input size": 224, "stages": 4, "base channels": 64, "kernel": 3,
                   "input channels": 3}[name]
    c["input size"].value, c["stages"].value = 16, 8
    assert fv.error is not None and "fewer stages or a larger input" in fv.error
    _assert_shows(fv)


# ---------------------------------------------------------------------------------------------
# Receptive-field calculator
# ---------------------------------------------------------------------------------------------


def _recursion(layers: list[tuple[int, int]]) -> tuple[int, int]:
    """r_l = r_{l-1} + (k - 1) j_{l-1}, j_l = j_{l-1} s: written out independently."""
    r, j = 1, 1
    for k, s in layers:
        r, j = r + (k - 1) * j, j * s
    return r, j


def _measured_rf(spec: list[tuple[str, int]], size: int = 192) -> int:
    """Receptive field measured by back-propagating from the centre unit of a torch stack."""
    mods: list[torch.nn.Module] = []
    for kind, k in spec:
        if kind == "conv":
            conv = torch.nn.Conv2d(1, 1, k, padding=k // 2, bias=False)
            torch.nn.init.constant_(conv.weight, 1.0)
            mods.append(conv)
        else:
            mods.append(torch.nn.AvgPool2d(k))
    x = torch.zeros(1, 1, size, size, requires_grad=True)
    y = torch.nn.Sequential(*mods)(x)
    h = y.shape[-1]
    y[0, 0, h // 2, h // 2].backward()
    assert x.grad is not None
    cols = torch.nonzero(x.grad[0, 0].abs().sum(0))
    return int(cols.max() - cols.min() + 1)


def test_receptive_field_defaults_reproduce_the_source() -> None:
    rf = receptive_field_calculator()
    assert rf.controls["layers"].value == "conv3 pool2 conv3 pool2 conv3"
    assert rf.readout()["receptive field"] == "18 px"
    assert rf.readout()["jump (feature stride)"] == "4"
    assert rf.readout()["total layers"] == "5"
    assert rf.readout()["output size"] == "56 × 56"
    spec = [("conv", 3), ("pool", 2), ("conv", 3), ("pool", 2), ("conv", 3)]
    assert _measured_rf(spec) == 18
    _assert_shows(rf)


def test_receptive_field_counts_whole_range() -> None:
    rf = receptive_field_calculator()
    c = rf.controls
    with rf.batch():
        for convs, pools in itertools.product(_slider_values(c["convs"]),
                                              _slider_values(c["pools"])):
            c["convs"].value, c["pools"].value = convs, pools
            rf._sync()
            spec = c["layers"].value.split()
            assert spec.count("conv3") == convs and spec.count("pool2") == pools
            if not spec:
                with pytest.raises(ValueError, match="empty"):
                    rf.compute()
                continue
            table = rf.compute()
            layers = [(3, 1) if t == "conv3" else (2, 2) for t in spec]
            assert (table.final.rf, table.final.jump) == _recursion(layers)
            assert len(table) == convs + pools
            assert table.final.out_size == 224 // 2**pools
    c["convs"].value, c["pools"].value = 6, 3  # and live, with the figure
    # convs spread over the pools + 1 groups, the extra ones in the later groups (as in VGG)
    assert rf.controls["layers"].value == "conv3 pool2 conv3 pool2 conv3 conv3 pool2 conv3 conv3"
    nine = [(3, 1), (2, 2), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1)]
    assert rf.readout()["receptive field"] == f"{_recursion(nine)[0]} px"
    assert _measured_rf([("conv" if t == "conv3" else "pool", int(t[-1]))
                         for t in rf.controls["layers"].value.split()]) == rf.result.final.rf
    c["convs"].value, c["pools"].value = 0, 0
    assert rf.error is not None and "empty" in rf.error
    _assert_shows(rf)


def test_receptive_field_input_size_photo_and_layer_text() -> None:
    rf = receptive_field_calculator()
    c = rf.controls
    with rf.batch():
        for size in _slider_values(c["input size"]):
            c["input size"].value = size
            table = rf.compute()
            assert [r.out_size for r in table] == [size, size // 2, size // 2, size // 4,
                                                   size // 4]
            assert (table.final.rf, table.final.jump) == (18, 4)
    for size in _live_values(c["input size"]):
        c["input size"].value = size
        assert rf.readout()["output size"] == f"{size // 4} × {size // 4}"
        _assert_shows(rf)
    for photo in _slider_values(c["photo"]):
        c["photo"].value = photo
        _assert_shows(rf)
    c["input size"].value = 224
    c["layers"].value = "conv7s2p3 pool3s2p1 conv3 conv3d2"
    assert (rf.result.final.rf, rf.result.final.jump) == (
        receptive.receptive_field([receptive.conv(7, 2, 3), receptive.pool(3, 2, 1),
                                   receptive.conv(3, 1, 1), receptive.conv(3, 1, 2, 2)]).final.rf,
        4)
    assert rf.result.final.rf == 7 + 2 * 2 + 2 * 4 + 4 * 4
    for bad, message in (("conv3 banana", "cannot read layer 2"), ("", "empty"),
                         ("pool2 " * 6, "use a larger input")):
        c["input size"].value = 32
        c["layers"].value = bad
        assert rf.error is not None and message in rf.error, (bad, rf.error)
        _assert_shows(rf)


def test_parse_layers() -> None:
    layers = parse_layers("c3, p2 -> conv5s2p1 pool3s2 conv3d2")
    assert [(x.kind, x.kernel, x.stride, x.padding, x.dilation) for x in layers] == [
        ("conv", 3, 1, 1, 1), ("pool", 2, 2, 0, 1), ("conv", 5, 2, 1, 1), ("pool", 3, 2, 0, 1),
        ("conv", 3, 1, 2, 2)]
    with pytest.raises(TypeError, match="spec must be a string"):
        parse_layers(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pooling has no dilation"):
        parse_layers("pool2d2")
    with pytest.raises(ValueError, match="at least 1"):
        parse_layers("conv0")


# ---------------------------------------------------------------------------------------------
# Filter designer
# ---------------------------------------------------------------------------------------------


def _filtered(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Reflect-pad and correlate each channel of (H, W, C) with torch."""
    half = kernel.shape[0] // 2
    x = _t(img.transpose(2, 0, 1))[None]
    x = F.pad(x, (half,) * 4, mode="reflect")
    c = x.shape[1]
    w = _t(kernel)[None, None].repeat(c, 1, 1, 1)
    return F.conv2d(x, w, groups=c)[0].numpy().transpose(1, 2, 0)


def test_filter_designer_every_preset_against_torch() -> None:
    fd = filter_designer()
    gray = rgb2gray(fd.image())  # the reference luminance, not the instrument's own numbers
    for name, kernel in FILTER_PRESETS.items():
        fd.controls["preset"].value = name
        assert fd.size == kernel.shape[0]
        np.testing.assert_allclose(fd.result.kernel, kernel)
        np.testing.assert_allclose(fd.result.colour, _filtered(fd.image(), kernel), atol=1e-12)
        np.testing.assert_allclose(fd.result.gray, _filtered(gray[..., None], kernel)[..., 0],
                                   atol=1e-12)
        assert fd.readout()["sum of weights"] == _instrument._fmt(float(kernel.sum()))
        _assert_shows(fd)
    fd.controls["preset"].value = "identity"
    np.testing.assert_allclose(fd.result.colour, fd.image(), atol=1e-12)


def test_filter_designer_weights_size_and_options() -> None:
    fd = filter_designer()
    c = fd.controls
    c["size"].value = "5×5"
    with fd.batch():  # every weight typed in turn; the kernel follows each one
        for i, w in enumerate(fd.weights):
            w.value = float(i % 7) - 3.0
            assert c["preset"].value == "custom"
            assert fd.kernel.ravel()[i] == float(i % 7) - 3.0
    expected = np.array([float(i % 7) - 3.0 for i in range(25)]).reshape(5, 5)
    np.testing.assert_array_equal(fd.kernel, expected)
    np.testing.assert_allclose(fd.result.colour, _filtered(fd.image(), expected), atol=1e-12)
    c["size"].value = "3×3"  # only the centre counts; the outer ring is disabled
    np.testing.assert_array_equal(fd.kernel, expected[1:4, 1:4])
    assert sum(w.disabled for w in fd.weights) == 16
    c["preset"].value = "box blur 3×3"
    for value in (True, False):  # the weights sum to 1 already: dividing changes nothing
        c["normalise"].value = value
        assert fd.result.kernel.sum() == pytest.approx(1.0)
    c["preset"].value = "sharpen"
    c["size"].value = "5×5"
    fd.weights[12].value = 9.0  # centre 9, four -1: the sum is 5
    c["normalise"].value = True
    np.testing.assert_allclose(fd.result.kernel, fd.kernel / 5.0)
    assert fd.result.kernel_sum == pytest.approx(1.0)
    c["normalise"].value = False
    c["preset"].value = "Sobel x (vertical edges)"
    c["normalise"].value = True  # a zero-sum kernel cannot be divided by its sum
    assert fd.error is not None and "sum to 0" in fd.error
    _assert_shows(fd)
    c["normalise"].value = False
    for mode in _slider_values(c["display"]):
        c["display"].value = mode
        shown = fd.to_display(fd.result.gray)
        assert shown.min() >= 0 and shown.max() <= 1
        _assert_shows(fd)
    for photo in _slider_values(c["photo"]):
        c["photo"].value = photo
        assert fd.result.gray.shape == fd.image().shape[:2]
        _assert_shows(fd)


def test_filter_designer_own_photo_and_impossible_sizes() -> None:
    rng = np.random.default_rng(0)
    own = (rng.random((20, 30, 3)) * 255).astype(np.uint8)
    fd = filter_designer(own, preset="Gaussian 5×5")
    assert fd.controls["photo"].value == "your photo"
    np.testing.assert_allclose(fd.result.colour, _filtered(own / 255.0, FILTER_PRESETS[
        "Gaussian 5×5"]), atol=1e-12)
    tiny = filter_designer(np.ones((2, 2)), preset="box blur 5×5")
    assert tiny.error is not None and "too small" in tiny.error
    _assert_shows(tiny)
    with pytest.raises(ValueError, match="photo must be"):
        filter_designer("mona lisa")
    with pytest.raises(ValueError, match="photo must be"):
        filter_designer(np.zeros((4, 4, 2)))
    assert set(PHOTOS) <= set(fd.controls["photo"].options)


# ---------------------------------------------------------------------------------------------
# Display: a live widget in Jupyter, a picture and an invitation in the static book
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [kernel_explorer, conv_stepper, pooling_shift,
                                     feature_map_visualizer, receptive_field_calculator,
                                     filter_designer])
def test_mimebundle_has_widget_png_and_static_html(factory: object) -> None:
    inst = factory()  # type: ignore[operator]
    bundle = inst._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == inst.widget.model_id
    png = base64.b64decode(bundle["image/png"])
    assert png.startswith(b"\x89PNG") and png == inst.png
    page = bundle["text/html"]
    assert 'class="cnnlab-instrument"' in page
    assert f'src="data:image/png;base64,{bundle["image/png"]}"' in page
    assert "rocket button" in page and "Colab or Binder" in page
    assert "http://" not in page and "https://" not in page
    for value in inst.readout().values():
        assert value in page
    assert bundle["text/plain"].startswith(type(inst).__name__)
    assert isinstance(inst.widget, ipywidgets.VBox)


def test_static_view_is_deterministic() -> None:
    a, b = kernel_explorer(), kernel_explorer()
    assert a.static_html() == b.static_html()  # stored notebook outputs do not churn


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

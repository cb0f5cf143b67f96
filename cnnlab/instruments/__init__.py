"""The course's six instruments as anywidget widgets: one JavaScript module each, everywhere.

Each instrument is written once, as an anywidget front-end module (``<name>.mjs`` in this
package, ``export default { render }``, every number computed in JavaScript). The same module
runs in two places:

- in Jupyter, JupyterLab and Colab, as the ``_esm`` of the :class:`anywidget.AnyWidget`
  subclasses below, whose state Python reads and sets (``explorer.kernel``, ``explorer.stride``,
  and the numbers the page computed, such as ``explorer.out_size``);
- in the static book, live without a kernel, through the ``{instrument}`` directive of
  ``book_ext/instruments.py``, which inlines :func:`esm` and the default state from
  :meth:`Instrument.initial_state` into the page.

``compute()`` on each class gives the same numbers from cnnlab's NumPy functions
(:mod:`cnnlab.ops`, :mod:`cnnlab.receptive`): they are the oracle the tests check the
JavaScript against, and a lab can use them to check what a reader chose::

    >>> from cnnlab.instruments import KernelExplorer
    >>> ke = KernelExplorer(kernel="BLUR", padding=1)
    >>> ke.compute()["out_size"]
    (9, 9)

=================  ====================  =================================================
name               class                 what it shows
=================  ====================  =================================================
kernel-explorer    :class:`KernelExplorer`    a 3x3 kernel over a hand-drawn 7 (9x9)
conv-stepper       :class:`ConvStepper`       the window stepping over a 5x5 input
pooling-shift      :class:`PoolingShift`      which pooled outputs a small shift changes
feature-maps       :class:`FeatureMaps`       size down, channels up, stage by stage
receptive-field    :class:`ReceptiveField`    field and jump after every layer
filter-designer    :class:`FilterDesigner`    a 3x3 kernel on a photograph
=================  ====================  =================================================
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import re
import sys
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

import anywidget
import numpy as np
import traitlets

from cnnlab import ops, receptive

__all__ = [
    "NAMES",
    "esm",
    "photo_data_url",
    "Instrument",
    "KernelExplorer",
    "ConvStepper",
    "PoolingShift",
    "FeatureMaps",
    "ReceptiveField",
    "FilterDesigner",
    "instrument_class",
]

#: Instrument name (the root element's ``data-instrument``) -> module file in this package.
NAMES: dict[str, str] = {
    "kernel-explorer": "kernel_explorer.mjs",
    "conv-stepper": "conv_stepper.mjs",
    "pooling-shift": "pooling_shift.mjs",
    "feature-maps": "feature_maps.mjs",
    "receptive-field": "receptive_field.mjs",
    "filter-designer": "filter_designer.mjs",
}

_IMPORT_COMMON = re.compile(r'import\s*\{[^}]*\}\s*from\s*"\./common\.mjs";')


def _read(filename: str) -> str:
    return resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")


@cache
def esm(name: str) -> str:
    """The self-contained ES module of instrument ``name`` (a key of :data:`NAMES`).

    The instrument's file with its one ``import ... from "./common.mjs"`` line replaced by
    ``common.mjs`` itself, so it loads from a string (anywidget's ``_esm``, a Blob URL in the
    static book) with nothing beside it.

    >>> "export default" in esm("kernel-explorer")
    True
    """
    if name not in NAMES:
        raise ValueError(f"instrument must be one of {sorted(NAMES)}, got {name!r}")
    source = _read(NAMES[name])
    if len(_IMPORT_COMMON.findall(source)) != 1:
        raise ValueError(f"{NAMES[name]} must import from ./common.mjs exactly once")
    common = _read("common.mjs")
    return _IMPORT_COMMON.sub(lambda _: common, source)


def photo_data_url(image: np.ndarray) -> str:
    """A photograph as a PNG ``data:`` URL (lossless, so the browser sees the same pixels).

    ``image`` is (H, W) or (H, W, 3), floats in [0, 1] or uint8; it is stored as 8-bit RGB.

    >>> photo_data_url(np.zeros((4, 4))).startswith("data:image/png;base64,")
    True
    """
    return "data:image/png;base64," + base64.b64encode(_png(_rgb8(image))).decode("ascii")


def _image_array(image: Any, name: str = "image") -> np.ndarray:
    """``image`` as float64, refusing what an instrument cannot show: text, complex numbers,
    NaN or infinite values (they would draw as silent garbage in the browser)."""
    arr = np.asarray(image)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer)
                                     or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {int(np.sum(~np.isfinite(arr)))} NaN or "
                         "infinite values")
    return arr


def _rgb8(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.dtype != np.uint8:
        img = _image_array(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    if img.ndim != 3 or img.shape[-1] not in (3, 4) or min(img.shape[:2]) < 3:
        raise ValueError("image must be (H, W), (H, W, 3) or (H, W, 4) with H, W >= 3, "
                         f"got shape {np.asarray(image).shape}")
    img = img[..., :3]
    if img.dtype != np.uint8:
        img = np.clip(np.round(np.asarray(img, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
    return img


def _png(rgb8: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb8, "RGB").save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _decode(url: str) -> np.ndarray:
    """A PNG data URL back to (H, W, 3) float64 in [0, 1] (the pixels the browser decodes)."""
    from PIL import Image

    head, _, data = url.partition(",")
    if head != "data:image/png;base64":
        raise ValueError(f"expected a PNG data URL, got one starting {url[:30]!r}")
    img = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")
    return np.asarray(img, dtype=np.float64) / 255.0


def _enable_colab_widgets() -> None:
    """Colab draws third-party widgets through its custom widget manager: switch it on."""
    if "google.colab" not in sys.modules:
        return
    with contextlib.suppress(Exception):  # pragma: no cover - only runs on Colab
        from google.colab import output

        output.enable_custom_widget_manager()


class Instrument(anywidget.AnyWidget):
    """Base class: an anywidget whose front end is the instrument module :attr:`name`.

    ``inputs`` lists the traits a reader's controls set (and Python may set); the others are
    the numbers the page computed and wrote back (empty until a front end has drawn).
    """

    name = ""
    inputs: tuple[str, ...] = ()

    def __init__(self, **kwargs: Any) -> None:
        _enable_colab_widgets()
        super().__init__(**kwargs)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.inputs
                          if k not in ("image", "feature_map", "photos"))
        return f"{type(self).__name__}({shown})"

    def initial_state(self) -> dict[str, Any]:
        """The input traits as plain JSON values: the state the static book starts from."""
        state = {k: getattr(self, k) for k in self.inputs}
        return json.loads(json.dumps(state))

    def compute(self) -> dict[str, Any]:  # pragma: no cover - abstract
        """The numbers the instrument shows for the current state, from cnnlab's NumPy code."""
        raise NotImplementedError


def _check_range(name: str, value: int, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be in {lo}..{hi}, got {value}")
    return int(value)


def _kernel9(value: Sequence[float] | np.ndarray, name: str = "kernel") -> list[float]:
    k = np.asarray(value, dtype=np.float64)
    if k.shape not in ((9,), (3, 3)) or not np.all(np.isfinite(k)):
        raise ValueError(f"{name} must be 9 finite numbers (or 3x3), got shape {k.shape}")
    return [float(v) for v in k.ravel()]


# ---------------------------------------------------------------------------------------------
# kernel-explorer
# ---------------------------------------------------------------------------------------------

#: The kernel explorer's four presets, (3, 3) each (the same numbers as in the module).
KERNELS: dict[str, np.ndarray] = {
    "EDGE": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], dtype=np.float64),
    "BLUR": np.full((3, 3), 1.0 / 9.0),
    "SHARPEN": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
    "IDENTITY": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64),
}

#: A "7" drawn by hand on a 9x9 grid (1 = ink).
SEVEN: list[list[int]] = [
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
    [0, 1, 1, 1, 1, 1, 1, 1, 0],
    [0, 0, 0, 0, 0, 0, 1, 1, 0],
    [0, 0, 0, 0, 0, 1, 1, 0, 0],
    [0, 0, 0, 0, 1, 1, 0, 0, 0],
    [0, 0, 0, 1, 1, 0, 0, 0, 0],
    [0, 0, 0, 1, 0, 0, 0, 0, 0],
    [0, 0, 1, 1, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
]


class KernelExplorer(Instrument):
    """A 3x3 kernel slid over a hand-drawn 7 on a 9x9 grid; the reader draws and types weights.

    Inputs: ``image`` (9 rows of 9 ints, 1 = ink), ``kernel`` (9 floats, row-major), ``stride``
    (1-3), ``padding`` (0-3), ``dilation`` (1-4). Written back by the page: ``feature_map``
    (rows) and ``out_size`` ([h, w]). :meth:`compute` gives the feature map (H_out, W_out) from
    ``cnnlab.ops.conv2d``.

    >>> KernelExplorer().compute()["reuse"]
    49
    """

    name = "kernel-explorer"
    _esm = esm("kernel-explorer")
    inputs = ("image", "kernel", "stride", "padding", "dilation")
    image = traitlets.List(traitlets.List(traitlets.Int())).tag(sync=True)
    kernel = traitlets.List(traitlets.Float()).tag(sync=True)
    stride = traitlets.Int(1).tag(sync=True)
    padding = traitlets.Int(0).tag(sync=True)
    dilation = traitlets.Int(1).tag(sync=True)
    feature_map: traitlets.List[Any] = traitlets.List().tag(sync=True)
    out_size: traitlets.List[Any] = traitlets.List().tag(sync=True)

    def __init__(self, kernel: str | Sequence[float] = "EDGE", stride: int = 1, padding: int = 0,
                 dilation: int = 1, image: Sequence[Sequence[int]] | np.ndarray | None = None,
                 **kwargs: Any) -> None:
        if isinstance(kernel, str):
            if kernel not in KERNELS:
                raise ValueError(f"kernel must be one of {list(KERNELS)} or 9 weights, "
                                 f"got {kernel!r}")
            weights = _kernel9(KERNELS[kernel])
        else:
            weights = _kernel9(kernel)
        img = _image_array(SEVEN if image is None else image)
        if img.shape != (9, 9):
            raise ValueError(f"image must be 9x9, got shape {img.shape}")
        super().__init__(image=(img > 0.5).astype(int).tolist(), kernel=weights,
                         stride=_check_range("stride", stride, 1, 3),
                         padding=_check_range("padding", padding, 0, 3),
                         dilation=_check_range("dilation", dilation, 1, 4), **kwargs)

    @traitlets.validate("kernel")
    def _valid_kernel(self, proposal: Any) -> list[float]:
        return _kernel9(proposal["value"])

    def compute(self) -> dict[str, Any]:
        """``feature_map`` (H_out, W_out) array, ``out_size``, ``reuse`` and ``dense`` weights."""
        img = np.asarray(self.image, dtype=np.float64)
        k = np.asarray(self.kernel).reshape(3, 3)
        oh = ops.conv_output_size(9, 3, self.stride, self.padding, self.dilation)
        ow = ops.conv_output_size(9, 3, self.stride, self.padding, self.dilation)
        fmap = np.asarray(ops.conv2d(img[None, None], k[None, None], stride=self.stride,
                                     padding=self.padding, dilation=self.dilation))[0, 0]
        return {"feature_map": fmap, "out_size": (oh, ow), "reuse": oh * ow,
                "dense": img.size * oh * ow}


# ---------------------------------------------------------------------------------------------
# conv-stepper
# ---------------------------------------------------------------------------------------------

#: The stepper's kernels, (3, 3) each.
STEPPER_KERNELS: dict[str, np.ndarray] = {
    "vertical edge (columns -1, 0, 1)": np.tile([-1.0, 0.0, 1.0], (3, 1)),
    "horizontal edge (rows -1, 0, 1)": np.tile([-1.0, 0.0, 1.0], (3, 1)).T.copy(),
    "box sum (all ones)": np.ones((3, 3)),
    "identity": KERNELS["IDENTITY"].copy(),
}


class ConvStepper(Instrument):
    """The 3x3 window stepping over a small input, its nine products and their sum.

    Inputs: ``image`` (rows of numbers, 3x3 to 9x9; default 1..25 in a 5x5 grid), ``kernel``
    (a key of :data:`STEPPER_KERNELS`), ``stride`` (1-3), ``padding`` (0-2), ``step`` (the
    output position, row-major). Written back: ``total`` and ``output``. :meth:`compute` uses
    ``cnnlab.ops.im2col`` for the window and ``cnnlab.ops.conv2d`` for the map.

    >>> ConvStepper().compute()["total"]
    6.0
    """

    name = "conv-stepper"
    _esm = esm("conv-stepper")
    inputs = ("image", "kernel", "stride", "padding", "step")
    image = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    kernel = traitlets.Unicode("vertical edge (columns -1, 0, 1)").tag(sync=True)
    stride = traitlets.Int(1).tag(sync=True)
    padding = traitlets.Int(0).tag(sync=True)
    step = traitlets.Int(0).tag(sync=True)
    total = traitlets.Float(0.0).tag(sync=True)
    output: traitlets.List[Any] = traitlets.List().tag(sync=True)

    def __init__(self, kernel: str = "vertical edge (columns -1, 0, 1)", stride: int = 1,
                 padding: int = 0, step: int = 0,
                 image: Sequence[Sequence[float]] | np.ndarray | None = None,
                 **kwargs: Any) -> None:
        img = np.arange(1, 26, dtype=np.float64).reshape(5, 5) if image is None else image
        arr = _image_array(img)
        if arr.ndim != 2 or not (3 <= min(arr.shape) and max(arr.shape) <= 9):
            raise ValueError(f"image must be 2-D, between 3x3 and 9x9, got shape {arr.shape}")
        super().__init__(image=arr.tolist(), kernel=kernel,
                         stride=_check_range("stride", stride, 1, 3),
                         padding=_check_range("padding", padding, 0, 2),
                         step=_check_range("step", step, 0, 80), **kwargs)

    @traitlets.validate("kernel")
    def _valid_kernel(self, proposal: Any) -> str:
        if proposal["value"] not in STEPPER_KERNELS:
            raise ValueError(f"kernel must be one of {list(STEPPER_KERNELS)}, "
                             f"got {proposal['value']!r}")
        return str(proposal["value"])

    def compute(self) -> dict[str, Any]:
        """``window``, ``products`` (3, 3), ``total``, ``output`` (H_out, W_out), ``positions``."""
        x = np.asarray(self.image, dtype=np.float64)[None, None]
        h, w = x.shape[2:]
        oh = ops.conv_output_size(h, 3, self.stride, self.padding)
        ow = ops.conv_output_size(w, 3, self.stride, self.padding)
        step = min(max(self.step, 0), oh * ow - 1)
        cols = np.asarray(ops.im2col(x, 3, stride=self.stride, padding=self.padding))
        window = cols.reshape(9, oh * ow)[:, step].reshape(3, 3)
        k = STEPPER_KERNELS[self.kernel]
        products = window * k
        output = np.asarray(ops.conv2d(x, k[None, None], stride=self.stride,
                                       padding=self.padding))[0, 0]
        return {"window": window, "products": products, "total": float(products.sum()),
                "output": output, "positions": oh * ow, "position": divmod(step, ow)}


# ---------------------------------------------------------------------------------------------
# pooling-shift
# ---------------------------------------------------------------------------------------------

#: An 8x8 feature map whose 2x2 windows peak top-left, but for one 9 in a right-hand column.
FEATURE_MAP_8X8: list[list[float]] = [
    [6, 1, 4, 0, 5, 2, 3, 0],
    [1, 0, 2, 1, 0, 1, 1, 2],
    [3, 0, 0, 9, 7, 1, 2, 0],
    [0, 2, 1, 0, 2, 0, 1, 1],
    [5, 2, 8, 1, 3, 0, 6, 2],
    [1, 0, 2, 0, 1, 2, 0, 1],
    [4, 1, 3, 2, 7, 0, 5, 0],
    [2, 0, 1, 0, 1, 1, 2, 1],
]
POOL_WINDOWS: dict[str, tuple[int, int]] = {
    "2×2, stride 2": (2, 2),
    "3×3, stride 2 (overlapping)": (3, 2),
    "4×4, stride 4": (4, 4),
}
DIRECTIONS: dict[str, tuple[int, int]] = {"right": (0, 1), "down": (1, 0), "diagonal": (1, 1)}


class PoolingShift(Instrument):
    """Shift a feature map by 0-3 pixels, pool it, and mark the pooled outputs that changed.

    Inputs: ``feature_map`` (rows), ``shift`` (0-3), ``direction`` (right, down, diagonal),
    ``window`` (a key of :data:`POOL_WINDOWS`), ``mode`` (max, average). Written back:
    ``pooled``, ``pooled_shifted``, ``n_changed``. :meth:`compute` pools with
    ``cnnlab.ops.max_pool2d`` / ``avg_pool2d``.

    >>> PoolingShift(shift=0).compute()["n_changed"]
    0
    """

    name = "pooling-shift"
    _esm = esm("pooling-shift")
    inputs = ("feature_map", "shift", "direction", "window", "mode")
    feature_map = traitlets.List(traitlets.List(traitlets.Float())).tag(sync=True)
    shift = traitlets.Int(1).tag(sync=True)
    direction = traitlets.Enum(list(DIRECTIONS), "right").tag(sync=True)
    window = traitlets.Enum(list(POOL_WINDOWS), "2×2, stride 2").tag(sync=True)
    mode = traitlets.Enum(["max", "average"], "max").tag(sync=True)
    pooled: traitlets.List[Any] = traitlets.List().tag(sync=True)
    pooled_shifted: traitlets.List[Any] = traitlets.List().tag(sync=True)
    n_changed = traitlets.Int(0).tag(sync=True)

    def __init__(self, shift: int = 1, direction: str = "right", window: str = "2×2, stride 2",
                 mode: str = "max", feature_map: Sequence[Sequence[float]] | None = None,
                 **kwargs: Any) -> None:
        fm = np.asarray(FEATURE_MAP_8X8 if feature_map is None else feature_map, dtype=np.float64)
        if fm.shape != (8, 8):
            raise ValueError(f"feature_map must be 8x8, got shape {fm.shape}")
        super().__init__(feature_map=fm.tolist(), shift=_check_range("shift", shift, 0, 3),
                         direction=direction, window=window, mode=mode, **kwargs)

    def compute(self) -> dict[str, Any]:
        """``shifted`` (8, 8), ``pooled`` and ``pooled_shifted`` (H', W'), ``n_changed``."""
        x = np.asarray(self.feature_map, dtype=np.float64)
        dy, dx = (self.shift * v for v in DIRECTIONS[self.direction])
        shifted = np.zeros_like(x)
        shifted[dy:, dx:] = x[: 8 - dy, : 8 - dx]
        k, s = POOL_WINDOWS[self.window]
        pool = ops.max_pool2d if self.mode == "max" else ops.avg_pool2d
        pooled = np.asarray(pool(x[None, None], k, stride=s))[0, 0]
        after = np.asarray(pool(shifted[None, None], k, stride=s))[0, 0]
        changed = ~np.isclose(pooled, after)
        return {"shifted": shifted, "pooled": pooled, "pooled_shifted": after,
                "changed": changed, "n_changed": int(changed.sum())}


# ---------------------------------------------------------------------------------------------
# feature-maps
# ---------------------------------------------------------------------------------------------


class FeatureMaps(Instrument):
    """Stages of a "same" k x k convolution (channels doubling) and a 2x2 stride-2 pool.

    Inputs: ``input_size`` (16-512, a multiple of 16), ``in_channels`` (1 or 3),
    ``base_channels`` (8, 16, 32, 64, 128), ``stages`` (1-8), ``kernel`` (1, 3, 5, 7).
    Written back: ``rows`` (one dict per stage) and ``memory_mib``. :meth:`compute` uses
    ``cnnlab.ops.conv_output_size`` and ``cnnlab.ops.conv_params``.

    >>> [(r["out_size"], r["channels"]) for r in FeatureMaps().compute()["rows"]]
    [(112, 64), (56, 128), (28, 256), (14, 512)]
    """

    name = "feature-maps"
    _esm = esm("feature-maps")
    inputs = ("input_size", "in_channels", "base_channels", "stages", "kernel")
    input_size = traitlets.Int(224).tag(sync=True)
    in_channels = traitlets.Enum([1, 3], 3).tag(sync=True)
    base_channels = traitlets.Enum([8, 16, 32, 64, 128], 64).tag(sync=True)
    stages = traitlets.Int(4).tag(sync=True)
    kernel = traitlets.Enum([1, 3, 5, 7], 3).tag(sync=True)
    rows: traitlets.List[Any] = traitlets.List().tag(sync=True)
    memory_mib = traitlets.Float(0.0).tag(sync=True)

    def __init__(self, input_size: int = 224, in_channels: int = 3, base_channels: int = 64,
                 stages: int = 4, kernel: int = 3, **kwargs: Any) -> None:
        super().__init__(input_size=_check_range("input_size", input_size, 16, 512),
                         in_channels=in_channels, base_channels=base_channels,
                         stages=_check_range("stages", stages, 1, 8), kernel=kernel, **kwargs)

    def compute(self) -> dict[str, Any]:
        """``rows`` (one dict per stage) and ``memory_mib``; ValueError if a stage cannot pool."""
        size, cin, k = self.input_size, self.in_channels, self.kernel
        rows = []
        for i in range(1, self.stages + 1):
            cout = self.base_channels * 2 ** (i - 1)
            conv = ops.conv_output_size(size, k, 1, k // 2)
            pooled = ops.conv_output_size(conv, 2, 2)  # ValueError when conv < 2
            rows.append({"index": i, "in_size": size, "in_channels": cin, "conv_size": conv,
                         "channels": cout, "out_size": pooled,
                         "conv_activations": conv * conv * cout,
                         "out_activations": pooled * pooled * cout,
                         "params": ops.conv_params(cin, cout, k)})
            size, cin = pooled, cout
        memory = sum(r["conv_activations"] + r["out_activations"] for r in rows) * 4 / 2**20
        return {"rows": rows, "memory_mib": memory}


# ---------------------------------------------------------------------------------------------
# receptive-field
# ---------------------------------------------------------------------------------------------


class ReceptiveField(Instrument):
    """Receptive field and jump after every layer of a stack of convolutions and pools.

    Inputs: ``layers`` (text such as ``"conv3 pool2 conv3d2"``, the grammar of
    ``cnnlab.receptive.parse_layers``), ``convs`` (0-12) and ``pools`` (0-5), whose controls
    write a plain stack into ``layers``, and ``input_size`` (32-512). Written back: ``rows``
    and ``error``. :meth:`compute` uses ``cnnlab.receptive.receptive_field``.

    >>> ReceptiveField().compute()["rows"][-1]["rf"]
    18
    """

    name = "receptive-field"
    _esm = esm("receptive-field")
    inputs = ("layers", "convs", "pools", "input_size")
    layers = traitlets.Unicode("conv3 pool2 conv3 pool2 conv3").tag(sync=True)
    convs = traitlets.Int(3).tag(sync=True)
    pools = traitlets.Int(2).tag(sync=True)
    input_size = traitlets.Int(224).tag(sync=True)
    rows: traitlets.List[Any] = traitlets.List().tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, layers: str = "conv3 pool2 conv3 pool2 conv3", input_size: int = 224,
                 **kwargs: Any) -> None:
        if not isinstance(layers, str):
            raise TypeError(f"layers must be a string, got {type(layers).__name__}")
        parsed = self._parse(layers)
        convs = sum(1 for layer in parsed if layer.kind == "conv")
        pools = sum(1 for layer in parsed if layer.kind == "pool")
        super().__init__(layers=layers, convs=min(convs, 12), pools=min(pools, 5),
                         input_size=_check_range("input_size", input_size, 32, 512), **kwargs)

    @staticmethod
    def _parse(spec: str) -> list[receptive.Layer]:
        return receptive.parse_layers(spec)

    def compute(self) -> dict[str, Any]:
        """``rows``: name, kernel, stride, padding, dilation, out_size, rf, jump, first."""
        table = receptive.receptive_field(self._parse(self.layers), input_size=self.input_size)
        rows = [{"name": r.name, "kernel": r.kernel, "stride": r.stride, "padding": r.padding,
                 "dilation": r.dilation, "out_size": r.out_size, "rf": r.rf, "jump": r.jump,
                 "first": r.first} for r in table]
        return {"rows": rows}


# ---------------------------------------------------------------------------------------------
# filter-designer
# ---------------------------------------------------------------------------------------------

#: The filter designer's presets, 3x3 each.
FILTER_PRESETS: dict[str, np.ndarray] = {
    "Sobel x (vertical edges)": np.outer([1.0, 2.0, 1.0], [-1.0, 0.0, 1.0]),
    "Sobel y (horizontal edges)": np.outer([-1.0, 0.0, 1.0], [1.0, 2.0, 1.0]),
    "horizontal edge (by hand)": np.array([[-1, -1, -1], [0, 0, 0], [1, 1, 1]], dtype=np.float64),
    "vertical edge (by hand)": np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], dtype=np.float64),
    "Laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64),
    "box blur": np.full((3, 3), 1.0 / 9.0),
    "Gaussian": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float64) / 16.0,
    "sharpen": KERNELS["SHARPEN"].copy(),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], dtype=np.float64),
    "identity": KERNELS["IDENTITY"].copy(),
}
_GRAY = np.array([0.2125, 0.7154, 0.0721])


def _sample(name: str, size: int) -> np.ndarray:
    from cnnlab import data

    return np.asarray(data.sample_photo(name, size=size))


class FilterDesigner(Instrument):
    """A 3x3 kernel applied to a photograph in the browser, per colour channel and in gray.

    Inputs: ``kernel`` (9 floats, row-major), ``normalise`` (divide by the sum), ``display``
    (auto, clip to [0, 1], stretch min-max, absolute value), ``photos`` (name -> PNG data URL)
    and ``photo`` (the name shown). ``photos`` may be names of :func:`cnnlab.data.sample_photo`
    (centre square resized to ``size`` px) or arrays. Written back: ``kernel_sum`` and
    ``gray_range``. :meth:`compute` filters with ``cnnlab.ops.conv2d`` after reflect padding.

    >>> fd = FilterDesigner(photos={"flat": np.full((8, 8), 0.5)}, preset="box blur")
    >>> round(float(fd.compute()["gray"].max()), 6)
    0.501961
    """

    name = "filter-designer"
    _esm = esm("filter-designer")
    inputs = ("kernel", "normalise", "display", "photos", "photo")
    kernel = traitlets.List(traitlets.Float()).tag(sync=True)
    normalise = traitlets.Bool(False).tag(sync=True)
    display = traitlets.Enum(["auto", "clip to [0, 1]", "stretch min-max", "absolute value"],
                             "auto").tag(sync=True)
    photos = traitlets.Dict().tag(sync=True)
    photo = traitlets.Unicode().tag(sync=True)
    kernel_sum = traitlets.Float(0.0).tag(sync=True)
    gray_range: traitlets.List[Any] = traitlets.List().tag(sync=True)

    def __init__(self, photos: Sequence[str] | dict[str, np.ndarray] = ("chelsea",),
                 preset: str = "Sobel x (vertical edges)", kernel: Sequence[float] | None = None,
                 size: int = 160, **kwargs: Any) -> None:
        if kernel is None and preset not in FILTER_PRESETS:
            raise ValueError(f"preset must be one of {list(FILTER_PRESETS)}, got {preset!r}")
        weights = _kernel9(FILTER_PRESETS[preset] if kernel is None else kernel)
        if isinstance(photos, str):
            raise TypeError("photos must be a list of names or a dict of arrays, got a string")
        items = photos.items() if isinstance(photos, dict) else ((n, None) for n in photos)
        urls = {str(n): photo_data_url(_sample(n, size) if a is None else a) for n, a in items}
        if not urls:
            raise ValueError("photos must name at least one photograph")
        super().__init__(kernel=weights, photos=urls, photo=next(iter(urls)), **kwargs)

    @traitlets.validate("kernel")
    def _valid_kernel(self, proposal: Any) -> list[float]:
        return _kernel9(proposal["value"])

    @traitlets.validate("photo")
    def _valid_photo(self, proposal: Any) -> str:
        if proposal["value"] not in self.photos:
            raise ValueError(f"photo must be one of {list(self.photos)}, got {proposal['value']!r}")
        return str(proposal["value"])

    def image(self) -> np.ndarray:
        """The photograph shown, (H, W, 3) float64 in [0, 1], as the browser decodes it."""
        return _decode(self.photos[self.photo])

    def compute(self) -> dict[str, Any]:
        """``kernel`` (3, 3) as applied, ``colour`` (H, W, 3), ``gray`` (H, W), ``kernel_sum``."""
        k = np.asarray(self.kernel).reshape(3, 3)
        if self.normalise:
            s = float(k.sum())
            if abs(s) < 1e-12:
                raise ValueError("the weights sum to 0, so they cannot be divided by their sum")
            k = k / s
        img = self.image()
        chw = np.pad(img.transpose(2, 0, 1), ((0, 0), (1, 1), (1, 1)), mode="reflect")
        colour = np.asarray(ops.conv2d(chw[None], np.repeat(k[None, None], 3, axis=0),
                                       groups=3))[0]
        gray = np.pad(img @ _GRAY, 1, mode="reflect")
        g = np.asarray(ops.conv2d(gray[None, None], k[None, None]))[0, 0]
        return {"kernel": k, "colour": colour.transpose(1, 2, 0), "gray": g,
                "kernel_sum": float(k.sum())}


_CLASSES: dict[str, type[Instrument]] = {
    c.name: c for c in (KernelExplorer, ConvStepper, PoolingShift, FeatureMaps, ReceptiveField,
                        FilterDesigner)
}


def instrument_class(name: str) -> type[Instrument]:
    """The widget class of instrument ``name`` (a key of :data:`NAMES`).

    >>> instrument_class("conv-stepper").__name__
    'ConvStepper'
    """
    if name not in _CLASSES:
        raise ValueError(f"instrument must be one of {sorted(_CLASSES)}, got {name!r}")
    return _CLASSES[name]

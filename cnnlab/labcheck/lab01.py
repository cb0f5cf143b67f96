"""Lab 1's checkers: the paper exercise, ``corr2d``, three kernels and an edge detector."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
from torch import Tensor

from cnnlab import ops
from cnnlab.labcheck._core import (
    Verdict,
    _as_numpy,
    _describe,
    _name,
    _Problem,
    _rng,
    _run,
    attempt,
    compare,
)

# ---------------------------------------------------------------------------------------------
# Lab 1: filters by hand (the paper exercise, corr2d, three kernels, an edge detector)
# ---------------------------------------------------------------------------------------------

#: The paper exercise of lab 1: a 5x5 image (brightness 0 to 9) and the kernel slid over it.
PAPER_IMAGE = np.array([[1, 0, 2, 1, 0],
                        [0, 1, 1, 2, 1],
                        [8, 9, 9, 7, 8],
                        [9, 8, 9, 9, 7],
                        [2, 1, 0, 1, 2]], dtype=float)
PAPER_KERNEL = np.array([[-1, -1, -1],
                         [0, 0, 0],
                         [1, 1, 1]], dtype=float)
SOBEL_X = np.outer([1, 2, 1], [-1, 0, 1]).astype(float)

#: The kernel each of lab 1's design tasks starts from (an answer equal to it is not an attempt).
START_KERNELS = {
    "my_vertical": (PAPER_KERNEL, "the paper kernel, which finds horizontal edges"),
    "my_blur": (np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=float),
                "the identity kernel, which copies the image"),
    "my_diagonal": (np.array([[-1, -1, -1], [2, 2, 2], [-1, -1, -1]], dtype=float),
                    "the detector of horizontal lines"),
}


def _test_images(size: int = 16) -> dict[str, np.ndarray]:
    """Synthetic test images of lab 1: steps, thin lines and a flat patch (values 0 to 1)."""
    rows, cols = np.indices((size, size))
    return {
        "vertical step": (cols >= size // 2).astype(float),
        "horizontal step": (rows >= size // 2).astype(float),
        "flat region": np.full((size, size), 0.6),
        "/ line": (rows + cols == size - 1).astype(float),
        "\\ line": (rows == cols).astype(float),
        "horizontal line": (rows == size // 2).astype(float),
        "vertical line": (cols == size // 2).astype(float),
    }


TEST_IMAGES = _test_images()
_NOISE = np.random.default_rng(0).random((64, 64))     # for measuring how much a kernel smooths


def _real(value: Any, label: str) -> float:
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, str):
        raise _Problem(f"{label}: give a number, not a string ({value!r})")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _Problem(f"{label}: give a number, got {_describe(value)}")
    if not math.isfinite(float(value)):
        raise _Problem(f"{label}: {value!r} is not a finite number")
    return float(value)


def _numbers(value: Any, count: int, label: str, example: str) -> list[float]:
    """``value`` as ``count`` finite numbers, or a _Problem saying what came instead."""
    if isinstance(value, str):
        raise _Problem(f"{label}: give {count} numbers, {example}, not a string ({value!r})")
    if not isinstance(value, tuple | list | np.ndarray | Tensor):
        raise _Problem(f"{label}: give {count} numbers, {example}; got {_describe(value)}")
    items = list(value)
    if len(items) != count:
        raise _Problem(f"{label}: give exactly {count} numbers, {example}; got {len(items)}")
    return [_real(v, label) for v in items]


def check_first_two(answer: Any, image: np.ndarray = PAPER_IMAGE,
                    kernel: np.ndarray = PAPER_KERNEL, quiet: bool = False) -> Verdict:
    """Lab 1, Task A: ``(first output, second output)`` of the paper exercise, compared with
    :func:`cnnlab.ops.corr2d`."""

    def body() -> str:
        if answer is None or (isinstance(answer, tuple | list)
                              and all(a is None for a in answer)):
            raise _Problem("my_first_two: not attempted yet; set my_first_two = (first output, "
                           "second output)", attempted=False)
        if isinstance(answer, tuple | list) and any(a is None for a in answer):
            raise _Problem("my_first_two: one of the two numbers is still None")
        first, second = _numbers(answer, 2, "my_first_two", "(first output, second output)")
        full_map = ops.corr2d(image, kernel)
        expected = full_map[0, :2]
        if np.allclose([first, second], expected):
            return f"{first:g} and {second:g}: cnnlab.ops.corr2d agrees"
        if np.allclose([first, second], -expected):
            raise _Problem("right size, wrong sign: the kernel's top row (-1) subtracts the "
                           "pixels under it and its bottom row (+1) adds them")
        if np.isclose(first, image[2, :3].sum()):
            raise _Problem("the first output: you added the pixels under the bottom row, but "
                           "the top row's -1 weights must also subtract the pixels under them")
        if not np.isclose(first, expected[0]):
            raise _Problem("the first output is not right: multiply each of the nine weights "
                           "by the pixel under it (rows 0-2, columns 0-2) and add the nine "
                           "products")
        if np.isclose(second, full_map[1, 0]):
            raise _Problem("the first output is right; for the second you moved the kernel "
                           "down: slide it one column to the right instead (rows 0-2, "
                           "columns 1-3)")
        raise _Problem("the first output is right, the second is not: the kernel now covers "
                       "rows 0-2 and columns 1-3")

    return _run(body, quiet)


def _corr2d_cases(trials: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = _rng(3)
    cases = [(PAPER_IMAGE, PAPER_KERNEL)]
    for t in range(trials):
        square = t < 4                                # square kernels first, odd shapes later
        kh = int(rng.integers(1, 5))
        kw = kh if square else int(rng.integers(1, 5))
        h, w = kh + int(rng.integers(0, 6)), kw + int(rng.integers(0, 6))
        if t % 2:                                     # small integers: exact sums
            cases.append((rng.integers(-5, 6, (h, w)).astype(float),
                          rng.integers(-3, 4, (kh, kw)).astype(float)))
        else:                                         # fractions, as in a photograph
            cases.append((rng.random((h, w)), rng.normal(size=(kh, kw))))
    return cases


def _corr2d_shape_hint(got: tuple[int, ...], expected: tuple[int, ...]) -> str:
    if len(got) != 2:
        return "; the output is a 2-D map"
    (h, w), (eh, ew) = got, expected
    if (h, w) == (eh - 1, ew - 1):
        return "; one row and one column short: there are H - kh + 1 positions, not H - kh"
    if (h, w) == (eh + 1, ew + 1):
        return "; one row and one column too many: the last window must end at the last pixel"
    if (h, w) == (ew, eh):
        return "; rows and columns swapped: H - kh + 1 rows, W - kw + 1 columns"
    return "; the output has H - kh + 1 rows and W - kw + 1 columns"


def check_corr2d(fn: Any, trials: int = 20, quiet: bool = False) -> Verdict:
    """Lab 1, Task B: is ``fn(image, kernel)`` the valid cross-correlation of
    :func:`cnnlab.ops.corr2d`? Tried on the paper exercise and on ``trials`` random images and
    kernels (square and not, whole numbers and fractions)."""

    def body() -> str:
        cases = _corr2d_cases(trials)
        for image, kernel in cases:
            what = "{}x{} image, {}x{} kernel".format(*image.shape, *kernel.shape)
            label = f"{_name(fn)} on a {what}"
            args = (image.copy(), kernel.copy())
            try:
                got = attempt(fn, *args, what=label)
            except _Problem as failed:
                if not failed.attempted:
                    raise _Problem(str(failed).replace(label, _name(fn)), False) from None
                if "IndexError" in str(failed) or "could not be broadcast" in str(failed):
                    raise _Problem(f"{failed}: a window runs past the edge of the image; the "
                                   "last window starts at row H - kh and column W - kw") from None
                raise
            for name, before, after in (("image", image, args[0]), ("kernel", kernel, args[1])):
                if not np.array_equal(before, after):
                    raise _Problem(f"{label}: changed its input {name} in place; the caller's "
                                   "array is shared data, so work on a copy")
            if isinstance(got, list | tuple):
                try:
                    got = np.asarray(got, dtype=float)
                except (TypeError, ValueError):
                    raise _Problem(f"{label}: expected an array, got {_describe(got)}") from None
            expected = ops.corr2d(image, kernel)
            problem = compare(got, expected, label)
            if problem is None:
                continue
            g = _as_numpy(got, label, expected)
            if g.shape != expected.shape and g.dtype.kind in "biuf":
                problem += _corr2d_shape_hint(g.shape, expected.shape)
            elif g.shape == expected.shape and g.dtype.kind == "f":
                if np.allclose(g, ops.corr2d(image, kernel[::-1, ::-1])):
                    problem = (f"{label}: you flipped the kernel; that is convolution in the "
                               "signal-processing sense, while CNNs use the kernel as it is: "
                               "W[u, v] times I[r + u, c + v]")
                elif kernel.shape[0] == kernel.shape[1] and np.allclose(
                        g, ops.corr2d(image, kernel.T)):
                    problem = (f"{label}: rows and columns of the kernel are swapped: W[u, v] "
                               "must multiply I[r + u, c + v], u the row")
                elif g.shape[0] == g.shape[1] and np.allclose(g, expected.T):
                    problem = f"{label}: the output is transposed; write out[r, c], r the row"
            raise _Problem(problem)
        return f"{_name(fn)} matches cnnlab.ops.corr2d on {len(cases)} images and kernels"

    return _run(body, quiet)


def _kernel(kernel: Any, label: str) -> np.ndarray:
    """A design task's kernel as a (3, 3) or (5, 5) float array, or a _Problem."""
    if kernel is None:
        raise _Problem(f"{label}: not attempted yet; give it a 3x3 array of weights",
                       attempted=False)
    if isinstance(kernel, str):
        raise _Problem(f"{label}: give the weights as an array, not a string ({kernel!r})")
    if callable(kernel) and not isinstance(kernel, np.ndarray | Tensor):
        raise _Problem(f"{label}: give an array of weights, got a function")
    if isinstance(kernel, Tensor):
        kernel = kernel.detach().cpu().numpy()
    try:
        k = np.asarray(kernel, dtype=float)
    except (TypeError, ValueError):
        raise _Problem(f"{label}: could not read {_describe(kernel)} as an array of "
                       "numbers") from None
    if k.shape not in ((3, 3), (5, 5)):
        shown = _describe(kernel) if k.ndim < 2 else f"shape {k.shape}"
        raise _Problem(f"{label}: use a 3x3 or 5x5 kernel, got {shown}")
    if not np.all(np.isfinite(k)):
        raise _Problem(f"{label}: every weight must be a finite number (some are NaN or "
                       "infinite)")
    if not np.any(k):
        raise _Problem(f"{label}: the weights are all 0, so nothing comes out")
    start, what = START_KERNELS.get(label, (None, ""))
    if start is not None and k.shape == start.shape and np.array_equal(k, start):
        raise _Problem(f"{label}: not attempted yet; this is the starting kernel ({what}): "
                       "change its weights", attempted=False)
    return k


def _peak(kernel: np.ndarray, name: str, signed: bool = False) -> float:
    response = ops.corr2d(TEST_IMAGES[name], kernel)
    return float(response.max() if signed else np.abs(response).max())


def check_vertical(kernel: Any, quiet: bool = False) -> Verdict:
    """Lab 1, C1: a vertical-edge detector: strong on a vertical step, silent on a horizontal
    step and on a flat region."""

    def body() -> str:
        k = _kernel(kernel, "my_vertical")
        v, h, flat = (_peak(k, n) for n in ("vertical step", "horizontal step", "flat region"))
        if v < 1e-9:
            turned = " It responds to horizontal edges: turn it by 90 degrees." if h > 1e-9 else ""
            raise _Problem(f"no response at all on a vertical step.{turned}")
        if flat > 0.05 * v:
            raise _Problem(f"a flat region gives {flat:.2g} (the edge {v:.2g}): make the "
                           "weights sum to 0 so that constant brightness gives nothing")
        if h > 0.2 * v:
            raise _Problem(f"it also responds to a horizontal step ({h / v:.0%} of the vertical "
                           "response): all the weights in one column should be alike")
        return f"vertical step {v:.2g}, horizontal step {h:.2g}, flat region {flat:.2g}"

    return _run(body, quiet)


def check_blur(kernel: Any, quiet: bool = False) -> Verdict:
    """Lab 1, C2: a blur: keeps flat brightness, smooths noise, softens edges both ways."""

    def body() -> str:
        k = _kernel(kernel, "my_blur")
        total = float(k.sum())
        if abs(total - 1) > 0.02:
            fix = ("they sum to 0, like an edge detector" if abs(total) < 1e-9
                   else "divide every weight by their sum")
            raise _Problem(f"the weights sum to {total:.3g}, so a flat region becomes "
                           f"{total:.3g} times brighter; a blur keeps brightness (weights "
                           f"summing to 1): {fix}")
        ratio = float(ops.corr2d(_NOISE, k).std() / _NOISE.std())
        if ratio > 0.5:
            what = "copies or moves the image" if np.count_nonzero(k) == 1 else (
                "sharpens" if ratio > 1 else "smooths too little")
            raise _Problem(f"random noise keeps {ratio:.0%} of its spread after your kernel: "
                           f"it {what}; a blur averages several neighbours (noise keeps at "
                           "most 50%)")
        for name in ("vertical step", "horizontal step"):
            out = ops.corr2d(TEST_IMAGES[name], k)
            if not np.any((out > 0.05) & (out < 0.95)):
                raise _Problem(f"the {name} stays sharp: a blur mixes neighbours in both "
                               "directions")
        return (f"weights sum to {total:.3g}; noise keeps {ratio:.0%} of its spread; both "
                "edges soften")

    return _run(body, quiet)


def check_diagonal(kernel: Any, quiet: bool = False) -> Verdict:
    """Lab 1, C3: a detector of thin bright lines at 45 degrees, rising to the right ('/')."""

    def body() -> str:
        k = _kernel(kernel, "my_diagonal")
        line = _peak(k, "/ line", signed=True)
        if line <= 1e-9:
            hint = (" It responds to the \\ diagonal: mirror it left to right."
                    if _peak(k, "\\ line", signed=True) > 1e-9 else
                    " Put positive weights on the cells from bottom-left to top-right.")
            raise _Problem(f"no positive response to a bright / line.{hint}")
        flat = _peak(k, "flat region")
        if flat > 0.05 * line:
            raise _Problem(f"a flat region gives {flat:.2g} against {line:.2g} for the line: "
                           "make the weights sum to 0 (negative weights beside the line) so "
                           "that only lines respond")
        others = {name: _peak(k, name) / line
                  for name in ("\\ line", "horizontal line", "vertical line")}
        worst = max(others, key=others.__getitem__)
        if others[worst] > 0.5:
            raise _Problem(f"a {worst} gives {others[worst]:.0%} of the response to the / "
                           "line: the kernel should clearly prefer the / direction (at most "
                           "50%)")
        return (f"/ line {line:.2g}; the other lines at most {others[worst]:.0%} of that; flat "
                f"region {flat:.2g}")

    return _run(body, quiet)


def _correlate(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    return np.asarray(ops.conv2d(img[None, None], np.asarray(kernel, float)[None, None]))[0, 0]


def sobel_magnitude(image: Any) -> np.ndarray:
    """cnnlab's edge map of a grayscale image (H, W): the Sobel gradient magnitude,
    sqrt(Gx**2 + Gy**2), (H - 2, W - 2)."""
    img = np.asarray(image, dtype=float)
    return np.hypot(_correlate(img, SOBEL_X), _correlate(img, SOBEL_X.T))


def _centre_crop(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    top, left = (a.shape[0] - shape[0]) // 2, (a.shape[1] - shape[1]) // 2
    return a[top:top + shape[0], left:left + shape[1]]


def _agreement(mine: np.ndarray, reference: np.ndarray) -> float:
    """Correlation of two edge maps after smoothing both (sigma 1 pixel), allowing a one-pixel
    offset (kernels with an even side are off-centre by half a pixel)."""
    from scipy import ndimage

    shape = tuple(min(a, b) for a, b in zip(mine.shape, reference.shape, strict=True))
    a, b = _centre_crop(mine, shape), _centre_crop(reference, shape)
    b = ndimage.gaussian_filter(b, 1.0)[2:-2, 2:-2]
    best = -1.0
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            moved = ndimage.gaussian_filter(np.roll(a, (dy, dx), axis=(0, 1)), 1.0)[2:-2, 2:-2]
            if moved.std() > 0 and b.std() > 0:
                best = max(best, float(np.corrcoef(moved.ravel(), b.ravel())[0, 1]))
    return best


_EDGE_PHOTOS: dict[str, np.ndarray] = {}


def _edge_photos() -> dict[str, np.ndarray]:
    if not _EDGE_PHOTOS:
        from cnnlab import data

        for name in ("camera", "astronaut"):
            _EDGE_PHOTOS[name] = np.asarray(data.sample_photo(name, gray=True, size=128), float)
    return _EDGE_PHOTOS


def check_edge_map(fn: Any, quiet: bool = False) -> Verdict:
    """Lab 1, Task D: is ``fn(image) -> map`` a gradient-magnitude edge detector? The same
    response to vertical and horizontal edges, 0 on flat regions, a map that scales with the
    contrast (a magnitude, not its square), and one that correlates above 0.9 with the Sobel
    magnitude of two photographs (after smoothing, so other kernels and pre-smoothing pass)."""
    from scipy import ndimage

    def run(img: np.ndarray, name: str) -> np.ndarray:
        arg = img.copy()
        label = f"{_name(fn)} on the {name}"
        try:
            out = attempt(fn, arg, what=label)
        except _Problem as problem:
            if not problem.attempted:
                raise _Problem(str(problem).replace(label, _name(fn)), False) from None
            raise
        if not np.array_equal(arg, img):
            raise _Problem(f"{label}: changed its input image in place; the caller's "
                           "photograph is shared data, so work on a copy")
        if isinstance(out, Tensor):
            out = out.detach().cpu().numpy()
        if isinstance(out, list | tuple):
            try:
                out = np.asarray(out, dtype=float)
            except (TypeError, ValueError):
                raise _Problem(f"{label}: expected a 2-D array, got {_describe(out)}") from None
        if not isinstance(out, np.ndarray):
            raise _Problem(f"{label}: expected a 2-D array, got {_describe(out)}")
        if out.dtype.kind not in "biuf":
            raise _Problem(f"{label}: expected real numbers, got dtype {out.dtype}")
        if out.ndim != 2 or min(out.shape) < img.shape[0] - 8:
            raise _Problem(f"{label}: expected a 2-D map about the image's size {img.shape}, "
                           f"got shape {out.shape}")
        if out.dtype.kind in "biu":
            raise _Problem(f"{label}: the map holds integers (dtype {out.dtype}); edge "
                           "strengths are fractions, so build it from floats")
        if not np.all(np.isfinite(out)):
            hint = (" (dividing by the map's maximum gives 0/0 on a flat image: return the "
                    "magnitude itself)" if name == "flat region" else "")
            raise _Problem(f"{label}: the shape {out.shape} is fine, but "
                           f"{int((~np.isfinite(out)).sum())} values are NaN or infinite{hint}")
        return out.astype(float)

    def body() -> str:
        flat = float(np.abs(run(TEST_IMAGES["flat region"], "flat region")).max())
        steps = {name: float(run(TEST_IMAGES[name] * 0.8 + 0.1, name).max())
                 for name in ("vertical step", "horizontal step")}
        v, h = steps["vertical step"], steps["horizontal step"]
        strongest = max(v, h)
        if strongest <= 1e-9:
            raise _Problem("the map is 0 (or negative) on both a vertical and a horizontal "
                           "edge: take the magnitude, which is never negative")
        if flat > 0.05 * strongest:
            raise _Problem(f"a flat region gives {flat:.2g} (an edge {strongest:.2g}): an edge "
                           "map must be 0 where nothing changes; did you use kernels that sum "
                           "to 0?")
        if min(v, h) < 0.5 * strongest:
            weak = "horizontal" if h < v else "vertical"
            raise _Problem(f"{weak} edges give only {min(v, h) / strongest:.0%} of the "
                           "response to the others: combine a kernel for each direction as in "
                           "the formula")
        half = float(run(TEST_IMAGES["vertical step"] * 0.4 + 0.1, "fainter step").max())
        ratio = half / v
        if abs(ratio - 0.25) < 0.05:
            raise _Problem("at half the contrast your map drops to a quarter: that is "
                           "Gx^2 + Gy^2; take the square root, E = sqrt(Gx^2 + Gy^2)")
        if abs(ratio - 1) < 0.05:
            raise _Problem("at half the contrast your map stays the same: did you divide by "
                           "its maximum? Return the magnitude itself (normalise only to draw "
                           "it)")
        if not 0.4 < ratio < 0.6:
            raise _Problem(f"at half the contrast your map falls to {ratio:.0%} of its value "
                           "(50% expected): a gradient magnitude grows in proportion to the "
                           "change in brightness")
        scores = {}
        for name, img in _edge_photos().items():
            mine = run(img, f"{name} photograph")
            scores[name] = max(_agreement(mine, sobel_magnitude(
                ndimage.gaussian_filter(img, s) if s else img)) for s in (0, 1, 2))
        worst = min(scores, key=scores.__getitem__)
        if scores[worst] < 0.9:
            raise _Problem(f"on the {worst} photograph your map correlates "
                           f"{scores[worst]:.2f} with the Sobel magnitude (0.9 needed): is it "
                           "the magnitude of two perpendicular responses?")
        shown = ", ".join(f"{n} {s:.2f}" for n, s in scores.items())
        return ("same response to vertical and horizontal edges, 0 on flat regions, "
                f"proportional to contrast; correlation with the Sobel magnitude: {shown}")

    return _run(body, quiet)



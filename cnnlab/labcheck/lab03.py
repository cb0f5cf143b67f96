"""Lab 3's checkers: unpooling, a receptive field by hand and an occlusion guess."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnlab import models, ops
from cnnlab.labcheck._core import Verdict, _describe, _name, _Problem, _run, attempt
from cnnlab.labcheck.lab01 import _numbers

# ---------------------------------------------------------------------------------------------
# Lab 3: unpooling, a receptive field by hand, an occlusion guess
# ---------------------------------------------------------------------------------------------


def check_unpool(fn: Any, trials: int = 5, quiet: bool = False) -> Verdict:
    """Lab 3, Task A: ``fn(value, switch, top, left, width) -> (2, 2) block``; the blocks of
    random 6x8 maps (not square) are compared with :func:`cnnlab.ops.max_pool2d_backward`,
    which routes each pooled value to its switch."""

    def body() -> str:
        generator = torch.Generator().manual_seed(1)
        for _ in range(trials):
            x = torch.rand(1, 1, 6, 8, generator=generator)
            pooled, switches = F.max_pool2d(x, 2, return_indices=True)
            expected = ops.max_pool2d_backward(pooled.numpy(), x.numpy(), 2)[0, 0]
            yours = np.zeros((6, 8))
            for r in range(3):
                for c in range(4):
                    args = (float(pooled[0, 0, r, c]), int(switches[0, 0, r, c]), 2 * r, 2 * c, 8)
                    call = (f"{_name(fn)}(value={args[0]:.3f}, switch={args[1]}, top={args[2]}, "
                            f"left={args[3]}, width={args[4]})")
                    try:
                        block = attempt(fn, *args, what=call)
                    except _Problem as problem:
                        if not problem.attempted:
                            raise _Problem(str(problem).replace(call, _name(fn)),
                                           False) from None
                        raise
                    if isinstance(block, Tensor):
                        block = block.detach().cpu().numpy()
                    if isinstance(block, list | tuple):
                        try:
                            block = np.asarray(block, dtype=float)
                        except (TypeError, ValueError):
                            raise _Problem(f"{call}: expected a 2x2 array, got "
                                           f"{_describe(block)}") from None
                    if not isinstance(block, np.ndarray) or block.dtype.kind not in "biuf":
                        raise _Problem(f"{call}: expected a 2x2 array, got {_describe(block)}")
                    if block.shape != (2, 2):
                        raise _Problem(f"{call}: returned shape {block.shape}, not (2, 2)")
                    if block.dtype.kind in "biu":
                        raise _Problem(f"{call}: the block holds integers (dtype "
                                       f"{block.dtype}), so the value {args[0]:.3f} is cut to "
                                       f"{int(args[0])}; start from np.zeros((2, 2)), which "
                                       "holds floats")
                    yours[2 * r:2 * r + 2, 2 * c:2 * c + 2] = block
            if not np.allclose(yours, expected):
                if np.count_nonzero(yours) > np.count_nonzero(expected):
                    raise _Problem("more than one nonzero per window: only the switch gets the "
                                   "value")
                if np.allclose(np.sort(yours[yours != 0]), np.sort(expected[expected != 0])):
                    raise _Problem("the values land in the wrong places: row = switch // "
                                   "width, col = switch % width, then subtract the window's "
                                   "corner")
                raise _Problem("the values differ from the pooled ones: each window gets the "
                               "pooled value, unchanged, at its switch")
        return f"{_name(fn)} matches cnnlab.ops.max_pool2d_backward on {trials} random maps"

    return _run(body, quiet)


def _whole_numbers(value: Any, count: int, label: str, example: str) -> tuple[int, ...]:
    vals = _numbers(value, count, label, example)
    if any(v != int(v) for v in vals):
        raise _Problem(f"{label}: pixel positions are whole numbers, got {tuple(vals)}")
    return tuple(int(v) for v in vals)


def check_box(box: Any, unit: tuple[int, int] = (3, 5), layers: nn.Module | None = None,
              quiet: bool = False) -> Verdict:
    """Lab 3, Task B: the ``(top, left, bottom, right)`` input box (bottom and right exclusive)
    seen by unit ``unit`` of LeNet-5's ``c3`` maps, compared with
    :func:`cnnlab.receptive.input_window`. ``layers`` defaults to LeNet-5's c1, act1, s2, c3."""
    from cnnlab import receptive

    def body() -> str:
        if box is None or (isinstance(box, tuple | list) and all(b is None for b in box)):
            raise _Problem("my_box: not attempted yet; set my_box = (top, left, bottom, right)",
                           attempted=False)
        mine = _whole_numbers(box, 4, "my_box", "(top, left, bottom, right)")
        stack = layers if layers is not None else models.LeNet5("modern").features[:4]
        table = receptive.receptive_field(stack, input_size=32)
        want = tuple(int(v) for v in receptive.input_window(table, unit, 32))
        height, width = want[2] - want[0], want[3] - want[1]
        if mine == want:
            return (f"{want}: unit {tuple(unit)} of c3 sees a {height}x{width} patch "
                    "(cnnlab.receptive agrees)")
        if mine == (want[1], want[0], want[3], want[2]):
            raise _Problem(f"rows and columns are swapped: the unit is at row {unit[0]}, column "
                           f"{unit[1]}, and the box is (top, left, bottom, right), rows first")
        if mine[:2] == want[:2] and mine[2:] == (height, width):
            raise _Problem(f"the last two numbers are the height and width ({height}, {width}); "
                           "give bottom and right instead: bottom = top + height, right = left "
                           "+ width")
        size = (mine[2] - mine[0], mine[3] - mine[1])
        if size[0] <= 0 or size[1] <= 0:
            raise _Problem(f"bottom must be below top and right beyond left; {mine} is an "
                           "empty box")
        if size == (height - 1, width - 1) and mine[:2] == want[:2]:
            raise _Problem("off by one: bottom and right are exclusive (one past the last "
                           "pixel)")
        if size != (height, width):
            raise _Problem(f"your box is {size[0]}x{size[1]}; a c3 unit sees {height}x{width}: "
                           "did you multiply by the jump (2) that the pooling layer "
                           "introduces?")
        raise _Problem("right size, wrong place: neighbouring c3 units are 2 input pixels "
                       "apart, so unit (r, c) starts at input pixel (2r, 2c)")

    return _run(body, quiet)


def check_guess(guess: Any, maps: Any, quiet: bool = False) -> Verdict:
    """Lab 3, Task C: is covering the square centred at ``guess = (row, col)`` among the most
    damaging places of ``maps`` (:func:`cnnlab.inside.occlusion`)? It must remove at least
    half of the largest possible drop in the probability of the right class."""

    def body() -> str:
        if guess is None or (isinstance(guess, tuple | list) and all(g is None for g in guess)):
            raise _Problem("my_guess: not attempted yet; set my_guess = (row, col)",
                           attempted=False)
        row, col = _numbers(guess, 2, "my_guess", "(row, col)")
        half = maps.window / 2
        side = maps.rows[-1] + maps.window
        if not (0 <= row < side and 0 <= col < side):
            raise _Problem(f"my_guess: ({row:g}, {col:g}) lies outside the {side}x{side} image")
        i = int(np.clip(round((row - half) / maps.stride), 0, len(maps.rows) - 1))
        j = int(np.clip(round((col - half) / maps.stride), 0, len(maps.cols) - 1))
        p, base = float(maps.probability[i, j]), float(maps.baseline_probability)
        worst = float(maps.probability.min())
        shown = f"({row:g}, {col:g})"
        if base - p >= 0.5 * (base - worst):
            return (f"covering around {shown} drops p({maps.target}) from {base:.2f} to "
                    f"{p:.2f} (the worst place gives {worst:.2f})")
        raise _Problem(f"covering around {shown} leaves p({maps.target}) at {p:.2f} "
                       f"(unoccluded: {base:.2f}); some places drop it to {worst:.2f}. Look at "
                       "the map below.")

    return _run(body, quiet)



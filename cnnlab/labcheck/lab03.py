"""Lab 3's checkers: unpooling, a receptive field by hand, an occlusion guess and a randomised
copy of a network."""

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




# ---------------------------------------------------------------------------------------------
# Lab 3, Task D: a randomised copy of photonet (for Adebayo et al.'s sanity check)
# ---------------------------------------------------------------------------------------------

_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.LayerNorm)


def _fresh_copy(model: nn.Module, seed: int) -> nn.Module:
    """What PyTorch's own initialisation gives for ``model``'s layers (the checker's yardstick:
    a property of PyTorch, the spread of a new layer, not a pasted answer)."""
    import copy

    fresh = copy.deepcopy(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in fresh.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
            reset_stats = getattr(module, "reset_running_stats", None)
            if callable(reset_stats):
                reset_stats()
    return fresh


def _kind(model: nn.Module, key: str) -> str:
    """"norm" for the tensors of a normalisation layer, "weights" otherwise."""
    owner = key.rsplit(".", 1)[0] if "." in key else ""
    try:
        module = model.get_submodule(owner)
    except AttributeError:
        return "weights"
    return "norm" if isinstance(module, _NORMS) else "weights"


def check_randomized_copy(fn: Any, model: nn.Module | None = None, seeds: tuple[int, int] = (3, 4),
                          quiet: bool = False) -> Verdict:
    """Lab 3, Task D: ``fn(model, seed) -> a new network``, every layer re-initialised as
    PyTorch initialises a new one, drawn from ``seed``, in eval mode, ``model`` unchanged.

    The checker works on copies of ``model`` (default: the trained photonet), so a function
    that changes its argument in place cannot spoil the notebook's network. It checks the
    properties, not a pasted answer: the argument is left as it was; the result is another
    network with the same tensors' names and shapes; no tensor keeps its trained values; weights
    with at least 200 values have the spread of PyTorch's default initialisation of that layer
    (within 20%) and
    normalisation layers its exact start (weight 1, bias 0, running mean 0, variance 1); the
    same seed gives the same network and another seed another one; the copy is in eval mode."""
    import copy

    def body() -> str:
        if model is None:
            from cnnlab.pretrained import pretrained

            trained = pretrained("photonet").model
        elif isinstance(model, nn.Module):
            trained = model
        else:
            raise _Problem(f"the checker needs the trained network, got {_describe(model)}")
        before = {k: v.detach().clone() for k, v in trained.state_dict().items()}
        subject = copy.deepcopy(trained)
        call = f"{_name(fn)}(model, seed={seeds[0]})"
        out = attempt(fn, subject, seeds[0], what=call)
        changed = [k for k, v in subject.state_dict().items()
                   if k in before and not torch.equal(v, before[k])]
        if changed:
            raise _Problem(f"{call} changed the network it was given ({len(changed)} tensors, "
                           f"e.g. {changed[0]}): the trained network must stay as it is, so "
                           "that both can be compared. Copy it first (copy.deepcopy) and "
                           "re-initialise the copy")
        if not isinstance(out, nn.Module):
            raise _Problem(f"{call}: expected a network (an nn.Module), got {_describe(out)}")
        if out is subject:
            raise _Problem(f"{call} returned the network it was given, not a copy: copy it "
                           "first (copy.deepcopy)")
        state = {k: v.detach() for k, v in out.state_dict().items()}
        if set(state) != set(before):
            missing = sorted(set(before) - set(state))
            extra = sorted(set(state) - set(before))
            raise _Problem(f"{call}: the copy does not have the trained network's layers"
                           + (f"; missing {missing[:3]}" if missing else "")
                           + (f"; unexpected {extra[:3]}" if extra else "")
                           + ": copy the network rather than building another one")
        shapes = [k for k in before if tuple(state[k].shape) != tuple(before[k].shape)]
        if shapes:
            k = shapes[0]
            raise _Problem(f"{call}: {k} has shape {tuple(state[k].shape)}, the trained one "
                           f"{tuple(before[k].shape)}: keep the architecture, change the values")
        tensors = [k for k, v in before.items() if v.is_floating_point()]
        kept = [k for k in tensors if torch.equal(state[k], before[k])]
        fresh = _fresh_copy(trained, seeds[0]).state_dict()
        for k in tensors:
            got, want = state[k].double(), fresh[k].double()
            if not bool(torch.isfinite(got).all()):
                raise _Problem(f"{k} holds NaN or infinite values")
            if (k in kept or _kind(trained, k) == "norm" or want.numel() < 200
                    or float(want.std()) == 0):
                continue                 # kept, a norm layer's start, or too few values
            ratio = float(got.std()) / float(want.std())
            if not 0.8 < ratio < 1.25 or abs(float(got.mean())) > 0.2 * float(want.std()) + 1e-6:
                raise _Problem(f"{k} has standard deviation {float(got.std()):.3g} and mean "
                               f"{float(got.mean()):.2g}, where PyTorch's initialisation of a "
                               f"new layer of that shape gives {float(want.std()):.3g} and 0: "
                               "use each layer's reset_parameters(), which knows its layer's "
                               "scale, rather than torch.randn or another rule")
        if kept:
            norms = [k for k in kept if _kind(trained, k) == "norm"]
            if len(norms) == len(kept):
                raise _Problem(f"{len(kept)} BatchNorm tensors keep their trained values (e.g. "
                               f"{kept[0]}): normalisation layers are learned too. A new "
                               "BatchNorm layer starts at weight 1, bias 0, running mean 0 and "
                               "running variance 1; its reset_parameters() puts it there")
            raise _Problem(f"{len(kept)} of {len(tensors)} tensors keep their trained values "
                           f"(e.g. {', '.join(kept[:3])}): every layer must start again, the "
                           "last one included")
        for k in tensors:
            got, want = state[k].double(), fresh[k].double()
            constant = want.numel() < 2 or float(want.std()) == 0
            if (_kind(trained, k) == "norm" or constant) and not torch.allclose(got, want):
                start = "1" if float(want.flatten()[0]) == 1 else "0"
                raise _Problem(f"{k} starts at {float(got.flatten()[0]):.3g} (mean "
                               f"{float(got.mean()):.3g}), where a new layer starts at {start} "
                               "everywhere: use the layer's own reset_parameters() rather than "
                               "drawing the values yourself")
        again = attempt(fn, copy.deepcopy(trained), seeds[0],
                        what=f"{_name(fn)}(model, seed={seeds[0]}), called again")
        if not isinstance(again, nn.Module) or any(
                not torch.equal(v.detach(), state[k]) for k, v in again.state_dict().items()
                if k in state):
            raise _Problem(f"two calls with seed {seeds[0]} gave different networks: seed "
                           "PyTorch's random generator with `seed` before re-initialising, so "
                           "that the seed decides the draw")
        other = attempt(fn, copy.deepcopy(trained), seeds[1],
                        what=f"{_name(fn)}(model, seed={seeds[1]})")
        if isinstance(other, nn.Module) and all(
                torch.equal(v.detach(), state[k]) for k, v in other.state_dict().items()
                if k in state and state[k].is_floating_point()):
            raise _Problem(f"seeds {seeds[0]} and {seeds[1]} gave the same network: the draw "
                           "must depend on `seed`")
        if out.training:
            raise _Problem("the copy is in training mode: return it in evaluation mode "
                           "(.eval()), as the trained network is, so that its BatchNorm layers "
                           "use their running statistics")
        return (f"{_name(fn)} re-initialises all {len(tensors)} tensors at PyTorch's own "
                "scale, leaves the trained network as it was, and the seed decides the draw")

    return _run(body, quiet)

"""Lab 2's checkers: LeNet-5's input, shapes, parameters, training step and schedule."""

from __future__ import annotations

import copy
import math
import numbers
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from cnnlab import models
from cnnlab import train as cnn_train
from cnnlab.labcheck._core import Verdict, _describe, _name, _Problem, _run, attempt
from cnnlab.labcheck.lab04 import _close, _int_answer, _tensor_problem

# ---------------------------------------------------------------------------------------------
# Lab 2: LeNet-5's input, shapes, parameters, training step and schedule
# ---------------------------------------------------------------------------------------------


def check_padding(fn: Any, images: Tensor, expected: Tensor, background: float,
                  quiet: bool = False) -> Verdict:
    """Does ``fn(images)`` turn normalized (N, 1, 28, 28) digits into ``expected``, the
    (N, 1, 32, 32) ones of ``cnnlab.data.load_dataset(..., size=32)``? ``background`` is a
    blank pixel in normalized units."""

    def body() -> str:
        x_in = images.clone()
        out = attempt(fn, x_in, what=_name(fn))
        if not torch.equal(x_in, images):
            raise _Problem(f"{_name(fn)} changed the images it was given in place; return a "
                           "new tensor (F.pad does)")
        if _close(out, expected):
            return (f"{_name(fn)} gives exactly cnnlab.data's 32x32 digits (background "
                    f"{background:.3f} in normalized units)")
        if not isinstance(out, Tensor) or out.shape != expected.shape:
            raise _Problem(_tensor_problem(out, expected, _name(fn)))
        if out.dtype != expected.dtype:
            raise _Problem(_tensor_problem(out, expected, _name(fn)))
        if torch.allclose(out[..., 2:30, 2:30], images, atol=1e-5):
            border = torch.ones(32, 32, dtype=torch.bool)
            border[2:30, 2:30] = False
            if bool(torch.all(out[..., border] == 0)):
                raise _Problem(f"the digit is in place but the border is 0. After normalization "
                               f"a blank pixel is (0 - mean) / std = {background:.3f}, so 0 is "
                               "a gray frame the network never saw in training")
            raise _Problem(f"the digit is in place but the border is not background "
                           f"({background:.3f} after normalization)")
        for top in range(5):
            for left in range(5):
                if torch.allclose(out[..., top:top + 28, left:left + 28], images, atol=1e-5):
                    raise _Problem(f"the digit starts at row {top}, column {left}: put 2 pixels "
                                   "on every side so that it stays centred")
        raise _Problem("the 28x28 digit is not in the output unchanged: pad, do not stretch it")

    return _run(body, quiet)


def _shape_answer(value: Any, name: str) -> tuple[int, ...]:
    if isinstance(value, str):
        raise _Problem(f"{name}: give a tuple of whole numbers such as (6, 28, 28), not a "
                       f"string ({value!r})")
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),)
    if isinstance(value, tuple | list | torch.Size):
        out = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise _Problem(f"{name}: every entry must be a whole number, got "
                               f"{_describe(v)} in {value!r}")
            out.append(int(v))
        return tuple(out)
    raise _Problem(f"{name}: give a tuple such as (6, 28, 28), got {_describe(value)}")


def check_shapes(answer: Any, net: nn.Module, input_shape: tuple[int, ...] = (1, 32, 32),
                 layers: Sequence[str] = ("c1", "s2", "c3", "s4", "c5", "f6", "output"),
                 quiet: bool = False) -> Verdict:
    """Compare a dict ``layer -> output shape`` of one image with a forward pass of ``net``
    (:func:`cnnlab.models.summary`); the layers are named by the last part of their names."""

    def body() -> str:
        if not isinstance(answer, dict):
            raise _Problem(f"my_shapes must be a dict layer -> shape, got {_describe(answer)}")
        rows = models.summary(net, input_shape).rows
        true = {row.name.split(".")[-1]: tuple(row.output_shape) for row in rows}
        sides: dict[str, int] = {}
        previous = input_shape[-1]
        for row in rows:
            key = row.name.split(".")[-1]
            sides[key] = previous
            if len(row.output_shape) == 3:
                previous = row.output_shape[-1]
        for name in layers:
            if answer.get(name) is None:
                tried = any(answer.get(n) is not None for n in layers)
                raise _Problem(f"{name}: no answer yet" if tried else "my_shapes: not "
                               "attempted yet; fill in the seven shapes", attempted=tried)
            mine, want = _shape_answer(answer[name], name), true[name]
            if mine == want:
                continue
            if name == "c5" and mine == (want[0],):
                raise _Problem("c5 is still a convolution: its output is a stack of maps of "
                               "size 1 x 1. Flattening comes afterwards (classifier.flatten)")
            if len(mine) != len(want):
                what = "(channels, height, width)" if len(want) == 3 else "(units,)"
                many = "number" if len(want) == 1 else "numbers"
                batch = (" (without the batch dimension)" if len(mine) == len(want) + 1
                         else "")
                raise _Problem(f"{name}: give {len(want)} {many}, {what}{batch}")
            if len(want) == 3 and mine == (want[1], want[2], want[0]):
                raise _Problem(f"{name}: channels come first in PyTorch: (channels, height, "
                               "width)")
            if name.startswith("c") and mine[0] != want[0]:
                raise _Problem(f"{name}: a convolution outputs one map per filter; count its "
                               "filters in the printout")
            if name.startswith("c") and mine[1] == sides[name]:
                raise _Problem(f"{name}: no padding here, so a 5x5 window fits in fewer places "
                               "than there are pixels: a side of N becomes N - 5 + 1")
            if name.startswith("c") and abs(mine[1] - want[1]) == 1:
                raise _Problem(f"{name}: off by one. A window of k pixels fits N - k + 1 times "
                               "in N pixels")
            if name.startswith("s"):
                raise _Problem(f"{name}: 2x2 windows with stride 2 halve each side and keep "
                               "the channels")
            raise _Problem(f"{name}: {mine} is not what a forward pass gives; check the layer "
                           "before it")
        return ("all seven shapes match a forward pass: "
                + " -> ".join("x".join(map(str, true[n])) for n in layers))

    return _run(body, quiet)


def check_params(answer: Any, layers: dict[str, nn.Module], quiet: bool = False) -> Verdict:
    """Compare a dict ``layer -> parameter count`` with :func:`cnnlab.models.count_params` of
    each module in ``layers``."""

    def body() -> str:
        if not isinstance(answer, dict):
            raise _Problem(f"my_params must be a dict layer -> count, got {_describe(answer)}")
        for name, layer in layers.items():
            mine, true = answer.get(name), models.count_params(layer)
            if mine is None:
                tried = any(answer.get(n) is not None for n in layers)
                raise _Problem(f"{name}: no answer yet" if tried else "my_params: not "
                               "attempted yet; fill in the five counts", attempted=tried)
            mine = _int_answer(mine, name)
            if mine == true:
                continue
            weight = getattr(layer, "weight", None)
            assert isinstance(weight, Tensor)
            n_out, n_in = int(weight.shape[0]), int(weight.shape[1])
            if mine == true - n_out:
                kind = "filter" if name.startswith("c") else "output unit"
                raise _Problem(f"{name}: {mine:,} are the weights only; every {kind} also has "
                               "a bias")
            if name == "c3" and mine == 1_516:
                raise _Problem("c3: 1,516 is the paper's partly connected C3; here each of the "
                               "16 filters reads all 6 input maps")
            if name.startswith("c") and mine in (n_out * (25 + 1), n_out * 25):
                raise _Problem(f"{name}: each filter has a 5x5 window on every one of its "
                               f"{n_in} input maps")
            if mine == n_in * (n_out + 1):
                raise _Problem(f"{name}: one bias per output unit, not per input")
            raise _Problem(f"{name}: {mine:,} is not cnnlab.models.count_params of this layer")
        total = sum(models.count_params(m) for m in layers.values())
        return f"all {len(layers)} match count_params; they add up to {total:,}"

    return _run(body, quiet)


def _lenet_twins(seed: int = 0) -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(seed)
    net = models.LeNet5("modern")
    return net, copy.deepcopy(net)


def check_train_step(fn: Any, images: Tensor, labels: Tensor, steps: int = 4,
                     quiet: bool = False) -> Verdict:
    """Run ``fn(model, optimizer, loss_fn, images, labels)`` and :func:`cnnlab.train.fit` step
    by step on twin LeNet-5s with SGD; compare every parameter after every step."""

    def body() -> str:
        ref_net, your_net = _lenet_twins()
        ref_opt = torch.optim.SGD(ref_net.parameters(), lr=0.05)
        your_opt = torch.optim.SGD(your_net.parameters(), lr=0.05)
        loss_fn = nn.CrossEntropyLoss()
        x, y = images[:64], labels[:64]
        losses = []
        for step in range(1, steps + 1):
            before = [p.detach().clone() for p in your_net.parameters()]
            value = attempt(fn, your_net, your_opt, loss_fn, x, y, what=_name(fn))
            ref_loss = cnn_train.fit(ref_net, [(x, y)], epochs=1, optimizer=ref_opt,
                                     loss_fn=loss_fn, device="cpu",
                                     progress=False)["train_loss"][0]
            if isinstance(value, Tensor):
                raise _Problem("return the loss as a Python float (loss.item()), not a tensor: "
                               "a tensor keeps the whole graph alive")
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise _Problem(f"return the loss as a Python float, got {_describe(value)}")
            moved = any(not torch.equal(b, p)
                        for b, p in zip(before, your_net.parameters(), strict=True))
            if not moved:
                if all(p.grad is None or not p.grad.any() for p in your_net.parameters()):
                    raise _Problem(f"step {step}: no parameter moved and no gradient is left. "
                                   "Call loss.backward(), then optimizer.step(); zero_grad() "
                                   "belongs before backward(), not between backward() and "
                                   "step()")
                raise _Problem(f"step {step}: the gradients are there but no parameter moved: "
                               "call optimizer.step()")
            pairs = zip(your_net.parameters(), ref_net.parameters(), strict=True)
            if not all(torch.allclose(p, q, rtol=1e-5, atol=1e-7) for p, q in pairs):
                if step > 1:
                    raise _Problem(f"step 1 was right, step {step} is not: the gradients of the "
                                   "previous steps were still there and got added to the new "
                                   "ones. Call optimizer.zero_grad() in every step")
                raise _Problem("the parameters moved, but not by one step on this batch's "
                               "loss: compute loss_fn(model(images), labels), call backward() "
                               "once and step() once")
            if not math.isclose(float(value), ref_loss, rel_tol=1e-5):
                raise _Problem(f"the parameters are right, but you returned {float(value):.4f} "
                               f"instead of the batch's loss before the step, {ref_loss:.4f}")
            losses.append(float(value))
        if not losses[-1] < losses[0]:
            raise _Problem(f"the loss did not go down: {losses}")
        return (f"{steps} steps agree with cnnlab.train.fit parameter for parameter; the loss "
                f"on this batch went {' -> '.join(f'{v:.3f}' for v in losses)}")

    return _run(body, quiet)


def fit_with_schedule(model: nn.Module, batches: Any, epochs: int, lr: float,
                      progress: bool = True) -> list[float]:
    """cnnlab's version of lab 2's Task E: :func:`cnnlab.train.fit` with SGD (momentum 0.9)
    at ``lr`` and ``StepLR(step_size=2, gamma=0.5)``; returns the rate of each epoch."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    rates = [lr]  # fit's callbacks run after the scheduler's step: they see the next rate
    cnn_train.fit(model, batches, epochs=epochs, optimizer=optimizer, scheduler=schedule,
                  callbacks=[lambda e, h, m: rates.append(optimizer.param_groups[0]["lr"])],
                  progress=progress)
    return rates[:epochs]


def check_schedule(fn: Any, images: Tensor, labels: Tensor, quiet: bool = False) -> Verdict:
    """Does ``fn(model, batches, epochs, lr)`` train with SGD (momentum 0.9) at ``lr``, halving
    the rate after every 2 epochs, and return the rate of each epoch? Compared, parameter for
    parameter, with :func:`cnnlab.train.fit` given the same optimiser and a ``StepLR``."""

    def reference(kind: Any, per_batch: bool, epochs: int,
                  lr: float, batches: list[tuple[Tensor, Tensor]],
                  step_size: int = 2) -> nn.Module:
        net = _lenet_twins()[0]
        opt = (kind(net.parameters(), lr=lr, momentum=0.9) if kind is torch.optim.SGD
               else kind(net.parameters(), lr=lr))
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=step_size, gamma=0.5)
        cnn_train.fit(net, batches, epochs=epochs, optimizer=opt, scheduler=sched,
                      scheduler_step="batch" if per_batch else "epoch", device="cpu",
                      progress=False)
        return net

    def same(a: nn.Module, b: nn.Module) -> bool:
        return all(torch.allclose(p, q, rtol=1e-4, atol=1e-6)
                   for p, q in zip(a.parameters(), b.parameters(), strict=True))

    def body() -> str:
        batches = [(images[i:i + 16], labels[i:i + 16]) for i in (0, 16, 32)]
        epochs, lr = 5, 0.02
        net = _lenet_twins()[0]
        rates = attempt(fn, net, batches, epochs, lr, what=_name(fn))
        want = [lr * 0.5 ** (e // 2) for e in range(epochs)]
        expected = reference(torch.optim.SGD, False, epochs, lr, batches)
        if not isinstance(rates, list | tuple) or len(rates) != epochs or not all(
                isinstance(r, numbers.Real) and not isinstance(r, bool) for r in rates):
            raise _Problem(f"return the list of the {epochs} learning rates, one per epoch "
                           f"(e.g. {want[:3]}...), got {_describe(rates)}")
        if same(net, expected):
            if not all(math.isclose(float(r), w, rel_tol=1e-6) for r, w in zip(rates, want,
                                                                             strict=True)):
                raise _Problem(f"the training is right but the rates you return, "
                               f"{[float(r) for r in rates]}, are not the ones used, {want}: "
                               "read optimizer.param_groups[0]['lr'] at the start of each epoch")
            return (f"{_name(fn)} trains exactly like cnnlab.train.fit with SGD and StepLR; "
                    f"rates {', '.join(f'{r:g}' for r in want)}")
        if same(net, _lenet_twins()[0]):
            raise _Problem("no parameter moved: call your train_step on every batch")
        if same(net, reference(torch.optim.SGD, True, epochs, lr, batches)):
            raise _Problem("the rate halves every 2 *batches*: call scheduler.step() once per "
                           "epoch, after the epoch's batches, not after every batch")
        if same(net, reference(torch.optim.SGD, False, epochs, lr, batches, step_size=10)):
            raise _Problem("the rate never changes: call scheduler.step() at the end of every "
                           "epoch")
        for kind in (torch.optim.Adam, torch.optim.AdamW):
            if same(net, reference(kind, False, epochs, lr, batches)):
                raise _Problem(f"you used {kind.__name__}; the task asks for "
                               "torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)")
        first = [float(r) for r in rates]
        if first == want:
            raise _Problem("the rates are right, but the parameters differ from fit's with "
                           "SGD (momentum 0.9): check the optimiser and that every batch of "
                           "every epoch is used once, in order")
        raise _Problem(f"the parameters differ from cnnlab.train.fit's with SGD (momentum 0.9) "
                       f"and StepLR(step_size=2, gamma=0.5); your rates were {first}, the "
                       f"schedule's are {want}")

    return _run(body, quiet)



"""Lab 6's checkers (adversarial examples and distribution shift) and cnnlab's own versions."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnnlab.labcheck._core import Verdict, _describe, _name, _Problem, _run, attempt
from cnnlab.labcheck.lab04 import _close, _tensor_problem

# ---------------------------------------------------------------------------------------------
# Lab 6: adversarial examples and distribution shift
# ---------------------------------------------------------------------------------------------


def fgsm(model: nn.Module, x: Tensor, y: Tensor, eps: float) -> Tensor:
    """cnnlab's fast gradient sign method: ``clip(x + eps * sign(grad_x CE(model(x), y)), 0, 1)``.

    Shapes: ``x`` (N, C, H, W) in [0, 1], ``y`` (N,); returns a detached tensor like ``x``,
    which is left unchanged. The lab's checker compares the learner's version with it.

    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> fgsm(net, torch.zeros(1, 1, 2, 2), torch.tensor([0]), 0.1).shape
    torch.Size([1, 1, 2, 2])
    """
    x = x.detach().clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(F.cross_entropy(model(x), y), x)
    return (x + eps * gradient.sign()).clamp(0, 1).detach()


def smallest_flip(model: nn.Module, image: Tensor, label: Tensor, grid: Sequence[float],
                  attack: Callable[..., Tensor] = fgsm) -> float | None:
    """The first ``eps`` in ``grid`` at which ``attack`` changes ``model``'s prediction for one
    ``image`` (1, C, H, W) with ``label`` (1,); ``None`` if none does."""
    for eps in grid:
        attacked = attack(model, image, label, eps)   # needs gradients: outside no_grad
        with torch.no_grad():
            guess = int(model(attacked).argmax(1)[0])
        if guess != int(label[0]):
            return eps
    return None


def check_fgsm(fn: Any, model: nn.Module, x: Tensor, y: Tensor, quiet: bool = False) -> Verdict:
    """Compare ``fn(model, x, y, eps)`` with :func:`fgsm` at three values of eps."""

    def body() -> str:
        for eps in (0.1, 0.25, 0.0):
            x_in = x.clone()
            label = f"fgsm(model, x, y, eps={eps})"
            out = attempt(fn, model, x_in, y.clone(), eps, what=label)
            if not torch.equal(x_in, x):
                raise _Problem(f"{label} changed the images it was given: work on a copy "
                               "(x.clone().requires_grad_(True))")
            if isinstance(out, Tensor) and out.requires_grad:
                raise _Problem(f"{label}: the result is still attached to the computation graph "
                               "(it has a grad_fn): return it .detach()ed")
            expected = fgsm(model, x, y, eps)
            if _close(out, expected):
                continue
            if (not isinstance(out, Tensor) or out.shape != expected.shape
                    or out.dtype != expected.dtype):
                raise _Problem(_tensor_problem(out, expected, label))
            step = float((out - x).abs().max())
            if _close(out, fgsm(model, x, y, -eps)):
                hint = ("the step goes the wrong way: it lowers the loss and makes the network "
                        "more sure of the right answer; add eps times the sign of the gradient")
            elif float(out.min()) < 0 or float(out.max()) > 1:
                hint = (f"pixels leave [0, 1] (from {float(out.min()):.2f} to "
                        f"{float(out.max()):.2f}): clip the result with .clamp(0, 1)")
            elif eps > 0 and step < 0.5 * eps:
                hint = (f"pixels move by at most {step:.2g}, not eps = {eps}: did you forget "
                        "sign()? The raw gradient is tiny; its sign moves every pixel by eps")
            else:
                hint = (f"your images differ from cnnlab's FGSM by up to "
                        f"{float((out - expected).abs().max()):.2g}: check the loss (the "
                        "cross-entropy with the true labels y) and the gradient")
            raise _Problem(f"{label}: the shape is right, but {hint}")
        return f"{_name(fn)} matches cnnlab's FGSM on {len(x)} digits at eps = 0.1, 0.25 and 0"

    return _run(body, quiet)


def check_smallest_flip(fn: Any, model: nn.Module, images: Tensor, labels: Tensor,
                        grid: Sequence[float], quiet: bool = False) -> Verdict:
    """Compare ``fn(model, image, label, grid)`` with :func:`smallest_flip` on each image."""

    def body() -> str:
        for i in range(len(images)):
            image, label = images[i:i + 1], labels[i:i + 1]
            expected = smallest_flip(model, image, label, grid)
            where = f"image {i} (a {int(label[0])})"
            got = attempt(fn, model, image.clone(), label.clone(), list(grid),
                          what=f"smallest_flip on {where}") if expected is not None else \
                _none_ok(fn, model, image, label, grid, where)
            if got == expected:
                continue
            if got is None:
                raise _Problem(f"{where}: you found no eps, but {expected} in the grid changes "
                               "the prediction")
            if isinstance(got, str) or not isinstance(got, numbers.Real):
                raise _Problem(f"{where}: expected an eps from the grid (a float) or None, got "
                               f"{_describe(got)}")
            if expected is None:
                raise _Problem(f"{where}: no eps in the grid changes the prediction, you say {got}")
            if got not in grid:
                raise _Problem(f"{where}: {got} is not one of the values in grid")
            if got < expected:
                raise _Problem(f"{where}: at eps = {got} the model still reads a "
                               f"{int(label[0])}; return the first eps at which the prediction "
                               "changes")
            raise _Problem(f"{where}: eps = {got} changes the prediction, but a smaller value in "
                           "the grid already does; stop at the first one")
        return f"{_name(fn)} finds the same smallest eps as cnnlab on {len(images)} digits"

    return _run(body, quiet)


def _none_ok(fn: Any, model: nn.Module, image: Tensor, label: Tensor, grid: Sequence[float],
             where: str) -> Any:
    """Call fn where None is a right answer (no eps flips): only a stub's error is 'not tried'."""
    try:
        return fn(model, image.clone(), label.clone(), list(grid))
    except NotImplementedError:
        raise _Problem("smallest_flip: not attempted yet (the body still raises "
                       "NotImplementedError)", attempted=False) from None
    except Exception as err:
        raise _Problem(f"smallest_flip on {where} raised {type(err).__name__}: {err}") from None


def check_contrast(fn: Any, x: Tensor, quiet: bool = False) -> Verdict:
    """Compare ``fn(x, factor)`` with torchvision's ``adjust_contrast`` at four factors, on a
    batch of one-channel images ``x`` (N, 1, H, W) in [0, 1] that it must leave unchanged."""
    import torchvision.transforms.functional as TF

    def body() -> str:
        for factor in (0.5, 0.1, 1.0, 1.8):
            x_in = x.clone()
            label = f"contrast(x, {factor})"
            try:
                out = attempt(fn, x_in, factor, what=label)
            except _Problem as problem:
                if "must match the size" in str(problem) or "broadcast" in str(problem):
                    raise _Problem(f"{problem}. The mean of each image must keep its "
                                   "dimensions to broadcast: x.mean(dim=(1, 2, 3), "
                                   "keepdim=True)") from None
                raise
            if not torch.equal(x_in, x):
                raise _Problem(f"{label} changed the images it was given in place (mul_, add_, "
                               "clamp_ or an assignment into x): the lab calls it on the shared "
                               "test batch, which every later measurement reads; return a new "
                               "tensor")
            expected = TF.adjust_contrast(x, factor)
            if _close(out, expected):
                continue
            if (not isinstance(out, Tensor) or out.shape != expected.shape
                    or out.dtype != expected.dtype):
                raise _Problem(_tensor_problem(out, expected, label))
            whole = (factor * x + (1 - factor) * x.mean()).clamp(0, 1)
            per_pixel = (factor * x + (1 - factor) * x.mean(0, keepdim=True)).clamp(0, 1)
            median = x.flatten(1).median(dim=1).values.view(-1, 1, 1, 1)
            if float(out.min()) < -1e-6 or float(out.max()) > 1 + 1e-6:
                hint = "pixels leave [0, 1]: clip the result"
            elif _close(out, whole):
                hint = ("you used one mean for the whole batch; each image is pulled towards "
                        "its own mean: x.mean(dim=(1, 2, 3), keepdim=True)")
            elif _close(out, per_pixel):
                hint = ("you averaged over the batch at each pixel (dim 0); average over each "
                        "image's pixels instead: dim=(1, 2, 3)")
            elif _close(out, (factor * x + (1 - factor) * median).clamp(0, 1)):
                hint = ("you pulled each image towards its median (0 for a digit on black); the "
                        "formula uses its mean")
            elif _close(out, (factor * x).clamp(0, 1)):
                hint = ("multiplying by the factor only darkens the image; pull it towards its "
                        "mean with (1 - factor) * mean")
            else:
                hint = (f"your images differ from adjust_contrast by up to "
                        f"{float((out - expected).abs().max()):.2g}")
            raise _Problem(f"{label}: the shape is right, but {hint}")
        return (f"{_name(fn)} matches torchvision's adjust_contrast at factors 0.5, 0.1, 1 and "
                "1.8, and leaves its input alone")

    return _run(body, quiet)



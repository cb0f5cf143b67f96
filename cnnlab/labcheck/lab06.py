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


def pgd(model: nn.Module, x: Tensor, y: Tensor, eps: float, alpha: float, steps: int
        ) -> Tensor:
    """cnnlab's projected gradient descent (iterative FGSM, started at ``x`` itself).

    ``steps`` times: one :func:`fgsm` step of size ``alpha`` from the current image, then back
    into the box: every value within ``eps`` of ``x`` and within [0, 1]. Shapes: ``x``
    (N, C, H, W) in [0, 1], ``y`` (N,); returns a detached tensor like ``x``, which is left
    unchanged. The lab's checker compares the learner's version with it.

    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> x = torch.full((1, 1, 2, 2), 0.5)
    >>> float((pgd(net, x, torch.tensor([0]), 0.1, 0.04, 5) - x).abs().max()) <= 0.1 + 1e-7
    True
    """
    x = x.detach()
    attacked = x.clone()
    for _ in range(steps):
        attacked = fgsm(model, attacked, y, alpha)
        attacked = torch.maximum(torch.minimum(attacked, x + eps), x - eps).clamp(0, 1)
    return attacked


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




def _pgd_context() -> tuple[nn.Module, Tensor, Tensor]:
    """A small fixed conv net and six colour images with saturated pixels (for the tests and
    for a checker called without the lab's model)."""
    with torch.random.fork_rng(devices=[]):     # the caller's random state stays as it was
        torch.manual_seed(6)
        net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2),
                            nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 5)).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    gen = torch.Generator().manual_seed(6)
    x = torch.rand(6, 3, 12, 12, generator=gen)
    x[:, :, :2] = 0.0                            # black and white rows: the clip must act
    x[:, :, -2:] = 1.0
    return net, x, torch.arange(6) % 5


def _agrees(got: Any, expected: Tensor) -> bool:
    """Equal up to float noise: a gradient entry near zero may take the other sign in another
    (equivalent) computation, and the iterations carry that difference on to a few values."""
    if not (isinstance(got, Tensor) and got.shape == expected.shape
            and got.dtype == expected.dtype):
        return False
    if bool(torch.allclose(got, expected, atol=1e-5)):
        return True
    return float(((got - expected).abs() > 1e-5).float().mean()) < 0.005


def check_pgd(fn: Any, model: nn.Module | None = None, x: Tensor | None = None,
              y: Tensor | None = None, quiet: bool = False) -> Verdict:
    """Compare ``fn(model, x, y, eps, alpha, steps)`` with :func:`pgd` at three settings (and
    on a copy of ``x`` with black and white rows, where the clip to [0, 1] acts).

    Without ``model``, ``x`` and ``y`` it uses a small fixed network and images of its own.
    """
    if model is None or x is None or y is None:
        model, x, y = _pgd_context()
    edged = x.clone()
    edged[..., :2, :] = 0.0
    edged[..., -2:, :] = 1.0
    cases = ((edged, 2 / 255, 0.5 / 255, 10), (x, 4 / 255, 1.5 / 255, 4),
             (x, 2 / 255, 2 / 255, 1))

    def body() -> str:
        for images, eps, alpha, steps in cases:
            x_in = images.clone()
            levels = f"eps = {eps * 255:g}/255, alpha = {alpha * 255:g}/255, steps = {steps}"
            label = f"pgd(model, x, y, {levels})"
            out = attempt(fn, model, x_in, y.clone(), eps, alpha, steps, what=label)
            if not torch.equal(x_in, images):
                raise _Problem(f"{label} changed the images it was given: keep x as it is (the "
                               "box is measured around it) and work on a copy")
            if isinstance(out, Tensor) and out.requires_grad:
                raise _Problem(f"{label}: the result is still attached to the computation graph "
                               "(it has a grad_fn): return it .detach()ed")
            expected = pgd(model, images, y, eps, alpha, steps)
            if _agrees(out, expected):
                continue
            if (not isinstance(out, Tensor) or out.shape != expected.shape
                    or out.dtype != expected.dtype):
                raise _Problem(_tensor_problem(out, expected, label))
            if not bool(torch.isfinite(out).all()):
                raise _Problem(f"{label}: the result holds NaN or infinite values")
            moved = float((out - images).abs().max())
            if float(out.min()) < -1e-6 or float(out.max()) > 1 + 1e-6:
                hint = (f"pixels leave [0, 1] (from {float(out.min()):.3f} to "
                        f"{float(out.max()):.3f}): after the projection, clip with .clamp(0, 1)")
            elif moved > eps + 1e-6:
                hint = (f"pixels move by up to {moved * 255:.2f}/255, more than the budget eps = "
                        f"{eps * 255:g}/255: after every step, pull the image back into the box "
                        "around the original x (not around the previous step): "
                        "x + (x_adv - x).clamp(-eps, eps)")
            elif _agrees(out, pgd(model, images, y, eps, -alpha, steps)):
                hint = ("the steps go the wrong way: they lower the loss and make the network "
                        "more sure of the right answer; step along + the sign of the gradient")
            elif steps > 1 and _agrees(out, fgsm(model, images, y, eps)):
                hint = ("this is one FGSM step of size eps. Take `steps` steps of size alpha, "
                        "and measure the gradient again at each new x_adv")
            elif steps > 1 and _agrees(out, fgsm(model, images, y, alpha)):
                hint = ("only the first step was taken (is the return inside the loop, or does "
                        "every step start again from x?)")
            elif any(_agrees(out, pgd(model, images, y, eps, alpha, s))
                     for s in (steps - 1, steps + 1) if s >= 1):
                hint = f"the number of steps is off by one: take exactly steps = {steps}"
            else:
                share = float(((out - expected).abs() > 1e-5).float().mean())
                hint = (f"your images differ from cnnlab's PGD by up to "
                        f"{float((out - expected).abs().max()) * 255:.2f}/255 at {share:.1%} of "
                        "the values. Start at x itself (no random start); at each step move by "
                        "alpha times the sign of the gradient of the cross-entropy with the true "
                        "labels y at the current x_adv, then project")
            raise _Problem(f"{label}: the shape is right, but {hint}")
        return (f"{_name(fn)} matches cnnlab's PGD on {len(x)} images at three settings "
                "(10 steps, 4 steps, 1 step), stays in the box and in [0, 1]")

    return _run(body, quiet)

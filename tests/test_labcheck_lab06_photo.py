"""Lab 6's photograph part: cnnlab's `pgd` keeps its promises, the reference solution and
equivalent answers pass `check_pgd`, and each typical mistake fails with a message that names it."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from labcheck_support import fails, load_solution  # noqa: E402

from cnnlab import labcheck as L
from cnnlab.labcheck.lab06 import _pgd_context

S6 = load_solution("lab06")

NET, X, Y = _pgd_context()


# ------------------------------------------------------------------------------ cnnlab's pgd

def test_pgd_stays_in_the_box_and_in_the_pixel_range():
    for eps, alpha, steps in ((2 / 255, 0.5 / 255, 10), (8 / 255, 3 / 255, 6)):
        out = L.pgd(NET, X, Y, eps, alpha, steps)
        assert out.shape == X.shape and not out.requires_grad
        assert float((out - X).abs().max()) <= eps + 1e-6
        assert float(out.min()) >= 0 and float(out.max()) <= 1
        assert float((out - X).abs().max()) > 0.5 * eps          # it does move


def test_pgd_one_step_of_eps_is_fgsm_and_eps_zero_changes_nothing():
    assert torch.allclose(L.pgd(NET, X, Y, 3 / 255, 3 / 255, 1), L.fgsm(NET, X, Y, 3 / 255))
    assert torch.equal(L.pgd(NET, X, Y, 0.0, 1 / 255, 5), X)


def test_pgd_raises_the_loss_at_least_as_much_as_its_first_step():
    one, ten = L.pgd(NET, X, Y, 4 / 255, 1 / 255, 1), L.pgd(NET, X, Y, 4 / 255, 1 / 255, 10)
    with torch.no_grad():                     # the attacks need gradients: outside no_grad
        one, ten = F.cross_entropy(NET(one), Y), F.cross_entropy(NET(ten), Y)
    assert float(ten) > float(one)


def test_pgd_leaves_its_input_and_the_random_state_alone():
    x = X.clone()
    L.pgd(NET, x, Y, 2 / 255, 1 / 255, 3)
    assert torch.equal(x, X)
    before = torch.random.get_rng_state()
    _pgd_context()
    assert torch.equal(torch.random.get_rng_state(), before)


# ------------------------------------------------------------------------------ check_pgd

def pgd_sum_loss(model, x, y, eps, alpha, steps):
    x_adv = x.clone()
    for _ in range(steps):
        x_adv.requires_grad_(True)
        F.cross_entropy(model(x_adv), y, reduction="sum").backward()
        x_adv = x_adv.detach() + alpha * x_adv.grad.sign()
        x_adv = torch.clamp(torch.clamp(x_adv, 0, 1), x - eps, x + eps)   # clip, then project
    return x_adv


def pgd_with_fgsm_steps(model, x, y, eps, alpha, steps):
    x_adv = x
    for _ in range(steps):
        x_adv = L.fgsm(model, x_adv, y, alpha)
        x_adv = (x + (x_adv - x).clamp(-eps, eps)).clamp(0, 1)
    return x_adv


def pgd_nll(model, x, y, eps, alpha, steps):
    x_adv = x.clone()
    for _ in range(steps):
        x_adv = x_adv.detach().requires_grad_(True)
        loss = F.nll_loss(F.log_softmax(model(x_adv), dim=1), y)
        grad, = torch.autograd.grad(loss, x_adv)
        x_adv = torch.where(grad > 0, x_adv + alpha, torch.where(grad < 0, x_adv - alpha, x_adv))
        x_adv = torch.min(torch.max(x_adv, x - eps), x + eps).clamp(0, 1)
    return x_adv.detach()


@pytest.mark.parametrize("answer", [S6.pgd, L.pgd, pgd_sum_loss, pgd_with_fgsm_steps, pgd_nll],
                         ids=lambda f: f.__name__)
def test_right_answers_pass(answer):
    verdict = L.check_pgd(answer, quiet=True)
    assert verdict, verdict
    assert L.check_pgd(answer, NET, X[:3], Y[:3], quiet=True)


def pgd_no_projection(model, x, y, eps, alpha, steps):
    x_adv = x
    for _ in range(steps):
        x_adv = L.fgsm(model, x_adv, y, alpha)
    return x_adv


def pgd_box_around_previous(model, x, y, eps, alpha, steps):
    x_adv = x
    for _ in range(steps):
        step = L.fgsm(model, x_adv, y, alpha)
        x_adv = (x_adv + (step - x_adv).clamp(-eps, eps)).clamp(0, 1)
    return x_adv


def pgd_no_clip(model, x, y, eps, alpha, steps):
    x_adv = x
    for _ in range(steps):
        x_adv = x_adv.clone().requires_grad_(True)
        grad, = torch.autograd.grad(F.cross_entropy(model(x_adv), y), x_adv)
        x_adv = (x + (x_adv + alpha * grad.sign() - x).clamp(-eps, eps)).detach()
    return x_adv


def pgd_wrong_way(model, x, y, eps, alpha, steps):
    return L.pgd(model, x, y, eps, -alpha, steps)


def pgd_fixed_gradient(model, x, y, eps, alpha, steps):
    x0 = x.clone().requires_grad_(True)
    grad, = torch.autograd.grad(F.cross_entropy(model(x0), y), x0)
    x_adv = x
    for _ in range(steps):
        x_adv = (x + (x_adv + alpha * grad.sign() - x).clamp(-eps, eps)).clamp(0, 1)
    return x_adv


def pgd_returns_in_loop(model, x, y, eps, alpha, steps):
    for _ in range(steps):
        x_adv = L.fgsm(model, x, y, alpha)
        return (x + (x_adv - x).clamp(-eps, eps)).clamp(0, 1)


def pgd_one_step_short(model, x, y, eps, alpha, steps):
    return L.pgd(model, x, y, eps, alpha, max(steps - 1, 1)) if steps > 1 else \
        L.pgd(model, x, y, eps, alpha, 2)


def pgd_random_start(model, x, y, eps, alpha, steps):
    gen = torch.Generator().manual_seed(0)
    start = (x + eps * (2 * torch.rand(x.shape, generator=gen) - 1)).clamp(0, 1)
    x_adv = start
    for _ in range(steps):
        x_adv = L.fgsm(model, x_adv, y, alpha)
        x_adv = (x + (x_adv - x).clamp(-eps, eps)).clamp(0, 1)
    return x_adv


def pgd_in_place(model, x, y, eps, alpha, steps):
    out = L.pgd(model, x, y, eps, alpha, steps)
    x.copy_(out)
    return out


def pgd_attached(model, x, y, eps, alpha, steps):
    return L.pgd(model, x, y, eps, alpha, steps).requires_grad_(True) * 1.0


def pgd_numpy(model, x, y, eps, alpha, steps):
    return L.pgd(model, x, y, eps, alpha, steps).numpy()


PGD_MISTAKES = {
    pgd_no_projection: ("more than the budget", "box"),
    pgd_box_around_previous: ("more than the budget", "original x"),
    pgd_no_clip: ("[0, 1]", "clamp(0, 1)"),
    pgd_wrong_way: ("wrong way",),
    pgd_fixed_gradient: ("one FGSM step", "again"),
    pgd_returns_in_loop: ("only the first step",),
    pgd_one_step_short: ("off by one",),
    pgd_random_start: ("no random start",),
    pgd_in_place: ("changed the images",),
    pgd_attached: ("detach",),
    pgd_numpy: ("NumPy",),
}


@pytest.mark.parametrize("mistake", list(PGD_MISTAKES), ids=lambda f: f.__name__)
def test_pgd_mistakes(mistake):
    message = fails(L.check_pgd(mistake, quiet=True), *PGD_MISTAKES[mistake])
    assert "expected shape" not in message


def test_pgd_stub_and_odd_answers():
    def stub(model, x, y, eps, alpha, steps):
        raise NotImplementedError("write pgd")

    verdict = L.check_pgd(stub, NET, X, Y, quiet=True)
    assert not verdict and not verdict.attempted and "not attempted" in verdict.message
    for odd in ("seven", 7, None, [1, 2], lambda *a: "seven", lambda *a: torch.zeros(2)):
        verdict = L.check_pgd(odd, NET, X, Y, quiet=True)
        assert not verdict and verdict.message


def test_pgd_is_registered_for_the_lab():
    names, check = L.TASKS["lab06/pgd"]
    assert names == ("pgd",) and check is L.check_pgd

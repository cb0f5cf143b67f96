"""Lab 5's photo part: the checker of Task D (batch norm in eval mode while the rest trains)
passes the reference and cnnlab's version, and names each typical mistake."""

from __future__ import annotations

import pytest
import torch
from labcheck_support import fails, load_solution  # noqa: E402
from torch import nn

from cnnlab import labcheck as L
from cnnlab import models, train


def _solutions():
    return load_solution("lab05")


def _reference(model):
    return L.norms_in_eval(model)


def _stub(model):
    raise NotImplementedError("write norms_in_eval")


def _only_eval(model):
    return model.eval()


def _wrong_order(model):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            m.eval()
    return model.train()


def _only_2d(model):
    model.train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.eval()
    return model


def _freezes(model):
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.requires_grad_(False)
    return model.train()


def _no_return(model):
    L.norms_in_eval(model)


def _runs_a_batch(model):
    model.train()
    with torch.no_grad():
        model(torch.rand(4, 3, 64, 64))
    return L.norms_in_eval(model)


def _forgets_train(model):
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()
    return model


def _everything_but_bn_off(model):
    L.norms_in_eval(model)
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    return model


MISTAKES = {
    "model.eval()": (_only_eval, ("eval mode", "model.train() first")),
    "eval, then train": (_wrong_order, ("model.train() puts every module back",)),
    "BatchNorm2d only": (_only_2d, ("BatchNorm1d", "_BatchNorm")),
    "requires_grad instead": (_freezes, ("requires_grad",)),
    "a forward pass": (_runs_a_batch, ("running statistics",)),
    "no model.train()": (_forgets_train, ("model itself is in eval mode",)),
    "dropout off too": (_everything_but_bn_off, ("Dropout", "only the batch-norm layers")),
}


def test_reference_and_cnnlab_pass():
    assert L.check_norms_eval(_solutions().norms_in_eval, quiet=True)
    assert L.check_norms_eval(_reference, models.pretrained("photonet").model, quiet=True)
    assert "lab05/norms_in_eval" in L.TASKS


def test_stub_is_not_attempted():
    verdict = L.check_norms_eval(_stub, quiet=True)
    assert not verdict and not verdict.attempted
    verdict = L.check_norms_eval(_no_return, quiet=True)     # cnnlab's rule: None is a stub
    assert not verdict and "returns None" in verdict.message


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_norms_mistakes(mistake):
    fn, words = MISTAKES[mistake]
    fails(L.check_norms_eval(fn, quiet=True), *words)


@pytest.mark.parametrize("odd", ["model", 3, None, float("nan")])
def test_odd_answers_never_crash(odd):
    verdict = L.check_norms_eval(lambda model: odd, quiet=True)
    assert not verdict


def test_fit_keeps_the_norms_it_finds():
    """What the lab relies on: after norms_in_eval, train.fit trains without touching the
    running statistics of the batch-norm layers, and leaves them in eval mode."""
    net = models.pretrained("photonet").model
    before = {n: b.clone() for n, b in net.named_buffers()}
    L.norms_in_eval(net)
    x, y = torch.rand(8, 3, 32, 32), torch.randint(0, 19, (8,))
    train.fit(net, [(x, y)], epochs=1, progress=False, device="cpu")
    assert all(torch.equal(b, before[n]) for n, b in net.named_buffers())
    assert net.training and not net.features.bn1.training

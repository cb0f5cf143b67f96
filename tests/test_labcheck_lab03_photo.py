"""Lab 3, Task D: the checker of `randomized_copy` accepts right answers (the reference and
other correct ways) and rejects the typical mistakes with a message that says what is wrong."""

from __future__ import annotations

import copy

import pytest
import torch
from labcheck_support import fails, load_solution  # noqa: E402
from torch import nn

from cnnlab import labcheck as L
from cnnlab import models
from cnnlab.pretrained import PhotoNet, pretrained

S3 = load_solution("lab03")

PHOTONET = pretrained("photonet").model


def reset_in_place(model, seed):
    torch.manual_seed(seed)
    for m in model.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return model.eval()


def convs_only(model, seed):
    fresh = copy.deepcopy(model)
    torch.manual_seed(seed)
    for m in fresh.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            m.reset_parameters()
    return fresh.eval()


def features_only(model, seed):
    fresh = copy.deepcopy(model)
    torch.manual_seed(seed)
    for m in fresh.features.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return fresh.eval()


def randn_weights(model, seed):
    fresh = copy.deepcopy(model)
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in fresh.parameters():
            p.copy_(torch.randn_like(p))
    return fresh.eval()


def unseeded(model, seed):
    fresh = copy.deepcopy(model)
    for m in fresh.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
    return fresh.eval()


def fixed_seed(model, seed):
    return S3.randomized_copy(model, 0)


def training_mode(model, seed):
    return S3.randomized_copy(model, seed).train()


def other_network(model, seed):
    torch.manual_seed(seed)
    return models.LeNet5("modern").eval()


def the_trained_one(model, seed):
    return model


MISTAKES = {
    "in place": (reset_in_place, ("changed the network it was given", "copy.deepcopy")),
    "BatchNorm left trained": (convs_only, ("BatchNorm", "weight 1, bias 0")),
    "classifier left trained": (features_only, ("keep their trained values", "last one")),
    "torch.randn": (randn_weights, ("standard deviation", "reset_parameters")),
    "no seed": (unseeded, ("different networks", "seed")),
    "seed ignored": (fixed_seed, ("gave the same network",)),
    "training mode": (training_mode, ("training mode", ".eval()")),
    "another architecture": (other_network, ("layers",)),
    "returns its argument": (the_trained_one, ("not a copy",)),
}


def test_reference_passes():
    verdict = L.check_randomized_copy(S3.randomized_copy, PHOTONET, quiet=True)
    assert verdict, verdict
    assert "leaves the trained network as it was" in verdict.message


def test_default_network_is_photonet():
    assert L.check_randomized_copy(S3.randomized_copy, quiet=True)


def test_a_new_photonet_from_the_seed_passes():
    def rebuild(model, seed):
        torch.manual_seed(seed)
        return PhotoNet(classes=model.classifier.out_features).eval()

    assert L.check_randomized_copy(rebuild, PHOTONET, quiet=True)


def test_works_on_other_networks():
    torch.manual_seed(0)
    lenet = models.LeNet5("modern")
    with torch.no_grad():                 # "trained": anything but the initial values
        for p in lenet.parameters():
            p.mul_(1.7).add_(0.01)
    assert L.check_randomized_copy(S3.randomized_copy, lenet, quiet=True)


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_mistakes(mistake):
    fn, words = MISTAKES[mistake]
    fails(L.check_randomized_copy(fn, PHOTONET, quiet=True), *words)


def test_the_notebooks_network_is_never_changed():
    before = {k: v.clone() for k, v in PHOTONET.state_dict().items()}
    for fn, _ in MISTAKES.values():
        L.check_randomized_copy(fn, PHOTONET, quiet=True)
    assert all(torch.equal(v, before[k]) for k, v in PHOTONET.state_dict().items())


def test_stub_and_odd_answers():
    def stub(model, seed):
        raise NotImplementedError

    verdict = L.check_randomized_copy(stub, PHOTONET, quiet=True)
    assert not verdict and not verdict.attempted and "not attempted" in verdict.message
    for odd in ("a string", 3, None, float("nan")):
        for answer in (odd, lambda model, seed, odd=odd: odd):
            verdict = L.check_randomized_copy(answer, PHOTONET, quiet=True)
            assert not verdict and verdict.message
    fails(L.check_randomized_copy(lambda model, seed: 1 / 0, PHOTONET, quiet=True),
          "ZeroDivisionError")
    fails(L.check_randomized_copy(S3.randomized_copy, "photonet", quiet=True), "trained network")

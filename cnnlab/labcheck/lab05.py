"""Lab 5's checkers (transfer learning) and cnnlab's own versions of its four tasks."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from cnnlab import models
from cnnlab.labcheck._core import Verdict, _describe, _name, _Problem, _run, attempt

# ---------------------------------------------------------------------------------------------
# Lab 5: transfer learning
# ---------------------------------------------------------------------------------------------


def freeze_first(model: nn.Module, blocks: Sequence[nn.Module], k: int) -> nn.Module:
    """cnnlab's version: every parameter of ``model`` trainable except those of ``blocks[:k]``."""
    model.requires_grad_(True)
    for block in blocks[:k]:
        block.requires_grad_(False)
    return model


def replace_head(model: nn.Module, head: str, num_classes: int) -> nn.Module:
    """cnnlab's version: a fresh ``nn.Linear`` with ``num_classes`` outputs at ``head``."""
    old = model.get_submodule(head)
    if not isinstance(old, nn.Linear):
        raise TypeError(f"the module at {head!r} must be nn.Linear, got {type(old).__name__}")
    model.set_submodule(head, nn.Linear(old.in_features, num_classes))
    return model


def make_optimizer(model: nn.Module, head: nn.Module, lr: float) -> torch.optim.Optimizer:
    """cnnlab's version: AdamW, ``head`` at ``lr``, the other trainable parameters at ``lr/10``."""
    mine = {id(p) for p in head.parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW([
        {"params": [p for p in trainable if id(p) in mine], "lr": lr},
        {"params": [p for p in trainable if id(p) not in mine], "lr": lr / 10}])


def check_freeze(fn: Any, source: nn.Module, blocks_of: Callable[[nn.Module], Sequence[nn.Module]],
                 quiet: bool = False) -> Verdict:
    """Does ``fn(model, blocks, k)`` freeze exactly ``blocks[:k]``, for every k, on a fresh copy
    of ``source`` and on one frozen entirely before, and return the model?"""

    def body() -> str:
        total = models.count_params(source, trainable_only=False)
        n_blocks = len(blocks_of(source))
        for before in ("fresh", "entirely frozen"):
            for k in range(n_blocks + 1):
                model = copy.deepcopy(source)
                if before == "entirely frozen":
                    model.requires_grad_(False)
                blocks = blocks_of(model)
                sizes = [models.count_params(b, trainable_only=False) for b in blocks]
                expected = total - sum(sizes[:k])
                call = f"freeze_first(model, blocks, {k}) on a {before} model"
                result = attempt(fn, model, blocks, k, what=call)
                if result is not model:
                    raise _Problem(f"{call} returned {_describe(result)}: return the model")
                got = models.count_params(model)
                if got == expected:
                    continue
                weights_only = total - sum(
                    p.numel() for b in blocks[:k] for n, p in b.named_parameters()
                    if n.endswith("weight"))
                if got == total and k > 0:
                    hint = ("nothing was frozen: model.eval() and torch.no_grad() do not freeze "
                            "weights; set requires_grad to False on the parameters")
                elif got == weights_only:
                    hint = "the biases are still trainable: freeze every parameter of the block"
                elif got == total - sum(sizes[:k + 1]) or (
                        k > 0 and got == total - sum(sizes[:k - 1])):
                    hint = "off by one: blocks[:k] are the first k blocks"
                elif before == "entirely frozen" and got < expected:
                    hint = "the blocks after the first k, and the head, must be trainable again"
                else:
                    hint = "count what your function freezes"
                raise _Problem(f"{call}: {got:,} trainable parameters, expected {expected:,} "
                               f"(all {total:,} minus the first {k} blocks); {hint}")
        return f"{_name(fn)} freezes exactly the first k blocks, for k = 0 to {n_blocks}"

    return _run(body, quiet)


def check_head(fn: Any, source: nn.Module, head: str, sample: Tensor,
               quiet: bool = False) -> Verdict:
    """Does ``fn(model, n)`` put a fresh, trainable n-class ``nn.Linear`` at ``head``, keep every
    other weight, and return the model? ``sample`` is a batch of 2 inputs for ``source``."""

    def body() -> str:
        for n in (3, 7):
            model = copy.deepcopy(source)
            old = model.get_submodule(head)
            assert isinstance(old, nn.Linear)
            kept = {name: value.clone() for name, value in model.state_dict().items()
                    if not name.startswith(head + ".")}
            call = f"replace_head(model, {n})"
            result = attempt(fn, model, n, what=call)
            if not isinstance(result, nn.Module) or (
                    result is not model and isinstance(result, nn.Linear)):
                raise _Problem(f"{call} returned {_describe(result)}: return the model")
            try:
                with torch.no_grad():
                    scores = result.eval()(sample)
            except Exception as err:
                at = model.get_submodule(head)
                hint = ("; changing out_features does not resize the weights: build a new "
                        "nn.Linear" if isinstance(at, nn.Linear)
                        and at.weight.shape[0] != at.out_features else "")
                raise _Problem(f"{call}: the model no longer runs ({type(err).__name__}: "
                               f"{err}){hint}") from None
            if tuple(scores.shape) != (len(sample), n):
                raise _Problem(f"with {n} classes the output has shape {tuple(scores.shape)}, "
                               f"expected {(len(sample), n)}; changing out_features does not "
                               "resize the weights: build a new nn.Linear")
            new = result.get_submodule(head)
            if not isinstance(new, nn.Linear) or new.in_features != old.in_features:
                raise _Problem(f"the module at {head!r} should be nn.Linear({old.in_features}, "
                               f"{n})")
            if new.in_features == old.in_features and torch.equal(
                    new.weight.detach(), old.weight.detach()[:n]):
                raise _Problem("the new head copies the old head's first rows: a head for new "
                               "classes starts fresh (a new nn.Linear), since the old rows "
                               "score other classes")
            state = result.state_dict()
            changed = [name for name, value in kept.items()
                       if name not in state or not torch.equal(state[name], value)]
            if changed:
                raise _Problem(f"{len(changed)} backbone tensors changed or vanished (first: "
                               f"{changed[0]}): keep the pretrained weights, replace only the "
                               "head")
            if not all(p.requires_grad for p in new.parameters()):
                raise _Problem("the new head must be trainable")
        return (f"{_name(fn)} gives a fresh n-class head and keeps all {len(kept)} backbone "
                "tensors unchanged")

    return _run(body, quiet)


def check_optimizer(fn: Any, source: nn.Module, head: str,
                    blocks_of: Callable[[nn.Module], Sequence[nn.Module]],
                    quiet: bool = False) -> Verdict:
    """Does ``fn(model, head_module, lr)`` give an AdamW with the head at ``lr`` and every other
    trainable parameter, once, at ``lr / 10``?"""

    def body() -> str:
        for lr in (0.02, 0.003):
            model = replace_head(copy.deepcopy(source), head, 5)
            freeze_first(model, blocks_of(model), 2)
            head_module = model.get_submodule(head)
            call = f"make_optimizer(model, head, lr={lr})"
            try:
                optimizer = attempt(fn, model, head_module, lr, what=call)
            except _Problem as problem:
                if "more than one" in str(problem):
                    raise _Problem(f"{problem}: put each parameter in one group only") from None
                raise
            if not isinstance(optimizer, torch.optim.Optimizer):
                raise _Problem(f"{call}: expected a torch.optim optimizer, got "
                               f"{_describe(optimizer)}")
            if type(optimizer) is not torch.optim.AdamW:
                raise _Problem(f"{call} returned {type(optimizer).__name__}; the task asks for "
                               "torch.optim.AdamW (the lab's runs and its answers assume it: "
                               "with another optimiser the same rates give other results)")
            rate = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
            head_ids = {id(p) for p in head_module.parameters()}
            for name, p in model.named_parameters():
                if not p.requires_grad:
                    continue
                want = lr if id(p) in head_ids else lr / 10
                got = rate.get(id(p))
                if got is None:
                    raise _Problem(f"{name} is trainable but in no parameter group")
                if not math.isclose(got, want, rel_tol=1e-6):
                    if id(p) in head_ids:
                        hint = "the head learns at lr itself"
                    elif math.isclose(got, lr, rel_tol=1e-6):
                        hint = "the backbone learns as fast as the head: give it lr / 10"
                    elif math.isclose(got, 10 * lr, rel_tol=1e-6):
                        hint = "ten times smaller for the backbone, not larger"
                    else:
                        hint = "use the lr you are given, not a fixed number"
                    raise _Problem(f"with lr={lr}, {name} learns at {got:g} instead of "
                                   f"{want:g}: {hint}")
        return f"{_name(fn)}: AdamW, head at lr, the other trainable parameters at lr / 10"

    return _run(body, quiet)




# ---------------------------------------------------------------------------------------------
# Lab 5, photographs: batch norm in evaluation mode while the rest trains
# ---------------------------------------------------------------------------------------------


def _is_norm(module: nn.Module) -> bool:
    return isinstance(module, nn.modules.batchnorm._BatchNorm)


def norms_in_eval(model: nn.Module) -> nn.Module:
    """cnnlab's version: ``model`` in train mode except its batch-norm layers, in eval mode."""
    model.train()
    for module in model.modules():
        if _is_norm(module):
            module.eval()
    return model


def check_norms_eval(fn: Any, source: nn.Module | None = None, quiet: bool = False) -> Verdict:
    """Does ``fn(model)`` put ``model`` in train mode and every batch-norm layer (1d, 2d or 3d)
    in eval mode, whatever the modes before, change no parameter, buffer or ``requires_grad``
    flag, and return the model? ``source`` is the backbone (default: an untrained PhotoNet);
    the checker appends a BatchNorm1d and a Dropout to it so that every kind is tried."""

    def body() -> str:
        from cnnlab.pretrained import PhotoNet

        torch.manual_seed(0)
        base = PhotoNet(classes=4) if source is None else source
        for before in ("eval", "train", "frozen backbone"):
            backbone = copy.deepcopy(base)
            probe = nn.Sequential(backbone, nn.BatchNorm1d(_outputs(backbone)), nn.Dropout(0.5))
            if before == "eval":
                probe.eval()
            else:
                probe.train()
            if before == "frozen backbone":
                backbone.requires_grad_(False)
            grads = {n: p.requires_grad for n, p in probe.named_parameters()}
            state = {n: v.clone() for n, v in probe.state_dict().items()}
            call = f"norms_in_eval(model) on a model in {before} mode" if before != (
                "frozen backbone") else "norms_in_eval(model) on a model whose backbone is frozen"
            result = attempt(fn, probe, what=call)
            if result is not probe:
                raise _Problem(f"{call} returned {_describe(result)}: return the model")
            flags = {n: p.requires_grad for n, p in probe.named_parameters()}
            if flags != grads:
                name = next(n for n in grads if grads[n] != flags[n])
                raise _Problem(f"{call} changed requires_grad of {name}: requires_grad decides "
                               "which weights learn, not how batch norm normalises; leave it "
                               "as it is (freezing is freeze_first's job) and switch modes "
                               "with .train() and .eval()")
            now = probe.state_dict()
            moved = [n for n, v in state.items() if n not in now or not torch.equal(now[n], v)]
            if moved:
                raise _Problem(f"{call} changed {len(moved)} tensors (first: {moved[0]}): a "
                               "forward pass in train mode updates the running statistics; "
                               "only switch modes, run nothing")
            norms = [(n, m) for n, m in probe.named_modules() if _is_norm(m)]
            training = [(n, m) for n, m in norms if m.training]
            if training:
                name, module = training[0]
                kinds = {type(m).__name__ for _, m in training}
                if all(type(m) is not nn.BatchNorm2d for _, m in training) and len(
                        training) < len(norms):
                    hint = (f"only some kinds were switched ({', '.join(sorted(kinds))} still "
                            "trains): test isinstance(module, nn.modules.batchnorm._BatchNorm), "
                            "the class that BatchNorm1d, 2d and 3d share")
                elif not probe.training:
                    hint = ("the model is in eval mode but its batch-norm layers are not: call "
                            "model.train() first, then .eval() on each batch-norm layer")
                elif len(training) == len(norms):
                    hint = ("model.train() puts every module back into train mode: call it "
                            "first, then .eval() on each batch-norm layer")
                else:
                    hint = "call .eval() on every batch-norm layer, wherever it sits"
                raise _Problem(f"{call}: {len(training)} of {len(norms)} batch-norm layers "
                               f"still in train mode (first: {name or 'the model'}, "
                               f"{type(module).__name__}); {hint}")
            if not probe.training:
                raise _Problem(f"{call}: the model itself is in eval mode. train.fit keeps the "
                               "modes it finds only inside a model in train mode (an eval-mode "
                               "model is switched to train entirely): call model.train() "
                               "first, then .eval() on the batch-norm layers")
            idle = [n for n, m in probe.named_modules() if not _is_norm(m) and not m.training]
            if idle:
                raise _Problem(f"{call}: {idle[0]} ({type(probe.get_submodule(idle[0])).__name__})"
                               " is in eval mode: only the batch-norm layers go to eval mode "
                               "(a Dropout, for one, must keep dropping while it trains)")
        return (f"{_name(fn)}: the model trains, all {len(norms)} batch-norm layers "
                "(2d and 1d) stay in eval mode, and nothing else changes")

    return _run(body, quiet)


def _outputs(model: nn.Module) -> int:
    with torch.no_grad():
        return int(model.eval()(torch.zeros(2, 3, 64, 64)).shape[1])

"""The same three rules through autograd: saliency, guided backprop and the deconvnet rule.

:func:`relu_rule` swaps a model's ReLUs for ones whose backward follows a rule, for the length
of a ``with`` block; :func:`backward_with_rule`, :func:`saliency` and :func:`guided_backprop`
use it. The tests check that this route and :class:`~cnnlab.inside.DeconvNet` agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from cnnlab.inside.deconvnet import relu_backward
from cnnlab.inside.layers import (
    RULES,
    LayerSpec,
    Rule,
    _as_image,
    _class_index,
    _class_scores,
    _evaluating,
    _layer_index,
    _pick_position,
    _run,
    feature_layers,
)

__all__ = [
    "relu_rule",
    "backward_with_rule",
    "saliency",
    "guided_backprop",
]



class _ReLUWithRule(torch.autograd.Function):
    """max(x, 0) going up; :func:`relu_backward` with the chosen rule coming down."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, rule: Rule) -> Tensor:
        ctx.save_for_backward(x)
        ctx.rule = rule
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, signal: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        return relu_backward(signal, x, ctx.rule), None


class _RuleReLU(nn.Module):
    """Stands in for an nn.ReLU inside :func:`relu_rule`."""

    def __init__(self, rule: Rule) -> None:
        super().__init__()
        self.rule = rule

    def forward(self, x: Tensor) -> Tensor:
        return _ReLUWithRule.apply(x, self.rule)

    def extra_repr(self) -> str:
        return f"rule={self.rule!r}"


@contextmanager
def relu_rule(model: nn.Module, rule: Rule) -> Iterator[nn.Module]:
    """Inside the ``with`` block, every ``nn.ReLU`` of ``model`` goes backward by ``rule``.

    Each ``nn.ReLU`` module (in-place or not, used once or reused) is swapped for one whose
    forward is the same and whose backward is :func:`relu_backward` with ``rule``; the original
    modules are put back when the block ends, even after an error.  ReLUs applied as functions
    (``F.relu``, ``torch.relu``, ``x.relu()``) are not swapped -- :func:`backward_with_rule`
    detects them and refuses.

    >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    >>> with relu_rule(net, "guided"):
    ...     type(net[1]).__name__
    '_RuleReLU'
    >>> type(net[1]).__name__
    'ReLU'
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    swapped: list[tuple[nn.Module, str, nn.Module]] = []
    try:
        for parent in list(model.modules()):
            for name, child in list(parent._modules.items()):
                if isinstance(child, nn.ReLU):
                    parent._modules[name] = _RuleReLU(rule)
                    swapped.append((parent, name, child))
        yield model
    finally:
        for parent, name, child in swapped:
            parent._modules[name] = child


# Nonlinearities whose backward the rules do not define, as modules and as functions.
_OTHER_ACTIVATIONS = (
    nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ReLU6, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Softplus, nn.Tanh, nn.Sigmoid, nn.Hardtanh, nn.Hardswish, nn.Hardsigmoid,
)
_FUNCTIONAL_ACTIVATIONS: dict[Callable[..., Any], str] = {
    F.relu: "F.relu", F.relu_: "F.relu_", torch.relu: "torch.relu", torch.relu_: "torch.relu_",
    Tensor.relu: "Tensor.relu", Tensor.relu_: "Tensor.relu_", F.leaky_relu: "F.leaky_relu",
    F.relu6: "F.relu6", F.elu: "F.elu", F.selu: "F.selu", F.gelu: "F.gelu", F.silu: "F.silu",
    F.mish: "F.mish", F.softplus: "F.softplus", F.hardtanh: "F.hardtanh",
    torch.tanh: "torch.tanh", Tensor.tanh: "Tensor.tanh", torch.sigmoid: "torch.sigmoid",
    Tensor.sigmoid: "Tensor.sigmoid",
}


class _ActivationSpy(TorchFunctionMode):
    """Notes every nonlinearity called as a function while a forward pass runs."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __torch_function__(self, func: Callable[..., Any], types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        name = _FUNCTIONAL_ACTIVATIONS.get(func)
        if name is not None:
            self.seen.append(name)
        return func(*args, **(kwargs or {}))


def backward_with_rule(model: nn.Module, image: Tensor, rule: Rule, *, target: int | None = None,
                       layer: LayerSpec | None = None, channel: int | None = None,
                       position: tuple[int, int] | None = None) -> Tensor:
    """Send one number back to the pixels by autograd, each ReLU passing it by ``rule``.

    The number is either the class score ``model(image)[target]`` (the logit; default target:
    the predicted class) or, when ``layer`` and ``channel`` are given, one activation of a
    feature map (at ``position``, by default the strongest).  Returns d(number)/d(image) under
    the rule, shape (C, H, W), on the CPU.  With ``rule="gradient"`` that is the plain
    gradient; with ``"deconvnet"`` and a layer it is :meth:`DeconvNet.project`'s projection
    divided by the activation's value (when that value is positive: rectifying commutes with
    positive scales only); with ``"guided"`` it is guided backprop.

    For the deconvnet and guided rules the model's nonlinearities must all be ``nn.ReLU``
    modules: other activation modules, and ReLUs called as functions in ``forward``, raise a
    ``ValueError`` (the rule would silently not apply there).

    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 3))
    >>> backward_with_rule(net, torch.rand(1, 8, 8), "guided", target=0).shape
    torch.Size([1, 8, 8])
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if layer is not None and target is not None:
        raise ValueError("give either a target class or a layer and channel, not both")
    if layer is not None and channel is None:
        raise ValueError("a layer needs a channel: which feature map to start from")
    target = None if target is None else _class_index(target)
    x = _as_image(image, model).requires_grad_(True)
    spy = _ActivationSpy()
    with _evaluating(model), torch.enable_grad(), relu_rule(model, rule):
        if layer is None:
            named: Iterable[tuple[str, nn.Module]] = model.named_modules()
        else:
            layers = feature_layers(model)
            top = _layer_index(layers, layer)
            named = layers[: top + 1]
        if rule != "gradient":
            _refuse_other_activations(named, rule)
        with spy:
            if layer is None:
                scores = _class_scores(model, x, target)
                score = scores[0, int(scores[0].argmax()) if target is None else target]
            else:
                assert channel is not None
                output = _run(layers, x, top)
                row, col = _pick_position(output, channel, position, layers[top][0])
                score = output[0, channel, row, col]
        if rule != "gradient" and spy.seen:
            raise ValueError(
                f"the model calls {', '.join(sorted(set(spy.seen)))} inside its forward "
                f"({len(spy.seen)} calls); the {rule!r} rule can only be given to nn.ReLU "
                "modules -- use an nn.ReLU module (self.relu = nn.ReLU()) instead"
            )
        (grad,) = torch.autograd.grad(score, x)
    return grad[0].detach().cpu()


def saliency(model: nn.Module, image: Tensor, target: int | None = None) -> Tensor:
    """The gradient of the class score with respect to the pixels (Simonyan et al., 2014).

    ``image``: (C, H, W) or (1, C, H, W); ``target``: class index (default: the predicted
    class).  Returns the signed gradient, shape (C, H, W); the paper's saliency map is
    ``saliency(...).abs().amax(0)``, shape (H, W).

    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 3))
    >>> saliency(net, torch.rand(1, 8, 8), target=2).shape
    torch.Size([1, 8, 8])
    """
    return backward_with_rule(model, image, "gradient", target=target)


def guided_backprop(model: nn.Module, image: Tensor, target: int | None = None) -> Tensor:
    """Guided backpropagation of the class score to the pixels (Springenberg et al., 2015).

    Like :func:`saliency`, but each ReLU passes only positive signals, and only where its
    forward input was positive.  Returns shape (C, H, W).

    >>> net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(72, 3))
    >>> guided_backprop(net, torch.rand(1, 8, 8), target=1).shape
    torch.Size([1, 8, 8])
    """
    return backward_with_rule(model, image, "guided", target=target)


def _refuse_other_activations(named: Iterable[tuple[str, nn.Module]], rule: Rule) -> None:
    others = [f"{name} ({type(m).__name__})" for name, m in named
              if isinstance(m, _OTHER_ACTIVATIONS)]
    if others:
        raise ValueError(f"the {rule!r} rule is defined for ReLU only, but the model also "
                         f"has {', '.join(others)}")


"""Early stopping for :func:`cnnlab.train.fit`: stop when the validation loss stops improving.

Chapter 10 trains a CNN and a small vision transformer "until the validation loss stopped
improving", so that neither is cut short by a budget that suits only the other; this is the
callback it uses. It is also exported as ``cnnlab.train.EarlyStopping``.

>>> import torch
>>> from torch import nn
>>> from cnnlab import train
>>> from cnnlab.data import shapes
>>> _ = torch.manual_seed(0)
>>> data = shapes(60, size=8)
>>> net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 10))
>>> stopper = EarlyStopping(data, patience=2)
>>> history = train.fit(net, data, epochs=50, lr=1e-2, callbacks=[stopper], progress=False)
>>> len(history["epoch"]) == stopper.best_epoch + 2 or len(history["epoch"]) == 50
True
>>> stopper.restore(net)   # the weights of the best epoch, not of the last
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from torch import Tensor, nn

from cnnlab import _checks
from cnnlab.data import LabeledData
from cnnlab.train import evaluate

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """A ``fit`` callback: stop after ``patience`` epochs without a better validation loss.

    After each epoch it measures the loss on ``validation`` with :func:`cnnlab.train.evaluate`
    (eval mode; each module's mode is put back) and keeps a copy of the weights of the best epoch
    so far. It returns ``True``, which stops ``fit``, once ``patience`` epochs have passed since
    that best epoch. ``fit`` may also end at its own ``epochs`` first; either way
    :meth:`restore` loads the best weights into the model.

    Args:
        validation: data that ``evaluate`` accepts: batches of ``(images (B, C, H, W),
            labels (B,))`` or a :class:`~cnnlab.data.LabeledData`. Never the test set.
        patience: epochs without improvement before stopping (a positive int).
        min_delta: how much lower than the best a loss must be to count as better (``>= 0``).

    Attributes:
        best: the lowest validation loss seen (``inf`` before the first epoch).
        best_epoch: the epoch (counted from 1, as in ``history["epoch"]``) that reached it.
        state: a copy of the model's ``state_dict`` at ``best_epoch`` (``None`` before).
    """

    def __init__(
        self,
        validation: Iterable[tuple[Tensor, Tensor]] | LabeledData,
        *,
        patience: int,
        min_delta: float = 0.0,
    ) -> None:
        if not isinstance(validation, LabeledData) and (
            isinstance(validation, Tensor | str) or not isinstance(validation, Iterable)
        ):
            raise TypeError(
                "validation must be batches of (images, labels) or a LabeledData, got "
                f"{type(validation).__name__}"
            )
        self.validation = validation
        self.patience = _checks.as_int(patience, "patience", minimum=1)
        self.min_delta = _checks.as_float(min_delta, "min_delta", minimum=0.0)
        self.best = math.inf
        self.best_epoch = 0
        self.state: dict[str, Tensor] | None = None

    def __call__(self, epoch: int, history: Any, model: nn.Module) -> bool:
        loss = evaluate(model, self.validation)["loss"]
        if loss < self.best - self.min_delta:
            self.best, self.best_epoch = loss, int(epoch)
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        return int(epoch) - self.best_epoch >= self.patience

    def restore(self, model: nn.Module) -> None:
        """Load the weights of the best epoch into ``model`` (the model that was trained)."""
        if self.state is None:
            raise RuntimeError("EarlyStopping.restore: no epoch has been evaluated yet")
        model.load_state_dict(self.state)

"""cnnlab.early_stopping.EarlyStopping: when it stops, what it keeps, what it refuses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab import train
from cnnlab.data import Batches, shapes
from cnnlab.early_stopping import EarlyStopping


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 10))


@pytest.fixture(scope="module")
def data() -> Batches:
    d = shapes(40, size=8, seed=1)
    return Batches((d.images, d.labels), 20)


def test_exported_from_train() -> None:
    assert train.EarlyStopping is EarlyStopping
    assert "EarlyStopping" in dir(train) and "EarlyStopping" in train.__all__


@pytest.mark.parametrize("patience", [1, 3])
def test_a_loss_that_never_improves_stops_after_patience_epochs(data: Batches,
                                                                  patience: int) -> None:
    net = _net()
    stopper = EarlyStopping(data, patience=patience)
    frozen = torch.optim.SGD(net.parameters(), lr=0.0)      # the loss stays what it was
    history = train.fit(net, data, epochs=20, optimizer=frozen, callbacks=[stopper],
                        progress=False)
    assert stopper.best_epoch == 1
    assert history["epoch"] == [float(e) for e in range(1, patience + 2)]


def test_training_that_keeps_improving_runs_to_the_end(data: Batches) -> None:
    net = _net()
    stopper = EarlyStopping(data, patience=3)
    history = train.fit(net, data, epochs=4, lr=1e-2, callbacks=[stopper], progress=False)
    assert len(history["epoch"]) == 4 and stopper.best_epoch == 4


def test_restore_loads_the_best_epoch_not_the_last(data: Batches) -> None:
    net = _net()
    history: dict = {}
    stopper = EarlyStopping(data, patience=5)
    train.fit(net, data, epochs=30, lr=1e-2, progress=False)   # a fairly good net
    good = {k: v.clone() for k, v in net.state_dict().items()}
    stopper(1, history, net)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 5)                      # much worse
    assert not stopper(2, history, net)
    assert stopper.best_epoch == 1
    stopper.restore(net)
    for key, value in net.state_dict().items():
        assert torch.equal(value, good[key])


def test_changes_smaller_than_min_delta_do_not_count(data: Batches) -> None:
    net = _net()
    stopper = EarlyStopping(data, patience=1, min_delta=10.0)
    assert not stopper(1, {}, net)                 # the first epoch always counts
    train.fit(net, data, epochs=5, lr=1e-2, progress=False)   # better, but not by 10
    assert stopper(2, {}, net) and stopper.best_epoch == 1


def test_the_model_keeps_its_training_mode(data: Batches) -> None:
    net = _net().train()
    EarlyStopping(data, patience=1)(1, {}, net)
    assert net.training


def test_numpy_integers_are_accepted(data: Batches) -> None:
    assert EarlyStopping(data, patience=np.int64(2)).patience == 2


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(patience=0), ValueError, "patience must be positive, got 0"),
        (dict(patience=1.5), TypeError, "patience must be an int"),
        (dict(patience=True), TypeError, "patience must be an int"),
        (dict(patience=2, min_delta=-0.1), ValueError, "min_delta must be at least 0.0"),
        (dict(patience=2, min_delta=float("nan")), ValueError, "min_delta must be a finite"),
    ],
)
def test_bad_settings_are_refused(data: Batches, kwargs: dict, error: type,
                                  message: str) -> None:
    with pytest.raises(error, match=message):
        EarlyStopping(data, **kwargs)


@pytest.mark.parametrize("validation", [torch.zeros(4, 3, 8, 8), "digits", 3])
def test_validation_must_be_batches(validation: object) -> None:
    with pytest.raises(TypeError, match="validation must be batches of"):
        EarlyStopping(validation, patience=2)  # type: ignore[arg-type]


def test_restore_before_any_epoch_says_so(data: Batches) -> None:
    with pytest.raises(RuntimeError, match="no epoch has been evaluated"):
        EarlyStopping(data, patience=2).restore(_net())

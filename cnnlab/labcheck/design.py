"""The open-ended design tasks: a budget of parameters and seconds, measured and recorded."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from cnnlab import models
from cnnlab import train as cnn_train

# ---------------------------------------------------------------------------------------------
# Open-ended design tasks: a budget of parameters and seconds, measured and recorded
# ---------------------------------------------------------------------------------------------


@dataclass
class DesignLog:
    """The record of a lab's design task: every attempt, with its measured numbers."""

    max_params: int
    max_seconds: float
    records: list[dict[str, Any]] = field(default_factory=list)

    def best(self) -> dict[str, Any] | None:
        """The most accurate attempt within both budgets, or ``None``."""
        fair = [r for r in self.records if r["within budget"]]
        return max(fair, key=lambda r: r["accuracy"]) if fair else None

    def table(self) -> Any:
        """The attempts as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.records)


def run_design(log: DesignLog, name: str, model: nn.Module, train_batches: Any,
               test_data: Any, *, epochs: int, optimizer: torch.optim.Optimizer,
               scheduler: Any = None, evaluate: Callable[[nn.Module, Any], float] | None = None,
               progress: bool = True, stop: Any = None) -> dict[str, Any]:
    """Train ``model`` within ``log``'s time budget and record its test accuracy.

    Training stops when the epochs are done or the time budget is spent (the epoch running at
    the deadline finishes). ``evaluate(model, data) -> accuracy`` defaults to
    :func:`cnnlab.train.evaluate`. Returns the record, also appended to ``log.records``.
    """
    params = models.count_params(model, trainable_only=False)
    start = time.perf_counter()

    def deadline(epoch: int, history: Any, net: nn.Module) -> bool:
        return time.perf_counter() - start > log.max_seconds

    history = cnn_train.fit(model, train_batches, epochs=epochs, optimizer=optimizer,
                            scheduler=scheduler, callbacks=[deadline], progress=progress,
                            stop=stop)
    seconds = time.perf_counter() - start
    done = len(history["epoch"])
    if evaluate is None:
        acc = cnn_train.evaluate(model, test_data)["acc"]
    else:
        acc = float(evaluate(model, test_data))
    record = {"attempt": len(log.records) + 1, "design": name, "parameters": params,
              "epochs": f"{done}/{epochs}", "seconds": round(seconds, 1), "accuracy": acc,
              "within budget": params <= log.max_params and seconds <= 1.5 * log.max_seconds,
              "cut short": done < epochs}
    log.records.append(record)
    return record



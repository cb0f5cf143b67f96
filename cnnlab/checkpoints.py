"""Checkpoints: a model's weights, its optimizer and its history in one file, and back.

:func:`save_checkpoint` writes atomically (a new temporary file renamed over the target) and
only plain data besides the tensors, so :func:`load_checkpoint` reads it with
``torch.load(..., weights_only=True)``, which runs no code from the file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

import cnnlab

if TYPE_CHECKING:
    pass


__all__ = ["load_checkpoint", "save_checkpoint"]


def save_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    epoch: int | None = None,
    history: dict[str, list[float]] | None = None,  # a History from cnnlab.train.fit
    **extra: Any,
) -> Path:
    """Save model (and optimizer) state, the epoch, the history and plain ``extra`` values.

    Only tensors, numbers, strings and lists/dicts of them are stored, so that
    :func:`load_checkpoint` can read the file with ``torch.load(..., weights_only=True)``,
    which never runs code from the file. The file is written under a temporary name first,
    then renamed, so a crash never leaves half a checkpoint.

    Returns:
        The path written.

    >>> import tempfile
    >>> path = save_checkpoint(Path(tempfile.mkdtemp()) / "net.pt", nn.Linear(2, 1), epoch=3)
    >>> load_checkpoint(path, nn.Linear(2, 1))["epoch"]
    3
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "cnnlab_version": cnnlab.__version__,
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "epoch": _plain(epoch, "epoch"),
        "history": _plain(history, "history"),
        "extra": _plain(extra, "extra"),
    }
    # Write a new, uniquely named file beside the target (O_EXCL: never through a planted
    # symlink or an existing file), then rename it over the target in one step.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def _plain(value: Any, where: str) -> Any:
    """``value`` as built-in types and tensors (NumPy numbers become Python numbers)."""
    if value is None or isinstance(value, str | Tensor):
        return value
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    if isinstance(value, list | tuple):
        return [_plain(item, where) for item in value]
    if isinstance(value, dict):
        return {_plain(k, where): _plain(item, where) for k, item in value.items()}
    raise TypeError(
        f"{where} may hold only tensors, numbers, strings and lists/dicts of them "
        f"(safe to load), got {type(value).__name__}"
    )


def load_checkpoint(
    path: str | os.PathLike[str],
    model: nn.Module | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    *,
    map_location: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (safely: ``weights_only=True``).

    Args:
        path: the file.
        model, optimizer: if given, their states are restored from the file.
        map_location: where tensors are loaded (default CPU; the model keeps its own device).

    Returns:
        The checkpoint: ``model``, ``optimizer`` (state dicts), ``epoch``, ``history``, ``extra``.

    Raises:
        FileNotFoundError: no such file.
        RuntimeError: the file is corrupt, not a cnnlab checkpoint, or the model does not match.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise RuntimeError(
            f"could not read the checkpoint {path} ({type(err).__name__}: {err}). The file is "
            f"corrupt or was not written by cnnlab.train.save_checkpoint; save it again."
        ) from err
    if not isinstance(state, dict) or "model" not in state:
        raise RuntimeError(f"{path} is not a cnnlab checkpoint (no 'model' entry)")
    if model is not None:
        try:
            model.load_state_dict(state["model"])
        except RuntimeError as err:
            raise RuntimeError(f"the checkpoint {path} does not fit this model: {err}") from err
    if optimizer is not None:
        if state.get("optimizer") is None:
            raise RuntimeError(f"the checkpoint {path} holds no optimizer state")
        optimizer.load_state_dict(state["optimizer"])
    return state

"""Training: one loop with a progress bar and curves, evaluation, prediction and checkpoints.

:func:`fit` trains any classifier on any iterable of ``(images, labels)`` batches and returns
the per-epoch history: a ``dict`` of lists with keys ``epoch``, ``train_loss``, ``train_acc``,
``val_loss``, ``val_acc`` and ``time``. It shows one progress bar, stops with a clear message
when the loss blows up, can be stopped by a callback or a ``threading.Event`` (a widget's Stop
button), and on CUDA uses mixed precision and channels-last memory on its own.

The notebook set-up (:func:`setup`, :func:`device`, :func:`seed_everything`, the profiles) lives
in :mod:`cnnlab.session`, checkpoints in :mod:`cnnlab.checkpoints`, and the LeNet-5 recipe
:func:`train_lenet` beside its model in :mod:`cnnlab.models.lenet`; all are re-exported here,
where the notebooks have always found them.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.std import tqdm as tqdm_text

from cnnlab import _state, session
from cnnlab.checkpoints import load_checkpoint, save_checkpoint
from cnnlab.data import Batches, LabeledData
from cnnlab.session import (
    PROFILES,
    Context,
    Profile,
    device,
    glue,
    profile,
    seed_everything,
    setup,
    smoke,
)

if TYPE_CHECKING:
    from cnnlab.early_stopping import EarlyStopping
    from cnnlab.models.lenet import train_lenet

from cnnlab import _checks

__all__ = [
    "Context",
    "PROFILES",
    "Profile",
    "device",
    "glue",
    "profile",
    "seed_everything",
    "setup",
    "smoke",
    "train_lenet",
    "EarlyStopping",
    "HISTORY_KEYS",
    "History",
    "LivePlot",
    "TrainingDiverged",
    "confusion_matrix",
    "evaluate",
    "fit",
    "load_checkpoint",
    "predict",
    "save_checkpoint",
]

History = dict[str, list[float]]
"""Per-epoch record of a run: ``history["val_acc"][k]`` is the validation accuracy after epoch
``history["epoch"][k]``; ``time`` holds the seconds spent training in each epoch."""

HISTORY_KEYS = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "time")

Callback = Callable[[int, History, nn.Module], Any]

# ---------------------------------------------------------------------------------------------
# The training loop
# ---------------------------------------------------------------------------------------------


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite: the run cannot recover, so :func:`fit` stops."""


def fit(
    model: nn.Module,
    train_loader: Iterable[tuple[Tensor, Tensor]] | LabeledData,
    val_loader: Iterable[tuple[Tensor, Tensor]] | LabeledData | None = None,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer | None = None,
    lr: float = 1e-3,
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
    device: torch.device | str | None = None,
    scheduler: Any = None,
    scheduler_step: str | None = None,
    callbacks: Sequence[Callback] = (),
    stop: threading.Event | None = None,
    progress: bool = True,
    amp: bool | None = None,
    channels_last: bool | None = None,
    seed: int | None = None,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``; return the history.

    Args:
        model: maps ``(B, C, H, W)`` images to ``(B, K)`` class scores.
        train_loader: yields ``(images (B, C, H, W), labels (B,))``: a
            :class:`cnnlab.data.Batches`, a ``DataLoader`` or a :class:`LabeledData`
            (batched by 128, shuffled).
        val_loader: the same for validation after every epoch (optional).
        epochs: number of passes.
        optimizer: default ``AdamW(model.parameters(), lr=lr)``.
        lr: learning rate of the default optimizer.
        loss_fn: ``loss_fn(scores, labels) -> scalar``, default cross-entropy.
        device: default :func:`device`. The model is moved there.
        scheduler: a learning-rate scheduler, stepped after every batch if it is a
            ``OneCycleLR``/``CyclicLR`` or ``scheduler_step="batch"``, otherwise every epoch.
        scheduler_step: ``"batch"``, ``"epoch"`` or ``None`` (decide from the type).
        callbacks: each called as ``cb(epoch, history, model)`` after every epoch; a callback
            that returns ``True`` stops training (e.g. :class:`LivePlot`, early stopping).
        stop: a ``threading.Event``; when set (by a Stop button, say) training stops before the
            next batch and the unfinished epoch is not recorded.
        progress: show a ``tqdm`` progress bar with loss and accuracy.
        amp: mixed precision (float16 autocast + gradient scaling). Default: on for CUDA only.
        channels_last: channels-last memory format. Default: on for CUDA only.
        seed: when given, the run's shuffling, dropout and augmentation draw from Python's,
            NumPy's and PyTorch's generators seeded with it (:func:`seed_everything`), so the
            same model, data and seed give the same run, and afterwards those generators are
            put back as they were. When ``None`` (the default) the run draws from the global
            generators where they stand and leaves them moved on, as a plain PyTorch loop over a
            shuffling ``DataLoader`` does: two calls in a row then see different orders (putting
            the generators back would make every call shuffle alike).

    Returns:
        History: ``dict`` with lists ``epoch``, ``train_loss``, ``train_acc``, ``val_loss``,
        ``val_acc`` (NaN without ``val_loader``) and ``time`` (seconds of training per epoch,
        validation excluded). ``train_acc`` is measured on the fly, on augmented batches;
        ``val_loss`` uses ``loss_fn`` (label smoothing included, if any).

    Raises:
        TrainingDiverged: the loss became NaN or infinite (the message names the epoch, the
            batch and the learning rate).

    Pressing the notebook's interrupt button ends training too; the epochs done so far are
    returned.

    >>> from cnnlab.data import shapes, Batches
    >>> data = shapes(64, size=16)
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 10))
    >>> history = fit(net, Batches(data, 32), epochs=2, progress=False)
    >>> history["epoch"], len(history["train_loss"])
    ([1.0, 2.0], 2)
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    epochs = _checks.as_int(epochs, "epochs", minimum=1)
    if seed is not None:
        seed = _checks.as_int(seed, "seed", 0, 2**32 - 1)
    if scheduler_step not in (None, "batch", "epoch"):
        raise ValueError(f"scheduler_step must be 'batch', 'epoch' or None, got {scheduler_step!r}")
    if optimizer is None:
        lr = _checks.as_float(lr, "lr", above=0.0)
    if isinstance(callbacks, str) or not isinstance(callbacks, Sequence | tuple):
        raise TypeError(f"callbacks must be a list of callables, got {type(callbacks).__name__}")
    for cb in callbacks:
        if not callable(cb):
            raise TypeError(f"callbacks must be callables cb(epoch, history, model), got {cb!r}")
    train_loader = _as_batches(train_loader, "train_loader", shuffle=True)
    val_loader = None if val_loader is None else _as_batches(val_loader, "val_loader")

    dev = torch.device(device) if device is not None else session.device()
    use_amp, use_cl = _gpu_options(dev, amp, channels_last)
    model.to(dev)
    if use_cl:
        use_cl = _set_channels_last(model)
    if optimizer is None:
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    if loss_fn is None:
        loss_fn = nn.CrossEntropyLoss()
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    cast = _autocast_dtype(dev, use_amp, amp)
    limit = _SMOKE_BATCHES if session.smoke() else None
    per_batch_types = (torch.optim.lr_scheduler.OneCycleLR, torch.optim.lr_scheduler.CyclicLR)
    per_batch = scheduler_step == "batch" or (
        scheduler_step is None and isinstance(scheduler, per_batch_types)
    )

    history: History = {key: [] for key in HISTORY_KEYS}
    n_batches = _length(train_loader)
    bar = _progress_bar(
        total=epochs * n_batches if n_batches else epochs,
        unit="batch" if n_batches else "epoch",
        disable=not progress,
    )
    epoch = 0
    # Leave the model's modes (a frozen BatchNorm stays in eval mode) and torch's global
    # settings as they were found, however the run ends.
    scope = contextlib.ExitStack()
    train_mode = scope.enter_context(_state.training(model))
    scope.enter_context(_state.global_settings(keep_rng=seed is not None))
    if seed is not None:
        session.seed_everything(seed)
    try:
        for epoch in range(1, epochs + 1):
            bar.set_description(f"epoch {epoch}/{epochs}")
            train_mode()
            start = time.perf_counter()
            total, correct, seen = 0.0, 0, 0
            for batch, (x, y) in enumerate(train_loader, 1):
                if limit is not None and batch > limit:  # CNNLAB_SMOKE: a few batches only
                    break
                if stop is not None and stop.is_set():
                    _say(
                        f"stopped on request during epoch {epoch}; returning {epoch - 1} epochs",
                        bar,
                    )
                    return history
                x, y = _to(x, dev, use_cl), y.to(dev, non_blocking=True)
                autocast = (torch.autocast(dev.type, dtype=cast) if cast is not None
                            else contextlib.nullcontext())
                with autocast:
                    scores = model(x)
                    loss = loss_fn(scores, y)
                value = float(loss.detach())
                if not math.isfinite(value):
                    rate = optimizer.param_groups[0].get("lr", float("nan"))
                    raise TrainingDiverged(
                        f"training diverged: the loss became {value} at epoch {epoch}, batch "
                        f"{batch} (learning rate {rate:g}). Lower the learning rate (try 10x "
                        f"smaller), check that the inputs are normalized, or clip gradients."
                    )
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
                if scheduler is not None and per_batch:
                    scheduler.step()
                n = int(y.shape[0])
                total, seen = total + value * n, seen + n
                correct += _correct(scores, y)
                if n_batches:
                    bar.update(1)
                bar.set_postfix_str(_postfix(total / seen, correct / seen), refresh=False)
            if seen == 0:
                raise ValueError("train_loader yielded no batches")
            if scheduler is not None and not per_batch:
                scheduler.step()
            seconds = time.perf_counter() - start
            val = {"loss": math.nan, "acc": math.nan}
            if val_loader is not None:
                val = evaluate(model, _first(val_loader, limit), dev, loss_fn)
            record = (epoch, total / seen, correct / seen, val["loss"], val["acc"], seconds)
            for key, number in zip(HISTORY_KEYS, record, strict=True):
                history[key].append(float(number))
            if not _has_accuracy(scores, y):
                history["train_acc"][-1] = math.nan
            bar.set_postfix_str(_postfix(*record[1:5]), refresh=False)
            bar.update(0 if n_batches else 1)
            stop_now = [bool(cb(epoch, history, model)) for cb in callbacks]
            if any(stop_now):
                _say(f"stopped by a callback after epoch {epoch}", bar)
                break
    except KeyboardInterrupt:
        if not _in_notebook():  # a script (or a test run) is stopped, as Ctrl-C asks
            raise
        done = len(history["epoch"])
        _say(f"interrupted during epoch {epoch}; returning the {done} finished epochs", bar)
    finally:
        bar.close()
        scope.close()
    return history


_SMOKE_BATCHES = 2  # batches per epoch (and validation batches) under CNNLAB_SMOKE=1


def _autocast_dtype(dev: torch.device, use_amp: bool, amp: bool | None) -> torch.dtype | None:
    """The dtype fit's autocast runs in: float16 with mixed precision on CUDA; under
    CNNLAB_SMOKE on a CPU, bfloat16 where the CPU supports it, so that a smoke run exercises
    the same autocast branch a GPU run takes; None (no autocast) otherwise."""
    if use_amp:
        return torch.float16
    if amp is None and dev.type == "cpu" and session.smoke():
        return torch.bfloat16 if torch.amp.is_autocast_available("cpu") else None
    return None


def _first(loader: Iterable[Any], limit: int | None) -> Iterable[Any]:
    """The first ``limit`` items of ``loader`` (all of them when ``limit`` is None)."""
    return loader if limit is None else list(itertools.islice(loader, limit))


def _gpu_options(
    dev: torch.device, amp: bool | None, channels_last: bool | None
) -> tuple[bool, bool]:
    """(mixed precision, channels-last): both on by default on CUDA, refused elsewhere."""
    cuda = dev.type == "cuda"
    use_amp = cuda if amp is None else bool(amp)
    use_cl = cuda if channels_last is None else bool(channels_last)
    if (use_amp or use_cl) and not cuda:
        raise ValueError(f"amp and channels_last need a CUDA device, got device {dev.type!r}")
    return use_amp, use_cl


class _NotebookLine(io.TextIOBase):
    """A file for tqdm that shows its latest line in one notebook output, updated in place.

    tqdm's notebook widget stores its *first* state ("0%") in the saved notebook, which is what
    a static page then shows. Here each refresh replaces a plain-text display instead, so Jupyter
    and Colab show a live bar and the saved notebook (and the book) keeps the final one.
    """

    def __init__(self) -> None:
        self._handle: Any = None

    def write(self, text: str) -> int:
        from IPython.display import Pretty, display

        line = text.rsplit("\r", 1)[-1].strip("\n")
        if not line.strip():
            return len(text)
        if self._handle is None:  # the first state is a normal output, later ones update it
            self._handle = display(Pretty(line), display_id=True)
        else:
            self._handle.update(Pretty(line))
        return len(text)

    def flush(self) -> None:
        pass


def _in_notebook() -> bool:
    """True inside a Jupyter/Colab kernel (not a terminal IPython or a script)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def _progress_bar(total: int, unit: str, disable: bool) -> Any:
    """tqdm over ``total`` steps: in a notebook drawn as text updated in place, else to stderr."""
    if not disable and _in_notebook():
        return tqdm_text(total=total, unit=unit, file=_NotebookLine(), mininterval=0.5, ascii=False)
    return tqdm_text(total=total, unit=unit, disable=disable, dynamic_ncols=True)


def _say(message: str, bar: Any) -> None:
    """One line that does not break the progress bar."""
    print(message)


def _postfix(loss: float, acc: float, val_loss: float = math.nan, val_acc: float = math.nan) -> str:
    text = f"loss {loss:.3f}" + ("" if math.isnan(acc) else f", acc {acc:.3f}")
    if not math.isnan(val_loss):
        text += f" | val loss {val_loss:.3f}" + (
            "" if math.isnan(val_acc) else f", acc {val_acc:.3f}"
        )
    return text


def _has_accuracy(scores: Tensor, y: Tensor) -> bool:
    return scores.ndim == 2 and y.ndim == 1 and not y.is_floating_point()


def _correct(scores: Tensor, y: Tensor) -> int:
    """Number of correct predictions in a batch (0 when accuracy makes no sense)."""
    if not _has_accuracy(scores, y):
        return 0
    return int((scores.detach().argmax(1) == y).sum())


def _set_channels_last(model: nn.Module) -> bool:
    """Store ``model``'s 4-D weights (N, C, H, W) channels-last and return True; leave a model
    with 5-D weights (``nn.Conv3d``: (N, C, T, H, W), which ``Module.to`` cannot convert to this
    format) or without 4-D ones as it is and return False."""
    ranks = {t.dim() for t in itertools.chain(model.parameters(), model.buffers())}
    if 5 in ranks or 4 not in ranks:
        return False
    model.to(memory_format=torch.channels_last)
    return True


def _to(x: Tensor, dev: torch.device, channels_last: bool) -> Tensor:
    x = x.to(dev, non_blocking=True)
    if channels_last and x.ndim == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def _length(loader: Any) -> int | None:
    try:
        return int(len(loader))
    except TypeError:
        return None


def _as_batches(loader: Any, what: str, shuffle: bool = False) -> Iterable[tuple[Tensor, Tensor]]:
    """Accept LabeledData as a loader (batched by 128); reject what cannot be iterated."""
    if isinstance(loader, LabeledData):
        return Batches(loader, 128, shuffle=shuffle)
    if (
        isinstance(loader, tuple | list)
        and len(loader) == 2
        and all(isinstance(part, Tensor) for part in loader)
    ):
        raise TypeError(
            f"{what} is a pair (images, labels) of tensors, not batches of them; wrap it as "
            "cnnlab.data.Batches((images, labels), batch_size, shuffle=True)"
        )
    if not hasattr(loader, "__iter__") or isinstance(loader, Tensor | str | bytes):
        raise TypeError(
            f"{what} must yield (images, labels) batches (Batches, DataLoader or LabeledData), "
            f"got {type(loader).__name__}"
        )
    return loader


def _model_device(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def evaluate(
    model: nn.Module,
    loader: Iterable[tuple[Tensor, Tensor]] | LabeledData,
    device: torch.device | str | None = None,
    loss_fn: Callable[[Tensor, Tensor], Tensor] | None = None,
) -> dict[str, float]:
    """Mean loss and accuracy of ``model`` over every batch of ``loader`` (in eval mode).

    Args:
        model: ``(B, C, H, W) -> (B, K)``.
        loader: yields ``(images, labels (B,))``, or a :class:`LabeledData`.
        device: default: where the model's parameters are.
        loss_fn: default cross-entropy.

    Returns:
        ``{"loss": float, "acc": float}`` (accuracy in ``[0, 1]``, NaN for non-class targets).

    >>> from cnnlab.data import shapes
    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 10))
    >>> sorted(evaluate(net, shapes(20, size=8)))
    ['acc', 'loss']
    """
    batches = _as_batches(loader, "loader")
    dev = torch.device(device) if device is not None else _model_device(model)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    total, correct, seen, counted = 0.0, 0, 0, 0
    with _state.evaluating(model), torch.no_grad():  # each module's own mode comes back
        for x, y in batches:
            x, y = x.to(dev), y.to(dev)
            scores = model(x)
            n = int(y.shape[0])
            total += float(loss_fn(scores, y)) * n
            seen += n
            if _has_accuracy(scores, y):
                correct += _correct(scores, y)
                counted += n
    if seen == 0:
        raise ValueError("loader yielded no batches")
    return {"loss": total / seen, "acc": correct / counted if counted else math.nan}


def predict(
    model: nn.Module,
    data: Tensor | LabeledData | Iterable[tuple[Tensor, Tensor]],
    device: torch.device | str | None = None,
    batch_size: int = 256,
) -> tuple[Tensor, Tensor]:
    """Predicted classes and class probabilities (softmax), on the CPU.

    Args:
        model: ``(B, C, H, W) -> (B, K)``.
        data: images ``(N, C, H, W)``, one image ``(C, H, W)`` (treated as ``N = 1``), a
            :class:`LabeledData` or batches of ``(images, labels)``.
        device: default: where the model's parameters are.
        batch_size: images per forward pass when ``data`` is a tensor.

    Returns:
        ``(pred (N,) long, prob (N, K) float)``.

    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    >>> pred, prob = predict(net, torch.zeros(5, 1, 2, 2))
    >>> pred.shape, prob.shape
    (torch.Size([5]), torch.Size([5, 3]))
    """
    if isinstance(data, Tensor):
        if data.ndim == 3:
            data = data.unsqueeze(0)
        if data.ndim != 4:
            raise ValueError(
                f"images must be (N, C, H, W) or (C, H, W), got shape {tuple(data.shape)}"
            )
        batch_size = _checks.as_int(batch_size, "batch_size", minimum=1)
        chunks: Iterable[Any] = ((chunk,) for chunk in data.split(batch_size))
    else:
        chunks = _as_batches(data, "data")
    dev = torch.device(device) if device is not None else _model_device(model)
    probs = []
    with _state.evaluating(model), torch.no_grad():  # each module's own mode comes back
        for batch in chunks:
            x = batch[0].to(dev)
            scores = model(x)
            if not isinstance(scores, Tensor) or scores.ndim != 2 or scores.shape[0] != len(x):
                got = tuple(scores.shape) if isinstance(scores, Tensor) else type(scores).__name__
                raise ValueError(
                    f"predict needs a classifier whose output is (N, classes) scores, got {got} "
                    f"for a batch of {len(x)}"
                )
            probs.append(torch.softmax(scores.float(), dim=1).cpu())
    prob = torch.cat(probs)
    return prob.argmax(1), prob


def confusion_matrix(y_true: Any, y_pred: Any, num_classes: int) -> np.ndarray:
    """Count how often class ``i`` (row) was predicted as class ``j`` (column).

    Args:
        y_true, y_pred: class indices ``(N,)`` (tensors, arrays or lists) in ``[0, num_classes)``.
        num_classes: ``K``.

    Returns:
        int64 array ``(K, K)``; the diagonal holds the correct predictions.

    >>> confusion_matrix([0, 1, 1], [0, 1, 0], 2)
    array([[1, 0],
           [1, 1]])
    """
    num_classes = _checks.as_int(num_classes, "num_classes", minimum=1)
    t = np.asarray(y_true.cpu() if isinstance(y_true, Tensor) else y_true).reshape(-1)
    p = np.asarray(y_pred.cpu() if isinstance(y_pred, Tensor) else y_pred).reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must have the same length, got {t.size} and {p.size}")
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.size and (
            not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= num_classes
        ):
            raise ValueError(
                f"{name} must hold class indices in [0, {num_classes}), got {a.dtype} "
                f"values in [{a.min()}, {a.max()}]"
            )
    return np.bincount(t * num_classes + p, minlength=num_classes**2).reshape(
        num_classes, num_classes
    )


# ---------------------------------------------------------------------------------------------
# Curves while training
# ---------------------------------------------------------------------------------------------


class LivePlot:
    """A :func:`fit` callback that redraws the loss and accuracy curves after every epoch.

    In a notebook the figure is drawn below the progress bar and updated in place; pass an
    ``ipywidgets.Output`` to draw into a widget instead. Outside a notebook it only keeps
    :attr:`figure` up to date.

    Args:
        output: an ``ipywidgets.Output`` (optional).
        every: redraw every this many epochs (and always after the last one recorded).

    >>> plot = LivePlot()
    >>> plot(1, {"epoch": [1.0], "train_loss": [1.0], "train_acc": [0.5],
    ...          "val_loss": [1.1], "val_acc": [0.4], "time": [0.1]}, nn.Linear(1, 1))
    False
    >>> len(plot.figure.axes)
    2
    """

    def __init__(self, output: Any = None, *, every: int = 1) -> None:
        every = _checks.as_int(every, "every", minimum=1)
        self.output = output
        self.every = every
        self.figure: Any = None
        self._handle: Any = None

    def __call__(self, epoch: int, history: History, model: nn.Module) -> bool:
        if epoch % self.every == 0:
            self.draw(history)
        return False

    def draw(self, history: History) -> Any:
        """Draw ``history`` (loss left, accuracy right) and show it; returns the Figure."""
        from matplotlib.figure import Figure

        missing = [k for k in ("epoch", "train_loss", "val_loss") if k not in history]
        if missing:
            raise ValueError(f"history lacks {missing}; expected the keys {HISTORY_KEYS}")
        fig = Figure(figsize=(8, 3), dpi=100)
        epochs = history["epoch"]
        for ax, metric, label in zip(
            fig.subplots(1, 2), ("loss", "acc"), ("loss", "accuracy"), strict=True
        ):
            for split, style in (("train", "-"), ("val", "--")):
                values = history.get(f"{split}_{metric}", [])
                if values and not all(math.isnan(v) for v in values):
                    ax.plot(epochs, values, style, marker="o", markersize=3, label=split)
            ax.set_xlabel("epoch")
            ax.set_ylabel(label)
            ax.set_title(label)
            if ax.lines:
                ax.legend()
        fig.tight_layout()
        self.figure = fig
        self._show(fig)
        return fig

    def _show(self, fig: Any) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import Image, display
        except ImportError:  # pragma: no cover - IPython ships with Jupyter
            return
        if self.output is None and get_ipython() is None:
            return
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        image = Image(data=buffer.getvalue(), format="png")
        if self.output is not None:
            with self.output:
                self.output.clear_output(wait=True)
                display(image)
        elif self._handle is None:
            self._handle = display(image, display_id=True)
        else:
            self._handle.update(image)



def __getattr__(name: str) -> Any:
    # train_lenet lives beside LeNet5 and uses fit; it is loaded on first use, so that importing
    # this module does not import every model.
    if name == "train_lenet":
        from cnnlab.models.lenet import train_lenet

        return train_lenet
    if name == "EarlyStopping":
        from cnnlab.early_stopping import EarlyStopping

        return EarlyStopping
    raise AttributeError(f"module 'cnnlab.train' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "train_lenet", "EarlyStopping"])

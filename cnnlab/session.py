"""Starting a notebook: the device, the seeds, the run profile, in one call to :func:`setup`.

:func:`setup` picks the device (CUDA, then Apple's MPS, then the CPU), seeds every random
generator and chooses a *profile*: ``quick`` on a CPU (small data, few epochs: what the book and
CI run) or ``full`` on a GPU. Work that is slow on a CPU reads its sizes from the profile, e.g.
``ctx.profile.pick(quick=3, full=30)``.

>>> ctx = setup(seed=0)  # doctest: +SKIP
cnnlab 0.1.0 | device: cpu | profile: quick | seed: 0
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch

import cnnlab
from cnnlab import _checks

__all__ = [
    "Context",
    "Profile",
    "device",
    "profile",
    "seed_everything",
    "setup",
    "smoke",
    "glue",
    "show_code",
    "PROFILES",
]

T = TypeVar("T")
def device() -> torch.device:
    """The fastest device available: CUDA, then Apple's MPS, then the CPU.

    >>> device().type in ("cuda", "mps", "cpu")
    True
    """
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int, *, deterministic: bool = False) -> None:
    """Seed Python's, NumPy's and PyTorch's generators (CPU and every GPU).

    On a CPU that is enough for the same seed to give the same training run, bit for bit, at
    the same thread count: the kernels a conv net uses there (convolution, matrix products,
    pooling, their gradients) are deterministic. A different thread count splits the sums
    differently and changes the last bits; on a GPU cuDNN may pick nondeterministic kernels.
    ``deterministic=True`` asks PyTorch for deterministic algorithms everywhere through its
    public switch, ``torch.use_deterministic_algorithms(True, warn_only=True)``: a process-wide
    setting that stays on (and whose first call imports PyTorch's compiler, seconds on a laptop),
    so it is left to the caller to ask for it.

    Args:
        seed: an int in ``[0, 2**32)``.
        deterministic: also switch PyTorch to deterministic algorithms.

    >>> seed_everything(0); a = torch.rand(1); seed_everything(0); bool(a == torch.rand(1))
    True
    """
    seed = _checks.as_int(seed, "seed", 0, 2**32 - 1)
    if not isinstance(deterministic, bool):
        raise TypeError(f"deterministic must be True or False, got {type(deterministic).__name__}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)


@dataclass(frozen=True)
class Profile:
    """How much work a notebook does: ``quick`` (CPU, CI, the stored book) or ``full`` (GPU).

    Attributes:
        name: ``"quick"`` or ``"full"``.
        epochs: epochs of a lab's main training run.
        batch_size: images per batch.
        train_limit: at most this many training images (``None``: all).
        test_limit: at most this many test images (``None``: all).
    """

    name: str
    epochs: int
    batch_size: int
    train_limit: int | None
    test_limit: int | None

    def pick(self, quick: T, full: T) -> T:
        """``quick`` in the quick profile, ``full`` in the full one.

        >>> PROFILES["quick"].pick(3, 30)
        3
        """
        return quick if self.name == "quick" else full


PROFILES = {
    "quick": Profile("quick", epochs=5, batch_size=128, train_limit=5000, test_limit=1000),
    "full": Profile("full", epochs=20, batch_size=256, train_limit=None, test_limit=None),
}


def profile() -> Profile:
    """The run profile: ``$CNNLAB_PROFILE`` if set, else ``full`` on CUDA and ``quick`` otherwise.

    Apple's MPS gets ``quick`` too: small convolutional networks rarely run faster there than on
    the CPU. Set ``CNNLAB_PROFILE=full`` to override.

    >>> profile().name in ("quick", "full")
    True
    """
    forced = os.environ.get("CNNLAB_PROFILE", "").strip().lower()
    if forced:
        if forced not in PROFILES:
            raise ValueError(f"CNNLAB_PROFILE must be 'quick' or 'full', got {forced!r}")
        return PROFILES[forced]
    return PROFILES["full" if device().type == "cuda" else "quick"]


@dataclass(frozen=True)
class Context:
    """What :func:`setup` chose: ``device``, ``profile``, ``seed``, ``threads`` and ``smoke``.

    ``seed_source`` says where the seed came from (``"argument"`` or ``"CNNLAB_SEED"``) and
    ``threads_source`` who set the CPU thread count (``"OMP_NUM_THREADS"`` or ``"cnnlab"``).
    """

    device: torch.device
    profile: Profile
    seed: int
    threads: int = 1
    smoke: bool = False
    seed_source: str = "argument"
    threads_source: str = "OMP_NUM_THREADS"

    def __str__(self) -> str:
        seed = f"{self.seed} (from CNNLAB_SEED)" if self.seed_source == "CNNLAB_SEED" else self.seed
        line = (
            f"cnnlab {cnnlab.__version__} | device: {self.device.type} | "
            f"profile: {self.profile.name} | seed: {seed}"
        )
        # Said only when cnnlab chose it, so a run under OMP_NUM_THREADS prints what it always did.
        if self.threads_source == "cnnlab":
            line += f" | threads: {self.threads}"
        if self.smoke:
            line += " | smoke run (CNNLAB_SMOKE=1): a few batches per training run"
        return line


def smoke() -> bool:
    """True under ``CNNLAB_SMOKE=1``: a check that the code runs, not a measurement.

    The profile's data, model sizes and code paths stay as they are, but every training run
    (:func:`cnnlab.train.fit` and the recipes built on it) stops after a few batches per epoch,
    so accuracies mean nothing: a notebook skips the asserts that need a full run with
    ``if not cnnlab.session.smoke(): ...`` (or ``ctx.smoke``).

    >>> smoke() in (True, False)
    True
    """
    value = os.environ.get("CNNLAB_SMOKE", "").strip()
    if value not in ("", "0", "1"):
        raise ValueError(f"CNNLAB_SMOKE must be 0 or 1, got {value!r}")
    return value == "1"


def _threads() -> tuple[int, str]:
    """CPU threads for PyTorch: ``OMP_NUM_THREADS`` if set, else ``min(cores, 4)``.

    More threads than cores (or than a small network can use) make a notebook slower, not
    faster, when several kernels share a machine."""
    if os.environ.get("OMP_NUM_THREADS", "").strip():
        return torch.get_num_threads(), "OMP_NUM_THREADS"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 4)), "cnnlab"


def setup(seed: int = 0, *, verbose: bool = True) -> Context:
    """Start a notebook: seed everything, pick device, profile and threads, print them.

    ``CNNLAB_SEED`` (an int), when set, overrides ``seed`` and the printed line says so: the
    same notebook can then be run under several seeds without editing it.
    ``CNNLAB_SMOKE=1`` turns on :func:`smoke` runs (``ctx.smoke``).

    >>> ctx = setup(seed=0)  # doctest: +SKIP
    cnnlab 0.1.0 | device: cpu | profile: quick | seed: 0
    >>> ctx.device, ctx.profile.name  # doctest: +SKIP
    (device(type='cpu'), 'quick')
    """
    source = "argument"
    forced = os.environ.get("CNNLAB_SEED", "").strip()
    if forced:
        try:
            seed = int(forced)
        except ValueError:
            raise ValueError(f"CNNLAB_SEED must be an int, got {forced!r}") from None
        source = "CNNLAB_SEED"
    threads, threads_source = _threads()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    seed_everything(seed)
    ctx = Context(device=device(), profile=profile(), seed=seed, threads=threads, smoke=smoke(),
                  seed_source=source, threads_source=threads_source)
    if verbose:
        print(ctx)
    return ctx


def glue(name: str, value: Any, *, display: bool = False) -> None:
    """Hand a value computed in a notebook to the book's prose, where it appears as
    ``{glue:text}`name``` (or ``{glue:text}`name:.1%``` with a format).

    The book is built with MyST-NB, whose ``glue`` stores the value in the cell's output; in a
    plain Jupyter or Colab session without MyST-NB nothing needs storing, so the value is only
    shown when ``display`` is true. Either way the page and the notebook quote the same run.

    >>> glue("answer", 42)  # doctest: +SKIP
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"glue name must be a non-empty string, got {name!r}")
    if isinstance(value, np.generic):  # np.float64(0.9) would reach the page as its repr
        value = value.item()
    try:
        from myst_nb import glue as _myst_glue
    except ImportError:
        if display:
            from IPython.display import display as _show

            _show(value)
        return
    _myst_glue(name, value, display=display)


def show_code(obj: Any) -> None:
    """Print the source of a cnnlab class or function as installed, without its docstring, so a
    chapter shows the very code its cells run (no second copy in the page to drift).

    A function typed at a prompt has no source file to read, so the example is not run:

    >>> def double(x):
    ...     'Twice x.'
    ...     return 2 * x
    >>> show_code(double)  # doctest: +SKIP
    def double(x):
        return 2 * x
    """
    import ast
    import inspect
    import textwrap

    if not (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismethod(obj)):
        raise TypeError(f"show_code expects a class or a function, got {type(obj).__name__}")
    source = textwrap.dedent(inspect.getsource(obj))
    lines = source.splitlines()
    node = ast.parse(source).body[0]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and (
            ast.get_docstring(node) is not None):
        first = node.body[0]
        del lines[first.lineno - 1 : first.end_lineno]
    print("\n".join(lines))

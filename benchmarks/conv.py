"""How fast is cnnlab.ops next to PyTorch? Ratios measured in one process, float32, CPU.

    .venv/bin/python benchmarks/conv.py [--repeats 15]

``make bench`` runs it twice: as the environment is, and with OPENBLAS_CORETYPE and
OPENBLAS_L2_SIZE unset for that one command. Some machines set those variables to pin
OpenBLAS to an older kernel (Haswell: AVX2) because old OpenBLAS builds misbehave on their
processor; NumPy's matrix product, which conv2d spends most of its time in, then runs at half
the speed the processor allows while PyTorch's convolution still uses AVX-512. The header
line says which kernel ran.

Cases: conv2d on a (32, 64, 32, 32) batch with 64 3x3 kernels and padding 1 (the layer of a
small VGG), the same with stride 2 (conv2d's general im2col route), max_pool2d 2x2/2 and 3x3/2
on the same batch, and conv2d_naive, the loop version, timed on a single image and scaled to
the batch of 32 (its cost is linear in the batch). Each case is timed at 1 thread
(torch.set_num_threads(1) and NumPy's BLAS limited to 1 thread with threadpoolctl) and at 2
threads (this machine's cores). Calls alternate between cnnlab and
PyTorch so that a busy machine slows both alike; the table shows the best time of each and
the ratio cnnlab / PyTorch (1.0 = as fast, 2.0 = twice as slow).

Bars, at 1 thread: conv2d 3x3 pad 1 at most 2x PyTorch, max_pool2d at most 3x. A missed bar
exits with status 1. ``--report-only`` prints the same table and the verdict but exits 0: make
bench uses it for the run with the pinned kernel, whose matrix product alone is slower than the
bar (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_info, threadpool_limits

from cnnlab import ops


def best_times(calls: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """Best wall time of each call, calling them in turn (after one warm-up call each)."""
    for call in calls.values():
        call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeats):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


CONV_BAR = 2.0  # conv2d 3x3, padding 1, 1 thread: cnnlab time / PyTorch time
POOL_BAR = 3.0  # max_pool2d 2x2/2 and 3x3/2, 1 thread


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--report-only", action="store_true",
                        help="print the verdict but exit 0 when a bar is missed")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 64, 32, 32)).astype(np.float32)
    w = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    b = rng.standard_normal(64).astype(np.float32)
    xt, wt, bt = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
    np.testing.assert_allclose(ops.conv2d(x, w, b, padding=1),
                               F.conv2d(xt, wt, bt, padding=1).numpy(), rtol=1e-3, atol=1e-3)
    np.testing.assert_array_equal(ops.max_pool2d(x, 3, 2), F.max_pool2d(xt, 3, 2).numpy())

    blas = ", ".join(f"{pool['internal_api']} {pool.get('architecture', '')}".strip()
                     for pool in threadpool_info() if pool["user_api"] == "blas")
    print(f"cnnlab.ops vs torch {torch.__version__} | numpy {np.__version__} ({blas}) | "
          f"{platform.machine()}, {os.cpu_count()} cores | float32, best of {args.repeats}")
    pinned = {k: v for k, v in os.environ.items() if k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    if pinned:
        print("OpenBLAS pinned by the environment: "
              + ", ".join(f"{k}={v}" for k, v in pinned.items()))
    header = f"{'case':<44}{'threads':>8}{'cnnlab ms':>11}{'torch ms':>10}{'ratio':>8}"
    print(header)
    print("-" * len(header))

    one = x[:1]  # conv2d_naive is timed on one image
    default_threads = torch.get_num_threads()
    ratios: dict[tuple[str, int], float] = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        limit = threadpool_limits(1) if threads == 1 else nullcontext()
        with limit:
            cases = {
                "conv2d 32x64x32x32, 64 3x3, pad 1": (
                    lambda: ops.conv2d(x, w, b, padding=1),
                    lambda: F.conv2d(xt, wt, bt, padding=1)),
                "conv2d, stride 2, pad 1 (im2col route)": (
                    lambda: ops.conv2d(x, w, b, stride=2, padding=1),
                    lambda: F.conv2d(xt, wt, bt, stride=2, padding=1)),
                "max_pool2d 2x2 stride 2": (
                    lambda: ops.max_pool2d(x, 2), lambda: F.max_pool2d(xt, 2)),
                "max_pool2d 3x3 stride 2": (
                    lambda: ops.max_pool2d(x, 3, 2), lambda: F.max_pool2d(xt, 3, 2)),
            }
            for name, (ours, theirs) in cases.items():
                best = best_times({"ours": ours, "torch": theirs}, args.repeats)
                ratios[name, threads] = best["ours"] / best["torch"]
                print(f"{name:<44}{threads:>8}{1e3 * best['ours']:>11.2f}"
                      f"{1e3 * best['torch']:>10.2f}{best['ours'] / best['torch']:>8.2f}")

            # The loop version: one image, then x32 (the loops are linear in the batch).
            best = best_times({"ours": lambda: ops.conv2d_naive(one, w, b, padding=1),
                               "torch": lambda: F.conv2d(xt, wt, bt, padding=1)},
                              max(2, args.repeats // 5))
            naive_batch = 32 * best["ours"]
            print(f"{'conv2d_naive (1 image, x32 extrapolated)':<44}{threads:>8}"
                  f"{1e3 * naive_batch:>11.0f}{1e3 * best['torch']:>10.2f}"
                  f"{naive_batch / best['torch']:>8.0f}")
    torch.set_num_threads(default_threads)

    conv = ratios["conv2d 32x64x32x32, 64 3x3, pad 1", 1]
    pool = max(ratios["max_pool2d 2x2 stride 2", 1], ratios["max_pool2d 3x3 stride 2", 1])
    missed = [f"{what} {ratio:.2f}x > {bar:g}x" for what, ratio, bar in
              (("conv2d", conv, CONV_BAR), ("max_pool2d", pool, POOL_BAR)) if ratio > bar]
    print(f"bars at 1 thread: conv2d {conv:.2f}x (<= {CONV_BAR:g}), "
          f"max_pool2d {pool:.2f}x (<= {POOL_BAR:g}): "
          + ("FAIL: " + "; ".join(missed) if missed else "PASS"))
    if missed and args.report_only:
        print("(--report-only: exit status 0 although a bar was missed)")
        return 0
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

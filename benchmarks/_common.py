"""Shared set-up for the benchmark scripts: one BLAS thread and a best-of timer."""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # 2-thread timings collapse when the machine is shared

import time  # noqa: E402
from collections.abc import Callable  # noqa: E402


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """The fastest of ``repeat`` runs of ``fn``, in seconds."""
    return best_of_each(fn, repeat=repeat)[0]


def best_of_each(*fns: Callable[[], object], repeat: int = 5) -> list[float]:
    """The fastest of ``repeat`` runs of each function, the functions taking turns.

    Taking turns, rather than timing one function and then the next, keeps a slower spell of a
    shared machine from landing on one side of a comparison only.
    """
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def torch_or_none():
    """PyTorch pinned to one thread, or ``None`` when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch

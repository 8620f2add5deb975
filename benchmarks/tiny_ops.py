"""Per-operation overhead: ``(a*b + c).sum().backward()`` on 16-element arrays.

Runs 10,000 iterations with tinygrad_mlp and, when installed, with PyTorch on the CPU
(1 thread), and prints the time per iteration and the ratio.

    python benchmarks/tiny_ops.py
"""

from __future__ import annotations

import _common  # noqa: F401  (pins BLAS threads before numpy loads)
import numpy as np

from tinygrad_mlp import Value

ITERATIONS = 10_000


def run_tinygrad() -> None:
    rng = np.random.default_rng(0)
    a, b, c = (Value(rng.standard_normal(16)) for _ in range(3))
    for _ in range(ITERATIONS):
        (a * b + c).sum().backward()


def run_torch(torch) -> None:
    a, b, c = (torch.randn(16, dtype=torch.float64, requires_grad=True) for _ in range(3))
    for _ in range(ITERATIONS):
        (a * b + c).sum().backward()


def main() -> None:
    ours = _common.best_of(run_tinygrad) / ITERATIONS
    print(f"tinygrad_mlp: {ours * 1e6:7.2f} us per iteration")
    torch = _common.torch_or_none()
    if torch is None:
        print("PyTorch not installed: pip install torch==2.13.0 to compare")
        return
    theirs = _common.best_of(lambda: run_torch(torch)) / ITERATIONS
    print(f"PyTorch CPU : {theirs * 1e6:7.2f} us per iteration (torch {torch.__version__})")
    print(f"ratio tinygrad_mlp / PyTorch: {ours / theirs:.2f}x (target: at most 0.50x)")


if __name__ == "__main__":
    main()

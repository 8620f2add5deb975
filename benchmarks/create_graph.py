"""What one ``backward(create_graph=True)`` costs next to a plain ``backward()``.

The digits MLP of ``digits_mlp.py`` (64-128-64-10, ReLU, cross-entropy, float32) on one batch
of 64 samples: the forward pass, then either backward.  Each figure is the best of several
runs; the two take turns.  (A create_graph pass records the backward as operations, in the
shared walk of ``tinygrad_mlp.engine.higher``; the first-order pass is the engine's own.)

    python benchmarks/create_graph.py
"""

from __future__ import annotations

import _common  # noqa: F401  (pins BLAS threads before numpy loads)
import numpy as np

from tinygrad_mlp import MLP
from tinygrad_mlp.data import load_digits, standardize
from tinygrad_mlp.functional import cross_entropy

REPEAT = 50


def main() -> None:
    X, y = load_digits()
    X = standardize(X)[0].astype(np.float32)[:64]
    y = y[:64]
    model = MLP(64, [128, 64, 10], seed=0, dtype=np.float32)

    def plain() -> None:
        model.zero_grad()
        cross_entropy(model(X), y).backward()

    def with_graph() -> None:
        model.zero_grad()
        cross_entropy(model(X), y).backward(create_graph=True)

    t_plain, t_graph = _common.best_of_each(plain, with_graph, repeat=REPEAT)
    print(f"forward + backward():                  {t_plain * 1e3:6.2f} ms")
    print(f"forward + backward(create_graph=True): {t_graph * 1e3:6.2f} ms "
          f"({t_graph / t_plain:.1f}x)")


if __name__ == "__main__":
    main()

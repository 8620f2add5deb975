"""micrograd's demo step in the vectorized call style, next to a hand-written numpy step.

One step: ``MLP(2, [16, 16, 1])`` on all 100 moons points as one array, hinge loss plus 1e-4
L2, ``backward()``, SGD update.  The numpy version is the floor any numpy framework can reach;
the target for tinygrad_mlp is at most 2x that.

    python benchmarks/moons_step.py
"""

from __future__ import annotations

import _common  # noqa: F401  (pins BLAS threads before numpy loads)
import numpy as np

from tinygrad_mlp import MLP
from tinygrad_mlp.data import make_moons
from tinygrad_mlp.functional import hinge_loss, l2_penalty
from tinygrad_mlp.optim import SGD

STEPS = 200
ALPHA = 1e-4


def run_tinygrad(X, y, init) -> float:
    model = MLP(2, [16, 16, 1])
    for p, w in zip(model.parameters(), init):
        p.data[...] = w
    opt = SGD(model.parameters(), lr=lambda k: 1.0 - 0.9 * k / STEPS)
    for _ in range(STEPS):
        loss = hinge_loss(model(X), y) + l2_penalty(model.parameters(), ALPHA)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return loss.data


def run_numpy(X, y, init) -> float:
    W1, b1, W2, b2, W3, b3 = (w.copy() for w in init)
    params = [W1, b1, W2, b2, W3, b3]
    t = y.reshape(-1, 1)
    n = len(X)
    for k in range(STEPS):
        z1 = X @ W1.T + b1
        a1 = np.maximum(z1, 0)
        z2 = a1 @ W2.T + b2
        a2 = np.maximum(z2, 0)
        s = a2 @ W3.T + b3
        margin = 1 - t * s
        loss = np.maximum(margin, 0).mean() + ALPHA * sum((p * p).sum() for p in params)
        g = -(t * (margin > 0)) / n
        gW3, gb3 = g.T @ a2, g.sum(0)
        g = (g @ W3) * (z2 > 0)
        gW2, gb2 = g.T @ a1, g.sum(0)
        g = (g @ W2) * (z1 > 0)
        gW1, gb1 = g.T @ X, g.sum(0)
        lr = 1.0 - 0.9 * k / STEPS
        for p, gp in zip(params, (gW1, gb1, gW2, gb2, gW3, gb3)):
            p -= lr * (gp + 2 * ALPHA * p)
    return float(loss)


def main() -> None:
    X, y = make_moons(100, noise=0.1, random_state=1)
    y = y * 2 - 1
    init = [p.data.copy() for p in MLP(2, [16, 16, 1], seed=0).parameters()]
    losses = {}
    floor, ours = _common.best_of_each(
        lambda: losses.__setitem__("numpy", run_numpy(X, y, init)),
        lambda: losses.__setitem__("ours", run_tinygrad(X, y, init)),
    )
    print(f"numpy floor : {floor / STEPS * 1e6:7.1f} us per step (final loss {losses['numpy']:.6f})")
    print(f"tinygrad_mlp: {ours / STEPS * 1e6:7.1f} us per step (final loss {losses['ours']:.6f})")
    print(f"ratio {ours / floor:.2f}x the floor (target: at most 2x)")


if __name__ == "__main__":
    main()

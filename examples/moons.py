"""micrograd's demo: a binary classifier on two moons, trained with the SVM max-margin loss.

``MLP(2, [16, 16, 1])`` (ReLU hidden layers, linear output), hinge loss plus 1e-4 L2, and SGD
with the learning rate ``1.0 - 0.9 * k / steps`` — in either call style:

* ``--style vectorized`` (default): the whole data set as one ``(100, 2)`` array per step;
* ``--style scalar``: one scalar graph per sample, one node per weight, as micrograd does.

Both give the same numbers.  With matplotlib installed, ``--plot FILE`` saves the decision
boundary.

    python examples/moons.py [--style scalar] [--steps 100] [--plot moons.png]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tinygrad_mlp import MLP
from tinygrad_mlp.data import make_moons
from tinygrad_mlp.functional import accuracy, hinge_loss, l2_penalty
from tinygrad_mlp.nn import stack
from tinygrad_mlp.optim import SGD


def scores_of(model: MLP, X: np.ndarray, style: str):
    if style == "scalar":
        return stack([model(list(x)) for x in X.tolist()])
    return model(X)


def train(style: str = "vectorized", steps: int = 100, seed: int = 0) -> tuple[MLP, float]:
    X, y = make_moons(100, noise=0.1, random_state=seed)
    y = y * 2 - 1  # labels -1 and 1 for the max-margin loss
    model = MLP(2, [16, 16, 1], seed=seed)
    optimizer = SGD(model.parameters(), lr=lambda k: 1.0 - 0.9 * k / steps)
    for k in range(steps):
        scores = scores_of(model, X, style)
        loss = hinge_loss(scores, y) + l2_penalty(model.parameters(), 1e-4)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if k % 10 == 0 or k == steps - 1:
            print(f"step {k:3d}  loss {loss.data:.4f}  accuracy {accuracy(scores.data, y):.0%}")
    return model, accuracy(scores_of(model, X, "vectorized").data, y)


def plot_boundary(model: MLP, path: str, seed: int = 0) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = make_moons(100, noise=0.1, random_state=seed)
    xx, yy = np.meshgrid(np.linspace(-2, 3, 200), np.linspace(-1.5, 2, 200))
    Z = model(np.column_stack([xx.ravel(), yy.ravel()])).data.reshape(xx.shape)
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.contourf(xx, yy, Z > 0, cmap=plt.cm.Spectral, alpha=0.8)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=20, cmap=plt.cm.Spectral, edgecolors="k")
    ax.set_title("decision boundary")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", choices=("vectorized", "scalar"), default="vectorized")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="FILE", help="save the decision boundary (matplotlib)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    model, acc = train(args.style, args.steps, args.seed)
    print(f"final training accuracy {acc:.0%} ({args.style} style, "
          f"{time.perf_counter() - t0:.2f} s)")
    if args.plot:
        plot_boundary(model, args.plot, args.seed)
    return acc


if __name__ == "__main__":
    main()

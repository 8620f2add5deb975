"""Regression of a noisy 1-D function (``sin(3x) + 0.5x``) with a tanh MLP and the MSE loss.

    python examples/regression.py [--epochs 300] [--plot regression.png]
"""

from __future__ import annotations

import argparse

import numpy as np

from tinygrad_mlp import MLP
from tinygrad_mlp.data import make_regression_1d, train_test_split
from tinygrad_mlp.optim import Adam
from tinygrad_mlp.train import evaluate, fit, predict


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="FILE", help="save the fit (matplotlib)")
    args = parser.parse_args(argv)

    X, y = make_regression_1d(200, noise=0.1, random_state=args.seed)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    model = MLP(1, [32, 32, 1], activation="tanh", seed=args.seed)
    fit(model, X_train, y_train, loss="mse", optimizer=Adam(model.parameters(), lr=0.01),
        epochs=args.epochs, batch_size=32, metrics=(), seed=args.seed)
    mse = evaluate(model, X_test, y_test, loss="mse", metrics=())["loss"]
    print(f"test MSE {mse:.4f} (noise variance {0.1 ** 2:.4f})")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        grid = np.linspace(-2, 2, 200)[:, None]
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.scatter(X_train, y_train, s=10, label="training data")
        ax.plot(grid, predict(model, grid), color="C3", label="model")
        ax.legend()
        fig.savefig(args.plot, dpi=120, bbox_inches="tight")
        print(f"wrote {args.plot}")
    return mse


if __name__ == "__main__":
    main()

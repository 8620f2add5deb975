"""Hyperparameter search: the note's learning rate, hidden layers, neurons and activation.

Hyperparameters are not learned from the data, they are chosen: here by training one MLP per
combination on the spirals and scoring each on held-out validation data.

    python examples/hyperparameter_search.py [--epochs 60]
"""

from __future__ import annotations

import argparse

from tinygrad_mlp.data import make_spirals
from tinygrad_mlp.train import format_table, grid_search


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args(argv)

    X, y = make_spirals(400, n_classes=2, noise=0.05, random_state=0)
    rows = grid_search(
        X, y, loss="hinge", epochs=args.epochs, batch_size=32,
        lr=[0.003, 0.03], hidden_layers=[1, 2], neurons=[8, 32], activation=["relu", "tanh"],
    )
    print(format_table(rows))
    best = rows[0]
    print(f"\nbest: lr={best['lr']}, {best['hidden_layers']} hidden layer(s) of "
          f"{best['neurons']} {best['activation']} neurons, "
          f"validation accuracy {best['val_accuracy']:.0%}")
    return rows


if __name__ == "__main__":
    main()

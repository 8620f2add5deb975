"""Handwritten digits (scikit-learn's 8x8 set) with ``MLP(64, [64, 10])``, Adam and cross-entropy.

80/20 split (``random_state=0``), features standardized on the training part.

    pip install -e ".[datasets]"
    python examples/digits.py [--epochs 30] [--seed 0]
"""

from __future__ import annotations

import argparse

from tinygrad_mlp import MLP
from tinygrad_mlp.data import load_digits, standardize, train_test_split
from tinygrad_mlp.optim import Adam
from tinygrad_mlp.train import evaluate, fit


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    X_train, mean, std = standardize(X_train)
    X_test, _, _ = standardize(X_test, mean, std)

    model = MLP(64, [64, 10], seed=args.seed)
    print(model)
    history = fit(
        model, X_train, y_train, loss="cross_entropy",
        optimizer=Adam(model.parameters(), lr=args.lr), epochs=args.epochs,
        batch_size=args.batch_size, validation_data=(X_test, y_test), seed=args.seed,
    )
    test = evaluate(model, X_test, y_test, loss="cross_entropy")
    print(f"after {history.epochs} epochs: train accuracy {history['accuracy'][-1]:.4f}, "
          f"test accuracy {test['accuracy']:.4f}, test loss {test['loss']:.4f}")
    return test["accuracy"]


if __name__ == "__main__":
    main()

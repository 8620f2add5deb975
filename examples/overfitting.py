"""Overfitting, seen and fought: a too-large MLP on a few noisy points.

``MLP(1, [128, 128, 1])`` has about 17,000 weights for 20 training points: trained long enough
it learns the noise, and its validation loss climbs while its training loss keeps falling.
Three fixes are compared with it, by their validation curves:

* early stopping: stop when the validation loss has not improved for a while, keep the best
  weights;
* weight decay: AdamW pulls every weight towards zero at each step;
* dropout: while training, each hidden unit is dropped with probability 0.2 at each step, so
  no unit can rely on another to memorise a point (``MLP(..., dropout=0.2)``; evaluation
  runs without it).

Typical output: validation loss 0.54 without regularization (best seen 0.25, so it got
worse), 0.25 with early stopping, 0.22 with weight decay, 0.27 with dropout; the noise
variance is 0.25.  With dropout the training loss is measured on the thinned network, so it
stays high while the validation loss settles.

    python examples/overfitting.py [--epochs 1000] [--plot overfitting.png]
"""

from __future__ import annotations

import argparse

from tinygrad_mlp import MLP
from tinygrad_mlp.data import make_regression_1d
from tinygrad_mlp.optim import Adam, AdamW
from tinygrad_mlp.train import History, evaluate, fit

WEIGHT_DECAY = 1.0
DROPOUT = 0.2
KINDS = ("no regularization", "early stopping", "weight decay", "dropout")


def make_data(seed: int) -> tuple:
    """20 noisy training points and 200 validation points of one smooth function."""
    X_train, y_train = make_regression_1d(20, noise=0.5, random_state=seed)
    X_val, y_val = make_regression_1d(200, noise=0.5, random_state=seed + 1)
    return X_train, y_train, X_val, y_val


def run(kind: str, epochs: int, seed: int, data) -> tuple[History, float]:
    X_train, y_train, X_val, y_val = data
    model = MLP(1, [128, 128, 1], seed=seed, dropout=DROPOUT if kind == "dropout" else 0.0)
    if kind == "weight decay":
        optimizer = AdamW(model.parameters(), lr=0.003, weight_decay=WEIGHT_DECAY)
    else:
        optimizer = Adam(model.parameters(), lr=0.003)
    history = fit(
        model, X_train, y_train, loss="mse", optimizer=optimizer, epochs=epochs,
        batch_size=None, validation_data=(X_val, y_val), metrics=(), seed=seed,
        early_stopping=50 if kind == "early stopping" else None, progress=False,
    )
    return history, evaluate(model, X_val, y_val, loss="mse", metrics=())["loss"]


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="FILE", help="save the loss curves (matplotlib)")
    args = parser.parse_args(argv)
    data = make_data(args.seed)

    results, histories = {}, {}
    for kind in KINDS:
        history, val = run(kind, args.epochs, args.seed, data)
        histories[kind], results[kind] = history, val
        best = min(history["val_loss"])
        print(f"{kind:18s} final train loss {history['loss'][-1]:.4f}  "
              f"validation loss {val:.4f} (best seen {best:.4f}, {history.epochs} epochs)")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        # one panel per run (training and validation loss), then the validation curves together
        fig, axes = plt.subplot_mosaic([list(KINDS), ["all"] * len(KINDS)], figsize=(16, 7.5),
                                       height_ratios=[1, 1.2])
        for kind, history in histories.items():
            history.plot(ax=axes[kind])
            axes[kind].set_title(f"{kind}: validation {results[kind]:.3f}")
            axes[kind].set_yscale("log")
            axes[kind].set_ylim(0.02, 10)
            axes["all"].plot(history["val_loss"], label=kind)
        axes["all"].set(ylim=(0.15, 1.0), xlabel="epoch",
                        ylabel="validation loss", title="the validation curves together")
        axes["all"].axhline(0.25, color="gray", linestyle=":", label="noise variance")
        axes["all"].legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120, bbox_inches="tight")
        print(f"wrote {args.plot}")
    return results


if __name__ == "__main__":
    main()

"""The ``tinygrad-mlp`` command: ``demo``, ``train``, ``predict`` and ``graph``.

Every failure the user can cause (an unknown dataset, a malformed ``--hidden``, a missing or
corrupt model file) ends with a one-line ``error: ...`` on stderr and exit status 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from tinygrad_mlp import __version__

__all__ = ["main"]


MAX_SAMPLES = 1_000_000  # more would not fit a laptop's memory and patience


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit status 2."""


# --------------------------------------------------------------------------- argument types
def _hidden(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--hidden takes layer sizes separated by commas, like 16,16; got {text!r}"
        ) from None
    if not sizes:
        raise argparse.ArgumentTypeError("--hidden needs at least one layer size, like 16,16")
    if any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive, got {text!r}")
    return sizes


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed takes a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"--seed must be 0 or more, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _dataset_choices() -> list[str]:
    from tinygrad_mlp.data import DATASETS

    return sorted(DATASETS)


def _activation(text: str) -> str:
    from tinygrad_mlp.nn import ACTIVATIONS

    if text not in ACTIVATIONS:
        raise argparse.ArgumentTypeError(
            f"unknown activation {text!r}; valid: {', '.join(sorted(ACTIVATIONS))}"
        )
    return text


def _add_training_arguments(p: argparse.ArgumentParser, epochs: int) -> None:
    """The note's hyperparameters and the data, shared by ``demo`` and ``train``."""
    p.add_argument("--dataset", default="moons", choices=_dataset_choices(),
                   help="built-in data set (default: moons)")
    p.add_argument("--samples", type=int, default=300, help="number of samples (default: 300)")
    p.add_argument("--noise", type=float, default=0.1, help="noise of the data (default: 0.1)")
    p.add_argument("--hidden", type=_hidden, default=[16, 16],
                   help="neurons per hidden layer, e.g. 16,16 (default)")
    p.add_argument("--activation", type=_activation, default="relu",
                   help="activation of the hidden layers (default: relu)")
    p.add_argument("--lr", type=_positive_float, default=0.1, help="learning rate (default: 0.1)")
    p.add_argument("--epochs", type=int, default=epochs, help=f"epochs (default: {epochs})")
    p.add_argument("--batch-size", type=int, default=32, help="batch size (default: 32)")
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default: 0)")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (the usage is one ``--help`` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tinygrad-mlp",
        description="Train, save, run and draw small neural networks built on a tiny autograd engine.",
    )
    parser.add_argument("--version", action="version", version=f"tinygrad-mlp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    demo = sub.add_parser(
        "demo", help="train an MLP on built-in data and write plots and graphs",
        description="Train an MLP on built-in data, print its accuracy, and write the decision "
                    "boundary, the loss curves, the architecture diagram and the computation "
                    "graph of one neuron into --out.",
    )
    _add_training_arguments(demo, epochs=100)
    demo.add_argument("--out", default="tinygrad_mlp_demo",
                      help="directory for the files (default: ./tinygrad_mlp_demo)")
    demo.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    train = sub.add_parser("train", help="train an MLP on built-in data and save it",
                           description="Train an MLP on built-in data and save its weights.")
    _add_training_arguments(train, epochs=100)
    train.add_argument("--save", required=True, metavar="FILE",
                       help="where to write the model (.safetensors)")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    predict = sub.add_parser("predict", help="run a saved model on input values",
                             description="Run a saved model on one or more samples.")
    predict.add_argument("model", help="a model file written by `tinygrad-mlp train`")
    predict.add_argument("--input", nargs="+", required=True, metavar="VALUES",
                         help="one sample per argument, features separated by commas: 0.5,-1")

    try:
        from tinygrad_mlp.viz.cli import add_graph_parser
    except ImportError:  # graphviz missing: the other commands still work
        graph = sub.add_parser("graph", help="draw a computation graph (needs graphviz)")
        graph.add_argument("rest", nargs=argparse.REMAINDER)
    else:
        add_graph_parser(sub)
    return parser


# --------------------------------------------------------------------------- training
def _load_data(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, int]:
    from tinygrad_mlp.data import DATASETS

    if not 10 <= args.samples <= MAX_SAMPLES:
        raise UsageError(f"--samples must be between 10 and {MAX_SAMPLES}, got {args.samples}")
    if args.epochs < 1:
        raise UsageError(f"--epochs must be at least 1, got {args.epochs}")
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    make = DATASETS[args.dataset]
    # shapes that a small MLP separates in seconds, in the range the plots show
    kwargs: dict[str, Any] = {"random_state": args.seed}
    if args.dataset == "blobs":
        kwargs.update(cluster_std=0.3 + 2 * args.noise, center_box=(-3.0, 3.0))
    else:
        kwargs["noise"] = args.noise
    if args.dataset == "circles":
        kwargs["factor"] = 0.5
    X, y = make(args.samples, **kwargs)
    return X, y, int(y.max()) + 1


def _train(args: argparse.Namespace) -> tuple[Any, Any, np.ndarray, np.ndarray, str]:
    """Build and fit the model the arguments describe; returns (model, history, X, y, loss)."""
    from tinygrad_mlp.nn import MLP
    from tinygrad_mlp.optim import SGD, linear_decay
    from tinygrad_mlp.train import fit

    X, y, n_classes = _load_data(args)
    binary = n_classes == 2
    loss = "hinge" if binary else "cross_entropy"
    model = MLP(2, [*args.hidden, 1 if binary else n_classes], activation=args.activation,
                seed=args.seed)
    # the rate decays linearly to a tenth over the run, as in micrograd's demo: the last
    # epochs settle instead of jumping around the minimum
    steps = args.epochs * -(-int(len(X) * 0.75) // args.batch_size)
    optimizer = SGD(model.parameters(), lr=linear_decay(args.lr, args.lr / 10, steps))
    print(f"{model}\ndata: {args.dataset}, {len(X)} samples, {n_classes} classes; loss: {loss}")
    history = fit(model, X, y, loss=loss, optimizer=optimizer, epochs=args.epochs,
                  batch_size=args.batch_size, validation_split=0.25, seed=args.seed,
                  progress=False if args.no_progress else None)
    print(f"train accuracy {history['accuracy'][-1]:.1%}, "
          f"validation accuracy {history['val_accuracy'][-1]:.1%} after {history.epochs} epochs")
    return model, history, X, y, loss


def _cmd_train(args: argparse.Namespace) -> int:
    from tinygrad_mlp.io import save

    path = Path(args.save)  # checked before training, not after
    if path.is_dir():
        raise UsageError(f"--save {path} is a directory; give a file name like model.safetensors")
    if not path.parent.is_dir():
        raise UsageError(f"--save {path}: the folder {path.parent} does not exist")
    model, *_ = _train(args)
    save(model, path)
    print(f"wrote {path}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from tinygrad_mlp.io import load_model
    from tinygrad_mlp.train import predict

    model = load_model(args.model)
    rows = []
    for text in args.input:
        try:
            rows.append([float(v) for v in text.split(",")])
        except ValueError:
            raise UsageError(f"--input takes numbers separated by commas, got {text!r}") from None
        if len(rows[-1]) != model.nin:
            raise UsageError(f"the model takes {model.nin} values per sample, got {len(rows[-1])} "
                             f"in {text!r}")
    out = predict(model, np.array(rows))
    for text, row in zip(args.input, out):
        scores = ", ".join(f"{v:.6g}" for v in np.atleast_1d(row))
        label = int(row[0] > 0) if len(row) == 1 else int(np.argmax(row))
        print(f"{text} -> {scores} (class {label})")
    return 0


# --------------------------------------------------------------------------- demo
def _cmd_demo(args: argparse.Namespace) -> int:
    from tinygrad_mlp.demo import run_demo

    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out} is a file; give a folder for the demo's pictures")
    model, history, X, y, _ = _train(args)
    written, notes = run_demo(model, history, X, y, Path(args.out))
    for note in notes:
        print(note)
    print("wrote:")
    for path in written:
        print(f"  {path}")
    return 0


COMMANDS = {"demo": _cmd_demo, "train": _cmd_train, "predict": _cmd_predict}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    >>> main(["--version"])
    Traceback (most recent call last):
    ...
    SystemExit: 0
    """
    args = _parser().parse_args(argv)
    try:
        if args.command == "graph":
            try:
                from tinygrad_mlp.viz.cli import run_graph
            except ImportError:
                raise UsageError("the graph command needs the graphviz package: "
                                 "pip install graphviz") from None
            return int(run_graph(args))
        return COMMANDS[args.command](args)
    except UsageError as e:
        return _fail(str(e))
    except MemoryError:
        return _fail("not enough memory for that; try smaller sizes")
    except (ValueError, TypeError, OSError, ImportError) as e:
        # bad files and bad values reach here: one line, no traceback
        return _fail(str(e) or type(e).__name__)
    except KeyboardInterrupt:
        return _fail("interrupted")


def _fail(message: str) -> int:
    print(f"tinygrad-mlp: error: {message.splitlines()[0] if message else 'failed'}", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``tinygrad-mlp`` command: ``demo``, ``train``, ``predict`` and ``graph``.

Every failure the user can cause (an unknown dataset, a malformed ``--hidden``, a number out of
range, a missing or corrupt model file, a module of ``--import`` that fails) ends with one line
``tinygrad-mlp: error: ...`` on stderr and a non-zero exit status, never a traceback: 2 for a
bad command line, 1 when the command itself failed (training diverged, a model's output is not
finite, Graphviz missing).  Warnings are printed as one line ``tinygrad-mlp: warning: ...``.

Values may start with ``-``: ``--input -0.5,0.2``, ``--scalar -1,2``, ``graph "-a*b"``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import math
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from tinygrad_mlp import __version__

if TYPE_CHECKING:  # imported when used: watching needs the drawing modules
    from tinygrad_mlp.watch import Watch

__all__ = ["main"]

PROG = "tinygrad-mlp"

# Ranges of the numeric flags: wide enough for any lesson, narrow enough that no value runs out
# of memory or patience.
MAX_SAMPLES = 1_000_000  # more would not fit a laptop's memory and patience
MAX_EPOCHS = 100_000
MAX_WIDTH = 1024  # neurons in one layer (and inputs or outputs of `graph --mlp`)
MAX_LAYERS = 32
MAX_LR = 1_000.0
MAX_NOISE = 10.0
MAX_SEED = 2**32 - 1  # numpy's legacy seeds stop here


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit status 2."""

    status = 2


class CommandFailed(UsageError):
    """The command ran but could not do its job (training diverged...): exit status 1."""

    status = 1


# --------------------------------------------------------------------------- argument types
def _parse_number(text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def _fmt(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def _ranged(kind: type, low: float, high: float, *, above: bool = False) -> Callable[[str], Any]:
    """An argparse type: a finite number of ``kind`` from ``low`` (exclusive if ``above``) to
    ``high``, refused in one line naming the range."""
    lower = ("positive" if low == 0 else f"more than {_fmt(low)}") if above else f"{_fmt(low)} or more"
    between = (f"{lower} and at most {_fmt(high)}" if above
               else f"between {_fmt(low)} and {_fmt(high)}")

    def convert(text: str) -> Any:
        value = _parse_number(text, kind)
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number ({between}), got {text!r}")
        if value < low or (above and value == low):
            raise argparse.ArgumentTypeError(f"must be {lower}, got {text!r}")
        if value > high:
            raise argparse.ArgumentTypeError(f"must be {between}, got {text!r}")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in its own messages
    return convert


def layer_sizes(text: str, *, at_least: int = 1) -> list[int]:
    """Layer sizes separated by commas, each from 1 to :data:`MAX_WIDTH`; ValueError if not.

    ``at_least=2`` is for ``graph --mlp`` (inputs, hidden sizes..., outputs).

    >>> layer_sizes("16, 8")
    [16, 8]
    """
    try:
        sizes = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise ValueError(f"takes whole numbers separated by commas, like 16,16; got {text!r}") from None
    if len(sizes) < at_least:
        raise ValueError("needs at least one layer size, like 16,16" if at_least == 1 else
                         f"needs at least two positive sizes (inputs and outputs), got {text!r}")
    if any(n < 1 for n in sizes):
        raise ValueError(f"layer sizes must be positive, got {text!r}")
    if max(sizes) > MAX_WIDTH:
        raise ValueError(f"layer sizes must be at most {MAX_WIDTH}, got {text!r}")
    if len(sizes) - at_least + 1 > MAX_LAYERS:
        raise ValueError(f"at most {MAX_LAYERS} layers, got {len(sizes) - at_least + 1}")
    return sizes


def _hidden(text: str) -> list[int]:
    try:
        return layer_sizes(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def numbers(text: str, flag: str) -> list[float]:
    """Finite numbers separated by commas (``--input``, ``--scalar``); raises UsageError.

    >>> numbers("-0.5, 2", "--input")
    [-0.5, 2.0]
    """
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise UsageError(f"{flag} takes numbers separated by commas, got {text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise UsageError(f"{flag} takes finite numbers (no nan or inf), got {text!r}")
    return values


_seed = _ranged(int, 0, MAX_SEED)
_lr = _ranged(float, 0, MAX_LR, above=True)


def _dataset_choices() -> list[str]:
    from tinygrad_mlp.data import DATASETS

    return sorted(DATASETS)


def _activation_names() -> str:
    from tinygrad_mlp.nn import ACTIVATIONS

    return ", ".join(sorted(ACTIVATIONS))


def check_activation(name: str, flag: str = "--activation") -> str:
    """``name`` if it is a registered activation (after ``--import``), else a UsageError."""
    from tinygrad_mlp.nn import ACTIVATIONS

    if name not in ACTIVATIONS:
        raise UsageError(f"{flag}: unknown activation {name!r}; valid: {_activation_names()} "
                         "(register your own in a module and load it with --import MODULE)")
    return name


def add_import_argument(p: argparse.ArgumentParser, dest: str = "imports") -> None:
    """``--import MODULE``, repeatable, on a command (and on the main parser)."""
    p.add_argument("--import", dest=dest, action="append", default=[], metavar="MODULE",
                   help="import a Python module first (a dotted name or a path to a .py file), "
                        "e.g. one that registers an activation, loss or operation; repeatable")


def _add_training_arguments(p: argparse.ArgumentParser, epochs: int) -> None:
    """The note's hyperparameters and the data, shared by ``demo`` and ``train``."""
    p.add_argument("--dataset", default="moons", choices=_dataset_choices(), metavar="NAME",
                   help=f"built-in data set: {', '.join(_dataset_choices())} (default: moons)")
    p.add_argument("--samples", type=_ranged(int, 10, MAX_SAMPLES), default=300, metavar="N",
                   help=f"number of samples, 10 to {MAX_SAMPLES:,} (default: 300)")
    p.add_argument("--noise", type=_ranged(float, 0, MAX_NOISE), default=0.1, metavar="X",
                   help=f"noise of the data, 0 to {MAX_NOISE:g} (default: 0.1)")
    p.add_argument("--hidden", type=_hidden, default=[16, 16], metavar="SIZES",
                   help=f"neurons per hidden layer, e.g. 16,16 (default); each 1 to {MAX_WIDTH}, "
                        f"at most {MAX_LAYERS} layers")
    p.add_argument("--activation", default="relu", metavar="NAME",
                   help=f"activation of the hidden layers: {_activation_names()} "
                        "(default: relu; add your own with --import)")
    p.add_argument("--lr", type=_lr, default=0.1,
                   help=f"learning rate, more than 0 and at most {MAX_LR:g} (default: 0.1)")
    p.add_argument("--epochs", type=_ranged(int, 1, MAX_EPOCHS), default=epochs, metavar="N",
                   help=f"epochs, 1 to {MAX_EPOCHS:,} (default: {epochs})")
    p.add_argument("--batch-size", type=_ranged(int, 1, MAX_SAMPLES), default=32, metavar="N",
                   help="samples per step (default: 32)")
    p.add_argument("--seed", type=_seed, default=0, metavar="N",
                   help=f"random seed, 0 to {MAX_SEED} (default: 0)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    add_import_argument(p)


_LONG_OPTION = re.compile(r"--[A-Za-z][\w-]*(=.*)?", re.S)


def _is_value(arg: str, options: dict[str, Any]) -> bool:
    """Whether ``arg``, which starts with ``-``, is a value rather than an option.

    Only ``-h`` and ``-o`` are options of one letter, and long options are ``--`` and a
    name; so ``-0.5,0.2``, ``-1,2``, ``-a*b`` and ``--(a)`` are values (a negative number, a
    sample, expressions).

    >>> [_is_value(a, {"-h": 0, "-o": 0}) for a in ("-0.5,0.2", "-a", "-o", "--lr", "---a")]
    [True, True, False, False, True]
    """
    if len(arg) < 2 or arg[0] != "-":
        return False
    if arg[1] == "-":
        return len(arg) > 2 and not _LONG_OPTION.fullmatch(arg)
    return f"-{arg[1]}" not in options


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and that takes values starting with ``-``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {first_line(message)} (see {self.prog} --help)\n")

    def _parse_optional(self, arg_string: str) -> Any:
        # argparse reads "-0.5,0.2" and "-a" as unknown options ("expected one argument");
        # anything that starts with a single "-" and is not one of our one-letter options is
        # a value here
        if _is_value(arg_string, self._option_string_actions):
            return None
        return super()._parse_optional(arg_string)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Train, save, run and draw small neural networks built on a tiny autograd engine.",
        epilog="Each command has --help.  Numbers may be negative: --input -0.5,0.2.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}",
                        help="print the version and exit")
    add_import_argument(parser, dest="global_imports")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser,
                                help="one of: demo, train, predict, export, graph")
    sub.required = True

    demo = sub.add_parser(
        "demo", help="train an MLP on built-in data and write plots and graphs",
        description="Train an MLP on built-in data, print its accuracy, and write the decision "
                    "boundary, the loss curves, the architecture diagram and the computation "
                    "graph of one neuron into --out.",
    )
    _add_training_arguments(demo, epochs=100)
    demo.add_argument("--out", default="tinygrad_mlp_demo", metavar="FOLDER",
                      help="directory for the files (default: ./tinygrad_mlp_demo)")
    demo.add_argument("--watch", action="store_true",
                      help="also record the training and write it as training.html in --out: "
                           "one offline page replaying the run step by step")

    train = sub.add_parser("train", help="train an MLP on built-in data and save it",
                           description="Train an MLP on built-in data and save its weights. "
                                       "Nothing is saved when the training diverges.")
    _add_training_arguments(train, epochs=100)
    train.add_argument("--save", required=True, metavar="FILE",
                       help="where to write the model (.safetensors); the folder must exist")
    train.add_argument("--watch", metavar="FILE", dest="watch_file",
                       help="also record the training and write it to FILE (.html): one offline "
                            "page replaying the run step by step")

    predict = sub.add_parser("predict", help="run a saved model on input values",
                             description="Run a saved model on one or more samples.",
                             epilog="example: tinygrad-mlp predict model.safetensors "
                                    "--input -0.5,0.2 1,1 --input 0,0")
    predict.add_argument("model", help="a model file written by `tinygrad-mlp train`")
    predict.add_argument("--input", nargs="+", action="extend", required=True, metavar="VALUES",
                         help="samples, features separated by commas: --input 0.5,-1 -0.2,0.3; "
                              "several after one --input, or --input repeated")
    add_import_argument(predict)

    export = sub.add_parser("export", help="write a saved model as an ONNX file",
                            description="Write a saved model as an ONNX file (IR version 8, "
                                        "opset 17; needs the onnx package).",
                            epilog="example: tinygrad-mlp export model.safetensors "
                                   "--onnx model.onnx")
    export.add_argument("model", help="a model file written by `tinygrad-mlp train` or save()")
    export.add_argument("--onnx", required=True, metavar="FILE",
                        help="where to write the ONNX model (.onnx); the folder must exist")
    add_import_argument(export)

    try:
        from tinygrad_mlp.viz.cli import add_graph_parser
    except ImportError:  # graphviz missing: the other commands still work
        graph = sub.add_parser("graph", help="draw a computation graph (needs graphviz)")
        graph.add_argument("rest", nargs=argparse.REMAINDER,
                           help="the arguments of the graph command (install graphviz first)")
    else:
        add_graph_parser(sub)
    return parser


# --------------------------------------------------------------------------- --import
_imported_files: set[Path] = set()


def _import_module(spec: str) -> None:
    """Import a user's module by dotted name or from a ``.py`` file, for its registrations."""
    if spec.endswith(".py") or "/" in spec or os.sep in spec:
        path = Path(spec)
        if not path.is_file():
            raise UsageError(f"--import {spec}: no such file")
        if path.resolve() in _imported_files:  # given twice (before and after the command)
            return
        name = path.stem if path.stem.isidentifier() and path.stem not in sys.modules \
            else f"_tinygrad_mlp_import_{abs(hash(str(path.resolve())))}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise UsageError(f"--import {spec}: not a Python file")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module  # dataclasses and pickling look the module up by name
        try:
            module_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        _imported_files.add(path.resolve())
        return
    if not all(part.isidentifier() for part in spec.split(".")):
        raise UsageError(f"--import takes a module name like mypackage.activations or a path to "
                         f"a .py file, got {spec!r}")
    if "" not in sys.path and os.getcwd() not in sys.path:
        # as `python -m` does: a module in the current folder can be named
        sys.path.append(os.getcwd())
    try:
        importlib.import_module(spec)
    except ModuleNotFoundError as e:
        if e.name is not None and spec.split(".")[0] == e.name.split(".")[0] and (
                spec == e.name or spec.startswith(e.name + ".")):
            raise UsageError(f"--import {spec}: no module named {e.name!r} (give a module on "
                             "the Python path, or a path to a .py file)") from None
        raise


def import_modules(specs: Sequence[str]) -> None:
    """Run ``--import`` for each of ``specs``; any failure is one UsageError line."""
    for spec in specs:
        try:
            _import_module(spec)
        except (UsageError, KeyboardInterrupt):
            raise
        except BaseException as e:  # the user's code: SystemExit included
            detail = str(e).strip().splitlines()
            raise UsageError(f"--import {spec} failed: {type(e).__name__}"
                             + (f": {detail[0]}" if detail else "")) from None


# --------------------------------------------------------------------------- messages
_API_SPELLINGS = [
    (re.compile(r"collapse=['\"](\w+)['\"]"), r"--collapse \1"),
    (re.compile(r" \(for a model's scalar graph\)"), " (with --mlp and --scalar)"),
    (re.compile(r"hide_constants=True, "), ""),
    (re.compile(r"a smaller model or fewer samples"), "a smaller --mlp"),
    (re.compile(r"pass force=True"), "add --force"),
    (re.compile(r"force=True"), "--force"),
    (re.compile(r"\(?or register your own with register_activation\)?"),
     "(register yours in a module and load it with --import MODULE)"),
]


def cli_wording(message: str) -> str:
    """A library message with its Python spellings replaced by this command's flags.

    >>> cli_wording("draw less: collapse='neuron', or pass force=True")
    'draw less: --collapse neuron, or add --force'
    """
    for pattern, replacement in _API_SPELLINGS:
        message = pattern.sub(replacement, message)
    return message


def first_line(message: str, max_chars: int = 500) -> str:
    """The first non-blank line of ``message``, cut to ``max_chars`` (a value may be huge)."""
    lines = [line for line in str(message).strip().splitlines() if line.strip()]
    line = lines[0] if lines else ""
    return line if len(line) <= max_chars else line[: max_chars - 1] + "…"


def _show_warning(message: Any, category: type, filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    text = cli_wording(first_line(str(message))) or category.__name__
    print(f"{PROG}: warning: {text}", file=sys.stderr)


@contextmanager
def warnings_as_lines() -> Iterator[None]:
    """Print every warning as one line ``tinygrad-mlp: warning: ...`` (no file, no source)."""
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        yield


def fail(message: str, status: int = 2) -> int:
    """Print ``tinygrad-mlp: error: <first line of message>`` to stderr; return ``status``.

    Python spellings in a library's message become this command's flags (:func:`cli_wording`).
    """
    print(f"{PROG}: error: {cli_wording(first_line(message)) or 'failed'}", file=sys.stderr)
    return status


# --------------------------------------------------------------------------- training
def _load_data(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray, int]:
    from tinygrad_mlp.data import DATASETS

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


def _diverged(model: Any, losses: list[float]) -> str | None:
    """Why the trained model is unusable (a non-finite loss or weight), or None."""
    for epoch, value in enumerate(losses, 1):
        if not math.isfinite(value):
            return f"the loss became {value} in epoch {epoch}"
    if not all(np.isfinite(p.data).all() for p in model.parameters()):
        return "the weights became nan or inf"
    return None


def _train(args: argparse.Namespace, watch: Watch | None = None,
           ) -> tuple[Any, Any, np.ndarray, np.ndarray, str]:
    """Build and fit the model the arguments describe; returns (model, history, X, y, loss).

    ``watch``: a :class:`~tinygrad_mlp.watch.Watch` for the training page (written even when
    training diverges; when it cannot be written, a warning says so and training goes on).
    """
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
    advice = "try a smaller --lr (or another --activation)"
    try:
        # a diverging run is reported once below, not as numpy's overflow warnings
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            history = fit(model, X, y, loss=loss, optimizer=optimizer, epochs=args.epochs,
                          batch_size=args.batch_size, validation_split=0.25, seed=args.seed,
                          progress=False if args.no_progress else None,
                          # stop at the first non-finite loss: the rest would be nan too
                          callbacks=[lambda epoch, logs: math.isfinite(logs["loss"])],
                          watch=watch)
    except FloatingPointError as e:  # fit's NonFiniteLossError: its message names the cause
        if watch is not None and watch.written is not None:
            print(f"wrote {watch.written} (the run up to where it stopped)")
        raise CommandFailed(first_line(str(e)) or f"training diverged; {advice}") from None
    why = _diverged(model, history["loss"])
    if why is not None:
        raise CommandFailed(f"training diverged: {why}; {advice}")
    print(f"train accuracy {history['accuracy'][-1]:.1%}, "
          f"validation accuracy {history['val_accuracy'][-1]:.1%} after {history.epochs} epochs")
    return model, history, X, y, loss


def _cmd_train(args: argparse.Namespace) -> int:
    from tinygrad_mlp.io import save
    from tinygrad_mlp.watch import Watch

    path = _output_file("--save", args.save, "model.safetensors")  # before training, not after
    watch = None
    if args.watch_file is not None:
        page = _output_file("--watch", args.watch_file, "training.html")
        if _same_file(page, path):
            raise UsageError(f"--watch {page} is the --save file: the page would overwrite the "
                             "model; give another file name like training.html")
        watch = Watch(page)
    try:
        model, *_ = _train(args, watch)
    except CommandFailed as e:
        raise CommandFailed(f"{e}; nothing was saved to {path}") from None
    save(model, path)  # saved even when the page could not be written (fit warned)
    print(f"wrote {path}")
    if watch is not None and watch.written is not None:
        print(f"wrote {watch.written}")
    return 0


def _output_file(flag: str, name: str, example: str) -> Path:
    """Check, before any work, that ``name`` can be written: its folder exists and it is not
    a directory, a FIFO or a device."""
    from tinygrad_mlp.files import not_a_regular_file

    path = Path(name)
    kind = not_a_regular_file(path)
    if kind is not None:
        raise UsageError(f"{flag} {path} is {kind}; give a file name like {example}")
    folder = path.resolve().parent if path.is_symlink() else path.parent  # where it goes
    if not folder.is_dir():
        raise UsageError(f"{flag} {path}: the folder {folder} does not exist")
    return path


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file (through links, or the same name twice)."""
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def _cmd_predict(args: argparse.Namespace) -> int:
    from tinygrad_mlp.io import load_model
    from tinygrad_mlp.train import predict

    model = load_model(args.model)
    rows = []
    for text in args.input:
        rows.append(numbers(text, "--input"))
        if len(rows[-1]) != model.nin:
            raise UsageError(f"the model takes {model.nin} values per sample, got {len(rows[-1])} "
                             f"in {text!r}")
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # checked below
        out = np.asarray(predict(model, np.array(rows)))
    out = out.reshape(len(rows), -1)
    finite = np.isfinite(out).all(axis=1)
    for text, row, ok in zip(args.input, out, finite):
        scores = ", ".join(f"{v:.6g}" for v in row)
        if not ok:  # nan > 0 is False: it would read as class 0
            label = "not finite: no class"
        else:
            label = f"class {int(row[0] > 0) if len(row) == 1 else int(np.argmax(row))}"
        print(f"{text} -> {scores} ({label})")
    if not finite.all():
        weights_ok = all(np.isfinite(p.data).all() for p in model.parameters())
        cause = ("the inputs are too large for it" if weights_ok
                 else f"{args.model} holds nan or inf weights: train it again with a smaller --lr")
        raise CommandFailed(f"the model's output is not finite (nan or inf) for "
                            f"{int((~finite).sum())} of {len(rows)} samples: {cause}")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from tinygrad_mlp.io import export_onnx, load_model

    path = _output_file("--onnx", args.onnx, "model.onnx")  # checked before loading anything
    if _same_file(path, Path(args.model)):
        raise UsageError(f"--onnx {path} is the model file itself: the export would overwrite "
                         "the model; give another file name like model.onnx")
    export_onnx(load_model(args.model), path)
    print(f"wrote {path}")
    return 0


# --------------------------------------------------------------------------- demo
def _cmd_demo(args: argparse.Namespace) -> int:
    from tinygrad_mlp.demo import run_demo
    from tinygrad_mlp.watch import Watch

    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out} is a file; give a folder for the demo's pictures")

    watch = Watch(Path(args.out) / "training.html") if args.watch else None
    model, history, X, y, _ = _train(args, watch)
    written, notes = run_demo(model, history, X, y, Path(args.out))
    if watch is not None and watch.written is not None:
        written.append(watch.written)
    for note in notes:
        print(note)
    print("wrote:")
    for path in written:
        print(f"  {path}")
    return 0


COMMANDS = {"demo": _cmd_demo, "train": _cmd_train, "predict": _cmd_predict,
            "export": _cmd_export}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    >>> main(["--version"])
    Traceback (most recent call last):
    ...
    SystemExit: 0
    """
    args = _parser().parse_args(argv)
    try:
        with warnings_as_lines():
            import_modules([*args.global_imports, *getattr(args, "imports", [])])
            if args.command == "graph":
                try:
                    from tinygrad_mlp.viz.cli import run_graph
                except ImportError:
                    raise UsageError("the graph command needs the graphviz package: "
                                     "pip install graphviz") from None
                return int(run_graph(args))
            if hasattr(args, "activation"):  # known only now: --import may have added it
                check_activation(args.activation)
            return COMMANDS[args.command](args)
    except UsageError as e:
        return fail(str(e), e.status)
    except MemoryError:
        return fail("not enough memory for that; try smaller sizes")
    except (ValueError, TypeError, OSError, ImportError, ArithmeticError) as e:
        # bad files and bad values reach here: one line, no traceback
        return fail(str(e) or type(e).__name__)
    except KeyboardInterrupt:
        return fail("interrupted")
    except RecursionError:
        return fail("the graph is too deep to draw or run here", 1)
    except Exception as e:  # a bug: still one line, with what went wrong
        return fail(f"unexpected {type(e).__name__}: {first_line(str(e))}", 1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``graph`` command of ``tinygrad-mlp``: drawings for lecturers who do not write Python.

::

    tinygrad-mlp graph "a*b + c" --set a=2 b=-3 c=10 --backward -o graph.svg
    tinygrad-mlp graph "e = a*b; d = e + c; L = tanh(d)" --set a=2 b=-3 c=10 --animate steps.html
    tinygrad-mlp graph --mlp 3,4,4,1 -o mlp.svg

With ``--animate`` the command writes the animation only, unless ``-o`` asks for the picture
too; it never writes the default ``graph.svg`` behind the user's back.  The main
``tinygrad-mlp`` command adds this one with :func:`add_graph_parser` and runs it with
:func:`run_graph`.
"""

from __future__ import annotations

import argparse
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from tinygrad_mlp import cli as _cli
from tinygrad_mlp.viz.render import FORMATS, MAX_DPI, MIN_DPI

__all__ = ["add_graph_parser", "run_graph"]

_EPILOG = """\
examples:
  tinygrad-mlp graph "a*b + c" --set a=2 b=-3 c=10 --backward -o graph.svg
  tinygrad-mlp graph "e = a*b; d = e + c; L = tanh(d)" --set a=2 b=-3 c=10 --animate steps.html
  tinygrad-mlp graph --mlp 3,4,4,1 -o mlp.svg
  tinygrad-mlp graph --mlp 2,3,1 --scalar 0.5,-1 --backward --collapse neuron -o mlp_graph.png
  tinygrad-mlp graph --mlp 2,3,1 --scalar 0.5,-1 --animate        (writes backprop.html)
  tinygrad-mlp graph "-a*b" --set a=-2 b=3 --backward -o neg.svg

Expressions use numbers, names, + - * / **, parentheses and tanh relu sigmoid exp log abs sqrt
leaky_relu (and any operation a module of --import registers); "e = a*b; ..." names
intermediate results.  The output format follows the extension: .svg .png .pdf (Graphviz
needed) or .dot (DOT source, no Graphviz needed); the folder must exist.  --animate writes
only the animation (default backprop.html) unless -o names a picture to write as well."""


def add_graph_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``graph`` sub-command to an ``argparse`` sub-parsers object.

    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="tinygrad-mlp")
    >>> _ = add_graph_parser(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["graph", "a*b", "--set", "a=1", "b=2"]).set
    ['a=1', 'b=2']
    """
    from tinygrad_mlp.nn import ACTIVATIONS

    p = subparsers.add_parser(
        "graph", help="draw a computation graph or an MLP diagram",
        description="Draw the computation graph of an expression, or the diagram of an MLP.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("expression", nargs="?", help='an expression such as "a*b + c" or "-a"')
    p.add_argument("--set", nargs="+", action="extend", default=[], metavar="NAME=VALUE",
                   help="values of the names in the expression, e.g. --set a=2 b=-3")
    p.add_argument("--backward", action="store_true", help="run backward() first: draw the gradients")
    p.add_argument("--mlp", metavar="SIZES",
                   help=f"draw an MLP: inputs,hidden...,outputs, e.g. 3,4,4,1 (each 1 to "
                        f"{_cli.MAX_WIDTH})")
    p.add_argument("--activation", default="tanh", metavar="NAME",
                   help=f"hidden activation of --mlp: {', '.join(sorted(ACTIVATIONS))} "
                        "(default tanh; add your own with --import)")
    p.add_argument("--seed", type=_cli._seed, default=0, metavar="N",
                   help=f"seed of the --mlp weights, 0 to {_cli.MAX_SEED} (default 0)")
    p.add_argument("--scalar", metavar="X", help="with --mlp: draw the computation graph of one "
                   "sample, e.g. --scalar 0.5,-1 (instead of the diagram)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help=f"picture to write: {' '.join(sorted(FORMATS))} (default {DEFAULT_OUTPUT}"
                        ", none with --animate)")
    p.add_argument("--animate", nargs="?", const=DEFAULT_ANIMATION, metavar="HTML",
                   help="write the backward pass step by step as one HTML page (default "
                        f"{DEFAULT_ANIMATION}); honours --collapse")
    p.add_argument("--rankdir", choices=["LR", "TB"], default="LR",
                   help="direction of the graph: LR left to right (default), TB top to bottom")
    p.add_argument("--notation", choices=["html", "unicode", "plain"], default="html",
                   help="how symbols are written: html (w with real sub- and superscripts, "
                        "default), unicode (w⁽¹⁾₃₄), plain (w(1)_34)")
    p.add_argument("--precision", type=_cli._ranged(int, 0, MAX_PRECISION), default=4, metavar="N",
                   help=f"digits after the point, 0 to {MAX_PRECISION} (default 4)")
    p.add_argument("--color-by-grad", action="store_true", help="fill nodes by their gradient")
    p.add_argument("--collapse", choices=["neuron", "layer"], help="one node per neuron or layer")
    p.add_argument("--bias", choices=["b", "w0"], default="b", help="w0: the bias as w_j0 on x_0 = 1")
    p.add_argument("--show-bias", action="store_true", help="--mlp diagram: draw x_0 = 1 and bias weights")
    p.add_argument("--edge-labels", choices=["notation", "values", "none"],
                   help="--mlp diagram: label the weight arrows")
    p.add_argument("--dpi", type=_cli._ranged(float, MIN_DPI, MAX_DPI), metavar="N",
                   help=f"resolution of PNG output, {MIN_DPI} to {MAX_DPI} (e.g. 200 for slides)")
    p.add_argument("--force", action="store_true", help="draw graphs over 5,000 nodes anyway")
    _cli.add_import_argument(p)
    p.set_defaults(func=run_graph)
    return p


MAX_PRECISION = 12  # float64 has 15-17 significant digits; more would print noise
DEFAULT_OUTPUT = "graph.svg"
DEFAULT_ANIMATION = "backprop.html"
_PAGES = (".html", ".htm")  # what --animate writes


class _UsageError(Exception):
    pass


_PAIR = re.compile(r"^\s*[A-Za-z_]\w*\s*=")


def _values(items: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise _UsageError(f"--set takes NAME=VALUE pairs, got {item!r}")
        try:
            out[name] = float(text)
        except ValueError:
            raise _UsageError(f"--set {item}: {text!r} is not a number") from None
        if not math.isfinite(out[name]):
            raise _UsageError(f"--set {item}: give a finite number (no nan or inf)")
    return out


def _is_pair(item: str) -> bool:
    """Whether a --set item is NAME=NUMBER (else it is the expression, given after --set)."""
    text = item.partition("=")[2]
    try:
        float(text)
    except ValueError:
        return False
    return bool(_PAIR.match(item))


def _sizes(text: str, flag: str) -> list[int]:
    try:
        return _cli.layer_sizes(text, at_least=2)
    except ValueError as e:
        raise _UsageError(f"{flag} {e}") from None


def _numbers(text: str, flag: str) -> list[float]:
    try:
        return _cli.numbers(text.replace(" ", ""), flag)
    except _cli.UsageError as e:
        raise _UsageError(str(e)) from None


def _output(text: str, flag: str, suffixes: Any = None) -> Path:
    """The file ``flag`` names, refused before any work if it cannot be written."""
    path = Path(text)
    if path.is_dir():
        raise _UsageError(f"{flag} {path} is a directory; give a file name like graph.svg")
    if not path.parent.is_dir():
        raise _UsageError(f"{flag} {path}: the folder {path.parent} does not exist")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise _UsageError(f"{flag} {path}: cannot tell the format from the extension; use one "
                          f"of {' '.join(sorted(suffixes))}")
    return path


def _error(message: str) -> None:
    print(f"{_cli.PROG}: error: {_cli.cli_wording(message)}", file=sys.stderr)


def run_graph(args: argparse.Namespace) -> int:
    """Run the ``graph`` command; returns the exit status (0 when the files were written).

    Errors are printed to stderr as one message each; the status is 2 for a bad command line
    or expression and 1 when Graphviz is missing or fails.  Warnings are printed as one line
    each, in the command's own terms (``--collapse neuron``, ``--force``).

    >>> import argparse, tempfile, pathlib
    >>> parser = argparse.ArgumentParser(prog="tinygrad-mlp")
    >>> _ = add_graph_parser(parser.add_subparsers())
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "graph.dot"
    >>> run_graph(parser.parse_args(["graph", "a*b + c", "--set", "a=2", "b=-3", "c=10",
    ...                              "--backward", "-o", str(out)]))
    wrote ...graph.dot
    0
    """
    with _cli.warnings_as_lines():
        return _run_graph(args)


def _run_graph(args: argparse.Namespace) -> int:
    from tinygrad_mlp.viz import (
        ExpressionError,
        GraphTooLargeError,
        GraphvizNotFoundError,
        animate,
        backward_frames,
        draw_dot,
        draw_mlp,
        parse_expression,
        render,
    )

    try:
        if args.animate and Path(args.animate).suffix.lower() not in _PAGES:
            raise _UsageError(f"--animate {args.animate}: name the page FILE.html (or put "
                              "--animate after the expression)")
        expression, assignments = args.expression, list(args.set)
        if expression is None and args.mlp is None and assignments and not _is_pair(assignments[-1]):
            # `--set a=2 b=3 "a*b"`: --set took the expression too; it is the last item
            expression = assignments.pop()
        if (expression is None) == (args.mlp is None):
            raise _UsageError('give an expression (e.g. "a*b + c") or --mlp SIZES, not both')
        # with --animate, the picture is written only when -o asks for it
        wanted = args.output if args.output is not None or args.animate else DEFAULT_OUTPUT
        output = _output(wanted, "-o", FORMATS) if wanted is not None else None
        if args.animate:
            _output(args.animate, "--animate")
        root = None
        if args.mlp is not None:
            from tinygrad_mlp import MLP

            if assignments:
                raise _UsageError("--set goes with an expression, not with --mlp")
            sizes = _sizes(args.mlp, "--mlp")
            try:
                _cli.check_activation(args.activation)
            except _cli.UsageError as e:
                raise _UsageError(str(e)) from None
            model = MLP(sizes[0], sizes[1:], activation=args.activation, seed=args.seed)
            if args.scalar is None:
                if args.backward or args.animate:
                    raise _UsageError("--backward and --animate need a graph: add --scalar X")
                graph = draw_mlp(model, show_bias=args.show_bias, edge_labels=args.edge_labels,
                                 notation=args.notation)
            else:
                x = _numbers(args.scalar, "--scalar")
                if len(x) != sizes[0]:
                    raise _UsageError(f"--scalar gives {len(x)} numbers for an MLP of {sizes[0]} inputs")
                out = model(x)
                root = out if not isinstance(out, list) else sum(out[1:], out[0])
        else:
            if args.scalar is not None:
                raise _UsageError("--scalar goes with --mlp, not with an expression")
            root = parse_expression(expression, _values(assignments))
        if root is not None:
            if args.backward:
                if root.ndim != 0 or not root.requires_grad:
                    raise _UsageError("--backward needs a result that depends on at least one name")
                root.backward()
            graph = draw_dot(root, rankdir=args.rankdir, notation=args.notation,
                             precision=args.precision, color_by_grad=args.color_by_grad,
                             collapse=args.collapse, bias=args.bias, force=args.force)
        if args.animate and (root is None or not root.requires_grad):
            raise _UsageError("--animate needs a result that depends on at least one name")
        if output is not None:
            print(f"wrote {render(graph, output, dpi=args.dpi)}")
        if args.animate:
            frames = backward_frames(root, rankdir=args.rankdir, notation=args.notation,
                                     precision=args.precision, color_by_grad=args.color_by_grad,
                                     collapse=args.collapse, bias=args.bias, force=args.force)
            print(f"wrote {animate(frames, args.animate)} ({len(frames)} steps)")
        return 0
    except (_UsageError, ExpressionError, GraphTooLargeError, ValueError) as e:
        _error(str(e))
        return 2
    except GraphvizNotFoundError as e:
        _error(str(e))
        return 1
    except subprocess.CalledProcessError as e:  # Graphviz ran and failed
        stderr = e.stderr.decode("utf-8", "replace") if isinstance(e.stderr, bytes) else e.stderr
        _error(f"Graphviz could not draw this: {_cli.first_line(stderr or '') or e}")
        return 1

"""The ``graph`` command of ``tinygrad-mlp``: drawings for lecturers who do not write Python.

::

    tinygrad-mlp graph "a*b + c" --set a=2 b=-3 c=10 --backward -o graph.svg
    tinygrad-mlp graph "e = a*b; d = e + c; L = tanh(d)" --set a=2 b=-3 c=10 --animate steps.html
    tinygrad-mlp graph --mlp 3,4,4,1 -o mlp.svg

The main ``tinygrad-mlp`` command adds this one with :func:`add_graph_parser` and runs it with
:func:`run_graph`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_graph_parser", "run_graph"]

_EPILOG = """\
examples:
  tinygrad-mlp graph "a*b + c" --set a=2 b=-3 c=10 --backward -o graph.svg
  tinygrad-mlp graph "e = a*b; d = e + c; L = tanh(d)" --set a=2 b=-3 c=10 --animate steps.html
  tinygrad-mlp graph --mlp 3,4,4,1 -o mlp.svg
  tinygrad-mlp graph --mlp 2,3,1 --scalar 0.5,-1 --backward --collapse neuron -o mlp_graph.png

Expressions use numbers, names, + - * / **, parentheses and tanh relu sigmoid exp log abs sqrt
leaky_relu; "e = a*b; ..." names intermediate results.  The output format follows the
extension: .svg .png .pdf (Graphviz needed) or .dot (DOT source, no Graphviz needed)."""


def add_graph_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``graph`` sub-command to an ``argparse`` sub-parsers object.

    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="tinygrad-mlp")
    >>> _ = add_graph_parser(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(["graph", "a*b", "--set", "a=1", "b=2"]).set
    ['a=1', 'b=2']
    """
    p = subparsers.add_parser(
        "graph", help="draw a computation graph or an MLP diagram",
        description="Draw the computation graph of an expression, or the diagram of an MLP.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("expression", nargs="?", help='an expression such as "a*b + c"')
    p.add_argument("--set", nargs="+", action="extend", default=[], metavar="NAME=VALUE",
                   help="values of the names in the expression, e.g. --set a=2 b=-3")
    p.add_argument("--backward", action="store_true", help="run backward() first: draw the gradients")
    p.add_argument("--mlp", metavar="SIZES", help="draw an MLP: inputs,hidden...,outputs, e.g. 3,4,4,1")
    p.add_argument("--activation", default="tanh", help="hidden activation of --mlp (default tanh)")
    p.add_argument("--seed", type=int, default=0, help="seed of the --mlp weights (default 0)")
    p.add_argument("--scalar", metavar="X", help="with --mlp: draw the computation graph of one "
                   "sample, e.g. --scalar 0.5,-1 (instead of the diagram)")
    p.add_argument("-o", "--output", default="graph.svg", help="file to write (default graph.svg)")
    p.add_argument("--animate", metavar="HTML", help="also write the backward pass step by step "
                   "as one HTML page")
    p.add_argument("--rankdir", choices=["LR", "TB"], default="LR")
    p.add_argument("--notation", choices=["html", "unicode", "plain"], default="html")
    p.add_argument("--precision", type=int, default=4, help="digits after the point (default 4)")
    p.add_argument("--color-by-grad", action="store_true", help="fill nodes by their gradient")
    p.add_argument("--collapse", choices=["neuron", "layer"], help="one node per neuron or layer")
    p.add_argument("--bias", choices=["b", "w0"], default="b", help="w0: the bias as w_j0 on x_0 = 1")
    p.add_argument("--show-bias", action="store_true", help="--mlp diagram: draw x_0 = 1 and bias weights")
    p.add_argument("--edge-labels", choices=["notation", "values", "none"],
                   help="--mlp diagram: label the weight arrows")
    p.add_argument("--dpi", type=float, help="resolution of PNG output (e.g. 200 for slides)")
    p.add_argument("--force", action="store_true", help="draw graphs over 5,000 nodes anyway")
    p.set_defaults(func=run_graph)
    return p


class _UsageError(Exception):
    pass


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
    return out


def _sizes(text: str, flag: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise _UsageError(f"{flag} takes whole numbers separated by commas, got {text!r}") from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise _UsageError(f"{flag} needs at least two positive sizes (inputs and outputs), got {text!r}")
    return sizes


def _numbers(text: str, flag: str) -> list[float]:
    try:
        return [float(s) for s in text.replace(" ", "").split(",") if s]
    except ValueError:
        raise _UsageError(f"{flag} takes numbers separated by commas, got {text!r}") from None


def run_graph(args: argparse.Namespace) -> int:
    """Run the ``graph`` command; returns the exit status (0 when the files were written).

    Errors are printed to stderr as one message each; the status is 2 for a bad command line
    or expression and 1 when Graphviz is missing.

    >>> import argparse, tempfile, pathlib
    >>> parser = argparse.ArgumentParser(prog="tinygrad-mlp")
    >>> _ = add_graph_parser(parser.add_subparsers())
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "graph.dot"
    >>> run_graph(parser.parse_args(["graph", "a*b + c", "--set", "a=2", "b=-3", "c=10",
    ...                              "--backward", "-o", str(out)]))
    wrote ...graph.dot
    0
    """
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
        if (args.expression is None) == (args.mlp is None):
            raise _UsageError('give an expression (e.g. "a*b + c") or --mlp SIZES, not both')
        root = None
        if args.mlp is not None:
            from tinygrad_mlp import MLP

            if args.set:
                raise _UsageError("--set goes with an expression, not with --mlp")
            sizes = _sizes(args.mlp, "--mlp")
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
            root = parse_expression(args.expression, _values(args.set))
        if root is not None:
            if args.backward:
                if root.ndim != 0 or not root.requires_grad:
                    raise _UsageError("--backward needs a result that depends on at least one name")
                root.backward()
            graph = draw_dot(root, rankdir=args.rankdir, notation=args.notation,
                             precision=args.precision, color_by_grad=args.color_by_grad,
                             collapse=args.collapse, bias=args.bias, force=args.force)
        path = render(graph, args.output, dpi=args.dpi)
        print(f"wrote {path}")
        if args.animate:
            if root is None or not root.requires_grad:
                raise _UsageError("--animate needs a result that depends on at least one name")
            frames = backward_frames(root, rankdir=args.rankdir, notation=args.notation,
                                     precision=args.precision, color_by_grad=args.color_by_grad,
                                     bias=args.bias, force=args.force)
            print(f"wrote {animate(frames, args.animate)} ({len(frames)} steps)")
        return 0
    except (_UsageError, ExpressionError, GraphTooLargeError, ValueError) as e:
        print(f"tinygrad-mlp graph: error: {e}", file=sys.stderr)
        return 2
    except GraphvizNotFoundError as e:
        print(f"tinygrad-mlp graph: error: {e}", file=sys.stderr)
        return 1

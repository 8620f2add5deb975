"""Gradients of gradients: tanh's derivatives as graphs, Newton's method, a Hessian-vector product.

``y.backward(create_graph=True)`` and ``grad(y, x, create_graph=True)`` record the backward pass
itself with Value operations, so a gradient is a ``Value`` with a graph of its own that can be
differentiated again:

* the graphs of tanh's first four derivatives at x = 0.5, their values and node counts, drawn
  into ``--out`` (the DOT source is written instead when Graphviz is not installed);
* Newton's method on f(x) = x**4 - 2*x**2 from x = 2 (DeZero's example), taking f''(x) from
  ``backward(create_graph=True)``: it converges to 1 in about 7 steps;
* a Hessian-vector product of a small MLP's loss, checked against central finite differences
  of its first-order gradients.

    python examples/higher_order.py [--out docs/_static/graphs/higher_order]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from tinygrad_mlp import MLP, Value, grad
from tinygrad_mlp.data import make_moons
from tinygrad_mlp.functional import mse_loss
from tinygrad_mlp.viz import GraphvizNotFoundError, draw_dot, render

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "_static" / "graphs" / "higher_order"


# ----------------------------------------------------------------------------- tanh's derivatives
def tanh_derivatives(x0: float = 0.5, n: int = 4) -> tuple[Value, list[Value]]:
    """``x`` and the first ``n`` derivatives of ``tanh`` at ``x0``, each a Value with a graph.

    Each derivative is the gradient of the one before, taken with ``create_graph=True`` so that
    it can be differentiated once more.
    """
    x = Value(x0, label="x")
    y = x.tanh()
    y.label = "tanh(x)"
    derivatives = []
    for k in range(1, n + 1):
        (y,) = grad(y, x, create_graph=True)
        y.label = f"d{k}"  # the k-th derivative of tanh at x
        derivatives.append(y)
    return x, derivatives


def tanh_derivative_closed_form(x0: float, k: int) -> float:
    """The k-th derivative of tanh (k = 1..4) as a polynomial in t = tanh(x0)."""
    t = math.tanh(x0)
    return {
        1: 1 - t * t,
        2: -2 * t * (1 - t * t),
        3: -2 * (1 - t * t) * (1 - 3 * t * t),
        4: 8 * t * (1 - t * t) * (2 - 3 * t * t),
    }[k]


def save_drawing(graph, path: Path, notes: list[str]) -> Path:
    """Render ``graph`` to ``path``; without Graphviz write its DOT source next to it instead."""
    try:
        return render(graph, path)
    except GraphvizNotFoundError as e:
        dot_path = path.with_suffix(".dot")
        dot_path.parent.mkdir(parents=True, exist_ok=True)
        dot_path.write_text(graph.source, encoding="utf-8")
        hint = str(e).splitlines()[0]
        if hint not in notes:
            notes.append(hint)
        return dot_path


def draw_tanh_derivatives(out: Path, x0: float = 0.5, n: int = 4, fmt: str = "svg") -> list[dict]:
    """Print tanh's first ``n`` derivatives at ``x0`` and draw each one's graph into ``out``."""
    _, derivatives = tanh_derivatives(x0, n)
    rows, notes = [], []
    print(f"tanh's derivatives at x = {x0}: each is the graph of the one before, differentiated")
    for k, d in enumerate(derivatives, start=1):
        nodes = len(d.graph())
        # the nodes of a derivative's graph have no gradient of their own: draw data only
        title = f"derivative {k} of tanh at x = {x0}: {nodes} nodes"
        path = save_drawing(draw_dot(d, show_grad=False, title=title),
                            out / f"tanh_derivative_{k}.{fmt}", notes)
        rows.append({"order": k, "value": d.data, "nodes": nodes, "path": path})
        print(f"  order {k}: {d.data:+.6f}  (closed form {tanh_derivative_closed_form(x0, k):+.6f})"
              f"  {nodes:3d} nodes  -> {path}")
    for note in notes:
        print(f"  note: {note}")
    return rows


# ----------------------------------------------------------------------------- Newton's method
def f(x: Value) -> Value:
    """DeZero's example: f(x) = x**4 - 2 x**2, with minima at x = -1 and x = 1."""
    return x**4 - 2 * x**2


def newton(x0: float = 2.0, max_steps: int = 20, tol: float = 1e-10) -> list[float]:
    """Newton's method for a minimum of ``f``: x <- x - f'(x) / f''(x); the iterates, x0 first.

    ``f'(x)`` comes from ``y.backward(create_graph=True)`` as a Value; its own ``backward()``
    then gives ``f''(x)``.  Stops when a step moves x by less than ``tol``.
    """
    x = Value(x0, label="x")
    trajectory = [x.data]
    for _ in range(max_steps):
        y = f(x)
        x.grad = None
        y.backward(create_graph=True)
        gx = x.grad  # f'(x), a Value with the graph of 4x^3 - 4x
        x.grad = None  # otherwise the next backward adds f''(x) to f'(x)
        gx.backward()
        gx2 = x.grad  # f''(x), a plain float
        step = gx.data / gx2
        x.data -= step
        x.grad = None  # x and its Value gradient refer to each other: break the cycle
        trajectory.append(x.data)
        if abs(step) < tol:
            break
    return trajectory


def print_newton(x0: float = 2.0) -> list[float]:
    trajectory = newton(x0)
    print(f"Newton's method on f(x) = x**4 - 2*x**2 from x = {x0}:")
    for i, x in enumerate(trajectory):
        print(f"  step {i}: x = {x!r}")
    return trajectory


# ----------------------------------------------------------------------------- a Hessian-vector product
def mlp_and_loss(seed: int = 0) -> tuple[MLP, np.ndarray, np.ndarray]:
    """A small tanh MLP and 16 two-moons samples with targets -1 and 1."""
    X, y = make_moons(16, noise=0.1, random_state=seed)
    model = MLP(2, [8, 8, 1], activation="tanh", seed=seed)
    return model, X, (2.0 * y - 1.0).reshape(-1, 1)


def hessian_vector_product(model: MLP, X: np.ndarray, y: np.ndarray,
                           v: list[np.ndarray]) -> list[np.ndarray]:
    """H v for the loss's Hessian H over the parameters: the gradient of <grad L, v>."""
    params = model.parameters()
    loss = mse_loss(model(X), y)
    gs = grad(loss, params, create_graph=True)  # Values: differentiable again
    gv = sum((g * vi).sum() for g, vi in zip(gs, v))
    return [np.asarray(h) for h in grad(gv, params)]


def finite_difference_hvp(model: MLP, X: np.ndarray, y: np.ndarray, v: list[np.ndarray],
                          eps: float = 1e-5) -> list[np.ndarray]:
    """(grad L(p + eps v) - grad L(p - eps v)) / (2 eps), with first-order gradients only."""
    params = model.parameters()

    def gradients_at(sign: float) -> list[np.ndarray]:
        for p, vi in zip(params, v):
            p.data += sign * eps * vi
        try:
            return [np.asarray(g) for g in grad(mse_loss(model(X), y), params)]
        finally:
            for p, vi in zip(params, v):
                p.data -= sign * eps * vi

    plus, minus = gradients_at(1.0), gradients_at(-1.0)
    return [(a - b) / (2 * eps) for a, b in zip(plus, minus)]


def check_hessian_vector_product(seed: int = 0) -> float:
    """Print H v of the MLP's loss next to finite differences; return the largest difference."""
    model, X, y = mlp_and_loss(seed)
    rng = np.random.default_rng(seed)
    v = [rng.normal(size=p.shape) for p in model.parameters()]
    hv = hessian_vector_product(model, X, y, v)
    fd = finite_difference_hvp(model, X, y, v)
    diff = max(float(np.max(np.abs(a - b))) for a, b in zip(hv, fd))
    size = sum(p.data.size for p in model.parameters())
    print(f"Hessian-vector product of the mse loss of MLP(2, [8, 8, 1], tanh), {size} parameters:")
    print(f"  |H v| = {np.sqrt(sum(float((h * h).sum()) for h in hv)):.6f}")
    print(f"  max |H v - finite differences of gradients| = {diff:.2e}")
    return diff


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"folder for the drawings (default {DEFAULT_OUT})")
    parser.add_argument("--format", default="svg", choices=["svg", "png", "pdf"])
    args = parser.parse_args(argv)
    drawings = draw_tanh_derivatives(args.out, fmt=args.format)
    print()
    trajectory = print_newton()
    print()
    diff = check_hessian_vector_product()
    return {"tanh": drawings, "newton": trajectory, "hvp_max_diff": diff}


if __name__ == "__main__":
    main()

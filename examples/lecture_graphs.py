"""Every kind of picture tinygrad_mlp.viz draws, written as SVG files for slides and the docs.

* an expression before and after ``backward()`` (micrograd's ``L = (a*b + c) * f``);
* a single neuron ``tanh(w1 x1 + w2 x2 + b)``, and the same with the bias as ``w_0`` on ``x_0 = 1``;
* the scalar graph of a small MLP, left to right with a cluster per neuron, collapsed per
  neuron and per layer, and colored by gradient;
* the course note's network diagram from a live model (with ``x_0 = 1``), one with dropout and
  an activation per layer, one with arrows as thick as the gradients, a bigger one with a few
  chosen weights labelled, and a bigger elided one;
* the backward pass step by step, as one HTML page with a slider (and as numbered SVGs,
  ``frame_001.svg``...);
* the graphs of tanh's first four derivatives (``backward(create_graph=True)``), colored by the
  derivative order that recorded each node.

Wide left-to-right graphs also come top to bottom (``*_tb``), drawn to fit a page of text: the
docs show those, each a link to the left-to-right picture at full size.

Needs the Graphviz program (``apt-get install graphviz``), or ``pip install "tinygrad_mlp[draw]"``
for SVG and PNG without it::

    python examples/lecture_graphs.py [--out docs/_static/graphs] [--format svg]
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from tinygrad_mlp import MLP, Neuron, Value, grad
from tinygrad_mlp.functional import mse_loss
from tinygrad_mlp.viz import animate, backward_frames, draw_dot, draw_mlp, render, save_frames

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "_static" / "graphs"


def expression() -> Value:
    """micrograd's first example, with every intermediate result named."""
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c, f = Value(10.0, label="c"), Value(-2.0, label="f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    L = d * f
    L.label = "L"
    return L


def neuron() -> Value:
    """micrograd's neuron: x = (2, 0), w = (-3, 1), b = 6.88..., tanh."""
    n = Neuron(2, activation="tanh")
    n.w.data[:] = [-3.0, 1.0]
    n.b.data[:] = 6.8813735870195432
    return n([2.0, 0.0])


def small_mlp_loss() -> tuple[MLP, Value]:
    """MLP(2, [3, 1]) with tanh on one sample, and its squared error."""
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    loss = (model([1.0, -2.0]) - 0.5) ** 2
    loss.label = "L"
    return model, loss


def tanh_derivatives(x0: float = 0.5, n: int = 4) -> list[Value]:
    """tanh and its first ``n`` derivatives at ``x0``, each the Value of a graph built by
    differentiating the one before with ``create_graph=True``."""
    x = Value(x0, label="x")
    ys = [x.tanh()]
    for _ in range(n):
        (g,) = grad(ys[-1], x, create_graph=True)
        ys.append(g)
    for k, y in enumerate(ys):
        y.label = "tanh" + "′" * k if k < 4 else f"tanh⁽{k}⁾"
    return ys[1:]


def main(out: Path = DEFAULT_OUT, fmt: str = "svg") -> list[Path]:
    written: list[Path] = []

    def save(graph, name: str) -> None:
        written.append(render(graph, out / f"{name}.{fmt}"))

    def save_both(draw, name: str) -> None:
        """Left to right for slides, and top to bottom (``name_tb``) to fit a page."""
        save(draw(), name)
        save(draw(rankdir="TB"), f"{name}_tb")

    # 1. an expression, before and after backward()
    L = expression()
    save(draw_dot(L), "expression_before")
    L.backward()
    save(draw_dot(L), "expression_after")
    save(draw_dot(L, rankdir="TB", notation="unicode"), "expression_unicode_tb")

    # 2. one neuron, in the course notation; the bias as w_0 on x_0 = 1
    y = neuron()
    y.backward()
    save_both(partial(draw_dot, y), "neuron")
    save_both(partial(draw_dot, y, bias="w0"), "neuron_w0")

    # 3. the scalar graph of a small MLP: clusters, collapsed, colored by gradient
    model, loss = small_mlp_loss()
    loss.backward()
    save(draw_dot(loss), "mlp_graph")
    save(draw_dot(loss, collapse="neuron"), "mlp_neurons")
    save_both(partial(draw_dot, loss, collapse="layer"), "mlp_layers")
    deep = MLP(2, [3, 3, 3, 3, 3, 1], activation="sigmoid", seed=1)  # gradients fade layer by layer
    deep_loss = mse_loss(deep([3.0, -2.0]), 1.0)
    deep_loss.label = "L"
    deep_loss.backward()
    save_both(partial(draw_dot, deep_loss, collapse="neuron", color_by_grad=True),
              "deep_color_by_grad")
    save(draw_dot(loss, color_by_grad=True, highlight=[loss]), "mlp_color_by_grad")

    # 4. the network diagram of the course note, from live models
    save(draw_mlp(MLP(4, [3, 1], activation="tanh", seed=0), show_bias=True), "seed_network")
    save(draw_mlp(MLP(3, [4, 4, 1], activation="tanh", seed=0)), "mlp_diagram")
    save(draw_mlp(MLP(3, [4, 4, 1], activation=["tanh", ("leaky_relu", 0.2), None], dropout=0.5,
                      seed=0)), "mlp_diagram_dropout")
    save(draw_mlp(model, values_from="grads", edge_labels="values", title="∂L/∂w after backward()"),
         "mlp_diagram_grads")
    save(draw_mlp(MLP(8, [8, 1], seed=0), label_weights=[(1, 3, 2), (2, 1, 8)]), "mlp_diagram_chosen")
    save(draw_mlp(MLP(64, [32, 16, 10], seed=0), title="MLP(64, [32, 16, 10])"), "mlp_diagram_big")

    # 5. the backward pass step by step
    frames = backward_frames(expression())
    written.append(animate(frames, out / "backprop.html", title="Backpropagation through L = (a*b + c) * f"))
    written += save_frames(frames, out / "backprop_frames", format=fmt)

    # 6. the graph of a derivative: tanh's 1st to 4th, side by side in the docs
    for k, g in enumerate(tanh_derivatives(), start=1):
        title = f"{g.label}(0.5) = {g.data:.4f}: {len(g.graph())} nodes"
        save(draw_dot(g, show_grad=False, color_by_order=True, title=title), f"tanh_derivative_{k}")
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"directory (default {DEFAULT_OUT})")
    parser.add_argument("--format", default="svg", choices=["svg", "png", "pdf"])
    args = parser.parse_args()
    for path in main(args.out, args.format):
        print(path)

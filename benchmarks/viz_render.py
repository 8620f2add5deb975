"""How long drawing takes: building the DOT text and rendering it with Graphviz.

* the scalar graph of ``MLP(2, [16, 16, 1])`` on one sample (one node per weight: ~1,600
  drawn nodes, above the 1,000-node warning: this is the largest graph worth drawing whole);
* a full micrograd demo step in the scalar call style — 100 samples of two moons, hinge loss
  plus L2, ``backward()`` — drawn with ``collapse="layer"`` (the whole graph has ~100,000 nodes);
* the same step written literally as micrograd's demo does (``(1 + -yi*si).relu()`` per sample,
  ``sum(losses)``, ``sum((p*p).sum() ...)``): the per-call loss terms merge like the calls and
  the ``sum`` chains become one node each, so ``collapse="layer"`` draws a few dozen nodes.

    python benchmarks/viz_render.py
"""

from __future__ import annotations

import re
import time
import warnings

import _common  # noqa: F401  (pins BLAS threads before numpy loads)

from tinygrad_mlp import MLP
from tinygrad_mlp.data import make_moons
from tinygrad_mlp.functional import hinge_loss, l2_penalty
from tinygrad_mlp.nn import stack
from tinygrad_mlp.viz import LargeGraphWarning, draw_dot

_NODE = re.compile(r"^\t+(?!graph |node |edge )[A-Za-z_]\w* \[", re.M)  # node statements


def timed(fn, repeat: int = 3):
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def report(name: str, build_graph, repeat: int = 3, **options) -> None:
    t_graph, root = timed(build_graph, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LargeGraphWarning)
        t_build, dot = timed(lambda: draw_dot(root, **options), repeat)
    nodes = len(_NODE.findall(dot.source))
    t_render, svg = timed(lambda: dot.pipe(format="svg"), repeat)
    print(f"{name}")
    print(f"  graph: {len(root.graph()):>7} values   drawing: {nodes} nodes, "
          f"{len(svg) / 1e3:.0f} kB of SVG")
    print(f"  forward+backward: {t_graph * 1e3:8.1f} ms")
    print(f"  build (draw_dot): {t_build * 1e3:8.1f} ms   render (dot -Tsvg): {t_render * 1e3:8.1f} ms")


def one_sample():
    model = MLP(2, [16, 16, 1], seed=0)
    y = model([0.5, -1.0])
    y.backward()
    return y


def demo_step():
    X, y = make_moons(100, noise=0.1, random_state=0)
    y = y * 2 - 1
    model = MLP(2, [16, 16, 1], seed=0)
    scores = stack([model(x) for x in X.tolist()])
    loss = hinge_loss(scores, y) + l2_penalty(model.parameters(), 1e-4)
    loss.backward()
    return loss


def literal_step():
    """micrograd's demo step exactly as its notebook writes it, in our scalar call style."""
    X, y = make_moons(100, noise=0.1, random_state=1)
    y = y * 2 - 1
    model = MLP(2, [16, 16, 1], seed=0)
    scores = [model(list(x)) for x in X.tolist()]
    losses = [(1 + -yi * si).relu() for yi, si in zip(y.tolist(), scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum((p * p).sum() for p in model.parameters())
    loss = data_loss + reg_loss
    loss.backward()
    return loss


if __name__ == "__main__":
    report("MLP(2, [16, 16, 1]), one sample, whole scalar graph", one_sample)
    report("MLP(2, [16, 16, 1]), one sample, collapse='neuron'", one_sample, collapse="neuron")
    report("micrograd demo step (100 samples, hinge loss), collapse='layer'", demo_step,
           collapse="layer")
    report("micrograd demo step (100 samples, hinge loss), collapse='neuron'", demo_step,
           collapse="neuron")
    report("literal micrograd step (sum(losses), sum of p*p), collapse='layer'", literal_step,
           collapse="layer")
    report("literal micrograd step (sum(losses), sum of p*p), collapse='neuron'", literal_step,
           collapse="neuron")

"""The pictures of ``tinygrad-mlp demo``: decision boundary, loss curves, architecture, one neuron.

Each picture is written when what it needs is installed; otherwise the demo says what to
install and writes the rest (the graphs as DOT source when the Graphviz program is missing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_mlp.nn import MLP
from tinygrad_mlp.train import History

__all__ = ["run_demo", "plot_decision_boundary"]


def plot_decision_boundary(model: MLP, X: np.ndarray, y: np.ndarray, path: Path) -> None:
    """Save the model's decision regions over the data as an image (needs matplotlib).

    >>> import tempfile
    >>> from tinygrad_mlp.data import make_moons
    >>> X, y = make_moons(50, random_state=0)
    >>> plot_decision_boundary(MLP(2, [4, 1], seed=0), X, y, Path(tempfile.mkdtemp()) / "b.png")
    """
    from matplotlib.figure import Figure  # not pyplot: no global backend or figure state

    from tinygrad_mlp.train import predict

    pad = 0.5
    (x0, y0), (x1, y1) = X.min(axis=0) - pad, X.max(axis=0) + pad
    xx, yy = np.meshgrid(np.linspace(x0, x1, 250), np.linspace(y0, y1, 250))
    out = predict(model, np.column_stack([xx.ravel(), yy.ravel()]))
    regions = (out[:, 0] > 0) if out.shape[1] == 1 else out.argmax(axis=1)
    fig = Figure(figsize=(5.5, 4.5))
    ax = fig.subplots()
    ax.contourf(xx, yy, regions.reshape(xx.shape), cmap="coolwarm", alpha=0.35)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="coolwarm", s=14, edgecolors="k", linewidths=0.4)
    ax.set_title("decision boundary")
    fig.savefig(path, dpi=120, bbox_inches="tight")


def _one_neuron(model: MLP, X: np.ndarray) -> Any:
    """One neuron of the first layer on one sample, after its backward pass.

    The first (sample, neuron) whose weighted sum is positive, so that a ReLU passes the
    gradient on and the picture shows a backward pass rather than a row of zeros.
    """
    layer = model.layers[0]
    for x in X:
        z = layer.W.data @ x + layer.b.data
        alive = np.flatnonzero(z > 0)
        if alive.size:
            a = layer(list(map(float, x)))[alive[0]]
            break
    else:
        a = layer(list(map(float, X[0])))[0]
    a.backward()
    return a


def _write_graph(graph: Any, path: Path, written: list[Path], notes: list[str]) -> None:
    from tinygrad_mlp.viz import GraphvizNotFoundError, render

    try:
        render(graph, path)
        written.append(path)
    except GraphvizNotFoundError as e:
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(graph.source, encoding="utf-8")
        written.append(dot_path)
        hint = str(e).splitlines()[0]
        if hint not in notes:
            notes.append(hint)


def run_demo(model: MLP, history: History, X: np.ndarray, y: np.ndarray,
             out: Path) -> tuple[list[Path], list[str]]:
    """Write the demo's pictures into ``out``; returns (files written, notes for the user).

    >>> import tempfile
    >>> from tinygrad_mlp.data import make_moons
    >>> from tinygrad_mlp.train import fit
    >>> X, y = make_moons(60, noise=0.1, random_state=0)
    >>> model = MLP(2, [8, 1], seed=0)
    >>> history = fit(model, X, y, loss="hinge", epochs=2, progress=False)
    >>> files, notes = run_demo(model, history, X, y, Path(tempfile.mkdtemp()))
    >>> sorted(p.stem for p in files)
    ['architecture', 'decision_boundary', 'loss_curves', 'neuron_graph']
    """
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    notes: list[str] = []
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        notes.append("matplotlib is not installed, so no plots were drawn: "
                     "pip install \"tinygrad_mlp[plot]\"")
    else:
        plot_decision_boundary(model, X, y, out / "decision_boundary.png")
        written.append(out / "decision_boundary.png")
        history.plot(path=str(out / "loss_curves.png"))
        written.append(out / "loss_curves.png")
    try:
        from tinygrad_mlp.viz import draw_dot, draw_mlp
    except ImportError:
        notes.append("the graphviz package is not installed, so no graphs were drawn: "
                     "pip install graphviz")
        return written, notes
    _write_graph(draw_mlp(model), out / "architecture.svg", written, notes)
    _write_graph(draw_dot(_one_neuron(model, X)), out / "neuron_graph.svg", written, notes)
    return written, notes

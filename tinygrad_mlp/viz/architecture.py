"""The network diagram of the course note, from a live model: :func:`draw_mlp`.

Inputs ``x_1..x_n`` on the left, one column per layer of neurons ``a^(l)_j`` (neuron 1 at the
top), one arrow per weight ``w^(l)_{jk}``, colored by sign and as thick as the weight is large.
Positions are computed here and pinned (``neato`` with ``pos="x,y!"``): ``dot`` with clusters
would reorder the neurons, and a textbook figure must not.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_mlp.viz import colors, labels
from tinygrad_mlp.viz.computation import plain_grad
from tinygrad_mlp.viz.render import Drawing

__all__ = ["draw_mlp", "EDGE_LABEL_LIMIT"]

EDGE_LABEL_LIMIT = 40  # more weight labels than this cover the picture


@dataclass
class _LayerView:
    W: np.ndarray  # (n_out, n_in)
    b: np.ndarray  # (n_out,)
    activation: str
    number: int


def _activation_name(layer: Any) -> str:
    name = getattr(layer, "activation_name", None)
    return name if isinstance(name, str) else "custom"


def _layers_of(model: Any, values_from: str) -> list[_LayerView]:
    """The weights of an MLP, a Layer or a Neuron (their public fields), as arrays."""

    def pick(v: Any) -> np.ndarray:
        return np.array(plain_grad(v) if values_from == "grads" else v.data, dtype=np.float64,
                        ndmin=1)

    if hasattr(model, "layers"):
        found = list(model.layers)
    elif hasattr(model, "W") and hasattr(model, "b"):
        found = [model]
    elif hasattr(model, "w") and hasattr(model, "b"):  # a Neuron: one row of weights
        w, b = pick(model.w), pick(model.b)
        number = getattr(model, "position", (1, 1))[0]
        return [_LayerView(w.reshape(1, -1), b.reshape(-1)[:1], _activation_name(model), number)]
    else:
        raise TypeError(
            f"draw_mlp draws an MLP, a Layer or a Neuron, got {type(model).__name__}"
        )
    out = []
    for i, layer in enumerate(found):
        W, b = pick(layer.W), pick(layer.b)
        if W.ndim != 2 or b.shape != (W.shape[0],):
            raise ValueError(f"layer {i + 1}: W of shape {W.shape} and b of shape {b.shape} do not "
                             "make a layer (expected (n_out, n_in) and (n_out,))")
        number = getattr(layer, "index", i + 1) if len(found) == 1 else i + 1
        out.append(_LayerView(W, b, _activation_name(layer), number))
    for prev, nxt in zip(out, out[1:]):
        if nxt.W.shape[1] != prev.W.shape[0]:
            raise ValueError(f"layer {nxt.number} takes {nxt.W.shape[1]} inputs but layer "
                             f"{prev.number} has {prev.W.shape[0]} neurons")
    return out


def _shown(n: int, max_neurons: int) -> list[int | None]:
    """Units 1..n, or the first and last few with ``None`` (a vertical ellipsis) between."""
    if n <= max_neurons:
        return list(range(1, n + 1))
    head = max_neurons // 2
    tail = max_neurons - head
    return list(range(1, head + 1)) + [None] + list(range(n - tail + 1, n + 1))


def _text(markup: str, notation: str) -> str:
    return f"<{markup}>" if notation == "html" else labels.dot_text(markup)


def draw_mlp(
    model: Any, *, show_bias: bool = False, edge_labels: str | None = None,
    values_from: str = "weights", max_neurons: int = 8, notation: str = "html",
    precision: int = 2, title: str | None = None, show_activations: bool = True,
) -> Drawing:
    """Draw the neuron/layer diagram of ``model`` (an ``MLP``, a ``Layer`` or a ``Neuron``).

    * Inputs ``x_1..x_n`` on the left (and ``x_0 = 1`` at the top with ``show_bias=True``,
      with a bias unit ``a^(l)_0 = 1`` atop each hidden layer); one column per layer of
      neurons ``a^(l)_j``, neuron 1 at the top; the activation's name under each column.
    * One arrow per weight, colored by sign (blue positive, red negative) and as thick as
      ``|w|`` (``values_from="weights"``) or ``|dL/dw|`` (``values_from="grads"``, after
      ``backward()``).
    * ``edge_labels``: ``"notation"`` (``w^(l)_{jk}``), ``"values"`` (numbers with
      ``precision`` digits) or ``"none"``; by default the notation while the drawing has at
      most 40 arrows, none beyond.
    * A layer of more than ``max_neurons`` units shows the first and last few and ``⋮``.

    >>> from tinygrad_mlp import MLP
    >>> dot = draw_mlp(MLP(3, [4, 4, 1], seed=0))
    >>> dot.engine, dot.source.count(" -> ")
    ('neato', 32)
    """
    labels.check_notation(notation)
    if values_from not in ("weights", "grads"):
        raise ValueError(f"values_from must be 'weights' or 'grads', got {values_from!r}")
    if edge_labels not in (None, "notation", "values", "none"):
        raise ValueError(f"edge_labels must be None, 'notation', 'values' or 'none', got {edge_labels!r}")
    if not isinstance(max_neurons, int) or max_neurons < 2:
        raise ValueError(f"max_neurons must be an int of at least 2, got {max_neurons!r}")
    layers = _layers_of(model, values_from)
    if values_from == "grads" and not any(np.any(v.W) or np.any(v.b) for v in layers):
        warnings.warn("every gradient is zero: call backward() on a loss before drawing "
                      "values_from='grads'", stacklevel=2)

    sizes = [layers[0].W.shape[1]] + [v.W.shape[0] for v in layers]
    columns = [_shown(n, max_neurons) for n in sizes]
    # arrows actually drawn: shown sources (+ bias unit) times shown targets, per layer
    n_edges = 0
    for c in range(len(layers)):
        n_src = sum(1 for k in columns[c] if k is not None) + (1 if show_bias else 0)
        n_edges += n_src * sum(1 for j in columns[c + 1] if j is not None)
    if edge_labels is None:
        edge_labels = "notation" if n_edges <= EDGE_LABEL_LIMIT else "none"
    labelled = edge_labels != "none"

    dx = 3.2 if labelled else 2.0
    dy = 1.1 if labelled else 0.8
    g = Drawing(engine="neato")
    # layout=neato in the source too, so `dot -Tsvg file.dot` keeps the pinned positions
    g.graph_attr.update(layout="neato", splines="false", overlap="true", outputorder="edgesfirst",
                        pad="0.3")
    if title:
        g.graph_attr.update(label=_text(f"<B>{labels.html_text(title)}</B>", notation)
                            if notation == "html" else labels.dot_text(title), labelloc="t")
    g.node_attr.update(fontsize="14")

    pos: dict[str, tuple[float, float]] = {}
    rows_of: list[list[tuple[str, int | None]]] = []
    for c, shown in enumerate(columns):
        rows: list[tuple[str, int | None]] = []
        if show_bias and c < len(columns) - 1:
            rows.append(("bias", 0))
        rows += [("unit", k) if k is not None else ("gap", None) for k in shown]
        rows_of.append(rows)
    tallest = max(len(r) for r in rows_of)

    def place(node_id: str, x: float, y: float) -> str:
        pos[node_id] = (x, y)
        return f"{x:.3f},{y:.3f}!"

    # nodes, column by column
    for c, rows in enumerate(rows_of):
        x = c * dx
        top = (len(rows) - 1) / 2 * dy
        for r, (kind, k) in enumerate(rows):
            y = top - r * dy
            nid = _unit_id(c, kind, k)
            if kind == "gap":
                g.node(nid, label="⋮", shape="plaintext", fontsize="24", pos=place(nid, x, y))
                continue
            if kind == "bias":
                sym = (labels.symbol("x", None, (0,), notation) if c == 0
                       else labels.symbol("a", c, (0,), notation))
                g.node(nid, label=_text(f"{sym} = 1" if notation == "html" else f"{sym}=1", notation),
                       shape="box", style="rounded,dashed", pos=place(nid, x, y))
                continue
            sym = (labels.symbol("x", None, (k,), notation) if c == 0
                   else labels.symbol("a", c, (k,), notation))
            attrs = {"shape": "circle", "fixedsize": "true", "width": "0.62"}
            if c == 0:
                attrs.update(style="filled", fillcolor="#eeeeee")
            elif c == len(rows_of) - 1:
                attrs.update(peripheries="2")
            g.node(nid, label=_text(sym, notation), pos=place(nid, x, y), **attrs)
        # the column's heading above it and its activation below it
        head_y = (tallest - 1) / 2 * dy + 0.75 * dy
        foot_y = -(tallest - 1) / 2 * dy - 0.75 * dy
        heading = "inputs" if c == 0 else f"layer {c}"
        if None in columns[c]:  # elided: say how many there are
            heading += f" ({sizes[c]})"
        g.node(f"h{c}", label=_text(f"<B>{labels.html_text(heading)}</B>", notation)
               if notation == "html" else labels.dot_text(heading),
               shape="plaintext", pos=place(f"h{c}", x, head_y))
        if c > 0 and show_activations:
            act = layers[c - 1].activation
            g.node(f"f{c}", label=_text(f"<I>{labels.html_text(act)}</I>", notation)
                   if notation == "html" else labels.dot_text(act),
                   shape="plaintext", fontcolor="#555555", pos=place(f"f{c}", x, foot_y))

    # one arrow per weight
    values = [abs(v.W[j - 1, k - 1]) for c, v in enumerate(layers)
              for j in columns[c + 1] if j is not None for k in columns[c] if k is not None]
    if show_bias:
        values += [abs(v.b[j - 1]) for c, v in enumerate(layers) for j in columns[c + 1] if j is not None]
    finite = [a for a in values if np.isfinite(a)]
    biggest = max(finite, default=0.0) or 1.0
    placed: list[tuple[float, float, float, float]] = [
        (x, y, 0.36, 0.36) for nid, (x, y) in pos.items() if not nid.startswith(("h", "f"))]
    for c, v in enumerate(layers):
        sources = [(kind, k) for kind, k in rows_of[c] if kind != "gap"]
        for s_i, (kind, k) in enumerate(sources):
            src = _unit_id(c, kind, k)
            # each source prefers its own distance along its arrows, so labels of one source do
            # not stack on each other and not all labels meet where the arrows cross
            t_pref = 0.25 + (0.5 * s_i / (len(sources) - 1) if len(sources) > 1 else 0.25)
            for j in columns[c + 1]:
                if j is None:
                    continue
                dst = _unit_id(c + 1, "unit", j)
                w = v.b[j - 1] if kind == "bias" else v.W[j - 1, k - 1]
                kk = 0 if kind == "bias" else k
                width = 0.4 + 3.6 * min(abs(w) / biggest, 1.0) if np.isfinite(w) else 4.0
                plain = labels.symbol("w", v.number, (j, kk), "unicode")
                g.edge(src, dst, color=colors.sign_color(w) if np.isfinite(w) else colors.NONFINITE_COLOR,
                       penwidth=f"{width:.2f}", arrowsize="0.6",
                       tooltip=labels.dot_text(f"{plain} = {labels.format_number(w, 4)}"))
                if not labelled:
                    continue
                if edge_labels == "notation":
                    text = labels.symbol("w", v.number, (j, kk), notation)
                    size = (0.16 + 0.07 * len(plain), 0.22)
                else:
                    number = labels.format_number(w, precision)
                    text = labels.html_text(number) if notation == "html" else number
                    size = (0.08 + 0.075 * len(number), 0.2)
                lx, ly = _free_spot(pos[src], pos[dst], t_pref, size, placed)
                g.node(f"w{v.number}_{j}_{kk}", label=_text(text, notation), shape="box",
                       style="filled", fillcolor="white", color="white", margin="0.01,0.01",
                       width="0", height="0", fontsize="10",
                       fontcolor=colors.sign_color(w) if edge_labels == "values" else "black",
                       pos=f"{lx:.3f},{ly:.3f}!")
    return g


def _free_spot(
    a: tuple[float, float], b: tuple[float, float], t_pref: float, size: tuple[float, float],
    placed: list[tuple[float, float, float, float]],
) -> tuple[float, float]:
    """A point on the segment a-b, near ``t_pref``, where a label of ``size`` overlaps nothing.

    ``placed`` holds ``(x, y, half width, half height)`` of what is already there (nodes and
    labels, in inches); the chosen box is added to it.  Falls back to ``t_pref``.
    """
    hw, hh = size[0] / 2, size[1] / 2
    candidates = [t_pref]
    for step in range(1, 19):
        for t in (t_pref + 0.035 * step, t_pref - 0.035 * step):
            if 0.14 <= t <= 0.86:
                candidates.append(t)
    spot = None
    for t in candidates:
        x, y = a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])
        if all(abs(x - px) >= hw + pw or abs(y - py) >= hh + ph for px, py, pw, ph in placed):
            spot = (x, y)
            break
    if spot is None:
        spot = (a[0] + t_pref * (b[0] - a[0]), a[1] + t_pref * (b[1] - a[1]))
    placed.append((spot[0], spot[1], hw, hh))
    return spot


def _unit_id(column: int, kind: str, k: int | None) -> str:
    if kind == "bias":
        return f"u{column}"
    if kind == "gap":
        return f"e{column}"
    return f"x{k}" if column == 0 else f"a{column}_{k}"

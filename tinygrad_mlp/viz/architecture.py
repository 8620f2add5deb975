"""The network diagram of the course note, from a live model: :func:`draw_mlp`.

Inputs ``x_1..x_n`` on the left, one column per layer of neurons ``a^(l)_j`` (neuron 1 at the
top) with the layer's activation under it, one arrow per weight ``w^(l)_{jk}``, colored by sign
and as thick as the weight is large, units dropped by dropout dashed, and a legend that says so.
Positions are computed here and pinned (``neato`` with ``pos="x,y!"``): ``dot`` with clusters
would reorder the neurons, and a textbook figure must not.

Weight labels are placed here too, each on its own arrow near the arrow's tail or head, at a
spot that no other arrow, label or node comes near (:func:`_place_labels`); where no such spot
exists the columns on either side of that gap move apart (and the rows a little) and the
search runs again, so a sparse gap stays narrow.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_mlp.nn import activation_text
from tinygrad_mlp.viz import colors, labels
from tinygrad_mlp.viz.computation import plain_grad
from tinygrad_mlp.viz.render import Drawing

__all__ = ["draw_mlp", "weight_arrows", "EDGE_LABEL_LIMIT"]

# weights are labelled by default while no two neighbouring columns have more arrows between
# them than this: 4 x 4 neurons, or 4 inputs and x_0 = 1 to 4 neurons
EDGE_LABEL_LIMIT = 20

_FONTSIZE = 14  # units, headings
_LABEL_FONTSIZE = 11  # weight labels
_LABEL_SCRIPT_SIZE = 9  # their sub/superscripts: small, as on the arrows of a textbook figure
_LEGEND_FONTSIZE = 12
_LEGEND_ROW = 0.3  # the height of a row of the legend, inches
_DROPOUT_FONTSIZE = 13  # the dropout line under a heading
_RADIUS = 0.31  # of a unit's circle, inches
_NARROW_FONTSIZE = 11  # the units of a column with two-digit indices (a⁽¹⁾₃₂), to fit the circle
_PAD = 0.04  # between a label and another label or a text, inches
_NODE_PAD = 0.1  # between a label and a unit's circle: a stub of the arrow stays visible
_CLEAR = 0.03  # between a label and another arrow, inches
_STEP = 0.04  # between candidate spots along an arrow, inches
_ENDS = (0.07, 0.40)  # a label sits within this fraction of its arrow's length from an end
_FADE = "33"  # the alpha of arrows left unlabelled when a few are chosen
_GAP, _ROW = 2.8, 1.2  # inches between columns and between units, before spreading
_SPREAD = (1.05, 1.04)  # per try, a gap where a label found no spot grows by 5%, rows by 4%
_SPREAD_TRIES = 16  # layouts tried, each more spread out, before labels may overlap


@dataclass
class _LayerView:
    W: np.ndarray  # (n_out, n_in)
    b: np.ndarray  # (n_out,)
    activation: str  # as the column's foot reads it: "tanh", "leaky_relu(0.2)", "linear"
    number: int
    dropout: float = 0.0  # the probability that each input of the layer is dropped while training


@dataclass
class _Arrow:
    src: str
    dst: str
    gap: int  # between columns gap and gap + 1
    layer: int  # l of w^(l)_{jk}
    j: int
    k: int  # 0: the bias
    value: float
    label: str | None = None  # DOT label of its weight label, None: unlabelled
    size: tuple[float, float] = (0.0, 0.0)  # half width, half height of that label, inches


def _activation_of(layer: Any) -> str:
    name = getattr(layer, "activation_name", None)
    return activation_text(name if isinstance(name, str) else None,
                           tuple(getattr(layer, "activation_args", ())))


def _dropout_of(layer: Any, number: int) -> float:
    """The dropout probability of a layer's inputs: ``layer.dropout.p``, or 0 without dropout."""
    drop = getattr(layer, "dropout", None)
    if drop is None:
        return 0.0
    p = getattr(drop, "p", None)
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
        raise ValueError(f"layer {number}: its dropout should have a probability p in [0, 1), "
                         f"got {drop!r}")
    return float(p)


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
        return [_LayerView(w.reshape(1, -1), b.reshape(-1)[:1], _activation_of(model), number)]
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
        out.append(_LayerView(W, b, _activation_of(layer), number, _dropout_of(layer, number)))
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


def _bold(s: str, notation: str) -> str:
    return f"<<B>{labels.html_text(s)}</B>>" if notation == "html" else labels.dot_text(s)


def _text_width(s: str, fontsize: float) -> float:
    """A generous estimate of the width of ``s`` at ``fontsize`` (Graphviz's Times), in inches."""
    em = sum(0.78 if ch in "wmWM" else 0.3 if ch in ".,-()|:; ijl" else
             0.56 if ch in "⁽⁾₍₎⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉" else 0.58 for ch in s)
    return (em * fontsize + 8) / 72


def _check_label_weights(
    chosen: Iterable[Any], arrows: list[_Arrow], show_bias: bool,
) -> set[tuple[int, int, int]]:
    """``chosen`` as a set of ``(l, j, k)``, each one an arrow of the drawing."""
    if isinstance(chosen, (str, bytes)) or not isinstance(chosen, Iterable):
        raise TypeError("label_weights takes (l, j, k) triples, e.g. [(1, 2, 1), (2, 1, 3)], "
                        f"got {chosen!r}")
    drawn = {(a.layer, a.j, a.k) for a in arrows}
    out = set()
    for item in chosen:
        if (not isinstance(item, (tuple, list)) or len(item) != 3
                or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in item)):
            raise TypeError(f"label_weights takes (l, j, k) triples of whole numbers, got {item!r}")
        triple = (int(item[0]), int(item[1]), int(item[2]))
        if triple not in drawn:
            name = labels.symbol("w", triple[0], triple[1:], "unicode")
            why = ("the bias weights w⁽ˡ⁾ⱼ₀ are drawn with show_bias=True"
                   if triple[2] == 0 and not show_bias else
                   "no such weight is drawn (layers count from 1; an elided neuron has no arrow)")
            raise ValueError(f"label_weights: {name} {triple} is not an arrow of this drawing: {why}")
        out.add(triple)
    return out


def draw_mlp(
    model: Any, *, show_bias: bool = False, edge_labels: str | None = None,
    values_from: str = "weights", max_neurons: int = 8, notation: str = "html",
    precision: int = 2, title: str | None = None, show_activations: bool = True,
    label_weights: Iterable[tuple[int, int, int]] | None = None, legend: bool = True,
) -> Drawing:
    """Draw the neuron/layer diagram of ``model`` (an ``MLP``, a ``Layer`` or a ``Neuron``).

    * Inputs ``x_1..x_n`` on the left (and ``x_0 = 1`` at the top with ``show_bias=True``,
      with a bias unit ``a^(l)_0 = 1`` atop each hidden layer); one column per layer of
      neurons ``a^(l)_j``, neuron 1 at the top; under each column its layer's activation with
      its arguments (``tanh``, ``leaky_relu(0.2)``, ``linear`` for the identity).
    * Dropout: the units a layer drops while training (its inputs, ``layer.dropout.p > 0``) are
      drawn dashed, the heading of their column says ``dropout p = 0.5``, and the legend says
      what a dashed unit is.
    * One arrow per weight, colored by sign (blue positive, red negative) and as thick as
      ``|w|`` (``values_from="weights"``) or ``|dL/dw|`` (``values_from="grads"``, after
      ``backward()``); ``legend=True`` (the default) explains color and width under the picture.
    * ``edge_labels``: ``"notation"`` (``w^(l)_{jk}``), ``"values"`` (numbers with
      ``precision`` digits) or ``"none"``.  By default the notation while no two neighbouring
      columns have more than :data:`EDGE_LABEL_LIMIT` (20) arrows between them: a 3-4-4-1 MLP
      (12, 16 and 4 arrows) is labelled, a 5-5-1 MLP (25 arrows from the inputs) is not.  Each
      label sits on its own arrow, near its tail or its head, where no other arrow passes and it
      covers no node and no other label; the columns move apart until every label finds such a
      spot.  (Where none is found, a default drawing leaves its labels off; a drawing that asked
      for them warns.)
    * ``label_weights``: label only these weights, as ``(l, j, k)`` triples of
      ``w^(l)_{jk}`` (``k = 0``: a bias, with ``show_bias=True``), e.g. to point at a few
      weights of a big network; the other arrows are drawn faded, so the chosen ones stand out.
    * A layer of more than ``max_neurons`` units shows the first and last few and ``⋮``.

    >>> from tinygrad_mlp import MLP
    >>> dot = draw_mlp(MLP(3, [4, 4, 1], seed=0))
    >>> dot.engine, dot.source.count(" -> "), dot.source.count('\\tw')
    ('neato', 32, 32)
    >>> drop = draw_mlp(MLP(3, [4, 1], activation=("leaky_relu", 0.2), dropout=[0.2, 0.5]))
    >>> sum("circle" in line and "dashed" in line for line in drop.source.splitlines())
    7
    >>> "leaky_relu(0.2)" in drop.source, "dropout" in drop.source
    (True, True)
    >>> big = draw_mlp(MLP(8, [8, 1], seed=0), label_weights=[(1, 1, 1), (2, 1, 8)])
    >>> big.source.count('\\tw')
    2
    """
    labels.check_notation(notation)
    _check_view(values_from, max_neurons)
    if edge_labels not in (None, "notation", "values", "none"):
        raise ValueError(f"edge_labels must be None, 'notation', 'values' or 'none', got {edge_labels!r}")
    if not isinstance(legend, bool):
        raise TypeError(f"legend must be True or False, got {legend!r}")
    if label_weights is not None and edge_labels == "none":
        raise ValueError("label_weights names weights to label, but edge_labels='none' labels none")
    layers = _layers_of(model, values_from)
    if values_from == "grads" and not any(np.any(v.W) or np.any(v.b) for v in layers):
        warnings.warn("every gradient is zero: call backward() on a loss before drawing "
                      "values_from='grads'", stacklevel=2)

    sizes, columns, rows_of, arrows = _units_and_arrows(layers, max_neurons, show_bias)

    chosen = None if label_weights is None else _check_label_weights(label_weights, arrows, show_bias)
    automatic = edge_labels is None and chosen is None
    if edge_labels is None:
        densest = max(sum(1 for a in arrows if a.layer == v.number) for v in layers)
        edge_labels = "notation" if chosen is not None or densest <= EDGE_LABEL_LIMIT else "none"
    for a in arrows:
        if edge_labels != "none" and (chosen is None or (a.layer, a.j, a.k) in chosen):
            a.label, a.size = _weight_label(a, edge_labels, notation, precision)
    labelled = [i for i, a in enumerate(arrows) if a.label is not None]
    # with a chosen few labelled, the other arrows fade and labels may cover them
    faded = [i for i, a in enumerate(arrows) if a.label is None] if chosen else []

    # the layout: spread the columns around a crowded gap until every label has a clean spot
    gaps, dy = ([_GAP] * len(layers), _ROW) if labelled else ([2.0] * len(layers), 0.8)
    for _ in range(_SPREAD_TRIES):
        pos, obstacles = _layout(rows_of, columns, sizes, layers, gaps, dy, show_activations)
        spots, failed = _place_labels(arrows, labelled, pos, obstacles, faded)
        if not failed:
            break
        for c in {arrows[i].gap for i in failed}:
            gaps[c] *= _SPREAD[0]
        dy *= _SPREAD[1]
    else:
        if automatic:  # labels were not asked for: leave them off rather than let them collide
            for a in arrows:
                a.label = None
            labelled, spots = [], {}
            pos, _ = _layout(rows_of, columns, sizes, layers, [2.0] * len(layers), 0.8,
                             show_activations)
        else:
            warnings.warn(f"{len(failed)} weight labels found no spot clear of other arrows; label "
                          "fewer weights (label_weights=...) or none (edge_labels='none')",
                          stacklevel=2)

    g = Drawing(engine="neato")
    # layout=neato in the source too, so `dot -Tsvg file.dot` keeps the pinned positions
    g.graph_attr.update(layout="neato", splines="false", overlap="true", outputorder="edgesfirst",
                        pad="0.3")
    if title:
        g.graph_attr.update(label=_bold(title, notation), labelloc="t")
    g.node_attr.update(fontsize=str(_FONTSIZE))

    def pin(node_id: str) -> str:
        x, y = pos[node_id]
        return f"{x:.3f},{y:.3f}!"

    for c, rows in enumerate(rows_of):
        dropout = layers[c].dropout if c < len(layers) else 0.0  # of this column's units
        # a⁽ˡ⁾ with a two-digit subscript is wider than its circle at the default size
        narrow = c > 0 and max((k for kind, k in rows if kind == "unit"), default=0) >= 10
        for kind, k in rows:
            nid = _unit_id(c, kind, k)
            if kind == "gap":
                g.node(nid, label="⋮", shape="plaintext", fontsize="24", pos=pin(nid))
            elif kind == "bias":
                # solid: a dashed outline marks dropped units, and x_0 = 1 is never dropped
                g.node(nid, label=_bias_label(c, notation), shape="box", style="rounded",
                       pos=pin(nid))
            else:
                sym = (labels.symbol("x", None, (k,), notation) if c == 0
                       else labels.symbol("a", c, (k,), notation))
                attrs = {"shape": "circle", "fixedsize": "true", "width": f"{2 * _RADIUS:g}"}
                if narrow:
                    attrs["fontsize"] = str(_NARROW_FONTSIZE)
                style = (["filled"] if c == 0 else []) + (["dashed"] if dropout else [])
                if c == 0:
                    attrs.update(fillcolor="#eeeeee")
                elif c == len(rows_of) - 1:
                    attrs.update(peripheries="2")
                if style:
                    attrs.update(style=",".join(style))
                if dropout:
                    attrs.update(penwidth="1.5")
                g.node(nid, label=_text(sym, notation), pos=pin(nid), **attrs)
        g.node(f"h{c}", label=_bold(_heading(c, columns, sizes), notation), shape="plaintext",
               pos=pin(f"h{c}"))
        if dropout:
            g.node(f"d{c}", label=_dropout_text(dropout, notation), shape="plaintext",
                   fontsize=str(_DROPOUT_FONTSIZE), pos=pin(f"d{c}"))
        if c > 0 and show_activations:
            act = layers[c - 1].activation
            g.node(f"f{c}", label=f"<<I>{labels.html_text(act)}</I>>" if notation == "html"
                   else labels.dot_text(act), shape="plaintext", fontcolor="#555555", pos=pin(f"f{c}"))

    biggest = _biggest(arrows)
    faded_set = set(faded)
    # the faded arrows first, so that the chosen ones are drawn on top of them
    for i in sorted(range(len(arrows)), key=lambda i: i not in faded_set):
        a = arrows[i]
        color, width = _arrow_style(a.value, biggest)
        g.edge(a.src, a.dst, color=color + _FADE if i in faded_set else color,
               penwidth=width, arrowsize="0.6", tooltip=_tooltip(a))
    for i in labelled:
        a = arrows[i]
        x, y = spots[i]
        g.node(f"w{a.layer}_{a.j}_{a.k}", label=a.label, shape="box", style="filled",
               fillcolor="white", color="white", margin="0", width=f"{2 * a.size[0]:.3f}",
               height=f"{2 * a.size[1]:.3f}", fontsize=str(_LABEL_FONTSIZE),
               fontcolor=colors.sign_color(a.value) if edge_labels == "values" else "black",
               tooltip=_tooltip(a), pos=f"{x:.3f},{y:.3f}!")
    if legend:
        g.node("legend", label=_legend(arrows, biggest, values_from, notation,
                                       any(v.dropout for v in layers)), shape="plaintext",
               fontsize=str(_LEGEND_FONTSIZE), pos=pin("legend"))
    return g


def weight_arrows(
    model: Any, *, show_bias: bool = False, values_from: str = "weights", max_neurons: int = 8,
) -> list[tuple[str, str, str, float]]:
    """``(tail, head, colour, width)`` of each weight's arrow, as :func:`draw_mlp` draws it with
    the same options (and no ``label_weights``), in the same order — without laying the diagram
    out.  ``tail`` and ``head`` are the ids of the units in the DOT source, ``colour`` the
    arrow's colour and ``width`` its pen width in points: what changes in the diagram when only
    the weights change.

    >>> from tinygrad_mlp import MLP
    >>> model = MLP(2, [3, 1], seed=0)
    >>> arrows = weight_arrows(model)
    >>> len(arrows), arrows[:2]
    (9, [('x1', 'a1_1', '#2166ac', 1.11), ('x1', 'a1_2', '#2166ac', 4.0)])
    >>> 'x1 -> a1_1 [arrowsize=0.6 color="#2166ac" penwidth=1.11' in draw_mlp(model).source
    True
    """
    _check_view(values_from, max_neurons)
    *_, arrows = _units_and_arrows(_layers_of(model, values_from), max_neurons, show_bias)
    biggest = _biggest(arrows)
    out = []
    for a in arrows:
        color, width = _arrow_style(a.value, biggest)
        out.append((a.src, a.dst, color, float(width)))
    return out


def _check_view(values_from: str, max_neurons: int) -> None:
    if values_from not in ("weights", "grads"):
        raise ValueError(f"values_from must be 'weights' or 'grads', got {values_from!r}")
    if not isinstance(max_neurons, int) or max_neurons < 2:
        raise ValueError(f"max_neurons must be an int of at least 2, got {max_neurons!r}")


def _units_and_arrows(
    layers: list[_LayerView], max_neurons: int, show_bias: bool,
) -> tuple[list[int], list[list[int | None]], list[list[tuple[str, int | None]]], list[_Arrow]]:
    """The units of each column (as sizes, shown units and rows) and one arrow per weight drawn:
    shown sources (and the bias unit) times shown targets, layer by layer."""
    sizes = [layers[0].W.shape[1]] + [v.W.shape[0] for v in layers]
    columns = [_shown(n, max_neurons) for n in sizes]
    rows_of: list[list[tuple[str, int | None]]] = []
    for c, shown in enumerate(columns):
        rows: list[tuple[str, int | None]] = []
        if show_bias and c < len(columns) - 1:
            rows.append(("bias", 0))
        rows += [("unit", k) if k is not None else ("gap", None) for k in shown]
        rows_of.append(rows)
    arrows: list[_Arrow] = []
    for c, v in enumerate(layers):
        for kind, k in rows_of[c]:
            if kind == "gap":
                continue
            for j in columns[c + 1]:
                if j is None:
                    continue
                w = v.b[j - 1] if kind == "bias" else v.W[j - 1, k - 1]
                arrows.append(_Arrow(_unit_id(c, kind, k), _unit_id(c + 1, "unit", j), c, v.number,
                                     j, 0 if kind == "bias" else k, float(w)))
    return sizes, columns, rows_of, arrows


def _biggest(arrows: list[_Arrow]) -> float:
    """The largest finite ``|value|`` of the arrows (1 when there is none): the widest arrow."""
    return max((abs(a.value) for a in arrows if np.isfinite(a.value)), default=0.0) or 1.0


def _arrow_style(value: float, biggest: float) -> tuple[str, str]:
    """An arrow's colour (by sign; non-finite values stand out) and pen width (DOT text)."""
    color = colors.sign_color(value) if np.isfinite(value) else colors.NONFINITE_COLOR
    return color, f"{_width(value, biggest):.2f}"


def _weight_label(
    a: _Arrow, edge_labels: str, notation: str, precision: int,
) -> tuple[str, tuple[float, float]]:
    """The DOT label of an arrow's weight label, and its half width and half height (inches)."""
    if edge_labels == "notation":
        plain = labels.symbol("w", a.layer, (a.j, a.k), "plain")  # w(l)_jk
        if notation == "html":
            sup, sub = plain[1:].split("_")
            width = (_text_width("w", _LABEL_FONTSIZE) - 8 / 72
                     + _text_width(sup + sub, _LABEL_SCRIPT_SIZE))
            # the superscript rises above the letter: 0.65 em above the middle
            return _weight_markup(plain), (width / 2, 0.65 * _LABEL_FONTSIZE / 72)
        text = plain if notation == "plain" else labels.symbol("w", a.layer, (a.j, a.k), "unicode")
        label = labels.dot_text(text)
    else:
        text = labels.format_number(a.value, precision)
        label = _text(labels.html_text(text) if notation == "html" else text, notation)
    return label, (_text_width(text, _LABEL_FONTSIZE) / 2, (_LABEL_FONTSIZE + 3) / 144)


def _tooltip(a: _Arrow) -> str:
    return labels.dot_text(f"{labels.symbol('w', a.layer, (a.j, a.k), 'unicode')} = "
                           f"{labels.format_number(a.value, 4)}")


def _width(value: float, biggest: float) -> float:
    """An arrow's pen width in points: 0.4 for 0 up to 4 for the largest value drawn."""
    return 0.4 + 3.6 * min(abs(value) / biggest, 1.0) if np.isfinite(value) else 4.0


def _weight_markup(plain: str) -> str:
    """``w(l)_jk`` as an HTML-like label with small scripts (:data:`_LABEL_SCRIPT_SIZE`).

    >>> _weight_markup("w(2)_14")
    '<<I>w</I><FONT POINT-SIZE="9"><SUP>(2)</SUP><SUB>14</SUB></FONT>>'
    """
    sup, sub = plain[1:].split("_")
    return (f'<<I>w</I><FONT POINT-SIZE="{_LABEL_SCRIPT_SIZE}"><SUP>{labels.html_text(sup)}</SUP>'
            f"<SUB>{labels.html_text(sub)}</SUB></FONT>>")


def _bias_label(column: int, notation: str) -> str:
    """``x_0 = 1`` (or ``a^(l)_0 = 1``); in HTML-like labels the spaces are unbreakable, as SVG
    drops the leading space of the text after a subscript."""
    sym = (labels.symbol("x", None, (0,), notation) if column == 0
           else labels.symbol("a", column, (0,), notation))
    if notation == "html":
        return f"<{sym}&#160;=&#160;1>"
    return labels.dot_text(f"{sym} = 1")


def _dropout_text(p: float, notation: str) -> str:
    """The line under the heading of a column whose units are dropped with probability ``p``.

    >>> _dropout_text(0.5, "plain"), _dropout_text(0.25, "html")
    ('dropout p = 0.5', '<dropout&#160;<I>p</I>&#160;=&#160;0.25>')
    """
    if notation == "html":
        return f"<dropout&#160;<I>p</I>&#160;=&#160;{p:g}>"
    return labels.dot_text(f"dropout p = {p:g}")


def _heading(c: int, columns: list[list[int | None]], sizes: list[int]) -> str:
    heading = "inputs" if c == 0 else f"layer {c}"
    return heading + (f" ({sizes[c]})" if None in columns[c] else "")  # elided: how many


def _layout(
    rows_of: list[list[tuple[str, int | None]]], columns: list[list[int | None]], sizes: list[int],
    layers: list[_LayerView], gaps: list[float], dy: float, show_activations: bool,
) -> tuple[dict[str, tuple[float, float]], list[tuple[float, float, float, float]]]:
    """Positions (inches) of every node, and the boxes ``(x, y, half w, half h)`` of all but units.

    Columns are ``gaps`` apart and units ``dy`` apart; the headings (and the dropout lines under
    them) sit just above the tallest column, the activations just under it, the legend below.
    """
    pos: dict[str, tuple[float, float]] = {}
    boxes: list[tuple[float, float, float, float]] = []
    top_y = (max(len(r) for r in rows_of) - 1) / 2 * dy
    dropped = any(v.dropout for v in layers)
    line = _FONTSIZE * 1.3 / 72  # the height of a line of text
    head_y = top_y + _RADIUS + 0.12 + (1.5 if dropped else 0.5) * line
    foot_y = -top_y - _RADIUS - 0.12 - 0.5 * line
    xs = np.concatenate([[0.0], np.cumsum(gaps)])
    for c, rows in enumerate(rows_of):
        x = float(xs[c])
        top = (len(rows) - 1) / 2 * dy
        for r, (kind, k) in enumerate(rows):
            nid = _unit_id(c, kind, k)
            pos[nid] = (x, top - r * dy)
            if kind == "gap":
                boxes.append((x, top - r * dy, 0.1, 0.22))
            elif kind == "bias":
                boxes.append((x, top - r * dy, 0.48, 0.27))
        pos[f"h{c}"] = (x, head_y)
        boxes.append((x, head_y, _text_width(_heading(c, columns, sizes), _FONTSIZE) / 2, line / 2))
        if c < len(layers) and layers[c].dropout:
            pos[f"d{c}"] = (x, head_y - line)
            boxes.append((x, head_y - line, _text_width(_dropout_text(layers[c].dropout, "plain"),
                                                        _DROPOUT_FONTSIZE) / 2, line / 2))
        if c > 0 and show_activations:
            pos[f"f{c}"] = (x, foot_y)
            boxes.append((x, foot_y, _text_width(layers[c - 1].activation, _FONTSIZE) / 2, line / 2))
    legend_rows = 2
    legend_top = foot_y - (line / 2 + 0.2 if show_activations else 0)
    pos["legend"] = (float(xs[-1]) / 2, legend_top - legend_rows * _LEGEND_ROW / 2)
    return pos, boxes


def _place_labels(
    arrows: list[_Arrow], labelled: list[int], pos: dict[str, tuple[float, float]],
    boxes: list[tuple[float, float, float, float]], faded: list[int],
) -> tuple[dict[int, tuple[float, float]], list[int]]:
    """A spot for the label of each arrow in ``labelled``: ``({arrow: (x, y)}, [failed arrows])``.

    The candidates lie on the arrow, within :data:`_ENDS` of its length from either end; a
    candidate is clean when its box keeps :data:`_CLEAR` from every other arrow (but the
    ``faded`` ones) and :data:`_PAD`
    from every node and box.  The most constrained label is placed first, at the candidate
    that is furthest from other arrows and takes the fewest spots from the labels still to place.
    A label without a clean spot is put at its most distant one and reported as failed.
    """
    if not labelled:
        return {}, []
    segs = np.array([(*pos[a.src], *pos[a.dst]) for a in arrows])
    units = np.array([pos[n] for n in {a.src for a in arrows} | {a.dst for a in arrows}])
    obstacles = np.array(boxes, dtype=float).reshape(-1, 4)
    # candidates: (x, y, half width, half height, owner)
    cands = []
    for i in labelled:
        (ax, ay, bx, by), (hw, hh) = segs[i], arrows[i].size
        length = float(np.hypot(bx - ax, by - ay))
        count = min(20, int((_ENDS[1] - _ENDS[0]) * length / _STEP) + 1)
        steps = np.linspace(_ENDS[0], _ENDS[1], count)
        for t in np.concatenate([steps, 1 - steps]):
            cands.append((ax + t * (bx - ax), ay + t * (by - ay), hw, hh, i))
    cand = np.array(cands)
    cx, cy, hw, hh, owner = cand.T
    owner = owner.astype(int)

    # clear of nodes (units as circles, the rest as boxes)
    ddx = np.maximum(np.abs(cx[:, None] - units[None, :, 0]) - hw[:, None], 0)
    ddy = np.maximum(np.abs(cy[:, None] - units[None, :, 1]) - hh[:, None], 0)
    ok = np.all(np.hypot(ddx, ddy) >= _RADIUS + _NODE_PAD, axis=1)
    if len(obstacles):
        sep_x = np.abs(cx[:, None] - obstacles[None, :, 0]) >= hw[:, None] + obstacles[None, :, 2] + _PAD
        sep_y = np.abs(cy[:, None] - obstacles[None, :, 1]) >= hh[:, None] + obstacles[None, :, 3] + _PAD
        ok &= np.all(sep_x | sep_y, axis=1)
    # clear of the other arrows
    dist = _segment_box_distance(segs, cx, cy, hw, hh)
    dist[np.arange(len(cand)), owner] = np.inf
    dist[:, faded] = np.inf
    clearance = dist.min(axis=1)
    ok &= clearance >= _CLEAR

    # boxes of candidates that overlap each other (in rows of 256: the matrix is big enough)
    overlap = np.zeros((len(cand), len(cand)), dtype=bool)
    for r in range(0, len(cand), 256):
        rows = slice(r, r + 256)
        overlap[rows] = ((np.abs(cx[rows, None] - cx[None, :]) < hw[rows, None] + hw[None, :] + _PAD)
                         & (np.abs(cy[rows, None] - cy[None, :]) < hh[rows, None] + hh[None, :] + _PAD))
    placed: dict[int, int] = {}  # arrow -> its candidate
    failed: list[int] = []
    todo = np.zeros(len(arrows), dtype=bool)
    todo[labelled] = True
    blocked = np.zeros(len(cand), dtype=bool)  # covered by a placed label
    while todo.any():
        alive = ok & ~blocked & todo[owner]
        counts = np.bincount(owner[alive], minlength=len(arrows))
        waiting = np.flatnonzero(todo)
        i = int(waiting[np.argmin(counts[waiting])])
        todo[i] = False
        if counts[i] == 0:
            if _make_room(i, placed, ok, owner, overlap, clearance):
                blocked = overlap[list(placed.values())].any(axis=0)
            else:
                failed.append(i)
            continue
        live = np.flatnonzero(alive & (owner == i))
        # what each choice takes from the others: the share of their live spots it covers
        weight = np.where(alive & todo[owner], 1 / np.maximum(counts[owner], 1), 0.0)
        share = overlap[live].astype(float) @ weight
        score = np.minimum(clearance[live], 0.3) / 0.3 - share
        placed[i] = int(live[np.argmax(score)])
        blocked |= overlap[placed[i]]
    for i in failed:  # no clean spot: the one furthest from other arrows
        mine = np.flatnonzero(owner == i)
        placed[i] = int(mine[np.argmax(clearance[mine])])
    return {i: (float(cx[c]), float(cy[c])) for i, c in placed.items()}, failed


def _make_room(
    i: int, placed: dict[int, int], ok: np.ndarray, owner: np.ndarray, overlap: np.ndarray,
    clearance: np.ndarray,
) -> bool:
    """Place arrow ``i``'s label by moving up to two placed labels that are in its way."""
    mine = np.flatnonzero(ok & (owner == i))
    for c in mine[np.argsort(-clearance[mine])][:24]:
        blockers = [n for n, spot in placed.items() if overlap[c, spot]]
        if len(blockers) > 2:
            continue
        trial = {n: spot for n, spot in placed.items() if n not in blockers}
        trial[i] = int(c)
        for n in blockers:
            free = ok & (owner == n) & ~overlap[:, list(trial.values())].any(axis=1)
            if not free.any():
                break
            theirs = np.flatnonzero(free)
            trial[n] = int(theirs[np.argmax(clearance[theirs])])
        else:
            placed.clear()
            placed.update(trial)
            return True
    return False


def _segment_box_distance(
    segs: np.ndarray, cx: np.ndarray, cy: np.ndarray, hw: np.ndarray, hh: np.ndarray,
) -> np.ndarray:
    """Distances between axis-aligned boxes (centers ``cx, cy``, half sizes) and segments.

    Returns an array of shape (boxes, segments); 0 where a segment crosses a box.
    """
    px, py, qx, qy = (segs[:, i][None, :] for i in range(4))
    bx, by, bw, bh = cx[:, None], cy[:, None], hw[:, None], hh[:, None]
    # separating axes: x, y and the segment's normal
    apart = ((np.maximum(px, qx) < bx - bw) | (np.minimum(px, qx) > bx + bw)
             | (np.maximum(py, qy) < by - bh) | (np.minimum(py, qy) > by + bh))
    nx, ny = -(qy - py), qx - px
    apart |= np.abs(nx * (bx - px) + ny * (by - py)) > bw * np.abs(nx) + bh * np.abs(ny)

    def to_box(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.hypot(np.maximum(np.abs(x - bx) - bw, 0), np.maximum(np.abs(y - by) - bh, 0))

    def to_segment(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        length2 = (qx - px) ** 2 + (qy - py) ** 2
        t = np.clip(((x - px) * (qx - px) + (y - py) * (qy - py)) / np.maximum(length2, 1e-12), 0, 1)
        return np.hypot(px + t * (qx - px) - x, py + t * (qy - py) - y)

    d = np.minimum(to_box(px, py), to_box(qx, qy))
    for sx in (-1, 1):
        for sy in (-1, 1):
            d = np.minimum(d, to_segment(bx + sx * bw, by + sy * bh))
    return np.where(apart, d, 0.0)


def _legend(
    arrows: list[_Arrow], biggest: float, values_from: str, notation: str, dropout: bool,
) -> str:
    """An HTML-like label: what the arrows' color and width say, with bars drawn as they are,
    and (with ``dropout``) what a dashed unit is."""
    def bar(color: str, width: float) -> str:
        # a one-cell table of its own: a cell of a row is as tall as the row in graphviz-pure,
        # whatever its HEIGHT, so each bar is alone in its row
        return ('<TD><TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>'
                f'<TD FIXEDSIZE="TRUE" WIDTH="34" HEIGHT="{max(1, round(width))}" '
                f'BGCOLOR="{color}"></TD></TR></TABLE></TD>')

    def row(cells: list[str]) -> str:
        return ('<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="4" CELLPADDING="0"><TR>'
                + "".join(cells) + "</TR></TABLE>")

    def item(color: str, width: float, text: str) -> list[str]:
        return [bar(color, width), f'<TD ALIGN="LEFT">{text}</TD><TD WIDTH="8"></TD>']

    if notation == "html":
        what = "<I>w</I>" if values_from == "weights" else "∂<I>L</I>/∂<I>w</I>"
        p = "<I>p</I>"
    else:
        what = "w" if values_from == "weights" else "∂L/∂w"
        p = "p"
    noun = "weight" if values_from == "weights" else "gradient"
    thick = _width(biggest, biggest)
    sign = (item(colors.sign_color(1.0), thick, f"{what}&#160;&gt;&#160;0")
            + item(colors.sign_color(-1.0), thick, f"{what}&#160;&lt;&#160;0"))
    values = [a.value for a in arrows]
    if any(v == 0 for v in values):
        sign += item(colors.sign_color(0.0), thick, f"{what}&#160;=&#160;0")
    if not all(np.isfinite(values)):
        sign += item(colors.NONFINITE_COLOR, thick, "nan / inf")
    size = []
    for v in (0.0, biggest / 2, biggest):
        size += item("#555555", _width(v, biggest), _short(v))
    keys = [(f"color: sign of the {noun}", row(sign)), (f"width: its size |{what}|", row(size))]
    arrows_key = ('<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="1">'
                  + "".join(f'<TR><TD ALIGN="RIGHT">{name}</TD><TD ALIGN="LEFT">{cells}</TD></TR>'
                            for name, cells in keys)
                  + "</TABLE>")
    if not dropout:
        return f"<{arrows_key}>"
    # beside the arrows' key, not under it: a wider row would stretch that key's cells apart
    unit = '<TD STYLE="rounded,dashed" BORDER="1" FIXEDSIZE="TRUE" WIDTH="28" HEIGHT="28"></TD>'
    units_key = row([unit, f'<TD ALIGN="LEFT" BALIGN="LEFT">dashed units: dropout, each dropped<BR/>'
                           f"with probability {p} while training</TD>"])
    return ('<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="0"><TR>'
            f'<TD>{arrows_key}</TD><TD WIDTH="24"></TD><TD>{units_key}</TD></TR></TABLE>>')


def _short(x: float) -> str:
    """A legend's number: two significant digits.

    >>> _short(0.0), _short(0.9234), _short(17.25), _short(0.00031)
    ('0', '0.92', '17', '3.1e-04')
    """
    return "0" if x == 0 else f"{x:.2g}" if 1e-3 <= abs(x) < 100 else f"{x:.1e}"


def _unit_id(column: int, kind: str, k: int | None) -> str:
    if kind == "bias":
        return f"u{column}"
    if kind == "gap":
        return f"e{column}"
    return f"x{k}" if column == 0 else f"a{column}_{k}"

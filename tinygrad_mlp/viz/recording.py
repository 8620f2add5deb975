"""What a recorded training run holds: :class:`Recording`, one :class:`Snapshot` a step.

:class:`~tinygrad_mlp.watch.Watch` fills a :class:`Recording` during ``fit``;
:mod:`tinygrad_mlp.viz.live` turns it into the training page.  A snapshot keeps each drawn
node's texts and colours as :func:`label_state` reads them from the node's label, and each
arrow of the network diagram as :func:`arrows_of` reads it from the DOT source: the page shows
exactly what the drawing functions would draw at that step.

The graph's topology and the diagram's layout are the same at every step; only numbers change.
So the graph is drawn once, and :class:`GraphTemplate` reads every later step's texts and
colours from the graph's values with the functions the drawing uses
(:func:`~tinygrad_mlp.viz.labels.format_value`, :func:`~tinygrad_mlp.viz.colors.grad_color`)
— checked against the drawing when it is made, and only for a graph of the same shape.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygrad_mlp.engine import Value
from tinygrad_mlp.viz.colors import grad_color
from tinygrad_mlp.viz.computation import Scene, plain_grad
from tinygrad_mlp.viz.labels import format_value
from tinygrad_mlp.viz.structure import collect

__all__ = ["NodeState", "Snapshot", "Recording", "label_state", "arrows_of", "GraphTemplate",
           "TemplateMismatch"]


@dataclass
class NodeState:
    """One drawn node of the watched graph at one step: its texts and its colours.

    ``texts`` are the label's text runs in order (name, data, grad ...), as plain text;
    ``fill`` is its background (None when not coloured) and ``font`` its text colour.
    """

    texts: list[str]
    fill: str | None = None
    font: str = "black"


@dataclass
class Snapshot:
    """What was recorded at one step (see :class:`Recording`)."""

    step: int  # 1-based optimizer update; a final snapshot has the number of the last update
    epoch: int  # 1-based
    batch: int  # 1-based
    loss: float  # the batch's loss (nan for a final snapshot)
    params: dict[str, np.ndarray]  # the parameters this step's forward pass used
    sample_loss: float = math.nan
    sample_grads: dict[str, np.ndarray] = field(default_factory=dict)  # of the sample's loss
    graph: dict[str, NodeState] = field(default_factory=dict)  # drawn node id -> state
    arrows: list[tuple[str, str, str, float]] = field(default_factory=list)  # tail, head, colour, width
    grid: bytes | None = None
    final: bool = False  # taken after the last update, not before a step


@dataclass
class Recording:
    """Everything a :class:`Watch` recorded during one run of ``fit``."""

    total_steps: int = 0  # updates done (so far)
    planned_steps: int = 0
    chosen: set[int] = field(default_factory=set)  # the steps to snapshot, evenly spaced
    thinned: bool = False  # fewer steps chosen than planned
    steps_per_epoch: int = 0
    epochs: int = 0
    losses: list[float] = field(default_factory=list)  # every step's batch loss
    epoch_ends: list[int] = field(default_factory=list)  # the last step of each epoch
    epoch_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    frames: list[Snapshot] = field(default_factory=list)
    stop_reason: str = ""
    stopped_early: bool = False
    sample_index: int = 0
    sample_x: list[float] = field(default_factory=list)
    sample_y: Any = None
    collapse: str | None = None
    graph_drawing: Any = None  # the Drawing of the first snapshot's graph: laid out once
    network_drawing: Any = None
    grid_bounds: tuple[float, float, float, float] | None = None  # x0, x1, y0, y1
    grid_size: int = 0
    grid_kind: str = "score"  # one output: a score per cell; several: the class (argmax)
    classes: int = 0
    points: list[tuple[float, float, int]] = field(default_factory=list)  # x, y, class
    model_text: str = ""
    notes: list[str] = field(default_factory=list)  # what could not be shown, and why
    cache: dict[str, Any] = field(default_factory=dict)  # the laid-out pictures, once made


_RUN = re.compile(r">([^<>]+)<")
_BGCOLOR = re.compile(r'BGCOLOR="([^"]+)"')
_FONT = re.compile(r'<FONT COLOR="([^"]+)"')
_ID = r'("(?:[^"\\]|\\.)*"|[^\s"]+)'
_EDGE = re.compile(rf"^\s*{_ID} -> {_ID}(?: \[(.*)\])?\s*$")
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def label_state(label: str) -> NodeState:
    """The texts and colours of one HTML-like node label (``<<TABLE ...>...</TABLE>>``).

    >>> label_state('<<TABLE BGCOLOR="#2166ac"><TR><TD><FONT COLOR="white">data 1.5</FONT>'
    ...             '</TD></TR></TABLE>>')
    NodeState(texts=['data 1.5'], fill='#2166ac', font='white')
    """
    texts = [html.unescape(t) for t in _RUN.findall(label) if t.strip()]
    fill = _BGCOLOR.search(label)
    font = _FONT.search(label)
    return NodeState(texts, fill.group(1) if fill else None, font.group(1) if font else "black")


def arrows_of(source: str) -> list[tuple[str, str, str, float]]:
    """``(tail, head, colour, width)`` of every edge of a DOT source, in order.

    >>> arrows_of('digraph {\\n\\tx1 -> a1_1 [color="#2166ac" penwidth=1.50]\\n}')
    [('x1', 'a1_1', '#2166ac', 1.5)]
    """
    out = []
    for line in source.splitlines():
        m = _EDGE.match(line)
        if not m:
            continue
        attrs = {k: v.strip('"') for k, v in _ATTR.findall(m.group(3) or "")}
        try:
            width = float(attrs.get("penwidth", 1.0))
        except ValueError:
            width = 1.0
        out.append((m.group(1).strip('"'), m.group(2).strip('"'), attrs.get("color", "black"),
                    width))
    return out


class TemplateMismatch(ValueError):
    """A drawn graph's texts cannot be read back from its values (:class:`GraphTemplate`)."""


@dataclass
class _Slot:
    """Where one drawn node's numbers go: the values it shows (by position in the graph's
    :func:`~tinygrad_mlp.viz.structure.collect` order) and which of its texts are their data and
    grad."""

    state: NodeState  # as drawn: the texts and colours that do not change
    members: list[int]
    data_at: int | None
    grad_at: int | None
    coloured: bool  # filled by the gradient


def _signature(nodes: list[Value]) -> list[tuple[Any, ...]]:
    """The shape of a graph, which its drawing depends on apart from the numbers: each node's
    operation, role, index, shape and operands (by position in ``nodes``)."""
    at = {n: i for i, n in enumerate(nodes)}.__getitem__
    return [(n.op, n.role, n.index, n.requires_grad, n.shape, tuple(map(at, n.parents)))
            for n in nodes]


class GraphTemplate:
    """The drawn nodes of one computation graph as slots for its numbers.

    Made from a graph's :class:`~tinygrad_mlp.viz.computation.Scene` (drawn with
    ``color_by_grad=True``) and the :func:`label_state` of each of its nodes; :meth:`states`
    then gives the same states for a graph of the same shape (the same model called on the same
    sample at another step) from that graph's data and grads, without drawing it.  Building the
    template checks that it gives back the drawing's own states, and raises
    :class:`TemplateMismatch` if not (a node whose numbers it cannot place).

    >>> from tinygrad_mlp import MLP
    >>> from tinygrad_mlp.viz.computation import DrawOptions, build_scene
    >>> model = MLP(2, [2, 1], seed=0)
    >>> def loss():
    ...     out = (model([1.0, -2.0]) - 1.0) ** 2
    ...     out.backward()
    ...     return out
    >>> opts = DrawOptions(color_by_grad=True)
    >>> first = loss()
    >>> states = {n.id: label_state(str(n.attrs.get("label", "")))
    ...           for n in build_scene(first, opts).nodes}
    >>> template = GraphTemplate(first, build_scene(first, opts), states)
    >>> model.zero_grad(); model.layers[0].W.data[0, 0] += 0.5
    >>> later = loss()
    >>> template.states(later) == {n.id: label_state(str(n.attrs.get("label", "")))
    ...                            for n in build_scene(later, opts).nodes}
    True
    """

    def __init__(self, root: Value | list[Value], scene: Scene, states: dict[str, NodeState], *,
                 precision: int = 4) -> None:
        nodes = collect(root)
        self.precision = precision
        self._signature = _signature(nodes)
        pos = {n: i for i, n in enumerate(nodes)}
        members: dict[str, list[int]] = {}
        for v, node_id in scene.value_ids.items():
            members.setdefault(node_id, []).append(pos[v])
        self._slots: dict[str, _Slot] = {}
        for node_id, state in states.items():
            shown = members.get(node_id, [])
            self._slots[node_id] = self._slot(node_id, state, [nodes[i] for i in shown], shown)
        if self.states(root) != states:
            raise TemplateMismatch("the graph's drawn texts and colours are not its data and "
                                   "grads as the drawing formats them")

    def _slot(self, node_id: str, state: NodeState, values: list[Value],
              members: list[int]) -> _Slot:
        numbers = [i for i, t in enumerate(state.texts)
                   if t.startswith(("data ", "grad ")) and t != "grad —"]
        data_at = grad_at = None
        if values:
            data = self._text("data", values)
            data_at = next((i for i in numbers if state.texts[i] == data), None)
            if any(v.requires_grad for v in values):  # (reading a grad would make one)
                grad = self._text("grad", values)
                grad_at = next((i for i in numbers if state.texts[i] == grad), None)
        if sorted(i for i in (data_at, grad_at) if i is not None) != numbers:
            raise TemplateMismatch(f"node {node_id}: its numbers {[state.texts[i] for i in numbers]}"
                                   " are not the data and grad of the values it shows")
        return _Slot(state, members, data_at, grad_at, grad_at is not None and bool(state.fill))

    @staticmethod
    def _value(values: list[Value], kind: str) -> Any:
        """The data or grad a node shows: one value's, or an array of its values' (a neuron or
        layer drawn as one node)."""
        picked = [plain_grad(v) if kind == "grad" else v.data for v in values]
        return picked[0] if len(picked) == 1 else np.asarray(picked, dtype=float)

    def _text(self, kind: str, values: list[Value]) -> str:
        return f"{kind} {format_value(self._value(values, kind), self.precision)}"

    def matches(self, root: Value | list[Value]) -> bool:
        """Whether ``root``'s graph has this template's shape (operations, names, operands).

        >>> from tinygrad_mlp import Value
        >>> from tinygrad_mlp.viz.computation import DrawOptions, build_scene
        >>> a = Value(2.0, label="a") * 3; a.backward()
        >>> scene = build_scene(a, DrawOptions(color_by_grad=True))
        >>> t = GraphTemplate(a, scene, {n.id: label_state(str(n.attrs.get("label", "")))
        ...                              for n in scene.nodes})
        >>> t.matches(Value(5.0, label="a") * 3), t.matches(Value(5.0, label="a") + 3)
        (True, False)
        """
        return _signature(collect(root)) == self._signature

    def states(self, root: Value | list[Value]) -> dict[str, NodeState] | None:
        """The state of every drawn node for ``root``'s graph (after its backward pass), or
        None when the graph does not have this template's shape (draw it then)."""
        nodes = collect(root)
        if _signature(nodes) != self._signature:
            return None
        out = {}
        for node_id, slot in self._slots.items():
            texts, fill, font = list(slot.state.texts), slot.state.fill, slot.state.font
            values = [nodes[i] for i in slot.members]
            if slot.data_at is not None:
                texts[slot.data_at] = self._text("data", values)
            if slot.grad_at is not None:
                grad = self._value(values, "grad")
                texts[slot.grad_at] = f"grad {format_value(grad, self.precision)}"
                if slot.coloured:
                    fill, font = grad_color(grad)
            out[node_id] = NodeState(texts, fill, font)
        return out

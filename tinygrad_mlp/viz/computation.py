"""The computation graph: :func:`draw_dot`, micrograd's picture and much more.

Every value is a box with its label, its data and its grad (the data over the grad in the
default ``"html"`` notation, so that a graph fits a slide); every operation an oval with its
symbol, feeding the value it made.  A label the user set names its node; otherwise a graph built
by a model's scalar call style is drawn in the course notation, one cluster per neuron, left to
right like the network diagram (inputs, then layer 1's neurons in order, then layer 2's...), and
can be collapsed to one node per neuron or per layer.  In SVG, hovering a node, an arrow or a
cluster says what it is (``w⁽¹⁾₂₁ = 0.5243, grad 0.2643``).

Node ids are renumbered for each drawing in :meth:`Value.graph` order (``v0, v1, ...``), so the
DOT source of one graph is the same in every run, whatever else the process built.

The drawing is made in two steps: :class:`Scene` (nodes, edges, clusters as plain data) and
then the DOT text.  :mod:`tinygrad_mlp.viz.frames` restyles one scene per backward step.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import graphviz

from tinygrad_mlp.engine import Value
from tinygrad_mlp.notation import PARAMETER_ROLES, user_label
from tinygrad_mlp.viz import colors, labels
from tinygrad_mlp.viz.render import Drawing
from tinygrad_mlp.viz.structure import Structure, analyze, collect, downstream

__all__ = [
    "draw_dot",
    "plain_grad",
    "DrawOptions",
    "Scene",
    "build_scene",
    "GraphTooLargeError",
    "LargeGraphWarning",
    "WARN_NODES",
    "MAX_NODES",
]

_CALL_ROLES = ("weight", "bias", "z", "activation")
WARN_NODES = 1_000  # dot takes seconds and the picture is unreadable on a slide
MAX_NODES = 5_000  # dot takes tens of seconds
RANKSEP = "0.2"  # inches between ranks (dot's default 0.5): the graphs of models fit a slide
NODESEP = "0.12"  # inches between nodes of a rank (dot's default 0.25)
PAIR_CLUSTERS = 200  # weights kept beside their product by a cluster each (dot slows beyond)


class LargeGraphWarning(UserWarning):
    """A drawing has more than :data:`WARN_NODES` nodes."""


class GraphTooLargeError(ValueError):
    """A drawing would have more than :data:`MAX_NODES` nodes (pass ``force=True`` to draw it)."""


@dataclass(frozen=True)
class DrawOptions:
    """The options of :func:`draw_dot` (see there)."""

    rankdir: str = "LR"
    show_data: bool = True
    show_grad: bool = True
    precision: int = 4
    notation: str = "html"
    color_by_grad: bool = False
    color_by_order: bool = False
    hide_constants: bool = False
    collapse: str | None = None
    bias: str = "b"
    model_aware: bool = True
    title: str | None = None
    force: bool = False
    # frames draw every notation as HTML-like tables, whose geometry does not depend on colors
    tables: bool | None = None

    def check(self) -> DrawOptions:
        labels.check_notation(self.notation)
        if self.rankdir not in ("LR", "TB", "RL", "BT"):
            raise ValueError(f"rankdir must be 'LR', 'TB', 'RL' or 'BT', got {self.rankdir!r}")
        if self.collapse not in (None, "neuron", "layer"):
            raise ValueError(f"collapse must be None, 'neuron' or 'layer', got {self.collapse!r}")
        if self.bias not in ("b", "w0"):
            raise ValueError(f"bias must be 'b' or 'w0', got {self.bias!r}")
        if not isinstance(self.precision, int) or not 0 <= self.precision <= 12:
            raise ValueError(f"precision must be an int from 0 to 12, got {self.precision!r}")
        return self

    @property
    def use_tables(self) -> bool:
        return self.notation == "html" if self.tables is None else self.tables


@dataclass
class SceneNode:
    id: str
    attrs: dict[str, Any]
    cluster: tuple | None = None
    # written before the clusters beside it: dot then tries it first (above them in LR)
    first: bool = False


@dataclass
class SceneEdge:
    tail: str
    head: str
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class SceneCluster:
    id: str
    label: str
    parent: tuple | None
    attrs: dict[str, str] = field(default_factory=dict)
    # raw DOT statements (rank constraints) written inside the cluster
    body: list[str] = field(default_factory=list)


@dataclass
class Scene:
    """A drawing as plain data: nodes, edges and clusters, in a deterministic order."""

    nodes: list[SceneNode] = field(default_factory=list)
    edges: list[SceneEdge] = field(default_factory=list)
    clusters: dict[tuple, SceneCluster] = field(default_factory=dict)
    graph_attrs: dict[str, str] = field(default_factory=dict)
    body: list[str] = field(default_factory=list)  # raw DOT statements (rank constraints)
    # value id -> Value (for frames: which drawn node shows which Value)
    value_ids: dict[Value, str] = field(default_factory=dict)
    op_ids: dict[Value, str] = field(default_factory=dict)

    def to_drawing(self, engine: str = "dot") -> Drawing:
        """The DOT graph of this scene."""
        g = Drawing(engine=engine)
        g.graph_attr.update(self.graph_attrs)
        g.node_attr.update(fontsize="14")
        entries: dict[tuple | None, list[tuple[str, Any]]] = {None: []}
        for key, cl in self.clusters.items():
            entries.setdefault(key, [])
            entries.setdefault(cl.parent, []).append(("cluster", key))
        for n in self.nodes:
            entries.setdefault(n.cluster, []).append(("node", n))

        def fill(container: graphviz.Digraph, key: tuple | None) -> None:
            items = entries.get(key, [])
            items = ([e for e in items if e[0] == "node" and e[1].first]
                     + [e for e in items if e[0] != "node" or not e[1].first])
            for kind, item in items:
                if kind == "node":
                    container.node(item.id, **item.attrs)
                else:
                    cl = self.clusters[item]
                    sub = graphviz.Digraph(name=cl.id)
                    sub.graph_attr.update(cl.attrs)
                    if cl.label:
                        sub.graph_attr["label"] = cl.label
                    fill(sub, item)
                    sub.body.extend(f"\t{line}\n" for line in cl.body)
                    container.subgraph(sub)

        fill(g, None)
        g.body.extend(f"\t{line}\n" for line in self.body)
        for e in self.edges:
            g.edge(e.tail, e.head, **e.attrs)
        return g

    @property
    def size(self) -> int:
        return len(self.nodes)


# --------------------------------------------------------------------------- building
def _as_roots(root: Value | Sequence[Value]) -> Value | list[Value]:
    if isinstance(root, Value):
        return root
    if isinstance(root, (list, tuple)) and root and all(isinstance(r, Value) for r in root):
        return list(root)
    raise TypeError(
        f"draw a Value or a list of Values (a model's outputs), got {type(root).__name__}"
    )


def _as_highlight(highlight: Value | Iterable[Value] | None) -> set[Value]:
    if highlight is None:
        return set()
    if isinstance(highlight, Value):
        return {highlight}
    out = set(highlight)
    bad = [h for h in out if not isinstance(h, Value)]
    if bad:
        raise TypeError(f"highlight takes Values, got {type(bad[0]).__name__}")
    return out


def _is_hidden_constant(n: Value) -> bool:
    # an unnamed number such as the 2 in ``2 * x``; named constants (data) stay visible
    return not n.parents and not n.requires_grad and n.role is None and not n.label


class _Builder:
    """Builds one :class:`Scene`; ``grad_of``/``grad_shown`` let frames show partial gradients."""

    def __init__(
        self, roots: Value | list[Value], opts: DrawOptions, *, highlight: set[Value],
        grad_of: Callable[[Value], Any] | None = None,
        grad_shown: Callable[[Value], bool] | None = None,
        current: Value | None = None,
    ) -> None:
        self.opts = opts
        self.nodes = collect(roots)
        self.highlight = highlight
        self.grad_of = grad_of or plain_grad
        self.grad_shown = grad_shown
        self.current = current
        self.structure = analyze(self.nodes) if opts.model_aware else Structure(
            nodes=self.nodes, consumers={})
        self.scene = Scene()
        self.pos = {n: i for i, n in enumerate(self.nodes)}

    # ------------------------------------------------------------------ texts
    def name_of(self, n: Value, notation: str | None = None) -> str:
        """The node's name: the user's label if set, else the notation from role and index."""
        o = self.opts
        notation = notation or o.notation
        name = labels.node_name(n, notation, model_aware=o.model_aware, bias=o.bias)
        if o.model_aware and n.role is not None and not user_label(n):
            name += self.call_suffix(n, notation)
        return name

    def call_suffix(self, n: Value, notation: str | None = None) -> str:
        """`` (call 2)`` after a neuron's node when the drawing shows several calls, else ``""``.

        Each call has its own ``w^(l)_{jk}`` node whose grad is that call's share only; without
        the call number a reader takes it for dL/dw (the sum over all calls).
        """
        s, o = self.structure, self.opts
        if (s.n_instances < 2 or o.collapse or n.role not in _CALL_ROLES
                or n not in s.owner or n not in s.instance):
            return ""
        text = f" (call {s.instance[n] + 1})"
        if (notation or o.notation) == "html":
            return f'<FONT POINT-SIZE="10">{labels.html_text(text)}</FONT>'
        return text

    def num(self, x: Any) -> str:
        return labels.format_value(x, self.opts.precision)

    # ------------------------------------------------------------------ node labels
    def value_label(
        self, name: str, *, data: Any = None, grad: Any = None, shape: tuple | None = None,
        has_grad: bool = True, grad_visible: bool = True, fill: str | None = None,
        font: str = "black", extra: Sequence[str] = (), vertical: bool = False,
        table: bool | None = None,
    ) -> dict[str, Any]:
        """Attributes of a value box: ``name | data | grad`` as a table or a record.

        ``name`` and ``extra`` are markup in the ``"html"`` notation and plain text otherwise.
        """
        o = self.opts
        use_table = o.use_tables if table is None else table
        markup = o.notation == "html"
        cells: list[tuple[str, str]] = []  # (plain text or markup, kind)
        if name or not use_table:
            cells.append((name, "name"))
        for e in extra:
            cells.append((e, "extra"))
        if shape:
            cells.append((labels.text(str(shape), o.notation), "name" if markup else "shape"))
        if o.show_data and data is not None:
            cells.append((f"data {self.num(data)}", "data"))
        if o.show_grad:
            if not has_grad:
                cells.append(("grad —", "grad"))
            elif grad is not None:
                cells.append((f"grad {self.num(grad)}", "grad-" + ("shown" if grad_visible else "hidden")))
        if use_table:
            if fill is None and not grad_visible:
                fill = "#ffffff"  # the hidden text is painted in this color: make it the cell's
            row, numbers = [], []
            for content, kind in cells:
                body = content if markup and kind in ("name", "extra") else labels.html_text(content)
                if kind == "grad-hidden" or kind == "grad-shown" and self.grad_shown is not None:
                    # Frames: a gradient not known yet keeps its text (so the box keeps its size)
                    # painted in the background color; known or not, the text is split the same
                    # way so that every frame has the same geometry.
                    head, _, value = content.partition(" ")
                    color = fill if kind == "grad-hidden" else font
                    body = (f'{labels.html_text(head)} <FONT COLOR="{color}">'
                            f"{labels.html_text(value)}</FONT>")
                if font != "black":
                    body = f'<FONT COLOR="{font}">{body}</FONT>'
                (numbers if kind in ("data", "grad") or kind.startswith("grad-") else row).append(body)
            table = ('<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="2"'
                     + (f' BGCOLOR="{fill}"' if fill else "") + ">"
                     + "".join(_table_rows(row, numbers, vertical)) + "</TABLE>")
            return {"shape": "plain", "label": f"<{table}>"}
        fields = [str(labels.record_text(content)) for content, _ in cells]
        body = " | ".join(fields)
        if (o.rankdir in ("LR", "RL")) != vertical:
            body = "{ " + body + " }"  # records turn their fields with the rank direction
        attrs: dict[str, Any] = {"shape": "record", "label": graphviz.nohtml(body)}
        if fill:
            attrs.update(style="filled", fillcolor=fill)
        if font != "black":
            attrs["fontcolor"] = font
        return attrs

    def op_attrs(self, text: str, *, active: bool = False) -> dict[str, Any]:
        o = self.opts
        label = f"<{labels.html_text(text)}>" if o.use_tables else labels.dot_text(text)
        attrs: dict[str, Any] = {"label": label, "shape": "ellipse", "margin": "0.05,0.03",
                                 "height": "0.4", "width": "0.4"}
        if active:
            attrs.update(style="filled", fillcolor=colors.HIGHLIGHT_COLOR)
        return attrs

    def mark(self, attrs: dict[str, Any], strong: bool) -> None:
        """Point at a node with a thick colored outline (which changes no geometry)."""
        if not strong:
            return
        if attrs.get("shape") == "plain":
            # a table node has no outline: a box of margin 0 gives it one
            attrs.update(shape="box", margin="0", width="0", height="0")
        attrs.update(color=colors.HIGHLIGHT_COLOR, penwidth="4")

    def grad_fill(self, n: Value, grad: Any, shown: bool) -> tuple[str | None, str]:
        if self.opts.color_by_order:
            return colors.order_color(n.derivative_order), "black"
        if not self.opts.color_by_grad or not n.requires_grad or grad is None or not shown:
            return None, "black"
        return colors.grad_color(grad)

    # ------------------------------------------------------------------ main
    def build(self) -> Scene:
        o, s, scene = self.opts, self.structure, self.scene
        collapse = o.collapse if s.is_model else None
        self.group_of: dict[Value, tuple] = {}
        if collapse:
            self._assign_groups(collapse)
        visible = [n for n in self.nodes if n not in s.hidden
                   and not (o.hide_constants and _is_hidden_constant(n))
                   and n not in self.group_of]
        drawn = len(visible) + sum(1 for n in visible if self._has_op_node(n))
        # one node per group, and an op oval for a merged operation (tail op or chain)
        ovals = {g for n, g in self.group_of.items() if g[0] in ("tail", "chain") and n.parents}
        drawn += len(set(self.group_of.values())) + len(ovals)
        if o.bias == "w0" and not collapse:
            drawn += 2 * sum(1 for n in visible if n.role == "bias" and n in s.owner)
        self._check_size(drawn)

        attrs = {"rankdir": o.rankdir}
        if not collapse:
            # tight ranks: value boxes with their data over their grad, and short arrows (a
            # collapsed drawing keeps dot's spacing: its layers are joined by many arrows)
            attrs.update(ranksep=RANKSEP, nodesep=NODESEP)
        if o.title:
            attrs.update(label=self._title(o.title), labelloc="t")
        scene.graph_attrs = attrs
        if s.is_model and not collapse:
            # clusters in reading order (inputs, then layer by layer, neurons top to bottom):
            # dot places clusters roughly in the order they appear in the source
            keys = {self._cluster_key(n) for n in visible} - {None}
            for key in sorted(keys, key=_reading_order):
                self._cluster(key)
        # nodes
        self.out_id: dict[Value, str] = {}
        self.in_id: dict[Value, str] = {}
        self.bias_inputs: dict[str, tuple[int, int]] = {}  # x0 node -> (layer, call)
        # bias="w0": bias -> (its box w_j0, its *, the product w_j0·x_0)
        self.bias_products: dict[Value, tuple[str, str, str]] = {}
        self.short: dict[str, str] = {}  # node id -> a short name, for the edges' tooltips
        for n in visible:
            self._add_value(n)
        if collapse:
            self._add_groups()
        if o.bias == "w0" and not collapse and s.is_model:
            self._add_bias_inputs(visible)
        self._add_edges(visible)
        if s.is_model and not collapse:
            self.ranked_terms: set[str] = set()  # biases that their products' rank places
            self.first: list[str] = []  # nodes written first in their cluster, in this order
            if o.use_tables:  # dot loses flat edges between records ("lost edge")
                self._terms_in_order(visible)
            self._layers_in_order()
            if o.use_tables:
                self._weights_beside_products(visible)
                # dot starts from the order of the source and keeps it where no crossing is
                # saved: a cluster's nodes come in the order they are to be drawn
                rank = {node_id: i for i, node_id in enumerate(self.first)}
                scene.nodes.sort(key=lambda node: rank.get(node.id, len(rank)))
        if o.color_by_order:
            label = colors.order_legend_label([n.derivative_order for n in visible])
            scene.nodes.append(SceneNode("legend", {"shape": "plain", "label": label,
                                                    "tooltip": "legend: derivative order"}))
        elif o.color_by_grad and o.show_grad:
            scene.nodes.append(SceneNode("legend", {"shape": "plain", "label": colors.legend_label(),
                                                    "tooltip": "legend: gradient"}))
        self._tooltips()
        return scene

    def _layers_in_order(self) -> None:
        """Lay each call out left to right like the network diagram: inputs, layer 1, layer 2...

        ``dot`` ranks a cluster as one block, with its leaves (the weights and biases) on its
        first rank; a layer's first operation comes after the previous layer's outputs, so its
        weights share a rank with them and the layer's block goes above or below the previous
        one: a staircase.  An invisible edge from the previous stage (the first input, or the
        previous layer's first output, and its ``x_0 = 1``) to each leaf of a layer moves the
        layer's block one rank on, beside the previous one.  (Rank constraints do not do it:
        ``rank=source`` pulls the inputs out of their cluster, and under ``newrank`` it acts as
        ``rank=min``, which the weights share.)
        """
        scene, s = self.scene, self.structure
        heads = {e.head for e in scene.edges}
        stage: dict[tuple[int, int], list[str]] = {}  # (layer, call) -> the nodes that end it
        inputs: dict[tuple, list[tuple[tuple, str]]] = {}
        for n in scene.nodes:
            key = n.cluster
            if key is not None and key[0] == "in":
                stage.setdefault((0, key[1]), [n.id])
        for n, node_id in self.out_id.items():
            key = self._cluster_key(n)
            if n.role == "input" and key in scene.clusters:
                inputs.setdefault(key, []).append((tuple(n.index or ()), node_id))
        for x0, (layer, k) in self.bias_inputs.items():
            if layer == 1 and ("in", k) in scene.clusters:
                inputs.setdefault(("in", k), []).append(((), x0))  # x_0 = 1 first, as written
        for key, items in inputs.items():
            if self.opts.use_tables:  # dot loses flat edges between records ("lost edge")
                ids = [node_id for _, node_id in sorted(items)]
                self._in_order(key, ids)
                self.first.extend(ids)
        for (layer, _, k), n in sorted(s.outputs.items()):
            node_id = self.out_id.get(n)
            if node_id is not None and (layer, k) not in stage:
                stage[(layer, k)] = [node_id]
        for x0, (layer, k) in self.bias_inputs.items():
            stage.setdefault((layer - 1, k), []).append(x0)
        for n in scene.nodes:
            key = n.cluster
            if key is None or key[0] != "neuron" or n.id in heads or n.id in self.ranked_terms:
                continue
            for tail in stage.get((key[1] - 1, key[3]), ()):
                if tail != n.id:
                    scene.edges.append(SceneEdge(tail, n.id, {"style": "invis"}))

    def _in_order(self, key: tuple, ids: list[str]) -> None:
        """Keep the nodes ``ids`` of one cluster and one rank in this order, top to bottom
        (left to right in ``TB``), by invisible edges within the rank.

        The inputs' order sets the order of everything after them (each layer's weights, its
        neurons), which ``dot`` otherwise lays out upside down as often as not.
        """
        if len(ids) < 2:
            return
        scene = self.scene
        scene.clusters[key].body.append("{rank=same; " + "; ".join(ids) + "}")
        # inside a cluster, dot draws a flat edge's tail first in TB and BT (on the left) but
        # last in LR and RL (at the bottom)
        later_first = self.opts.rankdir in ("LR", "RL")
        for a, b in zip(ids, ids[1:]):
            tail, head = (b, a) if later_first else (a, b)
            scene.edges.append(SceneEdge(tail, head, {"style": "invis"}))

    def _weights_beside_products(self, visible: list[Value]) -> None:
        """Put each weight on the rank of its ``*``, just above it, in the neuron's first rank.

        The weight box then sits on its multiplication as a weight sits on its arrow in the
        network diagram, and every input's arrow reaches its ``*`` in one rank (an arrow
        crossing a rank outside its cluster would have to go around the layer).  An invisible
        cluster per pair keeps the two together, up to :data:`PAIR_CLUSTERS` weights (beyond,
        ``dot`` takes seconds more, and the weight may end up beside another product).
        """
        s, scene = self.structure, self.scene
        found = []  # (neuron cluster, weight box, its *, the product)
        for n in visible:
            if n.role not in PARAMETER_ROLES or n not in s.owner:
                continue
            users = [c for c in s.consumers.get(n, ()) if c in self.in_id]
            key = self._cluster_key(n)
            if key is None and len(users) > 1 and n in self.out_id:
                # a parameter several calls share, drawn outside them: on the rank of its first
                # call's product, so the calls keep their order (newrank lets a rank
                # constraint reach into a cluster)
                scene.body.append(f"{{rank=same; {self.out_id[n]}; {self.in_id[users[0]]}}}")
                scene.graph_attrs["newrank"] = "true"
                continue
            if n in self.bias_products and key in scene.clusters:
                found.insert(0, (key, *self.bias_products[n]))  # w_j0 · x_0 comes first
                continue
            if n.role != "weight":
                continue
            if (len(users) == 1 and s.owner.get(users[0]) == s.owner[n]
                    and key in scene.clusters):
                found.append((key, self.out_id[n], self.in_id[users[0]], self.out_id[users[0]]))
        where = {node.id: node for node in scene.nodes}
        same: dict[tuple, list[tuple[str, str]]] = {}
        for key, w, op, product in found:
            rank = f"{{rank=same; {w}; {op}}}"
            if len(found) <= PAIR_CLUSTERS:
                pair = ("pair", *key[1:], w)
                scene.clusters[pair] = SceneCluster(
                    f"cluster_{w}", "", key,
                    {"peripheries": "0", "margin": "0", "label": "",
                     "tooltip": _tooltip(f"{self.short[w]} and its product")}, body=[rank])
                where[w].cluster = where[op].cluster = pair
            else:
                scene.clusters[key].body.append(rank)
            same.setdefault(key, []).append((op, product))
        for pairs in same.values():
            if all(product in self.ranked_terms for _, product in pairs):
                continue  # the products share a rank already, and so do their pairs
            # the first product's value follows every pair: all pairs on the neuron's first rank
            first = pairs[0][1]
            for op, _ in pairs[1:]:
                scene.edges.append(SceneEdge(op, first, {"style": "invis"}))

    def _terms_in_order(self, visible: list[Value]) -> None:
        """Stack each neuron's terms (its bias and its products) in the order they enter its sum.

        ``b + w1·x1 + w2·x2`` adds the bias and the first product first: with the bias on top
        (``w_j0·x_0`` for ``bias="w0"``), each partial sum's two operands are neighbours and no
        arrow crosses another on its way into the chain of ``+``.
        """
        s = self.structure
        terms: dict[tuple, list[tuple[int, int, str]]] = {}
        for n in visible:
            key = self._cluster_key(n)
            if key is None or key[0] != "neuron" or n not in self.out_id:
                continue
            is_product = n.op == "*" and any(p.role == "weight" for p in n.parents)
            if not (is_product or n.role == "bias"):
                continue
            sums = [c for c in s.consumers.get(n, ()) if s.owner.get(c) == s.owner[n]
                    and c.op == "+"]
            if len(sums) == 1:  # feeds the neuron's chain of sums once
                c = sums[0]
                terms.setdefault(key, []).append((self.pos[c], c.parents.index(n), self.out_id[n]))
        for key, items in terms.items():
            ids = [node_id for *_, node_id in sorted(items)]
            if len(ids) > 1:
                # the rank of the products places the bias: an invisible edge from the previous
                # stage would pull it a rank off, and dot then breaks the order
                self.ranked_terms.update(ids)
            self._in_order(key, ids)
            self.first.extend(ids)

    def _title(self, title: str) -> str:
        if self.opts.use_tables:
            return f"<<B>{labels.html_text(title)}</B>>"
        return labels.dot_text(title)

    def _check_size(self, drawn: int) -> None:
        if drawn > MAX_NODES and not self.opts.force:
            raise GraphTooLargeError(
                f"this drawing would have {drawn} nodes; Graphviz needs tens of seconds for more "
                f"than {MAX_NODES} and the picture cannot be read. Draw less: collapse='neuron' "
                "or collapse='layer' (for a model's scalar graph), hide_constants=True, a smaller "
                "model or fewer samples — or pass force=True to draw it anyway."
            )
        if drawn > WARN_NODES:
            warnings.warn(
                f"drawing {drawn} nodes: Graphviz will take seconds and the picture is hard to "
                "read; consider collapse='neuron' or collapse='layer'",
                LargeGraphWarning, stacklevel=5,
            )

    def _has_op_node(self, n: Value) -> bool:
        return bool(n.parents) and n not in self.structure.param_nodes

    def _cluster_key(self, n: Value) -> tuple | None:
        s = self.structure
        if not s.is_model or not self.opts.model_aware:
            return None
        o = s.owner.get(n)
        if o is None or (n not in s.instance and n in s.param_nodes and s.n_instances > 1):
            return None  # (a weight that several calls share: drawn once, outside the calls)
        k = s.instance.get(n, 0)
        return ("in", k) if o[0] == 0 else ("neuron", o[0], o[1], k)

    def _cluster_of(self, n: Value) -> tuple | None:
        key = self._cluster_key(n)
        return None if key is None else self._cluster(key)

    def _cluster(self, key: tuple) -> tuple:
        clusters = self.scene.clusters
        if key in clusters:
            return key
        s, o = self.structure, self.opts
        suffix = f" · call {key[-1] + 1}" if s.n_instances > 1 else ""
        # one level of clusters: dot keeps the neurons of a layer in order only when they are
        # not nested in a cluster of their layer
        if key[0] == "in":
            cid, label = f"cluster_in_{key[1]}", "inputs" + suffix
        else:
            _, layer, j, k = key
            cid, label = f"cluster_l{layer}_n{j}_{k}", f"layer {layer} · neuron {j}{suffix}"
        attrs = {"style": "rounded,filled", "fillcolor": "#f4f4f4", "color": "#bbbbbb",
                 "fontsize": "12", "labeljust": "l", "tooltip": _tooltip(label)}
        label = f"<{labels.html_text(label)}>" if o.use_tables else labels.dot_text(label)
        clusters[key] = SceneCluster(cid, label, None, attrs)
        return key

    def _add_value(self, n: Value) -> None:
        o, scene = self.opts, self.scene
        i = self.pos[n]
        vid = f"v{i}"
        shown = self.grad_shown(n) if self.grad_shown else True
        grad = self.grad_of(n) if n.requires_grad and o.show_grad else None
        fill, font = self.grad_fill(n, grad, shown)
        shape = n.shape if n.ndim else None
        attrs = self.value_label(
            self.name_of(n), data=n.data, grad=grad, shape=shape, has_grad=n.requires_grad,
            grad_visible=shown, fill=fill, font=font,
        )
        self.mark(attrs, n in self.highlight or n is self.current)
        attrs["tooltip"] = _tooltip(self.describe(n, grad if shown else None))
        self.short[vid] = self.short_name(n)
        cluster = self._cluster_of(n)
        scene.nodes.append(SceneNode(vid, attrs, cluster))
        scene.value_ids[n] = vid
        self.out_id[n] = vid
        if self._has_op_node(n):
            oid = f"o{i}"
            text = self.op_text(n)
            op_attrs = self.op_attrs(text, active=n is self.current)
            op_attrs["tooltip"] = _tooltip(f"{text}: {self.expression(n)} = {self.num(n.data)}")
            self.short[oid] = text
            scene.nodes.append(SceneNode(oid, op_attrs, cluster))
            scene.op_ids[n] = oid
            scene.edges.append(SceneEdge(oid, vid))
            self.in_id[n] = oid

    # ------------------------------------------------------------------ tooltips
    def short_name(self, n: Value) -> str:
        """The node's name, else its operation and operands (an unnamed constant: its value)."""
        return self.name_of(n, "unicode") or self.expression(n)

    def expression(self, n: Value) -> str:
        """``n`` as its operation on its operands, ``w⁽¹⁾₁₁·x₁``, as a caption writes it."""
        return labels.expression(n, model_aware=self.opts.model_aware, bias=self.opts.bias)

    def describe(self, n: Value, grad: Any) -> str:
        """A value's tooltip: ``w⁽¹⁾₂₁ = 0.5243, grad 0.2643``."""
        name = self.name_of(n, "unicode")
        if not name:
            name = self.expression(n) if n.parents else "constant"
        text = f"{name} = {self.num(n.data)}"
        if grad is not None:
            text += f", grad {self.num(grad)}"
        elif not n.requires_grad:
            text += " (no gradient)"
        return text

    def _tooltips(self) -> None:
        """A tooltip on every node, edge and cluster, so a browser never shows an internal id."""
        scene = self.scene
        for node in scene.nodes:
            node.attrs.setdefault("tooltip", " ")
        for e in scene.edges:
            if e.attrs.get("style") != "invis":
                tail, head = self.short.get(e.tail, ""), self.short.get(e.head, "")
                e.attrs.setdefault("tooltip", _tooltip(f"{tail} → {head}" if tail and head else " "))
        for cl in scene.clusters.values():
            cl.attrs.setdefault("tooltip", " ")
        scene.graph_attrs.setdefault("tooltip", _tooltip(self.opts.title or " "))

    def op_text(self, n: Value) -> str:
        """The operation's name, with a number exponent and any hidden constant in its place.

        ``x - 2`` reads "- 2" and ``2 - x`` reads "2 -", so the label still states the maths.
        """
        fn = n.function
        text = (fn.label(n) if fn is not None else "") or "?"  # the operation's own label: "**2"
        if self.opts.hide_constants:
            parents = n.parents
            hidden = [_is_hidden_constant(p) for p in parents]
            if len(parents) == 2 and hidden[0] != hidden[1]:
                c = self.num((parents[0] if hidden[0] else parents[1]).data)
                return f"{c} {text}" if hidden[0] else f"{text} {c}"
            if any(hidden):
                text += " " + ", ".join(self.num(p.data) for p, h in zip(parents, hidden) if h)
        return text

    # ------------------------------------------------------------------ bias as w_j0 x_0
    def _add_bias_inputs(self, visible: list[Value]) -> None:
        """Show each bias as the seed writes it: ``w^(l)_{j0}`` times a constant input ``x_0 = 1``."""
        s, scene, o = self.structure, self.scene, self.opts
        made: set[str] = set()
        for n in visible:
            if n.role != "bias" or n not in s.owner:
                continue
            layer, j = s.owner[n]
            k = s.instance.get(n, 0)
            x0 = f"x0_l{layer}_{k}"
            if x0 not in made:  # one constant input per layer and call
                made.add(x0)
                self.bias_inputs[x0] = (layer, k)
                if layer == 1:
                    name, cluster = labels.symbol("x", None, (0,), o.notation), self._cluster(("in", k))
                else:
                    name = labels.symbol("a", layer - 1, (0,), o.notation)
                    cluster = None  # between the layers
                attrs = self.value_label(name, data=1.0, has_grad=True, grad=None)
                plain = (labels.symbol("x", None, (0,), "unicode") if layer == 1
                         else labels.symbol("a", layer - 1, (0,), "unicode"))
                attrs["tooltip"] = _tooltip(f"{plain} = 1, the constant input of the biases")
                self.short[x0] = plain
                # a^(l-1)_0 goes above a^(l-1)_1, as x_0 above x_1 (records: dot's order is best)
                scene.nodes.append(SceneNode(x0, attrs, cluster,
                                             first=cluster is None and o.use_tables))
            i = self.pos[n]
            pid, poid = f"p{i}", f"po{i}"
            w = labels.role_symbol("bias", n.index, o.notation, bias="w0") + self.call_suffix(n)
            x = labels.symbol("x" if layer == 1 else "a", None if layer == 1 else layer - 1, (0,),
                              o.notation)
            cluster = self._cluster_of(n)
            shown = self.grad_shown(n) if self.grad_shown else True
            grad = self.grad_of(n) if o.show_grad else None
            fill, font = self.grad_fill(n, grad, shown)
            attrs = self.value_label(f"{w} {x}" if o.notation == "html" else f"{w}·{x}", data=n.data,
                                     grad=grad, grad_visible=shown, fill=fill, font=font)
            w_plain = labels.role_symbol("bias", n.index, "unicode", bias="w0")
            x_plain = labels.symbol("x" if layer == 1 else "a", None if layer == 1 else layer - 1,
                                    (0,), "unicode")
            attrs["tooltip"] = _tooltip(f"{w_plain}·{x_plain} = {self.num(n.data)}"
                                        + (f", grad {self.num(grad)}" if grad is not None and shown
                                           else ""))
            op = self.op_attrs("*")
            op["tooltip"] = _tooltip(f"*: {w_plain}·{x_plain}")
            self.short[poid], self.short[pid] = "*", f"{w_plain}·{x_plain}"
            scene.nodes.append(SceneNode(poid, op, cluster))
            scene.nodes.append(SceneNode(pid, attrs, cluster))
            scene.edges.append(SceneEdge(self.out_id[n], poid))
            scene.edges.append(SceneEdge(x0, poid))
            scene.edges.append(SceneEdge(poid, pid))
            self.bias_products[n] = (self.out_id[n], poid, pid)
            self.out_id[n] = pid

    # ------------------------------------------------------------------ collapse
    def _assign_groups(self, collapse: str) -> None:
        s = self.structure
        for n in self.nodes:
            o = s.owner.get(n)
            if o is None or n in s.hidden:
                continue
            self.group_of[n] = ("neuron", o) if collapse == "neuron" else ("layer", o[0])
        # after the model: the calls' tails (each call's loss term) merge like the calls do, and
        # a chain adding them up (sum(losses)) becomes one node; everything else stays as it is
        down = downstream(s)
        self.tail_members: dict[tuple, list[Value]] = {}
        if down.tails_match:
            hide = self.opts.hide_constants
            for tail in down.tails.values():
                for i, n in enumerate(tail):
                    if hide and _is_hidden_constant(n):
                        continue  # not drawn at all, as elsewhere
                    self.group_of[n] = ("tail", i)
                    self.tail_members.setdefault(("tail", i), []).append(n)
        self.chains = {("chain", c): chain for c, chain in enumerate(down.chains)}
        for g, chain in self.chains.items():
            for n in chain:
                self.group_of[n] = g

    def _add_groups(self) -> None:
        s, o, scene = self.structure, self.opts, self.scene
        order: dict[tuple, str] = {}
        for n in self.nodes:
            g = self.group_of.get(n)
            if g is not None and g not in order:
                order[g] = f"g{len(order)}"
        outputs_by: dict[tuple, list[Value]] = {}
        inputs_by: dict[tuple, list[Value]] = {}
        for n in self.nodes:
            g = self.group_of.get(n)
            if g is None:
                continue
            if n.role == "input":
                inputs_by.setdefault(g, []).append(n)
        for (layer, j, _), n in s.outputs.items():
            g = ("neuron", (layer, j)) if o.collapse == "neuron" else ("layer", layer)
            outputs_by.setdefault(g, []).append(n)
        for g, gid in order.items():
            if g[0] in ("tail", "chain"):
                continue
            members = outputs_by.get(g) or inputs_by.get(g) or []
            attrs = self._group_label(g, members)
            attrs["tooltip"] = _tooltip(self._group_tooltip(g))
            self.short[gid] = self._group_tooltip(g)
            self.mark(attrs, any(m in self.highlight or m is self.current for m in members))
            scene.nodes.append(SceneNode(gid, attrs))
            for m in members:  # frames: the values this node shows
                scene.value_ids.setdefault(m, gid)
        if o.collapse == "neuron":
            self._keep_neuron_order({g: i for g, i in order.items() if g[0] == "neuron"})
        for n, g in self.group_of.items():
            self.out_id[n] = self.in_id[n] = order[g]
        for g, gid in order.items():
            if g[0] == "tail":
                self._add_merged_tail(gid, self.tail_members[g])
            elif g[0] == "chain":
                self._add_chain(gid, self.chains[g])

    def _add_merged_tail(self, gid: str, members: list[Value]) -> None:
        """One node (and its op oval) for the same node of every call's tail, marked ×N calls.

        Data and grad are the per-call values, shown as for any array (a preview, or norm and
        mean).  Edges into the op oval come from ``in_id``; edges out of it from ``out_id``.
        """
        import numpy as np

        o, scene, first = self.opts, self.scene, members[0]
        names = {m.label for m in members}
        name = labels.text(first.label, o.notation) if len(names) == 1 else ""
        has_grad = any(m.requires_grad for m in members)
        grads = [self.grad_of(m) for m in members] if has_grad and o.show_grad else None
        data = _squeeze(np.asarray([[m.data for m in members]], dtype=float))
        grad = _squeeze(np.asarray([grads], dtype=float)) if grads is not None else None
        fill, font = (colors.grad_color(grad) if o.color_by_grad and grad is not None
                      else (None, "black"))
        attrs = self.value_label(name, data=data, grad=grad, has_grad=has_grad, fill=fill,
                                 font=font, extra=[labels.text(f"×{len(members)} calls", o.notation)])
        self.mark(attrs, any(m in self.highlight for m in members))
        short = self.short_name(first) if len(names) == 1 else f"({first.op or 'value'})"
        attrs["tooltip"] = _tooltip(f"{short}, ×{len(members)} calls: one node for each call's")
        self.short[gid] = short
        scene.nodes.append(SceneNode(gid, attrs))
        if not first.parents:
            return
        texts = {self.op_text(m) for m in members}
        # hidden constants that differ from call to call cannot be written into one oval
        text = texts.pop() if len(texts) == 1 else f"{first.op} (constant per call)"
        oid = f"{gid}o"
        op = self.op_attrs(text)
        op["tooltip"] = _tooltip(f"{text}: {self.expression(first)}, ×{len(members)} calls")
        self.short[oid] = text
        scene.nodes.append(SceneNode(oid, op))
        scene.edges.append(SceneEdge(oid, gid))
        for m in members:
            self.in_id[m] = oid

    def _add_chain(self, gid: str, chain: list[Value]) -> None:
        """A chain ``((t0 + t1) + t2) + ...`` as one oval ``+ (×n)`` feeding its last value.

        Every link points ``in_id`` and ``out_id`` at the oval, so the edges between links are
        dropped as self-loops; the added terms all come in once each, deduplicated.
        """
        o, scene, end = self.opts, self.scene, chain[-1]
        shown = self.grad_shown(end) if self.grad_shown else True
        grad = self.grad_of(end) if end.requires_grad and o.show_grad else None
        fill, font = self.grad_fill(end, grad, shown)
        attrs = self.value_label(self.name_of(end), data=end.data, grad=grad,
                                 shape=end.shape if end.ndim else None,
                                 has_grad=end.requires_grad, fill=fill, font=font)
        self.mark(attrs, any(n in self.highlight for n in chain))
        attrs["tooltip"] = _tooltip(self.describe(end, grad if shown else None))
        oid = f"{gid}o"
        text = f"{end.op or '?'} (×{len(chain)})"
        op = self.op_attrs(text)
        op["tooltip"] = _tooltip(f"{end.op or '?'} of {len(chain) + 1} terms, one node for "
                                 f"the {len(chain)} operations")
        self.short[gid], self.short[oid] = self.short_name(end), text
        scene.nodes.append(SceneNode(gid, attrs))
        scene.nodes.append(SceneNode(oid, op))
        scene.edges.append(SceneEdge(oid, gid))
        for n in chain:
            self.in_id[n] = self.out_id[n] = oid
        self.out_id[end] = gid

    def _keep_neuron_order(self, order: dict[tuple, str]) -> None:
        """Neurons 1, 2, 3 top to bottom under a heading per layer, the headings on one level.

        One rank per layer, chained by invisible edges.  (Clusters would let ``dot`` reorder
        the neurons, so the layer's name is a heading node instead of a cluster label.)
        """
        o = self.opts
        by_layer: dict[int, list[tuple[int, str]]] = {}
        for (_, (layer, j)), gid in order.items():
            by_layer.setdefault(layer, []).append((j, gid))
        heads = [f"h{layer}" for layer in sorted(by_layer)]
        for a, b in zip(heads, heads[1:]):
            # a heavy invisible edge between neighbouring headings: dot draws it straight, so
            # the headings are on one level however tall each column is
            self.scene.edges.append(SceneEdge(a, b, {"style": "invis", "weight": "100"}))
        for layer in sorted(by_layer):
            items = sorted(by_layer[layer])
            head = f"h{layer}"
            name = "inputs" if layer == 0 else f"layer {layer}"
            label = f"<<B>{labels.html_text(name)}</B>>" if o.use_tables else labels.dot_text(name)
            self.scene.nodes.append(SceneNode(head, {"shape": "plaintext", "label": label,
                                                     "tooltip": _tooltip(name)}))
            ids = [head] + [gid for _, gid in items]
            self.scene.body.append("{rank=same; " + "; ".join(ids) + "}")
            for a, b in zip(ids, ids[1:]):
                self.scene.edges.append(SceneEdge(a, b, {"style": "invis"}))

    def _group_tooltip(self, g: tuple) -> str:
        calls = self.structure.n_instances
        suffix = f", all {calls} calls" if calls > 1 else ""
        if g[0] == "neuron":
            layer, j = g[1]
            if layer == 0:
                return labels.symbol("x", None, (j,), "unicode") + suffix
            return f"layer {layer} · neuron {j}{suffix}"
        return ("inputs" if g[1] == 0 else f"layer {g[1]}") + suffix

    def _group_label(self, g: tuple, members: list[Value]) -> dict[str, Any]:
        import numpy as np

        o, s = self.opts, self.structure
        calls = s.n_instances
        if g[0] == "neuron":
            layer, j = g[1]
            first = members[0] if members else None
            if layer == 0:
                name = labels.symbol("x", None, (j,), o.notation)
                extra = []
            else:
                role = first.role if first is not None and first.role else "activation"
                name = labels.role_symbol(role, (layer, j), o.notation)
                act = first.op if first is not None and role == "activation" else "linear"
                extra = [labels.text(f"neuron · {act}", o.notation)]
            values = [m.data for m in members]
            grads = [self.grad_of(m) for m in members]
        else:
            layer = g[1]
            per_call: dict[int, list[Value]] = {}
            if layer == 0:
                name = labels.text("inputs ", o.notation) + labels.symbol("x", None, (), o.notation)
                ins = [n for n in self.nodes if self.group_of.get(n) == g and n.role == "input"]
                for n in ins:
                    per_call.setdefault(s.instance.get(n, 0), []).append(n)
                extra = [labels.text(_count(len(per_call.get(0, [])), "input"), o.notation)]
            else:
                for (lay, _, k), n in s.outputs.items():
                    if lay == layer:
                        per_call.setdefault(k, []).append(n)
                first = per_call.get(0, [None])[0]
                role = first.role if first is not None and first.role else "activation"
                act = first.op if first is not None and role == "activation" else "linear"
                name = (labels.text(f"layer {layer}: ", o.notation)
                        + labels.symbol("a" if role == "activation" else "z", layer, (), o.notation))
                extra = [labels.text(f"{_count(len(per_call.get(0, [])), 'neuron')} · {act}",
                                     o.notation)]
            rows = [per_call[k] for k in sorted(per_call)]
            values = [[m.data for m in r] for r in rows]
            grads = [[self.grad_of(m) for m in r] for r in rows]
        if calls > 1:
            extra.append(labels.text(f"×{calls} calls", o.notation))
        data = _squeeze(np.asarray(values, dtype=float)) if values else None
        grad = _squeeze(np.asarray(grads, dtype=float)) if grads and o.show_grad else None
        has_grad = any(m.requires_grad for m in members) or g[0] == "layer" and g[1] > 0
        # frames: the group's gradient shows once every member's is known
        shown = all(self.grad_shown(m) for m in members) if self.grad_shown else True
        fill, font = (colors.grad_color(grad) if o.color_by_grad and has_grad and grad is not None
                      and shown else (None, "black"))
        # a table, never a record: dot cannot keep records in order with flat edges
        return self.value_label(name, data=data, grad=grad, has_grad=has_grad, extra=extra,
                                fill=fill, font=font, vertical=True, table=True,
                                grad_visible=shown)

    # ------------------------------------------------------------------ edges
    def _add_edges(self, visible: list[Value]) -> None:
        s, scene = self.structure, self.scene
        hidden_const = self.opts.hide_constants
        seen: set[tuple[str, str]] = set()
        targets = visible + [n for n in self.nodes if n in self.group_of]
        active = self.current
        for n in targets:
            head = self.in_id.get(n)
            if head is None:
                continue
            grouped = n in self.group_of
            for p in n.parents:
                if p in s.hidden or n in s.param_nodes:
                    continue
                if hidden_const and _is_hidden_constant(p):
                    continue
                tail = self.out_id.get(p)
                if tail is None or tail == head:
                    continue
                if grouped or p in self.group_of:
                    if (tail, head) in seen:
                        continue
                    seen.add((tail, head))
                attrs = {}
                if active is not None and (n is active or grouped and self.group_of.get(n)
                                           == self.group_of.get(active)):
                    # the gradient of the current node flows along these edges to its operands
                    attrs = {"color": colors.HIGHLIGHT_COLOR, "penwidth": "3"}
                scene.edges.append(SceneEdge(tail, head, attrs))


def _tooltip(text: str) -> str:
    """``text`` as a tooltip attribute: one safe line, with no escape sequence expanded."""
    return labels.dot_text(labels.safe_text(text, 200))


def _table_rows(names: list[str], numbers: list[str], vertical: bool) -> list[str]:
    """The rows of a value box: names on the left, data over grad on the right.

    Stacking the numbers makes a box about half as wide as one row ``name | data | grad``,
    which is what makes a graph fit a slide; ``vertical`` puts every cell in a row of its own.
    """
    if vertical:
        return [f"<TR><TD>{cell}</TD></TR>" for cell in names + numbers]
    columns = [c for c in (names, numbers) if c]
    height = max((len(c) for c in columns), default=0)
    rows = []
    for r in range(height):
        cells = []
        for column in columns:
            if r < len(column):
                # the last cell of the shorter column stretches down to the bottom of the box
                span = height - r if r == len(column) - 1 and r < height - 1 else 1
                cells.append(f'<TD ROWSPAN="{span}">{column[r]}</TD>' if span > 1
                             else f"<TD>{column[r]}</TD>")
        rows.append(f"<TR>{''.join(cells)}</TR>")
    return rows


def _reading_order(key: tuple) -> tuple[int, int, int]:
    """Sort key of a cluster: by call, then inputs, layer 1's neurons 1, 2, ..., layer 2..."""
    if key[0] == "in":
        return (key[1], 0, 0)
    return (key[3], key[1], key[2])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _squeeze(a: Any) -> Any:
    if a.size == 1:
        return float(a.reshape(-1)[0])
    return a.reshape(-1) if a.ndim == 2 and a.shape[0] == 1 else a


def build_scene(
    root: Value | Sequence[Value], opts: DrawOptions, *, highlight: Value | Iterable[Value] = (),
    grad_of: Callable[[Value], Any] | None = None,
    grad_shown: Callable[[Value], bool] | None = None, current: Value | None = None,
) -> Scene:
    """The :class:`Scene` of :func:`draw_dot`, with hooks for partial gradients (frames).

    ``grad_of(node)`` gives the gradient to show (default: ``node.grad``), ``grad_shown(node)``
    whether it is known yet, ``current`` the node to mark as the step being shown.

    >>> from tinygrad_mlp import Value
    >>> scene = build_scene(Value(2.0, label="a") * 3, DrawOptions(notation="plain"))
    >>> [n.id for n in scene.nodes], [(e.tail, e.head) for e in scene.edges]
    (['v0', 'v1', 'v2', 'o2'], [('o2', 'v2'), ('v0', 'o2'), ('v1', 'o2')])
    """
    builder = _Builder(_as_roots(root), opts.check(), highlight=_as_highlight(highlight),
                       grad_of=grad_of, grad_shown=grad_shown, current=current)
    return builder.build()


def plain_grad(v: Value) -> Any:
    """``v``'s gradient as plain data (a gradient that is a Value, from
    ``backward(create_graph=True)``, gives its data).

    >>> x = Value(2.0); (x * x).backward(create_graph=True); plain_grad(x)
    4.0
    """
    g = v.grad
    return g.data if isinstance(g, Value) else g


def draw_dot(
    root: Value | Sequence[Value], *, rankdir: str = "LR", show_data: bool = True,
    show_grad: bool = True, precision: int = 4, notation: str = "html",
    color_by_grad: bool = False, highlight: Value | Iterable[Value] = (),
    hide_constants: bool = False, collapse: str | None = None, bias: str = "b",
    model_aware: bool = True, title: str | None = None, force: bool = False,
    color_by_order: bool = False,
) -> Drawing:
    """Draw the computation graph of ``root`` (a Value, or a list of a model's outputs).

    Each value is a box ``label | data | grad`` (in ``"html"``, the data over the grad) and each
    operation an oval feeding it, left to right as in micrograd.  A label you set
    (``out.label = "ŷ"``) names its node, in every drawing; in SVG each node, arrow and cluster
    has a tooltip saying what it is.  Options:

    * ``rankdir``: ``"LR"`` (default) or ``"TB"``; ``show_data``/``show_grad``; ``precision``
      (digits after the point; tiny and huge numbers use ``e`` notation); tensors show their
      shape and a short preview (or norm and mean).
    * ``notation``: ``"html"`` (``w⁽¹⁾₃₄`` drawn with real sub/superscripts), ``"unicode"``
      (the same in Unicode characters, micrograd's record boxes) or ``"plain"`` (``w(1)_34``).
    * ``color_by_grad``: fill each value by the sign and order of magnitude of its gradient,
      with a legend (vanishing and exploding gradients stand out).
    * ``color_by_order``: fill each value by the derivative order that recorded it (the
      forward pass, the 1st derivative's graph from ``backward(create_graph=True)``, the 2nd...),
      with a legend: draw ``x.grad``'s graph to see which nodes the derivative added.  A
      gradient that is a Value is shown by its data.
    * ``highlight``: Values to point at.  ``hide_constants``: leave out unnamed constants (the
      ``2`` in ``2 * x``), writing them into their operation's oval instead.
    * For a model's scalar graph (``model([x1, x2])``): a cluster per neuron, in order, the
      layers side by side, each weight on its multiplication; labels
      ``w^(l)_{jk}``, ``b^(l)_j``, ``z^(l)_j``, ``a^(l)_j``, ``x_k`` from the nodes' ``role``
      and ``index``; ``bias="w0"`` draws each bias as ``w^(l)_{j0}`` times ``x_0 = 1``;
      ``collapse="neuron"`` or ``"layer"`` draws one node per neuron or per layer (all calls of
      the model merged); each call's loss term after the model (``(1 + -y*score).relu()``) is
      merged the same way when every call's has the same structure, and a ``sum(...)`` chain of
      three or more links becomes one ``+ (×n)`` node.  With several calls and no collapse,
      neuron nodes say which call they belong to.  ``model_aware=False`` draws the raw graph.
    * A tensor graph (``model(X)`` with an array ``X``) names each layer's parameters
      ``W^(l)`` and ``b^(l)`` from their role and index.
    * More than 1,000 nodes warn (:class:`LargeGraphWarning`); more than 5,000 raise
      :class:`GraphTooLargeError` unless ``force=True``.

    Returns a :class:`~tinygrad_mlp.viz.render.Drawing` (a ``graphviz.Digraph``): it shows
    inline in Jupyter; save it with :func:`~tinygrad_mlp.viz.render.render`.

    >>> from tinygrad_mlp import Value
    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> c = a * b; c.label = "c"
    >>> c.backward()
    >>> dot = draw_dot(c, notation="plain")
    >>> print(dot.source)  # doctest: +NORMALIZE_WHITESPACE +ELLIPSIS
    digraph {
        graph [nodesep=0.12 rankdir=LR ranksep=0.2 tooltip=" "]
        node [fontsize=14]
        v0 [label="{ a | data 2.0000 | grad -3.0000 }" shape=record tooltip="a = 2.0000, grad -3.0000"]
        v1 [label="{ b | data -3.0000 | grad 2.0000 }" shape=record tooltip="b = -3.0000, grad 2.0000"]
        v2 [label="{ c | data -6.0000 | grad 1.0000 }" shape=record tooltip="c = -6.0000, grad 1.0000"]
        o2 [label="*" height=0.4 margin="0.05,0.03" shape=ellipse tooltip="*: a·b = -6.0000" ...]
        o2 -> v2 [tooltip="* → c"]
        v0 -> o2 [tooltip="a → *"]
        v1 -> o2 [tooltip="b → *"]
    }
    """
    opts = DrawOptions(
        rankdir=rankdir, show_data=show_data, show_grad=show_grad, precision=precision,
        notation=notation, color_by_grad=color_by_grad, hide_constants=hide_constants,
        collapse=collapse, bias=bias, model_aware=model_aware, title=title, force=force,
        color_by_order=color_by_order,
    )
    return build_scene(root, opts, highlight=highlight).to_drawing()

"""The backward pass step by step: one picture per node, as a lecturer walks through it.

:func:`backward_frames` runs ``backward()`` once, watching the order in which the engine
finishes each node's gradient, and then puts the graph's own gradients back exactly as they
were.  The graph is laid out once (``dot -Tjson``); every frame reuses those positions through
Graphviz's no-layout mode (``layout=nop2``) and changes only colors, so nothing moves between
frames.  A gradient not known yet is drawn in the background color, which keeps every box the
size it will have.  :class:`~tinygrad_mlp.viz.animation.Animation` plays the frames in a page.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_mlp.engine import Value
from tinygrad_mlp.notation import ROLE_SYMBOLS
from tinygrad_mlp.viz import labels
from tinygrad_mlp.viz.computation import DrawOptions, GraphTooLargeError, Scene, build_scene
from tinygrad_mlp.viz.render import Drawing, render
from tinygrad_mlp.viz.structure import analyze, collect

__all__ = ["Frame", "backward_frames", "save_frames", "step_names", "MAX_FRAMES"]

MAX_FRAMES = 400  # an animation of more steps is too long to watch and too big to open


@dataclass
class Frame:
    """One step of the backward pass: ``node``'s gradient has just been completed.

    ``step`` counts from 1 to ``total``, as the caption does; ``graph`` is the drawing (shows
    inline in Jupyter), ``caption`` a line of text such as ``step 3/9: ∂L/∂b = -4.0000``.
    """

    step: int
    total: int
    node: Value
    caption: str
    graph: Drawing

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None, **kwargs: Any) -> dict:
        return self.graph._repr_mimebundle_(include, exclude, **kwargs)


def _copy(g: Any) -> Any:
    return g.copy() if isinstance(g, np.ndarray) else g


def _gradients_in_order(root: Value, nodes: list[Value], grad: Any) -> tuple[list[Value], dict]:
    """Run backward once; return the order nodes were finished and their final gradients.

    The graph's own ``.grad`` values are saved first and restored afterwards, so drawing the
    frames of an already backpropagated graph does not double its gradients.
    """
    saved = [(n, _copy(n.grad) if n.has_grad else None) for n in nodes]
    order: list[Value] = []
    final: dict[Value, Any] = {}

    def on_node(n: Value) -> None:
        order.append(n)
        final[n] = _copy(n.grad)

    try:
        for n in nodes:
            n.grad = None
        root.backward(grad, on_node=on_node)
    finally:
        for n, g in saved:
            n.grad = g
    return order, final


def _root_grad(root: Value) -> Any:
    if not root.requires_grad:
        raise ValueError("backward_frames needs a root that requires a gradient (not a constant)")
    return 1.0 if root.ndim == 0 else np.ones(root.shape, dtype=root.dtype)


# --------------------------------------------------------------------------- names
_CAPTION_NAME = labels.EXPRESSION_CHARS  # a long label must not hide the value


def _own_name(n: Value, model_aware: bool, bias: str) -> str | None:
    """The label the user set, else the model notation, else None (see ``labels.node_name``)."""
    return labels.node_name(n, "unicode", model_aware=model_aware, bias=bias) or None


def _step_name(n: Value, model_aware: bool, bias: str) -> str:
    """The name of ``n`` in a caption: its own, else its operation and operands."""
    name = _own_name(n, model_aware, bias)
    if name is not None:
        return name
    text = labels.expression(n, model_aware=model_aware, bias=bias, max_chars=_CAPTION_NAME)
    return f"({text})" if n.parents else text


def step_names(nodes: Sequence[Value], *, model_aware: bool = True, bias: str = "b") -> list[str]:
    """A different name for each of ``nodes``, as a caption writes it after ``∂L/∂``.

    A node is named by the label the user set, else by its model notation (``w⁽¹⁾₂₁``), else
    by its operation on its operands (``(a·b)``, ``(b⁽¹⁾₁ + w⁽¹⁾₁₁·x₁)``), with ``…`` for
    operands too deep to write out.  The nodes of several calls of a model say which call
    they belong to; names still alike are told apart by ``#2``, ``#3``...

    >>> from tinygrad_mlp import Value
    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> step_names([a * b, (a * b).tanh(), a * b + 1, -a, a ** 2, a - (b - 1)])
    ['(a·b)', '(tanh(a·b))', '(a·b + 1)', '(-a)', '(a**2)', '(a - (b - 1))']
    >>> step_names([a * b, a * b])
    ['(a·b)', '(a·b) #2']
    """
    names = [labels.safe_text(_step_name(n, model_aware, bias), _CAPTION_NAME) for n in nodes]
    structure = analyze(collect(list(nodes))) if model_aware and nodes else None
    if structure is not None and structure.n_instances > 1:
        names = [f"{name} (call {structure.instance[n] + 1})" if n in structure.instance else name
                 for name, n in zip(names, nodes)]
    counts = Counter(names)
    seen: Counter[str] = Counter()
    out = []
    for name in names:
        seen[name] += 1
        out.append(name if counts[name] == 1 or seen[name] == 1 else f"{name} #{seen[name]}")
    return out


# --------------------------------------------------------------------------- layout
def _layout(scene: Scene) -> dict[str, Any]:
    """Positions of every node, edge and cluster of ``scene``, from one run of ``dot``."""
    data = json.loads(scene.to_drawing().pipe(format="json").decode("utf-8"))
    names = {}
    nodes = {}
    clusters = {}
    for obj in data.get("objects", []):
        if "bb" in obj:
            clusters[obj["name"]] = {k: obj[k] for k in ("bb", "lp") if k in obj}
        elif "pos" in obj:  # a node (rank=same groups are subgraphs with neither)
            names[obj["_gvid"]] = obj["name"]
            nodes[obj["name"]] = obj["pos"]
    edges: dict[tuple[str, str, int], str] = {}
    counts: dict[tuple[str, str], int] = {}
    for e in data.get("edges", []):
        key = (names[e["tail"]], names[e["head"]])
        k = counts.get(key, 0)
        counts[key] = k + 1
        if "pos" in e:
            edges[(*key, k)] = e["pos"]
    graph = {k: data[k] for k in ("bb", "lp") if k in data}
    return {"nodes": nodes, "edges": edges, "clusters": clusters, "graph": graph}


def _pin(scene: Scene, layout: dict[str, Any]) -> Drawing:
    """The drawing of ``scene`` at the positions of ``layout`` (no new layout)."""
    for n in scene.nodes:
        pos = layout["nodes"].get(n.id)
        if pos is not None:
            n.attrs["pos"] = pos
    counts: dict[tuple[str, str], int] = {}
    for e in scene.edges:
        key = (e.tail, e.head)
        k = counts.get(key, 0)
        counts[key] = k + 1
        pos = layout["edges"].get((*key, k))
        if pos is not None:
            e.attrs["pos"] = pos
    for cl in scene.clusters.values():
        cl.attrs.update(layout["clusters"].get(cl.id, {}))
    scene.graph_attrs.update(layout["graph"])
    scene.graph_attrs["layout"] = "nop2"  # = neato -n2: keep node and edge positions as given
    return scene.to_drawing()


# --------------------------------------------------------------------------- frames
def backward_frames(
    root: Value, *, rankdir: str = "LR", precision: int = 4, notation: str = "html",
    show_data: bool = True, color_by_grad: bool = False, hide_constants: bool = False,
    collapse: str | None = None, bias: str = "b", model_aware: bool = True, force: bool = False,
) -> list[Frame]:
    """One frame per node in the order ``backward()`` completes their gradients.

    Frame ``k`` (its ``step``, from 1) shows the gradients known after ``k`` steps and
    highlights the node whose gradient was just completed, with the edges along which it flows
    on to the node's operands.  Constants take no part in the backward pass and get no frame.
    The graph's own ``.grad`` values are not changed.  Options are those of
    :func:`~tinygrad_mlp.viz.draw_dot`; every notation is drawn with HTML-like tables here.
    Captions name each node as :func:`step_names` does, all different.

    >>> from tinygrad_mlp import Value
    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> L = a * b; L.label = "L"
    >>> frames = backward_frames(L)
    >>> [f.caption for f in frames]
    ['step 1/3: ∂L/∂L = 1.0000', 'step 2/3: ∂L/∂a = -3.0000', 'step 3/3: ∂L/∂b = 2.0000']
    >>> frames[0].step, frames[-1].step
    (1, 3)
    >>> a.grad  # untouched: backward() was never called on L
    0.0
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_frames takes a Value, got {type(root).__name__}")
    opts = DrawOptions(rankdir=rankdir, precision=precision, notation=notation, show_data=show_data,
                       color_by_grad=color_by_grad, hide_constants=hide_constants,
                       collapse=collapse, bias=bias, model_aware=model_aware, force=force,
                       tables=True).check()
    nodes = root.graph()
    order, final = _gradients_in_order(root, nodes, _root_grad(root))

    def grad_of(n: Value) -> Any:
        return final.get(n, 0.0 if n.ndim == 0 else np.zeros(n.shape))

    master = build_scene(root, opts, grad_of=grad_of)
    # a drawn node may show several values (a collapsed layer: one per neuron and call); it is
    # a step once the last of them is complete
    shows: dict[str, list[Value]] = {}
    for n in order:
        if n in master.value_ids:
            shows.setdefault(master.value_ids[n], []).append(n)
    steps = [n for n in order if n in master.value_ids and shows[master.value_ids[n]][-1] is n]
    if len(steps) > MAX_FRAMES and not force:
        raise GraphTooLargeError(
            f"{len(steps)} frames are too many to watch; draw a smaller graph "
            f"(at most {MAX_FRAMES} nodes) or pass force=True to draw it anyway"
        )
    names = step_names(steps, model_aware=model_aware, bias=bias)
    # the root is written by its own name, L when it has none, in every caption
    root_name = labels.safe_text(_own_name(root, model_aware, bias) or "L", _CAPTION_NAME)
    captions = []
    for k, (n, name) in enumerate(zip(steps, names), start=1):
        values = shows[master.value_ids[n]]
        if n is root:
            name = root_name
        elif len(values) > 1:
            name = _group_name(values, name)
        grad = final[n] if len(values) == 1 else np.array([final[v] for v in values])
        captions.append(labels.safe_text(f"step {k}/{len(steps)}: ∂{root_name}/∂{name} = "
                                         f"{labels.format_value(grad, precision)}"))
    longest = max(captions, key=len, default="")
    # the longest caption reserves its room in the one layout that every frame reuses
    master.graph_attrs.update(label=_caption_label(longest), labelloc="t")
    layout = _layout(master)

    frames = []
    position = {n: i for i, n in enumerate(order)}
    for k, n in enumerate(steps):
        shown = set(order[: position[n] + 1])
        scene = build_scene(root, opts, grad_of=grad_of, grad_shown=shown.__contains__, current=n)
        scene.graph_attrs.update(label=_caption_label(captions[k]), labelloc="t")
        frames.append(Frame(k + 1, len(steps), n, captions[k], _pin(scene, layout)))
    return frames


def _group_name(values: list[Value], fallback: str) -> str:
    """The name of a node that shows several values: ``a⁽¹⁾`` for a collapsed layer 1."""
    first = values[0]
    if first.role is None or not first.index:
        return fallback
    if all(v.role == first.role and v.index == first.index for v in values):
        return labels.role_symbol(first.role, first.index, "unicode")  # one neuron, all calls
    return labels.symbol(ROLE_SYMBOLS.get(first.role, first.role), first.index[0], (), "unicode")


def _caption_label(caption: str) -> str:
    return f"<<B>{labels.html_text(caption)}</B>>"


# --------------------------------------------------------------------------- output
def save_frames(frames: Sequence[Frame], directory: str | os.PathLike, *, prefix: str = "frame",
                format: str = "svg") -> list[Path]:
    """Write each frame as ``frame_001.svg``, ``frame_002.svg``... into ``directory``.

    The numbers have three digits (more for more than 999 frames), so the files sort in
    order.  ``format`` may also be ``"png"`` or ``"pdf"``.  Returns the paths in order.

    >>> import tempfile
    >>> from tinygrad_mlp import Value
    >>> paths = save_frames(backward_frames(Value(2.0) * 3), tempfile.mkdtemp())
    >>> [p.name for p in paths]
    ['frame_001.svg', 'frame_002.svg']
    """
    directory = Path(directory)
    width = max(3, len(str(len(frames))))
    return [render(f.graph, directory / f"{prefix}_{k:0{width}d}.{format}")
            for k, f in enumerate(frames, start=1)]

"""The backward pass step by step: one picture per node, as a lecturer walks through it.

:func:`backward_frames` runs ``backward()`` once, watching the order in which the engine
finishes each node's gradient, and then puts the graph's own gradients back exactly as they
were.  The graph is laid out once (``dot -Tjson``); every frame reuses those positions through
Graphviz's no-layout mode (``layout=nop2``) and changes only colors, so nothing moves between
frames.  A gradient not known yet is drawn in the background color, which keeps every box the
size it will have.
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_mlp.engine import Value
from tinygrad_mlp.viz import labels
from tinygrad_mlp.viz.computation import DrawOptions, GraphTooLargeError, Scene, build_scene
from tinygrad_mlp.viz.render import Drawing, render

__all__ = ["Frame", "backward_frames", "save_frames", "animate", "MAX_FRAMES"]

MAX_FRAMES = 400  # an animation of more steps is too long to watch and too big to open


@dataclass
class Frame:
    """One step of the backward pass: ``node``'s gradient has just been completed.

    ``graph`` is the drawing (shows inline in Jupyter), ``caption`` a line of text such as
    ``step 3/9: ∂L/∂b = -4.0000``.
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


_CAPTION_NAME = 60  # characters of a name in a caption: a long label must not hide the value


def _name(n: Value, model_aware: bool) -> str:
    # a caption is plain text in the drawing and in the page: control characters, lone
    # surrogates and overlong labels are made safe here
    if model_aware and n.role is not None:
        name = labels.role_symbol(n.role, n.index, "unicode")
    elif n.label:
        name = n.label
    else:
        name = f"({n.op})" if n.op else "·"
    return labels.safe_text(name, _CAPTION_NAME)


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
        else:
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
    bias: str = "b", model_aware: bool = True, force: bool = False,
) -> list[Frame]:
    """One frame per node in the order ``backward()`` completes their gradients.

    Frame ``k`` shows the gradients known after ``k + 1`` steps and highlights the node whose
    gradient was just completed, with the edges along which it flows on to the node's operands.
    Constants take no part in the backward pass and get no frame.  The graph's own ``.grad``
    values are not changed.  Options are those of :func:`~tinygrad_mlp.viz.draw_dot`; every
    notation is drawn with HTML-like tables here.

    >>> from tinygrad_mlp import Value
    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> L = a * b; L.label = "L"
    >>> frames = backward_frames(L)
    >>> [f.caption for f in frames]
    ['step 1/3: ∂L/∂L = 1.0000', 'step 2/3: ∂L/∂a = -3.0000', 'step 3/3: ∂L/∂b = 2.0000']
    >>> a.grad  # untouched: backward() was never called on L
    0.0
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward_frames takes a Value, got {type(root).__name__}")
    opts = DrawOptions(rankdir=rankdir, precision=precision, notation=notation, show_data=show_data,
                       color_by_grad=color_by_grad, hide_constants=hide_constants, bias=bias,
                       model_aware=model_aware, force=force, tables=True).check()
    nodes = root.graph()
    order, final = _gradients_in_order(root, nodes, _root_grad(root))

    def grad_of(n: Value) -> Any:
        return final.get(n, 0.0 if n.ndim == 0 else np.zeros(n.shape))

    master = build_scene(root, opts, grad_of=grad_of)
    steps = [n for n in order if n in master.value_ids]
    if len(steps) > MAX_FRAMES and not force:
        raise GraphTooLargeError(
            f"{len(steps)} frames are too many to watch; draw a smaller graph "
            f"(at most {MAX_FRAMES} nodes) or pass force=True to draw it anyway"
        )
    root_name = _name(root, model_aware) if (root.label or root.role) else "L"
    captions = [
        labels.safe_text(f"step {k + 1}/{len(steps)}: ∂{root_name}/∂{_name(n, model_aware)} = "
                         f"{labels.format_value(final[n], precision)}")
        for k, n in enumerate(steps)
    ]
    longest = max(captions, key=len, default="")
    # the longest caption reserves its room in the one layout that every frame reuses
    master.graph_attrs.update(label=_caption_label(longest, opts), labelloc="t")
    layout = _layout(master)

    frames = []
    for k, n in enumerate(steps):
        shown = set(steps[: k + 1])
        scene = build_scene(root, opts, grad_of=grad_of, grad_shown=shown.__contains__, current=n)
        scene.graph_attrs.update(label=_caption_label(captions[k], opts), labelloc="t")
        frames.append(Frame(k, len(steps), n, captions[k], _pin(scene, layout)))
    return frames


def _caption_label(caption: str, opts: DrawOptions) -> str:
    return f"<<B>{labels.html_text(caption)}</B>>"


# --------------------------------------------------------------------------- output
def save_frames(frames: Sequence[Frame], directory: str | os.PathLike, *, prefix: str = "frame",
                format: str = "svg") -> list[Path]:
    """Write each frame as ``frame_001.svg``, ``frame_002.svg``... into ``directory``.

    ``format`` may also be ``"png"`` or ``"pdf"``.  Returns the paths in order.

    >>> import tempfile
    >>> from tinygrad_mlp import Value
    >>> paths = save_frames(backward_frames(Value(2.0) * 3), tempfile.mkdtemp())
    >>> [p.name for p in paths]
    ['frame_1.svg', 'frame_2.svg']
    """
    directory = Path(directory)
    width = len(str(len(frames)))
    return [render(f.graph, directory / f"{prefix}_{k + 1:0{width}d}.{format}")
            for k, f in enumerate(frames)]


_PROLOG = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", re.S)
_NAMESPACES = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')


def _inline_svg(svg: str) -> str:
    # Inline SVG in HTML needs no XML prolog, doctype or namespace URLs; dropping them leaves
    # the page without a single external reference.
    return _NAMESPACES.sub("", _PROLOG.sub("", svg)).strip()


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
#controls {{ display: flex; gap: .6em; align-items: center; margin-bottom: .6em; }}
#slider {{ flex: 1; max-width: 40em; }}
.frame svg {{ max-width: 100%; height: auto; }}
#caption {{ font-family: monospace; }}
</style>
</head>
<body>
<h1>{title}</h1>
<div id="controls">
<button id="prev" title="previous step (left arrow)">&#9664;</button>
<button id="play" title="play / pause (space)">play</button>
<button id="next" title="next step (right arrow)">&#9654;</button>
<input id="slider" type="range" min="0" max="{last}" value="0" step="1">
<span id="caption"></span>
</div>
{frames}
<script>
(function () {{
  var frames = document.querySelectorAll(".frame");
  var slider = document.getElementById("slider");
  var caption = document.getElementById("caption");
  var play = document.getElementById("play");
  var timer = null, current = 0;
  function show(k) {{
    current = Math.max(0, Math.min(frames.length - 1, k));
    for (var i = 0; i < frames.length; i++) frames[i].hidden = (i !== current);
    slider.value = current;
    caption.textContent = frames[current].getAttribute("data-caption");
  }}
  function stop() {{ clearInterval(timer); timer = null; play.textContent = "play"; }}
  function toggle() {{
    if (timer) {{ stop(); return; }}
    if (current === frames.length - 1) show(0);
    play.textContent = "pause";
    timer = setInterval(function () {{
      if (current >= frames.length - 1) {{ stop(); return; }}
      show(current + 1);
    }}, {interval});
  }}
  slider.addEventListener("input", function () {{ stop(); show(parseInt(slider.value, 10)); }});
  play.addEventListener("click", toggle);
  document.getElementById("prev").addEventListener("click", function () {{ stop(); show(current - 1); }});
  document.getElementById("next").addEventListener("click", function () {{ stop(); show(current + 1); }});
  document.addEventListener("keydown", function (e) {{
    if (e.key === "ArrowLeft") {{ stop(); show(current - 1); }}
    else if (e.key === "ArrowRight") {{ stop(); show(current + 1); }}
    else if (e.key === " ") {{ e.preventDefault(); toggle(); }}
  }});
  show(0);
}})();
</script>
</body>
</html>
"""


def animate(frames: Sequence[Frame], path: str | os.PathLike, *, interval: int = 900,
            title: str = "Backpropagation, step by step") -> Path:
    """Write one self-contained HTML file: the frames as inline SVG, a slider and a play button.

    The page needs no network access (no scripts or styles from elsewhere); arrow keys step,
    the space bar plays and pauses.  ``interval`` is the time per frame in milliseconds.

    >>> import tempfile, pathlib
    >>> from tinygrad_mlp import Value
    >>> out = animate(backward_frames(Value(2.0) * 3), pathlib.Path(tempfile.mkdtemp()) / "a.html")
    >>> "http" in out.read_text()
    False
    """
    if not frames:
        raise ValueError("animate needs at least one frame")
    parts = []
    for k, f in enumerate(frames):
        svg = _inline_svg(f.graph.pipe(format="svg", encoding="utf-8"))
        hidden = "" if k == 0 else " hidden"
        # a Frame made by hand may hold any caption: made safe like every label
        caption = html.escape(labels.safe_text(f.caption))
        parts.append(f'<div class="frame" data-caption="{caption}"{hidden}>\n{svg}\n</div>')
    page = _PAGE.format(title=html.escape(labels.safe_text(title)), last=len(frames) - 1,
                        frames="\n".join(parts), interval=int(interval))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path

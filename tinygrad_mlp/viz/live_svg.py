"""The training page's pictures: Graphviz's SVG with every changing part marked.

:func:`mark_graph` marks, in the SVG of the watched sample's computation graph, each text that
changes from step to step (``data-t``) and each box coloured by its gradient (``data-f``);
:func:`mark_network` marks each arrow of the network diagram (``data-e``).  Both return what
to put there at each recorded step, so the page's script only sets texts and colours.
"""

from __future__ import annotations

import html
import re
from typing import Any

from tinygrad_mlp.viz.recording import Recording

__all__ = ["inline_svg", "mark_graph", "mark_network"]

_PROLOG = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", re.S)
_NAMESPACES = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
_CHUNK = re.compile(r'<g id="(?:node|edge)\d+" class="(node|edge)">')
_TITLE = re.compile(r"<title>(.*?)</title>", re.S)
_TEXT = re.compile(r"<text\b([^>]*)>(.*?)</text>", re.S)
_POLYGON = re.compile(r"<polygon\b[^>]*?points=\"([^\"]*)\"")


def inline_svg(svg: str) -> str:
    """An SVG document as inline SVG: no prolog, no doctype, no namespace URLs.

    >>> inline_svg('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><g/></svg>')
    '<svg><g/></svg>'
    """
    return _NAMESPACES.sub("", _PROLOG.sub("", svg)).strip()


def _chunks(svg: str) -> list[tuple[str, str]]:
    """``svg`` cut before each node and edge group: ``[(kind, text), ...]`` (kind "" first)."""
    starts = [(m.start(), m.group(1)) for m in _CHUNK.finditer(svg)]
    bounds = [0] + [s for s, _ in starts] + [len(svg)]
    kinds = [""] + [k for _, k in starts]
    return [(kind, svg[a:b]) for kind, a, b in zip(kinds, bounds, bounds[1:])]


def _centre(chunk: str, at: int) -> float | None:
    """The middle x of the last polygon (a table cell) before position ``at`` of ``chunk``."""
    cells = list(_POLYGON.finditer(chunk, 0, at))
    if not cells:
        return None
    xs = [float(p.split(",")[0]) for p in cells[-1].group(1).split()]
    return (min(xs) + max(xs)) / 2


def mark_graph(svg: str, rec: Recording) -> tuple[str, dict[str, Any]]:
    """Mark each changing text (``data-t``) and coloured box (``data-f``) of the graph's SVG.

    Returns the marked SVG and, per frame, the texts and colour indices to put there.

    >>> from tinygrad_mlp import MLP
    >>> from tinygrad_mlp.train import fit
    >>> from tinygrad_mlp.watch import Watch
    >>> import tempfile, pathlib
    >>> w = Watch(pathlib.Path(tempfile.mkdtemp()) / "t.html")
    >>> _ = fit(MLP(1, [1], seed=0), [[1.0], [2.0]], [1.0, 3.0], epochs=3, progress=False, watch=w)
    >>> svg = inline_svg(w.recording.graph_drawing.pipe(format="svg", encoding="utf-8"))
    >>> marked, data = mark_graph(svg, w.recording)
    >>> marked.count("data-t=") == len(data["text"][0]), len(data["text"]) == len(data["frames"])
    (True, True)
    """
    frames = [f for f in rec.frames if f.graph]
    first = frames[0].graph
    texts: list[list[str]] = [[] for _ in frames]
    fills: list[list[int]] = [[] for _ in frames]
    palette: list[str] = []
    matched = unmatched = 0
    out = []
    for kind, chunk in _chunks(svg):
        title = _TITLE.search(chunk)
        node = html.unescape(title.group(1)) if kind == "node" and title else None
        state = first.get(node) if node is not None else None
        runs = [m for m in _TEXT.finditer(chunk) if html.unescape(m.group(2)).strip()]
        if state is None or len(runs) != len(state.texts) or any(
                len(f.graph.get(node, state).texts) != len(state.texts) for f in frames):
            unmatched += state is not None and bool(state.texts)  # an oval's symbol stays
            out.append(chunk)
            continue
        matched += 1
        changing = {i for i in range(len(runs))
                    if any(f.graph[node].texts[i] != state.texts[i] for f in frames)}
        pieces, pos = [], 0
        for i, m in enumerate(runs):
            if i not in changing:
                continue
            attrs = m.group(1)
            middle = _centre(chunk, m.start())
            if middle is not None:  # centred in its cell, so a longer number still fits
                attrs = re.sub(r'text-anchor="\w+"', 'text-anchor="middle"', attrs)
                attrs = re.sub(r'\bx="[^"]*"', f'x="{middle:.2f}"', attrs)
            pieces += [chunk[pos:m.start()], f'<text data-t="{len(texts[0])}"{attrs}>',
                       m.group(2), "</text>"]
            pos = m.end()
            for k, f in enumerate(frames):
                texts[k].append(f.graph[node].texts[i])
        chunk = "".join(pieces) + chunk[pos:]
        if state.fill:
            fill_at = re.search(rf'<polygon fill="{re.escape(state.fill)}"', chunk, re.I)
            if fill_at:
                chunk = (chunk[:fill_at.start()] + f'<polygon data-f="{len(fills[0])}"'
                         + chunk[fill_at.start() + len("<polygon"):])
                for k, f in enumerate(frames):
                    key = f"{f.graph[node].fill or 'white'}|{f.graph[node].font}"
                    if key not in palette:
                        palette.append(key)
                    fills[k].append(palette.index(key))
        out.append(chunk)
    rec.cache["graph_match"] = (matched, unmatched)
    return "".join(out), {"text": texts, "fill": fills, "pal": palette,
                          "frames": [rec.frames.index(f) for f in frames]}


def mark_network(svg: str, rec: Recording) -> tuple[str, dict[str, Any]]:
    """Mark each arrow of the network diagram (``data-e``); per frame its colour and width.

    >>> from tinygrad_mlp import MLP
    >>> from tinygrad_mlp.train import fit
    >>> from tinygrad_mlp.watch import Watch
    >>> import tempfile, pathlib
    >>> w = Watch(pathlib.Path(tempfile.mkdtemp()) / "t.html")
    >>> _ = fit(MLP(2, [2, 1], seed=0), [[1.0, 0.0], [0.0, 2.0]], [1.0, 3.0], epochs=3,
    ...         progress=False, watch=w)
    >>> svg = inline_svg(w.recording.network_drawing.pipe(format="svg", encoding="utf-8"))
    >>> marked, data = mark_network(svg, w.recording)
    >>> marked.count("data-e="), len(data["w"])
    (6, 4)
    """
    frames = [f for f in rec.frames if f.arrows]
    order: dict[tuple[str, str, int], int] = {}
    for i, (tail, head, *_) in enumerate(frames[0].arrows):
        n = sum(1 for key in order if key[:2] == (tail, head))
        order[(tail, head, n)] = i
    seen: dict[tuple[str, str], int] = {}
    marked, out = [], []
    for kind, chunk in _chunks(svg):
        title = _TITLE.search(chunk)
        if kind == "edge" and title:
            tail, _, head = html.unescape(title.group(1)).partition("->")
            n = seen.get((tail, head), 0)
            seen[(tail, head)] = n + 1
            i = order.get((tail, head, n))
            if i is not None:
                chunk = chunk.replace("<path ", f'<path data-e="{len(marked)}" ', 1)
                # a tooltip's number would be the first step's: keep only the weight's name
                chunk = re.sub(r'(xlink:title="[^"=]*?) = [^"]*"', r'\1"', chunk)
                marked.append(i)
        out.append(chunk)
    palette: list[str] = []
    colours, widths = [], []
    for f in frames:
        row = []
        for i in marked:
            colour = f.arrows[i][2]
            if colour not in palette:
                palette.append(colour)
            row.append(palette.index(colour))
        colours.append(row)
        widths.append([round(f.arrows[i][3] * 100) for i in marked])
    rec.cache["network_match"] = (len(marked), len(frames[0].arrows))
    return "".join(out), {"col": colours, "w": widths, "pal": palette,
                          "frames": [rec.frames.index(f) for f in frames]}

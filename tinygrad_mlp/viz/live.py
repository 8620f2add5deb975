"""The training page: one self-contained HTML file replaying a recorded run of ``fit``.

Graphviz lays the watched sample's computation graph and the network diagram out once, here in
Python; every text and colour that changes from step to step is marked in the SVG, and the
page's short script only sets those texts and colours (and draws the decision regions from one
byte a cell).  Nothing is fetched — no script, style, font or image from elsewhere — so the page
opens from ``file://``, can be mailed, and shows inside a sandboxed iframe in a notebook.

>>> from tinygrad_mlp import MLP
>>> from tinygrad_mlp.data import make_moons
>>> from tinygrad_mlp.train import fit
>>> from tinygrad_mlp.watch import Watch
>>> import tempfile, pathlib
>>> X, y = make_moons(40, noise=0.1, random_state=0)
>>> w = Watch(pathlib.Path(tempfile.mkdtemp()) / "t.html", steps=4)
>>> _ = fit(MLP(2, [3, 1], seed=0), X, y, loss="hinge", epochs=2, progress=False, watch=w)
>>> page = w.path.read_text(encoding="utf-8")
>>> "<svg" in page and "http://" not in page and "https://" not in page
True
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from pathlib import Path
from typing import Any

from tinygrad_mlp.files import write_atomic
from tinygrad_mlp.viz.html import isolated_html
from tinygrad_mlp.viz.live_page import EMPTY_PAGE, PAGE, SCRIPT, STYLE
from tinygrad_mlp.viz.live_svg import inline_svg, mark_graph, mark_network
from tinygrad_mlp.viz.recording import Recording
from tinygrad_mlp.viz.render import GraphvizNotFoundError

__all__ = ["page_html", "write_page", "iframe", "TrainingPage", "show"]

def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _curve(rec: Recording) -> tuple[str, list[float]]:
    """The loss curve as SVG (every step's batch loss, each epoch's train and validation loss)
    and the x position of each frame's step on it."""
    w, h, left, right, top, bottom = 460, 210, 46, 10, 12, 30
    total = max(rec.total_steps, 1)
    batch = [(i + 1, v) for i, v in enumerate(rec.losses) if math.isfinite(v)]
    ends = rec.epoch_ends
    train = [(s, v) for s, v in zip(ends, rec.epoch_loss) if math.isfinite(v)]
    val = [(s, v) for s, v in zip(ends, rec.val_loss) if math.isfinite(v)]
    values = sorted(v for _, v in batch + train + val)
    hi = values[min(len(values) - 1, int(0.98 * len(values)))] * 1.05 if values else 1.0
    lo = min(0.0, values[0]) if values else 0.0
    hi = hi if hi > lo else lo + 1.0

    def x(step: float) -> float:
        return left + (w - left - right) * (step - 1) / max(total - 1, 1)

    def y(v: float) -> float:
        return top + (h - top - bottom) * (1 - (min(v, hi) - lo) / (hi - lo))

    def line(points: list[tuple[int, float]], colour: str, width: float, dots: bool) -> str:
        if not points:
            return ""
        coords = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in points)
        out = (f'<polyline points="{coords}" fill="none" stroke="{colour}" '
               f'stroke-width="{width}"/>')
        if dots and len(points) <= 60:
            out += "".join(f'<circle cx="{x(s):.1f}" cy="{y(v):.1f}" r="2.2" fill="{colour}"/>'
                           for s, v in points)
        return out

    if len(batch) > 1500:  # a point per pixel is plenty
        k = -(-len(batch) // 1500)
        batch = batch[::k]
    body = (line(batch, "#9ecae1", 1, False) + line(train, "#2166ac", 2, True)
            + line(val, "#e6550d", 2, True))
    legend = '<g font-size="11">'
    for lx, colour, width, name, points in ((w - 300, "#9ecae1", 1, "batch", batch),
                                            (w - 235, "#2166ac", 2, "train (epoch)", train),
                                            (w - 130, "#e6550d", 2, "validation", val)):
        if points:
            legend += (f'<line x1="{lx}" y1="8" x2="{lx + 15}" y2="8" stroke="{colour}" '
                       f'stroke-width="{width}"/><text x="{lx + 19}" y="11">{name}</text>')
    legend += "</g>"
    axes = (f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" '
            f'stroke="#444"/><line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" '
            f'stroke="#444"/>'
            f'<text x="{left - 4}" y="{y(hi) + 4:.1f}" text-anchor="end">{hi:.3g}</text>'
            f'<text x="{left - 4}" y="{y(lo) + 4:.1f}" text-anchor="end">{lo:.3g}</text>'
            f'<text x="{left}" y="{h - bottom + 14}" text-anchor="middle">1</text>'
            f'<text x="{w - right}" y="{h - bottom + 14}" text-anchor="end">{total}</text>'
            f'<text x="{(left + w) / 2:.0f}" y="{h - 4}" text-anchor="middle">step</text>'
            f'<text x="12" y="{(top + h - bottom) / 2:.0f}" text-anchor="middle" '
            f'transform="rotate(-90 12 {(top + h - bottom) / 2:.0f})">loss</text>')
    if values and values[-1] > hi:  # the few highest losses (the first steps') leave the plot
        axes += (f'<text x="{left + 4}" y="{top + 10}" fill="#777">higher losses clipped '
                 f'(the top {100 - 98}% of points)</text>')
    stop = ""
    if rec.stopped_early and rec.total_steps:
        sx = x(rec.total_steps)
        stop = (f'<line x1="{sx:.1f}" y1="{top}" x2="{sx:.1f}" y2="{h - bottom}" stroke="#b2182b" '
                f'stroke-dasharray="4 3"/><text x="{sx - 3:.1f}" y="{top + 10}" '
                f'text-anchor="end" fill="#b2182b">stopped</text>')
    svg = (f'<svg viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-family="sans-serif" '
           f'font-size="11" role="img" aria-label="loss curve">'
           f'<defs><clipPath id="tg-upto"><rect id="tg-clip" x="0" y="0" width="{w}" '
           f'height="{h}"/></clipPath></defs>{axes}<g clip-path="url(#tg-upto)">{body}</g>'
           f'{legend}{stop}<line id="tg-mark" x1="{left}" y1="{top}" x2="{left}" '
           f'y2="{h - bottom}" stroke="#333" stroke-width="1.5"/></svg>')
    return svg, [round(x(f.step + (0.5 if f.final else 0)), 1) for f in rec.frames]


def _boundary(rec: Recording) -> tuple[str, dict[str, Any] | None]:
    """The decision-boundary panel (a canvas under the data points) and its per-frame bytes."""
    if rec.grid_bounds is None or not any(f.grid for f in rec.frames):
        return "", None
    x0, x1, y0, y1 = rec.grid_bounds
    size = 300

    def px(a: float, lo: float, hi: float) -> float:
        return (a - lo) / (hi - lo) * size

    colours = ["#2166ac", "#b2182b", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]
    dots = "".join(
        f'<circle cx="{px(a, x0, x1):.1f}" cy="{size - px(b, y0, y1):.1f}" r="3" '
        f'fill="{colours[c % len(colours)]}" stroke="white" stroke-width="0.6"/>'
        for a, b, c in rec.points)
    sx, sy = rec.sample_x[:2]
    ring = (f'<circle cx="{px(sx, x0, x1):.1f}" cy="{size - px(sy, y0, y1):.1f}" r="7" '
            f'fill="none" stroke="black" stroke-width="2"><title>the watched sample</title>'
            f'</circle>')
    panel = (f'<div class="tg-map" style="width:{size}px;height:{size}px">'
             f'<canvas id="tg-canvas" width="{rec.grid_size}" height="{rec.grid_size}"></canvas>'
             f'<svg viewBox="0 0 {size} {size}" width="{size}" height="{size}">{dots}{ring}'
             f'</svg></div>')
    data = {"n": rec.grid_size, "kind": rec.grid_kind,
            "cells": [base64.b64encode(f.grid).decode("ascii") if f.grid else ""
                      for f in rec.frames]}
    return panel, data


def _page_data(rec: Recording) -> tuple[dict[str, Any], str, str, str, str]:
    if "graph_svg_source" not in rec.cache:  # laid out once, whatever rewrites follow
        for key, drawing in (("graph", rec.graph_drawing), ("network", rec.network_drawing)):
            svg = ""
            if drawing is not None:
                try:
                    svg = inline_svg(drawing.pipe(format="svg", encoding="utf-8"))
                except GraphvizNotFoundError as e:  # the rest of the page still helps
                    note = f"no {key} drawing: {str(e).splitlines()[0]}"
                    if note not in rec.notes:
                        rec.notes.append(note)
            rec.cache[f"{key}_svg_source"] = svg
    graph_svg, gdata = (mark_graph(rec.cache["graph_svg_source"], rec)
                        if rec.cache["graph_svg_source"] else ("", None))
    net_svg, ndata = (mark_network(rec.cache["network_svg_source"], rec)
                      if rec.cache["network_svg_source"] else ("", None))
    curve, marks = _curve(rec)
    boundary, bdata = _boundary(rec)
    frames = rec.frames
    data = {
        "step": [f.step for f in frames], "epoch": [f.epoch for f in frames],
        "batch": [f.batch for f in frames], "loss": [_finite(f.loss) for f in frames],
        "sloss": [_finite(f.sample_loss) for f in frames], "final": [f.final for f in frames],
        "total": rec.total_steps, "mark": marks, "graph": gdata, "net": ndata, "map": bdata,
        "stopped": rec.stopped_early,
    }
    return data, graph_svg, net_svg, curve, boundary


def _notes(rec: Recording) -> str:
    recorded = sum(1 for f in rec.frames if not f.final)
    if rec.thinned:
        thinned = (f"Steps thinned: {recorded} of {rec.planned_steps} planned steps are "
                   f"recorded, evenly spaced (about one in {rec.planned_steps / recorded:.3g}), "
                   "and the state after the last one.")
    else:
        thinned = f"Every step is recorded ({recorded} steps), and the state after the last one."
    parts = [f'<p class="tg-note">{html.escape(thinned)}</p>']
    if rec.stop_reason:
        cls = "tg-stop" if rec.stopped_early else "tg-note"
        parts.append(f'<p class="{cls}">{html.escape(rec.stop_reason)}</p>')
    parts += [f'<p class="tg-note">{html.escape(n)}</p>' for n in rec.notes]
    return "\n".join(parts)


def page_html(rec: Recording, *, title: str = "Training, step by step") -> str:
    """The whole page for ``rec`` as one HTML document (nothing in it is fetched).

    A run that took no step (``epochs=0``) gives a short page saying that no step was
    recorded.

    >>> import tempfile, pathlib, numpy as np
    >>> from tinygrad_mlp import MLP
    >>> from tinygrad_mlp.train import fit
    >>> from tinygrad_mlp.watch import Watch
    >>> w = Watch(pathlib.Path(tempfile.mkdtemp()) / "t.html")
    >>> _ = fit(MLP(1, [1], seed=0), np.zeros((4, 1)), np.ones(4), loss="mse", epochs=0,
    ...         progress=False, watch=w)
    >>> "no step was recorded" in page_html(w.recording)
    True
    >>> page_html(w.recording, title="Run 1").count("<title>Run 1</title>")
    1
    """
    if not rec.frames:
        notes = [f'<p class="tg-note">{html.escape(n)}</p>'
                 for n in [rec.stop_reason, *rec.notes] if n]
        return EMPTY_PAGE.format(
            title=html.escape(title), style=STYLE,
            model=html.escape(rec.model_text.splitlines()[0] if rec.model_text else ""),
            message=("Nothing to replay: no step was recorded (training ran "
                     f"{rec.total_steps} steps in {rec.epochs} epochs)."),
            notes="\n".join(notes))
    data, graph_svg, net_svg, curve, boundary = _page_data(rec)
    sample = ", ".join(f"{v:.3g}" for v in rec.sample_x)
    target = json.dumps(rec.sample_y)
    collapse = {None: "every scalar", "neuron": "one node per neuron",
                "layer": "one node per layer"}.get(rec.collapse, str(rec.collapse))
    blob = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return PAGE.format(
        title=html.escape(title), style=STYLE, script=SCRIPT, data=blob,
        model=html.escape(rec.model_text.splitlines()[0] if rec.model_text else ""),
        notes=_notes(rec), last=len(rec.frames) - 1, curve=curve,
        boundary=(f'<section class="tg-panel"><h2>Decision boundary</h2>{boundary}'
                  f'<p class="tg-cap">the model\'s classes over the inputs; the ringed point is '
                  f'the watched sample</p></section>' if boundary else ""),
        network=(f'<section class="tg-panel tg-net"><h2>Network: the weights</h2>{net_svg}'
                 f'<p class="tg-cap">arrow colour: sign of the weight (blue +, red −); '
                 f'width: its size</p></section>' if net_svg else ""),
        graph=(f'<section class="tg-panel tg-graph"><h2>Computation graph of sample '
               f'{rec.sample_index} (x = {html.escape(sample)}, y = {html.escape(target)}) '
               f'and its loss</h2><p class="tg-cap">{html.escape(collapse)}; data and grad at '
               f'the step\'s parameters, coloured by gradient '
               f'<button id="tg-size" type="button">actual size</button></p>'
               f'<div id="tg-graphbox" class="tg-fit">{graph_svg}</div></section>'
               if graph_svg else ""),
    )


def write_page(rec: Recording, path: str | os.PathLike, *,
               title: str = "Training, step by step") -> Path:
    """Write :func:`page_html` to ``path`` whole or not at all (see
    :func:`tinygrad_mlp.files.write_atomic`); returns the path.

    The folder is made if missing.  An OSError names ``path``.

    >>> import tempfile, pathlib, numpy as np
    >>> from tinygrad_mlp import MLP
    >>> from tinygrad_mlp.train import fit
    >>> from tinygrad_mlp.watch import Watch
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> w = Watch(folder / "first.html")
    >>> _ = fit(MLP(1, [1], seed=0), np.zeros((4, 1)), np.ones(4), loss="mse", epochs=0,
    ...         progress=False, watch=w)
    >>> out = write_page(w.recording, folder / "copies" / "again.html")
    >>> out.read_text(encoding="utf-8") == w.path.read_text(encoding="utf-8")
    True
    """
    path = Path(path)
    text = page_html(rec, title=title)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    return path


def iframe(page: str, *, height: int = 760) -> str:
    """A page as a sandboxed iframe (``srcdoc``) with a unique id, for a notebook cell.

    >>> iframe("<!DOCTYPE html><p>hi</p>").count("<iframe")
    1
    """
    return isolated_html(page, height=height, title="training page", id_prefix="tinygrad-mlp-watch")


class TrainingPage:
    """A written training page that a notebook shows inline: ``show("training.html")``.

    >>> TrainingPage("<!DOCTYPE html><p>hi</p>")._repr_html_().startswith("<div")
    True
    """

    def __init__(self, page: str, *, height: int = 760) -> None:
        self.page, self.height = page, height

    def _repr_html_(self) -> str:
        return iframe(self.page, height=self.height)


def show(path: str | os.PathLike, *, height: int = 760) -> TrainingPage:
    """The training page at ``path``, ready to show inline in a notebook.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.html"; _ = p.write_text("<p>x</p>")
    >>> show(p).page
    '<p>x</p>'
    """
    return TrainingPage(Path(path).read_text(encoding="utf-8"), height=height)

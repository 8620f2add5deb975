"""What a recorded training run holds: :class:`Recording`, one :class:`Snapshot` a step.

:class:`~tinygrad_mlp.watch.Watch` fills a :class:`Recording` during ``fit``;
:mod:`tinygrad_mlp.viz.live` turns it into the training page.  A snapshot keeps each drawn
node's texts and colours as :func:`label_state` reads them from the node's label, and each
arrow of the network diagram as :func:`arrows_of` reads it from the DOT source: the page shows
exactly what the drawing functions would draw at that step.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["NodeState", "Snapshot", "Recording", "label_state", "arrows_of"]


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

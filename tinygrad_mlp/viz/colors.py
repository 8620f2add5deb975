"""Colors: gradients by sign and order of magnitude, weights by sign.

Gradients span many orders of magnitude, so the color scale is logarithmic and in bins, each bin
named in the legend: a vanishing gradient (below 1e-4) is a pale tint, an exploding one (1e2 and
above) a dark one, and NaN/inf stand out in purple.  Red is negative, blue positive (ColorBrewer
RdBu, readable by most color-blind viewers), as for weights in the architecture diagram.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygrad_mlp.viz.labels import html_text

__all__ = ["GRAD_BINS", "grad_color", "grad_magnitude", "legend_label", "sign_color",
           "order_color", "order_legend_label", "ORDER_COLORS", "NONFINITE_COLOR",
           "HIGHLIGHT_COLOR"]

# (upper bound of |grad|, name in the legend); the last bin is open-ended
GRAD_BINS: tuple[tuple[float, str], ...] = (
    (1e-4, "< 1e-4 (vanishing)"),
    (1e-2, "1e-4 … 1e-2"),
    (1.0, "1e-2 … 1"),
    (1e2, "1 … 1e2"),
    (math.inf, "≥ 1e2 (exploding)"),
)
_NEGATIVE = ("#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f")
_POSITIVE = ("#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061")
_DARK = {_POSITIVE[3], _POSITIVE[4], _NEGATIVE[3], _NEGATIVE[4]}
ZERO_COLOR = "#ffffff"
NONFINITE_COLOR = "#762a83"
HIGHLIGHT_COLOR = "#ff7f00"


def grad_magnitude(g: Any) -> tuple[float, float]:
    """``(sign, magnitude)`` of a gradient; an array by its largest element and the sign of its sum.

    The largest element is what explodes first, so it decides the color of a tensor.

    >>> grad_magnitude(-0.5), grad_magnitude(np.array([0.1, -3.0, 2.0]))
    ((-1.0, 0.5), (-1.0, 3.0))
    """
    if isinstance(g, np.ndarray):
        if g.size == 0:
            return 0.0, 0.0
        with np.errstate(all="ignore"):
            mag = float(np.max(np.abs(g)))
            total = float(np.sum(g))
        sign = math.copysign(1.0, total) if total != 0 else 0.0
        return sign, mag
    g = float(g)
    if math.isnan(g):
        return 0.0, math.nan
    return (0.0 if g == 0 else math.copysign(1.0, g)), abs(g)


def grad_color(g: Any) -> tuple[str, str]:
    """``(fill, font color)`` for a gradient value.

    >>> grad_color(0.0), grad_color(0.5), grad_color(-200.0), grad_color(float("nan"))
    (('#ffffff', 'black'), ('#4393c3', 'black'), ('#67001f', 'white'), ('#762a83', 'white'))
    """
    sign, mag = grad_magnitude(g)
    if math.isnan(mag) or math.isinf(mag):
        return NONFINITE_COLOR, "white"
    if mag == 0:
        return ZERO_COLOR, "black"
    i = next(k for k, (upper, _) in enumerate(GRAD_BINS) if mag < upper)
    fill = (_POSITIVE if sign > 0 else _NEGATIVE)[i]
    return fill, "white" if fill in _DARK else "black"


def legend_label(title: str = "gradient") -> str:
    """An HTML-like label: the color bins of :func:`grad_color`, negative and positive.

    >>> "vanishing" in legend_label()
    True
    """
    rows = [f'<TR><TD COLSPAN="3"><B>{html_text(title)}</B></TD></TR>',
            '<TR><TD>&lt; 0</TD><TD>|grad|</TD><TD>&gt; 0</TD></TR>']
    def swatch(color: str) -> str:
        return f'<TD BGCOLOR="{color}"> </TD>'

    for i, (_, name) in enumerate(GRAD_BINS):
        rows.append(f"<TR>{swatch(_NEGATIVE[i])}<TD>{html_text(name)}</TD>{swatch(_POSITIVE[i])}</TR>")
    rows.append(f"<TR>{swatch(ZERO_COLOR)}<TD>0</TD>{swatch(ZERO_COLOR)}</TR>")
    rows.append(f"<TR>{swatch(NONFINITE_COLOR)}<TD>nan / inf</TD>{swatch(NONFINITE_COLOR)}</TR>")
    body = "".join(rows)
    return (f'<<FONT POINT-SIZE="10"><TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" '
            f'CELLPADDING="3">{body}</TABLE></FONT>>')


# the derivative order that recorded a node (``Value.derivative_order``): the forward pass in
# white, then the 1st, 2nd, 3rd... derivative's nodes in ColorBrewer Set3 pastels (text
# stays black on all of them)
ORDER_COLORS = ("#ffffff", "#bebada", "#8dd3c7", "#fdb462", "#fb8072", "#b3de69", "#fccde5")


def order_color(order: int) -> str:
    """The fill of a node recorded while computing ``order``-th derivatives (0: forward).

    >>> order_color(0), order_color(1), order_color(99) == ORDER_COLORS[-1]
    ('#ffffff', '#bebada', True)
    """
    return ORDER_COLORS[min(max(int(order), 0), len(ORDER_COLORS) - 1)]


def order_legend_label(orders: list[int]) -> str:
    """An HTML-like legend of the derivative orders present in a drawing.

    >>> "2nd derivative" in order_legend_label([0, 2])
    True
    """
    def name(k: int) -> str:
        if k == 0:
            return "forward pass"
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(k if k < 20 else k % 10, "th")
        return f"{k}{suffix} derivative"

    rows = ['<TR><TD COLSPAN="2"><B>recorded by</B></TD></TR>']
    rows += [f'<TR><TD BGCOLOR="{order_color(k)}">   </TD><TD>{name(k)}</TD></TR>'
             for k in sorted(set(orders))]
    return (f'<<FONT POINT-SIZE="10"><TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" '
            f'CELLPADDING="3">{"".join(rows)}</TABLE></FONT>>')


def sign_color(x: float) -> str:
    """Blue for a positive weight, red for a negative one, grey for zero.

    >>> sign_color(0.3), sign_color(-1.0)
    ('#2166ac', '#b2182b')
    """
    if x > 0:
        return "#2166ac"
    if x < 0:
        return "#b2182b"
    return "#999999"

"""How readable the computation graphs are on a 1280×720 slide.

A drawing fitted to the slide is scaled by ``min(1280 / width, 720 / height)`` (its SVG
``viewBox``); its smallest text is the smallest ``font-size`` of any non-empty ``<text>``
(subscripts, cluster titles and operation symbols included) times that scale, in pixels.
Three drawings, each made by ``draw_dot`` with its default options after ``backward()``:

* the README expression (``a=2, b=-3, c=10, f=-2; e=a*b; d=e+c; L=d*f``): at least 14 px;
* ``Neuron(2, activation="tanh", seed=0)([1.5, -0.5])``: at least 10 px;
* ``MLP(2, [3, 1], seed=0)([0.5, -1.0])``: at least 7 px.

    python benchmarks/slide_figures.py [--save DIR]   # --save writes each figure's SVG and PNG
"""

from __future__ import annotations

import argparse
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from tinygrad_mlp import MLP, Neuron, Value
from tinygrad_mlp.viz import draw_dot

SLIDE = (1280, 720)
_SVG = "{http://www.w3.org/2000/svg}"


def readme_expression() -> Value:
    """The README's ``L = (a*b + c) * f``, after ``backward()``."""
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c, f = Value(10.0, label="c"), Value(-2.0, label="f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    L = d * f
    L.label = "L"
    L.backward()
    return L


def neuron() -> Value:
    """``Neuron(2, activation="tanh", seed=0)([1.5, -0.5])`` after ``backward()``."""
    y = Neuron(2, activation="tanh", seed=0)([1.5, -0.5])
    y.backward()
    return y


def mlp() -> Value:
    """``MLP(2, [3, 1], seed=0)([0.5, -1.0])`` after ``backward()``."""
    y = MLP(2, [3, 1], seed=0)([0.5, -1.0])
    y.backward()
    return y


# name, graph, the smallest text it must reach (px)
FIGURES: list[tuple[str, Callable[[], Value], float]] = [
    ("README expression", readme_expression, 14.0),
    ("Neuron(2, tanh)", neuron, 10.0),
    ("MLP(2, [3, 1])", mlp, 7.0),
]


def slide_measure(svg: bytes | str, slide: tuple[int, int] = SLIDE) -> tuple[float, float, float]:
    """``(smallest text in px, width, height)`` of an SVG fitted to a ``slide`` (w, h).

    >>> svg = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 360">'
    ...        '<text font-size="9">x</text></svg>')
    >>> slide_measure(svg)
    (18.0, 640.0, 360.0)
    """
    root = ET.fromstring(svg)
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    scale = min(slide[0] / width, slide[1] / height)
    sizes = [float(t.get("font-size", "14")) for t in root.iter(f"{_SVG}text")
             if "".join(t.itertext()).strip()]
    return min(sizes) * scale, width, height


def svg_texts(svg: bytes | str) -> list[str]:
    """Every non-empty text an SVG shows."""
    return [text for t in ET.fromstring(svg).iter(f"{_SVG}text")
            if (text := "".join(t.itertext()).strip())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--save", type=Path, help="write each figure's SVG and PNG here")
    args = parser.parse_args()
    print(f"smallest text of each drawing fitted to a {SLIDE[0]}×{SLIDE[1]} slide")
    for name, make, target in FIGURES:
        dot = draw_dot(make())
        svg = dot.pipe(format="svg")
        px, w, h = slide_measure(svg)
        verdict = "ok" if px >= target else "BELOW TARGET"
        print(f"  {name:<18} {px:5.1f} px (target >= {target:4.1f})  "
              f"viewBox {w:.0f}×{h:.0f}  {verdict}")
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            stem = re.sub(r"\W+", "_", name).strip("_").lower()
            (args.save / f"{stem}.svg").write_bytes(svg)
            (args.save / f"{stem}.png").write_bytes(dot.pipe(format="png"))


if __name__ == "__main__":
    main()

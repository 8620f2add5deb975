"""draw_mlp as drawn: label placement and the legend, measured on the rendered SVG.

Every check reads coordinates from what Graphviz draws (text, label boxes, node shapes, edge
paths and arrowheads), not from the DOT source, so it holds for the picture a reader sees.
"""

from __future__ import annotations

import math
import re
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np
import pytest

from tinygrad_mlp import MLP
from tinygrad_mlp.viz import draw_mlp
from tinygrad_mlp.viz.colors import sign_color

pytestmark = pytest.mark.skipif(shutil.which("neato") is None, reason="Graphviz is not installed")
SVG = "{http://www.w3.org/2000/svg}"
LABEL = re.compile(r"w(\d+)_(\d+)_(\d+)$")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


@dataclass
class Picture:
    labels: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)  # boxes
    circles: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    boxes: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)  # other nodes
    edges: dict[str, np.ndarray] = field(default_factory=dict)  # path points, (n, 2)
    heads: dict[str, np.ndarray] = field(default_factory=dict)  # arrowhead points
    faded: set[str] = field(default_factory=set)
    widths: dict[str, float] = field(default_factory=dict)
    texts: dict[str, list[str]] = field(default_factory=dict)
    legend: ET.Element | None = None


def points(s: str) -> np.ndarray:
    return np.array([float(v) for v in NUMBER.findall(s)]).reshape(-1, 2)


def bbox(p: np.ndarray) -> tuple[float, float, float, float]:
    return p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()


def picture(drawing) -> Picture:
    pic = Picture()
    root = ET.fromstring(drawing.pipe(format="svg"))
    for g in root.iter(f"{SVG}g"):
        kind, title = g.get("class"), g.find(f"{SVG}title")
        if kind not in ("node", "edge"):
            continue
        name = title.text
        if kind == "edge":
            path = next(g.iter(f"{SVG}path"))
            pic.edges[name] = points(path.get("d"))
            pic.heads[name] = points(next(g.iter(f"{SVG}polygon")).get("points"))
            pic.widths[name] = float(path.get("stroke-width", 1))
            if float(path.get("stroke-opacity", 1)) < 1:  # drawn faded
                pic.faded.add(name)
            continue
        pic.texts[name] = [t.text or "" for t in g.iter(f"{SVG}text")]
        if name == "legend":
            pic.legend = g
        elif LABEL.match(name):
            pic.labels[name] = bbox(points(next(g.iter(f"{SVG}polygon")).get("points")))
        elif (e := next(g.iter(f"{SVG}ellipse"), None)) is not None:
            pic.circles[name] = (float(e.get("cx")), float(e.get("cy")), float(e.get("rx")))
        elif (shape := next(g.iter(f"{SVG}path"), None)) is not None:  # the rounded bias box
            pic.boxes[name] = bbox(points(shape.get("d")))
    return pic


def arrow_of(label: str) -> str:
    """The edge a weight label belongs to: w{l}_{j}_{k} is the arrow from unit k of column l-1."""
    layer, j, k = map(int, LABEL.match(label).groups())
    src = (f"u{layer - 1}" if k == 0 else f"x{k}" if layer == 1 else f"a{layer - 1}_{k}")
    return f"{src}->a{layer}_{j}"


def densify(p: np.ndarray, step: float = 0.5) -> np.ndarray:
    """Points every ``step`` pt along the polyline ``p``."""
    out = [p[:1]]
    for a, b in zip(p, p[1:]):
        n = max(int(np.hypot(*(b - a)) / step), 1)
        out.append(a + (b - a) * np.linspace(0, 1, n + 1)[1:, None])
    return np.concatenate(out)


def to_box(p: np.ndarray, box: tuple[float, float, float, float]) -> float:
    x0, y0, x1, y1 = box
    dx = np.maximum(np.maximum(x0 - p[:, 0], p[:, 0] - x1), 0)
    dy = np.maximum(np.maximum(y0 - p[:, 1], p[:, 1] - y1), 0)
    return float(np.hypot(dx, dy).min())


def center(box: tuple[float, float, float, float]) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def apart(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def check_labels(pic: Picture, expected: int) -> None:
    assert len(pic.labels) == expected
    boxes = list(pic.labels.items())
    for name, box in boxes:
        own = arrow_of(name)
        c = center(box)
        # on its own arrow...
        line = densify(pic.edges[own], 0.25)
        assert np.hypot(*(line - c).T).min() < 1.0, name
        # ...near its tail or its head (measured along the drawn arrow, arrowhead included)
        start, end = pic.edges[own][0], pic.heads[own].mean(axis=0)
        t = float(np.dot(c - start, end - start) / np.dot(end - start, end - start))
        assert min(t, 1 - t) <= 0.42, (name, t)
        # no other arrow comes near its box, nor touches it with an arrowhead
        for other, path in pic.edges.items():
            if other == own or other in pic.faded:
                continue
            gap = min(to_box(densify(path), box), to_box(pic.heads[other], box))
            assert gap >= 1.5, f"{name} is {gap:.1f} pt from the arrow {other}"
        # and it covers no unit and no other label
        for unit, (cx, cy, r) in pic.circles.items():
            assert to_box(np.array([[cx, cy]]), box) > r, (name, unit)
        for unit, other_box in pic.boxes.items():
            assert apart(box, other_box), (name, unit)
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            assert apart(box_a, box_b), (a, b)


def trained_3441() -> MLP:
    model = MLP(3, [4, 4, 1], activation="tanh", seed=0)
    ((model([0.5, -1.0, 2.0]) - 1.0) ** 2).backward()
    return model


@pytest.mark.parametrize(("make", "kwargs", "expected"), [
    (lambda: MLP(3, [4, 4, 1], activation="tanh", seed=0), {}, 32),
    (lambda: MLP(3, [4, 4, 1], seed=1), {"notation": "unicode"}, 32),
    (lambda: MLP(3, [4, 4, 1], seed=2), {"notation": "plain"}, 32),
    (trained_3441, {"values_from": "grads", "edge_labels": "values"}, 32),
    (lambda: MLP(2, [3, 1], seed=0), {"show_bias": True}, 13),
    (lambda: MLP(2, [3, 1], seed=0), {"edge_labels": "values", "precision": 3}, 9),
    (lambda: MLP(4, [3, 1], activation="tanh", seed=0), {"show_bias": True}, 19),
    (lambda: MLP(4, [4, 1], seed=0), {"show_bias": True}, 25),
    (lambda: MLP(3, [4, 4, 1], seed=0), {"show_bias": True, "edge_labels": "notation"}, 41),
    (lambda: MLP(8, [8, 1], seed=0), {"label_weights": [(1, 3, 2), (1, 4, 2), (2, 1, 8)]}, 3),
    # headings with a dropout line under them, a long activation under a column
    (lambda: MLP(3, [4, 4, 1], activation=["tanh", ("leaky_relu", 0.2), None], dropout=[0.2, 0.5, 0.5],
                 seed=0), {}, 32),
    (lambda: MLP(4, [3, 1], dropout=[0.2, 0.5], seed=0), {"show_bias": True}, 19),
])
def test_each_label_sits_alone_on_its_own_arrow_near_an_end(make, kwargs, expected):
    check_labels(picture(draw_mlp(make(), **kwargs)), expected)


def test_a_chosen_few_are_labelled_and_the_other_arrows_fade():
    pic = picture(draw_mlp(MLP(8, [8, 1], seed=0), label_weights=[(1, 3, 2)]))
    assert set(pic.labels) == {"w1_3_2"}
    assert set(pic.edges) - pic.faded == {"x2->a1_3"}


def legend_parts(pic: Picture) -> tuple[str, list[tuple[str, float]]]:
    """The legend's text, and its bars as (color, height in pt)."""
    text = "".join(pic.texts["legend"]).replace("\xa0", " ")
    bars = []
    for p in pic.legend.iter(f"{SVG}polygon"):
        x0, y0, x1, y1 = bbox(points(p.get("points")))
        if p.get("fill", "none") not in ("none", "white", "transparent"):
            bars.append((p.get("fill"), round(y1 - y0, 1)))
    return text, bars


def test_the_legend_explains_color_and_width_of_weights():
    model = MLP(3, [4, 4, 1], seed=0)
    pic = picture(draw_mlp(model))
    text, bars = legend_parts(pic)
    assert "color: sign of the weight" in text and "w > 0" in text and "w < 0" in text
    assert "width: its size |w|" in text
    colors = [c for c, _ in bars]
    assert sign_color(1.0) in colors and sign_color(-1.0) in colors
    # the width samples: 0, half and the largest |w|, as thick as the arrows of those weights
    sizes = [h for c, h in bars if c == "#555555"]
    assert len(sizes) == 3 and sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert abs(sizes[-1] - max(pic.widths.values())) <= 0.5
    biggest = max(float(np.max(np.abs(layer.W.data))) for layer in model.layers)
    assert f"{biggest:.2g}" in text
    # under the picture, clear of every unit
    top = bbox(np.concatenate([points(p.get("points")) for p in pic.legend.iter(f"{SVG}polygon")]))[1]
    assert all(cy + r < top for cx, cy, r in pic.circles.values())


def test_the_legend_speaks_of_gradients_when_they_are_drawn():
    text, _ = legend_parts(picture(draw_mlp(trained_3441(), values_from="grads")))
    assert "sign of the gradient" in text and "∂L/∂w > 0" in text and "|∂L/∂w|" in text


def test_the_legend_shows_zero_and_nonfinite_only_when_present():
    model = MLP(2, [2, 1], seed=0)
    text, _ = legend_parts(picture(draw_mlp(model)))
    assert "w = 0" not in text and "nan" not in text
    model.layers[0].W.data[0, 0] = 0.0
    model.layers[1].W.data[0, 1] = float("nan")
    text, bars = legend_parts(picture(draw_mlp(model)))
    assert "w = 0" in text and "nan / inf" in text
    assert sign_color(0.0) in [c for c, _ in bars]


def test_legend_can_be_turned_off():
    pic = picture(draw_mlp(MLP(2, [3, 1], seed=0), legend=False))
    assert pic.legend is None


def test_bias_input_reads_x0_equals_1_with_spaces_a_browser_keeps():
    pic = picture(draw_mlp(MLP(2, [3, 1], seed=0), show_bias=True))
    assert "".join(pic.texts["u0"]) == "x0\xa0=\xa01"
    assert "".join(pic.texts["u1"]) == "a(1)0\xa0=\xa01"
    # SVG collapses a text's leading and trailing spaces: none may carry meaning
    for name, shown in pic.texts.items():
        for t in shown:
            assert t == t.strip(" "), (name, t)
    # in plain text the label is one string with ordinary spaces
    assert picture(draw_mlp(MLP(2, [3, 1], seed=0), show_bias=True, notation="unicode")
                   ).texts["u0"] == ["x₀ = 1"]


def test_labels_are_spread_by_spacing_the_columns_not_shrunk():
    """A denser gap moves the columns apart; a sparse one keeps them close."""
    def column_gap(model, **kwargs) -> float:
        pic = picture(draw_mlp(model, **kwargs))
        return pic.circles["a1_1"][0] - pic.circles["x1"][0]

    unlabelled = column_gap(MLP(3, [4, 4, 1], seed=0), edge_labels="none")
    labelled = column_gap(MLP(3, [4, 4, 1], seed=0))
    assert labelled > unlabelled
    assert math.isclose(column_gap(MLP(2, [2, 1], seed=0)), column_gap(MLP(1, [2, 1], seed=0)))


def dashed_units(drawing) -> set[str]:
    """The units drawn with a dashed outline."""
    root = ET.fromstring(drawing.pipe(format="svg"))
    return {g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g")
            if g.get("class") == "node"
            and any(e.get("stroke-dasharray") for e in g.iter(f"{SVG}ellipse"))}


def test_each_column_shows_its_own_activation_with_its_arguments():
    model = MLP(3, [4, 4, 1], activation=["tanh", ("leaky_relu", 0.2), None], seed=0)
    pic = picture(draw_mlp(model))
    assert [pic.texts[f"f{c}"] for c in (1, 2, 3)] == [["tanh"], ["leaky_relu(0.2)"], ["linear"]]
    for notation in ("plain", "unicode"):
        assert picture(draw_mlp(model, notation=notation)).texts["f2"] == ["leaky_relu(0.2)"]


def test_units_a_layer_drops_are_dashed_and_their_column_says_so():
    model = MLP(3, [4, 4, 1], dropout=[0.2, 0.5, 0.0], seed=0)  # layer l drops column l - 1
    drawing = draw_mlp(model)
    assert dashed_units(drawing) == {"x1", "x2", "x3"} | {f"a1_{j}" for j in range(1, 5)}
    pic = picture(drawing)
    lines = {name: "".join(t).replace("\xa0", " ") for name, t in pic.texts.items()
             if name.startswith("d") and name[1:].isdigit()}
    assert lines == {"d0": "dropout p = 0.2", "d1": "dropout p = 0.5"}
    text, _ = legend_parts(pic)
    assert "dashed units: dropout" in text and "probability p while training" in text
    # the line is under its column's heading and above its units
    root = ET.fromstring(drawing.pipe(format="svg"))
    where = {g.find(f"{SVG}title").text: points(" ".join(f"{t.get('x')},{t.get('y')}"
                                                      for t in g.iter(f"{SVG}text")))
             for g in root.iter(f"{SVG}g") if g.get("class") == "node"}
    for c, unit in ((0, "x1"), (1, "a1_1")):
        heading, line = where[f"h{c}"], where[f"d{c}"]  # (x, y) of each piece of text
        cx, cy, r = pic.circles[unit]
        assert heading[:, 1].max() < line[:, 1].min() < cy - r  # SVG y grows downwards
        assert line[:, 0].min() < cx < line[:, 0].max() and heading[0, 0] < cx  # text starts left


def test_without_dropout_nothing_is_dashed_nor_explained():
    drawing = draw_mlp(MLP(3, [4, 4, 1], seed=0), show_bias=True, edge_labels="none")
    assert dashed_units(drawing) == set()
    text, _ = legend_parts(picture(drawing))
    assert "dropout" not in text and "dropout" not in drawing.source


def test_hidden_dropout_marks_the_hidden_columns_only():
    drawing = draw_mlp(MLP(2, [3, 3, 1], dropout=0.5, seed=0))  # between hidden layers
    assert dashed_units(drawing) == {f"a{c}_{j}" for c in (1, 2) for j in (1, 2, 3)}


def test_the_default_diagram_is_readable_on_a_slide_and_in_the_docs():
    """A 3-4-4-1 diagram with every weight labelled: smallest text >= 9 px on a 1280x720 slide
    and >= 7 px shown 736 px wide (the docs' column of text)."""
    svg = draw_mlp(MLP(3, [4, 4, 1], activation="tanh", seed=0)).pipe(format="svg", encoding="utf-8")
    width, height = (float(v) for v in re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ([\d.]+)"',
                                                 svg).groups())
    smallest = min(float(size) for size, text in
                   re.findall(r'<text[^>]*font-size="([\d.]+)"[^>]*>([^<]*)</text>', svg)
                   if text.strip())
    assert smallest * min(1280 / width, 720 / height) >= 9
    assert smallest * min(4 / 3, 736 / width) >= 7

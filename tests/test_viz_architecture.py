"""draw_mlp: the course note's network diagram from a live model."""

from __future__ import annotations

import re
import shutil
import warnings
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinygrad_mlp import MLP, Layer, Neuron
from tinygrad_mlp.viz import draw_mlp

needs_dot = pytest.mark.skipif(shutil.which("neato") is None, reason="Graphviz is not installed")
SVG = "{http://www.w3.org/2000/svg}"


def texts(graph) -> list[str]:
    return [t.text or "" for t in ET.fromstring(graph.pipe(format="svg")).iter(f"{SVG}text")]


def positions(source: str) -> dict[str, tuple[float, float]]:
    return {m[0]: (float(m[1]), float(m[2]))
            for m in re.findall(r"^\t(\w+) \[.*pos=\"([-\d.]+),([-\d.]+)!\"", source, re.M)}


def weight_edges(source: str) -> list[str]:
    return re.findall(r"^\t\w+ -> \w+ \[.*$", source, re.M)


def test_one_arrow_per_weight_and_neato_with_pinned_positions():
    dot = draw_mlp(MLP(3, [4, 4, 1], seed=0))
    assert dot.engine == "neato"
    assert len(weight_edges(dot.source)) == 3 * 4 + 4 * 4 + 4 * 1
    pos = positions(dot.source)
    # inputs left of layer 1, left of layer 2...; neuron 1 at the top of its column
    assert pos["x1"][0] < pos["a1_1"][0] < pos["a2_1"][0] < pos["a3_1"][0]
    assert pos["x1"][1] > pos["x2"][1] > pos["x3"][1]
    assert [pos[f"a1_{j}"][1] for j in range(1, 5)] == sorted((pos[f"a1_{j}"][1] for j in range(1, 5)),
                                                                reverse=True)


@needs_dot
def test_rendered_order_is_the_textbook_order():
    svg = ET.fromstring(draw_mlp(MLP(3, [4, 1], seed=0)).pipe(format="svg"))
    centers = {}
    for g in svg.iter(f"{SVG}g"):
        title = g.find(f"{SVG}title")
        shape = g.find(f"{SVG}ellipse")
        if g.get("class") == "node" and shape is not None:
            centers[title.text] = (float(shape.get("cx")), float(shape.get("cy")))
    ys = [centers[f"a1_{j}"][1] for j in range(1, 5)]
    assert ys == sorted(ys)  # SVG y grows downwards: neuron 1 on top
    assert centers["x1"][0] < centers["a1_1"][0] < centers["a2_1"][0]


@needs_dot
def test_weights_are_labelled_in_the_notation_while_few():
    dot = draw_mlp(MLP(3, [4, 4, 1], activation="tanh", seed=0), notation="unicode")
    shown = texts(dot)
    for sym in ("w⁽¹⁾₄₃", "w⁽²⁾₁₄", "w⁽³⁾₁₄", "x₁", "a⁽¹⁾₄", "a⁽³⁾₁"):
        assert sym in shown, sym
    assert "w⁽¹⁾₃₄" not in shown  # layer 1 has 3 inputs: no k = 4
    assert shown.count("tanh") == 2 and "linear" in shown
    html = draw_mlp(MLP(3, [4, 4, 1], seed=0)).source
    # small scripts on the arrows, as in a textbook figure
    assert '<I>w</I><FONT POINT-SIZE="9"><SUP>(1)</SUP><SUB>43</SUB></FONT>' in html


def label_count(source: str) -> int:
    return len(re.findall(r"^\tw\d", source, re.M))


@pytest.mark.parametrize(("model", "show_bias", "labelled"), [
    (MLP(3, [4, 4, 1], seed=0), False, 32),  # 12, 16 and 4 arrows between columns
    (MLP(4, [4, 1], seed=0), True, 25),  # x_0 and 4 inputs to 4 neurons: 20 arrows, the limit
    (MLP(2, [3, 1], seed=0), True, 13),
    (MLP(5, [5, 1], seed=0), False, 0),  # 25 arrows from the inputs
    (MLP(8, [8, 1], seed=0), False, 0),
])
def test_weights_are_labelled_by_default_while_no_gap_is_too_dense(model, show_bias, labelled):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert label_count(draw_mlp(model, show_bias=show_bias).source) == labelled


def test_many_weights_are_labelled_when_asked_with_a_warning_if_they_cannot_fit():
    model = MLP(8, [8, 1], seed=0)  # 72 arrows
    with pytest.warns(UserWarning, match="label fewer weights"):
        source = draw_mlp(model, edge_labels="notation").source
    assert label_count(source) == 72


def test_label_weights_labels_a_chosen_few():
    model = MLP(8, [8, 1], seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        source = draw_mlp(model, label_weights=[(1, 3, 2), (2, 1, 8)], notation="plain").source
    assert label_count(source) == 2
    assert 'label="w(1)_32"' in source and 'label="w(2)_18"' in source
    values = draw_mlp(model, label_weights=[(1, 3, 2)], edge_labels="values").source
    assert f"{model.layers[0].W.data[2, 1]:.2f}" in values and label_count(values) == 1
    bias = draw_mlp(MLP(2, [2, 1], seed=0), show_bias=True, label_weights=[(1, 2, 0)],
                    notation="plain").source
    assert 'label="w(1)_20"' in bias and label_count(bias) == 1
    # the chosen arrows are drawn last (on top of the faded ones), the others faded
    edges = [line for line in source.splitlines() if " -> " in line]
    opaque = [i for i, line in enumerate(edges) if not re.search(r'color="#[0-9a-f]{6}33"', line)]
    assert [edges[i].split()[0:3] for i in opaque] == [["x2", "->", "a1_3"], ["a1_8", "->", "a2_1"]]
    assert opaque == [len(edges) - 2, len(edges) - 1]


@pytest.mark.parametrize(("chosen", "error", "match"), [
    ([(3, 1, 1)], ValueError, r"w⁽³⁾₁₁ \(3, 1, 1\) is not an arrow"),
    ([(1, 1, 9)], ValueError, "not an arrow"),
    ([(1, 1, 0)], ValueError, "show_bias=True"),
    ([(1, 1)], TypeError, "triples"),
    ([(1, 1, 1.5)], TypeError, "whole numbers"),
    ("w111", TypeError, "triples"),
])
def test_label_weights_rejects_what_is_not_drawn(chosen, error, match):
    with pytest.raises(error, match=match):
        draw_mlp(MLP(2, [3, 1], seed=0), label_weights=chosen)


def test_label_weights_and_no_labels_contradict():
    with pytest.raises(ValueError, match="edge_labels='none'"):
        draw_mlp(MLP(2, [3, 1], seed=0), label_weights=[(1, 1, 1)], edge_labels="none")


@needs_dot
def test_edges_colored_by_sign_and_sized_by_magnitude():
    layer = Layer(2, 1, seed=0)
    layer.W.data[...] = [[2.0, -0.5]]
    dot = draw_mlp(layer, edge_labels="values")
    edges = weight_edges(dot.source)
    strong = next(e for e in edges if e.startswith("\tx1 ->"))
    weak = next(e for e in edges if e.startswith("\tx2 ->"))
    assert 'color="#2166ac"' in strong and 'color="#b2182b"' in weak
    width = lambda e: float(re.search(r"penwidth=([\d.]+)", e)[1])  # noqa: E731
    assert width(strong) > width(weak)
    shown = texts(dot)
    assert "2.00" in shown and "-0.50" in shown


def test_show_bias_adds_x0_and_the_bias_weights():
    model = MLP(4, [3, 1], seed=0)
    model.layers[0].b.data[...] = [0.5, -0.5, 0.0]
    source = draw_mlp(model, show_bias=True, notation="plain").source
    assert 'label="x_0 = 1"' in source and 'label="a(1)_0 = 1"' in source
    for j in (1, 2, 3):
        assert f'label="w(1)_{j}0"' in source
    assert 'label="w(2)_10"' in source
    assert len(weight_edges(source)) == 5 * 3 + 4 * 1


def test_big_layers_are_elided():
    source = draw_mlp(MLP(20, [30, 1], seed=0), max_neurons=6, notation="plain").source
    for shown in ("x1", "x3", "x18", "x20", "a1_1", "a1_3", "a1_28", "a1_30"):
        assert re.search(rf"^\t{shown} \[", source, re.M), shown
    assert not re.search(r"^\tx10 \[", source, re.M)
    assert source.count('label="⋮"') == 2
    assert "inputs (20)" in source and "layer 1 (30)" in source
    assert len(weight_edges(source)) == 6 * 6 + 6


def test_values_from_grads():
    model = MLP(2, [2, 1], seed=0)
    with pytest.warns(UserWarning, match="call backward"):
        draw_mlp(model, values_from="grads")
    y = model([1.0, 2.0])
    y.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        source = draw_mlp(model, values_from="grads", edge_labels="values", precision=3).source
    g = model.layers[1].W.grad[0, 0]
    assert f"{g:.3f}" in source


def test_a_neuron_and_a_layer_can_be_drawn():
    source = draw_mlp(Neuron(3, activation="sigmoid", seed=0), notation="plain").source
    assert len(weight_edges(source)) == 3 and "sigmoid" in source
    assert len(weight_edges(draw_mlp(Layer(2, 5, seed=0)).source)) == 10


def test_bad_arguments():
    with pytest.raises(TypeError, match="MLP, a Layer or a Neuron"):
        draw_mlp(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="edge_labels"):
        draw_mlp(MLP(2, [1]), edge_labels="all")
    with pytest.raises(ValueError, match="values_from"):
        draw_mlp(MLP(2, [1]), values_from="data")
    with pytest.raises(ValueError, match="max_neurons"):
        draw_mlp(MLP(2, [1]), max_neurons=1)


@needs_dot
def test_hostile_title_and_activation_names_are_text(monkeypatch):
    from tinygrad_mlp.nn import ACTIVATIONS

    monkeypatch.setitem(ACTIVATIONS, "<act>&", lambda x: x)  # registered for this test only
    model = MLP(2, [2, 1], activation="<act>&", seed=0)
    for notation in ("html", "plain"):
        shown = texts(draw_mlp(model, title='<t>"x\'', notation=notation))
        assert '<t>"x\'' in shown and "<act>&" in shown


def test_a_layer_shows_its_activation_arguments_and_the_dropout_of_its_inputs():
    source = draw_mlp(Layer(4, 2, activation=("leaky_relu", 0.2), dropout=0.5, seed=0),
                      notation="plain").source
    assert 'label="leaky_relu(0.2)"' in source and 'label="dropout p = 0.5"' in source
    assert len(re.findall(r"^\tx\d \[.*style=\"filled,dashed\"", source, re.M)) == 4


def test_a_dropout_without_a_probability_is_refused():
    model = MLP(2, [2, 1], dropout=[0.5, 0.0], seed=0)
    model.layers[0].dropout.p = 1.5
    with pytest.raises(ValueError, match=r"layer 1: its dropout should have a probability p in \[0, 1\)"):
        draw_mlp(model)


def test_units_with_two_digit_indices_get_a_smaller_font_to_fit_their_circle():
    source = draw_mlp(MLP(64, [32, 16, 10], seed=0)).source
    lines = {line.split()[0]: line for line in source.splitlines() if "shape=circle" in line}
    assert "fontsize=11" in lines["a1_29"] and "fontsize=11" in lines["a1_1"]  # the whole column
    assert "fontsize=11" in lines["a3_10"] and "fontsize" not in lines["x64"]
    small = draw_mlp(MLP(3, [4, 4, 1], seed=0)).source
    assert not any("fontsize" in line for line in small.splitlines() if "shape=circle" in line)

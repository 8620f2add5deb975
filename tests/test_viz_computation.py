"""draw_dot: the computation graph, rendered to SVG and checked for its labels and values."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import warnings
import xml.etree.ElementTree as ET

import graphviz
import numpy as np
import pytest

from tinygrad_mlp import MLP, Function, Layer, Value
from tinygrad_mlp.notation import user_label
from tinygrad_mlp.viz import GraphTooLargeError, LargeGraphWarning, draw_dot
from tinygrad_mlp.viz.computation import MAX_NODES, WARN_NODES

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
SVG = "{http://www.w3.org/2000/svg}"


def svg_of(graph) -> ET.Element:
    return ET.fromstring(graph.pipe(format="svg"))


def texts(graph) -> list[str]:
    """Every text the SVG shows (entities decoded: Graphviz writes '-' as &#45;)."""
    return [t.text or "" for t in svg_of(graph).iter(f"{SVG}text")]


def expression() -> Value:
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    return d


def small_mlp() -> Value:
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    return model([1.0, -2.0])


# --------------------------------------------------------------------------- expressions
@needs_dot
@pytest.mark.parametrize("notation", ["html", "unicode", "plain"])
def test_expression_shows_labels_data_and_grads(notation):
    d = expression()
    before = " ".join(texts(draw_dot(d, notation=notation)))
    assert "grad 0.0000" in before and "grad -3.0000" not in before
    d.backward()
    shown = texts(draw_dot(d, notation=notation))
    joined = " ".join(shown)
    for text in ("data 2.0000", "data -3.0000", "data 10.0000", "data -6.0000", "data 4.0000",
                 "grad -3.0000", "grad 2.0000", "grad 1.0000"):
        assert text in joined, text
    for name in ("a", "b", "c", "d", "e", "*", "+"):
        assert name in shown, name


def test_returns_a_digraph_with_ops_feeding_their_values():
    d = expression()
    dot = draw_dot(d)
    assert isinstance(dot, graphviz.Digraph)
    assert "o4 -> v4" in dot.source  # d = e + c: its '+' oval feeds it
    assert "v3 -> o4" in dot.source and "v2 -> o4" in dot.source


def test_snapshot_of_a_small_graph():
    d = expression()
    d.backward()
    expected = textwrap.dedent("""\
        digraph {
        \tgraph [nodesep=0.12 rankdir=LR ranksep=0.2 tooltip=" "]
        \tnode [fontsize=14]
        \tv0 [label="{ a | data 2.0000 | grad -3.0000 }" shape=record tooltip="a = 2.0000, grad -3.0000"]
        \tv1 [label="{ b | data -3.0000 | grad 2.0000 }" shape=record tooltip="b = -3.0000, grad 2.0000"]
        \tv2 [label="{ e | data -6.0000 | grad 1.0000 }" shape=record tooltip="e = -6.0000, grad 1.0000"]
        \to2 [label="*" height=0.4 margin="0.05,0.03" shape=ellipse tooltip="*: a·b = -6.0000" width=0.4]
        \tv3 [label="{ c | data 10.0000 | grad 1.0000 }" shape=record tooltip="c = 10.0000, grad 1.0000"]
        \tv4 [label="{ d | data 4.0000 | grad 1.0000 }" shape=record tooltip="d = 4.0000, grad 1.0000"]
        \to4 [label="+" height=0.4 margin="0.05,0.03" shape=ellipse tooltip="+: e + c = 4.0000" width=0.4]
        \to2 -> v2 [tooltip="* → e"]
        \to4 -> v4 [tooltip="+ → d"]
        \tv0 -> o2 [tooltip="a → *"]
        \tv1 -> o2 [tooltip="b → *"]
        \tv2 -> o4 [tooltip="e → +"]
        \tv3 -> o4 [tooltip="c → +"]
        }
        """)
    assert draw_dot(d, notation="plain").source == expected


_SNAPSHOT_SCRIPT = """
from tinygrad_mlp import MLP
from tinygrad_mlp.viz import draw_dot
y = MLP(2, [3, 1], activation="tanh", seed=0)([1.0, -2.0])
y.backward()
print(draw_dot(y, bias="w0").source, end="")
"""


def test_source_is_the_same_in_every_run_and_whatever_else_was_built():
    for _ in range(3):  # other graphs first: the ids must not depend on them
        expression().backward()
        small_mlp()
    y = small_mlp()
    y.backward()
    here = draw_dot(y, bias="w0").source
    assert draw_dot(y, bias="w0").source == here
    for seed in ("1", "2"):  # another process, with another hash seed
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", _SNAPSHOT_SCRIPT], env=env, capture_output=True,
                             text=True, check=True)
        assert out.stdout == here


# --------------------------------------------------------------------------- model-aware
@needs_dot
def test_model_graph_uses_the_notation_from_role_and_index():
    y = small_mlp()
    y.backward()
    shown = texts(draw_dot(y, notation="unicode"))
    joined = " ".join(shown)
    for sym in ("w⁽¹⁾₂₁", "w⁽¹⁾₃₂", "w⁽²⁾₁₃", "b⁽¹⁾₂", "b⁽²⁾₁", "z⁽¹⁾₃", "a⁽¹⁾₁", "z⁽²⁾₁", "x₁", "x₂"):
        assert sym in shown, sym
    assert f"data {y.data:.4f}" in joined
    # the layer tensors W, b and their indexing ops are hidden in the model-aware drawing
    assert "W⁽¹⁾" not in joined and "[]" not in shown


@needs_dot
@pytest.mark.parametrize("notation", ["html", "unicode", "plain"])
def test_a_label_the_user_sets_wins_over_the_notation(notation):
    y = small_mlp()
    y.backward()
    weight = next(n for n in y.graph() if n.role == "weight" and n.index == (1, 2, 1))
    weight.label = "my weight"
    y.label = "ŷ"
    shown = texts(draw_dot(y, notation=notation))
    assert "my weight" in shown and "ŷ" in shown
    joined = " ".join(shown)
    assert "w⁽¹⁾₂₁" not in joined and "w(1)_21" not in joined  # the user's name replaces it
    assert "z⁽²⁾₁" not in joined and "z(2)_1" not in joined
    # the library names its own nodes by role and index only: no label of its own shows
    plain = " ".join(texts(draw_dot(small_mlp(), notation="plain")))
    assert "w(1)_21" in plain and "W1" not in plain


def test_the_library_sets_no_label_on_a_model():
    model = MLP(2, [3, 1], seed=0)
    y = model([1.0, 2.0])
    for n in y.graph():
        assert user_label(n) == "", (n.role, n.index, n.label)
    layer = model.layers[0]
    assert (layer.W.role, layer.W.index, layer.b.role, layer.b.index) == ("weight", (1,), "bias", (1,))
    assert (layer.W.label, layer.b.label) == ("W(1)", "b(1)")  # the default from role and index


@needs_dot
def test_html_notation_draws_scripts_in_a_smaller_font():
    y = small_mlp()
    dot = draw_dot(y)
    scripts = '<FONT POINT-SIZE="11"><SUP>(1)</SUP></FONT><FONT POINT-SIZE="11"><SUB>21</SUB></FONT>'
    assert scripts in dot.source
    root = svg_of(dot)
    small = [t.text for t in root.iter(f"{SVG}text") if t.get("font-size") == "11.00"]
    assert "(1)" in small and "(2)" in small and "21" in small and "13" in small


def test_model_aware_can_be_turned_off():
    y = small_mlp()
    source = draw_dot(y, model_aware=False, notation="plain").source
    assert '"[]"' in source and "W(1)" in source and "cluster" not in source


def test_clusters_per_neuron_named_by_layer():
    source = draw_dot(small_mlp()).source
    for name in ("cluster_in_0", "cluster_l1_n1_0", "cluster_l1_n3_0", "cluster_l2_n1_0"):
        assert f"subgraph {name} " in source, name
    # in reading order, and not nested in a cluster per layer (dot would reorder the neurons)
    assert (source.index("subgraph cluster_in_0 ") < source.index("subgraph cluster_l1_n1_0 ")
            < source.index("subgraph cluster_l1_n2_0 ") < source.index("subgraph cluster_l2_n1_0 "))
    assert "subgraph cluster_l1_0 " not in source
    assert "label=<layer 1 · neuron 2>" in source


def positions(dot) -> dict[str, tuple[float, float]]:
    """Node id -> (x, y) of the center, from dot's plain output (y grows upwards)."""
    pos = {}
    for line in dot.pipe(format="plain").decode().splitlines():
        parts = line.split()
        if parts[0] == "node":
            pos[parts[1]] = (float(parts[2]), float(parts[3]))
    return pos


def scalar_ids(y) -> dict:
    return {n: f"v{i}" for i, n in enumerate(y.graph())}


@needs_dot
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_layers_side_by_side_with_neurons_and_inputs_in_order(rankdir):
    y = MLP(2, [3, 1], seed=0)([0.5, -1.0])
    pos, ids = positions(draw_dot(y, rankdir=rankdir)), scalar_ids(y)
    along = 0 if rankdir == "LR" else 1
    sign = 1 if rankdir == "LR" else -1  # LR: left to right; TB: top to bottom (y grows up)

    def extent(nodes):
        coords = [sign * pos[ids[n]][along] for n in nodes]
        return min(coords), max(coords)

    def layer_nodes(layer):
        return [n for n in y.graph() if n.index and n.index[0] == layer and n.ndim == 0
                and n.role in ("weight", "bias", "z", "activation")]

    inputs = [n for n in y.graph() if n.role == "input"]
    # stages one after the other, never overlapping: no staircase
    assert extent(inputs)[1] < extent(layer_nodes(1))[0]
    assert extent(layer_nodes(1))[1] < extent(layer_nodes(2))[0]
    # inputs x1, x2 and neurons 1, 2, 3 in order: top to bottom (LR), left to right (TB)
    def across_of(n):
        return -pos[ids[n]][1] if rankdir == "LR" else pos[ids[n]][0]

    xs = sorted(inputs, key=lambda n: n.index)
    assert across_of(xs[0]) < across_of(xs[1])
    outs = sorted((n for n in layer_nodes(1) if n.role == "activation"), key=lambda n: n.index)
    assert [across_of(n) for n in outs] == sorted(across_of(n) for n in outs)
    # each weight sits on its multiplication: same rank, next to it
    for w in (n for n in layer_nodes(1) if n.role == "weight"):
        (product,) = [c for c in y.graph() if w in c.parents]
        assert pos[ids[w]][along] == pytest.approx(pos[f"o{ids[product][1:]}"][along])


@needs_dot
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_inputs_come_before_layer_1(rankdir):
    y = small_mlp()
    dot = draw_dot(y, rankdir=rankdir, notation="plain")
    assert "cluster_in_0" in dot.source  # the inputs keep their cluster
    pos, ids = positions(dot), scalar_ids(y)
    inputs = [pos[ids[n]] for n in y.graph() if n.role == "input"]
    weights = [pos[ids[n]] for n in y.graph() if n.role == "weight" and n.index[0] == 1
               and n.ndim == 0]
    if rankdir == "LR":  # left of layer 1's weights
        assert max(x for x, _ in inputs) < min(x for x, _ in weights)
    else:  # above them (y grows upwards in dot's plain output)
        assert min(y for _, y in inputs) > max(y for _, y in weights)


@needs_dot
def test_bias_as_w0_on_a_constant_input():
    y = small_mlp()
    y.backward()
    shown = texts(draw_dot(y, bias="w0", notation="unicode"))
    joined = " ".join(shown)
    assert "w⁽¹⁾₁₀" in shown and "w⁽²⁾₁₀" in shown
    assert "x₀" in shown and "a⁽¹⁾₀" in shown  # x_0 = 1 for layer 1, a bias unit for layer 2
    assert "b⁽¹⁾₁" not in joined
    assert "w⁽¹⁾₂₀·x₀" in shown


@needs_dot
def test_collapse_per_neuron_and_per_layer():
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    y = model([1.0, -2.0])
    y.backward()
    per_neuron = draw_dot(y, collapse="neuron", notation="unicode")
    groups = re.findall(r"^\tg\d+ \[", per_neuron.source, re.M)
    assert len(groups) == 6  # x1, x2, three neurons of layer 1, one of layer 2
    shown = " ".join(texts(per_neuron))
    assert "a⁽¹⁾₂" in shown and "neuron · tanh" in shown and "z⁽²⁾₁" in shown
    assert f"data {y.data:.4f}" in shown and "*" not in shown
    per_layer = draw_dot(y, collapse="layer", notation="unicode")
    assert len(re.findall(r"^\tg\d+ \[", per_layer.source, re.M)) == 3
    assert re.findall(r"^\t(g\d+ -> g\d+) \[tooltip=", per_layer.source, re.M) == ["g2 -> g1", "g1 -> g0"]
    shown = " ".join(texts(per_layer))
    assert "3 neurons · tanh" in shown and "1 neuron · linear" in shown and "2 inputs" in shown


def test_collapse_merges_many_calls_of_the_model():
    model = MLP(2, [3, 1], seed=0)
    outs = [model([float(i), 1.0]) for i in range(5)]
    total = outs[0]
    for o in outs[1:]:
        total = total + o
    source = draw_dot(total, collapse="layer", notation="plain").source
    assert source.count("×5 calls") == 3
    full = draw_dot(total, notation="plain").source
    assert "layer 1 · neuron 1 · call 5" in full  # uncollapsed: one cluster per call


def test_neurons_are_kept_in_order_when_collapsed():
    y = MLP(2, [4, 1], seed=0)([1.0, 2.0])
    source = draw_dot(y, collapse="neuron", notation="plain").source
    rank = next(line for line in source.splitlines() if "rank=same" in line and "h1" in line)
    ids = rank.strip("{} \t").replace("rank=same;", "").split(";")
    ids = [i.strip() for i in ids]
    labels_in_order = []
    for gid in ids[1:]:
        line = next(line for line in source.splitlines() if line.strip().startswith(f"{gid} ["))
        labels_in_order.append(line.split("a(1)_")[1][0])
    assert labels_in_order == ["1", "2", "3", "4"]


def micrograd_step(n: int = 100):
    """micrograd's demo step written literally with the scalar call style."""
    from tinygrad_mlp.data import make_moons

    X, y = make_moons(n, noise=0.1, random_state=1)
    y = y * 2 - 1
    model = MLP(2, [16, 16, 1], seed=0)
    scores = [model(list(x)) for x in X.tolist()]
    losses = [(1 + -yi * si).relu() for yi, si in zip(y.tolist(), scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum((p * p).sum() for p in model.parameters())
    loss = data_loss + reg_loss
    loss.backward()
    return loss, data_loss, reg_loss


def without_tooltips(source: str) -> str:
    return re.sub(r' tooltip="[^"]*"', "", source)


def drawn_nodes(source: str) -> list[str]:
    return re.findall(r"^\t+(?!graph |node |edge )([A-Za-z_]\w*) \[", source, re.M)


@needs_dot
def test_literal_micrograd_step_collapses_to_a_small_graph():
    loss, data_loss, reg_loss = micrograd_step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no large-graph warning
        dot = draw_dot(loss, collapse="layer")
    assert len(drawn_nodes(dot.source)) < 60
    shown = texts(dot)  # renders (in milliseconds: the graph is small)
    joined = " ".join(shown)
    for text in ("layer 1: ", "layer 2: ", "layer 3: ", "16 neurons · relu", "1 neuron · linear",
                 "×100 calls", "relu", "+ (×100)", "+ (×6)"):
        assert text in joined, text
    # the path loss -> data_loss -> ... keeps its own nodes, data and grad
    for v in (loss, data_loss, reg_loss):
        assert f"data {v.data:.4f}" in joined
    assert "grad 1.0000" in joined
    # each call's tail (-y * score, 1 + ..., relu) is drawn once for all calls, with an op oval
    source = without_tooltips(draw_dot(loss, collapse="layer", notation="plain").source)
    assert source.count("×100 calls") == 4 + 5  # 4 layer groups; 2 constants and 3 tail values
    assert source.count("label=relu") == 1 and source.count('label="*"') == 1 + 1 + 1 + 6


def test_literal_micrograd_step_collapses_per_neuron_too():
    loss, _, _ = micrograd_step(20)
    source = draw_dot(loss, collapse="neuron", notation="plain").source
    assert "×20 calls" in source and "+ (×20)" in source
    assert len(drawn_nodes(source)) < 120


def test_calls_with_different_tails_are_not_merged():
    model = MLP(2, [3, 1], seed=0)
    outs = [model([float(i), 1.0]) for i in range(4)]
    # two calls end in relu, two in tanh: not the same structure, so nothing is merged
    losses = [(1 - o).relu() if i < 2 else (1 - o).tanh() for i, o in enumerate(outs)]
    total = sum(losses)
    source = draw_dot(total, collapse="layer", notation="plain").source
    assert source.count("×4 calls") == 3  # the layer groups only
    assert source.count("label=relu") == 2 and source.count("label=tanh") == 2
    assert source.count('label="-"') == 4  # every call's 1 - score still drawn
    assert "+ (×4)" in source  # the sum is still one node: each link adds one term
    values = [f"data {v.data:.4f}" for v in losses]
    assert all(v in source for v in values)


def test_merged_tails_with_hidden_constants():
    model = MLP(2, [3, 1], seed=0)
    losses = [(1 + -float(y) * model([float(i), 1.0])).relu()
              for i, y in enumerate([1, -1, 1])]
    source = draw_dot(sum(losses), collapse="layer", notation="plain",
                      hide_constants=True).source
    assert "×3 calls" in source and "+ (×3)" in source
    # -y changes from call to call: one oval cannot show it, so it says so
    assert 'label="* (constant per call)"' in source and 'label="1.0000 +"' in source


def test_a_short_sum_is_drawn_node_by_node():
    model = MLP(2, [3, 1], seed=0)
    total = model([1.0, 2.0]) + model([2.0, 1.0])  # one link: nothing to merge
    source = draw_dot(total, collapse="layer", notation="plain").source
    assert "(×" not in source and 'label="+"' in source


def test_several_calls_number_their_neuron_nodes():
    model = MLP(2, [3, 1], seed=0)
    total = model([1.0, 2.0]) + model([2.0, 1.0])
    total.backward()
    source = draw_dot(total, notation="plain").source
    for name in ("z(1)_3 (call 1)", "a(1)_2 (call 2)", "z(2)_1 (call 2)"):
        assert name in source, name
    assert "x_1 (call" not in source  # inputs sit in their call's cluster already
    # the calls share the weight and bias nodes (the model makes them once per parameter
    # version): each is drawn once, outside the calls' clusters, with dL/dw for both calls
    assert "w(1)_21 (call" not in source and "b(2)_1 (call" not in source
    assert source.count("w(1)_21 |") == 1 and source.count("b(2)_1 |") == 1
    W = model.layers[0].W
    assert f"w(1)_21 | data {W.data[1, 0]:.4f} | grad {W.grad[1, 0]:.4f}" in source
    [line] = [line for line in source.splitlines() if "w(1)_21 |" in line]
    assert line.startswith("\tv")  # at the top level of the graph: in no call's cluster
    [line] = [line for line in source.splitlines() if "z(1)_3 (call 1) |" in line]
    assert line.startswith("\t\t")  # (while a call's own nodes are inside its cluster)
    assert '<FONT POINT-SIZE="10"> (call 2)</FONT>' in draw_dot(total).source
    single = draw_dot(small_mlp(), notation="plain").source  # one call: labels as before
    assert "(call" not in single and "w(1)_21 |" in single


@needs_dot
def test_several_calls_keep_their_order_around_shared_weights():
    # the weights the calls share are outside their clusters; they must not pull the calls'
    # neurons out of order (call 1: neurons 1, 2, 3, then call 2: neurons 1, 2, 3, top down)
    model = MLP(2, [3, 1], seed=0)
    total = model([1.0, 2.0]) + model([2.0, 1.0])
    total.backward()
    svg = draw_dot(total).pipe(format="svg").decode()
    titles = re.findall(r'<text[^>]*y="([-\d.]+)"[^>]*>layer 1 · neuron (\d) · call (\d)</text>', svg)
    assert len(titles) == 6
    order = [(int(k), int(j)) for _, j, k in sorted(titles, key=lambda t: float(t[0]))]
    assert order == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]


# --------------------------------------------------------------------------- options
@needs_dot
def test_color_by_grad_fills_by_sign_and_magnitude_with_a_legend():
    x = Value(3.0, label="x")
    y = x * -400.0
    y.label = "y"
    z = y * 0.5 + x * 1e-6
    z.label = "z"
    z.backward()
    dot = draw_dot(z, color_by_grad=True)
    shown = " ".join(texts(dot))
    assert "vanishing" in shown and "exploding" in shown and "nan / inf" in shown
    from tinygrad_mlp.viz.colors import grad_color

    assert grad_color(z.grad)[0] == "#2166ac"  # +1: blue
    assert grad_color(x.grad)[0] == "#67001f"  # about -200: dark red, exploding
    assert 'BGCOLOR="#2166ac"' in dot.source and 'BGCOLOR="#67001f"' in dot.source
    assert 'fill="#2166ac"' in dot.pipe(format="svg").decode()


def test_highlight_and_hide_constants():
    x = Value(3.0, label="x")
    y = 2 * x + 1
    y.label = "y"
    source = draw_dot(y, highlight=[x], hide_constants=True, notation="plain").source
    assert 'penwidth=4' in source and source.count("penwidth=4") == 1
    assert "data 2.0000" not in source and "data 1.0000" not in source  # the constants are gone
    assert 'label="2.0000 *"' in source and 'label="+ 1.0000"' in source  # each on its side
    shown = draw_dot(y, notation="plain").source
    assert "data 2.0000" in shown


def test_tensor_graph_shows_shapes_and_previews():
    x = Value(np.arange(4.0).reshape(2, 2), label="X", requires_grad=False)
    layer = Layer(2, 4, activation="relu", seed=0)
    out = layer(x).sum()
    out.backward()
    source = draw_dot(out, notation="plain").source
    assert "(2, 2)" in source and "(2, 4)" in source and "(4, 2)" in source
    assert "linear" in source and "relu" in source and "sum" in source
    assert "[[0.0000, 1.0000], [2.0000, 3.0000]]" in source
    assert "‖·‖=" in source


def test_a_list_of_outputs_can_be_drawn():
    outs = Layer(2, 3, seed=0)([1.0, 2.0])
    source = draw_dot(outs, notation="plain").source
    for j in (1, 2, 3):
        assert f"a(1)_{j}" in source


def test_students_function_shows_its_symbol_or_class_name():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_values
            return 3 * x ** 2 * grad

    class Sin(Cube):
        symbol = "sin"

    source = draw_dot(Sin.apply(Cube.apply(Value(1.0))), notation="plain").source
    assert 'label=Cube' in source and 'label=sin' in source


@needs_dot
@pytest.mark.parametrize("notation", ["html", "unicode", "plain"])
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_hostile_labels_are_shown_as_text(notation, rankdir):
    class Evil(Function):
        symbol = "<i>&op\\N"

        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * 2

    hostile = ['<b>&"x\'', "]}{|", "a\\Nb", "<<x>>", "\\", '"']
    total = Value(0.0, label="start")
    for i, name in enumerate(hostile):
        total = total + Value(float(i), label=name)
    out = Evil.apply(total)
    out.label = "<out>"
    out.backward()
    dot = draw_dot(out, notation=notation, rankdir=rankdir, title='<title>&"', color_by_grad=True)
    shown = texts(dot)  # the render succeeds and the SVG carries the very text
    for name in hostile + ["<i>&op\\N", "<out>", '<title>&"']:
        assert name in shown, name


# --------------------------------------------------------------------------- limits, errors
def chain(n: int) -> Value:
    x = Value(1.0, label="x")
    for _ in range(n):
        x = x + 1.0
    return x


def test_large_graphs_warn_and_huge_ones_need_force():
    with pytest.warns(LargeGraphWarning, match="collapse"):
        draw_dot(chain(WARN_NODES // 3 + 10))
    with pytest.raises(GraphTooLargeError, match="collapse='neuron'.*force=True"):
        draw_dot(chain(MAX_NODES // 3 + 10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LargeGraphWarning)
        assert draw_dot(chain(MAX_NODES // 3 + 10), force=True).source.count(" -> ") > MAX_NODES
    # hiding the constants brings it under the limit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LargeGraphWarning)
        draw_dot(chain(MAX_NODES // 3 + 10), hide_constants=True)


def test_the_scalar_graph_of_a_demo_sized_mlp_asks_for_collapse():
    y = MLP(2, [16, 16, 1], seed=0)([0.5, -1.0])
    with pytest.warns(LargeGraphWarning):
        draw_dot(y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning when collapsed
        draw_dot(y, collapse="layer")


@pytest.mark.parametrize("kwargs, match", [
    ({"notation": "latex"}, "notation"),
    ({"rankdir": "XY"}, "rankdir"),
    ({"collapse": "model"}, "collapse"),
    ({"bias": "w1"}, "bias"),
    ({"precision": -1}, "precision"),
])
def test_bad_options_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        draw_dot(expression(), **kwargs)


def test_only_values_can_be_drawn():
    with pytest.raises(TypeError, match="draw a Value"):
        draw_dot(3.0)
    with pytest.raises(TypeError, match="highlight"):
        draw_dot(expression(), highlight=["a"])


def test_hidden_constants_keep_their_side_and_exponents_show():
    x = Value(3.0, label="x")
    labels = {}
    for name, e in {"x-2": x - 2, "2-x": 2 - x, "x/2": x / 2, "2/x": 2 / x, "2**x": 2 ** x}.items():
        labels[name] = draw_dot(e, hide_constants=True, notation="plain").source
    assert 'label="- 2.0000"' in labels["x-2"] and 'label="2.0000 -"' in labels["2-x"]
    assert 'label="/ 2.0000"' in labels["x/2"] and 'label="2.0000 /"' in labels["2/x"]
    assert 'label="2.0000 **"' in labels["2**x"]
    assert 'label="**2"' in draw_dot(x ** 2, notation="plain").source


# --------------------------------------------------------------------------- tooltips
XLINK = "{http://www.w3.org/1999/xlink}"
_INTERNAL_ID = re.compile(r"^(%\d+|[a-z]+\d+\w*|cluster_\w+|.*->.*)$")


def hover_texts(root: ET.Element) -> dict[str, list[str]]:
    """What a browser shows on hovering each drawn graph, node, edge and cluster, by class.

    The innermost title wins: an ``<a xlink:title>`` (from a ``tooltip``) inside the group,
    else the group's own ``<title>`` (Graphviz writes the internal name there).
    """
    out: dict[str, list[str]] = {}
    for g in root.iter(f"{SVG}g"):
        kind = g.get("class")
        if kind not in ("graph", "node", "edge", "cluster"):
            continue
        anchor = next(g.iter(f"{SVG}a"), None)
        title = g.find(f"{SVG}title")
        text = anchor.get(f"{XLINK}title") if anchor is not None else (
            title.text if title is not None else "")
        out.setdefault(kind, []).append(text or "")
    return out


@needs_dot
@pytest.mark.parametrize("options", [{}, {"notation": "unicode"}, {"collapse": "neuron"},
                                     {"collapse": "layer"}, {"bias": "w0"},
                                     {"color_by_grad": True}])
def test_tooltips_say_what_a_node_is_never_an_internal_id(options):
    y = MLP(2, [3, 1], seed=0)([0.5, -1.0])
    y.backward()
    shown = hover_texts(svg_of(draw_dot(y, **options)))
    assert set(shown) == {"graph", "node", "edge", "cluster"} - (
        {"cluster"} if options.get("collapse") else set())
    for kind, texts_ in shown.items():
        for text in texts_:
            assert text.strip() == "" and kind == "graph" or not _INTERNAL_ID.match(text), (kind, text)
            assert text, kind  # an empty tooltip would let the internal <title> show


@needs_dot
def test_tooltips_of_a_model_graph_name_values_in_the_notation():
    y = MLP(2, [3, 1], seed=0)([0.5, -1.0])
    y.backward()
    w = next(n for n in y.graph() if n.role == "weight" and n.index == (1, 2, 1))
    shown = hover_texts(svg_of(draw_dot(y, title="one sample")))
    assert f"w⁽¹⁾₂₁ = {w.data:.4f}, grad {w.grad:.4f}" in shown["node"]
    assert "x₁ = 0.5000 (no gradient)" in shown["node"]
    assert f"*: w⁽¹⁾₂₁·x₁ = {w.data * 0.5:.4f}" in shown["node"]
    assert "x₁ → *" in shown["edge"] and "+ → z⁽¹⁾₂" in shown["edge"]
    assert "layer 1 · neuron 2" in shown["cluster"] and "inputs" in shown["cluster"]
    assert shown["graph"] == ["one sample"]
    y.label = "ŷ"  # the user's label, in the tooltip too
    assert any(t.startswith("ŷ = ") for t in hover_texts(svg_of(draw_dot(y)))["node"])


@needs_dot
def test_tooltip_of_an_expression_writes_out_unnamed_values():
    x = Value(2.0, label="x")
    y = (x * x - 1).tanh()
    y.backward()
    shown = hover_texts(svg_of(draw_dot(y)))
    assert f"x·x = 4.0000, grad {1 - y.data ** 2:.4f}" in shown["node"]
    assert "constant = 1.0000 (no gradient)" in shown["node"]
    assert any(t.startswith("tanh(x·x - 1) = ") for t in shown["node"])
    assert shown["graph"] == [" "]


@needs_dot
def test_tensor_graphs_name_parameters_in_the_notation():
    model = MLP(2, [3, 1], seed=0)
    out = model(np.ones((4, 2))).sum()
    out.backward()
    for notation, names in (("unicode", ("W⁽¹⁾", "b⁽¹⁾", "W⁽²⁾", "b⁽²⁾")),
                            ("plain", ("W(1)", "b(1)", "W(2)", "b(2)"))):
        shown = texts(draw_dot(out, notation=notation))
        for name in names:
            assert name in shown, (notation, name)
        assert "W1" not in shown and "b1" not in shown
    html = draw_dot(out).source
    assert '<I>W</I><FONT POINT-SIZE="11"><SUP>(1)</SUP></FONT>' in html
    model.layers[0].W.label = "weights"  # a user's label wins here too
    assert "weights" in texts(draw_dot(model(np.ones((4, 2))).sum(), notation="unicode"))


@needs_dot
def test_many_weights_stay_beside_their_products_without_a_cluster_each(monkeypatch):
    import tinygrad_mlp.viz.computation as computation

    y = MLP(2, [3, 1], seed=0)([0.5, -1.0])
    few = draw_dot(y).source
    assert few.count("peripheries=0") == 2 * 3 + 3  # one invisible cluster per weight
    monkeypatch.setattr(computation, "PAIR_CLUSTERS", 4)  # as if the model were large
    dot = draw_dot(y)
    assert "peripheries=0" not in dot.source
    pos, ids = positions(dot), scalar_ids(y)
    for w in (n for n in y.graph() if n.role == "weight" and n.ndim == 0):
        (product,) = [c for c in y.graph() if w in c.parents]
        assert pos[ids[w]][0] == pytest.approx(pos[f"o{ids[product][1:]}"][0])  # same rank


def neuron_terms(y, bias: str) -> dict[tuple, list[str]]:
    """Per neuron, the drawn ids of its bias and products, in the order they enter its sum."""
    from tinygrad_mlp.viz.structure import analyze

    graph = y.graph()
    owner = analyze(graph).owner
    ids = {n: f"v{i}" for i, n in enumerate(graph)}
    out: dict[tuple, list[tuple]] = {}
    for n in graph:
        is_product = n.op == "*" and any(p.role == "weight" for p in n.parents)
        if not (is_product or n.role == "bias" and n.ndim == 0):
            continue
        (total,) = [c for c in graph if n in c.parents]
        neuron = owner[n]
        drawn = f"p{ids[n][1:]}" if n.role == "bias" and bias == "w0" else ids[n]
        out.setdefault(neuron, []).append((graph.index(total), total.parents.index(n), drawn))
    return {k: [d for *_, d in sorted(v)] for k, v in out.items()}


def across(pos: dict, rankdir: str):
    """Sort key along a rank: top to bottom in LR, left to right in TB."""
    return (lambda i: -pos[i][1]) if rankdir == "LR" else (lambda i: pos[i][0])


def neuron_and_mlp():
    from tinygrad_mlp import Neuron

    y1 = Neuron(2, activation="tanh", seed=0)([1.5, -0.5])
    y2 = MLP(2, [3, 1], seed=0)([0.5, -1.0])
    for y in (y1, y2):
        y.backward()
    return [y1, y2]


@needs_dot
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_bias_w0_puts_x0_and_its_product_first(rankdir):
    for y in neuron_and_mlp():
        pos = positions(draw_dot(y, bias="w0", rankdir=rankdir))
        key = across(pos, rankdir)
        ids = scalar_ids(y)
        inputs = ["x0_l1_0"] + [ids[n] for n in sorted((n for n in y.graph()
                                                          if n.role == "input"),
                                                         key=lambda n: n.index)]
        assert sorted(inputs, key=key) == inputs  # x0, x1, x2
        for neuron, terms in neuron_terms(y, "w0").items():
            assert terms[0].startswith("p")  # w_j0·x_0 enters the sum first...
            assert sorted(terms, key=key) == terms, neuron  # ...and is drawn first
        if len(y.graph()) > 20:  # the MLP: a^(1)_0 = 1 above (left of) a^(1)_1
            a1 = next(n for n in y.graph() if n.role == "activation" and n.index == (1, 1))
            assert key("x0_l2_0") < key(ids[a1])


@needs_dot
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_terms_are_stacked_as_they_enter_the_sum_so_no_arrows_cross(rankdir):
    for y in neuron_and_mlp():
        pos = positions(draw_dot(y, rankdir=rankdir))
        key = across(pos, rankdir)
        for neuron, terms in neuron_terms(y, "b").items():
            drawn = sorted(terms, key=key)
            # the first + adds the first two terms (in either order, side by side), each
            # later + one more: its arrow never crosses another on the way into the chain
            assert set(drawn[:2]) == set(terms[:2]) and drawn[2:] == terms[2:], neuron


@needs_dot
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_collapsed_column_headings_are_on_one_level(rankdir):
    wide = MLP(2, [16, 16, 1], seed=0)([0.5, -1.0])
    deep = MLP(2, [3, 3, 3, 3, 3, 1], activation="sigmoid", seed=1)([3.0, -2.0])
    deep = (deep - 1.0) * (deep - 1.0)
    for y in (wide, deep):
        y.backward()
        pos = positions(draw_dot(y, collapse="neuron", color_by_grad=True, rankdir=rankdir))
        heads = [pos[h] for h in sorted(h for h in pos if re.fullmatch(r"h\d+", h))]
        assert len(heads) >= 4  # inputs, layer 1, layer 2, layer 3...
        level = [p[1] if rankdir == "LR" else p[0] for p in heads]
        assert max(level) - min(level) < 0.01, level  # inches


@needs_dot
def test_tooltips_and_captions_name_an_unnamed_node_alike():
    from tinygrad_mlp.viz import backward_frames

    y = MLP(2, [3, 1], seed=0)([0.5, -1.0])
    y.backward()
    partial = y.parents[0]  # b⁽²⁾₁ + w⁽²⁾₁₁·a⁽¹⁾₁ + w⁽²⁾₁₂·a⁽¹⁾₂, unnamed
    name = "b⁽²⁾₁ + w⁽²⁾₁₁·a⁽¹⁾₁ + w⁽²⁾₁₂·a⁽¹⁾₂"
    shown = hover_texts(svg_of(draw_dot(y)))
    assert f"{name} = {partial.data:.4f}, grad {partial.grad:.4f}" in shown["node"]
    assert f"+: {name} = {partial.data:.4f}" in shown["node"]
    frame = next(f for f in backward_frames(y) if f.node is partial)
    assert f"∂z⁽²⁾₁/∂({name}) = " in frame.caption

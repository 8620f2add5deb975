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
        \tgraph [rankdir=LR]
        \tnode [fontsize=14]
        \tv0 [label="{ a | data 2.0000 | grad -3.0000 }" shape=record]
        \tv1 [label="{ b | data -3.0000 | grad 2.0000 }" shape=record]
        \tv2 [label="{ e | data -6.0000 | grad 1.0000 }" shape=record]
        \to2 [label="*" height=0.4 margin="0.05,0.03" shape=ellipse width=0.4]
        \tv3 [label="{ c | data 10.0000 | grad 1.0000 }" shape=record]
        \tv4 [label="{ d | data 4.0000 | grad 1.0000 }" shape=record]
        \to4 [label="+" height=0.4 margin="0.05,0.03" shape=ellipse width=0.4]
        \to2 -> v2
        \to4 -> v4
        \tv0 -> o2
        \tv1 -> o2
        \tv2 -> o4
        \tv3 -> o4
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
    weight = next(n for n in y.graph() if n.role == "weight" and n.index == (1, 2, 1))
    weight.label = "misleading"  # the notation comes from role/index, never from label text
    shown = texts(draw_dot(y, notation="unicode"))
    joined = " ".join(shown)
    for sym in ("w⁽¹⁾₂₁", "w⁽¹⁾₃₂", "w⁽²⁾₁₃", "b⁽¹⁾₂", "b⁽²⁾₁", "z⁽¹⁾₃", "a⁽¹⁾₁", "z⁽²⁾₁", "x₁", "x₂"):
        assert sym in shown, sym
    assert "misleading" not in joined
    assert f"data {y.data:.4f}" in joined
    # the layer tensors W, b and their indexing ops are hidden in the model-aware drawing
    assert "W1" not in shown and "[]" not in shown


@needs_dot
def test_html_notation_draws_scripts_in_a_smaller_font():
    y = small_mlp()
    dot = draw_dot(y)
    assert '<FONT POINT-SIZE="9"><SUP>(1)</SUP></FONT><FONT POINT-SIZE="9"><SUB>21</SUB></FONT>' in dot.source
    root = svg_of(dot)
    small = [t.text for t in root.iter(f"{SVG}text") if t.get("font-size") == "9.00"]
    assert "(1)" in small and "(2)" in small and "21" in small and "13" in small


def test_model_aware_can_be_turned_off():
    y = small_mlp()
    source = draw_dot(y, model_aware=False, notation="plain").source
    assert '"[]"' in source and "W1" in source and "cluster" not in source


def test_clusters_per_layer_and_neuron():
    source = draw_dot(small_mlp()).source
    for name in ("cluster_in_0", "cluster_l1_0", "cluster_l1_n1_0", "cluster_l1_n3_0", "cluster_l2_n1_0"):
        assert f"subgraph {name} " in source, name
    # a neuron's cluster sits inside its layer's
    layer = source.index("subgraph cluster_l1_0 ")
    assert layer < source.index("subgraph cluster_l1_n2_0 ") < source.index("subgraph cluster_l2_0 ")


@needs_dot
@pytest.mark.parametrize("rankdir", ["LR", "TB"])
def test_inputs_come_before_layer_1(rankdir):
    y = small_mlp()
    dot = draw_dot(y, rankdir=rankdir, notation="plain")
    assert "cluster_in_0" in dot.source  # the inputs keep their cluster
    ids = {n: f"v{i}" for i, n in enumerate(y.graph())}
    pos = {}
    for line in dot.pipe(format="plain").decode().splitlines():
        parts = line.split()
        if parts[0] == "node":
            pos[parts[1]] = (float(parts[2]), float(parts[3]))
    inputs = [pos[ids[n]] for n in y.graph() if n.role == "input"]
    weights = [pos[ids[n]] for n in y.graph() if n.role == "weight" and n.index[0] == 1]
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
    assert re.findall(r"^\tg\d+ -> g\d+$", per_layer.source, re.M) == ["\tg2 -> g1", "\tg1 -> g0"]
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
    assert "layer 1 · call 5" in full  # uncollapsed: one cluster per call


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
    source = draw_dot(loss, collapse="layer", notation="plain").source
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
    source = draw_dot(total, notation="plain").source
    for name in ("w(1)_21 (call 1)", "w(1)_21 (call 2)", "b(2)_1 (call 2)", "z(1)_3 (call 1)",
                 "a(1)_2 (call 2)"):
        assert name in source, name
    assert "x_1 (call" not in source  # inputs sit in their call's cluster already
    assert "w(2)_10 (call 2)" in draw_dot(total, notation="plain", bias="w0").source
    assert '<FONT POINT-SIZE="10"> (call 2)</FONT>' in draw_dot(total).source
    single = draw_dot(small_mlp(), notation="plain").source  # one call: labels as before
    assert "(call" not in single and "w(1)_21 |" in single


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

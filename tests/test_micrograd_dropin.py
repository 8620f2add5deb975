"""``tinygrad_mlp.micrograd``: micrograd's programs run with only their imports changed.

The programs below are micrograd's own: the training loop of its ``demo.ipynb`` and the
graph-tracing code of its ``trace_graph.ipynb`` and of the lecture.  Each is kept as source
text and run twice, once as written and once with ``from micrograd.`` replaced by
``from tinygrad_mlp.micrograd.``; the comparisons with micrograd itself skip when it is not
installed (``pip install micrograd``).
"""

from __future__ import annotations

import random
import re
import textwrap
from collections import Counter

import numpy as np
import pytest

import tinygrad_mlp
from tinygrad_mlp.micrograd import MLP, Layer, Module, Neuron, Value

# --------------------------------------------------------------------------- micrograd's code
DEMO = textwrap.dedent("""
    import random
    import numpy as np
    from micrograd.engine import Value
    from micrograd.nn import Neuron, Layer, MLP

    np.random.seed(1337)
    random.seed(1337)
    X, y = make_moons(n_samples=100, noise=0.1)
    y = y*2 - 1 # make y be -1 or 1

    model = MLP(2, [16, 16, 1]) # 2-layer neural network

    def loss(batch_size=None):
        # inline DataLoader :)
        if batch_size is None:
            Xb, yb = X, y
        else:
            ri = np.random.permutation(X.shape[0])[:batch_size]
            Xb, yb = X[ri], y[ri]
        inputs = [list(map(Value, xrow)) for xrow in Xb]

        # forward the model to get scores
        scores = list(map(model, inputs))

        # svm "max-margin" loss
        losses = [(1 + -yi*scorei).relu() for yi, scorei in zip(yb, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        # L2 regularization
        alpha = 1e-4
        reg_loss = alpha * sum((p*p for p in model.parameters()))
        total_loss = data_loss + reg_loss

        # also get accuracy
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    for k in range(STEPS):

        # forward
        total_loss, acc = loss()

        # backward
        model.zero_grad()
        total_loss.backward()

        record(k, total_loss, acc, model)  # (not micrograd's: what the test compares)

        # update (sgd)
        learning_rate = 1.0 - 0.9*k/100
        for p in model.parameters():
            p.data -= learning_rate * p.grad

        if k % 1 == 0:
            print(f"step {k} loss {total_loss.data}, accuracy {acc*100}%")
""")

TRACE_GRAPH = textwrap.dedent('''
    from graphviz import Digraph

    def trace(root):
        nodes, edges = set(), set()
        def build(v):
            if v not in nodes:
                nodes.add(v)
                for child in v._prev:
                    edges.add((child, v))
                    build(child)
        build(root)
        return nodes, edges

    def draw_dot(root, format='svg', rankdir='LR'):
        """
        format: png | svg | ...
        rankdir: TB (top to bottom graph) | LR (left to right)
        """
        assert rankdir in ['LR', 'TB']
        nodes, edges = trace(root)
        dot = Digraph(format=format, graph_attr={'rankdir': rankdir}) #, node_attr={'rankdir': 'TB'})

        for n in nodes:
            dot.node(name=str(id(n)), label = "{ data %.4f | grad %.4f }" % (n.data, n.grad), shape='record')
            if n._op:
                dot.node(name=str(id(n)) + n._op, label=n._op)
                dot.edge(str(id(n)) + n._op, str(id(n)))

        for n1, n2 in edges:
            dot.edge(str(id(n1)), str(id(n2)) + n2._op)

        return dot
''')

EXPRESSION = textwrap.dedent("""
    from micrograd import nn
    from micrograd.engine import Value

    # a very simple example
    x = Value(1.0)
    y = (x * 2 + 1).relu()
    small_before = draw_dot(y)
    y.backward()
    small = draw_dot(y)
    small_root = y

    # a simple 2D neuron
    random.seed(1337)
    n = nn.Neuron(2)
    x = [Value(1.0), Value(-2.0)]
    y = n(x)
    neuron_before = draw_dot(y)
    y.backward()
    neuron = draw_dot(y)
    neuron_root = y

    # powers and a division, which micrograd records as a * b**-1
    a, b = Value(-4.0), Value(2.0)
    q = (a * b + b**3).relu() + a / b
    q.backward()
    division = draw_dot(q)

    # the lecture's tanh, written out: micrograd records the - and the / with + * and **
    e = Value(5.8287)
    o = (e - 1) / (e + 1)
    tanh_before = draw_dot(o)
""")


def ours(source: str) -> str:
    """The same program with only the imports changed."""
    return source.replace("from micrograd", "from tinygrad_mlp.micrograd")


def make_moons(n_samples: int, noise: float):
    """scikit-learn's, as the demo imports it; this library's when scikit-learn is missing."""
    try:
        from sklearn.datasets import make_moons as sk_make_moons
    except ImportError:
        from tinygrad_mlp.data import make_moons as own

        return own(n_samples, noise=noise, random_state=np.random.randint(2**31))
    return sk_make_moons(n_samples=n_samples, noise=noise)


def run_demo(source: str, steps: int) -> list[dict]:
    """Run the demo for ``steps`` steps; each step's loss, accuracy, parameters and gradients."""
    rows: list[dict] = []

    def record(k, total_loss, acc, model):
        params = model.parameters()
        rows.append({"loss": total_loss.data, "acc": acc,
                     "data": np.array([float(p.data) for p in params]),
                     "grad": np.array([float(p.grad) for p in params])})

    env = {"STEPS": steps, "record": record, "make_moons": make_moons, "print": lambda *a: None}
    exec(compile(source, "<demo.ipynb>", "exec"), env)
    return rows


def run_expressions(source: str) -> dict:
    env: dict = {"random": random}
    exec(compile(TRACE_GRAPH, "<trace_graph.ipynb>", "exec"), env)
    exec(compile(source, "<trace_graph.ipynb>", "exec"), env)
    return env


def labels(dot) -> list[str]:
    """The node labels of a drawing made by the tracing code (ids differ from run to run)."""
    return sorted(re.search(r'label=("[^"]*"|[^\s\]]+)', line).group(1).strip('"')
                  for line in dot.body if "label=" in line)


@pytest.fixture(scope="module")
def micrograd():
    return pytest.importorskip("micrograd.nn")


# --------------------------------------------------------------------------- the layout
def test_the_value_is_this_librarys_own():
    a = Value(2.0)
    assert Value is tinygrad_mlp.Value
    assert type(a * 3 + a) is tinygrad_mlp.Value


def test_modules_have_micrograds_arguments_attributes_and_scalar_parameters():
    model = MLP(2, [16, 16, 1])
    params = model.parameters()
    assert len(params) == 337
    assert all(type(p) is Value and type(p.data) is float for p in params)
    assert [len(layer.neurons) for layer in model.layers] == [16, 16, 1]
    first = model.layers[0].neurons[0]
    assert len(first.w) == 2 and first.b.data == 0.0 and first.nonlin is True
    assert model.layers[-1].neurons[0].nonlin is False
    assert first.parameters() == first.w + [first.b]
    assert Neuron(3, nonlin=False).nonlin is False
    assert Layer(2, 4, nonlin=False).neurons[3].nonlin is False
    assert isinstance(model, Module) and Module().parameters() == []


def test_repr_is_micrograds():
    assert repr(MLP(2, [2, 1])) == ("MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2)], "
                                    "Layer of [LinearNeuron(2)]]")
    assert repr(Neuron(3, nonlin=False)) == "LinearNeuron(3)"


def test_initial_weights_are_random_uniform_in_micrograds_order():
    random.seed(7)
    expected = []
    for nin, nout in ((2, 3), (3, 1)):
        for _ in range(nout):
            expected += [random.uniform(-1, 1) for _ in range(nin)] + [0.0]
    random.seed(7)
    assert [p.data for p in MLP(2, [3, 1]).parameters()] == expected


def test_same_seed_same_network_as_micrograd(micrograd):
    random.seed(42)
    theirs = micrograd.MLP(2, [16, 16, 1])
    random.seed(42)
    mine = MLP(2, [16, 16, 1])
    assert repr(mine) == repr(theirs)
    assert [p.data for p in mine.parameters()] == [p.data for p in theirs.parameters()]


def test_call_returns_one_value_for_one_output_and_a_list_otherwise():
    x = [Value(1.0), Value(-2.0)]
    assert isinstance(MLP(2, [4, 1])(x), Value)
    assert len(Layer(2, 3)(x)) == 3


def test_zero_grad_clears_every_parameter():
    model = MLP(2, [3, 1])
    model([1.0, 2.0]).backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())


def test_wrong_number_of_inputs_is_named():
    with pytest.raises(ValueError, match=r"ReLUNeuron\(2\) takes 2 inputs, got 3"):
        MLP(2, [3, 1])([1.0, 2.0, 3.0])


# --------------------------------------------------------------------------- _prev and _op
@pytest.mark.parametrize("make, op, operands", [
    (lambda a, b: a + b, "+", 2),
    (lambda a, b: a * b, "*", 2),
    (lambda a, b: a ** 2, "**2", 1),
    (lambda a, b: a ** -1, "**-1", 1),
    (lambda a, b: a.relu(), "ReLU", 1),
    (lambda a, b: a.tanh(), "tanh", 1),
    (lambda a, b: a.exp(), "exp", 1),
    (lambda a, b: a + 1, "+", 2),  # the constant is an operand, as in micrograd
    (lambda a, b: a * a, "*", 1),  # a set: the same operand once
])
def test_prev_and_op_are_micrograds_names(make, op, operands):
    a, b = Value(2.0), Value(-3.0)
    v = make(a, b)
    assert v._op == op
    assert isinstance(v._prev, set) and len(v._prev) == operands
    assert v._prev == set(v.parents)
    assert a in v._prev


def test_prev_and_op_are_read_only_and_empty_on_a_leaf():
    a = Value(1.0)
    assert a._prev == set() and a._op == ""
    y = a + a
    with pytest.raises(AttributeError):
        y._prev = set()
    with pytest.raises(AttributeError):
        y._op = "*"


def test_lecture_tracing_code_draws_a_labelled_graph():
    # the lecture's own example, labels included (micrograd 0.1.0's Value has no label)
    env = run_expressions(textwrap.dedent("""
        from micrograd.engine import Value
        a = Value(2.0, label='a')
        b = Value(-3.0, label='b')
        c = Value(10.0, label='c')
        e = a*b; e.label = 'e'
        d = e + c; d.label = 'd'
        f = Value(-2.0, label='f')
        L = d * f; L.label = 'L'
        L.backward()
    """).replace("from micrograd", "from tinygrad_mlp.micrograd"))
    source = TRACE_GRAPH.replace('"{ data %.4f | grad %.4f }" % (n.data, n.grad)',
                                 '"{ %s | data %.4f | grad %.4f }" % (n.label, n.data, n.grad)')
    exec(compile(source, "<lecture>", "exec"), env)
    dot = env["draw_dot"](env["L"])
    assert "{ a | data 2.0000 | grad 6.0000 }" in labels(dot)
    assert "{ L | data -8.0000 | grad 1.0000 }" in labels(dot)
    assert labels(dot).count("*") == 2 and labels(dot).count("+") == 1
    assert sum("->" in line for line in dot.body) == 6 + 3  # operands to ops, ops to results


def test_tracing_code_draws_micrograds_graphs(micrograd):
    theirs, mine = run_expressions(EXPRESSION), run_expressions(ours(EXPRESSION))
    for name in ("small", "neuron"):
        # before backward: the same nodes, operations, data and edges
        assert labels(mine[f"{name}_before"]) == labels(theirs[f"{name}_before"]), name
        assert len(mine[f"{name}_before"].body) == len(theirs[f"{name}_before"].body), name
        # after: the same gradients, except on the numbers in the expression (the 2 and 1 of
        # x * 2 + 1), which are constants here, with no gradient, and leaves in micrograd
        extra = Counter(labels(mine[name])) - Counter(labels(theirs[name]))
        constants = [v for v in mine["trace"](mine[f"{name}_root"])[0] if not v.requires_grad]
        assert len(extra) <= len(constants)
        assert all(label.endswith("grad 0.0000 }") for label in extra.elements()), name


def test_division_is_one_node_here_and_two_in_micrograd(micrograd):
    theirs, mine = run_expressions(EXPRESSION), run_expressions(ours(EXPRESSION))
    assert "/" in labels(mine["division"]) and "/" not in labels(theirs["division"])
    assert labels(theirs["division"]).count("**-1") == 1
    assert len(mine["division"].body) < len(theirs["division"].body)
    # the docs page draws micrograd's graph by spelling the expression with + * and ** only
    spelled = run_expressions(ours(EXPRESSION).replace("(e - 1) / (e + 1)", "(e + -1) * (e + 1)**-1"))
    assert labels(spelled["tanh_before"]) == labels(theirs["tanh_before"])
    assert len(spelled["tanh_before"].body) == len(theirs["tanh_before"].body)
    assert labels(mine["tanh_before"]).count("/") == labels(mine["tanh_before"]).count("-") == 1
    # the numbers are the same: the output's data and the leaves' gradients
    for name in ("q", "a", "b"):
        assert mine[name].data == pytest.approx(theirs[name].data, rel=1e-12)
        assert mine[name].grad == pytest.approx(theirs[name].grad, rel=1e-12)


# --------------------------------------------------------------------------- the demo
def assert_same_steps(mine: list[dict], theirs: list[dict]) -> None:
    assert len(mine) == len(theirs)
    for k, (m, t) in enumerate(zip(mine, theirs)):
        assert m["acc"] == t["acc"], k
        np.testing.assert_allclose(m["loss"], t["loss"], rtol=1e-9, atol=0, err_msg=f"step {k}")
        np.testing.assert_allclose(m["data"], t["data"], rtol=1e-9, atol=0, err_msg=f"step {k}")
        np.testing.assert_allclose(m["grad"], t["grad"], rtol=1e-9, atol=0, err_msg=f"step {k}")


def test_demo_gives_micrograds_numbers_step_by_step(micrograd):
    theirs = run_demo(DEMO, steps=3)
    mine = run_demo(ours(DEMO), steps=3)
    assert_same_steps(mine, theirs)
    assert len(mine[0]["data"]) == 337


@pytest.mark.slow
def test_slow_demo_gives_micrograds_numbers_for_twelve_steps(micrograd):
    assert_same_steps(run_demo(ours(DEMO), steps=12), run_demo(DEMO, steps=12))


def test_demo_runs_and_learns_without_micrograd():
    rows = run_demo(ours(DEMO), steps=4)
    assert rows[-1]["loss"] < rows[0]["loss"] and rows[-1]["acc"] > rows[0]["acc"]


# --------------------------------------------------------------------------- this library's engine
def test_values_draw_with_the_librarys_visualizer():
    from tinygrad_mlp.viz import draw_dot

    random.seed(0)
    n = Neuron(2)
    y = n([Value(1.0, label="x1"), Value(-2.0, label="x2")])
    y.backward()
    source = draw_dot(y).source
    assert "x1" in source and "x2" in source
    assert "relu" in source.lower() and source.count("*") >= 2


def test_backward_handles_a_graph_a_million_nodes_deep():
    x = Value(0.5)
    y = x
    for _ in range(10**6):
        y = y.relu()
    y.backward()
    assert x.grad == 1.0
    assert y._op == "ReLU" and y._prev != set()

"""``Module``, ``Neuron``, ``Layer``, ``MLP`` and activations (``tinygrad_mlp.nn``).

The two call styles — a list of numbers builds the neuron-level scalar graph, an array runs
vectorized — must give the same outputs and gradients on the same parameters.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from tinygrad_mlp import Value
from tinygrad_mlp.functional import mse_loss
from tinygrad_mlp.nn import (
    ACTIVATIONS,
    MLP,
    Layer,
    Module,
    Neuron,
    get_activation,
    register_activation,
    stack,
)
from tinygrad_mlp.optim import SGD


def scalar_outputs(model, X: np.ndarray) -> Value:
    """The scalar call style over a data set, stacked into one tensor of shape (N, nout)."""
    outs = []
    for x in X.tolist():
        y = model(x)
        outs.append(stack(y) if isinstance(y, list) else stack([y]))
    return stack(outs)


def nodes_by_role(root: Value, role: str) -> list[Value]:
    # the scalar nodes only: a layer's W and b tensors are tagged with their role too
    return [v for v in root.graph() if v.role == role and v.ndim == 0]


# --------------------------------------------------------------------------- Module API
def test_named_parameters_use_plain_dotted_names():
    model = MLP(3, [4, 5, 2], seed=0)
    names = [n for n, _ in model.named_parameters()]
    assert names == ["layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b",
                     "layers.2.W", "layers.2.b"]
    params = dict(model.named_parameters())
    assert params["layers.1.W"] is model.layers[1].W
    assert params["layers.2.b"] is model.layers[2].b
    assert model.parameters() == [p for _, p in model.named_parameters()]


def test_custom_module_finds_nested_modules_lists_and_values():
    class Net(Module):
        def __init__(self):
            self.scale = Value(np.ones(2))
            self.encoder = Layer(2, 3, seed=0)
            self.heads = [Layer(3, 1, seed=1), Layer(3, 2, seed=2)]
            self._cache = Value(np.zeros(7))  # private: not a parameter
            self.note = "not a parameter"

        def forward(self, x):
            return self.heads[0](self.encoder(x * self.scale))

    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "encoder.W", "encoder.b", "heads.0.W", "heads.0.b", "heads.1.W", "heads.1.b"]
    assert len(net.parameters()) == 7
    assert net.num_parameters() == 2 + (6 + 3) + (3 + 1) + (6 + 2)
    assert net(np.ones((4, 2))).shape == (4, 1)
    text = repr(net)
    assert "(encoder): Layer(2 -> 3" in text and "(heads.1): Layer(3 -> 2" in text
    assert "23 parameters" in text


class MicrogradNeuron(Module):
    """A neuron written micrograd's way: one scalar Value per weight, held in a list."""

    def __init__(self, nin):
        self.w = [Value(0.1 * (i + 1)) for i in range(nin)]
        self.b = Value(0.0)
        self.extras = (Value(np.ones(2)), "not a parameter", 3)

    def forward(self, x):
        return sum((wi * xi for wi, xi in zip(self.w, x)), self.b)


def test_values_in_list_and_tuple_attributes_are_parameters():
    class Net(Module):
        def __init__(self):
            self.neurons = [MicrogradNeuron(2), MicrogradNeuron(2)]
            self.grid = [[Value(1.0), Value(2.0)], [Value(3.0)]]  # nested lists too
            self._hidden = [Value(9.0)]  # private: not a parameter

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == [
        "neurons.0.w.0", "neurons.0.w.1", "neurons.0.b", "neurons.0.extras.0",
        "neurons.1.w.0", "neurons.1.w.1", "neurons.1.b", "neurons.1.extras.0",
        "grid.0.0", "grid.0.1", "grid.1.0",
    ]
    assert net.parameters() == [p for _, p in net.named_parameters()]  # the fast path agrees
    assert net.neurons[1].w[1] is dict(net.named_parameters())["neurons.1.w.1"]
    assert net.num_parameters() == 2 * (2 + 1 + 2) + 3


def test_micrograd_style_module_trains_and_round_trips_its_state():
    n = MicrogradNeuron(3)
    assert [name for name, _ in n.named_parameters()] == ["w.0", "w.1", "w.2", "b", "extras.0"]
    out = n([1.0, 2.0, 3.0])
    out.backward()
    assert [w.grad for w in n.w] == [1.0, 2.0, 3.0]
    SGD(n.parameters(), lr=0.1).step()
    assert n.w[0].data == pytest.approx(0.0)  # 0.1 - 0.1 * 1.0: the optimizer saw it
    state = n.state_dict()
    assert state["w.2"].shape == () and state["w.2"] == pytest.approx(0.3 - 0.3)
    fresh = MicrogradNeuron(3)
    w0 = fresh.w[0]
    fresh.load_state_dict(state)
    assert fresh.w[0] is w0 and type(w0.data) is float  # loaded into the existing Values
    assert [w.data for w in fresh.w] == [w.data for w in n.w]
    assert fresh([1.0, 2.0, 3.0]).data == pytest.approx(n([1.0, 2.0, 3.0]).data)
    with pytest.raises(ValueError, match=r"missing keys: w\.1"):
        fresh.load_state_dict({k: v for k, v in state.items() if k != "w.1"})


def tied_mlp(seed=0) -> MLP:
    """MLP(3, [3, 3, 1]) whose second layer uses the first layer's W: one 3x3 parameter."""
    model = MLP(3, [3, 3, 1], seed=seed)
    model.layers[1].W = model.layers[0].W
    return model


class TiedAutoencoder(Module):
    """Two Layers of one shape sharing W, plus one shared Layer held in two attributes."""

    def __init__(self):
        self.enc = Layer(3, 3, seed=0)
        self.dec = Layer(3, 3, seed=1)
        self.dec.W = self.enc.W
        self.head = Layer(3, 1, seed=2)
        self.also_head = self.head  # the same module twice

    def forward(self, x):
        return self.head(self.dec(self.enc(x)))


def test_a_tied_parameter_is_listed_and_counted_once():
    model = tied_mlp()
    W = model.layers[0].W
    assert [n for n, _ in model.named_parameters()] == [
        "layers.0.W", "layers.0.b", "layers.1.b", "layers.2.W", "layers.2.b"]
    params = model.parameters()
    assert len(params) == 5 and sum(p is W for p in params) == 1
    assert params == [p for _, p in model.named_parameters()]
    assert model.num_parameters() == 9 + 3 + 3 + 3 + 1
    assert "19 parameters" in repr(model)

    net = TiedAutoencoder()
    assert [n for n, _ in net.named_parameters()] == ["enc.W", "enc.b", "dec.b", "head.W", "head.b"]
    assert net.parameters() == [p for _, p in net.named_parameters()]
    assert net.num_parameters() == (9 + 3) + 3 + (3 + 1)


def test_an_sgd_step_moves_a_tied_parameter_once():
    model = tied_mlp()
    W = model.layers[0].W
    W0 = W.data.copy()
    X = np.random.default_rng(0).normal(size=(8, 3))
    opt = SGD(model.parameters(), lr=0.1)
    opt.zero_grad()
    (model(X) ** 2).mean().backward()
    grad = W.grad.copy()  # the sum over both places W is used
    assert np.any(grad)
    opt.step()
    np.testing.assert_allclose(W.data, W0 - 0.1 * grad)  # not W0 - 0.2 * grad
    assert model.layers[1].W is W


def test_state_dict_keeps_every_name_of_a_tied_parameter_and_loads_back_tied():
    a = tied_mlp(seed=0)
    sd = a.state_dict()
    assert list(sd) == ["layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b",
                        "layers.2.W", "layers.2.b"]
    np.testing.assert_array_equal(sd["layers.0.W"], sd["layers.1.W"])
    b = tied_mlp(seed=1)
    W = b.layers[0].W
    b.load_state_dict(sd)
    assert b.layers[0].W is W and b.layers[1].W is W  # still tied, loaded in place
    np.testing.assert_array_equal(W.data, a.layers[0].W.data)
    X = np.random.default_rng(1).normal(size=(5, 3))
    np.testing.assert_array_equal(a(X).data, b(X).data)
    untied = MLP(3, [3, 3, 1], seed=1)  # the same names: loads, equal arrays, no tie made
    untied.load_state_dict(sd)
    assert untied.layers[1].W is not untied.layers[0].W
    np.testing.assert_array_equal(untied.layers[1].W.data, untied.layers[0].W.data)

    net = TiedAutoencoder()
    assert list(net.state_dict()) == ["enc.W", "enc.b", "dec.W", "dec.b", "head.W", "head.b",
                                      "also_head.W", "also_head.b"]
    other = TiedAutoencoder()
    other.enc.W.data[...] = 7.0
    other.load_state_dict(net.state_dict())
    assert other.dec.W is other.enc.W
    np.testing.assert_array_equal(other.enc.W.data, net.enc.W.data)


def test_load_state_dict_refuses_different_arrays_for_one_tied_parameter():
    model = tied_mlp()
    before = model.layers[0].W.data.copy()
    sd = MLP(3, [3, 3, 1], seed=5).state_dict()  # untied: layers.0.W != layers.1.W
    with pytest.raises(ValueError, match=r"layers\.0\.W and layers\.1\.W are one \(tied\) parameter"):
        model.load_state_dict(sd)
    np.testing.assert_array_equal(model.layers[0].W.data, before)  # nothing loaded


def test_zero_grad_train_and_eval_reach_tied_and_shared_parts():
    net = TiedAutoencoder()
    net(np.ones((2, 3))).sum().backward()
    net.zero_grad()
    assert not any(p.has_grad for p in net.parameters())
    net.eval()
    assert not any(m.training for m in (net, net.enc, net.dec, net.head))
    net.train()
    assert all(m.training for m in (net, net.enc, net.dec, net.head))


def test_one_walker_reads_module_attributes():
    # parameters, names, state, modes and the repr all come from nn._walk: no other
    # function of nn.py looks at a module's attributes itself
    import ast
    import inspect

    from tinygrad_mlp import nn

    tree = ast.parse(inspect.getsource(nn))
    readers = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "vars":
                    readers.add(fn.name)
    assert readers == {"_walk_into"}


def test_num_parameters_counts_weights_and_biases():
    assert MLP(2, [16, 16, 1]).num_parameters() == (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1)
    assert Layer(5, 3).num_parameters() == 18
    assert Neuron(4).num_parameters() == 5


def test_zero_grad_resets_every_parameter_gradient():
    model = MLP(2, [3, 1], seed=0)
    model(np.ones((4, 2))).sum().backward()
    assert any(np.any(p.grad != 0) for p in model.parameters())
    model.zero_grad()
    for p in model.parameters():
        assert p.grad.shape == p.shape
        assert not np.any(p.grad)


def test_train_and_eval_switch_every_submodule():
    model = MLP(2, [3, 3, 1], seed=0)
    assert model.training and all(layer.training for layer in model.layers)
    assert model.eval() is model
    assert not model.training and not any(layer.training for layer in model.layers)
    model.train()
    assert model.training and all(layer.training for layer in model.layers)
    model.train(False)
    assert not model.layers[2].training


def test_state_dict_is_a_copy_by_name():
    model = MLP(2, [3, 1], seed=0)
    sd = model.state_dict()
    assert list(sd) == ["layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b"]
    assert sd["layers.0.W"].shape == (3, 2) and sd["layers.1.b"].shape == (1,)
    sd["layers.0.W"][:] = 99.0
    assert not np.any(model.layers[0].W.data == 99.0)


def test_load_state_dict_round_trip():
    a, b = MLP(2, [4, 1], seed=0), MLP(2, [4, 1], seed=1)
    b_W = b.layers[0].W
    b.load_state_dict(a.state_dict())
    for (na, pa), (nb, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert na == nb
        np.testing.assert_array_equal(pa.data, pb.data)
    assert b.layers[0].W is b_W  # loaded into the existing parameters
    X = np.random.default_rng(0).normal(size=(5, 2))
    np.testing.assert_array_equal(a(X).data, b(X).data)


def test_load_state_dict_lists_every_problem_in_one_error_and_loads_nothing():
    model = MLP(2, [3, 1], seed=0)
    before = model.state_dict()
    bad = MLP(2, [3, 1], seed=1).state_dict()
    del bad["layers.1.b"]  # missing
    bad["layers.0.W"] = np.zeros((2, 3))  # wrong shape (transposed)
    bad["layers.2.W"] = np.zeros((1, 1))  # unexpected
    bad["layers.0.b"] = np.full(3, 7.0)  # fine on its own, but must not be loaded
    with pytest.raises(ValueError) as e:
        model.load_state_dict(bad)
    msg = str(e.value)
    assert "missing" in msg and "layers.1.b" in msg
    assert "unexpected" in msg and "layers.2.W" in msg
    assert "layers.0.W" in msg and "(2, 3)" in msg and "(3, 2)" in msg
    after = model.state_dict()
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])


def test_load_state_dict_refuses_non_numeric_arrays():
    model = Layer(2, 1, seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match="b"):
        model.load_state_dict({"W": np.ones((1, 2)), "b": np.array(["x"])})
    np.testing.assert_array_equal(model.W.data, before["W"])


@pytest.mark.parametrize(
    "bad",
    [np.ones((1, 2), dtype=complex), np.ones((1, 2), dtype="m8[s]"),
     np.ones((1, 2), dtype=bool), np.ones((1, 2), dtype=object), np.ones((1, 2), dtype="M8[D]")],
    ids=["complex", "timedelta", "bool", "object", "datetime"],
)
def test_load_state_dict_takes_only_integer_or_float_arrays(bad):
    model = Layer(2, 1, seed=0)
    before = model.state_dict()
    state = {"W": bad, "b": np.array([5.0])}
    with pytest.raises(ValueError) as e:
        model.load_state_dict(state)
    assert f"W: dtype {bad.dtype}" in str(e.value) and "integer or float" in str(e.value)
    np.testing.assert_array_equal(model.W.data, before["W"])
    np.testing.assert_array_equal(model.b.data, before["b"])  # all or nothing
    model.load_state_dict({"W": np.ones((1, 2), dtype=np.int32), "b": np.float32([2])})
    np.testing.assert_array_equal(model.W.data, [[1.0, 1.0]])


def test_load_state_dict_lists_shape_and_dtype_problems_together():
    model = MLP(2, [3, 1], seed=0)
    state = model.state_dict()
    state["layers.0.W"] = np.zeros((2, 3), dtype=complex)
    state["layers.1.b"] = np.array(["x"])
    del state["layers.0.b"]
    with pytest.raises(ValueError) as e:
        model.load_state_dict(state)
    msg = str(e.value)
    assert "missing keys: layers.0.b" in msg and "(2, 3)" in msg
    assert "layers.0.W: dtype complex128" in msg and "layers.1.b: dtype <U1" in msg


def test_load_state_dict_casts_into_the_model_dtype():
    model = MLP(2, [3, 1], dtype=np.float32, seed=0)
    model.load_state_dict(MLP(2, [3, 1], seed=1).state_dict())
    assert all(p.dtype == np.float32 for p in model.parameters())


def test_reprs_show_the_architecture():
    text = repr(MLP(2, [16, 16, 1], seed=0))
    assert "2 -> 16 relu -> 16 relu -> 1 linear" in text
    assert "337 parameters" in text
    assert repr(Layer(3, 4, activation="tanh")) == "Layer(3 -> 4, activation='tanh')"
    assert repr(Neuron(3, activation="sigmoid")) == "Neuron(3, activation='sigmoid')"


# --------------------------------------------------------------------------- shapes
def test_layer_owns_W_out_by_in_and_b_out():
    layer = Layer(5, 3)
    assert layer.W.shape == (3, 5) and layer.b.shape == (3,)
    assert (layer.nin, layer.nout) == (5, 3)
    np.testing.assert_array_equal(layer.b.data, 0.0)


def test_neuron_shapes_and_formula():
    n = Neuron(3, activation="tanh", seed=0)
    assert n.w.shape == (3,) and n.b.shape == (1,)
    n.b.data[0] = 0.25
    x = [0.5, -1.0, 2.0]
    expected = np.tanh(n.w.data @ np.array(x) + 0.25)
    assert n(x).item() == pytest.approx(expected, rel=1e-14)
    assert n(np.array(x)).item() == pytest.approx(expected, rel=1e-14)
    batch = n(np.array([x, x]))
    assert batch.shape == (2,)
    np.testing.assert_allclose(batch.data, expected, rtol=1e-14)


def test_mlp_shapes_and_micrograd_defaults():
    model = MLP(2, [16, 16, 1], seed=0)
    assert [layer.W.shape for layer in model.layers] == [(16, 2), (16, 16), (1, 16)]
    assert [layer.activation_name for layer in model.layers] == ["relu", "relu", "linear"]
    assert model.nin == 2 and model.nouts == [16, 16, 1]
    assert model.dtype == np.float64


def test_mlp_forward_is_relu_hidden_then_linear_output():
    model = MLP(3, [4, 2], seed=0)
    for layer in model.layers:
        layer.b.data[:] = np.arange(layer.nout) * 0.1 - 0.05
    X = np.random.default_rng(1).normal(size=(6, 3))
    h = np.maximum(X @ model.layers[0].W.data.T + model.layers[0].b.data, 0)
    out = h @ model.layers[1].W.data.T + model.layers[1].b.data
    np.testing.assert_allclose(model(X).data, out, rtol=1e-14)
    assert np.any(out < 0)  # the output layer is linear: negatives pass


def test_output_activation():
    model = MLP(2, [3, 1], activation="tanh", output_activation="sigmoid", seed=0)
    assert [layer.activation_name for layer in model.layers] == ["tanh", "sigmoid"]
    out = model(np.random.default_rng(0).normal(size=(10, 2)) * 10)
    assert np.all((out.data > 0) & (out.data < 1))


def test_per_layer_activations_with_arguments():
    model = MLP(3, [4, 4, 2], activation=[("leaky_relu", 0.3), "tanh", None], seed=0)
    assert [layer.activation_name for layer in model.layers] == ["leaky_relu", "tanh", "linear"]
    assert model.layers[0].activation_args == (0.3,) and model.layers[1].activation_args == ()
    assert model.activations == [("leaky_relu", 0.3), "tanh", "linear"]
    assert repr(model) == "MLP(3 -> 4 leaky_relu(0.3) -> 4 tanh -> 2 linear)  # 46 parameters"
    X = np.random.default_rng(1).normal(size=(6, 3))
    W, b = [layer.W.data for layer in model.layers], [layer.b.data for layer in model.layers]
    z = X @ W[0].T + b[0]
    h = np.tanh(np.where(z > 0, z, 0.3 * z) @ W[1].T + b[1])
    np.testing.assert_allclose(model(X).data, h @ W[2].T + b[2], rtol=1e-13)
    # the scalar style applies the same slope
    np.testing.assert_allclose([v.data for v in model(X[0].tolist())], model(X[:1]).data[0],
                               rtol=1e-13)


def test_per_hidden_layer_activations_take_the_output_activation():
    model = MLP(3, [4, 4, 1], activation=["tanh", "relu"], output_activation="sigmoid")
    assert model.activations == ["tanh", "relu", "sigmoid"]
    assert MLP(3, [4, 1], activation=("leaky_relu", 0.1)).activations == [
        ("leaky_relu", 0.1), "linear"]


@pytest.mark.parametrize("kwargs,error,words", [
    ({"activation": ["tanh"]}, ValueError, ["list of 1", "one per layer (3)"]),
    ({"activation": ["tanh", "tanh", "tanh"], "output_activation": "sigmoid"}, ValueError,
     ["not both"]),
    ({"activation": ["tanh", "nope", "tanh"]}, ValueError, ["activation[1]", "'nope'"]),
    ({"activation": ("leaky_relu", None)}, TypeError, ["activation argument 1 must be a number"]),
    ({"activation": ("relu", "relu", "linear")}, TypeError, ["one activation per layer as a list"]),
    ({"activation": ("leaky_relu", 0.1, 0.2)}, ValueError,
     ["'leaky_relu' does not take the arguments (0.1, 0.2)"]),
    ({"activation": ("tanh", 1.0)}, ValueError, ["'tanh' does not take the arguments"]),
    ({"activation": ()}, TypeError, ["a tuple (activation name, arguments...)"]),
])
def test_bad_activation_specs_are_refused_naming_the_argument(kwargs, error, words):
    with pytest.raises(error) as info:
        MLP(3, [4, 4, 1], **kwargs)
    for word in words:
        assert word in str(info.value)
    assert str(info.value).startswith("MLP")


def test_list_call_returns_one_value_for_one_output_and_a_list_otherwise():
    assert isinstance(MLP(2, [3, 1], seed=0)([1.0, 2.0]), Value)
    out = MLP(2, [3, 2], seed=0)([1.0, 2.0])
    assert isinstance(out, list) and len(out) == 2
    assert all(isinstance(v, Value) and v.shape == () for v in out)
    layer_out = Layer(2, 1, seed=0)([1.0, 2.0])
    assert isinstance(layer_out, list) and len(layer_out) == 1  # a Layer always gives a list


def test_mlp_with_a_one_neuron_hidden_layer_works_in_the_list_style():
    model = MLP(2, [1, 3], seed=0)  # micrograd's MLP raises TypeError here
    out = model([0.5, -1.5])
    assert isinstance(out, list) and len(out) == 3
    vec = model(np.array([[0.5, -1.5]]))
    np.testing.assert_allclose([v.item() for v in out], vec.data[0], rtol=1e-14)


def test_vectorized_call_shapes():
    model = MLP(3, [4, 2], seed=0)
    assert model(np.zeros((7, 3))).shape == (7, 2)
    assert model(np.zeros(3)).shape == (2,)
    assert model(Value(np.zeros((5, 3)), requires_grad=False)).shape == (5, 2)
    assert Layer(3, 4)(np.zeros((2, 3))).shape == (2, 4)
    assert model(np.zeros((0, 3))).shape == (0, 2)


def test_integer_inputs_are_cast_to_the_parameter_dtype():
    model = MLP(2, [3, 1], seed=0)
    out = model(np.array([[1, 2], [3, 4]]))
    np.testing.assert_allclose(out.data, model(np.array([[1.0, 2.0], [3.0, 4.0]])).data)
    assert out.dtype == np.float64


# --------------------------------------------------------------------------- activations
@pytest.mark.parametrize(
    "name,fn",
    [
        ("relu", lambda z: np.maximum(z, 0)),
        ("tanh", np.tanh),
        ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
        ("leaky_relu", lambda z: np.where(z > 0, z, 0.01 * z)),
        ("linear", lambda z: z),
        (None, lambda z: z),
    ],
)
def test_activations_by_name(name, fn):
    layer = Layer(3, 4, activation=name, seed=0)
    layer.b.data[:] = [0.1, -0.2, 0.3, -0.4]
    X = np.random.default_rng(0).normal(size=(8, 3)) * 2
    z = X @ layer.W.data.T + layer.b.data
    np.testing.assert_allclose(layer(X).data, fn(z), rtol=1e-13)
    np.testing.assert_allclose([v.item() for v in layer(X[0].tolist())], fn(z[0]), rtol=1e-13)
    assert layer.activation_name == (name or "linear")


def test_callable_activation():
    def cube(v):
        return v * v * v

    layer = Layer(2, 3, activation=cube, seed=0)
    assert layer.activation_name is None  # not registered: usable but not saveable
    X = np.array([[1.0, -2.0]])
    np.testing.assert_allclose(layer(X).data, (X @ layer.W.data.T) ** 3, rtol=1e-13)
    np.testing.assert_allclose([v.item() for v in layer([1.0, -2.0])], layer(X).data[0])


def test_a_registered_function_passed_as_callable_keeps_its_name():
    assert get_activation(Value.tanh)[0] == "tanh"
    assert Layer(2, 2, activation=Value.relu).activation_name == "relu"


def test_register_activation_makes_a_name_usable(restore_activations):
    def softsign(v):
        return v / (1 + v.abs())

    register_activation("softsign", softsign)
    layer = Layer(2, 3, activation="softsign", seed=0)
    assert layer.activation_name == "softsign"
    assert Layer(2, 3, activation=softsign).activation_name == "softsign"
    z = np.array([[1.0, 2.0]]) @ layer.W.data.T
    np.testing.assert_allclose(layer(np.array([[1.0, 2.0]])).data, z / (1 + np.abs(z)))
    model = MLP(2, [4, 1], activation="softsign", seed=0)
    assert model.layers[0].activation_name == "softsign"


def test_register_activation_rejects_bad_arguments(restore_activations):
    with pytest.raises(ValueError, match="name"):
        register_activation("", lambda v: v)
    with pytest.raises(TypeError, match="callable"):
        register_activation("nope", "relu")
    assert "nope" not in ACTIVATIONS


def test_unknown_activation_lists_the_valid_names():
    with pytest.raises(ValueError) as e:
        Layer(2, 3, activation="gelu")
    msg = str(e.value)
    assert "'gelu'" in msg
    for name in ("relu", "tanh", "sigmoid", "leaky_relu", "linear"):
        assert name in msg
    with pytest.raises(ValueError, match="gelu"):
        MLP(2, [3, 1], activation="gelu")
    with pytest.raises(TypeError, match="activation"):
        Layer(2, 3, activation=3)


# --------------------------------------------------------------------------- initialisation
def test_he_init_for_relu_and_leaky_relu():
    for act in ("relu", "leaky_relu"):
        W = Layer(400, 300, activation=act, seed=0).W.data
        assert W.std() == pytest.approx(np.sqrt(2 / 400), rel=0.03)
        assert abs(W.mean()) < 0.02 * W.std()
        assert np.abs(W).max() > 3 * W.std()  # Gaussian tails, not a uniform box


@pytest.mark.parametrize("act", ["tanh", "sigmoid", None])
def test_xavier_init_for_tanh_sigmoid_and_linear(act):
    W = Layer(400, 300, activation=act, seed=0).W.data
    limit = np.sqrt(6 / (400 + 300))
    assert np.abs(W).max() <= limit
    assert np.abs(W).max() > 0.99 * limit
    assert W.std() == pytest.approx(limit / np.sqrt(3), rel=0.03)


def test_uniform_init_on_request():
    model = MLP(50, [40, 30, 1], init="uniform", seed=0)
    W = np.concatenate([layer.W.data.ravel() for layer in model.layers])
    assert W.min() >= -1 and W.max() <= 1
    assert W.min() < -0.99 and W.max() > 0.99
    assert W.std() == pytest.approx(1 / np.sqrt(3), rel=0.05)
    with pytest.raises(ValueError, match="init"):
        Layer(2, 3, init="orthogonal")


def test_explicit_init_overrides_the_activation_default():
    W = Layer(400, 300, activation="tanh", init="he", seed=0).W.data
    assert W.std() == pytest.approx(np.sqrt(2 / 400), rel=0.03)


def test_biases_start_at_zero():
    for layer in MLP(3, [5, 2], seed=0).layers:
        np.testing.assert_array_equal(layer.b.data, 0.0)


def test_seed_and_generator_make_identical_models():
    def weights(m):
        return [p.data for p in m.parameters()]

    a = weights(MLP(2, [8, 8, 1], seed=42))
    b = weights(MLP(2, [8, 8, 1], seed=42))
    c = weights(MLP(2, [8, 8, 1], seed=np.random.default_rng(42)))
    d = weights(MLP(2, [8, 8, 1], seed=43))
    for x, y, z in zip(a, b, c):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, z)
    assert not np.array_equal(a[0], d[0])
    # the layers of one model get different weights from one seed
    layers = MLP(4, [4, 4, 4], seed=0).layers
    assert not np.array_equal(layers[1].W.data, layers[2].W.data)
    np.testing.assert_array_equal(Layer(3, 2, seed=5).W.data, Layer(3, 2, seed=5).W.data)
    np.testing.assert_array_equal(Neuron(3, seed=5).w.data, Neuron(3, seed=5).w.data)


def test_no_seed_gives_different_models():
    assert not np.array_equal(MLP(2, [8, 1]).layers[0].W.data, MLP(2, [8, 1]).layers[0].W.data)


# --------------------------------------------------------------------------- scalar graph
def test_scalar_graph_has_one_tagged_node_per_weight():
    model = MLP(2, [3, 2], seed=0)
    outs = model([0.5, -1.0])
    root = outs[0] + outs[1]
    weights = nodes_by_role(root, "weight")
    assert len(weights) == 2 * 3 + 3 * 2
    assert sorted(w.index for w in weights) == sorted(
        [(1, j, k) for j in (1, 2, 3) for k in (1, 2)] + [(2, j, k) for j in (1, 2) for k in (1, 2, 3)]
    )
    for w in weights:
        layer_no, j, k = w.index
        layer = model.layers[layer_no - 1]
        assert w.parents == (layer.W,)  # read out of the layer's W, not a copy
        assert w.data == layer.W.data[j - 1, k - 1]
    biases = nodes_by_role(root, "bias")
    assert sorted(b.index for b in biases) == [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2)]
    for b in biases:
        assert b.parents == (model.layers[b.index[0] - 1].b,)


def test_scalar_graph_tags_weighted_sums_and_activations():
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    out = model([0.5, -1.0])
    zs = {v.index: v for v in nodes_by_role(out, "z")}
    acts = {v.index: v for v in nodes_by_role(out, "activation")}
    assert sorted(zs) == [(1, 1), (1, 2), (1, 3), (2, 1)]
    assert sorted(acts) == [(1, 1), (1, 2), (1, 3)]  # the linear output has no activation node
    for index, a in acts.items():
        assert a.op == "tanh" and a.parents == (zs[index],)
    z = model.layers[0].W.data @ np.array([0.5, -1.0]) + model.layers[0].b.data
    for j in (1, 2, 3):
        assert zs[(1, j)].data == pytest.approx(z[j - 1], rel=1e-14)
        assert acts[(1, j)].data == pytest.approx(np.tanh(z[j - 1]), rel=1e-14)
    assert out is zs[(2, 1)]
    inputs = nodes_by_role(out, "input")
    assert sorted((v.index, v.data) for v in inputs) == [((0, 1), 0.5), ((0, 2), -1.0)]


def test_output_activation_node_is_tagged_in_the_last_layer():
    out = MLP(2, [2, 1], output_activation="sigmoid", seed=0)([1.0, 1.0])
    assert out.role == "activation" and out.index == (2, 1) and out.op == "sigmoid"


def test_neuron_scalar_graph_tags():
    n = Neuron(3, activation="relu", seed=0)
    out = n([1.0, 2.0, 3.0])
    assert sorted(w.index for w in nodes_by_role(out, "weight")) == [(1, 1, 1), (1, 1, 2),
                                                                      (1, 1, 3)]
    assert [b.index for b in nodes_by_role(out, "bias")] == [(1, 1)]


def test_scalar_inputs_may_be_values_and_get_gradients():
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    x1, x2 = Value(0.3), Value(-0.7)
    out = model([x1, x2])
    out.backward()
    xv = Value(np.array([0.3, -0.7]))
    model.zero_grad()
    model(xv).sum().backward()
    np.testing.assert_allclose([x1.grad, x2.grad], xv.grad, rtol=1e-12)


# --------------------------------------------------------------------------- both styles
@pytest.mark.parametrize(
    "nouts,act,out_act",
    [([16, 16, 1], "relu", None), ([4, 3], "tanh", "sigmoid"), ([5, 1, 3], "leaky_relu", None),
     ([3, 2], "sigmoid", "tanh")],
)
def test_both_styles_give_the_same_outputs_and_gradients(nouts, act, out_act):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(6, 3))
    Y = rng.normal(size=(6, nouts[-1]))
    a = MLP(3, nouts, activation=act, output_activation=out_act, seed=3)
    b = MLP(3, nouts, activation=act, output_activation=out_act, seed=3)
    for layer in a.layers + b.layers:  # non-zero biases so their gradients matter
        layer.b.data[:] = np.linspace(-0.3, 0.3, layer.nout)

    vec = a(X)
    sca = scalar_outputs(b, X)
    np.testing.assert_allclose(sca.data, vec.data, rtol=1e-12, atol=1e-12)
    mse_loss(vec, Y).backward()
    mse_loss(sca, Y).backward()
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        assert np.any(pa.grad != 0), name
        np.testing.assert_allclose(pb.grad, pa.grad, rtol=1e-12, atol=1e-12, err_msg=name)


def test_weight_grad_is_the_sum_of_its_nodes_grads():
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    X = np.array([[0.5, -1.0], [2.0, 0.3], [-0.4, 0.8]])
    outs = [model(x) for x in X.tolist()]
    total = outs[0] * 1.0 + outs[1] * 2.0 + outs[2] * -0.5
    total.backward()
    weights = nodes_by_role(total, "weight")
    assert len(weights) == 9  # one node per weight, shared by the three samples
    for layer_no, layer in enumerate(model.layers, start=1):
        expected = np.zeros(layer.W.shape)
        for w in weights:
            if w.index[0] == layer_no:
                expected[w.index[1] - 1, w.index[2] - 1] += w.grad
        np.testing.assert_allclose(layer.W.grad, expected, rtol=1e-13)
        assert np.all(expected != 0)
    # ... and that is the sum of the three samples' contributions, each backward on its own
    combined = model.layers[0].W.grad.copy()
    per_sample = np.zeros_like(combined)
    for x, c in zip(X.tolist(), [1.0, 2.0, -0.5]):
        model.zero_grad()
        (model(x) * c).backward()
        per_sample += model.layers[0].W.grad
    np.testing.assert_allclose(per_sample, combined, rtol=1e-12)


def test_a_backward_pass_ends_the_sharing_of_weight_nodes():
    # a new call after a backward makes new weight nodes: a drawing of it must not show the
    # gradients of the earlier graph, nor a later backward change the earlier graph's
    model = MLP(2, [3, 1], seed=0)
    y = model([0.5, -1.0])
    y.backward()
    first = {id(v): v.grad for v in nodes_by_role(y, "weight")}
    model.zero_grad()
    y2 = model([1.0, 2.0])
    fresh = nodes_by_role(y2, "weight")
    assert not any(id(v) in first for v in fresh) and not any(v.has_grad for v in fresh)
    y2.backward()
    assert {id(v): v.grad for v in nodes_by_role(y, "weight")} == first
    # without a backward in between, calls share them
    a, b = model([0.1, 0.2]), model([0.3, 0.4])
    assert {id(v) for v in nodes_by_role(a, "weight")} == {id(v) for v in nodes_by_role(b, "weight")}


def test_scalar_calls_share_weight_nodes_until_the_parameters_change(tmp_path):
    from tinygrad_mlp import no_grad
    from tinygrad_mlp.io import load, save

    model = MLP(2, [4, 1], activation="tanh", seed=0)
    X = np.array([[0.5, -1.0], [2.0, 0.3], [-0.4, 0.8], [1.0, 1.0]])
    nodes = [v for x in X.tolist() for v in nodes_by_role(model(x), "weight")]
    assert len({id(v) for v in nodes}) == 12  # 100 samples: still one node per weight

    def check() -> None:
        # the scalar style (shared nodes) against the vector style, values and gradients
        outs = [model(x) for x in X.tolist()]
        model.zero_grad()
        sum(o * (i + 1) for i, o in enumerate(outs)).backward()
        scalar = [p.grad.copy() for p in model.parameters()]
        np.testing.assert_allclose([o.data for o in outs], model(X).data[:, 0], rtol=1e-13)
        model.zero_grad()
        (model(X)[:, 0] * Value(np.arange(1.0, 5.0))).sum().backward()
        for g, p in zip(scalar, model.parameters()):
            np.testing.assert_allclose(g, p.grad, rtol=1e-12, atol=1e-15)

    check()
    SGD(model.parameters(), lr=0.5).step()  # an optimizer step changes W in place
    check()
    model.layers[0].W.data[1, 0] = 3.0  # so does a write into the array
    check()
    model.layers[1].b.data = np.array([0.25])  # and a new array
    check()
    with no_grad():
        plain = model([0.5, -1.0])
    assert not plain.parents
    assert model([0.5, -1.0]).parents  # the constants made under no_grad are not reused
    check()
    path = tmp_path / "m.safetensors"
    other = MLP(2, [4, 1], activation="tanh", seed=1)
    save(other, path)
    load(model, path)
    check()
    np.testing.assert_allclose(model([0.5, -1.0]).data, other([0.5, -1.0]).data, rtol=1e-13)
    model.layers[0].W.requires_grad = False  # a frozen weight gets no gradient through old nodes
    model.zero_grad()
    model([0.5, -1.0]).backward()
    assert model.layers[0].W.grad is None or not np.any(model.layers[0].W.grad)


def test_weight_nodes_hold_floats_not_arrays():
    out = MLP(4, [5, 1], seed=0)([1.0, 2.0, 3.0, 4.0])
    out.backward()
    for w in nodes_by_role(out, "weight"):
        assert type(w.data) is float and type(w.grad) is float


def test_scalar_backward_costs_constant_work_per_weight_node():
    # Each scalar-style weight node W[j, k] must add one number into W.grad in backward
    # (index-add), never make a W-sized array with one entry set: 50 such nodes of an 8 MB W
    # would cost 50 * 8 MB of work.  Checked in memory, not time, so it is deterministic.
    W = Value(np.zeros((1000, 1000)))
    cells = [(j, (7 * j) % 1000) for j in range(0, 1000, 20)]  # 50 distinct cells
    total = W[cells[0]]
    for n, (j, k) in enumerate(cells[1:], start=2):
        total = total + n * W[j, k]
    total.backward()  # the first pass makes W.grad, the one full-size array it needs
    tracemalloc.start()
    try:
        total.backward()  # accumulates into that W.grad
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a dense gradient per node would be a full-size temporary (8 MB) at least once: the
    # index-adds of the 50 nodes need only a few kB
    full = W.data.nbytes
    assert peak < full / 10, f"backward peaked at {peak / full:.2f} arrays the size of W"
    expected = np.zeros((1000, 1000))
    for n, (j, k) in enumerate(cells, start=1):
        expected[j, k] = 2 * n  # two accumulated passes
    np.testing.assert_array_equal(W.grad, expected)


def test_next_scalar_call_sees_the_optimizers_update():
    model = MLP(2, [3, 1], seed=0)
    opt = SGD(model.parameters(), lr=0.1)
    x = [0.5, -1.0]
    before = model(x)
    before.backward()
    opt.step()
    after = model(x)
    assert after.item() == pytest.approx(model(np.array(x)).item(), rel=1e-14)
    assert after.item() != before.item()
    w = nodes_by_role(after, "weight")[0]
    layer_no, j, k = w.index
    assert w.data == model.layers[layer_no - 1].W.data[j - 1, k - 1]


def test_float32_model_keeps_float32_in_the_vectorized_style():
    model = MLP(2, [8, 3], dtype=np.float32, seed=0)
    assert all(p.dtype == np.float32 for p in model.parameters())
    X = np.random.default_rng(0).normal(size=(5, 2))  # float64 data is cast on the way in
    out = model(X)
    assert out.dtype == np.float32
    ref = MLP(2, [8, 3], seed=0)  # the same weights in float64
    np.testing.assert_allclose(out.data, ref(X).data, rtol=1e-5, atol=1e-6)
    mse_loss(out, np.zeros((5, 3))).backward()
    for p in model.parameters():
        assert p.grad.dtype == np.float32 and p.data.dtype == np.float32
    SGD(model.parameters(), lr=0.1).step()
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert model(X).dtype == np.float32


def test_float32_model_in_the_scalar_style_matches_its_vectorized_style():
    model = MLP(2, [4, 1], dtype=np.float32, seed=0)
    x = [0.5, -1.0]
    assert model(x).item() == pytest.approx(model(np.array(x)).item(), rel=1e-5)
    model(x).backward()
    assert model.layers[0].W.grad.dtype == np.float32


def test_bad_dtype_and_sizes():
    with pytest.raises(ValueError, match="float32 or float64"):
        MLP(2, [3, 1], dtype=np.int32)
    with pytest.raises(ValueError, match="nouts must hold at least one layer size"):
        MLP(2, [])
    with pytest.raises(ValueError, match="nin"):
        Layer(0, 3)
    with pytest.raises(ValueError, match="nout"):
        Layer(3, -1)
    with pytest.raises(ValueError, match="nin"):
        Neuron(0)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "x,given",
    [([1.0, 2.0, 3.0], 3), ((1.0,), 1), (np.zeros((4, 3)), 3), (np.zeros(5), 5),
     (Value(np.zeros((2, 1))), 1)],
)
def test_wrong_input_size_names_expected_and_given(x, given):
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError) as e:
        model(x)
    msg = str(e.value)
    assert "2" in msg and str(given) in msg
    assert f"expects 2 inputs per sample, got {given}" in msg


def test_wrong_input_size_for_layer_and_neuron():
    with pytest.raises(ValueError, match="expects 3 inputs per sample, got 2"):
        Layer(3, 2)([1.0, 2.0])
    with pytest.raises(ValueError, match="expects 3 inputs per sample, got 4"):
        Layer(3, 2)(np.zeros((1, 4)))
    with pytest.raises(ValueError, match="expects 3 inputs per sample, got 1"):
        Neuron(3)([1.0])


def test_other_bad_inputs():
    model = MLP(2, [3, 1], seed=0)
    with pytest.raises(ValueError, match=r"shape"):
        model(np.zeros((2, 2, 2)))
    with pytest.raises(TypeError, match="dtype"):
        model(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="scalar Values"):
        model([Value(np.zeros(2)), 1.0])
    with pytest.raises(TypeError, match=r"model\(\[x\]\)"):
        MLP(1, [2, 1])(Value(1.0))


def test_stack():
    s = stack([Value(1.0), Value(2.0), 3.0])
    np.testing.assert_array_equal(s.data, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="at least one"):
        stack([])

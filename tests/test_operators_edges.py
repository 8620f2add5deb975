"""Edge cases of the arithmetic operators and the paths around them.

The operators made by ``engine._operator`` (operand lifting, reflected order, refusals,
no_grad/enable_grad/detect_anomaly, shape errors, ``_Node`` operands), unary methods,
``Value.graph()``, ``Linear`` with operands and pass-through arguments, reductions through
``np.add.reduce``, ``Module.parameters()``, the optimizer's gradient reads and ``hinge_loss``
labels, on tensors and on one scalar score.
"""

from __future__ import annotations

import collections
import operator
import re

import numpy as np
import pytest

from tinygrad_mlp import Function, Value, detect_anomaly, enable_grad, no_grad, ops
from tinygrad_mlp.engine import ENGINE
from tinygrad_mlp.functional import hinge_loss, l2_penalty
from tinygrad_mlp.nn import MLP, Layer, Module
from tinygrad_mlp.optim import SGD, Adam

BINARY = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
DUNDERS = {"+": "add", "-": "sub", "*": "mul", "/": "truediv", "@": "matmul"}


class Sin(Function):
    """A user-defined Function: its results are ``_Node`` values with an attribute dict."""

    @staticmethod
    def forward(ctx, x):
        ctx.tag = "sin"
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * np.cos(ctx.parents[0].data)


class RAddOnly:
    """An operand the Value does not know, with reflected methods of its own."""

    def __radd__(self, other):
        return ("radd", other)

    def __rsub__(self, other):
        return ("rsub", other)

    def __rmul__(self, other):
        return ("rmul", other)

    def __rtruediv__(self, other):
        return ("rtruediv", other)

    def __rmatmul__(self, other):
        return ("rmatmul", other)


# --------------------------------------------------------------------------- operators: values
@pytest.mark.parametrize("sym", list(BINARY))
@pytest.mark.parametrize("other", [2, 2.5, np.float32(1.5), np.int64(3), np.float64(-2.0), True])
def test_number_operands_on_either_side_are_float_constants(sym, other):
    f = BINARY[sym]
    x = Value(2.0)
    for out, const_first in ((f(x, other), False), (f(other, x), True)):
        expected = f(float(other), 2.0) if const_first else f(2.0, float(other))
        assert type(out.data) is float and out.data == pytest.approx(expected)
        assert out.op == sym and out.requires_grad
        const, var = out.parents if const_first else out.parents[::-1]
        assert var is x
        assert type(const.data) is float and const.data == float(other)
        assert not const.requires_grad and const.is_leaf


@pytest.mark.parametrize(
    "sym,expected_grad",
    [("+", 1.0), ("-", -1.0), ("*", 3.0), ("/", -3.0 / 4.0)],
)
def test_reflected_operators_keep_the_number_as_first_operand(sym, expected_grad):
    x = Value(2.0)
    y = BINARY[sym](3, x)  # 3 + x, 3 - x, 3 * x, 3 / x
    assert y.parents[1] is x and y.parents[0].data == 3.0
    y.backward()
    assert x.grad == pytest.approx(expected_grad)


@pytest.mark.parametrize("sym", list(BINARY))
def test_array_on_the_left_defers_to_the_value(sym):
    arr = np.array([1.0, 2.0, 4.0])
    v = Value(np.array([2.0, 4.0, 8.0]))
    out = BINARY[sym](arr, v)  # ndarray.__op__ returns NotImplemented (__array_ufunc__ = None)
    assert isinstance(out, Value)
    np.testing.assert_allclose(out.data, BINARY[sym](arr, v.data))
    assert out.parents[1] is v
    np.testing.assert_array_equal(out.parents[0].data, arr)
    assert not out.parents[0].requires_grad


def test_array_matmul_value_on_either_side():
    m = np.arange(6.0).reshape(2, 3)
    v = Value(np.array([1.0, -1.0, 2.0]))
    left = m @ v
    assert isinstance(left, Value) and left.op == "@" and left.shape == (2,)
    np.testing.assert_allclose(left.data, m @ v.data)
    assert left.parents[1] is v
    left.backward(np.ones(2))
    np.testing.assert_allclose(v.grad, m.sum(axis=0))
    w = Value(np.ones((3, 2)))
    right = w @ np.array([1.0, 2.0])
    np.testing.assert_allclose(right.data, [3.0, 3.0, 3.0])
    assert right.parents[0] is w


@pytest.mark.parametrize("sym", list(BINARY) + ["@"])
def test_float32_operands_stay_float32_in_data_and_grad(sym):
    f = BINARY.get(sym, operator.matmul)
    shape = (3, 3) if sym == "@" else (3,)  # (a 1-D @ 1-D result is a float scalar)
    a = Value(np.arange(1.0, 10.0)[: np.prod(shape)].reshape(shape).astype(np.float32))
    b = Value(np.array([2.0, 2.0, 4.0], np.float32))
    out = f(a, b)
    assert out.dtype == np.float32 and out.shape == (3,)
    out.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float32
    c = f(np.ones(shape, np.float32), b)
    assert c.dtype == np.float32


def test_integer_and_bool_arrays_are_lifted_to_float64():
    v = Value(np.array([1.0, 2.0, 3.0], np.float32))
    out = v * np.array([1, 2, 3])
    const = out.parents[1]
    assert const.dtype == np.float64 and not const.requires_grad
    assert out.dtype == np.float64  # float32 * float64 constant, as numpy
    out2 = np.array([True, False, True]) + Value(np.zeros(3))
    np.testing.assert_array_equal(out2.data, [1.0, 0.0, 1.0])


def test_both_operands_needing_a_gradient_and_one_constant_record_alike():
    a, b = Value(2.0), Value(5.0)
    fast = a * b
    slow = a * Value(5.0, requires_grad=False)
    for node in (fast, slow):
        assert type(node) is Value and node.op == "*" and node.requires_grad
        assert node.parents[0] is a
        if ENGINE == "fast":  # a plain product keeps no metadata dict on the fast engine
            assert node._meta is None
    fast.backward()
    assert (a.grad, b.grad) == (5.0, 2.0)


def test_constants_only_give_a_constant():
    a = Value(2.0, requires_grad=False)
    out = a + 3
    assert not out.requires_grad and out.parents == () and out.op == "" and out.data == 5.0


def test_same_operand_twice():
    x = Value(3.0)
    y = x * x
    assert y.parents == (x, x)
    y.backward()
    assert x.grad == 6.0


def test_operator_methods_have_their_dunder_names():
    for name in DUNDERS.values():
        assert getattr(Value, f"__{name}__").__name__ == f"__{name}__"
        assert getattr(Value, f"__r{name}__").__name__ == f"__r{name}__"
        assert getattr(Value, f"__r{name}__").__qualname__ == f"Value.__r{name}__"


def test_sum_of_a_list_of_values_starts_from_int_zero():
    xs = [Value(float(i)) for i in range(4)]
    total = sum(xs)
    assert total.data == 6.0
    total.backward()
    assert [x.grad for x in xs] == [1.0] * 4


# --------------------------------------------------------------------------- operators: refusals
OPERATOR_METHODS = sorted([f"__{n}__" for n in DUNDERS.values()] + [f"__r{n}__" for n in DUNDERS.values()])


@pytest.mark.parametrize(
    "name,bad",
    [(name, bad) for name in OPERATOR_METHODS for bad in (None, object(), "ab", 1j, {"a": 1})
     if not (bad == "ab" and name in ("__mul__", "__rmul__"))],  # * raises itself: next test
)
def test_unsupported_operands_give_not_implemented(name, bad):
    assert getattr(Value(1.0), name)(bad) is NotImplemented


@pytest.mark.parametrize("seq", ["ab", b"ab", [1.0, 2.0], (1.0,)])
def test_multiplying_by_a_sequence_names_both_types_in_order(seq):
    v = Value(2.0)
    name = type(seq).__name__
    with pytest.raises(TypeError, match=rf"for \*: 'Value' and '{name}'"):
        v * seq
    with pytest.raises(TypeError, match=rf"for \*: '{name}' and 'Value'"):
        seq * v


def test_sequence_refusal_names_a_node_subclass():
    node = Sin.apply(Value(0.5))
    with pytest.raises(TypeError, match=rf"'str' and '{type(node).__name__}'"):
        "ab" * node


@pytest.mark.parametrize("sym", ["+", "-", "/", "@"])
def test_lists_and_none_are_type_errors(sym):
    f = BINARY.get(sym, operator.matmul)
    v = Value(np.ones(2))
    for bad in (None, [1.0, 2.0]):
        with pytest.raises(TypeError):
            f(v, bad)
        with pytest.raises(TypeError):
            f(bad, v)


@pytest.mark.parametrize("sym", list(BINARY) + ["@"])
def test_other_objects_reflected_methods_are_used(sym):
    f = BINARY.get(sym, operator.matmul)
    v = Value(1.0)
    tag, got = f(v, RAddOnly())
    assert tag == f"r{DUNDERS[sym]}" and got is v


def test_object_and_complex_arrays_are_refused_with_their_dtype():
    v = Value(np.ones(2))
    with pytest.raises(TypeError, match="dtype"):
        v + np.array(["a", "b"])
    with pytest.raises(TypeError, match="dtype"):
        np.array([1j, 2j]) * v


# --------------------------------------------------------------------------- operators: modes
@pytest.mark.parametrize("sym", list(BINARY))
def test_operators_under_no_grad_give_constants(sym):
    f = BINARY[sym]
    a, b = Value(2.0), Value(4.0)
    with no_grad():
        outs = [f(a, b), f(a, 3), f(3, a), f(np.ones(2), a)]
    for out in outs:
        assert not out.requires_grad and out.parents == () and out.op == ""
    assert a.requires_grad  # unchanged


def test_enable_grad_inside_no_grad_records_the_fast_path():
    a, b = Value(2.0), Value(4.0)
    with no_grad(), enable_grad():
        out = a - b
        out2 = 1 - a
    assert out.op == "-" and out.parents == (a, b) and out.requires_grad
    assert out2.parents[1] is a
    out.backward()
    assert (a.grad, b.grad) == (1.0, -1.0)
    c = a * b
    assert c.requires_grad  # the switches were undone


@pytest.mark.parametrize(
    "expr,op,what",
    [
        (lambda a, b: a * b, "*", "inf"),  # both operands need a gradient: the fast path's case
        (lambda a, b: a * 10, "*", "inf"),
        (lambda a, b: 10 * a, "*", "inf"),
        (lambda a, b: a + b * np.inf, "*", "inf"),
        (lambda a, b: (a - a) / (b - b), "/", "nan"),
        (lambda a, b: 1 / (b - b), "/", "inf"),
        (lambda a, b: np.array([1.0, np.nan]) @ Value(np.ones(2)), "@", "nan"),
    ],
)
def test_detect_anomaly_names_the_operator(expr, op, what):
    a, b = Value(1e308), Value(10.0)
    with detect_anomaly(), np.errstate(all="ignore"):
        with pytest.raises(FloatingPointError, match=re.escape(f"forward pass of '{op}' produced {what}")):
            expr(a, b)


def test_detect_anomaly_off_again_lets_inf_through():
    with detect_anomaly():
        pass
    out = Value(1e308) * Value(10.0)
    assert out.data == float("inf") and out.op == "*"


# --------------------------------------------------------------------------- operators: shapes
@pytest.mark.parametrize("sym", list(BINARY))
@pytest.mark.parametrize("rg", [(True, True), (True, False), (False, False)])
def test_broadcast_errors_name_the_operator_and_both_shapes(sym, rg):
    f = BINARY[sym]
    a = Value(np.ones(3), requires_grad=rg[0])
    b = Value(np.ones((2, 4)), requires_grad=rg[1])
    with pytest.raises(ValueError) as e:
        f(a, b)
    assert str(e.value).startswith(f"'{sym}' on operands of shapes (3,), (2, 4):")
    with pytest.raises(ValueError) as e:
        f(np.ones(4), a)
    assert str(e.value).startswith(f"'{sym}' on operands of shapes (4,), (3,):")


@pytest.mark.parametrize("grad_mode", ["plain", "no_grad", "anomaly"])
def test_matmul_errors_name_the_operator_and_both_shapes(grad_mode):
    a, b = Value(np.ones((2, 3))), Value(np.ones((2, 3)))
    ctx = {"plain": _null, "no_grad": no_grad, "anomaly": detect_anomaly}[grad_mode]
    with ctx(), pytest.raises(ValueError) as e:
        a @ b
    msg = str(e.value)
    assert msg.startswith("'@' on operands of shapes (2, 3), (2, 3):") and "not aligned" in msg
    with ctx(), pytest.raises(ValueError, match=r"'@' on operands of shapes \(\), \(3,\)"):
        Value(2.0) @ np.ones(3)


class _null:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_failed_operator_leaves_the_operands_usable():
    a, b = Value(np.ones(3)), Value(np.ones(4))
    with pytest.raises(ValueError):
        a + b
    y = (a * 2.0).sum()
    y.backward()
    np.testing.assert_array_equal(a.grad, [2.0, 2.0, 2.0])
    assert not b.has_grad


# --------------------------------------------------------------------------- operators: _Node
def test_user_function_results_work_on_either_side():
    x = Value(np.array([0.1, 0.2, 0.3]))
    node = Sin.apply(x)
    assert isinstance(node, Value) and type(node).__name__ == ("_Node" if ENGINE == "fast" else "Value")
    w = Value(np.array([1.0, 2.0, 3.0]))
    outs = [node + w, w + node, 2 - node, node / 2, np.ones(3) @ node, node @ np.ones(3), node * node]
    for out in outs:
        assert type(out) is Value and out.requires_grad  # built-ins make plain Values
    assert outs[0].parents == (node, w) and outs[1].parents == (w, node)
    assert outs[2].parents[1] is node and outs[4].parents[1] is node
    total = outs[2].sum()
    total.backward()
    np.testing.assert_allclose(x.grad, -np.cos(x.data))


def test_scalar_node_reflected_division():
    x = Value(0.5)
    node = Sin.apply(x)
    y = 1 / node
    assert y.parents[1] is node
    y.backward()
    s = np.sin(0.5)
    assert x.grad == pytest.approx(-np.cos(0.5) / s**2)


# --------------------------------------------------------------------------- unary methods
UNARY = {
    "relu": ("relu", lambda d: np.maximum(d, 0)),
    "tanh": ("tanh", np.tanh),
    "sigmoid": ("sigmoid", lambda d: 1 / (1 + np.exp(-d))),
    "exp": ("exp", np.exp),
    "log": ("log", np.log),
    "abs": ("abs", np.abs),
    "sqrt": ("sqrt", np.sqrt),
    "__neg__": ("-", np.negative),
}


@pytest.mark.parametrize("name", list(UNARY))
@pytest.mark.parametrize("data", [0.7, np.array([0.5, 2.0], np.float32)])
def test_unary_methods_record_op_and_dtype(name, data):
    op, ref = UNARY[name]
    x = Value(data)
    y = getattr(x, name)()
    assert y.op == op and y.parents == (x,) and y.requires_grad
    np.testing.assert_allclose(y.data, ref(np.asarray(data, np.float64)), rtol=1e-6)
    assert y.dtype == x.dtype
    with no_grad():
        z = getattr(x, name)()
    assert z.parents == () and not z.requires_grad
    c = getattr(Value(data, requires_grad=False), name)()
    assert not c.requires_grad and c.op == ""


def test_unary_under_detect_anomaly_names_the_operation():
    with detect_anomaly(), np.errstate(all="ignore"):
        with pytest.raises(FloatingPointError, match=r"forward pass of 'log' produced"):
            Value(-1.0).log()
        with pytest.raises(FloatingPointError, match=r"forward pass of 'sqrt' produced nan"):
            Value(np.array([-1.0, 1.0])).sqrt()


# --------------------------------------------------------------------------- graph()
def test_graph_lists_each_node_once_operands_first():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    c.label = "c"
    d = c + a
    d.label = "d"
    e = d * c
    e.label = "e"
    assert [v.label for v in e.graph()] == ["a", "b", "c", "d", "e"]
    assert [v.label for v in (a + a).graph()] == ["a", ""]
    assert a.graph() == [a]


def test_graph_of_a_node_with_many_operands_and_a_deep_chain():
    xs = [Value(float(i), label=f"x{i}") for i in range(5)]
    s = ops.Stack.apply(*xs)
    assert [v.label for v in s.graph()[:-1]] == [f"x{i}" for i in range(5)]
    y = xs[0]
    for _ in range(20000):  # no recursion limit
        y = y + 1.0
    g = y.graph()
    assert len(g) == 40001 and g[0] is xs[0] and g[-1] is y


def test_graph_order_matches_a_recursive_walk():
    rng = np.random.default_rng(1)
    nodes = [Value(float(i)) for i in range(4)]
    for _ in range(60):
        i, j = rng.integers(0, len(nodes), 2)
        nodes.append(nodes[i] * nodes[j] if rng.random() < 0.5 else nodes[i] + nodes[j])
    root = nodes[-1]

    order, seen = [], set()

    def visit(v):
        seen.add(v)
        for p in v.parents:
            if p not in seen:
                visit(p)
        order.append(v)

    visit(root)
    assert root.graph() == order


# --------------------------------------------------------------------------- Linear
def test_linear_backward_reads_operands_from_the_node():
    x = Value(np.array([[1.0, 2.0], [3.0, 4.0]]))
    W = Value(np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))
    b = Value(np.array([0.5, 0.0, -0.5]))
    y = ops.Linear.apply(x, W, b)
    np.testing.assert_allclose(y.data, x.data @ W.data.T + b.data)
    y.backward(np.ones((2, 3)))
    np.testing.assert_allclose(W.grad, np.tile([4.0, 6.0], (3, 1)))  # grad.T @ x
    np.testing.assert_allclose(b.grad, [2.0, 2.0, 2.0])
    np.testing.assert_allclose(x.grad, np.ones((2, 3)) @ W.data)


def test_linear_with_constant_operands_gives_them_no_gradient():
    x = np.ones(2)  # a float array: a constant parent
    W = Value(np.ones((3, 2)))
    b = Value(np.zeros(3), requires_grad=False)
    y = ops.Linear.apply(x, W, b)
    y.sum().backward()
    np.testing.assert_array_equal(W.grad, np.ones((3, 2)))
    assert not b.has_grad and not y.parents[0].has_grad


@pytest.mark.parametrize("x", [np.array([[1, 2]]), np.array([1, 2])], ids=["2d", "1d"])
def test_linear_apply_with_integer_input_pass_through_backpropagates(x):
    """An integer input is passed through to forward as it is (the node has two operands):
    backward still gives W and b their gradients."""
    W = Value(np.ones((3, 2)))
    b = Value(np.zeros(3))
    y = ops.Linear.apply(x, W, b)
    np.testing.assert_allclose(y.data, (x @ W.data.T).astype(float))
    y.sum().backward()
    np.testing.assert_allclose(W.grad, np.tile(np.atleast_2d(x).sum(axis=0), (3, 1)))
    np.testing.assert_allclose(b.grad, np.full(3, np.atleast_2d(x).shape[0]))


def test_linear_apply_with_number_bias_pass_through_backpropagates():
    """A number bias is passed through to forward as it is: backward still gives W its
    gradient."""
    W = Value(np.ones((3, 2)))
    y = ops.Linear.apply(np.ones((1, 2)), W, 0.5)
    np.testing.assert_allclose(y.data, [[2.5, 2.5, 2.5]])
    y.sum().backward()
    np.testing.assert_allclose(W.grad, np.ones((3, 2)))


# --------------------------------------------------------------------------- reductions
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1), ()])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_and_mean_match_numpy(axis, keepdims, dtype):
    data = np.arange(12.0).reshape(3, 4).astype(dtype)
    for name in ("sum", "mean"):
        out = getattr(Value(data), name)(axis=axis, keepdims=keepdims)
        ref = getattr(data, name)(axis=axis, keepdims=keepdims)
        np.testing.assert_allclose(out.data, ref, rtol=1e-6)
        if type(out.data) is not float:
            assert out.dtype == dtype and out.shape == ref.shape


def test_sum_axis_errors_name_the_operation():
    with pytest.raises(ValueError, match=r"'sum' on operands of shapes \(2, 3\): .*axis 5"):
        Value(np.ones((2, 3))).sum(axis=5)


def test_l2_penalty_value_and_gradient():
    a, b = Value(np.array([1.0, 2.0])), Value(3.0)
    pen = l2_penalty([a, b], alpha=0.5)
    assert pen.data == pytest.approx(0.5 * 14.0)
    pen.backward()
    np.testing.assert_allclose(a.grad, [1.0, 2.0])
    assert b.grad == pytest.approx(3.0)
    with pytest.raises(ValueError):
        l2_penalty([a, 2.0])
    with pytest.raises(ValueError):
        l2_penalty([])


# --------------------------------------------------------------------------- Module.parameters
Pair = collections.namedtuple("Pair", "first second")


class Inner(Module):
    def __init__(self, tag):
        self.x0 = Value(1.0, label=f"{tag}.x0")
        self.flag = True
        self.nothing = None
        self.name = "inner"
        self.count = 3
        self.rate = 0.5


class Odd(Module):
    def __init__(self):
        self.a = Value(1.0, label="a")
        self.flag = False
        self.none = None
        self.text = "text"
        self.nested = [Value(2.0, label="n0"), (Value(3.0, label="n10"), [Value(4.0, label="n110")]),
                       "x", None, 3, True]
        self.sub = Inner("sub")
        self.x0 = Value(5.0, label="x0")
        self._private = Value(6.0, label="private")
        self.pair = Pair(Value(7.0, label="pair0"), Inner("pair1"))
        self.mapping = {"k": Value(8.0, label="dict")}  # dicts are not searched
        self.array = np.ones(2)
        self.npfloat = np.float64(1.0)
        self.mods = [Inner("m0"), [Inner("m10")]]
        self.last = Value(np.ones(2), label="last")


def test_parameters_and_named_parameters_agree_on_odd_attributes():
    m = Odd()
    m.train()  # sets a bool attribute on every module
    named = list(m.named_parameters())
    params = m.parameters()
    assert len(params) == len(named)
    assert all(p is q for p, (_, q) in zip(params, named))
    assert [name for name, _ in named] == [
        "a", "nested.0", "nested.1.0", "nested.1.1.0", "sub.x0", "x0", "pair.0", "pair.1.x0",
        "mods.0.x0", "mods.1.0.x0", "last",
    ]
    assert [p.label for p in params] == [
        "a", "n0", "n10", "n110", "sub.x0", "x0", "pair0", "pair1.x0", "m0.x0", "m10.x0", "last",
    ]
    assert m.num_parameters() == 12


def test_mlp_parameters_and_forward_dtypes():
    for dtype in (np.float32, np.float64):
        model = MLP(3, [4, 2], seed=0, dtype=dtype)
        assert [n for n, _ in model.named_parameters()] == [
            "layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b"]
        assert model.parameters() == [p for _, p in model.named_parameters()]
        out = model(np.ones((5, 3)))
        assert out.shape == (5, 2) and out.dtype == dtype
        assert model(np.ones(3, np.float64)).dtype == dtype
    model = MLP(3, [4, 2], seed=0)
    with pytest.raises(ValueError, match="MLP expects 3 inputs per sample, got 2"):
        model(np.ones((5, 2)))
    with pytest.raises(ValueError, match="MLP expects 3 inputs per sample, got 4"):
        model(np.ones(4))


def test_layer_and_mlp_agree_on_one_layer():
    layer = Layer(2, 3, activation="tanh", seed=0)
    model = MLP(2, [3], output_activation="tanh", seed=0)
    x = np.array([[0.5, -1.0], [2.0, 0.0]])
    np.testing.assert_allclose(model(x).data, layer(x).data)


# --------------------------------------------------------------------------- optimizers
@pytest.mark.parametrize("opt_cls", [SGD, Adam])
def test_step_skips_parameters_without_gradient_and_zero_grad_clears(opt_cls):
    used, unused, scalar = Value(np.array([1.0, 2.0])), Value(np.array([3.0])), Value(4.0)
    opt = opt_cls([used, unused, scalar], lr=0.1)
    unused_array = unused.data
    loss = (used * used).sum() + scalar * 2.0
    loss.backward()
    opt.step()
    assert not np.array_equal(used.data, [1.0, 2.0])
    assert type(scalar.data) is float and scalar.data < 4.0
    assert unused.data is unused_array and unused.data[0] == 3.0 and not unused.has_grad
    assert opt.state[1] == {}
    opt.zero_grad()
    assert not used.has_grad and not scalar.has_grad
    before = used.data.copy()
    opt.step()  # nothing has a gradient: nothing moves
    np.testing.assert_array_equal(used.data, before)
    assert opt.steps == 2


def test_step_uses_an_explicitly_set_zero_gradient():
    w = Value(np.array([1.0]))
    opt = SGD([w], lr=0.1, weight_decay=1.0)
    w.grad = np.zeros(1)  # set, so weight decay applies
    opt.step()
    np.testing.assert_allclose(w.data, [0.9])


# --------------------------------------------------------------------------- hinge labels
SCORES = np.array([0.5, -0.3, 2.0])


def _hinge(labels, reduction="sum"):
    s = Value(SCORES)
    out = hinge_loss(s, labels, reduction=reduction)
    out.backward()
    return out.data, s.grad


@pytest.mark.parametrize(
    "labels,pm",
    [
        ([1, -1, 1], [1, -1, 1]),
        ([1, 0, 1], [1, -1, 1]),
        ([1, 1, 1], [1, 1, 1]),
        ([0, 0, 0], [-1, -1, -1]),
        ([-1, -1, -1], [-1, -1, -1]),
        ([0.0, -0.0, 1.0], [-1, -1, 1]),
        (np.array([True, False, True]), [1, -1, 1]),
    ],
)
def test_hinge_labels_pm1_and_01(labels, pm):
    pm = np.array(pm, float)
    margin = 1 - pm * SCORES
    val, grad = _hinge(labels)
    assert val == pytest.approx(np.maximum(margin, 0).sum())
    np.testing.assert_allclose(grad, -pm * (margin > 0))


@pytest.mark.parametrize("labels", [[1, -1, 0], [2, 1, 1], [0.5, 1, 0], [-2, -1, 1], [np.nan, 1, 1]])
def test_hinge_invalid_labels_are_errors(labels):
    with pytest.raises(ValueError, match="labels must be -1 and 1"):
        hinge_loss(Value(SCORES), labels)


def test_hinge_column_scores_against_flat_labels():
    s = Value(SCORES.reshape(-1, 1))
    assert hinge_loss(s, [0, 0, 1]).data == pytest.approx(hinge_loss(Value(SCORES), [-1, -1, 1]).data)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(
    "label,pm", [(1, 1.0), (1.0, 1.0), (True, 1.0), (-1, -1.0), (0, -1.0)]
)
def test_hinge_loss_on_a_scalar_score(label, pm, reduction):
    """One scalar score (a micrograd-style model's output) with a ±1 or 0/1 label: the loss
    and its gradient are plain floats, for 'mean' and 'sum'."""
    s = Value(0.3)
    out = hinge_loss(s, label, reduction=reduction)
    assert out.data == pytest.approx(max(0.0, 1.0 - pm * 0.3))
    out.backward()
    assert s.grad == pytest.approx(-pm)

"""Edge cases of the engine's node layout and backward walk.

on_node callbacks, gradient counts with pass-through arguments, label/role/index in a node's
metadata, copies, where ctx attributes are allowed, constants under no_grad, failed backward
passes, and the scalar fast path.
"""

from __future__ import annotations

import copy
import doctest
import pickle
import warnings

import numpy as np
import pytest

from tinygrad_mlp import Function, Value, detect_anomaly, enable_grad, no_grad, ops
from tinygrad_mlp.engine import ENGINE


class StopGrad(Function):
    """Identity forward, no gradient at all (returns None for a differentiable input)."""

    @staticmethod
    def forward(ctx, x):
        return x * 1.0

    @staticmethod
    def backward(ctx, grad):
        return None


def _on_node_checks(root):
    """Run backward with on_node; check each node once, consumers before operands."""
    seen = []
    root.backward(on_node=seen.append)
    needing = [n for n in root.graph() if n.requires_grad]
    assert len(seen) == len({id(n) for n in seen}), "a node was reported twice"
    assert {id(n) for n in seen} == {id(n) for n in needing}
    pos = {id(n): i for i, n in enumerate(seen)}
    for n in needing:
        for p in n.parents:
            if p.requires_grad:
                assert pos[id(n)] < pos[id(p)], "an operand was reported before its consumer"
    return seen


# =========================================================================== on_node, counts, metadata
def test_on_node_reading_grad_does_not_change_the_gradients():
    # on_node reading n.grad makes a zero for a node no gradient reached; backward must still
    # skip that node (running log's backward on it would give x nan instead of 1.0 via "+ x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        x = Value(0.0, label="x")
        y = StopGrad.apply(x.log()) + x
        y.backward(on_node=lambda n: n.grad)
        assert x.grad == 1.0


def test_on_node_does_not_run_backward_of_a_node_no_gradient_reached():
    calls = []

    class Spy(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            calls.append(grad)
            return 2.0 * grad

    x = Value(3.0)
    y = StopGrad.apply(Spy.apply(x)) + x
    y.backward()
    assert calls == []
    y.backward(on_node=lambda n: n.grad)  # only observing must not change what runs
    assert calls == []
    assert x.grad == 2.0


def test_backward_frames_under_detect_anomaly_with_a_node_without_gradient():
    pytest.importorskip("graphviz")
    from tinygrad_mlp.viz import backward_frames

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        x = Value(0.0, label="x")
        y = StopGrad.apply(x.log()) + x
        y.label = "y"
        with detect_anomaly():  # raised FloatingPointError for log's backward on 0.0
            frames = backward_frames(y)
    assert frames[-1].caption.endswith("1.0000")


def test_too_few_gradients_with_a_pass_through_argument_is_an_error():
    # 2 gradients for forward(k, x, y): as many as Value operands, yet one per argument is
    # wanted; accepting them would hand x's gradient to y
    class Mix(Function):
        @staticmethod
        def forward(ctx, k, x, y):
            return k * x * y

        @staticmethod
        def backward(ctx, grad):
            return None, grad * 2.0  # y's gradient forgotten

    x, y = Value(2.0), Value(3.0)
    out = Mix.apply(2.0, x, y)
    with pytest.raises(TypeError, match=r"Mix.backward returned 2 gradient\(s\) for 3 input"):
        out.backward()


def test_single_gradient_for_value_and_number_is_an_error():
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, grad):
            return grad * 2.0  # should be (grad * k, None)

    with pytest.raises(TypeError, match=r"Scale.backward returned 1 gradient\(s\) for 2 input"):
        Scale.apply(Value(1.0), 2.0).backward()


def test_role_reset_to_none_gives_an_empty_label():
    v = Value(1.0)
    v.role = None
    assert v.label == ""
    v.index = (1, 2)
    assert v.label == ""
    w = Value(1.0)
    w.role, w.index = "weight", (1, 2, 3)
    w.role = None  # no longer a model node
    assert w.label == ""
    assert w.detach().label == ""


def test_shallow_copy_does_not_share_label_role_index():
    v = Value(1.0, label="v")
    c = copy.copy(v)
    c.label = "copy"
    assert v.label == "v"
    w = Value(1.0)
    w.role, w.index = "weight", (1, 1, 1)
    c = copy.copy(w)
    c.index = (2, 2, 2)
    c.role = "bias"
    assert (w.role, w.index) == ("weight", (1, 1, 1))


def test_a_function_in_a_package_doctest_can_keep_ctx_attributes():
    # a docstring example runs in the package module's namespace (pytest --doctest-modules);
    # its Function is still a user's Function, whose nodes keep ctx attributes
    import tinygrad_mlp.engine as engine

    src = """
>>> class Scale(Function):
...     @staticmethod
...     def forward(ctx, x, k):
...         ctx.k = k
...         return x * k
...     @staticmethod
...     def backward(ctx, grad):
...         return grad * ctx.k, None
>>> x = Value(2.0); Scale.apply(x, 3.0).backward(); x.grad
3.0
"""
    test = doctest.DocTestParser().get_doctest(src, dict(engine.__dict__), "ex", "ex", 0)
    runner = doctest.DocTestRunner(verbose=False)
    runner.run(test, out=lambda s: None)
    assert runner.failures == 0


def test_applying_the_abstract_function_says_forward_is_missing():
    with pytest.raises(NotImplementedError, match="must define forward"):
        Function.apply(Value(1.0))


def test_label_and_role_set_in_forward_survive_no_grad():
    class Named(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.label, ctx.role = "out", "z"
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            return 2.0 * grad

    with no_grad():
        y = Named.apply(Value(1.0))
    assert (y.label, y.role) == ("out", "z")
    assert not y.requires_grad and y.parents == ()


# =========================================================================== edge cases
def _assert_no_counts_left(nodes):
    """The fast engine counts each node's consumers in the node itself (``_pending``, -1 for a
    value that needs no gradient); after a backward pass, even a failed one, every count is
    back at rest.  (The reference engine counts in a dict that lives for one pass only.)"""
    if ENGINE == "fast":
        assert all(n._pending == (0 if n.requires_grad else -1) for n in nodes)


def test_on_node_order_with_constants_shared_leaves_and_three_operands():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = Value(10.0, label="c", requires_grad=False)
    s = ops.Stack.apply(a, b, a * b + c, a)  # a three times, a constant inside
    root = (s * s).sum()
    seen = _on_node_checks(root)
    assert c not in seen
    assert seen[0] is root and {id(seen[-1]), id(seen[-2])} == {id(a), id(b)}
    assert (a.grad, b.grad) == pytest.approx((4 * 2.0 + 2 * (-6.0 + 10.0) * -3.0,
                                              2 * -3.0 + 2 * (-6.0 + 10.0) * 2.0))
    _assert_no_counts_left(root.graph())
    assert not c.requires_grad


def test_on_node_twice_and_from_a_sub_root():
    x = Value(3.0, label="x")
    h = x * x
    y = h + x
    for _ in range(2):
        seen = _on_node_checks(y)
        assert [n.label for n in seen if n.is_leaf] == ["x"]
    assert x.grad == 2 * (2 * 3.0 + 1.0)
    seen = _on_node_checks(h)
    assert seen == [h, x] and x.grad == 2 * 7.0 + 6.0


def test_backward_from_a_leaf_root():
    x = Value(np.array([1.0, 2.0]))
    seen = []
    g = np.array([1.0, -1.0])
    x.backward(g, on_node=seen.append)
    x.backward(g)
    assert seen == [x]
    np.testing.assert_array_equal(x.grad, [2.0, -2.0])
    g[0] = 100.0  # the leaf keeps its own buffer
    assert x.grad[0] == 2.0
    with pytest.raises(RuntimeError):
        Value(1.0, requires_grad=False).backward()


def test_failed_backward_with_on_node_then_another_backward():
    class Boom(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            raise RuntimeError("boom")

    x, w = Value(1.0, label="x"), Value(5.0, label="w")
    c = Value(2.0, requires_grad=False)
    y = Boom.apply(x * w) + x * w * c
    with pytest.raises(RuntimeError, match="boom"):
        y.backward(on_node=lambda n: None)
    _assert_no_counts_left(y.graph())
    assert not c.requires_grad and x.requires_grad and w.requires_grad
    y.zero_grad()
    z = x * w * c
    seen = _on_node_checks(z)
    assert {id(x), id(w)} <= {id(n) for n in seen}
    assert (x.grad, w.grad) == (10.0, 2.0)


def test_exception_in_on_node_leaves_no_counts_behind():
    x = Value(1.0, label="x")
    w = Value(5.0, label="w")
    y = (x * w).tanh() * w

    def bad(n):
        if n is x:
            raise KeyError("stop")

    with pytest.raises(KeyError):
        y.backward(on_node=bad)
    _assert_no_counts_left(y.graph())
    y.zero_grad()
    _on_node_checks(y)


def test_a_node_without_gradient_still_releases_its_operands():
    x = Value(2.0, label="x")
    y = StopGrad.apply(x.tanh()) + x * 3.0
    seen = _on_node_checks(y)
    assert x in seen and x.grad == 3.0


def test_requires_grad_switch_after_building_a_graph():
    x, w = Value(2.0), Value(3.0)
    y = x * w
    x.requires_grad = False  # frozen after the graph was built: no gradient, no report
    seen = []
    y.backward(on_node=seen.append)
    assert x not in seen and not x.has_grad and w.grad == 2.0
    _assert_no_counts_left([x, w])
    x.requires_grad = True
    y.backward()
    assert x.grad == 3.0
    with pytest.raises(ValueError, match="leaves only"):
        y.requires_grad = True
    with no_grad():
        k = x * 2.0
    k.requires_grad = True  # a no_grad result is a leaf
    (k * 2.0).backward()
    assert k.grad == 2.0


def test_user_function_with_pass_through_in_the_middle_and_one_value_thrice():
    class M(Function):
        @staticmethod
        def forward(ctx, x, k, y, z):
            ctx.k = k
            ctx.flags = ctx.needs_input_grad
            return x * k + y * z

        @staticmethod
        def backward(ctx, grad):
            _, y, z = ctx.parents
            return [grad * ctx.k, None, grad * z.data, grad * y.data]  # a list

    x, y, z = Value(1.0), Value(2.0), Value(3.0, requires_grad=False)
    out = M.apply(x, 5.0, y, z)
    assert out.flags == (True, False, True, False) == out.needs_input_grad
    out.backward()
    assert (x.grad, y.grad, z.has_grad) == (5.0, 3.0, False)
    x = Value(2.0)
    M.apply(x, 5.0, x, x).backward()
    assert x.grad == 5.0 + 2.0 + 2.0
    with no_grad():
        c = M.apply(x, 5.0, x, x)
    assert c.k == 5.0 and c.parents == () and c.saved_values == () and not c.requires_grad


def test_user_nodes_pickle_and_deepcopy_with_ctx_attributes():
    x = Value(2.0, label="x")
    y = ops.Linear.apply(np.ones((1, 2)), Value(np.ones((3, 2))), Value(np.zeros(3)))
    assert y.requires_grad
    z = Value(4.0)
    out = _ScaleForPickle.apply(x, 3.0) * z
    for clone in (pickle.loads(pickle.dumps(out)), copy.deepcopy(out)):
        node = clone.parents[0]
        assert node.k == 3.0 and node.needs_input_grad == (True, False)
        clone.backward()
        assert node.parents[0].grad == 12.0 and node.parents[0].label == "x"
        assert clone.parents[1].grad == 6.0
    assert not x.has_grad  # the original graph is untouched


class _ScaleForPickle(Function):
    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        return x * k

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.k, None


def test_ops_reading_operands_from_the_node_with_repeated_operands():
    import math

    from tinygrad_mlp.gradcheck import gradcheck

    v = 1.5
    cases = [
        (lambda x: x / x, 0.0),
        (lambda x: x ** x, v ** v * (math.log(v) + 1.0)),
        (lambda x: (x * x).log(), 2.0 / v),
        (lambda x: (-x).abs(), 1.0),
        (lambda x: 2.0 ** x, 2.0 ** v * math.log(2.0)),
        (lambda x: x / 2.0, 0.5),
    ]
    for f, expected in cases:
        x = Value(v)
        y = f(x)
        y.backward()
        y.backward()  # a leaf accumulates across calls
        assert type(x.grad) is float and x.grad == pytest.approx(2 * expected)
    # Div, Pow, Log and Abs read their operands from the node at backward time
    a = Value(np.array([0.5, 1.5, 2.0]))
    b = Value(np.array([1.2, -0.7, 2.5]))
    assert gradcheck(lambda a, b: (a / b + a ** (b * 0.5) + b.abs().log()).sum(), [a, b])
    assert gradcheck(lambda a: (a / a + a ** a + (a * a).log()).sum(), [a])


def test_scalar_fast_path_values_match_numeric_and_stay_floats():
    from tinygrad_mlp.gradcheck import gradcheck

    a, b = Value(0.7), Value(-1.3)

    def f(a, b):
        return (
            (a * b + a / (b * b + 1.0) - b).tanh() + (a.abs() + 0.2) ** b + (a * a).exp().log()
            + a.sigmoid() * b.relu() + (-a).leaky_relu(0.1) + (b * b).sqrt() + 2.0 ** a
        )

    assert gradcheck(f, [a, b])
    a._grad = b._grad = None
    f(a, b).backward()
    assert type(a.grad) is float and type(b.grad) is float


def test_getitem_with_a_none_index_and_tensor_constants():
    x = Value(np.array([1.0, 2.0, 3.0]))
    x[None].sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0, 1.0])
    y = Value(np.arange(6.0).reshape(2, 3))
    (y[1, [0, 0, 2]] * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_array_equal(y.grad, [[0, 0, 0], [3, 0, 3]])


def test_no_grad_enable_grad_and_detach():
    x = Value(2.0, label="x")
    with no_grad():
        a = x * 2.0
        with enable_grad():
            b = x * 2.0
        c = _ScaleForPickle.apply(x, 2.0)
    assert not a.requires_grad and a.parents == () and a.is_leaf
    assert b.requires_grad and b.parents[0] is x
    assert not c.requires_grad and c.parents == ()
    d = b.detach()
    assert not d.requires_grad and d.is_leaf and d.data == 4.0
    b.backward()
    assert x.grad == 2.0 and not d.has_grad


def test_arithmetic_apply_lifts_numbers_and_integer_arrays():
    x = Value(np.array([1.0, 2.0]))
    y = ops.Mul.apply(x, np.array([2, 3]))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 3.0])
    z = Value(2.0)
    ops.Sub.apply(3.0, z).backward()
    assert z.grad == -1.0
    with pytest.raises(TypeError, match="unsupported operand"):
        ops.Add.apply(x, [1.0, 2.0])

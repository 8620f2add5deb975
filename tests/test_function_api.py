"""The extension API a student uses: ``Function`` subclasses and ``gradcheck``."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mlp import Function, GradcheckError, Value, gradcheck

# --------------------------------------------------------------------------- a student's ops


class Sin(Function):
    """sin(x), written with numpy so it works on scalars and tensors alike."""

    symbol = "sin"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values
        return grad * np.cos(x)


class Cube(Function):
    """x**3, with no ``symbol``: displayed by its class name."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values
        return 3.0 * x * x * grad


class ScaledLeaky(Function):
    """Leaky relu with a ``slope`` argument that is a plain number."""

    symbol = "leaky"

    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x, slope)
        return np.where(x > 0, x, slope * x)

    @staticmethod
    def backward(ctx, grad):
        x, slope = ctx.saved_values
        return grad * np.where(x > 0, 1.0, slope), None


class LogSumExp(Function):
    """log(sum(exp(x), axis)) with an ``axis`` argument."""

    symbol = "logsumexp"

    @staticmethod
    def forward(ctx, x, axis):
        m = np.max(x, axis=axis, keepdims=True)
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
        ctx.save_for_backward(x, out, axis)
        return np.squeeze(out, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        x, out, axis = ctx.saved_values
        return np.expand_dims(grad, axis) * np.exp(x - out), None


class MulAdd(Function):
    """a * b + c, three Value inputs; records which ones needed a gradient."""

    seen: list = []

    @staticmethod
    def forward(ctx, a, b, c):
        ctx.save_for_backward(a, b)
        return a * b + c

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_values
        MulAdd.seen.append(ctx.needs_input_grad)
        need_a, need_b, need_c = ctx.needs_input_grad
        return (grad * b if need_a else None, grad * a if need_b else None,
                grad if need_c else None)


# --------------------------------------------------------------------------- forward/backward


def test_student_op_forward_backward_on_a_scalar():
    x = Value(0.5, label="x")
    y = Sin.apply(x)
    assert type(y.data) is float  # numpy's float64 came back as a Python float
    assert y.data == pytest.approx(np.sin(0.5))
    assert y.op == "sin"
    assert y.parents == (x,)
    assert y.function is Sin
    y.backward()
    assert type(x.grad) is float
    assert x.grad == pytest.approx(np.cos(0.5))


def test_student_op_on_a_tensor_and_inside_an_expression():
    x = Value(np.array([0.1, 0.2, 0.3]))
    w = Value(2.0)
    y = (Sin.apply(x * w) * 3.0).sum()
    y.backward()
    np.testing.assert_allclose(x.grad, 3.0 * np.cos(2.0 * x.data) * 2.0)
    assert w.grad == pytest.approx(float(np.sum(3.0 * np.cos(2.0 * x.data) * x.data)))


def test_student_op_in_a_hand_built_neuron():
    x1, x2 = Value(2.0), Value(0.0)
    w1, w2, b = Value(-3.0), Value(1.0), Value(6.88)
    assert gradcheck(lambda *v: Sin.apply(v[0] * v[2] + v[1] * v[3] + v[4]), [x1, x2, w1, w2, b])


def test_op_name_is_symbol_or_class_name():
    x = Value(1.0)
    assert Sin.apply(x).op == "sin"
    assert Cube.apply(x).op == "Cube"
    assert ScaledLeaky.apply(x, 0.1).op == "leaky"


def test_save_for_backward_and_saved_values():
    x = Value(np.array([1.0, -2.0]))
    y = ScaledLeaky.apply(x, 0.25)
    saved_x, slope = y.saved_values
    np.testing.assert_array_equal(saved_x, x.data)
    assert slope == 0.25


def test_saved_values_reach_backward():
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward("token", x)
            return x + 1.0

        @staticmethod
        def backward(ctx, grad):
            seen.append(ctx.saved_values)
            return grad

    Probe.apply(Value(2.0)).backward()
    assert seen == [("token", 2.0)]


def test_non_value_arguments_pass_through_with_no_gradient():
    x = Value(np.array([[1.0, -2.0], [-3.0, 4.0]]))
    y = ScaledLeaky.apply(x, 0.1)
    assert y.parents == (x,)  # the slope is not a node
    np.testing.assert_allclose(y.data, [[1.0, -0.2], [-0.3, 4.0]])
    assert y.needs_input_grad == (True, False)
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [[1.0, 0.1], [0.1, 1.0]])
    assert gradcheck(lambda x: ScaledLeaky.apply(x, 0.1), [x])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_axis_argument_passes_through(axis):
    rng = np.random.default_rng(0)
    x = Value(rng.normal(size=(3, 4)))
    y = LogSumExp.apply(x, axis)
    expected = np.log(np.exp(x.data).sum(axis=axis))
    np.testing.assert_allclose(y.data, expected)
    assert gradcheck(lambda x: LogSumExp.apply(x, axis), [x])


def test_needs_input_grad_tells_which_inputs_need_a_gradient():
    MulAdd.seen.clear()
    a = Value(2.0)
    b = Value(3.0, requires_grad=False)
    c = Value(4.0)
    y = MulAdd.apply(a, b, c)
    assert y.data == 10.0
    y.backward()
    assert MulAdd.seen == [(True, False, True)]
    assert (a.grad, b.grad, c.grad) == (3.0, 0.0, 1.0)


def test_float_arrays_become_constant_inputs_integer_arrays_pass_through():
    seen = []

    class Pick(Function):
        @staticmethod
        def forward(ctx, x, scale, idx):
            seen.append((type(scale), type(idx), idx.dtype.kind))
            ctx.save_for_backward(scale, idx)
            return (x * scale)[idx]

        @staticmethod
        def backward(ctx, grad):
            scale, idx = ctx.saved_values
            g = np.zeros(scale.shape)
            np.add.at(g, idx, grad)
            return g * scale, None, None

    x = Value(np.array([1.0, 2.0, 3.0]))
    scale = np.array([10.0, 20.0, 30.0])
    y = Pick.apply(x, scale, np.array([2, 2, 0]))
    assert seen[0] == (np.ndarray, np.ndarray, "i")
    assert len(y.parents) == 2 and y.parents[0] is x
    assert y.parents[1].requires_grad is False  # the float array is a constant node
    assert y.needs_input_grad == (True, False, False)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [10.0, 0.0, 60.0])


def test_numpy_forward_on_scalars_gives_float_data_and_float_grads():
    class Expm1(Function):
        @staticmethod
        def forward(ctx, x):
            return np.expm1(x)

        @staticmethod
        def backward(ctx, grad):
            return grad * np.exp(ctx.parents[0].data)

    x = Value(0.5)
    y = Expm1.apply(x)
    assert type(y.data) is float
    z = y * 2.0 + Cube.apply(x)
    assert type(z.data) is float
    z.backward()
    assert type(x.grad) is float
    assert x.grad == pytest.approx(2 * np.exp(0.5) + 3 * 0.25)


def test_forward_returning_a_0d_array_gives_a_scalar():
    class Total(Function):
        @staticmethod
        def forward(ctx, x):
            return np.asarray(np.sum(x))

        @staticmethod
        def backward(ctx, grad):
            return grad  # broadcast back to x's shape by the engine

    x = Value(np.ones((2, 3)))
    y = Total.apply(x)
    assert type(y.data) is float and y.data == 6.0
    y.backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 3)))


def test_backward_may_return_a_broadcast_shaped_gradient():
    class AddRow(Function):
        @staticmethod
        def forward(ctx, m, row):
            return m + row

        @staticmethod
        def backward(ctx, grad):
            return grad, grad  # both of the output's shape

    m = Value(np.zeros((3, 2)))
    row = Value(np.zeros(2, dtype=np.float32))
    AddRow.apply(m, row).sum().backward()
    np.testing.assert_array_equal(row.grad, [3.0, 3.0])
    assert row.grad.dtype == np.float32


def test_a_function_under_no_grad_records_nothing():
    from tinygrad_mlp import no_grad

    with no_grad():
        y = Sin.apply(Value(1.0))
    assert y.parents == () and y.op == "" and not y.requires_grad


# --------------------------------------------------------------------------- wrong backward


def test_wrong_number_of_gradients_is_a_clear_type_error():
    class TwoInOneOut(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return grad  # should be two gradients

    a, b = Value(2.0), Value(3.0)
    y = TwoInOneOut.apply(a, b)
    with pytest.raises(TypeError) as info:
        y.backward()
    msg = str(info.value)
    assert "TwoInOneOut" in msg and "1" in msg and "2" in msg
    # a correct graph over the same leaves still works afterwards
    (a * b).backward()
    assert (a.grad, b.grad) == (3.0, 2.0)


def test_wrong_number_of_gradients_with_a_non_value_argument():
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, grad):
            return grad, None, None  # one too many

    with pytest.raises(TypeError, match=r"Scale.*3.*2"):
        Scale.apply(Value(1.0), 2.0).backward()


def test_gradient_of_the_wrong_shape_is_a_clear_error():
    class BadShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0

        @staticmethod
        def backward(ctx, grad):
            return np.ones(5)

    with pytest.raises(ValueError, match=r"BadShape.*\(5,\).*\(2, 3\)"):
        BadShape.apply(Value(np.ones((2, 3)))).sum().backward()


# --------------------------------------------------------------------------- gradcheck


def test_gradcheck_passes_for_correct_ops():
    rng = np.random.default_rng(1)
    assert gradcheck(Sin.apply, [Value(0.3)]) is True
    assert gradcheck(Sin.apply, [Value(rng.normal(size=(2, 3)))]) is True
    assert gradcheck(Cube.apply, [Value(rng.normal(size=4))]) is True
    assert gradcheck(MulAdd.apply, [Value(rng.normal(size=3)), Value(2.0), Value(0.5)]) is True


class WrongSin(Sin):
    """sin with a deliberately wrong derivative at element 1 of a tensor, everywhere for a
    scalar (its forward is Sin's)."""

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values
        g = grad * np.cos(x)
        if type(x) is float:
            return g + 1.0
        g = np.array(g, copy=True)
        g.reshape(-1)[1] += 1.0
        return g


def test_gradcheck_raises_naming_input_and_element():
    a = Value(np.array([0.1, 0.2]), label="a")
    x = Value(np.array([[0.3, 0.4], [0.5, 0.6]]), label="x")
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda a, x: a.sum() + WrongSin.apply(x), [a, x])
    err = info.value
    assert isinstance(err, AssertionError)
    assert err.input_index == 1
    assert err.element == (0, 1)
    assert err.analytic == pytest.approx(err.numeric + 1.0, abs=1e-4)
    msg = str(err)
    assert "input 1" in msg and "'x'" in msg and "(0, 1)" in msg
    assert "analytic" in msg and "numeric" in msg


def test_gradcheck_raises_for_a_wrong_scalar_op():
    x = Value(0.7, label="x")
    with pytest.raises(GradcheckError, match="input 0") as info:
        gradcheck(WrongSin.apply, [x])
    assert info.value.element == ()
    assert info.value.analytic == pytest.approx(np.cos(0.7) + 1.0)
    assert info.value.numeric == pytest.approx(np.cos(0.7), abs=1e-6)


def test_gradcheck_checks_tensor_outputs_too():
    x = Value(np.array([0.1, 0.2, 0.3]))
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongSin.apply, [x])  # not reduced to a scalar by the caller
    assert info.value.element == (1,)


def test_gradcheck_restores_data_and_grads():
    x = Value(np.array([0.1, 0.2], dtype=np.float32), label="x")
    s = Value(0.5)
    x.grad = [7.0, 8.0]
    data_before = x.data
    values_before = x.data.copy()
    assert gradcheck(lambda x, s: Sin.apply(x * s), [x, s])
    assert x.data is data_before
    assert x.data.dtype == np.float32
    np.testing.assert_array_equal(x.data, values_before)
    np.testing.assert_array_equal(x.grad, [7.0, 8.0])
    assert s.data == 0.5
    assert s.grad == 0.0


def test_gradcheck_restores_data_and_grads_after_a_failure():
    x = Value(np.array([0.1, 0.2, 0.3]))
    before = x.data.copy()
    x.grad = [1.0, 2.0, 3.0]
    with pytest.raises(GradcheckError):
        gradcheck(WrongSin.apply, [x])
    np.testing.assert_array_equal(x.data, before)
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])


def test_gradcheck_with_a_function_that_closes_over_its_inputs():
    rng = np.random.default_rng(2)
    w = Value(rng.normal(size=(2, 3)), label="w")
    b = Value(rng.normal(size=2), label="b")
    x = rng.normal(size=3)

    def loss():
        return ((w @ x + b).tanh() ** 2).sum()

    assert gradcheck(loss, [w, b]) is True

    def bad_loss():
        return WrongSin.apply(w @ x + b).sum()

    with pytest.raises(GradcheckError) as info:
        gradcheck(bad_loss, [w, b])
    assert info.value.input_index == 0  # w comes first and is affected too


def test_gradcheck_skips_inputs_that_need_no_gradient():
    c = Value(np.array([1.0, 2.0]), requires_grad=False)
    x = Value(np.array([0.3, 0.4]))
    assert gradcheck(lambda x, c: WrongSin.apply(c) + Sin.apply(x), [x, c])


def test_gradcheck_refuses_non_values():
    with pytest.raises(TypeError, match="input 0"):
        gradcheck(Sin.apply, [np.array([1.0])])
    with pytest.raises(TypeError, match="must return a Value"):
        gradcheck(lambda x: 1.0, [Value(1.0)])


@pytest.mark.parametrize("module", [None, "tinygrad_mlp.ops"])
def test_ctx_keeps_extra_attributes_as_in_pytorch(module):
    # an operation behaves the same wherever its class is defined, in ops.py too
    class Scale(Function):
        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            return x * k

        @staticmethod
        def backward(ctx, grad):
            return grad * ctx.k, None

    if module is not None:
        Scale.__module__ = module
    x = Value(2.0)
    y = Scale.apply(x, 3.0)
    assert isinstance(y, Value) and y.op == "Scale" and y.k == 3.0
    y.backward()
    assert x.grad == 3.0


@pytest.mark.fast_only
def test_built_in_nodes_carry_no_attribute_dict():
    # every node of a graph pays for a __dict__ pointer, so built-in nodes have none
    x = Value(2.0, label="x")
    y = (x * 3).relu()
    for v in (x, y):
        assert type(v) is Value and not hasattr(v, "__dict__")
    with pytest.raises(AttributeError):
        y.anything = 1
    y.label, y.role, y.index = "y", "z", (1, 1)
    assert (y.label, y.role, y.index) == ("y", "z", (1, 1))


def test_backward_may_return_a_list():
    class MulL(Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, grad):
            a, b = ctx.saved_values
            return [grad * b, grad * a]

    a, b = Value(2.0), Value(5.0)
    MulL.apply(a, b).backward()
    assert (a.grad, b.grad) == (5.0, 2.0)


def test_a_gradient_of_the_wrong_shape_is_an_error_not_summed():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            return np.ones((5, 3))

    x = Value(np.ones(3))
    with pytest.raises(ValueError, match=r"'Wrong'.*\(5, 3\).*\(3,\)"):
        Wrong.apply(x).sum().backward()


def test_gradcheck_names_the_output_element_of_a_tensor_output():
    class BadSin(Sin):  # Sin's forward, a wrong backward
        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_values
            return grad * np.sin(x)  # wrong: should be cos

    with pytest.raises(GradcheckError) as info:
        gradcheck(BadSin.apply, [Value(np.array([0.5, 1.0]), label="x")])
    err = info.value
    assert err.output_element == (0,) and err.element == (0,)
    assert err.analytic == pytest.approx(np.sin(0.5))  # values a student can check by hand
    assert err.numeric == pytest.approx(np.cos(0.5), abs=1e-6)
    assert "output element (0,)" in str(err)


def test_gradcheck_leaves_the_grads_of_other_leaves_alone():
    from tinygrad_mlp import MLP

    model = MLP(2, [3, 1], seed=0)
    X = np.ones((4, 2))
    model(X).sum().backward()
    before = [p.grad.copy() for p in model.parameters()]
    assert gradcheck(lambda: model(X).sum(), [model.layers[0].W])
    for p, g in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.grad, g)


@pytest.mark.parametrize("op, expected", [
    ("Add", (5.0, 1.0)), ("Sub", (-1.0, 1.0)), ("Mul", (6.0, 3.0)),
    ("Div", (2.0 / 3.0, 1.0 / 3.0)), ("Pow", (8.0, 12.0)),
])
def test_built_in_arithmetic_apply_takes_numbers_as_constants(op, expected):
    from tinygrad_mlp import ops

    x = Value(2.0)
    y = getattr(ops, op).apply(x, 3.0)
    y.backward()
    assert (y.data, x.grad) == pytest.approx(expected)
    assert not y.parents[1].requires_grad
    with pytest.raises(TypeError, match="unsupported operand type 'str'"):
        getattr(ops, op).apply(x, "3")


def test_requires_grad_is_a_switch_on_leaves_only():
    w = Value(1.0)
    w.requires_grad = False
    y = w * 2
    assert not y.requires_grad and y.parents == ()
    w.requires_grad = True
    y = w * 2
    assert y.requires_grad
    with pytest.raises(ValueError, match="leaves only"):
        y.requires_grad = False


def test_a_failed_backward_leaves_constants_constant():
    class Broken(Function):
        @staticmethod
        def forward(ctx, x, c):
            return x * c

        @staticmethod
        def backward(ctx, grad):
            raise RuntimeError("broken")

    x, c = Value(2.0), Value(3.0, requires_grad=False)
    y = Broken.apply(x, c) + x
    with pytest.raises(RuntimeError, match="broken"):
        y.backward()
    assert not c.requires_grad and x.requires_grad
    y.zero_grad()
    (x * 1.0).backward()
    assert x.grad == 1.0

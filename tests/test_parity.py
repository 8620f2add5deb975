"""What a numpy or PyTorch user expects of a Value: results, gradients and error types.

Each test pins one behaviour where the library used to differ (gradients at base 0, relu at
NaN, empty means, axes, comparisons, conversions, indexing a scalar...).  They run on both
engines; the PyTorch comparisons skip cleanly where torch is not installed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.exceptions import AxisError

from tinygrad_mlp import Value, gradcheck
from tinygrad_mlp.functional import log_softmax, softmax


def _grads(fn, *xs):
    vals = [Value(x) for x in xs]
    out = fn(*vals)
    (out.sum() if out.ndim else out).backward()
    return [v.grad for v in vals]


# --------------------------------------------------------------------------- ** at base 0
@pytest.mark.parametrize("p, expected", [(0, 0.0), (1, 1.0), (2, 0.0), (3.0, 0.0)])
def test_constant_exponents_at_base_zero(p, expected):
    (g,) = _grads(lambda x: x ** p, 0.0)
    assert g == expected  # d(x**0)/dx = 0 (was nan: 0 * 0**-1)


def test_tensor_exponent_with_a_constant_base_zero():
    x = Value(np.array([0.0, 1.0, 2.0]))
    (0.0 ** x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])  # was [-inf, nan, nan]


@pytest.mark.parametrize("e, base_grad, exp_grad", [(0.3, np.inf, 0.0), (-0.5, -np.inf, -np.inf),
                                                    (0.0, 0.0, 0.0), (2.0, 0.0, 0.0)])
def test_value_exponent_at_base_zero_matches_pytorch(e, base_grad, exp_grad):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        b, x = _grads(lambda b, x: b ** x, 0.0, e)
    assert (b, x) == (base_grad, exp_grad)


def test_pow_at_zero_against_pytorch():
    torch = pytest.importorskip("torch")
    base = np.array([0.0, 0.0, 0.0, 2.0])
    expo = np.array([0.0, 1.0, 2.5, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ours = _grads(lambda b, e: b ** e, base, expo)
    tb = torch.tensor(base, requires_grad=True)
    te = torch.tensor(expo, requires_grad=True)
    (tb ** te).sum().backward()
    np.testing.assert_array_equal(ours[0], tb.grad.numpy())
    np.testing.assert_array_equal(ours[1], te.grad.numpy())


# --------------------------------------------------------------------------- relu at NaN
@pytest.mark.parametrize("data", [float("nan"), np.array([np.nan, -1.0, 0.0, 2.0])])
def test_relu_passes_the_gradient_at_nan_as_pytorch(data):
    (g,) = _grads(lambda x: x.relu(), data)
    expected = 1.0 if type(data) is float else [1.0, 0.0, 0.0, 1.0]
    np.testing.assert_array_equal(g, expected)


# --------------------------------------------------------------------------- empty means
def test_mean_of_nothing_is_nan_with_numpys_warning():
    x = Value(np.zeros(0))
    with pytest.warns(RuntimeWarning):
        m = x.mean()
    assert np.isnan(m.data)
    with pytest.warns(RuntimeWarning):
        rows = Value(np.zeros((0, 3))).mean(axis=0)
    assert rows.shape == (3,) and np.isnan(rows.data).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        x.mean().backward()
    assert x.grad.shape == (0,)


# --------------------------------------------------------------------------- axes
def test_an_invalid_axis_is_numpys_axis_error_naming_the_operation():
    x = Value(np.ones((2, 3)))
    for call in (lambda: x.sum(axis=5), lambda: x.mean(axis=-3), lambda: x.max(axis=2),
                 lambda: log_softmax(x, 4)):
        with pytest.raises(AxisError, match=r"\(2, 3\)") as info:
            call()
        assert isinstance(info.value, ValueError) and isinstance(info.value, IndexError)


@pytest.mark.parametrize("axis", [0, -1, None, (0,)])
def test_a_scalar_takes_axis_0_and_minus_1_as_pytorch_takes_dim_0_and_minus_1(axis):
    x = Value(3.0)
    for name in ("sum", "mean", "max"):
        assert getattr(x, name)(axis=axis).data == 3.0
    if axis is not None and not isinstance(axis, tuple):
        y = log_softmax(x, axis)
        y.backward()
        assert (y.data, softmax(x, axis).data, x.grad) == (0.0, 1.0, 0.0)


@pytest.mark.parametrize("axis", [1, -2, (0, 1)])
def test_any_other_axis_of_a_scalar_is_an_axis_error(axis):
    for name in ("sum", "mean", "max"):
        with pytest.raises(AxisError):
            getattr(Value(3.0), name)(axis=axis)  # sum(axis=1) used to return 3.0


# --------------------------------------------------------------------------- indexing a scalar
def test_a_scalar_takes_none_and_ellipsis_but_an_int_is_an_index_error():
    x = Value(2.0)
    assert x[None].shape == (1,) and x[None, None].shape == (1, 1) and x[...].data == 2.0
    assert gradcheck(lambda v: v[None] * 3.0, [x])
    with pytest.raises(IndexError):
        x[0]


# --------------------------------------------------------------------------- operators
def test_power_with_an_array_exponent():
    x = Value(np.array([1.5, 2.0]))
    y = x ** np.array([2.0, 3.0])
    np.testing.assert_allclose(y.data, [2.25, 8.0])
    assert gradcheck(lambda v: v ** np.array([2.0, 3.0]), [x])


def test_abs_float_and_int():
    assert abs(Value(-2.5)).data == 2.5 and abs(Value(-2.5)).op == "abs"
    assert float(Value(2.5)) == 2.5 and int(Value(np.array([3.7]))) == 3
    assert float(Value(np.array([[1.5]]))) == 1.5
    with pytest.raises(TypeError, match="one element"):
        float(Value(np.ones(2)))


def test_orderings_give_constant_values_in_the_operands_dtype():
    x = Value(np.array([-1.0, 0.0, 2.0], dtype=np.float32))
    for got, expected in ((x > 0, [0, 0, 1]), (x >= 0, [0, 1, 1]), (x < 0, [1, 0, 0]),
                          (x <= 0, [1, 1, 0]), (0 < x, [0, 0, 1]),
                          (x > np.zeros(3, np.float32), [0, 0, 1])):
        assert isinstance(got, Value) and not got.requires_grad and got.dtype == np.float32
        np.testing.assert_array_equal(got.data, expected)
    # with a float64 operand, numpy's promotion: float64
    for got in (x > np.zeros(3), x > Value(np.ones(3))):
        assert got.dtype == np.float64 and not got.requires_grad
    y = Value(np.array([-1.0, 2.0]))
    ((y > 0) * y).sum().backward()  # a mask from a comparison
    np.testing.assert_array_equal(y.grad, [0.0, 1.0])
    assert (Value(2.0) > 1).data == 1.0 and type((Value(2.0) > 1).data) is float


def test_equality_and_hashing_stay_identity_and_truth_points_to_item():
    a, b = Value(1.0), Value(1.0)
    assert a != b and a == a and len({a, b}) == 2
    with pytest.raises(TypeError, match=r"item\(\).*\.data"):
        if a > 0:
            pass


def test_grad_set_to_a_number_fills_an_array_parameter():
    p = Value(np.ones((2, 3)))
    p.grad = 0  # micrograd's idiom
    np.testing.assert_array_equal(p.grad, np.zeros((2, 3)))
    p.grad = 1.5
    assert p.grad.shape == (2, 3) and (p.grad == 1.5).all()


# --------------------------------------------------------------------------- inputs
def test_backward_reads_the_inputs_as_they_are_then_as_documented():
    # Like parameters, input arrays are not copied: backward() reads the operands' data as it
    # is when it runs (Value.backward's docstring says so), so change inputs only after it.
    x = np.array([1.0, 2.0])
    w = Value(np.array([3.0, 4.0]))
    y = (w * x).sum()
    x[...] = [10.0, 20.0]
    y.backward()
    np.testing.assert_array_equal(w.grad, [10.0, 20.0])
    assert "input arrays" in Value.backward.__doc__

"""Every operation's gradient against central finite differences (``gradcheck``).

Each op is checked on scalars and on broadcast tensors, in float64 and with float32 operands
(whose gradients must stay float32).  Inputs are drawn away from kinks and poles.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mlp import GradcheckError, Value, gradcheck


def draw(rng: np.random.Generator, shape, domain: str = "any", dtype=np.float64):
    """Random data for one operand: ``any`` in [-2, 2], ``away0`` with |x| in [0.3, 2],
    ``pos`` in [0.5, 2].  A shape of ``()`` gives a Python float."""
    if domain == "any":
        x = rng.uniform(-2.0, 2.0, size=shape)
    elif domain == "away0":
        x = rng.uniform(0.3, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    elif domain == "pos":
        x = rng.uniform(0.5, 2.0, size=shape)
    else:  # pragma: no cover - a typo in a test table
        raise AssertionError(domain)
    if shape == ():
        return float(x)
    return np.asarray(x, dtype=dtype)


def grads_of(fn, *values: Value):
    """Run ``fn`` on fresh copies of ``values``, backward a weighted sum, return the grads."""
    y = fn(*values)
    if type(y.data) is float:
        y.backward()
    else:
        y.backward(np.linspace(0.5, 1.5, y.size).reshape(y.shape))
    return y, [v.grad for v in values]


# --------------------------------------------------------------------------- unary ops

UNARY = {
    "neg": (lambda a: -a, "any"),
    "relu": (lambda a: a.relu(), "away0"),
    "leaky_relu": (lambda a: a.leaky_relu(0.2), "away0"),
    "tanh": (lambda a: a.tanh(), "any"),
    "sigmoid": (lambda a: a.sigmoid(), "any"),
    "exp": (lambda a: a.exp(), "any"),
    "log": (lambda a: a.log(), "pos"),
    "abs": (lambda a: a.abs(), "away0"),
    "sqrt": (lambda a: a.sqrt(), "pos"),
    "pow2": (lambda a: a**2, "any"),
    "pow2_int": (lambda a: a ** np.int64(2), "any"),
    "pow3": (lambda a: a**3, "any"),
    "pow0": (lambda a: a**0, "any"),
    "pow_half": (lambda a: a**0.5, "pos"),
    "pow_minus1": (lambda a: a**-1, "away0"),
    "pow_minus2.5": (lambda a: a**-2.5, "pos"),
    "rsub_number": (lambda a: 3.0 - a, "any"),
    "rdiv_number": (lambda a: 3.0 / a, "away0"),
    "rpow_number": (lambda a: 1.7**a, "any"),
    "radd_int": (lambda a: 2 + a, "any"),
    "rmul_int": (lambda a: 2 * a, "any"),
    "div_number": (lambda a: a / 4.0, "any"),
    "sub_number": (lambda a: a - 0.5, "any"),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradient_on_scalars(name):
    fn, domain = UNARY[name]
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = Value(draw(rng, (), domain), label="x")
        assert gradcheck(fn, [x])


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(1,), (5,), (2, 3)])
def test_unary_gradient_on_tensors(name, shape):
    fn, domain = UNARY[name]
    rng = np.random.default_rng(1)
    x = Value(draw(rng, shape, domain), label="x")
    assert gradcheck(fn, [x])


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_float32_keeps_float32(name):
    fn, domain = UNARY[name]
    rng = np.random.default_rng(2)
    data = draw(rng, (2, 3), domain)
    x32 = Value(data.astype(np.float32))
    y32, (g32,) = grads_of(fn, x32)
    assert y32.data.dtype == np.float32
    assert g32.dtype == np.float32 and g32.shape == (2, 3)
    y64, (g64,) = grads_of(fn, Value(data.astype(np.float32).astype(np.float64)))
    np.testing.assert_allclose(y32.data, y64.data, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- binary ops

BINARY = {
    "+": (lambda a, b: a + b, "any", "any"),
    "-": (lambda a, b: a - b, "any", "any"),
    "*": (lambda a, b: a * b, "any", "any"),
    "/": (lambda a, b: a / b, "any", "away0"),
    "**": (lambda a, b: a**b, "pos", "any"),
}

SHAPE_PAIRS = [
    ((), ()),
    ((3,), (3,)),
    ((2, 3), (2, 3)),
    ((2, 3), (3,)),
    ((3,), (2, 3)),
    ((2, 1), (1, 3)),
    ((2, 3), (2, 1)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((4, 1, 3), (2, 1)),
    ((1,), (2, 3)),
]


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_binary_gradient_with_broadcasting(name, shapes):
    fn, da, db = BINARY[name]
    rng = np.random.default_rng(3)
    a = Value(draw(rng, shapes[0], da), label="a")
    b = Value(draw(rng, shapes[1], db), label="b")
    y = fn(a, b)
    expected = fn(np.asarray(a.data), np.asarray(b.data))
    assert y.shape == np.shape(expected)
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)
    assert gradcheck(fn, [a, b])
    # the gradient of each operand has the operand's own shape and type
    _, (ga, gb) = grads_of(fn, a, b)
    assert np.shape(ga) == shapes[0] and np.shape(gb) == shapes[1]
    assert (type(ga) is float) == (shapes[0] == ())
    assert (type(gb) is float) == (shapes[1] == ())


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", [((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3))], ids=str)
def test_binary_float32_grads_stay_float32(name, shapes):
    fn, da, db = BINARY[name]
    rng = np.random.default_rng(4)
    a64, b64 = draw(rng, shapes[0], da), draw(rng, shapes[1], db)
    a32 = np.float32(a64) if shapes[0] == () else a64.astype(np.float32)
    b32 = np.float32(b64) if shapes[1] == () else b64.astype(np.float32)
    a, b = Value(a32), Value(b32)
    y, (ga, gb) = grads_of(fn, a, b)
    assert y.data.dtype == np.float32
    for v, g in ((a, ga), (b, gb)):
        if v.shape == ():
            assert type(g) is float
        else:
            assert g.dtype == np.float32 and g.shape == v.shape
    _, (ra, rb) = grads_of(fn, Value(np.float64(a32)), Value(np.float64(b32)))
    np.testing.assert_allclose(ga, ra, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gb, rb, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_mixed_float32_and_float64_each_keep_their_dtype(name):
    fn, da, db = BINARY[name]
    rng = np.random.default_rng(5)
    a = Value(draw(rng, (2, 3), da).astype(np.float32))
    b = Value(draw(rng, (3,), db))
    y, (ga, gb) = grads_of(fn, a, b)
    assert y.data.dtype == np.float64  # numpy promotion
    assert ga.dtype == np.float32
    assert gb.dtype == np.float64


def test_gradient_of_a_constant_operand_is_not_computed():
    a = Value(np.array([1.0, 2.0]))
    c = Value(np.array([3.0, 4.0]), requires_grad=False)
    (a * c).sum().backward()
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])
    np.testing.assert_array_equal(c.grad, [0.0, 0.0])


# --------------------------------------------------------------------------- reflected ops

REFLECTED = {
    "array+V": (lambda v, arr: arr + v, "any"),
    "array-V": (lambda v, arr: arr - v, "any"),
    "array*V": (lambda v, arr: arr * v, "any"),
    "array/V": (lambda v, arr: arr / v, "away0"),
    "V+array": (lambda v, arr: v + arr, "any"),
    "V-array": (lambda v, arr: v - arr, "any"),
    "V*array": (lambda v, arr: v * arr, "any"),
    "V/array": (lambda v, arr: v / (arr + 3.0), "any"),
    "array**V": (lambda v, arr: (arr + 3.0) ** v, "any"),
}


@pytest.mark.parametrize("name", sorted(REFLECTED))
@pytest.mark.parametrize("vshape", [(), (3,), (2, 3)], ids=str)
def test_ops_with_arrays_on_either_side(name, vshape):
    fn, domain = REFLECTED[name]
    rng = np.random.default_rng(6)
    arr = rng.uniform(-2.0, 2.0, size=(2, 3))
    v = Value(draw(rng, vshape, domain), label="v")
    y = fn(v, arr)
    assert type(y) is Value
    assert y.shape == (2, 3)
    np.testing.assert_allclose(y.data, fn(np.asarray(v.data), arr), rtol=1e-12)
    assert gradcheck(lambda v: fn(v, arr), [v])


def test_scalar_value_times_array_sums_gradient_back_to_a_float():
    v = Value(2.0)
    arr = np.array([[1.0, 2.0], [3.0, 4.0]])
    (arr * v).sum().backward()
    assert type(v.grad) is float and v.grad == 10.0


# --------------------------------------------------------------------------- matmul

MATMUL_SHAPES = [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((1, 3), (3, 1))]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_gradient(shapes):
    rng = np.random.default_rng(7)
    a = Value(draw(rng, shapes[0]), label="a")
    b = Value(draw(rng, shapes[1]), label="b")
    y = a @ b
    expected = a.data @ b.data
    assert y.op == "@"
    assert y.shape == np.shape(expected)
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)
    assert gradcheck(lambda a, b: a @ b, [a, b])


def test_matmul_of_two_vectors_is_a_scalar_dot_product():
    a, b = Value(np.array([1.0, 2.0, 3.0])), Value(np.array([4.0, 5.0, 6.0]))
    y = a @ b
    assert type(y.data) is float and y.data == 32.0
    y.backward()
    np.testing.assert_array_equal(a.grad, [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(b.grad, [1.0, 2.0, 3.0])


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_float32_grads_stay_float32(shapes):
    rng = np.random.default_rng(8)
    a = Value(draw(rng, shapes[0], dtype=np.float32))
    b = Value(draw(rng, shapes[1], dtype=np.float32))
    y, (ga, gb) = grads_of(lambda a, b: a @ b, a, b)
    if y.shape:
        assert y.data.dtype == np.float32
    assert ga.dtype == np.float32 and gb.dtype == np.float32
    _, (ra, rb) = grads_of(
        lambda a, b: a @ b, Value(a.data.astype(np.float64)), Value(b.data.astype(np.float64))
    )
    np.testing.assert_allclose(ga, ra, rtol=1e-5)
    np.testing.assert_allclose(gb, rb, rtol=1e-5)


def test_matmul_with_an_array_on_either_side():
    rng = np.random.default_rng(9)
    W = Value(rng.normal(size=(3, 2)), label="W")
    X = rng.normal(size=(4, 3))
    assert gradcheck(lambda W: X @ W, [W])
    v = rng.normal(size=2)
    assert gradcheck(lambda W: W @ v, [W])


# --------------------------------------------------------------------------- reductions

AXES = [None, 0, 1, -1, (0, 2), (0, 1, 2)]


def distinct(rng, shape):
    """Values in a random order, pairwise at least 0.1 apart: max has no ties."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 + rng.uniform(0.0, 0.01, size=n) - n * 0.05).reshape(shape)


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduction_gradient(name, axis, keepdims):
    rng = np.random.default_rng(10)
    x = Value(distinct(rng, (2, 3, 4)), label="x")

    def fn(x):
        return getattr(x, name)(axis=axis, keepdims=keepdims)

    y = fn(x)
    expected = getattr(np, name)(x.data, axis=axis, keepdims=keepdims)
    assert y.shape == np.shape(expected)
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)
    assert y.op == name
    assert gradcheck(fn, [x])


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [None, 0, -1])
def test_reduction_float32(name, axis):
    rng = np.random.default_rng(11)
    x = Value(distinct(rng, (3, 4)).astype(np.float32))
    y, (g,) = grads_of(lambda x: getattr(x, name)(axis=axis), x)
    assert g.dtype == np.float32
    if axis is not None:
        assert y.data.dtype == np.float32


def test_max_gradient_goes_to_the_maximum_only():
    x = Value(np.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]]))
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 1, 0], [1, 0, 0]])


def test_max_ties_share_the_gradient_equally():
    x = Value(np.array([1.0, 3.0, 3.0, 3.0]))
    x.max().backward()
    np.testing.assert_allclose(x.grad, [0.0, 1 / 3, 1 / 3, 1 / 3])


def test_mean_gradient_is_one_over_n():
    x = Value(np.ones((2, 5)))
    x.mean(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, np.full((2, 5), 0.2))


def test_reductions_on_a_scalar_are_the_identity():
    for name in ("sum", "mean", "max"):
        x = Value(3.0)
        y = getattr(x, name)()
        assert type(y.data) is float and y.data == 3.0
        y.backward()
        assert x.grad == 1.0


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("shape", [(3, 2), (-1,), (6, 1), (1, 2, 3), (2, -1)], ids=str)
def test_reshape_gradient(shape):
    rng = np.random.default_rng(12)
    x = Value(rng.normal(size=(2, 3)))
    y = x.reshape(shape)
    np.testing.assert_array_equal(y.data, x.data.reshape(shape))
    assert y.op == "reshape"
    w = rng.normal(size=y.shape)  # a weighting that tells the elements apart
    assert gradcheck(lambda x: (x.reshape(shape) * w).sum(), [x])
    assert gradcheck(lambda x: x.reshape(*shape), [x])


def test_transpose_gradient():
    rng = np.random.default_rng(13)
    m = Value(rng.normal(size=(2, 3)))
    np.testing.assert_array_equal(m.T.data, m.data.T)
    assert m.T.op == "transpose"
    w = rng.normal(size=(3, 2))
    assert gradcheck(lambda m: (m.T * w).sum(), [m])
    t = Value(rng.normal(size=(2, 3, 4)))
    for axes in [(), (1, 0, 2), (2, 0, 1)]:
        y = t.transpose(*axes)
        np.testing.assert_array_equal(y.data, np.transpose(t.data, axes or None))
        w = rng.normal(size=y.shape)
        assert gradcheck(lambda t, axes=axes, w=w: (t.transpose(*axes) * w).sum(), [t])
    np.testing.assert_array_equal(t.transpose((2, 0, 1)).data, np.transpose(t.data, (2, 0, 1)))


INDEXES = {
    "int": 1,
    "negative int": -1,
    "two ints": (1, 2),
    "slice": slice(1, None),
    "step slice": (slice(None), slice(None, None, 2)),
    "reversed slice": slice(None, None, -1),
    "int array": np.array([0, 2]),
    "repeated int array": np.array([0, 2, 0, 0]),
    "repeated list": [1, 1],
    "array pair repeated": (np.array([0, 1, 1, 0]), np.array([2, 0, 0, 2])),
    "slice and repeated array": (slice(None), np.array([3, 3, 1])),
    "2-D int array": np.array([[0, 1], [1, 1]]),
}


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_getitem_gradient(name):
    index = INDEXES[name]
    rng = np.random.default_rng(14)
    x = Value(rng.normal(size=(3, 4)), label="x")
    y = x[index]
    expected = x.data[index]
    assert y.shape == np.shape(expected)
    np.testing.assert_array_equal(y.data, expected)
    w = rng.normal(size=np.shape(expected))
    assert gradcheck(lambda x: (x[index] * w).sum(), [x])


def test_getitem_with_repeated_indices_adds_up():
    x = Value(np.arange(5.0))
    x[np.array([0, 0, 3, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 0.0, 1.0, 0.0])
    y = Value(np.zeros((2, 2)))
    y[[1, 1], [0, 0]].sum().backward()
    np.testing.assert_array_equal(y.grad, [[0.0, 0.0], [2.0, 0.0]])


def test_getitem_of_an_intermediate_used_several_times():
    rng = np.random.default_rng(15)
    x = Value(rng.normal(size=(3, 4)))

    def fn(x):
        h = x * 2.0
        return h[0].sum() * h[np.array([1, 1])].sum() + (h * h).sum() + h[2, 3]

    assert gradcheck(fn, [x])


def test_getitem_float32_grad_stays_float32():
    x = Value(np.arange(6, dtype=np.float32).reshape(2, 3))
    x[np.array([1, 1]), 2].sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [[0, 0, 0], [0, 0, 2]])


def test_getitem_single_element_is_a_scalar():
    x = Value(np.arange(6.0).reshape(2, 3))
    y = x[1, 2]
    assert type(y.data) is float and y.data == 5.0
    y.backward()
    assert x.grad[1, 2] == 1.0 and x.grad.sum() == 1.0


# --------------------------------------------------------------------------- pow


@pytest.mark.parametrize("p", [2, 3, 0.5, -1.0, -2.5, 1.5, 0])
def test_pow_with_a_number_exponent(p):
    rng = np.random.default_rng(16)
    x = Value(rng.uniform(0.5, 2.0, size=(2, 3)))
    y = x**p
    np.testing.assert_allclose(y.data, x.data**p, rtol=1e-12)
    assert y.op == "**"
    assert len(y.parents) == 1 and y.parents[0] is x  # the number is not a graph node
    assert gradcheck(lambda x: x**p, [x])
    s = Value(1.3)
    assert gradcheck(lambda s: s**p, [s])


@pytest.mark.parametrize(
    "shapes", [((), ()), ((2, 3), ()), ((), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3))], ids=str
)
def test_pow_with_a_value_exponent(shapes):
    rng = np.random.default_rng(17)
    base = Value(draw(rng, shapes[0], "pos"), label="base")
    expo = Value(draw(rng, shapes[1], "any"), label="exponent")
    y = base**expo
    assert y.op == "**"
    assert y.parents == (base, expo)
    np.testing.assert_allclose(y.data, np.power(base.data, expo.data), rtol=1e-12)
    assert gradcheck(lambda b, e: b**e, [base, expo])


def test_pow_value_exponent_analytic():
    a, b = Value(2.0), Value(3.0)
    (a**b).backward()
    assert a.grad == pytest.approx(12.0)  # b * a**(b-1)
    assert b.grad == pytest.approx(8.0 * np.log(2.0))  # a**b * log(a)


# --------------------------------------------------------------------------- display names

DISPLAY = [
    (lambda a, b: a + b, "+"),
    (lambda a, b: a - b, "-"),
    (lambda a, b: -a, "-"),
    (lambda a, b: a * b, "*"),
    (lambda a, b: a / b, "/"),
    (lambda a, b: a**2, "**"),
    (lambda a, b: a**b, "**"),
    (lambda a, b: 2.0 - a, "-"),
    (lambda a, b: 2.0 / a, "/"),
    (lambda a, b: 2.0**a, "**"),
    (lambda a, b: a @ b, "@"),
    (lambda a, b: a.relu(), "relu"),
    (lambda a, b: a.leaky_relu(), "leaky_relu"),
    (lambda a, b: a.tanh(), "tanh"),
    (lambda a, b: a.sigmoid(), "sigmoid"),
    (lambda a, b: a.exp(), "exp"),
    (lambda a, b: a.log(), "log"),
    (lambda a, b: a.abs(), "abs"),
    (lambda a, b: a.sqrt(), "sqrt"),
    (lambda a, b: a.sum(), "sum"),
    (lambda a, b: a.mean(), "mean"),
    (lambda a, b: a.max(), "max"),
    (lambda a, b: a.reshape(3, 1), "reshape"),
    (lambda a, b: a.T, "transpose"),
]


@pytest.mark.parametrize("fn, symbol", DISPLAY, ids=[s for _, s in DISPLAY])
def test_display_names(fn, symbol):
    a = Value(np.array([1.0, 2.0, 3.0]))
    b = Value(np.array([0.5, 1.5, 2.5]))
    assert fn(a, b).op == symbol


@pytest.mark.parametrize(
    "fn, n_parents",
    [(lambda a, b: a - b, 2), (lambda a, b: a / b, 2), (lambda a, b: -a, 1)],
    ids=["sub", "div", "neg"],
)
def test_sub_div_neg_are_one_node_each(fn, n_parents):
    a, b = Value(3.0), Value(2.0)
    y = fn(a, b)
    assert len(y.parents) == n_parents
    assert all(p.is_leaf for p in y.parents)  # not built from +, * and **
    assert len(y.graph()) == n_parents + 1


# --------------------------------------------------------------------------- gradcheck itself


def test_gradcheck_is_not_fooled_by_a_wrong_gradient():
    # a sanity check of the tool these tests rely on: tanh with the wrong derivative
    from tinygrad_mlp import Function

    class WrongTanh(Function):
        @staticmethod
        def forward(ctx, a):
            return np.tanh(a)

        @staticmethod
        def backward(ctx, grad):
            return grad * (1.0 - ctx.data)  # should be 1 - tanh**2

    x = Value(np.array([0.3, -0.7]))
    with pytest.raises(GradcheckError):
        gradcheck(WrongTanh.apply, [x])


@pytest.mark.parametrize("axes", [(-1, 0), (1, -2), (-1, -2)])
def test_transpose_with_negative_axes_gradient(axes):
    rng = np.random.default_rng(3)
    x = Value(rng.normal(size=(2, 3)))
    w = rng.normal(size=(3, 2))
    y = (x.transpose(*axes) * w).sum()
    y.backward()
    np.testing.assert_allclose(x.grad, w.T)
    assert gradcheck(lambda x: x.transpose(*axes) * w, [x])

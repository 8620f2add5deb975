"""The ``Value`` object itself: construction, fields, conversions, identity, numpy semantics."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from tinygrad_mlp import Value

# --------------------------------------------------------------------------- construction


@pytest.mark.parametrize(
    "given, expected",
    [
        (2.5, 2.5),
        (3, 3.0),
        (-7, -7.0),
        (True, 1.0),
        (np.float64(1.25), 1.25),
        (np.float32(0.5), 0.5),
        (np.int64(4), 4.0),
        (np.int8(-3), -3.0),
        (np.array(2.0), 2.0),
        (np.array(6, dtype=np.int32), 6.0),
        (np.array(1.5, dtype=np.float32), 1.5),
    ],
)
def test_numbers_and_0d_arrays_become_python_floats(given, expected):
    v = Value(given)
    assert type(v.data) is float
    assert v.data == expected
    assert v.shape == ()
    assert v.ndim == 0
    assert v.size == 1
    assert v.dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_arrays_keep_their_dtype(dtype):
    arr = np.arange(6, dtype=dtype).reshape(2, 3)
    v = Value(arr)
    assert type(v.data) is np.ndarray
    assert v.data.dtype == dtype
    assert v.dtype == dtype
    assert v.shape == (2, 3)
    assert v.ndim == 2
    assert v.size == 6
    np.testing.assert_array_equal(v.data, arr)


@pytest.mark.parametrize(
    "given",
    [
        [1, 2, 3],
        [1.0, 2.0, 3.0],
        (1, 2, 3),
        np.array([1, 2, 3], dtype=np.int32),
        np.array([1, 2, 3], dtype=np.uint8),
        np.array([1, 2, 3], dtype=np.float16),
        np.array([True, False, True]),
    ],
    ids=["int-list", "float-list", "tuple", "int32", "uint8", "float16", "bool"],
)
def test_other_array_likes_become_float64(given):
    v = Value(given)
    assert type(v.data) is np.ndarray
    assert v.data.dtype == np.float64
    np.testing.assert_array_equal(v.data, np.asarray(given, dtype=np.float64))


def test_nested_list_becomes_a_2d_tensor():
    v = Value([[1, 2], [3, 4]])
    assert v.shape == (2, 2)
    assert v.data.dtype == np.float64
    assert v.data[1, 0] == 3.0


@pytest.mark.parametrize("given", [[1.0], np.ones(1), np.ones(1, dtype=np.float32)])
def test_shape_1_stays_a_tensor(given):
    v = Value(given)
    assert type(v.data) is np.ndarray
    assert v.shape == (1,)
    assert (v * 3).shape == (1,)
    assert type((v * 3).data) is np.ndarray
    assert (v + Value(2.0)).shape == (1,)


def test_shape_1x1_stays_a_tensor():
    v = Value(np.ones((1, 1)))
    assert v.shape == (1, 1)
    assert v.tanh().shape == (1, 1)


def test_label_is_kept_as_a_string():
    assert Value(1.0, label="w").label == "w"
    assert Value(1.0).label == ""
    assert Value(1.0, label=3).label == "3"


# --------------------------------------------------------------------------- fields


def test_leaf_fields():
    v = Value(3.0, label="x")
    assert v.data == 3.0
    assert v.grad == 0.0 and type(v.grad) is float
    assert v.op == ""
    assert v.parents == ()
    assert v.requires_grad is True
    assert v.is_leaf


def test_tensor_grad_reads_as_zeros_of_same_dtype_and_shape():
    v = Value(np.ones((2, 3), dtype=np.float32))
    g = v.grad
    assert type(g) is np.ndarray
    assert g.shape == (2, 3)
    assert g.dtype == np.float32
    assert not g.any()


def test_grad_setter_converts_and_checks_shape():
    v = Value(np.ones(3, dtype=np.float32))
    v.grad = [1, 2, 3]
    assert v.grad.dtype == np.float32
    np.testing.assert_array_equal(v.grad, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        v.grad = np.ones(2)
    s = Value(1.0)
    s.grad = np.float64(2.5)
    assert type(s.grad) is float and s.grad == 2.5


def test_requires_grad_false_is_a_constant():
    c = Value(2.0, requires_grad=False)
    assert c.requires_grad is False
    y = c * 3.0
    assert y.requires_grad is False
    assert y.parents == ()  # constants record nothing
    assert y.op == ""


def test_parents_are_a_tuple_in_operand_order():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    y = a - b
    assert type(y.parents) is tuple
    assert y.parents[0] is a and y.parents[1] is b
    z = b - a
    assert z.parents[0] is b and z.parents[1] is a
    assert z.data == 1.0


def test_number_operands_become_constant_parents():
    a = Value(1.0)
    y = a * 2
    assert y.parents[0] is a
    c = y.parents[1]
    assert c.data == 2.0 and c.requires_grad is False
    r = 10 - a  # reflected: the number is the left operand
    assert r.parents[1] is a
    assert r.parents[0].data == 10.0
    assert r.data == 9.0


def test_op_and_requires_grad_of_results():
    a = Value(1.0)
    y = a * 2
    assert y.op == "*"
    assert y.requires_grad is True
    assert not y.is_leaf


def test_len_of_tensor_and_of_scalar():
    assert len(Value(np.ones((4, 2)))) == 4
    with pytest.raises(TypeError, match="scalar"):
        len(Value(1.0))


# --------------------------------------------------------------------------- conversions


def test_item():
    assert Value(2.5).item() == 2.5
    assert type(Value(np.array([1.5])).item()) is float
    assert Value(np.array([1.5])).item() == 1.5
    assert Value(np.full((1, 1), 4.0, dtype=np.float32)).item() == 4.0
    with pytest.raises(ValueError, match=r"\(2,\)"):
        Value(np.ones(2)).item()


def test_numpy():
    s = Value(2.0).numpy()
    assert isinstance(s, np.ndarray) and s.shape == () and s == 2.0
    arr = np.arange(3.0)
    t = Value(arr).numpy()
    assert isinstance(t, np.ndarray)
    np.testing.assert_array_equal(t, arr)


def test_detach_makes_a_constant_leaf_with_the_same_data():
    a = Value(np.arange(3.0), label="a")
    y = a * 2
    d = y.detach()
    assert d is not y
    assert d.parents == () and d.op == ""
    assert d.requires_grad is False
    np.testing.assert_array_equal(d.data, [0.0, 2.0, 4.0])
    # using the detached value adds nothing to a's gradient
    (d * a).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 2.0, 4.0])


def test_repr_of_a_scalar():
    a = Value(2.0, label="a")
    assert repr(a) == "Value(data=2.0, label='a')"
    y = a * 3
    y.backward()
    r = repr(y)
    assert "data=6.0" in r and "grad=1.0" in r and "op='*'" in r
    assert "grad=3.0" in repr(a)
    assert "requires_grad=False" in repr(Value(1.0, requires_grad=False))


def test_repr_of_a_tensor_shows_values_shape_and_dtype():
    r = repr(Value(np.array([1.0, 2.0], dtype=np.float32), label="x"))
    assert r.startswith("Value([1., 2.]")
    assert "shape=(2,)" in r and "dtype=float32" in r and "label='x'" in r
    big = repr(Value(np.arange(1000.0)))
    assert "..." in big and len(big) < 200  # summarized, one line
    assert "\n" not in repr(Value(np.ones((3, 3))))


def test_bool_of_a_value_is_an_error():
    with pytest.raises(TypeError, match="ambiguous"):
        bool(Value(1.0))


# --------------------------------------------------------------------------- identity


def test_values_hash_and_compare_by_identity():
    a, b = Value(1.0), Value(1.0)
    assert (a == b) is False
    assert (a == a) is True
    assert (a != b) is True
    assert hash(a) == object.__hash__(a)  # the identity hash, not one of the data
    assert len({a, b}) == 2
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    assert a in [a] and a not in [b]


def test_values_work_as_set_members_after_mutation():
    a = Value(1.0)
    s = {a}
    a.data = 5.0
    a.grad = 3.0
    assert a in s


# --------------------------------------------------------------------------- numpy interplay


def test_ndarray_times_value_is_a_value():
    v = Value(2.0)
    y = np.array([1.0, 2.0, 3.0]) * v
    assert type(y) is Value
    assert y.op == "*"
    np.testing.assert_array_equal(y.data, [2.0, 4.0, 6.0])
    assert y.parents[1] is v
    y.sum().backward()
    assert v.grad == 6.0


@pytest.mark.parametrize(
    "op, expected",
    [
        (lambda a, v: a + v, [3.0, 4.0]),
        (lambda a, v: a - v, [-1.0, 0.0]),
        (lambda a, v: a * v, [2.0, 4.0]),
        (lambda a, v: a / v, [0.5, 1.0]),
        (lambda a, v: a**v, [1.0, 4.0]),
    ],
    ids=["+", "-", "*", "/", "**"],
)
def test_ndarray_on_the_left_defers_to_value(op, expected):
    y = op(np.array([1.0, 2.0]), Value(2.0))
    assert type(y) is Value
    np.testing.assert_allclose(y.data, expected)


def test_ndarray_matmul_value_is_a_value():
    y = np.eye(2) @ Value(np.array([1.0, 2.0]))
    assert type(y) is Value and y.op == "@"
    np.testing.assert_array_equal(y.data, [1.0, 2.0])


@pytest.mark.parametrize("scalar", [np.float64(2.0), np.float32(2.0), np.int64(2)])
def test_numpy_scalar_times_value_is_a_value(scalar):
    y = scalar * Value(3.0)
    assert type(y) is Value
    assert type(y.data) is float and y.data == 6.0


# --------------------------------------------------------------------------- reductions


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_full_reduction_gives_a_scalar_with_float_data(name, dtype):
    x = Value(np.arange(6, dtype=dtype).reshape(2, 3))
    y = getattr(x, name)()
    assert type(y.data) is float
    assert y.shape == ()
    expected = {"sum": 15.0, "mean": 2.5, "max": 5.0}[name]
    assert y.data == expected
    y.backward()  # no argument needed
    assert x.grad.shape == (2, 3) and x.grad.dtype == dtype


def test_reduction_over_every_axis_explicitly_is_scalar_too():
    x = Value(np.ones((2, 3)))
    assert type(x.sum(axis=(0, 1)).data) is float
    kept = x.sum(keepdims=True)
    assert kept.shape == (1, 1)


def test_reducing_a_shape_1_tensor_gives_a_scalar():
    v = Value([4.0])
    s = v.sum()
    assert type(s.data) is float and s.data == 4.0
    s.backward()
    np.testing.assert_array_equal(v.grad, [1.0])


# --------------------------------------------------------------------------- float64 semantics


def _no_exception(fn):
    """Run fn with warnings recorded; return its Value and the warning categories."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = fn()
    return y, [w.category for w in caught]


def test_log_of_negative_number_is_nan_with_runtime_warning():
    with pytest.warns(RuntimeWarning):
        y = Value(-1.0).log()
    assert type(y.data) is float and math.isnan(y.data)


def test_log_of_zero_is_minus_inf():
    with pytest.warns(RuntimeWarning):
        y = Value(0.0).log()
    assert y.data == -math.inf


@pytest.mark.parametrize(
    "fn, expected",
    [
        (lambda: Value(1.0) / 0, math.inf),
        (lambda: Value(-1.0) / 0.0, -math.inf),
        (lambda: Value(0.0) / Value(0.0), math.nan),
        (lambda: 1.0 / Value(0.0), math.inf),
        (lambda: Value(1000.0).exp(), math.inf),
        (lambda: Value(-8.0) ** 0.5, math.nan),
        (lambda: Value(-8.0) ** Value(0.5), math.nan),
        (lambda: Value(-1.0).sqrt(), math.nan),
        (lambda: Value(10.0) ** 1000, math.inf),
        (lambda: Value(0.0) ** -1.0, math.inf),
        (lambda: Value(2.0) ** Value(5000.0), math.inf),
    ],
    ids=["1/0", "-1/0", "0/0", "r1/0", "exp-overflow", "neg**0.5", "neg**V0.5", "sqrt-neg",
         "pow-overflow", "0**-1", "V**V-overflow"],
)
def test_scalar_path_gives_nan_or_inf_never_an_exception(fn, expected):
    y, categories = _no_exception(fn)
    assert type(y.data) is float  # not complex, not a numpy scalar
    if math.isnan(expected):
        assert math.isnan(y.data)
    else:
        assert y.data == expected
    assert RuntimeWarning in categories  # numpy float64 warns about it


def test_scalar_backward_through_a_pole_gives_inf_not_an_exception():
    x = Value(0.0)
    y, _ = _no_exception(lambda: x.sqrt())
    _no_exception(y.backward)
    assert x.grad == math.inf


# --------------------------------------------------------------------------- scalar == tensor

_SPECIALS = [0.0, 1.0, -1.0, 2.5, -2.5, 1e-300, 1e300, -1e300, 700.0, 710.0, -745.5, 1000.0,
             -1000.0, math.inf, -math.inf, math.nan]

_UNARY = {
    "relu": lambda v: v.relu(),
    "leaky_relu": lambda v: v.leaky_relu(0.1),
    "tanh": lambda v: v.tanh(),
    "sigmoid": lambda v: v.sigmoid(),
    "exp": lambda v: v.exp(),
    "log": lambda v: v.log(),
    "abs": lambda v: v.abs(),
    "sqrt": lambda v: v.sqrt(),
    "neg": lambda v: -v,
    "pow2": lambda v: v**2,
    "pow3": lambda v: v**3,
    "pow-1": lambda v: v**-1,
    "pow1.5": lambda v: v**1.5,
    "pow0.5": lambda v: v**0.5,
    "rdiv": lambda v: 1.0 / v,
    "rpow": lambda v: 2.0**v,
    "sum": lambda v: v.sum(),
    "mean": lambda v: v.mean(),
}


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)


def _run(fn, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y = fn(x)
        y.backward(None if type(y.data) is float else np.ones(y.shape))
    return y


@pytest.mark.parametrize("name", sorted(_UNARY))
def test_scalar_and_tensor_paths_agree_on_special_values(name):
    fn = _UNARY[name]
    for x in _SPECIALS:
        if name in ("pow0.5", "pow1.5") and x == -math.inf:
            continue  # numpy computes (-inf)**0.5 as sqrt (nan), C's pow gives inf
        s = Value(x)
        ys = _run(fn, s)
        t = Value(np.array([x]))
        yt = _run(fn, t)
        assert type(ys.data) is float
        forward_t = float(np.asarray(yt.data).reshape(-1)[0])
        assert _same(ys.data, forward_t), f"{name}({x}): scalar {ys.data}, tensor {forward_t}"
        assert _same(s.grad, float(t.grad[0])), (
            f"d {name}({x}): scalar {s.grad}, tensor {t.grad[0]}"
        )


@pytest.mark.parametrize("name", ["+", "-", "*", "/", "**"])
def test_scalar_and_tensor_paths_agree_on_binary_ops(name):
    fn = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
        "**": lambda a, b: a**b,
    }[name]
    values = [0.0, 1.0, -1.0, 2.5, -0.5, 1e300, math.inf, -math.inf, math.nan]
    for x in values:
        for y in values:
            a, b = Value(x), Value(y)
            A, B = Value(np.array([x])), Value(np.array([y]))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                s = fn(a, b)
                s.backward()
                t = fn(A, B)
                t.backward(np.ones(1))
            assert type(s.data) is float
            where = f"{x} {name} {y}"
            assert _same(s.data, float(t.data[0])), where
            assert _same(a.grad, float(A.grad[0])), where
            assert _same(b.grad, float(B.grad[0])), where


def test_scalar_and_tensor_results_match_on_ordinary_numbers():
    rng = np.random.default_rng(1)
    xs = rng.uniform(0.2, 3.0, size=20)
    ws = rng.uniform(-2.0, 2.0, size=20)
    vec_x, vec_w = Value(xs), Value(ws)
    vec = ((vec_x * vec_w).tanh() + vec_x.log() * vec_w.sigmoid() - vec_x.sqrt() / 3.0) ** 2
    vec.sum().backward()
    for i in range(20):
        x, w = Value(xs[i]), Value(ws[i])
        y = ((x * w).tanh() + x.log() * w.sigmoid() - x.sqrt() / 3.0) ** 2
        y.backward()
        assert math.isclose(y.data, vec.data[i], rel_tol=1e-12)
        assert math.isclose(x.grad, vec_x.grad[i], rel_tol=1e-12)
        assert math.isclose(w.grad, vec_w.grad[i], rel_tol=1e-12)


def test_value_copies_the_callers_array_so_updates_do_not_leak():
    from tinygrad_mlp.optim import SGD

    w0 = np.array([1.0, 2.0])
    w = Value(w0)
    (w * w).sum().backward()
    SGD([w], lr=0.1).step()
    np.testing.assert_array_equal(w0, [1.0, 2.0])
    assert not np.array_equal(w.data, w0)

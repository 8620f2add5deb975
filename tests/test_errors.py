"""Bad input gets a clear error that names what was wrong."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinygrad_mlp import Value, detect_anomaly, gradcheck

# --------------------------------------------------------------------------- shapes

ELEMENTWISE = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "**": lambda a, b: a**b,
}


@pytest.mark.parametrize("op", sorted(ELEMENTWISE))
@pytest.mark.parametrize("shapes", [((2,), (3,)), ((2, 3), (3, 2)), ((4, 3), (4,))], ids=str)
def test_elementwise_shape_mismatch_names_op_and_both_shapes(op, shapes):
    a = Value(np.ones(shapes[0]))
    b = Value(np.ones(shapes[1]))
    with pytest.raises(ValueError) as info:
        ELEMENTWISE[op](a, b)
    msg = str(info.value)
    assert repr(op) in msg
    assert str(shapes[0]) in msg and str(shapes[1]) in msg


def test_shape_mismatch_with_an_array_operand():
    with pytest.raises(ValueError, match=r"'\+'.*\(2,\).*\(3,\)"):
        Value(np.ones(2)) + np.ones(3)
    with pytest.raises(ValueError, match=r"'-'.*\(3,\).*\(2,\)"):
        np.ones(3) - Value(np.ones(2))


@pytest.mark.parametrize(
    "shapes", [((2, 3), (2, 3)), ((3,), (4,)), ((3,), (2, 3)), ((2, 3), (2,))], ids=str
)
def test_matmul_shape_mismatch_names_op_and_both_shapes(shapes):
    a, b = Value(np.ones(shapes[0])), Value(np.ones(shapes[1]))
    with pytest.raises(ValueError) as info:
        a @ b
    msg = str(info.value)
    assert "'@'" in msg
    assert str(shapes[0]) in msg and str(shapes[1]) in msg


@pytest.mark.parametrize("shapes", [((), (3,)), ((3,), ())], ids=str)
def test_matmul_of_a_scalar_is_refused(shapes):
    # (numpy's rules: @ needs operands of one or more dimensions; N-d stacks are fine, see
    # test_matmul_of_stacks_follows_numpy)
    a = Value(1.0 if shapes[0] == () else np.ones(shapes[0]))
    b = Value(1.0 if shapes[1] == () else np.ones(shapes[1]))
    with pytest.raises(ValueError, match=r"'@'.*1 or more dimensions"):
        a @ b


@pytest.mark.parametrize("shapes", [((2, 2, 3), (3, 2)), ((4, 1, 2, 3), (5, 3, 2)),
                                    ((3,), (2, 3, 4)), ((2, 2, 3), (3,))], ids=str)
def test_matmul_of_stacks_follows_numpy(shapes):
    rng = np.random.default_rng(0)
    a, b = (Value(rng.normal(size=s)) for s in shapes)
    out = a @ b
    np.testing.assert_allclose(out.data, a.data @ b.data)
    assert gradcheck(lambda a, b: a @ b, [a, b])
    with pytest.raises(ValueError, match=r"'@'.*\(2, 2, 3\).*\(4, 2\)"):
        Value(np.ones((2, 2, 3))) @ Value(np.ones((4, 2)))


def test_bad_reshape_names_op_and_shape():
    with pytest.raises(ValueError, match=r"'reshape'.*\(2, 3\)"):
        Value(np.ones((2, 3))).reshape(4, 2)


def test_indexing_a_scalar_is_refused():
    # an IndexError, as numpy's for a 0-d array (None and ... are fine: test_value.py)
    with pytest.raises(IndexError, match="scalar"):
        Value(1.0)[0]


def test_indexing_with_a_value_is_refused():
    x = Value(np.ones(3))
    with pytest.raises(TypeError, match="Value"):
        x[Value(0.0)]


# --------------------------------------------------------------------------- backward


def test_backward_on_a_non_scalar_without_grad():
    y = Value(np.ones((2, 3))) * 2.0
    with pytest.raises(ValueError) as info:
        y.backward()
    msg = str(info.value)
    assert "(2, 3)" in msg
    assert "sum()" in msg or "grad" in msg  # says how to fix it


def test_backward_on_a_shape_1_tensor_without_grad():
    with pytest.raises(ValueError, match=r"\(1,\)"):
        (Value([1.0]) * 2.0).backward()


# --------------------------------------------------------------------------- types


class Unsupported:
    pass


@pytest.mark.parametrize(
    "other, type_name",
    [("a", "str"), (None, "NoneType"), ([1.0, 2.0], "list"), (Unsupported(), "Unsupported"),
     (1 + 2j, "complex")],
    ids=["str", "None", "list", "object", "complex"],
)
@pytest.mark.parametrize("op", ["+", "-", "*", "/", "@", "**"])
def test_operand_of_unsupported_type_names_the_type(other, type_name, op):
    fn = {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
        "@": lambda a, b: a @ b,
        "**": lambda a, b: a**b,
    }[op]
    with pytest.raises(TypeError, match=re.escape(type_name)):
        fn(Value(1.0), other)


def test_value_plus_string():
    with pytest.raises(TypeError, match="'str'"):
        Value(1.0) + "a"


@pytest.mark.parametrize(
    "other, type_name",
    [(None, "NoneType"), (Unsupported(), "Unsupported"), ("a", "str"), ([1.0, 2.0], "list")],
    ids=["None", "object", "str", "list"],
)
def test_reflected_operand_of_unsupported_type_names_the_type(other, type_name):
    with pytest.raises(TypeError, match=type_name):
        other + Value(1.0)
    with pytest.raises(TypeError, match=type_name):
        other * Value(1.0)


@pytest.mark.parametrize(
    "data, type_name",
    [("abc", "str"), (None, "NoneType"), (1 + 2j, "complex"), ({"a": 1}, "dict"),
     (Unsupported(), "Unsupported")],
    ids=["str", "None", "complex", "dict", "object"],
)
def test_value_of_unsupported_data_names_the_type(data, type_name):
    with pytest.raises(TypeError, match=type_name):
        Value(data)


@pytest.mark.parametrize(
    "data, dtype_name",
    [(["a", "b"], "<U1"), (np.array([1 + 1j]), "complex128"), (np.array([object()]), "object")],
    ids=["strings", "complex-array", "object-array"],
)
def test_value_of_non_numeric_arrays_names_the_dtype(data, dtype_name):
    with pytest.raises(TypeError, match=re.escape(dtype_name)):
        Value(data)


def test_value_of_a_ragged_list():
    with pytest.raises(TypeError, match="array"):
        Value([[1.0, 2.0], [3.0]])


def test_value_of_a_value():
    with pytest.raises(TypeError, match="already a Value"):
        Value(Value(1.0))


# --------------------------------------------------------------------------- anomaly mode


@pytest.mark.parametrize(
    "data, what",
    [(0.0, "inf"), (-1.0, "nan"), (np.array([1.0, 0.0]), "inf"), (np.array([2.0, -3.0]), "nan")],
    ids=["scalar-zero", "scalar-negative", "tensor-zero", "tensor-negative"],
)
def test_log_of_a_non_positive_number_under_anomaly_mode(data, what):
    x = Value(data)
    with pytest.warns(RuntimeWarning), detect_anomaly():
        with pytest.raises(FloatingPointError) as info:
            x.log()
    msg = str(info.value)
    assert "'log'" in msg and "forward" in msg and what in msg

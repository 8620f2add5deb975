"""Property tests: random expression trees built from every operation.

A tree is drawn as a nested tuple (a "program") and evaluated by :class:`Tree`.  Before an
operation with a kink or a pole, the evaluator inserts a constant shift that keeps the operand
away from it, computed once from the first evaluation's data and then frozen, so the finite
differences of ``gradcheck`` never straddle a kink:

* relu, leaky_relu, abs, ``x**-1`` and division denominators: |operand| >= 0.25;
* log, sqrt, fractional and negative powers, and the base of ``a ** b``: operand >= 0.5;
* exp: operand <= 2, and every result is scaled down to |value| <= 4;
* max: the maximum along the reduced axis is lifted 0.3 above every other element (no ties).

Run with ``CI`` set, hypothesis uses the derandomized ``ci`` profile (see conftest.py).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tinygrad_mlp import Value, gradcheck, gradgradcheck

UNARY = ["neg", "relu", "leaky_relu", "abs", "tanh", "sigmoid", "exp", "log", "sqrt"]
POW_EXPONENTS = [2, 3, 0.5, 1.5, -1.0, -0.5]
BINARY = ["+", "-", "*", "/", "**"]
SHAPES = [(), (3,), (2, 3), (2, 1), (1, 3)]

BOUND = 4.0


# --------------------------------------------------------------------------- evaluation


class Tree:
    """Evaluates a program on fixed leaves; guards and extra weights are made on the first
    call and reused after, so every later call computes the same function of the leaves."""

    def __init__(self, program: tuple, inputs: list[Value]) -> None:
        self.program = program
        self.inputs = inputs
        self.weights: dict[tuple, Value] = {}
        self.guards: dict[tuple, np.ndarray | float | None] = {}
        self.constant_only: bool | None = None  # fixed on the first call, as the guards are

    def leaves(self) -> list[Value]:
        return self.inputs + list(self.weights.values())

    def __call__(self) -> Value:
        out = self._eval(self.program, ())
        if self.constant_only is None:  # (not under gradcheck's no_grad, where nothing is)
            self.constant_only = not out.requires_grad
        if self.constant_only:  # give a tree of constants something to differentiate
            out = out + self.inputs[0]
        return out

    # ---------------------------------------------------------------- guards
    def _guard(self, path: tuple, kind: str, v: Value) -> Value:
        key = (path, kind)
        if key not in self.guards:
            self.guards[key] = _make_guard(kind, v)
        c = self.guards[key]
        if c is None:
            return v
        if type(v.data) is not float:
            c = np.asarray(c, dtype=v.data.dtype)
        return v * c if kind in ("bound", "bound2") else v + c

    def _bounded(self, path: tuple, v: Value) -> Value:
        return self._guard(path, "bound", v)

    def _weight(self, path: tuple, seed: int, shape: tuple, dtype) -> Value:
        if path not in self.weights:
            data = np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape).astype(dtype)
            self.weights[path] = Value(data, label=f"W{len(self.weights)}")
        return self.weights[path]

    # ---------------------------------------------------------------- the evaluator
    def _eval(self, node: tuple, path: tuple) -> Value:
        kind = node[0]
        if kind == "x":
            return self.inputs[node[1] % len(self.inputs)]
        if kind == "c":
            return Value(node[1], requires_grad=False)
        child = self._eval(node[-1], path + (len(node) - 1,))
        if kind == "unary":
            out = _unary(node[1], self, path, child)
        elif kind == "powc":
            p = node[1]
            if p < 0 and float(p).is_integer():
                child = self._guard(path, "away0", child)
            elif not float(p).is_integer():
                child = self._guard(path, "pos", child)
            out = child**p
        elif kind == "binary":
            left = self._eval(node[2], path + (2,))
            out = _binary(node[1], self, path, left, child)
        elif kind == "rnum":
            out = _rnum(node[1], node[2], self, path, child)
        elif kind == "arr":
            arr = np.random.default_rng(node[2]).uniform(0.5, 2.0, size=child.shape)
            arr = float(arr) if child.shape == () else arr.astype(child.dtype)
            out = _binary(node[1], self, path, Value(arr, requires_grad=False), child)
        elif kind == "reduce":
            out = self._reduce(node[1], node[2], node[3], path, child)
        elif kind == "matmul":
            out = self._matmul(node[1], node[2], node[3], path, child)
        elif kind == "getitem":
            out = _getitem(node[1], child)
        elif kind == "reshape":
            if child.ndim == 0:
                return child
            out = child.reshape(-1) if node[1] else child.reshape(1, -1)
        elif kind == "T":
            return child.T
        else:  # pragma: no cover - a bug in the strategy
            raise AssertionError(node)
        return self._bounded(path, out)

    def _reduce(self, name: str, axis, keepdims: bool, path: tuple, v: Value) -> Value:
        if v.ndim == 0:
            axis = None
        if name == "max":
            key = (path, "max")
            if key not in self.guards:
                self.guards[key] = _tie_breaker(v, axis)
            v = v + np.asarray(self.guards[key], dtype=v.dtype) if v.ndim else v
        return getattr(v, name)(axis=axis, keepdims=keepdims)

    def _matmul(self, on_left: bool, two_d: bool, seed: int, path: tuple, v: Value) -> Value:
        if v.ndim == 0 or v.ndim > 2:
            return v
        if on_left:  # v @ W
            n = v.shape[-1]
            w = self._weight(path, seed, (n, 2) if two_d else (n,), v.dtype)
            return v @ w
        n = v.shape[0]  # W @ v
        w = self._weight(path, seed, (2, n) if two_d else (n,), v.dtype)
        return w @ v


def _make_guard(kind: str, v: Value):
    """A constant that moves ``v`` away from trouble, or None when it is already safe."""
    d = np.asarray(v.data, dtype=np.float64)
    if kind == "away0":
        c = np.where(np.abs(d) < 0.25, 0.5, 0.0)
    elif kind == "pos":
        c = np.where(d < 0.5, 1.0 - d, 0.0)
    elif kind == "exp":
        c = np.where(d > 2.0, 2.0 - d, 0.0)
    elif kind == "bound":
        with np.errstate(divide="ignore", over="ignore"):
            c = np.where(np.abs(d) > BOUND, BOUND / np.abs(d), 1.0)
        if np.all(c == 1.0):
            return None
        return float(c) if d.ndim == 0 else c
    elif kind == "bound2":
        with np.errstate(divide="ignore", over="ignore"):
            c = np.where(np.abs(d) > 2.0, 2.0 / np.abs(d), 1.0)
        if np.all(c == 1.0):
            return None
        return float(c) if d.ndim == 0 else c
    else:  # pragma: no cover
        raise AssertionError(kind)
    if not np.any(c):
        return None
    return float(c) if d.ndim == 0 else c


def _tie_breaker(v: Value, axis) -> np.ndarray | None:
    """0.3 added to the maximum along ``axis``: afterwards it leads every other element by
    at least 0.3."""
    d = np.asarray(v.data)
    if d.ndim == 0:
        return None
    off = np.zeros(d.shape)
    if axis is None:
        off.flat[np.argmax(d)] = 0.3
    else:
        np.put_along_axis(off, np.argmax(d, axis=axis, keepdims=True), 0.3, axis=axis)
    return off


def _unary(name: str, tree: Tree, path: tuple, v: Value) -> Value:
    if name == "neg":
        return -v
    if name in ("relu", "leaky_relu", "abs"):
        v = tree._guard(path, "away0", v)
        return v.leaky_relu(0.1) if name == "leaky_relu" else getattr(v, name)()
    if name in ("log", "sqrt"):
        return getattr(tree._guard(path, "pos", v), name)()
    if name == "exp":
        return tree._guard(path, "exp", v).exp()
    return getattr(v, name)()


def _binary(op: str, tree: Tree, path: tuple, a: Value, b: Value) -> Value:
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        b = b.mean()  # shapes that do not broadcast: combine with b's mean instead
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / tree._guard(path + ("den",), "away0", b)
    # a ** b with a Value exponent: a positive base, a moderate exponent
    return tree._guard(path + ("base",), "pos", a) ** tree._guard(path + ("exp",), "bound2", b)


def _rnum(op: str, c: float, tree: Tree, path: tuple, v: Value) -> Value:
    """``c (op) v`` with the number on the left: the reflected operators."""
    if op == "+":
        return c + v
    if op == "-":
        return c - v
    if op == "*":
        return c * v
    if op == "/":
        return c / tree._guard(path, "away0", v)
    return (abs(c) + 0.5) ** tree._guard(path, "bound2", v)


def _getitem(kind: str, v: Value) -> Value:
    if v.ndim == 0:
        return v
    n = v.shape[0]
    if kind == "int":
        return v[-1]
    if kind == "slice":
        return v[::2]
    return v[np.array([0, n - 1, 0])]  # repeated indices


# --------------------------------------------------------------------------- strategies

small = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)

ELEMENTWISE_OPS = [f"unary:{u}" for u in UNARY] + ["powc"]
ELEMENTWISE_OPS += [f"binary:{b}" for b in BINARY] + [f"rnum:{b}" for b in BINARY]
SHAPE_OPS = ["reduce:sum", "reduce:mean", "reduce:max", "arr", "matmul", "getitem", "reshape", "T"]


@st.composite
def program_trees(draw, elementwise: bool = False, depth: int = 0, max_depth: int = 5) -> tuple:
    """A random program; every operation is equally likely at each inner node."""
    if depth == max_depth or (depth > 1 and draw(st.integers(0, 9)) < 2):
        if draw(st.integers(0, 3)) == 0:
            return ("c", draw(small))
        return ("x", draw(st.integers(0, 2)))
    op = draw(st.sampled_from(ELEMENTWISE_OPS if elementwise else ELEMENTWISE_OPS + SHAPE_OPS))
    kind, _, name = op.partition(":")

    def child():
        return draw(program_trees(elementwise, depth + 1, max_depth))

    seed = st.integers(0, 2**16)
    if kind == "unary":
        return ("unary", name, child())
    if kind == "powc":
        return ("powc", draw(st.sampled_from(POW_EXPONENTS)), child())
    if kind == "binary":
        return ("binary", name, child(), child())
    if kind == "rnum":
        return ("rnum", name, draw(small), child())
    if kind == "reduce":
        return ("reduce", name, draw(st.sampled_from([None, 0, -1])), draw(st.booleans()), child())
    if kind == "arr":
        return ("arr", draw(st.sampled_from(BINARY[:4])), draw(seed), child())
    if kind == "matmul":
        return ("matmul", draw(st.booleans()), draw(st.booleans()), draw(seed), child())
    if kind == "getitem":
        return ("getitem", draw(st.sampled_from(["int", "slice", "array"])), child())
    if kind == "reshape":
        return ("reshape", draw(st.booleans()), child())
    return ("T", child())


programs = program_trees()
elementwise_programs = program_trees(elementwise=True)


@st.composite
def leaf_values(draw, dtype=np.float64) -> list[Value]:
    """Three inputs of broadcast-compatible shapes, data in [-2, 2]."""
    out = []
    for i in range(3):
        shape = draw(st.sampled_from(SHAPES))
        if shape == ():
            data = draw(small)
        else:
            data = draw(arrays(np.float64, shape, elements=small)).astype(dtype)
        out.append(Value(data, label=f"x{i}"))
    return out


# --------------------------------------------------------------------------- properties


@given(program=programs, inputs=leaf_values())
def test_backward_matches_finite_differences(program, inputs):
    tree = Tree(program, inputs)
    out = tree()
    assert np.all(np.isfinite(out.data))
    assert gradcheck(tree, tree.leaves())


@given(program=programs, inputs=leaf_values())
def test_grads_have_the_type_dtype_and_shape_of_data(program, inputs):
    tree = Tree(program, inputs)
    out = tree()
    (out if out.ndim == 0 else out.sum()).backward()
    for v in tree.leaves():
        g = v.grad
        if type(v.data) is float:
            assert type(g) is float
        else:
            assert type(g) is np.ndarray
            assert g.shape == v.data.shape and g.dtype == v.data.dtype
        assert np.all(np.isfinite(g))


@given(program=programs, inputs=leaf_values(dtype=np.float32))
def test_float32_leaves_get_float32_grads(program, inputs):
    tree = Tree(program, inputs)
    out = tree()
    (out if out.ndim == 0 else out.sum()).backward()
    for v in tree.leaves():
        if type(v.data) is not float:
            assert v.data.dtype == np.float32
            assert v.grad.dtype == np.float32 and v.grad.shape == v.data.shape
        assert np.all(np.isfinite(v.grad))


@given(program=programs, inputs=leaf_values())
def test_two_passes_add_up_and_zero_grad_resets(program, inputs):
    tree = Tree(program, inputs)
    out = tree()
    loss = out if out.ndim == 0 else out.sum()
    loss.backward()
    first = [np.copy(v.grad) for v in tree.leaves()]
    loss.backward()
    for v, g in zip(tree.leaves(), first):
        # exact only up to rounding: a leaf used twice adds a + b + a + b, not 2 * (a + b)
        np.testing.assert_allclose(v.grad, 2 * g, rtol=1e-12, atol=1e-12)
    loss.zero_grad()
    for v in tree.leaves():
        assert not np.any(v.grad)
    loss.backward()
    for v, g in zip(tree.leaves(), first):
        np.testing.assert_array_equal(v.grad, g)


@given(
    program=elementwise_programs,
    columns=st.integers(1, 4).flatmap(
        lambda n: st.lists(arrays(np.float64, (n,), elements=small), min_size=3, max_size=3)
    ),
)
def test_scalar_path_agrees_with_tensor_path(program, columns):
    """n scalar graphs give the same numbers and gradients as one graph on n-vectors."""
    vec_inputs = [Value(c.copy(), label=f"x{i}") for i, c in enumerate(columns)]
    vec_out = Tree(program, vec_inputs)()
    vec_out.backward(np.ones(vec_out.shape))
    n = len(columns[0])
    for i in range(n):
        inputs = [Value(float(c[i])) for c in columns]
        out = Tree(program, inputs)()
        assert type(out.data) is float
        out.backward()
        expected = float(np.asarray(vec_out.data).reshape(-1)[i])
        assert math.isclose(out.data, expected, rel_tol=1e-9, abs_tol=1e-9), (out.data, expected)
        for s, v in zip(inputs, vec_inputs):
            assert type(s.grad) is float
            assert math.isclose(s.grad, v.grad[i], rel_tol=1e-9, abs_tol=1e-9), (s.grad, v.grad)


@settings(max_examples=60)
@given(program=programs, inputs=leaf_values())
def test_second_derivatives_match_finite_differences_of_the_gradient(program, inputs):
    # (the Hessian-vector product through the graph of the gradient, on the same programs)
    tree = Tree(program, inputs)
    out = tree()
    assert np.all(np.isfinite(out.data))
    assert gradgradcheck(tree, tree.leaves(), atol=1e-4, rtol=1e-3)

"""The same operations in PyTorch (CPU, float64): forward values and gradients must match.

Skipped cleanly when ``torch`` is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mlp import Value

torch = pytest.importorskip("torch")
F = torch.nn.functional


def _torch_leaf(x):
    return torch.tensor(np.asarray(x, dtype=np.float64), dtype=torch.float64, requires_grad=True)


def crosscheck(ours, theirs, *inputs, rtol=1e-10, atol=1e-12):
    """Run ``ours`` on Values and ``theirs`` on torch tensors made from the same ``inputs``;
    compare the outputs and the gradients of a fixed weighted sum of the outputs."""
    vs = [Value(x) for x in inputs]
    ts = [_torch_leaf(x) for x in inputs]
    y = ours(*vs)
    t = theirs(*ts)
    assert y.shape == tuple(t.shape), f"shape {y.shape} vs torch {tuple(t.shape)}"
    np.testing.assert_allclose(y.data, t.detach().numpy(), rtol=rtol, atol=atol)
    w = np.linspace(-1.5, 2.0, max(y.size, 1)).reshape(y.shape) if y.shape else 1.0
    (y * w).sum().backward()
    (t * torch.as_tensor(w, dtype=torch.float64)).sum().backward()
    for i, (v, tv) in enumerate(zip(vs, ts)):
        expected = tv.grad.numpy() if tv.grad is not None else np.zeros(tv.shape)
        assert np.shape(v.grad) == expected.shape
        np.testing.assert_allclose(
            v.grad, expected, rtol=rtol, atol=atol, err_msg=f"gradient of input {i}"
        )


def _rng(seed=0):
    return np.random.default_rng(seed)


def away0(rng, shape):
    return rng.uniform(0.3, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def pos(rng, shape):
    return rng.uniform(0.5, 2.0, size=shape)


def anyv(rng, shape):
    return rng.uniform(-2.0, 2.0, size=shape)


# --------------------------------------------------------------------------- elementwise

UNARY = {
    "neg": (lambda a: -a, lambda t: -t, anyv),
    "relu": (lambda a: a.relu(), lambda t: t.relu(), away0),
    "leaky_relu": (lambda a: a.leaky_relu(0.2), lambda t: F.leaky_relu(t, 0.2), away0),
    "tanh": (lambda a: a.tanh(), lambda t: t.tanh(), anyv),
    "sigmoid": (lambda a: a.sigmoid(), lambda t: t.sigmoid(), anyv),
    "exp": (lambda a: a.exp(), lambda t: t.exp(), anyv),
    "log": (lambda a: a.log(), lambda t: t.log(), pos),
    "abs": (lambda a: a.abs(), lambda t: t.abs(), away0),
    "sqrt": (lambda a: a.sqrt(), lambda t: t.sqrt(), pos),
    "pow2": (lambda a: a**2, lambda t: t**2, anyv),
    "pow3": (lambda a: a**3, lambda t: t**3, anyv),
    "pow0.5": (lambda a: a**0.5, lambda t: t**0.5, pos),
    "pow-1": (lambda a: a**-1, lambda t: t**-1, away0),
    "pow-2.5": (lambda a: a**-2.5, lambda t: t**-2.5, pos),
    "3-x": (lambda a: 3.0 - a, lambda t: 3.0 - t, anyv),
    "3/x": (lambda a: 3.0 / a, lambda t: 3.0 / t, away0),
    "2**x": (lambda a: 2.0**a, lambda t: 2.0**t, anyv),
    "x/4+1": (lambda a: a / 4 + 1, lambda t: t / 4 + 1, anyv),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(), (2, 3)], ids=["scalar", "tensor"])
def test_unary_matches_torch(name, shape):
    ours, theirs, dist = UNARY[name]
    rng = _rng(1)
    x = dist(rng, shape)
    crosscheck(ours, theirs, float(x) if shape == () else x)


# large arguments: saturation and overflow agree too
@pytest.mark.parametrize("name", ["tanh", "sigmoid", "exp"])
def test_saturating_ops_match_torch_on_large_arguments(name):
    ours, theirs, _ = UNARY[name]
    x = np.array([-800.0, -40.0, -5.0, 0.0, 5.0, 40.0, 700.0])
    crosscheck(ours, theirs, x)


BINARY = {
    "+": (lambda a, b: a + b, anyv, anyv),
    "-": (lambda a, b: a - b, anyv, anyv),
    "*": (lambda a, b: a * b, anyv, anyv),
    "/": (lambda a, b: a / b, anyv, away0),
    "**": (lambda a, b: a**b, pos, anyv),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize(
    "shapes",
    [((), ()), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 3)), ((4, 1, 3), (2, 1))],
    ids=str,
)
def test_binary_matches_torch(name, shapes):
    fn, da, db = BINARY[name]
    rng = _rng(2)
    a, b = da(rng, shapes[0]), db(rng, shapes[1])
    a = float(a) if shapes[0] == () else a
    b = float(b) if shapes[1] == () else b
    crosscheck(fn, fn, a, b)


@pytest.mark.parametrize("name", ["+", "-", "*", "/"])
def test_arrays_on_the_left_match_torch(name):
    fn = BINARY[name][0]
    rng = _rng(3)
    arr = pos(rng, (2, 3))
    crosscheck(lambda v: fn(arr, v), lambda t: fn(torch.as_tensor(arr), t), away0(rng, (3,)))


# --------------------------------------------------------------------------- matmul


@pytest.mark.parametrize(
    "shapes", [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((2, 3), (3, 4))], ids=str
)
def test_matmul_matches_torch(shapes):
    rng = _rng(4)
    crosscheck(lambda a, b: a @ b, lambda a, b: a @ b, anyv(rng, shapes[0]), anyv(rng, shapes[1]))


# --------------------------------------------------------------------------- reductions


def _torch_reduce(name, t, axis, keepdims):
    if name == "max":
        return torch.amax(t, dim=() if axis is None else axis, keepdim=keepdims)
    if axis is None:
        out = getattr(t, name)()
        return out.reshape((1,) * t.ndim) if keepdims else out
    return getattr(t, name)(dim=axis, keepdim=keepdims)


@pytest.mark.parametrize("name", ["sum", "mean", "max"])
@pytest.mark.parametrize("axis", [None, 0, -1, (0, 2)], ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_torch(name, axis, keepdims):
    rng = _rng(5)
    x = (rng.permutation(24) * 0.1 - 1.2).reshape(2, 3, 4)  # distinct: no ties for max
    crosscheck(
        lambda v: getattr(v, name)(axis=axis, keepdims=keepdims),
        lambda t: _torch_reduce(name, t, axis, keepdims),
        x,
    )


def test_max_with_ties_matches_torch_amax():
    # both share the gradient equally among tied maxima
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    crosscheck(lambda v: v.max(axis=1), lambda t: torch.amax(t, dim=1), x)
    crosscheck(lambda v: v.max(), lambda t: torch.amax(t), x)


# --------------------------------------------------------------------------- shapes


def test_reshape_and_transpose_match_torch():
    rng = _rng(6)
    x = anyv(rng, (2, 3, 4))
    crosscheck(lambda v: v.reshape(4, 6) * 2.0, lambda t: t.reshape(4, 6) * 2.0, x)
    crosscheck(lambda v: v.reshape(-1), lambda t: t.reshape(-1), x)
    crosscheck(lambda v: v.transpose(2, 0, 1), lambda t: t.permute(2, 0, 1), x)
    crosscheck(lambda v: v.transpose(), lambda t: t.permute(2, 1, 0), x)
    m = anyv(rng, (2, 3))
    crosscheck(lambda v: v.T, lambda t: t.T, m)
    crosscheck(lambda v: v.T @ v, lambda t: t.T @ t, m)


@pytest.mark.parametrize(
    "index",
    [
        1,
        -1,
        (1, 2),
        slice(1, None),
        (slice(None), slice(None, None, 2)),
        np.array([0, 2, 0, 0]),
        (np.array([0, 1, 1]), np.array([3, 0, 0])),
        (slice(None), np.array([1, 1, 3])),
    ],
    ids=["int", "neg-int", "two-ints", "slice", "step", "rep-array", "rep-pair", "slice+array"],
)
def test_getitem_matches_torch(index):
    rng = _rng(7)
    x = anyv(rng, (3, 4))
    crosscheck(lambda v: v[index] * 1.5, lambda t: t[index] * 1.5, x)


# --------------------------------------------------------------------------- composites


def test_small_mlp_loss_matches_torch():
    rng = _rng(8)
    X = rng.normal(size=(5, 3))
    y = rng.normal(size=(5, 1))

    def ours(W1, b1, W2, b2):
        h = (X @ W1.T + b1).tanh()
        out = h @ W2.T + b2
        return ((out - y) ** 2).mean()

    def theirs(W1, b1, W2, b2):
        h = (torch.as_tensor(X) @ W1.T + b1).tanh()
        out = h @ W2.T + b2
        return ((out - torch.as_tensor(y)) ** 2).mean()

    crosscheck(
        ours, theirs, rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(1, 4)),
        rng.normal(size=1),
    )


def test_scalar_neuron_matches_torch():
    def neuron(x1, x2, w1, w2, b):
        return (x1 * w1 + x2 * w2 + b).tanh()

    crosscheck(neuron, neuron, 2.0, 0.0, -3.0, 1.0, 6.8813735870195432)


def test_expression_with_every_op_matches_torch():
    rng = _rng(9)

    def expr(a, b, c):
        u = (a * b - c / 3.0).relu() + (a - b).abs() + (c**2 + 1.0).sqrt().log()
        v = (u.sigmoid() * b.exp()).tanh() ** 2 - (-u) / (c * c + 1.0)
        return v.sum() + (a.leaky_relu(0.1) ** b.abs()).mean()

    def texpr(a, b, c):
        u = (a * b - c / 3.0).relu() + (a - b).abs() + (c**2 + 1.0).sqrt().log()
        v = (u.sigmoid() * b.exp()).tanh() ** 2 - (-u) / (c * c + 1.0)
        return v.sum() + (F.leaky_relu(a, 0.1) ** b.abs()).mean()

    a = pos(rng, (2, 3))
    b = away0(rng, (3,))
    c = anyv(rng, (2, 1))
    # keep relu and abs away from their kinks for this draw
    assert np.all(np.abs(a * b - c / 3.0) > 1e-3) and np.all(np.abs(a - b) > 1e-3)
    crosscheck(expr, texpr, a, b, c)

"""Gradients of gradients: ``backward(create_graph=True)`` and ``grad()``.

Checked against closed forms, against central finite differences of first-order gradients
(always), and against PyTorch float64 where it is installed (skipped cleanly where not).  Every
test runs on the engine of the process: run the file with and without
``TINYGRAD_MLP_ENGINE=reference``.
"""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_mlp
from tinygrad_mlp import MLP, Function, Value, detect_anomaly, enable_grad, grad, no_grad
from tinygrad_mlp.functional import mse_loss
from tinygrad_mlp.optim import SGD

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "higher_order.py"


def load_example():
    spec = importlib.util.spec_from_file_location("example_higher_order", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example():
    return load_example()


def nth_derivative(fn, x0, n):
    """The n-th derivative of the elementwise ``fn`` at ``x0``, applying ``grad`` n times."""
    x = Value(x0)
    y = fn(x)
    for _ in range(n):
        (y,) = grad(y if y.shape == () else y.sum(), x, create_graph=True)
    return y


def is_value(g):
    return isinstance(g, tinygrad_mlp.engine.ENGINE_MODULE.Value)


# ----------------------------------------------------------------------------- the example
def test_the_example_prints_and_draws_what_it_shows(example, tmp_path, capsys):
    results = example.main(["--out", str(tmp_path)])
    out = capsys.readouterr().out
    rows = results["tanh"]
    assert [r["order"] for r in rows] == [1, 2, 3, 4]
    assert [r["nodes"] for r in rows] == sorted(r["nodes"] for r in rows)  # the graphs grow
    for r in rows:
        assert r["path"].exists() and r["path"].parent == tmp_path
        assert r["path"].suffix in (".svg", ".dot")  # .dot: Graphviz not installed
        assert f"order {r['order']}: {r['value']:+.6f}" in out
        assert f"{r['nodes']:3d} nodes" in out
        assert r["value"] == pytest.approx(example.tanh_derivative_closed_form(0.5, r["order"]),
                                           rel=1e-12)
    assert results["newton"][-1] == pytest.approx(1.0, abs=1e-10)
    assert "step 7: x = 1.0" in out
    assert results["hvp_max_diff"] < 1e-6
    assert "max |H v - finite differences of gradients|" in out


def test_the_example_runs_as_a_script(tmp_path):
    env = dict(os.environ)  # the engine of this run, if chosen
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "order 4: +3.952220" in proc.stdout
    assert len(list((tmp_path / "out").glob("tanh_derivative_*"))) == 4


def test_the_example_writes_dot_source_without_graphviz(example, tmp_path, monkeypatch, capsys):
    from tinygrad_mlp.viz import GraphvizNotFoundError

    def missing(*args, **kwargs):
        raise GraphvizNotFoundError("dot")

    monkeypatch.setattr(example, "render", missing)
    rows = example.draw_tanh_derivatives(tmp_path, n=2)
    assert [r["path"].name for r in rows] == ["tanh_derivative_1.dot", "tanh_derivative_2.dot"]
    assert rows[0]["path"].read_text().startswith("digraph")
    assert "Graphviz program 'dot' was not found" in capsys.readouterr().out


# ----------------------------------------------------------------------------- tanh's 4th derivative
TANH_POINTS = [-1.3, -0.2, 0.0, 0.5, 2.0]


def test_tanh_fourth_derivative_matches_the_closed_form(example):
    for x0 in TANH_POINTS:
        t = math.tanh(x0)
        expected = 16 * t - 40 * t**3 + 24 * t**5
        d4 = nth_derivative(lambda v: v.tanh(), x0, 4)
        assert d4.data == pytest.approx(expected, rel=1e-12, abs=1e-12)
        assert example.tanh_derivative_closed_form(x0, 4) == pytest.approx(expected, abs=1e-12)
    # on a tensor, elementwise, with backward(create_graph=True) as DeZero does it
    x = Value(np.array(TANH_POINTS))
    x.tanh().sum().backward(create_graph=True)
    for _ in range(3):
        g = x.grad
        x.grad = None
        g.sum().backward(create_graph=True)
    t = np.tanh(np.array(TANH_POINTS))
    np.testing.assert_allclose(x.grad.data, 16 * t - 40 * t**3 + 24 * t**5, rtol=1e-12, atol=1e-12)
    x.grad = None


def test_tanh_fourth_derivative_matches_pytorch():
    torch = pytest.importorskip("torch")
    xs = np.array(TANH_POINTS)
    t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    y = t.tanh()
    for _ in range(4):
        (y,) = torch.autograd.grad(y.sum(), t, create_graph=True)
    ours = nth_derivative(lambda v: v.tanh(), xs, 4)
    np.testing.assert_allclose(ours.data, y.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_the_graphs_of_tanh_derivatives_grow_and_carry_their_order(example):
    x, derivatives = example.tanh_derivatives(0.5, 4)
    counts = [len(d.graph()) for d in derivatives]
    assert counts == sorted(counts) and counts[0] < counts[-1]
    for k, d in enumerate(derivatives, start=1):
        assert d.derivative_order == k
        assert x in d.graph()  # every derivative is a function of x
        orders = {n.derivative_order for n in d.graph() if not n.is_leaf}
        assert orders <= set(range(k + 1)) and k in orders
    assert x.derivative_order == 0 and x.tanh().derivative_order == 0
    assert not x.has_grad  # grad() stores nothing


# ----------------------------------------------------------------------------- Newton's method
def test_newtons_method_follows_the_closed_form_update_and_converges(example):
    trajectory = example.newton(2.0)
    assert trajectory[0] == 2.0
    for x, x_next in zip(trajectory, trajectory[1:]):
        df, d2f = 4 * x**3 - 4 * x, 12 * x**2 - 4
        assert x_next == pytest.approx(x - df / d2f, rel=1e-14, abs=1e-15)
    assert abs(trajectory[-1] - 1.0) < 1e-10
    assert len(trajectory) - 1 <= 8


def test_newton_gives_the_same_steps_with_grad(example):
    x = Value(2.0)
    steps = []
    for _ in range(7):
        (gx,) = grad(example.f(x), x, create_graph=True)
        (gx2,) = grad(gx, x)
        x = Value(x.data - gx.data / gx2)
        steps.append(x.data)
    assert steps == pytest.approx(example.newton(2.0)[1:8], rel=1e-15)


# ----------------------------------------------------------------------------- an MLP
def small_mlp(seed=0):
    rng = np.random.default_rng(seed)
    model = MLP(2, [4, 3, 1], activation="tanh", seed=seed)
    X = rng.normal(size=(5, 2))
    y = rng.normal(size=(5, 1))
    return model, X, y


def numpy_forward(model, X):
    h = X
    for i, layer in enumerate(model.layers):
        w, b = (p.data for p in layer.parameters())
        h = h @ w.T + b
        if i < len(model.layers) - 1:
            h = np.tanh(h)
    return h


def gradient_penalty(model, X, y, create_graph=True):
    """``(d loss / d X)**2`` summed: a Value to backpropagate (``create_graph``), else a float."""
    x = Value(X)
    loss = mse_loss(model(x), y)
    (gx,) = grad(loss, [x], create_graph=create_graph)
    return (gx**2).sum() if create_graph else float((np.asarray(gx) ** 2).sum())


def test_the_mlp_of_these_tests_is_the_numpy_forward():
    model, X, y = small_mlp()
    np.testing.assert_allclose(model(X).data, numpy_forward(model, X), rtol=1e-13)


def test_gradient_penalty_backpropagates_to_the_parameters_as_finite_differences_say():
    model, X, y = small_mlp()
    params = model.parameters()
    penalty = gradient_penalty(model, X, y)
    assert not any(p.has_grad for p in params)  # grad() stores nothing
    penalty.backward()
    ours = [np.array(p.grad) for p in params]
    assert not any(is_value(p.grad) for p in params)  # a plain backward: plain gradients
    by_grad = grad(gradient_penalty(model, X, y), params)
    eps = 1e-6
    for p, g, h in zip(params, ours, by_grad):
        np.testing.assert_allclose(h, g, rtol=1e-12, atol=1e-14)
        numeric = np.zeros_like(p.data)
        for i in np.ndindex(p.data.shape):
            saved = p.data[i]
            p.data[i] = saved + eps
            plus = gradient_penalty(model, X, y, create_graph=False)
            p.data[i] = saved - eps
            minus = gradient_penalty(model, X, y, create_graph=False)
            p.data[i] = saved
            numeric[i] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-8)


def test_gradient_penalty_matches_pytorch():
    torch = pytest.importorskip("torch")
    model, X, y = small_mlp()
    penalty = gradient_penalty(model, X, y)
    penalty.backward()
    weights = [torch.tensor(p.data, dtype=torch.float64, requires_grad=True)
               for p in model.parameters()]
    x = torch.tensor(X, dtype=torch.float64, requires_grad=True)
    h = x
    for i in range(0, len(weights), 2):
        h = h @ weights[i].T + weights[i + 1]
        if i + 2 < len(weights):
            h = h.tanh()
    loss = ((h - torch.tensor(y)) ** 2).mean()
    (gx,) = torch.autograd.grad(loss, x, create_graph=True)
    theirs = (gx**2).sum()
    assert penalty.data == pytest.approx(theirs.item(), rel=1e-12)
    theirs.backward()
    for p, w in zip(model.parameters(), weights):
        np.testing.assert_allclose(p.grad, w.grad.numpy(), rtol=1e-10, atol=1e-13)


def test_hessian_vector_product_of_an_mlp_loss_matches_finite_differences(example):
    model, X, y = small_mlp(1)
    rng = np.random.default_rng(1)
    v = [rng.normal(size=p.shape) for p in model.parameters()]
    hv = example.hessian_vector_product(model, X, y, v)
    fd = example.finite_difference_hvp(model, X, y, v)
    for h, n in zip(hv, fd):
        np.testing.assert_allclose(h, n, rtol=1e-6, atol=1e-8)
    # the same with backward(create_graph=True) and .grad, as DeZero would write it
    params = model.parameters()
    mse_loss(model(X), y).backward(create_graph=True)
    gs = [p.grad for p in params]
    assert all(is_value(g) for g in gs)
    for p in params:
        p.grad = None
    sum((g * vi).sum() for g, vi in zip(gs, v)).backward()
    for p, h in zip(params, hv):
        np.testing.assert_allclose(p.grad, h, rtol=1e-12, atol=1e-14)


def test_hessian_vector_product_matches_pytorch(example):
    torch = pytest.importorskip("torch")
    model, X, y = example.mlp_and_loss(0)
    rng = np.random.default_rng(0)
    v = [rng.normal(size=p.shape) for p in model.parameters()]
    hv = example.hessian_vector_product(model, X, y, v)
    weights = [torch.tensor(p.data, dtype=torch.float64, requires_grad=True)
               for p in model.parameters()]
    h = torch.tensor(X)
    for i in range(0, len(weights), 2):
        h = h @ weights[i].T + weights[i + 1]
        if i + 2 < len(weights):
            h = h.tanh()
    loss = ((h - torch.tensor(y)) ** 2).mean()
    gs = torch.autograd.grad(loss, weights, create_graph=True)
    gv = sum((g * torch.tensor(vi)).sum() for g, vi in zip(gs, v))
    for ours, theirs in zip(hv, torch.autograd.grad(gv, weights)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-13)


# ----------------------------------------------------------------------------- grad()
def test_grad_is_exported_at_the_top_level():
    assert tinygrad_mlp.grad is tinygrad_mlp.engine.grad
    assert "grad" in tinygrad_mlp.__all__


def test_grad_with_several_outputs_and_inputs():
    a, b = Value(2.0), Value(np.array([1.0, -1.0, 3.0]))
    y1 = a * a * b.sum()  # d/da = 2a sum(b) = 12; d/db = a^2 = 4
    y2 = (b * b).sum() * a  # d/da = sum(b^2) = 11; d/db = 2ab
    ga, gb = grad([y1, y2], [a, b])
    assert ga == pytest.approx(12.0 + 11.0)
    np.testing.assert_allclose(gb, 4.0 + 2 * 2.0 * b.data)
    assert type(ga) is float and type(gb) is np.ndarray  # plain without create_graph
    ga, gb = grad([y1, y2], [a, b], grad_outputs=[2.0, -1.0])
    assert ga == pytest.approx(2 * 12.0 - 11.0)
    np.testing.assert_allclose(gb, 2 * 4.0 - 2 * 2.0 * b.data)
    ga, gb = grad((y1, y2), (a, b), create_graph=True)
    assert is_value(ga) and is_value(gb)
    # ga = 2a sum(b) + sum(b^2) and sum(gb) = 3a^2 + 2a sum(b): d/da = 4 sum(b) + 6a
    (h,) = grad(ga + gb.sum(), a)
    assert h == pytest.approx(4 * 3.0 + 6 * 2.0)
    assert not a.has_grad and not b.has_grad


def test_grad_outputs_weigh_a_tensor_output():
    x = Value(np.array([1.0, 2.0, 3.0]))
    y = x**3
    w = np.array([1.0, 0.5, -2.0])
    (g,) = grad(y, x, grad_outputs=w)
    np.testing.assert_allclose(g, 3 * x.data**2 * w)
    (g,) = grad(y, x, grad_outputs=w, create_graph=True)
    (h,) = grad(g.sum(), x)
    np.testing.assert_allclose(h, 6 * x.data * w)
    (g,) = grad(y, x, grad_outputs=Value(w), create_graph=True)
    np.testing.assert_allclose(g.data, 3 * x.data**2 * w)
    with pytest.raises(ValueError, match="grad_outputs"):
        grad([y, y.sum()], x, grad_outputs=[w])


def test_grad_outputs_that_require_a_gradient_are_differentiated_too():
    x = Value(np.array([1.0, 2.0]))
    u = Value(np.zeros(2))
    (g,) = grad(x**3, x, grad_outputs=u, create_graph=True)  # g = 3 x^2 * u
    (gu,) = grad(g.sum(), u)
    np.testing.assert_allclose(gu, 3 * x.data**2)


def test_allow_unused_gives_none_and_without_it_is_an_error():
    x, unused = Value(2.0), Value(np.ones(3))
    y = x * x
    assert grad(y, [x, unused], allow_unused=True) == (4.0, None)
    gx, gu = grad(y, [x, unused], create_graph=True, allow_unused=True)
    assert gu is None and gx.data == 4.0
    with pytest.raises(RuntimeError, match="input 1 was not used"):
        grad(y, [x, unused])
    with pytest.raises(RuntimeError, match="allow_unused"):
        grad(y, [x, unused], create_graph=True)


def test_grad_refuses_what_is_not_a_differentiable_value():
    x = Value(2.0)
    with pytest.raises(TypeError, match="must be Values"):
        grad(x * x, [2.0])
    with pytest.raises(RuntimeError, match="input 0 does not require a gradient"):
        grad(x * x, [Value(1.0, requires_grad=False)])


def test_grad_stores_nothing_and_makes_no_cycle():
    x = Value(np.array([0.5, -1.0]))
    (g,) = grad(x.tanh().sum(), x, create_graph=True)
    assert not x.has_grad
    assert x in g.graph()  # the gradient refers to x; x does not refer to it
    (h,) = grad(g.sum(), x)
    assert not x.has_grad
    np.testing.assert_allclose(h, -2 * np.tanh(x.data) * (1 - np.tanh(x.data) ** 2))


def test_grad_with_respect_to_an_intermediate_node():
    x = Value(2.0)
    z = x * x
    y = z * z * z
    gz, gx = grad(y, [z, x], create_graph=True)
    assert gz.data == pytest.approx(3 * 4.0**2)
    assert gx.data == pytest.approx(6 * 2.0**5)
    assert grad(gz, x)[0] == pytest.approx(6 * 4.0 * 2 * 2.0)


# ----------------------------------------------------------------------------- the rules
def test_plain_backward_onto_a_value_gradient_adds_and_stays_a_value():
    x = Value(2.0)
    (x**3).backward(create_graph=True)
    assert is_value(x.grad) and x.grad.data == 12.0
    (x * x).backward()
    assert is_value(x.grad) and x.grad.data == 12.0 + 4.0
    x.grad = None


def test_create_graph_onto_a_plain_gradient_gives_a_value():
    x = Value(np.array([1.0, 2.0]))
    (x * x).sum().backward()
    assert type(x.grad) is np.ndarray
    (x**3).sum().backward(create_graph=True)
    assert is_value(x.grad)
    np.testing.assert_allclose(x.grad.data, 2 * x.data + 3 * x.data**2)
    (h,) = grad(x.grad.sum(), x)
    np.testing.assert_allclose(h, 6 * x.data)  # the plain part is a constant
    x.grad = None


def test_a_value_set_as_gradient_is_stored_as_a_value():
    x = Value(np.ones(3))
    g = Value(np.arange(3.0))
    x.grad = g
    assert x.grad is g
    s = Value(1.0)
    s.grad = Value(5.0)
    assert is_value(s.grad) and s.grad.data == 5.0  # not flattened by float()
    with pytest.raises(ValueError, match="shape"):
        x.grad = Value(np.ones(2))
    with pytest.raises(ValueError, match="shape"):
        s.grad = Value(np.ones(2))


def test_grad_before_any_backward_is_plain_zeros():
    assert Value(1.5).grad == 0.0 and type(Value(1.5).grad) is float
    g = Value(np.ones((2, 3), np.float32)).grad
    assert type(g) is np.ndarray and g.dtype == np.float32 and not g.any()


def test_setting_grad_to_none_clears_and_breaks_the_cycle():
    x = Value(2.0)
    (x**3).backward(create_graph=True)
    assert x in x.grad.graph()  # x -> its gradient -> x: the reference cycle PyTorch has too
    x.grad = None
    assert not x.has_grad and x.grad == 0.0


def test_intermediate_nodes_keep_plain_gradients():
    x = Value(np.array([0.3, 0.7]))
    z = x * 2.0
    y = z.tanh().sum()
    y.backward(create_graph=True)
    assert is_value(x.grad)
    assert type(z.grad) is np.ndarray and type(y.grad) is float
    np.testing.assert_allclose(z.grad, 1 - np.tanh(z.data) ** 2)
    x.grad = None


class Square(Function):
    """A user operation with no backward_graph."""

    @staticmethod
    def forward(ctx, a):
        return a * a

    @staticmethod
    def backward(ctx, grad):
        (a,) = ctx.parents
        return grad * 2 * a.data


class SquareTwice(Square):
    @staticmethod
    def backward_graph(ctx, grad):
        (a,) = ctx.parents  # a Value, as grad is
        return grad * 2 * a


def test_a_user_function_without_backward_graph_is_a_clear_error_under_create_graph():
    x = Value(3.0)
    with pytest.raises(RuntimeError, match=r"'Square'.*backward_graph"):
        Square.apply(x).backward(create_graph=True)
    with pytest.raises(RuntimeError, match=r"'Square'.*backward_graph"):
        grad(Square.apply(x) * 2, x, create_graph=True)
    Square.apply(x).backward()  # the first-order path needs no backward_graph
    assert x.grad == 6.0
    assert grad(Square.apply(x), x) == (6.0,)


def test_a_user_function_with_backward_graph_can_be_differentiated_twice():
    x = Value(np.array([3.0, -1.0]))
    (g,) = grad(SquareTwice.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.data, 2 * x.data)
    (h,) = grad(g.sum(), x)
    np.testing.assert_allclose(h, [2.0, 2.0])


def test_create_graph_builds_the_graph_even_under_no_grad():
    x = Value(2.0)
    y = x**3
    with no_grad():
        (g,) = grad(y, x, create_graph=True)  # as torch.autograd.grad: create_graph wins
        assert g.requires_grad
        plain = g * 2  # but what is computed here is a constant
        assert not plain.requires_grad
    assert grad(g, x) == (12.0,)
    with no_grad():
        z = x**3
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        z.backward(create_graph=True)
    with enable_grad():
        (g,) = grad(x**3, x, create_graph=True)
    assert grad(g, x) == (12.0,)


def test_detect_anomaly_with_create_graph():
    x = Value(np.array([1.0, 2.0]))
    with detect_anomaly():
        (g,) = grad((x**3).sum(), x, create_graph=True)
        (h,) = grad(g.sum(), x)
    np.testing.assert_allclose(h, 6 * x.data)
    z = Value(0.0)
    with detect_anomaly(), np.errstate(divide="ignore"), pytest.raises(FloatingPointError):
        grad(z.sqrt(), z, create_graph=True)  # d sqrt(z) / dz = inf at 0


def test_float32_stays_float32_through_higher_derivatives():
    x = Value(np.array([0.5, -1.0], np.float32))
    y = x.tanh().sum()
    (g,) = grad(y, x, create_graph=True)
    assert g.dtype == np.float32
    (h,) = grad(g.sum(), x, create_graph=True)
    assert h.dtype == np.float32
    (k,) = grad(h.sum(), x)
    assert k.dtype == np.float32
    t = np.tanh(x.data.astype(np.float64))
    np.testing.assert_allclose(k, -2 * (1 - t**2) * (1 - 3 * t**2), rtol=1e-5)
    y.backward(create_graph=True)
    assert x.grad.dtype == np.float32
    x.grad = None


def test_the_scalar_path_gives_python_floats():
    x = Value(0.7)
    (g,) = grad(x.tanh() * x, x, create_graph=True)
    assert type(g.data) is float
    (h,) = grad(g, x)
    t = math.tanh(0.7)
    assert type(h) is float
    assert h == pytest.approx(2 * (1 - t * t) - 2 * 0.7 * t * (1 - t * t), rel=1e-12)


def test_broadcasting_with_create_graph():
    a = Value(np.array([1.0, 2.0, 3.0]))
    b = Value(np.array([[1.0], [-2.0]]))
    y = (a * a * b).sum()  # a: (3,), b: (2, 1), a*a*b: (2, 3)
    ga, gb = grad(y, [a, b], create_graph=True)
    assert ga.shape == (3,) and gb.shape == (2, 1)
    np.testing.assert_allclose(ga.data, 2 * a.data * b.data.sum())
    np.testing.assert_allclose(gb.data, np.full((2, 1), (a.data**2).sum()))
    haa, hab = grad((ga * ga).sum(), [a, b])  # sum_k (2 a_k B)^2 with B = sum(b)
    B = b.data.sum()
    np.testing.assert_allclose(haa, 8 * a.data * B**2)
    np.testing.assert_allclose(hab, np.full((2, 1), 8 * (a.data**2).sum() * B))
    y.backward(create_graph=True)
    assert a.grad.shape == (3,) and b.grad.shape == (2, 1)
    a.grad = b.grad = None


def test_broadcasting_second_derivatives_match_pytorch():
    torch = pytest.importorskip("torch")
    A, B = np.array([0.3, -1.2, 0.8]), np.array([[0.5], [1.5]])
    a, b = Value(A), Value(B)
    ga, gb = grad(((a * b).tanh() * a).sum(), [a, b], create_graph=True)
    ours = grad((ga**2).sum() + gb.sum(), [a, b])
    ta = torch.tensor(A, requires_grad=True)
    tb = torch.tensor(B, requires_grad=True)
    tga, tgb = torch.autograd.grad(((ta * tb).tanh() * ta).sum(), [ta, tb], create_graph=True)
    theirs = torch.autograd.grad((tga**2).sum() + tgb.sum(), [ta, tb])
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t.numpy(), rtol=1e-12, atol=1e-14)


def test_optimizer_step_after_create_graph_uses_the_gradient_data():
    w = Value(np.array([1.0, -2.0]))
    s = Value(1.5)
    ((w**3).sum() + s**3).backward(create_graph=True)
    assert is_value(w.grad) and is_value(s.grad)
    SGD([w, s], lr=0.1).step()
    np.testing.assert_allclose(w.data, [1.0 - 0.3, -2.0 - 1.2])
    assert type(s.data) is float and s.data == pytest.approx(1.5 - 0.1 * 3 * 1.5**2)


def test_optimizer_with_momentum_after_create_graph():
    w = Value(np.array([1.0, -2.0]))
    opt = SGD([w], lr=0.1, momentum=0.9)
    expected, buf = w.data.copy(), None
    for _ in range(2):
        opt.zero_grad()
        (w**3).sum().backward(create_graph=True)
        g = 3 * expected**2
        buf = g if buf is None else 0.9 * buf + g
        expected = expected - 0.1 * buf
        opt.step()
        np.testing.assert_allclose(w.data, expected)
    assert is_value(w.grad)
    opt.zero_grad()
    assert not w.has_grad


def test_derivative_order_of_the_nodes_recorded():
    x = Value(0.5)
    y = x.tanh()
    assert y.derivative_order == 0
    (g1,) = grad(y, x, create_graph=True)
    (g2,) = grad(g1, x, create_graph=True)
    assert g1.derivative_order == 1 and g2.derivative_order == 2
    orders = {n.derivative_order for n in g2.graph() if not n.is_leaf}
    assert min(orders) == 0 and max(orders) == 2  # tanh(x) itself, and the new nodes
    y.backward(create_graph=True)
    assert x.grad.derivative_order == 1
    x.grad = None
    (x * 3).backward()  # first-order nodes stay order 0
    assert (x * 3).derivative_order == 0


# ----------------------------------------------------------------------------- third derivatives
class Cos(Function):
    symbol = "cos"

    @staticmethod
    def forward(ctx, x):
        return np.cos(x) if type(x) is not float else math.cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.parents
        return -grad * np.sin(x.data)

    @staticmethod
    def backward_graph(ctx, grad):
        (x,) = ctx.parents
        return -grad * Sin.apply(x)


class Sin(Function):
    symbol = "sin"

    @staticmethod
    def forward(ctx, x):
        return np.sin(x) if type(x) is not float else math.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.parents
        return grad * np.cos(x.data)

    @staticmethod
    def backward_graph(ctx, grad):
        (x,) = ctx.parents
        return grad * Cos.apply(x)


THIRD = [
    ("x**3", lambda x: x**3, lambda x: 6.0 + 0 * x),
    ("exp", lambda x: x.exp(), np.exp),
    ("exp(2x)", lambda x: (2 * x).exp(), lambda x: 8 * np.exp(2 * x)),
    ("log", lambda x: x.log(), lambda x: 2 / x**3),
    ("1/x", lambda x: 1 / x, lambda x: -6 / x**4),
    ("sqrt", lambda x: x.sqrt(), lambda x: 3 / 8 * x**-2.5),
    ("sin", Sin.apply, lambda x: -np.cos(x)),
    ("sin(x**2)", lambda x: Sin.apply(x * x),
     lambda x: -12 * x * np.sin(x**2) - 8 * x**3 * np.cos(x**2)),
    ("x*sin(x)", lambda x: x * Sin.apply(x), lambda x: -3 * np.sin(x) - x * np.cos(x)),
    ("sigmoid", lambda x: x.sigmoid(),
     lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s) * (1 - 6 * s + 6 * s * s)),
]


@pytest.mark.parametrize("name, fn, third", THIRD, ids=[t[0] for t in THIRD])
def test_third_derivatives_by_applying_grad_three_times(name, fn, third):
    x0 = np.array([0.4, 1.3, 2.2])
    np.testing.assert_allclose(nth_derivative(fn, x0, 3).data, third(x0), rtol=1e-11, atol=1e-12)
    for s in x0:  # the scalar path
        assert nth_derivative(fn, float(s), 3).data == pytest.approx(float(third(s)), rel=1e-11)


def test_third_derivatives_with_backward_create_graph():
    x = Value(2.0)
    (x**3).backward(create_graph=True)
    for _ in range(2):
        g = x.grad
        x.grad = None
        g.backward(create_graph=True)
    assert x.grad.data == 6.0
    x.grad = None


def test_third_derivatives_of_compositions_match_pytorch():
    torch = pytest.importorskip("torch")
    x0 = np.array([0.3, 0.9, 1.7])
    compositions = [
        (lambda x: (x.exp() + 1).log().tanh(), lambda t: (t.exp() + 1).log().tanh()),
        (lambda x: Sin.apply(x.sigmoid() * x), lambda t: (t.sigmoid() * t).sin()),
        (lambda x: x ** 2.5 / (1 + x * x), lambda t: t ** 2.5 / (1 + t * t)),
    ]
    for ours, theirs in compositions:
        t = torch.tensor(x0, requires_grad=True)
        y = theirs(t)
        for _ in range(3):
            (y,) = torch.autograd.grad(y.sum(), t, create_graph=True)
        np.testing.assert_allclose(nth_derivative(ours, x0, 3).data, y.detach().numpy(),
                                   rtol=1e-11, atol=1e-12)


# --------------------------------------------------------------------------- seeds and messages
def test_a_value_given_as_the_output_gradient_is_checked_and_used():
    from tinygrad_mlp import grad

    x = Value(2.0)
    assert grad(x * 2, x, grad_outputs=Value(3.0)) == (6.0,)
    v = Value(np.ones(3))
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3,\)"):
        grad(v * 2, v, grad_outputs=Value(np.ones((2, 3))), create_graph=True)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3,\)"):
        (v * 2).backward(Value(np.ones((2, 3))), create_graph=True)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_detect_anomaly_under_create_graph_names_the_backward_of_the_operation():
    from tinygrad_mlp import detect_anomaly, grad

    x = Value(0.0)
    with detect_anomaly(), pytest.raises(FloatingPointError, match="backward pass of 'sqrt'"):
        grad(x.sqrt(), x, create_graph=True)


def test_grad_of_a_constant_output_says_so():
    from tinygrad_mlp import grad

    with pytest.raises(RuntimeError, match="grad: output 0 does not require a gradient"):
        grad(Value(1.0, requires_grad=False) * 2, Value(1.0))


def test_constants_made_by_a_create_graph_pass_have_order_zero_on_both_engines():
    from tinygrad_mlp import grad

    x = Value(1.0)
    (g,) = grad(x + 1, x, create_graph=True)
    assert g.derivative_order == 0 and not g.requires_grad


# --------------------------------------------------------------------------- readers of .grad
def test_drawings_gradcheck_and_frames_read_a_value_gradient_by_its_data():
    from tinygrad_mlp import MLP, gradcheck
    from tinygrad_mlp.viz import backward_frames, draw_dot, draw_mlp

    x = Value(0.5, label="x")
    y = (x * x).tanh()
    y.backward(create_graph=True)
    assert isinstance(x.grad, Value)
    source = draw_dot(y, notation="plain").source
    assert f"grad {x.grad.data:.4f}" in source
    order = draw_dot(x.grad, color_by_order=True, show_grad=False).source
    assert "1st derivative" in order and "forward pass" in order
    assert len(backward_frames(y)) > 0 and isinstance(x.grad, Value)  # grads left as they were
    kept = x.grad
    assert gradcheck(lambda v: (v * v).tanh(), [x]) and x.grad is kept
    model = MLP(2, [3, 1], seed=0)
    (model(np.ones((2, 2))) ** 2).sum().backward(create_graph=True)
    assert isinstance(model.layers[0].W.grad, Value)
    assert "->" in draw_mlp(model, values_from="grads").source


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_detect_anomaly_checks_the_array_gradients_of_a_first_order_grad():
    from tinygrad_mlp import detect_anomaly, grad

    x = Value(np.array([0.0, 4.0]))
    with detect_anomaly(), pytest.raises(FloatingPointError, match="backward pass of 'sqrt'"):
        grad(x.sqrt().sum(), x)

"""``backward()`` and the graph: depth, reuse, accumulation, ``zero_grad``, ``no_grad``,
``detect_anomaly`` and freeing by reference counting."""

from __future__ import annotations

import gc
import math
import sys
import threading
import warnings

import numpy as np
import pytest

from tinygrad_mlp import (
    Function,
    Value,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
)

# --------------------------------------------------------------------------- deep graphs


def test_chain_of_depth_one_million():
    n = 1_000_000
    c = 1.0 + 1e-6
    x = Value(1.0, label="x")
    k = Value(c, requires_grad=False)  # one shared constant: half the nodes of `y * c`
    y = x
    for _ in range(n):
        y = y * k
    expected = c**n  # about e
    assert y.data == pytest.approx(expected, rel=1e-9)
    y.backward()
    assert x.grad == pytest.approx(expected, rel=1e-8)
    first = y.parents[0]  # the node one step below the root
    assert first.grad == pytest.approx(c, rel=1e-12)
    y.zero_grad()
    assert x.grad == 0.0
    assert first.grad == 0.0
    y.backward()  # a second pass after zero_grad gives one pass again
    assert x.grad == pytest.approx(expected, rel=1e-8)
    del y, first  # freeing the chain must not overflow the C stack either


def test_deep_tensor_chain():
    x = Value(np.array([1.0, 2.0]))
    y = x
    for _ in range(20_000):
        y = y + 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
    np.testing.assert_array_equal(y.data, [20_001.0, 20_002.0])


def test_every_node_used_twice_is_linear_not_exponential():
    # 2**200 paths from root to leaf: a per-path walk would never finish
    x = Value(1.0)
    y = x
    for _ in range(200):
        y = y * 0.5 + y * 0.5
    y.backward()
    assert x.grad == 1.0
    z = x
    for _ in range(60):
        z = z + z  # both operands the same node
    z.backward()
    assert x.grad == 1.0 + 2.0**60  # accumulates onto the previous pass


def test_graph_lists_every_node_once_operands_first():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = c + a
    e = d * c
    order = e.graph()
    assert len(order) == len(set(order)) == 5
    pos = {v: i for i, v in enumerate(order)}
    for v in order:
        for p in v.parents:
            assert pos[p] < pos[v]
    assert order[-1] is e
    assert [v.label or v.op for v in order] == [v.label or v.op for v in e.graph()]


# --------------------------------------------------------------------------- reuse


def test_reused_scalar_node_adds_both_contributions():
    a = Value(3.0)
    (a * a).backward()
    assert a.grad == 6.0
    b = Value(3.0)
    (b + b).backward()
    assert b.grad == 2.0
    c = Value(2.0)
    h = c * 3.0
    (h * h + h).backward()  # d/dh = 2h + 1 = 13, dh/dc = 3
    assert h.grad == 13.0
    assert c.grad == 39.0


def test_reused_tensor_node_adds_both_contributions():
    a = Value(np.array([1.0, 2.0, 3.0]))
    h = a * 2.0
    y = (h * h).sum() + h.sum() + (h[np.array([0, 0])] * 10.0).sum()
    y.backward()
    np.testing.assert_allclose(h.grad, 2 * h.data + 1 + np.array([20.0, 0.0, 0.0]))
    np.testing.assert_allclose(a.grad, 2 * h.grad)


def test_reuse_across_broadcast_positions():
    a = Value(np.array([1.0, 2.0]))
    m = Value(np.ones((3, 2)))
    (a * m + a).sum().backward()  # a is broadcast over 3 rows in both uses
    np.testing.assert_array_equal(a.grad, [6.0, 6.0])


# --------------------------------------------------------------------------- accumulation


def test_leaves_accumulate_across_calls_intermediates_show_the_latest_pass():
    x = Value(2.0, label="x")
    h = x * 3.0
    y = h * h  # dy/dh = 2h = 12, dy/dx = 36
    y.backward()
    assert (x.grad, h.grad, y.grad) == (36.0, 12.0, 1.0)
    y.backward()
    assert x.grad == 72.0  # leaf: two passes
    assert h.grad == 12.0  # intermediate: latest pass only
    assert y.grad == 1.0


def test_tensor_leaves_accumulate_too():
    x = Value(np.array([1.0, -2.0]))
    h = x * x
    y = h.sum()
    y.backward()
    y.backward()
    y.backward()
    np.testing.assert_array_equal(x.grad, 3 * 2 * x.data)
    np.testing.assert_array_equal(h.grad, [1.0, 1.0])


def test_accumulation_over_two_roots_sharing_a_leaf():
    w = Value(np.array([1.0, 2.0]))
    (w * 3.0).sum().backward()
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [3.0 + 2.0, 3.0 + 4.0])


def test_reading_a_leaf_grad_between_passes_is_consistent():
    x = Value(np.array([1.0, 2.0]))
    y = (x * 5.0).sum()
    y.backward()
    first = x.grad.copy()
    y.backward()
    np.testing.assert_array_equal(x.grad, 2 * first)


def test_zero_grad_clears_every_grad_in_the_graph():
    x = Value(np.array([1.0, 2.0]))
    s = Value(3.0)
    h = x * s
    y = h.sum()
    y.backward()
    y.backward()
    y.zero_grad()
    for v in (x, s, h, y):
        assert not np.any(v.grad)
    assert type(s.grad) is float
    y.backward()  # one pass, not three
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    assert s.grad == 3.0


def test_zero_grad_does_not_touch_values_outside_the_graph():
    x, other = Value(1.0), Value(1.0)
    (other * 2).backward()
    y = x * 2
    y.backward()
    y.zero_grad()
    assert x.grad == 0.0
    assert other.grad == 2.0


# --------------------------------------------------------------------------- backward(grad=...)


def test_backward_with_a_gradient_on_a_tensor_root():
    x = Value(np.array([1.0, 2.0, 3.0]))
    y = x * 2.0
    g = np.array([1.0, 10.0, 100.0])
    y.backward(g)
    np.testing.assert_array_equal(x.grad, [2.0, 20.0, 200.0])
    np.testing.assert_array_equal(y.grad, g)
    np.testing.assert_array_equal(g, [1.0, 10.0, 100.0])  # the caller's array is untouched
    y.backward(grad=[1, 1, 1])  # any array-like
    np.testing.assert_array_equal(x.grad, [4.0, 22.0, 202.0])
    np.testing.assert_array_equal(g, [1.0, 10.0, 100.0])


def test_backward_grad_keeps_the_roots_dtype():
    x = Value(np.ones((2, 2), dtype=np.float32))
    y = x * 3.0
    y.backward(np.ones((2, 2)))  # float64 given
    assert y.grad.dtype == np.float32
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, np.full((2, 2), 3.0))


def test_backward_with_a_gradient_on_a_scalar_root():
    x = Value(3.0)
    (x * x).backward(2.0)
    assert x.grad == 12.0


def test_backward_on_a_leaf_root():
    x = Value(np.array([1.0, 2.0]))
    x.backward(np.array([5.0, 6.0]))
    np.testing.assert_array_equal(x.grad, [5.0, 6.0])


def test_backward_grad_of_the_wrong_shape_is_refused():
    y = Value(np.ones(3)) * 2.0
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        y.backward(np.ones(2))


def test_backward_on_a_constant_is_refused():
    c = Value(1.0, requires_grad=False) * 2.0
    with pytest.raises(RuntimeError, match="does not require"):
        c.backward()


# --------------------------------------------------------------------------- no_grad


def _assert_not_recorded(v: Value):
    assert v.parents == ()
    assert v.op == ""
    assert v.requires_grad is False


def test_no_grad_context_manager_records_nothing():
    a = Value(2.0)
    with no_grad():
        assert is_grad_enabled() is False
        b = a * 3.0 + 1.0
        c = Value(np.ones(2)).tanh().sum()
    assert is_grad_enabled() is True
    assert b.data == 7.0
    _assert_not_recorded(b)
    _assert_not_recorded(c)
    d = a * 3.0  # recording is back on after the block
    assert d.parents[0] is a and d.requires_grad


def test_no_grad_as_a_decorator():
    @no_grad()
    def update(w: Value, lr: float) -> Value:
        assert not is_grad_enabled()
        return w - lr * 2.0

    w = Value(1.0)
    new = update(w, 0.1)
    assert new.data == pytest.approx(0.8)
    _assert_not_recorded(new)
    assert is_grad_enabled()
    assert update.__name__ == "update"  # functools.wraps
    assert (w * 2).requires_grad


def test_no_grad_restores_state_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            raise ZeroDivisionError
    assert is_grad_enabled()
    assert (Value(1.0) * 2).op == "*"


def test_no_grad_nests_with_enable_grad():
    a = Value(1.0)
    with no_grad():
        with enable_grad():
            assert is_grad_enabled()
            b = a * 2
        c = a * 2
        with no_grad():
            d = a * 2
        e = a * 2
    assert b.op == "*" and b.parents[0] is a
    for v in (c, d, e):
        _assert_not_recorded(v)


def test_one_no_grad_object_can_be_reentered():
    ng = no_grad()
    with ng:
        with ng:
            pass
        assert not is_grad_enabled()
    assert is_grad_enabled()


def _in_thread(fn):
    out = {}

    def run():
        try:
            out["result"] = fn()
        except BaseException as e:  # pragma: no cover - reported below
            out["error"] = e

    t = threading.Thread(target=run)
    t.start()
    return t, out


def test_no_grad_in_another_thread_does_not_affect_this_one():
    inside, release = threading.Event(), threading.Event()

    def worker():
        with no_grad():
            inside.set()
            assert release.wait(10)
            return (Value(1.0) * 2).requires_grad

    t, out = _in_thread(worker)
    assert inside.wait(10)
    try:
        assert is_grad_enabled()
        y = Value(1.0) * 2  # recorded here while the other thread is inside no_grad
        assert y.requires_grad and y.op == "*"
    finally:
        release.set()
        t.join(10)
    assert "error" not in out
    assert out["result"] is False


def test_no_grad_here_does_not_affect_another_thread():
    with no_grad():
        t, out = _in_thread(lambda: ((Value(1.0) * 2).requires_grad, is_grad_enabled()))
        t.join(10)
        assert (Value(1.0) * 2).requires_grad is False
    assert out["result"] == (True, True)


# --------------------------------------------------------------------------- detect_anomaly


class NanGrad(Function):
    """Doubles its input, with a broken backward that returns NaN."""

    @staticmethod
    def forward(ctx, x):
        return x * 2.0

    @staticmethod
    def backward(ctx, grad):
        return grad * math.nan


def test_anomaly_names_the_op_in_the_forward_pass():
    with detect_anomaly():
        ok = Value(2.0).log()  # finite: no error
        assert ok.data == pytest.approx(math.log(2.0))
        with pytest.warns(RuntimeWarning), pytest.raises(FloatingPointError) as info:
            Value(-1.0).log()
    msg = str(info.value)
    assert "'log'" in msg and "forward" in msg and "nan" in msg


@pytest.mark.parametrize(
    "fn, op, what",
    [
        (lambda: Value(1000.0).exp(), "exp", "inf"),
        (lambda: Value(1.0) / Value(0.0), "/", "inf"),
        (lambda: Value(np.array([1.0, -1.0])).sqrt(), "sqrt", "nan"),
        (lambda: Value(np.array([0.0, 1.0])).log(), "log", "inf"),
    ],
    ids=["exp", "div", "sqrt", "log0"],
)
def test_anomaly_forward_names_op_and_kind(fn, op, what):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with detect_anomaly(), pytest.raises(FloatingPointError) as info:
            fn()
    assert f"forward pass of {op!r} produced {what}" in str(info.value)


def test_without_anomaly_mode_nan_just_propagates():
    with pytest.warns(RuntimeWarning):
        y = Value(-1.0).log() * 2
    assert math.isnan(y.data)
    x = Value(1.0)
    z = NanGrad.apply(x).tanh()
    z.backward()
    assert math.isnan(x.grad)


def test_anomaly_names_the_op_in_the_backward_pass():
    x = Value(1.0)
    y = NanGrad.apply(x).tanh() * 3.0  # '*' and 'tanh' are fine, NanGrad is not
    with detect_anomaly(), pytest.raises(FloatingPointError) as info:
        y.backward()
    msg = str(info.value)
    assert "backward pass of 'NanGrad' produced nan" in msg


def test_anomaly_backward_of_a_builtin():
    x = Value(0.0)
    y = x.sqrt()  # forward is fine: 0.0
    assert y.data == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with detect_anomaly(), pytest.raises(FloatingPointError, match="backward pass of 'sqrt'"):
            y.backward()


def test_graph_is_usable_after_an_anomaly_in_backward():
    x = Value(4.0)
    h = x * x
    bad = NanGrad.apply(h)
    with detect_anomaly(), pytest.raises(FloatingPointError):
        (bad + h).backward()
    x.grad = None
    y = h * 0.5  # a fresh root over the same nodes: its pass must be complete
    y.backward()
    assert x.grad == 4.0


def test_detect_anomaly_as_a_decorator():
    @detect_anomaly()
    def f():
        return Value(0.0).log()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(FloatingPointError, match="'log'"):
            f()
        assert math.isinf(Value(0.0).log().data)  # off again outside


def test_detect_anomaly_is_thread_local():
    inside, release = threading.Event(), threading.Event()

    def worker():
        with detect_anomaly():
            inside.set()
            assert release.wait(10)

    t, out = _in_thread(worker)
    assert inside.wait(10)
    try:
        with pytest.warns(RuntimeWarning):
            y = Value(-1.0).log()  # no error in this thread
        assert math.isnan(y.data)
    finally:
        release.set()
        t.join(10)
    assert "error" not in out


# --------------------------------------------------------------------------- freeing memory


@pytest.fixture
def gc_off():
    """Collect what earlier tests left behind, then keep the cyclic collector off."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class _Sentinel:
    """Records in ``log`` the moment it is freed."""

    def __init__(self, log: list) -> None:
        self.log = log

    def __del__(self) -> None:
        self.log.append("freed")


class SaveSentinel(Function):
    """Multiplies by 2 and saves a sentinel object for backward."""

    @staticmethod
    def forward(ctx, x, sentinel):
        ctx.save_for_backward(sentinel)
        return x * 2.0

    @staticmethod
    def backward(ctx, grad):
        return grad * 2.0, None


def _build_step(params):
    """One training step's graph over ``params``: scalar, tensor, indexing and custom ops."""
    w, b, s = params
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    h = (x @ w + b).tanh()
    loss = ((h - 1.0) ** 2).mean() + (h[np.array([0, 0]), 1] * s).sum().relu()
    loss = loss + (s * s - s / 3.0).sigmoid().log() + h.max(axis=0).sum() * s.exp()
    return loss


def _params():
    return (Value(np.array([[0.1, -0.2], [0.3, 0.4]])), Value(np.array([0.05, -0.05])),
            Value(0.7))


def test_a_finished_step_leaves_nothing_for_the_cyclic_collector(gc_off):
    params = _params()
    loss = _build_step(params)
    loss.backward()
    del loss
    assert gc.collect() == 0  # micrograd-style closures over the output would be found here


def test_an_unused_forward_graph_leaves_nothing_for_the_collector(gc_off):
    params = _params()
    _build_step(params)  # result dropped at once
    assert gc.collect() == 0


def test_dropping_the_root_frees_the_graph_at_once(gc_off):
    log: list = []
    x = Value(np.array([1.0, 2.0]))
    y = SaveSentinel.apply(x, _Sentinel(log))
    root = (y * y).sum().tanh()
    root.backward()
    del y
    assert log == []  # the graph still holds the saved object through root
    del root
    assert log == ["freed"]  # freed by reference counting, with the collector off
    assert x.grad.shape == (2,)  # leaves the user holds stay alive


def test_the_root_and_the_leaves_are_referenced_only_by_the_caller(gc_off):
    params = _params()
    before = [sys.getrefcount(p) for p in params]
    loss = _build_step(params)
    loss.backward()
    fresh = Value(1.0)
    # nothing inside the graph points back at the root (a closure over it would)
    assert sys.getrefcount(loss) == sys.getrefcount(fresh)
    del loss
    assert [sys.getrefcount(p) for p in params] == before


def test_the_checks_above_catch_closure_cycles(gc_off):
    """Control: a micrograd-style node whose backward closure captures its output node
    fails both checks, so the tests above would fail for such an engine."""

    class ClosureValue:
        def __init__(self, data, children=()):
            self.data, self.grad, self._prev = data, 0.0, children
            self._backward = lambda: None

        def __mul__(self, other):
            out = ClosureValue(self.data * other.data, (self, other))

            def _backward():
                self.grad += other.data * out.grad
                other.grad += self.data * out.grad

            out._backward = _backward
            return out

    a, b = ClosureValue(2.0), ClosureValue(3.0)
    out = a * b
    assert sys.getrefcount(out) > sys.getrefcount(ClosureValue(1.0))
    del out
    assert gc.collect() > 0


def test_no_grad_decorator_covers_a_generators_body():
    from tinygrad_mlp import no_grad

    @no_grad()
    def scaled(x):
        for k in range(3):
            yield x * k

    outs = list(scaled(Value(2.0)))
    assert [o.data for o in outs] == [0.0, 2.0, 4.0]
    assert not any(o.requires_grad for o in outs)
    assert (Value(1.0) * 2).requires_grad  # recording is back on outside


def test_a_leaf_never_shares_its_gradient_with_an_operations_saved_array():
    from tinygrad_mlp import Function

    class ReturnsSaved(Function):  # not marked fresh_grads: the engine must copy
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(np.ones(3))
            return x * 1.0

        @staticmethod
        def backward(ctx, grad):
            (ones,) = ctx.saved_values
            return ones

    x = Value(np.zeros(3))
    y = ReturnsSaved.apply(x).sum()
    y.backward()
    y.backward()  # accumulates into x.grad in place
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(y.parents[0].saved_values[0], [1.0, 1.0, 1.0])


def test_leaf_gradients_from_fresh_ops_accumulate_correctly():
    w = Value(np.array([1.0, 2.0]))
    loss = (w * w).sum() + (w * 3.0).sum()
    loss.backward()
    loss.backward()
    np.testing.assert_array_equal(w.grad, 2 * (2 * w.data + 3.0))


def test_grad_mode_switches_in_many_threads_leave_the_shared_count_at_rest():
    # The engines skip the thread-local mode while no switch is on anywhere; the count of
    # switches must therefore never lose an update when threads enter and leave at once.
    import sys

    from tinygrad_mlp.engine import modes

    def churn():
        for _ in range(3000):
            with no_grad():
                pass

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=churn) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert modes.active_switches == 0
    x = Value(2.0)
    with no_grad():
        assert not (x * x).requires_grad
    assert (x * x).requires_grad

"""Losses, softmax, accuracy and the loss registry of ``tinygrad_mlp.functional``.

Every loss is checked against a numpy formula (always) and against PyTorch (when installed),
value and gradient, and with ``gradcheck``.  Shapes are never silently broadcast.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mlp import Value, gradcheck
from tinygrad_mlp.functional import (
    LOSSES,
    accuracy,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    get_loss,
    hinge_loss,
    l1_loss,
    l2_penalty,
    log_softmax,
    mse_loss,
    register_loss,
    softmax,
)

RNG = np.random.default_rng(1234)


def _grad_of(loss_fn, pred: np.ndarray, *args, **kwargs):
    """Value and gradient (w.r.t. the predictions) of one of our losses."""
    p = Value(pred.copy())
    out = loss_fn(p, *args, **kwargs)
    out.backward()
    return out.item(), np.array(p.grad)


def _torch_grad_of(torch_fn, pred: np.ndarray, *args, **kwargs):
    import torch

    p = torch.tensor(pred, dtype=torch.float64, requires_grad=True)
    out = torch_fn(p, *args, **kwargs)
    out.backward()
    return out.item(), p.grad.numpy()


# --------------------------------------------------------------------------- numpy formulas
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _np_log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_value_and_grad_match_numpy(reduction):
    pred, t = RNG.normal(size=(7, 3)), RNG.normal(size=(7, 3))
    val, grad = _grad_of(mse_loss, pred, t, reduction=reduction)
    scale = 1.0 / pred.size if reduction == "mean" else 1.0
    np.testing.assert_allclose(val, ((pred - t) ** 2).sum() * scale, rtol=1e-12)
    np.testing.assert_allclose(grad, 2 * (pred - t) * scale, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_l1_value_and_grad_match_numpy(reduction):
    pred, t = RNG.normal(size=(6,)), RNG.normal(size=(6,))
    val, grad = _grad_of(l1_loss, pred, t, reduction=reduction)
    scale = 1.0 / pred.size if reduction == "mean" else 1.0
    np.testing.assert_allclose(val, np.abs(pred - t).sum() * scale, rtol=1e-12)
    np.testing.assert_allclose(grad, np.sign(pred - t) * scale, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_value_and_grad_match_numpy(reduction):
    p = RNG.uniform(0.05, 0.95, size=(8,))
    t = RNG.integers(0, 2, size=8).astype(float)
    val, grad = _grad_of(binary_cross_entropy, p, t, reduction=reduction)
    scale = 1.0 / p.size if reduction == "mean" else 1.0
    expected = -(t * np.log(p) + (1 - t) * np.log(1 - p)).sum() * scale
    np.testing.assert_allclose(val, expected, rtol=1e-12)
    np.testing.assert_allclose(grad, (p - t) / (p * (1 - p)) * scale, rtol=1e-10)


def test_bce_of_exact_zero_and_one_probabilities_is_finite_like_torch():
    # PyTorch clamps the logs at -100: a confident wrong answer costs 100, not inf
    val = binary_cross_entropy(Value(np.array([0.0, 1.0])), [1.0, 0.0]).item()
    assert val == pytest.approx(100.0)
    assert binary_cross_entropy(Value(np.array([1.0, 0.0])), [1.0, 0.0]).item() == 0.0


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_with_logits_value_and_grad_match_numpy(reduction):
    x = RNG.normal(scale=3, size=(5, 1))
    t = RNG.uniform(0, 1, size=(5, 1))
    val, grad = _grad_of(binary_cross_entropy_with_logits, x, t, reduction=reduction)
    scale = 1.0 / x.size if reduction == "mean" else 1.0
    s = _sigmoid(x)
    expected = -(t * np.log(s) + (1 - t) * np.log(1 - s)).sum() * scale
    np.testing.assert_allclose(val, expected, rtol=1e-10)
    np.testing.assert_allclose(grad, (s - t) * scale, rtol=1e-10)


def test_bce_with_logits_is_stable_for_huge_logits():
    x = np.array([1000.0, -1000.0, 800.0, -800.0, 1e6])
    t = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    val, grad = _grad_of(binary_cross_entropy_with_logits, x, t, reduction="sum")
    # right answers cost 0, wrong ones cost |x|
    assert val == pytest.approx(800.0 + 800.0, rel=1e-12)
    np.testing.assert_allclose(grad, [0.0, 0.0, 1.0, -1.0, 0.0], atol=1e-300)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_value_and_grad_match_numpy(reduction):
    logits = RNG.normal(size=(6, 4))
    labels = np.array([0, 3, 1, 1, 2, 0])
    val, grad = _grad_of(cross_entropy, logits, labels, reduction=reduction)
    scale = 1.0 / 6 if reduction == "mean" else 1.0
    logp = _np_log_softmax(logits)
    np.testing.assert_allclose(val, -logp[np.arange(6), labels].sum() * scale, rtol=1e-12)
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(grad, (np.exp(logp) - onehot) * scale, rtol=1e-10, atol=1e-15)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1e4, 0.0, -1e4], [5000.0, 5000.0, 0.0]])
    val, grad = _grad_of(cross_entropy, logits, [1, 0])
    assert np.isfinite(val) and np.all(np.isfinite(grad))
    assert val == pytest.approx((1e4 + np.log(2)) / 2, rel=1e-12)
    np.testing.assert_allclose(grad, [[0.5, -0.5, 0.0], [-0.25, 0.25, 0.0]], atol=1e-12)


def test_cross_entropy_accepts_float_labels_holding_integers():
    logits = RNG.normal(size=(3, 3))
    a = cross_entropy(Value(logits), [0.0, 2.0, 1.0]).item()
    b = cross_entropy(Value(logits), np.array([0, 2, 1])).item()
    assert a == b


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_hinge_value_and_grad_match_numpy(reduction):
    s = np.array([2.0, 0.5, -0.3, -2.0, 0.1])
    y = np.array([1, 1, 1, -1, -1])
    val, grad = _grad_of(hinge_loss, s, y, reduction=reduction)
    scale = 1.0 / 5 if reduction == "mean" else 1.0
    margins = 1 - y * s
    np.testing.assert_allclose(val, np.maximum(margins, 0).sum() * scale, rtol=1e-12)
    np.testing.assert_allclose(grad, np.where(margins > 0, -y, 0) * scale, rtol=1e-12)


def test_hinge_reads_zero_labels_as_minus_one():
    s = Value(np.array([0.5, -0.5, 2.0]))
    assert hinge_loss(s, [0, 0, 1]).item() == hinge_loss(s, [-1, -1, 1]).item()
    assert hinge_loss(s, [0, 0, 1]).item() == pytest.approx((0.5 + 1.5 + 0.0) / 3)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_and_log_softmax_match_numpy(axis):
    x = RNG.normal(size=(3, 5))
    w = RNG.normal(size=(3, 5))  # a random cotangent, so the gradient is non-trivial
    expected_log = _np_log_softmax(x, axis)
    xv = Value(x.copy())
    out = log_softmax(xv, axis=axis)
    np.testing.assert_allclose(out.data, expected_log, rtol=1e-12)
    (out * w).sum().backward()
    sm = np.exp(expected_log)
    np.testing.assert_allclose(xv.grad, w - sm * w.sum(axis=axis, keepdims=True), rtol=1e-10)

    xv = Value(x.copy())
    out = softmax(xv, axis=axis)
    np.testing.assert_allclose(out.data, sm, rtol=1e-12)
    np.testing.assert_allclose(out.data.sum(axis=axis), 1.0, rtol=1e-12)
    (out * w).sum().backward()
    expected = sm * (w - (sm * w).sum(axis=axis, keepdims=True))
    np.testing.assert_allclose(xv.grad, expected, rtol=1e-9, atol=1e-14)


def test_softmax_of_huge_logits_is_finite():
    out = softmax(Value(np.array([[1e5, 1e5 - 1.0, -1e5]])))
    assert np.all(np.isfinite(out.data))
    np.testing.assert_allclose(out.data, [[1 / (1 + np.exp(-1)), 1 / (1 + np.e), 0.0]], rtol=1e-12)


# --------------------------------------------------------------------------- PyTorch
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_regression_losses_match_torch(reduction):
    torch = pytest.importorskip("torch")
    pred, t = RNG.normal(size=(9, 2)), RNG.normal(size=(9, 2))
    tt = torch.tensor(t)
    for ours, theirs in [(mse_loss, torch.nn.functional.mse_loss),
                         (l1_loss, torch.nn.functional.l1_loss)]:
        v1, g1 = _grad_of(ours, pred, t, reduction=reduction)
        v2, g2 = _torch_grad_of(theirs, pred, tt, reduction=reduction)
        np.testing.assert_allclose(v1, v2, rtol=1e-12)
        np.testing.assert_allclose(g1, g2, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_binary_losses_match_torch(reduction):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    p = RNG.uniform(0.01, 0.99, size=(10, 1))
    p[0, 0], p[1, 0] = 0.0, 1.0  # the clamped logs must agree too
    t = RNG.integers(0, 2, size=(10, 1)).astype(float)
    t[0, 0], t[1, 0] = 1.0, 0.0
    v1, g1 = _grad_of(binary_cross_entropy, p, t, reduction=reduction)
    v2, _ = _torch_grad_of(tf.binary_cross_entropy, p, torch.tensor(t), reduction=reduction)
    np.testing.assert_allclose(v1, v2, rtol=1e-12)
    # the clamped points have no meaningful derivative; compare the rest
    _, g2 = _torch_grad_of(tf.binary_cross_entropy, p[2:], torch.tensor(t[2:]), reduction="sum")
    scale = 1.0 / 10 if reduction == "mean" else 1.0
    np.testing.assert_allclose(g1[2:], g2 * scale, rtol=1e-10)

    x = np.concatenate([RNG.normal(scale=4, size=(8, 1)), [[1000.0], [-1000.0]]])
    v1, g1 = _grad_of(binary_cross_entropy_with_logits, x, t, reduction=reduction)
    v2, g2 = _torch_grad_of(tf.binary_cross_entropy_with_logits, x, torch.tensor(t),
                            reduction=reduction)
    np.testing.assert_allclose(v1, v2, rtol=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_matches_torch(reduction):
    torch = pytest.importorskip("torch")
    logits = RNG.normal(scale=3, size=(7, 5))
    logits[0] = [1e4, -1e4, 0.0, 3.0, 1e4]  # huge logits
    labels = np.array([1, 0, 4, 2, 2, 3, 0])
    v1, g1 = _grad_of(cross_entropy, logits, labels, reduction=reduction)
    v2, g2 = _torch_grad_of(torch.nn.functional.cross_entropy, logits,
                            torch.tensor(labels), reduction=reduction)
    np.testing.assert_allclose(v1, v2, rtol=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-10, atol=1e-15)


def test_hinge_matches_torch_formula():
    torch = pytest.importorskip("torch")
    s = RNG.normal(size=(12, 1))
    y = RNG.choice([-1.0, 1.0], size=12)
    v1, g1 = _grad_of(hinge_loss, s, y)
    v2, g2 = _torch_grad_of(lambda p: torch.relu(1 - torch.tensor(y)[:, None] * p).mean(), s)
    np.testing.assert_allclose(v1, v2, rtol=1e-12)
    np.testing.assert_allclose(g1, g2, rtol=1e-12)


@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_matches_torch(axis):
    torch = pytest.importorskip("torch")
    x = RNG.normal(scale=5, size=(4, 6))
    w = torch.tensor(RNG.normal(size=(4, 6)))
    for ours, theirs in [(softmax, torch.softmax), (log_softmax, torch.log_softmax)]:
        v1, g1 = _grad_of(lambda v, ours=ours: (ours(v, axis=axis) * w.numpy()).sum(), x)
        v2, g2 = _torch_grad_of(lambda v, theirs=theirs: (theirs(v, dim=axis) * w).sum(), x)
        np.testing.assert_allclose(v1, v2, rtol=1e-10)
        np.testing.assert_allclose(g1, g2, rtol=1e-9, atol=1e-14)


# --------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("loss", [mse_loss, l1_loss, hinge_loss, binary_cross_entropy_with_logits])
def test_column_predictions_against_flat_targets_are_matched_row_by_row(loss):
    n = 5
    pred = RNG.uniform(0.1, 0.9, size=(n, 1))
    t = np.array([1, 0, 1, 1, 0])
    val, grad = _grad_of(loss, pred, t)
    val_flat, grad_flat = _grad_of(loss, pred[:, 0], t)
    assert val == pytest.approx(val_flat, rel=1e-12)  # not a mean over an (N, N) broadcast
    assert grad.shape == (n, 1)
    np.testing.assert_allclose(grad[:, 0], grad_flat, rtol=1e-12)


def test_mse_of_column_against_flat_targets_is_not_the_broadcast_value():
    pred = Value(np.array([[0.0], [1.0], [2.0]]))
    t = np.array([0.0, 1.0, 2.0])
    assert mse_loss(pred, t).item() == 0.0  # (N, N) broadcast would give 4/3


@pytest.mark.parametrize(
    "loss", [mse_loss, l1_loss, hinge_loss, binary_cross_entropy, binary_cross_entropy_with_logits]
)
@pytest.mark.parametrize(
    "pred_shape,target_shape",
    [((4,), (4, 1)), ((4, 1), (3,)), ((4, 2), (4,)), ((4,), (5,)), ((2, 2), (4,)), ((4, 1), (1, 4))],
)
def test_other_shape_mismatches_are_errors(loss, pred_shape, target_shape):
    pred = Value(np.full(pred_shape, 0.5))
    target = np.ones(target_shape)
    with pytest.raises(ValueError) as e:
        loss(pred, target)
    msg = str(e.value)
    assert loss.__name__ in msg
    assert str(pred_shape) in msg and str(target_shape) in msg


def test_list_of_scalar_values_is_stacked_and_gets_gradients():
    a, b = Value(1.0), Value(3.0)
    loss = mse_loss([a, b], [0.0, 1.0])
    assert loss.item() == 2.5
    loss.backward()
    assert (a.grad, b.grad) == (1.0, 2.0)


def test_list_of_lists_of_scalar_values_is_stacked_into_a_matrix():
    # the scalar call style of a model with several outputs returns a list per sample
    from tinygrad_mlp.nn import MLP

    model = MLP(2, [4, 3], seed=0)
    X = np.array([[0.5, -1.0], [1.0, 2.0], [-0.3, 0.2], [2.0, 0.0]])
    y = np.array([0, 2, 1, 2])
    outs = [model(list(x)) for x in X.tolist()]
    assert isinstance(outs[0], list) and len(outs[0]) == 3
    ref = model(X)
    assert cross_entropy(outs, y).item() == pytest.approx(cross_entropy(ref, y).item(), rel=1e-12)
    assert accuracy(outs, y) == accuracy(ref, y)
    targets = np.ones((4, 3))
    assert mse_loss(outs, targets).item() == pytest.approx(mse_loss(ref, targets).item(), rel=1e-12)
    # gradients reach the parameters through the scalar graph as through the vectorized one
    model.zero_grad()
    cross_entropy([model(list(x)) for x in X.tolist()], y).backward()
    scalar_grads = [np.array(p.grad) for p in model.parameters()]
    model.zero_grad()
    cross_entropy(model(X), y).backward()
    for g, p in zip(scalar_grads, model.parameters(), strict=True):
        np.testing.assert_allclose(g, p.grad, rtol=1e-10, atol=1e-14)


def test_ragged_lists_of_scalar_values_are_a_clear_error():
    rows = [[Value(1.0), Value(2.0)], [Value(3.0)]]
    with pytest.raises(ValueError, match="same length"):
        mse_loss(rows, np.zeros((2, 2)))


def test_non_numeric_targets_are_a_type_error():
    with pytest.raises(TypeError, match="targets must be numbers"):
        mse_loss(Value(np.zeros(2)), np.array(["a", "b"]))


# --------------------------------------------------------------------------- bad labels
def test_cross_entropy_labels_out_of_range():
    logits = Value(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        cross_entropy(logits, [0, 4, 1])
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        cross_entropy(logits, [0, -1, 1])


def test_cross_entropy_labels_of_wrong_shape_or_type():
    logits = Value(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        cross_entropy(logits, [[0], [1], [2]])
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        cross_entropy(logits, [0, 1])
    with pytest.raises(TypeError, match="integers"):
        cross_entropy(logits, [0.5, 1.0, 2.0])
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        cross_entropy(Value(np.zeros(4)), [1])


def test_binary_targets_outside_zero_one_are_errors():
    for loss in (binary_cross_entropy, binary_cross_entropy_with_logits):
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            loss(Value(np.full(3, 0.5)), [0.0, 1.0, 2.0])
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            loss(Value(np.full(3, 0.5)), [0.0, -1.0, 1.0])


def test_hinge_labels_other_than_plus_minus_one_are_errors():
    with pytest.raises(ValueError, match="-1 and 1"):
        hinge_loss(Value(np.zeros(3)), [1, -1, 2])


@pytest.mark.parametrize(
    "loss,pred,target",
    [
        (mse_loss, np.zeros(2), [0.0, 1.0]),
        (l1_loss, np.zeros(2), [0.0, 1.0]),
        (binary_cross_entropy, np.full(2, 0.5), [0.0, 1.0]),
        (binary_cross_entropy_with_logits, np.zeros(2), [0.0, 1.0]),
        (cross_entropy, np.zeros((2, 3)), [0, 1]),
        (hinge_loss, np.zeros(2), [-1, 1]),
    ],
)
def test_bad_reduction_is_an_error(loss, pred, target):
    with pytest.raises(ValueError, match="'mean' or 'sum'") as e:
        loss(Value(pred), target, reduction="none")
    assert "none" in str(e.value)


# --------------------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(
    "name,pred,target",
    [
        ("mse", RNG.normal(size=(4, 1)), RNG.normal(size=4)),
        ("l1", np.array([0.5, -1.0, 2.0]), np.array([0.0, 0.0, 0.0])),
        ("bce", np.array([0.2, 0.7, 0.9]), np.array([1.0, 0.0, 1.0])),
        ("bce_with_logits", RNG.normal(size=(3, 2)), RNG.uniform(size=(3, 2))),
        ("cross_entropy", RNG.normal(size=(4, 3)), np.array([2, 0, 1, 1])),
        ("hinge", np.array([[0.5], [-0.2], [3.0]]), np.array([1, -1, 1])),
    ],
)
def test_gradcheck_of_every_loss(name, pred, target, reduction):
    loss = get_loss(name)
    assert gradcheck(lambda p: loss(p, target, reduction=reduction), [Value(pred.copy())])


def test_gradcheck_of_softmax_and_l2_penalty():
    x = Value(RNG.normal(size=(2, 3)))
    assert gradcheck(lambda v: softmax(v, axis=0), [x])
    assert gradcheck(lambda v: log_softmax(v), [x])
    a, b = Value(RNG.normal(size=(2, 2))), Value(RNG.normal(size=3))
    assert gradcheck(lambda a, b: l2_penalty([a, b], alpha=0.3), [a, b])


# --------------------------------------------------------------------------- l2 penalty
def test_l2_penalty_value_and_gradient():
    w = Value(np.array([[1.0, -2.0], [0.5, 0.0]]))
    b = Value(np.array([3.0]))
    pen = l2_penalty([w, b], alpha=0.1)
    assert pen.item() == pytest.approx(0.1 * (1 + 4 + 0.25 + 9))
    pen.backward()
    np.testing.assert_allclose(w.grad, 0.2 * w.data)
    np.testing.assert_allclose(b.grad, 0.2 * b.data)


def test_l2_penalty_default_alpha_and_no_parameters():
    assert l2_penalty([Value(np.array([10.0]))]).item() == pytest.approx(1e-4 * 100)
    with pytest.raises(ValueError, match="l2_penalty"):
        l2_penalty([])


# --------------------------------------------------------------------------- accuracy
def test_accuracy_with_plus_minus_one_labels_thresholds_scores_at_zero():
    scores = np.array([[2.0], [-1.0], [0.5], [-0.1]])
    assert accuracy(scores, [1, -1, -1, 1]) == 0.5
    assert accuracy(scores, [1, -1, 1, -1]) == 1.0


def test_accuracy_with_zero_one_labels_thresholds_scores_at_zero():
    scores = np.array([0.3, -0.3, 0.1])
    assert accuracy(scores, [1, 0, 1]) == 1.0
    assert accuracy(scores, [0, 0, 0]) == pytest.approx(1 / 3)


def test_accuracy_threshold_half_for_sigmoid_outputs():
    probs = np.array([[0.9], [0.4], [0.6], [0.1]])
    y = [1, 0, 1, 0]
    assert accuracy(probs, y, threshold=0.5) == 1.0
    assert accuracy(probs, y) == 0.5  # at 0, every probability would count as class 1


def test_accuracy_takes_argmax_for_several_outputs():
    logits = np.array([[0.1, 2.0, -1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 5.0], [1.0, 2.0, 0.0]])
    assert accuracy(logits, [1, 0, 2, 0]) == 0.75
    assert accuracy(Value(logits), np.array([1, 0, 2, 1])) == 1.0


def test_accuracy_accepts_values_and_lists_of_scalar_values():
    assert accuracy([Value(1.0), Value(-2.0)], [1, -1]) == 1.0
    assert accuracy(Value(np.array([1.0, -2.0])), Value(np.array([-1.0, -1.0]))) == 0.5


@pytest.mark.parametrize(
    "labels", [[1, 2, 1, 2], [0, 1, 2, 1], [-1, 0, 1, 1], [0.5, 1.0, 0.0, 0.0], [3, 3, 3, 3]]
)
def test_accuracy_with_one_output_needs_binary_labels(labels):
    # a threshold splits scores in two: labels {1, 2} would all count as "positive" and
    # the answer (0.5 here) would mean nothing
    with pytest.raises(ValueError, match=r"accuracy: .*labels.*-1 and 1.*0 and 1"):
        accuracy(np.array([[2.0], [-1.0], [0.5], [-0.1]]), labels)


@pytest.mark.parametrize("labels", [[1, 1, 1], [0, 0, 0], [-1, -1, -1], [0.0, 1.0, 1.0],
                                    [True, False, True]])
def test_accuracy_takes_one_class_and_float_or_bool_binary_labels(labels):
    acc = accuracy(np.array([1.0, -1.0, 1.0]), labels)
    assert 0 <= acc <= 1


def test_accuracy_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="3 predictions"):
        accuracy(np.zeros((3, 1)), [1, 0])
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        accuracy(np.zeros((2, 3)), [[1], [0]])


# --------------------------------------------------------------------------- registry
def test_get_loss_by_name_and_callable():
    assert get_loss("mse") is mse_loss
    assert get_loss("cross_entropy") is cross_entropy
    assert get_loss("hinge") is hinge_loss
    fn = lambda p, t: mse_loss(p, t)  # noqa: E731
    assert get_loss(fn) is fn


def test_unknown_loss_lists_the_valid_names():
    with pytest.raises(ValueError) as e:
        get_loss("squared_error")
    msg = str(e.value)
    assert "squared_error" in msg
    for name in ("mse", "l1", "bce", "bce_with_logits", "cross_entropy", "hinge"):
        assert name in msg


def test_register_loss_makes_it_usable_by_name(restore_losses):
    def huber(pred, target, reduction="mean"):
        d = pred - np.asarray(target, dtype=float)
        return (0.5 * d * d).mean() if reduction == "mean" else (0.5 * d * d).sum()

    register_loss("huberish", huber)
    assert get_loss("huberish") is huber
    assert "huberish" in LOSSES
    assert get_loss("huberish")(Value(np.array([2.0])), [0.0]).item() == 2.0


def test_register_loss_rejects_bad_arguments(restore_losses):
    with pytest.raises(ValueError, match="non-empty name"):
        register_loss("", mse_loss)
    with pytest.raises(TypeError, match="callable"):
        register_loss("x", 3)
    assert "x" not in LOSSES


# --------------------------------------------------------------------------- issue 10
@pytest.mark.parametrize("probs", [
    [0.5, 1.5, 0.2], [0.5, -0.2, 0.2], [0.5, np.inf, 0.2], [[0.2], [-np.inf], [0.3]],
])
def test_bce_rejects_probabilities_outside_zero_one(probs):
    probs = np.array(probs)
    with pytest.raises(ValueError, match=r"binary_cross_entropy: .*probabilities in \[0, 1\]"):
        binary_cross_entropy(Value(probs), [1.0, 0.0, 1.0])


def test_bce_rejects_a_scalar_probability_outside_zero_one_and_names_the_logits_loss():
    with pytest.raises(ValueError, match="bce_with_logits"):
        binary_cross_entropy(Value(2.0), 1.0)


def test_bce_of_a_nan_probability_is_a_nan_loss():
    # not an error: a diverged model's NaN is reported by fit as a non-finite loss
    out = binary_cross_entropy(Value(np.array([np.nan, 0.5])), [1.0, 0.0])
    assert np.isnan(out.item())
    assert binary_cross_entropy(Value(np.array([0.0, 1.0])), [0.0, 1.0]).item() == 0.0


def test_accuracy_counts_nan_predictions_as_wrong():
    nan = np.full((4, 1), np.nan)
    assert accuracy(nan, [-1, -1, 1, -1]) == 0.0  # NaN > 0 is False: it read as class -1
    assert accuracy(nan, [0, 0, 0, 0], threshold=0.5) == 0.0
    assert accuracy(np.array([np.nan, -1.0, 2.0]), [0, 0, 1]) == pytest.approx(2 / 3)
    assert accuracy(Value(nan), np.array([0, 0, 0, 0])) == 0.0


def test_accuracy_counts_rows_with_a_nan_as_wrong_with_several_outputs():
    logits = np.array([[np.nan, 0.0, 0.0], [0.0, np.nan, 5.0], [3.0, 0.0, 0.0]])
    assert accuracy(logits, [0, 2, 0]) == pytest.approx(1 / 3)  # argmax of NaN rows: 0 and 1
    assert accuracy(np.full((5, 3), np.nan), [0, 0, 0, 0, 0]) == 0.0
    assert accuracy(np.array([[np.inf, 0.0], [0.0, -np.inf]]), [0, 0]) == 1.0  # inf is a score


def test_cross_entropy_of_one_unbatched_sample_equals_a_batch_of_one():
    logits = np.array([0.5, -1.0, 2.0, 0.1])
    for label in (2, np.int64(2), np.array(2), 2.0, Value(2.0)):
        one = Value(logits.copy())
        loss = cross_entropy(one, label)
        loss.backward()
        batch = Value(logits.reshape(1, 4).copy())
        expected = cross_entropy(batch, [2])
        expected.backward()
        assert loss.item() == pytest.approx(expected.item(), rel=1e-15)
        assert one.grad.shape == (4,)
        np.testing.assert_allclose(one.grad, batch.grad[0], rtol=1e-15)
    assert cross_entropy(Value(logits), 3, reduction="sum").item() == pytest.approx(
        -_np_log_softmax(logits)[3])


def test_cross_entropy_of_one_unbatched_sample_matches_torch():
    torch = pytest.importorskip("torch")
    logits = RNG.normal(size=5)
    ours = _grad_of(cross_entropy, logits, 4)
    theirs = _torch_grad_of(torch.nn.functional.cross_entropy, logits, torch.tensor(4))
    assert ours[0] == pytest.approx(theirs[0], rel=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)


def test_cross_entropy_of_the_scalar_call_style_of_a_model_with_several_outputs():
    from tinygrad_mlp.nn import MLP

    model = MLP(2, [4, 3], seed=0)
    out = model([0.5, -1.0])  # a list of three scalar Values
    loss = cross_entropy(out, 1)
    loss.backward()
    expected = cross_entropy(model(np.array([[0.5, -1.0]])), [1])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    assert any(np.any(p.grad) for p in model.parameters())


def test_cross_entropy_of_one_unbatched_sample_checks_its_label():
    logits = Value(np.zeros(4))
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        cross_entropy(logits, 4)
    with pytest.raises(TypeError, match="integers"):
        cross_entropy(logits, 1.5)
    with pytest.raises(ValueError, match=r"\(C,\) for one sample.*labels of shape \(2,\)"):
        cross_entropy(logits, [1, 2])
    assert gradcheck(lambda v: cross_entropy(v, 2), [Value(RNG.normal(size=4))])

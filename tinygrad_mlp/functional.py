"""Losses, softmax and metrics, built from the operations in :mod:`tinygrad_mlp.ops`.

Predictions may be a tensor ``Value``, an array, a list of scalar Values, or a list of lists
of scalar Values (what the scalar call style of a model with one, or several, outputs returns
over a data set); lists are stacked into one tensor first, of shape ``(N,)`` or ``(N, C)``.

Shapes are matched explicitly, never silently broadcast: predictions of shape ``(N, 1)``
against targets of shape ``(N,)`` are compared row by row (the targets are read as a column);
any other mismatch is a ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tinygrad_mlp import ops
from tinygrad_mlp.engine import Value

__all__ = [
    "softmax",
    "log_softmax",
    "mse_loss",
    "l1_loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge_loss",
    "l2_penalty",
    "accuracy",
    "LOSSES",
    "register_loss",
    "get_loss",
]

Loss = Callable[..., Value]
_REDUCTIONS = ("mean", "sum")


def _is_values(x: Any) -> bool:
    return isinstance(x, (list, tuple)) and bool(x) and all(isinstance(v, Value) for v in x)


def _as_value(x: Any) -> Value:
    """Predictions as one Value; lists of (lists of) Values are stacked, keeping the graph.

    >>> _as_value([[Value(1.0), Value(2.0)], [Value(3.0), Value(4.0)]]).shape
    (2, 2)
    """
    if isinstance(x, Value):
        return x
    if _is_values(x):
        return ops.Stack.apply(*x)
    if isinstance(x, (list, tuple)) and x and all(_is_values(row) for row in x):
        if len({len(row) for row in x}) != 1:
            raise ValueError(
                f"a list of lists of Values needs rows of the same length (one per output), "
                f"got lengths {sorted({len(row) for row in x})}"
            )
        return ops.Stack.apply(*[ops.Stack.apply(*row) for row in x])
    return Value(x, requires_grad=False)


def _match(pred: Value, target: Any, name: str) -> tuple[Value, np.ndarray]:
    """Targets as an array of the predictions' shape, or a clear error."""
    t = np.asarray(target.data if isinstance(target, Value) else target)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"{name}: targets must be numbers, got dtype {t.dtype}")
    t = t.astype(pred.dtype, copy=False)
    if t.shape == pred.shape:
        return pred, t
    if pred.ndim == 2 and pred.shape[1] == 1 and t.shape == (pred.shape[0],):
        return pred, t.reshape(-1, 1)
    raise ValueError(
        f"{name}: predictions of shape {pred.shape} and targets of shape {t.shape} do not match "
        "(only (N, 1) against (N,) is matched, row by row)"
    )


def _reduce(v: Value, reduction: str, name: str) -> Value:
    if reduction == "mean":
        return v.mean()
    if reduction == "sum":
        return v.sum()
    raise ValueError(f"{name}: reduction must be 'mean' or 'sum', got {reduction!r}")


def softmax(x: Value, axis: int = -1) -> Value:
    """``exp(x) / sum(exp(x))`` along ``axis``, computed stably.

    >>> softmax(Value(np.array([0.0, 0.0]))).data
    array([0.5, 0.5])
    """
    return log_softmax(x, axis).exp()


def log_softmax(x: Value, axis: int = -1) -> Value:
    """``log(softmax(x))`` along ``axis`` without overflow.

    >>> np.round(log_softmax(Value(np.array([1000.0, 1000.0]))).data, 4)
    array([-0.6931, -0.6931])
    """
    return ops.LogSoftmax.apply(_as_value(x), int(axis))


def mse_loss(pred: Any, target: Any, reduction: str = "mean") -> Value:
    """Mean (or summed) squared error.

    >>> mse_loss(Value(np.array([1.0, 3.0])), [0.0, 1.0]).data
    2.5
    """
    pred, t = _match(_as_value(pred), target, "mse_loss")
    diff = pred - t
    return _reduce(diff * diff, reduction, "mse_loss")


def l1_loss(pred: Any, target: Any, reduction: str = "mean") -> Value:
    """Mean (or summed) absolute error.

    >>> l1_loss(Value(np.array([1.0, 3.0])), [0.0, 1.0]).data
    1.5
    """
    pred, t = _match(_as_value(pred), target, "l1_loss")
    return _reduce((pred - t).abs(), reduction, "l1_loss")


def _binary_targets(t: np.ndarray, name: str) -> None:
    if t.size and (t.min() < 0 or t.max() > 1):
        raise ValueError(f"{name}: targets must lie in [0, 1], got values in [{t.min()}, {t.max()}]")


def binary_cross_entropy(prob: Any, target: Any, reduction: str = "mean") -> Value:
    """Binary cross-entropy of probabilities (e.g. after a sigmoid) against 0/1 targets.

    Logs are clamped at -100, as in PyTorch, so a probability of exactly 0 or 1 stays finite.
    A probability outside [0, 1] is a ``ValueError`` (raw scores belong in
    :func:`binary_cross_entropy_with_logits`); a NaN one gives a NaN loss, which ``fit``
    reports as a diverged training.

    >>> round(binary_cross_entropy(Value(np.array([0.5])), [1.0]).data, 4)
    0.6931
    """
    prob, t = _match(_as_value(prob), target, "binary_cross_entropy")
    p = np.asarray(prob.data)
    if (p < 0).any() or (p > 1).any():  # NaN compares False: it passes, as a NaN loss
        raise ValueError(
            f"binary_cross_entropy: predictions must be probabilities in [0, 1], got values in "
            f"[{np.nanmin(p)}, {np.nanmax(p)}]; for raw scores use binary_cross_entropy_with_logits "
            "(loss='bce_with_logits') or end the model in a sigmoid"
        )
    _binary_targets(t, "binary_cross_entropy")
    return _reduce(ops.BCE.apply(prob, t), reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(logits: Any, target: Any, reduction: str = "mean") -> Value:
    """Binary cross-entropy of raw scores (logits), stable for any magnitude.

    >>> round(binary_cross_entropy_with_logits(Value(np.array([0.0])), [1.0]).data, 4)
    0.6931
    """
    logits, t = _match(_as_value(logits), target, "binary_cross_entropy_with_logits")
    _binary_targets(t, "binary_cross_entropy_with_logits")
    return _reduce(ops.BCEWithLogits.apply(logits, t), reduction, "binary_cross_entropy_with_logits")


def cross_entropy(logits: Any, labels: Any, reduction: str = "mean") -> Value:
    """Softmax cross-entropy of ``logits`` of shape ``(N, C)`` against integer labels ``(N,)``.

    One unbatched sample, logits of shape ``(C,)`` and one integer label, works as in
    PyTorch (the scalar call style of a model with ``C`` outputs gives such logits).

    >>> round(cross_entropy(Value(np.zeros((2, 4))), [0, 3]).data, 4)
    1.3863
    >>> round(cross_entropy(Value(np.zeros(4)), 3).data, 4)
    1.3863
    """
    logits = _as_value(logits)
    y = np.asarray(labels.data if isinstance(labels, Value) else labels)
    if logits.ndim == 1 and y.ndim == 0:  # one sample: a batch of one, as PyTorch
        logits, y = logits.reshape(1, -1), y.reshape(1)
    elif logits.ndim != 2:
        got = f"logits of shape {logits.shape}"
        if logits.ndim == 1:
            got += f" and labels of shape {y.shape}"
        raise ValueError(
            "cross_entropy: logits must have shape (N, C), or (C,) for one sample with one "
            f"integer label; got {got}"
        )
    if y.dtype.kind == "f" and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: labels must be integers, got dtype {y.dtype}")
    n, c = logits.shape
    if y.shape != (n,):
        raise ValueError(f"cross_entropy: labels must have shape ({n},), got {y.shape}")
    if n and (y.min() < 0 or y.max() >= c):
        raise ValueError(f"cross_entropy: labels must lie in [0, {c - 1}], got [{y.min()}, {y.max()}]")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"cross_entropy: reduction must be 'mean' or 'sum', got {reduction!r}")
    return ops.CrossEntropy.apply(logits, y, reduction)


def hinge_loss(scores: Any, target: Any, reduction: str = "mean") -> Value:
    """The SVM max-margin loss ``relu(1 - y * score)`` with labels in {-1, 1} (0 is read as -1).

    >>> hinge_loss(Value(np.array([2.0, 0.5])), [1, 1]).data
    0.25
    """
    scores, t = _match(_as_value(scores), target, "hinge_loss")
    if not (np.abs(t) == 1).all():  # not ±1 labels (all 1 reads the same either way)
        if not ((t == 0) | (t == 1)).all():
            raise ValueError("hinge_loss: labels must be -1 and 1 (or 0 and 1)")
        t = 2 * t - 1  # 0/1 labels: 0 means -1
    if reduction not in _REDUCTIONS:
        raise ValueError(f"hinge_loss: reduction must be 'mean' or 'sum', got {reduction!r}")
    return ops.HingeLoss.apply(scores, t, reduction)


def l2_penalty(parameters: Iterable[Value], alpha: float = 1e-4) -> Value:
    """``alpha * sum(p**2)`` over all parameters: weight decay as a term of the loss.

    >>> l2_penalty([Value(np.array([1.0, 2.0]))], alpha=0.5).data
    2.5
    """
    params = list(parameters)
    if not params or not all([isinstance(p, Value) for p in params]):
        raise ValueError("l2_penalty needs a non-empty list of Values")
    return ops.SumSquares.apply(float(alpha), *params)


def accuracy(pred: Any, target: Any, threshold: float | None = None) -> float:
    """Fraction of correct predictions.

    With one output per sample, scores are thresholded at 0, or at ``threshold`` (pass 0.5
    for probabilities from a model ending in a sigmoid); labels must be ±1 or 0/1 (anything
    else is a ``ValueError``).  With several outputs per sample, the predicted class is the
    argmax.  A NaN prediction (a NaN in any output of a sample) is wrong whatever its label:
    a model whose weights went NaN scores 0.

    >>> accuracy(np.array([[2.0], [-1.0], [0.5]]), [1, -1, -1])
    0.6666666666666666
    >>> accuracy(np.array([[np.nan], [np.nan]]), [-1, -1])
    0.0
    """
    p = _as_value(pred).data
    p = np.asarray(p)
    t = np.asarray(target.data if isinstance(target, Value) else target)
    if p.ndim == 2 and p.shape[1] > 1:
        if t.shape != (p.shape[0],):
            raise ValueError(f"accuracy: labels must have shape ({p.shape[0]},), got {t.shape}")
        correct = p.argmax(axis=1) == t
        if p.dtype.kind in "fc":  # argmax of a NaN row is the NaN's column: not a prediction
            correct &= ~np.isnan(p).any(axis=1)
        return float(np.mean(correct))
    p = p.reshape(-1)
    if t.reshape(-1).shape != p.shape:
        raise ValueError(f"accuracy: {p.shape[0]} predictions but targets of shape {t.shape}")
    t = t.reshape(-1)
    # a threshold makes two classes: other labels, e.g. {1, 2}, would all read as positive
    if not (np.isin(t, (-1, 1)).all() or np.isin(t, (0, 1)).all()):
        raise ValueError(
            f"accuracy: with one output per sample the labels must be -1 and 1 or 0 and 1, "
            f"got {np.unique(t)[:10].tolist()}; for more classes give one output per class"
        )
    cut = 0.0 if threshold is None else threshold
    correct = (p > cut) == (t > 0)  # labels ±1 or 0/1 alike
    if p.dtype.kind in "fc":  # NaN > cut is False, which would read as the negative class
        correct &= ~np.isnan(p)
    return float(np.mean(correct))


LOSSES: dict[str, Loss] = {
    "mse": mse_loss,
    "l1": l1_loss,
    "bce": binary_cross_entropy,
    "bce_with_logits": binary_cross_entropy_with_logits,
    "cross_entropy": cross_entropy,
    "hinge": hinge_loss,
}


def register_loss(name: str, fn: Loss) -> None:
    """Make ``fn(pred, target) -> Value`` usable by name in ``fit``, the CLI and ``grid_search``.

    >>> register_loss("half_mse", lambda p, t: 0.5 * mse_loss(p, t))
    >>> get_loss("half_mse") is LOSSES["half_mse"]
    True
    """
    if not isinstance(name, str) or not name:
        raise ValueError("a loss needs a non-empty name")
    if not callable(fn):
        raise TypeError(f"loss {name!r} must be callable, got {type(fn).__name__}")
    LOSSES[name] = fn


def get_loss(spec: str | Loss) -> Loss:
    """The loss function for a name (see ``LOSSES``) or the callable itself.

    >>> get_loss("mse") is mse_loss
    True
    """
    if callable(spec):
        return spec
    if spec not in LOSSES:
        raise ValueError(f"unknown loss {spec!r}; valid names: {', '.join(sorted(LOSSES))}")
    return LOSSES[spec]


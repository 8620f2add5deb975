"""Toy datasets made with numpy, splits, standardization and batches.

The generators and ``train_test_split`` take scikit-learn's names, defaults and meaning
(``n_samples`` as a count or per-class counts, ``noise=None`` for none, ``random_state`` as
a seed, a numpy ``Generator`` or a legacy ``RandomState``) and return ``(X, y)`` with ``X`` of
shape ``(n_samples, n_features)`` in float64 and integer labels ``y`` of shape ``(n_samples,)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

__all__ = [
    "make_moons",
    "make_circles",
    "make_spirals",
    "make_blobs",
    "make_regression_1d",
    "train_test_split",
    "standardize",
    "batches",
    "load_digits",
    "DATASETS",
]

RandomState = int | np.random.Generator | np.random.RandomState | None
NSamples = int | Sequence[int]


def _rng(random_state: RandomState) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        # scikit-learn code passes legacy RandomStates around: seed a Generator from it, which
        # also advances it, so two calls with one RandomState give different data, as there
        return np.random.default_rng(random_state.randint(2**63 - 1, dtype=np.int64))
    if random_state is not None and not isinstance(random_state, (int, np.integer)):
        raise TypeError(
            f"random_state must be an int, a numpy Generator or RandomState, or None, "
            f"got {type(random_state).__name__}"
        )
    return np.random.default_rng(random_state)


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _split_counts(n_samples: int, parts: int) -> list[int]:
    if not _is_int(n_samples) or n_samples < parts:
        raise ValueError(f"n_samples must be an integer of at least {parts}, got {n_samples!r}")
    base, extra = divmod(int(n_samples), parts)
    return [base + (i < extra) for i in range(parts)]


def _given_counts(n_samples: Sequence[int], parts: int | None = None) -> list[int]:
    """Per-class counts given as a sequence (``parts`` of them, when given), checked."""
    counts = list(n_samples) if isinstance(n_samples, (Sequence, np.ndarray)) else None
    if (counts is None or isinstance(n_samples, str) or not counts
            or not all(_is_int(c) and c >= 0 for c in counts) or sum(counts) < 1):
        raise ValueError(
            f"n_samples must be an integer or a sequence of per-class counts (integers of at "
            f"least 0, not all 0), got {n_samples!r}"
        )
    if parts is not None and len(counts) != parts:
        raise ValueError(f"n_samples given as a sequence needs {parts} counts, got {n_samples!r}")
    return [int(c) for c in counts]


def _outer_inner(n_samples: NSamples) -> tuple[int, int]:
    """``(n_out, n_in)`` as scikit-learn: an odd sample of a count goes inside."""
    if _is_int(n_samples):
        n_in, n_out = _split_counts(n_samples, 2)
        return n_out, n_in
    n_out, n_in = _given_counts(n_samples, 2)
    return n_out, n_in


def _finish(
    X: np.ndarray, y: np.ndarray, noise: float | None, rng: np.random.Generator, shuffle: bool
) -> tuple[np.ndarray, np.ndarray]:
    if noise is not None and noise < 0:
        raise ValueError(f"noise must be at least 0, got {noise}")
    if noise:  # None (scikit-learn's default) and 0 both mean no noise
        X = X + rng.normal(scale=noise, size=X.shape)
    if shuffle:
        order = rng.permutation(len(X))
        X, y = X[order], y[order]
    return X.astype(np.float64), y.astype(np.int64)


def make_moons(
    n_samples: NSamples = 100, *, shuffle: bool = True, noise: float | None = None,
    random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (labels 0 and 1).

    ``n_samples`` is a total or a pair ``(n_out, n_in)``: the samples of the outer (label 0)
    and inner (label 1) moon.

    >>> X, y = make_moons(100, noise=0.1, random_state=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((100, 2), [0, 1])
    >>> np.bincount(make_moons((30, 10), random_state=0)[1]).tolist()
    [30, 10]
    """
    rng = _rng(random_state)
    n_out, n_in = _outer_inner(n_samples)
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.vstack([
        np.column_stack([np.cos(t_out), np.sin(t_out)]),
        np.column_stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5]),
    ])
    y = np.repeat([0, 1], [n_out, n_in])
    return _finish(X, y, noise, rng, shuffle)


def make_circles(
    n_samples: NSamples = 100, *, shuffle: bool = True, noise: float | None = None,
    random_state: RandomState = None, factor: float = 0.8,
) -> tuple[np.ndarray, np.ndarray]:
    """A small circle (label 1) inside a large one (label 0); ``factor`` is their ratio.

    ``n_samples`` is a total or a pair ``(n_out, n_in)`` of samples per circle.

    >>> X, y = make_circles(10, random_state=0)
    >>> X.shape
    (10, 2)
    """
    if not 0 <= factor < 1:
        raise ValueError(f"factor must be in [0, 1), got {factor}")
    rng = _rng(random_state)
    n_out, n_in = _outer_inner(n_samples)
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack([
        np.column_stack([np.cos(t_out), np.sin(t_out)]),
        factor * np.column_stack([np.cos(t_in), np.sin(t_in)]),
    ])
    y = np.repeat([0, 1], [n_out, n_in])
    return _finish(X, y, noise, rng, shuffle)


def make_spirals(
    n_samples: int = 100, *, n_classes: int = 2, turns: float = 1.0, shuffle: bool = True,
    noise: float | None = None, random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``n_classes`` interleaved spiral arms with ``turns`` revolutions each.

    >>> X, y = make_spirals(90, n_classes=3, random_state=0)
    >>> sorted(set(y.tolist()))
    [0, 1, 2]
    """
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    rng = _rng(random_state)
    counts = _split_counts(n_samples, n_classes)
    parts = []
    for c, n in enumerate(counts):
        r = np.linspace(0.05, 1.0, n)
        t = 2 * np.pi * (turns * r + c / n_classes)
        parts.append(np.column_stack([r * np.cos(t), r * np.sin(t)]))
    y = np.repeat(np.arange(n_classes), counts)
    return _finish(np.vstack(parts), y, noise, rng, shuffle)


def make_blobs(
    n_samples: NSamples = 100, n_features: int = 2, *, centers: int | np.ndarray | None = None,
    cluster_std: float = 1.0, center_box: tuple[float, float] = (-10.0, 10.0),
    shuffle: bool = True, random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters around ``centers`` (a count, or an array of centre points).

    ``n_samples`` is a total split evenly over the centres, or one count per centre.
    ``centers=None`` means 3 centres for a total, one per count otherwise; drawn centres lie
    uniformly in ``center_box`` in ``n_features`` dimensions (a given array sets its own).

    >>> X, y = make_blobs(30, centers=3, random_state=0)
    >>> X.shape, len(set(y.tolist()))
    ((30, 2), 3)
    >>> np.bincount(make_blobs((5, 20), 4, random_state=0)[1]).tolist()
    [5, 20]
    """
    rng = _rng(random_state)
    given = None if _is_int(n_samples) else _given_counts(n_samples)
    if centers is None:  # as scikit-learn: 3 centres for a total, one per given count
        centers = 3 if given is None else len(given)
    if _is_int(centers):
        centers = rng.uniform(center_box[0], center_box[1], size=(int(centers), n_features))
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2 or len(centers) == 0:
        raise ValueError(f"centers must be a positive count or a 2-D array, got shape {centers.shape}")
    if given is not None and len(given) != len(centers):
        raise ValueError(f"n_samples gives {len(given)} per-centre counts for {len(centers)} centres")
    counts = _split_counts(n_samples, len(centers)) if given is None else given
    X = np.vstack([c + rng.normal(scale=cluster_std, size=(n, centers.shape[1]))
                   for c, n in zip(centers, counts)])
    y = np.repeat(np.arange(len(centers)), counts)
    return _finish(X, y, None, rng, shuffle)


def make_regression_1d(
    n_samples: int = 100, *, noise: float | None = 0.1, random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy samples of ``sin(3x) + 0.5x`` on ``[-2, 2]``: ``X`` of shape ``(n, 1)``, float ``y``.

    ``noise`` is the standard deviation of the noise on ``y``; ``None`` or 0 means none.

    >>> X, y = make_regression_1d(50, random_state=0)
    >>> X.shape, y.shape, y.dtype
    ((50, 1), (50,), dtype('float64'))
    """
    if noise is None:
        noise = 0.0
    if noise < 0:
        raise ValueError(f"noise must be at least 0, got {noise}")
    rng = _rng(random_state)
    _split_counts(n_samples, 1)
    x = np.sort(rng.uniform(-2.0, 2.0, size=n_samples))
    y = np.sin(3 * x) + 0.5 * x + rng.normal(scale=noise, size=n_samples)
    return x[:, None], y


DATASETS = {
    "moons": make_moons,
    "circles": make_circles,
    "spirals": make_spirals,
    "blobs": make_blobs,
}


def _size_kind(size: Any, name: str) -> str | None:
    """How scikit-learn reads a split size: ``"f"`` a fraction, ``"i"`` a count, ``None``."""
    if size is None:
        return None
    if _is_int(size):
        return "i"
    if isinstance(size, (float, np.floating)):
        return "f"
    raise ValueError(f"{name} must be a float fraction, an int count or None, got {size!r}")


def _split_sizes(n: int, test_size: Any, train_size: Any) -> tuple[int, int]:
    """``(n_train, n_test)`` with scikit-learn's rules, or a ValueError naming the problem."""
    test_kind, train_kind = _size_kind(test_size, "test_size"), _size_kind(train_size, "train_size")
    if test_kind is None and train_kind is None:
        test_size, test_kind = 0.25, "f"
    for name, size, kind in (("test_size", test_size, test_kind),
                             ("train_size", train_size, train_kind)):
        if kind == "f" and not 0 < size < 1:
            raise ValueError(f"{name}={size!r}: a fraction must be in (0, 1)")
        if kind == "i" and not 0 < size < n:
            raise ValueError(f"{name}={size!r}: a count must be in [1, {n - 1}] for {n} samples")
    if test_kind == train_kind == "f" and test_size + train_size > 1:
        raise ValueError(f"test_size + train_size = {test_size + train_size} is more than 1")
    # as scikit-learn: a test fraction rounds up, a train fraction down
    n_test = None if test_kind is None else (
        math.ceil(test_size * n) if test_kind == "f" else int(test_size))
    n_train = None if train_kind is None else (
        math.floor(train_size * n) if train_kind == "f" else int(train_size))
    if n_train is None:
        n_train = n - n_test
    elif n_test is None:
        n_test = n - n_train
    if n_train + n_test > n:
        raise ValueError(f"test_size={test_size!r} and train_size={train_size!r} ask for "
                         f"{n_test} + {n_train} samples but there are only {n}")
    if n_train == 0:
        raise ValueError(f"test_size={test_size!r} leaves no train samples of {n}")
    return n_train, n_test


def train_test_split(
    *arrays: np.ndarray, test_size: float | int | None = None,
    train_size: float | int | None = None, random_state: RandomState = None,
    shuffle: bool = True,
) -> list[np.ndarray]:
    """Split arrays into train and test parts: ``X_train, X_test, y_train, y_test = ...``.

    As scikit-learn: a float size is a fraction in (0, 1), an int a count of samples; with
    neither size given the test part is 0.25; with one, the other part is the rest; with
    both, the parts may leave samples out.  ``shuffle=False`` keeps the order, train first.

    >>> X, y = np.arange(20).reshape(10, 2), np.arange(10)
    >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0)
    >>> len(X_tr), len(X_te)
    (8, 2)
    >>> [a.tolist() for a in train_test_split(y, train_size=6, shuffle=False)]
    [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9]]
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    n = len(arrays[0])
    for a in arrays[1:]:
        if len(a) != n:
            raise ValueError(f"arrays have different lengths: {[len(a) for a in arrays]}")
    n_train, n_test = _split_sizes(n, test_size, train_size)
    if shuffle:  # the test part comes first in the permutation, as in scikit-learn
        order = _rng(random_state).permutation(n)
        test, train = order[:n_test], order[n_test:n_test + n_train]
    else:
        train, test = np.arange(n_train), np.arange(n_train, n_train + n_test)
    out: list[np.ndarray] = []
    for a in arrays:
        a = np.asarray(a)
        out += [a[train], a[test]]
    return out


def standardize(
    X: np.ndarray, mean: np.ndarray | None = None, std: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero mean and unit variance per feature; returns ``(X_scaled, mean, std)``.

    Pass the training set's ``mean`` and ``std`` to scale test data the same way.  Constant
    features keep a scale of 1 instead of dividing by zero.

    >>> Xs, m, s = standardize(np.array([[1.0, 5.0], [3.0, 5.0]]))
    >>> Xs.tolist(), m.tolist(), s.tolist()
    ([[-1.0, 0.0], [1.0, 0.0]], [2.0, 5.0], [1.0, 1.0])
    """
    X = np.asarray(X, dtype=np.float64)
    if mean is None:
        mean = X.mean(axis=0)
    if std is None:
        std = X.std(axis=0)
        std = np.where(std > 0, std, 1.0)
    return (X - mean) / std, np.asarray(mean), np.asarray(std)


def batches(
    *arrays: np.ndarray, batch_size: int = 32, shuffle: bool = True,
    random_state: RandomState = None, drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, ...]]:
    """Yield aligned mini-batches of the arrays, shuffled once per call.

    >>> [len(xb) for xb, yb in batches(np.zeros((5, 2)), np.zeros(5), batch_size=2)]
    [2, 2, 1]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError(f"arrays have different lengths: {[len(a) for a in arrays]}")
    order = _rng(random_state).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for i in range(0, stop, batch_size):
        idx = order[i:i + batch_size]
        yield tuple(np.asarray(a)[idx] for a in arrays)


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 handwritten digits: ``X`` (1797, 64) float64, ``y`` labels 0-9.

    Needs scikit-learn: ``pip install "tinygrad_mlp[datasets]"``.

    >>> X, y = load_digits()  # doctest: +SKIP
    >>> X.shape, sorted(set(y.tolist()))[:3]  # doctest: +SKIP
    ((1797, 64), [0, 1, 2])
    """
    try:
        from sklearn.datasets import load_digits as _load
    except ImportError:
        raise ImportError(
            "load_digits() needs scikit-learn: pip install \"tinygrad_mlp[datasets]\""
        ) from None
    bunch: Any = _load()
    return bunch.data.astype(np.float64), bunch.target.astype(np.int64)

"""Toy datasets made with numpy, splits, standardization and batches.

The generators take scikit-learn's names and meaning (``n_samples``, ``noise``,
``random_state``) and return ``(X, y)`` with ``X`` of shape ``(n_samples, n_features)`` in
float64 and integer labels ``y`` of shape ``(n_samples,)``.
"""

from __future__ import annotations

from collections.abc import Iterator
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

RandomState = int | np.random.Generator | None


def _rng(random_state: RandomState) -> np.random.Generator:
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is not None and not isinstance(random_state, (int, np.integer)):
        raise TypeError(
            f"random_state must be an int, a numpy Generator or None, "
            f"got {type(random_state).__name__}"
        )
    return np.random.default_rng(random_state)


def _split_counts(n_samples: int, parts: int) -> list[int]:
    if not isinstance(n_samples, (int, np.integer)) or n_samples < parts:
        raise ValueError(f"n_samples must be an integer of at least {parts}, got {n_samples!r}")
    base, extra = divmod(int(n_samples), parts)
    return [base + (i < extra) for i in range(parts)]


def _finish(
    X: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator, shuffle: bool
) -> tuple[np.ndarray, np.ndarray]:
    if noise < 0:
        raise ValueError(f"noise must be at least 0, got {noise}")
    if noise:
        X = X + rng.normal(scale=noise, size=X.shape)
    if shuffle:
        order = rng.permutation(len(X))
        X, y = X[order], y[order]
    return X.astype(np.float64), y.astype(np.int64)


def make_moons(
    n_samples: int = 100, *, shuffle: bool = True, noise: float = 0.0,
    random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (labels 0 and 1).

    >>> X, y = make_moons(100, noise=0.1, random_state=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((100, 2), [0, 1])
    """
    rng = _rng(random_state)
    n_in, n_out = _split_counts(n_samples, 2)  # as scikit-learn: an odd sample goes inside
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.vstack([
        np.column_stack([np.cos(t_out), np.sin(t_out)]),
        np.column_stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5]),
    ])
    y = np.repeat([0, 1], [n_out, n_in])
    return _finish(X, y, noise, rng, shuffle)


def make_circles(
    n_samples: int = 100, *, shuffle: bool = True, noise: float = 0.0,
    random_state: RandomState = None, factor: float = 0.8,
) -> tuple[np.ndarray, np.ndarray]:
    """A small circle (label 1) inside a large one (label 0); ``factor`` is their ratio.

    >>> X, y = make_circles(10, random_state=0)
    >>> X.shape
    (10, 2)
    """
    if not 0 <= factor < 1:
        raise ValueError(f"factor must be in [0, 1), got {factor}")
    rng = _rng(random_state)
    n_in, n_out = _split_counts(n_samples, 2)  # as scikit-learn: an odd sample goes inside
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
    noise: float = 0.0, random_state: RandomState = None,
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
    n_samples: int = 100, *, n_features: int = 2, centers: int | np.ndarray = 3,
    cluster_std: float = 1.0, center_box: tuple[float, float] = (-10.0, 10.0),
    shuffle: bool = True, random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters around ``centers`` (a count, or an array of centre points).

    >>> X, y = make_blobs(30, centers=3, random_state=0)
    >>> X.shape, len(set(y.tolist()))
    ((30, 2), 3)
    """
    rng = _rng(random_state)
    if isinstance(centers, (int, np.integer)):
        centers = rng.uniform(center_box[0], center_box[1], size=(int(centers), n_features))
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2:
        raise ValueError(f"centers must be a count or a 2-D array, got shape {centers.shape}")
    counts = _split_counts(n_samples, len(centers))
    X = np.vstack([c + rng.normal(scale=cluster_std, size=(n, centers.shape[1]))
                   for c, n in zip(centers, counts)])
    y = np.repeat(np.arange(len(centers)), counts)
    return _finish(X, y, 0.0, rng, shuffle)


def make_regression_1d(
    n_samples: int = 100, *, noise: float = 0.1, random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy samples of ``sin(3x) + 0.5x`` on ``[-2, 2]``: ``X`` of shape ``(n, 1)``, float ``y``.

    >>> X, y = make_regression_1d(50, random_state=0)
    >>> X.shape, y.shape, y.dtype
    ((50, 1), (50,), dtype('float64'))
    """
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


def train_test_split(
    *arrays: np.ndarray, test_size: float = 0.25, random_state: RandomState = None,
    shuffle: bool = True,
) -> list[np.ndarray]:
    """Split arrays into train and test parts: ``X_train, X_test, y_train, y_test = ...``.

    ``test_size`` is a fraction in (0, 1) or a count of samples.

    >>> X, y = np.arange(20).reshape(10, 2), np.arange(10)
    >>> X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0)
    >>> len(X_tr), len(X_te)
    (8, 2)
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    n = len(arrays[0])
    for a in arrays[1:]:
        if len(a) != n:
            raise ValueError(f"arrays have different lengths: {[len(a) for a in arrays]}")
    if isinstance(test_size, float):
        if not 0 < test_size < 1:
            raise ValueError(f"a fractional test_size must be in (0, 1), got {test_size}")
        n_test = int(np.ceil(test_size * n))
    else:
        n_test = int(test_size)
    if not 0 < n_test < n:
        raise ValueError(f"test_size={test_size!r} leaves no train or no test samples of {n}")
    order = _rng(random_state).permutation(n) if shuffle else np.arange(n)
    test, train = order[:n_test], order[n_test:]
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
    """
    try:
        from sklearn.datasets import load_digits as _load
    except ImportError:
        raise ImportError(
            "load_digits() needs scikit-learn: pip install \"tinygrad_mlp[datasets]\""
        ) from None
    bunch: Any = _load()
    return bunch.data.astype(np.float64), bunch.target.astype(np.int64)

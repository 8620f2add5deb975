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

from tinygrad_mlp.checks import (
    argument_error,
    check_bool,
    check_int,
    check_number,
    check_random_state,
    check_sequence,
    is_int,
)

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


def _n_samples(who: str, n_samples: Any, parts: int, per: str) -> list[int]:
    """A total ``n_samples`` split as evenly as possible into ``parts`` (one ``per`` each)."""
    n = check_int(who, "n_samples", n_samples)
    if n < parts:
        raise argument_error(ValueError, who, "n_samples",
                             f"an int of at least {parts} (one sample per {per})", n_samples)
    base, extra = divmod(n, parts)
    return [base + (i < extra) for i in range(parts)]


def _given_counts(who: str, n_samples: Any, parts: int | None = None) -> list[int]:
    """Per-class counts given as a sequence (``parts`` of them, when given), checked."""
    counts = check_sequence(who, "n_samples", n_samples,
                            "an int or a sequence of per-class counts (ints)")
    counts = [check_int(who, f"n_samples[{i}]", c, minimum=0) for i, c in enumerate(counts)]
    if parts is not None and len(counts) != parts:
        raise argument_error(ValueError, who, "n_samples", f"an int or {parts} per-class counts",
                             n_samples)
    if sum(counts) < 1:
        raise argument_error(ValueError, who, "n_samples",
                             "per-class counts with at least one sample", n_samples)
    return counts


def _outer_inner(who: str, n_samples: NSamples, per: str) -> tuple[int, int]:
    """``(n_out, n_in)`` as scikit-learn: an odd sample of a count goes inside."""
    if is_int(n_samples):
        n_in, n_out = _n_samples(who, n_samples, 2, per)
        return n_out, n_in
    n_out, n_in = _given_counts(who, n_samples, 2)
    return n_out, n_in


def _noise(who: str, noise: Any) -> float:
    """``noise`` checked: ``None`` (none, scikit-learn's default) or a number of at least 0."""
    return 0.0 if noise is None else check_number(who, "noise", noise, low=0)


def _finish(
    X: np.ndarray, y: np.ndarray, noise: float, rng: np.random.Generator, shuffle: bool
) -> tuple[np.ndarray, np.ndarray]:
    if noise:  # 0 (also what noise=None, scikit-learn's default, becomes) means no noise
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
    n_out, n_in = _outer_inner("make_moons", n_samples, "moon")
    noise = _noise("make_moons", noise)
    shuffle = check_bool("make_moons", "shuffle", shuffle)
    rng = check_random_state("make_moons", "random_state", random_state)
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
    n_out, n_in = _outer_inner("make_circles", n_samples, "circle")
    factor = check_number("make_circles", "factor", factor, low=0, high=1, high_open=True)
    noise = _noise("make_circles", noise)
    shuffle = check_bool("make_circles", "shuffle", shuffle)
    rng = check_random_state("make_circles", "random_state", random_state)
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
    n_classes = check_int("make_spirals", "n_classes", n_classes, minimum=2)
    counts = _n_samples("make_spirals", n_samples, n_classes, "class")
    turns = check_number("make_spirals", "turns", turns)
    noise = _noise("make_spirals", noise)
    shuffle = check_bool("make_spirals", "shuffle", shuffle)
    rng = check_random_state("make_spirals", "random_state", random_state)
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
    who = "make_blobs"
    given = None if is_int(n_samples) else _given_counts(who, n_samples)
    n_features = check_int(who, "n_features", n_features, minimum=1)
    cluster_std = check_number(who, "cluster_std", cluster_std, low=0)
    box = [check_number(who, f"center_box[{i}]", b)
           for i, b in enumerate(check_sequence(who, "center_box", center_box,
                                                "a pair (low, high) of numbers"))]
    if len(box) != 2 or box[0] > box[1]:
        raise argument_error(ValueError, who, "center_box", "a pair (low, high) with low <= high",
                             center_box)
    shuffle = check_bool(who, "shuffle", shuffle)
    rng = check_random_state(who, "random_state", random_state)
    if centers is None:  # as scikit-learn: 3 centres for a total, one per given count
        centers = 3 if given is None else len(given)
    if is_int(centers):
        count = check_int(who, "centers", centers, minimum=1)
        centers = rng.uniform(box[0], box[1], size=(count, n_features))
    else:
        centers = _centre_points(who, centers)
    if given is not None and len(given) != len(centers):
        raise ValueError(f"{who}: n_samples gives {len(given)} per-centre counts for "
                         f"{len(centers)} centres")
    counts = _n_samples(who, n_samples, len(centers), "centre") if given is None else given
    X = np.vstack([c + rng.normal(scale=cluster_std, size=(n, centers.shape[1]))
                   for c, n in zip(centers, counts)])
    y = np.repeat(np.arange(len(centers)), counts)
    return _finish(X, y, 0.0, rng, shuffle)


def _centre_points(who: str, centers: Any) -> np.ndarray:
    """``centers`` given as points: a non-empty 2-D array of finite numbers, as float64."""
    expected = "a count (int), None or a 2-D array of centre points"
    arr = None
    if not isinstance(centers, (str, bytes, bool, np.bool_, float, np.floating)):
        try:
            arr = np.asarray(centers)
        except (TypeError, ValueError):  # ragged lists
            pass
    if arr is None or arr.dtype.kind not in "iuf":
        raise argument_error(TypeError, who, "centers", expected, centers)
    if arr.ndim != 2 or arr.size == 0 or not np.isfinite(arr).all():
        raise argument_error(ValueError, who, "centers",
                             "a count of at least 1 or a non-empty 2-D array of finite numbers",
                             centers)
    return arr.astype(np.float64)


def make_regression_1d(
    n_samples: int = 100, *, noise: float | None = 0.1, random_state: RandomState = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy samples of ``sin(3x) + 0.5x`` on ``[-2, 2]``: ``X`` of shape ``(n, 1)``, float ``y``.

    ``noise`` is the standard deviation of the noise on ``y``; ``None`` or 0 means none.

    >>> X, y = make_regression_1d(50, random_state=0)
    >>> X.shape, y.shape, y.dtype
    ((50, 1), (50,), dtype('float64'))
    """
    n_samples = check_int("make_regression_1d", "n_samples", n_samples, minimum=1)
    noise = _noise("make_regression_1d", noise)
    rng = check_random_state("make_regression_1d", "random_state", random_state)
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
    if is_int(size):
        return "i"
    if isinstance(size, (float, np.floating)):
        return "f"
    raise argument_error(TypeError, "train_test_split", name,
                         "a float fraction, an int count or None", size)


def _split_sizes(n: int, test_size: Any, train_size: Any) -> tuple[int, int]:
    """``(n_train, n_test)`` with scikit-learn's rules, or a ValueError naming the problem."""
    test_kind, train_kind = _size_kind(test_size, "test_size"), _size_kind(train_size, "train_size")
    if test_kind is None and train_kind is None:
        test_size, test_kind = 0.25, "f"
    for name, size, kind in (("test_size", test_size, test_kind),
                             ("train_size", train_size, train_kind)):
        if kind == "f" and not 0 < size < 1:
            raise argument_error(ValueError, "train_test_split", name, "a fraction in (0, 1)",
                                 size)
        if kind == "i" and not 0 < size < n:
            raise argument_error(ValueError, "train_test_split", name,
                                 f"a count in [1, {n - 1}] for {n} samples", size)
    if test_kind == train_kind == "f" and test_size + train_size > 1:
        raise ValueError(f"train_test_split: test_size + train_size = {test_size + train_size} "
                         "is more than 1")
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
        raise ValueError(f"train_test_split: test_size={test_size!r} and "
                         f"train_size={train_size!r} ask for {n_test} + {n_train} samples "
                         f"but there are only {n}")
    if n_train == 0:
        raise ValueError(f"train_test_split: test_size={test_size!r} leaves no train samples "
                         f"of {n}")
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
    arrays_, n = _aligned("train_test_split", arrays)
    n_train, n_test = _split_sizes(n, test_size, train_size)
    if check_bool("train_test_split", "shuffle", shuffle):
        # the test part comes first in the permutation, as in scikit-learn
        order = check_random_state("train_test_split", "random_state", random_state).permutation(n)
        test, train = order[:n_test], order[n_test:n_test + n_train]
    else:
        train, test = np.arange(n_train), np.arange(n_train, n_train + n_test)
    out: list[np.ndarray] = []
    for a in arrays_:
        out += [a[train], a[test]]
    return out


def _aligned(who: str, arrays: Sequence[Any]) -> tuple[list[np.ndarray], int]:
    """The arrays (at least one) as numpy arrays of one length, and that length."""
    if not arrays:
        raise ValueError(f"{who}: arrays must hold at least one array, got none")
    out = []
    for i, a in enumerate(arrays):
        try:
            arr = np.asarray(a)
        except (TypeError, ValueError) as e:  # ragged lists
            raise argument_error(ValueError, who, f"arrays[{i}]",
                                 f"an array or a list of samples ({e})", a) from None
        if arr.ndim == 0:
            raise argument_error(TypeError, who, f"arrays[{i}]", "an array or a list of samples", a)
        out.append(arr)
    lengths = [len(a) for a in out]
    if any(length != lengths[0] for length in lengths):
        raise ValueError(f"{who}: arrays have different lengths: {lengths}")
    return out, lengths[0]


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
    X = _numbers("X", X)
    if X.ndim == 0:
        raise argument_error(ValueError, "standardize", "X",
                             "an array of shape (n_samples, n_features)", X)
    if mean is None:
        mean = X.mean(axis=0)
    else:
        mean = _per_feature("mean", mean, X)
    if std is None:
        std = X.std(axis=0)
        std = np.where(std > 0, std, 1.0)
    else:
        std = _per_feature("std", std, X)
        if not (std > 0).all():
            raise argument_error(ValueError, "standardize", "std",
                                 "finite numbers greater than 0", std)
    return (X - mean) / std, np.asarray(mean), np.asarray(std)


def _numbers(name: str, x: Any) -> np.ndarray:
    """``x`` as a float64 array, or a TypeError naming ``standardize`` and ``name``."""
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError):  # ragged lists
        arr = None
    if arr is None or arr.dtype.kind not in "biuf":
        raise argument_error(TypeError, "standardize", name, "an array of numbers", x)
    return arr.astype(np.float64)


def _per_feature(name: str, x: Any, X: np.ndarray) -> np.ndarray:
    """A given ``mean`` or ``std``: finite numbers that broadcast to one row of ``X``."""
    arr = _numbers(name, x)
    try:
        fits = np.broadcast_shapes(arr.shape, X.shape[1:]) == X.shape[1:]
    except ValueError:
        fits = False
    if not fits or not np.isfinite(arr).all():
        raise argument_error(ValueError, "standardize", name,
                             f"finite numbers of shape {X.shape[1:]} (one per feature)", arr)
    return arr


def batches(
    *arrays: np.ndarray, batch_size: int = 32, shuffle: bool = True,
    random_state: RandomState = None, drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, ...]]:
    """Yield aligned mini-batches of the arrays, shuffled once per call.

    >>> [len(xb) for xb, yb in batches(np.zeros((5, 2)), np.zeros(5), batch_size=2)]
    [2, 2, 1]
    """
    # checked here, when batches() is called, not at the first batch
    arrays_, n = _aligned("batches", arrays)
    batch_size = check_int("batches", "batch_size", batch_size, minimum=1)
    shuffle = check_bool("batches", "shuffle", shuffle)
    drop_last = check_bool("batches", "drop_last", drop_last)
    rng = check_random_state("batches", "random_state", random_state) if shuffle else None
    return _batches(arrays_, n, batch_size, rng, drop_last)


def _batches(
    arrays: list[np.ndarray], n: int, batch_size: int, rng: np.random.Generator | None,
    drop_last: bool,
) -> Iterator[tuple[np.ndarray, ...]]:
    order = rng.permutation(n) if rng is not None else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for i in range(0, stop, batch_size):
        idx = order[i:i + batch_size]
        yield tuple(a[idx] for a in arrays)


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

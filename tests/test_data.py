"""Toy data sets, splits, standardization, batches and ``load_digits`` (``tinygrad_mlp.data``)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tinygrad_mlp.data import (
    DATASETS,
    batches,
    load_digits,
    make_blobs,
    make_circles,
    make_moons,
    make_regression_1d,
    make_spirals,
    standardize,
    train_test_split,
)


# --------------------------------------------------------------------------- generators
@pytest.mark.parametrize(
    "make,kwargs,labels",
    [
        (make_moons, {}, {0, 1}),
        (make_circles, {}, {0, 1}),
        (make_spirals, {}, {0, 1}),
        (make_spirals, {"n_classes": 4}, {0, 1, 2, 3}),
        (make_blobs, {"centers": 3}, {0, 1, 2}),
    ],
)
@pytest.mark.parametrize("n", [8, 101])
def test_generator_shapes_dtypes_and_labels(make, kwargs, labels, n):
    X, y = make(n, random_state=0, **kwargs)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype.kind == "i"
    assert set(y.tolist()) == labels
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1  # balanced classes


def test_blobs_features_and_given_centres():
    X, y = make_blobs(60, n_features=5, centers=4, random_state=0)
    assert X.shape == (60, 5) and set(y.tolist()) == {0, 1, 2, 3}
    centres = np.array([[0.0, 0.0], [100.0, 100.0]])
    X, y = make_blobs(400, centers=centres, cluster_std=0.5, random_state=0)
    for c in (0, 1):
        np.testing.assert_allclose(X[y == c].mean(axis=0), centres[c], atol=0.1)
        np.testing.assert_allclose(X[y == c].std(axis=0), 0.5, rtol=0.15)


def test_regression_1d():
    X, y = make_regression_1d(200, noise=0.0, random_state=0)
    assert X.shape == (200, 1) and y.shape == (200,) and y.dtype == np.float64
    assert X.min() >= -2 and X.max() <= 2
    np.testing.assert_allclose(y, np.sin(3 * X[:, 0]) + 0.5 * X[:, 0], rtol=1e-14)


@pytest.mark.parametrize("make", [make_moons, make_circles, make_spirals, make_blobs,
                                  make_regression_1d])
def test_random_state_reproducibility(make):
    kwargs = {} if make is make_blobs else {"noise": 0.1}
    X1, y1 = make(50, random_state=3, **kwargs)
    X2, y2 = make(50, random_state=3, **kwargs)
    X3, _ = make(50, random_state=4, **kwargs)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(X1, X3)
    g1, g2 = np.random.default_rng(9), np.random.default_rng(9)
    np.testing.assert_array_equal(make(50, random_state=g1, **kwargs)[0],
                                  make(50, random_state=g2, **kwargs)[0])


def test_noise_free_moons_and_circles_lie_on_their_curves():
    X, y = make_moons(200, noise=0.0, random_state=0)
    outer, inner = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(*outer.T), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.hypot(inner[:, 0] - 1, inner[:, 1] - 0.5), 1.0, rtol=1e-12)
    assert np.all(outer[:, 1] >= -1e-12) and np.all(inner[:, 1] <= 0.5 + 1e-12)
    X, y = make_circles(200, factor=0.3, random_state=0)
    np.testing.assert_allclose(np.hypot(*X[y == 0].T), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.hypot(*X[y == 1].T), 0.3, rtol=1e-12)


@pytest.mark.parametrize("make", [make_moons, make_circles, make_spirals])
def test_noise_is_the_std_of_gaussian_noise_added_to_each_coordinate(make):
    clean, y0 = make(4000, noise=0.0, shuffle=False, random_state=0)
    noisy, y1 = make(4000, noise=0.2, shuffle=False, random_state=1)
    np.testing.assert_array_equal(y0, y1)
    diff = noisy - clean
    np.testing.assert_allclose(diff.std(axis=0), 0.2, rtol=0.05)
    np.testing.assert_allclose(diff.mean(axis=0), 0.0, atol=0.02)


def test_regression_noise():
    X, y = make_regression_1d(4000, noise=0.3, random_state=0)
    resid = y - (np.sin(3 * X[:, 0]) + 0.5 * X[:, 0])
    assert resid.std() == pytest.approx(0.3, rel=0.05)


def test_shuffle_false_keeps_classes_in_order_and_shuffle_mixes_them():
    _, y = make_moons(10, shuffle=False)
    assert y.tolist() == [0] * 5 + [1] * 5
    _, y = make_moons(100, random_state=0)
    assert y[:50].sum() not in (0, 50)


@pytest.mark.parametrize("n", [10, 11])
def test_moons_and_circles_match_scikit_learn_without_noise(n):
    sk = pytest.importorskip("sklearn.datasets")
    for ours, theirs in [(make_moons, sk.make_moons), (make_circles, sk.make_circles)]:
        X1, y1 = ours(n, shuffle=False)
        X2, y2 = theirs(n, shuffle=False)
        np.testing.assert_allclose(X1, X2, atol=1e-12)
        np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("make", [make_moons, make_circles, make_spirals, make_regression_1d])
def test_noise_none_means_no_noise(make):
    X0, y0 = make(50, noise=0.0, random_state=0)
    X1, y1 = make(50, noise=None, random_state=0)
    np.testing.assert_array_equal(X0, X1)
    np.testing.assert_array_equal(y0, y1)


def test_moons_and_circles_default_to_no_noise_as_scikit_learn():
    sk = pytest.importorskip("sklearn.datasets")
    for ours, theirs in [(make_moons, sk.make_moons), (make_circles, sk.make_circles)]:
        X1, y1 = ours(shuffle=False)
        X2, y2 = theirs(shuffle=False)
        np.testing.assert_allclose(X1, X2, atol=1e-12)
        np.testing.assert_array_equal(y1, y2)


@pytest.mark.parametrize("n_samples", [(3, 7), (7, 3), (0, 5), [4, 4], np.array([2, 9])])
def test_moons_and_circles_take_per_class_counts_as_scikit_learn(n_samples):
    sk = pytest.importorskip("sklearn.datasets")
    for ours, theirs in [(make_moons, sk.make_moons), (make_circles, sk.make_circles)]:
        X1, y1 = ours(n_samples, shuffle=False)
        X2, y2 = theirs(tuple(n_samples), shuffle=False)  # scikit-learn takes only a tuple
        np.testing.assert_allclose(X1, X2, atol=1e-12)
        np.testing.assert_array_equal(y1, y2)
        _, y = ours(n_samples, noise=0.1, random_state=0)
        assert np.bincount(y, minlength=2).tolist() == list(n_samples)  # (n_out, n_in)


def test_blobs_signature_and_defaults_as_scikit_learn():
    X, y = make_blobs(60, 4, random_state=0)  # n_features positional
    assert X.shape == (60, 4) and set(y.tolist()) == {0, 1, 2}  # centers=None: 3 centres
    X, y = make_blobs(random_state=0)
    assert X.shape == (100, 2) and np.bincount(y).tolist() == [34, 33, 33]
    X, y = make_blobs(10, centers=None, random_state=0)
    assert set(y.tolist()) == {0, 1, 2}


def test_blobs_take_per_centre_counts():
    X, y = make_blobs((5, 0, 12, 3), 3, random_state=0)  # centers=None: one per count
    assert X.shape == (20, 3) and np.bincount(y, minlength=4).tolist() == [5, 0, 12, 3]
    centres = np.array([[0.0, 0.0], [50.0, 50.0]])
    X, y = make_blobs([30, 10], centers=centres, cluster_std=0.1, random_state=0)
    assert np.bincount(y).tolist() == [30, 10]
    np.testing.assert_allclose(X[y == 1].mean(axis=0), centres[1], atol=0.1)
    X, y = make_blobs((4, 6), centers=2, random_state=0)  # a count that agrees is fine
    assert np.bincount(y).tolist() == [4, 6]
    with pytest.raises(ValueError, match="2 centres"):
        make_blobs((4, 6, 1), centers=centres)
    with pytest.raises(ValueError, match="n_samples"):
        make_blobs((4, -1))
    with pytest.raises(TypeError, match=r"n_samples\[0\] must be an int, got float 4.5"):
        make_blobs((4.5, 2))


@pytest.mark.parametrize("make", [make_moons, make_circles])
@pytest.mark.parametrize(
    "n_samples,error",
    [((1, 2, 3), ValueError), ((5,), ValueError), ((), ValueError), ((2, -1), ValueError),
     ((0, 0), ValueError), ((2.5, 3), TypeError), ("ab", TypeError)],
)
def test_moons_and_circles_reject_bad_per_class_counts(make, n_samples, error):
    # a value of the wrong type is a TypeError, a wrong count a ValueError (both were
    # ValueErrors before: issue 10 asks for one rule everywhere)
    with pytest.raises(error, match=f"{make.__name__}: n_samples"):
        make(n_samples)


@pytest.mark.parametrize("make", [make_moons, make_circles, make_spirals, make_blobs,
                                  make_regression_1d])
def test_legacy_random_state_is_accepted(make):
    X1, y1 = make(30, random_state=np.random.RandomState(5))
    X2, y2 = make(30, random_state=np.random.RandomState(5))
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    legacy = np.random.RandomState(5)
    assert not np.array_equal(make(30, random_state=legacy)[0],
                              make(30, random_state=legacy)[0])  # the state advances


def test_legacy_random_state_in_splits_and_batches():
    y = np.arange(20)
    a = train_test_split(y, random_state=np.random.RandomState(1))
    b = train_test_split(y, random_state=np.random.RandomState(1))
    np.testing.assert_array_equal(a[1], b[1])
    order = [b[0].tolist() for b in batches(y, batch_size=5, random_state=np.random.RandomState(2))]
    again = [b[0].tolist() for b in batches(y, batch_size=5, random_state=np.random.RandomState(2))]
    assert order == again and sorted(sum(order, [])) == list(range(20))


def test_datasets_registry():
    assert DATASETS["moons"] is make_moons and DATASETS["blobs"] is make_blobs
    assert set(DATASETS) >= {"moons", "circles", "spirals", "blobs"}


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: make_moons(100, noise=-0.1), ValueError, "noise"),
        (lambda: make_circles(100, noise=-1), ValueError, "noise"),
        (lambda: make_moons(1), ValueError, "n_samples"),
        (lambda: make_moons(10.5), TypeError, "n_samples"),
        (lambda: make_circles(10, factor=1.0), ValueError, "factor"),
        (lambda: make_circles(10, factor=-0.1), ValueError, "factor"),
        (lambda: make_spirals(10, n_classes=1), ValueError, "n_classes"),
        (lambda: make_spirals(2, n_classes=3), ValueError, "n_samples"),
        (lambda: make_blobs(10, centers=np.zeros(3)), ValueError, "centers"),
        (lambda: make_regression_1d(10, noise=-1), ValueError, "noise"),
        (lambda: make_regression_1d(0), ValueError, "n_samples"),
        (lambda: make_moons(10, random_state="seed"), TypeError, "random_state"),
        (lambda: make_moons(10, random_state=1.5), TypeError, "random_state"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------- splits
def test_train_test_split_sizes_and_alignment():
    X = np.arange(100).reshape(50, 2)
    y = np.arange(50)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=0)
    assert (len(X_tr), len(X_te), len(y_tr), len(y_te)) == (40, 10, 40, 10)
    np.testing.assert_array_equal(X_tr[:, 0] // 2, y_tr)  # rows stay with their labels
    np.testing.assert_array_equal(X_te[:, 0] // 2, y_te)
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(50))
    assert y_tr.tolist() != sorted(y_tr.tolist())  # shuffled


def test_train_test_split_counts_fractions_and_reproducibility():
    y = np.arange(10)
    _, te = train_test_split(y, test_size=3)
    assert len(te) == 3
    _, te = train_test_split(y, test_size=0.25)
    assert len(te) == 3  # rounded up, as scikit-learn does
    a = train_test_split(y, test_size=0.5, random_state=1)
    b = train_test_split(y, test_size=0.5, random_state=1)
    np.testing.assert_array_equal(a[1], b[1])
    tr, te = train_test_split(y, test_size=0.3, shuffle=False)
    assert tr.tolist() == [0, 1, 2, 3, 4, 5, 6] and te.tolist() == [7, 8, 9]  # as scikit-learn


@pytest.mark.parametrize("test_size", [0.0, 1.0, 1.5, 0, 10, -1])
def test_train_test_split_bad_sizes(test_size):
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(np.arange(10), test_size=test_size)


def test_train_test_split_defaults_to_a_quarter_and_takes_train_size_alone():
    y = np.arange(10)
    tr, te = train_test_split(y, random_state=0)
    assert (len(tr), len(te)) == (7, 3)  # test_size=None, train_size=None: 0.25, rounded up
    tr, te = train_test_split(y, train_size=0.75, random_state=0)
    assert (len(tr), len(te)) == (7, 3)  # a train fraction is rounded down
    tr, te = train_test_split(y, train_size=4, random_state=0)
    assert (len(tr), len(te)) == (4, 6)
    tr, te = train_test_split(y, test_size=2, train_size=5, random_state=0)
    assert (len(tr), len(te)) == (5, 2)  # both given: subsets, as scikit-learn
    assert not set(tr.tolist()) & set(te.tolist())


@pytest.mark.parametrize(
    "test_size,train_size,sizes",
    [(np.float64(0.3), None, (7, 3)), (np.float32(0.25), None, (7, 3)),
     (np.int64(3), None, (7, 3)), (None, np.float64(0.65), (6, 4)), (None, np.int32(4), (4, 6)),
     (np.int64(2), np.int64(5), (5, 2)), (np.float16(0.5), np.uint8(2), (2, 5))],
)
def test_train_test_split_numpy_scalars_are_fractions_and_counts(test_size, train_size, sizes):
    y = np.arange(10)
    tr, te = train_test_split(y, test_size=test_size, train_size=train_size, random_state=0)
    assert (len(tr), len(te)) == sizes


@pytest.mark.parametrize(
    "test_size,train_size",
    [(None, None), (0.2, None), (3, None), (None, 0.6), (None, 6), (2, 5), (0.2, 0.5), (0.5, 5)],
)
def test_train_test_split_without_shuffle_matches_scikit_learn(test_size, train_size):
    sk = pytest.importorskip("sklearn.model_selection")
    X, y = np.arange(22).reshape(11, 2), np.arange(11)
    ours = train_test_split(X, y, test_size=test_size, train_size=train_size, shuffle=False)
    theirs = sk.train_test_split(X, y, test_size=test_size, train_size=train_size, shuffle=False)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"train_size": 0.0}, "train_size"),
        ({"train_size": 1.0}, "train_size"),
        ({"train_size": 10}, "train_size"),
        ({"train_size": -2}, "train_size"),
        ({"test_size": 0.6, "train_size": 0.5}, "more than 1"),
        ({"test_size": 6, "train_size": 5}, "only 10"),
        ({"test_size": 0.5, "train_size": 6}, "only 10"),
        ({"test_size": 0.95}, "no train"),
    ],
)
def test_train_test_split_invalid_combinations_are_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_test_split(np.arange(10), **kwargs)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"test_size": "0.2"}, "test_size"),
        ({"train_size": True}, "train_size"),
        ({"test_size": [3]}, "test_size"),
    ],
)
def test_train_test_split_sizes_of_the_wrong_type_are_type_errors(kwargs, match):
    # ValueErrors before issue 10: a value of the wrong type is a TypeError everywhere now
    with pytest.raises(TypeError, match=f"train_test_split: {match} must be a float fraction"):
        train_test_split(np.arange(10), **kwargs)


def test_train_test_split_bad_arrays():
    with pytest.raises(ValueError, match="different lengths"):
        train_test_split(np.zeros(5), np.zeros(6))
    with pytest.raises(ValueError, match="at least one array"):
        train_test_split()


def test_standardize():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[3.0, -2.0, 7.0], scale=[0.5, 4.0, 1.0], size=(500, 3))
    X[:, 2] = 7.0  # a constant feature
    Xs, mean, std = standardize(X)
    np.testing.assert_allclose(Xs.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(Xs[:, :2].std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(Xs[:, 2], 0.0)  # no division by zero
    assert std[2] == 1.0
    X_new = rng.normal(size=(4, 3))
    Xn, m2, s2 = standardize(X_new, mean, std)  # test data scaled like the training data
    np.testing.assert_allclose(Xn, (X_new - mean) / std)
    np.testing.assert_array_equal(m2, mean)
    np.testing.assert_array_equal(s2, std)


# --------------------------------------------------------------------------- batches
@pytest.mark.parametrize("n,batch_size", [(10, 3), (10, 5), (10, 32), (1, 1)])
def test_batches_cover_every_sample_once(n, batch_size):
    X = np.arange(n * 2).reshape(n, 2)
    y = np.arange(n)
    seen = []
    sizes = []
    for xb, yb in batches(X, y, batch_size=batch_size, random_state=0):
        np.testing.assert_array_equal(xb[:, 0] // 2, yb)  # aligned
        seen += yb.tolist()
        sizes.append(len(yb))
    assert sorted(seen) == list(range(n))
    assert all(s == batch_size for s in sizes[:-1]) and 0 < sizes[-1] <= batch_size


def test_batches_shuffle_drop_last_and_order():
    y = np.arange(10)
    assert [b[0].tolist() for b in batches(y, batch_size=4, shuffle=False)] == [
        [0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert [len(b[0]) for b in batches(y, batch_size=4, drop_last=True)] == [4, 4]
    order = np.concatenate([b[0] for b in batches(y, batch_size=3, random_state=0)])
    assert order.tolist() != list(range(10))
    again = np.concatenate([b[0] for b in batches(y, batch_size=3, random_state=0)])
    np.testing.assert_array_equal(order, again)


def test_batches_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        list(batches(np.zeros(3), batch_size=0))
    with pytest.raises(ValueError, match="different lengths"):
        list(batches(np.zeros(3), np.zeros(4)))


# --------------------------------------------------------------------------- digits
def test_load_digits():
    pytest.importorskip("sklearn")
    X, y = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,) and set(y.tolist()) == set(range(10))
    assert X.min() == 0 and X.max() == 16


def test_load_digits_without_scikit_learn_names_the_extra(monkeypatch):
    for name in list(sys.modules):
        if name == "sklearn" or name.startswith("sklearn."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now fails
    with pytest.raises(ImportError) as e:
        load_digits()
    msg = str(e.value)
    assert "scikit-learn" in msg and "datasets" in msg and "pip install" in msg

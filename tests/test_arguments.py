"""Bad arguments to public constructors and functions: one clear error each (issue 10).

A value of the wrong type is a ``TypeError``, a value of the right type outside its range a
``ValueError``; the message names the function or class, the argument, what it expects and
what it got (``MLP: nouts must be a list of layer sizes (ints), got int 3``).  An int is never
a ``bool``.  The checks live in :mod:`tinygrad_mlp.checks`.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from tinygrad_mlp import MLP, Layer, Module, Neuron, Value, gradcheck
from tinygrad_mlp.data import (
    batches,
    make_blobs,
    make_circles,
    make_moons,
    make_regression_1d,
    make_spirals,
    standardize,
    train_test_split,
)
from tinygrad_mlp.nn import get_activation, register_activation, stack


def _square(a):
    return a * a


ONE = [Value(1.0)]
X10 = np.arange(10)

# (call, exception, message regex): the regex pins "who: argument must be ..., got ..."
CASES = [
    # --------------------------------------------------------------- nn: constructors
    (lambda: MLP(2, 3), TypeError,
     r"^MLP: nouts must be a list of layer sizes \(ints\), got int 3$"),
    (lambda: MLP(2, "31"), TypeError, r"^MLP: nouts must be a list of layer sizes .*got str '31'"),
    (lambda: MLP(2, None), TypeError, r"^MLP: nouts must be a list .*got None$"),
    (lambda: MLP(2, [3, "1"]), TypeError, r"^MLP: nouts\[1\] must be an int, got str '1'$"),
    (lambda: MLP(2, [3.0]), TypeError, r"^MLP: nouts\[0\] must be an int, got float 3\.0$"),
    (lambda: MLP(2, [3, 0]), ValueError,
     r"^MLP: nouts\[1\] must be an int of at least 1, got int 0$"),
    (lambda: MLP("2", [3]), TypeError, r"^MLP: nin must be an int, got str '2'$"),
    (lambda: MLP(True, [3]), TypeError, r"^MLP: nin must be an int, got bool True$"),
    (lambda: MLP(0, [3]), ValueError, r"^MLP: nin must be an int of at least 1, got int 0$"),
    (lambda: MLP(2, [3], activation=3), TypeError,
     r"^MLP: activation must be an activation name, a callable or None, got int 3$"),
    (lambda: MLP(2, [3], output_activation=[]), TypeError,
     r"^MLP: output_activation must be an activation name.*got list \[\]$"),
    (lambda: MLP(2, [3], output_activation="gelu"), ValueError,
     r"^MLP: unknown output_activation 'gelu'; valid names: .*relu"),
    (lambda: MLP(2, [3], dtype="banana"), TypeError,
     r"^MLP: dtype must be float32 or float64, got str 'banana'$"),
    (lambda: MLP(2, [3], seed="a"), TypeError,
     r"^MLP: seed must be an int, a numpy Generator or RandomState, or None, got str 'a'$"),
    (lambda: MLP(2, [3], seed=-1), ValueError, r"^MLP: seed must be an int of at least 0"),
    (lambda: MLP(2, [3], init=3), TypeError,
     r"^MLP: init must be one of 'he', 'xavier', 'uniform' or None, got int 3$"),
    (lambda: MLP(2, [3], init="orthogonal"), ValueError,
     r"^MLP: init must be one of .*got str 'orthogonal'$"),
    (lambda: Layer(2.5, 3), TypeError, r"^Layer: nin must be an int, got float 2\.5$"),
    (lambda: Layer(2, True), TypeError, r"^Layer: nout must be an int, got bool True$"),
    (lambda: Layer(2, 3, index=0), ValueError,
     r"^Layer: index must be an int of at least 1, got int 0$"),
    (lambda: Layer(2, 3, dtype=np.int32), ValueError,
     r"^Layer: dtype must be float32 or float64, got type int32$"),
    (lambda: Neuron(None), TypeError, r"^Neuron: nin must be an int, got None$"),
    (lambda: Neuron(3, layer="a"), TypeError, r"^Neuron: layer must be an int, got str 'a'$"),
    # --------------------------------------------------------------- nn: functions
    (lambda: stack(3), TypeError, r"^stack: values must be a list of Values or numbers, got int 3$"),
    (lambda: stack(["a"]), TypeError, r"^stack: values\[0\] must be a Value, a number or an array"),
    (lambda: register_activation(3, abs), TypeError,
     r"^register_activation: name must be a non-empty str, got int 3$"),
    (lambda: register_activation("softy", "relu"), TypeError,
     r"^register_activation: fn must be callable, got str 'relu'$"),
    (lambda: get_activation(3), TypeError,
     r"^get_activation: activation must be an activation name, a callable or None, got int 3$"),
    (lambda: Layer(2, 3).load_state_dict(None), TypeError,
     r"^load_state_dict: state must be a dict of arrays by parameter name, got None$"),
    (lambda: Layer(2, 3).load_state_dict({1: 2}), TypeError,
     r"^load_state_dict: every key of state must be a parameter name \(str\), got int 1$"),
    (lambda: Layer(2, 3).load_state_dict({"W": [[1.0], [1.0, 2.0]], "b": np.zeros(3)}),
     ValueError, r"^load_state_dict refused the state: W: not an array"),
    (lambda: Layer(2, 3).train("yes"), TypeError,
     r"^Layer\.train: mode must be True or False, got str 'yes'$"),
    # --------------------------------------------------------------- data: generators
    (lambda: make_moons("10"), TypeError,
     r"^make_moons: n_samples must be an int or a sequence of per-class counts \(ints\), "
     r"got str '10'$"),
    (lambda: make_moons(True), TypeError, r"^make_moons: n_samples must be an int .*got bool True$"),
    (lambda: make_moons(0), ValueError,
     r"^make_moons: n_samples must be an int of at least 2 \(one sample per moon\), got int 0$"),
    (lambda: make_moons(-5), ValueError, r"^make_moons: n_samples must be .*got int -5$"),
    (lambda: make_moons(10, noise="a"), TypeError, r"^make_moons: noise must be a number, got str"),
    (lambda: make_moons(10, noise=float("nan")), ValueError,
     r"^make_moons: noise must be a finite number of at least 0, got float nan$"),
    (lambda: make_moons(10, shuffle="no"), TypeError,
     r"^make_moons: shuffle must be True or False, got str 'no'$"),
    (lambda: make_moons(10, random_state=True), TypeError,
     r"^make_moons: random_state must be an int, a numpy Generator or RandomState, or None, "
     r"got bool True$"),
    (lambda: make_circles(0), ValueError,
     r"^make_circles: n_samples must be an int of at least 2 \(one sample per circle\)"),
    (lambda: make_circles(10, factor=None), TypeError,
     r"^make_circles: factor must be a number, got None$"),
    (lambda: make_circles(10, factor=float("nan")), ValueError,
     r"^make_circles: factor must be a number in \[0, 1\), got float nan$"),
    (lambda: make_spirals(0), ValueError,
     r"^make_spirals: n_samples must be an int of at least 2 \(one sample per class\), got int 0$"),
    (lambda: make_spirals((3, 4)), TypeError,
     r"^make_spirals: n_samples must be an int, got tuple \(3, 4\)$"),
    (lambda: make_spirals(10, n_classes="3"), TypeError,
     r"^make_spirals: n_classes must be an int, got str '3'$"),
    (lambda: make_spirals(10, turns=float("inf")), ValueError,
     r"^make_spirals: turns must be a finite number, got float inf$"),
    (lambda: make_blobs(-1), ValueError, r"^make_blobs: n_samples must be an int of at least 3"),
    (lambda: make_blobs(10, 0), ValueError,
     r"^make_blobs: n_features must be an int of at least 1, got int 0$"),
    (lambda: make_blobs(10, "2"), TypeError, r"^make_blobs: n_features must be an int, got str"),
    (lambda: make_blobs(10, centers=-1), ValueError,
     r"^make_blobs: centers must be an int of at least 1, got int -1$"),
    (lambda: make_blobs(10, centers=2.5), TypeError,
     r"^make_blobs: centers must be a count \(int\), None or a 2-D array of centre points, "
     r"got float 2\.5$"),
    (lambda: make_blobs(10, centers=[["a"]]), TypeError, r"^make_blobs: centers must be a count"),
    (lambda: make_blobs(10, cluster_std=-1.0), ValueError,
     r"^make_blobs: cluster_std must be a finite number of at least 0, got float -1\.0$"),
    (lambda: make_blobs(10, center_box=5), TypeError,
     r"^make_blobs: center_box must be a pair \(low, high\) of numbers, got int 5$"),
    (lambda: make_blobs(10, center_box=(5, 1)), ValueError,
     r"^make_blobs: center_box must be a pair \(low, high\) with low <= high, got tuple \(5, 1\)$"),
    (lambda: make_regression_1d(-1), ValueError,
     r"^make_regression_1d: n_samples must be an int of at least 1, got int -1$"),
    (lambda: make_regression_1d(0), ValueError,
     r"^make_regression_1d: n_samples must be an int of at least 1, got int 0$"),
    (lambda: make_regression_1d(5.0), TypeError,
     r"^make_regression_1d: n_samples must be an int, got float 5\.0$"),
    # --------------------------------------------------------------- data: splits, batches
    (lambda: train_test_split(3), TypeError,
     r"^train_test_split: arrays\[0\] must be an array or a list of samples, got int 3$"),
    (lambda: train_test_split(X10, shuffle="x"), TypeError,
     r"^train_test_split: shuffle must be True or False, got str 'x'$"),
    (lambda: train_test_split(X10, test_size="0.2"), TypeError,
     r"^train_test_split: test_size must be a float fraction, an int count or None, "
     r"got str '0\.2'$"),
    (lambda: train_test_split(X10, test_size=1.5), ValueError,
     r"^train_test_split: test_size must be a fraction in \(0, 1\), got float 1\.5$"),
    (lambda: standardize(None), TypeError, r"^standardize: X must be an array of numbers, got None$"),
    (lambda: standardize(np.zeros((4, 2)), mean=np.zeros(3)), ValueError,
     r"^standardize: mean must be finite numbers of shape \(2,\) \(one per feature\)"),
    (lambda: standardize(np.zeros((4, 2)), std=np.array([1.0, 0.0])), ValueError,
     r"^standardize: std must be finite numbers greater than 0"),
    (lambda: batches(X10, batch_size=0), ValueError,
     r"^batches: batch_size must be an int of at least 1, got int 0$"),
    (lambda: batches(X10, batch_size=-2), ValueError,
     r"^batches: batch_size must be an int of at least 1, got int -2$"),
    (lambda: batches(X10, batch_size=2.5), TypeError,
     r"^batches: batch_size must be an int, got float 2\.5$"),
    (lambda: batches(X10, batch_size=True), TypeError,
     r"^batches: batch_size must be an int, got bool True$"),
    (lambda: batches(X10, drop_last=None), TypeError,
     r"^batches: drop_last must be True or False, got None$"),
    (lambda: batches(), ValueError, r"^batches: arrays must hold at least one array, got none$"),
    (lambda: batches(X10, np.zeros(3)), ValueError,
     r"^batches: arrays have different lengths: \[10, 3\]$"),
    # --------------------------------------------------------------- gradcheck
    (lambda: gradcheck(3, ONE), TypeError, r"^gradcheck: fn must be callable, got int 3$"),
    (lambda: gradcheck(_square, Value(1.0)), TypeError,
     r"^gradcheck: inputs must be a list of Values \(\[x\], not x\), got Value"),
    (lambda: gradcheck(_square, None), TypeError,
     r"^gradcheck: inputs must be a list of Values, got None$"),
    (lambda: gradcheck(lambda: Value(1.0), []), ValueError,
     r"^gradcheck: inputs must hold at least one Value, got an empty list"),
    (lambda: gradcheck(_square, [1.0]), TypeError,
     r"^gradcheck: input 0 must be a Value, got float 1\.0$"),
    (lambda: gradcheck(_square, ONE, eps=0), ValueError,
     r"^gradcheck: eps must be a finite number greater than 0, got int 0$"),
    (lambda: gradcheck(_square, ONE, eps=-1e-6), ValueError,
     r"^gradcheck: eps must be a finite number greater than 0, got float -1e-06$"),
    (lambda: gradcheck(_square, ONE, eps="a"), TypeError,
     r"^gradcheck: eps must be a number, got str 'a'$"),
    (lambda: gradcheck(_square, ONE, atol=-1), ValueError,
     r"^gradcheck: atol must be a finite number of at least 0, got int -1$"),
    (lambda: gradcheck(_square, ONE, atol=None), TypeError,
     r"^gradcheck: atol must be a number, got None$"),
    (lambda: gradcheck(_square, ONE, rtol=float("nan")), ValueError,
     r"^gradcheck: rtol must be a finite number of at least 0, got float nan$"),
]


@pytest.mark.parametrize(
    "call,error,pattern", CASES,
    ids=[f"{i}-{re.sub(r'[^A-Za-z_]+', '', p.split(':')[0])}" for i, (_, _, p) in enumerate(CASES)],
)
def test_a_bad_argument_is_a_clear_error(call, error, pattern, restore_activations):
    with pytest.raises(error) as info:
        call()
    assert type(info.value) is error  # exactly: not a subclass or a numpy error
    assert re.search(pattern, str(info.value)), str(info.value)


def test_every_message_follows_one_style(restore_activations):
    """Names the callable first and says what it got (apart from the few listed below)."""
    for call, _, _ in CASES:
        with pytest.raises((TypeError, ValueError)) as info:
            call()
        msg = str(info.value)
        assert re.match(r"^[A-Za-z_][\w.]*[: ]", msg), msg
        assert " got " in msg or "refused" in msg or "different lengths" in msg \
            or "unknown" in msg, msg


def test_batches_checks_its_arguments_when_called_not_when_iterated():
    # before: a generator, so batches(X, batch_size=0) returned and failed only in a loop
    with pytest.raises(ValueError, match="batch_size"):
        batches(np.zeros(3), batch_size=0)
    it = batches(np.arange(5), batch_size=2, shuffle=False)
    assert [b[0].tolist() for b in it] == [[0, 1], [2, 3], [4]]


def test_right_values_of_every_accepted_type_still_work():
    # numpy integers and floats pass wherever Python ones do; numpy bools are flags
    model = MLP(np.int64(2), np.array([3, 1]), seed=np.int32(0), dtype="float32")
    assert model.nouts == [3, 1] and model.dtype == np.float32
    assert MLP(2, (3, 1), seed=np.random.default_rng(0)).nouts == [3, 1]
    legacy = MLP(2, [3, 1], seed=np.random.RandomState(0))  # as data's random_state
    assert legacy.nin == 2
    X, y = make_moons(np.int64(20), noise=np.float32(0.1), shuffle=np.True_, random_state=0)
    assert X.shape == (20, 2)
    X, y = make_blobs(12, np.int64(3), centers=np.array([[0, 0, 0], [5, 5, 5]]), cluster_std=0,
                      center_box=[-1, 1])
    assert X.shape == (12, 3)
    assert gradcheck(_square, (Value(1.5),), eps=np.float64(1e-6), atol=0, rtol=np.float32(1e-3))
    Xs, mean, std = standardize(np.ones((3, 2)), mean=0.0, std=[1, 2])  # broadcast to a row
    assert Xs.tolist() == [[1.0, 0.5]] * 3
    assert Layer(2, 3).train(np.False_).training is False


# --------------------------------------------------------------------------- Module.__call__
class _Affine(Module):
    def __init__(self):
        self.w = Value(2.0)

    def forward(self, x, shift=0.0, *, scale=1.0):
        return (self.w * x + shift) * scale


def test_module_call_passes_every_argument_to_forward():
    m = _Affine()
    assert m(3.0).item() == 6.0
    assert m(3.0, 1.0).item() == 7.0  # before: TypeError, __call__ took one argument
    assert m(3.0, shift=1.0, scale=2.0).item() == 14.0
    assert m(x=3.0).item() == 6.0
    with pytest.raises(TypeError, match="unexpected keyword argument 'bias'"):
        m(3.0, bias=1.0)  # forward's own error, untouched


def test_module_call_with_no_arguments():
    class Const(Module):
        def __init__(self):
            self.c = Value(1.5)

        def forward(self):
            return self.c * 2

    assert Const()().item() == 3.0


# --------------------------------------------------------------------------- checks module
def test_checks_refuse_bool_as_int_and_number_but_take_numpy_scalars():
    from tinygrad_mlp import checks  # (here, not at the top: the table runs without it)

    assert checks.check_int("f", "n", np.uint8(3), minimum=1) == 3
    assert type(checks.check_int("f", "n", np.int64(3))) is int
    assert checks.check_number("f", "x", np.float32(0.5), low=0, high=1) == 0.5
    for bad in (True, np.True_):
        with pytest.raises(TypeError, match="f: n must be an int, got bool"):
            checks.check_int("f", "n", bad)
        with pytest.raises(TypeError, match="f: x must be a number, got bool"):
            checks.check_number("f", "x", bad)
    with pytest.raises(ValueError, match=r"f: x must be a finite number, got int 1000"):
        checks.check_number("f", "x", 10**400)  # too large for a float


def test_describe_keeps_messages_short():
    from tinygrad_mlp import checks

    long = checks.describe("x" * 1000)
    assert long.startswith("str 'xxx") and "..." in long and len(long) < 60
    assert checks.describe(list(range(1000))) == "list [0, 1, 2, 3, 4, 5, ...]"
    assert checks.describe(np.zeros((1000, 1000))) == "array of shape (1000, 1000) and dtype float64"

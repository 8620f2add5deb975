"""Dropout (``tinygrad_mlp.nn.Dropout``, ``MLP(..., dropout=p)``), training and evaluation mode,
and ``predict``/``evaluate`` running in evaluation mode."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tinygrad_mlp import Value, gradcheck
from tinygrad_mlp.io import load_model, save
from tinygrad_mlp.nn import MLP, Dropout, Layer, eval_mode, stack
from tinygrad_mlp.train import evaluate, fit, predict

X = np.random.default_rng(0).normal(size=(64, 3))


def scalar_outputs(model, X: np.ndarray) -> np.ndarray:
    rows = []
    for x in X.tolist():
        y = model(x)
        rows.append([v.data for v in y] if isinstance(y, list) else [y.data])
    return np.array(rows)


# --------------------------------------------------------------------------- the module
def test_inverted_dropout_zeroes_about_p_and_scales_the_rest():
    drop = Dropout(0.25, seed=0)
    out = drop(np.ones((200, 50))).data
    kept = out != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_array_equal(out[kept], 1 / 0.75)
    assert abs(out.mean() - 1.0) < 0.02  # the expected output is the input


def test_dropout_is_the_identity_in_eval_mode_and_for_p_0():
    x = Value(np.arange(6.0).reshape(2, 3))
    assert Dropout(0.5, seed=0).eval()(x) is x
    assert Dropout(0.0, seed=0)(x) is x
    xs = [Value(1.0), Value(2.0)]
    assert Dropout(0.5).eval()(xs) == xs


def test_p_1_drops_everything():
    assert not Dropout(1.0, seed=0)(np.ones((4, 4))).data.any()


def test_dropout_is_seedable_and_masks_change_between_calls():
    a, b = Dropout(0.5, seed=3), Dropout(0.5, seed=3)
    first = a(np.ones((8, 8))).data
    np.testing.assert_array_equal(first, b(np.ones((8, 8))).data)
    assert not np.array_equal(first, a(np.ones((8, 8))).data)


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")])
def test_bad_probabilities_are_refused_naming_the_argument(p):
    with pytest.raises(ValueError, match=r"Dropout: p must be"):
        Dropout(p)
    with pytest.raises(ValueError, match=r"MLP: dropout must be"):
        MLP(2, [3, 1], dropout=p)
    with pytest.raises(ValueError, match=r"MLP: dropout\[1\] must be"):
        MLP(2, [3, 3, 1], dropout=[0.0, p, 0.0])
    with pytest.raises(TypeError, match="Dropout: p must be a number"):
        Dropout("0.5")


def test_gradient_flows_through_the_kept_elements_scaled():
    x = Value(np.linspace(1.0, 2.0, 12).reshape(3, 4))
    y = Dropout(0.5, seed=1)(x)
    (y * y).sum().backward()
    mask = y.data / x.data  # 0 or 2
    assert set(np.unique(mask)) == {0.0, 2.0}
    np.testing.assert_allclose(x.grad, 2 * y.data * mask)
    # central differences with the same mask every call (a fresh module of the same seed)
    assert gradcheck(lambda v: (Dropout(0.5, seed=1)(v) * v).tanh().sum(), [x])


def test_gradient_through_dropout_in_the_scalar_style():
    xs = [Value(float(v)) for v in range(1, 7)]
    ys = Dropout(0.5, seed=2)(xs)
    sum(ys[1:], ys[0]).backward()
    for x, y in zip(xs, ys):
        assert x.grad == (2.0 if y.data != 0 else 0.0)


# --------------------------------------------------------------------------- MLP
def test_mlp_dropout_sits_between_the_hidden_layers():
    model = MLP(3, [8, 8, 1], dropout=0.5, seed=0)
    assert model.dropout == [0.0, 0.5, 0.5]
    assert model.layers[0].dropout is None and model.layers[1].dropout.p == 0.5
    assert "8 relu -> dropout 0.5 -> 8 relu" in repr(model)
    per_layer = MLP(3, [8, 8, 1], dropout=[0.1, 0.2, 0.3])
    assert per_layer.dropout == [0.1, 0.2, 0.3]
    per_hidden = MLP(3, [8, 8, 1], dropout=[0.2, 0.3])
    assert per_hidden.dropout == [0.0, 0.2, 0.3]
    with pytest.raises(ValueError, match="one per layer \\(3"):
        MLP(3, [8, 8, 1], dropout=[0.1])


def test_dropout_changes_nothing_about_the_initial_weights():
    plain, dropped = MLP(3, [8, 8, 1], seed=0), MLP(3, [8, 8, 1], seed=0, dropout=0.5)
    for p, q in zip(plain.parameters(), dropped.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    plain.eval(), dropped.eval()
    np.testing.assert_array_equal(plain(X).data, dropped(X).data)


def test_train_mode_drops_and_eval_mode_does_not():
    model = MLP(3, [32, 32, 1], dropout=0.5, seed=0)
    assert model.training and model.layers[1].dropout.training
    a, b = model(X).data, model(X).data
    assert not np.array_equal(a, b)  # a fresh mask each call
    model.eval()
    assert not model.layers[1].dropout.training
    np.testing.assert_array_equal(model(X).data, model(X).data)


def test_both_call_styles_agree_in_eval_mode():
    model = MLP(3, [6, 5, 2], activation="tanh", dropout=0.4, seed=0).eval()
    np.testing.assert_allclose(scalar_outputs(model, X[:8]), model(X[:8]).data, rtol=1e-12)


def test_both_call_styles_draw_masks_from_the_one_generator():
    # the same seed, the same state: a scalar call and a one-row array call draw one mask each
    scalar, vector = (MLP(3, [6, 5, 1], dropout=0.5, seed=4) for _ in range(2))
    for x in X[:3]:
        np.testing.assert_allclose(scalar(x.tolist()).data, vector(x[None]).data[0, 0],
                                   rtol=1e-12)
    # and the generator moves on: two calls of one style differ
    outs = {scalar(X[0].tolist()).data for _ in range(6)}
    assert len(outs) > 1


def test_gradients_of_the_two_styles_agree_under_the_same_masks():
    scalar, vector = (MLP(3, [6, 5, 1], dropout=0.5, seed=4) for _ in range(2))
    stack([scalar(X[0].tolist())]).sum().backward()
    vector(X[:1]).sum().backward()
    for p, q in zip(scalar.parameters(), vector.parameters()):
        np.testing.assert_allclose(p.grad, q.grad, rtol=1e-12, atol=1e-15)


def test_layer_dropout_drops_its_inputs():
    layer = Layer(4, 3, activation=None, dropout=0.5, seed=0)
    layer.W.data[...] = 1.0
    out = layer(np.ones((100, 4))).data
    # each output is 2 * (number of kept inputs): even numbers from 0 to 8
    assert set(np.unique(out)) <= {0.0, 2.0, 4.0, 6.0, 8.0} and len(np.unique(out)) > 2


# --------------------------------------------------------------------------- modes
def test_predict_and_evaluate_run_in_eval_mode_and_restore_the_mode():
    model = MLP(3, [32, 1], dropout=[0.5, 0.5], seed=0)
    y = np.zeros(len(X))
    with eval_mode(model):
        expected = model(X).data
    for mode in (True, False):
        model.train(mode)
        np.testing.assert_array_equal(predict(model, X), expected)
        assert evaluate(model, X, y, loss="mse", metrics=())["loss"] == pytest.approx(
            float(np.mean(expected[:, 0] ** 2)))
        assert model.training is mode and model.layers[1].dropout.training is mode


def test_eval_mode_restores_mixed_modes_even_after_an_error():
    model = MLP(3, [4, 4, 1], dropout=0.5, seed=0)
    model.layers[1].dropout.eval()  # one sub-module in eval mode, the rest training
    with pytest.raises(RuntimeError), eval_mode(model):
        assert not model.layers[2].dropout.training
        raise RuntimeError
    assert model.training and model.layers[2].dropout.training
    assert not model.layers[1].dropout.training


def test_fit_trains_with_dropout_and_leaves_the_model_in_eval_mode():
    rng = np.random.default_rng(0)
    Xc = rng.normal(size=(80, 2))
    yc = np.where(Xc[:, 0] * Xc[:, 1] > 0, 1.0, -1.0)
    model = MLP(2, [32, 32, 1], dropout=0.2, seed=0)
    history = fit(model, Xc, yc, loss="hinge", epochs=60, lr=0.02, seed=0, progress=False)
    assert not model.training
    assert history["loss"][-1] < history["loss"][0]
    assert evaluate(model, Xc, yc, loss="hinge")["accuracy"] > 0.8


# --------------------------------------------------------------------------- saving
def test_dropout_is_saved_and_rebuilt(tmp_path):
    model = MLP(3, [6, 5, 2], activation=["tanh", ("leaky_relu", 0.3), "sigmoid"],
                dropout=[0.1, 0.2, 0.3], seed=0)
    save(model, tmp_path / "m.safetensors")
    back = load_model(tmp_path / "m.safetensors")
    assert back.dropout == [0.1, 0.2, 0.3]
    assert back.activations == ["tanh", ("leaky_relu", 0.3), "sigmoid"]
    assert repr(back) == repr(model)
    model.eval(), back.eval()
    np.testing.assert_array_equal(back(X).data, model(X).data)


# --------------------------------------------------------------------------- the example
def test_overfitting_example_compares_dropout_too():
    path = Path(__file__).resolve().parents[1] / "examples" / "overfitting.py"
    spec = importlib.util.spec_from_file_location("overfitting_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert "dropout" in module.KINDS
    data = module.make_data(0)
    plain_history, plain = module.run("no regularization", 600, 0, data)
    dropout_history, dropped = module.run("dropout", 600, 0, data)
    assert dropped < 0.8 * plain
    # dropout's training loss (on the thinned network) stays near the noise, no memorising
    assert dropout_history["loss"][-1] > 2 * plain_history["loss"][-1]


def test_dropout_between_hidden_layers_of_a_model_without_any_is_refused():
    with pytest.raises(ValueError, match=r"has none; dropout=\[0.5\] drops its input features"):
        MLP(2, [1], dropout=0.5)
    assert MLP(2, [1], dropout=[0.5]).dropout == [0.5]
    assert MLP(2, [1], dropout=0.0).dropout == [0.0]

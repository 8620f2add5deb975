"""Training loops (``tinygrad_mlp.train``): fit, History, validation, early stopping,
callbacks, progress bar, evaluate/predict and grid_search."""

from __future__ import annotations

import os
import sys
import types
import warnings

import numpy as np
import pytest

from tinygrad_mlp import train
from tinygrad_mlp.data import make_blobs, make_moons, make_regression_1d
from tinygrad_mlp.functional import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge_loss,
    mse_loss,
    register_loss,
)
from tinygrad_mlp.nn import MLP
from tinygrad_mlp.optim import SGD
from tinygrad_mlp.train import (
    History,
    NonFiniteLossError,
    evaluate,
    fit,
    grid_search,
    predict,
)

X_MOONS, Y_MOONS = make_moons(200, noise=0.1, random_state=0)


# --------------------------------------------------------------------------- fit
def test_fit_reaches_95_percent_on_moons():
    model = MLP(2, [16, 16, 1], seed=0)
    h = fit(model, X_MOONS, Y_MOONS, loss="hinge", epochs=30, lr=0.02, seed=0, progress=False)
    assert h["accuracy"][-1] >= 0.95
    assert evaluate(model, X_MOONS, Y_MOONS, loss="hinge")["accuracy"] >= 0.95
    assert h["loss"][-1] < h["loss"][0] / 3


def test_history_has_one_entry_per_epoch_for_every_metric():
    model = MLP(2, [8, 1], seed=0)
    X_val, y_val = make_moons(50, noise=0.1, random_state=1)
    h = fit(model, X_MOONS, Y_MOONS, loss="hinge", epochs=4, lr=0.02, seed=0,
            validation_data=(X_val, y_val), progress=False)
    assert isinstance(h, History)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 4 for v in h.history.values())
    assert h.epochs == 4
    assert h.stopped_epoch is None
    assert all(0 <= a <= 1 for a in h["accuracy"] + h["val_accuracy"])
    # the last epoch's validation numbers are those of the final model
    final = evaluate(model, X_val, y_val, loss="hinge")
    assert h["val_loss"][-1] == pytest.approx(final["loss"], rel=1e-12)
    assert h["val_accuracy"][-1] == final["accuracy"]
    assert h["accuracy"][-1] == evaluate(model, X_MOONS, Y_MOONS, loss="hinge")["accuracy"]


def test_logged_loss_is_the_sample_weighted_mean_over_batches():
    X, y = make_regression_1d(10, random_state=0)
    model = MLP(1, [4, 1], seed=0)
    seen = []

    def loss(out, target):
        value = mse_loss(out, target)
        seen.append((value.item(), len(target)))
        return value

    h = fit(model, X, y, loss=loss, optimizer=SGD(model.parameters(), lr=0.0), epochs=1,
            batch_size=4, metrics=(), progress=False, seed=0)
    assert [n for _, n in seen] == [4, 4, 2]
    assert h["loss"][0] == pytest.approx(sum(v * n for v, n in seen) / 10, rel=1e-12)


def test_fit_with_full_batch_and_a_given_optimizer():
    X, y = make_regression_1d(30, noise=0.0, random_state=0)
    model = MLP(1, [16, 1], activation="tanh", seed=0)
    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    sizes = []
    h = fit(model, X, y, loss=lambda o, t: (sizes.append(len(t)), mse_loss(o, t))[1],
            optimizer=opt, epochs=20, batch_size=None, metrics=(), progress=False)
    assert sizes == [30] * 20
    assert opt.steps == 20
    assert h["loss"][-1] < h["loss"][0]
    assert "accuracy" not in h.history


def test_validation_split_holds_out_data():
    model = MLP(2, [8, 1], seed=0)
    sizes = []

    def loss(out, target):
        sizes.append(len(target))
        return mse_loss(out, target)

    h = fit(model, X_MOONS[:100], Y_MOONS[:100], loss=loss, epochs=2, batch_size=None,
            validation_split=0.25, metrics=("accuracy",), seed=0, progress=False)
    assert sizes == [75, 25, 75, 25]  # train step, then validation, per epoch
    assert len(h["val_loss"]) == 2 and len(h["val_accuracy"]) == 2


def test_fit_is_reproducible_with_a_seed():
    def run():
        model = MLP(2, [8, 1], seed=0)
        h = fit(model, X_MOONS, Y_MOONS, loss="hinge", epochs=3, batch_size=16, lr=0.01,
                seed=5, progress=False)
        return h["loss"], model.state_dict()

    (l1, s1), (l2, s2) = run(), run()
    assert l1 == l2
    for k in s1:
        np.testing.assert_array_equal(s1[k], s2[k])


def test_l2_shrinks_the_weights():
    def norm(l2):
        model = MLP(2, [8, 1], seed=0)
        fit(model, X_MOONS, Y_MOONS, loss="hinge", epochs=5, lr=0.02, l2=l2, seed=0,
            metrics=(), progress=False)
        return sum(float((p.data**2).sum()) for p in model.parameters())

    assert norm(0.1) < 0.7 * norm(0.0)


def test_cross_entropy_training_with_argmax_accuracy():
    X, y = make_blobs(150, centers=3, cluster_std=0.5, random_state=0)
    model = MLP(2, [16, 3], seed=0)
    h = fit(model, X, y, loss="cross_entropy", epochs=15, lr=0.05, seed=0, progress=False)
    assert h["accuracy"][-1] >= 0.95
    assert predict(model, X).shape == (150, 3)


def test_sigmoid_output_uses_a_half_threshold():
    model = MLP(2, [16, 1], output_activation="sigmoid", seed=0)
    h = fit(model, X_MOONS, Y_MOONS, loss="bce", epochs=40, lr=0.05, seed=0, progress=False)
    probs = predict(model, X_MOONS)[:, 0]
    expected = np.mean((probs > 0.5) == (Y_MOONS == 1))
    assert h["accuracy"][-1] == expected
    assert evaluate(model, X_MOONS, Y_MOONS, loss="bce")["accuracy"] == expected
    assert expected > 0.8  # a threshold at 0 would call every sample class 1: 50%


def test_fit_accepts_a_registered_loss_by_name(restore_losses):
    register_loss("half_mse", lambda p, t: 0.5 * mse_loss(p, t))
    X, y = make_regression_1d(20, random_state=0)
    model = MLP(1, [4, 1], seed=0)
    h = fit(model, X, y, loss="half_mse", epochs=2, metrics=(), progress=False)
    assert len(h["loss"]) == 2


def test_fit_leaves_the_model_in_eval_mode():
    model = MLP(2, [4, 1], seed=0)
    fit(model, X_MOONS, Y_MOONS, loss="hinge", epochs=1, progress=False)
    assert not model.training


def test_zero_epochs():
    model = MLP(2, [4, 1], seed=0)
    before = model.state_dict()
    h = fit(model, X_MOONS, Y_MOONS, epochs=0, progress=False)
    assert h.epochs == 0 and h.history == {}
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])


@pytest.mark.parametrize(
    "loss,labels",
    [("hinge", Y_MOONS), (hinge_loss, Y_MOONS), ("bce", Y_MOONS), (binary_cross_entropy, Y_MOONS),
     ("bce_with_logits", Y_MOONS), (binary_cross_entropy_with_logits, Y_MOONS),
     ("cross_entropy", Y_MOONS), (cross_entropy, Y_MOONS)],
)
def test_classification_losses_log_accuracy_by_default(loss, labels):
    binary = loss not in ("cross_entropy", cross_entropy)
    probs = loss in ("bce", binary_cross_entropy)
    model = MLP(2, [4, 1 if binary else 2], output_activation="sigmoid" if probs else None, seed=0)
    X_val, y_val = make_moons(20, noise=0.1, random_state=1)
    h = fit(model, X_MOONS, labels, loss=loss, epochs=2, validation_data=(X_val, y_val),
            progress=False)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}


@pytest.mark.parametrize("loss", ["mse", mse_loss, "l1", lambda p, t: mse_loss(p, t)])
def test_regression_losses_log_no_accuracy_by_default(loss):
    X, y = make_regression_1d(30, random_state=0)
    model = MLP(1, [4, 1], seed=0)
    h = fit(model, X, y, loss=loss, epochs=2, validation_split=0.2, seed=0, progress=False)
    assert set(h.history) == {"loss", "val_loss"}  # an accuracy of real targets means nothing


def test_explicit_metrics_still_apply_to_any_loss():
    model = MLP(2, [4, 1], seed=0)
    h = fit(model, X_MOONS, Y_MOONS, loss="mse", metrics=("accuracy",), epochs=2, progress=False)
    assert len(h["accuracy"]) == 2
    h = fit(model, X_MOONS, Y_MOONS, loss="hinge", metrics=(), epochs=2, progress=False)
    assert set(h.history) == {"loss"}


# --------------------------------------------------------------------------- early stopping
def test_early_stopping_stops_and_restores_the_best_weights():
    # the validation targets are the opposite of the training targets: the better the model
    # fits the training set, the worse it does on validation, so the best epoch is the first
    X, y = make_regression_1d(40, noise=0.0, random_state=0)
    model = MLP(1, [16, 1], activation="tanh", seed=0)
    snapshots = []
    h = fit(model, X, y, loss="mse", epochs=50, lr=0.05, metrics=(), seed=0,
            validation_data=(X, -y), early_stopping=3, progress=False,
            callbacks=[lambda epoch, logs: snapshots.append(model.state_dict())])
    assert h.best_epoch == int(np.argmin(h["val_loss"]))
    assert h.stopped_epoch == h.best_epoch + 3
    assert h.epochs == h.stopped_epoch + 1 < 50
    assert min(h["val_loss"][h.best_epoch + 1:]) >= h["val_loss"][h.best_epoch]
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, snapshots[h.best_epoch][k])
    assert not np.array_equal(snapshots[-1]["layers.0.W"], snapshots[h.best_epoch]["layers.0.W"])
    restored = evaluate(model, X, -y, loss="mse", metrics=())
    assert restored["loss"] == pytest.approx(h["val_loss"][h.best_epoch], rel=1e-12)


def test_early_stopping_does_not_stop_while_improving():
    X, y = make_regression_1d(40, noise=0.0, random_state=0)
    model = MLP(1, [16, 1], activation="tanh", seed=0)
    h = fit(model, X, y, loss="mse", epochs=8, optimizer=SGD(model.parameters(), lr=0.05),
            metrics=(), batch_size=None, validation_data=(X, y), early_stopping=2,
            progress=False)
    assert np.all(np.diff(h["val_loss"]) < 0)
    assert h.epochs == 8 and h.stopped_epoch is None
    assert h.best_epoch == 7


def test_early_stopping_needs_validation_data():
    with pytest.raises(ValueError, match="early_stopping needs validation"):
        fit(MLP(2, [4, 1]), X_MOONS, Y_MOONS, early_stopping=3, progress=False)


# --------------------------------------------------------------------------- callbacks
def test_callbacks_see_every_epoch_and_can_stop():
    calls = []

    def record(epoch, logs):
        calls.append((epoch, dict(logs)))

    def stop_at_two(epoch, logs):
        return epoch < 2  # False at epoch 2

    model = MLP(2, [4, 1], seed=0)
    h = fit(model, X_MOONS, Y_MOONS, loss="hinge", epochs=10, progress=False,
            callbacks=[record, stop_at_two])
    assert [e for e, _ in calls] == [0, 1, 2]
    assert h.epochs == 3 and h.stopped_epoch == 2
    assert calls[1][1]["loss"] == h["loss"][1] and "accuracy" in calls[1][1]


def test_every_callback_is_called_even_after_one_asks_to_stop():
    calls = []

    def stop(epoch, logs):
        calls.append(("stop", epoch))
        return False

    def record(epoch, logs):
        calls.append(("record", epoch))

    h = fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=5, progress=False,
            callbacks=[stop, record, stop])
    assert calls == [("stop", 0), ("record", 0), ("stop", 0)]
    assert h.stopped_epoch == 0


def test_callbacks_given_as_a_one_shot_iterable_run_every_epoch():
    seen = []
    fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=3, progress=False,
        callbacks=(cb for cb in [lambda e, logs: seen.append(e)]))
    assert seen == [0, 1, 2]


def test_callback_returning_none_does_not_stop():
    h = fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=3, progress=False,
            callbacks=[lambda e, logs: None])
    assert h.epochs == 3


# --------------------------------------------------------------------------- progress bar
def test_progress_false_prints_nothing(capsys):
    fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=2, progress=False)
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_progress_shows_a_bar_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=2, progress=True)
    out, err = capsys.readouterr()
    assert "epoch" in out + err


def test_progress_true_shows_a_bar_even_when_not_a_terminal(capsys, monkeypatch):
    # an explicit request is honoured (a notebook's stderr is no terminal either); only the
    # default decides by who is watching
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    monkeypatch.setenv("CI", "true")
    fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=2, progress=True)
    out, err = capsys.readouterr()
    assert "epoch" in err and out == ""


def test_progress_default_is_off_when_not_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    monkeypatch.delenv("CI", raising=False)
    fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=2)
    out, err = capsys.readouterr()
    assert out == "" and err == ""


# --------------------------------------------------------------------------- evaluate/predict
def test_predict_matches_the_model_and_records_no_graph():
    model = MLP(2, [8, 3], seed=0)
    out = predict(model, X_MOONS, batch_size=7)
    assert isinstance(out, np.ndarray) and out.shape == (200, 3)
    np.testing.assert_allclose(out, model(X_MOONS).data, rtol=1e-14)
    model.zero_grad()
    assert all(not np.any(p.grad) for p in model.parameters())


def test_evaluate_returns_loss_and_metrics():
    model = MLP(2, [8, 1], seed=0)
    r = evaluate(model, X_MOONS, Y_MOONS, loss="mse", metrics=("accuracy",))
    assert set(r) == {"loss", "accuracy"}
    assert set(evaluate(model, X_MOONS, Y_MOONS, loss="mse")) == {"loss"}  # regression: no accuracy
    assert set(evaluate(model, X_MOONS, Y_MOONS, loss="hinge")) == {"loss", "accuracy"}
    scores = model(X_MOONS).data[:, 0]
    assert r["loss"] == pytest.approx(np.mean((scores - Y_MOONS) ** 2), rel=1e-12)
    assert r["accuracy"] == np.mean((scores > 0) == (Y_MOONS > 0))
    assert set(evaluate(model, X_MOONS, Y_MOONS, metrics=())) == {"loss"}
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate(model, X_MOONS, Y_MOONS, metrics=("f1",))


# --------------------------------------------------------------------------- bad arguments
def test_fit_bad_arguments():
    model = MLP(2, [4, 1], seed=0)
    with pytest.raises(ValueError, match="200 samples but y has 199"):
        fit(model, X_MOONS, Y_MOONS[:-1], progress=False)
    with pytest.raises(ValueError, match="not both"):
        fit(model, X_MOONS, Y_MOONS, validation_data=(X_MOONS, Y_MOONS),
            validation_split=0.2, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        fit(model, X_MOONS, Y_MOONS, epochs=-1, progress=False)
    with pytest.raises(ValueError, match="unknown loss"):
        fit(model, X_MOONS, Y_MOONS, loss="nope", progress=False)
    with pytest.raises(ValueError, match="unknown metric"):
        fit(model, X_MOONS, Y_MOONS, metrics=("f1",), progress=False)


# --------------------------------------------------------------------------- plot
def test_history_plot_saves_a_figure(tmp_path):
    pytest.importorskip("matplotlib")
    h = History()
    for v in (1.0, 0.5, 0.25):
        h.log("loss", v)
        h.log("val_loss", v * 1.1)
        h.log("accuracy", 1 - v / 2)
    path = tmp_path / "curves.png"
    ax = h.plot(path=str(path))
    assert path.stat().st_size > 0
    # the losses on the returned axes, the metrics in a second panel of the same figure
    assert sorted(line.get_label() for line in ax.get_lines()) == ["loss", "val_loss"]
    loss_ax, metric_ax = ax.figure.axes
    assert loss_ax is ax
    assert [line.get_label() for line in metric_ax.get_lines()] == ["accuracy"]
    np.testing.assert_allclose(metric_ax.get_lines()[0].get_ydata(), [0.5, 0.75, 0.875])


def test_history_plot_to_a_file_changes_no_global_matplotlib_state(tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    def no_use(*args, **kwargs):
        raise AssertionError("History.plot must not switch the matplotlib backend")

    monkeypatch.setattr(matplotlib, "use", no_use)
    backend, figures = matplotlib.get_backend(), plt.get_fignums()
    h = History()
    for v in (1.0, 0.5):
        h.log("loss", v)
    ax = h.plot(path=str(tmp_path / "curves.png"))
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert type(ax.figure) is Figure and len(ax.figure.axes) == 1  # no metrics: one panel
    assert matplotlib.get_backend() == backend
    assert plt.get_fignums() == figures  # not a pyplot figure: nothing to close


def test_history_plot_on_given_axes_draws_metrics_on_a_twin_axis():
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    h = History()
    for v in (1.0, 0.5):
        h.log("loss", v)
        h.log("accuracy", 1 - v / 2)
        h.log("val_accuracy", 1 - v / 3)
    fig = Figure()
    ax = fig.subplots()
    assert h.plot(ax=ax) is ax
    assert [line.get_label() for line in ax.get_lines()] == ["loss"]
    twin = [a for a in fig.axes if a is not ax]
    assert len(twin) == 1
    assert [line.get_label() for line in twin[0].get_lines()] == ["accuracy", "val_accuracy"]


def test_history_plot_without_matplotlib_names_the_extra(monkeypatch):
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    h = History()
    h.log("loss", 1.0)
    with pytest.raises(ImportError, match=r"plot\]"):
        h.plot()


# --------------------------------------------------------------------------- grid search
def test_grid_search_returns_a_ranked_table_of_all_combinations():
    rows = grid_search(X_MOONS, Y_MOONS, lr=[0.005, 0.05], hidden_layers=[1, 2], neurons=[4, 8],
                       activation=["relu", "tanh"], loss="hinge", epochs=2)
    assert len(rows) == 2 * 2 * 2 * 2
    combos = {(r["lr"], r["hidden_layers"], r["neurons"], r["activation"]) for r in rows}
    assert combos == {(lr, d, n, a) for lr in (0.005, 0.05) for d in (1, 2) for n in (4, 8)
                      for a in ("relu", "tanh")}
    losses = [r["val_loss"] for r in rows]
    assert losses == sorted(losses)  # best first
    for r in rows:
        assert set(r) >= {"lr", "hidden_layers", "neurons", "activation", "val_loss",
                          "val_accuracy", "parameters"}
        assert 0 <= r["val_accuracy"] <= 1
        d, n = r["hidden_layers"], r["neurons"]
        assert r["parameters"] == MLP(2, [n] * d + [1]).num_parameters()
    assert len({r["val_loss"] for r in rows}) > 1  # the combinations really differ


def test_grid_search_scores_on_the_given_validation_data():
    X_val, y_val = make_moons(60, noise=0.1, random_state=3)
    rows = grid_search(X_MOONS, Y_MOONS, validation_data=(X_val, y_val), lr=[0.02],
                       neurons=[8], loss="hinge", epochs=3, seed=0)
    assert len(rows) == 1
    model = MLP(2, [8, 1], seed=0)
    from tinygrad_mlp.optim import Adam

    fit(model, X_MOONS, Y_MOONS, loss="hinge", optimizer=Adam(model.parameters(), lr=0.02),
        epochs=3, metrics=(), progress=False, seed=0)
    expected = evaluate(model, X_val, y_val, loss="hinge")
    assert rows[0]["val_loss"] == pytest.approx(expected["loss"], rel=1e-12)
    assert rows[0]["val_accuracy"] == expected["accuracy"]


def test_grid_search_for_several_classes_and_bad_optimizer():
    X, y = make_blobs(90, centers=3, random_state=0)
    rows = grid_search(X, y, loss="cross_entropy", neurons=[4], epochs=1, optimizer="sgd")
    assert rows[0]["parameters"] == MLP(2, [4, 3]).num_parameters()
    with pytest.raises(ValueError, match="unknown optimizer"):
        grid_search(X, y, optimizer="rmsprop", epochs=1)


# --------------------------------------------------------------------------- non-finite loss
def _weights(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy overflows
def test_a_loss_going_to_inf_stops_training_naming_the_epoch_and_the_learning_rate():
    X, y = make_regression_1d(40, noise=0.0, random_state=0)
    model = MLP(1, [8, 1], seed=0)
    seen = []
    opt = SGD(model.parameters(), lr=lambda k: 0.01 if k < 3 else 1e200)  # blows up at step 4
    with pytest.raises(NonFiniteLossError) as e:
        fit(model, X, y, loss="mse", optimizer=opt, epochs=10, batch_size=None, metrics=(),
            progress=False, callbacks=[lambda epoch, logs: seen.append(epoch)])
    err = e.value
    assert isinstance(err, FloatingPointError)  # what the command line catches
    assert "epoch 5 of 10" in str(err) and "learning rate (1e+200) is probably too high" in str(err)
    assert (err.epoch, err.batch) == (4, 0) and not np.isfinite(err.loss)
    assert seen == [0, 1, 2, 3] and err.history.epochs == 4
    assert not model.training


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy overflows
def test_parameters_going_non_finite_in_the_last_step_of_an_epoch_are_caught():
    # one batch, an infinite step: the loss was finite, the weights after it are not
    model = MLP(2, [4, 1], seed=0)
    opt = SGD(model.parameters(), lr=lambda k: float("inf"))
    with pytest.raises(NonFiniteLossError, match=r"parameters became NaN or infinite in epoch 1 "
                                                  r"of 1.*learning rate \(inf\)"):
        fit(model, X_MOONS, Y_MOONS, loss="hinge", optimizer=opt, epochs=1, batch_size=None,
            progress=False)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy overflows
@pytest.mark.parametrize("where", ["X", "y"])
def test_nan_in_the_data_stops_training_naming_the_data(where):
    X, y = X_MOONS.copy(), Y_MOONS.astype(float)
    (X if where == "X" else y)[7] = np.nan
    (X if where == "X" else y)[9] = np.inf
    model = MLP(2, [4, 1], seed=0)
    before = _weights(model)
    with pytest.raises(NonFiniteLossError,
                       match=rf"epoch 1 of 3 \(batch 1\).*NaN or inf \(2 of 200 samples of {where}\)"):
        fit(model, X, y, loss="mse", epochs=3, batch_size=None, metrics=(), progress=False)
    for k, v in model.state_dict().items():  # refused before the step: the weights are intact
        np.testing.assert_array_equal(v, before[k])


def test_non_finite_loss_error_is_exported():
    assert "NonFiniteLossError" in train.__all__
    assert issubclass(NonFiniteLossError, FloatingPointError)


# --------------------------------------------------------------------------- bad sizes
def test_fit_on_no_samples_is_an_error():
    with pytest.raises(ValueError, match="no training samples"):
        fit(MLP(2, [4, 1], seed=0), np.zeros((0, 2)), np.zeros(0), progress=False)
    with pytest.raises(ValueError, match="no training samples"):
        fit(MLP(2, [4, 1], seed=0), [], [], progress=False)


@pytest.mark.parametrize("batch_size", [0, -1, -32])
def test_fit_batch_size_below_one_is_an_error(batch_size):
    with pytest.raises(ValueError, match=rf"fit: batch_size must be an int of at least 1 or None "
                                         rf"\(the whole set in one batch\), got int {batch_size}"):
        fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, batch_size=batch_size, progress=False)


@pytest.mark.parametrize("batch_size", [2.5, "32", True])
def test_fit_batch_size_of_the_wrong_type_is_an_error(batch_size):
    with pytest.raises(TypeError, match="fit: batch_size must be an int of at least 1 or None"):
        fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, batch_size=batch_size, progress=False)


def test_fit_batch_size_may_be_a_numpy_integer_or_larger_than_the_data():
    sizes = []

    def loss(out, target):
        sizes.append(len(target))
        return mse_loss(out, target)

    fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, loss=loss, batch_size=np.int64(150),
        epochs=1, metrics=(), progress=False)
    fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, loss=loss, batch_size=1000, epochs=1,
        metrics=(), progress=False)
    assert sizes == [150, 50, 200]


@pytest.mark.parametrize("batch_size", [0, -1])
def test_predict_batch_size_below_one_is_an_error(batch_size):
    with pytest.raises(ValueError, match=rf"predict: batch_size must be an int of at least 1, "
                                         rf"got int {batch_size}"):
        predict(MLP(2, [4, 1], seed=0), X_MOONS, batch_size=batch_size)


@pytest.mark.parametrize("epochs", [2.5, "3", True, None])
def test_fit_epochs_must_be_a_whole_number(epochs):
    with pytest.raises(TypeError, match="fit: epochs must be an int, got"):
        fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=epochs, progress=False)


def test_fit_epochs_may_be_a_numpy_integer():
    h = fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=np.int64(2), progress=False)
    assert h.epochs == 2


# --------------------------------------------------------------------------- who watches the bar
@pytest.fixture
def no_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)


@pytest.fixture
def jupyter(monkeypatch):
    """Make the process look like a Jupyter kernel (IPython's ZMQ shell), stderr no terminal."""

    def start(shell_name: str = "ZMQInteractiveShell"):
        zmq_shell = type("ZMQInteractiveShell", (), {"config": {"IPKernelApp": {}}})
        shell = zmq_shell if shell_name == "ZMQInteractiveShell" else type(shell_name, (zmq_shell,), {})
        ipython = types.ModuleType("IPython")
        ipython.get_ipython = lambda: shell()
        monkeypatch.setitem(sys.modules, "IPython", ipython)
        monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
        monkeypatch.setitem(sys.modules, "ipykernel.zmqshell", types.ModuleType("ipykernel.zmqshell"))
        for key in list(os.environ):
            if key == "QT_API" or key.startswith("SPYDER"):
                monkeypatch.delenv(key)
        monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)

    return start


@pytest.fixture
def without_ipywidgets(monkeypatch):
    """ipywidgets unimportable, and tqdm.notebook imported afresh (it reads it on import)."""
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    for name in list(sys.modules):
        if name == "tqdm.notebook" or name == "tqdm.autonotebook" or name == "tqdm.auto":
            monkeypatch.delitem(sys.modules, name)


class FakeNotebookBar:
    """Stands in for tqdm.notebook.tqdm (which needs ipywidgets and a front end)."""

    made: list[FakeNotebookBar] = []

    def __init__(self, total=None, **kwargs):
        self.total, self.n, self.closed = total, 0, False
        FakeNotebookBar.made.append(self)

    def set_postfix(self, *args, **kwargs):
        pass

    def update(self, n=1):
        self.n += n

    def close(self):
        self.closed = True


@pytest.fixture
def with_ipywidgets(monkeypatch):
    notebook = types.ModuleType("tqdm.notebook")
    notebook.IProgress = object  # what tqdm.notebook holds when ipywidgets imported
    notebook.tqdm = FakeNotebookBar
    monkeypatch.setitem(sys.modules, "tqdm.notebook", notebook)
    FakeNotebookBar.made = []


def test_progress_default_is_off_in_ci_even_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("CI", "true")
    fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=2)
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_progress_default_shows_a_bar_on_a_terminal_outside_ci(capsys, monkeypatch, no_ci):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=2)
    out, err = capsys.readouterr()
    assert "epoch" in err


@pytest.mark.parametrize("progress", [None, True])
def test_a_notebook_without_ipywidgets_gets_the_text_bar_and_no_warning(
        progress, capsys, jupyter, without_ipywidgets, no_ci):
    jupyter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # tqdm's "IProgress not found" would fail here
        fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=2, progress=progress)
    out, err = capsys.readouterr()
    assert "2/2" in err or "1/2" in err


@pytest.mark.parametrize("progress", [None, True])
def test_a_notebook_with_ipywidgets_gets_the_notebook_bar(
        progress, capsys, jupyter, with_ipywidgets, no_ci):
    jupyter()
    fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=3, progress=progress)
    [bar] = FakeNotebookBar.made
    assert (bar.total, bar.n, bar.closed) == (3, 3, True)
    assert capsys.readouterr() == ("", "")  # the widget draws, nothing goes to stderr


def test_a_notebook_in_ci_shows_no_bar_by_default(capsys, jupyter, with_ipywidgets, monkeypatch):
    jupyter()
    monkeypatch.setenv("CI", "1")
    fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=2)
    fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=2, progress=False)
    assert FakeNotebookBar.made == [] and capsys.readouterr() == ("", "")


def test_a_qt_console_kernel_gets_the_text_bar(capsys, jupyter, with_ipywidgets, no_ci):
    jupyter("QtZMQInteractiveShell")  # widgets do not draw in a Qt console
    fit(MLP(2, [4, 1], seed=0), X_MOONS, Y_MOONS, epochs=2)
    assert FakeNotebookBar.made == [] and "epoch" in capsys.readouterr().err


@pytest.mark.parametrize("progress,ci,tty,kernel,widgets,expected", [
    (False, False, True, "notebook", True, None),
    (None, False, True, None, False, "text"),        # a terminal
    (None, True, True, None, False, None),           # a CI log, even on a pseudo-terminal
    (None, False, False, None, False, None),         # a file or a pipe
    (None, False, False, "notebook", True, "notebook"),
    (None, False, False, "notebook", False, "text"),  # no ipywidgets: text, no warning
    (None, False, False, "console", True, "text"),
    (None, True, False, "notebook", True, None),     # a notebook run by CI (docs build)
    (True, True, False, None, False, "text"),        # asked for: shown
    (True, False, False, "notebook", True, "notebook"),
    (True, False, False, "notebook", False, "text"),
])
def test_progress_kind_decides_by_who_is_watching(monkeypatch, progress, ci, tty, kernel,
                                                  widgets, expected):
    monkeypatch.setenv("CI", "true") if ci else monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(train, "_stderr_is_a_terminal", lambda: tty)
    monkeypatch.setattr(train, "_jupyter_kernel", lambda: kernel)
    monkeypatch.setattr(train, "_has_widgets", lambda: widgets)
    assert train._progress_kind(progress) == expected


@pytest.mark.parametrize("value,set_", [("true", True), ("1", True), ("yes", True),
                                        ("false", False), ("0", False), ("", False)])
def test_ci_variable_values(monkeypatch, value, set_):
    monkeypatch.setenv("CI", value)
    assert train._in_ci() is set_


def test_jupyter_kernel_detection(jupyter, monkeypatch):
    assert train._jupyter_kernel() is None  # pytest runs in no kernel
    jupyter()
    assert train._jupyter_kernel() == "notebook"
    jupyter("Shell")  # e.g. Colab's shell, a ZMQInteractiveShell subclass
    assert train._jupyter_kernel() == "notebook"
    jupyter("SpyderShell")
    assert train._jupyter_kernel() == "console"
    jupyter()
    monkeypatch.setenv("QT_API", "pyqt5")
    assert train._jupyter_kernel() == "console"
    sys.modules["IPython"].get_ipython = lambda: type("TerminalInteractiveShell", (), {})()
    assert train._jupyter_kernel() is None
    sys.modules["IPython"].get_ipython = lambda: None
    assert train._jupyter_kernel() is None


def test_stderr_without_isatty_is_no_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", None)
    assert train._stderr_is_a_terminal() is False

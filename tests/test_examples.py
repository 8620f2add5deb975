"""Every example runs, with fast settings, and reaches what it promises."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_custom_op_runs_and_checks_its_gradient(capsys):
    load("custom_op").main()
    out = capsys.readouterr().out
    assert "gradcheck on a scalar: True" in out
    assert "gradcheck on a tensor: True" in out
    assert "op 'sin'" in out


def test_custom_op_sin_is_a_first_class_operation():
    import numpy as np

    from tinygrad_mlp import GradcheckError, Value, gradcheck

    module = load("custom_op")
    x = Value(np.array([0.1, 1.0, 2.0]))
    y = module.sin(x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad, np.cos(x.data))
    assert y.parents[0].op == "sin"

    class BrokenSin(module.Sin):
        @staticmethod
        def backward(ctx, grad):
            return grad  # wrong: ignores cos(x)

    with pytest.raises(GradcheckError):
        gradcheck(BrokenSin.apply, [Value(1.0)])


def test_digits_reaches_95_percent():
    pytest.importorskip("sklearn")
    accuracy = load("digits").main(["--epochs", "30", "--seed", "0"])
    assert accuracy >= 0.95


def test_moons_vectorized_reaches_100_percent(tmp_path):
    acc = load("moons").main(["--steps", "100", "--plot", str(tmp_path / "moons.png")]
                             if importlib.util.find_spec("matplotlib") else ["--steps", "100"])
    assert acc == 1.0


def test_moons_scalar_style_agrees_with_vectorized_for_a_few_steps():
    moons = load("moons")
    model_s, _ = moons.train("scalar", steps=3)
    model_v, _ = moons.train("vectorized", steps=3)
    for p, q in zip(model_s.parameters(), model_v.parameters()):
        assert abs(p.data - q.data).max() < 1e-9


def test_regression_fits_close_to_the_noise():
    mse = load("regression").main(["--epochs", "300"])
    assert mse < 0.05  # the noise variance is 0.01; the function's variance is about 1


def test_overfitting_is_seen_and_fixed():
    results = load("overfitting").main(["--epochs", "600"])
    plain = results["no regularization"]
    assert results["early stopping"] < plain
    assert results["weight decay"] < plain


def test_hyperparameter_search_ranks_every_combination(capsys):
    rows = load("hyperparameter_search").main(["--epochs", "10"])
    assert len(rows) == 16
    losses = [r["val_loss"] for r in rows]
    assert losses == sorted(losses)
    assert "best: lr=" in capsys.readouterr().out

"""micrograd's demo (``demo.ipynb``) reproduced in both call styles.

``make_moons(100, noise=0.1)`` with labels in {-1, 1}, ``MLP(2, [16, 16, 1])``, the SVM
max-margin loss plus ``1e-4`` L2, SGD with learning rate ``1.0 - 0.9 * k / 100``, 100
full-batch steps: 100% training accuracy.  Seeds: ``random_state=0`` for the data, ``seed=0``
for the model.

The scalar style builds micrograd's neuron-level graph (about 60,000 nodes per step) and
takes ~0.3-0.5 s a step, so the full 100-step scalar run is the one slow test of the suite:
``test_slow_scalar_style_demo_matches_vectorized`` (marked ``slow``).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mlp.data import make_moons
from tinygrad_mlp.functional import accuracy, hinge_loss, l2_penalty
from tinygrad_mlp.nn import MLP, stack
from tinygrad_mlp.optim import SGD

DATA_SEED = 0
MODEL_SEED = 0
STEPS = 100


def demo_data():
    X, y = make_moons(100, noise=0.1, random_state=DATA_SEED)
    return X, y * 2 - 1


def run_demo(style: str, steps: int = STEPS):
    """micrograd's training loop; returns the per-step losses and accuracies and the model."""
    X, y = demo_data()
    model = MLP(2, [16, 16, 1], seed=MODEL_SEED)
    opt = SGD(model.parameters(), lr=lambda k: 1.0 - 0.9 * k / 100)
    rows = X.tolist()
    losses, accs = [], []
    for _ in range(steps):
        if style == "scalar":
            scores = stack([model(list(x)) for x in rows])  # shape (100,)
        else:
            scores = model(X)  # shape (100, 1)
        loss = hinge_loss(scores, y) + l2_penalty(model.parameters(), 1e-4)
        model.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        accs.append(accuracy(scores, y))
    return losses, accs, model


def test_demo_data_and_model_are_micrograds():
    X, y = demo_data()
    assert X.shape == (100, 2) and set(y.tolist()) == {-1, 1}
    model = MLP(2, [16, 16, 1], seed=MODEL_SEED)
    assert model.num_parameters() == 337  # micrograd's demo: "number of parameters 337"
    assert [layer.activation_name for layer in model.layers] == ["relu", "relu", "linear"]


def test_vectorized_style_demo_reaches_full_accuracy():
    X, y = demo_data()
    losses, accs, model = run_demo("vectorized")
    assert accuracy(model(X), y) == 1.0
    assert accs[-1] == 1.0
    assert losses[-1] < 0.1 * losses[0]


def test_scalar_and_vectorized_styles_agree_on_the_first_steps():
    # a fast version of the slow test below: two steps are enough to see the same update
    a_losses, _, a = run_demo("scalar", steps=2)
    b_losses, _, b = run_demo("vectorized", steps=2)
    np.testing.assert_allclose(a_losses, b_losses, rtol=0, atol=1e-12)
    for (name, pa), (_, pb) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_allclose(pa.data, pb.data, rtol=0, atol=1e-12, err_msg=name)


@pytest.mark.slow
def test_slow_scalar_style_demo_matches_vectorized():
    """The one slow test: 100 steps of the scalar style (~30-50 s)."""
    X, y = demo_data()
    s_losses, s_accs, scalar_model = run_demo("scalar")
    v_losses, v_accs, vector_model = run_demo("vectorized")
    np.testing.assert_allclose(s_losses, v_losses, rtol=0, atol=1e-9)
    for (name, ps), (_, pv) in zip(scalar_model.named_parameters(),
                                   vector_model.named_parameters()):
        np.testing.assert_allclose(ps.data, pv.data, rtol=0, atol=1e-9, err_msg=name)
    scores = stack([scalar_model(list(x)) for x in X.tolist()])
    assert accuracy(scores, y) == 1.0
    assert s_accs[-1] == 1.0 and s_accs == v_accs

"""Optimizers and schedules of ``tinygrad_mlp.optim``.

Update rules are checked against hand-computed first steps (always) and against
``torch.optim`` step by step (when PyTorch is installed).  Gradients in the step-by-step
comparisons come from one numpy function evaluated at each side's own parameters, so the
comparison isolates the update rule.
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_mlp import Value
from tinygrad_mlp.optim import SGD, Adam, AdamW, Optimizer, linear_decay, step_decay

P0 = [np.array([[0.5, -1.0, 2.0], [0.1, 0.0, -0.3]]), np.array([0.2, -0.7])]
TARGET = [np.array([[1.0, 0.5, -1.0], [0.0, 2.0, 1.0]]), np.array([-0.5, 0.5])]


def grad_fn(i: int, p: np.ndarray) -> np.ndarray:
    """The gradient of a smooth non-quadratic loss at ``p`` (for parameter ``i``)."""
    return (p - TARGET[i]) + 0.3 * np.sin(3 * p) + 0.1 * p**3


def make_params() -> list[Value]:
    return [Value(p.copy()) for p in P0]


def run_ours(make_opt, steps: int, params: list[Value] | None = None) -> list[list[np.ndarray]]:
    params = params if params is not None else make_params()
    opt = make_opt(params)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        for i, p in enumerate(params):
            p.grad = grad_fn(i, p.data)
        opt.step()
        out.append([p.data.copy() for p in params])
    return out


def run_torch(make_opt, steps: int) -> list[list[np.ndarray]]:
    import torch

    params = [torch.tensor(p.copy(), requires_grad=True) for p in P0]
    opt = make_opt(params)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        for i, p in enumerate(params):
            p.grad = torch.tensor(grad_fn(i, p.detach().numpy()))
        opt.step()
        out.append([p.detach().numpy().copy() for p in params])
    return out


def assert_trajectories_equal(a, b, rtol=1e-12, atol=1e-14):
    assert len(a) == len(b)
    for step, (pa, pb) in enumerate(zip(a, b)):
        for x, y in zip(pa, pb):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=f"step {step}")


# --------------------------------------------------------------------------- vs torch.optim
CASES = {
    "sgd": (lambda ps: SGD(ps, lr=0.1), "SGD", {"lr": 0.1}),
    "sgd_momentum": (lambda ps: SGD(ps, lr=0.05, momentum=0.9), "SGD",
                     {"lr": 0.05, "momentum": 0.9}),
    "sgd_nesterov": (lambda ps: SGD(ps, lr=0.05, momentum=0.8, nesterov=True), "SGD",
                     {"lr": 0.05, "momentum": 0.8, "nesterov": True}),
    "sgd_weight_decay": (lambda ps: SGD(ps, lr=0.1, weight_decay=0.05), "SGD",
                         {"lr": 0.1, "weight_decay": 0.05}),
    "sgd_all": (lambda ps: SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
                "SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    "adam": (lambda ps: Adam(ps, lr=0.05), "Adam", {"lr": 0.05}),
    "adam_betas_eps": (lambda ps: Adam(ps, lr=0.02, betas=(0.8, 0.99), eps=1e-6), "Adam",
                       {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6}),
    "adam_weight_decay": (lambda ps: Adam(ps, lr=0.05, weight_decay=0.1), "Adam",
                          {"lr": 0.05, "weight_decay": 0.1}),
    "adamw": (lambda ps: AdamW(ps, lr=0.05, weight_decay=0.1), "AdamW",
              {"lr": 0.05, "weight_decay": 0.1}),
    "adamw_default_decay": (lambda ps: AdamW(ps, lr=0.05), "AdamW", {"lr": 0.05}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_update_rules_equal_torch_optim_step_by_step(case):
    torch = pytest.importorskip("torch")
    ours, torch_name, kwargs = CASES[case]
    a = run_ours(ours, 12)
    b = run_torch(lambda ps: getattr(torch.optim, torch_name)(ps, **kwargs), 12)
    assert_trajectories_equal(a, b)
    assert not np.allclose(a[0][0], a[-1][0])  # the parameters did move


def test_schedule_equals_torch_lambda_lr():
    torch = pytest.importorskip("torch")
    schedule = lambda k: 1.0 - 0.9 * k / 100  # noqa: E731 (micrograd's demo)
    a = run_ours(lambda ps: SGD(ps, lr=schedule, momentum=0.5), 10)

    params = [torch.tensor(p.copy(), requires_grad=True) for p in P0]
    opt = torch.optim.SGD(params, lr=1.0, momentum=0.5)  # LambdaLR multiplies lr=1 by schedule
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
    b = []
    for _ in range(10):
        opt.zero_grad()
        for i, p in enumerate(params):
            p.grad = torch.tensor(grad_fn(i, p.detach().numpy()))
        opt.step()
        sched.step()
        b.append([p.detach().numpy().copy() for p in params])
    assert_trajectories_equal(a, b)


def test_sgd_momentum_with_accumulated_gradients_equals_torch():
    # without zero_grad the gradient accumulates in place in p.grad: the momentum buffer must
    # not alias it
    torch = pytest.importorskip("torch")
    w0 = np.array([1.0, -2.0, 0.5])
    w = Value(w0.copy())
    tw = torch.tensor(w0.copy(), requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    for _ in range(4):
        (w * w).sum().backward()
        opt.step()
        (tw * tw).sum().backward()
        topt.step()
        np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-12)


def test_sgd_momentum_with_accumulated_gradients_by_hand():
    w = Value(np.array([1.0]))
    opt = SGD([w], lr=0.1, momentum=0.9)
    (w * w).sum().backward()  # grad 2
    opt.step()  # buf 2, w 0.8
    (w * w).sum().backward()  # no zero_grad: grad 2 + 1.6 = 3.6
    opt.step()  # buf 0.9 * 2 + 3.6 = 5.4, w 0.8 - 0.54
    assert w.data[0] == pytest.approx(0.26, rel=1e-14)


def test_adam_through_backward_equals_torch_on_a_model():
    torch = pytest.importorskip("torch")
    from tinygrad_mlp.functional import mse_loss
    from tinygrad_mlp.io import torch_state_dict
    from tinygrad_mlp.nn import MLP

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    model = MLP(3, [5, 1], activation="tanh", seed=0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1))
    net = net.double()
    net.load_state_dict({k: torch.tensor(v) for k, v in torch_state_dict(model).items()})
    opt = Adam(model.parameters(), lr=0.01, weight_decay=0.01)
    topt = torch.optim.Adam(net.parameters(), lr=0.01, weight_decay=0.01)
    for _ in range(10):
        loss = mse_loss(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        tloss = torch.nn.functional.mse_loss(net(torch.tensor(X))[:, 0], torch.tensor(y))
        topt.zero_grad()
        tloss.backward()
        topt.step()
        assert loss.item() == pytest.approx(tloss.item(), rel=1e-10)
    for ours, theirs in zip(torch_state_dict(model).values(), net.state_dict().values()):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- by hand
def _one(p0: float, g_of, make_opt, steps: int) -> list[float]:
    """Trajectory of a single-element parameter, gradient ``g_of(p)``."""
    w = Value(np.array([p0]))
    opt = make_opt([w])
    out = []
    for _ in range(steps):
        opt.zero_grad()
        w.grad = np.array([g_of(w.data[0])])
        opt.step()
        out.append(float(w.data[0]))
    return out


def g(p: float) -> float:
    return 2 * p + 1.0  # gradient of p**2 + p


def test_sgd_by_hand():
    p = _one(1.0, g, lambda ps: SGD(ps, lr=0.1), 2)
    p1 = 1.0 - 0.1 * 3.0
    assert p == pytest.approx([p1, p1 - 0.1 * g(p1)], rel=1e-15)


def test_sgd_momentum_by_hand():
    p = _one(1.0, g, lambda ps: SGD(ps, lr=0.1, momentum=0.9), 3)
    buf = 3.0
    p1 = 1.0 - 0.1 * buf
    buf = 0.9 * buf + g(p1)
    p2 = p1 - 0.1 * buf
    buf = 0.9 * buf + g(p2)
    p3 = p2 - 0.1 * buf
    assert p == pytest.approx([p1, p2, p3], rel=1e-14)


def test_sgd_nesterov_by_hand():
    p = _one(1.0, g, lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True), 2)
    buf = 3.0
    p1 = 1.0 - 0.1 * (3.0 + 0.9 * buf)
    g1 = g(p1)
    buf = 0.9 * buf + g1
    p2 = p1 - 0.1 * (g1 + 0.9 * buf)
    assert p == pytest.approx([p1, p2], rel=1e-14)


def test_sgd_weight_decay_by_hand():
    p = _one(1.0, g, lambda ps: SGD(ps, lr=0.1, weight_decay=0.5), 1)
    assert p == pytest.approx([1.0 - 0.1 * (3.0 + 0.5 * 1.0)], rel=1e-15)


def test_adam_by_hand():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    p = _one(1.0, g, lambda ps: Adam(ps, lr=lr), 2)
    g0 = 3.0
    m, v = (1 - b1) * g0, (1 - b2) * g0**2
    p1 = 1.0 - lr * (m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps)
    assert p1 == pytest.approx(1.0 - lr, rel=1e-7)  # the first Adam step has size lr
    g1 = g(p1)
    m, v = b1 * m + (1 - b1) * g1, b2 * v + (1 - b2) * g1**2
    p2 = p1 - lr * (m / (1 - b1**2)) / (np.sqrt(v / (1 - b2**2)) + eps)
    assert p == pytest.approx([p1, p2], rel=1e-14)


def test_adam_weight_decay_by_hand():
    lr, wd = 0.1, 0.5
    p = _one(2.0, g, lambda ps: Adam(ps, lr=lr, weight_decay=wd), 1)
    g0 = g(2.0) + wd * 2.0
    assert p == pytest.approx([2.0 - lr * g0 / (abs(g0) + 1e-8)], rel=1e-14)


def test_adamw_by_hand():
    lr, wd = 0.1, 0.5
    p = _one(2.0, g, lambda ps: AdamW(ps, lr=lr, weight_decay=wd), 1)
    g0 = g(2.0)  # not changed by the decay: the decay acts on the parameter directly
    assert p == pytest.approx([2.0 * (1 - lr * wd) - lr * g0 / (abs(g0) + 1e-8)], rel=1e-14)
    assert AdamW([Value(np.zeros(1))]).weight_decay == 1e-2


def test_optimizer_updates_parameter_arrays_in_place():
    w = Value(np.array([1.0, 2.0]))
    data = w.data
    w.grad = np.array([1.0, 1.0])
    SGD([w], lr=0.5).step()
    assert w.data is data
    np.testing.assert_array_equal(data, [0.5, 1.5])


def test_scalar_parameters_stay_floats():
    w = Value(3.0)
    (w * w).backward()
    opt = Adam([w], lr=0.1)
    opt.step()
    assert type(w.data) is float
    assert w.data == pytest.approx(2.9)
    w.grad = 1.0
    SGD([w], lr=0.1, momentum=0.9).step()
    assert type(w.data) is float and w.data == pytest.approx(2.8)


def test_zero_grad_resets_every_gradient():
    ps = make_params()
    for p in ps:
        p.grad = np.ones_like(p.data)
    SGD(ps, lr=0.1).zero_grad()
    for p in ps:
        np.testing.assert_array_equal(p.grad, 0.0)


# --------------------------------------------------------------------------- schedules
def test_schedule_is_called_with_the_step_number_once_per_step():
    calls = []

    def schedule(k):
        calls.append(k)
        return 1.0 - 0.9 * k / 100

    w = Value(np.array([0.0]))
    opt = SGD([w], lr=schedule)
    for _ in range(5):
        w.grad = np.array([1.0])  # constant gradient: each step moves by the learning rate
        opt.step()
    assert calls == [0, 1, 2, 3, 4]
    assert w.data[0] == pytest.approx(-sum(1.0 - 0.9 * k / 100 for k in range(5)), rel=1e-14)
    assert opt.current_lr() == pytest.approx(1.0 - 0.9 * 5 / 100)
    assert opt.steps == 5


def test_micrograd_schedule_over_a_hundred_steps():
    w = Value(np.array([0.0]))
    opt = SGD([w], lr=lambda k: 1.0 - 0.9 * k / 100)
    lrs = []
    for _ in range(100):
        lrs.append(opt.current_lr())
        w.grad = np.array([1.0])
        opt.step()
    assert lrs[0] == 1.0 and lrs[-1] == pytest.approx(0.109)
    assert w.data[0] == pytest.approx(-sum(lrs))


def test_linear_decay():
    s = linear_decay(1.0, 0.1, 10)
    assert s(0) == 1.0
    assert s(5) == pytest.approx(0.55)
    assert s(10) == pytest.approx(0.1)
    assert s(1000) == pytest.approx(0.1)
    assert all(s(k) > s(k + 1) for k in range(10))
    with pytest.raises(ValueError, match="steps"):
        linear_decay(1.0, 0.1, 0)


def test_step_decay():
    s = step_decay(0.8, step_size=3, gamma=0.5)
    assert [s(k) for k in range(7)] == pytest.approx([0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2])
    with pytest.raises(ValueError, match="step_size"):
        step_decay(1.0, 0)


def test_schedules_drive_an_optimizer():
    w = Value(np.array([0.0]))
    opt = Adam([w], lr=step_decay(0.1, 2, 0.1))
    seen = []
    for _ in range(4):
        seen.append(opt.current_lr())
        w.grad = np.array([1.0])
        opt.step()
    assert seen == pytest.approx([0.1, 0.1, 0.01, 0.01])


# --------------------------------------------------------------------------- resume
@pytest.mark.parametrize("case", ["sgd_momentum", "sgd_nesterov", "adam", "adamw"])
def test_state_dict_resume_gives_an_identical_trajectory(case):
    make_opt = CASES[case][0]
    params = make_params()
    opt = make_opt(params)
    for _ in range(5):
        for i, p in enumerate(params):
            p.grad = grad_fn(i, p.data)
        opt.step()
    saved_state = opt.state_dict()
    saved_params = [p.data.copy() for p in params]

    def continue_from(params, opt):
        out = []
        for _ in range(5):
            for i, p in enumerate(params):
                p.grad = grad_fn(i, p.data)
            opt.step()
            out.append([p.data.copy() for p in params])
        return out

    straight = continue_from(params, opt)

    resumed_params = [Value(d.copy()) for d in saved_params]
    resumed_opt = make_opt(resumed_params)
    resumed_opt.load_state_dict(saved_state)
    assert resumed_opt.steps == 5
    resumed = continue_from(resumed_params, resumed_opt)
    assert_trajectories_equal(straight, resumed, rtol=0, atol=0)

    # and without the state, the trajectory differs (the state really matters)
    fresh_params = [Value(d.copy()) for d in saved_params]
    fresh = continue_from(fresh_params, make_opt(fresh_params))
    assert not np.allclose(fresh[-1][0], straight[-1][0], rtol=0, atol=1e-12)


def test_state_dict_is_a_copy():
    params = make_params()
    opt = SGD(params, lr=0.1, momentum=0.9)
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.step()
    sd = opt.state_dict()
    before = sd["state"][0]["momentum"].copy()
    opt.step()
    np.testing.assert_array_equal(sd["state"][0]["momentum"], before)
    assert sd["steps"] == 1


def test_load_state_dict_schedule_continues_from_the_step_count():
    w = Value(np.array([0.0]))
    opt = SGD([w], lr=linear_decay(1.0, 0.0, 10))
    for _ in range(4):
        w.grad = np.array([1.0])
        opt.step()
    other = SGD([Value(np.array([0.0]))], lr=linear_decay(1.0, 0.0, 10))
    other.load_state_dict(opt.state_dict())
    assert other.current_lr() == pytest.approx(0.6)


def test_load_state_dict_rejects_mismatches():
    params = make_params()
    opt = Adam(params, lr=0.1)
    for p in params:
        p.grad = np.ones_like(p.data)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="2 parameters"):
        Adam(params[:1], lr=0.1).load_state_dict(sd)
    swapped = [Value(np.zeros(2)), Value(np.zeros((2, 3)))]
    with pytest.raises(ValueError, match="shape"):
        Adam(swapped, lr=0.1).load_state_dict(sd)


# --------------------------------------------------------------------------- extension
class SignSGD(Optimizer):
    """A student's optimizer: only ``update`` is written."""

    def update(self, param, grad, state, lr):
        state["count"] = state.get("count", 0) + 1
        return param - lr * np.sign(grad)


def test_custom_optimizer_overriding_only_update():
    params = make_params()
    opt = SignSGD(params, lr=0.1)
    for p in params:
        p.grad = np.array(p.data)  # move every entry towards 0 by lr
    opt.step()
    np.testing.assert_allclose(params[0].data, P0[0] - 0.1 * np.sign(P0[0]))
    np.testing.assert_allclose(params[1].data, P0[1] - 0.1 * np.sign(P0[1]))
    assert opt.steps == 1
    assert opt.state[0]["count"] == 1
    opt.zero_grad()
    assert not np.any(params[0].grad)
    assert "SignSGD" in repr(opt)


def test_custom_optimizer_with_a_schedule():
    w = Value(np.array([0.0]))
    opt = SignSGD([w], lr=lambda k: 0.5**k)
    for _ in range(3):
        w.grad = np.array([-1.0])
        opt.step()
    assert w.data[0] == pytest.approx(1.0 + 0.5 + 0.25)


def test_base_optimizer_update_is_abstract():
    w = Value(np.array([0.0]))
    w.grad = np.array([1.0])
    with pytest.raises(NotImplementedError):
        Optimizer([w], lr=0.1).step()


# --------------------------------------------------------------------------- bad arguments
def test_bad_arguments():
    w = Value(np.array([1.0]))
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="not a Value"):
        SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="lr"):
        SGD([w], lr=-1.0)
    with pytest.raises(ValueError, match="lr"):
        Adam([w], lr="fast")
    with pytest.raises(ValueError, match="momentum"):
        SGD([w], lr=0.1, momentum=-0.5)
    with pytest.raises(ValueError, match="Nesterov"):
        SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="betas"):
        Adam([w], betas=(0.9, 1.0))


def test_the_same_parameter_twice_is_refused():
    p = Value(np.array([1.0]))
    with pytest.raises(ValueError, match=r"same parameter twice, at positions 0 and 1"):
        SGD([p, p], lr=0.1)
    q = Value(2.0)
    with pytest.raises(ValueError, match=r"Adam got the same parameter twice, at positions 1 and 3"):
        Adam([p, q, Value(3.0), q], lr=0.1)
    # twice would mean two updates a step: 1 - 2 * 0.1 * 1 = 0.8 is one, 0.6 would be two
    (p * p).sum().backward()
    SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.8])


def test_optim_and_gradcheck_read_only_public_fields_of_values():
    import ast
    import inspect

    from tinygrad_mlp import gradcheck, optim

    for module in (optim, gradcheck):
        private = sorted({
            node.attr for node in ast.walk(ast.parse(inspect.getsource(module)))
            if isinstance(node, ast.Attribute) and node.attr.startswith("_")
            and not node.attr.startswith("__")
        })
        assert private == [], f"{module.__name__} reads {private}"


def test_params_given_as_a_generator():
    ps = make_params()
    opt = SGD((p for p in ps), lr=0.1)
    assert len(opt.params) == 2


@pytest.mark.parametrize("make", [
    lambda p: SGD(p, lr=0.1, momentum=0.9, weight_decay=0.1),
    lambda p: Adam(p, lr=0.1, weight_decay=0.1),
    lambda p: AdamW(p, lr=0.1),
])
def test_a_parameter_without_gradient_is_left_alone(make):
    used, unused = Value(np.array([1.0, 2.0])), Value(np.array([3.0, 4.0]))
    opt = make([used, unused])
    for _ in range(3):
        opt.zero_grad()
        (used * used).sum().backward()
        opt.step()
    np.testing.assert_array_equal(unused.data, [3.0, 4.0])
    assert not np.array_equal(used.data, [1.0, 2.0])


def test_learning_rate_may_be_a_numpy_number():
    w = Value(np.array([1.0]))
    (w * w).sum().backward()
    SGD([w], lr=np.float32(0.25)).step()
    np.testing.assert_allclose(w.data, [0.5])


# --------------------------------------------------------------------------- per-parameter counts
def run_late(make_opt, steps: int, late=(1,), params=None, opt=None):
    """Like ``run_ours``, but the parameters in ``late`` get no gradient at the first step."""
    params = params if params is not None else make_params()
    opt = opt if opt is not None else make_opt(params)
    out = []
    for k in range(steps):
        opt.zero_grad()
        for i, p in enumerate(params):
            if k > 0 or i not in late:
                p.grad = grad_fn(i, p.data)
        opt.step()
        out.append([p.data.copy() for p in params])
    return out


@pytest.mark.parametrize("case", ["adam", "adam_weight_decay", "adamw"])
def test_adam_counts_steps_per_parameter_like_torch(case):
    # parameter 1 first gets a gradient at step 2: torch.optim skips it at step 1 and counts
    # its own steps from its first gradient, so its first update is a first step
    torch = pytest.importorskip("torch")
    ours, torch_name, kwargs = CASES[case]
    a = run_late(ours, 6)

    params = [torch.tensor(p.copy(), requires_grad=True) for p in P0]
    opt = getattr(torch.optim, torch_name)(params, **kwargs)
    b = []
    for k in range(6):
        opt.zero_grad()
        for i, p in enumerate(params):
            if k > 0 or i != 1:
                p.grad = torch.tensor(grad_fn(i, p.detach().numpy()))
        opt.step()
        b.append([p.detach().numpy().copy() for p in params])
    assert_trajectories_equal(a, b)
    np.testing.assert_array_equal(a[0][1], P0[1])  # untouched at step 1


def test_adam_first_update_of_a_late_parameter_by_hand():
    # the numbers: w = 3, dL/dw = 6 at its first gradient, lr 0.1: a first Adam step
    # moves by lr (2.9); counted as the optimizer's second step it moved to 2.9256
    early, late = Value(1.0), Value(3.0)
    opt = Adam([early, late], lr=0.1)
    early.grad = 1.0
    opt.step()
    early.grad, late.grad = 1.0, 6.0
    opt.step()
    assert late.data == pytest.approx(2.9, rel=1e-9)
    assert opt.steps == 2 and opt.state[0]["step"] == 2 and opt.state[1]["step"] == 1

    # and its second step is bias-corrected as a second step
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    late.grad = 2.0
    opt.step()
    m = b1 * (1 - b1) * 6.0 + (1 - b1) * 2.0
    v = b2 * (1 - b2) * 36.0 + (1 - b2) * 4.0
    p1 = 3.0 - lr * ((1 - b1) * 6.0 / (1 - b1)) / (np.sqrt((1 - b2) * 36.0 / (1 - b2)) + eps)
    expected = p1 - lr * (m / (1 - b1**2)) / (np.sqrt(v / (1 - b2**2)) + eps)
    assert late.data == pytest.approx(expected, rel=1e-12)


def test_adamw_late_parameter_by_hand():
    lr, wd = 0.1, 0.5
    early, late = Value(np.array([1.0])), Value(np.array([2.0]))
    opt = AdamW([early, late], lr=lr, weight_decay=wd)
    early.grad = np.array([1.0])
    opt.step()
    opt.zero_grad()
    early.grad, late.grad = np.array([1.0]), np.array([g(2.0)])
    opt.step()
    g0 = g(2.0)
    np.testing.assert_allclose(late.data, [2.0 * (1 - lr * wd) - lr * g0 / (abs(g0) + 1e-8)],
                               rtol=1e-14)


def test_state_dict_keeps_the_per_parameter_count_and_resumes_exactly():
    make_opt = CASES["adam"][0]
    params = make_params()
    opt = make_opt(params)
    run_late(make_opt, 3, params=params, opt=opt)
    sd = opt.state_dict()
    assert sd["steps"] == 3
    assert [int(s["step"]) for s in sd["state"]] == [3, 2]
    saved = [p.data.copy() for p in params]

    def more(params, opt):
        return run_late(None, 4, late=(), params=params, opt=opt)

    straight = more(params, opt)
    resumed_params = [Value(d.copy()) for d in saved]
    resumed_opt = make_opt(resumed_params)
    resumed_opt.load_state_dict(sd)
    assert [s["step"] for s in resumed_opt.state] == [3, 2]
    assert type(resumed_opt.state[0]["step"]) is int
    assert_trajectories_equal(straight, more(resumed_params, resumed_opt), rtol=0, atol=0)


@pytest.mark.parametrize("case", ["adam", "adamw"])
def test_a_state_dict_without_per_parameter_counts_loads_with_the_global_count(case):
    # the format saved before the per-parameter counts: {"steps": N, "state": [{"m", "v"}]}
    make_opt = CASES[case][0]
    params = make_params()
    opt = make_opt(params)
    run_late(None, 4, late=(), params=params, opt=opt)  # every parameter every step
    sd = opt.state_dict()
    old = {"steps": sd["steps"], "state": [{"m": s["m"], "v": s["v"]} for s in sd["state"]]}
    saved = [p.data.copy() for p in params]
    straight = run_late(None, 3, late=(), params=params, opt=opt)

    resumed_params = [Value(d.copy()) for d in saved]
    resumed_opt = make_opt(resumed_params)
    resumed_opt.load_state_dict(old)
    assert [s["step"] for s in resumed_opt.state] == [4, 4]
    assert "step" not in old["state"][0]  # the caller's dict is left as it was
    resumed = run_late(None, 3, late=(), params=resumed_params, opt=resumed_opt)
    assert_trajectories_equal(straight, resumed, rtol=0, atol=0)


def test_an_old_state_dict_leaves_a_never_updated_parameter_at_count_zero():
    used, unused = Value(np.array([1.0])), Value(np.array([2.0]))
    opt = Adam([used, unused], lr=0.1)
    opt.load_state_dict({"steps": 5, "state": [{"m": np.array([0.1]), "v": np.array([0.01])}, {}]})
    assert opt.state[0]["step"] == 5 and opt.state[1] == {}
    unused.grad = np.array([4.0])
    opt.step()
    np.testing.assert_allclose(unused.data, [1.9], rtol=1e-9)  # a first step: size lr


# --------------------------------------------------------------------------- hyperparameters
@pytest.mark.parametrize("make,name", [
    (lambda w: SGD([w], lr=float("inf")), "lr"),
    (lambda w: SGD([w], lr=float("nan")), "lr"),
    (lambda w: Adam([w], lr=-1e-3), "lr"),
    (lambda w: AdamW([w], lr=float("-inf")), "lr"),
    (lambda w: SGD([w], lr=0.1, momentum=1.0), "momentum"),
    (lambda w: SGD([w], lr=0.1, momentum=1.5), "momentum"),
    (lambda w: SGD([w], lr=0.1, momentum=-0.1), "momentum"),
    (lambda w: SGD([w], lr=0.1, momentum=float("nan")), "momentum"),
    (lambda w: SGD([w], lr=0.1, weight_decay=-0.1), "weight_decay"),
    (lambda w: SGD([w], lr=0.1, weight_decay=float("nan")), "weight_decay"),
    (lambda w: SGD([w], lr=0.1, weight_decay=float("inf")), "weight_decay"),
    (lambda w: Adam([w], betas=(1.0, 0.999)), r"betas\[0\]"),
    (lambda w: Adam([w], betas=(0.9, -0.1)), r"betas\[1\]"),
    (lambda w: Adam([w], betas=(0.9, float("nan"))), r"betas\[1\]"),
    (lambda w: Adam([w], betas=(0.9,)), "betas"),
    (lambda w: Adam([w], eps=-1e-8), "eps"),
    (lambda w: Adam([w], eps=float("nan")), "eps"),
    (lambda w: Adam([w], weight_decay=-0.01), "weight_decay"),
    (lambda w: AdamW([w], weight_decay=-0.01), "weight_decay"),
    (lambda w: AdamW([w], weight_decay=float("inf")), "weight_decay"),
])
def test_hyperparameters_out_of_range_are_refused_naming_the_argument(make, name):
    with pytest.raises(ValueError, match=name):
        make(Value(np.array([1.0])))


def test_hyperparameters_of_the_wrong_type_name_the_argument():
    w = Value(np.array([1.0]))
    with pytest.raises(TypeError, match="SGD: momentum must be a number, got str '0.9'"):
        SGD([w], lr=0.1, momentum="0.9")
    with pytest.raises(TypeError, match="Adam: eps must be a number, got None"):
        Adam([w], eps=None)
    with pytest.raises(ValueError, match="SGD: lr must be .* or a schedule .*, got bool True"):
        SGD([w], lr=True)
    with pytest.raises(ValueError, match="AdamW: betas must be a pair"):
        AdamW([w], betas=0.9)


def test_hyperparameters_at_the_edges_of_their_ranges_are_accepted():
    w = Value(np.array([1.0]))
    SGD([w], lr=0, momentum=0.0, weight_decay=0)
    SGD([w], lr=np.float32(0.1), momentum=np.float64(0.99), nesterov=True)
    Adam([w], lr=0.0, betas=(0.0, 0.0), eps=0.0, weight_decay=0.0)
    AdamW([w], betas=[np.float32(0.5), 0.9])


class CountingSGD(Optimizer):
    """A student's optimizer keeping a scalar step counter in each parameter's state."""

    def update(self, param, grad, state, lr):
        state["t"] = state.get("t", 0) + 1
        return param - lr / state["t"] * grad


def test_custom_optimizer_scalar_state_round_trips_through_state_dict():
    params = make_params()
    opt = CountingSGD(params, lr=0.1)
    for _ in range(3):
        for i, p in enumerate(params):
            p.grad = grad_fn(i, p.data)
        opt.step()
    sd = opt.state_dict()
    saved = [p.data.copy() for p in params]
    straight = run_late(None, 2, late=(), params=params, opt=opt)

    resumed_params = [Value(d.copy()) for d in saved]
    resumed = CountingSGD(resumed_params, lr=0.1)
    resumed.load_state_dict(sd)  # the counter has shape (), the parameters (2, 3) and (2,)
    assert resumed.state[0]["t"] == 3 and type(resumed.state[0]["t"]) is int
    again = run_late(None, 2, late=(), params=resumed_params, opt=resumed)
    assert_trajectories_equal(straight, again, rtol=0, atol=0)


def test_load_state_dict_still_rejects_arrays_of_another_shape():
    opt = CountingSGD(make_params(), lr=0.1)
    sd = {"steps": 1, "state": [{"t": 1, "buf": np.zeros(3)}, {}]}
    with pytest.raises(ValueError, match=r"state 'buf' of parameter 0 has shape \(3,\)"):
        opt.load_state_dict(sd)
    assert opt.state == [{}, {}] and opt.steps == 0  # refused before anything changed

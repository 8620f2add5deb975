"""Optimizers: SGD (momentum, Nesterov, weight decay), Adam and AdamW, and learning-rate schedules.

An optimizer owns a list of parameters and a per-parameter ``state`` dict.  ``step()`` asks
:meth:`Optimizer.update` for each parameter's new value; a new optimizer overrides only that
method.  The update rules follow PyTorch's ``torch.optim`` step by step.

>>> class SignSGD(Optimizer):
...     def update(self, param, grad, state, lr):
...         return param - lr * np.sign(grad)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from tinygrad_mlp.checks import check_number, describe, is_number
from tinygrad_mlp.engine import Value, clear_grads, grads_of

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "linear_decay", "step_decay"]

Schedule = Callable[[int], float]


class Optimizer:
    """Base class: holds the parameters, the learning rate (or schedule) and per-parameter state.

    ``lr`` is a number, or a schedule: a callable of the step number (0, 1, 2, ...) returning
    the learning rate itself, as in micrograd's demo ``lambda k: 1.0 - 0.9 * k / 100``.
    Each parameter must appear once in ``params`` (a ``ValueError`` says which positions
    repeat): a parameter listed twice would be updated twice per step.  A number ``lr`` must
    be finite and at least 0; the hyperparameters of the subclasses are checked here too,
    once, so that ``step()`` does no checking.

    >>> class PlainSGD(Optimizer):
    ...     def update(self, param, grad, state, lr):
    ...         return param - lr * grad
    >>> w = Value(np.array([1.0])); (w * w).sum().backward()
    >>> PlainSGD([w], lr=0.25).step(); w.data
    array([0.5])
    """

    def __init__(self, params: Iterable[Value], lr: float | Schedule) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        first: dict[Value, int] = {}  # position of each parameter (Values hash by identity)
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(f"parameter {i} is a {type(p).__name__}, not a Value")
            j = first.setdefault(p, i)
            if j != i:
                raise ValueError(
                    f"{type(self).__name__} got the same parameter twice, at positions {j} and {i} "
                    "(it would be updated twice per step); pass each parameter once, e.g. "
                    "model.parameters(), which lists a tied parameter once"
                )
        if not callable(lr) and not (is_number(lr) and math.isfinite(lr) and lr >= 0):
            raise ValueError(f"{type(self).__name__}: lr must be a finite number of at least 0 "
                             f"or a schedule (a callable of the step), got {describe(lr)}")
        self.lr = lr
        self.steps = 0
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def current_lr(self) -> float:
        """The learning rate the next ``step()`` uses."""
        return float(self.lr(self.steps)) if callable(self.lr) else float(self.lr)

    def update(self, param: Any, grad: Any, state: dict[str, Any], lr: float) -> Any:
        """Return the new value of one parameter (override this in a new optimizer).

        ``param`` and ``grad`` are a float or an array; ``state`` is this parameter's own dict,
        kept between steps.  An array ``param`` may also be updated in place and returned.
        """
        raise NotImplementedError

    def step(self) -> None:
        """Update every parameter that has a gradient, once.

        Parameters whose gradient was never set since ``zero_grad()`` are skipped (no weight
        decay or momentum for them), as in ``torch.optim``.
        """
        lr = self.current_lr()
        update = self.update
        for p, state, grad in zip(self.params, self.state, grads_of(self.params)):
            if grad is None:  # not used since zero_grad(): left alone, as in torch.optim
                continue
            data = p.data
            new = update(data, grad, state, lr)
            if new is not data:  # (an array updated in place comes back as itself)
                if type(data) is float:
                    p.data = float(new)
                else:
                    data[...] = new  # in place: anything holding the array sees the update
        self.steps += 1

    def zero_grad(self) -> None:
        """Reset the gradients of all parameters to zero."""
        clear_grads(self.params)

    def state_dict(self) -> dict[str, Any]:
        """Step count and per-parameter state (copied), to resume training later.

        ``"steps"`` counts the optimizer's steps (what a schedule reads); ``"state"`` holds one
        dict per parameter, of arrays of the parameter's shape and scalars (e.g. Adam's
        per-parameter ``"step"``).

        >>> w = Value(np.array([1.0])); w.grad = np.array([2.0])
        >>> opt = Adam([w], lr=0.1); opt.step()
        >>> sd = opt.state_dict(); sd["steps"], sorted(sd["state"][0]), int(sd["state"][0]["step"])
        (1, ['m', 'step', 'v'], 1)
        """
        return {
            "steps": self.steps,
            "state": [{k: np.array(v, copy=True) for k, v in s.items()} for s in self.state],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (for the same parameter list).

        Each state entry is an array of its parameter's shape or a scalar (a step counter,
        say); anything else is refused before any state changes.

        >>> w = Value(np.array([1.0])); w.grad = np.array([2.0])
        >>> opt = Adam([w], lr=0.1); opt.step()
        >>> again = Adam([Value(np.array([0.9]))], lr=0.1); again.load_state_dict(opt.state_dict())
        >>> again.steps, again.state[0]["step"]
        (1, 1)
        """
        states = state_dict["state"]
        if len(states) != len(self.params):
            raise ValueError(
                f"the state has {len(states)} parameters, this optimizer {len(self.params)}"
            )
        for i, (p, s) in enumerate(zip(self.params, states)):
            for k, v in s.items():
                shape = np.shape(v)
                if shape != p.shape and shape != ():  # scalars (counters) fit any parameter
                    raise ValueError(f"state {k!r} of parameter {i} has shape {shape}, "
                                     f"the parameter {p.shape}")
        self.steps = int(state_dict["steps"])
        self.state = [{k: _like(v) for k, v in s.items()} for s in states]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr!r})"


def _like(v: Any) -> Any:
    """A state entry as the optimizer keeps it: a copied array, or a Python scalar (0 stays int)."""
    arr = np.array(v, copy=True)
    return arr.item() if arr.ndim == 0 else arr


def _check(who: Optimizer, name: str, value: Any, high: int | None = None) -> None:
    """``value`` is a finite real number in ``[0, high)`` (``[0, inf)`` without ``high``)."""
    check_number(type(who).__name__, name, value, low=0, high=high, high_open=True)


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay.

    >>> w = Value(np.array([1.0])); (w * w).sum().backward()
    >>> SGD([w], lr=0.1).step(); w.data
    array([0.8])
    """

    def __init__(
        self, params: Iterable[Value], lr: float | Schedule, momentum: float = 0.0,
        nesterov: bool = False, weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        _check(self, "momentum", momentum, high=1)
        _check(self, "weight_decay", weight_decay)
        if nesterov and momentum == 0:
            raise ValueError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov, self.weight_decay = momentum, nesterov, weight_decay

    def update(self, param: Any, grad: Any, state: dict[str, Any], lr: float) -> Any:
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        if self.momentum:
            buf = state.get("momentum")
            if buf is None:  # a copy: backward() adds into p.grad in place, so never alias it
                buf = grad.copy() if isinstance(grad, np.ndarray) else grad
            else:
                buf = self.momentum * buf + grad
            state["momentum"] = buf
            grad = grad + self.momentum * buf if self.nesterov else buf
        if type(param) is float:
            return param - lr * grad
        param -= lr * grad  # in place: one array less per step
        return param


class Adam(Optimizer):
    """Adam: adaptive moment estimation (``weight_decay`` adds ``wd * param`` to the gradient).

    Each parameter counts its own steps (``state["step"]``), as in ``torch.optim.Adam``: a
    parameter that first gets a gradient at the optimizer's tenth step takes a first step,
    bias-corrected as one.

    >>> w = Value(np.array([1.0])); (w * w).sum().backward()
    >>> Adam([w], lr=0.1).step(); w.data
    array([0.9])
    """

    decoupled = False

    def __init__(
        self, params: Iterable[Value], lr: float | Schedule = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"{type(self).__name__}: betas must be a pair of numbers in [0, 1), "
                             f"got {describe(betas)}") from None
        _check(self, "betas[0]", b1, high=1)
        _check(self, "betas[1]", b2, high=1)
        _check(self, "eps", eps)
        _check(self, "weight_decay", weight_decay)
        self.betas, self.eps, self.weight_decay = (b1, b2), eps, weight_decay

    def update(self, param: Any, grad: Any, state: dict[str, Any], lr: float) -> Any:
        b1, b2 = self.betas
        if self.weight_decay:
            if self.decoupled:
                param = param * (1 - lr * self.weight_decay)
            else:
                grad = grad + self.weight_decay * param
        t = state["step"] = state.get("step", 0) + 1  # this parameter's own count
        m = state["m"] = b1 * state.get("m", 0.0) + (1 - b1) * grad
        v = state["v"] = b2 * state.get("v", 0.0) + (1 - b2) * grad * grad
        m_hat = m / (1 - b1**t)
        v_hat = v / (1 - b2**t)
        return param - lr * m_hat / (np.sqrt(v_hat) + self.eps)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state; one saved before per-parameter counts gives each parameter
        that has moments the optimizer's count ``"steps"`` (what that version used).

        >>> w = Value(np.array([1.0]))
        >>> opt = Adam([w]); opt.load_state_dict({"steps": 3, "state": [{"m": 0.1, "v": 0.2}]})
        >>> opt.state[0]["step"]
        3
        """
        states = state_dict.get("state", ())
        if any(s and "step" not in s for s in states):
            steps = int(state_dict["steps"])
            state_dict = {**state_dict, "state": [
                {**s, "step": steps} if s and "step" not in s else s for s in states
            ]}
        super().load_state_dict(state_dict)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``param *= 1 - lr * weight_decay`` before the step.

    >>> w = Value(np.array([1.0])); (w * w).sum().backward()
    >>> AdamW([w], lr=0.1, weight_decay=0.5).step(); w.data.round(4)
    array([0.85])
    """

    decoupled = True

    def __init__(
        self, params: Iterable[Value], lr: float | Schedule = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


def linear_decay(start: float, end: float, steps: int) -> Schedule:
    """A schedule going linearly from ``start`` to ``end`` over ``steps`` steps, then staying.

    >>> s = linear_decay(1.0, 0.1, 100); s(0), s(50), s(100), s(200)
    (1.0, 0.55, 0.1, 0.1)
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")

    def schedule(k: int) -> float:
        t = min(k, steps) / steps
        return (1 - t) * start + t * end

    return schedule


def step_decay(lr: float, step_size: int, gamma: float = 0.1) -> Schedule:
    """A schedule multiplying ``lr`` by ``gamma`` every ``step_size`` steps.

    >>> s = step_decay(1.0, 10, 0.5); s(9), s(10), s(25)
    (1.0, 0.5, 0.25)
    """
    if step_size < 1:
        raise ValueError(f"step_size must be at least 1, got {step_size}")

    def schedule(k: int) -> float:
        return lr * gamma ** (k // step_size)

    return schedule

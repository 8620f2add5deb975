"""Numeric gradient check: compare ``backward()`` with central finite differences."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_mlp.engine import Value, no_grad

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its numeric estimate.

    ``input_index``, ``element``, ``analytic`` and ``numeric`` say where and by how much.
    """

    def __init__(
        self, input_index: int, label: str, element: tuple[int, ...], analytic: float,
        numeric: float,
    ) -> None:
        self.input_index = input_index
        self.element = element
        self.analytic = analytic
        self.numeric = numeric
        name = f"input {input_index}" + (f" ({label!r})" if label else "")
        where = f", element {element}" if element else ""
        super().__init__(
            f"gradient mismatch for {name}{where}: analytic {analytic!r}, numeric {numeric!r}"
        )


def _call(fn: Callable[..., Value], inputs: Sequence[Value]) -> Value:
    try:
        takes_none = not inspect.signature(fn).parameters
    except (TypeError, ValueError):  # builtins without a signature
        takes_none = False
    out = fn() if takes_none else fn(*inputs)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: the function must return a Value, got {type(out).__name__}")
    return out


def _scalar(out: Value, cotangent: Any) -> Value:
    return out if cotangent is None else (out * cotangent).sum()


def gradcheck(
    fn: Callable[..., Value],
    inputs: Sequence[Value],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check the gradients of ``fn`` with respect to ``inputs`` by central differences.

    ``fn`` is called as ``fn(*inputs)``, or as ``fn()`` when it takes no arguments and closes
    over the inputs (a model's parameters, say).  A tensor output is reduced with a fixed
    random weighting, which checks the same gradients as the full Jacobian would for almost
    every weighting.  Everything runs in float64; the inputs' data and grads are restored.

    Returns ``True`` or raises :class:`GradcheckError` naming the first input and element
    whose analytic and numeric gradients differ by more than ``atol + rtol * |numeric|``.

    >>> a, b = Value(2.0), Value(3.0)
    >>> gradcheck(lambda a, b: (a * b + a).tanh(), [a, b])
    True
    """
    inputs = list(inputs)
    for i, v in enumerate(inputs):
        if not isinstance(v, Value):
            raise TypeError(f"gradcheck: input {i} is a {type(v).__name__}, not a Value")
    saved = [(v.data, v._grad) for v in inputs]
    try:
        for v in inputs:
            v.data = v.data if type(v.data) is float else v.data.astype(np.float64)
            v._grad = None
        out = _call(fn, inputs)
        cotangent = None
        if type(out.data) is not float:
            rng = np.random.default_rng(0)
            cotangent = rng.uniform(0.5, 1.5, out.data.shape) * rng.choice([-1, 1], out.data.shape)
        _scalar(out, cotangent).backward()
        analytic = [v.grad for v in inputs]
        with no_grad():
            for i, v in enumerate(inputs):
                if not v.requires_grad:
                    continue
                _check_input(fn, inputs, i, v, analytic[i], cotangent, eps, atol, rtol)
    finally:
        for v, (data, grad) in zip(inputs, saved):
            v.data, v._grad = data, grad
    return True


def _check_input(
    fn: Callable[..., Value], inputs: list[Value], i: int, v: Value, analytic: Any,
    cotangent: Any, eps: float, atol: float, rtol: float,
) -> None:
    def f() -> float:
        return _scalar(_call(fn, inputs), cotangent).item()

    if type(v.data) is float:
        x = v.data
        v.data = x + eps
        fp = f()
        v.data = x - eps
        fm = f()
        v.data = x
        _compare(i, v, (), analytic, (fp - fm) / (2 * eps), atol, rtol)
        return
    data = v.data
    grad = np.asarray(analytic)
    for idx in np.ndindex(data.shape):
        x = data[idx]
        data[idx] = x + eps
        fp = f()
        data[idx] = x - eps
        fm = f()
        data[idx] = x
        _compare(i, v, idx, float(grad[idx]), (fp - fm) / (2 * eps), atol, rtol)


def _compare(
    i: int, v: Value, idx: tuple[int, ...], analytic: float, numeric: float, atol: float,
    rtol: float,
) -> None:
    if not np.isclose(analytic, numeric, atol=atol, rtol=rtol, equal_nan=False):
        raise GradcheckError(i, v.label, idx, float(analytic), float(numeric))

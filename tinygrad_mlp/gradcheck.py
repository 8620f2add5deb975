"""Numeric gradient check: compare ``backward()`` with central finite differences."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from tinygrad_mlp.checks import argument_error, check_callable, check_number, check_sequence
from tinygrad_mlp.engine import Value, no_grad

__all__ = ["gradcheck", "GradcheckError"]

# Up to this many output elements the whole Jacobian is checked, one output element at a time;
# beyond it, one fixed random weighting of the outputs (checks the same thing almost surely).
FULL_JACOBIAN_LIMIT = 64


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its numeric estimate.

    ``input_index``, ``element`` (of that input), ``output_element`` (of a tensor output, or
    ``None``), ``analytic`` and ``numeric`` say where and by how much.
    """

    def __init__(
        self, input_index: int, label: str, element: tuple[int, ...], analytic: float,
        numeric: float, output_element: tuple[int, ...] | None = None, weighted: bool = False,
    ) -> None:
        self.input_index = input_index
        self.element = element
        self.output_element = output_element
        self.analytic = analytic
        self.numeric = numeric
        name = f"input {input_index}" + (f" ({label!r})" if label else "")
        where = f", element {element}" if element else ""
        of = ""
        if output_element is not None:
            of = f" of output element {output_element}"
        elif weighted:
            of = " of sum(c * output) for fixed random weights c"
        super().__init__(
            f"gradient mismatch for {name}{where}{of}: analytic {analytic!r}, numeric {numeric!r}"
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


def gradcheck(
    fn: Callable[..., Value],
    inputs: Sequence[Value],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check the gradients of ``fn`` with respect to ``inputs`` by central differences.

    ``fn`` is called as ``fn(*inputs)``, or as ``fn()`` when it takes no arguments and closes
    over the inputs (a model's parameters, say).  For a tensor output every output element is
    checked (the whole Jacobian) up to 64 elements, beyond that one fixed random weighting of
    the outputs.  Everything runs in float64.  The data and grads of the inputs, and the grads
    of every other leaf the function uses, are restored afterwards.

    Returns ``True`` or raises :class:`GradcheckError` naming the first input, element (and
    output element) whose analytic and numeric gradients differ by more than
    ``atol + rtol * |numeric|``.  ``inputs`` is a non-empty list of Values; ``eps`` (the
    finite-difference step) must be greater than 0, ``atol`` and ``rtol`` at least 0, all
    finite (a ``TypeError`` or ``ValueError`` naming the argument otherwise).

    >>> a, b = Value(2.0), Value(3.0)
    >>> gradcheck(lambda a, b: (a * b + a).tanh(), [a, b])
    True
    """
    fn = check_callable("gradcheck", "fn", fn)
    if isinstance(inputs, Value):  # a tensor Value is a sequence of rows: never what is meant
        raise argument_error(TypeError, "gradcheck", "inputs", "a list of Values ([x], not x)",
                             inputs)
    inputs = check_sequence("gradcheck", "inputs", inputs, "a list of Values")
    if not inputs:
        raise ValueError("gradcheck: inputs must hold at least one Value, got an empty list "
                         "(nothing would be checked)")
    for i, v in enumerate(inputs):
        if not isinstance(v, Value):
            raise argument_error(TypeError, "gradcheck", f"input {i}", "a Value", v)
    eps = check_number("gradcheck", "eps", eps, low=0, low_open=True)
    atol = check_number("gradcheck", "atol", atol, low=0)
    rtol = check_number("gradcheck", "rtol", rtol, low=0)
    saved = {v: (v.data, _grad_or_none(v)) for v in inputs}
    leaves: list[Value] = []
    try:
        for v in inputs:
            v.data = v.data if type(v.data) is float else v.data.astype(np.float64)
        out = _call(fn, inputs)
        leaves = [n for n in out.graph() if n.is_leaf and n not in saved]
        saved.update({n: (n.data, _grad_or_none(n)) for n in leaves})
        if type(out.data) is float or out.data.size <= FULL_JACOBIAN_LIMIT:
            _check_jacobian(fn, inputs, out, leaves, eps, atol, rtol)
        else:
            _check_weighted(fn, inputs, out, leaves, eps, atol, rtol)
    finally:
        for v, (data, grad) in saved.items():
            v.data = data
            v.grad = grad  # (after data: the setter casts to the data's dtype; None clears)
    return True


def _grad_or_none(v: Value) -> Any:
    """``v``'s gradient, or ``None`` when none was set (reading ``.grad`` would make a zero one)."""
    return v.grad if v.has_grad else None


def _analytic(out: Value, grad: Any, inputs: list[Value], leaves: list[Value]) -> list[Any]:
    """One backward pass from ``out`` with ``grad``; the inputs' gradients, as arrays."""
    for v in (*inputs, *leaves):
        v.grad = None
    out.backward(grad)
    return [np.asarray(v.grad, dtype=np.float64) if v.requires_grad else None for v in inputs]


def _numeric(
    fn: Callable[..., Value], inputs: list[Value], v: Value, eps: float
) -> Iterator[tuple[tuple[int, ...], np.ndarray]]:
    """Yield ``(element, d out / d v[element])`` by central differences, output-shaped."""
    def f() -> np.ndarray:  # a copy: the output may be a view of the input being nudged
        return np.array(_call(fn, inputs).data, dtype=np.float64, copy=True)

    with no_grad():
        if type(v.data) is float:
            x = v.data
            v.data = x + eps
            fp = f()
            v.data = x - eps
            fm = f()
            v.data = x
            yield (), (fp - fm) / (2 * eps)
            return
        data = v.data
        for idx in np.ndindex(data.shape):
            x = data[idx]
            data[idx] = x + eps
            fp = f()
            data[idx] = x - eps
            fm = f()
            data[idx] = x
            yield idx, (fp - fm) / (2 * eps)


def _check_jacobian(
    fn: Callable[..., Value], inputs: list[Value], out: Value, leaves: list[Value], eps: float,
    atol: float, rtol: float,
) -> None:
    shape = out.shape
    rows = {}  # output element -> analytic gradients of every input
    for o in np.ndindex(shape) if shape else [()]:
        if shape:
            onehot = np.zeros(shape, dtype=out.dtype)
            onehot[o] = 1.0
            rows[o] = _analytic(out, onehot, inputs, leaves)
        else:
            rows[o] = _analytic(out, 1.0, inputs, leaves)
    for i, v in enumerate(inputs):
        if not v.requires_grad:
            continue
        for idx, column in _numeric(fn, inputs, v, eps):
            for o, analytic in rows.items():
                a, n = float(analytic[i][idx]), float(column[o])
                if not np.isclose(a, n, atol=atol, rtol=rtol):
                    raise GradcheckError(i, v.label, idx, a, n, o if shape else None)


def _check_weighted(
    fn: Callable[..., Value], inputs: list[Value], out: Value, leaves: list[Value], eps: float,
    atol: float, rtol: float,
) -> None:
    rng = np.random.default_rng(0)
    c = rng.uniform(0.5, 1.5, out.shape) * rng.choice([-1, 1], out.shape)
    analytic = _analytic(out, c.astype(out.dtype), inputs, leaves)
    for i, v in enumerate(inputs):
        if not v.requires_grad:
            continue
        for idx, column in _numeric(fn, inputs, v, eps):
            a, n = float(analytic[i][idx]), float(np.sum(c * column))
            if not np.isclose(a, n, atol=atol, rtol=rtol):
                raise GradcheckError(i, v.label, idx, a, n, weighted=True)

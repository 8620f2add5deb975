"""Numeric gradient checks: ``backward()`` against central finite differences, and second
derivatives (``create_graph=True``) against central differences of the first-order gradient."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from tinygrad_mlp.checks import argument_error, check_callable, check_number, check_sequence
from tinygrad_mlp.engine import Value, enable_grad, grad, no_grad

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]

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
        what: str = "gradient",
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
            f"{what} mismatch for {name}{where}{of}: analytic {analytic!r}, numeric {numeric!r}"
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
    fn, inputs, eps, atol, rtol = _arguments("gradcheck", fn, inputs, eps, atol, rtol)
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


def _arguments(name: str, fn: Any, inputs: Any, eps: Any, atol: Any, rtol: Any) -> tuple:
    """The arguments of a check, validated (the same rules for gradcheck and gradgradcheck)."""
    fn = check_callable(name, "fn", fn)
    if isinstance(inputs, Value):  # a tensor Value is a sequence of rows: never what is meant
        raise argument_error(TypeError, name, "inputs", "a list of Values ([x], not x)", inputs)
    inputs = check_sequence(name, "inputs", inputs, "a list of Values")
    if not inputs:
        raise ValueError(f"{name}: inputs must hold at least one Value, got an empty list "
                         "(nothing would be checked)")
    for i, v in enumerate(inputs):
        if not isinstance(v, Value):
            raise argument_error(TypeError, name, f"input {i}", "a Value", v)
    eps = check_number(name, "eps", eps, low=0, low_open=True)
    atol = check_number(name, "atol", atol, low=0)
    rtol = check_number(name, "rtol", rtol, low=0)
    return fn, list(inputs), eps, atol, rtol


def gradgradcheck(
    fn: Callable[..., Value],
    inputs: Sequence[Value],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
) -> bool:
    """Check the second derivatives of ``fn`` (``backward(create_graph=True)``) numerically.

    As ``torch.autograd.gradgradcheck``: with fixed random weights ``c`` for the output and
    ``u`` for the gradients, the analytic derivative of ``sum(u * d(c * out)/d inputs)`` (a
    Hessian-vector product, from backpropagating through the graph of the gradient) is compared
    with central differences of the analytic first-order gradient — not second differences of
    ``fn`` itself, which drown in rounding at these tolerances.  Every element of every input
    is checked; inputs are converted to float64 for the check and restored afterwards, and no
    ``.grad`` changes.  Returns ``True`` or raises :class:`GradcheckError` naming the input
    and element.

    >>> x = Value(np.array([0.3, -1.2]), label="x")
    >>> gradgradcheck(lambda x: (x * x.tanh()).sum(), [x])
    True
    """
    fn, inputs, eps, atol, rtol = _arguments("gradgradcheck", fn, inputs, eps, atol, rtol)
    saved = [(v, v.data) for v in inputs]
    try:
        for v in inputs:
            v.data = v.data if type(v.data) is float else v.data.astype(np.float64)
        _check_second(fn, inputs, eps, atol, rtol)
    finally:
        for v, data in saved:
            v.data = data
    return True


def _check_second(fn: Callable[..., Value], inputs: list[Value], eps: float, atol: float,
                  rtol: float) -> None:
    rng = np.random.default_rng(0)
    shape = _call(fn, inputs).shape
    c = rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)
    c = float(c) if shape == () else c
    u = [rng.uniform(0.5, 1.5, v.shape) * rng.choice([-1, 1], v.shape) for v in inputs]
    wanted = [v for v in inputs if v.requires_grad]

    def weighted_gradient(create_graph: bool) -> Any:  # sum(u * d(c * out)/d inputs)
        firsts = grad(_call(fn, inputs), wanted, c, create_graph=create_graph, allow_unused=True)
        terms = [g * uv for g, uv, v in zip(firsts, u, wanted) if g is not None]
        if not create_graph:
            return Value(float(sum(np.sum(t) for t in terms)), requires_grad=False)
        return sum(t.sum() for t in terms) if terms else None

    with enable_grad():
        total = weighted_gradient(True)
        hvp = [None] * len(wanted)
        if total is not None and total.requires_grad:
            hvp = list(grad(total, wanted, allow_unused=True))

    def numeric_fn(*_: Any) -> Value:
        with enable_grad():
            return weighted_gradient(False)

    for v, h in zip(wanted, hvp):
        i = inputs.index(v)
        analytic = np.zeros(v.shape) if h is None else np.asarray(getattr(h, "data", h), float)
        for idx, column in _numeric(numeric_fn, inputs, v, eps):
            a, n = float(analytic[idx]), float(column)
            if not np.isclose(a, n, atol=atol, rtol=rtol):
                raise GradcheckError(i, v.label, idx, a, n, what="second-derivative")


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

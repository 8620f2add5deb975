"""Every built-in differentiable operation, each a :class:`~tinygrad_mlp.engine.Function`.

Each class keeps its forward and backward next to each other, and is declared once with
:func:`~tinygrad_mlp.engine.registry.register`: that gives it its ``Value`` method or operator,
its activation and expression names, and its test samples and PyTorch counterpart.  The
built-ins use only what a student's operation can use (``ctx.parents``, ``ctx.data``,
``ctx.saved_values``...).  They take raw Python floats or
numpy arrays; the engine sums gradients back to operand shapes, so a backward may return a
gradient of the output's (broadcast) shape.

Scalars take a fast path through :mod:`math` where it is safe; where Python would raise
(division by zero, log of a negative number, overflow) the scalar path falls back to numpy
float64 so that it gives exactly what the tensor path gives: NaN or inf with a warning.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.exceptions import AxisError

from tinygrad_mlp.engine import Function, IndexGrad, Value, is_basic_index
from tinygrad_mlp.engine.arrays import fit_grad
from tinygrad_mlp.engine.function import is_operand
from tinygrad_mlp.engine.registry import Sample, register

_SCALAR_ERRORS = (ValueError, OverflowError, ZeroDivisionError)
# ndarray.sum(...) is np.add.reduce(...) behind a Python-level wrapper; the ufunc method directly
# saves that layer on every reduction (it matters for small arrays)
_sum = np.add.reduce


def _safe(scalar: Callable[..., float], array: Callable[..., Any]) -> Callable[..., Any]:
    """Make ``f(x, ...)``: ``scalar`` on floats (numpy float64 on its errors), ``array`` else."""

    def f(x: Any, *rest: Any) -> Any:
        if type(x) is float:
            try:
                return scalar(x, *rest)
            except _SCALAR_ERRORS:
                return float(array(np.float64(x), *rest))
        return array(x, *rest)

    return f


def _div_scalar(a: float, b: Any) -> float:
    return a / b


def _pow_scalar(a: float, p: float) -> float:
    return math.pow(a, p)


_exp = _safe(math.exp, np.exp)
_log = _safe(math.log, np.log)
_sqrt = _safe(math.sqrt, np.sqrt)
_div = _safe(_div_scalar, np.divide)
_pow = _safe(_pow_scalar, np.power)


def _sigmoid_array(x: np.ndarray) -> np.ndarray:
    # exp of a negative number only: never overflows
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def _sigmoid(x: Any) -> Any:
    if type(x) is float:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    return _sigmoid_array(x)


# --------------------------------------------------------------------------- test samples
# Each registered operation says which inputs it is tested on (see Sample): a scalar and
# broadcast tensors, inside its domain and away from kinks and poles.
Samples = Callable[[np.random.Generator], list[Sample]]


def _draw(rng: np.random.Generator, shape: tuple[int, ...], lo: float, hi: float,
          signed: bool) -> Any:
    """Numbers in ``[lo, hi]`` (and ``[-hi, -lo]`` when ``signed``): a float for shape ()."""
    x = rng.uniform(lo, hi, size=shape)
    if signed:
        x = x * rng.choice([-1.0, 1.0], size=shape)
    return float(x) if shape == () else x


def _unary_samples(lo: float = -2.0, hi: float = 2.0, signed: bool = False,
                   args: tuple[Any, ...] = ()) -> Samples:
    """A scalar, a vector and a matrix in the domain ``[lo, hi]`` (and its mirror if signed)."""
    def samples(rng: np.random.Generator) -> list[Sample]:
        return [Sample((_draw(rng, shape, lo, hi, signed),), args) for shape in ((), (3,), (2, 3))]
    return samples


def _binary_samples(lo: float = -2.0, hi: float = 2.0, b_lo: float | None = None,
                    b_hi: float | None = None, b_signed: bool = False) -> Samples:
    """Two operands: scalars, then shapes that broadcast against each other."""
    shapes = [((), ()), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2,)), ((3,), ())]

    def samples(rng: np.random.Generator) -> list[Sample]:
        return [Sample((_draw(rng, sa, lo, hi, False),
                        _draw(rng, sb, lo if b_lo is None else b_lo, hi if b_hi is None else b_hi,
                              b_signed)))
                for sa, sb in shapes]
    return samples


def _torch() -> Any:
    import torch  # only the tests call a PyTorch counterpart, and only where torch is installed

    return torch


# --------------------------------------------------------------------------- graph-building
# Each operation's backward_graph(ctx, grad) is its backward written with Value operations:
# used by backward(create_graph=True) and grad(..., create_graph=True), so that a gradient can
# be differentiated again.  ``grad`` and ``ctx.parents`` are Values; so is ``ctx``, the output.
def _constant(x: Any, like: Value) -> Value:
    """``x`` as a constant Value in ``like``'s dtype (a mask, a sign, a one-hot array...)."""
    if np.ndim(x) == 0:
        return Value(float(x), requires_grad=False)
    return Value(np.asarray(x, dtype=like.dtype), requires_grad=False)


def _mask(condition: Any, like: Value) -> Value:
    """1.0 where ``condition`` holds, 0.0 elsewhere, as a constant."""
    return _constant(np.asarray(condition, dtype=np.float64), like)


def _constant_where(condition: Any, like: Value) -> Value:
    """1.0 where ``condition`` holds, else 0.0, in ``like``'s shape (to shift a base away from
    0 where a first-order backward masks the result)."""
    return _mask(np.broadcast_to(condition, np.broadcast_shapes(np.shape(condition),
                                                                like.shape)), like)


def _swap_last(v: Value) -> Value:
    """``v`` with its last two axes swapped (a stack of matrices transposed)."""
    axes = list(range(v.ndim))
    axes[-2], axes[-1] = axes[-1], axes[-2]
    return v.transpose(*axes)


def _expand_value(grad: Value, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Value:
    """Put back the axes a reduction removed (as ``_expand``); the engine broadcasts the rest."""
    if axis is None or keepdims or not shape:
        return grad
    axes = axis if isinstance(axis, tuple) else (axis,)
    axes = tuple(ax % len(shape) for ax in axes)
    return grad.reshape(tuple(1 if i in axes else n for i, n in enumerate(shape)))


def _linear_operands(ctx: Value) -> tuple[Value, Value, Value]:
    """A Linear node's x, W, b as Values when apply() passed one through (an integer input or
    a number bias): that one becomes a constant."""
    x_raw, _ = ctx.saved_values
    rest = list(ctx.parents)
    x = rest.pop(0) if len(rest) == 3 or rest[0].data is x_raw else _constant(x_raw, rest[0])
    W = rest.pop(0)
    b = rest.pop(0) if rest else Value(0.0, requires_grad=False)
    return x, W, b


# --------------------------------------------------------------------------- arithmetic
class _Arithmetic(Function):
    """A binary operator: ``apply`` takes numbers and arrays as constant operands, as ``+`` does.

    (A user-defined Function passes numbers through to ``forward`` instead; the arithmetic
    operations read both operands from the node, so both must be Values.)
    """

    @classmethod
    def apply(cls, a: Any, b: Any) -> Value:  # type: ignore[override]
        return super().apply(_operand(a, cls), _operand(b, cls))


def _operand(x: Any, fn: type[Function]) -> Value:
    if isinstance(x, Value):
        return x
    if is_operand(x):  # a number or an array: a constant
        return Value(x, requires_grad=False)
    raise TypeError(f"{fn.op_name}: unsupported operand type {type(x).__name__!r}")


@register("add", method="__add__", reflected="__radd__", samples=_binary_samples(),
          torch=lambda a, b: a + b)
class Add(_Arithmetic):
    """``a + b``.

    >>> (Value(2.0) + 3).data
    5.0
    """

    symbol = "+"

    @staticmethod
    def forward(ctx: Value, a: Any, b: Any) -> Any:
        return a + b

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, Any]:
        return grad, grad

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, Value]:
        return grad, grad


@register("sub", method="__sub__", reflected="__rsub__", samples=_binary_samples(),
          torch=lambda a, b: a - b)
class Sub(_Arithmetic):
    """``a - b``.

    >>> (Value(2.0) - 3).data
    -1.0
    """

    symbol = "-"

    @staticmethod
    def forward(ctx: Value, a: Any, b: Any) -> Any:
        return a - b

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, Any]:
        return grad, -grad

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, Value]:
        return grad, -grad


@register("neg", method="__neg__", samples=_unary_samples(), torch=lambda a: -a)
class Neg(Function):
    """``-a``.

    >>> (-Value(2.0)).data
    -2.0
    """

    symbol = "-"

    @staticmethod
    def forward(ctx: Value, a: Any) -> Any:
        return -a

    @staticmethod
    def backward(ctx: Value, grad: Any) -> Any:
        return -grad

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> Value:
        return -grad


@register("mul", method="__mul__", reflected="__rmul__", samples=_binary_samples(),
          torch=lambda a, b: a * b)
class Mul(_Arithmetic):
    """``a * b``.

    >>> (Value(2.0) * 3).data
    6.0
    """

    symbol = "*"

    @staticmethod
    def forward(ctx: Value, a: Any, b: Any) -> Any:
        return a * b

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, Any]:
        # the operands themselves, rather than copies saved in forward: one allocation less
        a, b = ctx.parents
        return grad * b.data, grad * a.data

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, Value]:
        a, b = ctx.parents
        return grad * b, grad * a


@register("div", method="__truediv__", reflected="__rtruediv__",
          samples=_binary_samples(b_lo=0.5, b_hi=2.0, b_signed=True), torch=lambda a, b: a / b)
class Div(_Arithmetic):
    """``a / b`` (division by zero gives inf or NaN with a warning, as numpy).

    >>> (Value(3.0) / 2).data
    1.5
    """

    symbol = "/"

    @staticmethod
    def forward(ctx: Value, a: Any, b: Any) -> Any:
        return _div(a, b)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, Any]:
        a, b = (p.data for p in ctx.parents)  # the operands, as in Mul
        ga = _div(grad, b)
        return ga, -ga * _div(a, b)

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, Value]:
        a, b = ctx.parents
        ga = grad / b
        return ga, -ga * a / b


def _pow_const_samples(rng: np.random.Generator) -> list[Sample]:
    positive = _unary_samples(0.5, 2.0, args=(2.5,))(rng)
    return positive + _unary_samples(0.2, 2.0, signed=True, args=(3.0,))(rng)


@register("pow_const", method="__pow__", operator=True, samples=_pow_const_samples,
          torch=lambda a, p: a ** p)
class PowConst(Function):
    """``a ** p`` for a number ``p`` (an exponent that is a Value or an array makes a
    :class:`Pow` node).

    >>> (Value(3.0) ** 2).data
    9.0
    """

    symbol = "**"

    @classmethod
    def apply(cls, a: Any, p: Any) -> Value:  # type: ignore[override]
        if isinstance(p, (Value, np.ndarray)) or not isinstance(a, Value):
            return Pow.apply(a, p)
        return super().apply(a, float(p))

    @classmethod
    def label(cls, ctx: Value) -> str:
        """``**2``: the exponent is part of the operation's name in drawings."""
        return f"**{ctx.saved_values[1]:g}"

    @staticmethod
    def forward(ctx: Value, a: Any, p: float) -> Any:
        ctx.save_for_backward(a, p)
        return _pow(a, p)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, None]:
        a, p = ctx.saved_values
        if p == 0.0:  # a ** 0 is 1 everywhere, its derivative 0 (not 0 * 0 ** -1 = nan at 0)
            return 0.0, None
        return grad * p * _pow(a, p - 1.0), None

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, None]:
        (a,) = ctx.parents
        p = ctx.saved_values[1]
        if p == 0.0:
            return grad * 0.0, None
        return grad * p * a ** (p - 1.0), None


@register("pow", method=None, reflected="__rpow__",
          samples=_binary_samples(0.5, 2.0, -2.0, 2.0), torch=lambda a, b: a ** b)
class Pow(_Arithmetic):
    """``a ** b`` where the exponent ``b`` is a Value too.

    >>> (Value(2.0) ** Value(3.0)).data
    8.0
    """

    symbol = "**"

    @staticmethod
    def forward(ctx: Value, a: Any, b: Any) -> Any:
        return _pow(a, b) if type(b) is float else np.power(a, b)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, Any]:
        a, b = (p.data for p in ctx.parents)  # the operands, as in Mul
        out = ctx.data
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 ** -1 and log(0), masked below
            if need_a:  # a scalar base with a tensor exponent must not take the math.pow path
                ga = grad * b * (_pow(a, b - 1.0) if type(b) is float else np.power(a, b - 1.0))
                ga = _where(b == 0, 0.0, ga)  # d(a ** 0)/da = 0, as for a number exponent
            if need_b:  # at base 0 with an exponent >= 0, a ** b is flat in b: 0, not 0 * -inf
                gb = _where((a == 0) & (b >= 0), 0.0, grad * out * _log(a))
        return ga, gb

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value | None, Value | None]:
        a, b = ctx.parents
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        # where the formula is 0 * inf (a = 0 with b = 0; a = 0 with b >= 0 in log a), and the
        # first-order backward puts 0, a constant 1 is added to the base: finite, and 0 there
        if need_a:
            ga = grad * b * (a + _constant_where((a.data == 0) & (b.data == 0), a)) ** (b - 1.0)
        if need_b:
            gb = grad * ctx * (a + _constant_where((a.data == 0) & (b.data >= 0), a)).log()
        return ga, gb


def _where(mask: Any, value: float, x: Any) -> Any:
    """``x`` with ``value`` where ``mask`` holds (a float stays a float)."""
    if not np.any(mask):
        return x
    if type(x) is float:
        return value
    return np.where(mask, x.dtype.type(value), x)


def _matmul_samples(rng: np.random.Generator) -> list[Sample]:
    shapes = [((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (3,)),
              ((2, 2, 3), (3, 4)), ((2, 1, 2, 3), (3, 3, 2)), ((3,), (2, 3, 4)), ((2, 2, 3), (3,))]
    return [Sample((rng.normal(size=sa), rng.normal(size=sb))) for sa, sb in shapes]


@register("matmul", method="__matmul__", reflected="__rmatmul__", samples=_matmul_samples,
          torch=lambda a, b: a @ b)
class MatMul(_Arithmetic):
    """``a @ b`` with numpy's rules: a dot product of vectors, matrix products, and stacks of
    matrices (N-d operands, their leading axes broadcast).

    >>> (Value(np.array([1.0, 2.0])) @ np.array([3.0, 4.0])).data
    11.0
    >>> (Value(np.ones((5, 2, 3))) @ np.ones((3, 4))).shape
    (5, 2, 4)
    """

    symbol = "@"

    @staticmethod
    def forward(ctx: Value, a: Any, b: Any) -> Any:
        na, nb = np.ndim(a), np.ndim(b)
        if na == 0 or nb == 0:
            raise ValueError(f"@ needs operands of 1 or more dimensions, got {na}-D and {nb}-D "
                             "(use * for a number)")
        inner = b.shape[0] if nb == 1 else b.shape[-2]
        if a.shape[-1] != inner:
            raise ValueError(
                f"@: shapes {a.shape} and {b.shape} are not aligned "
                f"({a.shape[-1]} columns on the left, {inner} rows on the right)"
            )
        ctx.save_for_backward(a, b)
        return a @ b

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, Any]:
        a, b = ctx.saved_values
        need_a, need_b = ctx.needs_input_grad
        # as matrices: a vector on the left is a row (1, k), on the right a column (k, 1)
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g2 = np.asarray(grad).reshape(np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
                                      + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None
        if need_a:
            ga = g2 @ np.swapaxes(b2, -1, -2)
            ga = ga[..., 0, :] if a.ndim == 1 else ga
            # summed over the stack axes a was broadcast along (in the shape of the whole
            # batch, which is what fit_grad sums back)
            ga = fit_grad(ga, a, "@", ga.shape)
        if need_b:
            gb = np.swapaxes(a2, -1, -2) @ g2
            gb = gb[..., 0] if b.ndim == 1 else gb
            gb = fit_grad(gb, b, "@", gb.shape)
        return ga, gb

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value | None, Value | None]:
        a, b = ctx.parents
        need_a, need_b = ctx.needs_input_grad
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
        g2 = grad.reshape(batch + (a2.shape[-2], b2.shape[-1]))
        ga = gb = None  # (summed back over broadcast stack axes by the engine)
        if need_a:
            ga = g2 @ _swap_last(b2)
            ga = ga.reshape(ga.shape[:-2] + (ga.shape[-1],)) if a.ndim == 1 else ga
        if need_b:
            gb = _swap_last(a2) @ g2
            gb = gb.reshape(gb.shape[:-1]) if b.ndim == 1 else gb
        return ga, gb


# --------------------------------------------------------------------------- elementwise
@register("relu", activation=True, expression=True, samples=_unary_samples(0.1, 2.0, True),
          torch=lambda a: a.relu())
class ReLU(Function):
    """``max(0, a)``; the gradient at exactly 0 is 0, and at NaN the gradient passes (as in
    PyTorch).

    >>> (Value(-2.0).relu()).data
    0.0
    """

    symbol = "relu"
    micrograd_op = "ReLU"  # Value._op, micrograd's name for it

    @staticmethod
    def forward(ctx: Value, a: Any) -> Any:
        if type(a) is float:
            return 0.0 if a <= 0.0 else a  # NaN passes through, as np.maximum does
        return np.maximum(a, 0)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> Any:
        out = ctx.data  # 0 where the input was <= 0, else the input itself (NaN included)
        if type(out) is float:
            return 0.0 if out == 0.0 else grad
        return grad * (out != 0)

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> Value:
        return grad * _mask(ctx.data != 0, ctx)


def _torch_leaky_relu(a: Any, slope: float = 0.01) -> Any:
    return _torch().nn.functional.leaky_relu(a, slope)


def _leaky_relu_samples(rng: np.random.Generator) -> list[Sample]:
    return _unary_samples(0.1, 2.0, True)(rng) + _unary_samples(0.1, 2.0, True, (0.2,))(rng)


@register("leaky_relu", activation=True, expression=True, samples=_leaky_relu_samples,
          torch=_torch_leaky_relu)
class LeakyReLU(Function):
    """``a`` where positive, ``slope * a`` elsewhere.

    >>> (Value(-2.0).leaky_relu(0.1)).data
    -0.2
    """

    symbol = "leaky_relu"

    @staticmethod
    def arguments(slope: float = 0.01) -> tuple[float]:
        return (float(slope),)

    @staticmethod
    def forward(ctx: Value, a: Any, slope: float) -> Any:
        ctx.save_for_backward(a, slope)
        if type(a) is float:
            return a if a > 0.0 else slope * a
        return np.where(a > 0, a, slope * a).astype(a.dtype, copy=False)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, None]:
        a, slope = ctx.saved_values
        if type(a) is float:
            return (grad if a > 0.0 else slope * grad), None
        return grad * np.where(a > 0, 1.0, slope).astype(a.dtype, copy=False), None

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, None]:
        a, slope = ctx.saved_values
        return grad * _constant(np.where(np.asarray(a) > 0, 1.0, slope), ctx), None


@register("tanh", activation=True, expression=True, samples=_unary_samples(),
          torch=lambda a: a.tanh())
class Tanh(Function):
    """Hyperbolic tangent.

    >>> (Value(0.0).tanh()).data
    0.0
    """

    symbol = "tanh"

    @staticmethod
    def forward(ctx: Value, a: Any) -> Any:
        return math.tanh(a) if type(a) is float else np.tanh(a)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> Any:
        out = ctx.data
        return grad * (1.0 - out * out)

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> Value:
        return grad * (1.0 - ctx * ctx)  # ctx is the output tanh(a), a Value in the graph


@register("sigmoid", activation=True, expression=True, samples=_unary_samples(-4.0, 4.0),
          torch=lambda a: a.sigmoid())
class Sigmoid(Function):
    """Logistic sigmoid ``1 / (1 + exp(-a))``.

    >>> (Value(0.0).sigmoid()).data
    0.5
    """

    symbol = "sigmoid"

    @staticmethod
    def forward(ctx: Value, a: Any) -> Any:
        return _sigmoid(a)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> Any:
        out = ctx.data
        return grad * out * (1.0 - out)

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> Value:
        return grad * ctx * (1.0 - ctx)


@register("exp", expression=True, samples=_unary_samples(), torch=lambda a: a.exp())
class Exp(Function):
    """``e ** a``.

    >>> (Value(0.0).exp()).data
    1.0
    """

    symbol = "exp"

    @staticmethod
    def forward(ctx: Value, a: Any) -> Any:
        return _exp(a)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> Any:
        out = ctx.data
        return grad * out

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> Value:
        return grad * ctx


@register("log", expression=True, samples=_unary_samples(0.2, 3.0), torch=lambda a: a.log())
class Log(Function):
    """Natural logarithm.

    >>> (Value(1.0).log()).data
    0.0
    """

    symbol = "log"

    @staticmethod
    def forward(ctx: Value, a: Any) -> Any:
        return _log(a)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> Any:
        (a,) = ctx.parents
        return _div(grad, a.data)

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> Value:
        (a,) = ctx.parents
        return grad / a


@register("abs", expression=True, samples=_unary_samples(0.1, 2.0, True), torch=lambda a: a.abs())
class Abs(Function):
    """``|a|``; the gradient at exactly 0 is 0.

    >>> (Value(-2.0).abs()).data
    2.0
    """

    symbol = "abs"

    @staticmethod
    def forward(ctx: Value, a: Any) -> Any:
        return abs(a)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> Any:
        a = ctx.parents[0].data
        if type(a) is float:
            return grad * (1.0 if a > 0 else -1.0 if a < 0 else 0.0 if a == 0 else math.nan)
        return grad * np.sign(a)

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> Value:
        (a,) = ctx.parents
        return grad * _constant(np.sign(a.data), ctx)


@register("sqrt", expression=True, samples=_unary_samples(0.2, 3.0), torch=lambda a: a.sqrt())
class Sqrt(Function):
    """Square root.

    >>> (Value(9.0).sqrt()).data
    3.0
    """

    symbol = "sqrt"

    @staticmethod
    def forward(ctx: Value, a: Any) -> Any:
        return _sqrt(a)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> Any:
        out = ctx.data
        return _div(grad, 2.0 * out)

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> Value:
        return grad / (2.0 * ctx)


# --------------------------------------------------------------------------- reductions
def _axis(axis: Any) -> int | tuple[int, ...] | None:
    if axis is None or isinstance(axis, (int, np.integer)):
        return None if axis is None else int(axis)
    return tuple(int(a) for a in axis)


def _check_scalar_axis(axis: Any) -> None:
    """On a scalar (0-d) Value, axis 0 and -1 mean the only axis there is, as dim 0 and -1 in
    PyTorch; any other axis is numpy's AxisError."""
    for ax in axis if isinstance(axis, tuple) else () if axis is None else (axis,):
        if ax not in (0, -1):
            raise AxisError(f"axis {ax} is out of bounds for a scalar (use 0, -1 or None)")


def _reduction_arguments(axis: int | tuple[int, ...] | None = None,
                         keepdims: bool = False) -> tuple[Any, bool]:
    return _axis(axis), bool(keepdims)


def _reduction_samples(distinct: bool = False) -> Samples:
    """A scalar, then a matrix reduced over all axes, each axis, and with keepdims."""
    def samples(rng: np.random.Generator) -> list[Sample]:
        def matrix() -> np.ndarray:  # distinct entries keep max() away from ties
            return rng.permutation(6).reshape(2, 3) * 0.5 - 1.2 if distinct else rng.normal(
                size=(2, 3))
        return [Sample((float(rng.normal()),)), Sample((matrix(),)),
                Sample((matrix(),), kwargs={"axis": 0}),
                Sample((matrix(),), kwargs={"axis": 1, "keepdims": True}),
                Sample((matrix(),), kwargs={"axis": (0, 1)}),
                Sample((rng.normal(size=(3,)),), kwargs={"axis": -1})]
    return samples


def _torch_reduce(name: str) -> Callable[..., Any]:
    def reduce(a: Any, axis: Any = None, keepdims: bool = False) -> Any:
        if axis is None:
            return getattr(a, name)()
        return getattr(a, "amax" if name == "max" else name)(dim=axis, keepdim=keepdims)
    return reduce


def _reduced_size(shape: tuple[int, ...], axis: Any) -> int:
    """How many elements each result of a reduction over ``axis`` combines."""
    axes = range(len(shape)) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    return int(np.prod([shape[ax] for ax in axes]))


def _expand(grad: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Put back the axes a reduction removed; the engine broadcasts the rest."""
    if axis is not None and not keepdims and shape:
        grad = np.expand_dims(grad, axis)
    return grad


@register("sum", samples=_reduction_samples(), torch=_torch_reduce("sum"))
class Sum(Function):
    """Sum over ``axis`` (``None``: all axes, giving a scalar).

    >>> (Value(np.ones((2, 3))).sum(axis=0)).data
    array([2., 2., 2.])
    """

    symbol = "sum"
    arguments = staticmethod(_reduction_arguments)

    @staticmethod
    def forward(ctx: Value, a: Any, axis: Any, keepdims: bool) -> Any:
        ctx.save_for_backward(np.shape(a), axis, keepdims)
        if type(a) is float:
            _check_scalar_axis(axis)
            return a
        return _sum(a, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, None, None]:
        shape, axis, keepdims = ctx.saved_values
        return _expand(grad, shape, axis, keepdims), None, None

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, None, None]:
        shape, axis, keepdims = ctx.saved_values
        return _expand_value(grad, shape, axis, keepdims), None, None


@register("mean", samples=_reduction_samples(), torch=_torch_reduce("mean"))
class Mean(Function):
    """Mean over ``axis`` (``None``: all axes, giving a scalar).

    >>> (Value(np.array([1.0, 3.0])).mean()).data
    2.0
    """

    symbol = "mean"
    arguments = staticmethod(_reduction_arguments)

    @staticmethod
    def forward(ctx: Value, a: Any, axis: Any, keepdims: bool) -> Any:
        if type(a) is float:
            _check_scalar_axis(axis)
            ctx.save_for_backward((), axis, keepdims, 1)
            return a
        out = _sum(a, axis=axis, keepdims=keepdims)  # sum / n: faster than ndarray.mean
        n = a.size // max(np.size(out), 1) if a.size else _reduced_size(a.shape, axis)
        ctx.save_for_backward(a.shape, axis, keepdims, n)
        if type(out) is np.ndarray:  # (n = 0: nan with numpy's warning, as np.mean)
            return out / a.dtype.type(n)
        return _div(float(out), float(n))

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, None, None]:
        shape, axis, keepdims, n = ctx.saved_values
        return _expand(_div(grad, n), shape, axis, keepdims), None, None  # (n = 0: nan)

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, None, None]:
        shape, axis, keepdims, n = ctx.saved_values
        return _expand_value(grad / float(n), shape, axis, keepdims), None, None


@register("max", samples=_reduction_samples(distinct=True), torch=_torch_reduce("max"))
class Max(Function):
    """Maximum over ``axis``; tied maxima share the gradient equally.

    >>> (Value(np.array([1.0, 3.0])).max()).data
    3.0
    """

    symbol = "max"
    arguments = staticmethod(_reduction_arguments)

    @staticmethod
    def forward(ctx: Value, a: Any, axis: Any, keepdims: bool) -> Any:
        if type(a) is float:
            _check_scalar_axis(axis)
            ctx.save_for_backward(None, axis, keepdims)
            return a
        out = a.max(axis=axis, keepdims=True)
        mask = a == out
        ctx.save_for_backward(mask / mask.sum(axis=axis, keepdims=True), axis, keepdims)
        return out if keepdims else np.squeeze(out, axis=axis)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, None, None]:
        share, axis, keepdims = ctx.saved_values
        if share is None:
            return grad, None, None
        if axis is not None and not keepdims:
            grad = np.expand_dims(grad, axis)
        return grad * share, None, None

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, None, None]:
        share, axis, keepdims = ctx.saved_values
        if share is None:
            return grad, None, None
        return _expand_value(grad, share.shape, axis, keepdims) * _constant(share, ctx), None, None


# --------------------------------------------------------------------------- shapes
def _reshape_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((rng.normal(size=(2, 3)),), (3, 2)), Sample((rng.normal(size=6),), ((2, -1),))]


@register("reshape", samples=_reshape_samples, torch=lambda a, *shape: a.reshape(*shape))
class Reshape(Function):
    """The same elements in a new shape (``-1`` infers one dimension).

    >>> Value(np.arange(6.0)).reshape(2, 3).shape
    (2, 3)
    """

    symbol = "reshape"

    @staticmethod
    def arguments(*shape: int | tuple[int, ...]) -> tuple[tuple[int, ...]]:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return (tuple(int(s) for s in shape),)  # type: ignore[arg-type]

    @staticmethod
    def forward(ctx: Value, a: Any, shape: tuple[int, ...]) -> Any:
        ctx.save_for_backward(np.shape(a))
        return np.reshape(a, shape)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, None]:
        (shape,) = ctx.saved_values
        return np.reshape(grad, shape), None

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, None]:
        (shape,) = ctx.saved_values
        return grad.reshape(shape), None


def _transpose_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((rng.normal(size=(2, 3)),)), Sample((rng.normal(size=(2, 3, 4)),), (1, 0, 2))]


def _torch_transpose(a: Any, *axes: int) -> Any:
    return a.permute(*(axes or reversed(range(a.ndim))))


@register("transpose", samples=_transpose_samples, torch=_torch_transpose)
class Transpose(Function):
    """Permute the axes (reverse them when none are given).

    >>> Value(np.ones((2, 3))).T.shape
    (3, 2)
    """

    symbol = "transpose"

    @staticmethod
    def arguments(*axes: int | tuple[int, ...]) -> tuple[tuple[int, ...] | None]:
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return (tuple(axes) if axes else None,)  # type: ignore[arg-type]

    @staticmethod
    def forward(ctx: Value, a: Any, axes: Any) -> Any:
        out = np.transpose(a, axes)  # validates the axes first
        if axes is not None:  # argsort in backward needs them non-negative
            axes = tuple(ax % np.ndim(a) for ax in axes)
        ctx.save_for_backward(axes)
        return out

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, None]:
        (axes,) = ctx.saved_values
        return np.transpose(grad, None if axes is None else np.argsort(axes)), None

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, None]:
        (axes,) = ctx.saved_values
        return grad.transpose(*(() if axes is None else np.argsort(axes).tolist())), None


@register("astype", samples=lambda rng: [Sample((rng.normal(size=(2, 3)),), (np.float64,))],
          torch=lambda a, dtype: a.double())
class Cast(Function):
    """The same values as float32 or float64 (gradients flow back in the original dtype).

    >>> Value(np.ones(2)).astype(np.float32).dtype
    dtype('float32')
    """

    symbol = "astype"

    @staticmethod
    def arguments(dtype: Any) -> tuple[np.dtype]:
        dtype = np.dtype(dtype)
        if dtype.kind != "f" or dtype.itemsize not in (4, 8):
            raise TypeError(f"a Value holds float32 or float64 data, not {dtype}")
        return (dtype,)

    @staticmethod
    def forward(ctx: Value, a: Any, dtype: np.dtype) -> Any:
        if type(a) is float:
            raise ValueError("a scalar Value is always float64; cast tensors only")
        return a.astype(dtype)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, None]:
        return grad, None  # the engine casts it back to the operand's dtype

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, None]:
        (a,) = ctx.parents
        return grad.astype(a.dtype), None


def _getitem_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((float(rng.normal()),), (None,)), Sample((float(rng.normal()),), (...,)),
            Sample((rng.normal(size=4),), (1,)),
            Sample((rng.normal(size=(3, 4)),), ((slice(0, 2), 1),)),
            Sample((rng.normal(size=(3, 4)),), (np.array([0, 2, 0]),))]  # a repeated row


@register("getitem", method="__getitem__", samples=_getitem_samples,
          torch=lambda a, index: a[index])
class GetItem(Function):
    """``a[index]`` with ints, slices, integer arrays, ``None`` (a new axis) and ``...``.

    Its backward returns an :class:`~tinygrad_mlp.engine.IndexGrad`: the engine adds it into
    the operand's gradient at ``index`` only, so picking one weight out of a matrix costs
    constant work in ``backward()``.

    >>> (Value(np.array([1.0, 2.0, 3.0]))[1]).data
    2.0
    """

    symbol = "[]"

    @staticmethod
    def arguments(index: Any) -> tuple[Any]:
        if isinstance(index, Value):
            raise TypeError("index with ints, slices or integer arrays, not with a Value")
        return (index,)

    @staticmethod
    def forward(ctx: Value, a: Any, index: Any) -> Any:
        if type(a) is float:  # a 0-d array takes None and ... only: numpy's IndexError else
            items = index if type(index) is tuple else (index,)
            if not all(i is None or i is Ellipsis for i in items):
                raise IndexError(f"a scalar Value has no axes to index with {index!r} "
                                 "(only None and ... apply to it)")
            a = np.asarray(a)
        out = a[index]
        # The index itself is kept as saved_values (not in a tuple): a model's scalar call
        # style makes one of these nodes per weight, so each allocation saved counts.
        ctx.saved_values = index
        return out if type(out) is np.ndarray else float(out)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, None]:
        index = ctx.saved_values
        basic = type(grad) is float or is_basic_index(index)  # one element, or no arrays
        return IndexGrad(index, grad, basic), None

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, None]:
        (a,) = ctx.parents
        return ScatterAdd.apply(grad, ctx.saved_values, a.shape), None


def _scatter_add_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((float(rng.normal()),), ((1,), (3,))),
            Sample((rng.normal(size=(2, 4)),), ((slice(0, 2),), (3, 4))),
            Sample((rng.normal(size=(3, 4)),), ((np.array([0, 2, 0]),), (3, 4)))]


def _torch_scatter_add(g: Any, index: Any, shape: tuple[int, ...]) -> Any:
    torch = _torch()
    index = tuple(torch.as_tensor(i) if isinstance(i, np.ndarray) else i for i in index)
    out = torch.zeros(shape, dtype=g.dtype)
    if any(isinstance(i, torch.Tensor) for i in index):
        return out.index_put(index, g, accumulate=True)
    out[index] = out[index] + g
    return out


@register("scatter_add", method=None, samples=_scatter_add_samples, torch=_torch_scatter_add)
class ScatterAdd(Function):
    """``g`` added into zeros of ``shape`` at ``index`` (repeated positions add up): the
    adjoint of indexing, which is what differentiating ``GetItem``'s backward needs.

    >>> ScatterAdd.apply(Value(np.array([1.0, 2.0])), (np.array([0, 0]),), (3,)).data
    array([3., 0., 0.])
    """

    symbol = "scatter_add"

    @staticmethod
    def forward(ctx: Value, g: Any, index: Any, shape: tuple[int, ...]) -> Any:
        ctx.save_for_backward(index)
        out = np.zeros(shape, dtype=np.result_type(g))
        IndexGrad(index, g).add_into(out)
        return out

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, None, None]:
        (index,) = ctx.saved_values
        picked = np.asarray(grad)[index]
        return (picked if type(picked) is np.ndarray else float(picked)), None, None

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, None, None]:
        (index,) = ctx.saved_values
        return grad[index], None, None


# --------------------------------------------------------------------------- fused layers
def _torch_stack(*xs: Any) -> Any:
    return _torch().stack(xs)


@register("stack", method=None, torch=_torch_stack, samples=lambda rng: [
    Sample((float(rng.normal()), float(rng.normal()))),
    Sample((rng.normal(size=2), rng.normal(size=2), rng.normal(size=2)))])
class Stack(Function):
    """Stack Values of one shape along a new first axis: ``stack([a, b])`` has shape ``(2, ...)``.

    This turns the outputs of a model's scalar call style into one tensor, e.g. for a loss.

    >>> (Stack.apply(Value(1.0), Value(2.0))).data
    array([1., 2.])
    """

    symbol = "stack"

    @staticmethod
    def forward(ctx: Value, *xs: Any) -> Any:
        return np.stack([np.asarray(x) for x in xs])

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, ...]:
        return tuple(grad[i] for i in range(len(grad)))

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, ...]:
        return tuple(grad[i] for i in range(len(ctx.parents)))


def _linear_samples(rng: np.random.Generator) -> list[Sample]:
    return [Sample((rng.normal(size=(4, 3)), rng.normal(size=(2, 3)), rng.normal(size=2))),
            Sample((rng.normal(size=3), rng.normal(size=(2, 3)), rng.normal(size=2)))]


def _torch_linear(x: Any, W: Any, b: Any) -> Any:
    return _torch().nn.functional.linear(x, W, b)


@register("linear", method=None, samples=_linear_samples, torch=_torch_linear)
class Linear(Function):
    """The fused affine map of a layer: ``x @ W.T + b`` with ``W`` of shape ``(out, in)``.

    >>> (Linear.apply(np.ones((1, 2)), Value(np.ones((3, 2))), Value(np.zeros(3)))).data
    array([[2., 2., 2.]])
    """

    symbol = "linear"

    @staticmethod
    def forward(ctx: Value, x: Any, W: Any, b: Any) -> Any:
        if type(x) is float or x.ndim not in (1, 2) or x.shape[-1] != W.shape[1]:
            raise ValueError(
                f"linear: input of shape {np.shape(x)} does not fit weights of shape {W.shape} "
                f"(expected (N, {W.shape[1]}) or ({W.shape[1]},))"
            )
        if len(ctx.parents) < 3:  # an integer input or a number bias, passed through as is
            ctx.save_for_backward(x, W)
        return x @ W.T + b

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, Any, Any]:
        parents = ctx.parents
        if len(parents) == 3:  # the usual case: read the operands themselves, as Mul does
            xv, Wv, bv = parents
            x, W = xv.data, Wv.data
            need_x, need_W, need_b = xv.requires_grad, Wv.requires_grad, bv.requires_grad
        else:
            x, W = ctx.saved_values
            need_x, need_W, need_b = ctx.needs_input_grad
        gx = grad @ W if need_x else None
        if x.ndim == 1:
            gW = np.outer(grad, x) if need_W else None
            gb = grad if need_b else None
        else:
            gW = grad.T @ x if need_W else None
            gb = _sum(grad, axis=0) if need_b else None
        return gx, gW, gb

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value | None, ...]:
        x, W, b = (ctx.parents if len(ctx.parents) == 3 else _linear_operands(ctx))
        need_x, need_W, need_b = (v.requires_grad for v in (x, W, b))
        gx = grad @ W if need_x else None
        if x.ndim == 1:
            gW = grad.reshape(-1, 1) @ x.reshape(1, -1) if need_W else None
            gb = grad if need_b else None
        else:
            gW = grad.T @ x if need_W else None
            gb = grad.sum(axis=0) if need_b else None
        return gx, gW, gb


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


@register("log_softmax", method=None, torch=lambda a, axis: a.log_softmax(dim=axis),
          samples=lambda rng: [Sample((rng.normal(size=(2, 3)),), (-1,)),
                               Sample((rng.normal(size=(2, 3)),), (0,))])
class LogSoftmax(Function):
    """``log(softmax(x))`` along ``axis``, computed stably (shifted by the maximum).

    >>> np.round(LogSoftmax.apply(Value(np.zeros(2)), -1).data, 4)
    array([-0.6931, -0.6931])
    """

    symbol = "log_softmax"

    @staticmethod
    def forward(ctx: Value, x: Any, axis: int) -> Any:
        ctx.save_for_backward(axis)
        if type(x) is float:  # one number: its softmax is 1, the log 0
            _check_scalar_axis(axis)
            return 0.0
        return _log_softmax(x, axis)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, None]:
        (axis,) = ctx.saved_values
        out = ctx.data
        if type(out) is float:
            return grad - grad, None
        return grad - np.exp(out) * _sum(grad, axis=axis, keepdims=True), None

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, None]:
        (axis,) = ctx.saved_values
        if ctx.ndim == 0:
            return grad - grad, None
        return grad - ctx.exp() * grad.sum(axis=axis, keepdims=True), None


def _torch_cross_entropy(logits: Any, labels: Any, reduction: str) -> Any:
    return _torch().nn.functional.cross_entropy(logits, labels, reduction=reduction)


@register("cross_entropy", method=None, torch=_torch_cross_entropy, samples=lambda rng: [
    Sample((rng.normal(size=(4, 3)),), (np.array([0, 2, 1, 2]), reduction))
    for reduction in ("mean", "sum")])
class CrossEntropy(Function):
    """Mean or summed negative log-likelihood of integer ``labels`` under ``softmax(logits)``.

    Fused so that the gradient is the exact ``softmax - onehot``.

    >>> round(CrossEntropy.apply(Value(np.zeros((1, 2))), np.array([0]), 'mean').data, 4)
    0.6931
    """

    symbol = "cross_entropy"

    @staticmethod
    def forward(ctx: Value, logits: Any, labels: np.ndarray, reduction: str) -> Any:
        logp = _log_softmax(logits, -1)
        rows = np.arange(len(labels))
        ctx.save_for_backward(logp, labels, reduction)
        picked = -logp[rows, labels]
        return picked.mean() if reduction == "mean" else picked.sum()

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, None, None]:
        logp, labels, reduction = ctx.saved_values
        g = np.exp(logp)
        g[np.arange(len(labels)), labels] -= 1.0
        scale = grad / len(labels) if reduction == "mean" else grad
        return g * np.asarray(scale, dtype=g.dtype), None, None

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, None, None]:
        (logits,) = ctx.parents
        logp, labels, reduction = ctx.saved_values
        onehot = np.zeros_like(logp)
        onehot[np.arange(len(labels)), labels] = 1.0
        g = LogSoftmax.apply(logits, -1).exp() - _constant(onehot, ctx)
        scale = grad / float(len(labels)) if reduction == "mean" else grad
        return g * scale, None, None


def _torch_bce_with_logits(x: Any, y: Any) -> Any:
    return _torch().nn.functional.binary_cross_entropy_with_logits(x, y, reduction="none")


@register("bce_with_logits", method=None, torch=_torch_bce_with_logits, samples=lambda rng: [
    Sample((rng.normal(size=4),), (rng.uniform(0, 1, size=4),))])
class BCEWithLogits(Function):
    """Binary cross-entropy on logits, elementwise: ``max(x, 0) - x*y + log(1 + exp(-|x|))``.

    >>> round(float(BCEWithLogits.apply(Value(np.zeros(1)), np.ones(1)).data[0]), 4)
    0.6931
    """

    symbol = "bce_with_logits"

    @staticmethod
    def forward(ctx: Value, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, None]:
        x, y = ctx.saved_values
        return grad * (_sigmoid(x) - y), None

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, None]:
        x, y = ctx.parents
        return grad * (x.sigmoid() - y), None


def _torch_bce(p: Any, y: Any) -> Any:
    return _torch().nn.functional.binary_cross_entropy(p, y, reduction="none")


@register("bce", method=None, torch=_torch_bce, samples=lambda rng: [
    Sample((rng.uniform(0.1, 0.9, size=4),), (rng.uniform(0, 1, size=4),))])
class BCE(Function):
    """Binary cross-entropy on probabilities, elementwise, with logs clamped at -100.

    >>> round(float(BCE.apply(Value(np.array([0.5])), np.ones(1)).data[0]), 4)
    0.6931
    """

    symbol = "bce"

    @staticmethod
    def forward(ctx: Value, p: Any, y: Any) -> Any:
        ctx.save_for_backward(p, y)
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(p), -100.0)
            log_q = np.maximum(np.log(1.0 - p), -100.0)
        return -(y * log_p + (1.0 - y) * log_q)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, None]:
        p, y = ctx.saved_values
        return grad * (p - y) / np.maximum(p * (1.0 - p), 1e-12), None

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, None]:
        p, y = ctx.parents
        q = p * (1.0 - p)
        # the first-order backward clamps p(1 - p) at 1e-12: the same value, as a constant shift
        q = q + _constant(np.maximum(q.data, 1e-12) - q.data, ctx)
        return grad * (p - y) / q, None


def _torch_hinge(score: Any, y: Any, reduction: str) -> Any:
    losses = (1 - y * score).clamp(min=0)
    return losses.mean() if reduction == "mean" else losses.sum() if reduction == "sum" else losses


def _hinge_samples(rng: np.random.Generator) -> list[Sample]:
    y = np.array([1.0, -1.0, 1.0, -1.0])
    score = y * np.array([0.3, -0.5, 1.6, 0.2])  # margins 0.7, 1.5, -0.6, 0.8: no kink at 0
    return [Sample((score,), (y, reduction)) for reduction in ("mean", "sum", "none")]


@register("hinge", method=None, samples=_hinge_samples, torch=_torch_hinge)
class HingeLoss(Function):
    """The max-margin loss ``max(0, 1 - y * score)`` with labels ``y`` of ±1, then reduced.

    ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"`` (per sample).

    >>> (HingeLoss.apply(Value(np.array([0.5, 2.0])), np.array([1.0, 1.0]), 'mean')).data
    0.25
    """

    symbol = "hinge"

    @staticmethod
    def forward(ctx: Value, score: Any, y: Any, reduction: str) -> Any:
        margin = 1.0 - y * score
        active = margin > 0
        ctx.save_for_backward(y, active, reduction)
        losses = margin * active
        if reduction == "none":
            return losses
        total = float(_sum(losses, axis=None))
        return total / np.size(losses) if reduction == "mean" else total  # (a float for one score)

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, None, None]:
        y, active, reduction = ctx.saved_values
        if reduction == "mean":
            grad = grad / np.size(active)
        return -grad * y * active, None, None

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value, None, None]:
        y, active, reduction = ctx.saved_values
        if reduction == "mean":
            grad = grad / float(np.size(active))
        return -grad * _constant(np.asarray(y) * active, ctx), None, None


def _torch_sum_squares(scale: float, *params: Any) -> Any:
    return scale * sum((p * p).sum() for p in params)


@register("sum_squares", method=None, torch=_torch_sum_squares, samples=lambda rng: [
    Sample((rng.normal(size=(2, 3)), rng.normal(size=3)), before=(0.5,))])
class SumSquares(Function):
    """``scale * sum(p**2)`` over all elements of all operands: an L2 penalty in one node.

    >>> (SumSquares.apply(0.5, Value(np.array([1.0, 2.0])))).data
    2.5
    """

    symbol = "sum_squares"

    @staticmethod
    def forward(ctx: Value, scale: float, *params: Any) -> Any:
        ctx.save_for_backward(scale)
        return scale * float(sum([np.vdot(p, p) for p in params]))

    @staticmethod
    def backward(ctx: Value, grad: Any) -> tuple[Any, ...]:
        (scale,) = ctx.saved_values
        g = 2.0 * scale * grad
        return (None, *[g * p.data for p in ctx.parents])

    @staticmethod
    def backward_graph(ctx: Value, grad: Value) -> tuple[Value | None, ...]:
        (scale,) = ctx.saved_values
        return (None, *[grad * (2.0 * scale) * p for p in ctx.parents])

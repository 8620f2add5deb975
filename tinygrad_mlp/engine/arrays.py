"""What both engines do with raw data: floats and arrays, dtypes, broadcasting, gradient shapes.

Nothing here knows about the graph.  A :class:`Value` stores a Python ``float`` (a scalar) or a
float32/float64 ``ndarray`` (a tensor); :func:`as_data` makes one of those from what a user
gives, and :func:`fit_grad` sums a gradient back to the shape and dtype of its operand.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_mlp.engine.base import ValueBase

__all__ = [
    "as_data",
    "as_grad",
    "check_grad_count",
    "forward_error",
    "root_grad",
    "broadcast",
    "fit_grad",
    "forward_result",
    "is_basic_index",
    "is_float_dtype",
    "IndexGrad",
]

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_FLOAT_DTYPES = (_F32, _F64)


def is_float_dtype(dtype: np.dtype) -> bool:
    """True for float32 and float64, the dtypes a Value holds.

    >>> is_float_dtype(np.dtype("float32")), is_float_dtype(np.dtype("int64"))
    (True, False)
    """
    # identity first: the built-in dtype objects are shared, and "in" would compare with ==
    return dtype is _F64 or dtype is _F32 or dtype in _FLOAT_DTYPES


def as_data(x: Any, name: str = "data") -> float | np.ndarray:
    """Convert ``x`` to what a :class:`Value` stores: a Python float or a float ndarray.

    Numbers, numpy scalars and 0-d arrays become ``float``; float32/float64 arrays are kept as
    given; other array-likes become float64 arrays.

    >>> as_data(np.float64(2)), as_data([1, 2]).dtype
    (2.0, dtype('float64'))
    """
    t = type(x)
    if t is float:
        return x
    if t is np.ndarray:
        if x.ndim == 0:
            return float(x)
        if is_float_dtype(x.dtype):
            return x
        if x.dtype.kind in "biuf":
            return x.astype(np.float64)
        raise TypeError(f"{name} must be real numbers, got an array of dtype {x.dtype}")
    if isinstance(x, (int, float, np.integer, np.floating, np.bool_)):
        return float(x)
    if isinstance(x, ValueBase):
        raise TypeError(f"{name} is already a Value; use value.detach() or value.data")
    if isinstance(x, (list, tuple)) or hasattr(x, "__array__"):
        try:
            arr = np.asarray(x)
        except ValueError as e:  # ragged nested lists
            raise TypeError(f"{name} could not be made into an array: {e}") from None
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be real numbers, got an array of dtype {arr.dtype}")
        return as_data(arr, name)
    raise TypeError(f"{name} must be a number or an array of numbers, got {type(x).__name__}")


def as_grad(value: Any, data: float | np.ndarray) -> float | np.ndarray:
    """A gradient given by the user (``x.grad = value``) in the type, dtype and shape of ``data``.

    A Value (a gradient with a graph, from ``backward(create_graph=True)``) is kept as it is,
    if its shape fits.

    >>> as_grad(1, 2.0), as_grad([1, 2], np.zeros(2, np.float32)).dtype, as_grad(0, np.ones(2))
    (1.0, dtype('float32'), array([0., 0.]))
    """
    if isinstance(value, ValueBase):
        if value.shape != np.shape(data):
            raise ValueError(f"grad of shape {value.shape} does not match data of shape "
                             f"{np.shape(data)}")
        return value  # type: ignore[return-value]
    if type(data) is float:
        return float(value)
    if np.ndim(value) == 0:  # p.grad = 0 (micrograd's idiom): that number everywhere
        return np.full(data.shape, value, dtype=data.dtype)
    g = np.array(value, dtype=data.dtype, copy=True)
    if g.shape != data.shape:
        raise ValueError(f"grad of shape {g.shape} does not match data of shape {data.shape}")
    return g


def forward_result(data: Any, op: str) -> float | np.ndarray:
    """A forward's result as a Value keeps it (a float32/float64 array as given).

    >>> forward_result(np.float64(1.5), "sum"), forward_result(np.arange(2), "range").dtype
    (1.5, dtype('float64'))
    """
    if type(data) is float:
        return data
    if type(data) is not np.ndarray or not is_float_dtype(data.dtype) or data.ndim == 0:
        return as_data(data, f"the result of {op!r}")
    return data


class IndexGrad:
    """A gradient that touches only ``index`` of its operand: what indexing returns in backward.

    An operation's ``backward`` may return one instead of a dense array.  The engine adds
    ``value`` at ``index`` into the operand's gradient (repeated integer-array positions add
    up), so picking one element of a large tensor costs constant work; :meth:`dense` gives the
    same gradient as an ordinary array.

    >>> IndexGrad((1,), 5.0).dense(np.zeros(3))
    array([0., 5., 0.])
    """

    __slots__ = ("index", "value", "basic")

    def __init__(self, index: Any, value: Any, basic: bool | None = None) -> None:
        self.index = index
        self.value = value
        # no integer arrays in the index: no repeated positions, so ``+=`` is exact
        self.basic = is_basic_index(index) if basic is None else basic

    def add_into(self, buffer: np.ndarray) -> None:
        """Add this gradient into ``buffer`` (of the operand's shape) in place."""
        if self.basic:
            buffer[self.index] += self.value
        else:
            np.add.at(buffer, self.index, self.value)

    def dense(self, like: np.ndarray) -> np.ndarray:
        """The gradient as an array of ``like``'s shape and dtype (zero outside ``index``)."""
        out = np.zeros_like(like)
        self.add_into(out)
        return out


def is_basic_index(index: Any) -> bool:
    """True for an index of ints, slices, ``None`` and ``...`` only (no integer arrays).

    >>> is_basic_index((1, slice(None))), is_basic_index(([0, 0],))
    (True, False)
    """
    items = index if type(index) is tuple else (index,)
    return not any(isinstance(i, (np.ndarray, list)) for i in items)


def broadcast(g: Any, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A new array of ``shape`` and ``dtype`` filled by broadcasting ``g`` into it.

    (Faster than ``np.broadcast_to`` on small arrays, and the result is writable.)

    >>> broadcast(np.array([1.0, 2.0]), (2, 2), np.float64)
    array([[1., 2.],
           [1., 2.]])
    """
    out = np.empty(shape, dtype)
    out[...] = g
    return out


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    try:
        return np.broadcast_shapes(shape, target) == target
    except ValueError:
        return False


def fit_grad(g: Any, like: float | np.ndarray, op: str, out_shape: tuple[int, ...] = ()) -> Any:
    """Sum a gradient back to the shape and dtype of the operand ``like`` it belongs to.

    A gradient may have the operand's shape, the (broadcast) shape of the operation's output
    ``out_shape``, or a shape that broadcasts up to the operand's; anything else is an error in
    the operation's backward, never silently summed.  An :class:`IndexGrad` becomes dense.

    >>> fit_grad(np.ones((2, 3)), np.zeros(3), "+", (2, 3))
    array([2., 2., 2.])
    """
    if type(g) is IndexGrad:
        g = g.value if type(like) is float else g.dense(like)
    if type(like) is float:
        if type(g) is float:
            return g
        return float(np.sum(g))
    if type(g) is not np.ndarray:
        return broadcast(g, like.shape, like.dtype)
    if g.shape != like.shape:
        if g.shape != out_shape and not _broadcasts_to(g.shape, like.shape):
            raise ValueError(
                f"the backward of {op!r} returned a gradient of shape {g.shape} for an operand "
                f"of shape {like.shape} (its output has shape {out_shape})"
            )
        extra = g.ndim - like.ndim
        if extra > 0:
            g = g.sum(axis=tuple(range(extra)))
        if g.ndim == like.ndim:
            axes = tuple(i for i, n in enumerate(like.shape) if n == 1 and g.shape[i] != 1)
            if axes:
                g = g.sum(axis=axes, keepdims=True)
        if g.shape != like.shape:
            try:
                return broadcast(g, like.shape, like.dtype)
            except ValueError:
                raise ValueError(
                    f"the backward of {op!r} returned a gradient of shape {g.shape} "
                    f"for an operand of shape {like.shape}"
                ) from None
    if g.dtype != like.dtype:
        g = g.astype(like.dtype)
    return g


def root_grad(root: Any, grad: Any) -> Any:
    """The gradient ``root.backward(grad)`` starts from: 1.0 for a scalar root, else ``grad``
    checked against the root's shape and cast to its dtype.

    >>> from tinygrad_mlp import Value
    >>> root_grad(Value(2.0), None), root_grad(Value(np.ones(2)), [1, 2])
    (1.0, array([1., 2.]))
    """
    d = root.data
    if grad is None:
        if type(d) is not float:
            raise ValueError(
                f"backward() on a Value of shape {d.shape} needs a gradient of that shape; "
                "reduce it to a scalar first (e.g. .sum() or .mean()) or pass grad="
            )
        grad = 1.0
    else:
        grad = as_data(grad, "grad")
        gshape = () if type(grad) is float else grad.shape
        if gshape != root.shape:
            raise ValueError(
                f"backward(grad=...) got shape {gshape} for a Value of shape {root.shape}"
            )
        if type(d) is not float:
            grad = np.asarray(grad, dtype=d.dtype)
    if not root.requires_grad:
        raise RuntimeError(
            "backward() on a Value that does not require a gradient (a constant, or "
            "computed under no_grad())"
        )
    return grad


def check_grad_count(op: str, grads: Sequence[Any], nargs: int) -> None:
    """Raise ``TypeError`` unless a backward returned one gradient per argument of forward.

    >>> check_grad_count("Scale", (1.0,), 2)
    Traceback (most recent call last):
    ...
    TypeError: Scale.backward returned 1 gradient(s) for 2 input(s); return one per argument ...
    """
    if len(grads) != nargs:
        raise TypeError(
            f"{op}.backward returned {len(grads)} gradient(s) for {nargs} input(s); "
            "return one per argument of forward (None for those that need none)"
        )


def forward_error(op: str, operands: Sequence[Any], error: ValueError) -> ValueError:
    """The error to raise when a forward raised ``error``: it names the operands' shapes, and
    keeps the error's type (numpy's ``AxisError`` stays one).

    >>> forward_error("+", [np.ones(2), np.ones(3)], ValueError("bad shapes"))
    ValueError("'+' on operands of shapes (2,), (3,): bad shapes")
    """
    shapes = ", ".join(str(np.shape(x)) for x in operands)
    message = f"{op!r} on operands of shapes {shapes}: {error}"
    if type(error) is not ValueError:  # keep numpy's AxisError (a ValueError and IndexError)
        try:
            return type(error)(message)
        except Exception:  # an exception class that takes other arguments
            pass
    return ValueError(message)

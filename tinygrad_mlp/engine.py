"""The computation graph: :class:`Value`, :class:`Function` and ``backward()``.

A :class:`Value` holds ``data`` (a Python ``float`` or a ``numpy.ndarray``) and, once
``backward()`` has run, a ``grad`` of the same type, dtype and shape.  Every operation is a
:class:`Function` subclass with a static ``forward`` and ``backward``; ``Function.apply``
records the result as a new ``Value`` whose ``parents`` are its operands.

Design choices a reader should know about:

* The output node itself is the ``ctx`` passed to ``forward``/``backward``.  It stores the
  function class (not a closure) and raw saved arrays, so a graph only points from results to
  operands: there are no reference cycles and a finished step is freed by reference counting.
* ``backward()`` never recurses.  It counts how many consumers each node has, then walks
  from the root, handing a node to its own ``backward`` once every consumer has contributed.
* Gradients are summed back to each operand's shape and dtype in one place
  (:func:`_fit_grad`), so an operation's ``backward`` may return broadcast-shaped gradients.
* A scalar graph has one node per multiplication and addition, tens of thousands per training
  step, so a node is kept small: seven slots and no ``__dict__`` (see ``Value.__slots__``),
  one object for Python's garbage collector to look at, and the arithmetic operators record
  their common case without a second Python call (see :func:`_operator`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np

__all__ = ["Value", "Function", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly"]

_F = TypeVar("_F", bound=Callable[..., Any])


# --------------------------------------------------------------------------- modes
class _Mode(threading.local):
    """Per-thread switches: recording on/off and anomaly checking on/off."""

    grad_enabled = True
    anomaly = False


_mode = _Mode()
# How many switches are active in any thread.  While it is 0 (nearly always), recording skips
# the slower thread-local look-ups of ``_mode``.
_active_switches = 0


class _Switch:
    """A context manager that is also a decorator, setting one attribute of ``_mode``."""

    def __init__(self, attr: str, value: bool) -> None:
        self._attr = attr
        self._value = value
        self._saved: list[bool] = []

    def __enter__(self) -> _Switch:
        global _active_switches
        self._saved.append(getattr(_mode, self._attr))
        setattr(_mode, self._attr, self._value)
        _active_switches += 1
        return self

    def __exit__(self, *exc: object) -> None:
        global _active_switches
        setattr(_mode, self._attr, self._saved.pop())
        _active_switches -= 1

    def __call__(self, func: _F) -> _F:
        import functools
        import inspect

        attr, value = self._attr, self._value
        if inspect.isgeneratorfunction(func):
            # a generator's body runs at each next(), long after the call: switch around each
            @functools.wraps(func)
            def generator(*args: Any, **kwargs: Any) -> Any:
                gen = func(*args, **kwargs)
                try:
                    with _Switch(attr, value):
                        item = next(gen)
                    while True:
                        try:
                            sent = yield item
                        except GeneratorExit:
                            gen.close()
                            raise
                        except BaseException as exc:
                            with _Switch(attr, value):
                                item = gen.throw(exc)
                        else:
                            with _Switch(attr, value):
                                item = gen.send(sent)
                except StopIteration as stop:
                    return stop.value

            return generator  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _Switch(attr, value):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def no_grad() -> _Switch:
    """Turn graph recording off (per thread), as a context manager or a decorator.

    Results computed inside are plain constants: no parents, no gradient.

    >>> a = Value(2.0)
    >>> with no_grad():
    ...     b = a * 3
    >>> b.parents, b.requires_grad
    ((), False)
    """
    return _Switch("grad_enabled", False)


def enable_grad() -> _Switch:
    """Turn graph recording back on inside a ``no_grad`` block.

    >>> with no_grad():
    ...     with enable_grad():
    ...         c = Value(1.0) + 1
    >>> c.op
    '+'
    """
    return _Switch("grad_enabled", True)


def is_grad_enabled() -> bool:
    """Whether operations are being recorded in this thread.

    >>> is_grad_enabled()
    True
    """
    return _mode.grad_enabled


def detect_anomaly() -> _Switch:
    """Check every forward result and every gradient for NaN and inf (per thread).

    The first operation that produces one raises ``FloatingPointError`` naming it and the pass
    (forward or backward).  Use it as a context manager or a decorator.

    >>> with detect_anomaly():
    ...     Value(1e308) * 10
    Traceback (most recent call last):
    ...
    FloatingPointError: detect_anomaly: the forward pass of '*' produced inf ...
    """
    return _Switch("anomaly", True)


def _check_finite(x: Any, op: str, stage: str, operands: Sequence[Any]) -> None:
    if type(x) is float:
        bad = x != x or x in (float("inf"), float("-inf"))
    else:
        bad = not np.all(np.isfinite(x))
    if bad:
        what = "nan" if np.any(np.isnan(x)) else "inf"
        shown = ", ".join(_describe(v) for v in operands)
        raise FloatingPointError(
            f"detect_anomaly: the {stage} pass of {op!r} produced {what} "
            f"(its operands: {shown})"
        )


def _describe(x: Any) -> str:
    if isinstance(x, np.ndarray):
        return f"array of shape {x.shape}"
    return repr(x)


# --------------------------------------------------------------------------- data
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_FLOAT_DTYPES = (_F32, _F64)


def _is_float_dtype(dtype: np.dtype) -> bool:
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
        if _is_float_dtype(x.dtype):
            return x
        if x.dtype.kind in "biuf":
            return x.astype(np.float64)
        raise TypeError(f"{name} must be real numbers, got an array of dtype {x.dtype}")
    if isinstance(x, (int, float, np.integer, np.floating, np.bool_)):
        return float(x)
    if isinstance(x, Value):
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


class _IndexGrad:
    """A gradient that touches only ``index`` of its operand (from indexing).

    The engine adds it in place into the operand's gradient buffer, so picking one element of
    a large tensor costs constant work in ``backward()``.
    """

    __slots__ = ("index", "value", "basic")

    def __init__(self, index: Any, value: Any, basic: bool) -> None:
        self.index = index
        self.value = value
        self.basic = basic  # no integer arrays in the index: no repeated positions


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


def _fit_grad(g: Any, like: float | np.ndarray, op: str, out_shape: tuple[int, ...] = ()) -> Any:
    """Sum a gradient back to the shape and dtype of the operand it belongs to.

    A gradient may have the operand's shape, the (broadcast) shape of the operation's output
    ``out_shape``, or a shape that broadcasts up to the operand's; anything else is an error in
    the operation's backward, never silently summed.
    """
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


def _operator(name: str, reflected: bool = False) -> Callable[[Value, Any], Value]:
    """The method behind ``a <op> b`` (``b <op> a`` when ``reflected``) for the operation class
    ``name`` of :mod:`tinygrad_mlp.ops`: ``Function.apply`` for two operands, numbers and
    arrays lifted to constants.

    The common case (two operands that need a gradient, no ``no_grad`` or ``detect_anomaly``)
    is recorded right here rather than through :func:`_record`: it is the most frequent call of
    a scalar graph, and one Python frame fewer per node shows.  Every other case, and every
    error, goes through :func:`_record`.
    """
    fn: type[Function] | None = None  # looked up on first use: tinygrad_mlp.ops imports this

    def operator(self: Value, other: Any) -> Value:
        nonlocal fn
        if type(other) is not Value:
            lifted = _lift(other)
            if lifted is None:
                return _refuse(name, self, other, reflected)
            other = lifted
        if reflected:
            a, b = other, self
        else:
            a, b = self, other
        if fn is None:
            fn = getattr(_ops, name)
        rg = a._pending >= 0 or b._pending >= 0
        if _active_switches or not rg:
            return _record(fn, a, b, rg)
        out = _new(Value)
        out._grad = out._meta = None
        out._pending = 0
        out._a, out._b, out._fn = a, b, fn
        try:
            data = fn.forward(out, a.data, b.data)
        except ValueError:
            return _record(fn, a, b, rg)  # raises it again, naming the operands' shapes
        out.data = data if type(data) is float else _result(fn, data)
        return out

    operator.__name__ = f"__{'r' if reflected else ''}{_DUNDER[name]}__"
    operator.__qualname__ = f"Value.{operator.__name__}"
    symbol = _SYMBOL[name]
    operator.__doc__ = f"``other {symbol} self``" if reflected else f"``self {symbol} other``"
    return operator


_DUNDER = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "truediv", "MatMul": "matmul"}
_SYMBOL = {"Add": "+", "Sub": "-", "Mul": "*", "Div": "/", "MatMul": "@"}


def _refuse(name: str, value: Value, other: Any, reflected: bool) -> Any:
    """``NotImplemented`` for an unsupported operand, or a TypeError for a sequence.

    Python would otherwise try ``"ab" * value`` as sequence repetition and complain about the
    Value ("can't multiply sequence by non-int") instead of naming the operand's type.
    """
    if name == "Mul" and isinstance(other, (str, bytes, list, tuple)):
        left, right = (other, value) if reflected else (value, other)
        raise TypeError(
            f"unsupported operand type(s) for {_SYMBOL[name]}: {type(left).__name__!r} and "
            f"{type(right).__name__!r}"
        )
    return NotImplemented


def _result(fn: type[Function], data: Any) -> Any:
    """A forward's non-float result as a Value keeps it (a float32/float64 array as given)."""
    if type(data) is not np.ndarray or not _is_float_dtype(data.dtype) or data.ndim == 0:
        return as_data(data, f"the result of {fn.op_name!r}")
    return data


# --------------------------------------------------------------------------- Value
class Value:
    """A number or a numpy array that remembers how it was computed.

    ``data`` is a Python ``float`` (a scalar) or a float32/float64 ``ndarray`` (a tensor).
    ``grad`` has the same type, dtype and shape; it reads as zero until ``backward()`` fills it.
    Operations broadcast like numpy.  Values compare and hash by identity.

    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> c = a * b + a
    >>> c.backward()
    >>> c.data, a.grad, b.grad
    (-4.0, -2.0, 2.0)
    """

    # A scalar graph is made of tens of thousands of these, and every slot costs time to set,
    # memory, and a look from Python's garbage collector while the graph is alive; so a node
    # has only the slots every node uses:
    # - ``_a`` is the first operand (None for a leaf), ``_b`` the second (None for one operand,
    #   a tuple of the rest for three or more): two slots rather than a ``parents`` tuple, which
    #   would be one more object for the collector per node;
    # - ``_pending`` is -1 for a value that needs no gradient (``requires_grad`` reads it), and
    #   otherwise counts, during ``backward()``, the consumers yet to contribute (0 at rest);
    # - ``_meta`` is None, or a dict of what only some nodes have: "label", "role", "index",
    #   "saved" (``saved_values``) and "argpos" (where the operands are among the arguments).
    # There is no ``__dict__``: user-defined Functions make ``_Node`` values, which have one
    # for ``ctx.k = k``.
    __slots__ = ("data", "_grad", "_fn", "_a", "_b", "_pending", "_meta")
    __array_ufunc__ = None  # ndarray (op) Value defers to Value, never an object array

    data: float | np.ndarray

    def __init__(self, data: Any, label: str = "", *, requires_grad: bool = True) -> None:
        if type(data) is float:
            value = data
        else:
            value = as_data(data)
            if value is data and requires_grad and type(value) is np.ndarray:
                # a parameter: optimizers update it in place; the caller's array must not change
                value = value.copy()
        self.data = value
        self._grad = None
        self._meta = None if label == "" else {"label": str(label)}
        self._a = self._b = None
        self._fn = None
        self._pending = 0 if requires_grad else -1

    # ---------------------------------------------------------------- fields
    @property
    def grad(self) -> float | np.ndarray:
        """The gradient of the last ``backward()`` root with respect to this value."""
        g = self._grad
        if g is None:
            d = self.data
            g = 0.0 if type(d) is float else np.zeros_like(d)
            self._grad = g
        return g

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is None:
            self._grad = None
            return
        d = self.data
        if type(d) is float:
            self._grad = float(value)
            return
        g = np.array(value, dtype=d.dtype, copy=True)
        if g.shape != d.shape:
            raise ValueError(f"grad of shape {g.shape} does not match data of shape {d.shape}")
        self._grad = g

    @property
    def label(self) -> str:
        """The name shown for this node; a model's nodes default to it from role and index."""
        meta = self._meta
        if meta is None:
            return ""
        label = meta.get("label", "")
        if label or meta.get("role") is None:
            return label
        return _role_label(meta["role"], meta.get("index"))

    @label.setter
    def label(self, value: str) -> None:
        self._set_meta("label", str(value))

    @property
    def role(self) -> str | None:
        """``"weight"``, ``"bias"``, ``"z"``, ``"activation"`` or ``"input"`` in a model's graph."""
        return self._get_meta("role")

    @role.setter
    def role(self, value: str | None) -> None:
        self._set_meta("role", value)

    @property
    def index(self) -> tuple[int, ...] | None:
        """``(layer, neuron[, input])`` of a model's node, as in the notation ``w^(l)_jk``."""
        return self._get_meta("index")

    @index.setter
    def index(self, value: tuple[int, ...] | None) -> None:
        self._set_meta("index", value)

    def __copy__(self) -> Value:
        cls = type(self)
        new = cls.__new__(cls)
        for name in Value.__slots__:
            setattr(new, name, getattr(self, name))
        if self._meta is not None:  # the copy's label, role... are its own
            new._meta = dict(self._meta)
        if cls is not Value:
            new.__dict__.update(self.__dict__)
        return new

    def _get_meta(self, key: str, default: Any = None) -> Any:
        meta = self._meta
        return default if meta is None else meta.get(key, default)

    def _set_meta(self, key: str, value: Any) -> None:
        if self._meta is None:
            self._meta = {}
        self._meta[key] = value

    @property
    def parents(self) -> tuple[Value, ...]:
        """The operands of the operation that made this value, in order (``()`` for a leaf)."""
        a = self._a
        if a is None:
            return ()
        b = self._b
        if b is None:
            return (a,)
        if type(b) is tuple:
            return (a, *b)
        return (a, b)

    @property
    def has_grad(self) -> bool:
        """Whether a gradient has been set (reading ``.grad`` otherwise makes a zero one)."""
        return self._grad is not None

    @property
    def op(self) -> str:
        """Display name of the operation that made this value (``''`` for a leaf)."""
        fn = self._fn
        return "" if fn is None else fn.op_name

    @property
    def shape(self) -> tuple[int, ...]:
        """``()`` for a scalar, else ``data.shape``."""
        d = self.data
        return () if type(d) is float else d.shape

    @property
    def ndim(self) -> int:
        """Number of dimensions (0 for a scalar)."""
        d = self.data
        return 0 if type(d) is float else d.ndim

    @property
    def size(self) -> int:
        """Number of elements (1 for a scalar)."""
        d = self.data
        return 1 if type(d) is float else d.size

    @property
    def dtype(self) -> np.dtype:
        """``float64`` for a scalar, else ``data.dtype``."""
        d = self.data
        return np.dtype(np.float64) if type(d) is float else d.dtype

    @property
    def is_leaf(self) -> bool:
        """True for values made by the user rather than by an operation."""
        return self._fn is None

    @property
    def function(self) -> type[Function] | None:
        """The :class:`Function` subclass that produced this value, or ``None``."""
        return self._fn

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to this value (False for constants such as inputs and targets,
        and for results computed from constants only or under ``no_grad()``)."""
        return self._pending >= 0

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self._fn is not None:
            raise ValueError("requires_grad can be changed on leaves only, not on a computed value")
        self._pending = 0 if value else -1

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        """For each argument of the operation that made this value: does it need a gradient?"""
        flags = tuple([p._pending >= 0 for p in self.parents])
        argpos = self._get_meta("argpos")
        if argpos is None:
            return flags
        positions, nargs = argpos
        out = [False] * nargs
        for i, flag in zip(positions, flags):
            out[i] = flag
        return tuple(out)

    @property
    def saved_values(self) -> Any:
        """What the operation's ``forward`` kept with ``ctx.save_for_backward(...)``."""
        return self._get_meta("saved", ())

    @saved_values.setter
    def saved_values(self, values: Any) -> None:
        self._set_meta("saved", values)

    def save_for_backward(self, *values: Any) -> None:
        """Keep raw floats/arrays for the ``backward`` of the operation that made this value."""
        self._set_meta("saved", values)

    def item(self) -> float:
        """The value as a Python float (a tensor must have exactly one element)."""
        d = self.data
        if type(d) is float:
            return d
        if d.size != 1:
            raise ValueError(f"item() needs a single element, this Value has shape {d.shape}")
        return float(d.reshape(-1)[0])

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (a 0-d array for a scalar)."""
        return np.asarray(self.data)

    def detach(self) -> Value:
        """A new leaf sharing this value's data, outside the graph and with no gradient."""
        return Value(self.data, self.label, requires_grad=False)

    def __repr__(self) -> str:
        d = self.data
        parts = [f"data={d!r}" if type(d) is float else f"shape={d.shape}, dtype={d.dtype}"]
        if type(d) is float and self._grad is not None:
            parts.append(f"grad={self._grad!r}")
        if self.label:
            parts.append(f"label={self.label!r}")
        if self._fn is not None:
            parts.append(f"op={self.op!r}")
        if not self.requires_grad:
            parts.append("requires_grad=False")
        if type(d) is not float:
            with np.printoptions(precision=4, threshold=8, edgeitems=2):
                parts.insert(0, np.array2string(d, separator=", ").replace("\n", ""))
        return f"Value({', '.join(parts)})"

    def __len__(self) -> int:
        if type(self.data) is float:
            raise TypeError("len() of a scalar Value")
        return len(self.data)

    def __bool__(self) -> bool:
        raise TypeError(
            "the truth value of a Value is ambiguous; compare value.data or use value.item()"
        )

    # ---------------------------------------------------------------- graph walks
    def graph(self) -> list[Value]:
        """Every node this value depends on, itself included, operands before results.

        The order is deterministic (a depth-first walk in operand order) and found without
        recursion.

        >>> a = Value(1.0); b = a + a
        >>> [v.op for v in b.graph()]
        ['', '+']
        """
        order: list[Value] = []
        seen = {self}
        stack: list[tuple[Value, Iterator[Value]]] = [(self, iter(self.parents))]
        while stack:
            node, operands = stack[-1]
            for p in operands:  # resumes where this node's walk left off
                if p not in seen:
                    seen.add(p)
                    stack.append((p, iter(p.parents)))
                    break
            else:
                stack.pop()
                order.append(node)
        return order

    def backward(self, grad: Any = None, *, on_node: Callable[[Value], None] | None = None) -> None:
        """Fill ``.grad`` on every node of the graph that leads to this value.

        Each call adds one pass to the gradients of leaves (they accumulate across calls, as
        in PyTorch: call ``zero_grad()`` between steps); nodes made by operations show the
        gradient of the latest pass.  A scalar root needs no argument; a tensor root needs
        ``grad`` of its own shape.  ``on_node(node)``, if given, is called for each node as
        soon as its gradient is final, in the order backward finishes them (the order a
        lecture walks through; :func:`tinygrad_mlp.viz.backward_frames` draws it).

        Backward reads the operands' current data: run it before changing parameters (before
        ``optimizer.step()``).  If an operation's backward raises, the gradients are left
        partly filled; call ``zero_grad()`` before trying again.

        >>> x = Value(3.0); y = x * x
        >>> y.backward(); x.grad
        6.0
        """
        d = self.data
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
            if gshape != self.shape:
                raise ValueError(
                    f"backward(grad=...) got shape {gshape} for a Value of shape {self.shape}"
                )
            if type(d) is not float:
                grad = np.asarray(grad, dtype=d.dtype)
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a Value that does not require a gradient (a constant, or "
                "computed under no_grad())"
            )
        self._run_backward(grad, on_node)

    def _run_backward(self, grad: Any, on_node: Callable[[Value], None] | None = None) -> None:
        """Run backward from this root; ``on_node(node)`` sees each node once its grad is final."""
        if self._fn is None:  # the root is a leaf: its gradient is the one given
            _accumulate(self, grad, set(), "backward", self)
            if on_node is not None:
                on_node(self)
            return
        # Pass 1: count in each intermediate node's ``_pending`` how many consumers it has in
        # this graph, and clear its gradient (intermediate nodes show the latest pass only).
        # Leaves need no count unless ``on_node`` must hear when each one is complete.
        leaves = on_node is not None
        stack = [self]
        while stack:
            node = stack.pop()
            node._grad = None
            a, b = node._a, node._b
            for p in (a,) if b is None else (a, b) if type(b) is not tuple else (a, *b):
                if p._fn is not None:
                    n = p._pending
                    if n == 0:
                        stack.append(p)
                    p._pending = n + 1
                elif leaves and p._pending >= 0:  # (p.requires_grad)
                    p._pending += 1
        try:
            self._propagate(grad, on_node)
        except BaseException:  # leave no half-counted nodes behind for the next backward()
            for node in self.graph():
                if node._pending > 0:
                    node._pending = 0
            raise

    def _propagate(self, grad: Any, on_node: Callable[[Value], None] | None) -> None:
        # Pass 2: a node runs its backward once all of its consumers have contributed.  Only
        # nodes made by operations wait in ``ready``; a leaf is complete (and reported to
        # ``on_node``) when its last consumer has contributed.
        anomaly = _mode.anomaly
        leaves = on_node is not None
        owned: set[Value] = set()
        _accumulate(self, grad, owned, "backward", self)
        ready = [self]
        while ready:
            node = ready.pop()
            g = node._grad  # read first: on_node may read .grad, which makes a missing one 0.0
            if on_node is not None:
                on_node(node)
            fn = node._fn
            p, b = node._a, node._b
            n = 1 if b is None else 2 if type(b) is not tuple else 1 + len(b)
            if g is None:  # no gradient reached this node: release its operands all the same
                grads: Any = (None,) * n
            else:
                grads = fn.backward(node, g)
                if type(grads) is not tuple and type(grads) is not list:
                    grads = (grads,)
                meta = node._meta
                if len(grads) != n or meta is not None and "argpos" in meta:
                    grads = _operand_grads(node, grads, n)
                if anomaly:
                    _check_grads(fn, node.parents, grads)
            # The operands one after the other, p being operand i: a zip over operands and
            # gradients would cost more than all the work done per edge.
            scalar = type(g) is float and fn.elementwise  # then every operand is a float too
            i = 0
            while True:
                pg = grads[i]
                if pg is not None and p._pending >= 0:  # (p.requires_grad)
                    if scalar or type(pg) is float and type(p.data) is float:  # the fast path
                        cur = p._grad
                        p._grad = pg if cur is None else cur + pg
                    else:
                        _accumulate(p, pg, owned, fn.op_name, node)
                if p._fn is not None:
                    c = p._pending - 1
                    p._pending = c
                    if c == 0:
                        ready.append(p)
                elif leaves and p._pending > 0:  # a leaf that requires a gradient
                    p._pending -= 1
                    if p._pending == 0:
                        on_node(p)  # type: ignore[misc]
                i += 1
                if i == n:
                    break
                p = b if n == 2 else b[i - 1]

    def zero_grad(self) -> None:
        """Reset the gradient of every node in this value's graph to zero.

        >>> x = Value(3.0); y = x * x
        >>> y.backward(); y.backward(); x.grad
        12.0
        >>> y.zero_grad(); x.grad
        0.0
        """
        for node in self.graph():
            node._grad = None

    # ---------------------------------------------------------------- operators
    # a + b, a - b, a * b, a / b, a @ b and their reflected forms (2 * a): see _operator
    __add__ = _operator("Add")
    __radd__ = _operator("Add", reflected=True)
    __sub__ = _operator("Sub")
    __rsub__ = _operator("Sub", reflected=True)
    __mul__ = _operator("Mul")
    __rmul__ = _operator("Mul", reflected=True)
    __truediv__ = _operator("Div")
    __rtruediv__ = _operator("Div", reflected=True)
    __matmul__ = _operator("MatMul")
    __rmatmul__ = _operator("MatMul", reflected=True)

    def __pow__(self, exponent: Any) -> Value:
        if isinstance(exponent, Value):
            return _ops.Pow.apply(self, exponent)
        if isinstance(exponent, (int, float, np.integer, np.floating)):
            return _with_args(_ops.PowConst, self, float(exponent))
        return NotImplemented

    def __rpow__(self, base: Any) -> Value:
        base = _lift(base)
        return NotImplemented if base is None else _ops.Pow.apply(base, self)

    def __neg__(self) -> Value:
        return _record(_ops.Neg, self, None, self._pending >= 0)

    def __pos__(self) -> Value:
        return self

    def __getitem__(self, index: Any) -> Value:
        if isinstance(index, Value):
            raise TypeError("index with ints, slices or integer arrays, not with a Value")
        return _with_args(_ops.GetItem, self, index)

    # ---------------------------------------------------------------- named operations
    def relu(self) -> Value:
        """``max(0, x)`` elementwise."""
        return _record(_ops.ReLU, self, None, self._pending >= 0)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """``x`` where positive, ``slope * x`` elsewhere."""
        return _with_args(_ops.LeakyReLU, self, float(slope))

    def tanh(self) -> Value:
        """Hyperbolic tangent elementwise."""
        return _record(_ops.Tanh, self, None, self._pending >= 0)

    def sigmoid(self) -> Value:
        """``1 / (1 + exp(-x))`` elementwise, computed without overflow."""
        return _record(_ops.Sigmoid, self, None, self._pending >= 0)

    def exp(self) -> Value:
        """``e ** x`` elementwise."""
        return _record(_ops.Exp, self, None, self._pending >= 0)

    def log(self) -> Value:
        """Natural logarithm elementwise (NaN below 0, ``-inf`` at 0, as numpy)."""
        return _record(_ops.Log, self, None, self._pending >= 0)

    def abs(self) -> Value:
        """Absolute value elementwise."""
        return _record(_ops.Abs, self, None, self._pending >= 0)

    def sqrt(self) -> Value:
        """Square root elementwise (NaN below 0, as numpy)."""
        return _record(_ops.Sqrt, self, None, self._pending >= 0)

    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Value:
        """Sum over ``axis`` (all axes by default, giving a scalar Value)."""
        return _with_args(_ops.Sum, self, _axis(axis), bool(keepdims))

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Value:
        """Mean over ``axis`` (all axes by default, giving a scalar Value)."""
        return _with_args(_ops.Mean, self, _axis(axis), bool(keepdims))

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Value:
        """Maximum over ``axis``; ties share the gradient equally."""
        return _with_args(_ops.Max, self, _axis(axis), bool(keepdims))

    def reshape(self, *shape: int | Sequence[int]) -> Value:
        """The same elements in a new shape (``-1`` infers one dimension)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _with_args(_ops.Reshape, self, tuple(int(s) for s in shape))

    def transpose(self, *axes: int) -> Value:
        """Permute the axes (reverse them when none are given)."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _with_args(_ops.Transpose, self, tuple(axes) if axes else None)

    def astype(self, dtype: Any) -> Value:
        """The same values as float32 or float64 (gradients flow back in the original dtype)."""
        dtype = np.dtype(dtype)
        if not _is_float_dtype(dtype):
            raise TypeError(f"a Value holds float32 or float64 data, not {dtype}")
        return _with_args(_ops.Cast, self, dtype)

    @property
    def T(self) -> Value:
        """The transpose (axes reversed)."""
        return _with_args(_ops.Transpose, self, None)


_ROLE_SYMBOLS = {"weight": "w", "bias": "b", "z": "z", "activation": "a", "input": "x"}


def _role_label(role: str, index: tuple[int, ...] | None) -> str:
    """A plain label such as ``w(1)_23`` for layer 1, neuron 2, input 3."""
    symbol = _ROLE_SYMBOLS.get(role, role)
    if not index:
        return symbol
    if role == "input":  # x_k, the activations of layer 0
        return f"x{index[-1]}"
    layer, *rest = index
    sep = "" if all(i < 10 for i in rest) else ","
    return f"{symbol}({layer})_{sep.join(map(str, rest))}"


def _axis(axis: Any) -> int | tuple[int, ...] | None:
    if axis is None or isinstance(axis, int):
        return axis
    return tuple(int(a) for a in axis)


# argument positions of "one Value, then n - 1 plain arguments", by n
_FIRST_OF = [None, None, ((0,), 2), ((0,), 3), ((0,), 4)]


def _with_args(fn: type[Function], a: Value, *extra: Any) -> Value:
    """``fn.apply(a, *extra)`` where only ``a`` is a Value (an axis, a shape, an index...)."""
    return _record(fn, a, None, a._pending >= 0, (a.data, *extra), _FIRST_OF[len(extra) + 1])


def _binary(fn: type[Function], a: Value, b: Value) -> Value:
    """``fn.apply(a, b)`` for two Values, without sorting the arguments."""
    return _record(fn, a, b, a._pending >= 0 or b._pending >= 0)


def _lift(x: Any) -> Value | None:
    """An operand as a Value: numbers and arrays become constants; None if unsupported."""
    t = type(x)
    if t is float:  # the most frequent case (x * 2.0, inputs in a scalar graph): made directly
        c = _new(Value)
        c.data = x
        c._grad = c._fn = c._a = c._b = c._meta = None
        c._pending = -1
        return c
    if isinstance(x, Value):
        return x
    if t is int or t is np.ndarray or isinstance(x, (np.number, np.bool_, int)):
        return Value(x, requires_grad=False)
    return None


def _check_grads(fn: type[Function], parents: tuple[Value, ...], grads: tuple) -> None:
    for pg in grads:
        if pg is not None:
            _check_finite(
                pg.value if type(pg) is _IndexGrad else pg,
                fn.op_name, "backward", [x.data for x in parents],
            )


def _operand_grads(node: Value, grads: tuple, n_operands: int) -> Any:
    """The gradients of ``node``'s operands among those its backward returned, one per argument.

    Arguments of ``forward`` that are not Values (an axis, an exponent...) have no operand: their
    gradients are dropped.  Any other count is a mistake in the operation's backward.
    """
    argpos = node._get_meta("argpos")
    if argpos is None:
        if len(grads) == n_operands:
            return grads
        want = n_operands
    elif len(grads) == argpos[1]:
        return [grads[i] for i in argpos[0]]
    else:
        want = argpos[1]
    raise TypeError(
        f"{node._fn.__name__}.backward returned {len(grads)} gradient(s) for {want} input(s); "
        "return one per argument of forward (None for those that need none)"
    )


def _accumulate(p: Value, g: Any, owned: set[Value], op: str, out: Value) -> None:
    """Add gradient ``g`` into ``p._grad``.

    The rules that keep in-place additions safe: a leaf's array gradient is always a buffer of
    its own (copied on first contribution, then added to in place, across calls too); an
    intermediate node may share its gradient with another node, so it is only replaced, never
    changed in place, unless this pass made the buffer (``owned``).
    """
    d = p.data
    tg = type(g)
    if tg is _IndexGrad:
        if type(d) is not float:
            _add_at(p, d, g, owned)
            return
        g = g.value
    # (dtype objects of one kind are shared, so "is not" is a cheap first test)
    if tg is not np.ndarray or type(d) is not np.ndarray or g.shape != d.shape or (
        g.dtype is not d.dtype and g.dtype != d.dtype
    ):
        g = _fit_grad(g, d, op, out.shape)
    cur = p._grad
    if p._fn is None:
        if cur is None:  # the leaf's own buffer: copy, unless the op promises a new array
            p._grad = g if type(g) is float or out._fn is not None and out._fn.fresh_grads else g.copy()
        elif type(cur) is float:
            p._grad = cur + g
        else:
            cur += g
    elif cur is None:
        p._grad = g
    else:
        p._grad = cur + g


def _add_at(p: Value, d: np.ndarray, g: _IndexGrad, owned: set[Value]) -> None:
    """Add a gradient that touches only ``g.index`` of ``p``, in place, in constant time."""
    buf = p._grad
    if buf is None:
        buf = np.zeros_like(d)
    elif p._fn is not None and p not in owned:
        buf = buf.copy()
    p._grad = buf
    if p._fn is not None:
        owned.add(p)
    if g.basic:
        buf[g.index] += g.value
    else:
        np.add.at(buf, g.index, g.value)


# --------------------------------------------------------------------------- Function
class Function:
    """Base class of every differentiable operation, built-in or your own.

    Subclass it with two static methods:

    * ``forward(ctx, *inputs)`` gets raw floats/arrays (and any non-array arguments as
      given) and returns the raw result.  Keep what backward needs with
      ``ctx.save_for_backward(...)``.
    * ``backward(ctx, grad)`` gets the gradient of the output and returns one gradient per
      input of ``forward`` (a tuple when there are several; ``None`` where none is needed).
      ``ctx.saved_values`` holds what was saved; ``ctx.needs_input_grad`` tells which inputs
      need one.

    Gradients may have the broadcast shape of the output: they are summed back to each
    input's shape for you.  ``symbol`` (optional) is the name shown in drawings.

    >>> import numpy as np
    >>> class Sin(Function):
    ...     symbol = "sin"
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return np.sin(x)
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_values
    ...         return grad * np.cos(x)
    >>> y = Sin.apply(Value(0.0))
    >>> y.backward(); y.op, y.parents[0].grad
    ('sin', 1.0)
    """

    symbol: str | None = None
    op_name: str = "Function"
    _node_type: type[Value]  # the class of the nodes it makes (set for each subclass)
    # True when backward always returns newly made arrays (never its input grad, a view of it or
    # a saved array): a leaf may then keep them as its gradient without a copy
    fresh_grads: bool = False
    # True when the result is computed element by element from the operands broadcast together,
    # and backward returns Python floats when they are floats: on scalars the engine then adds
    # the gradients without checking their types (the fast path of micrograd-style graphs)
    elementwise: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.op_name = cls.__dict__.get("symbol") or cls.__name__
        # a Function may keep attributes on ctx; the built-ins, which do not, are switched to
        # plain Values once they are all defined (see the end of tinygrad_mlp.ops)
        cls._node_type = _Node

    @staticmethod
    def forward(ctx: Value, *inputs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError("a Function subclass must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx: Value, grad: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError("a Function subclass must define backward(ctx, grad)")

    @classmethod
    def apply(cls, *args: Any) -> Value:
        """Run ``forward`` on the arguments and record the result in the graph.

        ``Value`` arguments become the result's ``parents``; float arrays become constant
        parents; everything else (numbers, axes, shapes, indices, integer arrays) is passed to
        ``forward`` as it is and gets no gradient.
        """
        parents = []
        raw = []
        positions = []
        requires_grad = False
        for i, a in enumerate(args):
            if type(a) is not Value:
                if type(a) is np.ndarray and a.dtype.kind == "f":
                    a = _lift(a)
                elif not isinstance(a, Value):
                    raw.append(a)
                    continue
            parents.append(a)
            positions.append(i)
            raw.append(a.data)
            if a._pending >= 0:
                requires_grad = True
        n = len(parents)
        return _record(
            cls,
            parents[0] if n else None,
            None if n < 2 else parents[1] if n == 2 else tuple(parents[1:]),
            requires_grad,
            tuple(raw),
            None if len(positions) == len(args) else (tuple(positions), len(args)),
            cls._node_type,
        )


class _Node(Value):
    """The Value made by a user-defined Function: as its ``ctx`` it also keeps whatever
    attributes the function sets (``ctx.k = k``, as in PyTorch).  Built-in nodes need none.
    """

    __slots__ = ("__dict__",)


Function._node_type = _Node


def _record(
    fn: type[Function],
    a: Value | None,
    b: Any,
    rg: bool,
    raw: tuple[Any, ...] | None = None,
    argpos: Any = None,
    node_type: type[Value] = Value,
) -> Value:
    """Run ``fn.forward`` with the output node as ``ctx`` and record the node in the graph.

    ``a`` and ``b`` are the operands as :class:`Value` keeps them (see its ``__slots__``);
    ``raw`` is what ``forward`` gets when it is not just their data (pass-through arguments,
    three or more operands), and ``argpos`` then says where the operands are among them.
    """
    out = _new(node_type)
    out._grad = None
    out._meta = None if argpos is None else {"argpos": argpos}
    out._pending = 0
    out._a = a
    out._b = b
    out._fn = fn
    try:
        if raw is not None:
            data = fn.forward(out, *raw)
        elif b is None:
            data = fn.forward(out, a.data)  # type: ignore[union-attr]
        else:
            data = fn.forward(out, a.data, b.data)  # type: ignore[union-attr]
    except ValueError as e:
        shapes = ", ".join(str(np.shape(p.data)) for p in out.parents)
        raise ValueError(f"{fn.op_name!r} on operands of shapes {shapes}: {e}") from None
    if type(data) is not float:
        data = _result(fn, data)
    out.data = data
    if _active_switches:
        if _mode.anomaly:
            _check_finite(data, fn.op_name, "forward", [p.data for p in out.parents])
        rg = rg and _mode.grad_enabled
    if not rg:  # a constant: it keeps neither operands nor anything for backward
        out._a = out._b = out._fn = None
        out._pending = -1
        if out._meta is not None:
            _drop_backward_meta(out)
    return out


def _drop_backward_meta(out: Value) -> None:
    meta = out._meta
    meta.pop("saved", None)  # type: ignore[union-attr]
    meta.pop("argpos", None)  # type: ignore[union-attr]
    if not meta:
        out._meta = None

_new = object.__new__


from tinygrad_mlp import ops as _ops  # noqa: E402  (operators above resolve it at call time)

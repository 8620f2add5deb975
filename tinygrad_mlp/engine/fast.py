"""The fast engine (the default): the same contract as :mod:`tinygrad_mlp.engine.reference`,
built for speed.  Read ``reference.py`` first; this module does the same things with the
tricks below, each measured on ``benchmarks/`` (machine of 2 cores, one BLAS thread).

=====================================================  ========================================
Trick                                                  Measured gain
=====================================================  ========================================
Operands in two slots ``_a``/``_b`` (``_b`` a tuple    one tracked object per node instead of
for 3+ operands), ``parents`` built on demand          two; part of 114 -> 60 ms per scalar
                                                       demo step (``scalar_engine.py``)
Seven ``__slots__``, no ``__dict__`` for the           222 -> 109 bytes per node; fewer
built-ins' nodes; label/role/index/saved values in     objects for the garbage collector
one ``_meta`` dict only the nodes needing it get
``requires_grad`` is ``_pending >= 0``; ``_pending``   no dict or set of counts per
counts consumers during ``backward()`` in the node     ``backward()``; one slot fewer
A factory makes the arithmetic operators; the common   -2% instructions per scalar step
case (two operands needing a gradient) is recorded
inline, one Python frame fewer per node
A float operand is lifted to a constant directly,      -1% instructions per scalar step
without ``Value.__init__``
Backward walks operands with a ``while`` loop          34 -> 25 ms per scalar demo step
instead of a ``zip``
Elementwise built-ins on floats add gradients          -1.8% instructions per scalar step
without type checks (private table ``_BUILTINS``)
Hot built-ins (``*``, ``/``, ``log``, ``abs``,         one tuple fewer per node of the most
``**``) read their operands from the slots in a        frequent operation
private backward, not from ``ctx.parents``
Built-ins that return new arrays in backward give      no copy of a parameter's gradient per
them to a leaf without a copy                          step (``moons_step.py``)
Indexing returns an :class:`IndexGrad`, added in       constant work per weight node of a
place into the operand's buffer                        model's scalar call style
While no grad mode switch is on anywhere               no thread-local look-up per node
(``modes.active_switches == 0``), recording skips
the thread-local reads
=====================================================  ========================================

The private table ``_BUILTINS`` names the built-in operations these tricks apply to; any other
operation (a student's, or a new one in ``ops.py``) takes the general path, which needs no
promise from it: flags such as ``elementwise`` or ``fresh_grads`` on a class are ignored.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

import numpy as np

from tinygrad_mlp.engine import modes as _modes
from tinygrad_mlp.engine.arrays import (
    IndexGrad,
    as_data,
    as_grad,
    check_grad_count,
    fit_grad,
    forward_error,
    forward_result,
    root_grad,
)
from tinygrad_mlp.engine.base import ValueBase
from tinygrad_mlp.engine.function import Function, is_operand, refuse
from tinygrad_mlp.engine.higher import backward_graph
from tinygrad_mlp.engine.modes import check_finite
from tinygrad_mlp.notation import role_label

__all__ = ["Value", "apply", "make_method", "make_operator", "grads_of", "clear_grads",
           "operand_grads"]


# --------------------------------------------------------------------------- Value
class Value(ValueBase):
    """A number or a numpy array that remembers how it was computed.

    ``data`` is a Python ``float`` (a scalar) or a float32/float64 ``ndarray`` (a tensor).
    ``grad`` has the same type, dtype and shape; it reads as zero until ``backward()`` fills it.
    Operations broadcast like numpy.  ``==``, ``!=`` and ``hash`` are by identity, so Values
    can be dictionary keys and set members; ``<``, ``<=``, ``>``, ``>=`` compare the data
    elementwise and give a constant Value of 1.0/0.0 (``(x > 0) * x`` works, ``if x > 0:``
    is an error: use ``x.item()``).

    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> c = a * b + a
    >>> c.backward()
    >>> c.data, a.grad, b.grad
    (-4.0, -2.0, 2.0)
    """

    # A node has only the slots every node uses:
    # - ``_a`` is the first operand (None for a leaf), ``_b`` the second (None for one operand,
    #   a tuple of the rest for three or more);
    # - ``_fn`` is the Function class that made it (None for a leaf or a constant);
    # - ``_pending`` is -1 for a value that needs no gradient (``requires_grad`` reads it), and
    #   otherwise counts, during ``backward()``, the consumers yet to contribute (0 at rest);
    # - ``_meta`` is None, or a dict of what only some nodes have: "label", "role", "index",
    #   "saved" (``saved_values``) and "argpos" (where the operands are among the arguments).
    # Operations outside ``_BUILTINS`` make ``_Node`` values, which have a ``__dict__`` for
    # ``ctx.k = k``.
    __slots__ = ("data", "_grad", "_fn", "_a", "_b", "_pending", "_meta")

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
        global _value_grads
        if isinstance(value, ValueBase):  # a gradient with a graph (create_graph=True)
            _value_grads = True
        self._grad = None if value is None else as_grad(value, self.data)

    @property
    def label(self) -> str:
        """The name shown for this node; a model's nodes default to it from role and index."""
        meta = self._meta
        if meta is None:
            return ""
        label = meta.get("label", "")
        if label or meta.get("role") is None:
            return label
        return role_label(meta["role"], meta.get("index"))

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
    def derivative_order(self) -> int:
        """0 for a node of the forward pass; k for one recorded by a ``create_graph`` pass that
        computed k-th derivatives (drawings can colour by it)."""
        return self._get_meta("order", 0)

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
    def is_leaf(self) -> bool:
        """True for values made by the user rather than by an operation."""
        return self._fn is None

    @property
    def function(self) -> type[Function] | None:
        """The :class:`Function` subclass that produced this value, or ``None``."""
        return self._fn

    # micrograd's names for the same two fields (see the reference engine)
    @property
    def _prev(self) -> set[Value]:
        """micrograd's ``_prev``: the operands, as a set."""
        return set(self.parents)

    @property
    def _op(self) -> str:
        """micrograd's ``_op``: ``'+'``, ``'*'``, ``'**2'``, ``'ReLU'``, ``'tanh'``, ``'exp'``...

        An operation's ``micrograd_op`` if it declares one, else its label in drawings."""
        fn = self._fn
        return "" if fn is None else fn.micrograd_name(self)

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

    def detach(self) -> Value:
        """A new leaf sharing this value's data, outside the graph and with no gradient."""
        return Value(self.data, self.label, requires_grad=False)

    # ---------------------------------------------------------------- backward
    def backward(self, grad: Any = None, *, on_node: Callable[[Value], None] | None = None,
                 create_graph: bool = False) -> None:
        """Fill ``.grad`` on every node of the graph that leads to this value.

        Each call adds one pass to the gradients of leaves (they accumulate across calls, as
        in PyTorch: call ``zero_grad()`` between steps); nodes made by operations show the
        gradient of the latest pass.  A scalar root needs no argument; a tensor root needs
        ``grad`` of its own shape.  ``on_node(node)``, if given, is called for each node as
        soon as its gradient is final, in the order backward finishes them (the order a
        lecture walks through; :func:`tinygrad_mlp.viz.backward_frames` draws it).

        Backward reads the operands' current data: run it before changing parameters (before
        ``optimizer.step()``) or the input arrays a graph was built from (they are not
        copied).  If an operation's backward raises, the gradients are left
        partly filled; call ``zero_grad()`` before trying again.

        With ``create_graph=True`` the backward pass is recorded too: leaves get gradients that
        are Values, to differentiate again (see :mod:`tinygrad_mlp.engine.higher`).

        >>> x = Value(3.0); y = x * x
        >>> y.backward(); x.grad
        6.0
        """
        if create_graph:
            return backward_graph(self, grad, on_node)
        if grad is None and type(self.data) is float and self._pending >= 0:
            grad = 1.0  # the usual root: a scalar loss
        else:
            grad = root_grad(self, grad)
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
        anomaly = _modes.mode.anomaly
        leaves = on_node is not None
        owned: set[Value] = set()
        kernels = _KERNELS
        _accumulate(self, grad, owned, "backward", self)
        ready = [self]
        while ready:
            node = ready.pop()
            g = node._grad  # read first: on_node may read .grad, which makes a missing one 0.0
            if on_node is not None:
                on_node(node)
            fn = node._fn
            backward, elementwise = kernels[fn]
            p, b = node._a, node._b
            n = 1 if b is None else 2 if type(b) is not tuple else 1 + len(b)
            if g is None:  # no gradient reached this node: release its operands all the same
                grads: Any = (None,) * n
            else:
                grads = backward(node, g)
                if type(grads) is not tuple and type(grads) is not list:
                    grads = (grads,)
                meta = node._meta
                if len(grads) != n or meta is not None and "argpos" in meta:
                    grads = _operand_grads(node, grads, n)
                if anomaly:
                    _check_grads(fn, node.parents, grads)
            # The operands one after the other, p being operand i: a zip over operands and
            # gradients would cost more than all the work done per edge.
            scalar = elementwise and type(g) is float  # then every operand is a float too
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


class _Node(Value):
    """The Value made by an operation outside ``_BUILTINS``: as its ``ctx`` it also keeps
    whatever attributes the operation sets (``ctx.k = k``, as in PyTorch)."""

    __slots__ = ("__dict__",)


_new = object.__new__


# --------------------------------------------------------------------------- the built-ins
def _mul_backward(node: Value, g: Any) -> tuple[Any, Any]:
    return g * node._b.data, g * node._a.data  # type: ignore[union-attr]


def _public_backward(fn: type[Function]) -> Callable[[Value, Any], Any]:
    # looked up at each call, so that a class whose backward is replaced later still works
    return lambda node, g: fn.backward(node, g)


# name in tinygrad_mlp.ops -> (private backward or None, elementwise, returns new arrays).
# Their nodes are slot-only Values: these operations keep nothing on ctx but saved values.
_BUILTINS: dict[str, tuple[Callable[[Value, Any], Any] | None, bool, bool]] = {
    "Add": (None, True, False), "Sub": (None, True, False), "Neg": (None, True, True),
    "Mul": (_mul_backward, True, True), "Div": (None, True, True),
    "PowConst": (None, True, True), "Pow": (None, True, True), "MatMul": (None, False, True),
    "ReLU": (None, True, True), "LeakyReLU": (None, True, True), "Tanh": (None, True, True),
    "Sigmoid": (None, True, True), "Exp": (None, True, True), "Log": (None, True, True),
    "Abs": (None, True, True), "Sqrt": (None, True, True),
    "Sum": (None, False, False), "Mean": (None, False, False), "Max": (None, False, True),
    "Reshape": (None, False, False), "Transpose": (None, False, False),
    "Cast": (None, False, False), "GetItem": (None, False, False), "Stack": (None, False, False),
    "Linear": (None, False, True), "LogSoftmax": (None, False, True),
    "CrossEntropy": (None, False, True), "BCEWithLogits": (None, False, True),
    "BCE": (None, False, True), "HingeLoss": (None, False, True),
    "SumSquares": (None, False, True),
}
# What backward() uses per Function class: (backward, elementwise).  Every class gets an entry
# before its first node is made (by make_method/make_operator/apply).
_KERNELS: dict[type[Function], tuple[Callable[[Value, Any], Any], bool]] = {}
_FRESH: set[type[Function]] = set()  # backward returns new arrays: a leaf keeps them uncopied
_NODE_TYPES: dict[type[Function], type[Value]] = {}


def _builtin(fn: type[Function]) -> tuple[Any, bool, bool] | None:
    if fn.__module__ != "tinygrad_mlp.ops":
        return None
    return _BUILTINS.get(fn.__qualname__)


def _prepare(fn: type[Function]) -> type[Value]:
    """Make the kernel entry of ``fn``; return the class of the nodes it makes."""
    spec = _builtin(fn)
    if spec is None:
        _KERNELS[fn] = (_public_backward(fn), False)
        _NODE_TYPES[fn] = _Node
        return _Node
    private, elementwise, fresh = spec
    _KERNELS[fn] = (private or fn.backward, elementwise)
    if fresh:
        _FRESH.add(fn)
    _NODE_TYPES[fn] = Value
    return Value


# --------------------------------------------------------------------------- recording
_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)


def _plain_result(data: Any) -> bool:
    """A forward's result a node keeps as it is: a float32/float64 array of 1+ dimensions."""
    return type(data) is np.ndarray and data.ndim > 0 and (
        data.dtype is _F64 or data.dtype is _F32)


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
        raise forward_error(fn.op_name, [p.data for p in out.parents], e) from None
    if type(data) is not float and not _plain_result(data):
        data = forward_result(data, fn.op_name)
    out.data = data
    if _modes.active_switches:
        mode = _modes.mode
        if mode.anomaly:
            check_finite(data, fn.op_name, "forward", [p.data for p in out.parents])
        if mode.order:  # recorded by a create_graph pass
            out._set_meta("order", mode.order)
        rg = rg and mode.grad_enabled
    if not rg:  # a constant: it keeps neither operands nor anything for backward
        out._a = out._b = out._fn = None
        out._pending = -1
        meta = out._meta
        if meta is not None:
            meta.pop("saved", None)
            meta.pop("argpos", None)
            if not meta:
                out._meta = None
    return out


def apply(fn: type[Function], *args: Any) -> Value:
    """``fn.apply(*args)``: Values and float arrays are operands, the rest passes through.

    >>> from tinygrad_mlp import ops
    >>> apply(ops.Mul, Value(2.0), Value(3.0)).data
    6.0
    """
    try:
        node_type = _NODE_TYPES[fn]
    except KeyError:  # the first node of this operation
        node_type = _prepare(fn)
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
        fn,
        parents[0] if n else None,
        None if n < 2 else parents[1] if n == 2 else tuple(parents[1:]),
        requires_grad,
        tuple(raw),
        None if len(positions) == len(args) else (tuple(positions), len(args)),
        node_type,
    )


# argument positions of "one Value, then n - 1 plain arguments", by n
_FIRST_OF = [None, None, ((0,), 2), ((0,), 3), ((0,), 4)]


def make_method(fn: type[Function]) -> Callable[..., Value]:
    """The ``Value`` method of the operation ``fn`` (``x.tanh()``, ``x.sum(axis=0)``).

    A built-in records its node directly; any other operation goes through ``fn.apply``.

    >>> from tinygrad_mlp import ops
    >>> make_method(ops.Tanh)(Value(0.0)).op
    'tanh'
    """
    node_type = _prepare(fn)
    arguments = getattr(fn, "arguments", None)
    if node_type is _Node:
        def method(self: Value, *args: Any, **kwargs: Any) -> Value:
            extra = args if arguments is None else arguments(*args, **kwargs)
            return fn.apply(self, *extra)
    elif arguments is None:  # a unary built-in: relu, tanh, exp...
        def method(self: Value) -> Value:  # type: ignore[misc]
            return _record(fn, self, None, self._pending >= 0)
    elif _takes_one_argument(arguments):  # x[index], x.astype(dtype): no packing of *args
        def method(self: Value, arg: Any) -> Value:  # type: ignore[misc]
            extra = arguments(arg)
            return _record(fn, self, None, self._pending >= 0, (self.data, *extra),
                           _FIRST_OF[len(extra) + 1])
    else:  # a built-in whose other arguments pass through (an axis, a shape, an index...)
        def method(self: Value, *args: Any, **kwargs: Any) -> Value:  # type: ignore[misc]
            extra = arguments(*args, **kwargs)
            return _record(fn, self, None, self._pending >= 0, (self.data, *extra),
                           _FIRST_OF[len(extra) + 1])
    return method


def _takes_one_argument(arguments: Callable[..., Any]) -> bool:
    """Whether an ``arguments`` hook takes exactly one required positional argument."""
    params = list(inspect.signature(arguments).parameters.values())
    return len(params) == 1 and params[0].default is inspect.Parameter.empty and (
        params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD)


_HOT_OPERATORS = ("Add", "Sub", "Mul", "Div", "MatMul")


def make_operator(fn: type[Function], reflected: bool = False) -> Callable[[Value, Any], Value]:
    """The method behind ``a <op> b`` (``b <op> a`` when ``reflected``) for the operation ``fn``:
    numbers and arrays become constants, anything else gives ``NotImplemented``.

    For the arithmetic built-ins, the common case (two operands that need a gradient, no
    switch on) is recorded right here rather than through :func:`_record`: it is the most
    frequent call of a scalar graph, and one Python frame fewer per node shows.

    >>> from tinygrad_mlp import ops
    >>> make_operator(ops.Sub, reflected=True)(Value(1.0), 5).data
    4.0
    """
    _prepare(fn)
    if _builtin(fn) is None or fn.__qualname__ not in _HOT_OPERATORS:
        def general(self: Value, other: Any) -> Any:
            if not is_operand(other):
                return refuse(fn.op_name, self, other, reflected)
            return fn.apply(other, self) if reflected else fn.apply(self, other)
        return general

    forward = fn.forward

    def operator(self: Value, other: Any) -> Value:
        if type(other) is not Value:
            lifted = _lift(other)
            if lifted is None:
                return refuse(fn.op_name, self, other, reflected)
            other = lifted
        if reflected:
            a, b = other, self
        else:
            a, b = self, other
        rg = a._pending >= 0 or b._pending >= 0
        if _modes.active_switches or not rg:
            return _record(fn, a, b, rg)
        out = _new(Value)
        out._grad = out._meta = None
        out._pending = 0
        out._a, out._b, out._fn = a, b, fn
        try:
            data = forward(out, a.data, b.data)
        except ValueError:
            return _record(fn, a, b, rg)  # raises it again, naming the operands' shapes
        if type(data) is not float and not _plain_result(data):
            data = forward_result(data, fn.op_name)
        out.data = data
        return out

    return operator


def _lift(x: Any) -> Value | None:
    """An operand as a Value: numbers and arrays become constants; None if unsupported."""
    t = type(x)
    if t is float:  # the most frequent case (x * 2.0, inputs in a scalar graph): made directly
        c = _new(Value)
        c.data = x
        c._grad = c._fn = c._a = c._b = c._meta = None
        c._pending = -1
        return c
    if t is np.ndarray or t is int:  # (checked first: is_operand tries six types)
        return Value(x, requires_grad=False)
    if isinstance(x, Value):
        return x
    if is_operand(x):
        return Value(x, requires_grad=False)
    return None


# --------------------------------------------------------------------------- many at once
def grads_of(values: Sequence[Value]) -> list[Any]:
    """The gradients of ``values`` as plain data (a Value gradient gives its ``data``), ``None``
    for a value that has none (reading ``.grad`` would make a zero one): what an optimizer's
    step reads.

    >>> x = Value(2.0); (x * x).backward(); grads_of([x, Value(1.0)])
    [4.0, None]
    """
    if _value_grads:  # some gradient has been a Value in this process: take its data
        return [g.data if isinstance(g, ValueBase) else g for g in map(_stored_grad, values)]
    return list(map(_stored_grad, values))


_value_grads = False  # set once any gradient is a Value (backward(create_graph=True))


_stored_grad = attrgetter("_grad")


def clear_grads(values: Sequence[Value]) -> None:
    """Clear the gradients of ``values`` (``v.grad = None`` for each): ``zero_grad()``.

    >>> x = Value(2.0); (x * x).backward(); clear_grads([x]); x.has_grad
    False
    """
    for v in values:
        v._grad = None


# --------------------------------------------------------------------------- accumulating
def _check_grads(fn: type[Function], parents: tuple[Value, ...], grads: Sequence[Any]) -> None:
    for pg in grads:
        if pg is not None:
            check_finite(
                pg.value if type(pg) is IndexGrad else pg,
                fn.op_name, "backward", [x.data for x in parents],
            )


def operand_grads(node: Value, grads: Sequence[Any]) -> Any:
    """The gradients of ``node``'s operands (``node.parents``) among ``grads``, one per argument
    of its operation's forward (what a backward returns).

    >>> from tinygrad_mlp import ops
    >>> operand_grads(ops.Sum.apply(Value(2.0), None, False), (1.0, None, None))
    [1.0]
    """
    return list(_operand_grads(node, grads, len(node.parents)))


def _operand_grads(node: Value, grads: Sequence[Any], n_operands: int) -> Any:
    """The gradients of ``node``'s operands among those its backward returned, one per argument.

    Arguments of ``forward`` that are not Values (an axis, an exponent...) have no operand: their
    gradients are dropped.  Any other count is a mistake in the operation's backward.
    """
    argpos = node._get_meta("argpos")
    nargs = n_operands if argpos is None else argpos[1]
    if len(grads) != nargs:
        check_grad_count(node._fn.__name__, grads, nargs)  # type: ignore[union-attr]
    return grads if argpos is None else [grads[i] for i in argpos[0]]


def _accumulate(p: Value, g: Any, owned: set[Value], op: str, out: Value) -> None:
    """Add gradient ``g`` into ``p._grad``.

    The rules that keep in-place additions safe: a leaf's array gradient is always a buffer of
    its own (copied on first contribution, then added to in place, across calls too); an
    intermediate node may share its gradient with another node, so it is only replaced, never
    changed in place, unless this pass made the buffer (``owned``).
    """
    d = p.data
    tg = type(g)
    if tg is IndexGrad:
        if type(d) is not float:
            _add_at(p, d, g, owned)
            return
        g = g.value
    # (dtype objects of one kind are shared, so "is not" is a cheap first test)
    if tg is not np.ndarray or type(d) is not np.ndarray or g.shape != d.shape or (
        g.dtype is not d.dtype and g.dtype != d.dtype
    ):
        g = fit_grad(g, d, op, out.shape)
    cur = p._grad
    if p._fn is None:
        if cur is None:  # the leaf's own buffer: copy, unless the op promises a new array
            p._grad = g if type(g) is float or out._fn in _FRESH else g.copy()
        elif type(cur) is np.ndarray:
            cur += g
        else:  # a float, or a Value (a gradient with a graph)
            p._grad = cur + g
    elif cur is None:
        p._grad = g
    else:
        p._grad = cur + g


def _add_at(p: Value, d: np.ndarray, g: IndexGrad, owned: set[Value]) -> None:
    """Add a gradient that touches only ``g.index`` of ``p``, in place, in constant time."""
    buf = p._grad
    if buf is None:
        buf = np.zeros_like(d)
    elif type(buf) is not np.ndarray:  # a Value gradient (create_graph): added as a Value
        p._grad = buf + g.dense(d)
        return
    elif p._fn is not None and p not in owned:
        buf = buf.copy()
    p._grad = buf
    if p._fn is not None:
        owned.add(p)
    g.add_into(buf)

"""The reference engine: the whole computation graph, written to be read top to bottom.

Read this file first.  It is the engine's contract in plain Python; the fast engine
(:mod:`tinygrad_mlp.engine.fast`, the default) does exactly the same with speed tricks, and the
tests run everything on both.  Run on this one with ``TINYGRAD_MLP_ENGINE=reference``.

The idea in four steps:

1. A :class:`Value` holds ``data`` (a Python ``float`` or a numpy array), a ``grad`` of the
   same shape, and, if an operation made it, that operation's class and its arguments.
2. An operation is a :class:`~tinygrad_mlp.engine.Function` subclass with a static
   ``forward`` and ``backward`` (see :mod:`tinygrad_mlp.ops`).  :func:`apply` runs ``forward``
   and records the result as a new Value whose ``parents`` are the Value arguments.  The new
   Value is also the ``ctx`` that ``forward`` and ``backward`` get: what ``forward`` saves
   there, ``backward`` reads.
3. ``a + b`` and ``x.tanh()`` are methods the registry attaches to :class:`Value` when an
   operation is declared (``@register("tanh")`` in ``ops.py``); :func:`make_method` and
   :func:`make_operator` below are what it attaches.
4. :meth:`Value.backward` visits the graph from the result back to the leaves.  A node's
   ``backward`` runs once every node that used it has handed it its gradient; then it hands
   each operand its share (the chain rule), summed back to the operand's shape.

A node points to its operands, never the other way, and keeps no functions or closures, so a
graph holds no reference cycles: Python frees it as soon as the last result goes away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

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
from tinygrad_mlp.engine.modes import check_finite, mode
from tinygrad_mlp.notation import role_label

__all__ = ["Value", "apply", "make_method", "make_operator", "grads_of", "clear_grads",
           "operand_grads"]


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

    def __init__(self, data: Any, label: str = "", *, requires_grad: bool = True) -> None:
        value = as_data(data)
        if value is data and requires_grad and isinstance(value, np.ndarray):
            value = value.copy()  # a parameter: optimizers change it in place, not the caller's
        self.data = value
        self._grad: Any = None  # None until a backward pass (or the user) sets it
        self._label = str(label)
        self.role: str | None = None  # a model's tags: "weight", "bias", "z", ... (see nn)
        self.index: tuple[int, ...] | None = None  # (layer, neuron[, input])
        self._requires_grad = requires_grad
        # What made this value: nothing for a leaf.  An operation fills these in (see apply).
        self._function: type[Function] | None = None
        self._args: tuple[Any, ...] = ()  # the arguments of forward: Values and the rest
        self.saved_values: Any = ()  # what forward kept with ctx.save_for_backward(...)
        self.derivative_order = 0  # k for a node recorded while computing k-th derivatives

    # ---------------------------------------------------------------- what a node is
    @property
    def parents(self) -> tuple[Value, ...]:
        """The operands of the operation that made this value, in order (``()`` for a leaf)."""
        return tuple(a for a in self._args if isinstance(a, Value))

    @property
    def function(self) -> type[Function] | None:
        """The :class:`Function` subclass that produced this value, or ``None``."""
        return self._function

    @property
    def op(self) -> str:
        """Display name of the operation that made this value (``''`` for a leaf)."""
        return "" if self._function is None else self._function.op_name

    @property
    def is_leaf(self) -> bool:
        """True for values made by the user rather than by an operation."""
        return self._function is None

    # micrograd's names for the same two fields, so that code written for micrograd (the
    # lecture's graph drawing, tinygrad_mlp.micrograd) reads this graph unchanged
    @property
    def _prev(self) -> set[Value]:
        """micrograd's ``_prev``: the operands, as a set."""
        return set(self.parents)

    @property
    def _op(self) -> str:
        """micrograd's ``_op``: ``'+'``, ``'*'``, ``'**2'``, ``'ReLU'``, ``'tanh'``, ``'exp'``...

        An operation's ``micrograd_op`` if it declares one, else its label in drawings."""
        fn = self._function
        return "" if fn is None else fn.micrograd_name(self)

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to this value (False for constants such as inputs and targets,
        and for results computed from constants only or under ``no_grad()``)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if not self.is_leaf:
            raise ValueError("requires_grad can be changed on leaves only, not on a computed value")
        self._requires_grad = bool(value)

    @property
    def needs_input_grad(self) -> tuple[bool, ...]:
        """For each argument of the operation that made this value: does it need a gradient?"""
        return tuple(isinstance(a, Value) and a.requires_grad for a in self._args)

    def save_for_backward(self, *values: Any) -> None:
        """Keep raw floats/arrays for the ``backward`` of the operation that made this value."""
        self.saved_values = values

    @property
    def label(self) -> str:
        """The name shown for this node; a model's nodes default to it from role and index."""
        if self._label or self.role is None:
            return self._label
        return role_label(self.role, self.index)

    @label.setter
    def label(self, value: str) -> None:
        self._label = str(value)

    @property
    def grad(self) -> Any:
        """The gradient of the last ``backward()`` root with respect to this value."""
        if self._grad is None:  # reading a missing gradient makes a zero one
            self._grad = 0.0 if type(self.data) is float else np.zeros_like(self.data)
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        self._grad = None if value is None else as_grad(value, self.data)

    @property
    def has_grad(self) -> bool:
        """Whether a gradient has been set (reading ``.grad`` otherwise makes a zero one)."""
        return self._grad is not None

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
        soon as its gradient is final, in the order backward finishes them.

        Backward reads the operands' current data: run it before changing parameters (before
        ``optimizer.step()``) or the input arrays a graph was built from (they are not
        copied).  If an operation's backward raises, the gradients are left
        partly filled; call ``zero_grad()`` before trying again.

        With ``create_graph=True`` the backward pass is recorded too, each operation's
        ``backward_graph`` computing with Values: leaves get gradients that are Values, to
        differentiate again (see :mod:`tinygrad_mlp.engine.higher`).

        >>> x = Value(3.0); y = x * x
        >>> y.backward(); x.grad
        6.0
        """
        if create_graph:
            return backward_graph(self, grad, on_node)
        grad = root_grad(self, grad)
        # 1. Count how many times each node is used in this graph (its consumers), walking
        #    with a stack rather than recursion so that graphs of any depth work.
        #    Intermediate nodes start with no gradient: they show the latest pass only.
        consumers: dict[Value, int] = {}
        stack = [self]
        while stack:
            node = stack.pop()
            for p in node.parents:
                if p not in consumers:
                    consumers[p] = 0
                    stack.append(p)
                consumers[p] += 1
        for node in consumers:
            if not node.is_leaf:
                node._grad = None
        if not self.is_leaf:
            self._grad = None
        # 2. A node is ready once all of its consumers have handed it their gradients; then
        #    its own backward hands each operand its share.  A leaf has nothing to hand on:
        #    it is complete when its last consumer is done.
        self._add_grad(grad, "backward", ())
        ready = [self]
        while ready:
            node = ready.pop()
            grad = node._grad  # (before on_node: reading .grad there makes a missing one 0.0)
            if on_node is not None:
                on_node(node)
            for p, g in zip(node._args, node._backward(grad)):
                if not isinstance(p, Value):
                    continue  # a pass-through argument: an axis, a shape...
                if g is not None and p.requires_grad:
                    p._add_grad(g, node.op, node.shape)
                consumers[p] -= 1
                if consumers[p] == 0:
                    if not p.is_leaf:
                        ready.append(p)
                    elif on_node is not None and p.requires_grad:
                        on_node(p)

    def _backward(self, grad: Any) -> tuple[Any, ...]:
        """Run the operation's backward: one gradient per argument of its forward."""
        if self.is_leaf:
            return ()
        if grad is None:  # no gradient reached this node (its consumers all gave None)
            return (None,) * len(self._args)
        fn = self._function
        grads = fn.backward(self, grad)  # type: ignore[union-attr]
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        check_grad_count(fn.__name__, grads, len(self._args))  # type: ignore[union-attr]
        if mode.anomaly:
            for g in grads:
                if g is not None:
                    check_finite(g.value if isinstance(g, IndexGrad) else g, self.op, "backward",
                                 [p.data for p in self.parents])
        return tuple(grads)

    def _add_grad(self, g: Any, op: str, out_shape: tuple[int, ...]) -> None:
        """Add one contribution to this node's gradient, summed back to its shape and dtype."""
        if isinstance(g, IndexGrad) and isinstance(self._grad, (np.ndarray, type(None))) and (
                isinstance(self.data, np.ndarray)):
            # indexing's sparse gradient: added in place at its index only, in constant time
            # (safe, since every gradient buffer here is the node's own; see below)
            if self._grad is None:
                self._grad = np.zeros_like(self.data)
            g.add_into(self._grad)
            return
        g = fit_grad(g, self.data, op, out_shape)
        if self._grad is None:  # a buffer of its own: g may be another node's array
            self._grad = g.copy() if isinstance(g, np.ndarray) else g
        else:
            self._grad = self._grad + g


def grads_of(values: list[Value]) -> list[Any]:
    """The gradients of ``values`` as data, ``None`` where there is none (what optimizers read).

    >>> x = Value(2.0); (x * x).backward(); grads_of([x, Value(1.0)])
    [4.0, None]
    """
    return [v._grad.data if isinstance(v._grad, Value) else v._grad for v in values]


def operand_grads(node: Value, grads: tuple[Any, ...]) -> list[Any]:
    """The gradients of ``node.parents`` among ``grads`` (one per argument of forward)."""
    check_grad_count(node.function.__name__, grads, len(node._args))  # type: ignore[union-attr]
    return [g for a, g in zip(node._args, grads) if isinstance(a, Value)]


def clear_grads(values: list[Value]) -> None:
    """Clear the gradients of ``values`` (``zero_grad()``).

    >>> x = Value(2.0); (x * x).backward(); clear_grads([x]); x.has_grad
    False
    """
    for v in values:
        v._grad = None


# ------------------------------------------------------------------------- recording a node
def apply(fn: type[Function], *args: Any) -> Value:
    """Run ``fn.forward`` and record its result as a new node: what ``fn.apply(*args)`` does.

    Values and float arrays are the operands (an array becomes a constant Value); every other
    argument (an axis, a shape, an index...) is passed to ``forward`` as it is.

    >>> from tinygrad_mlp import ops
    >>> y = apply(ops.Mul, Value(2.0), Value(3.0))
    >>> y.data, y.op, len(y.parents)
    (6.0, '*', 2)
    """
    args = tuple(
        Value(a, requires_grad=False) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a
        for a in args
    )
    out = Value(0.0)  # the node, and the ctx that forward and backward get
    out._function, out._args, out.derivative_order = fn, args, mode.order
    raw = [a.data if isinstance(a, Value) else a for a in args]
    try:
        data = fn.forward(out, *raw)
    except ValueError as e:
        raise forward_error(fn.op_name, [p.data for p in out.parents], e) from None
    out.data = forward_result(data, fn.op_name)
    if mode.anomaly:
        check_finite(out.data, fn.op_name, "forward", [p.data for p in out.parents])
    if not (mode.grad_enabled and any(p.requires_grad for p in out.parents)):
        # a constant: nothing to differentiate, so it forgets how it was made
        out._function, out._args, out.saved_values = None, (), ()
        out._requires_grad = False
    return out


def make_method(fn: type[Function]) -> Callable[..., Value]:
    """The ``Value`` method of the operation ``fn``: ``x.tanh()`` is ``Tanh.apply(x)``.

    If ``fn`` has a static ``arguments(...)``, the method's other arguments go through it
    first (``x.sum(axis=0)``: it checks and normalises the axis).

    >>> from tinygrad_mlp import ops
    >>> make_method(ops.Tanh)(Value(0.0)).op
    'tanh'
    """
    arguments = getattr(fn, "arguments", None)

    def method(self: Value, *args: Any, **kwargs: Any) -> Value:
        extra = args if arguments is None else arguments(*args, **kwargs)
        return fn.apply(self, *extra)

    return method


def make_operator(fn: type[Function], reflected: bool = False) -> Callable[[Value, Any], Value]:
    """The method behind ``a + b`` (or ``2 + a`` when ``reflected``) for the operation ``fn``.

    Numbers and arrays are taken as constants; for anything else Python is told
    ``NotImplemented``, so it can try the other operand's method or raise its TypeError.

    >>> from tinygrad_mlp import ops
    >>> make_operator(ops.Sub, reflected=True)(Value(1.0), 5).data
    4.0
    """

    def operator(self: Value, other: Any) -> Any:
        if not is_operand(other):
            return refuse(fn.op_name, self, other, reflected)
        return fn.apply(other, self) if reflected else fn.apply(self, other)

    return operator

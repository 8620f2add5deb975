"""``Function``: the base class of every differentiable operation, built-in or your own.

An operation is a subclass with a static ``forward`` and ``backward`` side by side.
``Function.apply`` hands the call to the engine in use (:mod:`tinygrad_mlp.engine.reference`
or the fast one), which runs ``forward`` and records the result as a node of the graph.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from tinygrad_mlp.engine.base import ValueBase

__all__ = ["Function", "use_engine", "is_operand", "refuse"]

_engine: ModuleType | None = None  # the module that records nodes: set once, at import


def use_engine(engine: ModuleType) -> None:
    """Send every ``Function.apply`` to ``engine.apply`` (done once, when the engine is chosen).

    >>> import tinygrad_mlp.engine as engine
    >>> use_engine(engine.ENGINE_MODULE)  # what tinygrad_mlp.engine did at import
    """
    global _engine
    _engine = engine
    # Function.apply is the engine's apply itself: no frame in between on every operation
    Function.apply = classmethod(engine.apply)  # type: ignore[assignment, method-assign]


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

    ``ctx`` is the output node itself: ``ctx.parents`` are the operand Values, ``ctx.data`` is
    the result, and it keeps attributes you set (``ctx.k = k``).  Gradients may have the
    broadcast shape of the output: they are summed back to each input's shape for you.
    ``symbol`` (optional) is the name shown in drawings; override :meth:`label` to show more.

    >>> import numpy as np
    >>> from tinygrad_mlp import Value
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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.op_name = cls.__dict__.get("symbol") or cls.__name__

    @staticmethod
    def forward(ctx: Any, *inputs: Any) -> Any:
        raise NotImplementedError("a Function subclass must define forward(ctx, *inputs)")

    @staticmethod
    def backward(ctx: Any, grad: Any) -> Any:
        raise NotImplementedError("a Function subclass must define backward(ctx, grad)")

    @classmethod
    def apply(cls, *args: Any) -> Any:
        """Run ``forward`` on the arguments and record the result in the graph.

        ``Value`` arguments become the result's ``parents``; float arrays become constant
        parents; everything else (numbers, axes, shapes, indices, integer arrays) is passed to
        ``forward`` as it is and gets no gradient.  (Once the engine is chosen, this is its
        ``apply``: see :func:`use_engine`.)
        """
        return _engine.apply(cls, *args)  # type: ignore[union-attr]

    @classmethod
    def label(cls, ctx: Any) -> str:
        """The text drawn for this operation's node ``ctx`` (default: ``symbol``)."""
        return cls.op_name

    #: micrograd's name for this operation (``Value._op``), where it differs from ``label``
    micrograd_op: str | None = None

    @classmethod
    def micrograd_name(cls, ctx: Any) -> str:
        """micrograd's ``_op`` for the node ``ctx``: ``micrograd_op``, else ``label(ctx)``.

        >>> from tinygrad_mlp import Value
        >>> (Value(2.0) ** 2)._op, Value(-1.0).relu()._op
        ('**2', 'ReLU')
        """
        return cls.micrograd_op or cls.label(ctx)


def is_operand(x: Any) -> bool:
    """Whether an operator takes ``x`` as an operand: a Value, a number or an array.

    >>> is_operand(2), is_operand(np.ones(2)), is_operand("2")
    (True, True, False)
    """
    return isinstance(x, (ValueBase, int, float, np.number, np.bool_, np.ndarray))


def refuse(op: str, value: Any, other: Any, reflected: bool) -> Any:
    """``NotImplemented`` for an operand an operator does not take, or a TypeError for a sequence.

    Python would otherwise try ``"ab" * value`` as sequence repetition and complain about the
    Value ("can't multiply sequence by non-int") instead of naming the operand's type.

    >>> refuse("+", None, "x", False)
    NotImplemented
    """
    if op == "*" and isinstance(other, (str, bytes, list, tuple)):
        left, right = (other, value) if reflected else (value, other)
        raise TypeError(
            f"unsupported operand type(s) for {op}: {type(left).__name__!r} and "
            f"{type(right).__name__!r}"
        )
    return NotImplemented

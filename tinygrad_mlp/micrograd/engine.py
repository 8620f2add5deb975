"""micrograd's ``micrograd.engine``: its ``Value`` is this library's :class:`~tinygrad_mlp.Value`.

Not a subclass (the result of ``a + b`` would be a plain ``Value`` again), but the class
itself, which reads like micrograd's: ``data``, ``grad``, ``backward()``, the operators,
``relu()``, ``tanh()``, ``exp()``, and the fields micrograd's drawing code reads, ``_prev``
(the operands, as a set) and ``_op`` (the operation, as micrograd names it).

Where micrograd records ``a - b`` as ``a + (b * -1)`` and ``a / b`` as ``a * b**-1``, this
library records one node (``'-'``, ``'/'``): the numbers are the same, the drawings are
smaller.

>>> a, b = Value(2.0), Value(-3.0)
>>> c = a * b + a
>>> c.backward()
>>> c.data, a.grad, b.grad, c._op, len(c._prev)
(-4.0, -2.0, 2.0, '+', 2)
"""

from tinygrad_mlp.engine import Value

__all__ = ["Value"]

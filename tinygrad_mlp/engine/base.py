"""What every ``Value`` offers on top of its engine: shape and dtype, ``item()``, ``repr``, walks.

Both engines' ``Value`` classes inherit these members.  They are written with the public
fields only (``data``, ``grad``, ``has_grad``, ``parents``, ``label``, ``op``...), so they work
the same on either engine; nothing here is needed to follow how ``a * b`` is recorded or how
``backward()`` runs (see :mod:`tinygrad_mlp.engine.reference` for that).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

__all__ = ["ValueBase"]

_F64 = np.dtype(np.float64)


class ValueBase:
    """The engine-independent members of :class:`~tinygrad_mlp.engine.Value`."""

    __slots__ = ()
    __array_ufunc__ = None  # ndarray (op) Value defers to Value, never an object array

    data: Any

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
        return _F64 if type(d) is float else d.dtype

    @property
    def T(self) -> Any:
        """The transpose (axes reversed)."""
        return self.transpose()  # type: ignore[attr-defined]

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

    def __pos__(self) -> Any:
        return self

    def __abs__(self) -> Any:
        return self.abs()  # type: ignore[attr-defined]

    def __float__(self) -> float:
        if self.size != 1:
            raise TypeError(f"float() needs a Value of one element, this one has shape {self.shape}")
        return self.item()

    def __int__(self) -> int:
        return int(float(self))

    # ``==``, ``!=`` and ``hash`` stay by identity (Values are dictionary keys and set members,
    # and the graph is a set of nodes); the orderings compare the data elementwise and give a
    # constant Value of 1.0/0.0, so that ``(x > 0) * x`` works.
    def __lt__(self, other: Any) -> Any:
        return self._compare(other, np.less)

    def __le__(self, other: Any) -> Any:
        return self._compare(other, np.less_equal)

    def __gt__(self, other: Any) -> Any:
        return self._compare(other, np.greater)

    def __ge__(self, other: Any) -> Any:
        return self._compare(other, np.greater_equal)

    def _compare(self, other: Any, ufunc: Any) -> Any:
        if isinstance(other, ValueBase):
            other = other.data
        elif not isinstance(other, (int, float, np.number, np.bool_, np.ndarray)):
            return NotImplemented
        a = self.data
        mask = ufunc(a, other)
        dtype = np.result_type(a, other) if np.ndim(mask) else _F64
        if dtype.kind != "f":  # (an integer array operand: the Value's own dtype)
            dtype = self.dtype
        return type(self)(np.asarray(mask, dtype=dtype), requires_grad=False)

    def __len__(self) -> int:
        if type(self.data) is float:
            raise TypeError("len() of a scalar Value")
        return len(self.data)

    def __bool__(self) -> bool:
        raise TypeError(
            "the truth value of a Value is ambiguous (x > 0 is a Value of 1.0/0.0, not a bool); "
            "use value.item() for a number, or value.data for the float or array"
        )

    def __repr__(self) -> str:
        d = self.data
        parts = [f"data={d!r}" if type(d) is float else f"shape={d.shape}, dtype={d.dtype}"]
        if type(d) is float and self.has_grad:  # type: ignore[attr-defined]
            parts.append(f"grad={self.grad!r}")  # type: ignore[attr-defined]
        if self.label:  # type: ignore[attr-defined]
            parts.append(f"label={self.label!r}")  # type: ignore[attr-defined]
        if self.op:  # type: ignore[attr-defined]
            parts.append(f"op={self.op!r}")  # type: ignore[attr-defined]
        if not self.requires_grad:  # type: ignore[attr-defined]
            parts.append("requires_grad=False")
        if type(d) is not float:
            with np.printoptions(precision=4, threshold=8, edgeitems=2):
                parts.insert(0, np.array2string(d, separator=", ").replace("\n", ""))
        return f"Value({', '.join(parts)})"

    def graph(self) -> list[Any]:
        """Every node this value depends on, itself included, operands before results.

        The order is deterministic (a depth-first walk in operand order) and found without
        recursion.

        >>> from tinygrad_mlp import Value
        >>> a = Value(1.0); b = a + a
        >>> [v.op for v in b.graph()]
        ['', '+']
        """
        order: list[Any] = []
        seen = {self}
        stack: list[tuple[Any, Iterator[Any]]] = [(self, iter(self.parents))]  # type: ignore
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

    def zero_grad(self) -> None:
        """Clear the gradient of every node in this value's graph (it reads as zero again).

        >>> from tinygrad_mlp import Value
        >>> x = Value(3.0); y = x * x
        >>> y.backward(); y.backward(); x.grad
        12.0
        >>> y.zero_grad(); x.grad
        0.0
        """
        for node in self.graph():
            node.grad = None

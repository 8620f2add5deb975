"""Gradients of gradients: ``backward(create_graph=True)`` and :func:`grad`, for both engines.

A first-order ``backward()`` hands plain floats and arrays from node to node.  With
``create_graph=True`` the backward pass is itself recorded: each operation's
``backward_graph(ctx, grad)`` computes its operands' gradients with ``Value`` operations, so a
leaf's gradient is a ``Value`` with a graph of its own, and ``x.grad.backward()`` gives second
derivatives.  The walk is the same as the first-order one (a node runs once all of its
consumers have contributed), written here once with public fields only; it is slower than the
engines' own first-order walks, which is why they keep theirs.

>>> from tinygrad_mlp import Value
>>> x = Value(3.0)
>>> (x ** 3).backward(create_graph=True)
>>> x.grad.data, grad(x.grad, x)[0]          # 3x**2 and 6x
(27.0, 18.0)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_mlp.engine import modes
from tinygrad_mlp.engine.arrays import IndexGrad, fit_grad, root_grad
from tinygrad_mlp.engine.base import ValueBase

__all__ = ["grad", "backward_graph", "gradients", "sum_to_shape"]

_engine: Any = None  # the engine in use (its Value class and operand_grads), set at import


def use_engine(engine: Any) -> None:
    """Build gradients with ``engine``'s Values (done once, when the engine is chosen).

    >>> import tinygrad_mlp.engine as engine
    >>> use_engine(engine.ENGINE_MODULE)  # what tinygrad_mlp.engine did at import
    """
    global _engine
    _engine = engine


def sum_to_shape(g: Any, shape: tuple[int, ...]) -> Any:
    """A Value gradient summed (or broadcast) to ``shape``, with Value operations.

    >>> from tinygrad_mlp import Value
    >>> sum_to_shape(Value(np.ones((2, 3))), (3,)).data
    array([2., 2., 2.])
    """
    if g.shape == shape:
        return g
    if g.ndim > len(shape):
        g = g.sum(axis=tuple(range(g.ndim - len(shape))))
    if g.ndim == len(shape):
        axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
        if axes:
            g = g.sum(axis=axes, keepdims=True)
    if g.shape != shape:  # smaller: broadcast up by adding zeros (its backward sums back)
        g = g + _engine.Value(np.zeros(shape, g.dtype), requires_grad=False)
    return g


def _seed(root: Any, g: Any, create_graph: bool) -> Any:
    """The gradient a pass starts ``root`` with: 1.0 for a scalar, else ``g`` checked against
    its shape (a Value ``g`` is kept as it is under ``create_graph``, else its data is used)."""
    if isinstance(g, ValueBase):
        if g.shape != root.shape:
            raise ValueError(f"the gradient of shape {g.shape} given for an output of shape "
                             f"{root.shape} does not match it")
        if create_graph:
            return g
        g = g.data
    return root_grad(root, g)


def _as_value(g: Any, like: Any) -> Any:
    if isinstance(g, ValueBase):
        return g
    if type(g) is IndexGrad:
        g = fit_grad(g, like.data, "[]")
    return _engine.Value(g, requires_grad=False)


def gradients(
    roots: Sequence[tuple[Any, Any]], create_graph: bool,
    on_node: Callable[[Any], None] | None = None,
) -> dict[Any, Any]:
    """The gradient of every node the ``(root, gradient)`` pairs depend on, in a dict.

    Nothing is stored on the nodes.  With ``create_graph`` the gradients are Values built with
    each operation's ``backward_graph``; otherwise plain floats and arrays from ``backward``.

    >>> from tinygrad_mlp import Value
    >>> x = Value(2.0); y = x * x
    >>> gradients([(y, 1.0)], create_graph=False)[x]
    4.0
    """
    consumers: dict[Any, int] = {}
    stack = [root for root, _ in roots]
    seen = set(stack)
    while stack:
        for p in stack.pop().parents:
            consumers[p] = consumers.get(p, 0) + 1
            if p not in seen:
                seen.add(p)
                stack.append(p)
    grads: dict[Any, Any] = {}
    if not create_graph:
        for root, g in roots:
            _add(grads, root, g, False, "backward", root.shape)
        _walk(roots, grads, consumers, False, on_node)
        return grads
    saved_order = modes.mode.order
    # the backward pass is recorded (even inside no_grad), its nodes one derivative order up
    modes.mode.order = 1 + max(root.derivative_order for root, _ in roots)
    try:
        with modes.enable_grad():
            for root, g in roots:
                _add(grads, root, g, True, "backward", root.shape)
            _walk(roots, grads, consumers, True, on_node)
    finally:
        modes.mode.order = saved_order
    return grads


def _walk(roots: Sequence[tuple[Any, Any]], grads: dict[Any, Any], consumers: dict[Any, int],
          create_graph: bool, on_node: Callable[[Any], None] | None) -> None:
    ready = list(dict.fromkeys(root for root, _ in roots if not consumers.get(root)))
    anomaly = modes.mode.anomaly
    while ready:
        node = ready.pop()
        g = grads.get(node)
        if on_node is not None and node.requires_grad:
            on_node(node)
        if node.is_leaf:
            continue
        fn = node.function
        if g is None:
            per_operand: list[Any] = [None] * len(node.parents)
        else:
            if create_graph:
                if not hasattr(fn, "backward_graph"):
                    raise RuntimeError(
                        f"backward(create_graph=True) through {fn.__name__!r}: the operation has no "
                        "backward_graph(ctx, grad) written with Value operations, so its gradient "
                        "cannot be differentiated again"
                    )
                try:
                    out = fn.backward_graph(node, g)
                except FloatingPointError as e:  # (detect_anomaly, on an operation it records)
                    raise FloatingPointError(
                        f"detect_anomaly: the backward pass of {node.op!r} (create_graph=True, "
                        f"recorded as operations) failed: {e}") from None
            else:
                out = fn.backward(node, g)
            if not isinstance(out, (tuple, list)):
                out = (out,)
            per_operand = _engine.operand_grads(node, out)
        for p, pg in zip(node.parents, per_operand):
            if pg is not None and p.requires_grad:
                if anomaly:
                    raw = pg.data if isinstance(pg, ValueBase) else (
                        pg.value if type(pg) is IndexGrad else pg)
                    modes.check_finite(raw, node.op, "backward", [q.data for q in node.parents])
                _add(grads, p, pg, create_graph, node.op, node.shape)
            consumers[p] -= 1
            if consumers[p] == 0:
                ready.append(p)


def _add(grads: dict[Any, Any], p: Any, g: Any, create_graph: bool, op: str,
         out_shape: tuple[int, ...]) -> None:
    """Add one contribution ``g`` to ``grads[p]``, summed back to ``p``'s shape and dtype."""
    if create_graph:
        g = sum_to_shape(_as_value(g, p), p.shape)
        if g.dtype != p.dtype:
            g = g.astype(p.dtype)
    else:
        g = fit_grad(g, p.data, op, out_shape)
    cur = grads.get(p)
    grads[p] = g if cur is None else cur + g


def backward_graph(root: Any, grad: Any = None,
                   on_node: Callable[[Any], None] | None = None) -> None:
    """``root.backward(grad, create_graph=True)``: leaves get Value gradients.

    A leaf's gradient adds to what it holds (a Value now); a node made by an operation keeps
    the plain data of its gradient, as after a first-order pass, so the forward graph holds no
    reference to the backward one.  A leaf and its Value gradient do refer to each other (as in
    PyTorch): ``x.grad = None`` breaks that cycle.

    >>> from tinygrad_mlp import Value
    >>> x = Value(2.0); backward_graph(x * x * x); x.grad
    Value(data=12.0, op='+')
    """
    grads = gradients([(root, _seed(root, grad, True))], True, on_node)
    for node in root.graph():
        if not node.requires_grad:
            continue
        g = grads.get(node)
        if node.is_leaf:
            if g is not None:
                node.grad = g if not node.has_grad else node.grad + g
        else:
            node.grad = None if g is None else g.data


def grad(
    outputs: Any, inputs: Any, grad_outputs: Any = None, create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Any, ...]:
    """The gradients of ``outputs`` with respect to ``inputs``, as a tuple; no ``.grad`` changes.

    As ``torch.autograd.grad``: ``outputs`` and ``inputs`` are Values or sequences of them;
    ``grad_outputs`` weighs each output (needed for a tensor output).  With ``create_graph``
    the gradients are Values that can be differentiated again (a gradient penalty, a
    Hessian-vector product), and nothing refers back to them.  An input the outputs do not
    depend on is an error, or ``None`` with ``allow_unused=True``.

    >>> from tinygrad_mlp import Value
    >>> x, y = Value(2.0), Value(3.0)
    >>> grad(x * y, [x, y])
    (3.0, 2.0)
    >>> (gx,) = grad(x ** 3, x, create_graph=True)
    >>> gx.data, grad(gx, x)[0]
    (12.0, 12.0)
    """
    outs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    ins = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if grad_outputs is None:
        gos: list[Any] = [None] * len(outs)
    else:
        gos = list(grad_outputs) if isinstance(grad_outputs, (list, tuple)) else [grad_outputs]
    if len(gos) != len(outs):
        raise ValueError(f"grad: {len(gos)} grad_outputs for {len(outs)} outputs")
    for v in [*outs, *ins]:
        if not isinstance(v, ValueBase):
            raise TypeError(f"grad: outputs and inputs must be Values, got {type(v).__name__}")
    for i, x in enumerate(ins):
        if not x.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require a gradient")
    for i, o in enumerate(outs):
        if not o.requires_grad:
            raise RuntimeError(f"grad: output {i} does not require a gradient (a constant, or "
                               "computed under no_grad())")
    roots = [(o, _seed(o, g, create_graph)) for o, g in zip(outs, gos)]
    grads = gradients(roots, create_graph)
    result = []
    for i, x in enumerate(ins):
        g = grads.get(x)
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} was not used to compute the outputs "
                               "(pass allow_unused=True to get None for it)")
        result.append(g)
    return tuple(result)

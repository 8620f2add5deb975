"""The operation registry: an operation is declared once and everything else follows from it.

Decorating a :class:`~tinygrad_mlp.engine.Function` subclass with :func:`register` gives it

* its ``Value`` method (``x.softplus()``) or operator (``a + b``), made by the engine in use;
* its activation name, if declared one: ``MLP(..., activation="softplus")``, saved models and
  the command line accept it;
* its function name in expressions drawn by ``tinygrad-mlp graph`` (``softplus(x*w + b)``);
* a row in the table the tests iterate over: each sample input is checked by ``gradcheck``,
  and against PyTorch where it is installed.

>>> import numpy as np
>>> from tinygrad_mlp import Function, Value
>>> @register("cube", samples=lambda rng: [Sample((0.5,)), Sample((rng.normal(size=3),))])
... class Cube(Function):
...     @staticmethod
...     def forward(ctx, x):
...         return x * x * x
...     @staticmethod
...     def backward(ctx, grad):
...         (x,) = ctx.parents
...         return grad * 3 * x.data * x.data
>>> Value(2.0).cube().data
8.0
>>> unregister("cube")
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from tinygrad_mlp.engine.function import Function

__all__ = [
    "Operation",
    "Sample",
    "register",
    "unregister",
    "operations",
    "activations",
    "expression_functions",
    "use_engine",
    "watch",
    "mirror",
]

_KEEP = object()  # "the method is named like the operation"


@dataclass(frozen=True)
class Sample:
    """One set of test inputs for an operation.

    ``inputs`` become Values that need a gradient (floats for scalars, arrays for tensors);
    ``args`` and ``kwargs`` follow them unchanged (an axis, a shape, integer labels...), and
    ``before`` goes in front of them (``SumSquares.apply(scale, *params)``).

    >>> Sample((np.ones(3),), kwargs={"axis": 0}).kwargs
    {'axis': 0}
    """

    inputs: tuple[Any, ...]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    before: tuple[Any, ...] = ()


@dataclass
class Operation:
    """A registered operation: its :class:`Function` and what is derived from it."""

    name: str
    function: type[Function]
    method: str | None
    reflected: str | None
    operator: bool
    activation: bool
    expression: bool
    samples: Callable[[np.random.Generator], list[Sample]] | None
    torch: Callable[..., Any] | None

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """Run the operation the way a user does: through its method, else ``apply``.

        >>> from tinygrad_mlp import Value
        >>> operations()["tanh"].call(Value(0.0)).data
        0.0
        """
        if self.method is not None:
            return getattr(args[0], self.method)(*args[1:], **kwargs)
        return self.function.apply(*args, **kwargs)

    def run_sample(self, sample: Sample, values: list[Any]) -> Any:
        """The operation on ``sample``, with ``values`` (Values) in place of its inputs."""
        if sample.before:
            return self.function.apply(*sample.before, *values, *sample.args)
        return self.call(*values, *sample.args, **sample.kwargs)


_REGISTRY: dict[str, Operation] = {}
_WATCHERS: list[Callable[[Operation, bool], None]] = []
_engine: ModuleType | None = None


def watch(callback: Callable[[Operation, bool], None]) -> None:
    """Call ``callback(operation, True)`` for every operation registered, now and later, and
    ``callback(operation, False)`` when one is unregistered.

    This is how the lists of names elsewhere stay in step with the registry (the activations
    of :mod:`tinygrad_mlp.nn`, the functions of the expression parser).

    >>> names = []
    >>> watch(lambda op, added: names.append(op.name) if added and op.activation else None)
    >>> "tanh" in names
    True
    """
    _WATCHERS.append(callback)
    for op in list(_REGISTRY.values()):
        callback(op, True)


def mirror(names: dict[str, Callable[[Any], Any]], kind: str) -> None:
    """Keep ``names`` holding each operation declared ``kind`` (``"activation"`` or
    ``"expression"``) under its name, as its ``Value`` method, as operations come and go.

    >>> acts = {}
    >>> mirror(acts, "activation")
    >>> sorted(acts)
    ['leaky_relu', 'relu', 'sigmoid', 'tanh']
    """
    def follow(op: Operation, added: bool) -> None:
        if getattr(op, kind) and op.method is not None:
            if added:
                names[op.name] = _bound(op)
            else:
                names.pop(op.name, None)

    watch(follow)


def use_engine(engine: ModuleType) -> None:
    """Attach methods to ``engine.Value`` from now on (done once, when the engine is chosen).

    >>> import tinygrad_mlp.engine as engine
    >>> use_engine(engine.ENGINE_MODULE)  # what tinygrad_mlp.engine did at import
    """
    global _engine
    _engine = engine


def register(
    name: str,
    *,
    method: Any = _KEEP,
    reflected: str | None = None,
    operator: bool = False,
    activation: bool = False,
    expression: bool = False,
    samples: Callable[[np.random.Generator], list[Sample]] | None = None,
    torch: Callable[..., Any] | None = None,
) -> Callable[[type[Function]], type[Function]]:
    """Declare the decorated :class:`Function` subclass as the operation ``name``.

    ``method`` is the name of its ``Value`` method (``name`` by default, ``None`` for none,
    ``"__add__"`` for an operator); ``reflected`` names the reflected operator
    (``"__radd__"``: ``2 + x``).  ``operator=True`` makes the method a binary operator that
    takes numbers and arrays as constants and returns ``NotImplemented`` for anything else.
    ``activation=True`` lets models use it by name; ``expression=True`` lets the
    ``tinygrad-mlp graph`` expressions call it (``name(x)``).  ``samples(rng)`` gives the test
    inputs (stay away from kinks and poles); ``torch`` is the PyTorch counterpart, called with
    tensors in place of the Values and the same other arguments.

    If the class has a static ``arguments(...)``, the method's arguments go through it first
    (it returns the extra arguments of ``forward``, checked and normalised).  The returned class
    is the decorated one.

    >>> operations()["relu"].activation, operations()["exp"].activation
    (True, False)
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"an operation's name must be an identifier, got {name!r}")

    def decorate(fn: type[Function]) -> type[Function]:
        if not (isinstance(fn, type) and issubclass(fn, Function)):
            raise TypeError(f"register() decorates a Function subclass, not {fn!r}")
        if name in _REGISTRY:
            raise ValueError(f"an operation named {name!r} is already registered "
                             f"({_REGISTRY[name].function.__qualname__}); unregister it first")
        op = Operation(name, fn, name if method is _KEEP else method, reflected,
                       operator or reflected is not None, activation, expression, samples, torch)
        for attr in (op.method, op.reflected):
            if attr is not None and attr in _taken_names():
                raise ValueError(f"Value.{attr} is already defined; choose another method name")
        if _engine is not None:
            _attach(op)
        _REGISTRY[name] = op
        for callback in _WATCHERS:
            callback(op, True)
        return fn

    return decorate


def _taken_names() -> set[str]:
    names = {n for op in _REGISTRY.values() for n in (op.method, op.reflected) if n}
    if _engine is not None:
        names |= {n for n in dir(_engine.Value) if not n.startswith("__") or n in vars(object)}
    return names


def _attach(op: Operation) -> None:
    value = _engine.Value  # type: ignore[union-attr]
    fn = op.function
    if op.method is not None:
        if op.operator:
            method = _engine.make_operator(fn, reflected=False)  # type: ignore[union-attr]
        else:
            method = _engine.make_method(fn)  # type: ignore[union-attr]
        _describe(method, op.method, fn, op.operator)
        setattr(value, op.method, method)
    if op.reflected is not None:
        method = _engine.make_operator(fn, reflected=True)  # type: ignore[union-attr]
        _describe(method, op.reflected, fn, True)
        setattr(value, op.reflected, method)


def _describe(method: Callable[..., Any], name: str, fn: type[Function], operator: bool) -> None:
    """Give a made method its name, the operation's docstring and a readable signature."""
    method.__name__ = name
    method.__qualname__ = f"Value.{name}"
    method.__doc__ = inspect.getdoc(fn)
    self = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    if operator:
        params = [self, inspect.Parameter("other", inspect.Parameter.POSITIONAL_ONLY)]
    elif hasattr(fn, "arguments"):
        params = [self, *inspect.signature(fn.arguments).parameters.values()]
    else:
        params = [self, *list(inspect.signature(fn.forward).parameters.values())[2:]]
    method.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]


def unregister(name: str) -> None:
    """Remove the operation ``name`` and everything derived from it (its method too).

    >>> unregister("no such operation")
    Traceback (most recent call last):
    ...
    KeyError: "no operation named 'no such operation' is registered"
    """
    if name not in _REGISTRY:
        raise KeyError(f"no operation named {name!r} is registered")
    op = _REGISTRY.pop(name)
    for attr in (op.method, op.reflected):
        if attr is not None and _engine is not None and attr in vars(_engine.Value):
            delattr(_engine.Value, attr)
    for callback in _WATCHERS:
        callback(op, False)


def operations() -> dict[str, Operation]:
    """Every registered operation by name, in the order they were registered.

    >>> "tanh" in operations(), "Tanh" in operations()
    (True, False)
    """
    return dict(_REGISTRY)


def _bound(op: Operation) -> Callable[[Any], Any]:
    return getattr(_engine.Value, op.method)  # type: ignore[union-attr, arg-type]


def activations() -> dict[str, Callable[[Any], Any]]:
    """The operations declared activations, by name: the ``Value`` methods themselves.

    >>> sorted(activations())
    ['leaky_relu', 'relu', 'sigmoid', 'tanh']
    """
    return {op.name: _bound(op) for op in _REGISTRY.values() if op.activation and op.method}


def expression_functions() -> dict[str, Callable[[Any], Any]]:
    """The operations an expression may call by name (``tanh(x)``), as ``Value`` methods.

    >>> "exp" in expression_functions(), "sum" in expression_functions()
    (True, False)
    """
    return {op.name: _bound(op) for op in _REGISTRY.values() if op.expression and op.method}

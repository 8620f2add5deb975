"""micrograd's ``micrograd.nn``: ``Module``, ``Neuron``, ``Layer`` and ``MLP`` of scalar Values.

The same constructor arguments (``Neuron(nin, nonlin=True)``, ``Layer(nin, nout, **kwargs)``,
``MLP(nin, nouts)``), attributes (``w`` and ``b``, ``neurons``, ``layers``), parameter lists of
scalar :class:`~tinygrad_mlp.Value` s, ``zero_grad()`` and ``repr`` as micrograd 0.1.0.  The
weights are drawn with ``random.uniform(-1, 1)`` from Python's ``random`` module, neuron by
neuron and layer by layer as micrograd draws them, so ``random.seed(s)`` gives micrograd's
network; biases start at 0.

The library's own :class:`tinygrad_mlp.nn.MLP` keeps each layer's weights in one tensor and
runs both on lists of scalars and on whole arrays; these classes are for running micrograd's
programs as they are.

>>> import random
>>> random.seed(0)
>>> n = Neuron(2, nonlin=False)
>>> n
LinearNeuron(2)
>>> y = n([1.0, 2.0])
>>> y.backward()
>>> [w.grad for w in n.w], n.b.grad
([1.0, 2.0], 1.0)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from tinygrad_mlp.micrograd.engine import Value

__all__ = ["Module", "Neuron", "Layer", "MLP"]


class Module:
    """The base class: ``parameters()`` and ``zero_grad()``.

    >>> Module().parameters()
    []
    """

    def zero_grad(self) -> None:
        """Set the gradient of every parameter to 0 (before each ``backward()``).

        >>> n = Neuron(1); n([2.0]).backward(); n.zero_grad(); n.w[0].grad
        0.0
        """
        for p in self.parameters():
            p.grad = 0

    def parameters(self) -> list[Value]:
        """Every scalar parameter, as a flat list (none for the base class)."""
        return []


class Neuron(Module):
    """``relu(w . x + b)`` (or ``w . x + b`` with ``nonlin=False``) on ``nin`` inputs.

    ``w`` holds one scalar weight per input, drawn with ``random.uniform(-1, 1)``; ``b`` is
    the bias, starting at 0.

    >>> n = Neuron(3)
    >>> len(n.w), n.b.data, n.nonlin, len(n.parameters())
    (3, 0.0, True, 4)
    """

    def __init__(self, nin: int, nonlin: bool = True) -> None:
        self.w = [Value(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Any]) -> Value:
        """The neuron's output for the inputs ``x`` (numbers or scalar Values), one per weight.

        >>> n = Neuron(2, nonlin=False); n.w[0].data, n.w[1].data = 1.0, -1.0
        >>> n([3.0, 1.0]).data
        2.0
        """
        if len(x) != len(self.w):
            raise ValueError(f"{self!r} takes {len(self.w)} inputs, got {len(x)}")
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        """The weights, then the bias.

        >>> len(Neuron(5).parameters())
        6
        """
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """``nout`` neurons, each on the same ``nin`` inputs; ``kwargs`` go to each :class:`Neuron`.

    A layer of one neuron returns that neuron's Value, otherwise a list.

    >>> layer = Layer(2, 3, nonlin=False)
    >>> layer
    Layer of [LinearNeuron(2), LinearNeuron(2), LinearNeuron(2)]
    >>> len(layer([1.0, 2.0])), len(layer.neurons), len(layer.parameters())
    (3, 3, 9)
    """

    def __init__(self, nin: int, nout: int, **kwargs: Any) -> None:
        self.neurons = [Neuron(nin, **kwargs) for _ in range(nout)]

    def __call__(self, x: Sequence[Any]) -> Value | list[Value]:
        """Each neuron's output for the inputs ``x``."""
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        """Every neuron's parameters, neuron by neuron."""
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """Layers of sizes ``nouts`` on ``nin`` inputs: ReLU neurons, linear in the last layer.

    >>> model = MLP(2, [16, 16, 1])
    >>> len(model.layers), len(model.parameters())
    (3, 337)
    >>> MLP(1, [2, 1])
    MLP of [Layer of [ReLUNeuron(1), ReLUNeuron(1)], Layer of [LinearNeuron(2)]]
    """

    def __init__(self, nin: int, nouts: list[int]) -> None:
        sz = [nin] + list(nouts)
        self.layers = [Layer(sz[i], sz[i + 1], nonlin=i != len(nouts) - 1)
                       for i in range(len(nouts))]

    def __call__(self, x: Sequence[Any]) -> Value | list[Value]:
        """The output of the last layer for the inputs ``x``: one Value for one output."""
        for layer in self.layers:
            x = layer(x)
        return x  # type: ignore[return-value]

    def parameters(self) -> list[Value]:
        """Every layer's parameters, layer by layer (micrograd's order)."""
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"

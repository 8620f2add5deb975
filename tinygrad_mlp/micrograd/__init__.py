"""micrograd's API on this library's engine: change the imports, keep the program.

``from micrograd.engine import Value`` becomes ``from tinygrad_mlp.micrograd.engine import
Value``, and ``from micrograd.nn import MLP`` becomes ``from tinygrad_mlp.micrograd.nn import
MLP``.  The classes have micrograd's constructor arguments, attributes and scalar parameters,
and draw their initial weights from Python's ``random`` module in micrograd's order, so the
same seed gives the same numbers; the graph is this library's (its ``backward()`` handles any
depth, and :mod:`tinygrad_mlp.viz` draws it).  See the docs page "Coming from micrograd".

>>> import random
>>> from tinygrad_mlp.micrograd import MLP, Value
>>> random.seed(1337)
>>> model = MLP(2, [16, 16, 1])
>>> len(model.parameters())
337
>>> isinstance(model([Value(1.0), Value(-0.5)]), Value)
True
"""

from tinygrad_mlp.micrograd.engine import Value
from tinygrad_mlp.micrograd.nn import MLP, Layer, Module, Neuron

__all__ = ["Value", "Module", "Neuron", "Layer", "MLP"]

"""tinygrad_mlp: a small autograd engine and neural-network library to learn and teach from.

>>> from tinygrad_mlp import Value
>>> x = Value(2.0, label="x")
>>> y = x * x + 3 * x
>>> y.backward()
>>> y.data, x.grad
(10.0, 7.0)
"""

from tinygrad_mlp.engine import (
    ENGINE,
    Function,
    Value,
    detect_anomaly,
    enable_grad,
    grad,
    is_grad_enabled,
    no_grad,
)
from tinygrad_mlp.gradcheck import GradcheckError, gradcheck, gradgradcheck
from tinygrad_mlp.nn import MLP, Dropout, Layer, Module, Neuron

__version__ = "0.1.0"

__all__ = [
    "Dropout",
    "ENGINE",
    "Function",
    "GradcheckError",
    "Layer",
    "MLP",
    "Module",
    "Neuron",
    "Value",
    "__version__",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "no_grad",
]

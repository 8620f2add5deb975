"""tinygrad_mlp: a small autograd engine and neural-network library to learn and teach from.

>>> from tinygrad_mlp import Value
>>> x = Value(2.0, label="x")
>>> y = (x * x + 1).tanh()
>>> y.backward()
>>> round(x.grad, 6)
0.000727
"""

from tinygrad_mlp.engine import (
    Function,
    Value,
    detect_anomaly,
    enable_grad,
    is_grad_enabled,
    no_grad,
)
from tinygrad_mlp.gradcheck import GradcheckError, gradcheck

__version__ = "0.1.0"

__all__ = [
    "Function",
    "GradcheckError",
    "Value",
    "__version__",
    "detect_anomaly",
    "enable_grad",
    "gradcheck",
    "is_grad_enabled",
    "no_grad",
]

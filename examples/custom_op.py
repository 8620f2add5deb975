"""Add your own operation: ``sin``, its gradient, a check, and a hand-built neuron using it.

A new operation is a ``Function`` subclass with a static ``forward`` and ``backward`` side by
side.  ``forward`` gets raw floats or numpy arrays; ``backward`` gets the gradient of the output
and returns the gradient of each input.  ``gradcheck`` compares that gradient with central
finite differences.

    python examples/custom_op.py
"""

from __future__ import annotations

import numpy as np

from tinygrad_mlp import Function, Value, gradcheck


class Sin(Function):
    """``sin(x)``, elementwise; its derivative is ``cos(x)``."""

    symbol = "sin"  # the name shown in graph drawings (the class name otherwise)

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)  # keep what backward needs
        return np.sin(x)  # works on floats and arrays alike

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_values
        return grad * np.cos(x)  # chain rule: upstream gradient times the local derivative


def sin(x: Value) -> Value:
    """``sin`` as a function of Values, like the built-in ``x.tanh()``."""
    return Sin.apply(x)


def main() -> None:
    # 1. The gradient matches finite differences, on a scalar and on a tensor.
    x = Value(0.7, label="x")
    print("gradcheck on a scalar:", gradcheck(sin, [x]))
    xs = Value(np.linspace(-2, 2, 5), label="xs")
    print("gradcheck on a tensor:", gradcheck(lambda v: sin(v) * v, [xs]))

    # 2. A neuron y = sin(w1*x1 + w2*x2 + b), built by hand from scalar Values.
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    z = x1 * w1 + x2 * w2 + b
    z.label = "z"
    y = sin(z)
    y.label = "y"
    y.backward()
    print(f"y = sin(z) = {y.data:.4f}  (op {y.op!r})")
    for v in (x1, w1, x2, w2, b):
        print(f"  d y / d {v.label:2} = {v.grad:+.4f}")
    # the chain rule by hand: dy/dw1 = cos(z) * x1
    assert abs(w1.grad - np.cos(z.data) * x1.data) < 1e-12


if __name__ == "__main__":
    main()

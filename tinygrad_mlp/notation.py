"""The course notation's roles, in one place: which letter names each part of a neuron.

A model tags the nodes of its scalar graph with a ``role`` and an ``index``; the engine gives
them default labels from here, and the drawings (:mod:`tinygrad_mlp.viz.labels`) typeset the
same letters with super- and subscripts.
"""

from __future__ import annotations

__all__ = ["ROLE_SYMBOLS", "PARAMETER_ROLES", "role_label"]

# role -> letter: w^(l)_jk is a weight, b^(l)_j a bias, z^(l)_j a weighted sum,
# a^(l)_j an activation, x_k an input (the activations of layer 0)
ROLE_SYMBOLS = {"weight": "w", "bias": "b", "z": "z", "activation": "a", "input": "x"}
PARAMETER_ROLES = ("weight", "bias")


def role_label(role: str, index: tuple[int, ...] | None) -> str:
    """A plain-text label such as ``w(1)_23`` for layer 1, neuron 2, input 3.

    >>> role_label("weight", (1, 2, 3)), role_label("input", (0, 2)), role_label("bias", None)
    ('w(1)_23', 'x2', 'b')
    >>> role_label("activation", (2, 10))
    'a(2)_10'
    """
    symbol = ROLE_SYMBOLS.get(role, role)
    if not index:
        return symbol
    if role == "input":  # x_k, the activations of layer 0
        return f"x{index[-1]}"
    layer, *rest = index
    sep = "" if all(i < 10 for i in rest) else ","
    return f"{symbol}({layer})_{sep.join(map(str, rest))}"

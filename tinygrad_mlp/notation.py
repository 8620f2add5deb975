"""The course notation's roles, in one place: which letter names each part of a neuron.

A model tags its parameters and the nodes of its scalar graph with a ``role`` and an ``index``
(never a label: the label is the user's); the engine gives them default labels from here, and
the drawings (:mod:`tinygrad_mlp.viz.labels`) typeset the same letters with super- and
subscripts.  The index says what a node is:

* ``(l, j, k)``: the weight ``w^(l)_{jk}`` (to neuron ``j`` from input ``k``);
* ``(l, j)``: the bias ``b^(l)_j``, the sum ``z^(l)_j``, the activation ``a^(l)_j`` — or a
  neuron's whole weight vector ``w^(l)_j``;
* ``(l,)``: a layer's weight matrix ``W^(l)`` or bias vector ``b^(l)``;
* ``(0, k)``: the input ``x_k``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ROLE_SYMBOLS", "PARAMETER_ROLES", "role_label", "role_letter", "user_label"]

# role -> letter: w^(l)_jk is a weight, b^(l)_j a bias, z^(l)_j a weighted sum,
# a^(l)_j an activation, x_k an input (the activations of layer 0)
ROLE_SYMBOLS = {"weight": "w", "bias": "b", "z": "z", "activation": "a", "input": "x"}
PARAMETER_ROLES = ("weight", "bias")


def role_letter(role: str, index: tuple[int, ...] | None) -> str:
    """The letter of ``role``; a layer's whole weight matrix (index ``(l,)``) is a capital ``W``.

    >>> role_letter("weight", (1, 2, 3)), role_letter("weight", (1,)), role_letter("bias", (1,))
    ('w', 'W', 'b')
    """
    letter = ROLE_SYMBOLS.get(role, role)
    if role == "weight" and index is not None and len(index) == 1:
        return "W"
    return letter


def role_label(role: str, index: tuple[int, ...] | None) -> str:
    """A plain-text label such as ``w(1)_23`` for layer 1, neuron 2, input 3.

    >>> role_label("weight", (1, 2, 3)), role_label("input", (0, 2)), role_label("bias", None)
    ('w(1)_23', 'x2', 'b')
    >>> role_label("activation", (2, 10)), role_label("weight", (1,)), role_label("bias", (2,))
    ('a(2)_10', 'W(1)', 'b(2)')
    """
    symbol = role_letter(role, index)
    if not index:
        return symbol
    if role == "input":  # x_k, the activations of layer 0
        return f"x{index[-1]}"
    layer, *rest = index
    if not rest:
        return f"{symbol}({layer})"
    sep = "" if all(i < 10 for i in rest) else ","
    return f"{symbol}({layer})_{sep.join(map(str, rest))}"


def user_label(value: Any) -> str:
    """The label the user gave ``value``, or ``""`` when it only has its default from its role.

    A model names its nodes by ``role`` and ``index``, so their ``label`` reads ``w(1)_23``
    until the user sets one; drawings and captions show a user's label instead of the notation.

    >>> from tinygrad_mlp import Value
    >>> v = Value(0.5); v.role, v.index = "weight", (1, 2, 3)
    >>> v.label, user_label(v)
    ('w(1)_23', '')
    >>> v.label = "ŷ"; user_label(v)
    'ŷ'
    """
    label = value.label
    if value.role is not None and label == role_label(value.role, value.index):
        return ""
    return label

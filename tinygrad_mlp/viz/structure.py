"""What a model's tags say about a graph: which neuron and which call each node belongs to.

A model's scalar call style tags some nodes (``role`` and ``index``): inputs ``x_k``, weights
``w^(l)_{jk}``, biases ``b^(l)_j``, weighted sums ``z^(l)_j`` and activations ``a^(l)_j``.  The
products and partial sums in between carry no tag; they belong to the neuron whose weights they
combine.  This module works that out from the public fields only (``role``, ``index``,
``parents``, ``op``), so the drawings never read label text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tinygrad_mlp.engine import Value

__all__ = ["Structure", "analyze", "collect"]

Neuron = tuple[int, int]
_PARAM_ROLES = ("weight", "bias")
_OUTPUT_ROLES = ("z", "activation")
KNOWN_ROLES = ("input", "weight", "bias", "z", "activation")


@dataclass
class Structure:
    """The model-level reading of a graph (see :func:`analyze`)."""

    nodes: list[Value]
    consumers: dict[Value, list[Value]]
    # neuron (l, j) of every node inside a neuron; (0, k) for input x_k
    owner: dict[Value, Neuron] = field(default_factory=dict)
    # which call of the model (0, 1, ...) made the node, for graphs of several samples
    instance: dict[Value, int] = field(default_factory=dict)
    # weight/bias nodes that pick one element of a layer's tensor: drawn as leaves
    param_nodes: set[Value] = field(default_factory=set)
    # the tensors W, b that only feed such nodes: not drawn
    hidden: set[Value] = field(default_factory=set)
    # (neuron, call) -> the node that is the neuron's output a^(l)_j (or z^(l)_j if linear)
    outputs: dict[tuple[int, int, int], Value] = field(default_factory=dict)
    n_instances: int = 0
    is_model: bool = False

    def layer_of(self, node: Value) -> int | None:
        """Layer number of a node inside a neuron (0 for inputs), else ``None``."""
        o = self.owner.get(node)
        return None if o is None else o[0]


def collect(roots: Value | Sequence[Value]) -> list[Value]:
    """Every node of one or several roots, operands before results, each once.

    >>> a = Value(1.0); b = a * 2; c = a + 1
    >>> len(collect([b, c]))
    5
    """
    if isinstance(roots, Value):
        return roots.graph()
    seen: set[Value] = set()
    out: list[Value] = []
    for r in roots:
        if not isinstance(r, Value):
            raise TypeError(f"expected Values to draw, got {type(r).__name__}")
        for n in r.graph():
            if n not in seen:
                seen.add(n)
                out.append(n)
    return out


def _is_param_pick(node: Value) -> bool:
    # W[j, k] / b[j]: one element of a layer's tensor, made by indexing
    return node.role in _PARAM_ROLES and node.op == "[]" and len(node.parents) == 1


def analyze(nodes: list[Value]) -> Structure:
    """Read the model tags of ``nodes`` (in :meth:`Value.graph` order).

    >>> from tinygrad_mlp import MLP
    >>> y = MLP(2, [3, 1], seed=0)([1.0, 2.0])
    >>> s = analyze(y.graph())
    >>> s.is_model, s.owner[y], s.n_instances, len(s.hidden)
    (True, (2, 1), 1, 4)
    """
    consumers: dict[Value, list[Value]] = {n: [] for n in nodes}
    for n in nodes:
        for p in n.parents:
            consumers[p].append(n)
    s = Structure(nodes=nodes, consumers=consumers)
    s.is_model = any(n.role in KNOWN_ROLES for n in nodes)
    if not s.is_model:
        return s
    owner = s.owner
    for n in nodes:
        role, index = n.role, n.index
        if role is not None:
            if role == "input" and index:
                owner[n] = (0, index[-1])
            elif role in _PARAM_ROLES + _OUTPUT_ROLES and index and len(index) >= 2:
                owner[n] = (index[0], index[1])
            if _is_param_pick(n):
                s.param_nodes.add(n)
            continue
        if not n.parents:
            continue
        # an untagged operation belongs to a neuron when it combines that neuron's weights,
        # bias or partial sums; another neuron's output (z, a) or an input does not count
        found = None
        for p in n.parents:
            o = owner.get(p)
            if o is None or p.role in _OUTPUT_ROLES or p.role == "input":
                continue
            if found is None:
                found = o
            elif found != o:
                found = None
                break
        if found is not None:
            owner[n] = found
    _claim_activation_internals(s)
    tensors = {n.parents[0]: None for n in s.param_nodes}  # each tensor once, in order
    for t in tensors:
        if all(c in s.param_nodes for c in consumers[t]):
            s.hidden.add(t)
    _number_calls(s)
    return s


def _claim_activation_internals(s: Structure) -> None:
    """Give a neuron the untagged nodes between its ``z`` and its activation.

    A student's activation such as ``x / (1 + x.abs())`` makes several nodes; they belong to
    the neuron whose ``a^(l)_j`` they compute.
    """
    owner = s.owner
    for n in s.nodes:
        if n.role != "activation" or n not in owner:
            continue
        stack = list(n.parents)
        while stack:
            p = stack.pop()
            if p in owner or p.role is not None:
                continue
            if not p.parents and p.requires_grad:  # someone's parameter, not a constant
                continue
            owner[p] = owner[n]
            stack.extend(p.parents)


def _number_calls(s: Structure) -> None:
    owner, consumers, inst = s.owner, s.consumers, s.instance
    counts: dict[Neuron, int] = {}
    for n in s.nodes:
        o = owner.get(n)
        if o is None or n.role == "input":
            continue
        if any(owner.get(c) == o for c in consumers[n]):
            continue  # feeds its own neuron: not the neuron's output
        k = counts.get(o, 0)
        counts[o] = k + 1
        inst[n] = k
        s.outputs[(o[0], o[1], k)] = n
    for n in reversed(s.nodes):
        k = inst.get(n)
        if k is None:
            continue
        o = owner.get(n)
        for p in n.parents:
            if p not in inst and (owner.get(p) == o or p.role == "input"):
                inst[p] = k
    s.n_instances = max(counts.values(), default=0)

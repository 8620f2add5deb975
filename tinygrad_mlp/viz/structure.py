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
from typing import Any

from tinygrad_mlp.engine import Value
from tinygrad_mlp.notation import PARAMETER_ROLES, ROLE_SYMBOLS

__all__ = ["Structure", "analyze", "collect", "Downstream", "downstream", "MANY"]

Neuron = tuple[int, int]
_PARAM_ROLES = PARAMETER_ROLES
_OUTPUT_ROLES = ("z", "activation")
KNOWN_ROLES = tuple(ROLE_SYMBOLS)


@dataclass
class Structure:
    """The model-level reading of a graph (see :func:`analyze`)."""

    nodes: list[Value]
    consumers: dict[Value, list[Value]]
    # neuron (l, j) of every node inside a neuron; (0, k) for input x_k
    owner: dict[Value, Neuron] = field(default_factory=dict)
    # which call of the model (0, 1, ...) made the node, for graphs of several samples; none
    # for a weight or bias node that several calls share
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


def _is_parameter_tensor(node: Value) -> bool:
    # a layer's W^(l) or b^(l) itself (or a neuron's weight vector): tagged with its role so
    # that drawings name it, but it is no node of the neuron-level graph
    return node.role in _PARAM_ROLES and node.ndim > 0 and not node.parents


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
    s.is_model = any(n.role in KNOWN_ROLES and not _is_parameter_tensor(n) for n in nodes)
    if not s.is_model:
        return s
    owner = s.owner
    for n in nodes:
        role, index = n.role, n.index
        if role is not None and not _is_parameter_tensor(n):
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
    shared = set()  # weight and bias nodes that several calls share (the model reuses them)
    for n in reversed(s.nodes):
        k = inst.get(n)
        if k is None:
            continue
        o = owner.get(n)
        for p in n.parents:
            if p not in inst and (owner.get(p) == o or p.role == "input"):
                inst[p] = k
            elif p in s.param_nodes and inst.get(p, k) != k:
                shared.add(p)
    for p in shared:
        del inst[p]
    s.n_instances = max(counts.values(), default=0)


# ----------------------------------------------------------------------------- after the model
MANY = -1  # depends on several calls, or on something learned that is no call's (a parameter)
MIN_CHAIN_LINKS = 3  # shorter chains of one op read fine node by node


@dataclass
class Downstream:
    """The untagged nodes after the model calls (the loss), as :func:`downstream` reads them."""

    # call -> the nodes that depend on that call only (and on constants), in graph order
    tails: dict[int, list[Value]] = field(default_factory=dict)
    # chains of one binary op, each link adding one term (``sum(losses)``): one node each
    chains: list[list[Value]] = field(default_factory=list)
    # every call has a tail and all have the same signature: they can be drawn as one
    tails_match: bool = False


def _call_dependence(s: Structure) -> dict[Value, int | None]:
    """For each node: the one call it depends on, ``None`` (constants only) or :data:`MANY`.

    Nodes inside a neuron depend on their own call.  One pass in graph order suffices because
    operands come before results.
    """
    dep: dict[Value, int | None] = {}
    for n in s.nodes:
        if n in s.owner:
            # a weight or bias as an operand of the loss (a penalty on it) is no per-call term
            k = None if n.role in _PARAM_ROLES else s.instance.get(n)
            dep[n] = MANY if k is None else k
            continue
        if not n.parents:
            dep[n] = MANY if n.requires_grad else None  # a parameter tensor, or a constant
            continue
        d: int | None = None
        for p in n.parents:
            q = dep[p]
            if q is None or q == d:
                continue
            if d is None:
                d = q
            else:
                d = MANY
                break
        dep[n] = d
    return dep


def _chains(s: Structure, dep: dict[Value, int | None]) -> list[list[Value]]:
    """Chains ``((t0 + t1) + t2) + ...`` of one binary op: what Python's ``sum(...)`` builds.

    Each link adds one term: a call's loss term in ``sum(losses)``, or a penalty term in
    ``sum((p*p).sum() for p in params)``.  A link's previous link must feed it alone (so merging
    hides no value anything else uses), and the chain must depend on more than one call or on a
    parameter (a sum inside one call's loss belongs to that call's tail).
    """
    candidates = [n for n in s.nodes if n.role is None and n not in s.owner
                  and len(n.parents) == 2]
    is_candidate = set(candidates)
    prev_of: dict[Value, Value] = {}
    for n in candidates:
        a, b = n.parents
        for prev, term in ((a, b), (b, a)):
            if (prev in is_candidate and prev.function is n.function and prev is not term
                    and s.consumers[prev] == [n]):
                prev_of[n] = prev
                break
    has_next = set(prev_of.values())
    chains = []
    for end in candidates:
        if end not in prev_of or end in has_next:
            continue  # not the last link of a chain
        chain = [end]
        while chain[-1] in prev_of:
            chain.append(prev_of[chain[-1]])
        chain.reverse()
        if len(chain) >= MIN_CHAIN_LINKS and dep[end] == MANY:
            chains.append(chain)
    return chains


def _signature(tail: list[Value], s: Structure) -> tuple[Any, ...]:
    """The shape of one call's tail: ops and how they connect, never data or labels."""
    local = {n: i for i, n in enumerate(tail)}
    sig = []
    for n in tail:
        parents = []
        for p in n.parents:
            if p in local:
                parents.append(("tail", local[p]))
            elif p in s.owner:
                parents.append(("neuron", s.owner[p], p.role))
            else:
                parents.append(("outside",))
        sig.append((n.op, n.function, n.shape, n.requires_grad, tuple(parents)))
    return tuple(sig)


def downstream(s: Structure) -> Downstream:
    """Find the per-call tails and the reduction chains of a model graph of several calls.

    In micrograd's demo step each call's score goes through ``(1 + -y*score).relu()`` (its
    *tail*) and a ``sum(...)`` chain of ``+`` adds the tails up.  Drawn node by node that is
    hundreds of nodes; a collapsed drawing merges the tails the way it merges the calls.

    >>> from tinygrad_mlp import MLP
    >>> model = MLP(2, [3, 1], seed=0)
    >>> losses = [(1 - model([float(i), 1.0])).relu() for i in range(4)]
    >>> d = downstream(analyze(collect(sum(losses))))
    >>> sorted(d.tails), [len(t) for t in d.tails.values()], d.tails_match, len(d.chains[0])
    ([0, 1, 2, 3], [3, 3, 3, 3], True, 4)
    """
    out = Downstream()
    if not s.is_model or s.n_instances < 2:
        return out
    dep = _call_dependence(s)
    out.chains = _chains(s, dep)
    in_chain = {n for c in out.chains for n in c}
    call_of: dict[Value, int] = {}
    for n in s.nodes:
        d = dep[n]
        if (n.parents and n.role is None and n not in s.owner and n not in in_chain
                and d is not None and d != MANY):
            call_of[n] = d
    for n in s.nodes:  # constants that only this call's tail uses belong to it
        if n.parents or n.requires_grad or n.role is not None or n in s.owner:
            continue
        ks = {call_of.get(c) for c in s.consumers[n]}
        if len(ks) == 1 and None not in ks:
            call_of[n] = ks.pop()
    for n in s.nodes:
        if n in call_of:
            out.tails.setdefault(call_of[n], []).append(n)
    sigs = {_signature(t, s) for t in out.tails.values()}
    out.tails_match = len(sigs) == 1 and len(out.tails) == s.n_instances
    return out

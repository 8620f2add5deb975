"""Neurons, layers and multilayer perceptrons built from :class:`~tinygrad_mlp.engine.Value`.

Notation (from the course note): layer ``l`` (numbered from 1) owns the weights
``w^(l)_{jk}`` — to neuron ``j`` from input ``k`` — stored as ``W`` of shape ``(n_out, n_in)``,
and the biases ``b^(l)_j``, which the note writes as ``w^(l)_{j0}`` on a constant input
``x_0 = 1``.  Neuron ``j`` computes ``a^(l)_j = phi(z^(l)_j)`` with
``z^(l)_j = sum_k w^(l)_{jk} a^(l-1)_k + b^(l)_j``.

Every model runs two ways on the same parameters:

* called with a list of numbers or scalar Values it builds the neuron-level scalar graph, one
  node per weight, each node tagged with ``role`` (``"weight"``, ``"bias"``, ``"z"``,
  ``"activation"``) and ``index`` (``(l, j, k)`` for a weight, ``(l, j)`` otherwise);
* called with an array (or a tensor Value) of shape ``(N, n_in)`` it runs vectorized and
  returns a Value of shape ``(N, n_out)``.

A layer may drop its inputs while training (inverted dropout, :class:`Dropout`): modules start
in training mode; ``model.eval()`` (or :func:`eval_mode`) turns dropout off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from tinygrad_mlp import ops
from tinygrad_mlp.checks import (
    argument_error,
    check_bool,
    check_callable,
    check_choice,
    check_dtype,
    check_int,
    check_mapping,
    check_number,
    check_random_state,
    check_sequence,
    describe,
)
from tinygrad_mlp.engine import Value, clear_grads, is_grad_enabled, registry

__all__ = [
    "Module",
    "Neuron",
    "Layer",
    "MLP",
    "Dropout",
    "eval_mode",
    "ACTIVATIONS",
    "register_activation",
    "get_activation",
    "stack",
]

Activation = Callable[[Value], Value]
# a name ("tanh"), a name with arguments (("leaky_relu", 0.2)), a function, or None (linear)
ActivationSpec = str | tuple[Any, ...] | Activation | None
SeedLike = int | np.random.Generator | np.random.RandomState | None


# --------------------------------------------------------------------------- activations
def _linear(x: Value) -> Value:
    return x


# Every operation registered as an activation (relu, tanh, sigmoid, leaky_relu, and any you
# register with activation=True) is here under its name, and so are the functions given to
# register_activation.
ACTIVATIONS: dict[str, Activation] = {"linear": _linear}

registry.mirror(ACTIVATIONS, "activation")


def register_activation(name: str, fn: Activation) -> None:
    """Make ``fn`` (a ``Value -> Value`` function) usable by name everywhere.

    >>> register_activation("softsign", lambda x: x / (1 + x.abs()))
    >>> Layer(2, 3, activation="softsign").activation_name
    'softsign'
    """
    if not isinstance(name, str) or not name:
        raise argument_error(ValueError if isinstance(name, str) else TypeError,
                             "register_activation", "name", "a non-empty str", name)
    ACTIVATIONS[name] = check_callable("register_activation", "fn", fn)


def get_activation(spec: ActivationSpec) -> tuple[str | None, Activation]:
    """``(name, function)`` for an activation given by name, as a callable, or ``None``.

    A tuple gives a name and the activation's arguments: ``("leaky_relu", 0.2)`` is the leaky
    ReLU of slope 0.2 (the function returned applies them).  A callable that is not registered
    has the name ``None``; such a model cannot be saved.

    >>> get_activation("tanh")[0], get_activation(None)[0]
    ('tanh', 'linear')
    >>> name, fn = get_activation(("leaky_relu", 0.2)); name, fn(Value(-1.0)).data
    ('leaky_relu', -0.2)
    """
    name, _, fn = _activation_parts(spec, "get_activation", "activation")
    return name, fn


def activation_text(name: str | None, args: Sequence[float] = ()) -> str:
    """How an activation reads in a model's repr and drawings: ``leaky_relu(0.2)``.

    >>> activation_text("tanh"), activation_text("leaky_relu", (0.2,)), activation_text(None)
    ('tanh', 'leaky_relu(0.2)', 'custom')
    """
    text = "custom" if name is None else name
    return f"{text}({', '.join(f'{a:g}' for a in args)})" if args else text


def _activation_parts(
    spec: Any, who: str, name: str,
) -> tuple[str | None, tuple[float, ...], Activation]:
    """``(name, arguments, function)`` for an activation spec; the function applies the
    arguments.  Errors name ``who`` and the argument ``name``."""
    args: tuple[float, ...] = ()
    if isinstance(spec, tuple):
        if not spec or not (isinstance(spec[0], str) or callable(spec[0])):
            raise argument_error(TypeError, who, name,
                                 "a tuple (activation name, arguments...) like ('leaky_relu', 0.2)",
                                 spec)
        if any(isinstance(a, str) for a in spec[1:]):
            raise argument_error(TypeError, who, name, "a tuple (activation name, numbers...) "
                                 "like ('leaky_relu', 0.2); give one activation per layer as a "
                                 "list", spec)
        spec, args = spec[0], tuple(check_number(who, f"{name} argument {i}", a)
                                    for i, a in enumerate(spec[1:], 1))
    act_name, fn = _resolve_activation(spec, who, name)
    if not args:
        return act_name, (), fn

    def bound(z: Value) -> Value:
        return fn(z, *args)

    try:  # a wrong number of arguments shows now, not at the first forward pass
        bound(Value(0.0, requires_grad=False))
    except TypeError as e:
        raise ValueError(f"{who}: {name} {activation_text(act_name)!r} does not take the "
                         f"arguments {args}: {e}") from None
    return act_name, args, bound


def _resolve_activation(spec: ActivationSpec, who: str, name: str) -> tuple[str | None, Activation]:
    """:func:`get_activation` for argument ``name`` of ``who``, whose errors name both."""
    if spec is None:
        return "linear", _linear
    if isinstance(spec, str):
        if spec not in ACTIVATIONS:
            raise ValueError(
                f"{who}: unknown {name} {spec!r}; valid names: {', '.join(sorted(ACTIVATIONS))} "
                "(or register your own with register_activation)"
            )
        return spec, ACTIVATIONS[spec]
    if callable(spec):
        for key, fn in ACTIVATIONS.items():
            if fn is spec:
                return key, fn
        return None, spec
    raise argument_error(TypeError, who, name, "an activation name, a callable or None", spec)


def stack(values: Sequence[Value]) -> Value:
    """Stack Values of one shape into a tensor with a new first axis.

    >>> stack([Value(1.0), Value(2.0)]).data
    array([1., 2.])
    """
    values = check_sequence("stack", "values", values, "a list of Values or numbers")
    if not values:
        raise ValueError("stack: values must hold at least one Value, got an empty list")
    return ops.Stack.apply(*[v if isinstance(v, Value) else _constant("stack", f"values[{i}]", v)
                             for i, v in enumerate(values)])


def _constant(who: str, name: str, x: Any) -> Value:
    """``x`` as a constant Value, or a TypeError naming ``who`` and ``name``."""
    try:
        return Value(x, requires_grad=False)
    except TypeError as e:
        raise argument_error(TypeError, who, name, "a Value, a number or an array of numbers",
                             x) from e


# --------------------------------------------------------------------------- Module
class Module:
    """Base class of models: parameters, names, modes and state.

    Parameters are the ``Value`` attributes of a module (in the order they were set), and
    those of its sub-modules.  Values and sub-modules may also sit in lists or tuples (e.g.
    micrograd's ``self.w = [Value(...), ...]``): item ``i`` of ``w`` is named ``w.i``.
    Attributes whose names start with ``_`` are private, never parameters.  A parameter held
    in two places (tied weights, ``model.layers[1].W = model.layers[0].W``) is one parameter:
    :meth:`parameters` lists it once, so it is counted and updated once.

    >>> m = MLP(2, [3, 1], seed=0)
    >>> [name for name, _ in m.named_parameters()]
    ['layers.0.W', 'layers.0.b', 'layers.1.W', 'layers.1.b']
    """

    training: bool = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """``module(...)`` is ``module.forward(...)``, with every argument passed on."""
        return self.forward(*args, **kwargs)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__ and "__call__" not in cls.__dict__:
            # module(x) runs forward itself, with no frame in between: a model is called once
            # per training step, each of its layers once more in the scalar style
            cls.__call__ = cls.__dict__["forward"]

    def forward(self, *args: Any, **kwargs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def named_parameters(self, prefix: str = "", remove_duplicate: bool = True,
                         ) -> Iterator[tuple[str, Value]]:
        """Yield ``(name, parameter)`` pairs with dotted names like ``layers.0.W`` or ``w.0``.

        A parameter held in two places (tied weights) is yielded once, under its first name,
        as in PyTorch; with ``remove_duplicate=False``, under each of its names (the names of
        :meth:`state_dict`).

        >>> m = MLP(3, [3, 3, 1], seed=0)
        >>> m.layers[1].W = m.layers[0].W  # tie: one parameter, two places
        >>> [name for name, _ in m.named_parameters()]
        ['layers.0.W', 'layers.0.b', 'layers.1.b', 'layers.2.W', 'layers.2.b']
        >>> len(list(m.named_parameters(remove_duplicate=False)))
        6
        """
        seen: set[Value] = set()
        for name, item in _walk(self, prefix):
            if isinstance(item, Value) and (not remove_duplicate or item not in seen):
                seen.add(item)
                yield name, item

    def parameters(self) -> list[Value]:
        """All parameters, each once, in the order of :meth:`named_parameters`.

        >>> m = MLP(3, [3, 3, 1], seed=0)
        >>> m.layers[1].W = m.layers[0].W
        >>> len(m.parameters()), m.num_parameters()
        (5, 19)
        """
        # no names, no modules: training loops call this every step.  dict.fromkeys keeps
        # the first of each parameter, in order (Values hash by identity).
        params: list[Value] = []
        _walk_into(self, None, params, True, False)  # (_walk without names or modules)
        return params if len(set(params)) == len(params) else list(dict.fromkeys(params))

    def num_parameters(self) -> int:
        """The number of trainable numbers (weights and biases); a tied parameter counts once.

        >>> MLP(2, [3, 1]).num_parameters()
        13
        """
        return sum(p.size for p in self.parameters())

    def zero_grad(self) -> None:
        """Reset every parameter's gradient to zero."""
        clear_grads(self.parameters())

    def train(self, mode: bool = True) -> Module:
        """Switch to training mode (or evaluation mode with ``mode=False``)."""
        mode = check_bool(f"{type(self).__name__}.train", "mode", mode)
        self.training = mode
        for _, child in _walk(self, recurse=False):
            if isinstance(child, Module):
                child.train(mode)
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode."""
        return self.train(False)

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter as an array, by name.

        Unlike :meth:`named_parameters`, a tied parameter appears under every name it has (as
        in PyTorch), so the state loads into a model built the same way, tie included.

        >>> sorted(Layer(2, 3, seed=0).state_dict())
        ['W', 'b']
        """
        return {name: np.array(p.data, copy=True)
                for name, p in self.named_parameters(remove_duplicate=False)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy arrays into the parameters by name, all or nothing.

        Missing, unexpected and wrongly shaped entries, and arrays of other than integer or
        float dtype, are all listed in one ``ValueError`` and no parameter is changed.

        Every name of a tied parameter is expected (as :meth:`state_dict` writes them); the
        arrays are copied into the existing parameters, so the tie stays.  Different arrays
        for two names of one parameter are refused.

        >>> a, b = Layer(2, 3, seed=0), Layer(2, 3, seed=1)
        >>> b.load_state_dict(a.state_dict()); bool((b.W.data == a.W.data).all())
        True
        """
        state = check_mapping("load_state_dict", "state", state,
                              "a dict of arrays by parameter name")
        for key in state:
            if not isinstance(key, str):
                raise argument_error(TypeError, "load_state_dict", "every key of state",
                                     "a parameter name (str)", key)
        params = dict(self.named_parameters(remove_duplicate=False))
        problems = []
        missing = [k for k in params if k not in state]
        unexpected = [k for k in state if k not in params]
        if missing:
            problems.append(f"missing keys: {', '.join(missing)}")
        if unexpected:
            problems.append(f"unexpected keys: {', '.join(unexpected)}")
        arrays = {}
        for name, p in params.items():
            if name in state:
                try:
                    arr = np.asarray(state[name])
                except (TypeError, ValueError) as e:  # ragged lists, objects numpy refuses
                    problems.append(f"{name}: not an array ({describe(state[name])}: {e})")
                    continue
                fits = True
                if arr.shape != p.shape:
                    problems.append(f"{name}: shape {arr.shape} in the state, {p.shape} in the model")
                    fits = False
                # only integers and floats cast into float parameters without losing meaning:
                # complex would drop its imaginary part, timedelta its unit, bool is no weight
                if arr.dtype.kind not in "iuf":
                    problems.append(f"{name}: dtype {arr.dtype} is not an integer or float dtype")
                    fits = False
                if fits:
                    arrays[name] = arr
        first: dict[Value, str] = {}  # a tied parameter's first name in the state
        for name, arr in arrays.items():
            other = first.setdefault(params[name], name)
            if other != name and not np.array_equal(arrays[other], arr, equal_nan=True):
                problems.append(f"{other} and {name} are one (tied) parameter in the model, "
                                "but differ in the state")
        if problems:
            raise ValueError("load_state_dict refused the state: " + "; ".join(problems))
        for name, arr in arrays.items():
            p = params[name]
            if type(p.data) is float:
                p.data = float(arr)
            else:
                p.data[...] = arr

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        for name, item in _walk(self, recurse=False):
            if isinstance(item, Module):
                body = repr(item).replace("\n", "\n  ")
                lines.append(f"  ({name}): {body}")
            elif "." not in name:  # a Value attribute (those in lists are not shown one by one)
                lines.append(f"  ({name}): parameter of shape {item.shape}, {item.dtype}")
        lines.append(f")  # {self.num_parameters()} parameters")
        return "\n".join(lines)


# attribute types that never hold parameters, skipped without isinstance checks
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _walk(
    module: Module, prefix: str = "", *, names: bool = True, recurse: bool = True,
    modules: bool = True,
) -> list[Any]:
    """Every Value and sub-Module held by ``module``'s public attributes, as ``(name, item)``.

    The one place that reads a module's attributes: parameters, names, state and modes all
    come from here.  Attributes are taken in the order they were set; a Value or Module may
    sit in a (nested) list or tuple, item ``i`` of ``w`` being named ``w.i``.  A sub-module
    comes before its own members, which are included with ``recurse``.  Nothing is
    de-duplicated: a tied parameter is listed under each of its names.  ``names=False``
    gives the items alone and ``modules=False`` leaves the sub-modules themselves out
    (together: the fast path of :meth:`Module.parameters`, called every training step).

    >>> [name for name, _ in _walk(Layer(2, 3))]
    ['W', 'b']
    """
    out: list[Any] = []
    _walk_into(module, prefix if names else None, out, recurse, modules)
    return out


def _walk_into(
    module: Module, prefix: str | None, out: list[Any], recurse: bool, modules: bool,
) -> None:
    for name, attr in vars(module).items():
        if not name or name[0] == "_" or type(attr) in _PLAIN:
            continue
        if isinstance(attr, Value):  # the usual attribute (W, b), without a call per item
            out.append(attr if prefix is None else (prefix + name, attr))
        else:
            _walk_item(attr, None if prefix is None else prefix + name, out, recurse, modules)


def _walk_item(item: Any, name: str | None, out: list[Any], recurse: bool, modules: bool) -> None:
    """Add ``item`` (found under ``name``; ``None``: no names wanted) and what it holds."""
    if isinstance(item, (list, tuple)):
        if name is None:
            for x in item:  # (a list of layers: each walked without a call for the list item)
                if recurse and not modules and isinstance(x, Module):
                    _walk_into(x, None, out, True, False)
                else:
                    _walk_item(x, None, out, recurse, modules)
        else:
            for i, x in enumerate(item):
                _walk_item(x, f"{name}.{i}", out, recurse, modules)
    elif isinstance(item, Value):
        out.append(item if name is None else (name, item))
    elif isinstance(item, Module):
        if modules:
            out.append(item if name is None else (name, item))
        if recurse:
            _walk_into(item, None if name is None else name + ".", out, recurse, modules)


_INITS = ("he", "xavier", "uniform", None)  # None: He for ReLU-like activations, else Xavier


def _settings(
    who: str, activation: ActivationSpec, init: Any, dtype: Any, seed: Any,
) -> tuple[str | None, tuple[float, ...], Activation, np.dtype, np.random.Generator]:
    """The checked settings every model constructor shares: the activation's
    ``(name, arguments, function)``, the dtype and the random generator (``init`` is only
    checked)."""
    name, args, fn = _activation_parts(activation, who, "activation")
    check_choice(who, "init", init, _INITS)
    return name, args, fn, check_dtype(who, "dtype", dtype), check_random_state(who, "seed", seed)


def _init_weights(
    rng: np.random.Generator, nout: int, nin: int, activation: str | None, init: str | None,
) -> np.ndarray:
    """He for ReLU-like activations, Xavier/Glorot otherwise, or micrograd's uniform(-1, 1)."""
    if init is None:
        init = "he" if activation in ("relu", "leaky_relu") else "xavier"
    if init == "he":
        return rng.normal(0.0, np.sqrt(2.0 / nin), size=(nout, nin))
    if init == "xavier":
        limit = np.sqrt(6.0 / (nin + nout))
        return rng.uniform(-limit, limit, size=(nout, nin))
    return rng.uniform(-1.0, 1.0, size=(nout, nin))  # "uniform" (checked by the constructor)


def _check_size(x_len: int, nin: int, who: str) -> None:
    if x_len != nin:
        raise ValueError(f"{who} expects {nin} inputs per sample, got {x_len}")


def _scalar_inputs(x: Sequence[Any]) -> list[Value]:
    """A sample given as a list: numbers become constant inputs, Values stay as they are."""
    out = []
    for i, xi in enumerate(x):
        if isinstance(xi, Value):
            if xi.ndim != 0:
                raise ValueError(
                    f"input {i + 1} is a Value of shape {xi.shape}; the list call style takes "
                    "numbers or scalar Values (pass an array for the vectorized style)"
                )
            out.append(xi)
        else:
            v = Value(xi, requires_grad=False)
            if type(v.data) is not float:
                raise ValueError(f"input {i + 1} is not a number: {xi!r}")
            v.role, v.index = "input", (0, i + 1)
            out.append(v)
    return out


def _vector_input(x: Any, dtype: np.dtype, nin: int, who: str) -> Value:
    if isinstance(x, Value):
        if x.ndim not in (1, 2):
            raise ValueError(f"{who} expects an input of shape (N, {nin}) or ({nin},), got {x.shape}")
        _check_size(x.shape[-1], nin, who)
        return x if x.dtype == dtype else x.astype(dtype)
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{who} got an input of dtype {arr.dtype}; expected numbers")
    if arr.ndim not in (1, 2):
        raise ValueError(f"{who} expects an input of shape (N, {nin}) or ({nin},), got {arr.shape}")
    _check_size(arr.shape[-1], nin, who)
    return Value(arr.astype(dtype, copy=False), requires_grad=False)


def _neuron_sum(weights: Sequence[Value], x: Sequence[Value], bias: Value) -> Value:
    """``b + w_1 x_1 + ... + w_n x_n`` as a chain of ``+`` nodes (what a lecture writes)."""
    z = bias
    for w, xi in zip(weights, x):
        z = z + w * xi
    return z


def _tag(v: Value, role: str, index: tuple[int, ...]) -> Value:
    """Set a node's role and indices (its label then reads e.g. ``w(1)_23``)."""
    v.role, v.index = role, index
    return v


# A neuron's or layer's activation arguments (``(0.2,)`` for ``("leaky_relu", 0.2)``), read-only.
# A property, not an attribute: parameters() walks a module's attributes every training step.
_ACTIVATION_ARGS = property(lambda self: self._activation_args,
                            doc="The activation's arguments: ``(0.2,)`` for ``(\"leaky_relu\", 0.2)``.")


# --------------------------------------------------------------------------- Neuron
class Neuron(Module):
    """One neuron ``y = phi(w . x + b)`` with ``w`` of shape ``(nin,)`` and ``b`` of shape ``(1,)``.

    >>> n = Neuron(3, activation="tanh", seed=0)
    >>> y = n([1.0, -2.0, 0.5])
    >>> y.role, y.op
    ('activation', 'tanh')
    """

    activation_args = _ACTIVATION_ARGS

    def __init__(
        self, nin: int, activation: ActivationSpec = "relu", *, init: str | None = None,
        dtype: Any = np.float64, seed: SeedLike = None, layer: int = 1, neuron: int = 1,
    ) -> None:
        nin = check_int("Neuron", "nin", nin, minimum=1)
        self.position = (check_int("Neuron", "layer", layer, minimum=1),
                         check_int("Neuron", "neuron", neuron, minimum=1))
        self.activation_name, self._activation_args, self._activation, self._dtype, rng = \
            _settings("Neuron", activation, init, dtype, seed)
        w = _init_weights(rng, 1, nin, self.activation_name, init)[0]
        self.w = _tag(Value(w.astype(self._dtype)), "weight", self.position)
        self.b = _tag(Value(np.zeros(1, self._dtype)), "bias", self.position)

    @property
    def nin(self) -> int:
        return self.w.shape[0]

    def forward(self, x: Any) -> Value:
        if isinstance(x, (list, tuple)):
            _check_size(len(x), self.nin, "Neuron")
            xs = _scalar_inputs(x)
            layer, j = self.position
            ws = [_tag(self.w[k], "weight", (layer, j, k + 1)) for k in range(self.nin)]
            bias = _tag(self.b[0], "bias", (layer, j))
            z = _tag(_neuron_sum(ws, xs, bias), "z", (layer, j))
            return _activate(self._activation, z, (layer, j))
        xv = _vector_input(x, self._dtype, self.nin, "Neuron")
        return self._activation(xv @ self.w + self.b[0])

    def __repr__(self) -> str:
        text = activation_text(self.activation_name, self.activation_args)
        return f"Neuron({self.nin}, activation={text!r})"


def _activate(fn: Activation, z: Value, tag: tuple[int, int]) -> Value:
    a = fn(z)
    if a is not z:
        _tag(a, "activation", tag)
    return a


# --------------------------------------------------------------------------- Layer
class Layer(Module):
    """A layer of ``nout`` neurons: ``a^(l) = phi(W^(l) a^(l-1) + b^(l))``.

    ``W`` has shape ``(nout, nin)`` (row ``j`` is neuron ``j``), ``b`` shape ``(nout,)``.
    ``index`` is the layer number ``l`` used in node tags and drawings (from 1).
    ``activation`` is a name, a name with arguments (``("leaky_relu", 0.2)``: read back from
    ``activation_name`` and ``activation_args``), a function, or None for the identity.
    ``dropout=p`` drops each input ``a^(l-1)_k`` with probability ``p`` while training
    (:class:`Dropout`, held in ``layer.dropout``; None without dropout), using the ``seed``'s
    generator.

    >>> layer = Layer(2, 3, activation="relu", seed=0)
    >>> len(layer([1.0, 2.0])), layer(np.ones((5, 2))).shape
    (3, (5, 3))
    >>> Layer(4, 2, activation=("leaky_relu", 0.2), dropout=0.5)
    Layer(4 -> 2, activation='leaky_relu(0.2)', dropout=0.5)
    """

    activation_args = _ACTIVATION_ARGS

    def __init__(
        self, nin: int, nout: int, activation: ActivationSpec = "relu", *,
        init: str | None = None, dtype: Any = np.float64, seed: SeedLike = None, index: int = 1,
        dropout: float = 0.0,
    ) -> None:
        nin = check_int("Layer", "nin", nin, minimum=1)
        nout = check_int("Layer", "nout", nout, minimum=1)
        self.index = index = check_int("Layer", "index", index, minimum=1)
        p = _check_p("Layer", "dropout", dropout)
        self.activation_name, self._activation_args, self._activation, self._dtype, rng = \
            _settings("Layer", activation, init, dtype, seed)
        W = _init_weights(rng, nout, nin, self.activation_name, init)
        self.W = _tag(Value(W.astype(self._dtype)), "weight", (index,))
        self.b = _tag(Value(np.zeros(nout, self._dtype)), "bias", (index,))
        self.dropout = Dropout(p, seed=rng) if p else None

    @property
    def nin(self) -> int:
        return self.W.shape[1]

    @property
    def nout(self) -> int:
        return self.W.shape[0]

    def forward(self, x: Any) -> Any:
        if isinstance(x, (list, tuple)):
            _check_size(len(x), self.nin, f"Layer {self.index}")
            return self._scalar(_scalar_inputs(x))
        return self._vector(_vector_input(x, self._dtype, self.nin, f"Layer {self.index}"))

    @property
    def activation(self) -> ActivationSpec:
        """The activation as given to the constructor: a name, or ``(name, *arguments)``."""
        if self.activation_name is None:
            return self._activation
        return (self.activation_name, *self.activation_args) if self.activation_args \
            else self.activation_name

    def _vector(self, x: Value) -> Value:
        if self.dropout is not None:
            x = self.dropout(x)
        return self._activation(ops.Linear.apply(x, self.W, self.b))

    def _scalar(self, x: list[Value]) -> list[Value]:
        if self.dropout is not None:
            x = self.dropout(x)
        out = []
        for tag, ws, bias in self._scalar_parameters():
            z = _tag(_neuron_sum(ws, x, bias), "z", tag)
            out.append(_activate(self._activation, z, tag))
        return out

    def _scalar_parameters(self) -> list[tuple[tuple[int, int], list[Value], Value]]:
        """Per neuron: its tag ``(l, j)``, its weight nodes ``w^(l)_jk`` and its bias ``b^(l)_j``.

        The nodes are made once per version of the parameters and shared by every call until
        ``W`` or ``b`` changes (an optimizer step, ``p.data[...] = ...``, loading) or a
        backward pass runs through them: the 100 samples of a batch then cost one node per
        weight, not 100, and each weight node's gradient is dL/dw for everything it fed.  A
        change is found by comparing with a copy of the parameters taken when the nodes were
        made (a few microseconds a layer).  Nothing is cached while recording is off
        (``no_grad``) or for a parameter that does not require a gradient.
        """
        W, b = self.W, self.b
        recording = is_grad_enabled() and W.requires_grad and b.requires_grad
        cached = self.__dict__.get("_node_cache")
        if (recording and cached is not None and cached[0] is W.data and cached[1] is b.data
                and np.array_equal(cached[2], W.data) and np.array_equal(cached[3], b.data)
                and not any(bias.has_grad for _, _, bias in cached[4])):
            return cached[4]  # (a backward through them would show its gradients in new graphs)
        nodes = [(tag, [_tag(W[where], "weight", weight_tag) for where, weight_tag in cells],
                  _tag(b[j], "bias", tag))
                 for j, (tag, cells) in enumerate(self._cells())]
        if recording:
            self._node_cache = (W.data, b.data, W.data.copy(), b.data.copy(), nodes)
        else:
            self.__dict__.pop("_node_cache", None)
        return nodes

    def _cells(self) -> list[tuple[tuple[int, int], list[tuple[tuple[int, int], tuple[int, ...]]]]]:
        """Per neuron: its tag ``(l, j)`` and, per weight, ``((j-1, k-1), (l, j, k))``.

        Built once and shared by every call, so the scalar style allocates no index tuples.
        """
        cached = self.__dict__.get("_cell_cache")
        if cached is None or len(cached) != self.nout or len(cached[0][1]) != self.nin:
            n = self.index
            cached = [((n, j), [((j - 1, k - 1), (n, j, k)) for k in range(1, self.nin + 1)])
                      for j in range(1, self.nout + 1)]
            self._cell_cache = cached
        return cached

    def __repr__(self) -> str:
        text = activation_text(self.activation_name, self.activation_args)
        drop = f", dropout={self.dropout.p:g}" if self.dropout is not None else ""
        return f"Layer({self.nin} -> {self.nout}, activation={text!r}{drop})"


# --------------------------------------------------------------------------- MLP
class MLP(Module):
    """Layers in a row: ``MLP(2, [16, 16, 1])`` has two ReLU hidden layers and a linear output.

    ``activation`` is used by the hidden layers, ``output_activation`` by the last one.  An
    activation is a name, a name with arguments (``("leaky_relu", 0.2)``), a function or None
    (the identity); a list gives one per layer (or one per hidden layer, the last layer then
    taking ``output_activation``).  ``dropout=p`` drops the hidden layers' outputs with
    probability ``p`` while training (inverted dropout, off in :meth:`~Module.eval` mode); a
    list gives each layer's dropout of its inputs (the first entry drops input features), or
    one per hidden layer.  ``init`` picks the weight initialisation (default: He for ReLU,
    Xavier otherwise; ``"uniform"`` for micrograd's uniform(-1, 1)).  ``seed`` (or a numpy
    Generator) makes the initial weights and the dropout masks reproducible.

    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> model([0.5, -1.0]).shape, model(np.zeros((4, 2))).shape
    ((), (4, 1))
    >>> MLP(2, [8, 8, 1], activation=["tanh", ("leaky_relu", 0.2), None], dropout=0.5)
    MLP(2 -> 8 tanh -> dropout 0.5 -> 8 leaky_relu(0.2) -> dropout 0.5 -> 1 linear)  # 105 parameters
    """

    def __init__(
        self, nin: int, nouts: Sequence[int], activation: ActivationSpec | list[ActivationSpec]
        = "relu", output_activation: ActivationSpec = None, *, init: str | None = None,
        dtype: Any = np.float64, seed: SeedLike = None, dropout: float | Sequence[float] = 0.0,
    ) -> None:
        nin = check_int("MLP", "nin", nin, minimum=1)
        nouts = check_sequence("MLP", "nouts", nouts, "a list of layer sizes (ints)")
        if not nouts:
            raise ValueError("MLP: nouts must hold at least one layer size, got an empty list")
        nouts = [check_int("MLP", f"nouts[{i}]", n, minimum=1) for i, n in enumerate(nouts)]
        activations = _per_layer_activations(activation, output_activation, len(nouts))
        dropouts = _per_layer_dropout(dropout, len(nouts))
        check_choice("MLP", "init", init, _INITS)
        dtype = check_dtype("MLP", "dtype", dtype)
        rng = check_random_state("MLP", "seed", seed)
        sizes = [nin] + nouts
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activations[i], init=init, dtype=dtype, seed=rng,
                  index=i + 1, dropout=dropouts[i])
            for i in range(len(nouts))
        ]

    @property
    def nin(self) -> int:
        return self.layers[0].nin

    @property
    def nouts(self) -> list[int]:
        return [layer.nout for layer in self.layers]

    @property
    def dtype(self) -> np.dtype:
        return self.layers[0].W.dtype

    @property
    def activations(self) -> list[ActivationSpec]:
        """Each layer's activation: a name, or ``(name, *arguments)`` (see :attr:`Layer.activation`).

        >>> MLP(2, [3, 1], activation=("leaky_relu", 0.1)).activations
        [('leaky_relu', 0.1), 'linear']
        """
        return [layer.activation for layer in self.layers]

    @property
    def dropout(self) -> list[float]:
        """Each layer's dropout probability for its inputs (0.0 for none).

        >>> MLP(2, [3, 3, 1], dropout=0.2).dropout
        [0.0, 0.2, 0.2]
        """
        return [0.0 if layer.dropout is None else layer.dropout.p for layer in self.layers]

    def forward(self, x: Any) -> Any:
        if isinstance(x, (list, tuple)):
            _check_size(len(x), self.nin, "MLP")
            h: Any = _scalar_inputs(x)
            for layer in self.layers:
                h = layer._scalar(h)
            return h[0] if len(h) == 1 else h
        if isinstance(x, Value) and x.ndim == 0:
            raise TypeError("pass a scalar input as a list: model([x])")
        W = self.layers[0].W.data  # (self.dtype and self.nin, without two property chains)
        h = _vector_input(x, W.dtype, W.shape[1], "MLP")
        for layer in self.layers:  # each layer's input size is right by construction
            h = layer._vector(h)
        return h

    def __repr__(self) -> str:
        parts = [str(self.nin)]
        for layer in self.layers:
            if layer.dropout is not None:
                parts.append(f"dropout {layer.dropout.p:g}")
            parts.append(f"{layer.nout} {activation_text(layer.activation_name, layer.activation_args)}")
        return f"MLP({' -> '.join(parts)})  # {self.num_parameters()} parameters"


def _per_layer_activations(activation: Any, output_activation: Any, n: int) -> list[Any]:
    """``MLP``'s activations, one per layer: a list of ``n`` (then ``output_activation`` must
    be None) or ``n - 1`` (the hidden layers), or one activation for every hidden layer."""
    if isinstance(activation, list):
        if len(activation) == n:
            if output_activation is not None:
                raise ValueError("MLP: give the last layer's activation either in the activation "
                                 "list or as output_activation, not both")
            found = list(activation)
        elif len(activation) == n - 1:
            found = [*activation, output_activation]
        else:
            raise ValueError(f"MLP: activation is a list of {len(activation)}; give one per layer "
                             f"({n}) or one per hidden layer ({n - 1})")
        names = [f"activation[{i}]" for i in range(len(activation))] + ["output_activation"]
    else:
        _activation_parts(activation, "MLP", "activation")  # checked even with no hidden layer
        found = [activation] * (n - 1) + [output_activation]
        names = ["activation"] * (n - 1) + ["output_activation"]
    for spec, name in zip(found, names):
        _activation_parts(spec, "MLP", name)  # checked here, for an error naming the argument
    return found


def _per_layer_dropout(dropout: Any, n: int) -> list[float]:
    """``MLP``'s dropout, one probability per layer (for its inputs): a number is used
    between the layers (not on the inputs); a list holds one per layer, or one per hidden
    layer (the outputs of each)."""
    if isinstance(dropout, (list, tuple)):
        if len(dropout) not in (n, n - 1):
            raise ValueError(f"MLP: dropout is a list of {len(dropout)}; give one per layer ({n}: "
                             f"the dropout of its inputs) or one per hidden layer ({n - 1})")
        ps = [_check_p("MLP", f"dropout[{i}]", p) for i, p in enumerate(dropout)]
        return ps if len(ps) == n else [0.0, *ps]
    p = _check_p("MLP", "dropout", dropout)
    if p and n == 1:
        raise ValueError(f"MLP: dropout={p:g} acts between hidden layers, and this MLP has none; "
                         f"dropout=[{p:g}] drops its input features instead")
    return [0.0] + [p] * (n - 1)


def _check_p(who: str, name: str, p: Any) -> float:
    return check_number(who, name, p, low=0.0, high=1.0)


# --------------------------------------------------------------------------- Dropout
class Dropout(Module):
    """Inverted dropout: while training, each element is zeroed with probability ``p`` and the
    others are scaled by ``1 / (1 - p)``, so the expected output is the input; in evaluation
    mode (``module.eval()``) the input passes unchanged.

    Takes what a layer takes: an array or tensor Value (one mask element per element), or a
    list of numbers or scalar Values (the scalar style: one ``*`` node per element).  Both
    draw their masks from one generator, seeded by ``seed``.  The gradient flows through the
    kept elements, scaled the same way.

    >>> drop = Dropout(0.5, seed=0)
    >>> drop(np.ones((2, 4))).data
    array([[2., 0., 0., 0.],
           [2., 2., 2., 2.]])
    >>> drop.eval()(np.ones(3)).data
    array([1., 1., 1.])
    """

    def __init__(self, p: float = 0.5, *, seed: SeedLike = None) -> None:
        self.p = _check_p("Dropout", "p", p)
        self._rng = check_random_state("Dropout", "seed", seed)

    def forward(self, x: Any) -> Any:
        active = self.training and self.p > 0.0
        scale = 1.0 / (1.0 - self.p) if self.p < 1.0 else 0.0
        if isinstance(x, (list, tuple)):
            xs = [xi if isinstance(xi, Value) else _constant("Dropout", f"x[{i}]", xi)
                  for i, xi in enumerate(x)]
            if not active:
                return xs
            keep = self._rng.random(len(xs)) >= self.p
            return [xi * (scale if k else 0.0) for xi, k in zip(xs, keep)]
        xv = x if isinstance(x, Value) else _constant("Dropout", "x", x)
        if not active:
            return xv
        dtype = xv.dtype if np.dtype(xv.dtype).kind == "f" else np.float64
        mask = np.where(self._rng.random(xv.shape) >= self.p, scale, 0.0).astype(dtype)
        return xv * mask

    def __repr__(self) -> str:
        return f"Dropout(p={self.p:g})"


@contextmanager
def eval_mode(module: Any) -> Iterator[Any]:
    """Run a block with ``module`` in evaluation mode (dropout off), then put it and each of
    its sub-modules back in the mode it had.  Anything that is not a :class:`Module` is left
    as it is.

    >>> model = MLP(2, [4, 1], dropout=[0.5, 0.5])
    >>> with eval_mode(model):
    ...     model.training, model.layers[0].dropout.training
    (False, False)
    >>> model.training
    True
    """
    if not isinstance(module, Module):
        yield module
        return
    modules = [module, *(m for m in _walk(module, names=False) if isinstance(m, Module))]
    modes = [m.training for m in modules]
    module.eval()
    try:
        yield module
    finally:
        for m, mode in zip(modules, modes):
            m.training = mode

"""PyTorch and ONNX, in and out: an :class:`~tinygrad_mlp.nn.MLP` as a ``torch.nn.Sequential``
and back, and as an ONNX graph.

An MLP maps onto a ``Sequential`` layer by layer: a layer with dropout ``p`` on its inputs is
``Dropout(p)``, then ``Linear`` (PyTorch's ``weight`` has the ``(n_out, n_in)`` layout of
``W``), then the activation module (none for a linear layer).  In ONNX each layer is a
``Gemm`` and its activation's operator; dropout is the identity there (an exported graph is
for inference).

Activations map by name onto a standard module and operator: ``relu``, ``tanh``,
``sigmoid``, ``leaky_relu`` (its slope), ``linear``, and, when registered under these names,
``softplus``, ``softsign``, ``elu``, ``selu``, ``silu`` and ``gelu`` (checked to compute the
standard function first).  Any other activation is refused with an error naming it.

PyTorch and ONNX are optional: nothing here imports them until a function needs them, and a
missing one raises an ``ImportError`` naming the extra to install
(``pip install "tinygrad_mlp[torch]"``, ``[onnx]``).  :mod:`tinygrad_mlp.io` offers these
functions too, with :func:`~tinygrad_mlp.io.export_onnx` writing the file.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np

from tinygrad_mlp.engine import Value, no_grad
from tinygrad_mlp.nn import MLP, Layer, activation_text, get_activation

__all__ = ["to_torch", "from_torch", "to_onnx", "torch_state_dict", "ONNX_OPSET",
           "ONNX_IR_VERSION"]

ONNX_OPSET = 17  # with IR version 8: what old and current onnxruntime releases accept
ONNX_IR_VERSION = 8
_EXTRAS = {"torch": ("PyTorch", "torch"), "onnx": ("the onnx package", "onnx")}


def _require(module: str, who: str) -> ModuleType:
    """Import ``module`` (``"torch"`` or ``"onnx"``), or an ImportError naming the extra."""
    package, extra = _EXTRAS[module.split(".")[0]]
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f'{who} needs {package}: pip install "tinygrad_mlp[{extra}]"') from None


# --------------------------------------------------------------------------- activations
class _Graph:
    """An ONNX graph being built: nodes, and initializers of one element type."""

    def __init__(self, helper: ModuleType, numpy_helper: ModuleType, dtype: np.dtype) -> None:
        self.helper, self.numpy_helper, self.dtype = helper, numpy_helper, dtype
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def node(self, op: str, inputs: list[str], name: str, **attributes: Any) -> str:
        self.nodes.append(self.helper.make_node(op, inputs, [name], name=name, **attributes))
        return name

    def constant(self, name: str, value: Any) -> str:
        array = np.asarray(value, dtype=self.dtype)
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name


def _gelu(x: np.ndarray) -> np.ndarray:
    erf = np.vectorize(math.erf, otypes=[np.float64])
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def _selu(x: np.ndarray) -> np.ndarray:
    return _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0)))


_SELU_ALPHA, _SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _onnx_silu(g: _Graph, x: str, out: str) -> str:
    return g.node("Mul", [x, g.node("Sigmoid", [x], out + "_sigmoid")], out)


def _onnx_gelu(g: _Graph, x: str, out: str) -> str:  # 0.5 x (1 + erf(x / sqrt 2))
    scaled = g.node("Div", [x, g.constant(out + "_sqrt2", math.sqrt(2.0))], out + "_scaled")
    plus = g.node("Add", [g.node("Erf", [scaled], out + "_erf"), g.constant(out + "_one", 1.0)],
                  out + "_plus1")
    half = g.node("Mul", [x, g.constant(out + "_half", 0.5)], out + "_half_x")
    return g.node("Mul", [half, plus], out)


class _Standard(NamedTuple):
    """An activation PyTorch and ONNX know: the module, the ONNX nodes, and the function
    itself (numpy) to check a registered activation of the same name against."""

    torch: str | None  # the torch.nn class; None: no module (the identity)
    onnx: Callable[..., str] | None  # (graph, input, output name, *args) -> output; None: none
    numpy: Callable[..., np.ndarray]


def _onnx_op(op: str, **fixed: Any) -> Callable[..., str]:
    def build(g: _Graph, x: str, out: str, *args: float) -> str:
        return g.node(op, [x], out, **fixed)

    return build


def _onnx_leaky(g: _Graph, x: str, out: str, slope: float = 0.01) -> str:
    return g.node("LeakyRelu", [x], out, alpha=float(slope))


def _onnx_elu(g: _Graph, x: str, out: str, alpha: float = 1.0) -> str:
    return g.node("Elu", [x], out, alpha=float(alpha))


def _leaky(x: np.ndarray, slope: float = 0.01) -> np.ndarray:
    return np.where(x > 0, x, slope * x)


def _elu(x: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


_STANDARD: dict[str, _Standard] = {
    "linear": _Standard(None, None, lambda x: x),
    "relu": _Standard("ReLU", _onnx_op("Relu"), lambda x: np.maximum(x, 0)),
    "tanh": _Standard("Tanh", _onnx_op("Tanh"), np.tanh),
    "sigmoid": _Standard("Sigmoid", _onnx_op("Sigmoid"),
                         lambda x: 0.5 * (1.0 + np.tanh(0.5 * x))),
    "leaky_relu": _Standard("LeakyReLU", _onnx_leaky, _leaky),
    "softplus": _Standard("Softplus", _onnx_op("Softplus"), lambda x: np.logaddexp(0, x)),
    "softsign": _Standard("Softsign", _onnx_op("Softsign"),
                          lambda x: x / (1.0 + np.abs(x))),
    "elu": _Standard("ELU", _onnx_elu, _elu),
    "selu": _Standard("SELU", _onnx_op("Selu", alpha=_SELU_ALPHA, gamma=_SELU_SCALE),
                      _selu),
    "silu": _Standard("SiLU", _onnx_silu, lambda x: x * 0.5 * (1.0 + np.tanh(0.5 * x))),
    "gelu": _Standard("GELU", _onnx_gelu, _gelu),
}
_PROBE = np.concatenate([np.linspace(-6.0, 6.0, 97), [-0.01, 0.0, 0.01, 20.0, -20.0]])


def _standard(layer: Layer, number: int, who: str) -> _Standard:
    """The standard activation ``layer`` computes, or a ValueError naming its activation."""
    name, args = layer.activation_name, layer.activation_args
    if name is None:
        raise ValueError(f"{who}: layer {number}'s activation is a function that is not "
                         "registered by name, so it has no PyTorch module or ONNX operator")
    standard = _STANDARD.get(name)
    if standard is None:
        raise ValueError(
            f"{who}: layer {number}'s activation {activation_text(name, args)!r} has no standard "
            f"PyTorch module or ONNX operator; the ones that map: {', '.join(_STANDARD)}")
    try:
        expected = standard.numpy(_PROBE, *args)
    except TypeError:
        raise ValueError(f"{who}: layer {number}'s activation {activation_text(name, args)!r} "
                         f"takes other arguments than the standard {name}") from None
    # what is registered under the name now (a user may register "softplus", say) must
    # compute the standard function
    with no_grad(), np.errstate(all="ignore"):
        got = get_activation(layer.activation)[1](Value(_PROBE.copy(), requires_grad=False))
    if not np.allclose(np.asarray(got.data, dtype=np.float64), expected, rtol=1e-6, atol=1e-9):
        raise ValueError(
            f"{who}: layer {number}'s activation {name!r} is registered as a function that does "
            f"not compute the standard {name}, so it has no PyTorch module or ONNX operator")
    return standard


def _layers(model: Any, who: str) -> list[Layer]:
    if not isinstance(model, MLP):
        raise TypeError(f"{who} converts an MLP, got {type(model).__name__}")
    return model.layers


# --------------------------------------------------------------------------- PyTorch out
class _Slot(NamedTuple):
    kind: str  # "dropout", "linear" or "activation"
    layer: Layer
    number: int  # the layer number l, from 1


def _torch_layout(model: MLP) -> Iterator[_Slot]:
    """The modules of the ``Sequential`` for ``model``, in order: per layer its dropout (if
    any), the ``Linear``, and its activation (none for a linear layer)."""
    for number, layer in enumerate(model.layers, 1):
        if layer.dropout is not None:
            yield _Slot("dropout", layer, number)
        yield _Slot("linear", layer, number)
        if layer.activation_name != "linear":
            yield _Slot("activation", layer, number)


def torch_state_dict(model: MLP, tensors: bool = False) -> dict[str, Any]:
    """The parameters under the names of the ``nn.Sequential`` that :func:`to_torch` makes.

    Each layer is its ``Dropout`` (if it has dropout), a ``Linear``, and its activation module
    (none for a linear layer), so ``MLP(2, [16, 16, 1])`` maps to ``Sequential(Linear, ReLU,
    Linear, ReLU, Linear)``: ``0.weight``, ``0.bias``, ``2.weight``, ... PyTorch's
    ``Linear.weight`` has our ``(out, in)`` layout, so the arrays are copied as they are.  With
    ``tensors=True`` the values are ``torch.Tensor``s (PyTorch needed), so
    ``net.load_state_dict(...)`` takes them directly; otherwise numpy arrays.

    >>> sorted(torch_state_dict(MLP(2, [3, 1], seed=0)))
    ['0.bias', '0.weight', '2.bias', '2.weight']
    """
    _layers(model, "torch_state_dict")
    out = {}
    for index, slot in enumerate(_torch_layout(model)):
        if slot.kind == "linear":
            out[f"{index}.weight"] = np.array(slot.layer.W.data, copy=True)
            out[f"{index}.bias"] = np.array(slot.layer.b.data, copy=True)
    if tensors:
        torch = _require("torch", "torch_state_dict(tensors=True)")
        return {k: torch.from_numpy(v) for k, v in out.items()}
    return out


def to_torch(model: MLP) -> Any:
    """The model as a ``torch.nn.Sequential`` of ``Linear`` and activation modules (and
    ``Dropout``), with its weights and dtype; it computes the same outputs.

    Dropout becomes ``nn.Dropout(p)``, so the module can be trained further, and the module
    is in the model's mode (``training``).  An activation with no standard PyTorch module is
    refused with a ValueError naming it.  Needs PyTorch (``pip install "tinygrad_mlp[torch]"``).

    >>> net = to_torch(MLP(2, [3, 1], activation=("leaky_relu", 0.2), seed=0))  # doctest: +SKIP
    >>> net  # doctest: +SKIP
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): LeakyReLU(negative_slope=0.2)
      (2): Linear(in_features=3, out_features=1, bias=True)
    )
    """
    layers = _layers(model, "to_torch")
    standards = [_standard(layer, n, "to_torch") for n, layer in enumerate(layers, 1)]
    torch = _require("torch", "to_torch")
    nn = torch.nn
    dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[model.dtype]
    modules = []
    for slot in _torch_layout(model):
        layer = slot.layer
        if slot.kind == "dropout":
            modules.append(nn.Dropout(layer.dropout.p))
        elif slot.kind == "linear":
            modules.append(nn.Linear(layer.nin, layer.nout, dtype=dtype))
        else:
            cls = getattr(nn, standards[slot.number - 1].torch)
            modules.append(cls(*layer.activation_args))
    net = nn.Sequential(*modules)
    net.load_state_dict(torch_state_dict(model, tensors=True))
    return net.train(model.training)


# --------------------------------------------------------------------------- PyTorch in
def _activation_of(module: Any, nn: Any) -> Any:
    """The activation spec for a torch activation module, or None if it is not one."""
    kind = type(module)
    if kind is nn.LeakyReLU:
        return ("leaky_relu", float(module.negative_slope))
    return {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}.get(kind)


def _flatten(module: Any, nn: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, child in module.named_children():
        if type(child) is nn.Sequential:
            yield from _flatten(child, nn, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", child


def from_torch(module: Any) -> MLP:
    """An :class:`~tinygrad_mlp.nn.MLP` from a ``torch.nn.Sequential`` of ``Linear``,
    ``ReLU``, ``Tanh``, ``Sigmoid``, ``LeakyReLU`` (any slope), ``Identity`` and ``Dropout``
    modules, in any order and mix, computing the same outputs.

    Each ``Linear`` starts a layer; the activation module after it is the layer's activation
    (none: the identity, so two ``Linear``s in a row make a linear layer), and the ``Dropout``
    modules before a ``Linear`` (after the previous layer's activation, or before it: the
    same in evaluation mode) are its dropout (several multiply their keep probabilities).
    Nested ``Sequential``s are flattened.  A ``Linear`` without bias gets zero biases.  The
    dtype is float64 if a ``Linear`` holds float64, float32 otherwise; the model is in the
    module's mode.  Any other module, an activation before the first ``Linear``, two
    activations in a row and a ``Dropout`` after the last ``Linear`` are refused with an error
    naming the module.  Needs PyTorch.

    >>> import torch  # doctest: +SKIP
    >>> from_torch(torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(),
    ...                                torch.nn.Linear(4, 1)))  # doctest: +SKIP
    MLP(2 -> 4 tanh -> 1 linear)  # 17 parameters
    """
    torch = _require("torch", "from_torch")
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise TypeError(f"from_torch converts an nn.Sequential of Linear and activation modules, "
                        f"got {type(module).__name__}")
    linears: list[Any] = []
    activations: list[Any] = []  # per layer: the spec, None until one is seen
    dropouts: list[float] = []
    pending: list[float] = []  # the p of each Dropout since the last Linear
    last_dropout = ""
    for name, child in _flatten(module, nn):
        kind = type(child)
        where = f"module {name} ({kind.__name__})"
        if kind is nn.Linear:
            if linears and child.in_features != linears[-1].out_features:
                raise ValueError(f"from_torch: {where} takes {child.in_features} inputs but the "
                                 f"Linear before it has {linears[-1].out_features} outputs")
            linears.append(child)
            activations.append(None)
            # several in a row keep a unit with the product of their keep probabilities
            dropouts.append(float(pending[0]) if len(pending) == 1
                            else 1.0 - math.prod(1.0 - float(q) for q in pending))
            pending = []
        elif kind is nn.Dropout:
            pending.append(child.p)
            last_dropout = where
        elif kind is nn.Identity:
            continue
        elif (spec := _activation_of(child, nn)) is not None:
            if not linears:
                raise ValueError(f"from_torch: {where} comes before the first Linear; an MLP's "
                                 "activations follow its Linear layers")
            if activations[-1] is not None:
                raise ValueError(f"from_torch: {where} follows another activation; an MLP "
                                 "layer has one activation after its Linear")
            activations[-1] = spec
        else:
            raise TypeError(f"from_torch cannot convert {where}: an MLP is made of Linear, ReLU, "
                            "Tanh, Sigmoid, LeakyReLU, Identity and Dropout modules")
    if not linears:
        raise ValueError("from_torch: the Sequential holds no Linear module")
    if any(pending):  # (a Dropout(0) there changes nothing)
        raise ValueError(f"from_torch: {last_dropout} after the last Linear would drop the "
                         "outputs; an MLP drops only the inputs of its layers (remove it: it "
                         "does nothing in evaluation mode)")
    wide = any(m.weight.dtype == torch.float64 for m in linears)
    target = torch.float64 if wide else torch.float32
    model = MLP(linears[0].in_features, [m.out_features for m in linears],
                activation=[a if a is not None else "linear" for a in activations],
                dropout=dropouts, dtype=np.float64 if wide else np.float32)
    state = {}
    with torch.no_grad():
        for i, m in enumerate(linears):
            state[f"layers.{i}.W"] = m.weight.detach().to("cpu", target).numpy()
            state[f"layers.{i}.b"] = (np.zeros(m.out_features) if m.bias is None
                                      else m.bias.detach().to("cpu", target).numpy())
    model.load_state_dict(state)
    return model.train(module.training)


# --------------------------------------------------------------------------- ONNX out
def to_onnx(model: MLP) -> Any:
    """The model as an ``onnx.ModelProto`` (IR version 8, opset 17): per layer a ``Gemm``
    and its activation's operator; dropout is the identity (inference).

    The graph takes ``input`` of shape ``(batch, n_in)`` and gives ``output`` of shape
    ``(batch, n_out)``, in the model's dtype; the weights are initializers named as the
    model's parameters (``layers.0.W``...).  The model is checked with ``onnx.checker``.  An
    activation with no ONNX operator is refused with a ValueError naming it.  Needs the onnx
    package (``pip install "tinygrad_mlp[onnx]"``); :func:`tinygrad_mlp.io.export_onnx` writes
    the file.

    >>> proto = to_onnx(MLP(2, [3, 1], seed=0))  # doctest: +SKIP
    >>> [node.op_type for node in proto.graph.node]  # doctest: +SKIP
    ['Gemm', 'Relu', 'Gemm']
    """
    layers = _layers(model, "export_onnx")
    standards = [_standard(layer, n, "export_onnx") for n, layer in enumerate(layers, 1)]
    onnx = _require("onnx", "export_onnx")
    helper, numpy_helper = onnx.helper, _require("onnx.numpy_helper", "export_onnx")
    from tinygrad_mlp import __version__

    element = {np.dtype(np.float32): onnx.TensorProto.FLOAT,
               np.dtype(np.float64): onnx.TensorProto.DOUBLE}[model.dtype]
    g = _Graph(helper, numpy_helper, model.dtype)
    h = "input"
    for i, (layer, standard) in enumerate(zip(layers, standards)):
        last = i == len(layers) - 1
        W = g.constant(f"layers.{i}.W", layer.W.data)
        b = g.constant(f"layers.{i}.b", layer.b.data)
        no_activation = standard.onnx is None
        h = g.node("Gemm", [h, W, b], "output" if last and no_activation else f"z{i + 1}",
                   transB=1)
        if not no_activation:
            h = standard.onnx(g, h, "output" if last else f"a{i + 1}", *layer.activation_args)
    graph = helper.make_graph(
        g.nodes, "tinygrad_mlp",
        [helper.make_tensor_value_info("input", element, ["batch", model.nin])],
        [helper.make_tensor_value_info("output", element, ["batch", model.nouts[-1]])],
        g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
                              producer_name="tinygrad_mlp", producer_version=__version__,
                              doc_string=repr(model))
    proto.ir_version = ONNX_IR_VERSION
    onnx.checker.check_model(proto, full_check=True)
    return proto

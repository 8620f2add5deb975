"""Saving and loading weights in the safetensors format (no pickle anywhere), and the roads to
PyTorch and ONNX.

A file holds one array per ``named_parameters()`` name (``layers.0.W`` of shape
``(n_out, n_in)``, ``layers.0.b``, ...) and, for an :class:`~tinygrad_mlp.nn.MLP`, its
architecture in the metadata, so :func:`load_model` can rebuild it.

Loading checks the file's header (names, shapes, dtypes and, for :func:`load_model`, the
declared architecture) before it reads or allocates anything, then reads only the tensors it
needs, one at a time.  Tensors of other dtypes than float32/float64 are converted when that is
exact (float16, bfloat16, float8 E4M3/E5M2, integers that float64 holds exactly); any other
dtype is refused with an error naming the tensor and its dtype.

Writes go through :func:`tinygrad_mlp.files.write_atomic`: to a temporary file in the same
folder (``.<name>.<pid>.<random>.tmp-tinygrad_mlp``) that is renamed into place, so a failed
save never leaves a half-written file; the temporary is removed on any error, Ctrl-C included,
and a save removes the temporaries a killed save to the same path left behind.  Saving over an
existing file keeps its permissions; saving over a directory, a FIFO or a device is refused.

Tied weights (one parameter in two places, ``model.layers[1].W = model.layers[0].W``) are
saved under every name, as PyTorch's ``state_dict`` does: the file holds one equal copy per
name.  :func:`load` into a model tied the same way copies into the existing parameter, so the
tie stays; :func:`load_model` rebuilds the architecture only, so its model is untied, with
equal arrays in the places that were tied (tie them again by assignment if you need to).

:func:`to_torch`, :func:`from_torch` and :func:`torch_state_dict` (PyTorch) and
:func:`export_onnx` (ONNX) are those of :mod:`tinygrad_mlp.interop`; PyTorch and onnx are
imported only when one of them is called.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from tinygrad_mlp.files import write_atomic
from tinygrad_mlp.interop import from_torch, to_onnx, to_torch, torch_state_dict
from tinygrad_mlp.nn import MLP, Module

__all__ = ["save", "load", "load_model", "torch_state_dict", "to_torch", "from_torch",
           "export_onnx"]

_FORMAT = "tinygrad_mlp/1"
# load_model refuses architectures beyond these before building anything (load has no limits)
_MAX_LAYERS = 10_000
_MAX_WIDTH = 2**24


# --------------------------------------------------------------------------- saving
def _architecture(model: Module) -> dict[str, Any] | None:
    """An MLP's architecture for the metadata: sizes, each layer's activation (a name, or
    ``[name, arguments...]``) and dropout, and the dtype."""
    if not isinstance(model, MLP):
        return None
    layers = model.layers
    names = [layer.activation_name for layer in layers]
    if None in names:
        raise ValueError(
            "this model uses an activation that is not registered by name, so it could not be "
            "rebuilt from the file: register it with register_activation(name, fn) first"
        )
    arch: dict[str, Any] = {
        "nin": model.nin,
        "nouts": model.nouts,
        "activations": [[layer.activation_name, *layer.activation_args] if layer.activation_args
                        else layer.activation_name for layer in layers],
        "dropout": model.dropout,
        "dtype": str(model.dtype),
    }
    hidden = set(names[:-1])
    if len(hidden) <= 1 and not any(model.dropout) and not any(x.activation_args for x in layers):
        # also in the first format's two keys, which every earlier release reads
        arch["activation"] = hidden.pop() if hidden else "relu"
        arch["output_activation"] = names[-1]
    return arch


def save(model: Module, path: str | os.PathLike[str]) -> None:
    """Write the model's parameters (and an MLP's architecture) to a ``.safetensors`` file.

    One array per name of :meth:`~tinygrad_mlp.nn.Module.state_dict`: a tied parameter is
    written once under each of its names.  The file is written to a temporary in the same
    folder and renamed into place: a failed or interrupted save leaves the previous file as it
    was and no temporary behind.  A new file gets the usual permissions (``0666`` less the
    umask); an existing one keeps its own (a ``0600`` file stays private).

    >>> import tempfile, os
    >>> model = MLP(2, [3, 1], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> save(model, path); load_model(path).nouts
    [3, 1]
    """
    from safetensors.numpy import save as st_save

    arch = _architecture(model)
    # safetensors writes garbage for non-contiguous arrays (a transposed weight, say);
    # np.ascontiguousarray would turn a scalar parameter's 0-d array into shape (1,)
    tensors = {k: np.require(v, requirements="C") for k, v in model.state_dict().items()}
    metadata = {"format": _FORMAT}
    if arch is not None:
        metadata["architecture"] = json.dumps(arch)
    write_atomic(path, st_save(tensors, metadata=metadata))


def export_onnx(model: MLP, path: str | os.PathLike[str]) -> None:
    """Write the model as an ONNX file (IR version 8, opset 17): per layer a ``Gemm`` and its
    activation's operator, dropout as the identity (see :func:`tinygrad_mlp.interop.to_onnx`).

    The graph takes ``input`` of shape ``(batch, n_in)`` and gives ``output``.  The file is
    written as :func:`save` writes, through a temporary renamed into place.  Needs the onnx
    package (``pip install "tinygrad_mlp[onnx]"``); an activation with no ONNX operator is
    refused with a ValueError naming it.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.onnx")
    >>> export_onnx(MLP(2, [3, 1], seed=0), path)  # doctest: +SKIP
    """
    write_atomic(path, to_onnx(model).SerializeToString())


# --------------------------------------------------------------------------- reading
class _Tensor(NamedTuple):
    dtype: str
    shape: tuple[int, ...]
    start: int  # offset of the first byte in the file
    nbytes: int


class _Header(NamedTuple):
    tensors: dict[str, _Tensor]
    metadata: dict[str, str]


def _bf16(raw: np.ndarray) -> np.ndarray:  # the top half of a float32: exact by shifting
    return (raw.view("<u2").astype(np.uint32) << 16).view(np.float32)


def _f8_e5m2(raw: np.ndarray) -> np.ndarray:  # the top byte of a float16
    return (raw.astype(np.uint16) << 8).view(np.float16).astype(np.float32)


def _e4m3_table() -> np.ndarray:
    """All 256 float8 E4M3 (``float8_e4m3fn``: bias 7, no infinities, NaN at S.1111.111)."""
    table = np.empty(256, np.float32)
    for byte in range(256):
        exponent, mantissa = (byte >> 3) & 0xF, byte & 0x7
        if exponent == 0xF and mantissa == 0x7:
            value = math.nan
        elif exponent == 0:
            value = mantissa / 8 * 2.0**-6
        else:
            value = (1 + mantissa / 8) * 2.0 ** (exponent - 7)
        table[byte] = -value if byte & 0x80 else value
    return table


_E4M3 = _e4m3_table()

# safetensors dtype -> (bytes per element, exact conversion of the raw little-endian bytes)
_CONVERT: dict[str, tuple[int, Any]] = {
    "F64": (8, lambda raw: raw.view("<f8").astype(np.float64, copy=False)),
    "F32": (4, lambda raw: raw.view("<f4").astype(np.float32, copy=False)),
    "F16": (2, lambda raw: raw.view("<f2").astype(np.float32)),
    "BF16": (2, _bf16),
    "F8_E5M2": (1, _f8_e5m2),
    "F8_E4M3": (1, lambda raw: _E4M3[raw]),
    "I8": (1, lambda raw: raw.view("i1").astype(np.float32)),
    "U8": (1, lambda raw: raw.astype(np.float32)),
    "I16": (2, lambda raw: raw.view("<i2").astype(np.float32)),
    "U16": (2, lambda raw: raw.view("<u2").astype(np.float32)),
    "I32": (4, lambda raw: raw.view("<i4").astype(np.float64)),
    "U32": (4, lambda raw: raw.view("<u4").astype(np.float64)),
    "I64": (8, lambda raw: _exact_float64(raw.view("<i8"))),
    "U64": (8, lambda raw: _exact_float64(raw.view("<u8"))),
}


def _exact_float64(ints: np.ndarray) -> np.ndarray | None:
    """``ints`` as float64, or None if some value has no exact float64 (2**53 + 1, say)."""
    out = ints.astype(np.float64)
    # clamp below 2**63 (2**64): a value that rounded up to it would not cast back
    cap = np.nextafter(2.0**63 if ints.dtype.kind == "i" else 2.0**64, 0)
    back = np.minimum(out, cap).astype(ints.dtype)
    return out if np.array_equal(back, ints) else None


def _header(path: str | os.PathLike[str]) -> _Header:
    """The names, dtypes, shapes and offsets of the tensors in ``path``, and its metadata;
    reads the header only."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        with safe_open(str(path), framework="numpy"):  # validates the header and the offsets
            pass
        with open(path, "rb") as f:
            length = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(length))
        metadata = header.pop("__metadata__", None) or {}
        tensors = {}
        for name, info in header.items():
            begin, end = info["data_offsets"]
            tensors[name] = _Tensor(info["dtype"], tuple(info["shape"]), 8 + length + begin,
                                    end - begin)
        if not isinstance(metadata, dict):
            raise ValueError("the metadata is not a mapping")
    except (SafetensorError, ValueError, KeyError, TypeError, AttributeError,
            UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not a valid safetensors file (truncated or corrupt?): {e}") \
            from None
    return _Header(tensors, metadata)


def _listing(names: list[str], most: int = 10) -> str:
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown} and {len(names) - most} more"


def _check_fits(path: Any, header: _Header, expected: dict[str, tuple[int, ...]],
                where: str) -> None:
    """Refuse (ValueError) unless the file holds exactly the ``expected`` names and shapes in
    dtypes that convert exactly; looks at the header only."""
    problems, unreadable = [], []
    missing = [name for name in expected if name not in header.tensors]
    unexpected = [name for name in header.tensors if name not in expected]
    if missing:
        problems.append(f"missing keys: {_listing(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_listing(unexpected)}")
    for name, shape in expected.items():
        tensor = header.tensors.get(name)
        if tensor is None:
            continue
        if tensor.shape != shape:
            problems.append(f"{name}: shape {tensor.shape} in the file, {shape} in {where}")
        if tensor.dtype not in _CONVERT:
            unreadable.append(f"{name} is {tensor.dtype}")
    if unreadable:
        problems.append(f"dtypes that do not convert exactly to float32 or float64: "
                        f"{_listing(unreadable)} (readable: {', '.join(_CONVERT)})")
    if problems:
        shown = problems[:10] + ([f"and {len(problems) - 10} more"] if len(problems) > 10 else [])
        raise ValueError(f"{path}: the file does not fit {where}: {'; '.join(shown)}")


def _read_tensors(path: Any, header: _Header) -> dict[str, np.ndarray]:
    """Every tensor of the (checked) header as a float32/float64 array, read one at a time."""
    out = {}
    with open(path, "rb", buffering=0) as f:
        for name, tensor in header.tensors.items():
            size, convert = _CONVERT[tensor.dtype]
            if tensor.nbytes != size * math.prod(tensor.shape):
                raise ValueError(f"{path} is not a valid safetensors file (truncated or "
                                 f"corrupt?): {name} has the wrong number of bytes")
            raw = np.empty(tensor.nbytes, np.uint8)
            view, got = memoryview(raw), 0
            f.seek(tensor.start)
            while got < tensor.nbytes:
                n = f.readinto(view[got:])
                if not n:
                    raise ValueError(f"{path} is not a valid safetensors file (truncated or "
                                     f"corrupt?): it ends inside {name}")
                got += n
            del view
            array = convert(raw)
            if array is None:
                raise ValueError(f"{path}: {name}: dtype {tensor.dtype} holds integers that "
                                 "float64 cannot hold exactly (odd ones beyond 2**53, say)")
            out[name] = array.reshape(tensor.shape)
    return out


def _load_checked(model: Module, path: Any, header: _Header) -> None:
    tensors = _read_tensors(path, header)
    try:
        model.load_state_dict(tensors)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def load(model: Module, path: str | os.PathLike[str]) -> Module:
    """Load parameters from ``path`` into ``model``, all or nothing; returns the model.

    A missing, truncated or corrupt file, or one whose names, shapes or dtypes do not match the
    model, raises an error and leaves the model untouched; names, shapes and dtypes are checked
    from the file's header before any tensor is read.  Tensors stored as float16, bfloat16,
    float8 (E4M3, E5M2) or integers are converted exactly (integers beyond 2**53 are refused).
    The arrays are copied into the model's existing parameters, so a model with tied weights
    stays tied (the file must then hold equal arrays under the tied names, as :func:`save`
    writes them).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> save(MLP(2, [3, 1], seed=0), path)
    >>> other = load(MLP(2, [3, 1], seed=1), path)
    >>> bool((other.layers[0].W.data == MLP(2, [3, 1], seed=0).layers[0].W.data).all())
    True
    """
    header = _header(path)
    expected = {name: p.shape for name, p in model.named_parameters(remove_duplicate=False)}
    _check_fits(path, header, expected, "the model")
    _load_checked(model, path, header)
    return model


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _declared(path: Any, metadata: dict[str, str]) -> dict[str, Any]:
    """The architecture in the metadata, checked for types and limits."""
    if "architecture" not in metadata:
        raise ValueError(f"{path} holds no architecture; build the model and use load(model, path)")
    try:
        arch = json.loads(metadata["architecture"])
        nin, nouts, dtype = arch["nin"], arch["nouts"], arch["dtype"]
        if "activations" in arch:  # one per layer, with their arguments, and the dropout
            activations, dropout = arch["activations"], arch.get("dropout")
        else:  # the first format: the hidden layers' activation and the output's
            activations = [arch["activation"], arch["output_activation"]]
            dropout = None
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: the architecture metadata is malformed: {e!r}") from None
    problem = None
    if not _is_size(nin):
        problem = f"nin must be a positive int, got {nin!r}"
    elif not isinstance(nouts, list) or not nouts or not all(_is_size(n) for n in nouts):
        problem = f"nouts must be a non-empty list of positive ints, got {str(nouts)[:80]}"
    elif "activations" not in arch and not all(isinstance(a, str) or a is None
                                               for a in activations):
        problem = "the activation and output_activation must be names"
    elif "activations" in arch and not (isinstance(activations, list)
                                        and len(activations) == len(nouts)
                                        and all(map(_is_activation, activations))):
        problem = ("activations must list one activation per layer, each a name or [name, "
                   f"numbers...], got {str(activations)[:80]}")
    elif dropout is not None and not (isinstance(dropout, list) and len(dropout) == len(nouts)
                                      and all(map(_is_probability, dropout))):
        problem = f"dropout must list one probability per layer, got {str(dropout)[:80]}"
    elif dtype not in ("float32", "float64"):
        problem = f"dtype must be float32 or float64, got {str(dtype)[:40]!r}"
    if problem:
        raise ValueError(f"{path}: the architecture metadata is malformed: {problem}")
    if len(nouts) > _MAX_LAYERS or max(nin, *nouts) > _MAX_WIDTH:
        raise ValueError(
            f"{path}: the architecture metadata declares {len(nouts)} layers of up to "
            f"{max(nin, *nouts)} units, more than load_model accepts ({_MAX_LAYERS} layers of "
            f"up to {_MAX_WIDTH} units); build the model and use load(model, path)")
    if "activations" in arch:
        activations = [a if isinstance(a, str) else tuple(a) for a in activations]
    else:  # the hidden layers' activation, then the output's
        activations = [activations[0]] * (len(nouts) - 1) + [activations[1]]
    return {"nin": nin, "nouts": nouts, "activations": activations,
            "dropout": dropout or [0.0] * len(nouts), "dtype": dtype}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_activation(spec: Any) -> bool:
    """A name, or ``[name, numbers...]`` (JSON has no tuples)."""
    return isinstance(spec, str) or (isinstance(spec, list) and len(spec) > 0
                                     and isinstance(spec[0], str)
                                     and all(map(_is_number, spec[1:])))


def _is_probability(value: Any) -> bool:
    return _is_number(value) and 0 <= value <= 1


def load_model(path: str | os.PathLike[str]) -> MLP:
    """Rebuild the MLP saved in ``path`` (architecture from the metadata) with its weights.

    The declared architecture is checked against the names and shapes of the stored tensors
    before anything is built, so a file cannot make it allocate more than the weights it holds;
    more than 10,000 layers or 2**24 units in a layer are refused (build such a model yourself
    and use :func:`load`).  Dtypes are converted as by :func:`load`.

    The file records no ties: a model saved with tied weights comes back untied, each place
    with its own parameter holding the same values (as in PyTorch).  To keep the tie, build
    the tied model and :func:`load` into it, or tie the loaded one again by assignment.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> save(MLP(2, [4, 1], activation="tanh", seed=0), path)
    >>> load_model(path)
    MLP(2 -> 4 tanh -> 1 linear)  # 17 parameters
    """
    header = _header(path)
    arch = _declared(path, header.metadata)
    sizes = [arch["nin"]] + arch["nouts"]
    expected: dict[str, tuple[int, ...]] = {}  # the names and shapes of MLP.state_dict()
    for i, nout in enumerate(arch["nouts"]):
        expected[f"layers.{i}.W"] = (nout, sizes[i])
        expected[f"layers.{i}.b"] = (nout,)
    _check_fits(path, header, expected, "the architecture metadata")
    try:
        model = MLP(arch["nin"], arch["nouts"], activation=arch["activations"],
                    dropout=arch["dropout"], dtype=arch["dtype"])
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: {e}") from None
    _load_checked(model, path, header)
    return model

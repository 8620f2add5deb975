"""Saving and loading weights in the safetensors format (no pickle anywhere).

A file holds one array per ``named_parameters()`` name (``layers.0.W`` of shape
``(n_out, n_in)``, ``layers.0.b``, ...) and, for an :class:`~tinygrad_mlp.nn.MLP`, its
architecture in the metadata, so :func:`load_model` can rebuild it.  Writes go to a temporary
file that is renamed into place, so a failed save never leaves a half-written file.

Tied weights (one parameter in two places, ``model.layers[1].W = model.layers[0].W``) are
saved under every name, as PyTorch's ``state_dict`` does: the file holds one equal copy per
name.  :func:`load` into a model tied the same way copies into the existing parameter, so the
tie stays; :func:`load_model` rebuilds the architecture only, so its model is untied, with
equal arrays in the places that were tied (tie them again by assignment if you need to).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_mlp.nn import MLP, Module

__all__ = ["save", "load", "load_model", "torch_state_dict"]

_FORMAT = "tinygrad_mlp/1"


def _architecture(model: Module) -> dict[str, Any] | None:
    if not isinstance(model, MLP):
        return None
    names = [layer.activation_name for layer in model.layers]
    if None in names:
        raise ValueError(
            "this model uses an activation that is not registered by name, so it could not be "
            "rebuilt from the file: register it with register_activation(name, fn) first"
        )
    return {
        "nin": model.nin,
        "nouts": model.nouts,
        "activation": names[0] if len(names) > 1 else "relu",
        "output_activation": names[-1],
        "dtype": str(model.dtype),
    }


def save(model: Module, path: str | os.PathLike[str]) -> None:
    """Write the model's parameters (and an MLP's architecture) to a ``.safetensors`` file.

    One array per name of :meth:`~tinygrad_mlp.nn.Module.state_dict`: a tied parameter is
    written once under each of its names.

    >>> import tempfile, os
    >>> model = MLP(2, [3, 1], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> save(model, path); load_model(path).nouts
    [3, 1]
    """
    from safetensors.numpy import save as st_save

    arch = _architecture(model)
    # safetensors writes garbage for non-contiguous arrays (a transposed weight, say)
    tensors = {k: np.ascontiguousarray(v) for k, v in model.state_dict().items()}
    metadata = {"format": _FORMAT}
    if arch is not None:
        metadata["architecture"] = json.dumps(arch)
    blob = st_save(tensors, metadata=metadata)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent or ".")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a saved model is an ordinary file
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _read(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    from safetensors import SafetensorError
    from safetensors.numpy import load as st_load

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    blob = path.read_bytes()
    try:
        tensors = st_load(blob)
        header_len = int.from_bytes(blob[:8], "little")
        header = json.loads(blob[8:8 + header_len])
    except (SafetensorError, ValueError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not a valid safetensors file (truncated or corrupt?): {e}") \
            from None
    return tensors, header.get("__metadata__") or {}


def load(model: Module, path: str | os.PathLike[str]) -> Module:
    """Load parameters from ``path`` into ``model``, all or nothing; returns the model.

    A missing, truncated or corrupt file, or one whose names or shapes do not match the model,
    raises an error and leaves the model untouched.  The arrays are copied into the model's
    existing parameters, so a model with tied weights stays tied (the file must then hold
    equal arrays under the tied names, as :func:`save` writes them).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> save(MLP(2, [3, 1], seed=0), path)
    >>> other = load(MLP(2, [3, 1], seed=1), path)
    >>> bool((other.layers[0].W.data == MLP(2, [3, 1], seed=0).layers[0].W.data).all())
    True
    """
    tensors, _ = _read(path)
    try:
        model.load_state_dict(tensors)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return model


def load_model(path: str | os.PathLike[str]) -> MLP:
    """Rebuild the MLP saved in ``path`` (architecture from the metadata) with its weights.

    The file records no ties: a model saved with tied weights comes back untied, each place
    with its own parameter holding the same values (as in PyTorch).  To keep the tie, build
    the tied model and :func:`load` into it, or tie the loaded one again by assignment.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.safetensors")
    >>> save(MLP(2, [4, 1], activation="tanh", seed=0), path)
    >>> load_model(path)
    MLP(2 -> 4 tanh -> 1 linear)  # 17 parameters
    """
    tensors, metadata = _read(path)
    if "architecture" not in metadata:
        raise ValueError(f"{path} holds no architecture; build the model and use load(model, path)")
    try:
        arch = json.loads(metadata["architecture"])
        model = MLP(arch["nin"], arch["nouts"], activation=arch["activation"],
                    output_activation=arch["output_activation"], dtype=arch["dtype"])
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: the architecture metadata is malformed: {e}") from None
    try:
        model.load_state_dict(tensors)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return model


def torch_state_dict(model: MLP, tensors: bool = False) -> dict[str, Any]:
    """The parameters under the names of an ``nn.Sequential`` of ``nn.Linear`` and activations.

    Each layer is a ``Linear`` followed by its activation module (none for a linear layer), so
    ``MLP(2, [16, 16, 1])`` maps to ``Sequential(Linear, ReLU, Linear, ReLU, Linear)``:
    ``0.weight``, ``0.bias``, ``2.weight``, ... PyTorch's ``Linear.weight`` has our
    ``(out, in)`` layout, so the arrays are copied as they are.  With ``tensors=True`` the
    values are ``torch.Tensor``s (PyTorch needed), so ``net.load_state_dict(...)`` takes them
    directly; otherwise numpy arrays.

    >>> sorted(torch_state_dict(MLP(2, [3, 1], seed=0)))
    ['0.bias', '0.weight', '2.bias', '2.weight']
    """
    out = {}
    index = 0
    for layer in model.layers:
        out[f"{index}.weight"] = np.array(layer.W.data, copy=True)
        out[f"{index}.bias"] = np.array(layer.b.data, copy=True)
        index += 1 if layer.activation_name == "linear" else 2
    if tensors:
        try:
            import torch
        except ImportError:
            raise ImportError("torch_state_dict(tensors=True) needs PyTorch installed") from None
        return {k: torch.from_numpy(v) for k, v in out.items()}
    return out

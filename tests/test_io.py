"""Saving and loading weights (``tinygrad_mlp.io``): safetensors, all or nothing, no pickle."""

from __future__ import annotations

import json
import math
import os
import pickle
import signal
import stat
import subprocess
import sys
import time
import tracemalloc

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from tinygrad_mlp.engine import Value
from tinygrad_mlp.io import load, load_model, save, torch_state_dict
from tinygrad_mlp.nn import ACTIVATIONS, MLP, Layer, Module, register_activation

X = np.random.default_rng(0).normal(size=(6, 3))


def snapshot(model) -> dict[str, np.ndarray]:
    return {k: v.copy() for k, v in model.state_dict().items()}


def assert_same_weights(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.fixture
def no_pickle(monkeypatch):
    """Make every pickle entry point fail, to prove saving and loading never use it."""

    def refuse(*args, **kwargs):
        raise AssertionError("pickle was used")

    for name in ("dump", "dumps", "load", "loads", "Pickler", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)


# --------------------------------------------------------------------------- round trips
def test_save_load_round_trip(tmp_path, no_pickle):
    path = tmp_path / "model.safetensors"
    a = MLP(3, [5, 4, 2], activation="tanh", seed=0)
    save(a, path)
    b = MLP(3, [5, 4, 2], activation="tanh", seed=1)
    assert load(b, path) is b
    assert_same_weights(a.state_dict(), b.state_dict())
    np.testing.assert_array_equal(a(X).data, b(X).data)


def test_load_model_rebuilds_the_mlp(tmp_path, no_pickle):
    path = tmp_path / "m.safetensors"
    a = MLP(3, [6, 4, 1], activation="leaky_relu", output_activation="sigmoid", seed=0)
    save(a, str(path))  # str paths work as well as Path objects
    b = load_model(path)
    assert isinstance(b, MLP)
    assert b.nin == 3 and b.nouts == [6, 4, 1]
    assert [layer.activation_name for layer in b.layers] == ["leaky_relu", "leaky_relu", "sigmoid"]
    assert b.dtype == np.float64
    assert_same_weights(a.state_dict(), b.state_dict())
    np.testing.assert_array_equal(a(X).data, b(X).data)
    assert a([0.1, 0.2, 0.3]).item() == b([0.1, 0.2, 0.3]).item()


def test_load_model_keeps_float32(tmp_path):
    path = tmp_path / "m.safetensors"
    a = MLP(3, [4, 2], dtype=np.float32, seed=0)
    save(a, path)
    b = load_model(path)
    assert b.dtype == np.float32
    assert all(p.dtype == np.float32 for p in b.parameters())
    assert_same_weights(a.state_dict(), b.state_dict())


def test_single_layer_mlp_round_trip(tmp_path):
    path = tmp_path / "m.safetensors"
    a = MLP(3, [2], output_activation="tanh", seed=0)
    save(a, path)
    b = load_model(path)
    assert b.nouts == [2] and b.layers[0].activation_name == "tanh"
    np.testing.assert_array_equal(a(X).data, b(X).data)


def test_transposed_weight_round_trip(tmp_path):
    # safetensors 0.8.0 writes garbage for non-contiguous arrays; save must make them contiguous
    path = tmp_path / "t.safetensors"
    model = MLP(3, [4, 2], seed=0)
    source = np.arange(12, dtype=np.float64).reshape(3, 4) / 7.0  # (in, out)
    model.layers[0].W.data = source.T  # a non-contiguous (out, in) view
    assert not model.layers[0].W.data.flags["C_CONTIGUOUS"]
    save(model, path)
    np.testing.assert_array_equal(load_file(str(path))["layers.0.W"], source.T)
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.layers[0].W.data, source.T)
    np.testing.assert_array_equal(loaded(X).data, model(X).data)


def test_scalar_parameters_round_trip(tmp_path):
    class Scalars(Module):
        def __init__(self, a, bs):
            self.a = Value(a)
            self.bs = [Value(b) for b in bs]

        def forward(self, x):
            return x * self.a

    path = tmp_path / "s.safetensors"
    save(Scalars(3.0, [np.array(1.5), np.array([2.0])]), path)
    assert load_file(str(path))["a"].shape == ()
    model = load(Scalars(0.0, [np.array(0.0), np.array([0.0])]), path)
    assert model.a.data == 3.0 and model.bs[0].data == 1.5 and model.bs[1].data.tolist() == [2.0]


def test_file_keys_are_the_named_parameters_in_out_in_layout(tmp_path):
    path = tmp_path / "m.safetensors"
    model = MLP(3, [5, 2], seed=0)
    save(model, path)
    arrays = load_file(str(path))
    names = [n for n, _ in model.named_parameters()]
    assert sorted(arrays) == sorted(names)
    for name, p in model.named_parameters():
        assert arrays[name].shape == p.shape
        np.testing.assert_array_equal(arrays[name], p.data)
    assert arrays["layers.0.W"].shape == (5, 3)


def test_architecture_is_in_the_metadata(tmp_path):
    path = tmp_path / "m.safetensors"
    save(MLP(3, [5, 2], activation="tanh", seed=0), path)
    blob = path.read_bytes()
    header = json.loads(blob[8:8 + int.from_bytes(blob[:8], "little")])
    arch = json.loads(header["__metadata__"]["architecture"])
    assert arch["nin"] == 3 and arch["nouts"] == [5, 2]
    assert arch["activations"] == ["tanh", "linear"] and arch["dropout"] == [0.0, 0.0]
    # a model the first format describes is written in it too, for earlier releases
    assert arch["activation"] == "tanh" and arch["output_activation"] == "linear"


def test_per_layer_activations_and_dropout_are_in_the_metadata(tmp_path):
    path = tmp_path / "m.safetensors"
    model = MLP(3, [5, 4, 2], activation=[("leaky_relu", 0.2), "tanh", "sigmoid"],
                dropout=[0.1, 0.0, 0.4], seed=0)
    save(model, path)
    blob = path.read_bytes()
    header = json.loads(blob[8:8 + int.from_bytes(blob[:8], "little")])
    arch = json.loads(header["__metadata__"]["architecture"])
    assert arch["activations"] == [["leaky_relu", 0.2], "tanh", "sigmoid"]
    assert arch["dropout"] == [0.1, 0.0, 0.4]
    assert "activation" not in arch  # the first format cannot say this: not written
    back = load_model(path)
    assert back.activations == [("leaky_relu", 0.2), "tanh", "sigmoid"]
    assert back.dropout == [0.1, 0.0, 0.4]
    model.eval(), back.eval()
    np.testing.assert_array_equal(back(X).data, model(X).data)


def test_a_file_of_the_first_format_still_loads(tmp_path):
    path = tmp_path / "m.safetensors"
    model = MLP(3, [4, 4, 2], activation="tanh", output_activation="sigmoid", seed=0)
    old = {"nin": 3, "nouts": [4, 4, 2], "activation": "tanh", "output_activation": "sigmoid",
           "dtype": "float64"}
    save_file(model.state_dict(), str(path), metadata={"architecture": json.dumps(old)})
    back = load_model(path)
    assert back.activations == ["tanh", "tanh", "sigmoid"] and back.dropout == [0.0] * 3
    np.testing.assert_array_equal(back(X).data, model(X).data)


def test_plain_module_round_trip_without_architecture(tmp_path):
    path = tmp_path / "layer.safetensors"
    a, b = Layer(3, 2, seed=0), Layer(3, 2, seed=1)
    save(a, path)
    load(b, path)
    assert_same_weights(a.state_dict(), b.state_dict())
    with pytest.raises(ValueError, match="no architecture"):
        load_model(path)


def tied_mlp(seed=0) -> MLP:
    model = MLP(3, [3, 3, 1], seed=seed)
    model.layers[1].W = model.layers[0].W  # one 3x3 parameter in two layers
    return model


def test_tied_model_round_trip_keeps_the_values_and_the_tie(tmp_path, no_pickle):
    path = tmp_path / "tied.safetensors"
    a = tied_mlp(seed=0)
    save(a, path)
    tensors = load_file(path)
    assert sorted(tensors) == ["layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b",
                               "layers.2.W", "layers.2.b"]  # every name, as in PyTorch
    np.testing.assert_array_equal(tensors["layers.0.W"], a.layers[0].W.data)
    np.testing.assert_array_equal(tensors["layers.1.W"], a.layers[0].W.data)
    b = tied_mlp(seed=1)
    W = b.layers[0].W
    load(b, path)
    assert b.layers[0].W is W and b.layers[1].W is W
    assert_same_weights(a.state_dict(), b.state_dict())
    np.testing.assert_array_equal(a(X).data, b(X).data)
    assert b.num_parameters() == a.num_parameters() == 19


def test_load_model_of_a_tied_model_is_untied_with_equal_values(tmp_path):
    path = tmp_path / "tied.safetensors"
    a = tied_mlp()
    save(a, path)
    b = load_model(path)
    assert b.layers[1].W is not b.layers[0].W
    np.testing.assert_array_equal(b.layers[0].W.data, a.layers[0].W.data)
    np.testing.assert_array_equal(b.layers[1].W.data, a.layers[0].W.data)
    np.testing.assert_array_equal(a(X).data, b(X).data)
    assert b.num_parameters() == a.num_parameters() + 9


def test_overwrites_an_existing_file(tmp_path):
    path = tmp_path / "m.safetensors"
    save(MLP(2, [3, 1], seed=0), path)
    second = MLP(2, [3, 1], seed=1)
    save(second, path)
    assert_same_weights(load_model(path).state_dict(), second.state_dict())
    assert os.listdir(tmp_path) == ["m.safetensors"]


def test_registered_custom_activation_round_trip(tmp_path, restore_activations):
    def softsign(v):
        return v / (1 + v.abs())

    register_activation("softsign", softsign)
    path = tmp_path / "m.safetensors"
    a = MLP(2, [4, 1], activation=softsign, seed=0)
    save(a, path)
    b = load_model(path)
    assert b.layers[0].activation_name == "softsign"
    np.testing.assert_array_equal(a(X[:, :2]).data, b(X[:, :2]).data)


def test_loading_a_custom_activation_that_is_not_registered_names_it(tmp_path,
                                                                     restore_activations):
    register_activation("softsign", lambda v: v / (1 + v.abs()))
    path = tmp_path / "m.safetensors"
    save(MLP(2, [4, 1], activation="softsign", seed=0), path)
    del ACTIVATIONS["softsign"]  # a new session that has not registered it
    with pytest.raises(ValueError, match="softsign"):
        load_model(path)


# --------------------------------------------------------------------------- PyTorch
@pytest.mark.parametrize(
    "nouts,act,out_act,modules",
    [
        ([16, 16, 1], "relu", None, ["Linear", "ReLU", "Linear", "ReLU", "Linear"]),
        ([4, 3], "tanh", "sigmoid", ["Linear", "Tanh", "Linear", "Sigmoid"]),
        ([5, 2], "sigmoid", None, ["Linear", "Sigmoid", "Linear"]),
    ],
)
def test_torch_state_dict_loads_into_nn_sequential(nouts, act, out_act, modules):
    torch = pytest.importorskip("torch")
    model = MLP(3, nouts, activation=act, output_activation=out_act, seed=0)
    for layer in model.layers:
        layer.b.data[:] = np.linspace(-0.5, 0.5, layer.nout)
    sizes = [3] + nouts
    layers, i = [], 0
    for name in modules:
        if name == "Linear":
            layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
            i += 1
        else:
            layers.append(getattr(torch.nn, name)())
    net = torch.nn.Sequential(*layers).double()
    sd = torch_state_dict(model)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()}, strict=True)
    with torch.no_grad():
        expected = net(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(model(X).data, expected, rtol=1e-12, atol=1e-14)
    sd["0.weight"][:] = 0  # a copy, not the model's own arrays
    assert np.any(model.layers[0].W.data != 0)


def test_torch_reads_the_saved_file(tmp_path):
    pytest.importorskip("torch")
    from safetensors.torch import load_file as torch_load_file

    path = tmp_path / "m.safetensors"
    model = MLP(3, [4, 2], seed=0)
    save(model, path)
    tensors = torch_load_file(str(path))
    for name, p in model.named_parameters():
        np.testing.assert_array_equal(tensors[name].numpy(), p.data)


def test_torch_state_dict_names_without_torch():
    sd = torch_state_dict(MLP(2, [16, 16, 1], seed=0))
    assert list(sd) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert sd["2.weight"].shape == (16, 16) and sd["4.weight"].shape == (1, 16)
    # Dropout(p) comes before its layer's Linear, a linear layer has no activation module
    sd = torch_state_dict(MLP(2, [16, 16, 1], activation=["relu", None, "tanh"], dropout=0.5))
    assert list(sd) == ["0.weight", "0.bias", "3.weight", "3.bias", "5.weight", "5.bias"]


# --------------------------------------------------------------------------- refusals
def test_truncated_file_is_refused_and_the_model_untouched(tmp_path):
    path = tmp_path / "m.safetensors"
    save(MLP(3, [5, 2], seed=0), path)
    blob = path.read_bytes()
    for cut in (4, len(blob) // 2, len(blob) - 1):
        path.write_bytes(blob[:cut])
        model = MLP(3, [5, 2], seed=1)
        before = snapshot(model)
        with pytest.raises(ValueError, match="truncated or corrupt"):
            load(model, path)
        assert_same_weights(before, model.state_dict())
        with pytest.raises(ValueError, match="truncated or corrupt"):
            load_model(path)


def test_corrupt_file_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    save(MLP(3, [5, 2], seed=0), path)
    blob = bytearray(path.read_bytes())
    blob[8:20] = b"\xff" * 12  # garbage in the JSON header
    path.write_bytes(bytes(blob))
    model = MLP(3, [5, 2], seed=1)
    before = snapshot(model)
    with pytest.raises(ValueError, match=str(path.name)):
        load(model, path)
    assert_same_weights(before, model.state_dict())
    path.write_bytes(os.urandom(256))
    with pytest.raises(ValueError, match="not a valid safetensors file"):
        load(model, path)
    assert_same_weights(before, model.state_dict())


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope"):
        load(MLP(2, [1]), tmp_path / "nope.safetensors")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nope.safetensors")


def test_mismatched_architecture_is_refused_and_the_model_untouched(tmp_path):
    path = tmp_path / "m.safetensors"
    save(MLP(3, [5, 2], seed=0), path)
    for other in (MLP(3, [4, 2], seed=1), MLP(3, [5, 2, 1], seed=1), MLP(2, [5, 2], seed=1)):
        before = snapshot(other)
        with pytest.raises(ValueError) as e:
            load(other, path)
        assert str(path) in str(e.value)
        assert "layers." in str(e.value)
        assert_same_weights(before, other.state_dict())


def test_file_with_extra_or_missing_tensors_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    arrays = MLP(3, [5, 2], seed=0).state_dict()
    arrays["layers.2.W"] = np.zeros((1, 2))
    save_file(arrays, str(path))
    model = MLP(3, [5, 2], seed=1)
    before = snapshot(model)
    with pytest.raises(ValueError, match="unexpected keys: layers.2.W"):
        load(model, path)
    del arrays["layers.2.W"], arrays["layers.1.b"]
    save_file(arrays, str(path))
    with pytest.raises(ValueError, match="missing keys: layers.1.b"):
        load(model, path)
    assert_same_weights(before, model.state_dict())


def test_malformed_architecture_metadata_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    save_file(MLP(3, [5, 2], seed=0).state_dict(), str(path),
              metadata={"architecture": json.dumps({"nin": 3})})
    with pytest.raises(ValueError, match="malformed"):
        load_model(path)
    save_file(MLP(3, [5, 2], seed=0).state_dict(), str(path),
              metadata={"architecture": "{not json"})
    with pytest.raises(ValueError, match="malformed"):
        load_model(path)


def test_architecture_metadata_disagreeing_with_the_tensors_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    arch = {"nin": 3, "nouts": [4, 2], "activation": "relu", "output_activation": "linear",
            "dtype": "float64"}
    save_file(MLP(3, [5, 2], seed=0).state_dict(), str(path),
              metadata={"architecture": json.dumps(arch)})
    with pytest.raises(ValueError, match="shape"):
        load_model(path)


# --------------------------------------------------------------------------- failed saves
def test_failed_save_leaves_no_temp_file(tmp_path):
    target = tmp_path / "model.safetensors"
    target.mkdir()  # a directory cannot be replaced by a file
    (target / "keep").write_text("x")
    with pytest.raises(OSError):
        save(MLP(2, [3, 1], seed=0), target)
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors"]
    assert os.listdir(target) == ["keep"]


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    first = MLP(2, [3, 1], seed=0)
    save(first, path)

    def broken_replace(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="simulated"):
        save(MLP(2, [3, 1], seed=1), path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["m.safetensors"]
    assert_same_weights(load_model(path).state_dict(), first.state_dict())


def test_saving_an_unregistered_callable_activation_is_a_clear_error(tmp_path):
    path = tmp_path / "m.safetensors"
    model = MLP(2, [3, 1], activation=lambda v: v * v, seed=0)
    with pytest.raises(ValueError, match="register_activation"):
        save(model, path)
    assert os.listdir(tmp_path) == []


def test_io_source_does_not_use_pickle():
    import tinygrad_mlp.io as io_module

    with open(io_module.__file__, encoding="utf-8") as f:
        source = f.read()
    assert "import pickle" not in source and "np.save(" not in source


def test_saved_file_is_readable_like_any_other_file(tmp_path):
    import os
    import stat

    mask = os.umask(0o022)
    try:
        path = tmp_path / "m.safetensors"
        save(MLP(2, [3, 1], seed=0), path)
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_torch_state_dict_as_tensors_loads_directly():
    torch = pytest.importorskip("torch")
    model = MLP(2, [4, 1], seed=0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1)).double()
    net.load_state_dict(torch_state_dict(model, tensors=True), strict=True)
    x = np.array([[0.5, -1.0], [2.0, 0.3]])
    np.testing.assert_allclose(net(torch.from_numpy(x)).detach().numpy(), model(x).data, atol=1e-12)


# --------------------------------------------------------------------------- hand-made files
ARCH = {"nin": 3, "nouts": [4, 2], "activation": "tanh", "output_activation": "linear",
        "dtype": "float32"}
SHAPES = {"layers.0.W": (4, 3), "layers.0.b": (4,), "layers.1.W": (2, 4), "layers.1.b": (2,)}


def write_safetensors(path, tensors: dict, metadata: dict | None = None) -> None:
    """The format by hand: 8-byte little-endian header length, a JSON header of dtype, shape
    and data_offsets per tensor, then the raw bytes (``tensors``: name -> (dtype, shape, bytes))."""
    header, offset = {}, 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text + b"".join(t[2] for t in tensors.values()))


def arch_metadata(**changes) -> dict:
    return {"architecture": json.dumps({**ARCH, **changes})}


def peak_bytes(fn, *args) -> tuple[int, object]:
    """Peak memory traced while ``fn(*args)`` runs (numpy's arrays included), and its result
    or the exception it raised."""
    tracemalloc.start()
    try:
        result = fn(*args)
    except Exception as e:  # noqa: BLE001 - handed to the caller to check
        result = e
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, result


# 0, +-0.125 ... +-3: exact in every float format below, float8 E4M3 and E5M2 included
VALUES = np.array([0.0, 0.125, -0.25, 0.5, -0.75, 1.0, -1.5, 2.0, 3.0, -3.0, 0.375, -0.0])


def exact_weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {name: rng.choice(VALUES, size=shape) for name, shape in SHAPES.items()}


def encode(values: np.ndarray, dtype: str) -> bytes:
    """``values`` (each exact in ``dtype``) as the little-endian bytes safetensors stores."""
    if dtype == "F16":
        return values.astype("<f2").tobytes()
    if dtype == "BF16":  # the top 16 bits of the float32
        return (values.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
    if dtype == "F8_E5M2":  # the top 8 bits of the float16
        return (values.astype("<f2").view("<u2") >> 8).astype("u1").tobytes()
    if dtype == "F8_E4M3":  # sign, 4 exponent bits (bias 7), 3 mantissa bits
        out = []
        for v in values.ravel():
            sign = 0x80 if math.copysign(1.0, v) < 0 else 0
            if v == 0:
                out.append(sign)
                continue
            fraction, exponent = math.frexp(abs(v))  # abs(v) = (2 fraction) 2**(exponent - 1)
            mantissa = (2 * fraction - 1) * 8
            assert mantissa == int(mantissa) and 1 <= exponent - 1 + 7 <= 15
            out.append(sign | (exponent - 1 + 7) << 3 | int(mantissa))
        return bytes(out)
    numpy_dtype = {"I8": "i1", "U8": "u1", "I16": "<i2", "U16": "<u2", "I32": "<i4", "U32": "<u4",
                   "I64": "<i8", "U64": "<u8", "F32": "<f4", "F64": "<f8"}[dtype]
    converted = values.astype(numpy_dtype)
    assert np.array_equal(converted, values)
    return converted.tobytes()


def exact_file(path, dtype: str, weights: dict | None = None, **arch) -> dict[str, np.ndarray]:
    weights = exact_weights() if weights is None else weights
    write_safetensors(path, {k: (dtype, v.shape, encode(v, dtype)) for k, v in weights.items()},
                      arch_metadata(**arch))
    return weights


# --------------------------------------------------------------------------- model files, 1
def test_load_model_checks_the_declared_architecture_before_allocating(tmp_path):
    path = tmp_path / "huge.safetensors"  # 3 -> 5 -> 2 tensors, metadata declaring 4096-wide
    save_file(MLP(3, [5, 2], seed=0).state_dict(), str(path),
              metadata={"architecture": json.dumps({**ARCH, "nouts": [4096, 4096, 2]})})
    assert path.stat().st_size < 1000
    peak, error = peak_bytes(load_model, path)
    assert peak < 1_000_000  # the declared model would take 134 MB
    assert isinstance(error, ValueError)
    message = str(error)
    assert str(path) in message and "architecture metadata" in message
    assert "layers.0.W: shape (5, 3) in the file, (4096, 3)" in message
    assert "missing keys: layers.2.W" in message


@pytest.mark.parametrize("changes,words", [
    ({"nin": 10**12, "nouts": [1]}, ["1000000000000 units", "load(model, path)"]),
    ({"nouts": [1] * 20_001}, ["20001 layers", "load(model, path)"]),
])
def test_load_model_refuses_architectures_beyond_its_limits_without_allocating(tmp_path, changes,
                                                                               words):
    path = tmp_path / "m.safetensors"
    save_file(MLP(3, [4, 2], seed=0).state_dict(), str(path), metadata=arch_metadata(**changes))
    peak, error = peak_bytes(load_model, path)
    assert isinstance(error, ValueError), repr(error)
    for word in words:
        assert word in str(error)
    assert peak < 2_000_000


@pytest.mark.parametrize("changes,word", [
    ({"nouts": [0, 2]}, "nouts"), ({"nouts": [4.0, 2]}, "nouts"), ({"nouts": "4,2"}, "nouts"),
    ({"nouts": []}, "nouts"), ({"nin": True}, "nin"), ({"nin": -3}, "nin"),
    ({"dtype": "float16"}, "float16"), ({"activation": ["relu"]}, "activation"),
    ({"activations": ["tanh"]}, "one activation per layer"),
    ({"activations": "tanh"}, "one activation per layer"),
    ({"activations": ["tanh", ["leaky_relu", "x"]]}, "one activation per layer"),
    ({"activations": ["tanh", [0.2]]}, "one activation per layer"),
    ({"activations": ["tanh", "linear"], "dropout": [0.0, 1.5]}, "one probability per layer"),
    ({"activations": ["tanh", "linear"], "dropout": [0.0]}, "one probability per layer"),
    ({"activations": ["tanh", "linear"], "dropout": 0.5}, "one probability per layer"),
])
def test_load_model_refuses_malformed_architectures(tmp_path, changes, word):
    path = tmp_path / "m.safetensors"
    save_file(MLP(3, [4, 2], seed=0).state_dict(), str(path), metadata=arch_metadata(**changes))
    with pytest.raises(ValueError, match=f"architecture metadata is malformed: .*{word}"):
        load_model(path)


# --------------------------------------------------------------------------- model files, 2
@pytest.mark.parametrize("dtype", ["F16", "BF16", "F8_E5M2", "F8_E4M3", "I8", "U8", "I16",
                                   "U16", "I32", "U32", "I64", "U64"])
def test_narrow_float_and_integer_tensors_load_exactly(tmp_path, dtype):
    path = tmp_path / "m.safetensors"
    weights = exact_weights()
    if dtype[0] in "IU":  # whole numbers, non-negative for the unsigned types
        weights = {k: np.abs(v * 8) if dtype[0] == "U" else v * 8 for k, v in weights.items()}
    exact_file(path, dtype, weights)
    model = load_model(path)
    assert model.dtype == np.float32 and model.nouts == [4, 2]
    assert_same_weights(model.state_dict(), {k: v.astype(np.float32) for k, v in weights.items()})
    model64 = load(MLP(3, [4, 2], activation="tanh", seed=1), path)
    assert_same_weights(model64.state_dict(), weights)


def test_float8_and_bfloat16_special_values(tmp_path):
    path = tmp_path / "m.safetensors"
    e4m3 = [0x38, 0xB8, 0x40, 0x7E, 0x01, 0x08, 0x7F, 0x00, 0x80, 0x30, 0x3C, 0xFE]
    e5m2 = [0x3C, 0xBC, 0x7C, 0xFC, 0x01, 0x7B, 0x7E, 0x00, 0x80, 0x38, 0x40, 0x3E]
    bf16 = [0x3F80, 0xBF80, 0x7F80, 0xFF80, 0x0001, 0x7F7F, 0x7FC0, 0x0000, 0x8000, 0x4049,
            0x3F00, 0x3FC0]
    expected = {
        "F8_E4M3": [1, -1, 2, 448, 2.0**-9, 2.0**-6, np.nan, 0, -0.0, 0.5, 1.5, -448],
        "F8_E5M2": [1, -1, np.inf, -np.inf, 2.0**-16, 57344, np.nan, 0, -0.0, 0.5, 2, 1.5],
        "BF16": [1, -1, np.inf, -np.inf, 2.0**-133, 3.3895313892515355e38, np.nan, 0, -0.0,
                 3.140625, 0.5, 1.5],
    }
    for dtype, raw in (("F8_E4M3", bytes(e4m3)), ("F8_E5M2", bytes(e5m2)),
                       ("BF16", np.array(bf16, "<u2").tobytes())):
        weights = {name: (dtype, shape, b"") for name, shape in SHAPES.items()}
        weights["layers.0.W"] = (dtype, (4, 3), raw)
        weights["layers.0.b"] = (dtype, (4,), raw[:4 * len(raw) // 12])
        weights["layers.1.W"] = (dtype, (2, 4), raw[:8 * len(raw) // 12])
        weights["layers.1.b"] = (dtype, (2,), raw[:2 * len(raw) // 12])
        write_safetensors(path, weights, arch_metadata(dtype="float64"))
        W = load_model(path).layers[0].W.data.ravel()
        np.testing.assert_array_equal(W, np.array(expected[dtype]), err_msg=dtype)
        assert np.array_equal(np.signbit(W), np.signbit(expected[dtype])), dtype


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast")  # signalling NaNs
@pytest.mark.parametrize("dtype", ["F8_E4M3", "F8_E5M2", "BF16"])
def test_every_narrow_float_value_matches_torch(tmp_path, dtype):
    torch = pytest.importorskip("torch")
    path = tmp_path / "m.safetensors"
    nbytes = 1 if dtype.startswith("F8") else 2
    count = 256 if nbytes == 1 else 65536
    raw = np.arange(count, dtype="<u1" if nbytes == 1 else "<u2").tobytes()
    write_safetensors(path, {"W": (dtype, (count,), raw)})
    model = Layer(count, 1, seed=0)
    del model.b  # a module holding the one parameter W of shape (1, count)
    model.W.data = np.zeros((count,))
    load(model, path)
    torch_dtype = {"F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2,
                   "BF16": torch.bfloat16}[dtype]
    expected = torch.frombuffer(bytearray(raw), dtype=torch_dtype).double().numpy()
    np.testing.assert_array_equal(model.W.data, expected)


def test_integers_that_float64_cannot_hold_exactly_are_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    weights = {k: np.zeros(shape, np.int64) for k, shape in SHAPES.items()}
    weights["layers.1.W"][0, 0] = 2**60  # exact in float64: loads
    write_safetensors(path, {k: ("I64", v.shape, v.astype("<i8").tobytes())
                             for k, v in weights.items()}, arch_metadata())
    assert load_model(path).layers[1].W.data[0, 0] == 2.0**60
    for dtype, big in (("I64", 2**53 + 1), ("I64", 2**63 - 1), ("I64", -(2**53) - 1),
                       ("U64", 2**64 - 1)):
        values = {k: v.astype("<u8" if dtype == "U64" else "<i8") for k, v in weights.items()}
        values["layers.1.W"][1, 2] = big
        write_safetensors(path, {k: (dtype, v.shape, v.tobytes()) for k, v in values.items()},
                          arch_metadata())
        model = MLP(3, [4, 2], activation="tanh", seed=1)
        before = snapshot(model)
        with pytest.raises(ValueError, match=f"layers.1.W: dtype {dtype} holds integers"):
            load(model, path)
        assert_same_weights(before, model.state_dict())
        with pytest.raises(ValueError, match=f"layers.1.W: dtype {dtype} holds integers"):
            load_model(path)


@pytest.mark.parametrize("dtype,nbytes", [("BOOL", 1), ("C64", 8), ("F8_E8M0", 1),
                                          ("F8_E4M3FNUZ", 1), ("F6_E2M3", 1)])
def test_unconvertible_dtypes_are_refused_naming_the_tensor_and_dtype(tmp_path, dtype, nbytes):
    path = tmp_path / "m.safetensors"
    tensors = {k: ("F32", shape, np.zeros(shape, "<f4").tobytes()) for k, shape in SHAPES.items()}
    size = 8 * nbytes if dtype != "F6_E2M3" else 6  # 8 six-bit values in 6 bytes
    tensors["layers.1.W"] = (dtype, (2, 4), b"\x00" * size)
    write_safetensors(path, tensors, arch_metadata())
    model = MLP(3, [4, 2], activation="tanh", seed=1)
    before = snapshot(model)
    for attempt in (lambda: load(model, path), lambda: load_model(path)):
        with pytest.raises(ValueError, match=f"do not convert exactly .*: layers.1.W is {dtype}"):
            attempt()
    assert_same_weights(before, model.state_dict())


def test_an_unknown_dtype_is_a_clear_error(tmp_path):
    path = tmp_path / "m.safetensors"
    write_safetensors(path, {"layers.0.W": ("F128", (1,), b"\x00" * 16)}, arch_metadata())
    with pytest.raises(ValueError, match="F128"):
        load_model(path)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinygrad_mlp.cli", *args],
                          capture_output=True, text=True, timeout=120)


def test_command_line_predicts_from_a_bf16_file_and_refuses_others_in_one_line(tmp_path):
    path = tmp_path / "m.safetensors"
    weights = exact_file(path, "BF16")
    result = cli("predict", str(path), "--input", "0.5,1,2")
    assert result.returncode == 0, result.stderr
    expected = MLP(3, [4, 2], activation="tanh", seed=0)
    expected.load_state_dict(weights)
    first = f"{expected([0.5, 1.0, 2.0])[0].item():.4f}"[:5]
    assert first in result.stdout
    write_safetensors(path, {k: ("F8_E8M0", v.shape, bytes(v.size)) for k, v in weights.items()},
                      arch_metadata())
    result = cli("predict", str(path), "--input", "0.5,1,2")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "F8_E8M0" in lines[0], result.stderr


# --------------------------------------------------------------------------- model files, 3
def test_load_refuses_an_extra_tensor_without_reading_it(tmp_path):
    path = tmp_path / "m.safetensors"
    arrays = MLP(3, [4, 2], seed=0).state_dict()
    arrays["extra"] = np.zeros((4_000_000,))  # 32 MB the model has no place for
    save_file(arrays, str(path), metadata=arch_metadata(dtype="float64"))
    model = MLP(3, [4, 2], seed=1)
    before = snapshot(model)
    for fn, args in ((load, (model, path)), (load_model, (path,))):
        peak, error = peak_bytes(fn, *args)
        assert isinstance(error, ValueError) and "unexpected keys: extra" in str(error)
        assert peak < 1_000_000
    assert_same_weights(before, model.state_dict())


def test_loading_holds_one_copy_of_the_tensors_not_the_file_as_well(tmp_path):
    path = tmp_path / "big.safetensors"
    source = MLP(256, [1024, 1024, 1], seed=0)  # 10.5 MB of float64
    save(source, path)
    size = path.stat().st_size
    model = MLP(256, [1024, 1024, 1], seed=1)
    peak, result = peak_bytes(load, model, path)
    assert result is model
    assert peak < 1.2 * size  # the tensors; not the file's bytes besides
    assert_same_weights(source.state_dict(), model.state_dict())
    built, _ = peak_bytes(MLP, 256, [1024, 1024, 1])  # building a model has its own peak
    peak, result = peak_bytes(load_model, path)
    assert isinstance(result, MLP)
    assert peak < max(built, 2 * size) + 0.2 * size  # that, or the model and the tensors


# --------------------------------------------------------------------------- model files, 4
def temporaries(folder) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name != "m.safetensors")


def test_saving_over_a_file_keeps_its_mode(tmp_path):
    path = tmp_path / "m.safetensors"
    save(MLP(2, [3, 1], seed=0), path)
    for mode in (0o600, 0o640, 0o444):
        os.chmod(path, mode)
        save(MLP(2, [3, 1], seed=1), path)
        assert stat.S_IMODE(path.stat().st_mode) == mode
    mask = os.umask(0o077)
    try:
        save(MLP(2, [3, 1], seed=0), tmp_path / "new.safetensors")
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "new.safetensors").stat().st_mode) == 0o600


@pytest.mark.parametrize("error", [OSError("disk full (simulated)"), KeyboardInterrupt()])
def test_a_failure_while_writing_leaves_no_temporary(tmp_path, monkeypatch, error):
    path = tmp_path / "m.safetensors"
    first = MLP(2, [3, 1], seed=0)
    save(first, path)

    def broken_fsync(fd):
        assert temporaries(tmp_path), "called while the temporary exists"
        raise error

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(type(error)):
        save(MLP(2, [3, 1], seed=1), path)
    monkeypatch.undo()
    assert temporaries(tmp_path) == []
    assert_same_weights(load_model(path).state_dict(), first.state_dict())


@pytest.mark.skipif(os.name != "posix", reason="FIFOs and symlinks of POSIX")
def test_save_follows_a_symlink_and_refuses_a_fifo(tmp_path):
    real = tmp_path / "models" / "m.safetensors"
    real.parent.mkdir()
    save(MLP(2, [3, 1], seed=0), real)
    link = tmp_path / "latest.safetensors"
    link.symlink_to(real)
    save(MLP(2, [3, 1], seed=1), link)
    assert link.is_symlink()  # the link stays; its target holds the new weights
    assert_same_weights(load_model(real).state_dict(), MLP(2, [3, 1], seed=1).state_dict())
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="FIFO.*not a regular file"):
        save(MLP(2, [3, 1], seed=0), fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_save_error_names_the_file_not_its_temporary(tmp_path):
    path = tmp_path / "no" / "m.safetensors"
    with pytest.raises(FileNotFoundError) as info:
        save(MLP(2, [3, 1], seed=0), path)
    assert info.value.filename == str(path) and ".tmp-tinygrad_mlp" not in str(info.value)


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_save_removes_stale_temporaries_of_the_same_target_only(tmp_path):
    path = tmp_path / "m.safetensors"
    save(MLP(2, [3, 1], seed=0), path)
    gone, alive = dead_pid(), os.getpid()
    stale = [f".m.safetensors.{alive}.0123abcd.tmp-tinygrad_mlp"]  # two minutes old
    kept = [
        f".m.safetensors.{alive}.89abcdef.tmp-tinygrad_mlp",  # a save under way right now
        f".other.safetensors.{gone}.0123abcd.tmp-tinygrad_mlp",  # another target's
        f".m.safetensors.{gone}.0123abcd.tmp-tinygrad_mlp.keep",
        f"m.safetensors.{gone}.0123abcd.tmp-tinygrad_mlp",
        f".m.safetensors.{gone}.0123abcz.tmp-tinygrad_mlp",
        "m.safetensors.x1y2.tmp",  # an old-style name: not ours to judge
    ]
    if os.name == "posix":  # a killed save's, whatever its age
        stale.append(f".m.safetensors.{gone}.456789ef.tmp-tinygrad_mlp")
    for name in stale + kept:
        (tmp_path / name).write_bytes(b"partial")
    two_minutes_ago = time.time() - 120
    os.utime(tmp_path / stale[0], (two_minutes_ago, two_minutes_ago))
    os.utime(tmp_path / kept[1], (two_minutes_ago, two_minutes_ago))
    save(MLP(2, [3, 1], seed=1), path)
    assert temporaries(tmp_path) == sorted(kept)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_save_leaves_a_temporary_the_next_save_removes(tmp_path):
    path = tmp_path / "m.safetensors"
    script = (
        "import os, sys, time\n"
        "from tinygrad_mlp.io import save\n"
        "from tinygrad_mlp.nn import MLP\n"
        "def hang(fd):\n"
        "    print('writing', flush=True); time.sleep(60)\n"
        "os.fsync = hang\n"
        f"save(MLP(2, [3, 1], seed=0), {str(path)!r})\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "writing\n"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        process.kill()
        process.stdout.close()
    assert len(temporaries(tmp_path)) == 1 and not path.exists()
    save(MLP(2, [3, 1], seed=1), path)
    assert temporaries(tmp_path) == []

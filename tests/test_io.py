"""Saving and loading weights (``tinygrad_mlp.io``): safetensors, all or nothing, no pickle."""

from __future__ import annotations

import json
import os
import pickle

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from tinygrad_mlp.io import load, load_model, save, torch_state_dict
from tinygrad_mlp.nn import ACTIVATIONS, MLP, Layer, register_activation

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
    assert arch["activation"] == "tanh" and arch["output_activation"] == "linear"


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

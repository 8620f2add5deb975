"""PyTorch and ONNX in and out (``tinygrad_mlp.io.to_torch``, ``from_torch``, ``export_onnx``,
``tinygrad_mlp.interop``) and the ``tinygrad-mlp export`` command."""

from __future__ import annotations

import doctest
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_mlp import interop
from tinygrad_mlp.io import export_onnx, from_torch, load_model, save, to_torch, torch_state_dict
from tinygrad_mlp.nn import ACTIVATIONS, MLP, Layer, register_activation

ROOT = Path(__file__).resolve().parents[1]
X = np.random.default_rng(0).normal(size=(9, 3)) * 2

ARCHITECTURES = [  # (activation list or spec, dropout)
    ("relu", 0.0),
    (["tanh", ("leaky_relu", 0.2), "sigmoid"], 0.3),
    ([("leaky_relu", 0.05), "linear", "tanh"], [0.1, 0.0, 0.5]),
    (["sigmoid", "relu", None], 0.0),
]


def model_for(activation, dropout, dtype=np.float64) -> MLP:
    model = MLP(3, [6, 5, 2], activation=activation, dropout=dropout, dtype=dtype, seed=0)
    for layer in model.layers:  # biases that matter
        layer.b.data[:] = np.linspace(-0.5, 0.5, layer.nout)
    return model.eval()


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.fixture
def onnx():
    return pytest.importorskip("onnx")


@pytest.fixture
def registered():
    """Register activations for one test, removing them afterwards."""
    names = []

    def register(name, fn):
        names.append(name)
        register_activation(name, fn)

    yield register
    for name in names:
        ACTIVATIONS.pop(name, None)


# --------------------------------------------------------------------------- to PyTorch
@pytest.mark.parametrize("activation,dropout", ARCHITECTURES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_to_torch_computes_the_same_outputs(torch, activation, dropout, dtype):
    model = model_for(activation, dropout, dtype)
    net = to_torch(model)
    assert isinstance(net, torch.nn.Sequential)
    assert all(p.dtype == (torch.float64 if dtype is np.float64 else torch.float32)
               for p in net.parameters())
    with torch.no_grad():
        out = net(torch.from_numpy(X.astype(dtype))).numpy()
    tol = 1e-12 if dtype is np.float64 else 1e-5
    np.testing.assert_allclose(out, model(X).data, rtol=tol, atol=tol)


def test_to_torch_modules_dropout_and_mode(torch):
    nn = torch.nn
    model = MLP(3, [6, 5, 2], activation=["tanh", ("leaky_relu", 0.2), "sigmoid"], dropout=0.3,
                seed=0)
    net = to_torch(model)
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.Tanh, nn.Dropout, nn.Linear, nn.LeakyReLU, nn.Dropout,
                     nn.Linear, nn.Sigmoid]
    assert net[2].p == 0.3 and net[4].negative_slope == 0.2
    assert net.training  # the model was in training mode: fine-tunable as it is
    assert not to_torch(model.eval()).training
    # the names torch_state_dict gives are the module's own
    assert set(torch_state_dict(model)) == set(net.state_dict())
    # a copy: changing the module leaves the model alone
    with torch.no_grad():
        net[0].weight.zero_()
    assert np.any(model.layers[0].W.data != 0)


def test_to_torch_module_trains_further(torch):
    model = MLP(3, [8, 1], dropout=[0.0, 0.2], seed=0)
    net = to_torch(model)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(X[:, :1] - X[:, 1:2])
    first = None
    for _ in range(50):
        loss = ((net(Xt) - yt) ** 2).mean()
        first = first if first is not None else loss.item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net.eval()
    assert ((net(Xt) - yt) ** 2).mean().item() < first


# --------------------------------------------------------------------------- from PyTorch
def test_from_torch_any_order_and_mix(torch):
    nn = torch.nn
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Dropout(0.1), nn.Linear(3, 6), nn.LeakyReLU(0.3), nn.Identity(), nn.Dropout(0.2),
        nn.Linear(6, 5), nn.Dropout(0.5), nn.Tanh(),  # dropout before the activation
        nn.Linear(5, 4), nn.Linear(4, 4),  # two Linears in a row: the identity between
        nn.Sequential(nn.Sigmoid(), nn.Linear(4, 3)), nn.ReLU(),  # nested
        nn.Linear(3, 2), nn.Identity(),
    ).double().eval()
    model = from_torch(net)
    assert model.nouts == [6, 5, 4, 4, 3, 2]
    assert model.activations == [("leaky_relu", 0.3), "tanh", "linear", "sigmoid", "relu",
                                 "linear"]
    assert model.dropout == [0.1, 0.2, 0.5, 0.0, 0.0, 0.0]
    assert from_torch(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5), nn.Dropout(0.5),
                                    nn.Linear(2, 1))).dropout == [0.0, 0.75]
    assert from_torch(nn.Sequential(nn.Linear(2, 1), nn.Dropout(0.0))).dropout == [0.0]
    assert model.dtype == np.float64 and not model.training
    with torch.no_grad():
        expected = net(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(model(X).data, expected, rtol=1e-12, atol=1e-14)
    # and the scalar call style, on the same parameters
    np.testing.assert_allclose([v.data for v in model(X[0].tolist())], expected[0], rtol=1e-12)


def test_from_torch_then_back_is_the_same_module(torch):
    nn = torch.nn
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.25), nn.Linear(4, 1))
    again = to_torch(from_torch(net))
    assert [type(m) for m in again] == [type(m) for m in net]
    for (k, v), (k2, v2) in zip(net.state_dict().items(), again.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    assert again.training and again[2].p == 0.25


def test_from_torch_dtype_bias_and_mode(torch):
    nn = torch.nn
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.Sigmoid(), nn.Linear(4, 2))
    model = from_torch(net)
    assert model.dtype == np.float32 and model.training
    np.testing.assert_array_equal(model.layers[0].b.data, 0)
    with torch.no_grad():
        expected = net(torch.from_numpy(X.astype(np.float32))).numpy()
    np.testing.assert_allclose(model(X).data, expected, rtol=1e-5, atol=1e-6)
    assert from_torch(net.to(torch.bfloat16)).dtype == np.float32


@pytest.mark.parametrize("build,error,words", [
    (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.Conv1d(1, 1, 1)), TypeError,
     ["module 1 (Conv1d)", "Linear, ReLU"]),
    (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.Sequential(nn.GELU())), TypeError,
     ["module 1.0 (GELU)"]),
    (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.AlphaDropout(0.1), nn.Linear(4, 1)), TypeError,
     ["AlphaDropout"]),
    (lambda nn: nn.Sequential(nn.ReLU(), nn.Linear(3, 4)), ValueError,
     ["module 0 (ReLU)", "before the first Linear"]),
    (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Tanh()), ValueError,
     ["module 2 (Tanh)", "follows another activation"]),
    (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 1)), ValueError,
     ["module 1 (Linear) takes 5 inputs", "4 outputs"]),
    (lambda nn: nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5)), ValueError,
     ["module 1 (Dropout) after the last Linear"]),
    (lambda nn: nn.Sequential(nn.ReLU()), ValueError, ["before the first Linear"]),
    (lambda nn: nn.Sequential(), ValueError, ["no Linear"]),
    (lambda nn: nn.Linear(3, 4), TypeError, ["nn.Sequential", "got Linear"]),
])
def test_from_torch_refuses_what_an_mlp_cannot_be(torch, build, error, words):
    with pytest.raises(error) as info:
        from_torch(build(torch.nn))
    for word in words:
        assert word in str(info.value)


def test_a_pytorch_trained_model_saves_and_draws_in_course_notation(torch, tmp_path):
    nn = torch.nn
    net = nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.1), nn.Dropout(0.2), nn.Linear(3, 1))
    model = from_torch(net)
    save(model, tmp_path / "m.safetensors")
    back = load_model(tmp_path / "m.safetensors")
    assert repr(back) == repr(model) == \
        "MLP(2 -> 3 leaky_relu(0.1) -> dropout 0.2 -> 1 linear)  # 13 parameters"
    pytest.importorskip("graphviz")
    from tinygrad_mlp.viz import draw_mlp

    assert "w" in draw_mlp(back).source


# --------------------------------------------------------------------------- ONNX
def run_reference(path, x):
    from onnx.reference import ReferenceEvaluator

    return ReferenceEvaluator(str(path)).run(None, {"input": x})[0]


@pytest.mark.parametrize("activation,dropout", ARCHITECTURES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_export_onnx_checks_and_computes_the_same_outputs(onnx, tmp_path, activation, dropout,
                                                          dtype):
    model = model_for(activation, dropout, dtype)
    path = tmp_path / "m.onnx"
    export_onnx(model, path)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.ir_version == 8
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", 17)]
    ops = [node.op_type for node in proto.graph.node]
    assert ops.count("Gemm") == 3 and "Dropout" not in ops  # dropout is the identity
    # float attributes (the leaky slope) are float32 in ONNX
    tol = 1e-7 if dtype is np.float64 else 1e-5
    np.testing.assert_allclose(run_reference(path, X.astype(dtype)), model(X).data, rtol=tol,
                               atol=tol)
    try:
        import onnxruntime
    except ImportError:
        return
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {"input": X.astype(dtype)})[0]
    np.testing.assert_allclose(out, model(X).data, rtol=tol, atol=tol)


def test_onnx_graph_layout(onnx):
    model = MLP(3, [4, 2], activation=("leaky_relu", 0.25), output_activation="sigmoid",
                dropout=[0.0, 0.5], seed=0)
    proto = interop.to_onnx(model)
    nodes = [(n.op_type, list(n.input), list(n.output)) for n in proto.graph.node]
    assert nodes == [("Gemm", ["input", "layers.0.W", "layers.0.b"], ["z1"]),
                     ("LeakyRelu", ["z1"], ["a1"]),
                     ("Gemm", ["a1", "layers.1.W", "layers.1.b"], ["z2"]),
                     ("Sigmoid", ["z2"], ["output"])]
    assert proto.graph.node[1].attribute[0].f == 0.25
    assert [i.name for i in proto.graph.initializer] == list(model.state_dict())
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3]
    assert model.training  # exporting left the model's mode alone


# --------------------------------------------------------------------------- activations
def softplus(x):
    return (x.exp() + 1).log()


def elu(x, alpha=1.0):
    return x.relu() + alpha * ((-(-x).relu()).exp() - 1)


def selu(x):
    return 1.0507009873554805 * elu(x, 1.6732632423543772)


@pytest.mark.parametrize("name,fn,torch_module,onnx_op", [
    ("softplus", softplus, "Softplus", "Softplus"),
    ("elu", elu, "ELU", "Elu"),
    ("selu", selu, "SELU", "Selu"),
    ("silu", lambda x: x * x.sigmoid(), "SiLU", "Mul"),
    ("softsign", lambda x: x / (1 + x.abs()), "Softsign", "Softsign"),
])
def test_a_registered_activation_with_a_standard_name_maps(torch, onnx, registered, tmp_path,
                                                           name, fn, torch_module, onnx_op):
    registered(name, fn)
    model = MLP(3, [5, 2], activation=name, dtype=np.float32, seed=0)
    net = to_torch(model)
    assert type(net[1]).__name__ == torch_module
    with torch.no_grad():
        np.testing.assert_allclose(net(torch.from_numpy(X.astype(np.float32))).numpy(),
                                   model(X).data, rtol=1e-5, atol=1e-5)
    export_onnx(model, tmp_path / "m.onnx")
    assert onnx_op in [n.op_type for n in onnx.load(str(tmp_path / "m.onnx")).graph.node]
    np.testing.assert_allclose(run_reference(tmp_path / "m.onnx", X.astype(np.float32)),
                               model(X).data, rtol=1e-5, atol=1e-5)


def test_a_standard_activation_with_arguments_maps(torch, onnx, registered):
    registered("elu", elu)
    model = MLP(3, [5, 2], activation=("elu", 0.5), seed=0)
    net = to_torch(model)
    assert type(net[1]).__name__ == "ELU" and net[1].alpha == 0.5
    with torch.no_grad():
        np.testing.assert_allclose(net(torch.from_numpy(X)).numpy(), model(X).data, rtol=1e-12)
    proto = interop.to_onnx(model)
    assert proto.graph.node[1].op_type == "Elu" and proto.graph.node[1].attribute[0].f == 0.5


def test_a_custom_activation_is_refused_naming_it(torch, onnx, registered, tmp_path):
    registered("cube_t", lambda x: x * x * x)
    model = MLP(3, [5, 2], activation="cube_t", seed=0)
    for convert in (to_torch, lambda m: export_onnx(m, tmp_path / "m.onnx")):
        with pytest.raises(ValueError, match="layer 1's activation 'cube_t' has no standard"):
            convert(model)
    assert not (tmp_path / "m.onnx").exists()


def test_a_standard_name_computing_something_else_is_refused(torch, registered):
    registered("softplus", lambda x: x * 2)  # not softplus at all
    with pytest.raises(ValueError, match="'softplus' is registered as a function that does not "
                                         "compute the standard softplus"):
        to_torch(MLP(3, [5, 2], activation="softplus", seed=0))


def test_an_unregistered_function_is_refused(torch):
    model = MLP(3, [5, 2], activation=lambda x: x.tanh(), seed=0)
    with pytest.raises(ValueError, match="layer 1's activation is a function that is not "
                                         "registered"):
        to_torch(model)


def test_only_an_mlp_converts(torch):
    with pytest.raises(TypeError, match="to_torch converts an MLP, got Layer"):
        to_torch(Layer(2, 3))


# --------------------------------------------------------------------------- optional
def test_nothing_imports_torch_or_onnx_until_called():
    code = ("import sys, tinygrad_mlp, tinygrad_mlp.io, tinygrad_mlp.interop, tinygrad_mlp.cli\n"
            "from tinygrad_mlp import MLP\n"
            "from tinygrad_mlp.io import torch_state_dict\n"
            "torch_state_dict(MLP(2, [3, 1]))\n"
            "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime') if m in sys.modules))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("blocked,call,extra", [
    ("torch", lambda path: to_torch(MLP(2, [3, 1])), "torch"),
    ("torch", lambda path: from_torch(object()), "torch"),
    ("torch", lambda path: torch_state_dict(MLP(2, [3, 1]), tensors=True), "torch"),
    ("onnx", lambda path: export_onnx(MLP(2, [3, 1]), path), "onnx"),
])
def test_a_missing_extra_is_named(monkeypatch, tmp_path, blocked, call, extra):
    monkeypatch.setitem(sys.modules, blocked, None)  # import fails as if not installed
    with pytest.raises(ImportError, match=rf'pip install "tinygrad_mlp\[{extra}\]"'):
        call(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_the_documented_examples_run(torch, onnx):
    """The docstring examples marked +SKIP (they need PyTorch or onnx) give what they show."""
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    ran = 0
    for test in finder.find(interop, globs=vars(interop).copy()):
        for example in test.examples:
            example.options.pop(doctest.SKIP, None)
        ran += len(test.examples)
        runner.run(test)
    assert ran >= 6 and runner.failures == 0


def test_the_export_page_examples_print_what_it_shows(torch, onnx, capsys):
    """Each python block of docs/export.md runs, in order, printing its ``# `` comment lines."""
    import re

    text = (ROOT / "docs" / "export.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 4
    names = set(ACTIVATIONS)
    namespace: dict = {}
    try:
        for block in blocks:
            exec(compile(block, "docs/export.md", "exec"), namespace)
            shown = [line[2:] for line in block.splitlines() if line.startswith("# ")]
            assert capsys.readouterr().out.splitlines() == shown
    finally:
        for name in set(ACTIVATIONS) - names:
            ACTIVATIONS.pop(name)


# --------------------------------------------------------------------------- the command
def cli(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "tinygrad_mlp.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120)


def test_export_command_writes_an_onnx_file(onnx, tmp_path):
    model = MLP(2, [4, 1], activation="tanh", dropout=[0.0, 0.5], seed=0).eval()
    save(model, tmp_path / "m.safetensors")
    result = cli("export", str(tmp_path / "m.safetensors"), "--onnx", str(tmp_path / "m.onnx"))
    assert result.returncode == 0, result.stderr
    assert f"wrote {tmp_path / 'm.onnx'}" in result.stdout
    x = np.array([[0.5, -1.0], [2.0, 0.1]])
    np.testing.assert_allclose(run_reference(tmp_path / "m.onnx", x), model(x).data, rtol=1e-12)


@pytest.mark.parametrize("args,words", [
    (["{tmp}/missing.safetensors", "--onnx", "{tmp}/m.onnx"], ["no model file"]),
    (["{tmp}/m.safetensors", "--onnx", "{tmp}/nowhere/m.onnx"], ["folder", "does not exist"]),
    (["{tmp}/m.safetensors", "--onnx", "{tmp}"], ["is a directory"]),
    (["{tmp}/m.safetensors"], ["--onnx"]),
    (["{tmp}/custom.safetensors", "--onnx", "{tmp}/m.onnx"], ["unknown activation", "--import"]),
])
def test_export_command_errors_are_one_line(tmp_path, args, words):
    save(MLP(2, [3, 1], seed=0), tmp_path / "m.safetensors")
    register_activation("cube_for_export", lambda x: x * x * x)
    try:
        save(MLP(2, [3, 1], activation="cube_for_export", seed=0), tmp_path / "custom.safetensors")
    finally:
        ACTIVATIONS.pop("cube_for_export")
    result = cli("export", *[a.format(tmp=tmp_path) for a in args])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinygrad-mlp: error:"), result.stderr
    for word in words:
        assert word in lines[0]


def test_export_command_refuses_a_custom_activation_and_names_the_missing_extra(tmp_path):
    module = tmp_path / "acts.py"
    module.write_text("from tinygrad_mlp.nn import register_activation\n"
                      "register_activation('cube_x', lambda x: x * x * x)\n")
    code = ("import sys\nsys.modules['onnx'] = None\nfrom tinygrad_mlp.cli import main\n"
            "sys.exit(main(sys.argv[1:]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    save(MLP(2, [3, 1], seed=0), tmp_path / "m.safetensors")
    result = subprocess.run([sys.executable, "-c", code, "export", str(tmp_path / "m.safetensors"),
                             "--onnx", str(tmp_path / "m.onnx")], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert 'pip install "tinygrad_mlp[onnx]"' in result.stderr
    pytest.importorskip("onnx")
    sys.path.insert(0, str(tmp_path))
    try:
        import acts  # noqa: F401  (registers cube_x here, to save a model using it)

        save(MLP(2, [3, 1], activation="cube_x", seed=0), tmp_path / "c.safetensors")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("acts", None)
        ACTIVATIONS.pop("cube_x", None)
    result = cli("export", "--import", str(module), str(tmp_path / "c.safetensors"), "--onnx",
                 str(tmp_path / "c.onnx"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "activation 'cube_x' has no standard" in result.stderr

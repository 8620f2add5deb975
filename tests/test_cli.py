"""The ``tinygrad-mlp`` command, each subcommand run in a subprocess as a user would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_mlp


def run(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinygrad_mlp.cli", *args], capture_output=True, text=True,
        cwd=cwd, env=env, timeout=120,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    last = lines[0]
    for word in words:
        assert word in last, (word, result.stderr)


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert tinygrad_mlp.__version__ in result.stdout


@pytest.mark.parametrize("command", ["demo", "train", "predict", "graph"])
def test_help_of_each_command(command):
    result = run(command, "--help")
    assert result.returncode == 0
    assert "usage: tinygrad-mlp" in result.stdout


def test_console_script_is_installed():
    exe = shutil.which("tinygrad-mlp")
    if exe is None:
        pytest.skip("the package is not installed with its console script")
    result = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and tinygrad_mlp.__version__ in result.stdout


def test_train_then_predict(tmp_path):
    model = tmp_path / "model.safetensors"
    result = run("train", "--dataset", "circles", "--hidden", "8,8", "--epochs", "60",
                 "--save", str(model), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert model.is_file()
    assert "validation accuracy" in result.stdout
    result = run("predict", str(model), "--input", "0,0", "2,2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 2
    # circles: the origin is inside (class 1), (2, 2) far outside (class 0)
    assert lines[0].startswith("0,0 ->") and lines[0].endswith("(class 1)")
    assert lines[1].endswith("(class 0)")


@pytest.mark.parametrize("args, words", [
    (["train", "--dataset", "nope", "--save", "m.safetensors"], ["invalid choice", "nope"]),
    (["train", "--activation", "swishy", "--save", "m.safetensors"], ["unknown activation", "swishy"]),
    (["train", "--hidden", "16,x", "--save", "m.safetensors"], ["--hidden", "16,x"]),
    (["train", "--hidden", "0", "--save", "m.safetensors"], ["positive"]),
    (["demo", "--lr", "-1"], ["positive"]),
    (["predict", "missing.safetensors", "--input", "1,2"], ["no model file", "missing.safetensors"]),
    (["demo", "--hidden", ""], ["at least one layer size"]),
    (["demo", "--hidden", ","], ["at least one layer size"]),
    (["demo", "--seed", "-1"], ["--seed", "0 or more"]),
    (["demo", "--samples", "100000000000"], ["--samples", "between"]),
    (["train", "--save", "no/such/folder/m.safetensors"], ["does not exist"]),
    (["graph", "--mlp", "1000000,1000000", "-o", "g.svg"], ["error"]),
])
def test_bad_arguments_give_one_line_and_nonzero_exit(tmp_path, args, words):
    assert_one_line_error(run(*args, cwd=tmp_path), *words)


def test_corrupt_model_file(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    assert_one_line_error(run("predict", str(bad), "--input", "1,2"), "not a valid safetensors")


def test_predict_with_the_wrong_number_of_values(tmp_path):
    model = tmp_path / "m.safetensors"
    assert run("train", "--epochs", "1", "--save", str(model), "--no-progress").returncode == 0
    assert_one_line_error(run("predict", str(model), "--input", "1,2,3"), "takes 2 values")
    assert_one_line_error(run("predict", str(model), "--input", "1,a"), "numbers separated by commas")


def test_demo_writes_every_file_it_lists(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    result = run("demo", "--epochs", "30", "--out", str(out), "--no-progress")
    assert result.returncode == 0, result.stderr
    listed = [line.strip() for line in result.stdout.split("wrote:")[1].splitlines() if line.strip()]
    names = {Path(p).name for p in listed}
    expected = {"decision_boundary.png", "loss_curves.png"}
    expected |= ({"architecture.svg", "neuron_graph.svg"} if shutil.which("dot")
                 else {"architecture.dot", "neuron_graph.dot"})
    assert names == expected
    for path in listed:
        assert Path(path).is_file() and Path(path).stat().st_size > 0
    assert "train accuracy" in result.stdout and "validation accuracy" in result.stdout
    if shutil.which("dot"):  # the neuron's picture shows a real backward pass, not all zeros
        import re

        grads = [float(g) for g in re.findall(r"grad (-?[0-9.]+)", (out / "neuron_graph.svg").read_text())]
        assert sum(g != 0.0 for g in grads) >= 3  # a dead ReLU would leave only the root


def test_demo_without_dot_writes_dot_source_and_says_how_to_install(tmp_path):
    pytest.importorskip("matplotlib")
    # no dot on PATH; TINYGRAD_MLP_GRAPHVIZ=system keeps graphviz-pure (found beside Python
    # even without PATH) out of it
    env = dict(os.environ, PATH=str(tmp_path / "empty-bin"), TINYGRAD_MLP_GRAPHVIZ="system")
    out = tmp_path / "demo"
    result = run("demo", "--epochs", "5", "--out", str(out), "--no-progress", env=env)
    assert result.returncode == 0, result.stderr
    assert (out / "architecture.dot").read_text().startswith("digraph")
    assert (out / "neuron_graph.dot").is_file()
    assert (out / "decision_boundary.png").is_file()
    assert "apt-get install graphviz" in result.stdout


def test_demo_without_matplotlib_says_which_extra(tmp_path):
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "matplotlib.py").write_text("raise ImportError('matplotlib blocked for this test')")
    env = dict(os.environ, PYTHONPATH=str(blocker))
    out = tmp_path / "demo"
    result = run("demo", "--epochs", "5", "--out", str(out), "--no-progress", env=env)
    assert result.returncode == 0, result.stderr
    assert 'pip install "tinygrad_mlp[plot]"' in result.stdout
    assert not (out / "decision_boundary.png").exists()
    assert any(out.glob("architecture.*"))


# --------------------------------------------------------------------------- issue 10
@pytest.fixture(scope="module")
def moons_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.safetensors"
    result = run("train", "--epochs", "2", "--save", str(path), "--no-progress")
    assert result.returncode == 0, result.stderr
    return path


def predictions(result: subprocess.CompletedProcess) -> list[str]:
    return [line.split(" ->")[0] for line in result.stdout.strip().splitlines()]


def test_input_values_may_start_with_a_minus_and_samples_accumulate(moons_model):
    result = run("predict", str(moons_model), "--input", "-0.5,0.2")
    assert result.returncode == 0, result.stderr
    assert predictions(result) == ["-0.5,0.2"]
    # several samples after one --input, and --input repeated: all of them, in order
    result = run("predict", str(moons_model), "--input", "-0.5,0.2", "1,-2", "--input", "-3,-4",
                 "--input=-1,1")
    assert result.returncode == 0, result.stderr
    assert predictions(result) == ["-0.5,0.2", "1,-2", "-3,-4", "-1,1"]
    result = run("predict", str(moons_model), "--input", "1,2", "--input", "3,4")
    assert predictions(result) == ["1,2", "3,4"]


def test_graph_takes_negative_numbers_and_expressions_with_a_leading_minus(tmp_path):
    out = tmp_path / "g.dot"  # DOT source: no Graphviz needed
    result = run("graph", "--mlp", "2,3,1", "--scalar", "-1,2", "-o", str(out))
    assert result.returncode == 0, result.stderr
    for args in (["-a", "--set", "a=1"], ["-a*b", "--set", "a=-2", "b=3", "--backward"],
                 ["--set", "a=-2", "b=3", "-a*b"],  # the expression after --set, too
                 ["--(a)", "--set", "a=1"]):
        out.unlink(missing_ok=True)
        result = run("graph", *args, "-o", str(out))
        assert result.returncode == 0, (args, result.stderr)
        assert out.read_text().startswith("digraph")


@pytest.mark.parametrize("args, words", [
    (["graph", "a", "--set", "a=1", "--dpi", "-5", "-o", "g.png"], ["--dpi", "10"]),
    (["graph", "a", "--set", "a=1", "--dpi", "5000", "-o", "g.png"], ["--dpi", "1,200"]),
    (["graph", "a", "--set", "a=1", "--dpi", "nan", "-o", "g.png"], ["--dpi", "finite"]),
    (["graph", "a", "--set", "a=1", "--precision", "-1", "-o", "g.dot"], ["--precision"]),
    (["graph", "a", "--set", "a=1", "--precision", "100", "-o", "g.dot"], ["--precision"]),
    (["graph", "--mlp", "2,1", "--seed", "-1", "-o", "g.dot"], ["--seed"]),
    (["graph", "--mlp", "2,100000", "-o", "g.dot"], ["--mlp", "at most 1024"]),
    (["graph", "--mlp", "2,1", "--scalar", "inf,1", "-o", "g.dot"], ["--scalar", "finite"]),
    (["graph", "a", "--set", "a=nan", "-o", "g.dot"], ["--set", "finite"]),
    (["train", "--epochs", "1000000000", "--save", "m.safetensors"], ["--epochs", "100,000"]),
    (["train", "--lr", "inf", "--save", "m.safetensors"], ["--lr", "finite"]),
    (["train", "--lr", "1e30", "--save", "m.safetensors"], ["--lr", "at most"]),
    (["train", "--lr", "nan", "--save", "m.safetensors"], ["--lr", "finite"]),
    (["train", "--hidden", "100000", "--save", "m.safetensors"], ["--hidden", "at most"]),
    (["train", "--hidden", ",".join(["2"] * 40), "--save", "m.safetensors"], ["--hidden", "layers"]),
    (["train", "--noise", "-1", "--save", "m.safetensors"], ["--noise", "0 or more"]),
    (["train", "--noise", "1e300", "--save", "m.safetensors"], ["--noise", "between 0 and 10"]),
    (["train", "--noise", "inf", "--save", "m.safetensors"], ["--noise", "finite"]),
    (["train", "--seed", str(2**40), "--save", "m.safetensors"], ["--seed", "between"]),
    (["train", "--batch-size", str(10**12), "--save", "m.safetensors"], ["--batch-size"]),
    (["train", "--samples", "10.5", "--save", "m.safetensors"], ["--samples", "whole number"]),
])
def test_every_numeric_flag_is_range_checked(tmp_path, monkeypatch, capsys, args, words):
    import tinygrad_mlp.train
    import tinygrad_mlp.viz
    from tinygrad_mlp.cli import main

    def must_not_run(*args, **kwargs):
        raise AssertionError("the command ran with a value out of range")

    # refused before any work: neither training (--epochs 10**9 would run for days) nor drawing
    monkeypatch.setattr(tinygrad_mlp.train, "fit", must_not_run)
    monkeypatch.setattr(tinygrad_mlp.viz, "render", must_not_run)
    monkeypatch.chdir(tmp_path)
    try:  # in this process: one subprocess per case would take seconds
        status = main(args)
    except SystemExit as e:  # argparse's errors
        status = e.code
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("tinygrad-mlp: error:") and err.count("\n") == 1, err
    for word in words:
        assert word in err, (word, err)
    assert not list(tmp_path.iterdir())  # nothing written


def test_predict_refuses_non_finite_inputs(moons_model):
    assert_one_line_error(run("predict", str(moons_model), "--input", "nan,1"), "--input", "finite")


def test_graph_refuses_a_missing_output_folder(tmp_path):
    missing = tmp_path / "no" / "such"
    result = run("graph", "a*b", "--set", "a=1", "b=2", "-o", str(missing / "m.svg"))
    assert_one_line_error(result, "does not exist")
    result = run("graph", "a*b", "--set", "a=1", "b=2", "-o", str(tmp_path / "g.dot"),
                 "--animate", str(missing / "steps.html"))
    assert_one_line_error(result, "--animate", "does not exist")
    assert not (tmp_path / "no").exists() and not (tmp_path / "g.dot").exists()
    assert_one_line_error(run("graph", "a", "--set", "a=1", "-o", str(tmp_path)), "is a directory")


def test_predict_says_a_nan_model_has_no_class(tmp_path):
    import numpy as np

    from tinygrad_mlp import MLP
    from tinygrad_mlp.io import save

    model = MLP(2, [3, 1], seed=0)
    for p in model.parameters():
        p.data[...] = np.nan
    path = tmp_path / "nan.safetensors"
    save(model, path)
    result = run("predict", str(path), "--input", "0.5,0.2")
    assert result.returncode != 0
    assert "class" not in result.stdout.replace("no class", "")
    assert "not finite" in result.stdout
    assert_one_line_error(result, "not finite", "nan or inf weights")


def test_train_that_diverges_exits_nonzero_and_saves_nothing(tmp_path):
    model = tmp_path / "m.safetensors"
    # a linear network at the largest rate the command takes: the loss overflows to nan
    result = run("train", "--activation", "linear", "--lr", "1000", "--epochs", "5",
                 "--save", str(model), "--no-progress")
    assert_one_line_error(result, "tinygrad-mlp: error:", "nan", "nothing was saved")
    assert result.returncode == 1
    assert not model.exists()


def test_train_stops_when_fit_raises_or_the_model_is_not_finite(tmp_path, monkeypatch, capsys):
    import numpy as np

    import tinygrad_mlp.train
    from tinygrad_mlp.cli import main

    def raising_fit(model, *args, **kwargs):
        raise FloatingPointError("training stopped: the training loss became nan in epoch 3")

    def silent_fit(model, *args, **kwargs):  # a fit that does not check
        for p in model.parameters():
            p.data[...] = np.nan
        history = tinygrad_mlp.train.History()
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            history.log(key, np.nan)
        return history

    model = tmp_path / "m.safetensors"
    for fake, words in ((raising_fit, "in epoch 3"), (silent_fit, "nan")):
        monkeypatch.setattr(tinygrad_mlp.train, "fit", fake)
        assert main(["train", "--epochs", "1", "--save", str(model), "--no-progress"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("tinygrad-mlp: error:") and words in err, err
        assert "nothing was saved" in err and err.count("\n") == 1
        assert not model.exists()


ACTIVATION_MODULE = '''
from tinygrad_mlp.nn import register_activation


def softsign_for_the_cli(v):
    return v / (1 + v.abs())


register_activation("softsign_for_the_cli", softsign_for_the_cli)
'''


def test_import_registers_an_activation_for_the_command_line(tmp_path):
    (tmp_path / "my_acts.py").write_text(ACTIVATION_MODULE)
    model = tmp_path / "m.safetensors"
    # without the module the name is unknown, and the error says how to add it
    result = run("train", "--activation", "softsign_for_the_cli", "--save", str(model), cwd=tmp_path)
    assert_one_line_error(result, "softsign_for_the_cli", "--import")
    # a path to a .py file, after the command
    result = run("train", "--import", str(tmp_path / "my_acts.py"), "--activation",
                 "softsign_for_the_cli", "--epochs", "2", "--save", str(model), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "softsign_for_the_cli" in result.stdout
    # a module name (found in the current folder), before the command; predict needs it too
    assert_one_line_error(run("predict", str(model), "--input", "1,2", cwd=tmp_path), "--import")
    result = run("--import", "my_acts", "predict", str(model), "--input", "1,-2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("1,-2 -> ")


@pytest.mark.parametrize("module, words", [
    ("no_such_module_anywhere", ["--import", "no module named 'no_such_module_anywhere'"]),
    ("missing.py", ["--import", "no such file"]),
    ("broken.py", ["--import", "broken.py failed", "RuntimeError", "not today"]),
    ("exits.py", ["--import", "exits.py failed", "SystemExit"]),
    ("not a module", ["--import", "module name"]),
])
def test_import_failures_are_one_line(tmp_path, module, words):
    (tmp_path / "broken.py").write_text("raise RuntimeError('not today\\nsecond line')\n")
    (tmp_path / "exits.py").write_text("import sys\nsys.exit(3)\n")
    result = run("--import", module, "train", "--save", "m.safetensors", cwd=tmp_path)
    assert_one_line_error(result, "tinygrad-mlp: error:", *words)


def test_help_lists_activations_and_datasets():
    for command in ("demo", "train"):
        out = " ".join(run(command, "--help").stdout.split())
        assert "relu, sigmoid, tanh" in out and "blobs, circles, moons, spirals" in out
        assert "--import MODULE" in out
    assert "sigmoid" in " ".join(run("graph", "--help").stdout.split())


def test_every_option_has_help():
    import argparse

    from tinygrad_mlp.cli import _parser

    missing = []

    def walk(parser, name):
        for action in parser._actions:
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    walk(sub, f"{name} {sub_name}")

    walk(_parser(), "tinygrad-mlp")
    assert not missing


@pytest.mark.parametrize("args", [
    ["predict", "m.safetensors", "--input"],                  # argparse, in a command
    ["train", "--hidden", "x", "--save", "m.safetensors"],    # an argument type
    ["nope"],                                                 # argparse, top level
    ["predict", "missing.safetensors", "--input", "1,2"],     # while running
    ["graph", "--mlp", "3", "-o", "g.dot"],                   # the graph command
    ["graph", "a +", "-o", "g.dot"],                          # an expression (two more lines)
])
def test_every_error_has_the_same_prefix(tmp_path, args):
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("tinygrad-mlp: error: "), result.stderr
    assert "Traceback" not in result.stderr


def test_large_graph_messages_name_the_command_line_flags(tmp_path):
    out = tmp_path / "g.dot"
    result = run("graph", "--mlp", "2,16,16,1", "--scalar", "0.5,-1", "-o", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinygrad-mlp: warning: drawing"), lines
    assert "--collapse neuron" in lines[0] and "collapse='" not in lines[0]
    assert "Warning:" not in lines[0] and ".py" not in lines[0]  # no file, line or category
    result = run("graph", "--mlp", "2,40,40,1", "--scalar", "0.5,-1", "-o", str(out))
    assert_one_line_error(result, "--collapse neuron", "--force")
    assert "force=True" not in result.stderr and "collapse=" not in result.stderr

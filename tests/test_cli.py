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
    env = dict(os.environ, PATH=str(tmp_path / "empty-bin"))  # no dot on PATH
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

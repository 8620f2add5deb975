"""The `tinygrad-mlp graph` command, through add_graph_parser and run_graph."""

from __future__ import annotations

import argparse
import importlib
import shutil

import pytest

from tinygrad_mlp.viz.cli import add_graph_parser, run_graph

# the module (the package exports a function of the same name)
render_module = importlib.import_module("tinygrad_mlp.viz.render")

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="tinygrad-mlp")
    add_graph_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["graph", *argv])
    assert args.func is run_graph
    return run_graph(args)


@needs_dot
def test_expression_with_backward(tmp_path, capsys):
    out = tmp_path / "graph.svg"
    assert run("a*b + c", "--set", "a=2", "b=-3", "c=10", "--backward", "-o", str(out)) == 0
    svg = out.read_text()
    assert "data 4.0000" in svg and "grad &#45;3.0000" in svg and "grad 2.0000" in svg
    assert f"wrote {out}" in capsys.readouterr().out


@needs_dot
def test_mlp_diagram(tmp_path):
    out = tmp_path / "mlp.svg"
    assert run("--mlp", "3,4,4,1", "-o", str(out)) == 0
    svg = out.read_text()
    assert svg.count('class="edge"') == 32 and "tanh" in svg and "linear" in svg


@needs_dot
def test_mlp_scalar_graph_png_and_animation(tmp_path, capsys):
    png, html = tmp_path / "g.png", tmp_path / "steps.html"
    assert run("--mlp", "2,3,1", "--scalar", "0.5,-1", "--backward", "--collapse", "neuron",
               "--dpi", "120", "-o", str(png)) == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    assert run("e = a*b; L = tanh(e)", "--set", "a=2", "b=-3", "--animate", str(html),
               "-o", str(tmp_path / "g.pdf")) == 0
    assert (tmp_path / "g.pdf").read_bytes().startswith(b"%PDF")
    assert html.read_text().count("<svg") == 4
    assert "(4 steps)" in capsys.readouterr().out


def test_bad_expression_is_pointed_at(tmp_path, capsys):
    assert run("a*b + foo(c)", "--set", "a=2", "b=-3", "c=10", "-o", str(tmp_path / "g.svg")) == 2
    err = capsys.readouterr().err
    assert "unknown function 'foo'" in err and "        ^^^" in err
    assert not (tmp_path / "g.svg").exists()


@pytest.mark.parametrize("argv, message", [
    (["a*b", "--set", "a=2", "b"], "NAME=VALUE"),
    (["a*b", "--set", "a=2", "b=x"], "not a number"),
    (["a*b", "--mlp", "2,1"], "not both"),
    ([], "give an expression"),
    (["--mlp", "3"], "at least two"),
    (["--mlp", "3,x"], "whole numbers"),
    (["--mlp", "2,1", "--scalar", "1"], "1 numbers for an MLP of 2 inputs"),
    (["--mlp", "2,1", "--backward"], "--scalar"),
    (["2*3", "--backward"], "depends on at least one name"),
])
def test_usage_errors(argv, message, capsys, tmp_path):
    assert run(*argv, "-o", str(tmp_path / "g.svg")) == 2
    assert message in capsys.readouterr().err


def test_missing_graphviz_exit_status_and_dot_output(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(render_module, "pure_program", lambda: None)  # nor graphviz-pure
    assert run("a*b", "--set", "a=1", "b=2", "-o", str(tmp_path / "g.svg")) == 1
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert run("a*b", "--set", "a=1", "b=2", "-o", str(tmp_path / "g.dot")) == 0
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


def test_output_folder_and_format_are_checked_before_drawing(tmp_path, capsys):
    missing = tmp_path / "no" / "such"
    assert run("a*b", "--set", "a=1", "b=2", "-o", str(missing / "g.svg")) == 2
    assert "the folder" in capsys.readouterr().err and not (tmp_path / "no").exists()
    assert run("a*b", "--set", "a=1", "b=2", "-o", str(tmp_path / "g.dot"),
               "--animate", str(missing / "a.html")) == 2
    assert "--animate" in capsys.readouterr().err and not (tmp_path / "g.dot").exists()
    assert run("a*b", "--set", "a=1", "b=2", "-o", str(tmp_path / "g.bmpx")) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinygrad-mlp: error:") and ".svg" in err and "format=" not in err


def test_expression_after_set_and_messages_in_command_line_terms(tmp_path, capsys):
    out = tmp_path / "g.dot"
    assert run("--set", "a=2", "b=3", "a*b", "-o", str(out)) == 0
    assert "6.0000" in out.read_text()
    assert run("a*b", "--set", "a=1", "b=2", "--scalar", "1", "-o", str(out)) == 2
    assert "--scalar goes with --mlp" in capsys.readouterr().err
    assert run("--mlp", "2,1", "--activation", "swishy", "-o", str(out)) == 2
    err = capsys.readouterr().err
    assert "unknown activation 'swishy'" in err and "tanh" in err and "--import" in err


@needs_dot
def test_animate_alone_writes_only_the_page_and_never_graph_svg(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "graph.svg").write_text("the lecturer's own picture")
    assert run("--mlp", "2,3,1", "--scalar", "0.5,-1", "--backward", "--animate") == 0
    assert capsys.readouterr().out == "wrote backprop.html (34 steps)\n"
    assert (tmp_path / "graph.svg").read_text() == "the lecturer's own picture"
    assert (tmp_path / "backprop.html").read_text().count("<svg") == 34
    # -o asks for the picture too, and both files are reported
    assert run("--mlp", "2,3,1", "--scalar", "0.5,-1", "--animate", "steps.html", "-o", "g.dot") == 0
    assert capsys.readouterr().out == "wrote g.dot\nwrote steps.html (34 steps)\n"


@needs_dot
def test_animate_honours_collapse(tmp_path, capsys):
    page = tmp_path / "steps.html"
    assert run("--mlp", "2,3,1", "--scalar", "0.5,-1", "--collapse", "neuron",
               "--animate", str(page)) == 0
    assert "(4 steps)" in capsys.readouterr().out
    assert page.read_text().count("<svg") == 4
    assert run("--mlp", "2,3,1", "--scalar", "0.5,-1", "--collapse", "layer",
               "--animate", str(page)) == 0
    assert "(2 steps)" in capsys.readouterr().out


def test_animate_needs_an_html_name(tmp_path, capsys):
    assert run("--animate", "a*b", "--set", "a=1", "b=2") == 2
    err = capsys.readouterr().err
    assert "--animate a*b: name the page FILE.html" in err and "Traceback" not in err

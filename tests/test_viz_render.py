"""render(), to_dot(), notebook display, and a clear error when Graphviz is missing."""

from __future__ import annotations

import shutil

import graphviz
import pytest

from tinygrad_mlp import MLP, Value
from tinygrad_mlp.viz import (
    GraphvizNotFoundError,
    backward_frames,
    draw_dot,
    draw_mlp,
    render,
    set_notebook_format,
    to_dot,
)

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
INSTALL_COMMANDS = ("apt-get install graphviz", "brew install graphviz",
                    "conda install -c conda-forge graphviz", "winget install graphviz")


def graph():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    c.backward()
    return draw_dot(c)


@pytest.fixture
def no_graphviz(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert shutil.which("dot") is None


@needs_dot
@pytest.mark.parametrize("name, magic", [("g.svg", b"<?xml"), ("g.png", b"\x89PNG"), ("g.pdf", b"%PDF"),
                                         ("g.jpg", b"\xff\xd8")])
def test_format_follows_the_extension(tmp_path, name, magic):
    path = render(graph(), tmp_path / "sub" / name)
    assert path == tmp_path / "sub" / name
    assert path.read_bytes().startswith(magic)
    assert [p.name for p in path.parent.iterdir()] == [name]  # no temporary file left


@needs_dot
def test_svg_carries_labels_and_values(tmp_path):
    svg = render(graph(), tmp_path / "g.svg").read_text()
    assert "data 2.0000" in svg and "grad &#45;3.0000" in svg


@needs_dot
def test_dpi_scales_png(tmp_path):
    import struct

    def width(path):
        return struct.unpack(">I", path.read_bytes()[16:20])[0]

    g = graph()
    small = render(g, tmp_path / "small.png", dpi=48)
    big = render(g, tmp_path / "big.png", dpi=192)
    assert width(big) > 3 * width(small)
    assert "dpi" not in g.graph_attr  # the drawing itself is unchanged


def test_dot_source_and_unknown_extensions(tmp_path):
    g = graph()
    assert render(g, tmp_path / "g.dot").read_text() == g.source
    assert to_dot(g, tmp_path / "g.gv") == g.source == (tmp_path / "g.gv").read_text()
    with pytest.raises(ValueError, match="extension"):
        render(g, tmp_path / "g.bmpx")


def test_missing_graphviz_gives_one_clear_error(no_graphviz, tmp_path):
    g = graph()
    with pytest.raises(GraphvizNotFoundError) as info:
        render(g, tmp_path / "g.svg")
    err = info.value
    assert isinstance(err, RuntimeError) and isinstance(err, graphviz.ExecutableNotFound)
    for command in INSTALL_COMMANDS:
        assert command in str(err)
    assert not (tmp_path / "g.svg").exists()
    for call in (lambda: g.pipe(format="png"), lambda: g.render(tmp_path / "x", format="pdf"),
                 lambda: backward_frames(Value(1.0) * 2)):
        with pytest.raises(GraphvizNotFoundError):
            call()
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz"):
        render(draw_mlp(MLP(2, [2, 1])), tmp_path / "mlp.svg")  # neato: run as dot -Kneato
    # the DOT source needs no Graphviz
    assert g.source.startswith("digraph") and to_dot(g) == g.source
    assert render(g, tmp_path / "g.dot").read_text() == g.source


def test_missing_graphviz_in_a_notebook_shows_the_hint(no_graphviz):
    bundle = graph()._repr_mimebundle_()
    assert list(bundle) == ["text/plain"]
    assert "apt-get install graphviz" in bundle["text/plain"]


def test_plain_digraphs_get_the_same_error(no_graphviz, tmp_path):
    with pytest.raises(GraphvizNotFoundError):
        render(graphviz.Digraph(), tmp_path / "g.svg")


@needs_dot
def test_notebook_shows_svg_and_can_switch_to_png():
    g = graph()
    assert "image/svg+xml" in g._repr_mimebundle_()
    g.notebook_format = "png"
    g.png_dpi = 150
    bundle = g._repr_mimebundle_()
    assert bundle["image/png"].startswith(b"\x89PNG")
    other = graph()
    assert other.notebook_format == "svg"
    try:
        set_notebook_format("png")
        assert graph().notebook_format == "png"
        assert list(graph()._repr_mimebundle_()) == ["image/png"]
    finally:
        set_notebook_format("svg")
    with pytest.raises(ValueError):
        g.notebook_format = "gif"


def test_script_fonts_are_for_svg_only():
    from tinygrad_mlp import MLP
    from tinygrad_mlp.viz.render import _without_script_fonts

    y = MLP(2, [2, 1], seed=0)([1.0, 2.0])
    drawing = draw_dot(y)
    assert '<FONT POINT-SIZE="9"><SUB>' in drawing.source
    stripped = _without_script_fonts(drawing).source
    assert "<FONT POINT-SIZE" not in stripped and "<SUB>" in stripped and "<SUP>" in stripped
    assert drawing.source.count("<SUB>") == stripped.count("<SUB>")


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs the Graphviz dot program")
def test_rendered_files_are_ordinary_files(tmp_path):
    import os
    import stat

    mask = os.umask(0o022)
    try:
        path = render(draw_dot(Value(1.0, label="a") * 2), tmp_path / "g.svg")
    finally:
        os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


@needs_dot
@pytest.mark.parametrize("notation", ["html", "unicode", "plain"])
def test_labels_longer_than_graphviz_allows_are_cut(tmp_path, notation):
    a = Value(2.0, label="x" * 20_000)
    b = a * Value(3.0, label='"\\' * 10_000)
    b.label = "y" * 20_000
    svg = render(draw_dot(b, notation=notation, title="t" * 20_000), tmp_path / "g.svg").read_text()
    assert "xxx…" in svg and "yyy…" in svg and "ttt…" in svg
    render(draw_mlp(MLP(2, [1], seed=0), title="t" * 20_000, notation=notation), tmp_path / "m.svg")


@pytest.mark.parametrize("dpi", [-5, 0, 5, 5000, float("nan"), float("inf")])
def test_dpi_is_range_checked(tmp_path, dpi):
    with pytest.raises(ValueError, match="dpi must be between 10 and 1200"):
        render(graph(), tmp_path / "g.png", dpi=dpi)
    with pytest.raises(ValueError, match="dpi"):
        render(graph(), tmp_path / "g.dot", dpi=dpi)
    assert not list(tmp_path.iterdir())
    with pytest.raises(TypeError, match="dpi must be a number"):
        render(graph(), tmp_path / "g.png", dpi="300")

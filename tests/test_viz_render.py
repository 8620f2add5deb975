"""render(), to_dot(), notebook display, and a clear error when Graphviz is missing."""

from __future__ import annotations

import importlib
import os
import shutil
import stat

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

# the module (the package exports a function of the same name)
render_module = importlib.import_module("tinygrad_mlp.viz.render")

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
INSTALL_COMMANDS = ("apt-get install graphviz", "brew install graphviz",
                    "conda install -c conda-forge graphviz", "winget install graphviz",
                    'pip install "tinygrad_mlp[draw]"')
PIP_REMEDY = 'pip install "tinygrad_mlp[draw]"'


def graph():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    c.backward()
    return draw_dot(c)


@pytest.fixture
def no_graphviz(tmp_path, monkeypatch):
    """Neither Graphviz's dot nor graphviz-pure on PATH."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("TINYGRAD_MLP_GRAPHVIZ", raising=False)
    # (graphviz-pure is also looked for beside Python, where PATH does not reach)
    monkeypatch.setattr(render_module, "pure_program", lambda: None)
    assert shutil.which("dot") is None and render_module.pure_program() is None


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
    # both remedies, the system package and the pip-only one, on the line a summary shows
    first_line = str(err).splitlines()[0]
    assert "apt-get install graphviz" in first_line and PIP_REMEDY in first_line
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
    assert "apt-get install graphviz" in bundle["text/plain"] and PIP_REMEDY in bundle["text/plain"]


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
    from tinygrad_mlp.viz.labels import SCRIPT_POINT_SIZE
    from tinygrad_mlp.viz.render import _without_script_fonts

    y = MLP(2, [2, 1], seed=0)([1.0, 2.0])
    drawing = draw_dot(y)
    assert f'<FONT POINT-SIZE="{SCRIPT_POINT_SIZE}"><SUB>' in drawing.source
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


# --------------------------------------------------------------------------- notebooks: fit the cell
def wide_and_narrow():
    """A drawing much wider than a notebook cell, and one narrower than it."""
    y = Value(1.0, label="x")
    for k in range(12):
        y = y * Value(1.5, label=f"w{k}")
    return draw_dot(y), draw_dot(Value(2.0, label="a") * 3)


def test_fit_width_styles_only_the_root_svg():
    from tinygrad_mlp.viz.render import fit_width

    svg = '<svg width="10pt" height="5pt"><g><svg width="1pt"></svg></g></svg>'
    assert fit_width(svg) == ('<svg style="max-width:100%;height:auto" width="10pt" height="5pt">'
                              '<g><svg width="1pt"></svg></g></svg>')
    assert fit_width('<svg style="color:red" width="1pt">') == (
        '<svg style="max-width:100%;height:auto;color:red" width="1pt">')


@needs_dot
def test_notebook_svg_shrinks_to_the_cell_width_only_when_wider(open_html):
    wide, narrow = wide_and_narrow()
    cell = 600  # px: a notebook output area
    html = "".join(f'<div id="{name}" style="width:{cell}px">{d._repr_mimebundle_()["image/svg+xml"]}</div>'
                   for name, d in (("wide", wide), ("narrow", narrow)))
    opened = open_html(f"<!DOCTYPE html><html><body>{html}</body></html>")
    boxes = {}
    for name in ("wide", "narrow"):
        boxes[name] = opened.page.evaluate(f"""() => {{
            const svg = document.querySelector('#{name} > svg');
            const r = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal;
            return [r.width, r.height, vb.width, vb.height, svg.width.baseVal.value];
        }}""")
    width, height, vb_width, vb_height, natural = boxes["wide"]
    assert natural > 2 * cell  # really wider than the cell...
    assert width == pytest.approx(cell, abs=1)  # ...so it fits the cell, no scrolling,
    assert height / width == pytest.approx(vb_height / vb_width, rel=0.02)  # undistorted
    width, height, vb_width, vb_height, natural = boxes["narrow"]
    assert natural < cell and width == pytest.approx(natural, abs=1)  # keeps its natural size
    opened.assert_clean()


@needs_dot
def test_notebook_svg_in_a_plain_page_is_unchanged_apart_from_the_style():
    drawing = graph()
    shown = drawing._repr_mimebundle_()["image/svg+xml"]
    drawn = drawing.pipe(format="svg", encoding="utf-8")
    assert shown.count('style="max-width:100%;height:auto"') == 1
    assert shown.replace(' style="max-width:100%;height:auto"', "") == drawn


@pytest.mark.skipif(os.name != "posix", reason="FIFOs, symlinks and modes of POSIX")
def test_render_writes_through_a_symlink_keeps_the_mode_and_refuses_a_fifo(tmp_path):
    graph = draw_dot(Value(2.0, label="a") * 3)
    real = tmp_path / "figures" / "g.dot"
    real.parent.mkdir()
    real.write_text("old")
    os.chmod(real, 0o600)
    link = tmp_path / "g.dot"
    link.symlink_to(real)
    render(graph, link)
    assert link.is_symlink() and real.read_text().startswith("digraph")
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    fifo = tmp_path / "pipe.dot"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="FIFO.*not a regular file"):
        to_dot(graph, fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    render(graph, tmp_path / "new" / "folder" / "g.dot")  # a missing folder is still made
    assert (tmp_path / "new" / "folder" / "g.dot").exists()

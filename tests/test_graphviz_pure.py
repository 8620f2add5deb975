"""Drawing without the Graphviz program: graphviz-pure draws every kind of picture.

``TINYGRAD_MLP_GRAPHVIZ=pure`` forces graphviz-pure even where ``dot`` is installed, so these
tests run everywhere graphviz-pure is (the ``dev`` extra installs it); they skip where it is not,
except on CI (``CI`` set), where a missing graphviz-pure fails them.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import subprocess

import graphviz
import pytest

from tinygrad_mlp import MLP, Neuron, Value
from tinygrad_mlp.viz import (
    GraphvizNotFoundError,
    animate,
    backward_frames,
    draw_dot,
    draw_mlp,
    render,
    save_frames,
)
from tinygrad_mlp.viz.render import (
    GRAPHVIZ_ENV,
    PURE_PROGRAM,
    graphviz_backend,
    pure_program,
    pure_program_beside_python,
    run_graphviz,
)

# the module (the package exports a function of the same name)
render_module = importlib.import_module("tinygrad_mlp.viz.render")

# the program itself, not a wrapper script on PATH (pyenv's shims need a shell on PATH)
PURE = pure_program_beside_python() or shutil.which(PURE_PROGRAM)
MADE_BY_PURE = "(graphviz-pure)"  # graphviz-pure's SVG says so in its header comment
MAGIC = {"svg": b"<?xml", "png": b"\x89PNG", "jpg": b"\xff\xd8"}


@pytest.fixture
def pure(monkeypatch):
    """Every drawing in the test is made by graphviz-pure, whether or not dot is installed."""
    if PURE is None:
        if os.environ.get("CI"):
            pytest.fail("graphviz-pure is not installed; CI installs it with the dev extra")
        pytest.skip('graphviz-pure is not installed (pip install "tinygrad_mlp[draw]")')
    monkeypatch.setenv(GRAPHVIZ_ENV, "pure")
    assert graphviz_backend() == "pure"


@pytest.fixture
def only_pure_on_path(tmp_path, monkeypatch):
    """A PATH holding graphviz-pure and no Graphviz: what a pip-only machine has."""
    if PURE is None:
        pytest.skip("graphviz-pure is not installed")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / PURE_PROGRAM).symlink_to(PURE)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv(GRAPHVIZ_ENV, raising=False)
    assert shutil.which("dot") is None


def expression() -> Value:
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    L = a * b + c
    L.label = "L"
    return L


def svg_texts(svg: str) -> list[str]:
    return [t for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg) if t.strip()]


# --------------------------------------------------------------------------- choosing the program
def test_without_dot_graphviz_pure_draws(only_pure_on_path, tmp_path):
    assert graphviz_backend() == "pure"
    L = expression()
    L.backward()
    svg = render(draw_dot(L), tmp_path / "g.svg").read_text()
    assert MADE_BY_PURE in svg and "data 4.0000" in svg


def test_the_variable_chooses_and_is_checked(monkeypatch):
    monkeypatch.setenv(GRAPHVIZ_ENV, "Cairo")
    with pytest.raises(ValueError, match="auto, system or pure"):
        graphviz_backend()


def test_graphviz_pure_is_found_beside_python_without_path(tmp_path, monkeypatch):
    # a virtual environment never activated (or a Jupyter kernel started from one) has its
    # scripts folder off PATH: graphviz-pure installed there still draws
    if pure_program_beside_python() is None:
        pytest.skip("graphviz-pure is not installed beside this Python")
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv(GRAPHVIZ_ENV, raising=False)
    assert shutil.which(PURE_PROGRAM) is None and pure_program() is not None
    assert graphviz_backend() == "pure"
    svg = render(draw_dot(expression()), tmp_path / "g.svg").read_text()
    assert MADE_BY_PURE in svg


def test_forcing_a_missing_graphviz_pure_says_how_to_install_it(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(render_module, "pure_program", lambda: None)  # not installed anywhere
    monkeypatch.setenv(GRAPHVIZ_ENV, "pure")
    with pytest.raises(GraphvizNotFoundError, match=r'pip install "tinygrad_mlp\[draw\]"') as info:
        render(draw_dot(expression()), tmp_path / "g.svg")
    assert info.value.program == PURE_PROGRAM and GRAPHVIZ_ENV in str(info.value).splitlines()[0]
    assert not (tmp_path / "g.svg").exists()


# --------------------------------------------------------------------------- every kind of drawing
@pytest.mark.parametrize("fmt", ["svg", "png", "jpg"])
def test_expression_graph_in_every_format_it_writes(pure, tmp_path, fmt):
    L = expression()
    L.backward()
    path = render(draw_dot(L), tmp_path / f"g.{fmt}")
    assert path.read_bytes().startswith(MAGIC[fmt])


def test_expression_graph_svg_has_every_value(pure):
    L = expression()
    L.backward()
    svg = draw_dot(L).pipe(format="svg", encoding="utf-8")
    assert MADE_BY_PURE in svg
    texts = svg_texts(svg)
    for text in ("data 2.0000", "grad &#45;3.0000", "data 4.0000", "grad 1.0000"):
        assert any(text in t for t in texts), text


def test_model_graph_html_labels_keep_their_scripts(pure):
    y = Neuron(2, activation="tanh", seed=0)([1.5, -0.5])
    y.backward()
    drawing = draw_dot(y)
    assert "<SUP>" in drawing.source and "<SUB>" in drawing.source
    svg = drawing.pipe(format="svg", encoding="utf-8")
    assert MADE_BY_PURE in svg
    # w⁽¹⁾₁₁: the scripts are raised and lowered text, not part of the line
    assert re.search(r'baseline-shift="super"[^>]*>\(1\)</text>', svg)
    assert re.search(r'baseline-shift="sub"[^>]*>1</text>', svg)
    texts = " | ".join(svg_texts(svg))
    assert "tanh" in texts and "layer 1" in texts and "data 0.3874" in texts
    assert drawing.pipe(format="png").startswith(MAGIC["png"])


def _centres(svg: str) -> dict[str, tuple[float, float]]:
    """Node name -> centre of its first ellipse, from an SVG drawn by Graphviz."""
    found = re.findall(r'class="node">\s*<title>([^<]+)</title>\s*(?:<[^e][^>]*>\s*)*'
                       r'<ellipse[^>]*cx="([-\d.]+)" cy="([-\d.]+)"', svg)
    return {name: (float(x), float(y)) for name, x, y in found}


def test_network_diagram_keeps_its_pinned_positions(pure):
    drawing = draw_mlp(MLP(3, [4, 4, 1], activation="tanh", seed=0))
    assert drawing.engine == "neato"
    pinned = {name: (float(x), float(y)) for name, x, y in
              re.findall(r'^\s*"?(\w+)"? \[[^\n]*?pos="([-\d.]+),([-\d.]+)!"', drawing.source, re.M)}
    centres = _centres(drawing.pipe(format="svg", encoding="utf-8"))
    shared = sorted(set(pinned) & set(centres))
    assert len(shared) >= 12  # inputs and neurons
    # neato reads pos in inches and draws in points (72 per inch), y pointing up, the whole
    # picture shifted by one offset: the same shift for every node means nothing moved
    first = shared[0]
    for name in shared:
        dx = centres[name][0] - centres[first][0] - 72 * (pinned[name][0] - pinned[first][0])
        dy = centres[name][1] - centres[first][1] + 72 * (pinned[name][1] - pinned[first][1])
        assert abs(dx) < 0.5 and abs(dy) < 0.5, name


def test_backward_frames_reuse_one_layout(pure, tmp_path):
    frames = backward_frames(expression())
    svgs = [f.graph.pipe(format="svg", encoding="utf-8") for f in frames]
    assert len(svgs) == 5 and all(MADE_BY_PURE in s for s in svgs)
    # the -Tjson layout, pinned with nop2: every frame has the same size and the same edges
    view_boxes = {re.search(r'viewBox="([^"]+)"', s).group(1) for s in svgs}
    edges = {tuple(re.findall(r'<path[^>]* d="([^"]+)"', s)) for s in svgs}
    assert len(view_boxes) == 1 and len(edges) == 1 and len(next(iter(edges))) == 6
    assert len({tuple(svg_texts(s)) for s in svgs}) == len(svgs)  # only captions and grads change
    page = animate(frames, tmp_path / "backprop.html").read_text()
    assert page.count("<svg") == len(frames) and MADE_BY_PURE not in page  # comments dropped
    written = save_frames(frames, tmp_path / "frames", format="png")
    assert all(p.read_bytes().startswith(MAGIC["png"]) for p in written)


def test_notebook_display_through_graphviz_pure(pure):
    drawing = draw_dot(expression())
    assert MADE_BY_PURE in drawing._repr_mimebundle_()["image/svg+xml"]
    drawing.notebook_format = "png"
    assert drawing._repr_mimebundle_()["image/png"].startswith(MAGIC["png"])


def test_drawing_render_and_plain_digraphs(pure, tmp_path):
    drawing = draw_dot(expression())
    out = drawing.render(tmp_path / "g", format="svg")
    assert out == str(tmp_path / "g.svg") and MADE_BY_PURE in (tmp_path / "g.svg").read_text()
    assert (tmp_path / "g").read_text() == drawing.source  # the source is saved, as Graphviz does
    out = drawing.render(outfile=tmp_path / "h.png", cleanup=True)
    assert (tmp_path / "h.png").read_bytes().startswith(MAGIC["png"])
    assert not (tmp_path / "h.gv").exists()
    plain = graphviz.Digraph()
    plain.edge("x", "y")
    assert MADE_BY_PURE in render(plain, tmp_path / "plain.svg").read_text()


# --------------------------------------------------------------------------- where it falls short
def test_no_pdf_without_graphviz(pure, tmp_path):
    with pytest.raises(GraphvizNotFoundError) as info:
        render(draw_dot(expression()), tmp_path / "g.pdf")
    first, *rest = str(info.value).splitlines()
    assert "graphviz-pure cannot write 'pdf'" in first and "apt-get install graphviz" in first
    assert not (tmp_path / "g.pdf").exists()


def test_graphviz_pure_errors_are_graphviz_errors(pure):
    with pytest.raises(subprocess.CalledProcessError) as info:
        run_graphviz("digraph { a -> }")
    assert isinstance(info.value, graphviz.CalledProcessError) and info.value.stderr


def test_the_cli_draws_with_graphviz_pure(only_pure_on_path, tmp_path, capsys):
    from tinygrad_mlp.cli import main

    assert main(["graph", "a*b + c", "--set", "a=2", "b=-3", "c=10", "--backward",
                 "-o", str(tmp_path / "g.svg")]) == 0
    assert MADE_BY_PURE in (tmp_path / "g.svg").read_text()
    assert main(["graph", "a*b", "--set", "a=2", "b=-3", "-o", str(tmp_path / "g.pdf")]) == 1
    err = capsys.readouterr().err
    assert "graphviz-pure cannot write 'pdf'" in err and "Traceback" not in err


def _legend_swatch_heights(svg: str) -> set[float]:
    block = re.search(r"<title>legend</title>(.*?)</g>", svg, re.S).group(1)
    heights = set()
    for points in re.findall(r'<polygon fill="#[0-9a-f]{6}"[^>]* points="([^"]+)"', block):
        ys = [float(p.split(",")[1]) for p in points.split()]
        heights.add(round(max(ys) - min(ys), 1))
    return heights


def test_network_legend_swatches_keep_their_heights(pure):
    # graphviz-pure stretches a FIXEDSIZE cell to the height of its row: each bar is drawn in a
    # one-cell table of its own, so it keeps its height
    drawing = draw_mlp(MLP(3, [4, 4, 1], activation="tanh", seed=0))
    heights = _legend_swatch_heights(drawing.pipe(format="svg", encoding="utf-8"))
    assert len(heights) >= 2 and min(heights) <= 4  # thin and thick lines for small and big weights

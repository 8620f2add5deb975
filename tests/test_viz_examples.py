"""examples/lecture_graphs.py writes every kind of picture (and the docs page shows them)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXPECTED = ["expression_before", "expression_after", "expression_unicode_tb", "neuron", "neuron_w0",
            "mlp_graph", "mlp_neurons", "mlp_layers", "deep_color_by_grad", "mlp_color_by_grad",
            "seed_network", "mlp_diagram", "mlp_diagram_dropout", "mlp_diagram_grads",
            "mlp_diagram_chosen", "mlp_diagram_big",
            "tanh_derivative_1", "tanh_derivative_2", "tanh_derivative_3", "tanh_derivative_4"]
# wide graphs also drawn top to bottom, to fit the docs' column of text
TOP_TO_BOTTOM = ["neuron", "neuron_w0", "mlp_layers", "deep_color_by_grad"]
DOCS_COLUMN = 736  # px: the width of the text in the docs (furo's 46em)
MIN_DOCS_TEXT = 7.0  # px: the smallest text of a picture shown in that column
DOCS_PAGE = ROOT / "docs" / "visualization.md"
FIGURE = re.compile(r'<figure class="graph( scroll)?"><a href="_static/graphs/([\w/]+)\.svg"[^>]*>'
                    r'<img src="_static/graphs/([\w/]+)\.svg" alt="[^"]+"></a></figure>')


def smallest_text_in_column(svg: str, column: float = DOCS_COLUMN) -> float:
    """The smallest text of ``svg`` in px, shown at most ``column`` px wide (never enlarged)."""
    width = float(re.search(r'viewBox="[-\d.]+ [-\d.]+ ([\d.]+) ', svg).group(1))  # in pt
    sizes = [float(size) for size, text in
             re.findall(r'<text[^>]*font-size="([\d.]+)"[^>]*>([^<]*)</text>', svg) if text.strip()]
    return min(sizes) * min(4 / 3, column / width)  # 1 pt = 4/3 px at natural size


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_lecture_graphs_writes_every_picture(tmp_path):
    out = tmp_path / "graphs"
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "lecture_graphs.py"), "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for name in EXPECTED + [f"{name}_tb" for name in TOP_TO_BOTTOM]:
        svg = (out / f"{name}.svg").read_text()
        assert svg.lstrip().startswith("<?xml") and "</svg>" in svg, name
    for name in TOP_TO_BOTTOM:  # the variant for the docs really is narrower, and more readable
        assert (smallest_text_in_column((out / f"{name}_tb.svg").read_text())
                > smallest_text_in_column((out / f"{name}.svg").read_text())), name
    # every picture the docs page shows in the column of text is readable there
    for scroll, _, shown in FIGURE.findall(DOCS_PAGE.read_text()):
        if not scroll:
            svg = (out / f"{shown}.svg").read_text()
            assert smallest_text_in_column(svg) >= MIN_DOCS_TEXT, shown
    assert "grad 0.0000" in (out / "expression_before.svg").read_text()
    assert "grad 6.0000" in (out / "expression_after.svg").read_text()
    assert "data 0.7071" in (out / "neuron.svg").read_text()  # tanh(0.8814): micrograd's neuron
    assert "vanishing" in (out / "deep_color_by_grad.svg").read_text()
    dropout = (out / "mlp_diagram_dropout.svg").read_text()  # each layer's activation, dropout marked
    assert "leaky_relu(0.2)" in dropout and "dropout" in dropout and "stroke-dasharray" in dropout
    chosen = (out / "mlp_diagram_chosen.svg").read_text()  # only the two chosen weights labelled
    assert re.findall(r"<title>(w\d+_\d+_\d+)</title>", chosen) == ["w1_3_2", "w2_1_8"]
    for k, nodes in enumerate((7, 10, 24, 56), start=1):  # tanh's derivatives, by order
        svg = (out / f"tanh_derivative_{k}.svg").read_text()
        assert f"{nodes} nodes" in svg and f"{k}" in svg and "derivative" in svg
    page = (out / "backprop.html").read_text()
    assert not re.search(r"https?:", page) and page.count("<svg") == 7
    assert len(list((out / "backprop_frames").glob("frame_*.svg"))) == 7
    printed = result.stdout.split()
    assert len(printed) == len(EXPECTED) + len(TOP_TO_BOTTOM) + 1 + 7


def test_the_docs_page_shows_every_picture():
    page = DOCS_PAGE.read_text()
    for name in EXPECTED:
        assert f"_static/graphs/{name}.svg" in page, name
    assert "_static/graphs/backprop.html" in page


def test_every_docs_picture_links_to_its_full_size_svg():
    page = DOCS_PAGE.read_text()
    assert not re.search(r"!\[[^\n]*\]\(_static/graphs/", page)  # no picture that is not a link
    figures = FIGURE.findall(page)
    linked = re.findall(r'<a href="_static/graphs/([\w/]+)\.svg"><img src="_static/graphs/([\w/]+)\.svg"',
                        page)
    assert page.count("<img ") == len(figures) + len(linked)  # every image is one of the two
    for _, target, shown in figures:
        # the picture itself, or its top-to-bottom variant linking to the left-to-right original
        assert shown in (target, f"{target}_tb"), shown
    assert {shown for _, _, shown in figures} >= {f"{name}_tb" for name in TOP_TO_BOTTOM}
    assert all(target == shown for target, shown in linked)
    for name in {"mlp_graph", "mlp_color_by_grad"}:  # too large for the column: scrolled
        assert (" scroll", name, name) in figures

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
            "seed_network", "mlp_diagram", "mlp_diagram_grads", "mlp_diagram_big",
            "tanh_derivative_1", "tanh_derivative_2", "tanh_derivative_3", "tanh_derivative_4"]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_lecture_graphs_writes_every_picture(tmp_path):
    out = tmp_path / "graphs"
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "lecture_graphs.py"), "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    for name in EXPECTED:
        svg = (out / f"{name}.svg").read_text()
        assert svg.lstrip().startswith("<?xml") and "</svg>" in svg, name
    assert "grad 0.0000" in (out / "expression_before.svg").read_text()
    assert "grad 6.0000" in (out / "expression_after.svg").read_text()
    assert "data 0.7071" in (out / "neuron.svg").read_text()  # tanh(0.8814): micrograd's neuron
    assert "vanishing" in (out / "deep_color_by_grad.svg").read_text()
    for k, nodes in enumerate((7, 10, 24, 56), start=1):  # tanh's derivatives, by order
        svg = (out / f"tanh_derivative_{k}.svg").read_text()
        assert f"{nodes} nodes" in svg and f"{k}" in svg and "derivative" in svg
    page = (out / "backprop.html").read_text()
    assert not re.search(r"https?:", page) and page.count("<svg") == 7
    assert len(list((out / "backprop_frames").glob("frame_*.svg"))) == 7
    printed = result.stdout.split()
    assert len(printed) == len(EXPECTED) + 1 + 7


def test_the_docs_page_shows_every_picture():
    page = (ROOT / "docs" / "visualization.md").read_text()
    for name in EXPECTED:
        assert f"_static/graphs/{name}.svg" in page, name
    assert "_static/graphs/backprop.html" in page

"""The computation graphs fitted to a 1280×720 slide: the smallest text must stay readable.

The figures and the measure are those of ``benchmarks/slide_figures.py``, which prints them.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import slide_figures  # noqa: E402

from tinygrad_mlp.viz import draw_dot  # noqa: E402
from tinygrad_mlp.viz.labels import format_number  # noqa: E402

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")


def test_the_measure_scales_the_smallest_text_to_the_slide():
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 2560 720">'
           '<text font-size="14.00">a</text><text font-size="9.00"> </text>'
           '<text font-size="10.00">b</text></svg>')
    # scaled by min(1280 / 2560, 720 / 720) = 0.5; the empty text does not count
    assert slide_figures.slide_measure(svg) == (5.0, 2560.0, 720.0)


@needs_dot
@pytest.mark.parametrize("name, make, target", slide_figures.FIGURES,
                         ids=[f[0] for f in slide_figures.FIGURES])
def test_slide_figures_reach_their_targets(name, make, target):
    root = make()
    px, width, height = slide_figures.slide_measure(draw_dot(root).pipe(format="svg"))
    assert px >= target, f"{name}: smallest text {px:.1f} px on a slide, target {target} px"


@needs_dot
@pytest.mark.parametrize("name, make, target", slide_figures.FIGURES,
                         ids=[f[0] for f in slide_figures.FIGURES])
def test_slide_figures_still_show_every_data_and_grad(name, make, target):
    root = make()
    shown = slide_figures.svg_texts(draw_dot(root).pipe(format="svg"))
    for n in root.graph():
        if n.role in ("weight", "bias") and n.ndim > 0:
            continue  # a layer's tensor, drawn as its scalar weights
        assert f"data {format_number(n.data)}" in shown, (name, n)
        if n.requires_grad:
            assert f"grad {format_number(n.grad)}" in shown, (name, n)

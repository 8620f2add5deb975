"""The backward animation in headless Chromium: the file, its notebook view, two in one page.

``TINYGRAD_MLP_SCREENSHOTS=folder`` keeps the screenshots (1280×720, fit and actual size) to
look at; otherwise they go to the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tinygrad_mlp import MLP, Value
from tinygrad_mlp.viz import Animation, animate, backward_frames

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")

HIGHLIGHT = "#ff7f00"
SHOWN = ".frame:not([hidden])"


@pytest.fixture(scope="module")
def mlp_frames():
    return backward_frames(MLP(2, [3, 1], seed=0)([0.5, -1.0]))  # 34 steps


def expression_frames():
    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    L = (a * b + c).tanh()
    L.label = "L"
    return backward_frames(L)


def screenshot_folder(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("TINYGRAD_MLP_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def state(frame) -> dict:
    """What the reader sees in one animation: caption, the shown graph, its colours."""
    return frame.evaluate("""(highlight) => {
        const shown = document.querySelectorAll('.frame:not([hidden])');
        const svg = shown.length === 1 ? shown[0].querySelector('svg') : null;
        const box = svg ? svg.getBoundingClientRect() : {width: 0, height: 0};
        const marked = svg ? [...svg.querySelectorAll('g.node, g.edge')].filter(
            g => g.querySelector('[stroke="' + highlight + '"], [fill="' + highlight + '"]'))
            .map(g => g.querySelector('title').textContent) : [];
        const blank = svg ? svg.querySelectorAll('text[fill="#ffffff"]').length : -1;
        return {caption: document.getElementById('caption').textContent, shown: shown.length,
                nodes: svg ? svg.querySelectorAll('g.node').length : 0,
                width: box.width, height: box.height, marked: marked, blank: blank,
                visible: svg ? getComputedStyle(svg).visibility === 'visible' : false};
    }""", HIGHLIGHT)


def test_the_animation_file_renders_and_steps(open_html, tmp_path, mlp_frames):
    page_file = animate(mlp_frames, tmp_path / "backprop.html", interval=60)
    opened = open_html(page_file)
    page = opened.page
    first = state(page)
    assert first["shown"] == 1 and first["visible"] and first["nodes"] > 40
    assert first["width"] > 600 and first["height"] > 200
    assert first["caption"] == mlp_frames[0].caption
    assert page.text_content("#counter") == "1 / 34"

    page.click("#next")
    second = state(page)
    assert second["caption"] == mlp_frames[1].caption
    assert second["marked"] and second["marked"] != first["marked"]  # the orange moved on
    assert second["blank"] < first["blank"]  # one more gradient is known
    page.click("#prev")
    assert state(page)["caption"] == mlp_frames[0].caption
    page.keyboard.press("ArrowRight")
    assert state(page)["caption"] == mlp_frames[1].caption

    page.click("#play")  # 60 ms a frame: it plays to the last one and stops
    page.wait_for_function("document.getElementById('play').textContent === 'play'",
                           timeout=10_000)
    last = state(page)
    assert last["caption"] == mlp_frames[-1].caption and last["blank"] == 0
    opened.assert_clean()


def test_fit_and_actual_size_at_slide_size(open_html, tmp_path, mlp_frames):
    opened = open_html(Animation(mlp_frames).html())
    page, shots = opened.page, screenshot_folder(tmp_path)
    assert page.viewport_size == {"width": 1280, "height": 720}
    stage = "document.getElementById('stage')"
    fitted = state(page)
    # fit: the whole graph inside the window, nothing to scroll
    assert fitted["width"] <= 1280 and fitted["height"] <= 720
    assert page.evaluate(f"{stage}.scrollWidth <= {stage}.clientWidth + 1")
    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight + 1")
    page.screenshot(path=str(shots / "animation_fit.png"))

    page.click("#actual")
    actual = state(page)
    natural = page.evaluate(f"""(() => {{
        const svg = document.querySelector('{SHOWN} svg');
        return parseFloat(svg.getAttribute('width')) * 4 / 3; }})()""")
    assert actual["width"] == pytest.approx(natural, rel=0.01)  # 1 pt = 4/3 px
    assert actual["width"] > 1.5 * fitted["width"]  # the text is readable at this size
    assert page.evaluate(f"{stage}.scrollWidth > {stage}.clientWidth")  # and scrolls
    assert page.get_attribute("#actual", "aria-pressed") == "true"
    page.screenshot(path=str(shots / "animation_actual.png"))
    page.click("#fit")
    assert state(page)["width"] == pytest.approx(fitted["width"], abs=1)
    for name in ("animation_fit.png", "animation_actual.png"):
        assert (shots / name).read_bytes().startswith(b"\x89PNG")
    opened.assert_clean()


def host_page(*outputs: str) -> str:
    """A stand-in for a notebook: its own heading, body style and a ``.frame`` element."""
    cells = "\n".join(f'<div class="output">{out}</div>' for out in outputs)
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><style>body { margin: 12px; }"
            "</style></head><body><h1 id='host-title'>Notebook</h1>"
            "<div class='frame' id='host-frame'>a cell of the notebook</div>" + cells
            + "</body></html>")


def test_two_notebook_views_in_one_page_are_independent(open_html, tmp_path, mlp_frames):
    small = expression_frames()
    alone = open_html(host_page())
    host_style = alone.page.evaluate("""[getComputedStyle(document.body).margin,
        getComputedStyle(document.getElementById('host-title')).fontSize]""")

    opened = open_html(host_page(Animation(mlp_frames)._repr_html_(),
                                 Animation(small, interval=60)._repr_html_()))
    page = opened.page
    # the notebook's own styles and elements are untouched
    assert page.evaluate("""[getComputedStyle(document.body).margin,
        getComputedStyle(document.getElementById('host-title')).fontSize]""") == host_style
    assert page.is_visible("#host-frame")
    assert page.locator("iframe").count() == 2
    one, two = (page.locator("iframe").nth(i).element_handle().content_frame() for i in (0, 1))
    for frame, frames in ((one, mlp_frames), (two, small)):  # both show their own graph
        seen = state(frame)
        assert seen["shown"] == 1 and seen["nodes"] > 5 and seen["width"] > 100
        assert seen["height"] > 50 and seen["caption"] == frames[0].caption

    before_two = state(two)
    one.click("#next")
    one.click("#next")
    assert state(one)["caption"] == mlp_frames[2].caption
    assert state(two) == before_two  # stepping one leaves the other as it was

    two.click("#play")
    two.wait_for_function("document.getElementById('play').textContent === 'play'",
                          timeout=10_000)
    assert state(two)["caption"] == small[-1].caption
    assert state(one)["caption"] == mlp_frames[2].caption  # and playing it too
    page.locator("iframe").nth(0).scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_folder(tmp_path) / "animation_notebook.png"))
    opened.assert_clean()

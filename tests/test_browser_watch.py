"""The training page in headless Chromium: clean, drawn, and the slider changes what is shown."""

from __future__ import annotations

import re

import pytest

from tinygrad_mlp import MLP
from tinygrad_mlp.data import make_moons
from tinygrad_mlp.train import fit
from tinygrad_mlp.watch import Watch

X, Y = make_moons(60, noise=0.1, random_state=0)

# what the page shows: every marked text of the graph, the status line, the arrows' widths
SHOWN = """() => ({
  texts: Array.from(document.querySelectorAll("[data-t]"), e => e.textContent),
  fills: Array.from(document.querySelectorAll("[data-f]"), e => e.getAttribute("fill")),
  widths: Array.from(document.querySelectorAll("[data-e]"), e => e.getAttribute("stroke-width")),
  status: document.getElementById("tg-status").textContent,
  mark: document.getElementById("tg-mark").getAttribute("x1"),
  map: (() => { const c = document.getElementById("tg-canvas");
                return c.getContext("2d").getImageData(0, 0, c.width, c.height).data.join(","); })(),
})"""


def _watched(tmp_path, name: str = "training.html", hidden=(4, 1), seed: int = 0) -> Watch:
    w = Watch(tmp_path / name)
    fit(MLP(2, list(hidden), seed=seed), X, Y, loss="hinge", epochs=4, batch_size=15,
        validation_split=0.25, seed=seed, progress=False, watch=w)
    return w


def _slide(frame, value: int) -> None:
    frame.locator("#tg-slider").evaluate(
        "(s, v) => { s.value = v; s.dispatchEvent(new Event('input')); }", value)


@pytest.mark.parametrize("hidden", [(4, 1), (16, 16, 1)], ids=["full graph", "by neuron"])
def test_the_page_loads_clean_shows_its_drawings_and_the_slider_changes_them(
        open_html, tmp_path, hidden):
    w = _watched(tmp_path, hidden=hidden)
    opened = open_html(w.path)
    page = opened.page
    for selector in ("#tg-graphbox svg", ".tg-net svg", "#tg-canvas", "svg[aria-label='loss curve']"):
        box = page.locator(selector).first.bounding_box()
        assert box and box["width"] > 50 and box["height"] > 2, selector
    first = page.evaluate(SHOWN)
    assert first["status"].startswith("step 1 of ")
    # every marked text is a value line ("data 0.1234", "grad -0.5"), none left blank
    assert first["texts"] and all(re.fullmatch(r"(data|grad) \S+", t) for t in first["texts"])
    assert {t.split()[0] for t in first["texts"]} == {"data", "grad"}
    assert len(set(first["map"].split(","))) > 2  # the regions are painted
    last_index = int(page.locator("#tg-slider").get_attribute("max"))
    _slide(page, last_index)
    last = page.evaluate(SHOWN)
    assert "(the last update)" in last["status"]
    changed = [a != b for a, b in zip(first["texts"], last["texts"])]
    assert sum(changed) >= len(changed) // 2  # data and grads moved
    assert any(a.startswith("data ") and a != b for a, b in zip(first["texts"], last["texts"]))
    assert any(a.startswith("grad ") and a != b for a, b in zip(first["texts"], last["texts"]))
    assert first["widths"] != last["widths"] and first["mark"] != last["mark"]
    assert first["map"] != last["map"]
    page.click("#tg-prev")
    assert page.evaluate(SHOWN)["status"].startswith(f"step {w.recording.frames[-2].step} of ")
    page.click("#tg-play")
    page.wait_for_timeout(700)
    assert page.locator("#tg-play").text_content() in ("pause", "play")
    opened.assert_clean()


def test_the_loss_shown_is_the_recorded_one(open_html, tmp_path):
    w = _watched(tmp_path)
    opened = open_html(w.path)
    _slide(opened.page, 3)
    frame = w.recording.frames[3]
    status = opened.page.evaluate(SHOWN)["status"]
    assert f"step {frame.step} of " in status and f"batch loss {frame.loss:.4f}" in status
    opened.assert_clean()


def test_two_pages_in_one_notebook_work_independently(open_html, tmp_path):
    a = _watched(tmp_path, "a.html", seed=0)
    b = _watched(tmp_path, "b.html", hidden=(3, 1), seed=1)
    notebook = ("<!DOCTYPE html><html><head><meta charset='utf-8'><style>h1 {color: green}"
                "</style></head><body><h1 id=title>notebook</h1>"
                f"{a._repr_html_()}<p>between</p>{b._repr_html_()}</body></html>")
    opened = open_html(notebook, viewport=(1280, 1800))
    page = opened.page
    page.wait_for_timeout(300)
    frames = [f for f in page.frames if f is not page.main_frame]
    assert len(frames) == 2
    before = [f.evaluate(SHOWN) for f in frames]
    assert all(s["status"].startswith("step 1 of ") for s in before)
    assert before[0]["texts"] != before[1]["texts"]  # two different runs
    _slide(frames[1], 5)
    after = [f.evaluate(SHOWN) for f in frames]
    assert after[0] == before[0]  # the first did not move
    assert after[1]["texts"] != before[1]["texts"]
    assert after[1]["status"].startswith(f"step {b.recording.frames[5].step} of ")
    frames[0].click("#tg-next")
    assert frames[0].evaluate(SHOWN)["status"].startswith(f"step {a.recording.frames[1].step} ")
    assert frames[1].evaluate(SHOWN) == after[1]
    # the pages' styles stay inside their iframes
    assert page.evaluate("getComputedStyle(document.getElementById('title')).color") \
        == "rgb(0, 128, 0)"
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != "system-ui, sans-serif"
    opened.assert_clean()


FITS = """() => {
  const box = document.getElementById("tg-graphbox"), svg = box.querySelector("svg");
  const b = box.getBoundingClientRect(), g = svg.getBoundingClientRect();
  const c = document.getElementById("tg-controls").getBoundingClientRect();
  return {box: [b.left, b.top, b.right, b.bottom], svg: [g.left, g.top, g.right, g.bottom],
          controls: c.height, scroll: [box.scrollWidth, box.scrollHeight],
          client: [box.clientWidth, box.clientHeight]};
}"""


def test_the_fitted_graph_fits_the_window_both_ways_and_actual_size_scrolls(open_html, tmp_path):
    # the demo's model, collapsed to neurons: a tall graph (16 neurons a layer)
    w = _watched(tmp_path, hidden=(16, 16, 1))
    opened = open_html(w.path, viewport=(1280, 720))
    page = opened.page
    page.locator("#tg-graphbox").evaluate("b => b.scrollIntoView({block: 'end'})")
    fit = page.evaluate(FITS)
    left, top, right, bottom = fit["svg"]
    assert right - left > 100 and bottom - top > 100  # drawn, not shrunk to nothing
    # the whole graph inside its box, nothing to scroll, and the box below the sticky controls
    # fits the window's height: every neuron is on screen at once
    bl, bt, br, bb = fit["box"]
    assert bl - 1 <= left and right <= br + 1 and bt - 1 <= top and bottom <= bb + 1, fit
    assert fit["scroll"][0] <= fit["client"][0] + 1 and fit["scroll"][1] <= fit["client"][1] + 1
    assert bottom - top <= 720 - fit["controls"], fit
    assert right <= 1280
    page.screenshot(path=str(tmp_path / "fit.png"))
    page.click("#tg-size")
    assert page.locator("#tg-size").text_content() == "fit"
    actual = page.evaluate(FITS)
    # actual size: bigger than the window, the box scrolls to show the rest
    assert actual["svg"][3] - actual["svg"][1] > 720
    assert actual["scroll"][1] > actual["client"][1]
    ab = actual["box"]
    assert ab[3] - ab[1] <= 720 and ab[2] <= 1280  # the box itself stays in the window
    page.click("#tg-size")
    assert page.evaluate(FITS)["svg"] == fit["svg"]  # and back
    opened.assert_clean()

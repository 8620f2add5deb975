"""The backward pass as a page to step through: a file of its own, or inline in a notebook.

:class:`Animation` holds the frames of :func:`~tinygrad_mlp.viz.backward_frames` and writes
them as one self-contained HTML page (inline SVG, a slider, a play button, a "fit" and an
"actual size" view); in Jupyter it shows itself, isolated in a sandboxed iframe so that several
animations in one notebook never see each other.  :func:`animate` writes the page to a file.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Sequence
from pathlib import Path

from tinygrad_mlp.files import write_atomic
from tinygrad_mlp.viz import labels
from tinygrad_mlp.viz.colors import HIGHLIGHT_COLOR
from tinygrad_mlp.viz.frames import Frame
from tinygrad_mlp.viz.html import isolated_html

__all__ = ["Animation", "animate"]

_PROLOG = re.compile(r"<\?xml.*?\?>|<!DOCTYPE.*?>|<!--.*?-->", re.S)
_NAMESPACES = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')
_IDS = re.compile(r'\b(id="|href="#|url\(#)')
_GRAPH_OPEN = re.compile(r'<g id="f\d+-graph0"[^>]*>')
_FIRST_DRAWN = re.compile(r'<g\b[^>]*\bclass="(?:node|edge|cluster)"')
_TEXT = re.compile(r"<text\b[^>]*>.*?</text>\s*", re.S)
_HEIGHT = re.compile(r'<svg[^>]*\bheight="([\d.]+)pt"')


def _inline_svg(svg: str, k: int) -> str:
    """Frame ``k``'s SVG ready to sit in a page beside the others.

    Inline SVG in HTML needs no XML prolog, doctype or namespace URLs (dropping them leaves
    the page without a single external reference); every id gets the frame's prefix, so the
    page's ids are all different; and the caption drawn on top of the graph is left out,
    since the page shows it once, above the picture.
    """
    svg = _NAMESPACES.sub("", _PROLOG.sub("", svg)).strip()
    svg = _IDS.sub(lambda m: f"{m.group(1)}f{k}-", svg)
    opened = _GRAPH_OPEN.search(svg)
    if opened:  # the graph's own label: the texts before its first node, edge or cluster
        rest = _FIRST_DRAWN.search(svg, opened.end())
        end = rest.start() if rest else len(svg)
        svg = svg[: opened.end()] + _TEXT.sub("", svg[opened.end(): end]) + svg[end:]
    return svg


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
html, body {{ height: 100%; margin: 0; }}
body {{ font-family: system-ui, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #222;
  display: flex; flex-direction: column; box-sizing: border-box; padding: .5em .8em; }}
header {{ flex: none; }}
h1 {{ font-size: 1.15em; margin: 0 0 .35em; }}
.controls {{ display: flex; flex-wrap: wrap; gap: .45em; align-items: center; }}
.controls button {{ font: inherit; padding: .15em .6em; min-width: 2.4em; }}
.controls input[type=range] {{ flex: 1; min-width: 8em; max-width: 28em; }}
.counter {{ font-variant-numeric: tabular-nums; min-width: 4.5em; }}
.view {{ margin-left: auto; display: flex; gap: .25em; }}
.view button[aria-pressed=true] {{ background: #333; color: #fff; border-color: #333; }}
.caption {{ font-size: 1.35em; font-weight: 600; margin: .3em 0 .15em; min-height: 1.35em; }}
.legend {{ font-size: .9em; color: #444; margin: 0 0 .35em; }}
.swatch {{ display: inline-block; width: 1.4em; height: .8em; border: 3px solid {highlight};
  border-radius: 2px; vertical-align: middle; margin-right: .2em; }}
.stage {{ flex: 1; min-height: 120px; overflow: auto; border-top: 1px solid #ddd; }}
.stage.fit {{ overflow: hidden; }}
.stage.fit .frame:not([hidden]), .stage.fit .frame svg {{ display: block; width: 100%; height: 100%; }}
.frame[hidden] {{ display: none; }}
</style>
</head>
<body>
<header>
<h1>{title}</h1>
<div class="controls">
<button type="button" id="prev" title="previous step (left arrow)" aria-label="previous step">&#9664;</button>
<button type="button" id="play" title="play / pause (space)">play</button>
<button type="button" id="next" title="next step (right arrow)" aria-label="next step">&#9654;</button>
<input id="slider" type="range" min="0" max="{last}" value="0" step="1" aria-label="step">
<span class="counter" id="counter"></span>
<span class="view" role="group" aria-label="view">
<button type="button" id="fit" aria-pressed="true" title="the whole graph in the window">fit</button>
<button type="button" id="actual" aria-pressed="false"
 title="the graph at its own size; scroll to move around">actual size</button>
</span>
</div>
<p class="caption" id="caption" aria-live="polite"></p>
<p class="legend"><span class="swatch"></span><strong>orange</strong>: the node whose
gradient was just completed, and the arrows along which that gradient flows next, back to
the node's operands (the chain rule). A gradient not computed yet is left blank.</p>
</header>
<main class="stage fit" id="stage">
{frames}
</main>
<script>
(function () {{
  var frames = document.querySelectorAll(".frame");
  function el(id) {{ return document.getElementById(id); }}
  var slider = el("slider"), caption = el("caption"), counter = el("counter"), play = el("play");
  var stage = el("stage"), fit = el("fit"), actual = el("actual");
  var timer = null, current = 0;
  function show(k) {{
    current = Math.max(0, Math.min(frames.length - 1, k));
    for (var i = 0; i < frames.length; i++) frames[i].hidden = (i !== current);
    slider.value = current;
    caption.textContent = frames[current].getAttribute("data-caption");
    counter.textContent = (current + 1) + " / " + frames.length;
  }}
  function stop() {{ clearInterval(timer); timer = null; play.textContent = "play"; }}
  function toggle() {{
    if (timer) {{ stop(); return; }}
    if (current === frames.length - 1) show(0);
    play.textContent = "pause";
    timer = setInterval(function () {{
      if (current >= frames.length - 1) {{ stop(); return; }}
      show(current + 1);
    }}, {interval});
  }}
  function view(fitted) {{
    stage.className = fitted ? "stage fit" : "stage actual";
    fit.setAttribute("aria-pressed", String(fitted));
    actual.setAttribute("aria-pressed", String(!fitted));
  }}
  slider.addEventListener("input", function () {{ stop(); show(parseInt(slider.value, 10)); }});
  play.addEventListener("click", toggle);
  el("prev").addEventListener("click", function () {{ stop(); show(current - 1); }});
  el("next").addEventListener("click", function () {{ stop(); show(current + 1); }});
  fit.addEventListener("click", function () {{ view(true); }});
  actual.addEventListener("click", function () {{ view(false); }});
  document.addEventListener("keydown", function (e) {{
    if (e.target && e.target.tagName === "INPUT" && e.key !== " ") return;
    if (e.key === "ArrowLeft") {{ e.preventDefault(); stop(); show(current - 1); }}
    else if (e.key === "ArrowRight") {{ e.preventDefault(); stop(); show(current + 1); }}
    else if (e.key === " ") {{ e.preventDefault(); toggle(); }}
  }});
  show(0);
}})();
</script>
</body>
</html>
"""

_CONTROLS_PX = 170  # the title, controls, caption and legend above the picture, in pixels
_NOTEBOOK_PX = (320, 720)  # the notebook view's height: at least, at most


class Animation:
    """The backward pass to step through: a page of its own, or inline in Jupyter.

    ``frames`` come from :func:`~tinygrad_mlp.viz.backward_frames`; ``interval`` is the time
    per frame in milliseconds when playing.  :meth:`html` is the page (no network access
    needed: no scripts or styles from elsewhere), :meth:`save` writes it; a notebook shows it
    in a sandboxed iframe of its own, so several animations in one notebook work on their own.
    The page steps with ◀ ▶ (or the arrow keys) and plays with the space bar; "fit" shows the
    whole graph in the window, "actual size" shows it at its own size with scroll bars.

    >>> from tinygrad_mlp import Value
    >>> from tinygrad_mlp.viz import backward_frames
    >>> anim = Animation(backward_frames(Value(2.0, label="a") * 3), title="a times 3")
    >>> len(anim), "<iframe" in anim._repr_html_(), "http" in anim.html()
    (2, True, False)
    """

    def __init__(self, frames: Sequence[Frame], *, title: str = "Backpropagation, step by step",
                 interval: int = 900) -> None:
        frames = list(frames)
        if not frames:
            raise ValueError("an animation needs at least one frame")
        bad = [f for f in frames if not isinstance(f, Frame)]
        if bad:
            raise TypeError(f"an animation takes Frames from backward_frames, got "
                            f"{type(bad[0]).__name__}")
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ValueError(f"interval must be a whole number of milliseconds, got {interval!r}")
        self.frames = frames
        self.title = title
        self.interval = interval
        self._svgs: list[str] | None = None

    def __len__(self) -> int:
        return len(self.frames)

    def _svg_frames(self) -> list[str]:
        if self._svgs is None:  # Graphviz runs once per frame, however often the page is made
            self._svgs = [_inline_svg(f.graph.pipe(format="svg", encoding="utf-8"), k)
                          for k, f in enumerate(self.frames)]
        return self._svgs

    def html(self) -> str:
        """The whole page, as one string."""
        parts = []
        for k, (f, svg) in enumerate(zip(self.frames, self._svg_frames())):
            hidden = "" if k == 0 else " hidden"
            # a Frame made by hand may hold any caption: made safe like every label
            caption = html.escape(labels.safe_text(f.caption))
            parts.append(f'<div class="frame" data-caption="{caption}"{hidden}>\n{svg}\n</div>')
        return _PAGE.format(title=html.escape(labels.safe_text(self.title)), last=len(parts) - 1,
                            frames="\n".join(parts), interval=self.interval,
                            highlight=HIGHLIGHT_COLOR)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the page to ``path`` (its folder is made if missing); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, self.html())
        return path

    def _repr_html_(self) -> str:
        found = _HEIGHT.search(self._svg_frames()[0])
        graph_px = float(found.group(1)) * 4 / 3 if found else 400.0
        low, high = _NOTEBOOK_PX
        height = int(min(max(graph_px + _CONTROLS_PX, low), high))
        return isolated_html(self.html(), height=height, title=labels.safe_text(self.title),
                             id_prefix="tinygrad-mlp-animation")


def animate(frames: Sequence[Frame], path: str | os.PathLike, *, interval: int = 900,
            title: str = "Backpropagation, step by step") -> Path:
    """Write one self-contained HTML file: the frames as inline SVG, a slider and a play button.

    The page needs no network access (no scripts or styles from elsewhere); arrow keys step,
    the space bar plays and pauses; "fit" and "actual size" switch the view.  ``interval`` is
    the time per frame in milliseconds.  In a notebook, show ``Animation(frames)`` instead.

    >>> import tempfile, pathlib
    >>> from tinygrad_mlp import Value
    >>> from tinygrad_mlp.viz import backward_frames
    >>> out = animate(backward_frames(Value(2.0) * 3), pathlib.Path(tempfile.mkdtemp()) / "a.html")
    >>> "http" in out.read_text()
    False
    """
    return Animation(frames, title=title, interval=interval).save(path)

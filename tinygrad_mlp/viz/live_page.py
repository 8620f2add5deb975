"""The training page's template, style and script (plain HTML, CSS and JavaScript).

The script reads the page's JSON data and, for the chosen step, sets the marked texts
(``data-t``), the boxes' colours (``data-f``), the arrows' colours and widths (``data-e``), the
decision regions (one byte a cell on a canvas) and the loss curve's marker.  It lays nothing
out and computes no gradient: Graphviz and the recording did that in Python.
"""

from __future__ import annotations

__all__ = ["PAGE", "EMPTY_PAGE", "STYLE", "SCRIPT"]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0.8em 1em; color: #222; }
h1 { font-size: 1.25em; margin: 0 0 0.2em 0; }
h2 { font-size: 0.95em; margin: 0 0 0.3em 0; }
.tg-meta, .tg-note, .tg-cap { color: #555; font-size: 0.85em; margin: 0.15em 0; }
.tg-stop { color: #b2182b; font-weight: bold; font-size: 0.9em; margin: 0.15em 0; }
#tg-controls { display: flex; gap: 0.5em; align-items: center; margin: 0.4em 0;
  position: sticky; top: 0; background: white; padding: 0.3em 0; z-index: 2; }
#tg-controls button { font-size: 1em; min-width: 2.4em; }
#tg-slider { flex: 1; max-width: 32em; }
#tg-status { font-family: ui-monospace, monospace; font-size: 0.9em; }
.tg-panels { display: flex; flex-wrap: wrap; gap: 0.8em; align-items: flex-start; }
.tg-column { display: flex; flex-direction: column; gap: 0.8em; width: 480px; }
.tg-panel { border: 1px solid #e3e3e3; border-radius: 6px; padding: 0.5em; }
.tg-column svg { max-width: 100%; height: auto; }
.tg-graph { flex: 1; min-width: 360px; }
#tg-graphbox { overflow: auto; max-height: calc(100vh - 5em); }
.tg-fit svg { display: block; margin: 0 auto; width: auto; height: auto; max-width: 100%;
  max-height: calc(100vh - 5.5em); }
.tg-map { position: relative; }
.tg-map canvas, .tg-map svg { position: absolute; left: 0; top: 0; width: 100%; height: 100%; }
"""

SCRIPT = """
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("tg-data").textContent);
  var n = D.step.length, cur = 0, timer = null;
  function el(id) { return document.getElementById(id); }
  var slider = el("tg-slider"), play = el("tg-play"), status = el("tg-status");
  function marked(attr) {
    var out = [];
    document.querySelectorAll("[" + attr + "]").forEach(function (e) {
      out[+e.getAttribute(attr)] = e;
    });
    return out;
  }
  function inverse(list) {
    var m = {};
    (list || []).forEach(function (f, i) { m[f] = i; });
    return m;
  }
  var texts = marked("data-t"), fills = marked("data-f"), edges = marked("data-e");
  var gi = inverse(D.graph && D.graph.frames), ni = inverse(D.net && D.net.frames);
  function num(v) {
    if (v === null) return "nan";
    var big = Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3);
    return big ? v.toExponential(3) : v.toFixed(4);
  }
  function showGraph(k) {
    var g = gi[k];
    if (g === undefined) return;
    var t = D.graph.text[g], f = D.graph.fill[g];
    for (var i = 0; i < texts.length; i++) texts[i].textContent = t[i];
    for (var j = 0; j < fills.length; j++) {
      var c = D.graph.pal[f[j]].split("|");
      fills[j].setAttribute("fill", c[0]);
      fills[j].parentNode.querySelectorAll("text").forEach(function (e) { e.setAttribute("fill", c[1]); });
    }
  }
  function showNet(k) {
    var g = ni[k];
    if (g === undefined) return;
    var col = D.net.col[g], w = D.net.w[g];
    for (var i = 0; i < edges.length; i++) {
      var c = D.net.pal[col[i]];
      edges[i].setAttribute("stroke", c);
      edges[i].setAttribute("stroke-width", (w[i] / 100).toFixed(2));
      edges[i].parentNode.querySelectorAll("polygon").forEach(function (p) {
        p.setAttribute("fill", c); p.setAttribute("stroke", c);
      });
    }
  }
  var canvas = el("tg-canvas"), ctx = canvas && canvas.getContext("2d");
  var CLASS = [[33, 102, 172], [178, 24, 43], [27, 158, 119], [117, 112, 179], [231, 41, 138],
               [102, 166, 30], [230, 171, 2]];
  function showMap(k) {
    if (!ctx || !D.map || !D.map.cells[k]) return;
    var s = atob(D.map.cells[k]), img = ctx.createImageData(D.map.n, D.map.n);
    for (var i = 0; i < s.length; i++) {
      var v = s.charCodeAt(i), c, a;
      if (D.map.kind === "score") {
        c = CLASS[v >= 128 ? 1 : 0];
        a = 0.18 + 0.5 * (v >= 128 ? v - 128 : 127 - v) / 127;
      } else { c = CLASS[v % CLASS.length]; a = 0.4; }
      img.data[4 * i] = Math.round(255 + (c[0] - 255) * a);
      img.data[4 * i + 1] = Math.round(255 + (c[1] - 255) * a);
      img.data[4 * i + 2] = Math.round(255 + (c[2] - 255) * a);
      img.data[4 * i + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
  }
  function show(k) {
    cur = Math.max(0, Math.min(n - 1, k));
    slider.value = cur;
    showGraph(cur); showNet(cur); showMap(cur);
    var x = D.mark[cur];
    el("tg-mark").setAttribute("x1", x); el("tg-mark").setAttribute("x2", x);
    el("tg-clip").setAttribute("width", x);
    var where = D.final[cur]
      ? "after step " + D.step[cur] + " of " + D.total + " (the last update), epoch " + D.epoch[cur]
      : "step " + D.step[cur] + " of " + D.total + " \\u00b7 epoch " + D.epoch[cur] +
        ", batch " + D.batch[cur] + " \\u00b7 batch loss " + num(D.loss[cur]);
    status.textContent = where + " \\u00b7 sample loss " + num(D.sloss[cur]);
    if (D.final[cur] && D.stopped) status.textContent += " \\u00b7 stopped here";
  }
  function stop() { clearInterval(timer); timer = null; play.textContent = "play"; }
  function toggle() {
    if (timer) { stop(); return; }
    if (cur === n - 1) show(0);
    play.textContent = "pause";
    timer = setInterval(function () { if (cur >= n - 1) stop(); else show(cur + 1); }, 300);
  }
  slider.addEventListener("input", function () { stop(); show(parseInt(slider.value, 10)); });
  play.addEventListener("click", toggle);
  el("tg-prev").addEventListener("click", function () { stop(); show(cur - 1); });
  el("tg-next").addEventListener("click", function () { stop(); show(cur + 1); });
  var size = el("tg-size"), box = el("tg-graphbox");
  if (size) size.addEventListener("click", function () {
    var fit = box.className === "tg-fit";
    box.className = fit ? "" : "tg-fit";
    size.textContent = fit ? "fit" : "actual size";
  });
  document.addEventListener("keydown", function (e) {
    if (e.target === slider) return;
    if (e.key === "ArrowLeft") { stop(); show(cur - 1); }
    else if (e.key === "ArrowRight") { stop(); show(cur + 1); }
    else if (e.key === " ") { e.preventDefault(); toggle(); }
  });
  show(0);
})();
"""

# the top of both pages: title, style and the model's line
_TOP = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<h1>{title}</h1>
<p class="tg-meta">{model}</p>
"""

PAGE = _TOP + """{notes}
<div id="tg-controls">
<button id="tg-prev" type="button" title="previous step (left arrow)">&#9664;</button>
<button id="tg-play" type="button" title="play / pause (space)">play</button>
<button id="tg-next" type="button" title="next step (right arrow)">&#9654;</button>
<input id="tg-slider" type="range" min="0" max="{last}" value="0" step="1"
 aria-label="recorded step">
<span id="tg-status"></span>
</div>
<div class="tg-panels">
<div class="tg-column">
<section class="tg-panel"><h2>Loss</h2>{curve}</section>
{boundary}
{network}
</div>
{graph}
</div>
<script type="application/json" id="tg-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""

# a run that took no step (``epochs=0``): nothing to replay, and the page says so
EMPTY_PAGE = _TOP + """<p class="tg-stop" id="tg-empty">{message}</p>
{notes}
</body>
</html>
"""

"""backward_frames, save_frames, animate: the backward pass step by step."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tinygrad_mlp import MLP, Layer, Value
from tinygrad_mlp.viz import Animation, GraphTooLargeError, animate, backward_frames, save_frames
from tinygrad_mlp.viz import frames as frames_module

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
SVG = "{http://www.w3.org/2000/svg}"


def expression() -> Value:
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c, f = Value(10.0, label="c"), Value(-2.0, label="f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    L = d * f
    L.label = "L"
    return L


def grads(root: Value) -> list:
    return [np.array(n.grad, copy=True) for n in root.graph()]


def node_places(svg: bytes) -> dict[str, list]:
    """Node title -> where its texts are drawn (what would move if the layout changed)."""
    out = {}
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        if g.get("class") == "node":
            out[g.find(f"{SVG}title").text] = [(t.get("x"), t.get("y"), t.text)
                                               for t in g.iter(f"{SVG}text")]
    return out


def edge_paths(svg: bytes) -> list[str]:
    return [p.get("d") for p in ET.fromstring(svg).iter(f"{SVG}path")]


def test_one_frame_per_node_in_reverse_topological_order():
    L = expression()
    frames = backward_frames(L)
    nodes = L.graph()
    assert len(frames) == len(nodes) == 7
    assert [f.node for f in frames][0] is L
    seen = set()
    for f in frames:  # every consumer of a node comes before it
        seen.add(f.node)
        for p in f.node.parents:
            assert p not in seen
    assert {f.node for f in frames} == set(nodes)
    assert frames[0].caption == "step 1/7: ∂L/∂L = 1.0000"
    # steps count from 1, as the captions do
    assert [f.step for f in frames] == list(range(1, 8)) and frames[-1].total == 7
    assert all(f.caption.startswith(f"step {f.step}/7: ") for f in frames)
    captions = {f.node.label: f.caption for f in frames}
    assert captions["a"].endswith("∂L/∂a = 6.0000") and captions["f"].endswith("∂L/∂f = 4.0000")


def test_constants_get_no_frame():
    x = Value(3.0, label="x")
    y = x * 2 + 1  # two constants
    assert len(backward_frames(y)) == len(y.graph()) - 2


def test_frames_do_not_change_the_graphs_gradients():
    L = expression()
    before = grads(L)
    backward_frames(L)
    assert all(np.array_equal(a, b) for a, b in zip(before, grads(L)))  # still all zero
    L.backward()
    after_backward = grads(L)
    backward_frames(L)
    backward_frames(L)
    assert all(np.array_equal(a, b) for a, b in zip(after_backward, grads(L)))
    # and the next backward() accumulates from the same place as without frames
    L.backward()
    a = next(n for n in L.graph() if n.label == "a")
    assert a.grad == 12.0


def test_frames_of_a_tensor_graph_keep_array_gradients():
    layer = Layer(2, 3, seed=0)
    out = layer(np.ones((4, 2))).sum()
    out.backward()
    W_grad = layer.W.grad.copy()
    frames = backward_frames(out)
    assert np.array_equal(layer.W.grad, W_grad)
    assert len(frames) == sum(1 for n in out.graph() if n.requires_grad)


def test_nodes_keep_their_positions_and_the_current_node_is_highlighted():
    L = expression()
    frames = backward_frames(L)
    svgs = [f.graph.pipe(format="svg") for f in frames]
    first, paths = node_places(svgs[0]), edge_paths(svgs[0])
    assert len(first) == 7 + 3 and len(paths) == 3 + 6  # values and ops; edges
    for svg in svgs[1:]:
        assert node_places(svg) == first
        assert edge_paths(svg) == paths
    ids = {n: f"v{i}" for i, n in enumerate(L.graph())}
    for f, svg in zip(frames, svgs):
        root = ET.fromstring(svg)
        highlighted = [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g")
                       if g.get("class") == "node" and any(
                           el.get("stroke") == "#ff7f00" for el in g.iter())]
        assert ids[f.node] in highlighted
        assert f.caption in [t.text for t in root.iter(f"{SVG}text")]


def test_unknown_gradients_are_painted_in_the_background_color():
    L = expression()
    frames = backward_frames(L)

    def color_of(svg: bytes, text: str) -> str | None:
        for t in ET.fromstring(svg).iter(f"{SVG}text"):
            if t.text == text:
                return t.get("fill")
        raise AssertionError(f"{text!r} not in the frame")

    # a's gradient 6.0 is known from a's own frame on, one of the last
    k = next(i for i, f in enumerate(frames) if f.node.label == "a")
    assert k >= len(frames) - 2
    assert color_of(frames[0].graph.pipe(format="svg"), "6.0000") == "#ffffff"
    assert color_of(frames[k - 1].graph.pipe(format="svg"), "6.0000") == "#ffffff"
    assert color_of(frames[k].graph.pipe(format="svg"), "6.0000") != "#ffffff"


def test_model_graph_frames_with_color_and_notation():
    y = MLP(2, [2, 1], activation="tanh", seed=0)([1.0, -1.0])
    frames = backward_frames(y, color_by_grad=True, notation="unicode")
    assert len(frames) == sum(1 for n in y.graph() if n.requires_grad
                              and not n.ndim)  # the tensors W, b are not drawn
    assert frames[-1].caption.startswith(f"step {len(frames)}/{len(frames)}: ∂z⁽²⁾₁/∂")


def test_save_frames_writes_numbered_svgs(tmp_path):
    frames = backward_frames(expression())
    paths = save_frames(frames, tmp_path / "steps")
    # as the docstring says: three digits, so that the files sort in order
    assert [p.name for p in paths] == [f"frame_00{k}.svg" for k in range(1, 8)]
    for p in paths:
        assert ET.fromstring(p.read_bytes()).tag == f"{SVG}svg"


def test_animate_writes_one_self_contained_page(tmp_path):
    frames = backward_frames(expression())
    path = animate(frames, tmp_path / "anim.html", title="<Backprop> & more")
    page = path.read_text(encoding="utf-8")
    assert not re.search(r"https?:", page)  # nothing to fetch: no CDN, no namespace URL
    assert "<script src" not in page and "<link" not in page
    assert page.count("<svg") == len(frames)
    assert 'type="range"' in page and f'max="{len(frames) - 1}"' in page
    assert 'id="play"' in page
    assert "&lt;Backprop&gt; &amp; more" in page
    assert "step 1/7: ∂L/∂L = 1.0000" in page


def test_bad_roots_and_too_many_frames(monkeypatch):
    with pytest.raises(ValueError, match="requires a gradient"):
        backward_frames(Value(1.0, requires_grad=False) * 2)
    with pytest.raises(TypeError):
        backward_frames([expression()])
    monkeypatch.setattr(frames_module, "MAX_FRAMES", 3)
    with pytest.raises(GraphTooLargeError, match="force=True"):
        backward_frames(expression())
    assert len(backward_frames(expression(), force=True)) == 7
    with pytest.raises(ValueError, match="at least one frame"):
        animate([], "unused.html")


@pytest.mark.parametrize("label", ["x" * 20_000, "a\ud800b", "line\nbreak\x07bell\ttab"],
                         ids=["long", "surrogate", "control"])
def test_hostile_labels_make_safe_frames_captions_and_pages(tmp_path, label):
    a = Value(2.0, label=label)
    b = Value(-3.0, label="b")
    L = a * b
    L.label = label
    frames = backward_frames(L)
    for f in frames:
        assert f.caption.isprintable(), repr(f.caption)  # no control characters, no surrogate
        f.caption.encode("utf-8")
        assert len(f.caption) < 300 and f.caption.endswith(("= 1.0000", "= -3.0000", "= 2.0000"))
    page = animate(frames, tmp_path / "steps.html", title=label).read_text(encoding="utf-8")
    assert page.count("<svg") == len(frames) == 3
    # a Frame made by hand with a raw caption is written safely too
    frames[0].caption = label
    animate(frames, tmp_path / "by_hand.html").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- captions
def mlp_output() -> Value:
    return MLP(2, [3, 1], seed=0)([0.5, -1.0])


def derivative(caption: str) -> str:
    """``∂z/∂(w·a)`` of ``step 2/34: ∂z/∂(w·a) = 1.0000``."""
    return caption.split(": ", 1)[1].rsplit(" = ", 1)[0]


def test_no_two_steps_have_the_same_caption():
    frames = backward_frames(mlp_output())
    assert len(frames) == 34
    names = [derivative(f.caption) for f in frames]
    assert len(set(names)) == len(names), [n for n in names if names.count(n) > 1]
    assert not any("(*)" in n or "(+)" in n for n in names)


def test_intermediate_nodes_are_named_by_their_operation_and_operands():
    names = {derivative(f.caption) for f in backward_frames(mlp_output())}
    assert "∂z⁽²⁾₁/∂(w⁽²⁾₁₃·a⁽¹⁾₃)" in names  # a product
    assert "∂z⁽²⁾₁/∂(b⁽¹⁾₁ + w⁽¹⁾₁₁·x₁)" in names  # a partial sum
    assert "∂z⁽²⁾₁/∂(b⁽²⁾₁ + w⁽²⁾₁₁·a⁽¹⁾₁ + w⁽²⁾₁₂·a⁽¹⁾₂)" in names
    a = Value(2.0, label="a")
    L = (a * 3 - 1).tanh() ** 2
    assert [derivative(f.caption) for f in backward_frames(L)] == [
        "∂L/∂L", "∂L/∂(tanh(a·3 - 1))", "∂L/∂(a·3 - 1)", "∂L/∂(a·3)", "∂L/∂a"]


def test_same_expressions_and_calls_are_told_apart():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    L = a * b + a * b
    names = [derivative(f.caption) for f in backward_frames(L)]
    assert names.count("∂L/∂(a·b)") == 1 and "∂L/∂(a·b) #2" in names
    model = MLP(2, [2, 1], seed=0)
    loss = sum((model(x) - t) ** 2 for x, t in [([1.0, 2.0], 1.0), ([0.5, -1.0], -1.0)])
    names = [derivative(f.caption) for f in backward_frames(loss)]
    assert len(set(names)) == len(names)
    assert "∂L/∂z⁽¹⁾₂ (call 1)" in names and "∂L/∂z⁽¹⁾₂ (call 2)" in names
    assert "∂L/∂w⁽¹⁾₂₁" in names  # one weight node, shared by the two calls
    assert "∂L/∂(z⁽²⁾₁ - (-1))" in names  # a negative constant keeps its parentheses


def test_a_label_the_user_sets_wins_over_the_notation_in_captions():
    y = mlp_output()
    y.label = "ŷ"
    w = next(n for n in y.graph() if n.role == "weight" and n.index == (2, 1, 3))
    w.label = "w_out"
    captions = [f.caption for f in backward_frames(y)]
    assert captions[0] == "step 1/34: ∂ŷ/∂ŷ = 1.0000"
    assert any("∂ŷ/∂w_out = " in c for c in captions)
    assert any("∂ŷ/∂(w_out·a⁽¹⁾₃)" in c for c in captions)
    assert not any("z⁽²⁾₁" in c or "w⁽²⁾₁₃" in c for c in captions)


def test_frames_honour_collapse():
    y = mlp_output()
    neurons = backward_frames(y, collapse="neuron")
    assert [derivative(f.caption) for f in neurons] == [
        "∂z⁽²⁾₁/∂z⁽²⁾₁", "∂z⁽²⁾₁/∂a⁽¹⁾₃", "∂z⁽²⁾₁/∂a⁽¹⁾₂", "∂z⁽²⁾₁/∂a⁽¹⁾₁"]
    svgs = [f.graph.pipe(format="svg") for f in neurons]
    assert all(node_places(svg) == node_places(svgs[0]) for svg in svgs)
    for f, svg, inputs in zip(neurons, svgs, [3, 2, 2, 2]):
        groups = [g for g in ET.fromstring(svg).iter(f"{SVG}g") if g.get("class") in ("node", "edge")
                  and any(el.get("stroke") == "#ff7f00" for el in g.iter())]
        marked = [[t.text for t in g.iter(f"{SVG}text")] for g in groups if g.get("class") == "node"]
        assert len(marked) == 1  # the step's neuron, showing its gradient just completed
        assert marked[0][-1] == f.caption.rsplit(" = ", 1)[1]
        # and the arrows into it, along which its gradient flows on to its inputs
        assert sum(g.get("class") == "edge" for g in groups) == inputs
    # a's gradient 0.1069 is blank until its step
    assert 'fill="#ffffff">0.1069' in svgs[0].decode() and 'fill="#ffffff">0.1069' not in svgs[1].decode()
    layers = backward_frames(y, collapse="layer")
    assert [f.caption for f in layers][-1] == "step 2/2: ∂z⁽²⁾₁/∂a⁽¹⁾ = [0.1069, 0.5621, 0.2612]"


# --------------------------------------------------------------------------- the page
def test_the_page_has_unique_ids_one_caption_per_step_and_explains_the_orange(tmp_path):
    frames = backward_frames(expression())
    page = animate(frames, tmp_path / "anim.html").read_text(encoding="utf-8")
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids)) > 7 * 10
    for f in frames:  # the caption is written once: in the page, not again in the picture
        assert page.count(f">{f.caption}<") == 0 and page.count(f'"{f.caption}"') == 1
    assert "orange" in page and "flows next" in page
    assert 'id="fit"' in page and 'id="actual"' in page


def test_the_notebook_view_is_an_isolated_iframe():
    frames = backward_frames(expression())
    anim = Animation(frames, title="L = (a*b + c) * f")
    first, second = anim._repr_html_(), Animation(frames)._repr_html_()
    for out in (first, second):
        assert out.startswith("<div id=") and out.count("<iframe") == 1
        assert 'sandbox="allow-scripts"' in out
        assert "<style" not in out and "<h1" not in out and "<script" not in out  # all in srcdoc
        assert "&lt;h1&gt;" in out and "&lt;svg" in out
    assert re.search(r'id="([^"]+)"', first)[1] != re.search(r'id="([^"]+)"', second)[1]
    with pytest.raises(TypeError, match="Frames"):
        Animation(["frame"])
    with pytest.raises(ValueError, match="interval"):
        Animation(frames, interval=0)

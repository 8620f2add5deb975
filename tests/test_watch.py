"""Watching training: what ``fit(..., watch=...)`` records and the page it writes."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_mlp import MLP
from tinygrad_mlp.data import make_moons
from tinygrad_mlp.functional import get_loss
from tinygrad_mlp.train import NonFiniteLossError, fit
from tinygrad_mlp.viz.labels import format_value
from tinygrad_mlp.viz.recording import arrows_of, label_state
from tinygrad_mlp.watch import FULL_GRAPH_LIMIT, Watch

X, Y = make_moons(40, noise=0.1, random_state=0)


def _page_data(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    blob = re.search(r'<script type="application/json" id="tg-data">(.*?)</script>', text, re.S)
    return json.loads(blob.group(1).replace("<\\/", "</"))


def _watched_fit(tmp_path: Path, **kwargs) -> Watch:
    options = {k: kwargs.pop(k) for k in ("steps", "sample", "collapse", "every")
               if k in kwargs}
    w = Watch(tmp_path / "training.html", **options)
    model = kwargs.pop("model", None) or MLP(2, [4, 1], seed=0)
    kwargs = {"loss": "hinge", "epochs": 3, "batch_size": 10, "seed": 0, "progress": False,
              **kwargs}
    fit(model, X, Y, watch=w, **kwargs)
    return w


# --------------------------------------------------------------------------- the numbers
def test_recorded_numbers_are_those_of_a_separate_run_stopped_at_that_step(tmp_path):
    # batch_size=None: one step per epoch, so step k+1 runs on the weights after k epochs
    w = _watched_fit(tmp_path, batch_size=None, epochs=6, sample=3, lr=0.05)
    frame = next(f for f in w.recording.frames if f.step == 5)
    assert not frame.final and frame.epoch == 5
    other = MLP(2, [4, 1], seed=0)
    fit(other, X, Y, loss="hinge", epochs=4, batch_size=None, seed=0, progress=False, lr=0.05)
    state = other.state_dict()
    for name in state:  # the weights step 5's forward pass used
        np.testing.assert_array_equal(frame.params[name], state[name])
    loss_fn = get_loss("hinge")
    batch_loss = float(loss_fn(other(X), Y).data)  # the whole set is step 5's batch
    assert frame.loss == pytest.approx(batch_loss, rel=1e-12)
    sample_loss = loss_fn(other([float(v) for v in X[3]]), float(Y[3]))
    other.zero_grad()  # fit leaves its last batch's gradients
    sample_loss.backward()
    for name, p in other.named_parameters():  # the watched sample's own gradients
        np.testing.assert_allclose(frame.sample_grads[name], p.grad, rtol=1e-12, atol=1e-15)
    assert frame.sample_loss == pytest.approx(float(sample_loss.data), rel=1e-12)
    # and the drawing shows them: the loss node's data is the sample's loss
    shown = [t for s in frame.graph.values() for t in s.texts]
    assert f"data {format_value(float(sample_loss.data))}" in shown


def test_mini_batch_steps_see_the_weights_of_the_epochs_before(tmp_path):
    w = _watched_fit(tmp_path, epochs=3, batch_size=10)  # 4 steps an epoch
    frame = next(f for f in w.recording.frames if f.step == 9)  # epoch 3, batch 1
    assert (frame.epoch, frame.batch) == (3, 1)
    other = MLP(2, [4, 1], seed=0)
    fit(other, X, Y, loss="hinge", epochs=2, batch_size=10, seed=0, progress=False)
    for name, value in other.state_dict().items():
        np.testing.assert_array_equal(frame.params[name], value)


def test_watching_changes_nothing_in_training(tmp_path):
    kwargs = {"loss": "hinge", "epochs": 4, "batch_size": 8, "seed": 1, "progress": False,
              "validation_split": 0.25}
    plain, watched = MLP(2, [5, 1], seed=0), MLP(2, [5, 1], seed=0)
    h1 = fit(plain, X, Y, **kwargs)
    h2 = fit(watched, X, Y, watch=Watch(tmp_path / "t.html", sample=2), **kwargs)
    assert h1.history == h2.history
    for (name, a), b in zip(plain.state_dict().items(), watched.state_dict().values()):
        np.testing.assert_array_equal(a, b, err_msg=name)
    for a, b in zip(plain.parameters(), watched.parameters()):  # the last batch's, not the sample's
        np.testing.assert_array_equal(a.grad, b.grad)


def test_the_watched_sample_runs_in_eval_mode_and_the_mode_comes_back(tmp_path):
    modes: list[tuple[str, bool]] = []

    class Spy(MLP):
        def __call__(self, x):
            # the training batches have 10 rows; predictions (metrics, regions) run in eval mode
            kind = "sample" if isinstance(x, list) else "batch" if len(x) == 10 else "other"
            modes.append((kind, self.training))
            return super().__call__(x)

    _watched_fit(tmp_path, model=Spy(2, [3, 1], seed=0), epochs=2)
    assert {m for kind, m in modes if kind == "sample"} == {False}
    assert {m for kind, m in modes if kind == "batch"} == {True}  # training went on as before


def test_by_default_the_watched_sample_sits_next_to_the_other_class(tmp_path):
    w = _watched_fit(tmp_path, epochs=1, batch_size=None)
    i = w.recording.sample_index
    gaps = np.linalg.norm(X[:, None] - X[None], axis=2)
    gaps[Y[:, None] == Y[None]] = np.inf
    assert gaps[i].min() == gaps.min()
    assert w.recording.sample_x == list(X[i]) and w.recording.sample_y == Y[i]
    assert f"sample {i} (x = " in w.path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- which steps
def test_every_step_is_recorded_when_there_are_few(tmp_path):
    w = _watched_fit(tmp_path, epochs=3, batch_size=10)
    rec = w.recording
    assert [f.step for f in rec.frames] == [*range(1, 13), 12]
    assert rec.frames[-1].final and not any(f.final for f in rec.frames[:-1])
    assert len(rec.losses) == 12 and rec.epoch_ends == [4, 8, 12]
    assert "Every step is recorded" in w.path.read_text(encoding="utf-8")


def test_the_loss_curve_says_when_it_clips_the_highest_losses(tmp_path):
    w = _watched_fit(tmp_path, epochs=20, batch_size=10)
    losses = sorted(v for v in w.recording.losses if math.isfinite(v))
    page = w.path.read_text(encoding="utf-8")
    # the curve's top is the 98th percentile of its points (the first steps' losses tower
    # over the rest); the page says so whenever a point is above it
    assert losses[-1] > losses[int(0.9 * len(losses))]
    assert "higher losses clipped" in page
    flat = _watched_fit(tmp_path / "flat", epochs=1, batch_size=40)  # one point: nothing clipped
    assert "higher losses clipped" not in flat.path.read_text(encoding="utf-8")


def test_long_runs_are_thinned_evenly_and_the_page_says_so(tmp_path):
    w = _watched_fit(tmp_path, epochs=30, batch_size=4)  # 300 steps, 60 recorded by default
    steps = [f.step for f in w.recording.frames if not f.final]
    assert len(steps) == 60 and steps[0] == 1 and steps[-1] == 300
    assert set(np.diff(steps)) <= {5, 6}  # evenly spaced
    assert len(w.recording.losses) == 300  # the curve still has every step
    page = w.path.read_text(encoding="utf-8")
    assert "Steps thinned: 60 of 300 planned steps are recorded" in page
    assert _page_data(w.path)["step"] == [*steps, 300]


@pytest.mark.parametrize("planned", [61, 99, 120])
def test_a_thinned_run_still_records_the_steps_asked_for(tmp_path, planned):
    w = _watched_fit(tmp_path, epochs=planned, batch_size=None, steps=50)
    assert sum(not f.final for f in w.recording.frames) == 50


# --------------------------------------------------------------------------- how it ends
def test_early_stopping_still_writes_the_page_and_says_why(tmp_path):
    w = _watched_fit(tmp_path, epochs=50, validation_split=0.3, early_stopping=1, lr=0.5)
    rec = w.recording
    assert rec.stopped_early and len(rec.epoch_ends) < 50
    assert rec.frames[-1].final and rec.frames[-1].step == rec.total_steps
    page = w.path.read_text(encoding="utf-8")
    assert "by early stopping: the validation loss did not improve for 1 epochs" in page
    assert "stopped here" in page and _page_data(w.path)["stopped"] is True


def test_a_non_finite_loss_still_writes_the_page_marking_the_last_step(tmp_path):
    X_bad = X.copy()
    X_bad[25] = np.nan  # in the third batch
    w = Watch(tmp_path / "training.html")
    with pytest.raises(NonFiniteLossError):
        fit(MLP(2, [3, 1], seed=0), X_bad, Y, loss="hinge", batch_size=10, epochs=3,
            progress=False, watch=w)
    rec = w.recording
    last = rec.frames[-1]
    assert math.isnan(last.loss) and last.step == rec.total_steps and not last.final
    page = w.path.read_text(encoding="utf-8")
    assert "stopped: training stopped: the training loss became nan" in page
    assert _page_data(w.path)["loss"][-1] is None  # NaN as JSON null


def test_every_n_epochs_rewrites_the_page_during_training(tmp_path):
    seen = []

    def look(epoch, logs):
        page = tmp_path / "training.html"
        seen.append(page.read_text(encoding="utf-8") if page.exists() else None)

    _watched_fit(tmp_path, epochs=4, every=2, callbacks=[look])
    assert seen[0] is None  # not written after epoch 1
    assert "2 of 4 epochs so far" in seen[1] and "2 of 4 epochs so far" in seen[2]
    assert "4 of 4 epochs so far" in seen[3]
    final = (tmp_path / "training.html").read_text(encoding="utf-8")
    assert "finished: all 4 epochs done" in final
    assert sorted(p.name for p in tmp_path.iterdir()) == ["training.html"]  # no temporary


def test_zero_epochs_write_a_page_saying_no_step_was_recorded(tmp_path):
    w = _watched_fit(tmp_path, epochs=0)
    assert w.written == w.path and w.recording.frames == []
    page = w.path.read_text(encoding="utf-8")
    assert "Nothing to replay: no step was recorded" in page and "0 epochs" in page
    assert page.startswith("<!DOCTYPE html>") and "MLP(2 -&gt; 4 relu -&gt; 1 linear)" in page
    assert "http" not in page and "<script" not in page  # nothing to play, nothing fetched


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs of POSIX")
def test_a_page_that_cannot_be_written_warns_and_training_is_kept(tmp_path):
    import os

    fifo = tmp_path / "training.html"
    os.mkfifo(fifo)  # written only when training ends: then refused (not a regular file)
    model = MLP(2, [4, 1], seed=0)
    before = model.state_dict()
    w = Watch(fifo)
    with pytest.warns(RuntimeWarning, match=r"training page could not be written to "
                      rf"{re.escape(str(fifo))}: it is a FIFO"):
        history = fit(model, X, Y, loss="hinge", epochs=2, batch_size=10, progress=False,
                      watch=w)
    assert history.epochs == 2 and w.written is None and w.recording.frames
    assert any((before[k] != v).any() for k, v in model.state_dict().items())  # trained


def test_a_failing_rewrite_during_training_warns_and_training_goes_on(tmp_path, monkeypatch):
    import errno

    import tinygrad_mlp.viz.live as live

    real, calls = live.write_page, []

    def full_disk_once(rec, path, **kwargs):
        calls.append(path)
        if len(calls) == 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(rec, path, **kwargs)

    monkeypatch.setattr(live, "write_page", full_disk_once)
    with pytest.warns(RuntimeWarning, match="could not be written to .*training.html: No space"):
        w = _watched_fit(tmp_path, epochs=4, every=2)
    assert len(calls) == 3 and w.written == w.path  # epoch 2 failed, epoch 4 and the end did not
    assert "finished: all 4 epochs done" in w.path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- what is drawn
def test_small_models_are_drawn_in_full_and_big_ones_by_neuron(tmp_path):
    small = _watched_fit(tmp_path, epochs=1)
    assert small.recording.collapse is None
    big = _watched_fit(tmp_path, epochs=1, model=MLP(2, [16, 16, 1], seed=0))
    assert big.recording.collapse == "neuron" and FULL_GRAPH_LIMIT == 150
    for w in (small, big):
        w.html()  # lays the pictures out and marks them
        matched, unmatched = w.recording.cache["graph_match"]
        assert matched >= 10 and unmatched == 0
        marked, arrows = w.recording.cache["network_match"]
        assert marked == arrows > 0


def test_the_page_is_self_contained_and_its_data_change_from_step_to_step(tmp_path):
    w = _watched_fit(tmp_path, epochs=3)
    page = w.path.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "https://" not in page and "http://" not in page
    data = _page_data(w.path)
    texts = data["graph"]["text"]
    assert texts[0] != texts[-1] and len({len(t) for t in texts}) == 1
    assert data["net"]["w"][0] != data["net"]["w"][-1]
    cells = data["map"]["cells"]
    assert len(cells) == len(data["step"]) and cells[0] != cells[-1]
    assert data["map"]["n"] == 50 and len(__import__("base64").b64decode(cells[0])) == 2500
    assert page.count('data-t="') == len(texts[0]) and 'data-f="' in page


def test_a_notebook_shows_the_page_in_a_sandboxed_iframe(tmp_path):
    w = _watched_fit(tmp_path, epochs=1)
    one, two = w._repr_html_(), w._repr_html_()
    assert 'sandbox="allow-scripts"' in one and "srcdoc=" in one
    ids = [re.search(r'<div id="([^"]+)"', x).group(1) for x in (one, two)]
    assert ids[0] != ids[1]


def _counting(monkeypatch, module, name: str) -> list[int]:
    """Count the calls of ``module.name`` (as the watch imports it when it runs)."""
    calls = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize("sizes, collapse, loss, drawn", [
    ([4, 1], "auto", "hinge", None),  # the full scalar graph
    ([3, 3, 1], None, "mse", None),
    ([16, 16, 1], "auto", "hinge", "neuron"),  # collapsed to neurons
    ([3, 3, 1], "layer", "mse", "layer"),
])
def test_every_step_shows_what_draw_dot_and_draw_mlp_draw_though_they_run_once(
        tmp_path, monkeypatch, sizes, collapse, loss, drawn):
    from tinygrad_mlp.viz import architecture, computation

    scenes = _counting(monkeypatch, computation, "build_scene")
    diagrams = _counting(monkeypatch, architecture, "draw_mlp")
    w = _watched_fit(tmp_path, model=MLP(2, sizes, seed=0), collapse=collapse, loss=loss,
                     epochs=4, steps=6)
    rec = w.recording
    assert rec.collapse == drawn and len(rec.frames) == 7
    # laid out at the first snapshot only (and a small full graph counted once, to choose)
    assert len(diagrams) == 1 and len(scenes) == 1 + (collapse == "auto" and drawn is None)
    assert rec.frames[0].graph != rec.frames[-1].graph  # the numbers do change
    assert rec.frames[0].arrows != rec.frames[-1].arrows
    loss_fn = get_loss(loss)
    for frame in rec.frames[1:]:  # each later step, drawn afresh from its parameters
        model = MLP(2, sizes, seed=1)
        model.load_state_dict(frame.params)
        model.eval()
        sample_loss = loss_fn(model(list(rec.sample_x)), rec.sample_y)
        sample_loss.backward()
        scene = computation.build_scene(
            sample_loss, computation.DrawOptions(collapse=drawn, color_by_grad=True))
        assert frame.graph == {n.id: label_state(str(n.attrs.get("label", "")))
                               for n in scene.nodes}
        assert frame.arrows == arrows_of(architecture.draw_mlp(model).source)


def test_a_graph_that_changes_shape_is_drawn_again(tmp_path, monkeypatch):
    from tinygrad_mlp.viz import computation

    mse, calls = get_loss("mse"), []

    def loss(out, y):  # every other call adds a node: the graph's shape changes
        calls.append(1)
        return mse(out, y) * 1.0 if len(calls) % 2 else mse(out, y)

    scenes = _counting(monkeypatch, computation, "build_scene")
    w = _watched_fit(tmp_path, loss=loss, epochs=1, batch_size=None, steps=2,
                     collapse=None)
    assert len(w.recording.frames) == 2 and len(scenes) == 2
    first, final = (f.graph for f in w.recording.frames)
    assert len(first) != len(final)  # both drawn as they are


def test_a_graph_template_reads_the_numbers_of_a_graph_of_the_same_shape_only():
    from tinygrad_mlp import Value
    from tinygrad_mlp.viz.computation import DrawOptions, build_scene
    from tinygrad_mlp.viz.recording import GraphTemplate, TemplateMismatch

    def graph(a: float, b: float) -> Value:
        out = (Value(a, label="a") * Value(b, label="b")).tanh()
        out.backward()
        return out

    def drawn(root: Value) -> dict:
        scene = build_scene(root, DrawOptions(color_by_grad=True))
        return {n.id: label_state(str(n.attrs.get("label", ""))) for n in scene.nodes}

    first = graph(0.5, -2.0)
    scene = build_scene(first, DrawOptions(color_by_grad=True))
    template = GraphTemplate(first, scene, drawn(first))
    for a, b in [(3.0, 1e-7), (-0.25, 4.0), (float("nan"), 1.0)]:
        later = graph(a, b)
        assert template.states(later) == drawn(later)
    assert template.states(Value(1.0) * Value(2.0)) is None  # another shape: draw it
    wrong = drawn(first)
    wrong["v0"].texts[-1] = "grad 9.9999"  # not what the values say
    with pytest.raises(TemplateMismatch, match="node v0"):
        GraphTemplate(first, scene, wrong)


@pytest.mark.parametrize("options", [{}, {"show_bias": True, "max_neurons": 3},
                                     {"values_from": "grads"}])
def test_weight_arrows_are_the_arrows_draw_mlp_draws(options):
    from tinygrad_mlp.viz.architecture import draw_mlp, weight_arrows

    model = MLP(2, [5, 4, 1], seed=0)
    model.layers[1].W.data[0, 0] = 0.0  # a zero weight: grey and thin
    get_loss("mse")(model(X[:5]), Y[:5]).backward()
    assert weight_arrows(model, **options) == arrows_of(draw_mlp(model, **options).source)


def test_label_and_source_parsing():
    state = label_state('<<TABLE BGCOLOR="#b2182b"><TR><TD><FONT COLOR="white"><I>a</I>'
                        '</FONT></TD><TD><FONT COLOR="white">grad &#45;1.5</FONT></TD></TR>'
                        '</TABLE>>')
    assert state.texts == ["a", "grad -1.5"] and state.fill == "#b2182b"
    assert arrows_of('\t"x 1" -> a1_1 [color=red penwidth=2]\n\ta -> b\n') == [
        ("x 1", "a1_1", "red", 2.0), ("a", "b", "black", 1.0)]


@pytest.mark.parametrize("kwargs, error", [
    ({"steps": 1}, ValueError), ({"collapse": "all"}, ValueError), ({"every": 0}, ValueError),
    ({"sample": -1}, ValueError), ({"grid": 1.5}, ValueError),
])
def test_bad_options_are_refused(kwargs, error):
    with pytest.raises(error, match="Watch"):
        Watch("t.html", **kwargs)


def test_bad_watch_arguments_of_fit(tmp_path):
    with pytest.raises(TypeError, match="watch must be a file name or a Watch"):
        fit(MLP(2, [2, 1]), X, Y, watch=3, progress=False)
    with pytest.raises(ValueError, match="sample 40 is out of range"):
        fit(MLP(2, [2, 1]), X, Y, watch=Watch(tmp_path / "t.html", sample=40), progress=False)


# --------------------------------------------------------------------------- the command
def test_demo_watch_writes_training_html_and_lists_it(tmp_path, capsys):
    from tinygrad_mlp.cli import main

    assert main(["demo", "--out", str(tmp_path), "--watch", "--no-progress"]) == 0
    page = tmp_path / "training.html"
    assert f"  {page}" in capsys.readouterr().out.splitlines()
    assert page.stat().st_size <= 1_500_000
    data = _page_data(page)
    assert 50 <= len(data["step"]) <= 61 and data["total"] == 800


def test_train_watch_writes_the_page(tmp_path, capsys):
    from tinygrad_mlp.cli import main

    status = main(["train", "--save", str(tmp_path / "m.safetensors"), "--epochs", "3",
                   "--samples", "40", "--watch", str(tmp_path / "run.html"), "--no-progress"])
    assert status == 0
    assert f"wrote {tmp_path / 'run.html'}" in capsys.readouterr().out
    assert (tmp_path / "run.html").exists()
    assert main(["train", "--save", str(tmp_path / "m.safetensors"),
                 "--watch", str(tmp_path / "no" / "run.html")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_train_refuses_a_page_over_the_model_or_a_fifo_before_training(tmp_path, capsys):
    import os

    from tinygrad_mlp.cli import main

    model = tmp_path / "m.safetensors"
    for page in (model, tmp_path / "." / "m.safetensors"):
        assert main(["train", "--save", str(model), "--watch", str(page)]) == 2
        out, err = capsys.readouterr()
        assert "is the --save file: the page would overwrite the model" in err
        assert out == "" and not model.exists()  # refused before training
    if os.name == "posix":
        os.mkfifo(tmp_path / "pipe")
        assert main(["train", "--save", str(model), "--watch", str(tmp_path / "pipe")]) == 2
        out, err = capsys.readouterr()
        assert "--watch" in err and "FIFO" in err and out == "" and not model.exists()
        (tmp_path / "link.safetensors").symlink_to(model)
        assert main(["train", "--save", str(model),
                     "--watch", str(tmp_path / "link.safetensors")]) == 2
        assert "would overwrite the model" in capsys.readouterr().err


def test_train_saves_the_model_when_the_page_cannot_be_written(tmp_path, capsys, monkeypatch):
    import errno

    import tinygrad_mlp.viz.live as live
    from tinygrad_mlp.cli import main
    from tinygrad_mlp.io import load_model

    def full_disk(rec, path, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(live, "write_page", full_disk)
    model, page = tmp_path / "m.safetensors", tmp_path / "run.html"
    status = main(["train", "--save", str(model), "--epochs", "2", "--samples", "40",
                   "--watch", str(page), "--no-progress"])
    out, err = capsys.readouterr()
    assert status == 0 and load_model(model).nin == 2  # the model is saved
    assert f"wrote {model}" in out and f"wrote {page}" not in out
    assert err.splitlines() == [f"tinygrad-mlp: warning: the training page could not be "
                                f"written to {page}: No space left on device"]


def test_export_refuses_to_overwrite_the_model_it_reads(tmp_path, capsys):
    import os

    from tinygrad_mlp.cli import main
    from tinygrad_mlp.io import save

    model = tmp_path / "m.safetensors"
    save(MLP(2, [3, 1], seed=0), model)
    before = model.read_bytes()
    others = [str(model), str(tmp_path / "." / "m.safetensors")]
    if hasattr(os, "link"):
        os.link(model, tmp_path / "hard.onnx")
        others.append(str(tmp_path / "hard.onnx"))
    for out in others:
        assert main(["export", str(model), "--onnx", out]) == 2
        assert "is the model file itself: the export would overwrite the model" \
            in capsys.readouterr().err
    assert model.read_bytes() == before


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))


# --------------------------------------------------------------------------- other models
def test_three_classes_three_features_and_no_graphviz(tmp_path, monkeypatch):
    from tinygrad_mlp.data import make_blobs
    from tinygrad_mlp.viz import GraphvizNotFoundError
    from tinygrad_mlp.viz.render import Drawing

    Xb, yb = make_blobs(60, centers=3, random_state=0)
    w = Watch(tmp_path / "blobs.html")
    fit(MLP(2, [4, 3], seed=0), Xb, yb, loss="cross_entropy", epochs=2, progress=False, watch=w)
    data = _page_data(w.path)
    assert data["map"]["kind"] == "class"  # one class index a cell
    assert set(__import__("base64").b64decode(data["map"]["cells"][-1])) <= {0, 1, 2}

    X3 = np.column_stack([X, X[:, 0] * X[:, 1]])
    w3 = Watch(tmp_path / "three.html")
    fit(MLP(3, [3, 1], seed=0), X3, X[:, 1], epochs=2, progress=False, watch=w3)  # regression
    data = _page_data(w3.path)
    assert data["map"] is None and data["graph"]["text"][0]  # no boundary, still the graph

    def missing(self, *args, **kwargs):
        raise GraphvizNotFoundError("dot")

    monkeypatch.setattr(Drawing, "pipe", missing)
    w4 = _watched_fit(tmp_path, epochs=1)  # training and the page do not need Graphviz
    page = w4.path.read_text(encoding="utf-8")
    assert "no graph drawing: the Graphviz program" in page and "tg-canvas" in page

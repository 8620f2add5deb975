"""Watching training: what :func:`~tinygrad_mlp.train.fit` records for its replay page.

``fit(model, X, y, watch="training.html")`` (or ``watch=Watch(...)`` for the options) records,
at chosen steps, what a lecture shows about one training step:

* the parameters used in that step's forward pass (before its update) and the batch's loss;
* one watched sample's computation graph at those parameters, after the backward pass of that
  sample's own loss: every drawn node's data and gradient, coloured by gradient, as
  :func:`~tinygrad_mlp.viz.draw_dot` draws it (collapsed to neurons when the full graph would
  have more than :data:`FULL_GRAPH_LIMIT` drawn nodes);
* the network diagram's arrows (each weight's colour and width, from
  :func:`~tinygrad_mlp.viz.draw_mlp`);
* for 2-D inputs, the model's decision regions on a ``grid`` × ``grid`` grid, one byte a cell.

A step is one optimizer update.  Every step's batch loss and every epoch's validation loss are
kept for the loss curve; the heavier records are taken at ``steps`` evenly spaced steps,
the first and the last included (every step when there are fewer), and once more after the
last update.  When training ends —
all epochs done, stopped early, or stopped by a non-finite loss — :mod:`tinygrad_mlp.viz.live`
writes the page, which says why training stopped.

The graph and the diagram are drawn once, at the first snapshot: their shape is the same at
every step.  Later snapshots read only their numbers and colours, through a
:class:`~tinygrad_mlp.viz.recording.GraphTemplate` and
:func:`~tinygrad_mlp.viz.architecture.weight_arrows`, which give what the drawing functions
would (a graph whose shape changed is drawn again).

>>> from tinygrad_mlp import MLP
>>> from tinygrad_mlp.data import make_moons
>>> from tinygrad_mlp.train import fit
>>> import tempfile, pathlib
>>> X, y = make_moons(40, noise=0.1, random_state=0)
>>> w = Watch(pathlib.Path(tempfile.mkdtemp()) / "training.html", steps=5)
>>> _ = fit(MLP(2, [4, 1], seed=0), X, y, loss="hinge", epochs=3, batch_size=20,
...         progress=False, watch=w)
>>> [f.step for f in w.recording.frames], w.recording.total_steps, w.path.exists()
([1, 2, 4, 5, 6, 6], 6, True)
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinygrad_mlp.viz.recording import (
    GraphTemplate,
    Recording,
    Snapshot,
    TemplateMismatch,
    arrows_of,
    label_state,
)

__all__ = ["Watch", "as_watch", "DEFAULT_STEPS", "FULL_GRAPH_LIMIT", "DEFAULT_GRID",
           "MAX_POINTS"]

DEFAULT_STEPS = 60  # recorded steps of a longer run (every step of a shorter one)
FULL_GRAPH_LIMIT = 150  # drawn nodes of the full scalar graph; beyond it, one node per neuron
DEFAULT_GRID = 50  # cells per side of the decision-boundary grid
MAX_POINTS = 400  # data points drawn over the decision boundary


def _check_int(name: str, value: Any, low: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        what = f"an int of at least {low}" + (" or None" if allow_none else "")
        raise ValueError(f"Watch: {name} must be {what}, got {value!r}")


class Watch:
    """Record a run of ``fit`` and write it as one offline HTML page (``fit(..., watch=...)``).

    * ``path``: where the page goes (written when training ends, whatever ends it);
    * ``sample``: which training sample's graph to show: an index into the training data, or
      ``"auto"`` (the default): for class labels, the sample nearest to a sample of another
      class — near the boundary, where gradients keep flowing — else the first one;
    * ``steps``: how many steps to record (default 60), evenly spaced from the first to the
      last planned step; every step when there are fewer;
    * ``collapse``: ``"auto"`` (the full scalar graph up to :data:`FULL_GRAPH_LIMIT` drawn nodes,
      else one node per neuron), ``None`` (always full), ``"neuron"`` or ``"layer"``;
    * ``every``: also rewrite the page every that many epochs (atomically), so that reloading
      it shows the run so far;
    * ``grid``: cells per side of the decision boundary (inputs of two features only);
    * ``title``: the page's heading.

    After ``fit``, :attr:`recording` holds what was recorded and :attr:`written` the page's
    path (None if it could not be written: ``fit`` then warns); in a notebook the object
    shows the page inline (a sandboxed iframe).

    >>> w = Watch("training.html", steps=60, every=5)
    >>> w.sample, w.steps, w.every, w.collapse
    ('auto', 60, 5, 'auto')
    """

    def __init__(self, path: str | os.PathLike = "training.html", *, sample: int | str = "auto",
                 steps: int = DEFAULT_STEPS, collapse: str | None = "auto",
                 every: int | None = None, grid: int = DEFAULT_GRID,
                 title: str = "Training, step by step") -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"Watch: path must be a file name, got {type(path).__name__}")
        if sample != "auto":
            _check_int("sample", sample, 0)
        _check_int("steps", steps, 2)
        _check_int("every", every, 1, allow_none=True)
        _check_int("grid", grid, 2)
        if collapse not in ("auto", None, "neuron", "layer"):
            raise ValueError(f"Watch: collapse must be 'auto', None, 'neuron' or 'layer', "
                             f"got {collapse!r}")
        self.path = Path(path)
        self.sample = sample if sample == "auto" else int(sample)
        self.steps, self.collapse = int(steps), collapse
        self.every, self.grid, self.title = every, int(grid), str(title)
        self.recording: Recording | None = None
        self.written: Path | None = None  # the page, once written for the latest run
        self._model: Any = None
        self._loss_fn: Callable[..., Any] | None = None
        self._threshold: float | None = None
        self._grid_points: np.ndarray | None = None
        # drawn once, at the first snapshot; later steps only read their numbers through these
        self._template: GraphTemplate | None = None
        self._arrows_fast = False

    def __repr__(self) -> str:
        return f"Watch({str(self.path)!r}, sample={self.sample}, steps={self.steps})"

    # ------------------------------------------------------------------ called by fit
    def start(self, model: Any, X: np.ndarray, y: np.ndarray, *, loss_fn: Callable[..., Any],
              epochs: int, steps_per_epoch: int, threshold: float | None = None) -> None:
        """Begin a recording (``fit`` calls this once, before the first step)."""
        if self.sample != "auto" and self.sample >= len(X):
            raise ValueError(f"Watch: sample {self.sample} is out of range: the training data "
                             f"have {len(X)} samples")
        rec = self.recording = Recording()
        self.written = None
        self._template, self._arrows_fast = None, False
        index = _near_another_class(X, y) if self.sample == "auto" else self.sample
        self._model, self._loss_fn, self._threshold = model, loss_fn, threshold
        rec.epochs, rec.steps_per_epoch = epochs, steps_per_epoch
        rec.planned_steps = epochs * steps_per_epoch
        count = min(self.steps, rec.planned_steps)
        rec.chosen = {int(s) for s in np.round(np.linspace(1, rec.planned_steps, count))}
        rec.thinned = count < rec.planned_steps
        rec.sample_index = index
        rec.sample_x = [float(v) for v in np.ravel(X[index])]
        rec.sample_y = np.asarray(y[index]).tolist()
        rec.model_text = str(model)
        self._prepare_grid(X, y)

    def step(self, *, step: int, epoch: int, batch: int, loss: float,
             force: bool = False) -> None:
        """Note step ``step``'s batch loss; snapshot it when it is a recorded step.

        ``fit`` calls this after zeroing the gradients and before the batch's backward pass,
        so the parameters are the ones its forward pass used; the watched sample's gradients
        are cleared again before returning.
        """
        rec = self._recording()
        rec.losses.append(float(loss))
        rec.total_steps = step
        if force or step in rec.chosen:
            rec.frames.append(self._snapshot(step, epoch, batch, loss, final=False))

    def end_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        """Note an epoch's losses; rewrite the page when ``every`` says so."""
        rec = self._recording()
        rec.epoch_ends.append(rec.total_steps)
        rec.epoch_loss.append(float(logs.get("loss", math.nan)))
        rec.val_loss.append(float(logs.get("val_loss", math.nan)))
        if self.every is not None and (epoch + 1) % self.every == 0:
            rec.stop_reason = f"training in progress: {epoch + 1} of {rec.epochs} epochs so far"
            self.write()

    def finish(self, reason: str, *, stopped_early: bool = False,
               final_snapshot: bool = True) -> Path:
        """Take the snapshot after the last update (unless told not to) and write the page."""
        rec = self._recording()
        rec.stop_reason, rec.stopped_early = reason, stopped_early
        if final_snapshot and rec.total_steps > 0:
            epoch = max(1, len(rec.epoch_ends))
            batch = rec.total_steps - (rec.epoch_ends[-2] if len(rec.epoch_ends) > 1 else 0)
            rec.frames.append(self._snapshot(rec.total_steps, epoch, batch, math.nan, final=True))
        return self.write()

    # ------------------------------------------------------------------ output
    def html(self) -> str:
        """The page, as one self-contained HTML document."""
        from tinygrad_mlp.viz.live import page_html

        return page_html(self._recording(), title=self.title)

    def write(self) -> Path:
        """Write the page to :attr:`path` (atomically: a reader never sees half a page) and
        note it in :attr:`written`.  ``fit`` turns an OSError here into a warning, so
        ``written`` is None after a run whose page could not be written."""
        from tinygrad_mlp.viz.live import write_page

        self.written = None  # until this write succeeds
        self.written = write_page(self._recording(), self.path, title=self.title)
        return self.written

    def _repr_html_(self) -> str:
        from tinygrad_mlp.viz.live import iframe

        return iframe(self.html())

    # ------------------------------------------------------------------ recording
    def _recording(self) -> Recording:
        if self.recording is None:
            raise RuntimeError("Watch: nothing recorded yet: pass it to fit(..., watch=...)")
        return self.recording

    def _prepare_grid(self, X: np.ndarray, y: np.ndarray) -> None:
        rec = self._recording()
        if X.ndim != 2 or X.shape[1] != 2 or not np.isfinite(X).all():
            return
        pad = 0.1 * float(np.ptp(X, axis=0).max() or 1.0)
        (x0, y0), (x1, y1) = X.min(axis=0) - pad, X.max(axis=0) + pad
        n = self.grid
        xs, ys = np.linspace(x0, x1, n), np.linspace(y1, y0, n)  # row 0 is the top
        xx, yy = np.meshgrid(xs, ys)
        self._grid_points = np.column_stack([xx.ravel(), yy.ravel()])
        rec.grid_bounds, rec.grid_size = (float(x0), float(x1), float(y0), float(y1)), n
        labels = np.asarray(y).reshape(len(y), -1)
        classes = (labels[:, 0] > 0).astype(int) if labels.shape[1] == 1 and \
            set(np.unique(labels).tolist()) <= {-1, 0, 1} else None
        if classes is None and labels.shape[1] == 1 and np.allclose(labels, np.round(labels)):
            classes = labels[:, 0].astype(int)
        if classes is None:
            return  # a regression target: no classes to show
        keep = np.linspace(0, len(X) - 1, min(len(X), MAX_POINTS)).astype(int)
        rec.points = [(float(X[i, 0]), float(X[i, 1]), int(classes[i])) for i in keep]
        rec.classes = int(max(classes.max() + 1, 2))

    def _snapshot(self, step: int, epoch: int, batch: int, loss: float, *,
                  final: bool) -> Snapshot:
        model = self._model
        snap = Snapshot(step=step, epoch=epoch + (0 if final else 1),
                        batch=batch + (0 if final else 1), loss=float(loss),
                        params=model.state_dict(), final=final)
        training = bool(getattr(model, "training", False))
        if hasattr(model, "eval"):
            model.eval()  # the watched sample sees no dropout
        try:
            self._watch_sample(snap)
            self._draw_network(snap)
            snap.grid = self._grid_bytes()
        finally:
            if hasattr(model, "train"):
                model.train(training)
        return snap

    def _watch_sample(self, snap: Snapshot) -> None:
        rec, model = self._recording(), self._model
        if rec.graph_drawing is None and rec.frames:
            return  # the graph could not be drawn at the first snapshot
        params = model.parameters()
        # fit's own gradients (none, between zero_grad and backward), put back afterwards
        saved = [p.grad if p.has_grad else None for p in params]
        model.zero_grad()
        try:
            self._backward_sample(snap)
        finally:
            model.zero_grad()
            for p, grad in zip(params, saved):
                if grad is not None:
                    p.grad = grad

    def _backward_sample(self, snap: Snapshot) -> None:
        from tinygrad_mlp.viz.computation import DrawOptions, build_scene

        rec, model = self._recording(), self._model
        try:
            out = model(list(rec.sample_x))
            sample_loss = self._loss_fn(out, rec.sample_y)
            sample_loss.backward()
        except Exception as e:  # a model without the scalar call style: no graph to show
            if not rec.frames:
                rec.notes.append(f"no computation graph: the model's scalar call failed ({e})")
            return
        snap.sample_loss = float(sample_loss.data)
        snap.sample_grads = {name: np.array(p.grad, dtype=float, copy=True)
                             for name, p in model.named_parameters()}
        if self._template is not None:  # the graph's shape is the first snapshot's: no drawing
            states = self._template.states(sample_loss)
            if states is not None:
                snap.graph = states
                return
        if rec.collapse is None and not rec.frames:
            rec.collapse = self._choose_collapse(sample_loss)
        opts = DrawOptions(collapse=rec.collapse, color_by_grad=True)
        scene = build_scene(sample_loss, opts)
        snap.graph = {n.id: label_state(str(n.attrs.get("label", ""))) for n in scene.nodes}
        if rec.graph_drawing is None:
            rec.graph_drawing = scene.to_drawing()
            try:
                self._template = GraphTemplate(sample_loss, scene, snap.graph,
                                               precision=opts.precision)
            except TemplateMismatch:
                self._template = None  # every snapshot draws its graph: slower, the same page

    def _choose_collapse(self, root: Any) -> str | None:
        from tinygrad_mlp.viz.computation import DrawOptions, build_scene

        if self.collapse != "auto":
            return self.collapse
        if len(root.graph()) > 2 * FULL_GRAPH_LIMIT:  # far too many values: no need to count
            return "neuron"
        with warnings.catch_warnings():  # only counted, never drawn: a size warning misleads
            warnings.simplefilter("ignore")
            full = build_scene(root, DrawOptions(force=True))
        return None if full.size <= FULL_GRAPH_LIMIT else "neuron"

    def _draw_network(self, snap: Snapshot) -> None:
        from tinygrad_mlp.viz.architecture import draw_mlp, weight_arrows

        rec = self._recording()
        if rec.network_drawing is None and rec.frames:
            return
        try:
            if self._arrows_fast:  # laid out once: only the arrows' colours and widths change
                snap.arrows = weight_arrows(self._model)
                return
            drawing = draw_mlp(self._model)
        except (TypeError, ValueError) as e:
            if not rec.frames:
                rec.notes.append(f"no network diagram: {e}")
            return
        snap.arrows = arrows_of(drawing.source)
        if rec.network_drawing is None:
            rec.network_drawing = drawing
            self._arrows_fast = weight_arrows(self._model) == snap.arrows

    def _grid_bytes(self) -> bytes | None:
        from tinygrad_mlp.train import predict

        if self._grid_points is None:
            return None
        with np.errstate(all="ignore"):
            out = np.asarray(predict(self._model, self._grid_points), dtype=float)
            out = out.reshape(len(self._grid_points), -1)
            self._recording().grid_kind = "score" if out.shape[1] == 1 else "class"
            if out.shape[1] == 1:
                # one byte a cell: 128 and up is class 1, the farther from 128 the surer
                s = out[:, 0] - (self._threshold or 0.0)
                s = np.nan_to_num(s * (4.0 if self._threshold else 1.0))
                cells = np.where(s > 0, 128 + np.floor(127 * np.tanh(s)),
                                 127 - np.floor(127 * np.tanh(-s)))
            else:
                cells = np.nan_to_num(out).argmax(axis=1)
        return np.clip(cells, 0, 255).astype(np.uint8).tobytes()


def _near_another_class(X: np.ndarray, y: np.ndarray, limit: int = 1000) -> int:
    """The index of the sample nearest to a sample of another class (among the first
    ``limit``), or 0 when the labels are not classes.

    >>> _near_another_class(np.array([[0.0], [5.0], [2.0], [2.5]]), np.array([0, 0, 0, 1]))
    2
    """
    X, y = np.asarray(X)[:limit], np.asarray(y)[:limit]
    if X.ndim != 2 or y.ndim != 1 or not np.isfinite(X).all() or len(np.unique(y)) < 2 \
            or len(np.unique(y)) > len(y) // 2:
        return 0
    nearest = np.full(len(X), np.inf)
    for i in range(len(X)):  # row by row: no N x N matrix
        other = y != y[i]
        nearest[i] = np.min(np.sum((X[other] - X[i]) ** 2, axis=1))
    return int(np.argmin(nearest))


def as_watch(watch: Watch | str | os.PathLike) -> Watch:
    """``fit``'s ``watch=`` argument as a :class:`Watch` (a path gets the default options).

    >>> as_watch("run.html").path.name
    'run.html'
    """
    if isinstance(watch, Watch):
        return watch
    if isinstance(watch, (str, os.PathLike)):
        return Watch(watch)
    raise TypeError(f"fit: watch must be a file name or a Watch, got {type(watch).__name__}")

"""Training loops: ``fit``, ``evaluate``, ``predict`` and a hyperparameter ``grid_search``.

The hyperparameters of the course note — learning rate, number of hidden layers, neurons per
layer, activation — are plain arguments here, and ``grid_search`` tries their combinations.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tinygrad_mlp.data import batches, train_test_split
from tinygrad_mlp.engine import Value, no_grad
from tinygrad_mlp.functional import (
    accuracy,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    get_loss,
    hinge_loss,
    l2_penalty,
)
from tinygrad_mlp.nn import MLP, Module, eval_mode
from tinygrad_mlp.optim import SGD, Adam, Optimizer

if TYPE_CHECKING:  # imported when used: watching needs the drawing modules
    from tinygrad_mlp.watch import Watch

__all__ = [
    "History", "NonFiniteLossError", "fit", "evaluate", "predict", "grid_search", "format_table",
    "METRICS",
]

METRICS: dict[str, Callable[..., float]] = {"accuracy": accuracy}

# the losses whose targets are class labels: only for them is accuracy a default metric
_CLASSIFICATION_LOSSES: tuple[str | Callable[..., Value], ...] = (
    "hinge", "bce", "bce_with_logits", "cross_entropy",
    hinge_loss, binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy,
)


def _default_metrics(loss: str | Callable[..., Value]) -> tuple[str, ...]:
    """``("accuracy",)`` for a classification loss, ``()`` for the rest (e.g. regression)."""
    return ("accuracy",) if loss in _CLASSIFICATION_LOSSES else ()


@dataclass
class History:
    """Per-epoch losses and metrics of a ``fit`` run.

    ``history["loss"]``, ``history["val_loss"]``, ``history["accuracy"]``,
    ``history["val_accuracy"]``, ... are lists with one entry per epoch.

    >>> h = History(); h.log("loss", 0.5); h.log("loss", 0.25)
    >>> h["loss"], h.epochs
    ([0.5, 0.25], 2)
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    stopped_epoch: int | None = None
    best_epoch: int | None = None

    def log(self, key: str, value: float) -> None:
        self.history.setdefault(key, []).append(float(value))

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    @property
    def epochs(self) -> int:
        return len(self.history.get("loss", []))

    def plot(self, ax: Any = None, path: str | None = None) -> Any:
        """Plot the losses and, in a second panel, the metrics; save to ``path`` if given.

        Without ``ax``, a new figure is made: a pyplot one (shown by a notebook) when there is
        no ``path``, else a plain ``matplotlib.figure.Figure`` that changes no global state
        and needs no closing.  On a given ``ax`` the metrics go onto a twin y-axis, since
        its figure's layout is the caller's.  Returns the axes of the losses.

        >>> h = History({"loss": [1.0, 0.5], "accuracy": [0.6, 0.9]})
        >>> import tempfile, os
        >>> ax = h.plot(path=os.path.join(tempfile.mkdtemp(), "curves.png"))
        >>> [line.get_label() for a in ax.figure.axes for line in a.get_lines()]
        ['loss', 'accuracy']
        """
        try:
            from matplotlib.figure import Figure
            from matplotlib.ticker import MaxNLocator
        except ImportError:
            raise ImportError(
                "History.plot() needs matplotlib: pip install \"tinygrad_mlp[plot]\""
            ) from None
        losses = {k: v for k, v in self.history.items() if k.endswith("loss")}
        metrics = {k: v for k, v in self.history.items() if not k.endswith("loss")}
        if ax is not None:
            metric_ax = ax.twinx() if metrics else None
        else:
            size = (10, 4) if metrics else (6, 4)
            if path is None:
                import matplotlib.pyplot as plt

                fig = plt.figure(figsize=size, layout="constrained")
            else:  # never matplotlib.use(): it would switch a notebook's backend for good
                fig = Figure(figsize=size, layout="constrained")
            axes = fig.subplots(1, 2 if metrics else 1, squeeze=False)[0]
            ax, metric_ax = axes[0], (axes[1] if metrics else None)
        for i, (key, values) in enumerate(losses.items()):
            ax.plot(range(1, len(values) + 1), values, color=f"C{i}", label=key)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.5
        ax.set_ylabel("loss")
        if losses:
            ax.legend()
        if metric_ax is not None:
            # colours after the losses': on a twin axis the two sets of lines share a plot
            for i, (key, values) in enumerate(metrics.items(), start=len(losses)):
                metric_ax.plot(range(1, len(values) + 1), values, color=f"C{i}", label=key)
            names = dict.fromkeys(k.removeprefix("val_") for k in metrics)
            metric_ax.set_xlabel("epoch")
            metric_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            metric_ax.set_ylabel(", ".join(names))
            metric_ax.legend()
        if path is not None:
            ax.figure.savefig(path, dpi=120, bbox_inches="tight")
        return ax


class NonFiniteLossError(FloatingPointError):
    """Training stopped: the loss became NaN or infinite.

    ``epoch`` (counted from 0, as :attr:`History.stopped_epoch`), ``batch`` (from 0, or
    ``None`` when the parameters turned non-finite at the epoch's end) and ``loss`` say
    where; ``history`` holds the epochs completed before.  The message names the likely
    cause: NaN or inf in the data, or else a learning rate too high.

    >>> model = MLP(1, [1], seed=0)
    >>> try:
    ...     fit(model, [[1.0], [float("nan")]], [1.0, 2.0], epochs=3, progress=False)
    ... except NonFiniteLossError as e:
    ...     print(e.epoch, e.loss)
    0 nan
    """

    def __init__(self, message: str, *, epoch: int, batch: int | None, loss: float,
                 history: History) -> None:
        super().__init__(message)
        self.epoch, self.batch, self.loss, self.history = epoch, batch, loss, history


def _non_finite_rows(a: np.ndarray) -> int:
    """How many rows (samples) of ``a`` hold a NaN or an infinity (0 for non-float data)."""
    if a.dtype.kind not in "fc" or a.size == 0:
        return 0
    bad = ~np.isfinite(a)
    return int(bad.reshape(len(a), -1).any(axis=1).sum()) if a.ndim else int(bad)


def _diverged(opt: Optimizer, X: np.ndarray, y: np.ndarray, *, epoch: int, epochs: int,
              batch: int | None, loss: float, history: History) -> NonFiniteLossError:
    """The error for a loss (or parameters) gone non-finite, naming the likely cause."""
    where = f"in epoch {epoch + 1} of {epochs}"
    if batch is None:
        what = f"the parameters became NaN or infinite {where}"
    else:
        what = f"the training loss became {loss} {where} (batch {batch + 1})"
    bad_x, bad_y = _non_finite_rows(X), _non_finite_rows(y)
    if bad_x or bad_y:
        parts = [f"{n} of {len(a)} samples of {name}" for n, a, name in
                 ((bad_x, X, "X"), (bad_y, y, "y")) if n]
        cause = (f"the data hold NaN or inf ({' and '.join(parts)}): clean or drop those "
                 "samples")
    else:
        try:
            lr = f" ({opt.current_lr():g})"
        except Exception:  # a schedule that fails to report is no reason to hide the error
            lr = ""
        cause = (f"the data are finite, so the learning rate{lr} is probably too high: try a "
                 "smaller one (or standardize the inputs)")
    return NonFiniteLossError(f"training stopped: {what}; {cause}", epoch=epoch, batch=batch,
                              loss=loss, history=history)


def _check_batch_size(batch_size: Any, name: str, allow_none: bool) -> None:
    if batch_size is None and allow_none:
        return
    what = "an int of at least 1" + (" or None (the whole set in one batch)" if allow_none else "")
    got = "None" if batch_size is None else f"{type(batch_size).__name__} {batch_size!r}"
    if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"{name}: batch_size must be {what}, got {got}")
    if batch_size < 1:
        raise ValueError(f"{name}: batch_size must be {what}, got {got}")


def _threshold(model: Module) -> float | None:
    layers = getattr(model, "layers", None)
    if layers and getattr(layers[-1], "activation_name", None) == "sigmoid":
        return 0.5
    return None


def predict(model: Module, X: Any, batch_size: int = 1024) -> np.ndarray:
    """The model's outputs for ``X`` as an array, computed without recording a graph.

    The model runs in evaluation mode (no dropout); each of its modules is then put back in
    the mode it had.  ``batch_size`` (at least 1) bounds how many samples go through the model
    at once.

    >>> model = MLP(2, [3, 1], seed=0)
    >>> predict(model, np.zeros((5, 2))).shape
    (5, 1)
    """
    _check_batch_size(batch_size, "predict", allow_none=False)
    X = np.asarray(X)
    with no_grad(), eval_mode(model):
        outs = [model(X[i:i + batch_size]).data for i in range(0, len(X), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0,))


def evaluate(
    model: Module, X: Any, y: Any, loss: str | Callable[..., Value] = "mse",
    metrics: Sequence[str] | None = None,
) -> dict[str, float]:
    """Loss and metrics of ``model`` on ``(X, y)``, without recording a graph.

    The model runs in evaluation mode (no dropout), and is then put back in the mode it had,
    as by :func:`predict`.  ``metrics=None`` means accuracy for the classification losses and
    none otherwise, as in :func:`fit`.

    >>> model = MLP(2, [3, 1], seed=0)
    >>> sorted(evaluate(model, np.zeros((4, 2)), [1, -1, 1, -1], loss="hinge"))
    ['accuracy', 'loss']
    """
    loss_fn = get_loss(loss)
    if metrics is None:
        metrics = _default_metrics(loss)
    with no_grad(), eval_mode(model):
        out = model(np.asarray(X))
        result = {"loss": float(loss_fn(out, y).data)}
    for name in metrics:
        result[name] = _metric(name)(out.data, y, threshold=_threshold(model))
    return result


def _metric(name: str) -> Callable[..., float]:
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; valid: {', '.join(METRICS)}")
    return METRICS[name]


def _in_ci() -> bool:
    """``CI`` is set (GitHub Actions, GitLab, Travis, ... all set it), and not to a "no"."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def _stderr_is_a_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # no stderr (pythonw), or a closed one
        return False


def _jupyter_kernel() -> str | None:
    """``"notebook"`` inside a Jupyter kernel whose front end draws widgets (JupyterLab,
    Notebook, VS Code, Colab), ``"console"`` inside a Qt console or Spyder kernel, else None.

    Only looks at what is already imported: outside a kernel nothing is imported.
    """
    if "ipykernel" not in sys.modules or "IPython" not in sys.modules:
        return None
    try:
        shell = sys.modules["IPython"].get_ipython()
    except Exception:
        return None
    if shell is None or not any(c.__name__ == "ZMQInteractiveShell" for c in type(shell).__mro__):
        return None  # the terminal IPython (stderr is then a terminal) or no shell at all
    name = type(shell).__name__.lower()
    if "qt" in name or "spyder" in name or any(k == "QT_API" or k.startswith("SPYDER")
                                               for k in os.environ):
        return "console"  # text only, as tqdm.autonotebook decides
    return "notebook"


def _has_widgets() -> bool:
    """Whether tqdm's notebook bar can draw (ipywidgets installed): asked once it matters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from tqdm.notebook import IProgress
        except Exception:
            return False
    return IProgress is not None


def _progress_kind(progress: bool | None) -> str | None:
    """Which bar ``fit`` shows: ``"notebook"`` (tqdm's widget), ``"text"`` or None (none).

    ``progress=False``: none.  ``progress=True``: always one, the widget in a notebook with
    ipywidgets, else text.  ``progress=None`` (the default): one only when a person is
    watching — a terminal or a Jupyter kernel — and never when ``CI`` is set or stderr is a
    file or a pipe outside a notebook (a log).
    """
    if progress is False:
        return None
    kernel = _jupyter_kernel()
    if progress is None and (_in_ci() or not (kernel or _stderr_is_a_terminal())):
        return None
    return "notebook" if kernel == "notebook" and _has_widgets() else "text"


def _progress(total: int, progress: bool | None) -> Any:
    kind = _progress_kind(progress)
    if kind is None:
        return None
    if kind == "notebook":
        from tqdm.notebook import tqdm
    else:  # never tqdm.auto: in a notebook without ipywidgets it warns, and it decides once
        from tqdm.std import tqdm
    return tqdm(total=total, unit="epoch", leave=False)


def fit(
    model: Module,
    X: Any,
    y: Any,
    *,
    loss: str | Callable[..., Value] = "mse",
    optimizer: Optimizer | None = None,
    lr: float = 0.01,
    epochs: int = 10,
    batch_size: int | None = 32,
    validation_data: tuple[Any, Any] | None = None,
    validation_split: float | None = None,
    metrics: Sequence[str] | None = None,
    early_stopping: int | None = None,
    l2: float = 0.0,
    callbacks: Iterable[Callable[[int, dict[str, float]], Any]] = (),
    progress: bool | None = None,
    seed: int | None = None,
    watch: Watch | str | os.PathLike | None = None,
) -> History:
    """Train ``model`` on ``(X, y)`` with mini-batch gradient descent; return a :class:`History`.

    ``optimizer`` defaults to Adam with learning rate ``lr``.  ``batch_size=None`` uses the
    whole set per step.  ``early_stopping=patience`` stops when the validation loss has not
    improved for that many epochs and restores the best weights.  ``l2`` adds
    ``l2 * sum(p**2)`` to the loss.  ``metrics=None`` logs ``accuracy`` for the classification
    losses (hinge, bce, bce_with_logits, cross_entropy) and nothing more for any other loss.
    Every callback is called each epoch as ``callback(epoch, logs)``; training stops after
    the epoch if any returned ``False``.

    ``progress=None`` shows a progress bar when a person is watching — a terminal, or a
    Jupyter notebook (tqdm's widget, or its text bar without ``ipywidgets``) — and never in
    logs (``CI`` set, or stderr a file or a pipe); ``True`` always shows it, ``False`` never.

    A loss that becomes NaN or infinite (or parameters that do) stops training with a
    :class:`NonFiniteLossError` (a ``FloatingPointError``) naming the epoch and the likely
    cause: NaN/inf in the data, else a learning rate too high.

    ``watch="training.html"`` (or a :class:`~tinygrad_mlp.watch.Watch` with options: which
    sample, how many steps, the collapse level, a rewrite every N epochs) records the run and
    writes it as one offline HTML page when training ends, however it ends: the watched
    sample's computation graph, the network's weights, the loss curve and, for 2-D inputs, the
    decision boundary, step by step.

    >>> from tinygrad_mlp.data import make_moons
    >>> X, y = make_moons(200, noise=0.1, random_state=0)
    >>> model = MLP(2, [16, 16, 1], seed=0)
    >>> h = fit(model, X, y, loss="hinge", epochs=30, lr=0.02, seed=0, progress=False)
    >>> h["accuracy"][-1] > 0.95
    True
    """
    got = "None" if epochs is None else f"{type(epochs).__name__} {epochs!r}"
    if isinstance(epochs, (bool, np.bool_)) or not isinstance(epochs, (int, np.integer)):
        raise TypeError(f"fit: epochs must be an int, got {got}")
    if epochs < 0:
        raise ValueError(f"fit: epochs must be an int of at least 0, got {got}")
    _check_batch_size(batch_size, "fit", allow_none=True)
    X = np.asarray(X)
    y = np.asarray(y)
    if X.ndim == 0 or y.ndim == 0:
        raise ValueError(f"fit: X and y must hold one entry per sample, got shapes {X.shape} "
                         f"and {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)}")
    if len(X) == 0:
        raise ValueError("fit: no training samples (X and y are empty)")
    if validation_data is not None and validation_split is not None:
        raise ValueError("give validation_data or validation_split, not both")
    if validation_split is not None:
        X, X_val, y, y_val = train_test_split(X, y, test_size=validation_split, random_state=seed)
        validation_data = (X_val, y_val)
        if len(X) == 0:
            raise ValueError(f"fit: validation_split={validation_split} leaves no training "
                             "samples")
    if early_stopping is not None and validation_data is None:
        raise ValueError("early_stopping needs validation_data or validation_split")
    loss_fn = get_loss(loss)
    if metrics is None:
        metrics = _default_metrics(loss)
    metric_fns = {name: _metric(name) for name in metrics}
    callbacks = list(callbacks)  # called every epoch: a generator would run out after one
    opt = optimizer if optimizer is not None else Adam(model.parameters(), lr=lr)
    params = model.parameters()
    rng = np.random.default_rng(seed)
    threshold = _threshold(model)
    history = History()
    best, best_state, waited = math.inf, None, 0
    watcher = None
    if watch is not None:
        from tinygrad_mlp.watch import as_watch

        watcher = as_watch(watch)
        per_epoch = 1 if batch_size is None else -(-len(X) // batch_size)
        watcher.start(model, X, y, loss_fn=loss_fn, epochs=epochs, steps_per_epoch=per_epoch,
                      threshold=threshold)
    step, stop_reason = 0, f"finished: all {epochs} epochs done"
    bar = _progress(epochs, progress)
    model.train()
    try:
        for epoch in range(epochs):
            total, count = 0.0, 0
            size = len(X) if batch_size is None else batch_size
            for i, (xb, yb) in enumerate(batches(X, y, batch_size=size, random_state=rng)):
                out = model(xb)
                batch_loss = loss_fn(out, yb)
                if l2:
                    batch_loss = batch_loss + l2_penalty(params, l2)
                value = float(batch_loss.data)
                step += 1
                if not math.isfinite(value):  # before the step: the weights stay as they were
                    if watcher is not None:
                        watcher.step(step=step, epoch=epoch, batch=i, loss=value, force=True)
                    raise _diverged(opt, X, y, epoch=epoch, epochs=epochs, batch=i, loss=value,
                                    history=history)
                opt.zero_grad()
                if watcher is not None:  # the parameters of this forward pass, before the update
                    watcher.step(step=step, epoch=epoch, batch=i, loss=value)
                batch_loss.backward()
                opt.step()
                total += value * len(xb)
                count += len(xb)
            # a finite loss can still take a step to inf (lr=inf, one batch): check once an epoch
            if not all(np.isfinite(p.data).all() for p in params):
                raise _diverged(opt, X, y, epoch=epoch, epochs=epochs, batch=None,
                                loss=total / count, history=history)
            logs = {"loss": total / count}
            model.eval()
            if metric_fns:
                train_out = predict(model, X)
                for name, fn in metric_fns.items():
                    logs[name] = fn(train_out, y, threshold=threshold)
            if validation_data is not None:
                val = evaluate(model, *validation_data, loss=loss_fn, metrics=list(metric_fns))
                logs.update({f"val_{k}": v for k, v in val.items()})
            model.train()
            for key, value in logs.items():
                history.log(key, value)
            if watcher is not None:
                try:
                    watcher.end_epoch(epoch, logs)
                except OSError as e:  # a rewrite of the page so far: training goes on
                    _warn_page_not_written(watcher, e)
            if bar is not None:
                bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()})
                bar.update(1)
            # a list, not any(...) over a generator: that would skip the callbacks after the
            # first one returning False, which then miss the epoch (loggers, checkpoints)
            replies = [cb(epoch, logs) for cb in callbacks]
            stop = any(reply is False for reply in replies)
            if early_stopping is not None:
                if logs["val_loss"] < best:
                    best, waited, history.best_epoch = logs["val_loss"], 0, epoch
                    best_state = model.state_dict()
                else:
                    waited += 1
                    stop = stop or waited >= early_stopping
            if stop:
                history.stopped_epoch = epoch
                stop_reason = _stop_reason(history, epochs, early_stopping, waited)
                break
    except BaseException as e:
        if watcher is not None and watcher.recording is not None:
            _write_page_after_failure(watcher, e)
        raise
    else:
        if watcher is not None:
            try:
                watcher.finish(stop_reason, stopped_early=history.stopped_epoch is not None)
            except OSError as e:  # the trained model matters more than its page
                _warn_page_not_written(watcher, e)
    finally:
        if bar is not None:
            bar.close()
        model.eval()
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


def _stop_reason(history: History, epochs: int, early_stopping: int | None,
                 waited: int) -> str:
    """Why training stopped before its last epoch, in words for the training page."""
    done = f"stopped after epoch {history.stopped_epoch + 1} of {epochs}"
    if early_stopping is not None and waited >= early_stopping:
        best = "" if history.best_epoch is None else (
            f"; the weights of epoch {history.best_epoch + 1}, the best, were restored")
        return (f"{done} by early stopping: the validation loss did not improve for "
                f"{waited} epochs{best}")
    return f"{done}: a callback asked to stop"


def _write_page_after_failure(watcher: Watch, error: BaseException) -> None:
    """Write the training page of a run that ``error`` ended; a failure to write only warns,
    so that it never hides ``error``."""
    if isinstance(error, NonFiniteLossError):
        reason = f"stopped: {error}"
        final = error.batch is None  # else the failed step is the last snapshot already
    else:
        reason = f"stopped by {type(error).__name__}" + (f": {error}" if str(error) else "")
        final = True
    try:
        watcher.finish(reason, stopped_early=True, final_snapshot=final)
    except Exception as e:  # the page is a bonus; the training error is what matters
        _warn_page_not_written(watcher, e, stacklevel=4)


def _warn_page_not_written(watcher: Watch, error: Exception, stacklevel: int = 3) -> None:
    """Warn that the training page could not be written, naming its path and the cause
    (``stacklevel``: counted from here to ``fit``'s caller)."""
    cause = (error.strerror if isinstance(error, OSError) and error.strerror
             else str(error) or type(error).__name__)
    warnings.warn(f"the training page could not be written to {watcher.path}: {cause}",
                  RuntimeWarning, stacklevel=stacklevel)


def grid_search(
    X: Any,
    y: Any,
    *,
    validation_data: tuple[Any, Any] | None = None,
    validation_split: float = 0.25,
    lr: Sequence[float] = (0.01,),
    hidden_layers: Sequence[int] = (1,),
    neurons: Sequence[int] = (16,),
    activation: Sequence[str] = ("relu",),
    output_activation: str | None = None,
    n_outputs: int | None = None,
    loss: str | Callable[..., Value] = "mse",
    optimizer: str = "adam",
    epochs: int = 20,
    batch_size: int | None = 32,
    metric: str | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Train one MLP per combination of the note's hyperparameters; rank them on validation data.

    Returns one row per combination — ``lr``, ``hidden_layers``, ``neurons``, ``activation``,
    ``val_loss``, ``val_<metric>``, ``parameters`` — best (lowest validation loss) first.
    ``metric=None`` means accuracy for the classification losses and none otherwise.

    >>> from tinygrad_mlp.data import make_moons
    >>> X, y = make_moons(100, noise=0.1, random_state=0)
    >>> rows = grid_search(X, y, lr=[0.01, 0.05], neurons=[4, 8], loss="hinge", epochs=2)
    >>> len(rows), sorted(rows[0])[:3]
    (4, ['activation', 'hidden_layers', 'lr'])
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if validation_data is None:
        X, X_val, y, y_val = train_test_split(X, y, test_size=validation_split, random_state=seed)
    else:
        X_val, y_val = validation_data
    if n_outputs is None:
        n_outputs = int(y.max()) + 1 if get_loss(loss) is cross_entropy else 1
    if metric is None:
        metric = next(iter(_default_metrics(loss)), None)
    optimizers = {"adam": Adam, "sgd": SGD}
    if optimizer not in optimizers:
        raise ValueError(f"unknown optimizer {optimizer!r}; valid: {', '.join(optimizers)}")
    rows = []
    for rate, depth, width, act in itertools.product(lr, hidden_layers, neurons, activation):
        model = MLP(X.shape[1], [width] * depth + [n_outputs], activation=act,
                    output_activation=output_activation, seed=seed)
        opt = optimizers[optimizer](model.parameters(), lr=rate)
        fit(model, X, y, loss=loss, optimizer=opt, epochs=epochs, batch_size=batch_size,
            metrics=(), progress=False, seed=seed)
        scores = evaluate(model, X_val, y_val, loss=loss, metrics=[metric] if metric else [])
        rows.append({
            "lr": rate, "hidden_layers": depth, "neurons": width, "activation": act,
            "val_loss": scores["loss"],
            **({f"val_{metric}": scores[metric]} if metric else {}),
            "parameters": model.num_parameters(),
        })
    rows.sort(key=lambda r: (math.isnan(r["val_loss"]), r["val_loss"]))
    return rows


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """Rows of dicts (such as ``grid_search``'s) as an aligned text table.

    >>> print(format_table([{"lr": 0.1, "val_loss": 0.25}, {"lr": 0.01, "val_loss": 0.5}]))
      lr  val_loss
     0.1      0.25
    0.01       0.5
    """
    if not rows:
        return "(no rows)"
    headers = list(rows[0])
    cells = [[f"{r[h]:.4g}" if isinstance(r[h], float) else str(r[h]) for h in headers] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)

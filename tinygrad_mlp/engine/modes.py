"""Grad modes, shared by both engines: ``no_grad``, ``enable_grad`` and ``detect_anomaly``.

Each switch is per thread and works as a context manager or a decorator (generators too).
``active_switches`` counts the switches that are on in any thread (under a lock, so that no
update is lost between threads): while it is 0 (nearly always), an engine may skip reading the
thread-local ``mode``.  The count itself is shared rather than per thread: reading a
thread-local value on every recorded operation would cost the fast engine its speed.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np

__all__ = ["no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly", "is_anomaly_enabled"]

_F = TypeVar("_F", bound=Callable[..., Any])


class _Mode(threading.local):
    """Per-thread switches: recording on/off and anomaly checking on/off."""

    grad_enabled = True
    anomaly = False
    order = 0  # while a create_graph pass runs: the derivative order of the nodes it records


mode = _Mode()
active_switches = 0
_count_lock = threading.Lock()  # "+= 1" on a global is not atomic across threads


class _Switch:
    """A context manager that is also a decorator, setting one attribute of ``mode``."""

    def __init__(self, attr: str, value: bool) -> None:
        self._attr = attr
        self._value = value
        self._saved: list[bool] = []

    def __enter__(self) -> _Switch:
        global active_switches
        self._saved.append(getattr(mode, self._attr))
        setattr(mode, self._attr, self._value)
        with _count_lock:
            active_switches += 1
        return self

    def __exit__(self, *exc: object) -> None:
        global active_switches
        setattr(mode, self._attr, self._saved.pop())
        with _count_lock:
            active_switches -= 1

    def __call__(self, func: _F) -> _F:
        attr, value = self._attr, self._value
        if inspect.isgeneratorfunction(func):
            # a generator's body runs at each next(), long after the call: switch around each
            @functools.wraps(func)
            def generator(*args: Any, **kwargs: Any) -> Any:
                gen = func(*args, **kwargs)
                try:
                    with _Switch(attr, value):
                        item = next(gen)
                    while True:
                        try:
                            sent = yield item
                        except GeneratorExit:
                            gen.close()
                            raise
                        except BaseException as exc:
                            with _Switch(attr, value):
                                item = gen.throw(exc)
                        else:
                            with _Switch(attr, value):
                                item = gen.send(sent)
                except StopIteration as stop:
                    return stop.value

            return generator  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with _Switch(attr, value):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def no_grad() -> _Switch:
    """Turn graph recording off (per thread), as a context manager or a decorator.

    Results computed inside are plain constants: no parents, no gradient.

    >>> from tinygrad_mlp import Value
    >>> a = Value(2.0)
    >>> with no_grad():
    ...     b = a * 3
    >>> b.parents, b.requires_grad
    ((), False)
    """
    return _Switch("grad_enabled", False)


def enable_grad() -> _Switch:
    """Turn graph recording back on inside a ``no_grad`` block.

    >>> from tinygrad_mlp import Value
    >>> with no_grad():
    ...     with enable_grad():
    ...         c = Value(1.0) + 1
    >>> c.op
    '+'
    """
    return _Switch("grad_enabled", True)


def is_grad_enabled() -> bool:
    """Whether operations are being recorded in this thread.

    >>> is_grad_enabled()
    True
    """
    return mode.grad_enabled


def is_anomaly_enabled() -> bool:
    """Whether ``detect_anomaly`` is on in this thread.

    >>> is_anomaly_enabled()
    False
    """
    return mode.anomaly


def detect_anomaly() -> _Switch:
    """Check every forward result and every gradient for NaN and inf (per thread).

    The first operation that produces one raises ``FloatingPointError`` naming it and the pass
    (forward or backward).  Use it as a context manager or a decorator.

    >>> from tinygrad_mlp import Value
    >>> with detect_anomaly():
    ...     Value(1e308) * 10
    Traceback (most recent call last):
    ...
    FloatingPointError: detect_anomaly: the forward pass of '*' produced inf ...
    """
    return _Switch("anomaly", True)


def check_finite(x: Any, op: str, stage: str, operands: Sequence[Any]) -> None:
    """Raise ``FloatingPointError`` if ``x`` (a result or a gradient) holds NaN or inf.

    >>> check_finite(float("nan"), "log", "forward", [-1.0])
    Traceback (most recent call last):
    ...
    FloatingPointError: detect_anomaly: the forward pass of 'log' produced nan (its operands: -1.0)
    """
    if type(x) is float:
        bad = x != x or x in (float("inf"), float("-inf"))
    else:
        bad = not np.all(np.isfinite(x))
    if bad:
        what = "nan" if np.any(np.isnan(x)) else "inf"
        shown = ", ".join(
            f"array of shape {v.shape}" if isinstance(v, np.ndarray) else repr(v) for v in operands
        )
        raise FloatingPointError(
            f"detect_anomaly: the {stage} pass of {op!r} produced {what} (its operands: {shown})"
        )

"""Argument checks for public functions and constructors, with one message style.

Every check names the function or class (``who``), the argument (``name``), what it expects
and what it got, and raises ``TypeError`` for a value of the wrong type and ``ValueError``
for a value of the right type outside its range::

    MLP: nouts must be a list of layer sizes (ints), got int 3
    make_moons: noise must be a finite number of at least 0, got float -0.1

The rules are the same everywhere: an int is a Python or numpy integer but never a ``bool``
(``True`` is an int to Python, but ``Layer(2, True)`` is a mistake); a number is an int or a
Python or numpy float, never a ``bool``, and never NaN or infinite; a flag is a ``bool`` or a
numpy ``bool_``.  Each check returns the value converted to its plain Python type, so callers
can use the result directly.

Checks belong in constructors and once-per-call entry points, never in per-step paths (a
layer's forward pass, ``parameters()``).

>>> check_int("Layer", "nout", 3, minimum=1)
3
>>> check_int("Layer", "nout", True, minimum=1)
Traceback (most recent call last):
...
TypeError: Layer: nout must be an int, got bool True
>>> check_number("make_circles", "factor", 1.0, low=0, high=1, high_open=True)
Traceback (most recent call last):
...
ValueError: make_circles: factor must be a number in [0, 1), got float 1.0
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "describe",
    "argument_error",
    "is_int",
    "is_number",
    "check_int",
    "check_number",
    "check_bool",
    "check_callable",
    "check_choice",
    "check_sequence",
    "check_mapping",
    "check_dtype",
    "check_random_state",
]

_repr = reprlib.Repr()
_repr.maxstring = 40
_repr.maxother = 40
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 6


def describe(value: Any) -> str:
    """What a message says a caller gave: the type's name and a short repr.

    >>> describe(3), describe("2"), describe(None), describe(np.zeros((2, 3)))
    ('int 3', "str '2'", 'None', 'array of shape (2, 3) and dtype float64')
    >>> describe(list(range(100)))
    'list [0, 1, 2, 3, 4, 5, ...]'
    """
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, type):
        return f"type {value.__name__}"
    return f"{type(value).__name__} {_repr.repr(value)}"


def argument_error(
    error: type[Exception], who: str, name: str, expected: str, value: Any,
) -> Exception:
    """The error (to raise) for a bad argument, in the one message style of this module.

    For the checks the helpers below do not cover; ``value`` is what the caller gave.

    >>> raise argument_error(ValueError, "make_blobs", "center_box", "a pair (low, high) with "
    ...                      "low <= high", (5, 1))
    Traceback (most recent call last):
    ...
    ValueError: make_blobs: center_box must be a pair (low, high) with low <= high, got tuple (5, 1)
    """
    return error(f"{who}: {name} must be {expected}, got {describe(value)}")


def is_int(value: Any) -> bool:
    """A Python or numpy integer, not a ``bool``.

    >>> is_int(3), is_int(np.int64(3)), is_int(True), is_int(3.0)
    (True, True, False, False)
    """
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_number(value: Any) -> bool:
    """A Python or numpy integer or float (possibly NaN or infinite), not a ``bool``.

    >>> is_number(0.5), is_number(np.float32(2)), is_number(False), is_number("1")
    (True, True, False, False)
    """
    return is_int(value) or isinstance(value, (float, np.floating))


def check_int(who: str, name: str, value: Any, minimum: int | None = None) -> int:
    """``value`` as an ``int``, or an error naming ``who`` and ``name``.

    >>> check_int("MLP", "nin", np.int64(2), minimum=1)
    2
    >>> check_int("MLP", "nin", 0, minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: MLP: nin must be an int of at least 1, got int 0
    >>> check_int("MLP", "nin", 2.0)
    Traceback (most recent call last):
    ...
    TypeError: MLP: nin must be an int, got float 2.0
    """
    if not is_int(value):
        raise argument_error(TypeError, who, name, "an int", value)
    if minimum is not None and value < minimum:
        raise argument_error(ValueError, who, name, f"an int of at least {minimum}", value)
    return int(value)


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"a number in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"a finite number {'greater than' if low_open else 'of at least'} {low}"
    if high is not None:
        return f"a finite number {'less than' if high_open else 'of at most'} {high}"
    return "a finite number"


def check_number(
    who: str, name: str, value: Any, *, low: float | None = None, high: float | None = None,
    low_open: bool = False, high_open: bool = False,
) -> float:
    """``value`` as a finite ``float`` in the given interval, or an error naming ``name``.

    ``low``/``high`` bound the interval (``None``: unbounded), ``low_open``/``high_open``
    exclude the bound itself.  NaN and infinities are always refused.

    >>> check_number("gradcheck", "eps", 1e-6, low=0, low_open=True)
    1e-06
    >>> check_number("gradcheck", "eps", 0.0, low=0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: gradcheck: eps must be a finite number greater than 0, got float 0.0
    >>> check_number("gradcheck", "atol", None, low=0)
    Traceback (most recent call last):
    ...
    TypeError: gradcheck: atol must be a number, got None
    """
    if not is_number(value):
        raise argument_error(TypeError, who, name, "a number", value)
    try:
        x = float(value)
    except OverflowError:  # an int too large for a float
        x = float("inf")
    if (not np.isfinite(x)
            or (low is not None and (x <= low if low_open else x < low))
            or (high is not None and (x >= high if high_open else x > high))):
        raise argument_error(ValueError, who, name, _interval(low, high, low_open, high_open), value)
    return x


def check_bool(who: str, name: str, value: Any) -> bool:
    """``value`` as a ``bool``: ``True``/``False`` or a numpy ``bool_``, nothing else.

    >>> check_bool("batches", "shuffle", np.True_)
    True
    >>> check_bool("batches", "shuffle", "no")
    Traceback (most recent call last):
    ...
    TypeError: batches: shuffle must be True or False, got str 'no'
    """
    if not isinstance(value, (bool, np.bool_)):
        raise argument_error(TypeError, who, name, "True or False", value)
    return bool(value)


def check_callable(who: str, name: str, value: Any) -> Callable[..., Any]:
    """``value`` if it can be called.

    >>> check_callable("gradcheck", "fn", 3)
    Traceback (most recent call last):
    ...
    TypeError: gradcheck: fn must be callable, got int 3
    """
    if not callable(value):
        raise argument_error(TypeError, who, name, "callable", value)
    return value


def check_choice(who: str, name: str, value: Any, choices: Collection[Any]) -> Any:
    """``value`` if it is one of ``choices`` (strings, possibly ``None``).

    A value of a type none of the choices has is a ``TypeError``, any other a ``ValueError``.

    >>> check_choice("Layer", "init", "xavier", ["he", "xavier", "uniform", None])
    'xavier'
    >>> check_choice("Layer", "init", "orthogonal", ["he", "xavier", "uniform", None])
    Traceback (most recent call last):
    ...
    ValueError: Layer: init must be one of 'he', 'xavier', 'uniform' or None, got str 'orthogonal'
    """
    if any(value is c if c is None else (isinstance(value, type(c)) and value == c)
           for c in choices):
        return value
    names = [repr(c) for c in choices]
    expected = "one of " + (", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1
                            else names[0])
    same_type = any(isinstance(value, type(c)) for c in choices if c is not None)
    raise argument_error(ValueError if same_type else TypeError, who, name, expected, value)


def check_sequence(who: str, name: str, value: Any, expected: str) -> list[Any]:
    """``value`` as a list, if it is a sequence or a 1-D array (not a string or a mapping).

    ``expected`` says what the sequence should hold, for the message.

    >>> check_sequence("MLP", "nouts", (16, 1), "a list of layer sizes (ints)")
    [16, 1]
    >>> check_sequence("MLP", "nouts", 3, "a list of layer sizes (ints)")
    Traceback (most recent call last):
    ...
    TypeError: MLP: nouts must be a list of layer sizes (ints), got int 3
    """
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value.tolist()
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes, bytearray)):
        raise argument_error(TypeError, who, name, expected, value)
    return list(value)


def check_mapping(who: str, name: str, value: Any, expected: str) -> Mapping[Any, Any]:
    """``value`` if it is a mapping (a ``dict``, say).

    >>> check_mapping("load_state_dict", "state", [1], "a dict of arrays by parameter name")
    Traceback (most recent call last):
    ...
    TypeError: load_state_dict: state must be a dict of arrays by parameter name, got list [1]
    """
    if not isinstance(value, Mapping):
        raise argument_error(TypeError, who, name, expected, value)
    return value


def check_dtype(
    who: str, name: str, value: Any, allowed: Sequence[Any] = (np.float32, np.float64),
) -> np.dtype:
    """``value`` as a numpy dtype, which must be one of ``allowed`` (float32 or float64).

    Anything numpy reads as a dtype is accepted (``"float32"``, ``np.float64``, ``None`` for
    float64); what numpy cannot read is a ``TypeError``, another dtype a ``ValueError``.

    >>> check_dtype("MLP", "dtype", "float32")
    dtype('float32')
    >>> check_dtype("MLP", "dtype", np.int32)
    Traceback (most recent call last):
    ...
    ValueError: MLP: dtype must be float32 or float64, got type int32
    """
    names = " or ".join(np.dtype(a).name for a in allowed)
    try:
        dtype = np.dtype(value)
    except (TypeError, ValueError):
        raise argument_error(TypeError, who, name, names, value) from None
    if dtype not in [np.dtype(a) for a in allowed]:
        raise argument_error(ValueError, who, name, names, value)
    return dtype


def check_random_state(who: str, name: str, value: Any) -> np.random.Generator:
    """A numpy ``Generator`` from a seed: an int of at least 0, ``None`` (fresh entropy), a
    ``Generator`` (used as it is) or a legacy ``RandomState`` (seeds a Generator and advances,
    so two calls with one RandomState differ, as in scikit-learn).

    >>> rng = check_random_state("make_moons", "random_state", 0)
    >>> int(rng.integers(100)) == int(np.random.default_rng(0).integers(100))
    True
    >>> check_random_state("make_moons", "random_state", "seed")
    Traceback (most recent call last):
    ...
    TypeError: make_moons: random_state must be an int, a numpy Generator ..., got str 'seed'
    """
    if isinstance(value, np.random.Generator):
        return value
    if isinstance(value, np.random.RandomState):
        return np.random.default_rng(value.randint(2**63 - 1, dtype=np.int64))
    if value is None:
        return np.random.default_rng()
    if not is_int(value):
        raise argument_error(TypeError, who, name,
                    "an int, a numpy Generator or RandomState, or None", value)
    if value < 0:
        raise argument_error(ValueError, who, name, "an int of at least 0 (or a Generator, or None)",
                    value)
    return np.random.default_rng(int(value))

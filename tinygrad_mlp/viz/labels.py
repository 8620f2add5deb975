"""Text in drawings: the course notation, numbers, and escaping of every user string.

Three notations write the same symbols:

* ``"html"``: Graphviz HTML-like labels, ``w<SUP>(1)</SUP><SUB>34</SUB>`` with the scripts in a
  smaller ``FONT`` (Graphviz 2.43 draws ``<SUB>``/``<SUP>`` at full size in SVG otherwise);
* ``"unicode"``: ``w⁽¹⁾₃₄``, plain text that renders with any Graphviz build;
* ``"plain"``: ``w(1)_34``, ASCII only.

In ``"html"`` the functions here return markup (already escaped); in the other notations they
return raw text that the caller escapes for the place it goes (:func:`record_text`,
:func:`dot_text`).  Every string a user can choose goes through one of the escaping functions, so
a label like ``<b>&"x'`` is shown as text and never read as markup.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_mlp.notation import ROLE_SYMBOLS, role_letter, user_label

__all__ = [
    "NOTATIONS",
    "SCRIPT_POINT_SIZE",
    "MAX_TEXT",
    "check_notation",
    "safe_text",
    "html_text",
    "dot_text",
    "record_text",
    "text",
    "symbol",
    "role_symbol",
    "node_name",
    "expression",
    "EXPRESSION_CHARS",
    "format_number",
    "format_array",
    "format_value",
]

NOTATIONS = ("html", "unicode", "plain")
SCRIPT_POINT_SIZE = 11  # sub/superscripts, next to the default 14 pt
# characters of one user string in a drawing: Graphviz refuses a label of more than 16,384
# bytes, and escaping makes one character up to 12 bytes ("&quot;", doubled backslashes)
MAX_TEXT = 1000

_SUP = str.maketrans("0123456789()+-=,", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾⁺⁻⁼,")
_SUB = str.maketrans("0123456789()+-=,", "₀₁₂₃₄₅₆₇₈₉₍₎₊₋₌,")


def check_notation(notation: str) -> str:
    """Return ``notation`` if it is one of :data:`NOTATIONS`, else raise a ``ValueError``.

    >>> check_notation("unicode")
    'unicode'
    """
    if notation not in NOTATIONS:
        raise ValueError(f"unknown notation {notation!r}; valid: {', '.join(map(repr, NOTATIONS))}")
    return notation


def safe_text(s: Any, max_chars: int = MAX_TEXT) -> str:
    """``s`` as one line of printable text that any drawing, caption or page can hold.

    Control characters have no glyph and some (a newline) change the meaning of DOT text:
    white space becomes a space, the others U+FFFD; so does a lone surrogate, which UTF-8
    cannot encode.  Text longer than ``max_chars`` (:data:`MAX_TEXT`) is cut to end in ``…``.

    >>> safe_text("a\\nb\\x07c\\ud800") == "a b\\ufffdc\\ufffd"
    True
    >>> safe_text("abcdef", max_chars=4)
    'abc…'
    """
    s = str(s)
    if len(s) > max_chars:
        s = s[: max(max_chars - 1, 0)] + "\N{HORIZONTAL ELLIPSIS}"
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else (" " if c.isspace() else "\N{REPLACEMENT CHARACTER}")
                   for c in s)


_printable = safe_text


def html_text(s: Any) -> str:
    """``s`` escaped for a Graphviz HTML-like label: shown as text, never as markup.

    Backslashes are doubled because Graphviz expands ``\\N``, ``\\G``... even inside
    HTML-like labels.

    >>> html_text('<b>&"x\\'')
    '&lt;b&gt;&amp;&quot;x&#x27;'
    """
    return html.escape(_printable(s), quote=True).replace("\\", "\\\\")


def dot_text(s: Any) -> str:
    """``s`` escaped for an ordinary quoted DOT label (no ``\\N`` expansion, never HTML).

    >>> str(dot_text("a\\\\N"))
    'a\\\\\\\\N'
    """
    import graphviz

    return graphviz.escape(_printable(s))


def record_text(s: Any) -> str:
    """``s`` escaped for one field of a ``shape=record`` label (``{ } | < >`` are syntax there).

    >>> str(record_text("]}{|"))
    ']\\\\}\\\\{\\\\|'
    """
    import graphviz

    out = graphviz.escape(_printable(s))
    for ch in "{}|<>":
        out = out.replace(ch, "\\" + ch)
    return graphviz.nohtml(out)


def text(s: Any, notation: str) -> str:
    """A user string as a label fragment: escaped in ``"html"``, unchanged otherwise.

    >>> text("<x>", "html"), text("<x>", "plain")
    ('&lt;x&gt;', '<x>')
    """
    return html_text(s) if notation == "html" else _printable(s)


def _script(indices: Sequence[Any]) -> str:
    # w_{12,3} needs a separator once an index has two digits; w_{123} would be ambiguous.
    parts = [str(i) for i in indices]
    return ("" if all(len(p) == 1 for p in parts) else ",").join(parts)


def symbol(
    letter: str, sup: Any = None, sub: Sequence[Any] = (), notation: str = "html", *,
    italic: bool = True,
) -> str:
    """``letter`` with a superscript in parentheses and a subscript, in ``notation``.

    >>> symbol("w", 1, (3, 4), "unicode"), symbol("w", 1, (3, 4), "plain")
    ('w⁽¹⁾₃₄', 'w(1)_34')
    >>> symbol("a", 2, (1,), "html")
    '<I>a</I><FONT POINT-SIZE="11"><SUP>(2)</SUP></FONT><FONT POINT-SIZE="11"><SUB>1</SUB></FONT>'
    """
    sub_text = _script(sub) if sub else ""
    sup_text = "" if sup is None else f"({sup})"
    if notation == "html":
        out = f"<I>{html_text(letter)}</I>" if italic else html_text(letter)
        if sup_text:
            out += f'<FONT POINT-SIZE="{SCRIPT_POINT_SIZE}"><SUP>{html_text(sup_text)}</SUP></FONT>'
        if sub_text:
            out += f'<FONT POINT-SIZE="{SCRIPT_POINT_SIZE}"><SUB>{html_text(sub_text)}</SUB></FONT>'
        return out
    if notation == "unicode":
        return letter + sup_text.translate(_SUP) + sub_text.translate(_SUB)
    check_notation(notation)
    return letter + sup_text + (f"_{sub_text}" if sub_text else "")


def role_symbol(role: str, index: Sequence[int] | None, notation: str = "html", *,
                bias: str = "b") -> str:
    """The notation for a node a model tagged with ``role`` and ``index``.

    ``bias="w0"`` writes a bias as the course note does, ``w^(l)_{j0}``.  A layer's parameter
    tensors (index ``(l,)``) read ``W^(l)`` and ``b^(l)``.

    >>> role_symbol("weight", (1, 3, 4), "unicode"), role_symbol("input", (0, 2), "unicode")
    ('w⁽¹⁾₃₄', 'x₂')
    >>> role_symbol("bias", (2, 1), "plain"), role_symbol("bias", (2, 1), "plain", bias="w0")
    ('b(2)_1', 'w(2)_10')
    >>> role_symbol("weight", (1,), "unicode"), role_symbol("bias", (1,), "unicode")
    ('W⁽¹⁾', 'b⁽¹⁾')
    """
    index = tuple(index or ())
    if role == "input":
        return symbol("x", None, index[-1:], notation)
    if role not in ROLE_SYMBOLS or not index:
        # a role the library does not know (a student's own): show it as given
        name = text(role, notation)
        return name + (text(str(index), notation) if index else "")
    if role == "bias" and bias == "w0" and len(index) >= 2:
        return symbol("w", index[0], (*index[1:], 0), notation)
    return symbol(role_letter(role, index), index[0], index[1:], notation)


def node_name(node: Any, notation: str = "html", *, model_aware: bool = True,
              bias: str = "b") -> str:
    """The name a drawing shows for ``node``: the user's label first, else the course notation.

    A label the user set (``out.label = "ŷ"``) wins; a model's node without one is named from
    its ``role`` and ``index`` (``w^(l)_{jk}``...), and with ``model_aware=False`` from its
    default label.  Markup in ``"html"``, raw text otherwise; ``""`` for an unnamed node.

    >>> from tinygrad_mlp import Value
    >>> w = Value(0.5); w.role, w.index = "weight", (1, 2, 1)
    >>> node_name(w, "unicode"), node_name(w, "plain", model_aware=False)
    ('w⁽¹⁾₂₁', 'w(1)_21')
    >>> w.label = "ŷ"; node_name(w, "unicode")
    'ŷ'
    """
    own = user_label(node)
    if own or not (model_aware and node.role is not None):
        return text(own or node.label, notation)
    return role_symbol(node.role, node.index, notation, bias=bias)


# infix operations: the symbol written and how tightly it binds
_INFIX = {"+": (" + ", 1), "-": (" - ", 1), "*": ("·", 2), "/": ("/", 2), "@": (" @ ", 2)}
_PREFIX, _POSTFIX, _ATOM = 3, 4, 5
EXPRESSION_CHARS = 60  # an expression longer than this writes its deeper operands as "…"
_DEEPEST = 6  # levels of unnamed operands written out at most


def _constant(n: Any) -> str | None:
    """A number that takes no part in the backward pass, written as itself (``2``, ``0.5``)."""
    if n.parents or n.requires_grad or n.role is not None or n.label:
        return None
    return f"array{tuple(n.shape)}" if n.ndim else f"{float(n.data):g}"


def _written(n: Any, depth: int, own: Callable[[Any], str], top: bool = False) -> tuple[str, int]:
    """``n`` as its operation on its operands' names, and how tightly that binds."""
    name = "" if top else own(n)
    if name:
        return name, _ATOM
    number = _constant(n)
    if number is not None:
        return number, (0 if number.startswith("-") else _ATOM)  # x - (-1)
    if not n.parents:  # an unnamed leaf: its value tells which one it is
        return f"value {format_value(n.data, 4)}", 0
    if depth <= 0:
        return "…", _ATOM
    fn = n.function
    op = (fn.label(n) if fn is not None else "") or n.op or "?"
    args = [_written(p, depth - 1, own) for p in n.parents]

    def wrap(arg: tuple[str, int], looser_than: int) -> str:
        text, binds = arg
        return text if binds > looser_than else f"({text})"

    if op in _INFIX and len(args) == 2:
        sign, binds = _INFIX[op]
        # read left to right: a + b + c is (a + b) + c, so only a right operand of the same
        # strength needs parentheses
        return f"{wrap(args[0], binds - 1)}{sign}{wrap(args[1], binds)}", binds
    if op == "-" and len(args) == 1:
        return "-" + wrap(args[0], _PREFIX), _PREFIX
    if len(args) == 1 and not op[:1].isalpha():  # d**2
        return wrap(args[0], _POSTFIX) + op, _POSTFIX
    return f"{op}({', '.join(text for text, _ in args)})", _ATOM


def expression(node: Any, *, model_aware: bool = True, bias: str = "b",
               max_chars: int = EXPRESSION_CHARS) -> str:
    """An unnamed node written as its operation on its operands, as a formula reads.

    Operands are named as :func:`node_name` names them (in ``"unicode"``), unnamed ones written
    out in turn: ``b⁽²⁾₁ + w⁽²⁾₁₁·a⁽¹⁾₁``, ``tanh(x·x - 1)``.  Parentheses only where the order
    of operations needs them; operands deeper than ``max_chars`` characters allow are ``…``.
    Hover texts and animation captions name a node with no name of its own this way.

    >>> from tinygrad_mlp import Value
    >>> a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    >>> expression((a * b + 1).tanh()), expression(a - (b - 1)), expression(-a * a ** 2)
    ('tanh(a·b + 1)', 'a - (b - 1)', '-a·a**2')
    >>> expression(a * b + a * b * a * b, max_chars=12)
    'a·b + …·a·b'
    """

    def own(n: Any) -> str:
        return node_name(n, "unicode", model_aware=model_aware, bias=bias)

    best = _written(node, 1, own, top=True)[0]
    if not node.parents:
        return best
    for depth in range(2, _DEEPEST + 1):  # as much of the expression as max_chars holds
        text = _written(node, depth, own, top=True)[0]
        if len(text) > max_chars:
            break
        best = text
    return best


def format_number(x: float, precision: int = 4) -> str:
    """A number with ``precision`` digits after the point; tiny and huge ones in ``e`` form.

    Gradients of 1e-7 must not print as ``0.0000``: that would hide a vanishing gradient.

    >>> format_number(2.0), format_number(-0.5, 2), format_number(1.5e-7), format_number(float("nan"))
    ('2.0000', '-0.50', '1.500e-07', 'nan')
    """
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x == 0:
        return f"{0.0:.{precision}f}"  # never "-0.0000"
    a = abs(x)
    if 1e-3 <= a < 1e6:
        return f"{x:.{precision}f}"
    return f"{x:.{max(precision - 1, 0)}e}"


def format_array(a: np.ndarray, precision: int = 4, max_chars: int = 40) -> str:
    """A one-line preview of an array, or its norm and mean when the preview would be long.

    >>> format_array(np.array([1.0, -2.0]), 2)
    '[1.00, -2.00]'
    >>> format_array(np.arange(100.0), 2)
    '‖·‖=573.02 mean=49.50'
    """
    a = np.asarray(a)
    if a.size and a.size <= 6:  # beyond that an elided preview says less than norm and mean
        with np.printoptions(precision=precision, threshold=8, edgeitems=2, floatmode="fixed",
                             sign="-", suppress=False, linewidth=10_000):
            preview = np.array2string(a, separator=", ").replace("\n", "")
        preview = " ".join(preview.split()).replace("[ ", "[")
        if len(preview) <= max_chars:
            return preview
    if a.size == 0:
        return "[]"
    with np.errstate(all="ignore"):
        norm = float(np.sqrt(np.sum(np.square(a, dtype=np.float64))))
        mean = float(np.mean(a, dtype=np.float64))
    return f"‖·‖={format_number(norm, precision)} mean={format_number(mean, precision)}"


def format_value(x: Any, precision: int = 4) -> str:
    """A scalar with :func:`format_number`, an array with :func:`format_array`.

    >>> format_value(0.25, 2), format_value(np.zeros(2), 1)
    ('0.25', '[0.0, 0.0]')
    """
    if isinstance(x, np.ndarray):
        return format_array(x, precision)
    return format_number(x, precision)

"""Expressions typed as text, such as ``"tanh(x*w + b)"``, turned into Values — safely.

The text is parsed with Python's :mod:`ast` and only a whitelist is accepted: numbers, names,
``+ - * / **``, unary ``-``/``+``, parentheses, calls of a few named functions, and
assignments ``e = a*b`` that name intermediate results (several statements separated by ``;``
or new lines; the last one is the result).  Nothing is ever passed to ``eval``: anything else
(attribute access, subscripts, other calls, strings, lambdas...) is refused with an
:class:`ExpressionError` that points at the column of the problem.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any

from tinygrad_mlp.engine import Value, registry

__all__ = ["ExpressionError", "parse_expression", "FUNCTIONS", "MAX_LENGTH"]

MAX_LENGTH = 10_000
_WINDOW = 72  # characters of a long line shown around an error

# the operations registered with expression=True, by name (kept in step with the registry)
FUNCTIONS: dict[str, Callable[[Value], Value]] = {}

registry.mirror(FUNCTIONS, "expression")

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a ** b,
}

_DESCRIBE = {
    ast.Attribute: "attribute access (.)",
    ast.Subscript: "indexing ([...])",
    ast.Constant: "a constant that is not a number",
    ast.Lambda: "lambda",
    ast.Compare: "comparison",
    ast.BoolOp: "and/or",
    ast.IfExp: "if/else",
    ast.List: "a list", ast.Tuple: "a tuple", ast.Dict: "a dict", ast.Set: "a set",
    ast.ListComp: "a comprehension", ast.GeneratorExp: "a generator",
    ast.JoinedStr: "an f-string", ast.Starred: "*unpacking",
    ast.Import: "import", ast.ImportFrom: "import",
    ast.MatMult: "the operator @", ast.FloorDiv: "the operator //", ast.Mod: "the operator %",
    ast.BitAnd: "the operator &", ast.BitOr: "the operator |", ast.BitXor: "the operator ^",
    ast.LShift: "the operator <<", ast.RShift: "the operator >>",
    ast.Invert: "the operator ~", ast.Not: "not",
    ast.NamedExpr: "the operator :=", ast.Await: "await",
}


class ExpressionError(ValueError):
    """An expression that cannot be drawn; the message shows where in the text it went wrong."""

    def __init__(self, message: str, source: str = "", line: int | None = None,
                 col: int | None = None, end_col: int | None = None) -> None:
        self.source, self.line, self.col = source, line, col
        text = message
        if source and line is not None and col is not None:
            lines = source.splitlines() or [""]
            shown = lines[line - 1] if 0 < line <= len(lines) else ""
            width = max(1, end_col - col) if end_col is not None and end_col > col else 1
            where = f"line {line}, column {col + 1}" if len(lines) > 1 else f"column {col + 1}"
            pointer = col
            if len(shown) > _WINDOW:  # show the problem, not a whole page of text
                start = max(0, min(col - _WINDOW // 3, len(shown) - _WINDOW))
                shown = ("…" if start else "") + shown[start:start + _WINDOW] + (
                    "…" if start + _WINDOW < len(shown) else "")
                pointer = col - start + (1 if start else 0)
                width = min(width, _WINDOW - (col - start))
            text = f"{message} (at {where})\n  {shown}\n  {' ' * pointer}{'^' * width}"
        super().__init__(text)


def _fail(message: str, source: str, node: ast.AST) -> ExpressionError:
    end = getattr(node, "end_col_offset", None)
    if getattr(node, "end_lineno", None) != getattr(node, "lineno", None):
        end = None
    return ExpressionError(message, source, getattr(node, "lineno", 1),
                           getattr(node, "col_offset", 0), end)


def _what(node: ast.AST) -> str:
    if isinstance(node, ast.Constant):
        return f"the constant {node.value!r} (only numbers are allowed)"
    return _DESCRIBE.get(type(node), type(node).__name__)


def parse_expression(source: str, values: Mapping[str, Any] | None = None) -> Value:
    """Build the Value of ``source`` with the names in it set from ``values``.

    Each name becomes a leaf Value labelled with its name (the same name, the same Value);
    ``e = a*b`` labels an intermediate result ``e``.  Allowed: numbers, ``+ - * / **``,
    unary minus, parentheses and the functions in :data:`FUNCTIONS` (``tanh``, ``relu``,
    ``sigmoid``, ``exp``, ``log``, ``abs``, ``sqrt``, ``leaky_relu``) with one argument.

    >>> L = parse_expression("e = a*b; d = e + c; L = tanh(d)", {"a": 2, "b": -3, "c": 10})
    >>> L.label, round(L.data, 4)
    ('L', 0.9993)
    >>> parse_expression("__import__('os')")
    Traceback (most recent call last):
    ...
    tinygrad_mlp.viz.expression.ExpressionError: unknown function '__import__'; known: abs, exp, ...
    """
    if not isinstance(source, str):
        raise TypeError(f"the expression must be a string, got {type(source).__name__}")
    if len(source) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(source)} characters long; at most "
                              f"{MAX_LENGTH} are accepted")
    if not source.strip():
        raise ExpressionError("the expression is empty")
    try:
        tree = ast.parse(source, mode="exec")
    except SyntaxError as e:
        col = (e.offset or 1) - 1
        raise ExpressionError(f"invalid syntax: {e.msg}", source, e.lineno or 1, max(col, 0),
                              None) from None
    except (RecursionError, MemoryError):
        raise ExpressionError("the expression is nested too deeply") from None
    given = dict(values or {})
    for name, v in given.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ExpressionError(f"{name!r} is not a valid name")
        if isinstance(v, bool) or not isinstance(v, (int, float)) and not hasattr(v, "__float__"):
            raise ExpressionError(f"the value of {name!r} must be a number, got {v!r}")
    return _Evaluator(source, given).run(tree)


class _Evaluator:
    def __init__(self, source: str, given: dict[str, Any]) -> None:
        self.source = source
        self.given = given
        self.names: dict[str, Value] = {}
        self.used: set[str] = set()

    def fail(self, message: str, node: ast.AST) -> ExpressionError:
        return _fail(message, self.source, node)

    def run(self, tree: ast.Module) -> Value:
        result: Any = None
        for stmt in tree.body:
            if isinstance(stmt, ast.Expr):
                result = self.evaluate(stmt.value)
            elif isinstance(stmt, ast.Assign):
                if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                    raise self.fail("assign to one plain name, as in e = a*b", stmt)
                target = stmt.targets[0]
                name = self.check_name(target)
                if name in self.names or name in self.given:
                    raise self.fail(f"{name!r} already has a value; use another name", target)
                result = self.as_value(self.evaluate(stmt.value))
                if result.label and result.label != name and not result.parents:
                    result = result * 1.0  # another leaf's Value: give the new name its own node
                result.label = name
                self.names[name] = result
            else:
                raise self.fail(f"unsupported syntax: {_what(stmt)}; write an expression "
                                "such as a*b + c", stmt)
        unused = sorted(set(self.given) - self.used)
        if unused:
            raise ExpressionError(f"values given for names the expression does not use: "
                                  f"{', '.join(unused)}")
        return self.as_value(result)

    def check_name(self, node: ast.Name) -> str:
        if node.id.startswith("__"):
            raise self.fail(f"names starting with '__' are not allowed: {node.id!r}", node)
        return node.id

    @staticmethod
    def as_value(x: Any) -> Value:
        return x if isinstance(x, Value) else Value(x, requires_grad=False)

    def evaluate(self, root: ast.AST) -> Any:
        # iterative post-order walk: a long sum a + a + ... + a must not hit the recursion limit
        results: dict[int, Any] = {}
        stack: list[tuple[ast.AST, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            children = self.children(node)
            if not ready and children:
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(children))
                continue
            results[id(node)] = self.combine(node, [results.pop(id(c)) for c in children])
        return results[id(root)]

    def children(self, node: ast.AST) -> list[ast.AST]:
        if isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY:
                raise self.fail(f"unsupported operator: {_what(node.op)}", node)
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, (ast.USub, ast.UAdd)):
                raise self.fail(f"unsupported operator: {_what(node.op)}", node)
            return [node.operand]
        if isinstance(node, ast.Call):
            func = node.func
            if not isinstance(func, ast.Name):
                raise self.fail(f"unsupported call: only the functions {', '.join(sorted(FUNCTIONS))} "
                                f"can be called, not {_what(func)}", func)
            if func.id not in FUNCTIONS:
                raise self.fail(f"unknown function {func.id!r}; known: {', '.join(sorted(FUNCTIONS))}",
                                func)
            if node.keywords or len(node.args) != 1:
                raise self.fail(f"{func.id}() takes exactly one argument", node)
            return [node.args[0]]
        if isinstance(node, (ast.Name, ast.Constant)):
            return []
        raise self.fail(f"unsupported syntax: {_what(node)}", node)

    def combine(self, node: ast.AST, args: list[Any]) -> Any:
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise self.fail(f"unsupported syntax: {_what(node)}", node)
            return float(v)
        if isinstance(node, ast.Name):
            return self.lookup(node)
        if isinstance(node, ast.BinOp):
            left, right = args
            if not isinstance(left, Value):
                # number (op) number: compute with Value so 1/0 and 10.0**400 follow numpy
                # (inf, nan) instead of raising Python's ZeroDivisionError or OverflowError
                left = Value(left, requires_grad=False)
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            (x,) = args
            return -x if isinstance(node.op, ast.USub) else x
        if isinstance(node, ast.Call):
            (x,) = args
            return FUNCTIONS[node.func.id](self.as_value(x))
        raise self.fail(f"unsupported syntax: {_what(node)}", node)  # pragma: no cover

    def lookup(self, node: ast.Name) -> Value:
        name = self.check_name(node)
        if name in self.names:
            return self.names[name]
        if name in FUNCTIONS:
            raise self.fail(f"{name} is a function: call it, as in {name}(x)", node)
        if name not in self.given:
            raise self.fail(f"no value given for {name!r}", node)
        self.used.add(name)
        v = Value(float(self.given[name]), label=name)
        self.names[name] = v
        return v

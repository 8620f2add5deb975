"""A long-lived worker process for ``tests/test_engines_agree.py``: runs programs on one engine.

The engine is chosen once per process by ``TINYGRAD_MLP_ENGINE`` (``fast`` or ``reference``),
so the differential test starts one of these per engine and sends each the same requests, one
JSON object per line on stdin; each answer is one JSON line on stdout.  Requests:

* ``{"cmd": "hello"}``: the engine asked for and ``tinygrad_mlp.ENGINE`` (None before it exists).
* ``{"cmd": "run", "program": {...}}``: build the program's graph with the public API, run
  ``backward()`` on its root, and report every node's data and grad (see :func:`run_program`).
* ``{"cmd": "demo", ...}``: micrograd's demo step, ``steps`` times (see :func:`run_demo`).
* ``{"cmd": "quit"}``.

Floats and arrays travel bit-exactly (NaN, inf and -0.0 included): a Python float as the hex of
its 8 bytes, an array as dtype, shape and the base64 of its bytes (see :func:`encode`).

A program is plain data: ``{"instrs": [...], "root": {"terms": [[node, weight], ...],
"passes": n}}``, plus ``"second": {...}`` for a program that takes its first-order gradients
with a graph and differentiates them again (see :func:`run_program` and
:func:`_second_order`).  Each instruction that makes a node appends it to the list of nodes,
and later instructions refer to earlier nodes by their number.  An operand is ``{"node": i}``,
``{"num": <float.hex>}``, ``{"int": n}`` or ``{"array": <encoded array>}``.

Instructions ``{"op": "no_grad"}`` and ``{"op": "enable_grad"}`` open a region and
``{"op": "end"}`` closes the innermost one; the root is built outside every region.

An exception raised by a program is reported (its type name and message), never fatal: the
worker goes on with the next request.  ``ENGINE_WORKER_SELFTEST_PERTURB=1`` in the environment
makes the worker change the first leaf gradient it reports by 1e-3 (relative), ``=second`` the
first second-order leaf gradient; only the harness's own self-tests set it, to prove that the
comparison can fail.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import sys
import traceback
from typing import Any

import numpy as np

# --------------------------------------------------------------------------- encoding


def encode(x: Any) -> dict[str, Any]:
    """A float or an ndarray as JSON, bit-exactly; any other type is named, so it shows."""
    if type(x) is float:
        return {"f": struct.pack("<d", x).hex()}
    if type(x) is np.ndarray:
        a = np.ascontiguousarray(x)
        return {
            "dtype": a.dtype.str,
            "shape": list(a.shape),
            "b64": base64.b64encode(a.tobytes()).decode("ascii"),
        }
    return {"other": type(x).__name__, "repr": repr(x)}


def decode(d: dict[str, Any]) -> Any:
    """The float or ndarray :func:`encode` made (a fresh, writable array)."""
    if "f" in d:
        return struct.unpack("<d", bytes.fromhex(d["f"]))[0]
    if "b64" in d:
        raw = base64.b64decode(d["b64"])
        return np.frombuffer(raw, dtype=np.dtype(d["dtype"])).reshape(d["shape"]).copy()
    raise ValueError(f"cannot decode {d!r}")


def encode_float(x: float) -> str:
    return float(x).hex()


def decode_float(s: str) -> float:
    return float.fromhex(s)


# --------------------------------------------------------------------------- user Functions


def _functions() -> dict[str, Any]:
    """The user-defined operations programs may call, written as a student writes them."""
    from tinygrad_mlp import Function

    class Sin(Function):
        """sin(x): saves its input with ``ctx.save_for_backward``."""

        symbol = "sin"

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.sin(x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_values
            return grad * np.cos(x)

        @staticmethod
        def backward_graph(ctx, grad):
            (x,) = ctx.parents
            return grad * Cos.apply(x)

    class Cos(Function):
        """cos(x): only Sin's ``backward_graph`` makes it (and Cos's own makes a Sin)."""

        symbol = "cos"

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return np.cos(x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_values
            return -(grad * np.sin(x))

        @staticmethod
        def backward_graph(ctx, grad):
            (x,) = ctx.parents
            return -(grad * Sin.apply(x))

    class Scale(Function):
        """x * k for a number k passed through: keeps k as an attribute of ctx."""

        @staticmethod
        def forward(ctx, x, k):
            ctx.k = k
            ctx.note = "scaled"
            return x * k

        @staticmethod
        def backward(ctx, grad):
            assert ctx.note == "scaled"
            return grad * ctx.k, None

        @staticmethod
        def backward_graph(ctx, grad):
            assert ctx.note == "scaled"
            return grad * ctx.k, None

    class Axpy(Function):
        """alpha * x + y, alpha passed through first; x and y broadcast together.

        Its backward returns gradients of the broadcast output shape (the engine sums them
        back to each operand's shape) and None for an input that needs none.
        """

        symbol = "axpy"

        @staticmethod
        def forward(ctx, alpha, x, y):
            ctx.alpha = alpha
            return alpha * x + y

        @staticmethod
        def backward(ctx, grad):
            _, need_x, need_y = ctx.needs_input_grad
            return None, grad * ctx.alpha if need_x else None, grad if need_y else None

        @staticmethod
        def backward_graph(ctx, grad):
            _, need_x, need_y = ctx.needs_input_grad
            return None, grad * ctx.alpha if need_x else None, grad if need_y else None

    class Cube(Function):
        """x ** 3 with a ``backward`` only: ``create_graph=True`` through it must raise."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_values
            return grad * 3 * x * x

    class Tap(Function):
        """The identity; its backward passes on the absolute value of the gradient.

        Only the tolerance run uses it (see :func:`run_program`), once per use of a node.
        """

        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return abs(grad) if type(grad) is float else np.abs(grad)

    return {"Sin": Sin, "Cos": Cos, "Scale": Scale, "Axpy": Axpy, "Cube": Cube, "Tap": Tap}


# --------------------------------------------------------------------------- programs


def _index(items: list[dict[str, Any]], as_tuple: bool) -> Any:
    out: list[Any] = []
    for item in items:
        if "int" in item:
            out.append(item["int"])
        elif "slice" in item:
            out.append(slice(*item["slice"]))
        else:
            out.append(np.array(item["array"], dtype=np.int64))
    return tuple(out) if as_tuple or len(out) != 1 else out[0]


_BINARY = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "@": lambda a, b: a @ b,
    "**": lambda a, b: a**b,
}


def _instruction(ins: dict[str, Any], node: Any, operand: Any, fns: dict[str, Any]) -> Any:
    """The node one instruction makes; ``node(i)`` is node i, ``operand(spec)`` an operand."""
    import tinygrad_mlp as tg

    op = ins["op"]
    if op == "leaf":
        return tg.Value(decode(ins["data"]), requires_grad=ins["requires_grad"])
    if op == "binary":
        return _BINARY[ins["fn"]](operand(ins["a"]), operand(ins["b"]))
    if op == "func":
        return fns[ins["fn"]].apply(*[operand(a) for a in ins["args"]])
    x = node(ins["a"])
    if op == "unary":
        fn = ins["fn"]
        if fn == "neg":
            return -x
        if fn == "leaky_relu" and "slope" in ins:
            return x.leaky_relu(decode_float(ins["slope"]))
        return getattr(x, fn)()
    if op == "reduce":
        kwargs = {}
        if ins["axis"] != "omit":
            ax = ins["axis"]
            kwargs["axis"] = tuple(ax) if isinstance(ax, list) else ax
        if ins["keepdims"] is not None:
            kwargs["keepdims"] = ins["keepdims"]
        return getattr(x, ins["fn"])(**kwargs)
    if op == "index":
        return x[_index(ins["index"], ins["tuple"])]
    if op == "reshape":
        shape = tuple(ins["shape"])
        return x.reshape(*shape) if ins["style"] == "args" else x.reshape(shape)
    if op == "transpose":
        if ins["style"] == "T":
            return x.T
        if ins["axes"] is None:
            return x.transpose()
        if ins["style"] == "args":
            return x.transpose(*ins["axes"])
        return x.transpose(tuple(ins["axes"]))
    if op == "astype":
        return x.astype(np.dtype(ins["dtype"]))
    raise ValueError(f"unknown instruction {op!r}")


def _build(program: dict[str, Any], fns: dict[str, Any], taps: bool) -> tuple[list, list, Any]:
    """Run the program's instructions; returns (nodes, constant arrays used, root)."""
    import tinygrad_mlp as tg

    nodes: list[Any] = []
    consts: list[tuple[np.ndarray, bytes]] = []  # (array, its bytes before the run)
    tap = fns["Tap"].apply

    def node(i: int) -> Any:
        return tap(nodes[i]) if taps else nodes[i]

    def operand(spec: dict[str, Any]) -> Any:
        if "node" in spec:
            return node(spec["node"])
        if "num" in spec:
            return decode_float(spec["num"])
        if "int" in spec:
            return int(spec["int"])
        arr = decode(spec["array"])
        consts.append((arr, arr.tobytes()))
        return arr

    modes: list[Any] = []  # the open no_grad / enable_grad regions, innermost last
    try:
        for ins in program["instrs"]:
            op = ins["op"]
            if op in ("no_grad", "enable_grad"):
                mode = tg.no_grad() if op == "no_grad" else tg.enable_grad()
                mode.__enter__()
                modes.append(mode)
                continue
            if op == "end":
                modes.pop().__exit__(None, None, None)
                continue
            nodes.append(_instruction(ins, node, operand, fns))
    finally:
        while modes:  # the root is built outside every region
            modes.pop().__exit__(None, None, None)
    root = None
    for i, w in program["root"]["terms"]:
        t = node(i)
        if t.shape != ():
            t = t.sum()
        t = t * decode_float(w)
        root = t if root is None else root + t
    return nodes, consts, root


def run_program(program: dict[str, Any], fns: dict[str, Any]) -> dict[str, Any]:
    """Build the program, run ``backward()`` ``passes`` times, report data and grads.

    Then a second, separate run of the same program gives the scale ``S`` of each gradient for
    the tolerance: there every use of a node goes through ``Tap`` (identity forward, absolute
    value backward), so each node's grad becomes the sum of the absolute values of its
    consumers' contributions, with absolute values fed on upstream (the issue's S).

    A program with a ``"second"`` part takes first-order gradients with a graph instead
    (``backward(create_graph=True)`` ``passes`` times, or ``grad(root, leaves,
    create_graph=True)``), then differentiates a second root built from them (see
    :func:`_second_order`).  Its nodes' ``grad`` are then the first-order ones (a Value's data),
    ``None`` where there is none (reading it would make a zero one), and the answer has
    ``"firsts"`` (each leaf's first-order gradient) and ``"second"`` (the second pass).
    The tap run stays first-order: it gives S for the first-order gradients.
    """
    import tinygrad_mlp as tg
    from tinygrad_mlp.engine.base import ValueBase

    second = program.get("second")
    nodes, consts, root = _build(program, fns, taps=False)
    passes = program["root"]["passes"]
    leaf_numbers = [i for i, v in enumerate(nodes) if v.is_leaf and v.requires_grad]
    leaves = [nodes[i] for i in leaf_numbers]  # grad()'s inputs
    firsts: list[Any] | None = None
    if second is None:
        for _ in range(passes):
            root.backward()
    elif second["how"] == "grad":
        firsts = list(tg.grad(root, leaves, create_graph=True, allow_unused=True))
    else:
        for _ in range(passes):
            root.backward(create_graph=True)
        firsts = [v.grad if v.has_grad else None for v in leaves]
    has_grad = [v.has_grad for v in nodes]  # before reading .grad, which makes a zero one
    report = []
    for v, hg in zip(nodes, has_grad):
        g = v.grad if hg or second is None else None
        report.append({
            "data": encode(v.data),
            "grad": encode(g.data if isinstance(g, ValueBase) else g),
            "grad_is_value": isinstance(g, ValueBase),
            "has_grad": hg,
            "requires_grad": v.requires_grad,
            "is_leaf": v.is_leaf,
            "op": v.op,
        })
    perturb = os.environ.get("ENGINE_WORKER_SELFTEST_PERTURB")
    if perturb == "1":
        for v, r in zip(nodes, report):
            if v.is_leaf and v.requires_grad:
                r["grad"] = encode(_perturbed(decode(r["grad"])))
                break
    answer: dict[str, Any] = {"ok": True, "nodes": report, "root": encode(root.data)}
    second_scales: list[Any] = []
    if firsts is not None:
        answer["leaves"] = leaf_numbers
        answer["firsts"] = [None if g is None else {
            "data": encode(g.data),
            "is_value": isinstance(g, ValueBase),
            # the gradient's graph, operands first: op, derivative_order, requires_grad
            "graph": [[n.op, n.derivative_order, n.requires_grad] for n in g.graph()],
        } for g in firsts]
        answer["second"], second_scales = _second_order(second, nodes, leaves, firsts, consts)
        if perturb == "second":
            for r in answer["second"].get("nodes", []):
                if r["is_leaf"] and r["has_grad"]:
                    r["grad"] = encode(_perturbed(decode(r["grad"])))
                    break
    answer["consts_unchanged"] = all(a.tobytes() == before for a, before in consts)
    try:
        s_nodes, _, s_root = _build(program, fns, taps=True)
        for _ in range(passes):
            s_root.backward()
        scale = [v.grad for v in s_nodes]
        answer["scale"] = [encode(s) for s in scale]
        for r, s2 in zip(answer.get("second", {}).get("nodes", []), second_scales):
            if r["grad_is_value"]:  # a leaf that kept its first-order gradient: S1 + S2
                s1 = scale[r["node"]]
                s2 = s1 + s2 if s2 is not None else s1
            r["scale"] = encode(s2)
    except Exception as exc:  # the program ran: a failing tolerance run is the harness's bug
        answer["scale_error"] = _error(exc)
    return answer


def _perturbed(g: Any) -> Any:
    """``g`` changed by 1e-3 (relative) for the self-test; None stays None."""
    if g is None:
        return None
    if type(g) is np.ndarray:
        return g + (1e-3 * (1 + np.abs(g))).astype(g.dtype)
    return g + 1e-3 * (1 + abs(g))


def _second_order(second: dict[str, Any], nodes: list, leaves: list, firsts: list,
                  consts: list) -> tuple[dict[str, Any], list[Any]]:
    """Differentiate a scalar built from the first-order gradients; report its whole graph.

    ``second["terms"]``: for a leaf whose first-order gradient ``g`` is a Value, ``w * sum(g *
    v)`` (``"dot"``, v a constant), ``w * sum(g * g * v)`` (``"square"``) or ``w * sum(g *
    x)`` (``"leaf"``, x the leaf itself); ``second["forward"]``: ``w * sum(node)`` for nodes
    of the first-order graph.  Unless ``keep``, the leaves' gradients are cleared
    (``x.grad = None``) before the plain ``backward()`` on that root, so they then hold the
    second-order gradients only; with ``keep`` a leaf holding a Value gradient adds the
    second-order one to it (a Value again).

    Returns the report (the second root's data, and for each node of its graph, in
    ``graph()`` order: its program node number or None, op, derivative_order, flags, data,
    grad, operands) and the S of each node's grad from :func:`_abs_backward`.
    """
    from tinygrad_mlp.engine.base import ValueBase

    by_leaf = {id(x): g for x, g in zip(leaves, firsts) if g is not None}
    parts: list[tuple[Any, str]] = []
    for t in second["terms"]:
        x = nodes[t["leaf"]]
        g = by_leaf.get(id(x))
        if g is None:  # the root did not depend on this leaf
            continue
        if t["kind"] == "leaf":
            e = g * x
        else:
            spec = t["v"]
            if "num" in spec:
                v: Any = decode_float(spec["num"])
            else:
                v = decode(spec["array"])
                consts.append((v, v.tobytes()))
            e = g * v if t["kind"] == "dot" else g * g * v
        parts.append((e, t["w"]))
    parts += [(nodes[i], w) for i, w in second["forward"]]
    root2 = None
    for e, w in parts:
        if e.shape != ():
            e = e.sum()
        e = e * decode_float(w)
        root2 = e if root2 is None else root2 + e
    if root2 is None:
        return {"root": None}, []
    out: dict[str, Any] = {"root": encode(root2.data), "requires_grad": root2.requires_grad}
    if not root2.requires_grad:
        return out, []
    if not second["keep"]:
        for x in leaves:
            x.grad = None
    root2.backward()
    graph = root2.graph()
    where = {id(v): k for k, v in enumerate(graph)}
    number = {id(v): i for i, v in enumerate(nodes)}
    rows = []
    for v in graph:
        hg = v.has_grad
        g = v.grad if hg else None
        rows.append({
            "node": number.get(id(v)),
            "op": v.op,
            "order": v.derivative_order,
            "requires_grad": v.requires_grad,
            "is_leaf": v.is_leaf,
            "has_grad": hg,
            "grad_is_value": isinstance(g, ValueBase),
            "data": encode(v.data),
            "grad": encode(g.data if isinstance(g, ValueBase) else g),
            "parents": [where[id(p)] for p in v.parents],
        })
    out["nodes"] = rows
    scale = _abs_backward(root2)
    return out, [scale.get(id(v)) for v in graph]


def _abs_backward(root: Any) -> dict[int, Any]:
    """S for a plain ``backward()`` of ``root``: the same walk with absolute values.

    Each operation's own ``backward`` is fed the (non-negative) S of its output, the absolute
    value of each contribution it returns is summed back to its operand's shape, and an
    operand's S is the sum of those over its consumers: the sum of the absolute values of the
    contributions, with absolute values fed on upstream, as the ``Tap`` run measures for a
    first-order pass.  (A second-order graph is made by ``backward_graph`` inside the library,
    so its uses cannot be wrapped in ``Tap``: this walk takes the wrappers' place.)  Keyed by
    ``id`` of the node.
    """
    from tinygrad_mlp.engine import ENGINE_MODULE
    from tinygrad_mlp.engine.arrays import IndexGrad, fit_grad, root_grad

    consumers: dict[int, int] = {}
    stack, seen = [root], {id(root)}
    while stack:
        for p in stack.pop().parents:
            consumers[id(p)] = consumers.get(id(p), 0) + 1
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    scale: dict[int, Any] = {id(root): abs(root_grad(root, None))}
    ready = [root]
    while ready:
        node = ready.pop()
        if node.is_leaf:
            continue
        s = scale.get(id(node))
        if s is None:
            per: list[Any] = [None] * len(node.parents)
        else:
            out = node.function.backward(node, s)
            per = ENGINE_MODULE.operand_grads(node, out if isinstance(out, (tuple, list)) else (out,))
        for p, pg in zip(node.parents, per):
            if pg is not None and p.requires_grad:
                if type(pg) is IndexGrad:
                    pg = IndexGrad(pg.index, np.abs(pg.value), pg.basic)
                else:
                    pg = abs(pg) if type(pg) is float else np.abs(pg)
                c = fit_grad(pg, p.data, node.op, node.shape)
                cur = scale.get(id(p))
                scale[id(p)] = c if cur is None else cur + c
            consumers[id(p)] -= 1
            if consumers[id(p)] == 0:
                ready.append(p)
    return scale


# --------------------------------------------------------------------------- micrograd's demo


def run_demo(style: str, steps: int, data_seed: int, model_seed: int) -> dict[str, Any]:
    """micrograd's demo step: moons, ``MLP(2, [16, 16, 1])``, SVM loss + 1e-4 L2, SGD.

    ``style`` is ``"vectorized"`` (``model(X)`` on the (100, 2) array) or ``"scalar"``
    (``model([x1, x2])`` per sample: the neuron-level scalar graph, outputs stacked).  Reports
    the loss and every parameter after each step.
    """
    from tinygrad_mlp.data import make_moons
    from tinygrad_mlp.functional import hinge_loss, l2_penalty
    from tinygrad_mlp.nn import MLP, stack
    from tinygrad_mlp.optim import SGD

    X, y = make_moons(100, noise=0.1, random_state=data_seed)
    y = y * 2 - 1
    model = MLP(2, [16, 16, 1], seed=model_seed)
    opt = SGD(model.parameters(), lr=lambda k: 1.0 - 0.9 * k / 100)
    rows = X.tolist()
    losses, params = [], []
    for _ in range(steps):
        if style == "scalar":
            scores = stack([model(list(x)) for x in rows])
        else:
            scores = model(X)
        loss = hinge_loss(scores, y) + l2_penalty(model.parameters(), 1e-4)
        model.zero_grad()
        loss.backward()
        opt.step()
        losses.append(encode(loss.data))
        params.append([[name, encode(p.data)] for name, p in model.named_parameters()])
    return {"ok": True, "losses": losses, "params": params}


# --------------------------------------------------------------------------- main loop


def _error(exc: BaseException) -> dict[str, Any]:
    """An exception as JSON; ``in_library`` tells whether it passed through tinygrad_mlp's code
    (one raised only in this file is a bug of the harness, not a behaviour of an engine)."""
    package = os.path.dirname(sys.modules["tinygrad_mlp"].__file__) if "tinygrad_mlp" in sys.modules else None
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "ok": False,
        "error_type": type(exc).__name__,
        "error": str(exc)[:2000],
        "in_library": package is not None and any(
            f.filename.startswith(package + os.sep) for f in frames),
        "traceback": "".join(traceback.format_exception(exc))[-4000:],
    }


def main() -> None:
    # Answers go to the real stdout; anything the library prints goes to stderr instead, so it
    # can never corrupt the protocol.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout = sys.stderr
    import tinygrad_mlp

    fns = _functions()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            cmd = req["cmd"]
            if cmd == "quit":
                break
            if cmd == "hello":
                answer = {
                    "ok": True,
                    "requested": os.environ.get("TINYGRAD_MLP_ENGINE"),
                    "engine": getattr(tinygrad_mlp, "ENGINE", None),
                    "file": tinygrad_mlp.__file__,
                    "pid": os.getpid(),
                }
            elif cmd == "run":
                answer = run_program(req["program"], fns)
            elif cmd == "demo":
                answer = run_demo(req["style"], req["steps"], req["data_seed"], req["model_seed"])
            else:
                raise ValueError(f"unknown command {cmd!r}")
        except Exception as exc:  # report it and go on with the next request
            answer = _error(exc)
        try:
            text = json.dumps(answer)
        except Exception as exc:  # an answer that cannot be sent is reported as an error
            text = json.dumps(_error(exc))
        out.write(text + "\n")
        out.flush()


if __name__ == "__main__":
    main()

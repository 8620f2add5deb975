"""Proof that the two engines agree (issue 9): the same programs, run on each, give the same
``data`` and ``grad``.

The engine is chosen once per process (``TINYGRAD_MLP_ENGINE=fast`` or ``reference``), so this
test drives two long-lived worker processes (``tests/engine_worker.py``), one per engine, started
once for the module.  Hypothesis generates random programs as plain data (see
:func:`programs`); each worker builds the program's graph with the public API, runs
``backward()`` on a scalar root and sends back every node's data and grad, bit-exactly.

What must agree (:func:`compare`):

* ``data`` of every node, and the root's: bit-identical (same type, dtype, shape and bits).
  Both engines run the same operations' forward code, so nothing else is acceptable.
* ``grad`` of every node: bit-identical, or ``|a - b| <= rtol * S`` elementwise, ``rtol`` being
  1e-12 for float64 and 1e-5 for float32.  Gradients may differ in the last bits when an engine
  adds a node's contributions in another order (``0.1*x + 0.2*x - 0.3*x`` gives 2.8e-17 in one
  order, 5.6e-17 in another), so the bound scales with ``S``, the sum of the absolute values of
  the contributions, not with the gradient itself (which may cancel to almost nothing).  The
  workers measure S with a second run of the same program in which every use of a node goes
  through an identity ``Function`` whose backward passes on ``abs(grad)``: each node's grad is
  then the sum of its consumers' contributions in absolute value, fed with absolute values from
  above (see ``run_program`` in the worker).  Where S is not finite the gradient depends on the
  order (``(big + big) - big`` overflows in one order only) and is not compared.  A float64
  node's gradient that went through float32 nodes (a float64 scalar added to a float32 tensor)
  has float32's precision: the float32 tolerance applies to it.
* ``requires_grad``, ``is_leaf``, ``op`` and ``has_grad`` of every node; a leaf's data as given;
  numpy arrays used as operands unchanged.
* Errors: if one engine raises, the other must raise an exception of the same type; the
  program's values are then not compared.

Second-order programs (issue 11; about a third of the random ones, see
:meth:`_Builder.second_order`) take the first-order gradients with a graph,
``backward(create_graph=True)`` (``passes`` times) or ``grad(root, leaves, create_graph=True)``,
then build a second scalar root from the leaves' Value gradients ``g`` (``w * sum(g * v)`` for
a random constant ``v``, ``w * sum(g * g * v)``, ``w * sum(g * x)`` with ``x`` the leaf, plus
``w * sum(node)`` for nodes of the first-order graph), and run a plain ``backward()`` on it,
after clearing the leaves' gradients or (``keep``) adding to them.  On top of the above
(:func:`_second_order_agrees`):

* each leaf's first-order gradient is a Value on both engines or on neither; its data is
  compared with the rule above (its S is the tap run's, which stays first-order); its graph
  has the same ops, ``requires_grad`` and ``derivative_order`` node by node;
* every node of the second root's graph (the forward nodes, the first-order gradients' nodes,
  the second root's own) has the same op, ``derivative_order``, flags and operands, and
  bit-identical data; its second-order grad agrees within ``rtol * S``.  The tap trick does
  not reach the nodes a create_graph pass records (the library's ``backward_graph`` code makes
  them, their uses cannot be wrapped), so the worker measures S by walking the second root's
  graph itself (``_abs_backward``): each operation's own ``backward`` is fed the S of its
  output, and the absolute values of what it returns, summed back to each operand's shape,
  add up into the operand's S: the same quantity the tap run gives, the sum of the absolute
  values of the contributions fed with absolute values from above.  A leaf that kept its
  first-order Value gradient holds first plus second order: its S is the sum of both S.
  The float32 tolerance applies where a float32 node lies downstream in that graph.
* ``derivative_order`` is compared on every node: a node an operation records during a
  create_graph pass has the pass's order, a constant made there with ``Value(...)`` has 0.

``ENGINES_AGREE_EXAMPLES`` in the environment sets the number of programs (100 by default).
Each worker must report, as ``tinygrad_mlp.ENGINE``, the engine it was asked for; a package
without that attribute (before the reference engine existed) runs the fast engine in both, and
the test still runs.

The harness was checked against a reference engine that adds every gradient contribution with
a random one-ulp error (15,000 programs, half of them differing in the last bits: no false
alarm) and against one that drops repeated positions of an integer-array index (caught).  With
the second-order programs, the same one-ulp reference engine ran 5,000 more (28% within
tolerance, none beyond).
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

ROOT = Path(__file__).resolve().parents[1]
WORKER_PATH = Path(__file__).resolve().with_name("engine_worker.py")
ENGINES = ("fast", "reference")
MAX_EXAMPLES = int(os.environ.get("ENGINES_AGREE_EXAMPLES", "100"))
RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}
MODE_OPS = ("no_grad", "enable_grad", "end")

# the worker's bit-exact codec (the module imports tinygrad_mlp only inside its functions)
_spec = importlib.util.spec_from_file_location("_engine_worker_codec", WORKER_PATH)
worker_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker_module)
encode, decode = worker_module.encode, worker_module.decode


# --------------------------------------------------------------------------- workers
class Worker:
    """One worker process on one engine: JSON lines in, JSON lines out."""

    def __init__(self, engine: str, **extra_env: str) -> None:
        self.engine = engine
        env = dict(os.environ)
        env.pop("ENGINE_WORKER_SELFTEST_PERTURB", None)
        env["TINYGRAD_MLP_ENGINE"] = engine
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = "1"  # one BLAS thread in both workers: the same summation order in @
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
        env.update(extra_env)
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER_PATH)], cwd=ROOT, env=env, text=True, encoding="utf-8",
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, bufsize=1,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)  # end of file: the worker is gone

    def _stderr_tail(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-3000:].decode("utf-8", "replace")

    def send(self, request: dict[str, Any]) -> None:
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except OSError:
            raise RuntimeError(f"the {self.engine} worker is gone:\n{self._stderr_tail()}") from None

    def receive(self, timeout: float = 120.0) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"the {self.engine} worker did not answer in {timeout} s") from None
        if line is None:
            raise RuntimeError(f"the {self.engine} worker died:\n{self._stderr_tail()}")
        return json.loads(line)

    def request(self, request: dict[str, Any]) -> dict[str, Any]:
        self.send(request)
        return self.receive()

    def close(self) -> None:
        try:
            self.send({"cmd": "quit"})
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()


def ask(workers: list[Worker], request: dict[str, Any]) -> list[dict[str, Any]]:
    """Send one request to every worker at once (they run in parallel), then collect answers."""
    for w in workers:
        w.send(request)
    return [w.receive() for w in workers]


@pytest.fixture(scope="module")
def workers():
    started: list[Worker] = []
    try:
        for engine in ENGINES:
            started.append(Worker(engine))
        yield started
    finally:
        for w in started:
            w.close()


def test_each_worker_runs_the_engine_it_was_asked_for(workers):
    for w, hello in zip(workers, ask(workers, {"cmd": "hello"})):
        assert hello["ok"], hello
        assert hello["requested"] == w.engine
        assert Path(hello["file"]).resolve().is_relative_to(ROOT), hello["file"]
        # None until the package names its engine; from then on it must be the one asked for
        engine = hello["engine"]
        assert engine is None or engine == w.engine, (w.engine, engine)


# --------------------------------------------------------------------------- comparison
def _kind(enc: dict[str, Any]) -> str:
    if "f" in enc:
        return "float"
    if "b64" in enc:
        return f"array {enc['dtype']} {tuple(enc['shape'])}"
    return f"{enc.get('other')} {enc.get('repr')}"


def _operands(ins: dict[str, Any]) -> list[int]:
    """The nodes an instruction reads."""
    specs = [ins.get("a"), ins.get("b")] + ins.get("args", [])
    return [x if isinstance(x, int) else x["node"] for x in specs
            if isinstance(x, int) or isinstance(x, dict) and "node" in x]


def _float32_downstream(node_instrs: list[dict], nodes: list[dict]) -> list[bool]:
    """For each node: is it, or anything computed from it, float32?  Its gradient then went
    through float32 arithmetic, and has float32's precision even if the node is float64."""
    f32 = [n["data"].get("dtype") == "<f4" for n in nodes]
    for i in range(len(node_instrs) - 1, -1, -1):  # consumers come after their operands
        if f32[i]:
            for j in _operands(node_instrs[i]):
                f32[j] = True
    return f32


def _grads_close(ga: dict, gb: dict, sa: dict, sb: dict, float32: bool) -> str | None:
    """None if two gradients agree within the tolerance, else what differs.

    ``float32``: the gradient went through float32 arithmetic (the looser tolerance applies).
    """
    if _kind(ga) != _kind(gb):
        return f"grad types differ: {_kind(ga)} vs {_kind(gb)}"
    if "other" in ga:
        return f"grad is not a float or an array: {_kind(ga)}"
    if "other" in sa or "other" in sb:
        return f"grads differ ({_show(ga)} vs {_show(gb)}) where there is no S: {sa} vs {sb}"
    a, b = decode(ga), decode(gb)
    dtype = np.dtype(np.float32 if float32 or type(a) is not float and a.dtype == np.float32
                     else np.float64)
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    # S as measured by both workers; fmax ignores a NaN on one side
    scale = np.fmax(np.abs(np.asarray(decode(sa), np.float64)),
                    np.abs(np.asarray(decode(sb), np.float64)))
    if scale.shape != a64.shape:
        return f"the scale has shape {scale.shape}, the grad {a64.shape}"
    same = (a64 == b64) | (np.isnan(a64) & np.isnan(b64))
    unbounded = ~np.isfinite(scale)
    # plus the smallest normal number: below it precision is absolute, not relative
    tol = RTOL[dtype] * scale + np.finfo(dtype).tiny
    with np.errstate(invalid="ignore"):
        close = np.abs(a64 - b64) <= tol
    bad = ~(same | unbounded | close)
    if not bad.any():
        return None
    i = np.argwhere(bad)[0] if a64.ndim else ()
    i = tuple(int(k) for k in i)
    return (f"grad{list(i) if i else ''} differs beyond {RTOL[dtype]:g} * S ({dtype}): "
            f"{a64[i]!r} vs {b64[i]!r}, S = {scale[i]!r}, |a - b| = {abs(a64[i] - b64[i])!r}")


def compare(program: dict[str, Any], fast: dict[str, Any], ref: dict[str, Any]) -> str:
    """Assert that two workers' answers to one program agree.

    Returns ``"bit-identical"``, ``"within tolerance"`` (some grad differs in its last bits)
    or ``"error"`` (both raised the same type of exception).
    """
    if not (fast["ok"] and ref["ok"]):
        assert fast["ok"] == ref["ok"], (
            "only one engine raised:\n"
            f"fast: {fast.get('traceback') or 'no error'}\nreference: {ref.get('traceback') or 'no error'}"
        )
        assert fast["in_library"] or ref["in_library"], (
            f"an exception raised outside tinygrad_mlp: a bug of the harness\n{fast['traceback']}")
        assert fast["error_type"] == ref["error_type"], (
            f"the engines raised different exceptions: {fast['error_type']}: {fast['error']} vs "
            f"{ref['error_type']}: {ref['error']}"
        )
        return "error"
    for name, r in (("fast", fast), ("reference", ref)):
        assert "scale_error" not in r, f"{name}: the tolerance run failed: {r['scale_error']}"
        assert r["consts_unchanged"], f"{name}: a numpy array used as an operand was changed"
    assert fast["root"] == ref["root"], f"root data differs: {_show(fast['root'])} vs {_show(ref['root'])}"
    node_instrs = [ins for ins in program["instrs"] if ins["op"] not in MODE_OPS]
    assert len(fast["nodes"]) == len(ref["nodes"]) == len(node_instrs)
    outcome = "bit-identical"
    float32 = _float32_downstream(node_instrs, fast["nodes"])
    rows = zip(node_instrs, fast["nodes"], ref["nodes"], fast["scale"], ref["scale"], float32)
    for i, (ins, nf, nr, sf, sr, f32) in enumerate(rows):
        where = f"node {i} ({_describe(ins)})"
        for key in ("requires_grad", "is_leaf", "op", "has_grad", "grad_is_value"):
            assert nf.get(key) == nr.get(key), (
                f"{where}: {key} differs: {nf.get(key)!r} vs {nr.get(key)!r}")
        assert nf["data"] == nr["data"], (
            f"{where}: data differs: {_show(nf['data'])} vs {_show(nr['data'])}")
        if ins["op"] == "leaf":
            assert nf["data"] == ins["data"], f"{where}: a leaf's data changed"
        if nf["grad"] != nr["grad"]:
            problem = _grads_close(nf["grad"], nr["grad"], sf, sr, f32)
            assert problem is None, f"{where}: {problem}"
            outcome = "within tolerance"
    if "second" in program and not _second_order_agrees(fast, ref, float32):
        outcome = "within tolerance"
    return outcome


def _orders_agree(op: str, rg: bool, of: int, orr: int) -> bool:
    return of == orr


def _float32_in_graph(rows: list[dict]) -> list[bool]:
    """``_float32_downstream`` for the nodes of a second root's graph (operands first)."""
    f32 = [r["data"].get("dtype") == "<f4" for r in rows]
    for k in range(len(rows) - 1, -1, -1):
        if f32[k]:
            for j in rows[k]["parents"]:
                f32[j] = True
    return f32


def _second_order_agrees(fast: dict[str, Any], ref: dict[str, Any], float32: list[bool]) -> bool:
    """The create_graph part of two answers agree; False if some gradient was only close.

    * each leaf's first-order gradient: a Value on both or on neither; its graph
      (``graph()`` order) has the same ops, ``derivative_order`` and ``requires_grad`` node by
      node; its data within the tolerance, with the S of the first-order tap run;
    * the second root's data bit-identical, and for every node of its graph (forward nodes,
      the first-order gradients' nodes, the second root's own): program node number, op,
      ``derivative_order``, flags and operands equal, data bit-identical, and the second-order
      grad within ``rtol * S``, S being measured by ``_abs_backward`` in the worker (the tap
      run's rule, walked over the second root's graph).  A leaf that kept its first-order
      Value gradient (``keep``) holds the sum of both: its S is the sum of both S.  The float32
      tolerance applies where the graph has a float32 node downstream.
    """
    exact = True
    assert fast["leaves"] == ref["leaves"], (fast["leaves"], ref["leaves"])
    for n, ff, fr in zip(fast["leaves"], fast["firsts"], ref["firsts"]):
        where = f"the first-order gradient of leaf node {n}"
        assert (ff is None) == (fr is None), f"{where}: None on one engine only: {ff} vs {fr}"
        if ff is None:
            continue
        assert ff["is_value"] and fr["is_value"], f"{where} is not a Value"
        gf, gr = ff["graph"], fr["graph"]
        assert len(gf) == len(gr), f"{where}: its graph has {len(gf)} vs {len(gr)} nodes"
        for k, ((op, of, rg), (op2, orr, rg2)) in enumerate(zip(gf, gr)):
            assert (op, rg) == (op2, rg2), f"{where}: node {k} of its graph: {gf[k]} vs {gr[k]}"
            assert _orders_agree(op, rg, of, orr), (
                f"{where}: node {k} of its graph ({op!r}): derivative_order {of} vs {orr}")
        if ff["data"] != fr["data"]:
            problem = _grads_close(ff["data"], fr["data"], fast["scale"][n], ref["scale"][n],
                                   float32[n])
            assert problem is None, f"{where}: {problem}"
            exact = False
    sf, sr = fast["second"], ref["second"]
    assert sf["root"] == sr["root"], "the second root's data differs"
    assert sf.get("requires_grad") == sr.get("requires_grad")
    rows_f, rows_r = sf.get("nodes", []), sr.get("nodes", [])
    assert len(rows_f) == len(rows_r), f"the second root's graph: {len(rows_f)} vs {len(rows_r)} nodes"
    f32 = _float32_in_graph(rows_f)
    for k, (rf, rr) in enumerate(zip(rows_f, rows_r)):
        where = f"second pass, node {k} of the second root's graph ({rf['op']!r}, program node {rf['node']})"
        for key in ("node", "op", "requires_grad", "is_leaf", "has_grad", "grad_is_value", "parents"):
            assert rf[key] == rr[key], f"{where}: {key} differs: {rf[key]!r} vs {rr[key]!r}"
        assert _orders_agree(rf["op"], rf["requires_grad"], rf["order"], rr["order"]), (
            f"{where}: derivative_order differs: {rf['order']} vs {rr['order']}")
        assert rf["data"] == rr["data"], f"{where}: data differs: {_show(rf['data'])} vs {_show(rr['data'])}"
        if rf["grad"] != rr["grad"]:
            single = f32[k] or rf["grad_is_value"] and float32[rf["node"]]
            problem = _grads_close(rf["grad"], rr["grad"], rf["scale"], rr["scale"], single)
            assert problem is None, f"{where}: {problem}"
            exact = False
    return exact


def _show(enc: dict[str, Any]) -> str:
    if "other" in enc:
        return _kind(enc)
    x = decode(enc)
    return repr(x) if type(x) is float else f"{x.dtype}{list(x.shape)} {x.tolist()!r}"


def _describe(ins: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in ins.items() if k != "data"})[:300]


# --------------------------------------------------------------------------- programs
SCALAR_OPS = ["binary"] * 4 + ["unary"] * 3 + ["pow", "func", "reduce", "leaf", "mode"]
TENSOR_OPS = SCALAR_OPS + ["reduce", "index", "index", "reshape", "transpose", "matmul", "astype"]
UNARY = ["relu", "tanh", "sigmoid", "exp", "log", "abs", "sqrt", "leaky_relu", "neg"]


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(np.shape(x))


def _empty(shape: tuple[int, ...]) -> np.ndarray:
    return np.zeros(shape)


class _Builder:
    """Draws one program step by step, keeping each node's shape and ``requires_grad``."""

    def __init__(self, draw: Any, scalar_only: bool) -> None:
        self.draw = draw
        self.scalar_only = scalar_only
        self.instrs: list[dict[str, Any]] = []
        self.shapes: list[tuple[int, ...]] = []
        self.rg: list[bool] = []
        self.modes: list[str] = []
        self.leaves: list[int] = []  # the leaves' node numbers

    # ------------------------------------------------------------ basics
    def emit(self, ins: dict[str, Any], shape: tuple[int, ...], uses: list[int]) -> int:
        grad_on = not self.modes or self.modes[-1] == "enable_grad"
        if ins["op"] == "leaf":
            rg = ins["requires_grad"]
        else:
            rg = grad_on and any(self.rg[i] for i in uses)
        self.instrs.append(ins)
        self.shapes.append(shape)
        self.rg.append(rg)
        return len(self.shapes) - 1

    def array(self, shape: tuple[int, ...], dtype: Any, positive: bool = False) -> np.ndarray:
        dtype = np.dtype(dtype)
        if dtype.kind == "i":
            elements = st.integers(1, 3) if positive else st.integers(-3, 3)
        else:
            width = 32 if dtype == np.float32 else 64
            elements = st.one_of(
                st.floats(-2, 2, width=width),
                st.sampled_from([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0]),  # ties for max, relu's kink
            )
        arr = self.draw(hnp.arrays(dtype, shape, elements=elements))
        return np.asarray(np.abs(arr) + dtype.type(0.5) if positive and dtype.kind == "f" else arr)

    def leaf_shape(self) -> tuple[int, ...]:
        if self.scalar_only:
            return ()
        return self.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4))

    def leaf(self, shape: tuple[int, ...] | None = None, positive: bool = False) -> int:
        """A new leaf; the first one always requires a gradient, so the root does too."""
        shape = self.leaf_shape() if shape is None else shape
        if shape == ():
            value = self.draw(st.floats(-2, 2) | st.sampled_from([0.0, -0.0, 1.0, -1.0]))
            data: Any = abs(value) + 0.5 if positive else value
        else:
            data = self.array(shape, self.draw(st.sampled_from(["float32", "float64"])), positive)
        rg = not self.shapes or self.draw(st.sampled_from([True, True, True, True, False]))
        self.leaves.append(len(self.shapes))
        return self.emit({"op": "leaf", "data": encode(data), "requires_grad": rg}, shape, [])

    def pick(self, ok: Any = None) -> int | None:
        """An earlier node (the last one half of the time), or None when none fits ``ok``."""
        candidates = [i for i, s in enumerate(self.shapes) if ok is None or ok(s)]
        if not candidates:
            return None
        if self.draw(st.booleans()) and candidates[-1] == len(self.shapes) - 1:
            return candidates[-1]
        return self.draw(st.sampled_from(candidates))

    def compatible_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """A shape that broadcasts with ``shape``: a suffix of it, some sides 1, maybe one more axis."""
        if self.scalar_only:
            return ()
        dims = list(shape)
        if len(dims) < 3 and self.draw(st.integers(0, 4)) == 0:
            dims.insert(0, self.draw(st.integers(1, 3)))
        dims = dims[self.draw(st.integers(0, len(dims))):]
        return tuple(1 if self.draw(st.integers(0, 3)) == 0 else d for d in dims)

    def number(self, positive: bool = False) -> dict[str, Any]:
        if self.draw(st.integers(0, 3)) == 0:
            return {"int": self.draw(st.integers(1, 3) if positive else st.integers(-3, 3))}
        x = self.draw(st.floats(0.25, 3) if positive else st.floats(-3, 3))
        return {"num": float(x).hex()}

    def other(self, shape: tuple[int, ...], positive: bool = False) -> tuple[dict[str, Any], tuple]:
        """The other operand of a binary operation on a node of ``shape``, and its shape."""
        kinds = ["node", "node", "number", "leaf"] + ([] if self.scalar_only else ["array"])
        kind = self.draw(st.sampled_from(kinds))
        if kind == "node":

            def fits(s):
                try:
                    np.broadcast_shapes(s, shape)
                except ValueError:
                    return False
                return True

            i = self.pick(fits)
            if i is None:
                kind = "leaf"
            else:
                i = self.positive(i) if positive else i
                return {"node": i}, self.shapes[i]
        if kind == "leaf":
            i = self.leaf(self.compatible_shape(shape), positive=positive)
            return {"node": i}, self.shapes[i]
        if kind == "number":
            return self.number(positive), ()
        s = self.compatible_shape(shape)
        dtype = self.draw(st.sampled_from(["float32", "float64", "int64"]))
        return {"array": encode(self.array(s, dtype, positive))}, s

    def positive(self, i: int) -> int:
        """A node computed from node i that is > 0 everywhere (for log, sqrt, /, **)."""
        how = self.draw(st.sampled_from(["abs", "abs", "square", "exp"]))
        shape = self.shapes[i]
        if how == "exp":
            return self.emit({"op": "unary", "fn": "exp", "a": i}, shape, [i])
        if how == "abs":
            j = self.emit({"op": "unary", "fn": "abs", "a": i}, shape, [i])
        else:
            j = self.emit({"op": "binary", "fn": "*", "a": {"node": i}, "b": {"node": i}}, shape, [i])
        half = {"num": (0.5).hex()}
        return self.emit({"op": "binary", "fn": "+", "a": {"node": j}, "b": half}, shape, [j])

    # ------------------------------------------------------------ operations
    def step(self) -> None:
        kind = self.draw(st.sampled_from(SCALAR_OPS if self.scalar_only else TENSOR_OPS))
        event(f"op: {kind}")
        getattr(self, "op_" + kind)()

    def binary(self, fn: str, a: dict, sa: tuple, b: dict, sb: tuple) -> int:
        uses = [x["node"] for x in (a, b) if "node" in x]
        return self.emit({"op": "binary", "fn": fn, "a": a, "b": b},
                         np.broadcast_shapes(sa, sb), uses)

    def op_binary(self) -> None:
        fn = self.draw(st.sampled_from("+-*/"))
        i = self.pick()
        swap = self.draw(st.booleans())  # the node on the right: 2 - x, array / x...
        if fn == "/":  # a denominator > 0
            if swap:
                a, sa = self.other(self.shapes[i])
                p = self.positive(i)
                self.binary(fn, a, sa, {"node": p}, self.shapes[p])
            else:
                b, sb = self.other(self.shapes[i], positive=True)
                self.binary(fn, {"node": i}, self.shapes[i], b, sb)
            return
        b, sb = self.other(self.shapes[i])
        if swap:
            self.binary(fn, b, sb, {"node": i}, self.shapes[i])
        else:
            self.binary(fn, {"node": i}, self.shapes[i], b, sb)

    def op_pow(self) -> None:
        i = self.pick()
        how = self.draw(st.sampled_from(["const", "const", "value", "rpow"]))
        if how == "const":
            p = self.draw(st.sampled_from([2, 3, 0, 1, -1, 2.0, 0.5, 1.5, -0.5, -2.0]))
            if not (isinstance(p, int) and p >= 0):  # a fractional or negative power: base > 0
                i = self.positive(i)
            exponent = {"int": p} if isinstance(p, int) else {"num": float(p).hex()}
            self.binary("**", {"node": i}, self.shapes[i], exponent, ())
        elif how == "value":  # x ** y, both Values
            base = self.positive(i)
            b, sb = self.other(self.shapes[base])
            if "node" not in b:
                b, sb = {"node": i}, self.shapes[i]
            self.binary("**", {"node": base}, self.shapes[base], b, sb)
        else:  # 2 ** x, array ** x
            if self.scalar_only or self.draw(st.booleans()):
                base, sbase = self.number(positive=True), ()
            else:
                sbase = self.compatible_shape(self.shapes[i])
                base = {"array": encode(self.array(sbase, "float64", positive=True))}
            self.binary("**", base, sbase, {"node": i}, self.shapes[i])

    def op_unary(self) -> None:
        fn = self.draw(st.sampled_from(UNARY))
        i = self.pick()
        if fn in ("log", "sqrt"):
            i = self.positive(i)
        ins: dict[str, Any] = {"op": "unary", "fn": fn, "a": i}
        if fn == "leaky_relu" and self.draw(st.booleans()):
            ins["slope"] = self.draw(st.sampled_from([0.01, 0.2, 1.5, -0.5])).hex()
        self.emit(ins, self.shapes[i], [i])

    def op_reduce(self) -> None:
        fn = self.draw(st.sampled_from(["sum", "mean", "max"]))
        i = self.pick()
        shape = self.shapes[i]
        nd = len(shape)
        axis: Any = self.draw(st.sampled_from(["omit", None] + ([] if nd == 0 else ["int", "tuple"])))
        if axis == "int":
            axis = self.draw(st.integers(-nd, nd - 1))
        elif axis == "tuple":
            axes = self.draw(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True))
            axis = [a - nd if self.draw(st.booleans()) else a for a in axes]
        keepdims = self.draw(st.sampled_from([None, False, True]))
        kwargs: dict[str, Any] = {}
        if axis != "omit":
            kwargs["axis"] = tuple(axis) if isinstance(axis, list) else axis
        if keepdims is not None:
            kwargs["keepdims"] = keepdims
        out = _shape(np.sum(_empty(shape), **kwargs))
        self.emit({"op": "reduce", "fn": fn, "a": i, "axis": axis, "keepdims": keepdims}, out, [i])

    def tensor(self, ok: Any = None) -> int:
        """A node with at least one axis (a new leaf if none fits ``ok``)."""
        i = self.pick(lambda s: len(s) > 0 and (ok is None or ok(s)))
        if i is None:
            shape = ()
            while shape == () or (ok is not None and not ok(shape)):
                shape = self.leaf_shape()
            i = self.leaf(shape)
        return i

    def op_index(self) -> None:
        i = self.tensor()
        shape = self.shapes[i]
        n = self.draw(st.integers(1, len(shape)))
        items: list[dict[str, Any]] = []
        array_used = False
        for d in shape[:n]:
            kinds = ["int", "slice"] + ([] if array_used else ["array", "array"])
            kind = self.draw(st.sampled_from(kinds)) if d > 0 else "slice"  # an empty axis
            if kind == "int":
                items.append({"int": self.draw(st.integers(-d, d - 1))})
            elif kind == "slice":
                bound = st.none() | st.integers(-d, d)
                step = self.draw(st.sampled_from([None, 1, 2, -1]))
                items.append({"slice": [self.draw(bound), self.draw(bound), step]})
            else:
                array_used = True
                items.append({"array": self.draw(st.lists(st.integers(-d, d - 1), min_size=1,
                                                          max_size=5))})
        as_tuple = len(items) > 1 or self.draw(st.booleans())
        index = worker_module._index(items, as_tuple)
        event("index: repeated positions" if any(
            "array" in it and len(set(np.array(it["array"]) % d)) < len(it["array"])
            for it, d in zip(items, shape)) else "index: no repeats")
        out = _shape(_empty(shape)[index])
        self.emit({"op": "index", "a": i, "index": items, "tuple": as_tuple}, out, [i])

    def op_reshape(self) -> None:
        i = self.pick()
        shape = self.shapes[i]
        size = int(np.prod(shape))
        options = [(-1,), (size,), (1, size), (size, 1), tuple(reversed(shape)), shape + (1,),
                   (1,) + shape]
        options += [(f, size // f) for f in range(2, size) if size % f == 0]
        options += [(-1, f) for f in range(2, size) if size % f == 0]
        if size == 1:
            options.append(())
        new = self.draw(st.sampled_from(options))
        out = _shape(_empty(shape).reshape(new))
        style = self.draw(st.sampled_from(["args", "tuple"]))
        self.emit({"op": "reshape", "a": i, "shape": list(new), "style": style}, out, [i])

    def op_transpose(self) -> None:
        i = self.pick()
        shape = self.shapes[i]
        style = self.draw(st.sampled_from(["T", "method", "args", "tuple"]))
        axes = None
        if style in ("args", "tuple") and len(shape) > 0:
            axes = self.draw(st.permutations(range(len(shape))))
        out = _shape(_empty(shape).transpose(axes))
        self.emit({"op": "transpose", "a": i, "style": style, "axes": axes}, out, [i])

    def op_matmul(self) -> None:
        i = self.tensor(lambda s: len(s) <= 2)
        shape = self.shapes[i]
        left = self.draw(st.booleans())  # x @ other, else other @ x
        k = shape[-1] if left else shape[0]
        m = self.draw(st.integers(1, 3))
        wanted = self.draw(st.sampled_from([(k,), (k, m) if left else (m, k)]))
        kind = self.draw(st.sampled_from(["node", "leaf", "array"]))
        j = self.pick(lambda s: s == wanted) if kind == "node" else None
        if j is not None or kind == "leaf":
            j = self.leaf(wanted) if j is None else j
            other: dict[str, Any] = {"node": j}
        else:
            dtype = self.draw(st.sampled_from(["float32", "float64", "int64"]))
            other = {"array": encode(self.array(wanted, dtype))}
        a, b = ({"node": i}, other) if left else (other, {"node": i})
        sa, sb = (shape, wanted) if left else (wanted, shape)
        uses = [x["node"] for x in (a, b) if "node" in x]
        out = _shape(_empty(sa) @ _empty(sb))
        self.emit({"op": "binary", "fn": "@", "a": a, "b": b}, out, uses)

    def op_astype(self) -> None:
        i = self.tensor()
        dtype = self.draw(st.sampled_from(["float32", "float64"]))
        self.emit({"op": "astype", "a": i, "dtype": dtype}, self.shapes[i], [i])

    def op_func(self) -> None:
        fn = self.draw(st.sampled_from(["Sin", "Scale", "Axpy"]))
        i = self.pick()
        shape = self.shapes[i]
        if fn == "Sin":
            self.emit({"op": "func", "fn": fn, "args": [{"node": i}]}, shape, [i])
        elif fn == "Scale":
            self.emit({"op": "func", "fn": fn, "args": [{"node": i}, self.number()]}, shape, [i])
        else:
            y, sy = self.other(shape)
            args = [{"num": self.draw(st.floats(-2, 2)).hex()}, {"node": i}, y]
            uses = [i] + ([y["node"]] if "node" in y else [])
            self.emit({"op": "func", "fn": fn, "args": args}, np.broadcast_shapes(shape, sy), uses)

    def op_leaf(self) -> None:
        self.leaf()

    def op_mode(self) -> None:
        if self.modes and self.draw(st.booleans()):
            self.modes.pop()
            self.instrs.append({"op": "end"})
        else:
            mode = "enable_grad" if self.modes and self.draw(st.booleans()) else "no_grad"
            self.modes.append(mode)
            self.instrs.append({"op": mode})
            event(f"mode: {mode}")

    def op_invalid(self) -> None:
        """An operation that must raise (on both engines): ends the program."""
        how = self.draw(st.sampled_from(["axis", "reshape", "index", "shapes", "matmul", "astype"]))
        event(f"invalid: {how}")
        i = self.pick()
        shape = self.shapes[i]
        nd = len(shape)
        if how == "axis":
            ins: dict[str, Any] = {"op": "reduce", "fn": "sum", "a": i, "axis": nd + 1, "keepdims": None}
        elif how == "reshape":
            ins = {"op": "reshape", "a": i, "shape": [int(np.prod(shape)) + 1], "style": "tuple"}
        elif how == "index":
            ins = {"op": "index", "a": i, "index": [{"int": shape[0] if nd else 0}], "tuple": False}
        elif how == "shapes":
            bad = (5,) + shape  # (5, ...) against a leaf of (6, ...)
            j = self.leaf((6,) + shape)
            ins = {"op": "binary", "fn": "+", "a": {"node": i},
                   "b": {"array": encode(np.ones(bad))}}
            ins["a"] = {"node": j}
        elif how == "matmul":
            ins = {"op": "binary", "fn": "@", "a": {"node": i}, "b": {"num": (2.0).hex()}}
        else:
            ins = {"op": "astype", "a": i, "dtype": "int64"}
        self.instrs.append(ins)

    # ------------------------------------------------------------ the program
    def build(self) -> dict[str, Any]:
        for _ in range(self.draw(st.integers(1, 3))):
            self.leaf()
        for _ in range(self.draw(st.integers(1, 14))):
            self.step()
        if self.draw(st.integers(0, 40)) == 17:  # not 0: hypothesis draws the bounds often
            self.op_invalid()
        candidates = [i for i, rg in enumerate(self.rg) if rg] or [len(self.shapes) - 1]
        terms = [candidates[-1]]
        terms += self.draw(st.lists(st.sampled_from(candidates), max_size=2, unique=True))
        weights = [self.weight() for _ in terms]
        passes = self.draw(st.sampled_from([1, 1, 1, 2]))
        program: dict[str, Any] = {"instrs": self.instrs}
        if self.draw(st.integers(0, 2)) == 0:  # a third: first-order gradients with a graph
            program["second"] = self.second_order(candidates)
            if program["second"]["how"] == "grad":
                passes = 1  # grad() hands back the gradients of one pass
        event(f"passes: {passes}")
        program["root"] = {"terms": [[i, w] for i, w in zip(terms, weights)], "passes": passes}
        return program

    def weight(self) -> str:
        return self.draw(st.sampled_from([1.0, -0.5]) | st.floats(-2, 2)).hex()

    def second_order(self, candidates: list[int]) -> dict[str, Any]:
        """The create_graph part of a program (see ``_second_order`` in the worker): how the
        first-order gradients are taken, and the second root built from them."""
        how = self.draw(st.sampled_from(["backward", "backward", "grad"]))
        keep = how == "backward" and self.draw(st.booleans())
        event(f"create_graph: {how}" + (", keep" if keep else ""))
        leaves = [i for i in self.leaves if self.rg[i]]
        terms = []
        for i in self.draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=3, unique=True)):
            kind = self.draw(st.sampled_from(["dot", "square", "leaf"]))
            shape = self.shapes[i]
            if shape == ():
                v: dict[str, Any] = {"num": self.draw(st.floats(-2, 2)).hex()}
            else:
                dtype = self.draw(st.sampled_from(["float32", "float64"]))
                v = {"array": encode(self.array(shape, dtype))}
            terms.append({"leaf": i, "kind": kind, "v": v, "w": self.weight()})
        forward = self.draw(st.lists(st.sampled_from(candidates), max_size=2, unique=True))
        return {"how": how, "keep": keep, "terms": terms,
                "forward": [[i, self.weight()] for i in forward]}


@st.composite
def programs(draw: Any) -> dict[str, Any]:
    """A random program: 1-3 leaves, then 1-12 operations on earlier nodes, then the root.

    A third of the programs are scalar-only (micrograd's kind of graph, the fast engine's fast
    path); the rest mix Python-float scalars with float32 and float64 tensors of up to 3 axes.
    """
    scalar_only = draw(st.integers(0, 2)) == 0
    event("scalar only" if scalar_only else "tensors")
    return _Builder(draw, scalar_only).build()


@settings(max_examples=MAX_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(program=programs())
def test_engines_agree_on_random_programs(workers, program):
    fast, ref = ask(workers, {"cmd": "run", "program": program})
    outcome = compare(program, fast, ref)
    event(f"outcome: {outcome}" + (f" ({fast['error_type']})" if outcome == "error" else ""))
    if outcome != "error" and "second" in program:
        second = fast["second"]
        event("second root: " + ("none (no leaf has a gradient)" if second["root"] is None else
                                 "constant" if not second["requires_grad"] else "differentiated"))


# --------------------------------------------------------------------------- fixed programs
def _leaf(data: Any, rg: bool = True) -> dict[str, Any]:
    return {"op": "leaf", "data": encode(data), "requires_grad": rg}


def _node(i: int) -> dict[str, int]:
    return {"node": i}


def _num(x: float) -> dict[str, str]:
    return {"num": float(x).hex()}


EVERY_KIND = {  # node numbers in the comments; mode instructions make no node
    "instrs": [
        _leaf(np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.25]])),  # 0
        _leaf(np.array([0.3, -0.7, 1.1], dtype=np.float32)),  # 1
        _leaf(0.75),  # 2
        {"op": "binary", "fn": "*", "a": _node(0), "b": _node(1)},  # 3: broadcast, mixed dtypes
        {"op": "binary", "fn": "-", "a": {"array": encode(np.array([1, 2, 3]))}, "b": _node(3)},  # 4
        {"op": "binary", "fn": "/", "a": _node(4), "b": _num(-1.5)},  # 5
        {"op": "unary", "fn": "abs", "a": 5},  # 6
        {"op": "binary", "fn": "+", "a": _node(6), "b": _num(0.5)},  # 7
        {"op": "unary", "fn": "log", "a": 7},  # 8
        {"op": "unary", "fn": "sqrt", "a": 7},  # 9
        {"op": "binary", "fn": "**", "a": _node(7), "b": _node(2)},  # 10: Value ** Value
        {"op": "binary", "fn": "**", "a": _num(2.0), "b": _node(2)},  # 11: 2 ** x
        {"op": "binary", "fn": "**", "a": _node(3), "b": {"int": 2}},  # 12
        {"op": "unary", "fn": "relu", "a": 3},  # 13
        {"op": "unary", "fn": "tanh", "a": 3},  # 14
        {"op": "unary", "fn": "sigmoid", "a": 3},  # 15
        {"op": "unary", "fn": "exp", "a": 14},  # 16
        {"op": "unary", "fn": "leaky_relu", "a": 3, "slope": (0.2).hex()},  # 17
        {"op": "unary", "fn": "neg", "a": 17},  # 18
        {"op": "reduce", "fn": "max", "a": 13, "axis": 0, "keepdims": True},  # 19: (1, 3), ties at 0
        {"op": "reduce", "fn": "mean", "a": 8, "axis": [-1], "keepdims": False},  # 20: (2,)
        {"op": "reduce", "fn": "sum", "a": 9, "axis": "omit", "keepdims": None},  # 21: a float
        {"op": "index", "a": 10, "index": [{"array": [1, 1, 0, 1]}, {"slice": [None, None, -1]}],
         "tuple": True},  # 22: (4, 3), repeated rows
        {"op": "index", "a": 12, "index": [{"int": -1}, {"int": 0}], "tuple": True},  # 23: a float
        {"op": "reshape", "a": 22, "shape": [3, -1], "style": "args"},  # 24: (3, 4)
        {"op": "transpose", "a": 24, "style": "T", "axes": None},  # 25: (4, 3)
        {"op": "binary", "fn": "@", "a": _node(25), "b": _node(1)},  # 26: (4,)
        {"op": "astype", "a": 15, "dtype": "float32"},  # 27
        {"op": "func", "fn": "Sin", "args": [_node(27)]},  # 28
        {"op": "func", "fn": "Scale", "args": [_node(28), {"int": 3}]},  # 29
        {"op": "func", "fn": "Axpy", "args": [_num(0.5), _node(29), _node(1)]},  # 30: y broadcast
        {"op": "no_grad"},
        {"op": "binary", "fn": "*", "a": _node(30), "b": _node(30)},  # 31: a constant
        {"op": "enable_grad"},
        {"op": "binary", "fn": "*", "a": _node(2), "b": _node(11)},  # 32: recorded again
        {"op": "end"},
        {"op": "end"},
        {"op": "binary", "fn": "+", "a": _node(31), "b": _node(30)},  # 33
        {"op": "binary", "fn": "+", "a": _node(16), "b": _node(18)},  # 34
        {"op": "transpose", "a": 34, "style": "tuple", "axes": [1, 0]},  # 35
    ],
    "root": {"terms": [[t, w.hex()] for t, w in [(33, 1.0), (35, -0.5), (26, 0.25), (19, 2.0),
                                                 (20, 1.0), (21, 1.0), (23, 1.5), (32, 1.0)]],
             "passes": 2},
}


def test_a_program_with_every_kind_of_instruction_runs_and_agrees(workers):
    fast, ref = ask(workers, {"cmd": "run", "program": EVERY_KIND})
    assert fast["ok"], fast.get("traceback")
    assert compare(EVERY_KIND, fast, ref) != "error"
    nodes = fast["nodes"]
    assert nodes[31]["requires_grad"] is False and nodes[32]["requires_grad"] is True
    assert "f" in nodes[21]["data"] and "f" in nodes[23]["data"]  # full reduction, x[i, j]


def _with_second(program: dict[str, Any], how: str, keep: bool = False) -> dict[str, Any]:
    """``program`` with a create_graph part on its first three leaves (see ``_second_order``)."""
    out = json.loads(json.dumps(program))
    out["second"] = {"how": how, "keep": keep, "forward": [[14, (0.25).hex()], [32, (-1.0).hex()]],
                     "terms": [
                         {"leaf": 0, "kind": "square", "w": (0.5).hex(),
                          "v": {"array": encode(np.array([[1.0, 2.0, 3.0], [-4.0, 5.0, 0.5]]))}},
                         {"leaf": 1, "kind": "dot", "w": (1.0).hex(),
                          "v": {"array": encode(np.array([1.0, -2.0, 3.0], np.float32))}},
                         {"leaf": 2, "kind": "leaf", "w": (-1.5).hex()}]}
    if how == "grad":
        out["root"]["passes"] = 1
    return out


@pytest.mark.parametrize("how, keep", [("backward", False), ("backward", True), ("grad", False)])
def test_every_kind_of_instruction_agrees_to_the_second_order(workers, how, keep):
    program = _with_second(EVERY_KIND, how, keep)
    fast, ref = ask(workers, {"cmd": "run", "program": program})
    assert fast["ok"], fast.get("traceback")
    assert compare(program, fast, ref) != "error"
    assert all(first is not None for first in fast["firsts"])
    ops = {op for first in fast["firsts"] for op, _, _ in first["graph"]}
    assert {"cos", "scatter_add", "@"} <= ops  # Sin's backward_graph, indexing's, matmul's
    rows = fast["second"]["nodes"]
    orders = {(r["op"], r["order"]) for r in rows}
    assert ("cos", 1) in orders and ("*", 0) in orders and ("[]", 0) in orders
    leaves = {r["node"]: r for r in rows if r["node"] in (0, 1, 2)}
    assert set(leaves) == {0, 1, 2} and all(r["has_grad"] for r in leaves.values())
    assert all(r["grad_is_value"] == keep for r in leaves.values())


@pytest.mark.parametrize("how", ["backward", "grad"])
def test_a_function_without_backward_graph_raises_the_same_error(workers, how):
    program = {"instrs": [_leaf(np.array([0.5, -1.5])),
                          {"op": "func", "fn": "Cube", "args": [_node(0)]}],
               "root": {"terms": [[1, (1.0).hex()]], "passes": 1},
               "second": {"how": how, "keep": False, "forward": [],
                          "terms": [{"leaf": 0, "kind": "leaf", "w": (1.0).hex()}]}}
    fast, ref = ask(workers, {"cmd": "run", "program": program})
    assert compare(program, fast, ref) == "error"
    assert fast["error_type"] == ref["error_type"] == "RuntimeError"
    assert "backward_graph" in fast["error"] and "backward_graph" in ref["error"]
    del program["second"]  # first-order, the same Function is fine
    fast, ref = ask(workers, {"cmd": "run", "program": program})
    assert compare(program, fast, ref) == "bit-identical"


SQUARE = {"instrs": [_leaf(2.0), {"op": "binary", "fn": "*", "a": _node(0), "b": _node(0)}],
          "root": {"terms": [[1, (1.0).hex()]], "passes": 1},
          "second": {"how": "backward", "keep": False, "forward": [],
                     "terms": [{"leaf": 0, "kind": "dot", "v": _num(3.0), "w": (1.0).hex()}]}}


FOURTH_POWER = {  # (x ** 2) ** 2
    "instrs": [_leaf(2.0), {"op": "binary", "fn": "**", "a": _node(0), "b": {"int": 2}},
               {"op": "binary", "fn": "**", "a": _node(1), "b": {"int": 2}}],
    "root": {"terms": [[2, (1.0).hex()]], "passes": 1},
    "second": {"how": "backward", "keep": False, "forward": [],
               "terms": [{"leaf": 0, "kind": "dot", "v": _num(3.0), "w": (1.0).hex()}]}}


def test_a_create_graph_pass_gives_orders_to_recorded_nodes_only(workers):
    # x = Value(2.0); ((x ** 2) ** 2).backward(create_graph=True): in x.grad's graph the
    # constant 2.0 made with Value() by PowConst.backward_graph's grad * p has order 0 on both
    # engines, the nodes the pass records have order 1 (the engines once disagreed here)
    fast, ref = ask(workers, {"cmd": "run", "program": FOURTH_POWER})
    assert compare(FOURTH_POWER, fast, ref) == "bit-identical"
    for answer in (fast, ref):
        graph = answer["firsts"][0]["graph"]
        assert graph[5] == ["", 0, False] or tuple(graph[5]) == ("", 0, False)
        assert {order for op, order, _ in graph if op} == {0, 1}


def _mutations() -> list[tuple[Any, str]]:
    def row(k: int, **changes: Any) -> Any:
        return lambda a: a["second"]["nodes"][k].update(changes)

    def first(**changes: Any) -> Any:
        return lambda a: a["firsts"][0].update(changes)

    return [
        (row(2, order=0), "derivative_order differs"),  # the first '*' of x.grad's graph
        (row(2, op="+"), "op differs"),
        (row(1, data=encode(2.5)), "data differs"),
        (row(1, grad=encode(6.0 + 1e-9)), "second pass.*beyond 1e-12"),
        (row(1, grad_is_value=True), "grad_is_value differs"),
        (row(4, parents=[3, 2]), "parents differs"),
        (first(graph=[["", 1, False], ["", 0, True], ["*", 0, True], ["*", 1, True],
                      ["+", 1, True]]), "derivative_order 1 vs 0"),
        (first(data=encode(4.0 + 1e-9)), "first-order gradient of leaf node 0.*beyond"),
        (first(data=encode(None)), "grad types differ"),
        (lambda a: a["firsts"].__setitem__(0, None), "None on one engine only"),
        (lambda a: a["second"].update(root=encode(12.5)), "second root's data differs"),
        (lambda a: a["second"]["nodes"].pop(), "nodes"),
    ]


@pytest.mark.parametrize("index", range(len(_mutations())))
def test_the_comparison_catches_a_second_order_difference(workers, index):
    changed, match = _mutations()[index]
    good, other = ask(workers, {"cmd": "run", "program": SQUARE})
    assert compare(SQUARE, good, other) == "bit-identical"
    # x = 2: x.grad = 1*x + 1*x = 4, root2 = 3 * x.grad = 12, x.grad after the second pass 6
    assert decode(good["firsts"][0]["data"]) == 4.0 and decode(good["second"]["root"]) == 12.0
    assert [(r["op"], r["node"]) for r in good["second"]["nodes"]][:5] == [
        ("", None), ("", 0), ("*", None), ("*", None), ("+", None)]
    assert decode(good["second"]["nodes"][1]["grad"]) == 6.0
    bad = json.loads(json.dumps(good))
    changed(bad)
    with pytest.raises(AssertionError, match=match):
        compare(SQUARE, good, bad)


def test_a_worker_survives_failing_requests(workers):
    bad_program = {"instrs": [_leaf(2.0), {"op": "index", "a": 0, "index": [{"int": 0}],
                                           "tuple": False}],
                   "root": {"terms": [[0, (1.0).hex()]], "passes": 1}}
    fast, ref = ask(workers, {"cmd": "run", "program": bad_program})
    assert not fast["ok"] and fast["error_type"] == "IndexError"  # a scalar has no axes
    assert compare(bad_program, fast, ref) == "error"
    for answer in ask(workers, {"cmd": "run"}) + ask(workers, {"cmd": "no such command"}):
        assert not answer["ok"]
    constant_root = {"instrs": [_leaf(2.0, rg=False)],
                     "root": {"terms": [[0, (1.0).hex()]], "passes": 1}}
    fast, ref = ask(workers, {"cmd": "run", "program": constant_root})
    assert fast["error_type"] == ref["error_type"] == "RuntimeError"
    for answer in ask(workers, {"cmd": "hello"}):
        assert answer["ok"]


# --------------------------------------------------------------------------- micrograd's demo
@pytest.mark.parametrize("style", ["vectorized", "scalar"])
def test_engines_agree_on_micrograds_demo_step(workers, style):
    """moons, MLP(2, [16, 16, 1]), SVM loss + 1e-4 L2, SGD: 3 steps on each engine.

    Vectorized: losses and parameters bit-equal after every step.  Scalar (one graph node per
    weight and sample, so each weight's gradient is a sum of 100 contributions, in an order that
    depends on the engine): within 1e-12 relative to the largest element of each tensor, not
    of each element, because an element may be a sum that cancels: a bias that starts at 0 and
    whose first gradient sums to +-2.6e-18 differs in sign with the summation order.
    """
    request = {"cmd": "demo", "style": style, "steps": 3, "data_seed": 0, "model_seed": 0}
    fast, ref = ask(workers, request)
    assert fast["ok"], fast.get("traceback")
    assert ref["ok"], ref.get("traceback")
    assert len(fast["losses"]) == len(ref["losses"]) == 3
    for step, (lf, lr, pf, pr) in enumerate(zip(fast["losses"], ref["losses"], fast["params"],
                                                ref["params"])):
        assert [name for name, _ in pf] == [name for name, _ in pr]
        pairs = [("loss", lf, lr)] + [(name, a, b) for (name, a), (_, b) in zip(pf, pr)]
        for name, a, b in pairs:
            where = f"step {step + 1}, {name}"
            if style == "vectorized":
                assert a == b, f"{where}: not bit-equal: {_show(a)} vs {_show(b)}"
            else:  # 1e-12 relative to the largest element of the loss or parameter tensor
                assert _kind(a) == _kind(b), where
                x, y = np.asarray(decode(a)), np.asarray(decode(b))
                scale = max(np.abs(x).max(), np.abs(y).max())
                np.testing.assert_allclose(x, y, rtol=0, atol=1e-12 * scale, err_msg=where)


# --------------------------------------------------------------------------- the harness can fail
def _answer(data: list[Any], grads: list[Any], scale: list[Any] | None = None, **node_fields):
    nodes = [{"data": encode(d), "grad": encode(g), "has_grad": True, "requires_grad": True,
              "is_leaf": i == 0, "op": "" if i == 0 else "+"} for i, (d, g) in enumerate(zip(data, grads))]
    for key, value in node_fields.items():
        nodes[-1][key] = value
    scale = grads if scale is None else scale
    return {"ok": True, "nodes": nodes, "root": encode(1.0), "consts_unchanged": True,
            "scale": [encode(abs(s) if type(s) is float else np.abs(s)) for s in scale]}


def _program(leaf: Any) -> dict[str, Any]:
    return {"instrs": [_leaf(leaf), {"op": "binary", "fn": "+", "a": _node(0), "b": _node(0)}],
            "root": {"terms": [[1, (1.0).hex()]], "passes": 1}}


def _ulp(x: Any) -> Any:
    if type(x) is float:
        return float(np.nextafter(x, np.inf))
    return np.nextafter(x, np.array(np.inf, dtype=x.dtype))


V64 = np.array([0.5, -1.25, 3.0])
V32 = V64.astype(np.float32)


@pytest.mark.parametrize("changed, match", [
    (lambda a: a["nodes"][1].update(data=encode(_ulp(V64 * 2))), "data differs"),
    (lambda a: a["nodes"][1].update(data=encode(V64.astype(np.float32) * 2)), "data differs"),
    (lambda a: a["nodes"][0].update(grad=encode(V64 * 2 * (1 + 1e-9))), "beyond 1e-12"),
    (lambda a: a["nodes"][0].update(grad=encode(np.array([2.0, np.nan, 2.0]))), "beyond"),
    (lambda a: a["nodes"][0].update(grad=encode(np.array([2.0, 2.0]))), "grad types differ"),
    (lambda a: a["nodes"][0].update(grad=encode(2.0)), "grad types differ"),
    (lambda a: a["nodes"][1].update(has_grad=False), "has_grad differs"),
    (lambda a: a["nodes"][1].update(requires_grad=False), "requires_grad differs"),
    (lambda a: a["nodes"][1].update(op="-"), "op differs"),
    (lambda a: a.update(root=encode(-1.0)), "root data differs"),
    (lambda a: a.update(consts_unchanged=False), "was changed"),
    (lambda a: a.update(ok=False, error_type="ValueError", error="x", traceback="x"), "only one"),
])
def test_the_comparison_catches_a_difference(changed, match):
    program = _program(V64)
    good = _answer([V64, V64 * 2], [V64 * 2, np.ones(3)])
    assert compare(program, good, _answer([V64, V64 * 2], [V64 * 2, np.ones(3)])) == "bit-identical"
    bad = _answer([V64, V64 * 2], [V64 * 2, np.ones(3)])
    changed(bad)
    with pytest.raises(AssertionError, match=match):
        compare(program, good, bad)
    with pytest.raises(AssertionError, match=match):
        compare(program, bad, good)


def test_the_comparison_allows_reordering_noise_and_no_more():
    # 0.1*x + 0.2*x - 0.3*x: 2.8e-17 in one order, 5.6e-17 in another; S = 0.6
    program = _program(1.0)
    a = _answer([1.0, 2.0], [2.7755575615628914e-17, 1.0], scale=[0.6, 1.0])
    b = _answer([1.0, 2.0], [5.551115123125783e-17, 1.0], scale=[0.6, 1.0])
    assert compare(program, a, b) == "within tolerance"
    b = _answer([1.0, 2.0], [0.6 * 2e-12, 1.0], scale=[0.6, 1.0])
    with pytest.raises(AssertionError, match="beyond 1e-12"):
        compare(program, a, b)
    # float32: one ulp passes, 1e-4 relative does not
    program = _program(V32)
    a = _answer([V32, V32 * 2], [V32 * 2, np.ones(3, np.float32)])
    b = _answer([V32, V32 * 2], [_ulp(V32 * 2), np.ones(3, np.float32)])
    assert compare(program, a, b) == "within tolerance"
    b = _answer([V32, V32 * 2], [V32 * 2 * np.float32(1 + 1e-4), np.ones(3, np.float32)])
    with pytest.raises(AssertionError, match="beyond 1e-05"):
        compare(program, a, b)
    # a NaN on both sides agrees; -0.0 against 0.0 in a grad agrees (|a - b| = 0)
    program = _program(1.0)
    nan = _answer([1.0, 2.0], [float("nan"), -0.0])
    assert compare(program, nan, _answer([1.0, 2.0], [float("nan"), 0.0])) == "within tolerance"


def test_the_comparison_wants_the_same_exception_type():
    program = _program(1.0)
    value_error = {"ok": False, "error_type": "ValueError", "error": "a", "traceback": "",
                   "in_library": True}
    type_error = {"ok": False, "error_type": "TypeError", "error": "a", "traceback": "",
                  "in_library": True}
    assert compare(program, value_error, dict(value_error, error="other words")) == "error"
    with pytest.raises(AssertionError, match="different exceptions"):
        compare(program, value_error, type_error)


def test_a_worker_with_a_wrong_gradient_is_caught(workers):
    """End to end: a worker told to perturb one leaf gradient fails the comparison."""
    perturbed = Worker("fast", ENGINE_WORKER_SELFTEST_PERTURB="1")
    try:
        answers = ask([workers[0], perturbed], {"cmd": "run", "program": EVERY_KIND})
    finally:
        perturbed.close()
    assert answers[0]["ok"] and answers[1]["ok"]
    with pytest.raises(AssertionError, match="node 0 .*grad"):
        compare(EVERY_KIND, *answers)


def test_a_worker_with_a_wrong_second_order_gradient_is_caught(workers):
    """End to end: a worker told to perturb one second-order leaf gradient fails too."""
    program = _with_second(EVERY_KIND, "backward")
    perturbed = Worker("fast", ENGINE_WORKER_SELFTEST_PERTURB="second")
    try:
        answers = ask([workers[0], perturbed], {"cmd": "run", "program": program})
    finally:
        perturbed.close()
    assert answers[0]["ok"] and answers[1]["ok"]
    with pytest.raises(AssertionError, match="second pass, node .*program node 0.*beyond"):
        compare(program, *answers)

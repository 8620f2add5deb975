"""micrograd's demo step on scalar values: three ways with tinygrad_mlp against micrograd 0.1.0.

One step is the loop body of micrograd's ``demo.ipynb``: forward over 100 moons points through
``MLP(2, [16, 16, 1])`` one sample at a time, the SVM max-margin loss plus 1e-4 L2,
``zero_grad()``, ``backward()``, and an SGD update.  It runs four ways:

* ``micrograd``  micrograd's own ``micrograd.nn.MLP`` (the baseline);
* ``mlp``        this library's ``tinygrad_mlp.nn.MLP`` called with a list (its scalar call
                 style, the neuron-level graph a lecture draws; L2 as ``(p * p).sum()`` on its
                 tensor parameters);
* ``values``     a hand-built net of bare ``tinygrad_mlp.Value`` s, lists of scalars in
                 micrograd's layout;
* ``dropin``     ``tinygrad_mlp.micrograd.nn.MLP``, the demo's code with only its imports
                 changed.

Each runs in its own process (no library shares an interpreter, a heap or a garbage collector
with another) with the default garbage collector on.  The processes take turns, one step
each, so that a slower spell of a shared machine lands on all of them; the figure per way is
the median seconds per step, and the speed-up is micrograd's median over the way's median.
micrograd, ``values`` and ``dropin`` start from the same weights (``random.seed``), so their
losses must agree step by step; the script checks it.  Memory per node is measured with
tracemalloc over one forward pass of the ``values`` way and of micrograd.

    pip install micrograd   # to compare
    python benchmarks/scalar_engine.py [--steps 15]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import _common  # noqa: F401  (pins BLAS threads before numpy loads)
import numpy as np

WAYS = {
    "mlp": "tinygrad_mlp.nn.MLP called with a list",
    "values": "bare tinygrad_mlp.Value net",
    "dropin": "tinygrad_mlp.micrograd drop-in",
}
SEED = 1337


def moons(n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    from tinygrad_mlp.data import make_moons

    X, y = make_moons(n_samples=n, noise=0.1, random_state=1)
    return X, y * 2 - 1


# --------------------------------------------------------------------------- the four models
def micrograd_model(package: str) -> tuple[Callable, Callable, Callable, type]:
    """micrograd's MLP from ``package`` (``micrograd`` or ``tinygrad_mlp.micrograd``)."""
    nn = importlib.import_module(f"{package}.nn")
    engine = importlib.import_module(f"{package}.engine")
    random.seed(SEED)
    model = nn.MLP(2, [16, 16, 1])
    return model, model.parameters, model.zero_grad, engine.Value


def values_model() -> tuple[Callable, Callable, Callable, type]:
    """A net of bare Values, micrograd's layout and initial weights: [(W rows, b), ...]."""
    from tinygrad_mlp import Value

    random.seed(SEED)
    net = [([[Value(random.uniform(-1, 1)) for _ in range(nin)] for _ in range(nout)],
            [Value(0.0) for _ in range(nout)]) for nin, nout in ((2, 16), (16, 16), (16, 1))]
    params = [p for W, b in net for row, bj in zip(W, b) for p in row + [bj]]

    def forward(x: list[Any]) -> Any:
        for i, (W, b) in enumerate(net):
            out = []
            for row, bj in zip(W, b):
                act = sum((wi * xi for wi, xi in zip(row, x)), bj)
                out.append(act if i == len(net) - 1 else act.relu())
            x = out
        return x[0]

    def zero_grad() -> None:
        for p in params:
            p.grad = 0.0

    return forward, lambda: params, zero_grad, Value


def mlp_model() -> tuple[Callable, Callable, Callable, type]:
    """This library's MLP, called one sample (a list of scalars) at a time."""
    from tinygrad_mlp import MLP, Value

    model = MLP(2, [16, 16, 1], seed=SEED)
    return model, model.parameters, model.zero_grad, Value


# --------------------------------------------------------------------------- one step
def demo_loss(model: Callable, parameters: Callable, Value: type, X: np.ndarray,
              y: np.ndarray, tensors: bool) -> Any:
    """The loss of micrograd's demo, as its notebook writes it."""
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    alpha = 1e-4
    if tensors:  # the library's parameters are a tensor per layer: sum their squares
        reg_loss = alpha * sum((p * p).sum() for p in parameters())
    else:
        reg_loss = alpha * sum(p * p for p in parameters())
    return data_loss + reg_loss


class Worker:
    """One way of running the demo, in the current process."""

    def __init__(self, way: str) -> None:
        if way == "micrograd":
            built = micrograd_model("micrograd")
        elif way == "dropin":
            built = micrograd_model("tinygrad_mlp.micrograd")
        elif way == "values":
            built = values_model()
        else:
            built = mlp_model()
        self.model, self.parameters, self.zero_grad, self.Value = built
        self.tensors = way == "mlp"
        self.X, self.y = moons()
        self.k = 0

    def loss(self) -> Any:
        return demo_loss(self.model, self.parameters, self.Value, self.X, self.y, self.tensors)

    def step(self) -> tuple[float, float]:
        """One timed step: seconds and the loss."""
        t0 = time.perf_counter()
        total_loss = self.loss()
        self.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * self.k / 100
        for p in self.parameters():
            p.data -= learning_rate * p.grad
        seconds = time.perf_counter() - t0
        self.k += 1
        return seconds, float(total_loss.data)

    def memory(self) -> tuple[float, int]:
        """Bytes per node of one forward pass (tracemalloc) and the number of nodes."""
        tracemalloc.start()
        loss = self.loss()
        used = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        seen, stack = {loss}, [loss]
        while stack:  # _prev: micrograd's field, which this library's Value has too
            for p in stack.pop()._prev:
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
        return used / len(seen), len(seen)


def serve(way: str) -> None:
    """Answer the parent's commands on stdin, one JSON line each on stdout."""
    worker = Worker(way)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "step":
            reply: Any = worker.step()
        elif cmd == "memory":
            reply = worker.memory()
        else:
            return
        print(json.dumps(reply), flush=True)


# --------------------------------------------------------------------------- the parent
class Process:
    def __init__(self, way: str) -> None:
        self.way = way
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", way], text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def ask(self, cmd: str) -> Any:
        self.proc.stdin.write(cmd + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise SystemExit(f"the {self.way} worker stopped (see its error above)")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15, help="timed steps per way (15)")
    parser.add_argument("--worker", choices=["micrograd", *WAYS], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return serve(args.worker)
    have_micrograd = importlib.util.find_spec("micrograd") is not None
    ways = (["micrograd"] if have_micrograd else []) + list(WAYS)
    procs = [Process(way) for way in ways]
    times: dict[str, list[float]] = {way: [] for way in ways}
    losses: dict[str, list[float]] = {way: [] for way in ways}
    try:
        for p in procs:
            p.ask("step")  # warm-up, untimed: imports, caches
        for _ in range(args.steps):
            for p in procs:  # one step each, in turn
                seconds, loss = p.ask("step")
                times[p.way].append(seconds)
                losses[p.way].append(loss)
        memory = {p.way: p.ask("memory") for p in procs if p.way in ("micrograd", "values")}
    finally:
        for p in procs:
            p.close()
    median = {way: statistics.median(t) for way, t in times.items()}
    print(f"micrograd's demo step, median of {args.steps} steps per way, default GC, "
          "each way in its own process, taking turns")
    if have_micrograd:
        print(f"  {'micrograd 0.1.0 MLP':40s} {median['micrograd'] * 1e3:8.1f} ms")
    for way, name in WAYS.items():
        line = f"  {name:40s} {median[way] * 1e3:8.1f} ms"
        if have_micrograd:
            line += f"   {median['micrograd'] / median[way]:5.1f}x micrograd (target: >= 10x)"
        print(line)
    ours_mem, nodes = memory["values"]
    line = f"memory: {ours_mem:.0f} bytes per node ({nodes} nodes in the forward graph)"
    if have_micrograd:
        theirs_mem = memory["micrograd"][0]
        line += (f", micrograd {theirs_mem:.0f}: {ours_mem / theirs_mem:.2f} of micrograd's "
                 "(target: at most 0.50)")
        same = max(abs(a - b) / abs(b) for way in ("values", "dropin")
                   for a, b in zip(losses[way], losses["micrograd"]))
        print(f"losses of the bare Values and the drop-in against micrograd's, step by step: "
              f"largest relative difference {same:.1e}")
    else:
        print("micrograd not installed: pip install micrograd to compare")
    print(line)


if __name__ == "__main__":
    main()

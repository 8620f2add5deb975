"""micrograd's demo step, scalar style, with tinygrad_mlp and with micrograd in the same run.

One step = forward over 100 moons points through ``MLP(2, [16, 16, 1])`` built from scalar
values, the SVM max-margin loss plus 1e-4 L2, ``backward()``, and an SGD update: exactly the
loop of micrograd's ``demo.ipynb``.  Both networks are built the same way, one scalar node per
weight, so the figures compare the engines.  Memory per node is measured with tracemalloc over
one forward pass.  Each engine's figure is its best step of ``STEPS``; the engines take turns
for ``ROUNDS`` rounds and the speed-up printed last is the median of the rounds' ratios.

    pip install micrograd   # to compare
    python benchmarks/scalar_engine.py
"""

from __future__ import annotations

import random
import statistics
import time
import tracemalloc

import _common  # noqa: F401  (pins BLAS threads before numpy loads)
import numpy as np

STEPS = 8  # the best of several steps: a step that runs a full garbage collection is slower
ROUNDS = 3  # engines measured in turn, so that a slower spell of the machine hits both


def moons(n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    from tinygrad_mlp.data import make_moons

    X, y = make_moons(n_samples=n, noise=0.1, random_state=1)
    return X, y * 2 - 1


def make_net(value_cls, sizes=(2, 16, 16, 1), seed=1337):
    """Weights as lists of scalar values, micrograd's layout: [(W rows, b), ...]."""
    rnd = random.Random(seed)
    return [
        ([[value_cls(rnd.uniform(-1, 1)) for _ in range(nin)] for _ in range(nout)],
         [value_cls(0.0) for _ in range(nout)])
        for nin, nout in zip(sizes[:-1], sizes[1:])
    ]


def forward(net, x):
    for i, (W, b) in enumerate(net):
        last = i == len(net) - 1
        out = []
        for row, bj in zip(W, b):
            act = sum((wi * xi for wi, xi in zip(row, x)), bj)
            out.append(act if last else act.relu())
        x = out
    return x[0]


def parameters(net):
    return [p for W, b in net for row in W + [b] for p in row]


def step(net, X, y, k: int) -> float:
    scores = [forward(net, list(map(float, xrow))) for xrow in X]
    losses = [(1 + -yi * s).relu() for yi, s in zip(y.tolist(), scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    params = parameters(net)
    loss = data_loss + 1e-4 * sum(p * p for p in params)
    for p in params:
        p.grad = 0.0
    loss.backward()
    lr = 1.0 - 0.9 * k / 100
    for p in params:
        p.data -= lr * p.grad
    return loss.data


def count_nodes(root) -> int:
    seen, stack = {id(root)}, [root]
    while stack:
        node = stack.pop()
        for p in getattr(node, "parents", None) or getattr(node, "_prev", ()):
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return len(seen)


def measure(value_cls, X, y) -> tuple[float, float, int]:
    net = make_net(value_cls)
    step(net, X, y, 0)  # warm up
    times = []
    for k in range(1, STEPS + 1):
        t0 = time.perf_counter()
        step(net, X, y, k)
        times.append(time.perf_counter() - t0)
    tracemalloc.start()
    scores = [forward(net, list(map(float, xrow))) for xrow in X]
    losses = [(1 + -yi * s).relu() for yi, s in zip(y.tolist(), scores)]
    loss = sum(losses) * (1.0 / len(losses))
    used = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    nodes = count_nodes(loss)
    return min(times), used / nodes, nodes


def main() -> None:
    from tinygrad_mlp import Value

    try:
        from micrograd.engine import Value as MicrogradValue
    except ImportError:
        MicrogradValue = None
    X, y = moons()
    ratios = []
    for r in range(1, ROUNDS + 1):
        ours, ours_mem, nodes = measure(Value, X, y)
        line = (f"round {r}: tinygrad_mlp {ours * 1e3:6.1f} ms per step, {ours_mem:4.0f} bytes "
                f"per node ({nodes} nodes in the forward graph)")
        if MicrogradValue is None:
            print(line)
            print("micrograd not installed: pip install micrograd to compare")
            return
        theirs, theirs_mem, _ = measure(MicrogradValue, X, y)
        ratios.append(theirs / ours)
        print(f"{line}; micrograd {theirs * 1e3:6.1f} ms, {theirs_mem:4.0f} bytes: "
              f"{theirs / ours:.1f}x")
    print(f"speed-up {statistics.median(ratios):.1f}x, the median of {ROUNDS} rounds "
          f"(target: at least 10x); memory per node {ours_mem / theirs_mem:.2f} of micrograd's "
          "(target: at most 0.50)")


if __name__ == "__main__":
    main()

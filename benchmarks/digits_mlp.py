"""Training speed on the digits: MLP 64-128-64-10, ReLU, cross-entropy, SGD momentum 0.9.

Batch 64, 10 epochs, float32, one BLAS thread; the same data order and initial weights for:

* tinygrad_mlp (vectorized call style);
* a hand-written numpy forward/backward (the floor for any numpy-based framework);
* PyTorch on the CPU, when installed.

Prints the time per epoch of each and the ratios to the numpy floor (target for
tinygrad_mlp: at most 1.5x).

    python benchmarks/digits_mlp.py
"""

from __future__ import annotations

import _common  # noqa: F401  (pins BLAS threads before numpy loads)
import numpy as np

from tinygrad_mlp import MLP
from tinygrad_mlp.data import load_digits, standardize
from tinygrad_mlp.functional import cross_entropy
from tinygrad_mlp.optim import SGD

SIZES = [64, 128, 64, 10]
EPOCHS, BATCH, LR, MOMENTUM = 10, 64, 0.01, 0.9


def data() -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    X, y = load_digits()
    X = standardize(X)[0].astype(np.float32)
    rng = np.random.default_rng(0)
    orders = [rng.permutation(len(X)) for _ in range(EPOCHS)]
    return X, y, orders


def batches(X, y, order):
    for i in range(0, len(X), BATCH):
        idx = order[i:i + BATCH]
        yield X[idx], y[idx]


def run_tinygrad(X, y, orders, init) -> float:
    model = MLP(64, SIZES[1:], dtype=np.float32)
    for p, w in zip(model.parameters(), init):
        p.data[...] = w
    opt = SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    for order in orders:
        for xb, yb in batches(X, y, order):
            loss = cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return float(loss.data)


def run_numpy(X, y, orders, init) -> float:
    params = [w.copy() for w in init]
    bufs = [None] * len(params)
    n_layers = len(params) // 2
    for order in orders:
        for xb, yb in batches(X, y, order):
            acts = [xb]
            h = xb
            for i in range(n_layers):
                W, b = params[2 * i], params[2 * i + 1]
                h = h @ W.T + b
                if i < n_layers - 1:
                    h = np.maximum(h, 0)
                acts.append(h)
            shifted = h - h.max(axis=1, keepdims=True)
            logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            loss = -logp[np.arange(len(yb)), yb].mean()
            g = np.exp(logp)
            g[np.arange(len(yb)), yb] -= 1
            g /= len(yb)
            grads = [None] * len(params)
            for i in reversed(range(n_layers)):
                if i < n_layers - 1:
                    g = g * (acts[i + 1] > 0)
                grads[2 * i] = g.T @ acts[i]
                grads[2 * i + 1] = g.sum(axis=0)
                g = g @ params[2 * i]
            for j, (p, gp) in enumerate(zip(params, grads)):
                bufs[j] = gp if bufs[j] is None else MOMENTUM * bufs[j] + gp
                p -= LR * bufs[j]
    return float(loss)


def run_torch(torch, X, y, orders, init) -> float:
    layers = []
    for i, (nin, nout) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        layers.append(torch.nn.Linear(nin, nout))
        if i < len(SIZES) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for p, w in zip(model.parameters(), init):
            p.copy_(torch.from_numpy(w))
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    for order in orders:
        ot = torch.from_numpy(order)
        for i in range(0, len(X), BATCH):
            idx = ot[i:i + BATCH]
            loss = torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return float(loss.detach())


def main() -> None:
    X, y, orders = data()
    init = [p.data.copy() for p in MLP(64, SIZES[1:], dtype=np.float32, seed=0).parameters()]
    results = {}
    loss = {}
    results["numpy floor"] = _common.best_of(
        lambda: loss.__setitem__("numpy floor", run_numpy(X, y, orders, init)), 3)
    results["tinygrad_mlp"] = _common.best_of(
        lambda: loss.__setitem__("tinygrad_mlp", run_tinygrad(X, y, orders, init)), 3)
    torch = _common.torch_or_none()
    if torch is not None:
        results["PyTorch"] = _common.best_of(
            lambda: loss.__setitem__("PyTorch", run_torch(torch, X, y, orders, init)), 3)
    floor = results["numpy floor"]
    for name, seconds in results.items():
        print(f"{name:13s} {seconds / EPOCHS * 1e3:7.1f} ms per epoch  "
              f"{seconds / floor:5.2f}x the floor   last batch loss {loss[name]:.4f}")
    if torch is None:
        print("PyTorch not installed: pip install torch==2.13.0 to compare")
    print("target: tinygrad_mlp within 1.5x of the numpy floor")


if __name__ == "__main__":
    main()

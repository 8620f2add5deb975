"""The operation registry: every registered operation is checked here without editing this file.

Each operation declares its sample inputs (and optionally its PyTorch counterpart) where it is
registered; the tests below iterate over :func:`tinygrad_mlp.engine.registry.operations`.
"""

from __future__ import annotations

import ast
import io
import os
import subprocess
import sys
import tokenize
from pathlib import Path

import numpy as np
import pytest

from tinygrad_mlp import MLP, Function, Value, gradcheck
from tinygrad_mlp.engine import registry
from tinygrad_mlp.engine.registry import Sample, register, unregister
from tinygrad_mlp.nn import ACTIVATIONS
from tinygrad_mlp.viz.expression import FUNCTIONS, parse_expression

ROOT = Path(__file__).resolve().parents[1]
OPERATIONS = registry.operations()


def _samples(op: registry.Operation) -> list[Sample]:
    return op.samples(np.random.default_rng(0)) if op.samples else []


def check_samples(op: registry.Operation) -> None:
    """gradcheck on every sample of ``op``, scalars and broadcast tensors alike."""
    for sample in _samples(op):
        values = [Value(x, label=f"in{i}") for i, x in enumerate(sample.inputs)]
        assert gradcheck(lambda *v, s=sample: op.run_sample(s, list(v)), values), sample


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_every_operation_has_samples_and_passes_gradcheck(name):
    op = OPERATIONS[name]
    samples = _samples(op)
    assert samples, f"{name} registers no samples"
    assert any(any(np.ndim(x) > 0 for x in s.inputs) for s in samples), "no tensor sample"
    check_samples(op)


def test_elementwise_operations_are_checked_on_scalars_and_broadcast_shapes():
    for name in ("add", "mul", "div", "pow", "tanh", "relu", "exp", "log", "sum"):
        samples = _samples(OPERATIONS[name])
        assert any(all(type(x) is float for x in s.inputs) for s in samples), name
    shapes = {tuple(np.shape(x) for x in s.inputs) for s in _samples(OPERATIONS["mul"])}
    assert ((2, 1), (1, 3)) in shapes  # both operands broadcast


def _to_torch(torch, x, grad: bool):
    if isinstance(x, np.ndarray) and x.dtype.kind in "iub":
        return torch.as_tensor(x)
    if isinstance(x, (np.ndarray, float)):
        return torch.tensor(x, dtype=torch.float64, requires_grad=grad)
    return x


def check_torch(op: registry.Operation) -> None:
    """``op`` against its PyTorch counterpart: values, then gradients for a random cotangent."""
    import torch

    rng = np.random.default_rng(1)
    for sample in _samples(op):
        values = [Value(x) for x in sample.inputs]
        out = op.run_sample(sample, values)
        tensors = [_to_torch(torch, x, True) for x in sample.inputs]
        args = [_to_torch(torch, a, False) for a in sample.args]
        before = [_to_torch(torch, a, False) for a in sample.before]
        expected = op.torch(*before, *tensors, *args, **sample.kwargs)
        np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
        cotangent = rng.normal(size=out.shape)
        out.backward(float(cotangent) if out.shape == () else cotangent)
        expected.backward(torch.tensor(cotangent))
        for v, t in zip(values, tensors):
            np.testing.assert_allclose(v.grad, t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(n for n, op in OPERATIONS.items() if op.torch))
def test_every_operation_matches_pytorch(name):
    pytest.importorskip("torch")
    check_torch(OPERATIONS[name])


# --------------------------------------------------------------------------- a new operation
def _softplus_samples(rng):
    return [Sample((0.3,)), Sample((rng.normal(size=(2, 3)),)), Sample((rng.normal(size=3),), (2.0,))]


def _torch_softplus(x, beta=1.0):
    import torch

    return torch.nn.functional.softplus(x, beta=beta)


def test_an_operation_registered_at_test_time_gets_everything_and_is_removed():
    @register("softplus_t", activation=True, expression=True, samples=_softplus_samples,
              torch=_torch_softplus)
    class Softplus(Function):
        """``log(1 + exp(beta * x)) / beta``."""

        @staticmethod
        def arguments(beta=1.0):  # the method's arguments after x: x.softplus_t(beta=2.0)
            return (float(beta),)

        @staticmethod
        def forward(ctx, x, beta):
            ctx.beta = beta  # an attribute on ctx, as in PyTorch
            return np.logaddexp(0.0, beta * x) / beta if type(x) is not float else float(
                np.logaddexp(0.0, beta * x) / beta)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.parents
            return grad / (1.0 + np.exp(-ctx.beta * x.data)), None

    try:
        op = registry.operations()["softplus_t"]
        y = Value(0.0).softplus_t()  # the method
        assert y.data == pytest.approx(np.log(2.0)) and y.op == "Softplus"
        assert Value.softplus_t.__doc__.startswith("``log(1 + exp")
        model = MLP(2, [3, 1], activation="softplus_t", seed=0)  # the activation name
        assert model.layers[0].activation_name == "softplus_t" and "softplus_t" in ACTIVATIONS
        assert parse_expression("softplus_t(x * 2)", {"x": 0.0}).op == "Softplus"
        check_samples(op)  # the same checks every registered operation gets
        if _has_torch():
            check_torch(op)
        with pytest.raises(ValueError, match="already registered"):
            register("softplus_t")(Softplus)
    finally:
        unregister("softplus_t")
    assert not hasattr(Value, "softplus_t")
    assert "softplus_t" not in ACTIVATIONS and "softplus_t" not in FUNCTIONS
    assert "softplus_t" not in registry.operations()


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def test_register_refuses_what_is_not_an_operation_or_a_taken_name():
    with pytest.raises(TypeError, match="Function subclass"):
        register("thing")(object)
    with pytest.raises(ValueError, match="identifier"):
        register("not a name")
    with pytest.raises(ValueError, match="already defined"):
        @register("shape_t", method="shape")
        class Shape(Function):
            pass
    assert "shape_t" not in registry.operations()


# --------------------------------------------------------------------------- the silent traps
def test_an_elementwise_flag_on_a_shape_keeping_operation_is_harmless():
    class Weigh(Function):
        elementwise = True  # wrong: the gradient of w keeps the shape (3,)

        @staticmethod
        def forward(ctx, x, w):
            return x * w

        @staticmethod
        def backward(ctx, grad):
            x, w = ctx.parents
            return grad * w.data, grad * x.data

    x, w = Value(2.0), Value(np.array([1.0, 2.0, 3.0]))
    Weigh.apply(x, w).sum().backward()
    assert x.grad == 6.0
    np.testing.assert_array_equal(w.grad, [2.0, 2.0, 2.0])
    assert gradcheck(Weigh.apply, [Value(0.5), Value(np.array([1.0, -2.0, 3.0]))])


def test_a_fresh_grads_flag_on_an_operation_returning_a_saved_array_changes_nothing():
    W = np.array([1.0, 2.0])

    class Times(Function):
        fresh_grads = True  # wrong: backward returns the saved array itself

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(W)
            return x * W

        @staticmethod
        def backward(ctx, grad):
            (w,) = ctx.saved_values
            return w

    x = Value(np.array([3.0, 4.0]))
    for _ in range(2):
        Times.apply(x).backward(np.ones(2))
    np.testing.assert_array_equal(W, [1.0, 2.0])  # the constant is untouched
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


# --------------------------------------------------------------------------- engine choice
def _python(code: str, engine: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TINYGRAD_MLP_ENGINE"}
    if engine is not None:
        env["TINYGRAD_MLP_ENGINE"] = engine
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=60)


@pytest.mark.parametrize("engine, expected", [(None, "fast"), ("fast", "fast"),
                                              ("reference", "reference")])
def test_the_environment_chooses_the_engine(engine, expected):
    code = ("import tinygrad_mlp, inspect; from tinygrad_mlp.engine import reference; "
            "print(tinygrad_mlp.ENGINE, tinygrad_mlp.Value is reference.Value, "
            "inspect.getsourcefile(tinygrad_mlp.Value.tanh).endswith(expected_file))")
    expected_file = "reference.py" if expected == "reference" else "fast.py"
    result = _python(f"expected_file = {expected_file!r}; {code}", engine)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [expected, str(expected == "reference"), "True"]


def test_an_unknown_engine_is_a_clear_error():
    result = _python("import tinygrad_mlp", "turbo")
    assert result.returncode != 0
    assert "'turbo'" in result.stderr and "'fast'" in result.stderr and "'reference'" in result.stderr


def test_the_engine_package_never_imports_the_operations():
    for path in (ROOT / "tinygrad_mlp" / "engine").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any(n == "tinygrad_mlp.ops" for n in names), path.name


def code_lines(path: Path) -> int:
    """Lines holding code: no blank lines, comments or docstrings."""
    source = path.read_text()
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
                getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT, tokenize.ENDMARKER):
            lines.update(range(tok.start[0], tok.end[0] + 1))
    return len(lines - docstrings)


def test_the_reference_engine_is_short_enough_to_read_in_one_sitting():
    assert code_lines(ROOT / "tinygrad_mlp" / "engine" / "reference.py") <= 350


# --------------------------------------------------------------------------- second derivatives
def _second_order(op, sample, values, rng):
    """Ours: the gradient of sum_i <grad_i(out; c), v_i> with respect to the inputs."""
    from tinygrad_mlp.engine import grad

    out = op.run_sample(sample, values)
    c = rng.normal(size=out.shape)
    firsts = grad(out, values, grad_outputs=float(c) if out.shape == () else c,
                  create_graph=True, allow_unused=True)
    vs = [rng.normal(size=np.shape(x)) for x in sample.inputs]
    total = None
    for g, v in zip(firsts, vs):
        if g is not None:
            term = (g * (float(v) if np.ndim(v) == 0 else v)).sum()
            total = term if total is None else total + term
    if total is None or not total.requires_grad:
        return c, vs, [None] * len(values)
    return c, vs, list(grad(total, values, allow_unused=True))


@pytest.mark.parametrize("name", sorted(n for n, op in OPERATIONS.items()
                                        if hasattr(op.function, "backward_graph")))
def test_every_operation_has_second_derivatives_matching_pytorch(name):
    torch = pytest.importorskip("torch")
    op = OPERATIONS[name]
    for k, sample in enumerate(_samples(op)):
        values = [Value(x) for x in sample.inputs]
        c, vs, ours = _second_order(op, sample, values, np.random.default_rng(k))
        tensors = [_to_torch(torch, x, True) for x in sample.inputs]
        args = [_to_torch(torch, a, False) for a in sample.args]
        before = [_to_torch(torch, a, False) for a in sample.before]
        out = op.torch(*before, *tensors, *args, **sample.kwargs)
        firsts = torch.autograd.grad(out, tensors, torch.tensor(c), create_graph=True,
                                     allow_unused=True)
        total = sum((g * torch.tensor(v)).sum() for g, v in zip(firsts, vs) if g is not None)
        if not getattr(total, "requires_grad", False):
            assert all(h is None or np.all(np.asarray(h) == 0) for h in ours), (name, k)
            continue
        expected = torch.autograd.grad(total, tensors, allow_unused=True)
        for h, e in zip(ours, expected):
            e = np.zeros(()) if e is None else e.numpy(force=True)
            np.testing.assert_allclose(0.0 if h is None else h, e, rtol=1e-9, atol=1e-12,
                                       err_msg=f"{name} sample {k}")


def test_every_built_in_operation_can_be_differentiated_twice():
    missing = [n for n, op in OPERATIONS.items() if not hasattr(op.function, "backward_graph")]
    assert missing == []


def _first_order(op, sample, rng):
    """``v -> sum(w * d(c * op(v))/dv)``: a function whose second derivatives are the
    operation's third derivatives."""
    from tinygrad_mlp.engine import grad

    def fn(*values):
        out = op.run_sample(sample, list(values))
        c = rng_c if out.shape == () else np.broadcast_to(rng_c, out.shape)
        gs = grad(out, list(values), grad_outputs=c, create_graph=True, allow_unused=True)
        terms = [(g * w).sum() for g, w in zip(gs, ws) if g is not None and g.requires_grad]
        return sum(terms) if terms else Value(0.0)
    rng_c = float(rng.uniform(0.5, 1.5))
    ws = [rng.uniform(0.5, 1.5, size=np.shape(x)) for x in sample.inputs]
    return fn


@pytest.mark.parametrize("name", sorted(n for n, op in OPERATIONS.items()
                                        if hasattr(op.function, "backward_graph")))
def test_every_operation_passes_gradgradcheck_for_second_and_third_derivatives(name):
    from tinygrad_mlp import gradgradcheck

    op = OPERATIONS[name]
    for k, sample in enumerate(_samples(op)):
        values = [Value(x, label=f"in{i}") for i, x in enumerate(sample.inputs)]
        assert gradgradcheck(lambda *v, s=sample: op.run_sample(s, list(v)), values), (name, k)
        third = _first_order(op, sample, np.random.default_rng(k))
        assert gradgradcheck(third, values, atol=1e-4), (name, k, "third")

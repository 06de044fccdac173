"""``tn.trace`` and ``tn.compile``: what a compiled call does, and what it refuses.

A compiled call is ``f(...)`` followed by ``backward()``: the same values, the same gradients
accumulated into the same ``.grad``, bit for bit (``test_tracing_ops.py`` covers every op).
Here: masks taken from the data are re-evaluated at every call, parameters are read live,
results never alias the buffers the program reuses, shapes re-trace, data-dependent control
flow and side effects are refused with a clear error, ``fit(compile=True)`` and
``train --compile`` train exactly as the eager engine does, and the printed program names the
tutorial's quantities.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import Value, nn
from tinygrad_nn import functional as F
from tinygrad_nn.checkpoint import load
from tinygrad_nn.cli import main
from tinygrad_nn.data import DataLoader, load_digits, one_hot
from tinygrad_nn.optim import SGD
from tinygrad_nn.tracing import TraceError, compile_value_and_grad
from tinygrad_nn.train import fit, training_step
from tinygrad_nn.tutorial import worked_example_program


def bits(x: Any) -> bytes:
    return np.asarray(x).tobytes()


def mlp_params(sizes: tuple[int, ...], seed: int = 0, dtype: Any = np.float64) -> list[Value]:
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in itertools.pairwise(sizes):
        params.append(Value((rng.standard_normal((n_out, n_in)) / n_in ** 0.5).astype(dtype)))
        params.append(Value(np.zeros(n_out, dtype=dtype)))
    return params


def mlp_loss(params: list[Value]) -> Any:
    def loss(x: Value, y: Value) -> Value:
        h = x
        for i in range(0, len(params), 2):
            h = F.sigmoid(F.linear(h, params[i], params[i + 1]))
        return F.mse_loss(h, y)
    return loss


def eager_grads(f: Any, params: list[Value], *args: Any) -> tuple[Any, list[Any]]:
    for p in params:
        p.grad = None
    out = f(*[a if isinstance(a, Value) else Value(a, requires_grad=False) for a in args])
    out.backward()
    grads = [p.grad for p in params]
    for p in params:
        p.grad = None
    return out.data, grads


def compiled_grads(c: Any, params: list[Value], *args: Any) -> tuple[Any, list[Any]]:
    for p in params:
        p.grad = None
    out = c(*args)
    grads = [p.grad for p in params]
    for p in params:
        p.grad = None
    return out.data, grads


# ----------------------------------------------------------------------------------------------
# The same numbers as the eager engine, call after call
# ----------------------------------------------------------------------------------------------


def test_a_compiled_training_step_is_the_eager_one_and_reads_parameters_live() -> None:
    params = mlp_params((16, 8, 8, 3))
    loss = mlp_loss(params)
    step = tn.compile(loss)
    rng = np.random.default_rng(1)
    for _ in range(3):                              # new data and new weights every call
        x, y = rng.random((5, 16)), np.eye(3)[rng.integers(0, 3, 5)]
        want = eager_grads(loss, params, x, y)
        got = compiled_grads(step, params, x, y)
        assert bits(got[0]) == bits(want[0])
        assert [bits(g) for g in got[1]] == [bits(g) for g in want[1]]
        for p, g in zip(params, want[1]):
            p.data -= 0.5 * g                       # the optimizer changes the parameters
    assert step.traces == 1


@pytest.mark.parametrize("rule", ["relu", "abs", "max", "leaky_relu"])
def test_masks_from_the_data_are_evaluated_again_at_every_call(rule: str) -> None:
    """relu's x > 0, abs's sign, max's ties come from the data of each call, never the trace."""
    def f(x: Value) -> Value:
        if rule == "max":
            return (x.max(axis=1) * np.array([1.0, 2.0, 3.0])).sum()
        y = getattr(x, rule)()
        return (y * np.arange(1.0, 13.0).reshape(3, 4)).sum()

    c = tn.compile(f)
    for data in (np.full((3, 4), 1.5), np.full((3, 4), -1.5), np.arange(12.0).reshape(3, 4) - 6,
                 np.array([[1.0, 1.0, 0.0, 1.0]] * 3)):                    # ties for max
        x_eager, x_compiled = Value(data.copy()), Value(data.copy())
        f(x_eager).backward()
        c(x_compiled)
        assert bits(x_compiled.grad) == bits(x_eager.grad), data
    assert c.traces == 1


def test_a_scalar_network_compiles_to_float_arithmetic_and_matches_eager() -> None:
    """micrograd's MLP: one Value per number; the program is straight-line float code."""
    rng = np.random.default_rng(0)
    w = [Value(float(v)) for v in rng.uniform(-1, 1, 12)]
    xs = rng.uniform(-1, 1, (4, 2)).tolist()

    def loss() -> Value:
        total: Any = 0.0
        for x0, x1 in xs:
            h = [(w[2 * j] * x0 + w[2 * j + 1] * x1 + w[8 + j]).tanh() for j in range(3)]
            out = h[0] * w[6] + h[1] * w[7] + h[2] * w[11]
            total = total + (out - 0.5) ** 2
        return total

    c = tn.compile(loss)
    for _ in range(2):
        want = eager_grads(loss, w)
        got = compiled_grads(c, w)
        assert type(got[0]) is float and got[0] == want[0]
        assert all(type(g) is float for g in got[1]) and got[1] == want[1]
        for p, g in zip(w, want[1]):
            p.data -= 0.1 * g
    source = c.program().source
    assert "np." not in source and "math.tanh(" in source
    assert not c.program().generated.buffers


def test_gradients_accumulate_like_backward_and_never_alias_each_other_or_buffers() -> None:
    params = mlp_params((6, 4, 2))
    loss = mlp_loss(params)
    c = tn.compile(loss)
    x, y = np.ones((3, 6)), np.zeros((3, 2))
    first = c(x, y)
    once = [p.grad.copy() for p in params]
    kept = [p.grad for p in params]
    second = c(x * 2, y)                            # accumulates, as a second backward() would
    for p, g1, k in zip(params, once, kept):
        assert p.grad is not k
        assert bits(k) == bits(g1)                  # the first gradients were not overwritten
    assert bits(first.data) == bits(loss(Value(x), y).data)
    assert first.data is not second.data
    buffers = c.program(x, y).generated.buffers
    assert buffers
    for p in params:
        assert not any(np.may_share_memory(p.grad, b) for b in buffers.values())


def test_argument_values_that_require_grad_get_gradients_arrays_do_not() -> None:
    w = Value(np.array([1.0, -2.0, 3.0]))
    c = tn.compile(lambda a, b: (a * b * w).sum())
    a, b = Value(np.array([0.5, 0.25, 2.0])), np.array([2.0, 4.0, 8.0])
    c(a, b)
    assert np.array_equal(a.grad, b * w.data) and np.array_equal(w.grad, a.data * b)
    assert isinstance(b, np.ndarray)


def test_float32_programs_keep_float32() -> None:
    params = mlp_params((8, 4, 2), dtype=np.float32)
    loss = mlp_loss(params)
    x, y = np.ones((3, 8), np.float32), np.zeros((3, 2), np.float32)
    want = eager_grads(loss, params, Value(x, requires_grad=False), Value(y, requires_grad=False))
    got = compiled_grads(tn.compile(loss), params, x, y)
    assert got[0].dtype == np.float32
    assert [bits(g) for g in got[1]] == [bits(g) for g in want[1]]


def test_the_logistic_far_tail_takes_the_same_path_compiled() -> None:
    """φ(x) for x ≲ -709, where e^{-x} overflows: the rule's other branch, in the program."""
    c = tn.compile(lambda x: (x.sigmoid() * np.arange(4.0)).sum())
    for data in (np.array([0.5, -1.0, 2.0, 3.0]), np.array([-800.0, -1.0, 2.0, -750.0])):
        xe, xc = Value(data.copy()), Value(data.copy())
        with np.errstate(over="ignore"):
            (xe.sigmoid() * np.arange(4.0)).sum().backward()
            out = c(xc)
        assert bits(xc.grad) == bits(xe.grad) and out.item() > 0


def test_a_division_by_zero_on_floats_gives_the_engines_infinity() -> None:
    """Python raises on 1.0 / 0.0 where the engine gives ±inf: that call runs eagerly."""
    x = Value(1.0)
    c = tn.compile(lambda y: x / y)
    assert c(2.0).data == 0.5 and x.grad == 0.5
    x.grad = None
    out = c(0.0)
    assert out.data == math.inf and x.grad == math.inf


def test_no_grad_traces_a_forward_only_program() -> None:
    params = mlp_params((4, 3))
    c = tn.compile(mlp_loss(params))
    x, y = np.ones((2, 4)), np.zeros((2, 3))
    with tn.no_grad():
        out = c(x, y)
        assert c.program(x, y).backward_steps == []
    assert all(p.grad is None for p in params) and c.traces == 1
    c(x, y)
    assert all(p.grad is not None for p in params) and c.traces == 2
    assert out.item() == c(x, y).item()


def test_detect_anomaly_runs_the_call_eagerly_and_names_the_op() -> None:
    c = tn.compile(lambda x: x.log().sum())
    assert c(np.array([1.0, 2.0])).item() == pytest.approx(math.log(2.0))
    with tn.detect_anomaly(), pytest.raises(FloatingPointError, match="log"):
        c(np.array([1.0, -1.0]))


def test_new_shapes_trace_again_and_the_cache_is_bounded() -> None:
    c = tn.compile(lambda x: (x * x).sum(), cache_size=2)
    for n in (2, 3, 2):
        assert c(np.ones(n)).item() == n
    assert c.traces == 2                            # the second 2 is cached
    c(np.ones(4))                                   # evicts 3, the least recently used
    c(np.ones(2))
    assert c.traces == 3
    c(np.ones(3))
    assert c.traces == 4 and len(c.cache) == 2


# ----------------------------------------------------------------------------------------------
# What a compiled function refuses
# ----------------------------------------------------------------------------------------------


def test_a_branch_on_the_data_is_refused_on_the_second_call() -> None:
    def f(x: Value) -> Value:
        return x * 2.0 if x.data.sum() > 0 else x * 3.0

    c = tn.compile(f)
    c(np.ones(3))
    with pytest.raises(TraceError, match="different graph on its second call"):
        c(-np.ones(3))
    unchecked = tn.compile(f, check=False)          # documented: replays the first branch
    unchecked(np.ones(3))
    assert unchecked(-np.ones(3)).data.tolist() == [-2.0, -2.0, -2.0]


def test_a_constant_computed_from_the_data_is_refused() -> None:
    c = tn.compile(lambda x: x * float(x.data.max()))
    c(np.array([1.0, 2.0]))
    with pytest.raises(TraceError, match="constant"):
        c(np.array([1.0, 5.0]))


def test_cross_entropy_labels_are_op_parameters_and_are_refused() -> None:
    w = Value(np.ones((3, 2)))
    c = tn.compile(lambda x, labels: F.cross_entropy(x @ w, labels))
    c(np.ones((2, 3)), np.array([0, 1]))
    with pytest.raises(TraceError, match="op 'cross_entropy'"):
        c(np.ones((2, 3)), np.array([1, 1]))


def test_changing_a_parameter_inside_the_function_is_refused() -> None:
    p = Value(np.array([1.0, 2.0]))

    def f(x: Value) -> Value:
        y = x * p
        p.data = p.data + 1.0                       # a side effect the program cannot replay
        return (y * p).sum()

    with pytest.raises(TraceError, match="replaces the data"):
        tn.compile(f)(np.ones(2))


def test_a_parameter_of_another_shape_is_refused() -> None:
    p = Value(np.ones(3))
    c = tn.compile(lambda x: (x * p).sum())
    c(np.ones(3))
    p.data = np.ones(4)
    with pytest.raises(TraceError, match="changed its shape"):
        c(np.ones(3))


@pytest.mark.parametrize(("result", "message"), [
    (lambda x: 3.0, "got float"),
    (lambda x: [x], "got list"),
    (lambda x: (x, 2), "a tuple of Value, int"),
    (lambda x: (), "an empty tuple"),
])
def test_a_function_must_return_values(result: Any, message: str) -> None:
    with pytest.raises(TraceError, match=message):
        tn.compile(result)(np.ones(2))


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="compile: expected a function"):
        tn.compile(3)                                               # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cache_size"):
        tn.compile(lambda x: x, cache_size=0)
    c = tn.compile(lambda x: x * 2.0)
    with pytest.raises(TypeError, match="positional arguments only"):
        c(x=np.ones(2))
    with pytest.raises(TypeError, match="argument 0"):
        c("text")
    with pytest.raises(TypeError, match="trace: expected a function"):
        tn.trace(None)                                              # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------
# fit(compile=True) and the command line
# ----------------------------------------------------------------------------------------------


def _digits_run(compile: Any, epochs: int = 10) -> tuple[Any, Any]:
    X, y = load_digits()
    X, Y = X[:300], one_hot(y[:300], 10)
    model = nn.mlp([64, 20, 20, 10], activation="sigmoid", rng=np.random.default_rng(0))
    loss_fn = nn.MSELoss()
    loader = DataLoader(X, Y, batch_size=32, shuffle=True, rng=0)
    if compile == "step":
        compile = training_step(model, loss_fn)
    history = fit(model, loss_fn, SGD(model.parameters(), lr=5.0), loader, epochs,
                  val_data=(X[:50], Y[:50]), progress=False, compile=compile)
    return model, history


def test_fit_compiled_trains_exactly_as_eager_for_ten_epochs() -> None:
    eager, h_eager = _digits_run(False)
    compiled, h_compiled = _digits_run(True)
    reused, _ = _digits_run("step")
    for a, b, c in zip(eager.parameters(), compiled.parameters(), reused.parameters()):
        assert bits(a.data) == bits(b.data) == bits(c.data)
    assert h_eager.loss == h_compiled.loss and h_eager.accuracy == h_compiled.accuracy
    assert h_eager.val_loss == h_compiled.val_loss


def _small_run(compile: bool, epochs: int, dtype: Any = np.float64, lr: float = 5.0,
               checkpoint: Path | None = None, resume: Path | None = None) -> tuple[Any, Any]:
    X, y = load_digits()
    X, Y = X[:100], one_hot(y[:100], 10)
    model = nn.mlp([64, 12, 10], activation="sigmoid", rng=np.random.default_rng(1)).to(dtype)
    loss_fn = nn.MSELoss()
    loader = DataLoader(X, Y, batch_size=32, shuffle=True, rng=0)
    history = fit(model, loss_fn, SGD(model.parameters(), lr=lr), loader, epochs,
                  progress=False, compile=compile, checkpoint=checkpoint, resume=resume)
    return model, history


@pytest.mark.filterwarnings("ignore::tinygrad_nn.errors.TrainingWarning")
def test_fit_compiled_gives_a_float32_model_float32_targets_as_eager_does() -> None:
    eager, h_eager = _small_run(False, 3, np.float32)
    compiled, h_compiled = _small_run(True, 3, np.float32)
    for a, b in zip(eager.parameters(), compiled.parameters(), strict=True):
        assert a.data.dtype == np.float32 and bits(a.data) == bits(b.data)
    assert h_eager.loss == h_compiled.loss


@pytest.mark.filterwarnings("ignore::tinygrad_nn.errors.TrainingWarning")
def test_fit_compiled_resumes_and_warns_as_eager_does(tmp_path: Path) -> None:
    _small_run(False, 2, checkpoint=tmp_path / "half.npz")
    eager, _ = _small_run(False, 2, resume=tmp_path / "half.npz")
    compiled, _ = _small_run(True, 2, resume=tmp_path / "half.npz")
    for a, b in zip(eager.parameters(), compiled.parameters(), strict=True):
        assert bits(a.data) == bits(b.data)
    messages = []
    for compile in (False, True):             # a learning rate far too small: the same warning
        with pytest.warns(tn.errors.TrainingWarning, match="has not learned") as caught:
            _small_run(compile, 2, lr=1e-6)
        messages.append([str(w.message) for w in caught])
    assert len(messages[0]) == 1 and messages[0] == messages[1]


def test_fit_compile_must_be_a_flag_or_a_step() -> None:
    with pytest.raises(TypeError, match="fit: compile must be True, False or a step"):
        _digits_run("yes", epochs=1)


def test_train_compile_gives_the_eager_network(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    outputs = []
    for flag in ([], ["--compile"]):
        out = tmp_path / ("compiled" if flag else "eager")
        assert main(["train", "--epochs", "2", "--no-progress", "--out", str(out), *flag]) == 0
        text = capsys.readouterr().out
        outputs.append(re.search(r"^accuracy: .*$", text, re.M).group(0))    # type: ignore
        assert (out / "model.npz").exists()
    assert outputs[0] == outputs[1]
    eager, compiled = load(tmp_path / "eager" / "model.npz"), load(tmp_path / "compiled" /
                                                                    "model.npz")
    for a, b in zip(eager.parameters(), compiled.parameters()):
        assert bits(a.data) == bits(b.data)


def test_train_compile_refuses_cross_entropy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--compile", "--loss", "ce", "--epochs", "1"]) == 2
    assert "--compile needs --loss mse" in capsys.readouterr().err


def test_the_trace_command_prints_the_worked_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("E(x: f64[1,2], d: f64[1,2])")
    assert re.search(r"g3: f64\[1,2\] = sigmoid\.vjp\[0\] g4 v4 v3 +φ: Sigmoid\[3\] +"
                     r"δ³ = ∂E/∂net X₃", text)
    assert re.search(r"g_p0: f64\[2,2\] = linear\.vjp\[1\] g1 v1 x p0 p1 +f: Linear\[0\] +"
                     r"∂E/∂W₁", text)
    assert main(["trace", "--source"]) == 0
    source = capsys.readouterr().out
    assert source.startswith("def E(x, d, p0, p1, p2, p3):")
    assert "    g3 = np.subtract(1.0, v4, out=" in source and "    g3 *= v4\n" in source
    assert main(["trace", "--build", "scalar"]) == 0
    assert "δ = ∂E/∂net x₁³" in capsys.readouterr().out


# ----------------------------------------------------------------------------------------------
# The program as a value
# ----------------------------------------------------------------------------------------------


def test_the_worked_example_program_has_the_tutorials_steps_and_gradients() -> None:
    program = worked_example_program()
    assert [s.rule for s in program.forward_steps] == ["linear", "sigmoid", "linear", "sigmoid",
                                                       "mse"]
    assert [s.where for s in program.forward_steps] == [
        "f: Linear[0]", "φ: Sigmoid[1]", "g: Linear[2]", "φ: Sigmoid[3]", "E: MSELoss"]
    assert [s.meaning for s in program.backward_steps if s.meaning.startswith("δ")] == [
        "δ³ = ∂E/∂net X₃", "δ² = ∂E/∂net X₂"]
    assert [p.meaning for p in program.params] == ["W₁", "B₂", "W₂", "B₃"]
    assert repr(program) == "Program(2 args, 4 params, 5 forward steps, 8 backward steps)"
    # the program's gradients are the engine's
    model, loss_fn = tn.tutorial.worked_model(), nn.MSELoss()
    loss_fn(model(np.array([[0.5, 0.25]])), np.array([[0.0, 1.0]])).backward()
    _, grads = program.generated.function(np.array([[0.5, 0.25]]), np.array([[0.0, 1.0]]),
                                             *[p.data for p in model.parameters()])
    assert [bits(g) for g in grads] == [bits(p.grad) for p in model.parameters()]


def test_a_scalar_result_is_made_an_array_once() -> None:
    """mse's rule already ends in np.asarray: the program does not wrap its result again."""
    source = worked_example_program().source
    assert "    v5 = np.asarray(v5_total / 2)\n" in source
    assert "v5 = np.asarray(v5)" not in source


def test_shared_values_accumulate_in_the_engines_order() -> None:
    """x used three times: its gradient is one accumulate step over the three contributions."""
    x = Value(np.array([0.3, -0.7]))
    program = tn.trace(lambda: (x * x + x.tanh()).sum())
    total = [s for s in program.backward_steps if s.rule == "accumulate"]
    assert len(total) == 1 and [a.name for a in total[0].args] == ["g_p0_1", "g_p0_2", "g_p0_3"]
    assert "g_p0 = g_p0_1 + g_p0_2 + g_p0_3" in program.source


# ----------------------------------------------------------------------------------------------
# Composing with the function transforms (issue 18)
# ----------------------------------------------------------------------------------------------


ws = [Value(np.array([[0.5, -1.0], [2.0, 0.25]]))]


@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_compile_value_and_grad_is_value_and_grad(argnums: Any) -> None:
    def f(x: Value, y: Value) -> Value:
        return ((x @ ws[0]).tanh() * y).sum()

    x, y = np.array([[1.0, 2.0], [3.0, -4.0]]), np.array([[0.5, 1.5], [2.5, -1.0]])
    want = tn.value_and_grad(f, argnums)(x, y)
    for got in (compile_value_and_grad(f, argnums)(x, y),
                tn.compile(tn.value_and_grad(f, argnums))(x, y)):
        assert bits(got[0]) == bits(want[0])
        pairs = zip(got[1], want[1]) if isinstance(argnums, tuple) else [(got[1], want[1])]
        assert all(bits(g) == bits(w) for g, w in pairs)
    got_grad = tn.compile(tn.grad(f, argnums))(x, y)
    pairs = zip(got_grad, want[1]) if isinstance(argnums, tuple) else [(got_grad, want[1])]
    assert all(bits(g) == bits(w) for g, w in pairs)
    assert ws[0].grad is None                       # a transform sets no .grad


def test_compile_value_and_grad_refuses_bad_argnums() -> None:
    with pytest.raises(TypeError, match="argnums"):
        compile_value_and_grad(lambda x: x, "0")                    # type: ignore[arg-type]
    with pytest.raises(ValueError, match="out of range"):
        compile_value_and_grad(lambda x: x.sum(), 3)(np.ones(2))

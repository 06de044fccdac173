"""A value computed twice is computed once (``tracing/cse.py``), and never when that is unsafe.

``repeats`` is tested on hand-written lines, each run before and after the rewrite on the same
arrays (the results must be the same bits), and on the cases where reusing would be wrong: the
earlier variable read again after the line that would change it, a view of it kept, an operand
changed in between (in place, through ``out=``, through a view, by an unknown call).  Then
compiled programs: the MSE/sigmoid tail of the tutorial's network reads the forward pass's
``p - t``, bit for bit the engine's numbers over several calls (buffers reused), in float64 and
float32, with and without the optimizer's update; a difference that is read again is computed
again; a wrong reuse is caught by the check against the engine; random programs that ask for
the same values several times compile to the eager numbers.
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from test_tracing import mlp_loss, mlp_params
from test_tracing_ops import assert_same_run, compiled_run, compiles_as_eager, eager_run, fresh

import tinygrad_nn as tn
from tinygrad_nn import TraceError, Value
from tinygrad_nn import functional as F
from tinygrad_nn.optim import SGD
from tinygrad_nn.tracing import cse

# ----------------------------------------------------------------------------------------------
# repeats, on hand-written lines
# ----------------------------------------------------------------------------------------------


def rewritten(code: str) -> tuple[dict[int, str], str]:
    """``repeats`` of ``code``'s lines, and the code with each found line reading its holder."""
    lines = ast.parse(code).body
    found = cse.repeats(lines)
    for i, held in found.items():
        line = lines[i]
        assert isinstance(line, ast.Assign)
        lines[i] = ast.Assign(line.targets, ast.Name(held, ast.Load()))
    return found, ast.unparse(ast.fix_missing_locations(ast.Module(lines, [])))


def run(code: str) -> dict[str, Any]:
    """The variables after running ``code`` on the same arrays every time."""
    rng = np.random.default_rng(7)
    scope: dict[str, Any] = {"np": np, "x": rng.uniform(-1, 1, (3, 4)),
                             "y": rng.uniform(-1, 1, (3, 4)), "buf": np.empty((3, 4)),
                             "f": lambda a: a.__imul__(3.0)}
    exec(code, scope)
    return {k: v for k, v in scope.items() if k not in ("np", "__builtins__", "f")}


def assert_same_results(before: str, after: str, names: list[str]) -> None:
    a, b = run(before), run(after)
    for name in names:
        assert a[name].tobytes() == b[name].tobytes(), name


def test_the_mse_tail_takes_the_forward_difference_over() -> None:
    code = ("d = x - y\n"
            "total = np.vdot(d, d)\n"
            "g = x - y\n"
            "g *= 2.0 / 12\n"
            "delta = 1.0 - x\n"
            "delta *= x\n"
            "delta *= g\n")
    found, after = rewritten(code)
    assert found == {2: "d"}
    assert "g = d\n" in after
    assert_same_results(code, after, ["total", "g", "delta"])


def test_values_only_read_are_shared() -> None:
    code = "a = x * y\nb = x * y\nc = a + b\nt = a.T @ b\n"
    found, after = rewritten(code)
    assert found == {1: "a"}
    assert_same_results(code, after, ["c", "t"])


def test_expressions_match_whole_with_their_constants_and_keywords() -> None:
    code = ("a = (x - y).sum(axis=0)\nb = (x - y).sum(axis=1)\nc = (x - y).sum(axis=0)\n"
            "d = x * 2.0\ne = x * 3.0\nf2 = np.exp(x.T)\ng = np.exp(x.T)\n")
    found, _ = rewritten(code)
    assert found == {2: "a", 6: "f2"}


@pytest.mark.parametrize("code", [
    # the earlier variable is read after the line that changes the shared array
    "d = x - y\ng = x - y\ng *= 2.0\nr = d + g\n",
    # ... through a view of it kept before
    "d = x - y\nw = d.T\ng = x - y\ng *= 2.0\nr = w + 0.0\n",
    # shared, then the earlier one changed while the other is still read
    "a = x * y\nb = x * y\na *= 2.0\nr = a + b\n",
    # an operand changed in between: in place, through out=, through a view, by a call
    "a = x * y\nx *= 2.0\nb = x * y\nr = a + b\n",
    "a = x * y\nnp.exp(x, out=x)\nb = x * y\nr = a + b\n",
    "a = x * y\nw = x[0:2]\nw *= 2.0\nb = x * y\nr = a + b\n",
    "a = x * y\nf(x)\nb = x * y\nr = a + b\n",
])
def test_a_reuse_that_would_change_a_result_is_not_made(code: str) -> None:
    found, _ = rewritten(code)
    assert found == {}
    # and the naive reuse would indeed give other numbers
    lines = code.splitlines()
    target = next(k for k, line in enumerate(lines) if line.startswith(("g = ", "b = ")))
    held = "d" if lines[target].startswith("g") else "a"
    naive = "\n".join([*lines[:target], f"{lines[target][0]} = {held}", *lines[target + 1:]])
    assert run(naive)["r"].tobytes() != run(code)["r"].tobytes()


def test_a_write_into_out_changes_that_array_alone() -> None:
    code = "a = x * y\nnp.subtract(x, y, out=buf)\nb = buf * y\nc = x * y\nr = a + b + c\n"
    found, after = rewritten(code)
    assert found == {3: "a"}
    assert_same_results(code, after, ["r"])


def test_variables_assigned_twice_or_in_branches_hold_nothing() -> None:
    code = ("if x[0, 0] > 0:\n    a = x * y\nelse:\n    a = x + y\nb = x * y\n"
            "c = y * x\nc = c + 1.0\nd = y * x\n")
    assert rewritten(code)[0] == {}


def test_impure_expressions_are_never_reused() -> None:
    code = ("a = np.random.default_rng(0).random(3)\nb = np.random.default_rng(0).random(3)\n"
            "c = np.add(x, y, out=buf)\nd = np.add(x, y, out=buf)\n"
            "e = ops.f(x)\ng = ops.f(x)\n")
    assert rewritten(code)[0] == {}


# ----------------------------------------------------------------------------------------------
# Compiled programs
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_mse_sigmoid_tail_reuses_the_forward_difference(dtype: type) -> None:
    rng = np.random.default_rng(3)
    ps = mlp_params((6, 4, 3), 3, dtype)
    eager_ps = [Value(p.data.copy()) for p in ps]
    compiled = tn.compile(mlp_loss(ps))
    batches = [(rng.random((5, 6)).astype(dtype), rng.random((5, 3)).astype(dtype))
               for _ in range(4)]
    for x, y in batches:                      # the same buffers, new data at every call
        for p in ps:
            p.grad = None
        got = compiled(x, y)
        want = mlp_loss(eager_ps)(Value(x), Value(y))
        for p in eager_ps:
            p.grad = None
        want.backward()
        assert_same_run((got.data, [p.grad for p in ps]),
                        (want.data, [p.grad for p in eager_ps]), "call")
    source = compiled.program(*batches[0]).source
    assert "g4 = v5_d  # v4 - y, computed for v5\n    g4 *= " in source
    assert source.count("v4, y") == 1         # p - t once, in the forward pass


def test_the_training_step_reuses_it_too_and_trains_as_eager() -> None:
    rng = np.random.default_rng(4)
    ps = mlp_params((6, 4, 3), 4)
    eager_ps = [Value(p.data.copy()) for p in ps]
    step = tn.compile(mlp_loss(ps), optimizer=SGD(ps, lr=0.5))
    eager_opt = SGD(eager_ps, lr=0.5)
    for _ in range(5):
        x, y = rng.random((5, 6)), rng.random((5, 3))
        got = step(x, y)
        want = mlp_loss(eager_ps)(Value(x), Value(y))
        want.backward()
        eager_opt.step()
        eager_opt.zero_grad()
        assert got.data.tobytes() == want.data.tobytes()
        for p, q in zip(ps, eager_ps):
            assert p.data.tobytes() == q.data.tobytes()
    assert "computed for v5" in step.program(x, y).source


def difference_read_after_the_mse(t: Value, p: Value) -> Value:
    """E = Σ (p − t)² + mse(p, t): the MSE's VJP runs before mul's VJP reads p − t again."""
    d = p - t
    return (d * d).sum() + F.mse_loss(p, t)


def test_a_difference_read_again_is_computed_again() -> None:
    rng = np.random.default_rng(5)
    t, p = rng.uniform(-1, 1, (3, 2)), rng.uniform(-1, 1, (3, 2))
    program = tn.trace(difference_read_after_the_mse, Value(t), Value(p))
    assert program.generated.called == []
    source = program.source
    assert "v4_d = v1  # p - t, computed for v1" in source          # the forward: shared
    assert "g_p_1 = np.subtract(p, t, out=" in source               # the VJP: computed again
    compiles_as_eager(difference_read_after_the_mse, [t, p], [Value(t * 0.5), Value(p - 1.0)])


def test_a_wrong_reuse_is_caught_by_the_check_against_the_engine(
        monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(5)
    t, p = rng.uniform(-1, 1, (3, 2)), rng.uniform(-1, 1, (3, 2))
    monkeypatch.setattr(cse._Scan, "may_share", lambda self, held, target, i: True)
    try:
        program = tn.trace(difference_read_after_the_mse, Value(t), Value(p))
    except TraceError:
        return
    assert program.generated.called != []     # the disagreeing steps are called as rules


# ----------------------------------------------------------------------------------------------
# Random programs that ask for the same values several times
# ----------------------------------------------------------------------------------------------


@st.composite
def repeating_programs(draw: st.DrawFn) -> tuple[list[np.ndarray], list[tuple[str, int, int]]]:
    """Leaves of one shape and steps over a pool: an op applied twice to the same entries, an
    entry times itself, an MSE beside the difference it computes, sigmoid and tanh."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    leaves = [rng.uniform(-2, 2, shape).astype(dtype) for _ in range(draw(st.integers(2, 3)))]
    steps = []
    size = len(leaves)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["twice", "square", "mse", "mse first", "sigmoid", "tanh"]))
        i, j = draw(st.integers(0, size - 1)), draw(st.integers(0, size - 1))
        steps.append((kind, i, j))
        size += 2 if kind == "twice" else 1   # an MSE's E goes to a list of its own
    return leaves, steps


def run_repeating(steps: list[tuple[str, int, int]]) -> Any:
    def f(*leaves: Value) -> Value:
        pool, errors = list(leaves), []
        for kind, i, j in steps:
            a, b = pool[i], pool[j]
            if kind == "twice":
                pool += [a * b, a * b]
            elif kind == "square":
                pool.append(a * a)
            elif kind == "mse":                       # the difference first, then the MSE
                pool.append(a - b)
                errors.append(F.mse_loss(a, b))
            elif kind == "mse first":
                errors.append(F.mse_loss(a, b))
                pool.append(a - b)
            elif kind == "sigmoid":
                pool.append(F.sigmoid(a))
            else:
                pool.append(a.tanh())
        return sum([(p * (k + 1.5)).sum() for k, p in enumerate(pool[len(leaves):])] + errors)
    return f


@settings(max_examples=120, deadline=None)
@given(repeating_programs())
def test_random_programs_with_repeated_values_compile_to_the_eager_numbers(
        case: tuple[list[np.ndarray], list[tuple[str, int, int]]]) -> None:
    leaves, steps = case
    note(f"{[leaf.shape for leaf in leaves]} {leaves[0].dtype} {steps}")
    f = run_repeating(steps)
    other = [Value(leaf * -0.75) for leaf in leaves]
    compiled = compiles_as_eager(f, leaves, other)
    program = compiled.program(*fresh(other))
    assert program.generated.called == []
    again = fresh(other, 1.25)                # a third call: the buffers hold the second's data
    assert_same_run(compiled_run(compiled, again), eager_run(f, fresh(other, 1.25)), "third")

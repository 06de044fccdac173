"""The batched reverse walk (``tinygrad_nn.batched``): a stack of cotangents through every op.

Every case of ``tests/test_ops.py`` (each op of ``ops.TABLE`` on floats, 0-d arrays, every
broadcast pair, every axis, every index kind) is recorded, and at each of its nodes the batched
step for a stack of B random cotangents must equal B ordinary VJPs (``chain_rule_step``, what
``backward()`` runs), row by row.  For the ops in ``batched.NATIVE`` the rule runs once on the
whole stack, so an op listed there whose rules do not take a stack fails here; every op left out
must really need the row-by-row path (a test shows a case where running it natively goes wrong).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_ops import CASES, Case

import tinygrad_nn as tn
from tinygrad_nn import Value, batched, ops
from tinygrad_nn.graph import toposort
from tinygrad_nn.value import chain_rule_step, rule_args

STACKS = (1, 5)
"""Stack sizes: 1, and 5, which no dimension of the cases equals (a rule that mixes the stack's
axis up with an axis of the op then fails on shapes, not only on values)."""


def edges(case: Case) -> list[tuple[Value, int]]:
    """Every (node, input) pair of the case's graph that a gradient flows along."""
    out = case.build(*case.inputs())
    return [(node, i) for node in toposort(out) if node.op is not None
            for i, parent in enumerate(node.parents) if parent.requires_grad]


def random_stack(node: Value, rows: int, seed: int) -> np.ndarray:
    shape = () if type(node.data) is float else node.data.shape
    dtype = np.float64 if type(node.data) is float else node.data.dtype
    return np.random.default_rng(seed).uniform(-1.5, 1.5, (rows, *shape)).astype(dtype)


def ordinary_rows(node: Value, i: int, g: np.ndarray) -> np.ndarray:
    """B separate ordinary VJPs, as ``backward()`` computes each (a float g for a float node)."""
    scalar = type(node.data) is float
    return np.stack([np.asarray(chain_rule_step(node, i, rule_args(node, float(r) if scalar
                                                                   else r))) for r in g])


def agrees(got: Any, want: np.ndarray) -> bool:
    got = np.asarray(got)
    return got.shape == want.shape and got.dtype == want.dtype and \
        np.allclose(got, want, rtol=1e-13, atol=1e-13, equal_nan=True)


def test_every_table_op_is_exercised() -> None:
    """The cases reach every op of the table with a gradient flowing into it."""
    reached = {node.op.name for case in CASES for node, _ in edges(case)}
    assert reached == set(ops.TABLE), sorted(set(ops.TABLE) - reached)
    assert set(ops.TABLE) >= batched.NATIVE, sorted(batched.NATIVE - set(ops.TABLE))


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_the_batched_step_equals_one_ordinary_vjp_per_row(case: Case) -> None:
    for k, (node, i) in enumerate(edges(case)):
        for rows in STACKS:
            g = random_stack(node, rows, seed=k)
            want = ordinary_rows(node, i, g)
            got = batched._batched_step(node, i, g)
            assert agrees(got, want), f"{node.op.name} input {i}, {rows} rows: {got!r} != {want!r}"


NATIVE_CASES = [case for case in CASES if any(node.op.name in batched.NATIVE and
                                              type(node.data) is not float
                                              for node, _ in edges(case))]


@pytest.mark.parametrize("case", NATIVE_CASES, ids=repr)
def test_native_rules_take_the_whole_stack(case: Case) -> None:
    """The ops marked native run their rule once on the stack, and it gives the B rows."""
    for k, (node, i) in enumerate(edges(case)):
        if node.op.name not in batched.NATIVE or type(node.data) is float:
            continue
        for rows in STACKS:
            g = random_stack(node, rows, seed=k)
            got = batched._native_step(node, i, g)
            assert agrees(got, ordinary_rows(node, i, g)), f"{node.op.name} input {i}"


def _native_goes_wrong(node: Value, i: int, g: np.ndarray) -> bool:
    try:
        with np.errstate(all="ignore"):
            return not agrees(batched._native_step(node, i, g), ordinary_rows(node, i, g))
    except (ValueError, TypeError, IndexError):     # shapes that do not fit the rule
        return True


@pytest.mark.parametrize("name", sorted(set(ops.TABLE) - batched.NATIVE))
def test_every_op_left_out_of_native_needs_the_row_by_row_path(name: str) -> None:
    """An op outside ``NATIVE`` whose rules took a stack on every case would belong in it."""
    for case in CASES:
        for k, (node, i) in enumerate(edges(case)):
            if node.op.name == name and type(node.data) is not float and \
                    _native_goes_wrong(node, i, random_stack(node, 5, seed=k)):
                return
    pytest.fail(f"{name}: its rules take a stack of cotangents on every case; add it to "
                f"batched.NATIVE")


def test_scalar_path_nodes_run_their_float_rules_row_by_row() -> None:
    """On the scalar path a rule gets a Python float g, as in backward()."""
    x = Value(0.5)
    y = x.tanh() * 3.0                      # floats all the way
    g = np.array([1.0, -2.0, 0.5])
    got = batched._batched_step(y, 0, g)
    np.testing.assert_allclose(got, g * 3.0, rtol=1e-15)
    tanh_node = y.parents[0]
    np.testing.assert_allclose(batched._batched_step(tanh_node, 0, g),
                               g * (1.0 - np.tanh(0.5) ** 2), rtol=1e-15)


def test_pull_back_rows_sets_no_grad_and_collects_each_input() -> None:
    rng = np.random.default_rng(3)
    a, b = Value(rng.standard_normal((2, 3))), Value(rng.standard_normal(3))
    out = (a @ b).exp() + b.sum()
    seed = np.eye(2)
    ga, gb = batched.pull_back_rows(toposort(out), seed, [a, b])
    for row in range(2):
        a.grad = b.grad = None
        out.backward(seed[row])
        np.testing.assert_allclose(ga[row], a.grad, rtol=1e-14)
        np.testing.assert_allclose(gb[row], b.grad, rtol=1e-14)
    a.grad = b.grad = None
    batched.pull_back_rows(toposort(out), seed, [a, b])
    assert a.grad is None and b.grad is None


def test_an_input_the_output_does_not_reach_gets_none() -> None:
    x, unused = Value(np.ones(3)), Value(np.ones(2))
    assert batched.jacobian_rows(x.exp(), [x, unused])[1] is None


@pytest.mark.parametrize("limit", [1, 7, 40, None])
def test_chunks_give_the_same_rows(limit: int | None) -> None:
    """However many rows a chunk holds (at least one), the Jacobian is the same."""
    rng = np.random.default_rng(4)
    w = rng.standard_normal((6, 4))
    x = Value(rng.standard_normal(4))
    out = (w @ x).tanh().reshape(2, 3) * x[:3]
    rows = batched.jacobian_rows(out, [x], chunk_entries=limit)[0]
    full = batched.jacobian_rows(out, [x], chunk_entries=10 ** 9)[0]
    assert rows.shape == (6, 4)
    np.testing.assert_array_equal(rows, full)


def test_a_chunk_holds_at_most_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """B × the largest node that carries a cotangent stays within ``chunk_entries``."""
    seen: list[int] = []
    walk = batched.pull_back_rows

    def spy(order: list[Value], seed: np.ndarray, wrt: list[Value], leading: Any) -> Any:
        seen.append(len(seed))
        return walk(order, seed, wrt, leading)

    monkeypatch.setattr(batched, "pull_back_rows", spy)
    x = Value(np.linspace(-1.0, 1.0, 10))
    big = Value(np.ones((50, 10)), requires_grad=False)       # a constant: carries nothing
    out = (big @ x).tanh()                                   # 50 entries, the largest node
    batched.jacobian_rows(out, [x], chunk_entries=200)
    assert seen == [4] * 12 + [2]                            # 200 // 50 = 4 rows a chunk


def test_only_the_edges_that_lead_to_an_input_carry_a_stack(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A parameter the function uses (it requires grad) gets no stack: the Jacobian is with
    respect to x only, and B × the parameter's size would be wasted work and memory."""
    steps: list[tuple[str, int]] = []
    step = batched._batched_step

    def spy(node: Value, i: int, g: np.ndarray) -> np.ndarray:
        steps.append((node.op.name, i))
        return step(node, i, g)

    monkeypatch.setattr(batched, "_batched_step", spy)
    W = Value(np.random.default_rng(5).standard_normal((3, 2)))     # requires grad
    x = Value(np.array([0.5, -1.0]))
    out = (W @ x).tanh() * 2.0
    rows = batched.jacobian_rows(out, [x])[0]
    assert sorted(steps) == [("matmul", 1), ("mul", 0), ("tanh", 0)]
    np.testing.assert_allclose(rows, 2.0 * (1.0 - np.tanh(W.data @ x.data) ** 2)[:, None] * W.data,
                               rtol=1e-14)
    assert W.grad is None and x.grad is None


@pytest.mark.parametrize("x", [np.array([4.0, 0.0]), np.array([[4.0, 0.0]])])
def test_detect_anomaly_names_the_op_whose_stacked_gradient_is_infinite(x: np.ndarray) -> None:
    """√x at 0 is finite, its derivative g/(2√x) is not (inf, or NaN for the rows whose g is 0
    there): found in the stacked step as backward() finds it, naming the op."""
    message = r"op 'sqrt' produced (NaN|inf) in its backward"
    with tn.detect_anomaly(), np.errstate(divide="ignore", invalid="ignore"), \
            pytest.raises(FloatingPointError, match=message):
        tn.jacobian(lambda v: v.sqrt().tanh(), mode="rev")(x)

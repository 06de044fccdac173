"""Compiled programs against the eager engine, bit for bit: every op of the table, random programs.

Every case of ``tests/test_ops.py`` (each op of ``ops.TABLE`` on floats, 0-d arrays, every
broadcast pair, every axis, every index kind) is compiled and run twice — on its example, then on
other data — and must give the eager engine's value and gradients exactly (same bits, same
types).  Every rule must be written out from the table's source (none called as an object; the
ops of any number of inputs, ``concatenate`` and ``stack``, too), so a new op whose rules the
inliner cannot read fails here.  Hypothesis' random programs
(``tests/test_properties.py``: broadcasting, reused subexpressions, reductions, indexing,
matmul, linear, MSE and cross-entropy) are compiled the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from test_ops import CASES, Case, weighted_sum
from test_properties import Program as RandomProgram
from test_properties import programs

import tinygrad_nn as tn
from tinygrad_nn import Value, ops
from tinygrad_nn.tracing.rules import rule_source


def same(a: Any, b: Any) -> bool:
    """Bit for bit equal, and of the same type (a float is not a 0-d array)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and \
            np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()
    return bool(np.asarray(a).tobytes() == np.asarray(b).tobytes())


def fresh(values: list[Value], scale: float = 1.0) -> list[Value]:
    """New leaves with the same (or scaled) data, of the same kind: each run gets its own."""
    return [Value(v.data * scale if type(v.data) is float else
                  np.asarray(v.data * scale, dtype=v.data.dtype)) for v in values]


def eager_run(f: Any, leaves: list[Value]) -> tuple[Any, list[Any]]:
    out = f(*leaves)
    if out.requires_grad:
        out.backward()
    return out.data, [v.grad for v in leaves]


def compiled_run(compiled: Any, leaves: list[Value]) -> tuple[Any, list[Any]]:
    out = compiled(*leaves)
    return out.data, [v.grad for v in leaves]


def assert_same_run(got: tuple[Any, list[Any]], want: tuple[Any, list[Any]], what: str) -> None:
    assert same(got[0], want[0]), f"{what}: value {got[0]!r} != {want[0]!r}"
    for k, (g, w) in enumerate(zip(got[1], want[1])):
        assert (g is None) == (w is None), f"{what}: gradient of leaf {k}: {g!r} vs {w!r}"
        if w is not None:
            assert same(g, w), f"{what}: gradient of leaf {k}:\n{g!r}\n!=\n{w!r}"


def rule_count(op: ops.Op) -> int:
    """How many VJPs to look up: one per input, three for an op of any number of inputs."""
    return 3 if isinstance(op.vjps, ops.PerInput) else len(op.vjps)


def test_every_rule_of_the_table_is_read_from_its_source() -> None:
    for name, op in ops.TABLE.items():
        assert rule_source(op, -1) is not None, f"{name}.forward"
        for i in range(rule_count(op)):
            assert rule_source(op, i) is not None, f"{name}.vjp[{i}]"


def test_a_per_input_rule_is_read_as_its_helper_told_the_input() -> None:
    source = rule_source(ops.CONCATENATE, 2)
    assert source is not None
    assert (source.name, source.leading, source.params, source.vararg) == (
        "concatenate.vjp[2]", (2,), ("i", "g", "ans"), "inputs_and_axis")
    forward = rule_source(ops.STACK, -1)
    assert forward is not None and (forward.params, forward.vararg) == ((), "inputs_and_axis")


def test_a_per_input_rule_replaced_at_run_time_has_no_source(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops.CONCATENATE, "vjps", ops.PerInput(lambda i, g, ans, *rest: g))
    assert rule_source(ops.CONCATENATE, 0) is None


def test_concatenate_and_stack_are_written_out_from_their_rules() -> None:
    def f(a: Value, b: Value) -> Value:
        joined = tn.concatenate([a, b, a], axis=1)            # a twice: its parts add up
        stacked = tn.stack([b, a[:, :1]], axis=0)
        return (joined * joined).sum() + (stacked.tanh() * joined[:, :1]).sum()

    a, b = np.arange(6.0).reshape(3, 2) / 7, np.arange(3.0).reshape(3, 1) / 5
    program = tn.trace(f, Value(a, requires_grad=True), Value(b, requires_grad=True))
    source = program.source
    assert "v1 = np.concatenate([a, b, a], axis=1)" in source
    assert "np.stack([b, v" in source
    for line in ("= g1[:, 0:2]", "= g1[:, 2:3]", "= g1[:, 3:5]"):   # each input's slice of g
        assert line in source
    assert "[0]\n" in source and "[1]\n" in source                 # stack: entry i of g
    assert "_concatenate" not in source and "_stack" not in source and "k0(" not in source
    rules = [s.rule for s in program.backward_steps]
    assert rules.count("concatenate.vjp[0]") == rules.count("concatenate.vjp[2]") == 1
    assert program.generated.called == []
    compiled = tn.compile(f)
    for scale in (1.0, -0.5):
        leaves = [Value(a * scale, requires_grad=True), Value(b * scale, requires_grad=True)]
        eager = [Value(a * scale, requires_grad=True), Value(b * scale, requires_grad=True)]
        out = f(*eager)
        out.backward()
        assert_same_run(compiled_run(compiled, leaves),
                        (out.data, [v.grad for v in eager]), f"scale {scale}")
    assert compiled.traces == 1


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_compiled_op_is_the_eager_op_bit_for_bit(case: Case) -> None:
    def f(*xs: Value) -> Value:
        return weighted_sum(case.build(*xs))

    example = case.inputs()
    compiled = tn.compile(f)
    assert_same_run(compiled_run(compiled, fresh(example)), eager_run(f, fresh(example)),
                    "first call")
    program = compiled.program(*fresh(example))
    assert case.op in {s.rule for s in program.steps}
    assert program.generated.called == [], "rules called instead of written out"
    # other data, same program (the second call also checks the graph is the same)
    other = fresh(example, 0.9)
    assert_same_run(compiled_run(compiled, other), eager_run(f, fresh(example, 0.9)),
                    "second call, other data")
    assert compiled.traces == 1


def compiles_as_eager(run: Any, leaves: list[Any], other: list[Value]) -> Any:
    """Compile ``run``: its call on ``leaves`` (which traces it) and its call on ``other``
    (the same shapes) give the eager values and gradients, from one trace.  Returns it."""
    example = [Value(d if type(d) is float else d.copy()) for d in leaves]
    compiled = tn.compile(run)
    assert_same_run(compiled_run(compiled, fresh(example)), eager_run(run, fresh(example)),
                    "example")
    assert_same_run(compiled_run(compiled, fresh(other)), eager_run(run, fresh(other)),
                    "other data")
    assert compiled.traces == 1
    return compiled


@settings(max_examples=150)
@given(programs())
def test_compiled_random_programs_are_the_eager_ones(prog: RandomProgram) -> None:
    note(prog.describe())
    rng = np.random.default_rng(len(prog.steps))
    other = [Value(float(rng.uniform(-2, 2)) if type(d) is float else rng.uniform(-2, 2, d.shape))
             for d in prog.leaves]
    compiles_as_eager(prog.run, prog.leaves, other)


@dataclass
class JoinProgram:
    """Leaves and steps ``(kind, pool positions, axis)`` that join, reuse and reduce them."""

    leaves: list[Any]
    steps: list[tuple[str, tuple[int, ...], int]] = field(default_factory=list)

    def run(self, *values: Value) -> Value:
        pool = list(values)
        for kind, where, axis in self.steps:
            args = [pool[i] for i in where]
            if kind == "concatenate":
                pool.append(tn.concatenate(args, axis=axis))
            elif kind == "stack":
                pool.append(tn.stack(args, axis=axis))
            elif kind == "tanh":
                pool.append(args[0].tanh() * args[0])
            else:                                          # "sum"
                pool.append(args[0].sum(axis=axis, keepdims=True))
        return sum((p * (k + 1.5)).sum() for k, p in enumerate(pool[len(values):]))

    def describe(self) -> str:
        return "\n".join([f"leaf {i}: {np.shape(d)}" for i, d in enumerate(self.leaves)]
                         + [f"{kind}{where} axis={axis}" for kind, where, axis in self.steps])


@st.composite
def join_programs(draw: st.DrawFn) -> JoinProgram:
    """Random programs of concatenate and stack over reused entries (an entry may be joined
    several times, even to itself), scalar leaves stacked too, with tanh and sums between."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    width = draw(st.integers(1, 3))
    shapes: list[tuple[int, ...]] = [(draw(st.integers(1, 3)), width)
                                     for _ in range(draw(st.integers(1, 3)))]
    shapes += [()] * draw(st.integers(0, 2))
    prog = JoinProgram([rng.uniform(-2, 2, s) if s else float(rng.uniform(-2, 2))
                        for s in shapes])
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["concatenate", "stack", "tanh", "sum"]))
        pick = st.integers(0, len(shapes) - 1)
        first = draw(pick)
        shape = shapes[first]
        if kind == "concatenate" and shape:
            axis = draw(st.integers(0, len(shape) - 1))
            fits = [k for k, s in enumerate(shapes) if len(s) == len(shape) and all(
                n == m for d, (n, m) in enumerate(zip(s, shape)) if d != axis)]
            where = (first, *draw(st.lists(st.sampled_from(fits), min_size=1, max_size=3)))
            new = list(shape)
            new[axis] = sum(shapes[k][axis] for k in where)
            prog.steps.append((kind, where, axis))
            shapes.append(tuple(new))
        elif kind in ("stack", "concatenate"):
            same = [k for k, s in enumerate(shapes) if s == shape]
            where = (first, *draw(st.lists(st.sampled_from(same), min_size=0, max_size=3)))
            axis = draw(st.integers(0, len(shape)))
            prog.steps.append(("stack", where, axis))
            shapes.append(shape[:axis] + (len(where),) + shape[axis:])
        elif kind == "sum" and shape:
            axis = draw(st.integers(0, len(shape) - 1))
            prog.steps.append((kind, (first,), axis))
            shapes.append(shape[:axis] + (1,) + shape[axis + 1:])
        else:
            prog.steps.append(("tanh", (first,), 0))
            shapes.append(shape)
    return prog


@settings(max_examples=100)
@given(join_programs())
def test_compiled_joins_are_the_eager_ones(prog: JoinProgram) -> None:
    note(prog.describe())
    other = [Value(d * -0.7) for d in prog.leaves]
    compiled = compiles_as_eager(prog.run, prog.leaves, other)
    program = compiled.program(*fresh(other))
    assert program.generated.called == []
    assert "_concatenate" not in program.source and "_stack" not in program.source

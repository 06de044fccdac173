"""Compiled programs against the eager engine, bit for bit: every op of the table, random programs.

Every case of ``tests/test_ops.py`` (each op of ``ops.TABLE`` on floats, 0-d arrays, every
broadcast pair, every axis, every index kind) is compiled and run twice — on its example, then on
other data — and must give the eager engine's value and gradients exactly (same bits, same
types).  Every rule must be written out from the table's source (none called as an object), so a
new op whose rules the inliner cannot read fails here.  Hypothesis' random programs
(``tests/test_properties.py``: broadcasting, reused subexpressions, reductions, indexing,
matmul, linear, MSE and cross-entropy) are compiled the same way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, note, settings
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


def test_every_rule_of_the_table_is_read_from_its_source() -> None:
    for name, op in ops.TABLE.items():
        assert rule_source(op, -1) is not None, f"{name}.forward"
        for i in range(len(op.vjps)):
            assert rule_source(op, i) is not None, f"{name}.vjp[{i}]"


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


@settings(max_examples=150)
@given(programs())
def test_compiled_random_programs_are_the_eager_ones(prog: RandomProgram) -> None:
    note(prog.describe())
    example = [Value(d if type(d) is float else d.copy()) for d in prog.leaves]
    compiled = tn.compile(prog.run)
    assert_same_run(compiled_run(compiled, fresh(example)), eager_run(prog.run, fresh(example)),
                    "example")
    rng = np.random.default_rng(len(prog.steps))
    other = [Value(float(rng.uniform(-2, 2)) if type(d) is float else rng.uniform(-2, 2, d.shape))
             for d in prog.leaves]
    assert_same_run(compiled_run(compiled, fresh(other)), eager_run(prog.run, fresh(other)),
                    "other data")
    assert compiled.traces == 1

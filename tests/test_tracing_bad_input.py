"""Issue 21's bad inputs for ``tn.trace`` / ``tn.compile`` not covered in ``test_tracing.py``:
arguments of another dtype or kind (a new program), side effects inside the traced function
(assigning a parameter's data, calling ``backward()``), constants captured at trace time, and a
rule that ``ops.py``'s source does not define (called as an object, still the eager numbers).
Each refusal is asserted by its message.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import Value, ops
from tinygrad_nn.tracing import TraceError
from tinygrad_nn.value import apply


def test_another_dtype_or_kind_of_argument_traces_a_new_program() -> None:
    c = tn.compile(lambda x: (x * x).sum())
    assert c(np.ones(2)).data.dtype == np.float64
    assert c(np.ones(2, dtype=np.float32)).data.dtype == np.float32
    assert c.traces == 2
    c(np.arange(2))                           # integers are converted: the float64 program
    assert c.traces == 2
    assert type(c(2.0).data) is float         # a Python float: the scalar program
    assert c(np.array(2.0)).data.shape == ()  # a 0-d array: an array program
    assert c.traces == 4
    with pytest.raises(TypeError, match="compile: argument 0: Value: expected a real numeric "
                                        "array, got an array of dtype complex128"):
        c(np.ones(2) * 1j)


def test_assigning_a_parameter_inside_the_function_is_refused() -> None:
    p = Value(np.array([1.0, 2.0]), name="p")

    def f(x: Value) -> Value:
        y = x * p
        p.data += 1.0                         # the same array, changed and stored back
        return (y * p).sum()

    with pytest.raises(TraceError, match=r"trace: the function replaces the data of a Value "
                                         r"'p' after an op has read it \(p.data = ..., "
                                         r"p.data \+= ...\)"):
        tn.compile(f)(np.ones(2))


def test_calling_backward_inside_the_function_is_refused() -> None:
    p = Value(np.array([1.0, 2.0]))

    def f(x: Value) -> Value:
        loss = (x * p).sum()
        loss.backward()
        return loss

    with pytest.raises(TraceError, match=r"compile: the function calls backward\(\), which "
                                         r"writes .grad, at every call, outside the graph.*"
                                         r"return E from the function instead"):
        tn.compile(f)(np.ones(2))
    assert p.grad is None                     # refused before the pass ran
    loss = (Value(np.ones(2)) * p).sum()      # outside a trace, backward() works as ever
    loss.backward()
    assert p.grad.tolist() == [1.0, 1.0]


def test_a_constant_is_captured_and_a_change_before_the_second_call_is_refused() -> None:
    scale = Value(np.array([2.0, 3.0]), requires_grad=False)
    c = tn.compile(lambda x: (x * scale).sum())
    assert c(np.ones(2)).item() == 5.0
    scale.data = np.array([1.0, 1.0])
    with pytest.raises(TraceError, match=r"different graph on its second call \(node 1: a "
                                         r"constant before, a constant now\)"):
        c(np.ones(2))
    unchecked = tn.compile(lambda x: (x * scale).sum(), check=False)
    assert unchecked(np.ones(2)).item() == 2.0
    scale.data = np.array([5.0, 5.0])
    assert unchecked(np.ones(2)).item() == 2.0    # documented: captured when traced


@pytest.fixture
def cube() -> Iterator[ops.Op]:
    """An op made at run time (not in ops.py's source), taken out of the table afterwards."""
    op = ops.Op("test_cube", "cube", lambda x: x * x * x, lambda g, ans, x: g * 3.0 * x * x,
                jvps=(lambda t, ans, x: t * 3.0 * x * x,))
    yield op
    del ops.TABLE["test_cube"]


def test_a_rule_without_source_in_ops_is_called_and_gives_the_eager_numbers(
        cube: ops.Op) -> None:
    w = Value(np.array([0.5, -1.5, 2.0]))

    def f(x: Value) -> Value:
        return apply(cube, (x * w,)).sum()

    program = tn.trace(f, np.array([1.0, 2.0, 3.0]))
    assert [s.rule for s in program.steps] == ["mul", "test_cube", "sum", "sum.vjp[0]",
                                               "test_cube.vjp[0]", "mul.vjp[1]"]
    assert "= k0(v1)" in program.source and "= k1(g2, v2, v1)" in program.source
    c = tn.compile(f)
    for x in (np.array([1.0, 2.0, 3.0]), np.array([-0.5, 0.25, 4.0])):
        w.grad = None
        got = c(x).data
        compiled_grad = w.grad
        w.grad = None
        want = f(Value(x))
        want.backward()
        assert got.tobytes() == want.data.tobytes()
        assert compiled_grad.tobytes() == w.grad.tobytes()


def test_an_op_given_other_parameters_on_the_second_call_is_named_as_such() -> None:
    # cross_entropy takes its labels as a parameter of its op (computed outside the graph):
    # the message said only "op 'cross_entropy' before, op 'cross_entropy' now"
    from tinygrad_nn import functional as F
    c = tn.compile(lambda logits, labels: F.cross_entropy(logits, labels.data.astype(int)))
    logits = np.array([[1.0, 2.0, 0.5], [0.3, 0.1, 2.0]])
    c(logits, np.array([0.0, 2.0]))
    with pytest.raises(TraceError, match=r"\(node \d+: op 'cross_entropy' before, op "
                                         r"'cross_entropy' now, the same op with other "
                                         r"parameters\)"):
        c(logits, np.array([1.0, 0.0]))

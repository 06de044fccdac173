"""A Value among NumPy code: conversions, truth, comparisons, ufuncs and functions.

NumPy's ufuncs and functions either run the Value op of the same meaning (the result is a node
of the graph, with a gradient) or raise a TypeError naming the function: no NumPy call returns a
result that silently left the graph.  Comparisons give boolean arrays, while a Value stays
hashable by identity, which the engine relies on (it keys dicts and sets by node).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import Value, nn
from tinygrad_nn.graph import toposort

X = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, -1.5]])


# -- conversions -------------------------------------------------------------------------------


def test_asarray_gives_the_data_as_a_constant() -> None:
    v = Value(X)
    arr = np.asarray(v)
    assert type(arr) is np.ndarray and arr.dtype == np.float64
    np.testing.assert_array_equal(arr, X)
    assert np.asarray(Value(2.5)).shape == () and float(np.asarray(Value(2.5))) == 2.5
    assert np.asarray(Value(X.astype(np.float32)), dtype=np.float64).dtype == np.float64
    copied = np.array(v, copy=True)
    copied[0, 0] = 99.0
    assert v.data[0, 0] == 1.0


@pytest.mark.parametrize("data, number", [(2.5, 2.5), (np.array(-1.5), -1.5), ([[3.0]], 3.0),
                                          (np.array([7.0], dtype=np.float32), 7.0)])
def test_float_and_int_of_a_one_entry_value(data: Any, number: float) -> None:
    assert float(Value(data)) == number and type(float(Value(data))) is float
    assert int(Value(data)) == int(number)
    assert math.isclose(Value(data), number)          # math functions take it too


@pytest.mark.parametrize("convert", [float, int])
def test_float_and_int_of_several_entries_raise(convert: Any) -> None:
    with pytest.raises(TypeError, match=rf"{convert.__name__}: only a Value with one entry "
                                        r"converts to a number, got shape \(2, 3\)"):
        convert(Value(X))


def test_bool_follows_numpy() -> None:
    """Issue 23, item 21: bool(Value(0.0)) was True."""
    assert bool(Value(0.0)) is False and bool(Value(-0.5)) is True
    assert bool(Value(np.array([[0.0]]))) is False
    assert not Value(0.0)
    assert bool(Value(np.nan)) is bool(np.nan)
    with pytest.raises(ValueError, match=r"bool: the truth value of a Value with 6 entries "
                                         r"\(shape \(2, 3\)\) is ambiguous"):
        bool(Value(X))
    with pytest.raises(ValueError, match="with 0 entries"):
        bool(Value(np.zeros(0)))


def test_len_abs_and_iteration() -> None:
    v = Value(X)
    assert len(v) == 2 and len(Value([1.0, 2.0, 3.0])) == 3
    with pytest.raises(TypeError, match=r"len: a scalar Value \(shape \(\)\) has no length"):
        len(Value(1.0))
    y = abs(v)
    assert y.op is not None and y.op.name == "abs"
    y.sum().backward()
    np.testing.assert_array_equal(v.grad, np.sign(X))
    assert abs(Value(-2.0)).data == 2.0


def test_a_list_of_values_is_refused_rather_than_detached() -> None:
    a, b = Value(1.0), Value(2.0)
    with pytest.raises(TypeError, match=r"Value: got a list holding Values; use tn.stack"):
        Value([a, b])
    with pytest.raises(TypeError, match="got a list holding Values"):
        Value([[1.0, 2.0], [3.0, b]])
    stacked = tn.stack([a, b])
    stacked.sum().backward()
    assert a.grad == 1.0 and b.grad == 1.0


# -- comparisons and hashing -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["lt", "le", "gt", "ge", "eq", "ne"])
def test_comparisons_are_boolean_arrays_on_both_sides(name: str) -> None:
    import operator

    compare = getattr(operator, name)
    v, other = Value(X), np.array([1.0, 0.0, 3.0])
    for got, want in [(compare(v, other), compare(X, other)),
                      (compare(other, v), compare(other, X)),
                      (compare(v, 0.0), compare(X, 0.0)),
                      (compare(v, Value(other)), compare(X, other))]:
        assert type(got) is np.ndarray and got.dtype == bool
        np.testing.assert_array_equal(got, want)
    assert isinstance(compare(Value(1.0), 2.0), np.bool_)


def test_values_hash_by_identity_even_with_equal_data() -> None:
    a, b = Value(np.ones(3)), Value(np.ones(3))
    assert (a == b).all()
    table = {a: "a", b: "b"}
    assert len(table) == 2 and table[a] == "a" and table[b] == "b"
    assert a in {a} and b not in {a}
    assert hash(a) != hash(b)
    assert (a == "text") is False and (a != "text") is True      # not comparable: not equal


def test_backward_and_toposort_on_nodes_with_equal_data() -> None:
    """Equal data in different nodes must not merge them: dicts and sets are by identity."""
    x = Value(np.ones(3))
    a, b = x * 1.0, x * 1.0                       # equal data, different nodes
    y = (a * b + a).sum()
    order = toposort(y)
    assert len(order) == len({id(n) for n in order}) == 8     # x, a, b, 2 constants, 3 ops
    y.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0, 3.0])   # d/dx (x² + x) = 2x + 1


def test_checkpoints_still_round_trip(tmp_path: Path) -> None:
    model = nn.mlp([4, 3, 2], rng=0)
    path = tn.save(model, tmp_path / "m.npz")
    back = tn.load(path)
    for (name, p), (_, q) in zip(model.named_parameters(), back.named_parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)


# -- ufuncs ----------------------------------------------------------------------------------


def test_ufuncs_with_a_rule_are_nodes_of_the_graph() -> None:
    v = Value(X)
    y = np.exp(v)
    assert isinstance(y, Value) and y.op is not None and y.op.name == "exp"
    out = np.sum(np.multiply(np.tanh(v), 2.0) + np.square(v) - np.sqrt(np.abs(v) + 1.0))
    out.backward()
    expected = 2.0 * (1.0 - np.tanh(X) ** 2) + 2.0 * X - np.sign(X) / (2.0 * np.sqrt(np.abs(X) + 1))
    np.testing.assert_allclose(v.grad, expected, rtol=1e-12)


def test_array_operators_with_a_value_keep_the_graph() -> None:
    arr, v = np.array([[2.0, 3.0, 4.0]]), Value(np.array([1.0, 2.0, 0.5]))
    results = [arr + v, arr - v, arr * v, arr / v, arr ** v, arr @ v, np.float64(2.0) * v,
               np.float32(2.0) - v, np.maximum(arr, v), np.minimum(v, arr), np.negative(v),
               np.power(v, 2.0), np.divide(1.0, v), np.matmul(v, arr.T)]
    for r in results:
        assert isinstance(r, Value) and r.requires_grad
    np.testing.assert_allclose((arr ** v).data, arr ** v.data)
    sum(r.sum() for r in results).backward()
    assert v.grad is not None and np.all(np.isfinite(v.grad))
    s = Value(1.5)
    assert type((np.float64(2.0) * s).data) is float       # the scalar path stays Python floats


def test_array_in_place_operator_rebinds_to_a_value() -> None:
    """``arr += v`` is ``arr = arr + v``: the name now holds the node; the array is unchanged."""
    original = np.zeros(3)
    arr = original
    v = Value(np.array([1.0, 2.0, 3.0]))
    arr += v
    assert isinstance(arr, Value)
    np.testing.assert_array_equal(original, np.zeros(3))
    arr.sum().backward()
    np.testing.assert_array_equal(v.grad, np.ones(3))


def test_ufuncs_on_the_data_give_boolean_or_constant_arrays() -> None:
    v = Value(np.array([1.0, np.nan, -np.inf, 0.0]))
    np.testing.assert_array_equal(np.isnan(v), [False, True, False, False])
    np.testing.assert_array_equal(np.isfinite(v), [True, False, False, True])
    np.testing.assert_array_equal(np.sign(v)[[0, 2, 3]], [1.0, -1.0, 0.0])
    np.testing.assert_array_equal(np.greater(v, 0.5), [True, False, False, False])
    out = np.zeros(4, dtype=bool)
    np.less(np.zeros(4), v, out=out)
    np.testing.assert_array_equal(out, [True, False, False, False])


@pytest.mark.parametrize("call, message", [
    (lambda v: np.sin(v), "np.sin: the rule table has no op for this ufunc"),
    (lambda v: np.add(v, 1.0, out=np.zeros((2, 3))), "np.add: out= cannot hold a Value's result"),
    (lambda v: np.add.reduce(v), r"np.add.reduce does not work on Values; use the Value methods"),
    (lambda v: np.exp(v, dtype=np.float32), r"np.exp: keyword arguments \['dtype'\] are not "),
    (lambda v: np.isnan(v, out=(v,)), "np.isnan: out= must be arrays, not Values"),
])
def test_ufuncs_without_a_rule_raise_naming_the_ufunc(call: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        call(Value(X))


# -- functions ---------------------------------------------------------------------------------


def test_numpy_reductions_call_the_value_methods() -> None:
    """The issue's example: np.sum(v) failed on an ``out`` keyword."""
    v = Value(X)
    cases = [(np.sum(v), X.sum()), (np.sum(v, axis=0), X.sum(axis=0)),
             (np.mean(v, 1, keepdims=True), X.mean(1, keepdims=True)),
             (np.max(v, axis=1), X.max(axis=1)), (np.amax(v), X.max()),
             (np.min(v, axis=0), X.min(axis=0)), (np.amin(v, keepdims=True), X.min(keepdims=True)),
             (np.var(v, ddof=1), X.var(ddof=1)), (np.std(v, axis=1), X.std(axis=1))]
    for got, want in cases:
        assert isinstance(got, Value)
        np.testing.assert_allclose(got.data, want, rtol=1e-14)
    np.sum(v).backward()
    np.testing.assert_array_equal(v.grad, np.ones_like(X))


def test_numpy_shape_functions_and_joins_call_the_value_functions() -> None:
    v, w = Value(X), Value(np.ones((2, 3)))
    cases = [(np.concatenate([v, w], axis=1), np.concatenate([X, np.ones((2, 3))], axis=1)),
             (np.stack((v, w)), np.stack([X, np.ones((2, 3))])),
             (np.where(X > 0, v, -w), np.where(X > 0, X, -1.0)),
             (np.clip(v, -1.0, 1.0), np.clip(X, -1.0, 1.0)),
             (np.clip(v, max=0.0), np.clip(X, None, 0.0)),
             (np.reshape(v, (3, 2)), X.reshape(3, 2)), (np.reshape(v, -1), X.reshape(-1)),
             (np.transpose(v), X.T), (np.squeeze(np.expand_dims(v, 0)), X),
             (np.expand_dims(v, -1), X[..., None]), (np.ravel(v), X.ravel()),
             (np.dot(v, w.T), X @ np.ones((3, 2))), (np.dot(2.0, v), 2.0 * X),
             (np.pad(v, 1, constant_values=0.5), np.pad(X, 1, constant_values=0.5))]
    for got, want in cases:
        assert isinstance(got, Value) and got.requires_grad
        np.testing.assert_allclose(got.data, want, rtol=1e-14)
    np.sum(np.concatenate([v, w], axis=0) * 2.0).backward()
    np.testing.assert_array_equal(v.grad, np.full((2, 3), 2.0))


def test_numpy_functions_of_shape_and_indices_read_the_data() -> None:
    v = Value(X)
    assert np.shape(v) == (2, 3) and np.ndim(v) == 2 and np.size(v) == 6
    assert np.argmax(v) == 2 and np.argmin(v, axis=1).tolist() == [1, 2]
    assert np.allclose(v, X) and np.array_equal(v, X) and np.any(v) and not np.all(v)
    np.testing.assert_array_equal(np.nonzero(v)[0], np.nonzero(X)[0])
    np.testing.assert_array_equal(np.where(v), np.where(X))
    np.testing.assert_allclose(v, X)               # np.testing works on Values


@pytest.mark.parametrize("call, message", [
    (lambda v: np.linalg.norm(v), "np.linalg.norm: no Value function does this"),
    (lambda v: np.prod(v), "np.prod: no Value function does this"),
    (lambda v: np.sum(v, out=np.zeros(())), "np.sum: out is not supported on Values"),
    (lambda v: np.mean(v, dtype=np.float32), "np.mean: dtype is not supported on Values"),
    (lambda v: np.pad(v, 1, mode="edge"), "np.pad: mode is not supported on Values"),
    (lambda v: np.dot(np.ones((2, 2, 2)), v), r"np.dot: for arrays with more than 2 axes"),
    (lambda v: np.where(v > 0, v), "np.where: give the condition and both x and y"),
])
def test_numpy_functions_without_a_value_function_raise(call: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        call(Value(X))

"""Tests for tinygrad_nn.value: the Value type, backward() and its bookkeeping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import Value, ops
from tinygrad_nn.graph import toposort
from tinygrad_nn.value import linear


def test_leaf_grads_are_writable_arrays_owned_by_each_leaf() -> None:
    # add hands the same g to both parents, and sum's g is a read-only broadcast view:
    # the stored .grad must still be a fresh, writable array per leaf.
    a = Value(np.ones(3))
    b = Value(np.ones(3))
    (a + b).sum().backward()
    assert a.grad is not b.grad
    assert a.grad.flags.writeable and b.grad.flags.writeable
    a.grad *= 2.0
    np.testing.assert_array_equal(a.grad, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(b.grad, [1.0, 1.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_0d_leaf_gets_a_writable_0d_array_of_its_dtype(dtype: Any) -> None:
    """Not a NumPy scalar, and not float64 for a float32 leaf (issue 23, #11)."""
    x = Value(np.array(2.0, dtype=dtype))
    for root in (x * x, (x * Value(np.ones(3, dtype=dtype))).sum(), x.exp().sum()):
        x.zero_grad()
        root.backward()
        assert type(x.grad) is np.ndarray and x.grad.shape == () and x.grad.dtype == dtype
        assert x.grad.flags.writeable


def test_leaf_grad_does_not_alias_the_seed() -> None:
    x = Value(np.ones(3))
    seed = np.array([1.0, 2.0, 3.0])
    x.backward(seed)               # the root is the leaf itself
    x.grad[0] = 99.0
    np.testing.assert_array_equal(seed, [1.0, 2.0, 3.0])


def test_a_rules_fresh_gradient_becomes_the_leaf_grad_without_a_copy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # linear's weight and bias VJPs return new arrays nobody else holds: the engine keeps the
    # very arrays the rules made instead of copying them.
    made: dict[int, np.ndarray] = {}

    def spy(i: int, rule: Any) -> Any:
        def run(*args: Any) -> Any:
            made[i] = rule(*args)
            return made[i]
        return run

    monkeypatch.setattr(ops.LINEAR, "vjps", tuple(spy(i, r) for i, r in enumerate(ops.LINEAR.vjps)))
    W, b = Value(np.ones((3, 4)), name="W"), Value(np.zeros(3), name="b")
    x = Value(np.ones((2, 4)), requires_grad=False)
    linear(x, W, b).sigmoid().sum().backward()
    assert W.grad is made[1] and b.grad is made[2]
    np.testing.assert_allclose(W.grad, np.full((3, 4), 2 * sigmoid_prime(4.0)))   # net = 4
    np.testing.assert_allclose(b.grad, np.full(3, 2 * sigmoid_prime(4.0)))
    assert W.grad.flags.writeable and W.grad.base is None


def test_a_gradient_passed_through_is_copied_before_a_leaf_keeps_it() -> None:
    # add hands the same g to both parents (and g is the user's seed): each leaf gets its own
    a, b = Value(np.zeros(2)), Value(np.zeros(2))
    seed = np.array([1.0, 2.0])
    (a + b).backward(seed)
    assert a.grad is not seed and b.grad is not seed and a.grad is not b.grad
    np.testing.assert_array_equal(a.grad, seed)


def test_a_gradient_held_elsewhere_is_never_summed_into_in_place() -> None:
    # s = a + b hands one array g to both a and b; a then gets a second contribution (from
    # a·v, created before s, so visited after it).  Adding into g in place would change b's
    # pending gradient too.
    x = Value(np.ones(3))
    v, w = np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0])
    a, b = x * 2.0, x * 3.0
    p = (a * v).sum()
    s = a + b
    ((s * w).sum() + p).backward()
    np.testing.assert_array_equal(x.grad, 2.0 * (w + v) + 3.0 * w)


def test_backward_sums_in_the_same_order_every_run() -> None:
    # x feeds many nodes whose gradients are summed into x.grad; two separate builds of the same
    # program must give bit-identical gradients (the visiting order is the creation order).
    def grads() -> np.ndarray:
        rng = np.random.default_rng(3)
        x = Value(rng.standard_normal(5))
        total = x * 0.0
        for k in range(40):
            w = rng.standard_normal(5)
            total = total + ((x * w).sigmoid() * (x + float(k))).exp() * 1e-3
        (total.sum() + (x * x).sum()).backward()
        return np.array(x.grad)

    first, second = grads(), grads()
    assert first.tobytes() == second.tobytes()


def sigmoid_prime(z: float) -> float:
    s = 1.0 / (1.0 + np.exp(-z))
    return float(s * (1.0 - s))


def test_grad_dtype_follows_the_leaf() -> None:
    x32 = Value(np.ones(3, dtype=np.float32))
    c64 = Value(np.full(3, 2.0))
    (x32 * c64).sum().backward()
    assert x32.grad.dtype == np.float32
    assert c64.grad.dtype == np.float64
    np.testing.assert_array_equal(x32.grad, [2.0, 2.0, 2.0])
    (x32 * c64).sum().backward()                 # accumulating keeps the leaf's dtype too
    assert x32.grad.dtype == np.float32
    np.testing.assert_array_equal(x32.grad, [4.0, 4.0, 4.0])


# -- construction and properties ---------------------------------------------------------------


@pytest.mark.parametrize("data", [2, 2.5, True, np.float32(1.5), np.int64(3), np.float64(-0.5)])
def test_numbers_become_python_floats(data: Any) -> None:
    v = Value(data)
    assert type(v.data) is float
    assert v.data == float(data)
    assert v.shape == () and v.ndim == 0 and v.size == 1
    assert v.item() == float(data)


@pytest.mark.parametrize("data, shape", [([1, 2, 3], (3,)), ((1.5, 2.5), (2,)),
                                         ([[1, 2], [3, 4]], (2, 2)), (np.arange(6), (6,)),
                                         (np.array(2.0), ()), (np.zeros((2, 0)), (2, 0))])
def test_array_likes_become_float64_arrays(data: Any, shape: tuple[int, ...]) -> None:
    v = Value(data)
    assert type(v.data) is np.ndarray
    assert v.data.dtype == np.float64
    assert v.shape == shape and v.ndim == len(shape)
    np.testing.assert_array_equal(v.data, np.asarray(data, dtype=np.float64))


def test_float32_arrays_are_kept() -> None:
    v = Value(np.ones(3, dtype=np.float32))
    assert v.dtype == np.float32
    assert (v * 2.0).dtype == np.float32


def test_flags_name_and_leaf() -> None:
    v = Value(1.0, requires_grad=False, name="w")
    assert v.requires_grad is False and v.name == "w" and v.is_leaf
    assert v.op is None and v.parents == () and v.params == ()
    y = Value(1.0) * 2.0
    assert not y.is_leaf and y.op is not None and y.op.name == "mul"


def test_parents_in_argument_order_and_params() -> None:
    a, b = Value(1.0, name="a"), Value(2.0, name="b")
    assert (a - b).parents == (a, b)
    c = Value(np.ones((2, 3))).sum(axis=1, keepdims=True)
    assert c.params == ((1,), True)


def test_item_numpy_and_transpose() -> None:
    m = Value([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert m.T.shape == (3, 2)
    np.testing.assert_array_equal(m.T.data, [[1, 4], [2, 5], [3, 6]])
    arr = m.numpy()
    arr[0, 0] = 100.0
    assert m.data[0, 0] == 1.0                  # numpy() is a copy
    assert Value([[7.0]]).item() == 7.0
    with pytest.raises(ValueError, match=r"item: expected .* one entry, got shape \(2, 3\)"):
        m.item()


def test_repr_shows_data_grad_and_name() -> None:
    x = Value(2.0, name="x")
    assert repr(x) == "Value(2., name='x')"
    (x * 3.0).backward()
    assert repr(x) == "Value(2., grad=3., name='x')"
    m = Value([1.0, 2.0])
    assert repr(m) == "Value([1., 2.])"


def test_repr_is_numpys_for_every_kind_of_data() -> None:
    """One format: a Python-float scalar, a 0-d tensor and an n-d tensor print as NumPy prints
    the same array, with ``Value`` for ``array`` (so continuation lines line up)."""
    assert repr(Value(0.5312093733737563)) == "Value(0.53120937)" == \
        repr(Value(np.array(0.5312093733737563)))
    assert repr(Value(27.0)) == "Value(27.)" == repr(Value(np.array(27.0)))
    W = Value([[0.25, 0.1], [0.35, -0.3]])
    assert repr(W) == "Value([[ 0.25,  0.1 ],\n       [ 0.35, -0.3 ]])"
    assert repr(W) == repr(W.data).replace("array", "Value")
    assert repr(Value(np.arange(3, dtype=np.float32))) == "Value([0., 1., 2.], dtype=float32)"
    (W * W).sum().backward()
    assert repr(W) == ("Value([[ 0.25,  0.1 ],\n"
                       "       [ 0.35, -0.3 ]], grad=[[ 0.5,  0.2],\n"
                       "                              [ 0.7, -0.6]])")


# -- gradients: accumulation, reset, retained and skipped nodes ---------------------------------


def test_gradients_accumulate_across_backward_calls_and_reset() -> None:
    x = Value(3.0)
    (x * x).backward()
    assert x.grad == 6.0
    (x * x).backward()
    assert x.grad == 12.0
    x.zero_grad()
    assert x.grad is None
    (x * 5.0).backward()
    assert x.grad == 5.0
    w = Value(np.array([1.0, 2.0]))
    for _ in range(2):
        (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [4.0, 8.0])


def test_intermediate_grads_are_dropped_unless_retained() -> None:
    x = Value(2.0)
    h = x * 3.0
    y = h * h
    y.backward()
    assert h.grad is None and y.grad is None
    assert x.grad == 36.0                        # d(9x²)/dx = 18x

    x2 = Value(2.0)
    h2 = (x2 * 3.0).retain_grad()
    (h2 * h2).backward()
    assert h2.grad == 12.0                       # δ = ∂E/∂h = 2h
    assert x2.grad == 36.0


def test_retain_grads_keeps_every_node() -> None:
    x = Value(np.array([1.0, 2.0]))
    h = x.exp()
    s = h.sum()
    s.backward(retain_grads=True)
    assert s.grad == 1.0
    np.testing.assert_array_equal(h.grad, [1.0, 1.0])
    np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0]))


def test_shared_subexpression_gets_the_sum_of_both_paths() -> None:
    x = Value(1.5)
    h = x * x
    (h + h * 2.0).backward()                     # 3x²
    assert x.grad == pytest.approx(9.0)


def test_backward_visits_a_node_only_after_every_path_into_it() -> None:
    """Chains, a parent used twice (x·x), a fork whose branches rejoin and a late second
    contribution to a node that was next in line: every gradient is the sum of all paths."""
    x = Value(np.array([0.5, -1.0]))
    a = x.tanh()
    b = a * a                                    # one node, the same parent twice
    c = b.exp()
    d = c + a.sigmoid()                          # a is reached again, via a longer path
    e = (d * 3.0).sum() + a.sum()                # and once more, straight from the root
    e.backward(retain_grads=True)
    t = np.tanh(x.data)
    s = 1.0 / (1.0 + np.exp(-t))
    de_da = 3.0 * (np.exp(t * t) * 2.0 * t + s * (1.0 - s)) + 1.0
    np.testing.assert_allclose(a.grad, de_da, rtol=1e-13)
    np.testing.assert_allclose(x.grad, de_da * (1.0 - t * t), rtol=1e-13)
    np.testing.assert_allclose(b.grad, 3.0 * np.exp(t * t), rtol=1e-13)


def test_no_grad_records_nothing() -> None:
    x = Value(np.array([1.0, 2.0]))
    with tn.no_grad():
        y = (x * 2.0).exp().sum()
        assert y.requires_grad is False
        assert y.parents == () and y.op is None
    assert (x * 2.0).requires_grad               # switched back on after the block
    with pytest.raises(ValueError, match="backward: this Value does not require grad"):
        y.backward()


def test_no_grad_is_restored_after_an_exception() -> None:
    with pytest.raises(RuntimeError), tn.no_grad():
        raise RuntimeError("boom")
    assert (Value(1.0) * 2.0).requires_grad


def test_detach_is_a_constant_with_the_same_data() -> None:
    x = Value(np.array([1.0, 2.0]))
    d = (x * 3.0).detach()
    assert d.is_leaf and not d.requires_grad
    np.testing.assert_array_equal(d.data, [3.0, 6.0])
    (x * d).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 6.0])   # d is a constant: no x·3 path
    assert d.grad is None


def test_requires_grad_false_inputs_get_no_grad() -> None:
    x = Value(np.array([1.0, 2.0]))
    c = Value(np.array([3.0, 4.0]), requires_grad=False)
    y = (x * c + c.exp()).sum()
    y.backward()
    assert c.grad is None
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])
    only_const = c * 2.0
    assert not only_const.requires_grad and only_const.parents == ()


def test_requires_grad_can_be_switched_on_a_leaf() -> None:
    c = Value(2.0, requires_grad=False).requires_grad_()
    (c * c).backward()
    assert c.grad == 4.0
    with pytest.raises(ValueError, match="requires_grad_: only leaves"):
        (c * 2.0).requires_grad_(False)


def test_backward_with_an_explicit_seed() -> None:
    x = Value(np.array([[1.0, 2.0], [3.0, 4.0]]))
    y = x * x
    y.backward(np.array([[1.0, 0.0], [0.5, 2.0]]))
    np.testing.assert_array_equal(x.grad, [[2.0, 0.0], [3.0, 16.0]])
    s = Value(2.0)
    (s * s).backward(0.5)
    assert s.grad == 2.0
    one = Value([[3.0]])
    (one * one).backward()                       # one entry: seeded with 1 like a scalar
    np.testing.assert_array_equal(one.grad, [[6.0]])


# -- big graphs and traversal order ------------------------------------------------------------


def test_chain_of_100000_ops() -> None:
    x = Value(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0                        # 200,000 nodes deep
    y.backward()
    assert x.grad == 1.0
    assert y.data == 1.0


def test_wide_and_deep_graph() -> None:
    leaves = [Value(float(i) / 100.0) for i in range(300)]
    layer = leaves
    for _ in range(200):                         # each node depends on two of the layer below
        layer = [a * 0.5 + b * 0.5 for a, b in zip(layer, layer[1:] + layer[:1])]
    total = layer[0]
    for v in layer[1:]:
        total = total + v
    total.backward()
    # every layer averages neighbours: the sum is preserved, so every leaf's gradient is 1
    for leaf in leaves:
        assert leaf.grad == pytest.approx(1.0)
    assert total.data == pytest.approx(sum(float(i) / 100.0 for i in range(300)))


def test_toposort_puts_parents_first_and_is_deterministic() -> None:
    def build() -> Value:
        a, b = Value(1.0, name="a"), Value(2.0, name="b")
        c = a * b
        d = c + a
        e = d * c + b.exp()
        return e

    root = build()
    order = toposort(root)
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        for parent in node.parents:
            assert position[parent] < position[node]
    assert order[-1] is root
    assert len(order) == len(set(order)) == 7    # a, b, c, d, d*c, exp(b), e

    def signature(r: Value) -> list[str]:
        return [n.name or (n.op.name if n.op else "?") for n in toposort(r)]

    assert signature(root) == signature(root) == signature(build())
    assert signature(root) == ["a", "b", "mul", "add", "mul", "exp", "add"]


def test_toposort_includes_constants() -> None:
    a = Value(1.0, name="a")
    c = Value(2.0, requires_grad=False, name="c")
    y = (a * c).exp()

    def names(nodes: list[Value]) -> list[str]:
        return [n.name or (n.op.name if n.op else "?") for n in nodes]

    assert names(toposort(y)) == ["a", "c", "mul", "exp"]


# -- second derivatives ------------------------------------------------------------------------

ELEMENTWISE: dict[str, tuple[Callable[[Value], Value], tuple[float, float]]] = {
    "exp": (Value.exp, (-2.0, 2.0)),
    "log": (Value.log, (0.5, 2.0)),
    "sqrt": (Value.sqrt, (0.5, 2.0)),
    "tanh": (Value.tanh, (-2.0, 2.0)),
    "sigmoid": (Value.sigmoid, (-3.0, 3.0)),
    "softplus": (Value.softplus, (-3.0, 3.0)),
    "neg": (lambda x: -x * x, (-2.0, 2.0)),
    "abs": (lambda x: x.abs() * x, (0.3, 2.0)),
    "relu": (lambda x: x.relu() * x, (0.3, 2.0)),
    "leaky_relu": (lambda x: x.leaky_relu(0.2) * x, (-2.0, -0.3)),
    "powc": (lambda x: x ** 3.5, (0.5, 2.0)),
    "pow": (lambda x: x ** Value(2.5, requires_grad=False) + 1.5 ** x, (0.5, 2.0)),
    "mul": (lambda x: x * x * x, (-2.0, 2.0)),
    "div": (lambda x: 1.0 / (1.0 + x * x), (-2.0, 2.0)),
    "add-sub": (lambda x: (x + 1.0) * (x - 2.0), (-2.0, 2.0)),
    "softmax": (lambda x: x.softmax(-1) * x, (-2.0, 2.0)),
    "log_softmax": (lambda x: x.log_softmax(-1) * x, (-2.0, 2.0)),
    "max": (lambda x: x.max(axis=-1, keepdims=True) * x, (-2.0, 2.0)),
    "mean-sum": (lambda x: x.mean(axis=0) * x.sum(), (-2.0, 2.0)),
    "getitem": (lambda x: x[..., [0, 0, 2]] ** 2, (-2.0, 2.0)),
    "matmul": (lambda x: x @ x.T, (-2.0, 2.0)),
}


def first_derivative(f: Callable[[Value], Value], x: Value, create_graph: bool) -> Any:
    x.grad = None
    f(x).sum().backward(create_graph=create_graph)
    g = x.grad
    x.grad = None
    return g


ARRAY_ONLY = {"softmax", "log_softmax", "max", "mean-sum", "getitem", "matmul"}
SECOND_ORDER = [(n, (3, 4)) for n in sorted(ELEMENTWISE)] + [
    (n, None) for n in sorted(ELEMENTWISE) if n not in ARRAY_ONLY]


@pytest.mark.parametrize("name, shape", SECOND_ORDER,
                         ids=[f"{n}-{'float' if s is None else '3x4'}" for n, s in SECOND_ORDER])
def test_second_derivative_against_differences_of_the_first(name: str, shape: Any) -> None:
    """Hessian-vector product by create_graph vs central differences of the gradient."""
    f, (lo, hi) = ELEMENTWISE[name]
    rng = np.random.default_rng(42)
    data = rng.uniform(lo, hi, () if shape is None else shape)
    x = Value(float(data) if shape is None else data)
    v = 1.0 if shape is None else rng.standard_normal(shape)

    g = first_derivative(f, x, create_graph=True)
    assert isinstance(g, Value)
    (g * v).sum().backward()
    hvp = np.asarray(x.grad, dtype=np.float64)

    eps = 1e-5
    base = np.asarray(x.data, dtype=np.float64)

    def grad_at(point: Any) -> Any:
        xp = Value(float(point) if shape is None else point)
        return np.asarray(first_derivative(f, xp, create_graph=False), dtype=np.float64)

    numeric = (grad_at(base + eps * v) - grad_at(base - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hvp, numeric, rtol=1e-5, atol=1e-7)


def test_second_derivative_of_a_scalar_function_by_hand() -> None:
    x = Value(0.7)
    (x ** 3).backward(create_graph=True)
    g = x.grad
    assert isinstance(g, Value) and g.data == pytest.approx(3 * 0.49)
    x.grad = None
    g.backward()
    assert x.grad == pytest.approx(6 * 0.7)


def mlp(x: Value, w1: Value, b1: Value, w2: Value, b2: Value) -> Value:
    h = linear(x, w1, b1).tanh()
    out = (h @ w2.T + b2).sigmoid()
    return ((out - 0.5) ** 2).mean() + (w1 * w1).sum() * 1e-2


def test_hessian_vector_product_of_an_mlp() -> None:
    rng = np.random.default_rng(7)
    x = Value(rng.standard_normal((5, 3)), requires_grad=False)
    params = [Value(rng.standard_normal(s) * 0.7) for s in [(4, 3), (4,), (2, 4), (2,)]]
    vs = [rng.standard_normal(p.shape) for p in params]

    mlp(x, *params).backward(create_graph=True)
    grads = [p.grad for p in params]
    for p in params:
        p.grad = None
    sum((g * v).sum() for g, v in zip(grads, vs)).backward()
    hvp = [np.array(p.grad) for p in params]

    def grads_at(shift: float) -> list[Any]:
        ps = [Value(p.data + shift * v) for p, v in zip(params, vs)]
        mlp(x, *ps).backward()
        return [p.grad for p in ps]

    eps = 1e-5
    up, down = grads_at(eps), grads_at(-eps)
    for h, u, d in zip(hvp, up, down):
        np.testing.assert_allclose(h, (u - d) / (2 * eps), rtol=1e-5, atol=1e-8)
    assert any(np.abs(h).max() > 1e-3 for h in hvp)     # a real, non-trivial curvature


def test_create_graph_gradients_are_values_and_leaf_grads_stay_values() -> None:
    x = Value(np.array([1.0, 2.0]))
    (x ** 3).sum().backward(create_graph=True)
    assert isinstance(x.grad, Value) and x.grad.requires_grad
    np.testing.assert_allclose(x.grad.data, [3.0, 12.0])


def test_iterating_a_tensor_gives_its_rows_in_the_graph() -> None:
    v = Value(np.arange(6.0).reshape(3, 2))
    rows = list(v)
    assert [r.data.tolist() for r in rows] == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    sum(r.sum() for r in rows[1:]).backward()
    np.testing.assert_array_equal(v.grad, [[0, 0], [1, 1], [1, 1]])


def test_single_element_index_gives_a_0d_array_not_a_numpy_scalar() -> None:
    v = Value(np.arange(6.0).reshape(3, 2))
    entry = v[2, 1]
    assert type(entry.data) is np.ndarray and entry.data.shape == () and entry.item() == 5.0
    entry.backward()
    assert v.grad[2, 1] == 1.0 and v.grad.sum() == 1.0


# -- data changed between the forward pass and backward (issue 23, #2 and #5) ---------------------


def test_an_optimizer_step_before_backward_raises_naming_the_parameter() -> None:
    """It used to return the gradient at the stepped weights, of a function never computed."""
    from tinygrad_nn import nn
    from tinygrad_nn.optim import SGD

    model = nn.mlp([3, 4, 1], rng=0)
    opt = SGD(model.parameters(), lr=0.1)
    x = np.ones((2, 3))
    loss = (model(x) ** 2).mean()
    loss.backward()
    opt.step()                                  # the usual order: fine
    loss = (model(x) ** 2).mean()
    for p in model.parameters():
        p.grad = np.ones(p.shape)
    opt.step()                                  # a step between forward and backward
    with pytest.raises(RuntimeError, match=r"^backward: 'Linear\[\d\]\.(weight|bias)' \(input "
                                           r"\d of op 'linear', shape \(\d+(, \d+)?,?\)\) was "
                                           r"assigned after the forward pass"):
        loss.backward()


@pytest.mark.parametrize("data", [np.array([1.0, 2.0]), 1.5], ids=["array", "float"])
@pytest.mark.parametrize("create_graph", [False, True])
def test_assigning_data_after_the_forward_pass_makes_backward_raise(
        data: Any, create_graph: bool) -> None:
    w = Value(data.copy() if isinstance(data, np.ndarray) else data, name="w")
    y = (w * w).sum()
    w.data -= 1.0                               # in place for the array, a new float otherwise
    with pytest.raises(RuntimeError, match=r"^backward: 'w' \(input 0 of op 'mul', shape "):
        y.backward(create_graph=create_graph)
    y = (w * w).sum()                           # a new forward pass: fine
    y.backward(create_graph=create_graph)
    expected = 2.0 * (data - 1.0)
    np.testing.assert_allclose(np.asarray(w.grad.data if create_graph else w.grad), expected)


def test_load_state_dict_after_the_forward_pass_makes_backward_raise() -> None:
    from tinygrad_nn import nn

    layer = nn.Linear(2, 2, rng=0)
    out = layer(np.ones((1, 2))).sum()
    layer.load_state_dict(nn.Linear(2, 2, rng=1).state_dict())
    with pytest.raises(RuntimeError, match=r"'Linear\.(weight|bias)' \(input \d of op 'linear'"):
        out.backward()


def test_a_computed_value_assigned_before_backward_makes_it_raise() -> None:
    x = Value(np.array([0.5, 1.0]))
    h = x.exp()
    y = (h * 2.0).sum()
    h.data = np.zeros(2)
    with pytest.raises(RuntimeError, match=r"input 0 of op 'mul' \(shape \(2,\)\) was assigned"):
        y.backward()
    root = x.exp()                              # exp's rule uses its own result: e^x
    root.data = np.zeros(2)
    with pytest.raises(RuntimeError, match=r"the result of op 'exp' \(shape \(2,\)\) was "
                                           r"assigned"):
        root.backward(np.ones(2))


def test_an_assignment_elsewhere_does_not_disturb_backward() -> None:
    x, other = Value(np.array([1.0, 2.0])), Value(3.0)
    y = (x * x).sum()
    other.data = 4.0                            # not part of y's graph
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_an_index_array_changed_after_the_forward_pass_does_not_change_the_gradient() -> None:
    """The node keeps its own copy of the index: the gradient is that of the function computed
    (it used to follow the changed array: [0, 0, 6] instead of [2, 4, 0])."""
    w = Value(np.array([1.0, 2.0, 3.0]))
    index = np.array([0, 1])
    y = (w[index] * w[index]).sum()
    index[:] = 2
    y.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0, 0.0])


def test_a_boolean_mask_selects_and_a_value_as_index_is_refused() -> None:
    """Value(mask) holds 0.0/1.0, which used to be read as positions: [20, 10, 20]."""
    x = Value(np.array([10.0, 20.0, 30.0]))
    mask = np.array([True, False, True])
    np.testing.assert_array_equal(x[mask].data, [10.0, 30.0])
    np.testing.assert_array_equal(x[[True, False, True]].data, [10.0, 30.0])
    with pytest.raises(TypeError, match=r"^getitem: index with integers, slices, lists or NumPy "
                                        r"arrays \(integer or boolean\), not a Value"):
        x[Value(mask)]

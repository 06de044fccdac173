"""Memory: a graph is freed by reference counting alone, and training does not leak.

Nodes keep no closures and no references to their children, so dropping the result frees the
whole graph at once, without the cycle collector.  The one documented exception is
``backward(create_graph=True)``: a leaf's ``.grad`` is then a Value whose graph refers back to the
leaf (leaf → grad → ... → leaf), which lives until ``leaf.grad`` is reset.
"""

from __future__ import annotations

import gc
import tracemalloc
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import Value, nn
from tinygrad_nn.optim import SGD
from tinygrad_nn.value import linear


@pytest.fixture
def no_gc() -> Iterator[None]:
    """Run the test with the cycle collector switched off: only reference counting frees."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build(x: Value, refs: list[weakref.ref[Value]]) -> Value:
    """A small graph over x (with a shared subexpression); weakrefs to every intermediate node."""
    h = x * 2.0
    a = h.tanh()
    b = h.exp()
    c = a * b + a                                 # a is used twice
    m = c.max(axis=1, keepdims=True)
    out = (c.softmax(-1) * m).mean() + x[[0, 0, 1]].sum()
    refs.extend(weakref.ref(v) for v in (h, a, b, c, m, out))
    return out


def alive(refs: list[weakref.ref[Value]]) -> int:
    return sum(r() is not None for r in refs)


def test_graph_is_freed_when_the_root_is_dropped(no_gc: None) -> None:
    x = Value(np.linspace(-1, 1, 12).reshape(3, 4))
    refs: list[weakref.ref[Value]] = []
    root = build(x, refs)
    assert alive(refs) == len(refs)               # the root holds its graph
    del root
    assert alive(refs) == 0


def test_graph_is_freed_after_backward(no_gc: None) -> None:
    x = Value(np.linspace(-1, 1, 12).reshape(3, 4))
    refs: list[weakref.ref[Value]] = []
    root = build(x, refs)
    root.backward()
    assert x.grad is not None and np.all(np.isfinite(x.grad))
    del root
    assert alive(refs) == 0
    assert isinstance(x.grad, np.ndarray)         # the leaf keeps its gradient, not the graph


def test_retained_grads_do_not_keep_the_graph(no_gc: None) -> None:
    x = Value(np.linspace(-1, 1, 12).reshape(3, 4))
    refs: list[weakref.ref[Value]] = []
    root = build(x, refs)
    root.backward(retain_grads=True)
    del root
    assert alive(refs) == 0


def test_scalar_graph_is_freed(no_gc: None) -> None:
    x = Value(0.5)
    refs = []
    y = x
    for _ in range(1000):
        y = (y * 0.9).tanh() + 0.1
        refs.append(weakref.ref(y))
    y.backward()
    del y
    assert alive(refs) == 0


def test_create_graph_cycle_is_only_through_leaf_grad(no_gc: None) -> None:
    x = Value(np.linspace(-1, 1, 12).reshape(3, 4))
    refs: list[weakref.ref[Value]] = []
    root = build(x, refs)
    root.backward(create_graph=True)
    grad_ref = weakref.ref(x.grad)
    del root
    # x.grad is a Value computed from the forward nodes: they live as long as it does
    assert grad_ref() is not None
    x.grad = None                                 # the documented way to break leaf → grad → leaf
    assert grad_ref() is None
    assert alive(refs) == 0


def test_hessian_vector_product_frees_everything(no_gc: None) -> None:
    x = Value(np.array([0.3, -0.2, 0.5]))
    refs: list[weakref.ref[Value]] = []
    y = (x.exp() * x).sum()
    refs.append(weakref.ref(y))
    y.backward(create_graph=True)
    g = x.grad
    x.grad = None
    refs.append(weakref.ref(g))
    (g * np.array([1.0, 0.0, 2.0])).sum().backward()
    del y, g
    assert alive(refs) == 0
    assert isinstance(x.grad, np.ndarray)


def test_exception_in_the_middle_of_a_forward_pass_leaks_nothing(no_gc: None) -> None:
    x = Value(np.ones((3, 4)))
    refs: list[weakref.ref[Value]] = []

    def forward() -> Value:
        h = (x * 3.0).sigmoid()
        refs.append(weakref.ref(h))
        k = h @ Value(np.ones((4, 2)))
        refs.append(weakref.ref(k))
        return k + Value(np.ones((5,)))           # (3, 2) + (5,): does not broadcast

    try:
        forward()
    except ValueError as exc:
        assert "add: shapes (3, 2) and (5,) cannot be broadcast together" in str(exc)
    else:
        raise AssertionError("the forward pass should have failed")
    assert len(refs) == 2
    assert alive(refs) == 0


def test_exception_in_backward_leaves_no_graph_alive(no_gc: None) -> None:
    x = Value(np.ones(3))
    refs: list[weakref.ref[Value]] = []

    def run() -> None:
        y = x.exp() * 2.0
        refs.append(weakref.ref(y))
        y.backward(np.ones(4))                    # wrong seed shape

    try:
        run()
    except ValueError as exc:
        assert "backward: grad has shape (4,) but the root has shape (3,)" in str(exc)
    assert alive(refs) == 0


def test_no_grad_builds_no_graph(no_gc: None) -> None:
    x = Value(np.ones(3))
    with tn.no_grad():
        h = x.exp()
        y = h * 2.0
    assert y.parents == () and h.parents == ()
    ref = weakref.ref(h)
    del h
    assert ref() is None                          # y does not hold h


# -- training loops keep memory flat -------------------------------------------------------------


def engine_mlp_step(params: list[Value], X: np.ndarray, T: np.ndarray) -> float:
    """One step of a 4-8-3 sigmoid/MSE network built directly from engine ops."""
    w1, b1, w2, b2 = params
    h = linear(X, w1, b1).sigmoid()
    out = linear(h, w2, b2).sigmoid()
    loss = ((out - T) ** 2).mean()
    loss.backward()
    for p in params:
        p.data -= 0.5 * p.grad
        p.zero_grad()
    return float(loss.item())


def traced_growth(step: Callable[[], Any], warmup: int, short: int, long: int) -> tuple[int, int]:
    """Traced memory after ``short`` and after ``long`` steps (after a warm-up)."""
    for _ in range(warmup):
        step()
    tracemalloc.start()
    try:
        for _ in range(short):
            step()
        after_short = tracemalloc.get_traced_memory()[0]
        for _ in range(long - short):
            step()
        after_long = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return after_short, after_long


def test_engine_training_steps_keep_memory_flat(no_gc: None) -> None:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 4))
    T = rng.uniform(0.1, 0.9, (16, 3))
    params = [Value(rng.standard_normal(s) * 0.5) for s in [(8, 4), (8,), (3, 8), (3,)]]
    losses: list[float] = []
    short, long = traced_growth(lambda: losses.append(engine_mlp_step(params, X, T)),
                                warmup=50, short=200, long=2000)
    del losses[:-1]
    assert long - short < 64 * 1024, f"memory grew by {long - short} bytes over 1800 steps"


def test_10000_steps_of_a_small_network_keep_memory_flat(no_gc: None) -> None:
    """The issue's bar: 10,000 training steps (nn.mlp + MSELoss + SGD) without growth."""
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, (8, 16))
    labels = rng.integers(0, 4, 8)
    T = np.eye(4)[labels]
    net = nn.mlp([16, 8, 4], rng=0)
    loss_fn = nn.MSELoss()
    opt = SGD(net.parameters(), lr=0.5)
    first: list[float] = []

    def step() -> None:
        loss = loss_fn(net(X), T)
        loss.backward()
        opt.step()
        opt.zero_grad()
        if not first:
            first.append(loss.item())

    short, long = traced_growth(step, warmup=100, short=500, long=10_000)
    assert long - short < 64 * 1024, f"memory grew by {long - short} bytes over 9,500 steps"
    final = loss_fn(net(X), T).item()
    assert final < first[0]                       # it did train


def test_create_graph_with_retain_grads_leaves_cycles_for_the_collector(no_gc: None) -> None:
    """The documented exception, precisely (issue 23, #22): with create_graph=True every Value
    that keeps its .grad holds a gradient graph that leads back to itself.  retain_grads=True
    makes every intermediate keep one, so after the leaves' .grad are reset and the root is
    dropped the intermediates stay in node ↔ node.grad cycles until the collector runs; with
    gc disabled they are still alive, and one gc.collect() frees every one of them."""
    x = Value(np.linspace(-1, 1, 12).reshape(3, 4))
    refs: list[weakref.ref[Value]] = []
    root = build(x, refs)
    root.backward(create_graph=True, retain_grads=True)
    x.grad = None
    del root
    assert alive(refs) > 0                     # held by their own .grad's graph, not by us
    gc.collect()
    assert alive(refs) == 0


def test_create_graph_with_retain_grads_is_freed_by_resetting_every_grad(no_gc: None) -> None:
    """Without the collector: reset .grad on every node while the graph is still reachable."""
    from tinygrad_nn.graph import toposort

    x = Value(np.linspace(-1, 1, 12).reshape(3, 4))
    refs: list[weakref.ref[Value]] = []
    root = build(x, refs)
    root.backward(create_graph=True, retain_grads=True)
    for node in toposort(root):
        node.grad = None
    del root, node
    assert alive(refs) == 0

"""The function transforms: grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp.

Every result is checked against an independent computation: central differences, closed-form
derivatives, or PyTorch's ``torch.func`` (where PyTorch is installed).  Then: transforms compose,
leave no ``.grad`` anywhere, work inside ``no_grad()``, keep the engine's switches as they found
them, and refuse bad input with errors that name the transform.
"""

from __future__ import annotations

import gc
import math
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import Value, nn
from tinygrad_nn import functional as F
from tinygrad_nn.context import STATE

RNG = np.random.default_rng(0)
X3 = np.array([0.3, -1.2, 0.8])


def numeric_jacobian(f: Callable[..., Any], args: list[Any], j: int = 0,
                     eps: float = 1e-6) -> np.ndarray:
    """∂f/∂args[j] by central differences, shape out.shape + in.shape (f on constant Values)."""
    def at(x: Any) -> np.ndarray:
        full = [Value(a, requires_grad=False) for a in args]
        full[j] = Value(x, requires_grad=False)
        with tn.no_grad():
            return np.asarray(f(*full).data, dtype=np.float64)

    x = np.asarray(args[j], dtype=np.float64)
    out_shape = at(args[j]).shape
    jac = np.zeros(out_shape + x.shape)
    for index in np.ndindex(*x.shape):
        step = np.zeros(x.shape)
        step[index] = eps
        point_up, point_down = x + step, x - step
        if type(args[j]) is float:
            point_up, point_down = float(point_up), float(point_down)
        jac[(..., *index)] = (at(point_up) - at(point_down)) / (2 * eps)
    return jac


# ----------------------------------------------------------------------------------------------
# grad and value_and_grad
# ----------------------------------------------------------------------------------------------


def test_grad_of_a_scalar_function_is_a_float() -> None:
    g = tn.grad(lambda x: x.sigmoid())(0.15)                 # φ' = φ(1 − φ)
    phi = 1 / (1 + math.exp(-0.15))
    assert type(g) is float and g == pytest.approx(phi * (1 - phi), rel=1e-15)


def test_grad_is_shaped_like_its_argument() -> None:
    W = RNG.standard_normal((2, 3))
    x = np.array([0.5, -0.25, 1.0])
    loss = lambda W, x: ((W @ x).tanh() ** 2).sum()
    dW = tn.grad(loss)(W, x)
    assert dW.shape == (2, 3) and dW.dtype == np.float64
    np.testing.assert_allclose(dW, numeric_jacobian(loss, [W, x]), rtol=1e-7, atol=1e-9)
    dW2, dx = tn.grad(loss, argnums=(0, 1))(W, x)
    np.testing.assert_array_equal(dW2, dW)
    np.testing.assert_allclose(dx, numeric_jacobian(loss, [W, x], j=1), rtol=1e-7, atol=1e-9)
    (only_x,) = tn.grad(loss, argnums=(1,))(W, x)
    np.testing.assert_array_equal(only_x, dx)
    np.testing.assert_array_equal(tn.grad(loss, argnums=-1)(W, x), dx)


def test_value_and_grad_returns_both() -> None:
    value, g = tn.value_and_grad(lambda x: (x ** 3).sum())(X3)
    assert float(value) == pytest.approx(float(np.sum(X3 ** 3)), rel=1e-15)
    np.testing.assert_allclose(g, 3 * X3 ** 2, rtol=1e-15)
    v, (g0, g1) = tn.value_and_grad(lambda a, b: a * b, argnums=(0, 1))(2.0, 5.0)
    assert (v, g0, g1) == (10.0, 5.0, 2.0)


def test_grad_broadcasting_sums_back_to_each_argument() -> None:
    a, b = RNG.standard_normal((3, 1)), RNG.standard_normal(4)
    f = lambda a, b: (a * b).tanh().sum()
    ga, gb = tn.grad(f, argnums=(0, 1))(a, b)
    assert ga.shape == (3, 1) and gb.shape == (4,)
    np.testing.assert_allclose(ga, numeric_jacobian(f, [a, b], 0), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(gb, numeric_jacobian(f, [a, b], 1), rtol=1e-7, atol=1e-9)


def test_grad_of_an_argument_the_output_does_not_use_is_zero() -> None:
    g = tn.grad(lambda x, y: x * 2.0, argnums=(0, 1))(3.0, np.ones((2, 2)))
    assert g[0] == 2.0
    np.testing.assert_array_equal(g[1], np.zeros((2, 2)))
    assert tn.grad(lambda x: 4.0)(1.5) == 0.0                # a constant function
    np.testing.assert_array_equal(tn.grad(lambda x: Value(1.0, requires_grad=False))(X3),
                                  np.zeros(3))


def test_grad_keeps_float32() -> None:
    x = np.array([1.0, 2.0], dtype=np.float32)
    g = tn.grad(lambda v: (v * v).sum())(x)
    assert g.dtype == np.float32
    np.testing.assert_array_equal(g, [2.0, 4.0])


# ----------------------------------------------------------------------------------------------
# vjp and jvp
# ----------------------------------------------------------------------------------------------


def test_vjp_is_u_transposed_times_the_jacobian() -> None:
    W = RNG.standard_normal((4, 3))
    f = lambda x, W: (W @ x).sigmoid()
    out, pull = tn.vjp(f, X3, W)
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-(W @ X3))), rtol=1e-15)
    u = RNG.standard_normal(4)
    gx, gW = pull(u)
    np.testing.assert_allclose(gx, u @ numeric_jacobian(f, [X3, W]), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(gW, np.tensordot(u, numeric_jacobian(f, [X3, W], 1), 1),
                               rtol=1e-7, atol=1e-9)
    gx_again, _ = pull(u)                                     # the graph is reused
    np.testing.assert_array_equal(gx_again, gx)
    gx2, _ = pull(2 * u)
    np.testing.assert_allclose(gx2, 2 * gx, rtol=1e-15)


def test_vjp_fn_refuses_a_pass_after_a_value_f_used_was_assigned() -> None:
    """vjp_fn replays the recorded graph, so it may be called after an optimizer step changed a
    parameter f used from outside: it raises (main's version stamps) instead of returning the
    gradient of the function as it was."""
    w = Value(np.array([1.0, 2.0]), name="w")
    _, vjp_fn = tn.vjp(lambda x: x * w, np.array([3.0, 4.0]))
    np.testing.assert_array_equal(vjp_fn(np.ones(2))[0], [1.0, 2.0])
    w.data = np.array([5.0, 6.0])
    with pytest.raises(RuntimeError, match="'w' \\(input 1 of op 'mul', shape \\(2,\\)\\) was "
                                           "assigned after the forward pass"):
        vjp_fn(np.ones(2))
    assert w.grad is None


def test_vjp_and_jvp_of_a_function_with_two_outputs() -> None:
    f = lambda x: (x.exp(), x.sum() * x[0])
    (e, s), pull = tn.vjp(f, X3)
    assert float(s) == pytest.approx(X3.sum() * X3[0], rel=1e-15)
    u0, u1 = RNG.standard_normal(3), 0.7
    (g,) = pull((u0, u1))
    expected = u0 * np.exp(X3) + u1 * (np.array([X3.sum(), 0, 0]) + X3[0])
    np.testing.assert_allclose(g, expected, rtol=1e-14)
    v = RNG.standard_normal(3)
    (e2, s2), (te, ts) = tn.jvp(f, (X3,), (v,))
    np.testing.assert_array_equal(e2, e)
    assert s2 == s
    np.testing.assert_allclose(te, np.exp(X3) * v, rtol=1e-15)
    assert float(ts) == pytest.approx(v.sum() * X3[0] + X3.sum() * v[0], rel=1e-14)


def test_jvp_is_the_jacobian_times_v() -> None:
    a, b = RNG.standard_normal((3, 1)), RNG.standard_normal((1, 4))
    f = lambda a, b: (a * b).tanh() / (1.0 + b * b)
    va, vb = RNG.standard_normal((3, 1)), RNG.standard_normal((1, 4))
    out, tangent = tn.jvp(f, (a, b), (va, vb))
    np.testing.assert_allclose(out, np.tanh(a * b) / (1.0 + b * b), rtol=1e-15)
    expected = (np.tensordot(numeric_jacobian(f, [a, b], 0), va, 2)
                + np.tensordot(numeric_jacobian(f, [a, b], 1), vb, 2))
    assert tangent.shape == (3, 4)
    np.testing.assert_allclose(tangent, expected, rtol=1e-7, atol=1e-9)


def test_jvp_records_no_graph_even_through_captured_parameters() -> None:
    """True forward mode: no node made while it runs has parents, even nodes that use a Value
    that requires grad, and no backward pass runs."""
    W = Value(RNG.standard_normal((2, 3)))                   # requires grad
    made: list[Value] = []

    def f(x: Value) -> Value:
        y = (W @ x).tanh()
        made.append(y)
        return y

    _, tangent = tn.jvp(f, (X3,), (np.ones(3),))
    assert made[0].op is None and made[0].parents == () and not made[0].requires_grad
    np.testing.assert_allclose(tangent, (1 - np.tanh(W.data @ X3) ** 2) * W.data.sum(1),
                               rtol=1e-14)
    assert W.grad is None


def test_jvp_holds_intermediate_nodes_weakly() -> None:
    """A node that is no longer used is freed during the pass, as in a plain forward pass."""
    refs: list[weakref.ref[Value]] = []
    seen_alive: list[bool] = []

    def f(x: Value) -> Value:
        y = x.exp()
        refs.append(weakref.ref(y))
        z = y * 2.0
        del y
        seen_alive.append(refs[0]() is not None)
        return z

    gc.disable()
    try:
        _, tangent = tn.jvp(f, (X3,), (np.ones(3),))
    finally:
        gc.enable()
    assert seen_alive == [False]
    np.testing.assert_allclose(tangent, 2 * np.exp(X3), rtol=1e-15)


# ----------------------------------------------------------------------------------------------
# jacobian
# ----------------------------------------------------------------------------------------------

JACOBIAN_FUNCTIONS: dict[str, tuple[Callable[..., Any], list[Any]]] = {
    "vector->vector": (lambda x: (x * x.sum()).tanh(), [X3]),
    "matrix->vector": (lambda W: (W @ X3).sigmoid(), [RNG.standard_normal((2, 3))]),
    "vector->matrix": (lambda x: x.reshape(3, 1) * x.exp(), [X3]),
    "vector->scalar": (lambda x: x.softmax(-1)[1], [X3]),
    "scalar->vector": (lambda s: (s * X3).exp(), [0.4]),
    "scalar->scalar": (lambda s: s.tanh() * s, [0.4]),
    "broadcast": (lambda a: (a * np.ones((2, 1, 3))).log_softmax(0), [RNG.standard_normal(3)]),
}


@pytest.mark.parametrize("mode", ["rev", "fwd", "auto"])
@pytest.mark.parametrize("name", sorted(JACOBIAN_FUNCTIONS))
def test_jacobian_in_every_mode_matches_central_differences(name: str, mode: str) -> None:
    f, args = JACOBIAN_FUNCTIONS[name]
    jac = tn.jacobian(f, mode=mode)(*args)
    expected = numeric_jacobian(f, args)
    with tn.no_grad():
        out = f(*[Value(a) for a in args])
    assert np.shape(jac) == tuple(out.shape) + np.shape(args[0])
    if type(out.data) is float and type(args[0]) is float:
        assert type(jac) is float
    np.testing.assert_allclose(jac, expected, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_of_several_arguments_and_outputs(mode: str) -> None:
    a, b = RNG.standard_normal(3), RNG.standard_normal((2, 3))
    f = lambda a, b: (b @ a, (a * a).sum())
    (j_out0, j_out1) = tn.jacobian(f, argnums=(0, 1), mode=mode)(a, b)
    assert j_out0[0].shape == (2, 3) and j_out0[1].shape == (2, 2, 3)
    assert j_out1[0].shape == (3,) and j_out1[1].shape == (2, 3)
    np.testing.assert_allclose(j_out0[0], b, rtol=1e-15)
    np.testing.assert_allclose(j_out0[1], np.einsum("ij,k->ijk", np.eye(2), a), rtol=1e-15)
    np.testing.assert_allclose(j_out1[0], 2 * a, rtol=1e-15)
    np.testing.assert_array_equal(j_out1[1], np.zeros((2, 3)))


def counted(f: Callable[..., Any]) -> tuple[Callable[..., Any], list[int]]:
    calls = [0]

    def wrapper(*args: Any) -> Any:
        calls[0] += 1
        return f(*args)

    return wrapper, calls


@pytest.mark.parametrize(("n_in", "n_out", "expected_calls", "mode"), [
    (50, 1, 1, "auto"),      # one reverse pass over one recorded forward pass
    (50, 1, 50, "fwd"),      # one forward pass per input entry
    (1, 20, 2, "auto"),      # the recorded pass shows the output is larger: then forward mode
    (1, 20, 1, "rev"),
    (4, 4, 1, "auto"),       # a tie goes to reverse mode: its passes share one forward pass
])
def test_jacobian_auto_picks_the_mode_with_fewer_passes(n_in: int, n_out: int,
                                                        expected_calls: int, mode: str) -> None:
    A = RNG.standard_normal((n_out, n_in))
    f, calls = counted(lambda x: (A @ x).tanh())
    jac = tn.jacobian(f, mode=mode)(np.linspace(-1, 1, n_in))
    assert calls[0] == expected_calls
    assert jac.shape == (n_out, n_in)


# -- reverse mode: every row in one walk of the graph (tinygrad_nn.batched) ---------------------


def jacobian_by_vjps(f: Callable[..., Any], args: list[Any], argnums: tuple[int, ...]
                     ) -> list[list[np.ndarray]]:
    """J[k][j] = ∂out_k/∂args[argnums[j]] row by row, one ``tn.vjp`` pass per output entry (the
    reverse mode the Jacobian used before it carried a stack of cotangents)."""
    def of_differentiated(*diff: Any) -> Any:
        full = list(args)
        for i, x in zip(argnums, diff):
            full[i] = x
        return f(*full)

    outs, vjp_fn = tn.vjp(of_differentiated, *[args[i] for i in argnums])
    outs_tuple = outs if isinstance(outs, tuple) else (outs,)
    blocks: list[list[np.ndarray]] = []
    for k, out in enumerate(outs_tuple):
        out = np.asarray(out)
        rows: list[list[np.ndarray]] = [[] for _ in argnums]
        for index in np.ndindex(*out.shape):
            unit = [np.zeros_like(np.asarray(o)) for o in outs_tuple]
            unit[k][index] = 1.0
            cotangent = tuple(unit) if isinstance(outs, tuple) else unit[0]
            for j, g in enumerate(vjp_fn(cotangent)):
                rows[j].append(np.asarray(g))
        blocks.append([np.array(r).reshape(out.shape + np.shape(args[i]))
                       for r, i in zip(rows, argnums)])
    return blocks


STACKED_FUNCTIONS: dict[str, tuple[Callable[..., Any], list[Any], tuple[int, ...]]] = {
    # name: (f, arguments, argnums), mixing ops that take the stack of cotangents as they are
    # (element-wise, matmul) with ops that run row by row (reductions, indexing, reshapes)
    "matrix->matrix": (lambda A: (A @ A.T).tanh() * A.sum(axis=1, keepdims=True),
                       [RNG.standard_normal((3, 2))], (0,)),
    "network": (lambda W, b, x: (W @ x + b).sigmoid(), [RNG.standard_normal((4, 3)),
                                                         RNG.standard_normal(4), X3], (0, 1, 2)),
    "broadcast pairs": (lambda a, b: (a * b - b / (a * a + 1.0)).exp(),
                        [RNG.standard_normal((2, 1)), RNG.standard_normal(3)], (0, 1)),
    "scalar and vector": (lambda s, x: (s * x).tanh() + s ** 2, [0.7, X3], (0, 1)),
    "indexing and joins": (lambda x: tn.concatenate([x[::-1], x[1:] * x[0]]).softmax(),
                           [X3], (0,)),
    "tuple of outputs": (lambda x, W: ((W @ x).relu(), (x * x).sum(), x.reshape(3, 1) @
                                       x.reshape(1, 3)),
                         [X3, RNG.standard_normal((2, 3))], (0, 1)),
    "linear layer": (lambda W, x: tn.value.linear(x, W).tanh(),
                     [RNG.standard_normal((2, 3)), RNG.standard_normal((4, 3))], (0, 1)),
}


@pytest.mark.parametrize("name", sorted(STACKED_FUNCTIONS))
def test_reverse_jacobian_equals_one_vjp_per_row_and_central_differences(name: str) -> None:
    f, args, argnums = STACKED_FUNCTIONS[name]
    jac = tn.jacobian(f, argnums=argnums, mode="rev")(*args)
    blocks = jac if isinstance(jac, tuple) and isinstance(jac[0], tuple) else (jac,)
    expected = jacobian_by_vjps(f, args, argnums)
    assert len(blocks) == len(expected)
    for k, (row, want_row) in enumerate(zip(blocks, expected)):
        for j, (block, want) in enumerate(zip(row, want_row)):
            assert np.shape(block) == want.shape, (k, j)
            np.testing.assert_allclose(block, want, rtol=1e-13, atol=1e-15)
            numeric = numeric_jacobian(lambda *a, k=k: _output(f(*a), k), args, argnums[j])
            np.testing.assert_allclose(block, numeric, rtol=1e-6, atol=1e-8)


def _output(out: Any, k: int) -> Any:
    return out[k] if isinstance(out, tuple) else out


@pytest.mark.parametrize("limit", [1, 5, 64])
def test_reverse_jacobian_in_small_chunks_is_the_same(limit: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A chunk holds ``CHUNK_ENTRIES`` numbers per stack (B = limit // 12 rows here, at least
    one): any chunking gives the Jacobian of one chunk."""
    f = lambda A: (A @ A.T).tanh().reshape(9) * A.sum()
    A = RNG.standard_normal((3, 4))
    whole = tn.jacobian(f, mode="rev")(A)
    monkeypatch.setattr(tn.batched, "CHUNK_ENTRIES", limit)
    np.testing.assert_array_equal(tn.jacobian(f, mode="rev")(A), whole)
    np.testing.assert_allclose(whole, numeric_jacobian(f, [A]), rtol=1e-6, atol=1e-8)


def test_reverse_jacobian_keeps_float32() -> None:
    W = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    x = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    jac = tn.jacobian(lambda x: (W @ x).tanh() * x[:2], mode="rev")(x)
    assert jac.dtype == np.float32 and jac.shape == (2, 3)
    exact = tn.jacobian(lambda x: (W.astype(np.float64) @ x).tanh() * x[:2],
                        mode="rev")(x.astype(np.float64))
    np.testing.assert_allclose(jac, exact, rtol=1e-6)


def test_reverse_jacobian_of_a_constant_output_is_zero() -> None:
    jac = tn.jacobian(lambda x: np.ones(2), mode="rev")(X3)
    np.testing.assert_array_equal(jac, np.zeros((2, 3)))


def test_reverse_jacobian_of_an_output_only_a_parameter_reaches_is_zero() -> None:
    """The output requires grad (through W), but the argument does not flow into it."""
    W = Value(np.array([1.0, -2.0]))
    jac = tn.jacobian(lambda x: (W * 2.0).tanh(), mode="rev")(X3)
    np.testing.assert_array_equal(jac, np.zeros((2, 3)))
    assert W.grad is None


def test_reverse_jacobian_of_the_identity_and_of_the_argument_returned_twice() -> None:
    x = np.array([1.0, 2.0])
    np.testing.assert_array_equal(tn.jacobian(lambda v: v, mode="rev")(x), np.eye(2))
    whole, first = tn.jacobian(lambda v: (v, v[0]), mode="rev")(x)
    np.testing.assert_array_equal(whole, np.eye(2))
    np.testing.assert_array_equal(first, [1.0, 0.0])


def test_inside_another_transform_the_jacobian_goes_row_by_row(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Nested (Values in the graph, create_graph): the stacked walk does not apply; the rows come
    from one recorded reverse pass each, which the outer transform differentiates."""
    stacked = []
    rows = tn.batched.jacobian_rows
    monkeypatch.setattr(tn.transforms, "jacobian_rows",
                        lambda *a: stacked.append(1) or rows(*a))
    f = lambda x: (x * x.sum()).tanh()
    # Σ_ij J_ij, differentiated: the inner jacobian runs inside grad's function
    g = tn.grad(lambda x: tn.jacobian(f, mode="rev")(x).sum())(X3)
    assert not stacked
    numeric = numeric_jacobian(lambda x: tn.jacobian(f, mode="rev")(x.data).sum(), [X3])
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-8)
    stacked.clear()                          # (the differences called it on plain arrays)
    # given a Value, the Jacobian is a Value of the user's graph
    w = Value(X3)
    jac = tn.jacobian(f, mode="rev")(w)
    assert isinstance(jac, Value) and not stacked
    jac.sum().backward()
    np.testing.assert_allclose(w.grad, g, rtol=1e-13)
    # outside, the outer Jacobian of a gradient carries the stack: the Hessian
    H = tn.jacobian(tn.grad(rosenbrock), mode="rev")(X3)
    assert stacked
    np.testing.assert_allclose(H, rosenbrock_hessian(X3), rtol=1e-13, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# hessian and hvp
# ----------------------------------------------------------------------------------------------


def rosenbrock(x: Value) -> Value:
    """Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)², whose Hessian has a closed form."""
    return (100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2).sum()


def rosenbrock_hessian(x: np.ndarray) -> np.ndarray:
    n = len(x)
    H = np.zeros((n, n))
    for i in range(n - 1):
        H[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        H[i + 1, i + 1] += 200
        H[i, i + 1] = H[i + 1, i] = -400 * x[i]
    return H


def test_hessian_matches_the_closed_form() -> None:
    x = np.array([0.5, -0.3, 1.2, 0.9])
    H = tn.hessian(rosenbrock)(x)
    np.testing.assert_allclose(H, rosenbrock_hessian(x), rtol=1e-13, atol=1e-12)
    np.testing.assert_allclose(H, tn.jacobian(tn.grad(rosenbrock), mode="rev")(x), rtol=1e-13)
    np.testing.assert_allclose(H, tn.jacobian(tn.grad(rosenbrock), mode="fwd")(x), rtol=1e-13)


def test_hessian_matches_differences_of_the_gradient() -> None:
    W = RNG.standard_normal((3, 2))
    f = lambda W, x: F.mse_loss((W @ x).sigmoid(), np.array([0.0, 1.0, 0.5]))
    x = np.array([0.5, 0.25])
    H = tn.hessian(f)(W, x)
    assert H.shape == (3, 2, 3, 2)
    gradient = tn.grad(f)
    np.testing.assert_allclose(H, numeric_jacobian(lambda W, x: Value(gradient(W.data, x.data)),
                                                   [W, x]), rtol=1e-6, atol=1e-9)


def test_hessian_of_several_arguments_is_a_tuple_of_tuples() -> None:
    f = lambda a, b: (a * a * b).sum() + (b ** 3).sum()
    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    (Haa, Hab), (Hba, Hbb) = tn.hessian(f, argnums=(0, 1))(a, b)
    np.testing.assert_allclose(Haa, np.diag(2 * b), rtol=1e-15)
    np.testing.assert_allclose(Hab, np.diag(2 * a), rtol=1e-15)
    np.testing.assert_allclose(Hba, np.diag(2 * a), rtol=1e-15)
    np.testing.assert_allclose(Hbb, np.diag(6 * b), rtol=1e-15)


def test_hvp_is_the_hessian_times_the_vector() -> None:
    x, v = np.array([0.5, -0.3, 1.2, 0.9]), np.array([1.0, -2.0, 0.5, 0.25])
    (Hv,) = tn.hvp(rosenbrock, (x,), (v,))
    np.testing.assert_allclose(Hv, rosenbrock_hessian(x) @ v, rtol=1e-13)
    f = lambda a, b: (a * a * b).sum()
    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    va, vb = np.array([0.5, 1.0]), np.array([-1.0, 2.0])
    ha, hb = tn.hvp(f, (a, b), (va, vb))                     # (H v)_a = Haa va + Hab vb
    np.testing.assert_allclose(ha, 2 * b * va + 2 * a * vb, rtol=1e-15)
    np.testing.assert_allclose(hb, 2 * a * va, rtol=1e-15)


# ----------------------------------------------------------------------------------------------
# Composition
# ----------------------------------------------------------------------------------------------

THIRD_DERIVATIVES: dict[str, tuple[Callable[[Value], Value], Callable[[float], float], float]] = {
    # name: (f, f''' in closed form, point)
    "exp": (Value.exp, math.exp, 0.7),
    "log": (Value.log, lambda x: 2 / x ** 3, 1.3),
    "sqrt": (Value.sqrt, lambda x: 3 / 8 * x ** -2.5, 1.7),
    "reciprocal": (lambda x: 1.0 / x, lambda x: -6 / x ** 4, 0.8),
    "x^3.5": (lambda x: x ** 3.5, lambda x: 3.5 * 2.5 * 1.5 * x ** 0.5, 1.4),
    "tanh": (Value.tanh, lambda x: -2 * (1 - math.tanh(x) ** 2) * (1 - 3 * math.tanh(x) ** 2),
             0.6),
    "sigmoid": (Value.sigmoid,
                lambda x: (lambda s: s * (1 - s) * (1 - 2 * s) ** 2 - 2 * (s * (1 - s)) ** 2)(
                    1 / (1 + math.exp(-x))), -0.4),
    "softplus": (Value.softplus,                              # softplus''' = φ'' = φ'(1 − 2φ)
                 lambda x: (lambda s: s * (1 - s) * (1 - 2 * s))(1 / (1 + math.exp(-x))), 0.9),
    "x^x": (lambda x: x ** x,
            lambda x: x ** x * ((math.log(x) + 1) ** 3 + 3 * (math.log(x) + 1) / x - 1 / x ** 2),
            1.3),
}


@pytest.mark.parametrize("name", sorted(THIRD_DERIVATIVES))
def test_third_derivatives_by_grad_of_grad_of_grad(name: str) -> None:
    f, closed_form, x = THIRD_DERIVATIVES[name]
    d3 = tn.grad(tn.grad(tn.grad(f)))(x)
    assert type(d3) is float
    assert d3 == pytest.approx(closed_form(x), rel=1e-12)


@pytest.mark.parametrize("name", sorted(THIRD_DERIVATIVES))
def test_third_derivatives_in_forward_mode(name: str) -> None:
    """jvp of jvp of jvp: forward over forward over forward, each a differentiable trace."""
    f, closed_form, x = THIRD_DERIVATIVES[name]
    d1 = lambda x: tn.jvp(f, (x,), (1.0,))[1]
    d2 = lambda x: tn.jvp(d1, (x,), (1.0,))[1]
    _, d3 = tn.jvp(d2, (x,), (1.0,))
    assert d3 == pytest.approx(closed_form(x), rel=1e-12)


def test_jvp_of_grad_and_grad_of_jvp_are_hessian_vector_products() -> None:
    x, v = np.array([0.5, -0.3, 1.2, 0.9]), np.array([1.0, -2.0, 0.5, 0.25])
    expected = rosenbrock_hessian(x) @ v
    _, forward_over_reverse = tn.jvp(tn.grad(rosenbrock), (x,), (v,))
    reverse_over_forward = tn.grad(lambda y: tn.jvp(rosenbrock, (y,), (v,))[1])(x)
    reverse_over_reverse = tn.grad(lambda y: (tn.grad(rosenbrock)(y) * v).sum())(x)
    for result in (forward_over_reverse, reverse_over_forward, reverse_over_reverse):
        np.testing.assert_allclose(result, expected, rtol=1e-13)


def test_nested_jacobians_give_the_hessian() -> None:
    x = np.array([0.5, -0.3, 1.2])
    for outer in ("rev", "fwd"):
        for inner_mode in ("rev", "fwd"):
            H = tn.jacobian(tn.jacobian(rosenbrock, mode=inner_mode), mode=outer)(x)
            np.testing.assert_allclose(H, rosenbrock_hessian(x), rtol=1e-13, atol=1e-12)


def test_no_perturbation_confusion_in_reverse_mode() -> None:
    """d/dx [x · d/dy (x·y)] = d/dx x² = 2x: the inner derivative is with respect to y only,
    although y is given the same x that f also uses from outside (JAX's classic example)."""
    h = lambda x: x * tn.grad(lambda y: x * y)(x)
    assert tn.grad(h)(3.0) == 6.0


def test_no_perturbation_confusion_in_forward_mode() -> None:
    h = lambda x: x * tn.jvp(lambda y: x * y, (x,), (1.0,))[1]
    assert tn.jvp(h, (3.0,), (1.0,))[1] == 6.0
    assert tn.grad(h)(3.0) == 6.0


def test_a_transform_inside_f_sees_values_captured_from_outside() -> None:
    """The inner grad's argument is a plain number, but its function uses the outer x."""
    h = lambda x: tn.grad(lambda y: x * y * y)(2.0)          # = 4x
    assert tn.grad(h)(5.0) == 4.0
    assert tn.jvp(h, (5.0,), (1.0,))[1] == 4.0


# ----------------------------------------------------------------------------------------------
# State: no .grad, no_grad, the switches, the inputs
# ----------------------------------------------------------------------------------------------

TRANSFORM_CALLS: dict[str, Callable[[Callable[..., Any], np.ndarray], Any]] = {
    "grad": lambda f, x: tn.grad(f)(x),
    "value_and_grad": lambda f, x: tn.value_and_grad(f)(x),
    "vjp": lambda f, x: tn.vjp(f, x)[1](1.0),
    "jvp": lambda f, x: tn.jvp(f, (x,), (np.ones_like(x),)),
    "jacobian-rev": lambda f, x: tn.jacobian(f, mode="rev")(x),
    "jacobian-fwd": lambda f, x: tn.jacobian(f, mode="fwd")(x),
    "hessian": lambda f, x: tn.hessian(f)(x),
    "hvp": lambda f, x: tn.hvp(f, (x,), (np.ones_like(x),)),
    "check_grads": lambda f, x: tn.check_grads(f, (x,), order=2),
}


@pytest.mark.parametrize("name", sorted(TRANSFORM_CALLS))
def test_transforms_leave_no_grad_on_anything_the_user_owns(name: str) -> None:
    model = nn.mlp([3, 4, 1], rng=0)
    x = np.array([0.2, -0.4, 0.9])
    hidden: list[Value] = []

    def f(v: Value) -> Value:
        h = model[0](v)
        hidden.append(h.retain_grad())
        return model[1:](h).sum()

    before = [p.data.copy() for p in model.parameters()]
    TRANSFORM_CALLS[name](f, x)
    assert all(p.grad is None for p in model.parameters())
    assert all(h.grad is None for h in hidden)
    assert all(np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))
    np.testing.assert_array_equal(x, [0.2, -0.4, 0.9])


@pytest.mark.parametrize("name", sorted(TRANSFORM_CALLS))
def test_transforms_work_inside_no_grad_and_restore_the_switches(name: str) -> None:
    f = lambda v: (v.tanh() * v).sum()
    expected = TRANSFORM_CALLS[name](f, X3)
    with tn.no_grad():
        inside = TRANSFORM_CALLS[name](f, X3)
        assert STATE.grad_enabled is False
    assert STATE.grad_enabled is True and STATE.forward_traces == () \
        and STATE.transform_depth == 0
    for a, b in zip(np.ravel(np.asarray(expected, dtype=object)),
                    np.ravel(np.asarray(inside, dtype=object))):
        np.testing.assert_array_equal(np.asarray(a, dtype=np.float64),
                                      np.asarray(b, dtype=np.float64))


@pytest.mark.parametrize("name", sorted(TRANSFORM_CALLS))
def test_an_error_inside_f_leaves_the_switches_as_they_were(name: str) -> None:
    def f(v: Value) -> Value:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        TRANSFORM_CALLS[name](f, X3)
    assert STATE.grad_enabled is True and STATE.forward_traces == () \
        and STATE.transform_depth == 0
    assert tn.grad(lambda v: (v * v).sum())(X3) == pytest.approx(2 * X3)


def test_results_are_new_arrays_not_views_of_the_inputs() -> None:
    x = np.array([1.0, 2.0])
    out, pull = tn.vjp(lambda v: v, x)
    u = np.array([3.0, 4.0])
    (g,) = pull(u)
    out[0] = g[0] = 99.0
    assert x[0] == 1.0 and u[0] == 3.0
    _, tangent = tn.jvp(lambda v: v, (x,), (x,))
    tangent[0] = 99.0
    assert x[0] == 1.0


def test_called_with_values_a_transform_returns_values_in_the_graph() -> None:
    """A gradient penalty: ‖∇_x f‖² differentiated with respect to the user's own Value."""
    w = Value(np.array([0.5, -1.0]))
    x = np.array([1.0, 2.0])
    g = tn.grad(lambda x, w: ((x * w).sum()) ** 2)(x, w)     # 2 (x·w) w
    assert isinstance(g, Value)
    np.testing.assert_allclose(g.data, 2 * (x @ w.data) * w.data)
    assert w.grad is None
    (g * g).sum().backward()                                 # Σ 4 (x·w)² w_i²
    s = x @ w.data
    np.testing.assert_allclose(w.grad, 8 * s * x * (w.data ** 2).sum() + 8 * s ** 2 * w.data,
                               rtol=1e-14)


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: tn.grad(lambda x: x * 2.0)(X3), ValueError,
     r"grad: f must return a scalar \(a Value with one entry\), got shape \(3,\)"),
    (lambda: tn.grad(lambda x: (x, x))(1.0), TypeError, "grad: f must return a scalar Value"),
    (lambda: tn.grad(lambda x: None)(1.0), TypeError, "grad: f must return a scalar Value, "
                                                      "got NoneType"),
    (lambda: tn.grad(lambda x, y: x * y, argnums=2)(1.0, 2.0), ValueError,
     "grad: argnums 2 is out of range for a function called with 2 arguments"),
    (lambda: tn.grad(lambda x: x, argnums=(0, 0))(1.0), ValueError, "names an argument twice"),
    (lambda: tn.grad(lambda x: x, argnums=1.0), TypeError,
     "grad: argnums must be an int or a non-empty tuple of ints, got 1.0"),
    (lambda: tn.grad(lambda x: x, argnums=()), TypeError, "argnums must be an int or a non-empty"),
    (lambda: tn.grad("not a function"), TypeError, "grad: f must be a function, got str"),
    (lambda: tn.grad(lambda x: x)("abc"), TypeError,
     "grad: argument 0 must be a number or an array, got str 'abc'"),
    (lambda: tn.grad(lambda x: x)(None), TypeError, "grad: argument 0 must be a number"),
    (lambda: tn.grad(lambda x: x)([[1.0], [2.0, 3.0]]), ValueError,
     "grad: argument 0: expected a rectangular"),
    (lambda: tn.value_and_grad(lambda x: x)(1 + 2j), TypeError,
     "value_and_grad: argument 0: complex numbers are not supported"),
    (lambda: tn.jvp(lambda x: x, (X3,), (np.ones(2),)), ValueError,
     r"jvp: tangents\[0\] has shape \(2,\) but primals\[0\] has shape \(3,\)"),
    (lambda: tn.jvp(lambda x, y: x, (X3, X3), (X3,)), ValueError,
     r"jvp: expected one tangent per primal \(2\), got 1"),
    (lambda: tn.jvp(lambda x: x, X3, X3), TypeError,
     r"jvp: primals must be a tuple or list .* got ndarray \(for one argument x write \(x,\)\)"),
    (lambda: tn.jvp(lambda x: x, (X3,), ("abc",)), TypeError,
     r"jvp: tangents\[0\] must be a number or an array, got str"),
    (lambda: tn.jvp(lambda x: x, (X3,), (["a", "b", "c"],)), TypeError,
     r"jvp: tangents\[0\] must hold real numbers, got dtype <U1"),
    (lambda: tn.jvp(lambda x: x, (), ()), ValueError, "jvp: primals is empty"),
    (lambda: tn.vjp(lambda x: x, X3)[1](np.ones(4)), ValueError,
     r"vjp: cotangent has shape \(4,\) but the output has shape \(3,\)"),
    (lambda: tn.vjp(lambda x: (x, x), X3)[1](np.ones(3)), ValueError,
     "vjp: f returns a tuple of 2, so the cotangent must be a tuple of 2, got ndarray"),
    (lambda: tn.vjp(lambda x: x), TypeError, "vjp: expected at least one primal"),
    (lambda: tn.jacobian(lambda x: x, mode="backward"), ValueError,
     r"jacobian: mode must be one of \('auto', 'fwd', 'rev'\), got 'backward'"),
    (lambda: tn.jacobian(lambda x: x, argnums=3)(X3), ValueError,
     "jacobian: argnums 3 is out of range for a function called with 1 argument"),
    (lambda: tn.hessian(lambda x: x * 2.0)(X3), ValueError,
     "hessian: f must return a scalar"),
    (lambda: tn.hvp(lambda x: x.sum(), (X3,), (np.ones(4),)), ValueError,
     r"hvp: tangents\[0\] has shape \(4,\) but primals\[0\] has shape \(3,\)"),
    (lambda: tn.hvp(lambda x: x.sum(), (X3,), ()), ValueError, "hvp: vectors is empty"),
    (lambda: tn.hvp(lambda x: x * 2.0, (X3,), (X3,)), ValueError, "hvp: f must return a scalar"),
])
def test_bad_input_names_the_transform(call: Callable[[], Any], error: type[Exception],
                                       message: str) -> None:
    with pytest.raises(error, match=message):
        call()
    assert STATE.grad_enabled is True and STATE.forward_traces == () \
        and STATE.transform_depth == 0


# ----------------------------------------------------------------------------------------------
# Against PyTorch's torch.func, on random programs
# ----------------------------------------------------------------------------------------------

N = 4
CONSTANTS = {"W": RNG.standard_normal((N, N)) / 2, "c": RNG.standard_normal(N)}

# each step maps a vector of N entries to N entries, written once for both libraries: Value and
# torch.Tensor share these methods and operators; `k` turns a NumPy constant into the library's
STEPS: dict[str, Callable[[Any, Callable[[str], Any]], Any]] = {
    "tanh": lambda x, k: x.tanh(),
    "sigmoid": lambda x, k: x.sigmoid(),
    "exp_tanh": lambda x, k: x.tanh().exp(),
    "square": lambda x, k: x * x,
    "cubic": lambda x, k: x ** 3 - x,
    "matmul": lambda x, k: k("W") @ x,
    "scale": lambda x, k: x * k("c"),
    "softmax": lambda x, k: x.softmax(-1) * 3.0,
    "log": lambda x, k: (x * x + 1.0).log(),
    "mix": lambda x, k: x * x.sum(),
    "rational": lambda x, k: x / (x * x + 1.0),
    "sqrt": lambda x, k: (x * x + 0.5).sqrt(),
}


def random_program(seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [str(s) for s in rng.choice(sorted(STEPS), size=int(rng.integers(2, 6)))]


def run_program(steps: list[str], x: Any, k: Callable[[str], Any]) -> Any:
    for name in steps:
        x = STEPS[name](x, k)
    return x


SEEDS = range(12)


TORCH_FUNC_WARNING = "ignore:`torch.jit.script` is deprecated:DeprecationWarning"


@pytest.mark.filterwarnings(TORCH_FUNC_WARNING)
@pytest.mark.parametrize("seed", SEEDS)
def test_jacobians_match_torch_func(seed: int, torch: Any) -> None:
    steps = random_program(seed)
    k_torch = lambda name: torch.tensor(CONSTANTS[name], dtype=torch.float64)
    x = np.random.default_rng(100 + seed).uniform(-1, 1, N)
    ours = lambda v: run_program(steps, v, CONSTANTS.__getitem__)
    theirs = lambda v: run_program(steps, v, k_torch)
    xt = torch.tensor(x, dtype=torch.float64)
    rev = torch.func.jacrev(theirs)(xt).numpy()
    fwd = torch.func.jacfwd(theirs)(xt).numpy()
    np.testing.assert_allclose(tn.jacobian(ours, mode="rev")(x), rev, rtol=1e-12, atol=1e-13,
                               err_msg=str(steps))
    np.testing.assert_allclose(tn.jacobian(ours, mode="fwd")(x), fwd, rtol=1e-12, atol=1e-13,
                               err_msg=str(steps))


@pytest.mark.filterwarnings(TORCH_FUNC_WARNING)
@pytest.mark.parametrize("seed", SEEDS)
def test_hessians_and_jvps_match_torch_func(seed: int, torch: Any) -> None:
    steps = random_program(seed)
    k_torch = lambda name: torch.tensor(CONSTANTS[name], dtype=torch.float64)
    rng = np.random.default_rng(200 + seed)
    x, v = rng.uniform(-1, 1, N), rng.standard_normal(N)
    weights = rng.uniform(0.5, 1.5, N)
    ours = lambda x: (run_program(steps, x, CONSTANTS.__getitem__) * weights).sum()
    wt = torch.tensor(weights, dtype=torch.float64)
    theirs = lambda x: (run_program(steps, x, k_torch) * wt).sum()
    xt, vt = torch.tensor(x, dtype=torch.float64), torch.tensor(v, dtype=torch.float64)
    np.testing.assert_allclose(tn.hessian(ours)(x), torch.func.hessian(theirs)(xt).numpy(),
                               rtol=1e-11, atol=1e-12, err_msg=str(steps))
    ours_vec = lambda x: run_program(steps, x, CONSTANTS.__getitem__)
    theirs_vec = lambda x: run_program(steps, x, k_torch)
    out, tangent = tn.jvp(ours_vec, (x,), (v,))
    out_t, tangent_t = torch.func.jvp(theirs_vec, (xt,), (vt,))
    np.testing.assert_allclose(out, out_t.numpy(), rtol=1e-13, err_msg=str(steps))
    np.testing.assert_allclose(tangent, tangent_t.numpy(), rtol=1e-12, atol=1e-13,
                               err_msg=str(steps))


def test_node_map_keys_nodes_by_identity_and_forgets_freed_ones() -> None:
    """Forward mode's tangents: a mapping that compared keys with == would call Value.__eq__,
    which gives arrays (the max JVP tests raised 'truth value ... ambiguous' with one)."""
    from tinygrad_nn.forward import NodeMap

    tangents = NodeMap()
    a, same_data = Value(np.ones(3)), Value(np.ones(3))
    tangents[a] = 1.0
    assert tangents.get(a) == 1.0 and tangents.get(same_data) is None
    del a                                           # freed by reference counting
    assert tangents.entries == {}
    tangents[same_data] = 2.0
    del tangents                                    # the map goes first: its callbacks are inert
    del same_data


@pytest.mark.filterwarnings(TORCH_FUNC_WARNING)
def test_stacked_reverse_jacobians_match_torch_jacrev(torch: Any) -> None:
    """Matrix arguments, several argnums, a reduction kept: torch.func.jacrev (vmap over vjp)."""
    W, b, A = RNG.standard_normal((4, 3)), RNG.standard_normal(4), RNG.standard_normal((3, 2))

    def network(W: Any, b: Any, x: Any) -> Any:
        return (W @ x + b).sigmoid()

    def gram(A: Any) -> Any:
        return (A @ A.T).tanh() * A.sum(1, keepdims=True)

    t = lambda a: torch.tensor(a, dtype=torch.float64)
    ours = tn.jacobian(network, argnums=(0, 1, 2), mode="rev")(W, b, X3)
    theirs = torch.func.jacrev(network, argnums=(0, 1, 2))(t(W), t(b), t(X3))
    for block, want in zip(ours, theirs):
        np.testing.assert_allclose(block, want.numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(tn.jacobian(gram, mode="rev")(A),
                               torch.func.jacrev(gram)(t(A)).numpy(), rtol=1e-13, atol=1e-15)

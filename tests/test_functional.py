"""tinygrad_nn.functional: activations, the affine map and the error functions, by value."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from tinygrad_nn import Value, gradcheck, ops
from tinygrad_nn import functional as F


def logistic(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^{−x}) in full relative precision for any x (e^{−|x|} never overflows)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# (function, closed form φ, closed form φ') — φ' as the tutorials write it.
ACTIVATIONS = {
    "sigmoid": (F.sigmoid, logistic, lambda x: logistic(x) * (1.0 - logistic(x))),
    "tanh": (F.tanh, np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "relu": (F.relu, lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float)),
    "leaky_relu": (F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x),
                   lambda x: np.where(x > 0, 1.0, 0.01)),
    "softplus": (F.softplus, lambda x: np.logaddexp(0.0, x), logistic),
    "identity": (F.identity, lambda x: x, lambda x: np.ones_like(x)),
}

POINTS = np.array([-1000.0, -30.0, -2.5, -0.7, -1e-3, 0.0, 1e-3, 0.3, 1.0, 4.0, 30.0, 1000.0])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_values_and_derivatives_match_closed_forms(name: str) -> None:
    fn, phi, dphi = ACTIVATIONS[name]
    x = Value(POINTS.copy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fn(x)
        y.backward(np.ones_like(POINTS))
    np.testing.assert_allclose(y.data, phi(POINTS), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(x.grad, dphi(POINTS), rtol=1e-12, atol=1e-300)
    assert np.all(np.isfinite(y.data)) and np.all(np.isfinite(x.grad))


def test_activation_spot_values() -> None:
    # seed 000's worked example: out x_1^2 = φ(0.15) ≈ 0.53, out x_2^2 = φ(0.1) ≈ 0.52
    assert F.sigmoid(Value(0.15)).data == pytest.approx(1 / (1 + math.exp(-0.15)))
    assert F.sigmoid(Value(0.15)).data == pytest.approx(0.5374, abs=1e-4)
    assert F.sigmoid(Value(1000.0)).data == 1.0
    assert F.sigmoid(Value(-1000.0)).data == 0.0
    assert F.softplus(Value(1000.0)).data == 1000.0
    assert F.softplus(Value(-1000.0)).data == 0.0
    assert F.softplus(Value(0.0)).data == pytest.approx(math.log(2.0))
    assert F.leaky_relu(Value(-2.0), 0.2).data == pytest.approx(-0.4)
    assert F.tanh(Value(-1000.0)).data == -1.0


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradcheck(name: str) -> None:
    fn = ACTIVATIONS[name][0]
    x = Value(np.array([[-2.0, -0.5, 0.3], [0.7, 1.5, 3.0]]))
    assert gradcheck(lambda v: (fn(v) * np.arange(1.0, 7.0).reshape(2, 3)).sum(), [x])


def test_activations_accept_arrays_as_constants() -> None:
    y = F.sigmoid(np.array([0.0, 2.0]))
    assert isinstance(y, Value) and not y.requires_grad
    np.testing.assert_allclose(y.data, logistic(np.array([0.0, 2.0])))


def test_leaky_relu_slope_and_type_check() -> None:
    x = Value(np.array([-3.0, 2.0]))
    y = F.leaky_relu(x, slope=0.1)
    y.backward(np.ones(2))
    np.testing.assert_allclose(y.data, [-0.3, 2.0])
    np.testing.assert_allclose(x.grad, [0.1, 1.0])
    with pytest.raises(TypeError, match="leaky_relu: slope must be a real number"):
        F.leaky_relu(x, slope="0.1")  # type: ignore[arg-type]


def test_softmax_and_log_softmax() -> None:
    z = np.array([[1.0, 2.0, 3.0], [1000.0, -1000.0, 0.0]])
    e = np.exp(z - z.max(axis=1, keepdims=True))
    s = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(F.softmax(Value(z)).data, s)
    np.testing.assert_allclose(F.log_softmax(Value(z)).data[0], np.log(s[0]))
    assert F.log_softmax(Value(z)).data[1, 1] == -2000.0
    np.testing.assert_allclose(F.softmax(Value(z), axis=0).data.sum(axis=0), np.ones(3))
    x = Value(np.array([[0.2, -0.4, 1.1], [0.0, 0.5, -0.3]]))
    w = np.array([[1.0, -2.0, 0.5], [3.0, 0.1, -1.0]])
    assert gradcheck(lambda v: (F.softmax(v) * w).sum(), [x])
    assert gradcheck(lambda v: (F.log_softmax(v, axis=0) * w).sum(), [x])


# ----------------------------------------------------------------------------------------------
# linear
# ----------------------------------------------------------------------------------------------


def test_linear_is_x_times_w_transpose_plus_b() -> None:
    rng = np.random.default_rng(0)
    x, W, b = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), rng.normal(size=4)
    np.testing.assert_allclose(F.linear(x, W, b).data, x @ W.T + b)
    np.testing.assert_allclose(F.linear(x, W).data, x @ W.T)
    # one sample as a vector: net X_{l+1} = W_l · out X_l + B_{l+1}
    np.testing.assert_allclose(F.linear(x[0], W, b).data, W @ x[0] + b)


def test_linear_is_a_function_of_all_its_variables() -> None:
    """Seed 000's f: R^{(m+1)n+m} → R^n, differentiated in x, W and b at once."""
    rng = np.random.default_rng(1)
    x = Value(rng.normal(size=(2, 3)))
    W = Value(rng.normal(size=(4, 3)))
    b = Value(rng.normal(size=4))
    assert gradcheck(lambda x, W, b: (F.sigmoid(F.linear(x, W, b)) ** 2).sum(), [x, W, b])


def test_linear_seed_000_worked_example() -> None:
    """w_ij (from neuron i to neuron j) is W[j, i]: net x_1^2 = 0.5·0.25 + 0.25·0.1 = 0.15."""
    W = np.array([[0.25, 0.1], [0.35, -0.3]])
    net = F.linear(np.array([0.5, 0.25]), W, np.zeros(2))
    np.testing.assert_allclose(net.data, [0.15, 0.1])


def test_linear_errors_name_the_shapes() -> None:
    with pytest.raises(ValueError, match=r"linear: expected 3 features, got 2"):
        F.linear(np.ones((4, 2)), np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"linear: bias must have shape \(5,\), got \(3,\)"):
        F.linear(np.ones((4, 3)), np.ones((5, 3)), np.ones(3))


# ----------------------------------------------------------------------------------------------
# mse_loss
# ----------------------------------------------------------------------------------------------


def test_mse_seed_000_example() -> None:
    """E = ((0 − 0.68)² + (1 − 0.45)²) / 2 with n = 2 outputs."""
    E = F.mse_loss(Value(np.array([0.68, 0.45])), np.array([0.0, 1.0]))
    assert E.item() == pytest.approx((0.68**2 + 0.55**2) / 2)
    assert E.item() == pytest.approx(0.38245)


def test_mse_seed_000_network_end_to_end() -> None:
    """The tutorial's 2-2-2 network: outputs ≈ (0.68, 0.45), E ≈ 0.38, ∂E/∂w_11^2 ≈ 0.078."""
    x = np.array([0.5, 0.25])
    W1 = Value(np.array([[0.25, 0.1], [0.35, -0.3]]))
    W2 = Value(np.array([[0.9, 0.5], [-0.7, 0.3]]))
    b1, b2 = Value(np.zeros(2)), Value(np.zeros(2))
    out = F.sigmoid(F.linear(F.sigmoid(F.linear(x, W1, b1)), W2, b2))
    np.testing.assert_allclose(out.data, [0.68, 0.45], atol=5e-3)
    E = F.mse_loss(out, np.array([0.0, 1.0]))
    o = out.data
    assert E.item() == pytest.approx(((0 - o[0]) ** 2 + (1 - o[1]) ** 2) / 2, rel=1e-12)
    assert E.item() == pytest.approx(0.38, abs=5e-3)
    E.backward()
    # weight[j, i] is w_ij: the tutorial's ∂E/∂w_11 = 0.078, ∂E/∂w_21 = 0.077, ∂E/∂w_12 = -0.07
    # (it rounds the outputs to two digits first, hence the tolerance; exact: -0.0736 for w_12)
    np.testing.assert_allclose(W2.grad, [[0.078, 0.077], [-0.07, -0.07]], atol=5e-3)
    d = (2 * (o - [0.0, 1.0]) / 2) * o * (1 - o)                     # δ = E'(out) ⊙ φ'(net)
    h = logistic(W1.data @ x)
    np.testing.assert_allclose(W2.grad, np.outer(d, h), rtol=1e-12)  # ∂E/∂W = δ · Xᵀ
    np.testing.assert_allclose(b2.grad, [0.15, -0.136], atol=3e-3)


def test_mse_mean_and_sum_by_hand() -> None:
    p = np.array([[0.1, 0.9, 0.3], [0.5, 0.2, 0.8]])
    t = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 1.0]])
    sq = (0.1**2 + 0.1**2 + 0.3**2) + (0.5**2 + 0.2**2 + 0.2**2)
    pv = Value(p)
    mean = F.mse_loss(pv, t)
    assert mean.item() == pytest.approx(sq / 6)
    mean.backward()
    np.testing.assert_allclose(pv.grad, 2 * (p - t) / 6)
    pv.grad = None
    total = F.mse_loss(pv, t, reduction="sum")      # seed 004's C_0 = Σ (a − y)²
    assert total.item() == pytest.approx(sq)
    total.backward()
    np.testing.assert_allclose(pv.grad, 2 * (p - t))


def test_mse_scalar_prediction() -> None:
    a = Value(0.66)                                  # seed 004: a^(L) = 0.66, y = 1
    C = F.mse_loss(a, 1.0, reduction="sum")
    assert C.item() == pytest.approx(0.34**2)
    C.backward()
    assert a.grad == pytest.approx(2 * (0.66 - 1.0))


def test_mse_target_value_gets_the_negative_gradient() -> None:
    rng = np.random.default_rng(2)
    p, t = Value(rng.normal(size=(3, 2))), Value(rng.normal(size=(3, 2)))
    for reduction in ("mean", "sum"):
        assert gradcheck(lambda p, t, r=reduction: F.mse_loss(p, t, r), [p, t])
    F.mse_loss(p, t).backward()
    np.testing.assert_allclose(t.grad, -p.grad)


def test_mse_second_derivative_with_create_graph() -> None:
    p = Value(np.array([0.3, -0.2, 0.9]))
    E = F.mse_loss(p, np.zeros(3))
    E.backward(create_graph=True)
    g = p.grad
    assert isinstance(g, Value)
    np.testing.assert_allclose(g.data, 2 * p.data / 3)
    p.grad = None
    (g * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(p.grad, 2 / 3 * np.array([1.0, 2.0, 3.0]))


def test_mse_refuses_broadcasting_and_bad_reduction() -> None:
    with pytest.raises(ValueError, match=r"mse_loss: .*prediction \(4, 10\) and target \(4,\)"):
        F.mse_loss(Value(np.zeros((4, 10))), np.zeros(4))
    with pytest.raises(ValueError, match=r"prediction \(4, 1\) and target \(4,\)"):
        F.mse_loss(Value(np.zeros((4, 1))), np.zeros(4))
    with pytest.raises(ValueError, match="reduction must be 'mean' or 'sum', got 'avg'"):
        F.mse_loss(Value(np.zeros(3)), np.zeros(3), reduction="avg")


def test_mse_float32_stays_float32() -> None:
    p = Value(np.ones((2, 3), dtype=np.float32))
    E = F.mse_loss(p, np.zeros((2, 3)))
    assert E.dtype == np.float32 and E.item() == pytest.approx(1.0)


# ----------------------------------------------------------------------------------------------
# cross_entropy
# ----------------------------------------------------------------------------------------------


def numpy_cross_entropy(z: np.ndarray, labels: np.ndarray) -> float:
    shifted = z - z.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(labels)), labels].mean())


def test_cross_entropy_against_numpy_int_and_one_hot() -> None:
    rng = np.random.default_rng(3)
    z = rng.normal(size=(6, 4))
    labels = np.array([0, 3, 1, 1, 2, 0])
    expected = numpy_cross_entropy(z, labels)
    x = Value(z)
    E = F.cross_entropy(x, labels)
    assert E.item() == pytest.approx(expected, rel=1e-12)
    E.backward()
    onehot = np.eye(4)[labels]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(x.grad, (e / e.sum(axis=1, keepdims=True) - onehot) / 6)
    assert F.cross_entropy(Value(z), onehot).item() == pytest.approx(expected, rel=1e-12)
    assert F.cross_entropy(Value(z), labels.astype(float)).item() == pytest.approx(expected)
    assert F.cross_entropy(Value(z), Value(labels)).item() == pytest.approx(expected)


def test_cross_entropy_probabilities_and_uniform_logits() -> None:
    z = np.zeros((2, 5))
    assert F.cross_entropy(Value(z), [1, 4]).item() == pytest.approx(math.log(5))
    probs = np.array([[0.5, 0.5, 0, 0, 0], [0.2, 0.2, 0.2, 0.2, 0.2]])
    assert F.cross_entropy(Value(z), probs).item() == pytest.approx(math.log(5))


def test_cross_entropy_gradcheck() -> None:
    rng = np.random.default_rng(4)
    x = Value(rng.normal(size=(5, 3)))
    assert gradcheck(lambda v: F.cross_entropy(v, [0, 2, 1, 1, 0]), [x])
    probs = rng.dirichlet(np.ones(3), size=5)
    assert gradcheck(lambda v: F.cross_entropy(v, probs), [x])


def test_cross_entropy_second_derivative_with_create_graph() -> None:
    x = Value(np.array([[0.1, -0.3, 0.4]]))
    F.cross_entropy(x, [2]).backward(create_graph=True)
    g = x.grad
    assert isinstance(g, Value)
    x.grad = None
    g[0, 0].backward()
    s = np.exp(x.data[0]) / np.exp(x.data[0]).sum()
    # ∂²E/∂x_0∂x_j = s_0(δ_0j − s_j): the softmax Jacobian's first row
    np.testing.assert_allclose(x.grad[0], s[0] * (np.eye(3)[0] - s))


def test_cross_entropy_extreme_logits_are_finite() -> None:
    z = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
    x = Value(z)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        E = F.cross_entropy(x, [1, 2])
        E.backward()
    # sample 0: −log softmax_1 = 2000; sample 1: −log softmax_2 = log(1 + e) ≈ 1.3133
    assert E.item() == pytest.approx((2000.0 + math.log1p(math.e)) / 2)
    assert np.all(np.isfinite(x.grad))
    assert F.cross_entropy(Value(z), [0, 1]).item() == pytest.approx(math.log1p(math.exp(-1)) / 2)


@pytest.mark.parametrize(("target", "error", "match"), [
    ([0, 3, 1], ValueError, r"labels must be in \[0, 2\] for 3 classes, got 3"),
    ([0, -1, 1], ValueError, r"labels must be in \[0, 2\] for 3 classes, got -1"),
    ([0.0, 1.5, 1.0], ValueError, r"labels must be integers, got 1.5"),
    ([True, False, True], TypeError, "labels must be integers in"),
    (["a", "b", "c"], TypeError, "expected integer labels or a probability array"),
    ([0, 1], ValueError, r"expected a target of shape \(3,\) \(labels\) or \(3, 3\)"),
    (np.full((3, 3), 0.5), ValueError, "each target row must sum to 1.*row 0 sums to 1.5"),
    (np.array([[2.0, -1.0, 0.0]] * 3), ValueError, "finite and non-negative"),
])
def test_cross_entropy_bad_targets(target: object, error: type, match: str) -> None:
    with pytest.raises(error, match="cross_entropy: .*" + match):
        F.cross_entropy(Value(np.zeros((3, 3))), target)


def test_cross_entropy_bad_logits() -> None:
    with pytest.raises(ValueError, match=r"cross_entropy: expected logits of shape \(N, C\), "
                                         r"got shape \(3,\)"):
        F.cross_entropy(Value(np.zeros(3)), [0])


def test_fused_error_rules_are_in_the_table() -> None:
    assert ops.TABLE["mse"] is ops.MSE and ops.TABLE["cross_entropy"] is ops.CROSS_ENTROPY
    E = F.mse_loss(Value(np.ones(2)), np.zeros(2))
    assert E.op is ops.MSE and E.params == ("mean",)
    assert F.cross_entropy(Value(np.ones((1, 2))), [0]).op is ops.CROSS_ENTROPY

"""Optimizers: the tutorial's update W ← W − η ∂E/∂W, momentum and Adam against NumPy references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_nn import Value
from tinygrad_nn.optim import SGD, Adam


def _params(seed: int = 0) -> list[Value]:
    rng = np.random.default_rng(seed)
    return [Value(rng.normal(size=(3, 4))), Value(rng.normal(size=(4,))), Value(0.5)]


def _set_grads(params: list[Value], seed: int) -> list[object]:
    rng = np.random.default_rng(seed)
    grads: list[object] = []
    for p in params:
        g = float(rng.normal()) if p.shape == () else rng.normal(size=p.shape)
        p.grad = g
        grads.append(g)
    return grads


def test_sgd_step_is_exactly_w_minus_eta_grad() -> None:
    params = _params()
    before = [np.array(p.data, copy=True) for p in params]
    grads = _set_grads(params, 1)
    SGD(params, lr=0.1).step()
    for p, w, g in zip(params, before, grads):
        np.testing.assert_array_equal(p.data, w - 0.1 * g)  # bit-exact, not approximately
    assert type(params[2].data) is float


def test_sgd_updates_in_place_and_never_touches_grad() -> None:
    w = Value(np.array([1.0, 2.0]))
    storage = w.data
    shared = np.array([0.5, -1.0])
    w.grad = shared
    SGD([w], lr=2.0).step()
    assert w.data is storage
    np.testing.assert_array_equal(w.data, [0.0, 4.0])
    np.testing.assert_array_equal(shared, [0.5, -1.0])
    assert w.grad is shared


def test_sgd_on_a_real_backward_pass() -> None:
    w = Value(np.array([[1.0, -2.0]]))
    x = np.array([[3.0], [4.0]])
    loss = (w @ x).sum() ** 2           # (3 - 8)^2 = 25, dE/dw = 2 * (-5) * x^T = [-30, -40]
    loss.backward()
    np.testing.assert_allclose(w.grad, [[-30.0, -40.0]])
    SGD([w], lr=0.01).step()
    np.testing.assert_allclose(w.data, [[1.3, -1.6]])


def test_sgd_momentum_matches_numpy_reference() -> None:
    params = _params()
    ref = [np.array(p.data, dtype=float, copy=True) for p in params]
    vel = [np.zeros_like(r) for r in ref]
    opt = SGD(params, lr=0.05, momentum=0.9)
    for step in range(4):
        grads = _set_grads(params, 10 + step)
        opt.step()
        for i, g in enumerate(grads):
            vel[i] = 0.9 * vel[i] + g if step else np.array(g, dtype=float)
            ref[i] = ref[i] - 0.05 * vel[i]
            np.testing.assert_allclose(params[i].data, ref[i], rtol=1e-13, atol=1e-15)


def test_sgd_weight_decay_adds_lambda_w() -> None:
    w = Value(np.array([2.0, -4.0]))
    w.grad = np.array([1.0, 1.0])
    SGD([w], lr=0.1, weight_decay=0.5).step()
    np.testing.assert_allclose(w.data, [2.0 - 0.1 * (1 + 1.0), -4.0 - 0.1 * (1 - 2.0)])


def test_adam_matches_numpy_reference() -> None:
    params = _params(3)
    ref = [np.array(p.data, dtype=float, copy=True) for p in params]
    m = [np.zeros_like(r) for r in ref]
    v = [np.zeros_like(r) for r in ref]
    lr, b1, b2, eps = 0.01, 0.8, 0.99, 1e-6
    opt = Adam(params, lr=lr, betas=(b1, b2), eps=eps)
    for t in range(1, 5):
        grads = _set_grads(params, 20 + t)
        opt.step()
        for i, g in enumerate(grads):
            m[i] = b1 * m[i] + (1 - b1) * np.asarray(g)
            v[i] = b2 * v[i] + (1 - b2) * np.asarray(g) ** 2
            mh, vh = m[i] / (1 - b1 ** t), v[i] / (1 - b2 ** t)
            ref[i] = ref[i] - lr * mh / (np.sqrt(vh) + eps)
            np.testing.assert_allclose(params[i].data, ref[i], rtol=1e-12, atol=1e-14)


def test_adam_first_step_moves_each_weight_by_about_lr() -> None:
    w = Value(np.array([1.0, 1.0, 1.0]))
    w.grad = np.array([1e-3, -5.0, 200.0])
    Adam([w], lr=0.1).step()
    np.testing.assert_allclose(w.data, [0.9, 1.1, 0.9], rtol=1e-5)


def test_params_without_grad_are_skipped_and_keep_their_adam_clock() -> None:
    a, b = Value(np.array([1.0])), Value(np.array([1.0]))
    opt = Adam([a, b], lr=0.1)
    a.grad = np.array([1.0])
    opt.step()                         # b has no grad: untouched
    np.testing.assert_array_equal(b.data, [1.0])
    b.grad = np.array([1.0])
    a.grad = None
    opt.step()                         # b's first step is bias-corrected as t = 1
    np.testing.assert_allclose(b.data, [0.9])
    np.testing.assert_allclose(a.data, [0.9])
    assert opt.t == {0: 1, 1: 1}


def test_zero_grad_resets_every_param() -> None:
    params = _params()
    _set_grads(params, 0)
    opt = SGD(params, lr=0.1)
    opt.zero_grad()
    assert all(p.grad is None for p in params)
    opt.step()  # nothing to do
    assert opt.steps == 1


def test_duplicate_params_are_updated_once() -> None:
    w = Value(np.array([1.0]))
    w.grad = np.array([1.0])
    opt = SGD([w, w], lr=0.5)
    assert len(opt.params) == 1
    opt.step()
    np.testing.assert_array_equal(w.data, [0.5])


def test_float32_params_stay_float32() -> None:
    w = Value(np.ones(3, dtype=np.float32))
    w.grad = np.full(3, 0.25, dtype=np.float32)
    Adam([w], lr=0.1).step()
    assert w.data.dtype == np.float32


@pytest.mark.parametrize("lr", [-0.1, math.nan, math.inf, -math.inf])
def test_bad_learning_rate(lr: float) -> None:
    with pytest.raises(ValueError, match=r"SGD: lr must be a finite number >= 0, got"):
        SGD(_params(), lr=lr)
    with pytest.raises(ValueError, match=r"Adam: lr must be a finite number >= 0"):
        Adam(_params(), lr=lr)


def test_lr_must_be_a_number() -> None:
    with pytest.raises(TypeError, match=r"SGD: lr must be a real number, got str '0.1'"):
        SGD(_params(), lr="0.1")  # type: ignore[arg-type]


def test_empty_parameter_list() -> None:
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Adam: got an empty parameter list"):
        Adam(iter([]))


def test_non_value_params() -> None:
    with pytest.raises(TypeError, match=r"SGD: params\[1\] must be a Value, got ndarray"):
        SGD([Value(1.0), np.zeros(2)], lr=0.1)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="got a single Value; wrap it in a list"):
        SGD(Value(1.0), lr=0.1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="SGD: params must be an iterable of Values"):
        SGD(3, lr=0.1)  # type: ignore[arg-type]
    x = Value(2.0)
    with pytest.raises(ValueError, match=r"params\[0\] is computed by an op"):
        SGD([x * 2], lr=0.1)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"momentum": 1.0}, r"SGD: momentum must be a finite number >= 0 and < 1, got 1.0"),
    ({"momentum": -0.5}, "SGD: momentum must be"),
    ({"weight_decay": -1.0}, "SGD: weight_decay must be a finite number >= 0"),
])
def test_bad_sgd_options(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SGD(_params(), lr=0.1, **kwargs)


def test_bad_adam_options() -> None:
    with pytest.raises(ValueError, match=r"Adam: betas\[1\] must be a finite number >= 0 and < 1"):
        Adam(_params(), betas=(0.9, 1.0))
    with pytest.raises(TypeError, match="Adam: betas must be a pair"):
        Adam(_params(), betas=0.9)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Adam: eps must be a finite number > 0"):
        Adam(_params(), eps=0.0)


def test_gradient_shape_mismatch_leaves_every_param_unchanged() -> None:
    params = _params()
    before = [np.array(p.data, copy=True) for p in params]
    _set_grads(params, 2)
    params[1].grad = np.zeros(5)
    with pytest.raises(ValueError, match=r"SGD.step: parameter 1 has shape \(4,\) but its "
                                         r"gradient has shape \(5,\)"):
        SGD(params, lr=0.1).step()
    for p, w in zip(params, before):
        np.testing.assert_array_equal(p.data, w)


def test_repr() -> None:
    assert repr(SGD(_params(), lr=0.1)) == "SGD(3 params, lr=0.1, momentum=0, weight_decay=0)"
    assert repr(Adam(_params())).startswith("Adam(3 params, lr=0.001")

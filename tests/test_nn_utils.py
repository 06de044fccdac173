"""Gradient clipping: the norms, the scaling, new arrays (never in place), checks before changes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_nn import Value
from tinygrad_nn.nn.utils import clip_grad_norm_, clip_grad_value_


def _params() -> list[Value]:
    a, b, c = Value(np.zeros(2)), Value(np.zeros((2, 2))), Value(0.0)
    a.grad = np.array([3.0, 0.0])
    b.grad = np.array([[0.0, 4.0], [0.0, 0.0]])
    c.grad = 12.0
    return [a, b, c]


def test_clip_grad_norm_scales_every_gradient_by_one_factor() -> None:
    params = _params()
    shared = params[0].grad
    total = clip_grad_norm_(params, max_norm=6.5)
    assert total == 13.0                           # √(3² + 4² + 12²)
    k = 6.5 / (13.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad, [3.0 * k, 0.0], rtol=1e-15)
    np.testing.assert_allclose(params[1].grad, [[0.0, 4.0 * k], [0.0, 0.0]], rtol=1e-15)
    assert params[2].grad == pytest.approx(12.0 * k, rel=1e-15)
    np.testing.assert_array_equal(shared, [3.0, 0.0])   # the old array is not written into


@pytest.mark.parametrize(("norm_type", "want"), [(1.0, 19.0), (math.inf, 12.0), (3, 12.5)])
def test_other_norms(norm_type: float, want: float) -> None:
    params = _params()
    total = clip_grad_norm_(params, max_norm=100.0, norm_type=norm_type)
    want = want if norm_type != 3 else (27 + 64 + 1728) ** (1 / 3)
    assert total == pytest.approx(want, rel=1e-14)
    np.testing.assert_array_equal(params[0].grad, [3.0, 0.0])      # under the limit: kept


def test_parameters_without_gradients_are_skipped() -> None:
    w = Value(np.ones(3))
    assert clip_grad_norm_([w], 1.0) == 0.0
    assert w.grad is None
    v = Value(np.ones(2))
    v.grad = np.array([0.0, 2.0])
    assert clip_grad_norm_(v, 1.0) == 2.0         # a single Value is accepted, as in PyTorch


def test_error_if_nonfinite() -> None:
    w = Value(np.ones(2))
    w.grad = np.array([np.inf, 1.0])
    with pytest.raises(ValueError, match=r"^clip_grad_norm_: the total norm of the gradients "
                                         r"is inf"):
        clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(w.grad, [np.inf, 1.0])


def test_clip_grad_value_clamps_each_entry() -> None:
    params = _params()
    clip_grad_value_(params, 3.5)
    np.testing.assert_array_equal(params[0].grad, [3.0, 0.0])
    np.testing.assert_array_equal(params[1].grad, [[0.0, 3.5], [0.0, 0.0]])
    assert params[2].grad == 3.5


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda p: clip_grad_norm_(p, -1.0), ValueError,
     r"^clip_grad_norm_: max_norm must be a finite number >= 0, got -1.0"),
    (lambda p: clip_grad_norm_(p, 1.0, norm_type=0), ValueError,
     r"^clip_grad_norm_: norm_type must be a finite number > 0, got 0"),
    (lambda p: clip_grad_norm_(p, "1"), TypeError,
     r"^clip_grad_norm_: max_norm must be a real number, got str '1'"),
    (lambda p: clip_grad_value_(p, float("nan")), ValueError,
     r"^clip_grad_value_: clip_value must be a finite number >= 0, got nan"),
    (lambda p: clip_grad_norm_(3, 1.0), TypeError,
     r"^clip_grad_norm_: parameters must be a Value or an iterable of Values"),
    (lambda p: clip_grad_value_([*p, np.ones(2)], 1.0), TypeError,
     r"^clip_grad_value_: parameters\[3\] must be a Value, got ndarray"),
])
def test_bad_arguments(call: object, error: type[Exception], message: str) -> None:
    params = _params()
    with pytest.raises(error, match=message):
        call(params)  # type: ignore[operator]
    np.testing.assert_array_equal(params[1].grad, [[0.0, 4.0], [0.0, 0.0]])


@pytest.mark.parametrize("clip", [lambda p: clip_grad_norm_(p, 1.0),
                                  lambda p: clip_grad_value_(p, 1.0)], ids=["norm", "value"])
def test_a_bad_later_gradient_leaves_every_gradient_as_it_was(clip: object) -> None:
    params = _params()
    params[2].grad = np.array(["a"])
    with pytest.raises(TypeError, match=r"the gradient of parameter 2 must hold real numbers"):
        clip(params)  # type: ignore[operator]
    np.testing.assert_array_equal(params[0].grad, [3.0, 0.0])
    np.testing.assert_array_equal(params[1].grad, [[0.0, 4.0], [0.0, 0.0]])

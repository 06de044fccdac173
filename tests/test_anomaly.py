"""detect_anomaly and numerically stable formulations at extreme inputs.

``detect_anomaly()`` turns the first NaN/inf produced by a forward or backward rule into a
``FloatingPointError`` that names the op and the line of user code that created it, and keeps
NumPy's RuntimeWarnings quiet meanwhile.  The stable ops (sigmoid, tanh, softplus, log_softmax,
cross-entropy) stay finite, with finite gradients, at ±1000 — pytest turns any RuntimeWarning
into an error, so "no warnings" is checked everywhere in this file.
"""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import Value, nn


def here() -> int:
    """The line number of the caller's next line."""
    frame = inspect.currentframe()
    assert frame is not None and frame.f_back is not None
    return frame.f_back.f_lineno + 1


def where(line: int) -> str:
    return rf"tests[/\\]test_anomaly\.py:{line} in "


# -- forward anomalies ---------------------------------------------------------------------------


@pytest.mark.parametrize("data, kind", [(np.array([1.0, -1.0]), "NaN"),
                                        (np.array([0.0, 2.0]), "inf"),
                                        (-1.0, "NaN"), (0.0, "inf")],
                         ids=["negative-array", "zero-array", "negative-float", "zero-float"])
def test_log_outside_its_domain_names_log_and_the_line(data: object, kind: str) -> None:
    x = Value(data)
    with tn.detect_anomaly(), pytest.raises(FloatingPointError) as info:
        line = here()
        x.log()
    message = str(info.value)
    assert message.startswith(f"detect_anomaly: op 'log' produced {kind} in its forward")
    assert re.search(where(line), message), message
    assert "x.log()" in message                   # the source line itself


def test_division_by_zero_in_forward() -> None:
    with tn.detect_anomaly(), pytest.raises(FloatingPointError,
                                            match=r"op 'div' produced inf in its forward"):
        _ = 1.0 / Value(0.0)


def test_overflowing_exp_in_forward() -> None:
    with tn.detect_anomaly(), pytest.raises(FloatingPointError,
                                            match=r"op 'exp' produced inf in its forward"):
        Value(np.array([1.0, 1000.0])).exp()


def test_nan_input_is_caught_at_the_first_op() -> None:
    x = Value(np.array([1.0, np.nan]))
    with tn.detect_anomaly(), pytest.raises(FloatingPointError,
                                            match=r"op 'mul' produced NaN in its forward"):
        (x * 2.0).sum()


# -- backward-only anomalies ---------------------------------------------------------------------


@pytest.mark.parametrize("data", [0.0, np.array([0.0, 4.0])], ids=["float", "array"])
def test_sqrt_at_zero_fails_in_backward_and_names_where_sqrt_was_made(data: object) -> None:
    x = Value(data)
    with tn.detect_anomaly():
        line = here()
        r = x.sqrt()
        loss = r.sum() * 3.0                       # forward is finite: √0 = 0
        assert np.all(np.isfinite(loss.data))
        with pytest.raises(FloatingPointError) as info:
            loss.backward()
    message = str(info.value)
    assert message.startswith("detect_anomaly: op 'sqrt' produced inf in its backward "
                              "(gradient for input 0)")
    assert re.search(where(line), message), message
    assert "r = x.sqrt()" in message


def test_zero_times_infinite_gradient_is_nan_in_backward() -> None:
    x = Value(np.array([0.0, 1.0]))
    with tn.detect_anomaly(), pytest.raises(FloatingPointError,
                                            match=r"op '\w+' produced (NaN|inf) in its backward"):
        ((x * 0.0).sqrt() + x).sum().backward()


def test_float_sqrt_at_zero_without_anomaly_mode_gives_inf_not_zerodivisionerror() -> None:
    # the scalar rules divide Python floats; 1/(2·√0) must follow IEEE like the array path
    x = Value(0.0)
    x.sqrt().backward()
    assert x.grad == np.inf
    y = Value(0.0)
    y.log().backward()
    assert y.grad == np.inf
    a, b = Value(1.0), Value(0.0)
    (a / b).backward()
    assert a.grad == np.inf and b.grad == -np.inf
    c = Value(0.0)
    (c ** 0.5).backward()
    assert c.grad == np.inf


# -- no false alarms, no leaked warnings, state restored --------------------------------------


def test_finite_graph_passes_and_matches_normal_mode() -> None:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((4, 3))

    def run() -> tuple[float, np.ndarray]:
        x = Value(data.copy())
        loss = (x.tanh() @ x.T).softmax(-1).log().mean() + x.abs().sqrt().sum()
        loss.backward()
        return loss.item(), x.grad

    plain = run()
    with tn.detect_anomaly():
        checked = run()
    assert checked[0] == plain[0]
    np.testing.assert_array_equal(checked[1], plain[1])


def test_no_runtime_warning_leaks_inside_detect_anomaly() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with tn.detect_anomaly(), pytest.raises(FloatingPointError):
            Value(np.array([-1.0])).log()
        with tn.detect_anomaly(), pytest.raises(FloatingPointError):
            Value(np.array([0.0])).sqrt().sum().backward()
    assert [str(w.message) for w in caught] == []


def test_anomaly_mode_is_switched_off_after_the_block_even_on_error() -> None:
    with pytest.raises(FloatingPointError), tn.detect_anomaly():
        Value(-1.0).log()
    assert tn.value.STATE.anomaly is False
    assert np.isnan(Value(-1.0).log().data)       # outside the block: NaN, no error
    with tn.detect_anomaly():
        with tn.detect_anomaly():
            pass
        assert tn.value.STATE.anomaly is True      # nesting restores the outer setting
        with pytest.raises(FloatingPointError):
            Value(-1.0).log()


# -- stable formulations at ±1000 ---------------------------------------------------------------

EXTREMES = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])


@pytest.mark.parametrize("scalar", [False, True], ids=["array", "float"])
@pytest.mark.parametrize("name, value, grad", [
    ("sigmoid", [0.0, np.exp(-50.0), 0.5, 1.0, 1.0],
     [0.0, np.exp(-50.0), 0.25, np.exp(-50.0), 0.0]),
    ("tanh", [-1.0, -1.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.0, 0.0]),
    ("softplus", [0.0, np.exp(-50.0), np.log(2.0), 50.0, 1000.0],
     [0.0, np.exp(-50.0), 0.5, 1.0, 1.0]),
])
def test_stable_activations_at_extremes(name: str, value: list[float], grad: list[float],
                                        scalar: bool) -> None:
    """Exact values; gradients to 1e-20 (φ(1 − φ) at x = 50 rounds 1 − 2e-22 to 0)."""
    with tn.detect_anomaly():
        if scalar:
            for x0, v, g in zip(EXTREMES, value, grad):
                x = Value(float(x0))
                y = getattr(x, name)()
                y.backward()
                assert y.data == pytest.approx(v, rel=1e-12, abs=0)
                assert x.grad == pytest.approx(g, rel=1e-9, abs=1e-20)
        else:
            x = Value(EXTREMES.copy())
            y = getattr(x, name)()
            y.sum().backward()
            np.testing.assert_allclose(y.data, value, rtol=1e-12, atol=0)
            np.testing.assert_allclose(x.grad, grad, rtol=1e-9, atol=1e-20)


def test_log_softmax_at_extremes() -> None:
    with tn.detect_anomaly():
        x = Value(np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]]))
        y = x.log_softmax(-1)
        np.testing.assert_allclose(y.data, [[0.0, -2000.0, -1000.0], [-np.log(3)] * 3],
                                   rtol=1e-12)
        (y * np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.0, 0.0], [-1 / 3, 2 / 3, -1 / 3]], atol=1e-12)


def test_softmax_at_extremes() -> None:
    with tn.detect_anomaly():
        x = Value(np.array([1000.0, -1000.0, 1000.0]))
        s = x.softmax()
        np.testing.assert_allclose(s.data, [0.5, 0.0, 0.5])
        (s * np.array([1.0, 2.0, 3.0])).sum().backward()
    np.testing.assert_allclose(x.grad, [-0.5, 0.0, 0.5])


def test_cross_entropy_loss_at_extremes() -> None:
    logits = Value(np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [1000.0, 1000.0]]))
    with tn.detect_anomaly():
        loss = nn.CrossEntropyLoss()(logits, np.array([0, 0, 1]))
        loss.backward()
    # per sample: 0, 2000, log 2
    assert loss.item() == pytest.approx((0.0 + 2000.0 + np.log(2.0)) / 3, rel=1e-12)
    np.testing.assert_allclose(logits.grad, [[0.0, 0.0], [-1 / 3, 1 / 3], [1 / 6, -1 / 6]],
                               atol=1e-12)


def test_mse_loss_of_saturated_sigmoid_outputs() -> None:
    x = Value(np.array([[1000.0, -1000.0]]))
    with tn.detect_anomaly():
        loss = nn.MSELoss()(x.sigmoid(), np.array([[0.0, 1.0]]))
        loss.backward()
    assert loss.item() == 1.0
    np.testing.assert_array_equal(x.grad, [[0.0, 0.0]])   # saturated: φ' = 0, finite

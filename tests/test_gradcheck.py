"""Tests for tinygrad_nn.gradcheck: numeric_grad, gradcheck and its error report, check_grads."""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tinygrad_nn import GradcheckError, Value, check_grads, gradcheck, numeric_grad, ops


def wrong_square(x: Value) -> Value:
    """x·detach(x): the value is x², but the engine sees one factor, so its gradient is x not 2x."""
    return (x * x.detach()).sum()


# -- numeric_grad ------------------------------------------------------------------------------


def test_numeric_grad_of_known_functions() -> None:
    x = Value(np.array([[0.5, -1.0], [2.0, 0.25]]))
    y = Value(1.5)
    gx, gy = numeric_grad(lambda a, b: (a * a * b).sum() + b.exp(), [x, y])
    np.testing.assert_allclose(gx, 2 * x.data * 1.5, rtol=1e-8)
    assert type(gy) is float
    assert gy == pytest.approx(np.sum(x.data ** 2) + np.exp(1.5), rel=1e-8)
    assert gx.shape == (2, 2) and gx.dtype == np.float64


def test_numeric_grad_restores_data_exactly_and_records_nothing() -> None:
    data = np.array([0.1, 0.2, 0.3])
    x = Value(data.copy())
    s = Value(0.7)
    numeric_grad(lambda a, b: (a.exp() * b).sum(), [x, s])
    np.testing.assert_array_equal(x.data, data)
    assert s.data == 0.7
    assert x.grad is None and s.grad is None


def test_numeric_grad_restores_data_when_fn_raises() -> None:
    x = Value(np.array([1.0, 2.0]))
    calls = []

    def boom(a: Value) -> Value:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return a.sum()

    with pytest.raises(RuntimeError, match="boom"):
        numeric_grad(boom, [x])
    np.testing.assert_array_equal(x.data, [1.0, 2.0])


def test_numeric_grad_accepts_a_single_value() -> None:
    x = Value(np.array([1.0, 3.0]))
    (g,) = numeric_grad(lambda a: (a * a).sum(), x)
    np.testing.assert_allclose(g, [2.0, 6.0], rtol=1e-8)


def test_numeric_grad_eps_controls_the_step() -> None:
    x = Value(1.0)
    (g,) = numeric_grad(lambda a: a ** 3, [x], eps=0.1)
    assert g == pytest.approx(3.0 + 0.1 ** 2)          # central difference of x³: 3x² + ε²


# -- gradcheck passes and fails ------------------------------------------------------------------


def test_gradcheck_passes_on_a_correct_gradient() -> None:
    rng = np.random.default_rng(0)
    x = Value(rng.standard_normal((3, 4)))
    w = Value(rng.standard_normal((4, 2)))
    assert gradcheck(lambda a, b: (a @ b).tanh().sum(), [x, w]) is True


def test_gradcheck_catches_a_wrong_gradient_and_lists_the_entries() -> None:
    x = Value(np.array([1.0, -2.0, 3.0]), name="x")
    with pytest.raises(GradcheckError) as info:
        gradcheck(wrong_square, [x])
    message = str(info.value)
    assert isinstance(info.value, AssertionError)
    assert message.startswith("gradcheck: 3 entries differ (atol=1e-05, rtol=0.001)")
    assert re.search(r"input\s+index\s+analytic\s+numeric\s+error", message)
    rows = message.splitlines()[2:]
    assert len(rows) == 3
    # worst first: the error |x − 2x| = |x| is largest at index 2
    assert re.match(r"\s+x\s+\(2,\)\s+3\s+6\s+3\b", rows[0])
    assert re.match(r"\s+x\s+\(1,\)\s+-2\s+-4\s+2\b", rows[1])
    assert re.match(r"\s+x\s+\(0,\)\s+1\s+2\s+1\b", rows[2])


def test_gradcheck_error_names_unnamed_inputs_by_position_and_truncates() -> None:
    a = Value(1.0, requires_grad=False)
    b = Value(np.arange(1.0, 13.0))
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda c, d: wrong_square(d) * c, [a, b])
    message = str(info.value)
    assert "12 entries differ" in message
    assert "inputs[1]" in message and "inputs[0]" not in message
    assert message.rstrip().endswith("... and 2 more")


def test_gradcheck_scalar_input() -> None:
    x = Value(0.3)
    assert gradcheck(lambda a: a.sigmoid() * a.exp(), [x])
    with pytest.raises(GradcheckError, match=r"1 entry differ"):
        gradcheck(lambda a: a * a.detach(), [x])


def test_gradcheck_skips_inputs_that_do_not_require_grad() -> None:
    const = Value(np.array([1.0, 2.0]), requires_grad=False)
    x = Value(np.array([0.5, 0.5]))
    # the wrong factor sits on the constant only: nothing checked is wrong
    assert gradcheck(lambda c, a: (c * c.detach() * a).sum(), [const, x])


def test_gradcheck_tolerances() -> None:
    x = Value(np.array([1.0, 2.0]))
    # the value is x² but the engine is told the derivative is 2.0002·x: 1e-4 relative error
    scaled = lambda a: (a * a.detach() * 2.0002 - a.detach() * a.detach() * 1.0002).sum()
    with pytest.raises(GradcheckError, match="2 entries differ"):
        gradcheck(scaled, [x], rtol=1e-6, atol=1e-9)
    assert gradcheck(scaled, [x], rtol=1e-3)
    assert gradcheck(scaled, [x], rtol=0.0, atol=1e-3)


def test_gradcheck_reports_a_nan_gradient() -> None:
    x = Value(np.array([0.5, 1.0]))

    def fn(a: Value) -> Value:
        # the value is a₀ + a₁, but the engine also differentiates √(0·a₀): 0 · 1/(2√0) = nan
        return a.sum() + (a[0:1] * 0.0).sqrt().sum()

    with np.errstate(divide="ignore", invalid="ignore"), pytest.raises(GradcheckError) as info:
        gradcheck(fn, [x])
    assert "1 entry differ" in str(info.value)
    assert re.search(r"inputs\[0\]\s+\(0,\)\s+nan\s+1\s+nan", str(info.value))


# -- fast mode ---------------------------------------------------------------------------------


def test_fast_mode_passes_and_catches() -> None:
    rng = np.random.default_rng(1)
    x = Value(rng.standard_normal((20, 30)))
    assert gradcheck(lambda a: (a.tanh() * a).sum(), [x], fast=True)
    with pytest.raises(GradcheckError) as info:
        gradcheck(wrong_square, [x], fast=True, directions=3)
    message = str(info.value)
    assert "3 entries differ" in message
    assert message.count("direction") == 3


def test_fast_mode_is_deterministic_for_a_seed() -> None:
    x = Value(np.linspace(-1, 1, 6))
    messages = []
    for _ in range(2):
        with pytest.raises(GradcheckError) as info:
            gradcheck(wrong_square, [x], fast=True, seed=5)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_fast_mode_with_scalar_and_constant_inputs() -> None:
    s = Value(0.4)
    c = Value(np.ones(3), requires_grad=False)
    x = Value(np.array([0.1, 0.2, 0.3]))
    assert gradcheck(lambda a, b, d: (a * b * d.exp()).sum(), [s, c, x], fast=True)


# -- warnings, restoration and argument errors ---------------------------------------------------


def test_float32_inputs_warn() -> None:
    x = Value(np.array([1.0, 2.0], dtype=np.float32))
    with pytest.warns(UserWarning, match=r"gradcheck: inputs\[0\] is float32; finite differences"):
        gradcheck(lambda a: (a * a).sum(), [x], eps=1e-2, atol=1e-2, rtol=1e-2)


def test_float64_inputs_do_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gradcheck(lambda a: (a * a).sum(), [Value(np.array([1.0, 2.0]))])


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("passes", [True, False])
def test_gradcheck_restores_data_and_grads(fast: bool, passes: bool) -> None:
    x = Value(np.array([0.5, -1.5, 2.0]))
    s = Value(0.25)
    old_grad = np.array([9.0, 9.0, 9.0])
    x.grad = old_grad
    data, sdata = x.data.copy(), s.data
    fn = (lambda a, b: (a * a * b).sum()) if passes else (lambda a, b: wrong_square(a) * b)
    if passes:
        assert gradcheck(fn, [x, s], fast=fast)
    else:
        with pytest.raises(GradcheckError):
            gradcheck(fn, [x, s], fast=fast)
    np.testing.assert_array_equal(x.data, data)
    assert s.data == sdata
    assert x.grad is old_grad
    assert s.grad is None


BAD_ARGS: list[tuple[str, Any, Any, dict[str, Any], type[Exception], str]] = [
    ("fn-not-callable", 3, [Value(1.0)], {}, TypeError, r"gradcheck: fn must be callable, got int"),
    ("inputs-empty", lambda a: a, [], {}, TypeError, r"gradcheck: inputs must be a non-empty"),
    ("input-not-value", lambda a: a, [np.ones(2)], {}, TypeError,
     r"gradcheck: inputs\[0\] must be a Value, got ndarray"),
    ("eps-zero", lambda a: a, [Value(1.0)], {"eps": 0.0}, ValueError,
     r"gradcheck: eps must be a finite number > 0, got 0.0"),
    ("eps-string", lambda a: a, [Value(1.0)], {"eps": "a"}, TypeError,
     r"gradcheck: eps must be a real number, got str 'a'"),
    ("eps-nan", lambda a: a, [Value(1.0)], {"eps": float("nan")}, ValueError,
     r"gradcheck: eps must be a finite number > 0, got nan"),
    ("atol-negative", lambda a: a, [Value(1.0)], {"atol": -1e-5}, ValueError,
     r"gradcheck: atol must be a finite number >= 0, got -1e-05"),
    ("rtol-none", lambda a: a, [Value(1.0)], {"rtol": None}, TypeError,
     r"gradcheck: rtol must be a real number, got NoneType None"),
    ("no-directions", lambda a: a, [Value(1.0)], {"fast": True, "directions": 0}, ValueError,
     r"gradcheck: directions must be a positive integer, got 0"),
    ("directions-float", lambda a: a, [Value(1.0)], {"fast": True, "directions": 2.5}, TypeError,
     r"gradcheck: directions must be a positive integer, got 2.5"),
    ("nothing-requires-grad", lambda a: a * 2.0, [Value(1.0, requires_grad=False)], {},
     ValueError, r"gradcheck: no input requires grad"),
    ("non-scalar-output", lambda a: a * 2.0, [Value(np.ones(3))], {}, ValueError,
     r"gradcheck: fn must return a scalar Value, got shape \(3,\)"),
    ("output-not-value", lambda a: 3.0, [Value(1.0)], {}, TypeError,
     r"gradcheck: fn must return a Value, got float"),
]


@pytest.mark.parametrize("fn, inputs, kwargs, exc, pattern",
                         [case[1:] for case in BAD_ARGS], ids=[case[0] for case in BAD_ARGS])
def test_gradcheck_argument_errors(fn: Any, inputs: Any, kwargs: dict[str, Any],
                                   exc: type[Exception], pattern: str) -> None:
    with pytest.raises(exc, match=pattern):
        gradcheck(fn, inputs, **kwargs)


# -- check_grads: every order, both modes --------------------------------------------------------


def test_check_grads_passes_on_correct_derivatives() -> None:
    W = np.array([[0.5, -1.0], [2.0, 0.25], [0.1, 0.3]])
    assert check_grads(lambda W, x: (W @ x).sigmoid(), (W, np.array([1.0, -2.0])), order=2)
    assert check_grads(lambda s: (s.tanh(), s * s * s), (0.7,), order=3)   # tuple out, float in
    assert check_grads(lambda x: x.softmax(-1).log(), [np.array([0.2, -0.5, 1.1])], order=2,
                       modes="fwd")


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_check_grads_catches_a_wrong_first_derivative(mode: str) -> None:
    x = np.array([1.0, -2.0, 3.0])
    with pytest.raises(GradcheckError) as info:
        check_grads(lambda v: v * v.detach(), (x,), order=1, modes=(mode,))
    message = str(info.value)
    assert message.startswith(f"check_grads: order 1, mode {mode}")
    if mode == "fwd":                          # J·v entry by entry: v·x against v·2x
        assert "in 3 of 3 entries" in message
        rows = [line.split() for line in message.splitlines()[2:]]
        errors = [float(r[-1]) for r in rows]
        assert errors == sorted(errors, reverse=True)          # worst first
        for r in rows:
            assert float(r[-2]) == pytest.approx(2 * float(r[-3]), rel=1e-5)   # 6 digits
    else:                                      # one number: ⟨uᵀJ, v⟩ against ⟨u, J v⟩
        assert "in 1 of 1 entry" in message and "⟨u, J v⟩" in message


def test_check_grads_finds_a_rule_that_is_only_wrong_when_differentiated(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A JVP for tanh that takes tanh(x) as a constant: J·v is right (order 1 passes), but the
    tangent of the tangent is wrong, so order 2 fails in forward mode, naming jvp(f); reverse
    over reverse never uses the JVP column, so modes=("rev",) passes."""
    wrong = (lambda t, ans, x: t * (1.0 - ops.data(ans) * ops.data(ans)),)
    monkeypatch.setattr(ops.TANH, "jvps", wrong)
    f, args = (lambda v: v.tanh()), (np.array([0.3, -0.8]),)
    assert check_grads(f, args, order=1)
    with pytest.raises(GradcheckError, match=r"check_grads: order 2, mode fwd "
                                             r"\(J·v by tn.jvp\(jvp\(f\)\)\)"):
        check_grads(f, args, order=2)
    assert check_grads(f, args, order=2, modes=("rev",))


def test_check_grads_is_deterministic_for_a_seed() -> None:
    messages = []
    for _ in range(2):
        with pytest.raises(GradcheckError) as info:
            check_grads(lambda v: (v * v.detach()).sum(), (np.array([1.0, 2.0]),), order=1,
                        modes="rev", seed=3)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


def test_check_grads_warns_for_float32() -> None:
    with pytest.warns(UserWarning, match=r"check_grads: args\[0\] is float32"):
        check_grads(lambda v: v * 2.0, (np.ones(2, dtype=np.float32),), order=1, atol=1e-2)


@pytest.mark.parametrize(("kwargs", "exc", "pattern"), [
    ({"f": "f"}, TypeError, "check_grads: f must be a function, got str"),
    ({"args": np.ones(2)}, TypeError, "check_grads: args must be a non-empty tuple or list"),
    ({"args": ()}, TypeError, "check_grads: args must be a non-empty tuple or list"),
    ({"args": ("x",)}, TypeError, r"check_grads: args\[0\]: expected a number"),
    ({"order": 0}, ValueError, "check_grads: order must be a positive integer, got 0"),
    ({"order": 1.5}, TypeError, "check_grads: order must be a positive integer, got 1.5"),
    ({"modes": ("sideways",)}, ValueError, "check_grads: modes must name some of"),
    ({"modes": ()}, ValueError, "check_grads: modes must name some of"),
    ({"eps": 0.0}, ValueError, "check_grads: eps must be a finite number > 0, got 0.0"),
    ({"eps": "a"}, TypeError, "check_grads: eps must be a real number, got str 'a'"),
    ({"atol": -1.0}, ValueError, "check_grads: atol must be a finite number >= 0, got -1.0"),
])
def test_check_grads_argument_errors(kwargs: dict[str, Any], exc: type[Exception],
                                     pattern: str) -> None:
    call = {"f": lambda v: v * 2.0, "args": (np.ones(2),)} | kwargs
    with pytest.raises(exc, match=pattern):
        check_grads(**call)


def test_fast_gradcheck_with_no_directions_is_refused_not_passed() -> None:
    """directions=0 used to return True having compared nothing (issue 23, #6)."""
    def wrong(a: Value) -> Value:
        return (a * a).sum() + a.detach().sum()       # misses ∂/∂a of the second term
    x = Value(np.array([1.0, 2.0]))
    with pytest.raises(GradcheckError):
        gradcheck(wrong, [x], fast=True, directions=1)
    with pytest.raises(ValueError, match="directions must be a positive integer, got 0"):
        gradcheck(wrong, [x], fast=True, directions=0)


def test_numeric_grad_refuses_a_bad_eps() -> None:
    bad: Any = "a"
    with pytest.raises(TypeError, match="numeric_grad: eps must be a real number, got str 'a'"):
        numeric_grad(lambda a: a * 2.0, [Value(1.0)], eps=bad)


# -- the docs name real tests --------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("doc", ["docs/reliability.md", "docs/gradcheck.md"])
def test_docs_name_only_existing_tests(doc: str) -> None:
    """Every ``tests/file.py::test_name`` cited as proof in the docs is a real test function."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    refs = set(re.findall(r"(tests/[\w/]+\.py)::(\w+)", text))
    if doc.endswith("reliability.md"):
        assert len(refs) > 30
    missing = []
    for file, name in sorted(refs):
        path = ROOT / file
        defined = set()
        if path.exists():
            tree = ast.parse(path.read_text(encoding="utf-8"))
            defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        if name not in defined:
            missing.append(f"{file}::{name}")
    assert not missing, f"{doc} cites tests that do not exist: {missing}"


@pytest.mark.parametrize("fast", [False, True])
def test_a_graph_recorded_before_a_check_can_still_be_backpropagated(fast: bool) -> None:
    """The check perturbs the inputs and gives them back with their version stamps, so backward
    does not take the restored data for an assignment made after the forward pass."""
    a, w = Value(0.7), Value(np.array([[0.5, -1.0], [2.0, 0.25]]))

    def f(a: Value, w: Value) -> Value:
        return ((w * a).tanh() ** 2).sum()

    loss = f(a, w)
    gradcheck(f, [a, w], fast=fast, directions=3)
    numeric_grad(f, [a, w])
    loss.backward()
    assert a.grad == pytest.approx(numeric_grad(f, [a, w])[0], rel=1e-6)
    np.testing.assert_allclose(w.grad, numeric_grad(f, [a, w])[1], rtol=1e-6)


def test_the_inputs_are_restored_when_fn_raises_midway() -> None:
    a, w = Value(0.5), Value(np.array([1.0, 2.0]))
    calls = []

    def f(a: Value, w: Value) -> Value:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return (w * a).sum()

    before = w.data
    with pytest.raises(RuntimeError, match="boom"):
        numeric_grad(f, [a, w])
    assert a.data == 0.5 and w.data is before
    np.testing.assert_array_equal(w.data, [1.0, 2.0])

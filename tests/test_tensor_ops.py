"""The ops added for tensors and layers: concatenate, stack, where, minimum/maximum, clip, min,
argmax, flatten, squeeze/unsqueeze, logsumexp, var/std, pad, unfold/fold, conv2d and pooling.

``tests/test_ops.py`` runs every op of the table against NumPy and finite differences at the
broadcast pairs; here each new rule's JVP is checked on its own (central differences of the
forward map, without the engine), the results and gradients are compared with PyTorch (float64,
within 1e-10), second derivatives go through the rules run on Values, and bad input gets an
error that names the function and what it was given.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import Value, ops
from tinygrad_nn import functional as F


def normal(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape)


# ----------------------------------------------------------------------------------------------
# JVPs: each rule against central differences of the op's own forward map
# ----------------------------------------------------------------------------------------------

IMAGES = normal(2, 3, 5, 6, seed=1)
KERNELS = normal(4, 3, 3, 2, seed=2)
WINDOW = ((3, 2), (2, 1), (1, 0))                  # kernel, stride, padding
COLS_SHAPE = ops.UNFOLD.forward(IMAGES, *WINDOW).shape

JVP_CASES: dict[str, tuple[ops.Op, list[Any], tuple[Any, ...]]] = {
    "concatenate": (ops.CONCATENATE, [normal(2, 3), normal(4, 3, seed=1), normal(1, 3, seed=2)],
                    (0,)),
    "concatenate-axis-1": (ops.CONCATENATE, [normal(3, 1), normal(3, 4, seed=1)], (1,)),
    "stack": (ops.STACK, [normal(3), normal(3, seed=1), normal(3, seed=2)], (1,)),
    "stack-floats": (ops.STACK, [0.5, -1.5], (0,)),
    "where": (ops.WHERE, [normal(4), normal(3, 1, seed=1)], (np.array([True, False, True, True]),)),
    "where-floats": (ops.WHERE, [0.5, -1.5], (False,)),
    "maximum": (ops.MAXIMUM, [normal(3, 1), normal(4, seed=1)], ()),
    "maximum-floats": (ops.MAXIMUM, [0.5, -1.5], ()),
    "minimum": (ops.MINIMUM, [normal(4), normal(3, 4, seed=1)], ()),
    "clip": (ops.CLIP, [normal(3, 4)], (-0.5, 1.0)),
    "clip-above": (ops.CLIP, [normal(3, 4)], (None, 0.2)),
    "min": (ops.MIN, [normal(3, 4)], ((1,), False)),
    "min-all": (ops.MIN, [normal(2, 3, 4)], (None, True)),
    "logsumexp": (ops.LOGSUMEXP, [normal(3, 4)], ((0,), True)),
    "logsumexp-all": (ops.LOGSUMEXP, [normal(3, 4)], (None, False)),
    "var": (ops.VAR, [normal(3, 4)], ((1,), 1, False)),
    "var-all": (ops.VAR, [normal(2, 3, 4)], (None, 0, True)),
    "pad": (ops.PAD, [normal(3, 4)], (((1, 0), (2, 3)), 0.5)),
    "unfold": (ops.UNFOLD, [IMAGES], WINDOW),
    "fold": (ops.FOLD, [normal(*COLS_SHAPE)], (IMAGES.shape, *WINDOW)),
    "conv2d": (ops.CONV2D, [IMAGES, KERNELS], ((2, 1), (1, 0))),
}


def jvp_by_differences(op: ops.Op, inputs: list[Any], params: tuple[Any, ...], i: int, t: Any,
                       eps: float = 1e-6) -> np.ndarray:
    """(f(x_i + εt) − f(x_i − εt)) / 2ε, on the forward map alone."""
    plus, minus = list(inputs), list(inputs)
    plus[i], minus[i] = inputs[i] + eps * t, inputs[i] - eps * t
    return (np.asarray(op.forward(*plus, *params)) - np.asarray(op.forward(*minus, *params))) \
        / (2 * eps)


def tangent(x: Any, seed: int) -> Any:
    t = np.random.default_rng(seed).normal(size=np.shape(x))
    return float(t) if type(x) is float else t


@pytest.mark.parametrize("case", JVP_CASES)
def test_jvp_matches_central_differences_of_the_forward_map(case: str) -> None:
    op, inputs, params = JVP_CASES[case]
    ans = op.forward(*inputs, *params)
    for i in range(len(inputs)):
        t = tangent(inputs[i], 100 + i)
        got = op.jvps[i](t, ans, *inputs, *params)
        assert np.shape(got) == np.shape(ans), (case, i)
        np.testing.assert_allclose(got, jvp_by_differences(op, inputs, params, i, t),
                                   rtol=1e-6, atol=1e-8, err_msg=f"{case}, input {i}")


@pytest.mark.parametrize("case", JVP_CASES)
def test_vjp_and_jvp_are_transposes(case: str) -> None:
    """⟨g, J t⟩ = ⟨Jᵀ g, t⟩ for every input: the two columns of the table describe one Jacobian."""
    op, inputs, params = JVP_CASES[case]
    ans = op.forward(*inputs, *params)
    g = tangent(np.asarray(ans), 7) if np.ndim(ans) else 0.7
    for i in range(len(inputs)):
        t = tangent(inputs[i], 200 + i)
        forward = np.vdot(g, op.jvps[i](t, ans, *inputs, *params))
        local = op.vjps[i](g, ans, *inputs, *params)
        if op.broadcasts:
            local = ops.sum_to(local, inputs[i])
        assert np.vdot(local, t) == pytest.approx(forward, rel=1e-12, abs=1e-12), (case, i)


def test_per_input_rules_are_indexed_not_iterated() -> None:
    rule = ops.CONCATENATE.vjps[1]
    g = np.arange(10.0).reshape(5, 2)
    np.testing.assert_array_equal(rule(g, g, np.zeros((2, 2)), np.zeros((3, 2)), 0), g[2:])
    with pytest.raises(TypeError, match="PerInput: _concatenate_vjp serves any number of inputs"):
        list(ops.CONCATENATE.vjps)


# ----------------------------------------------------------------------------------------------
# Against PyTorch: forward values and gradients in float64, within 1e-10
# ----------------------------------------------------------------------------------------------

BROADCAST_SHAPES = [(), (4,), (3, 4), (1, 4), (3, 1)]


def compare_with_torch(torch: Any, ours: Callable[..., Value], theirs: Callable[..., Any],
                       *arrays: Any, tolerance: float = 1e-10) -> None:
    """Same inputs, same output, and the same gradients for a random upstream gradient."""
    values = [Value(a) for a in arrays]
    out = ours(*values)
    tensors = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    expected = theirs(*tensors)
    assert tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_allclose(np.asarray(out.data), expected.detach().numpy(), rtol=0,
                               atol=tolerance)
    seed = np.random.default_rng(3).normal(size=out.shape)
    out.backward(seed)
    expected.backward(torch.from_numpy(np.asarray(seed)))
    for v, t in zip(values, tensors, strict=True):
        np.testing.assert_allclose(np.asarray(v.grad), t.grad.numpy(), rtol=0, atol=tolerance)


@pytest.mark.parametrize("name", ["maximum", "minimum", "where"])
@pytest.mark.parametrize("sa, sb", list(itertools.product(BROADCAST_SHAPES, repeat=2)))
def test_binary_selections_match_torch_at_every_broadcast_pair(name: str, sa: Any, sb: Any,
                                                               torch: Any) -> None:
    a, b = normal(*sa, seed=1), normal(*sb, seed=2)
    cond = np.array([True, False, True, False])
    ours = {"maximum": tn.maximum, "minimum": tn.minimum,
            "where": lambda x, y: tn.where(cond, x, y)}[name]
    theirs = {"maximum": torch.maximum, "minimum": torch.minimum,
              "where": lambda x, y: torch.where(torch.from_numpy(cond), x, y)}[name]
    compare_with_torch(torch, ours, theirs, a, b)


def test_ties_split_the_gradient_in_half_as_torch_does(torch: Any) -> None:
    a = np.array([1.0, 2.0, 3.0, -1.0])
    b = np.array([1.0, 0.0, 3.0, -1.0])
    compare_with_torch(torch, tn.maximum, torch.maximum, a, b)
    compare_with_torch(torch, tn.minimum, torch.minimum, a, b)
    x = Value(a)
    tn.maximum(x, x).sum().backward()             # both arguments are x: ½ + ½
    np.testing.assert_array_equal(x.grad, np.ones(4))


@pytest.mark.parametrize("low, high", [(-0.5, 0.5), (None, 0.0), (0.0, None), (1.0, -1.0)])
def test_clip_matches_torch_clamp_also_at_the_bounds(low: Any, high: Any, torch: Any) -> None:
    x = np.array([[-1.0, -0.5, 0.0, 0.25], [0.5, 1.0, 2.0, -2.0]])    # entries on the bounds
    compare_with_torch(torch, lambda v: v.clip(low, high),
                       lambda t: torch.clamp(t, low, high), x)


REDUCE_AXES = [None, 0, 1, (0, 2), -1]


@pytest.mark.parametrize("axis", REDUCE_AXES)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reductions_match_torch(axis: Any, keepdims: bool, torch: Any) -> None:
    x = normal(2, 3, 4, seed=4)
    dim = tuple(range(3)) if axis is None else axis
    compare_with_torch(torch, lambda v: v.min(axis, keepdims),
                       lambda t: torch.amin(t, dim, keepdims), x)
    compare_with_torch(torch, lambda v: v.logsumexp(axis, keepdims),
                       lambda t: torch.logsumexp(t, dim, keepdims), x)
    for ddof in (0, 1):
        compare_with_torch(torch, lambda v, d=ddof: v.var(axis, d, keepdims),
                           lambda t, d=ddof: torch.var(t, dim, correction=d, keepdim=keepdims), x)
        compare_with_torch(torch, lambda v, d=ddof: v.std(axis, d, keepdims),
                           lambda t, d=ddof: torch.std(t, dim, correction=d, keepdim=keepdims), x)


def test_min_ties_share_the_gradient_as_torch_amin(torch: Any) -> None:
    x = np.array([[1.0, -2.0, -2.0], [0.5, 0.5, 0.5]])
    compare_with_torch(torch, lambda v: v.min(axis=1), lambda t: torch.amin(t, 1), x)


def test_logsumexp_is_stable_and_handles_infinite_rows(torch: Any) -> None:
    x = np.array([[1000.0, 1000.5, -3.0], [-1000.0, -1001.0, -999.0]])
    compare_with_torch(torch, lambda v: v.logsumexp(axis=1), lambda t: torch.logsumexp(t, 1), x)
    inf = Value(np.array([[-np.inf, -np.inf], [np.inf, 0.0]])).logsumexp(axis=1).data
    np.testing.assert_array_equal(inf, [-np.inf, np.inf])


def test_argmax_matches_torch_and_has_no_gradient(torch: Any) -> None:
    x = normal(3, 4, seed=5)
    v = Value(x)
    assert int(v.argmax()) == int(torch.argmax(torch.from_numpy(x)))
    np.testing.assert_array_equal(v.argmax(axis=1), torch.argmax(torch.from_numpy(x), 1).numpy())
    assert v.argmax(axis=0, keepdims=True).shape == (1, 4)
    assert isinstance(v.argmax(axis=0), np.ndarray) and v.argmax(axis=0).dtype.kind == "i"


@pytest.mark.parametrize("start, end", [(0, -1), (1, -1), (1, 2), (0, 0), (-2, -1)])
def test_flatten_matches_torch(start: int, end: int, torch: Any) -> None:
    compare_with_torch(torch, lambda v: v.flatten(start, end),
                       lambda t: torch.flatten(t, start, end), normal(2, 3, 4, seed=6))


def test_squeeze_and_unsqueeze_match_torch(torch: Any) -> None:
    x = normal(1, 3, 1, 4, seed=7)
    compare_with_torch(torch, lambda v: v.squeeze(), lambda t: torch.squeeze(t), x)
    compare_with_torch(torch, lambda v: v.squeeze(2), lambda t: torch.squeeze(t, 2), x)
    compare_with_torch(torch, lambda v: v.squeeze(1), lambda t: torch.squeeze(t, 1), x)   # kept
    for axis in (0, 2, 4, -1, -5):
        compare_with_torch(torch, lambda v, a=axis: v.unsqueeze(a),
                           lambda t, a=axis: torch.unsqueeze(t, a), x)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_stack_match_torch(axis: int, torch: Any) -> None:
    a, b, c = normal(3, 4, seed=1), normal(3, 4, seed=2), normal(3, 4, seed=3)
    compare_with_torch(torch, lambda *vs: tn.concatenate(vs, axis),
                       lambda *ts: torch.cat(ts, axis), a, b, c)
    compare_with_torch(torch, lambda *vs: tn.stack(vs, axis), lambda *ts: torch.stack(ts, axis),
                       a, b, c)


def test_pad_matches_torch(torch: Any) -> None:
    x = normal(2, 3, 4, seed=8)
    compare_with_torch(torch, lambda v: v.pad(((0, 0), (1, 2), (3, 0)), 0.25),
                       lambda t: torch.nn.functional.pad(t, (3, 0, 1, 2), value=0.25), x)


CONV_SETTINGS = [(1, 0), (1, 1), (2, 0), (2, 1), ((2, 1), (0, 2)), (3, 2)]


@pytest.mark.parametrize("stride, padding", CONV_SETTINGS)
@pytest.mark.parametrize("kernel", [(3, 3), (2, 3), (1, 1)])
def test_conv2d_matches_torch(stride: Any, padding: Any, kernel: tuple[int, int],
                              torch: Any) -> None:
    x, w, b = normal(2, 3, 7, 6, seed=9), normal(4, 3, *kernel, seed=10), normal(4, seed=11)
    compare_with_torch(torch, lambda *v: F.conv2d(*v, stride=stride, padding=padding),
                       lambda *t: torch.nn.functional.conv2d(*t, stride=stride, padding=padding),
                       x, w, b)


@pytest.mark.parametrize("kernel, stride", [(2, None), (3, 1), ((2, 3), (1, 2)), (3, 2)])
def test_pooling_matches_torch(kernel: Any, stride: Any, torch: Any) -> None:
    x = normal(2, 3, 7, 6, seed=12)
    compare_with_torch(torch, lambda v: F.max_pool2d(v, kernel, stride),
                       lambda t: torch.nn.functional.max_pool2d(t, kernel, stride), x)
    compare_with_torch(torch, lambda v: F.avg_pool2d(v, kernel, stride),
                       lambda t: torch.nn.functional.avg_pool2d(t, kernel, stride), x)


def test_conv2d_in_float32_stays_float32(torch: Any) -> None:
    x, w = normal(2, 3, 6, 6).astype(np.float32), normal(4, 3, 3, 3).astype(np.float32)
    xv, wv = Value(x), Value(w)
    out = F.conv2d(xv, wv, padding=1)
    out.sum().backward()
    assert out.dtype == xv.grad.dtype == wv.grad.dtype == np.float32
    expected = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1)
    np.testing.assert_allclose(out.data, expected.numpy(), rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------------------------
# NaN: chosen like a maximum, on every path (docs/reliability.md)
# ----------------------------------------------------------------------------------------------

NAN = float("nan")


@pytest.mark.parametrize("form", ["float", "0d", "1d"])
@pytest.mark.parametrize("pick", [tn.maximum, tn.minimum], ids=["maximum", "minimum"])
def test_maximum_and_minimum_hand_the_gradient_to_a_nan_input(form: str, pick: Any) -> None:
    """The output is the NaN, so its input gets the gradient (as max hands it to a NaN entry);
    two NaNs or two equal numbers split it."""
    def held(x: float) -> Value:
        return Value(x) if form == "float" else Value(np.array(x if form == "0d" else [x]))

    for a, b, grad_a, grad_b in [(NAN, 1.0, 1.0, 0.0), (-1.0, NAN, 0.0, 1.0),
                                 (NAN, NAN, 0.5, 0.5), (2.0, 2.0, 0.5, 0.5)]:
        x, y = held(a), held(b)
        out = pick(x, y)
        out.sum().backward()
        assert np.isnan(out.data).all() == (a != a or b != b)
        assert (np.asarray(x.grad).item(), np.asarray(y.grad).item()) == (grad_a, grad_b), (a, b)


def test_min_hands_its_tangent_and_gradient_to_a_nan_entry() -> None:
    """The JVP picks the same entries as the VJP (they are one Jacobian), NaN entries included."""
    x = np.array([[1.0, NAN, 3.0], [4.0, 0.5, 0.5]])
    ans = ops.MIN.forward(x, (1,), False)
    t = normal(2, 3, seed=3)
    np.testing.assert_array_equal(ops.MIN.jvps[0](t, ans, x, (1,), False),
                                  [t[0, 1], (t[1, 1] + t[1, 2]) / 2])
    np.testing.assert_array_equal(ops.MIN.vjps[0](np.ones(2), ans, x, (1,), False),
                                  [[0.0, 1.0, 0.0], [0.0, 0.5, 0.5]])


@pytest.mark.parametrize("x", [float("inf"), -float("inf"), NAN, 2.5])
def test_one_entry_logsumexp_and_var_agree_on_every_path(x: float) -> None:
    """A float (the scalar path) gives the value and gradient a one-entry array gives: NaN where
    e^{x − x} or x − x is NaN, as NumPy and PyTorch compute them."""
    for reduce in (Value.logsumexp, Value.var):
        results = []
        for data in (x, np.array(x), np.array([x])):
            v = Value(data)
            with np.errstate(invalid="ignore"):     # NumPy's own ∞ − ∞ in the array forms
                out = reduce(v)
                out.backward()
            results.append((np.asarray(out.data).item(), np.asarray(v.grad).item()))
        np.testing.assert_array_equal(results[0], results[1])
        np.testing.assert_array_equal(results[0], results[2])


# ----------------------------------------------------------------------------------------------
# Second derivatives: the rules run on Values (backward(create_graph=True))
# ----------------------------------------------------------------------------------------------

SECOND_ORDER: dict[str, tuple[Callable[..., Value], list[tuple[int, ...]]]] = {
    "conv2d": (lambda x, w: F.conv2d(x, w, stride=2, padding=1), [(1, 2, 5, 4), (3, 2, 3, 2)]),
    "max_pool2d": (lambda x: F.max_pool2d(x * x, 2, 1), [(1, 2, 4, 4)]),
    "where, maximum, clip": (lambda a, b: tn.where(np.array([True, False, True]),
                                                   tn.maximum(a * a, b), (a * b).clip(-1, 1)),
                             [(3,), (3,)]),
    "logsumexp, var": (lambda x: x.logsumexp(axis=1) * x.var(axis=1, ddof=1), [(2, 3)]),
    "concatenate, stack, pad": (lambda a, b: tn.stack([tn.concatenate([a * b, a]), b.pad((2, 1))])
                                ** 2, [(3,), (3,)]),
    "min": (lambda x: (x ** 3).min(axis=0), [(3, 2)]),
}


def weighted_output(f: Callable[..., Value], inputs: list[Value]) -> Value:
    out = f(*inputs)
    return (out * normal(*out.shape, seed=40)).sum()


def gradients(f: Callable[..., Value], arrays: list[np.ndarray]) -> list[np.ndarray]:
    """∂E/∂x for every input by an ordinary backward pass."""
    xs = [Value(a) for a in arrays]
    weighted_output(f, xs).backward()
    return [np.asarray(x.grad) for x in xs]


@pytest.mark.parametrize("case", SECOND_ORDER)
def test_second_derivatives_by_create_graph_match_finite_differences(case: str) -> None:
    """H·d from differentiating the recorded gradient (∂/∂x of ∂E/∂x · d) against
    (∇E(x + εd) − ∇E(x − εd)) / 2ε from two ordinary backward passes."""
    f, shapes = SECOND_ORDER[case]
    arrays = [normal(*s, seed=20 + i) for i, s in enumerate(shapes)]
    directions = [normal(*s, seed=30 + i) for i, s in enumerate(shapes)]
    xs = [Value(a) for a in arrays]
    weighted_output(f, xs).backward(create_graph=True)
    first = [x.grad for x in xs]
    for x in xs:
        x.grad = None
    sum((g * d).sum() for g, d in zip(first, directions, strict=True)).backward()
    eps = 1e-6
    plus = gradients(f, [a + eps * d for a, d in zip(arrays, directions, strict=True)])
    minus = gradients(f, [a - eps * d for a, d in zip(arrays, directions, strict=True)])
    for x, p, m in zip(xs, plus, minus, strict=True):
        np.testing.assert_allclose(x.grad, (p - m) / (2 * eps), rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------------------------------------
# Bad input: the error names the function and what it was given; nothing is recorded
# ----------------------------------------------------------------------------------------------

X34 = Value(normal(3, 4))
IMG = Value(normal(2, 3, 5, 5))

BAD_INPUT: list[tuple[Callable[[], Any], type[Exception], str]] = [
    (lambda: tn.concatenate([X34, Value(normal(3, 2))]), ValueError,
     r"concatenate: shapes \(3, 4\), \(3, 2\) differ outside axis 0"),
    (lambda: tn.concatenate([X34, X34], axis=2), ValueError, "concatenate: axis 2 is out of range"),
    (lambda: tn.concatenate([Value(1.0), Value(2.0)]), ValueError,
     r"concatenate: expected Values with the same number \(≥ 1\) of axes"),
    (lambda: tn.concatenate([]), ValueError, "concatenate: expected at least one Value"),
    (lambda: tn.concatenate(X34), TypeError, "concatenate: expected a list or tuple of Values"),
    (lambda: tn.stack([X34, X34.T]), ValueError, r"stack: expected Values of one shape, got "
                                                 r"shapes \(3, 4\), \(4, 3\)"),
    (lambda: tn.stack([X34], axis=3), ValueError, "stack: axis 3 is out of range"),
    (lambda: tn.where(np.ones(5, bool), X34, 0.0), ValueError,
     r"where: shapes \(5,\) \(condition\), \(3, 4\) and \(\) cannot be broadcast"),
    (lambda: tn.where(np.array(["a"]), X34, 0.0), TypeError, "where: condition must hold"),
    (lambda: tn.maximum(X34, np.ones(3)), ValueError,
     r"maximum: shapes \(3, 4\) and \(3,\) cannot be broadcast together"),
    (lambda: X34.clip(), ValueError, "clip: give min, max or both, got neither"),
    (lambda: X34.clip(float("nan")), TypeError, "clip: min must be a number or None, got nan"),
    (lambda: X34.clip(max="1"), TypeError, "clip: max must be a number or None, got '1'"),
    (lambda: X34.min(axis=2), ValueError, "min: axis 2 is out of range"),
    (lambda: Value(np.zeros((0, 2))).min(), ValueError, "min: cannot take the minimum of an empty"),
    (lambda: Value(np.zeros(0)).argmax(), ValueError, "argmax: cannot take the argmax of an empty"),
    (lambda: X34.argmax(axis=(0, 1)), TypeError, r"argmax: axis must be an int, got \(0, 1\)"),
    (lambda: X34.logsumexp(axis=5), ValueError, "logsumexp: axis 5 is out of range"),
    (lambda: X34.var(axis=0, ddof=3), ValueError,
     r"var: ddof=3 needs more than 3 entries to average, got 3 \(shape \(3, 4\), axis=0\)"),
    (lambda: X34.var(ddof=-1), ValueError, "var: ddof must be a non-negative integer, got -1"),
    (lambda: X34.std(ddof=1.5), ValueError, "var: ddof must be a non-negative integer, got 1.5"),
    (lambda: X34.flatten(1, 0), ValueError, "flatten: start_dim 1 comes after end_dim 0"),
    (lambda: X34.flatten(0, 3), ValueError, "flatten: axis 3 is out of range"),
    (lambda: X34.squeeze(4), ValueError, "squeeze: axis 4 is out of range"),
    (lambda: X34.unsqueeze(3), ValueError, "unsqueeze: axis 3 is out of range"),
    (lambda: X34.pad(-1), ValueError, "pad: pad_width must hold non-negative integers, got -1"),
    (lambda: X34.pad(((1, 1), (1, 1), (1, 1))), ValueError, "pad: pad_width .* does not fit a "
                                                            "Value with 2 axes"),
    (lambda: X34.pad(1.5), ValueError, "pad: pad_width must hold non-negative integers"),
    (lambda: Value(2.0).pad(1), ValueError, "pad: a scalar Value has no axes to pad"),
    (lambda: X34.pad(1, value="x"), TypeError, "pad: value must be a number, got 'x'"),
    (lambda: F.conv2d(X34, normal(2, 3, 3, 3)), ValueError,
     r"conv2d: expected images of shape \(N, C, H, W\), got shape \(3, 4\)"),
    (lambda: F.conv2d(IMG, normal(2, 4, 3, 3)), ValueError,
     r"conv2d: expected 4 input channels, got 3 \(input shape \(2, 3, 5, 5\), weight shape "
     r"\(2, 4, 3, 3\)\)"),
    (lambda: F.conv2d(IMG, normal(2, 3, 7, 3)), ValueError,
     r"conv2d: the kernel \(7, 3\) is larger than the input's \(5, 5\)"),
    (lambda: F.conv2d(IMG, normal(2, 3, 8, 3), padding=1), ValueError,
     r"conv2d: the kernel \(8, 3\) is larger than the input's \(7, 7\) \(height, width, padded"),
    (lambda: F.conv2d(IMG, normal(2, 3, 3)), ValueError,
     r"conv2d: weight must have shape \(out_channels, in_channels, kh, kw\), got shape "
     r"\(2, 3, 3\)"),
    (lambda: F.conv2d(IMG, normal(2, 3, 3, 3), normal(3)), ValueError,
     r"conv2d: bias must have shape \(2,\), got \(3,\)"),
    (lambda: F.conv2d(IMG, normal(2, 3, 3, 3), stride=0), ValueError,
     "conv2d: stride must be an integer ≥ 1 or a pair of them, got 0"),
    (lambda: F.conv2d(IMG, normal(2, 3, 3, 3), padding=-1), ValueError,
     "conv2d: padding must be an integer ≥ 0 or a pair of them, got -1"),
    (lambda: F.conv2d(IMG, normal(2, 3, 3, 3), stride=(1, 2, 3)), ValueError,
     r"conv2d: stride must be an integer ≥ 1 or a pair of them, got \(1, 2, 3\)"),
    (lambda: F.max_pool2d(IMG, 6), ValueError,
     r"max_pool2d: the kernel \(6, 6\) is larger than the input's \(5, 5\)"),
    (lambda: F.avg_pool2d(IMG, 2, stride=0), ValueError, "avg_pool2d: stride must be an integer"),
    (lambda: F.max_pool2d(X34, 2), ValueError, "max_pool2d: expected images of shape"),
    (lambda: F.unfold(IMG, 0), ValueError, "unfold: kernel_size must be an integer ≥ 1"),
]


@pytest.mark.parametrize("call, error, message", BAD_INPUT,
                         ids=[m.split(":")[0] + f"-{i}" for i, (_, _, m) in enumerate(BAD_INPUT)])
def test_bad_input_names_the_function_and_the_values(call: Callable[[], Any], error: type,
                                                     message: str) -> None:
    with pytest.raises(error, match=message):
        call()

"""The rule table, op by op: forward values against NumPy, and both derivative columns (the VJPs of
reverse mode and the JVPs of forward mode) against finite differences and against each other.

Every entry of ``ops.TABLE`` has cases here, for its VJPs and its JVPs
(``test_every_table_op_is_exercised`` fails for an op without them).  Binary element-wise ops run
on every pair of the broadcast shapes of HIPS autograd's ``arg_pairs`` (a Python float, a 0-d
array, (4,), (3, 4), (1, 4), (3, 1)); reductions on every axis/keepdims variant; matmul and
linear on every vector/matrix/batch combination.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import Value, detect_anomaly, gradcheck, ops
from tinygrad_nn.graph import toposort
from tinygrad_nn.value import linear

# A Python float is the scalar fast path; () is a 0-d array.
SHAPES: dict[str, tuple[int, ...] | None] = {
    "float": None, "0d": (), "4": (4,), "3x4": (3, 4), "1x4": (1, 4), "3x1": (3, 1),
}


def sample(shape: tuple[int, ...] | None, seed: int, domain: str = "any") -> Value:
    """A random input: ``any`` in [-2, 2], ``pos`` in [0.5, 2], ``away`` |x| in [0.2, 2]."""
    rng = np.random.default_rng(seed)
    n = () if shape is None else shape
    if domain == "pos":
        x = rng.uniform(0.5, 2.0, n)
    elif domain == "away":
        x = rng.uniform(0.2, 2.0, n) * rng.choice([-1.0, 1.0], n)
    else:
        x = rng.uniform(-2.0, 2.0, n)
    return Value(float(x) if shape is None else np.asarray(x))


def weighted_sum(out: Value) -> Value:
    """Reduce to a scalar with distinct fixed weights, so every output entry matters differently."""
    if not out.shape:
        return out * 1.7
    w = np.linspace(0.5, 1.5, out.size).reshape(out.shape)
    return (out * Value(w, requires_grad=False)).sum()


@dataclass
class Case:
    op: str                                   # the TABLE entry this case exercises
    id: str
    build: Callable[..., Value]               # inputs -> output (not reduced)
    ref: Callable[..., Any]                   # the same map on raw NumPy data
    inputs: Callable[[], list[Value]]         # fresh inputs each call

    def __repr__(self) -> str:
        return self.id


CASES: list[Case] = []


def add(op: str, id_: str, build: Callable[..., Value], ref: Callable[..., Any],
        inputs: Callable[[], list[Value]]) -> None:
    CASES.append(Case(op, f"{op}-{id_}", build, ref, inputs))


# -- binary element-wise ops on every broadcast pair -----------------------------------------

BINARY: dict[str, tuple[Callable[..., Any], str, str]] = {
    # name: (operator, domain of a, domain of b)
    "add": (lambda a, b: a + b, "any", "any"),
    "sub": (lambda a, b: a - b, "any", "any"),
    "mul": (lambda a, b: a * b, "any", "any"),
    "div": (lambda a, b: a / b, "any", "away"),
    "pow": (lambda a, b: a ** b, "pos", "any"),
}

for _name, (_f, _da, _db) in BINARY.items():
    for (_na, _sa), (_nb, _sb) in itertools.product(SHAPES.items(), repeat=2):
        add(_name, f"{_na},{_nb}", _f, _f,
            lambda sa=_sa, sb=_sb, da=_da, db=_db: [sample(sa, 1, da), sample(sb, 2, db)])
    # the other operand a plain number or ndarray, on either side
    _const_b = 1.3 if _name != "pow" else 1.5
    # Value ** number is the constant-exponent op powc; number ** Value is pow
    add(_name if _name != "pow" else "powc", "value-number", lambda a, f=_f, c=_const_b: f(a, c),
        lambda a, f=_f, c=_const_b: f(a, c), lambda da=_da: [sample((3, 4), 3, da)])
    add(_name, "number-value", lambda b, f=_f: f(1.7, b), lambda b, f=_f: f(1.7, b),
        lambda db=_db: [sample((3, 4), 4, db)])
    _arr = np.linspace(0.6, 1.8, 4)
    add(_name, "value-ndarray", lambda a, f=_f, c=_arr: f(a, c), lambda a, f=_f, c=_arr: f(a, c),
        lambda da=_da: [sample((3, 4), 5, da)])
    add(_name, "ndarray-value", lambda b, f=_f, c=_arr: f(c, b), lambda b, f=_f, c=_arr: f(c, b),
        lambda db=_db: [sample((3, 1), 6, db)])


def _sigmoid(x: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-np.asarray(x)))


# -- unary element-wise ops ------------------------------------------------------------------

UNARY: dict[str, tuple[Callable[[Value], Value], Callable[[Any], Any], str]] = {
    "neg": (lambda x: -x, np.negative, "any"),
    "exp": (Value.exp, np.exp, "any"),
    "log": (Value.log, np.log, "pos"),
    "sqrt": (Value.sqrt, np.sqrt, "pos"),
    "abs": (Value.abs, np.abs, "away"),
    "tanh": (Value.tanh, np.tanh, "any"),
    "sigmoid": (Value.sigmoid, _sigmoid, "any"),
    "relu": (Value.relu, lambda x: np.maximum(x, 0.0), "away"),
    "leaky_relu": (lambda x: x.leaky_relu(0.1), lambda x: np.where(x > 0, x, 0.1 * x), "away"),
    "softplus": (Value.softplus, lambda x: np.log1p(np.exp(x)), "any"),
}
UNARY_SHAPES = {"float": None, "0d": (), "4": (4,), "3x4": (3, 4)}

for _name, (_f, _ref, _dom) in UNARY.items():
    for _sn, _s in UNARY_SHAPES.items():
        add(_name, _sn, _f, _ref, lambda s=_s, d=_dom: [sample(s, 7, d)])

for _p in (2, 3, 0.5, -1, -2.5, 0):
    for _sn, _s in UNARY_SHAPES.items():
        add("powc", f"p={_p}-{_sn}", lambda x, p=_p: x ** p, lambda x, p=_p: np.power(x, p),
            lambda s=_s: [sample(s, 8, "pos")])
add("powc", "p=2-negative-base", lambda x: x ** 2, lambda x: x ** 2,
    lambda: [sample((3, 4), 9, "away")])
add("powc", "p=3-negative-base", lambda x: x ** 3, lambda x: x ** 3,
    lambda: [sample((3, 4), 9, "away")])


# -- reductions: every axis and keepdims -----------------------------------------------------

def _logsumexp_ref(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


REDUCTIONS = {"sum": np.sum, "mean": np.mean, "max": np.max, "min": np.min,
              "logsumexp": _logsumexp_ref, "var": np.var}
AXES: dict[tuple[int, ...], list[Any]] = {
    (4,): [None, 0, -1, (0,)],
    (3, 4): [None, 0, 1, -1, (0, 1), (1, 0)],
    (2, 3, 4): [None, 0, 1, 2, (0, 2), (-1, 0), (0, 1, 2)],
}

for _name, _npf in REDUCTIONS.items():
    for _s, _axes in AXES.items():
        for _ax, _kd in itertools.product(_axes, (False, True)):
            add(_name, f"{_s}-axis={_ax}-keepdims={_kd}",
                lambda x, n=_name, ax=_ax, kd=_kd: getattr(x, n)(axis=ax, keepdims=kd),
                lambda x, f=_npf, ax=_ax, kd=_kd: f(x, axis=ax, keepdims=kd),
                lambda s=_s: [sample(s, 10)])
    add(_name, "float", lambda x, n=_name: getattr(x, n)(), lambda x, f=_npf: f(x),
        lambda: [sample(None, 11)])
    add(_name, "0d", lambda x, n=_name: getattr(x, n)(), lambda x, f=_npf: f(x),
        lambda: [sample((), 11)])
    add(_name, "0d-keepdims", lambda x, n=_name: getattr(x, n)(keepdims=True),
        lambda x, f=_npf: f(x, keepdims=True), lambda: [sample((), 11)])


for _s, _axes in AXES.items():                   # the unbiased variance: every axis is ≥ 2 long
    for _ax in _axes:
        add("var", f"{_s}-axis={_ax}-ddof=1", lambda x, ax=_ax: x.var(axis=ax, ddof=1),
            lambda x, ax=_ax: np.var(x, axis=ax, ddof=1), lambda s=_s: [sample(s, 10)])
        add("var", f"{_s}-axis={_ax}-std", lambda x, ax=_ax: x.std(axis=ax, ddof=1),
            lambda x, ax=_ax: np.std(x, axis=ax, ddof=1), lambda s=_s: [sample(s, 10)])


# -- minimum and maximum on every broadcast pair, where on every pair and two conditions -----

for _name, _npf, _tnf in (("maximum", np.maximum, tn.maximum), ("minimum", np.minimum,
                                                               tn.minimum)):
    for (_na, _sa), (_nb, _sb) in itertools.product(SHAPES.items(), repeat=2):
        add(_name, f"{_na},{_nb}", _tnf, _npf,
            lambda sa=_sa, sb=_sb: [sample(sa, 1), sample(sb, 2)])
    add(_name, "value-number", lambda a, f=_tnf: f(a, 0.3), lambda a, f=_npf: f(a, 0.3),
        lambda: [sample((3, 4), 3)])
    add(_name, "ndarray-value", lambda b, f=_tnf: f(np.linspace(-1, 1, 4), b),
        lambda b, f=_npf: f(np.linspace(-1, 1, 4), b), lambda: [sample((3, 1), 6)])

_COND = np.array([True, False, False, True])
for (_na, _sa), (_nb, _sb) in itertools.product(SHAPES.items(), repeat=2):
    if _sa is None and _sb is None:
        continue                                  # two floats: the scalar cases below
    add("where", f"{_na},{_nb}", lambda a, b: tn.where(_COND, a, b),
        lambda a, b: np.where(_COND, a, b), lambda sa=_sa, sb=_sb: [sample(sa, 1), sample(sb, 2)])
add("where", "float-true", lambda a, b: tn.where(True, a, b), lambda a, b: a,
    lambda: [sample(None, 1), sample(None, 2)])
add("where", "float-false", lambda a, b: tn.where(np.array(False), a, b), lambda a, b: b,
    lambda: [sample(None, 1), sample(None, 2)])
add("where", "value-condition-and-number", lambda a: tn.where(a > 0.5, a, -1.0),
    lambda a: np.where(a > 0.5, a, -1.0), lambda: [sample((3, 4), 3)])

for _sn, _s in UNARY_SHAPES.items():
    for _low, _high in ((-0.5, 1.0), (None, 0.3), (-0.2, None)):
        add("clip", f"{_sn}-[{_low},{_high}]", lambda x, lo=_low, hi=_high: x.clip(lo, hi),
            lambda x, lo=_low, hi=_high: np.clip(x, lo, hi), lambda s=_s: [sample(s, 7)])


# -- joining ---------------------------------------------------------------------------------

for _shapes, _ax in [(((2, 3), (4, 3)), 0), (((3, 1), (3, 4), (3, 2)), 1),
                     (((3, 1), (3, 4), (3, 2)), -1), (((2, 3, 4), (2, 1, 4)), 1), (((4,),), 0)]:
    add("concatenate", f"{_shapes}-axis={_ax}", lambda *xs, a=_ax: tn.concatenate(xs, axis=a),
        lambda *xs, a=_ax: np.concatenate(xs, axis=a),
        lambda ss=_shapes: [sample(s, 30 + i) for i, s in enumerate(ss)])
add("concatenate", "with-an-ndarray", lambda x: tn.concatenate([np.ones((1, 4)), x, x]),
    lambda x: np.concatenate([np.ones((1, 4)), x, x]), lambda: [sample((3, 4), 33)])

for _shape, _n in [(None, 3), ((), 2), ((4,), 3), ((3, 4), 2)]:
    for _ax in range(-(len(_shape or ()) + 1), len(_shape or ()) + 1):
        add("stack", f"{_shape}x{_n}-axis={_ax}", lambda *xs, a=_ax: tn.stack(xs, axis=a),
            lambda *xs, a=_ax: np.stack(xs, axis=a),
            lambda s=_shape, n=_n: [sample(s, 34 + i) for i in range(n)])


# -- padding, sliding windows, convolution ---------------------------------------------------

for _s, _width, _value in [((4,), 2, 0.0), ((3, 4), ((1, 0), (2, 3)), 0.5), ((3, 4), (0, 1), -1.0),
                           ((2, 3, 4), ((0, 0), (1, 1), (0, 2)), 0.0)]:
    add("pad", f"{_s}-{_width}-{_value}", lambda x, w=_width, v=_value: x.pad(w, v),
        lambda x, w=_width, v=_value: np.pad(x, w, constant_values=v), lambda s=_s: [sample(s, 36)])


def _windows_ref(x: Any, kernel: tuple[int, int], stride: tuple[int, int],
                 padding: tuple[int, int]) -> np.ndarray:
    """im2col by loops over the output positions (the reference the vectorised op must match)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros((kh, kw, x.shape[1], x.shape[0], ho, wo))
    for p in range(ho):
        for q in range(wo):
            window = xp[:, :, p * sh:p * sh + kh, q * sw:q * sw + kw]     # (N, C, kh, kw)
            out[:, :, :, :, p, q] = window.transpose(2, 3, 1, 0)
    return out


def _fold_ref(cols: Any, shape: tuple[int, ...], kernel: tuple[int, int],
              stride: tuple[int, int], padding: tuple[int, int]) -> np.ndarray:
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    out = np.zeros((shape[0], shape[1], shape[2] + 2 * ph, shape[3] + 2 * pw))
    for p in range(cols.shape[4]):
        for q in range(cols.shape[5]):
            window = cols[..., p, q].transpose(3, 2, 0, 1)                # (N, C, kh, kw)
            out[:, :, p * sh:p * sh + kh, q * sw:q * sw + kw] += window
    return out[:, :, ph:ph + shape[2], pw:pw + shape[3]]


def _conv_ref(x: Any, w: Any, stride: tuple[int, int], padding: tuple[int, int]) -> np.ndarray:
    cols = _windows_ref(x, w.shape[2:], stride, padding)
    return np.einsum("ijcnpq,ocij->nopq", cols, w)


# (kernel, stride, padding) on images (2, 3, 5, 6): overlapping, strided, uneven and 1x1
WINDOWS = [((2, 3), (1, 1), (0, 0)), ((3, 3), (2, 1), (1, 0)), ((3, 2), (2, 2), (1, 1)),
           ((1, 1), (1, 1), (0, 0)), ((5, 6), (1, 1), (0, 0)), ((2, 2), (2, 2), (0, 0))]
for _k, _st, _p in WINDOWS:
    _id = f"k={_k}-s={_st}-p={_p}"
    add("unfold", _id, lambda x, k=_k, st=_st, p=_p: tn.functional.unfold(x, k, st, p),
        lambda x, k=_k, st=_st, p=_p: _windows_ref(x, k, st, p),
        lambda: [sample((2, 3, 5, 6), 37)])
    _cols_shape = _windows_ref(np.zeros((2, 3, 5, 6)), _k, _st, _p).shape
    add("fold", _id, lambda c, k=_k, st=_st, p=_p: Value._apply_op(
            ops.FOLD, (c,), ((2, 3, 5, 6), k, st, p)),
        lambda c, k=_k, st=_st, p=_p: _fold_ref(c, (2, 3, 5, 6), k, st, p),
        lambda s=_cols_shape: [sample(s, 38)])
    add("conv2d", _id, lambda x, w, st=_st, p=_p: tn.functional.conv2d(x, w, stride=st, padding=p),
        lambda x, w, st=_st, p=_p: _conv_ref(x, w, st, p),
        lambda k=_k: [sample((2, 3, 5, 6), 39), sample((4, 3) + k, 40)])
add("conv2d", "bias", lambda x, w, b: tn.functional.conv2d(x, w, b, padding=1),
    lambda x, w, b: _conv_ref(x, w, (1, 1), (1, 1)) + b[:, None, None],
    lambda: [sample((2, 3, 5, 6), 39), sample((4, 3, 3, 3), 40), sample((4,), 41)])
add("unfold", "max_pool2d", lambda x: tn.functional.max_pool2d(x, 2),
    lambda x: _windows_ref(x, (2, 2), (2, 2), (0, 0)).max(axis=(0, 1)).transpose(1, 0, 2, 3),
    lambda: [sample((2, 3, 5, 6), 42)])
add("unfold", "avg_pool2d", lambda x: tn.functional.avg_pool2d(x, (2, 3), stride=1),
    lambda x: _windows_ref(x, (2, 3), (1, 1), (0, 0)).mean(axis=(0, 1)).transpose(1, 0, 2, 3),
    lambda: [sample((2, 3, 5, 6), 43)])


# -- shape ops -------------------------------------------------------------------------------

for _src, _dst in [((3, 4), (4, 3)), ((3, 4), (2, -1)), ((3, 4), (12,)), ((2, 3, 4), (6, 4)),
                   ((4,), (2, 2, 1)), ((), (1, 1)), (None, (1,)), ((1, 1), ())]:
    add("reshape", f"{_src}->{_dst}", lambda x, d=_dst: x.reshape(d),
        lambda x, d=_dst: np.reshape(x, d), lambda s=_src: [sample(s, 12)])
add("reshape", "varargs", lambda x: x.reshape(2, 6), lambda x: np.reshape(x, (2, 6)),
    lambda: [sample((3, 4), 12)])

for _s, _perm in [((3, 4), ()), ((3, 4), (1, 0)), ((2, 3, 4), ()), ((2, 3, 4), (2, 0, 1)),
                  ((2, 3, 4), (0, 2, 1)), ((2, 3, 4), (-1, 0, 1)), ((4,), ())]:
    add("transpose", f"{_s}-{_perm}", lambda x, p=_perm: x.transpose(*p),
        lambda x, p=_perm: np.transpose(x, p or None), lambda s=_s: [sample(s, 13)])
add("transpose", ".T", lambda x: x.T, lambda x: x.T, lambda: [sample((3, 4), 13)])

for _s, _to in [((3, 1), (2, 3, 4)), ((4,), (3, 4)), (None, (2, 3)), ((), (3,)), ((1, 4), (3, 4)),
                ((3, 4), (3, 4))]:
    add("broadcast_to", f"{_s}->{_to}", lambda x, t=_to: x.broadcast_to(t),
        lambda x, t=_to: np.broadcast_to(x, t), lambda s=_s: [sample(s, 14)])

INDICES: dict[str, Any] = {
    "int": 1, "negative-int": -1, "pair": (2, 3), "slice": slice(1, None),
    "step": (slice(None), slice(None, None, -2)), "repeated-rows": [0, 0, 2, 0],
    "int-arrays": (np.array([0, 0, 2]), np.array([1, 1, 3])),
    "bool-mask": np.array([True, False, True]),
    "ellipsis-newaxis": (Ellipsis, None, 1), "mixed": (slice(0, 2), [3, 3, 0]),
}
for _iname, _idx in INDICES.items():
    add("getitem", _iname, lambda x, i=_idx: x[i], lambda x, i=_idx: np.asarray(x)[i],
        lambda: [sample((3, 4), 15)])


def _scatter_ref(g: Any, shape: tuple[int, ...], index: Any) -> Any:
    out = np.zeros(shape)
    np.add.at(out, index, g)
    return out


# scatter is the VJP of indexing; its Value form is only built by backward(create_graph=True)
for _iname, _idx, _gshape in [("rows", np.array([0, 2, 0]), (3, 4)), ("int", 1, (4,)),
                              ("slice", (slice(1, 3), slice(None)), (2, 4))]:
    add("scatter", _iname, lambda g, i=_idx: g._scatter_into((3, 4), i),
        lambda g, i=_idx: _scatter_ref(g, (3, 4), i), lambda s=_gshape: [sample(s, 16)])


def _softmax_ref(x: Any, axis: int) -> Any:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


for _s in [(4,), (3, 4), (2, 3, 4)]:
    for _ax in range(-len(_s), len(_s)):
        add("softmax", f"{_s}-axis={_ax}", lambda x, a=_ax: x.softmax(a),
            lambda x, a=_ax: _softmax_ref(x, a), lambda s=_s: [sample(s, 17)])
        add("log_softmax", f"{_s}-axis={_ax}", lambda x, a=_ax: x.log_softmax(a),
            lambda x, a=_ax: np.log(_softmax_ref(x, a)), lambda s=_s: [sample(s, 18)])


# -- matmul and linear -----------------------------------------------------------------------

for _sa, _sb in [((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 2)), ((3, 4), (4, 2)), ((1, 4), (4, 1)),
                 ((2, 3, 4), (4, 5)), ((4,), (2, 4, 5)), ((2, 3, 4), (4,)), ((1, 3, 4), (2, 4, 5)),
                 ((2, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5))]:
    add("matmul", f"{_sa}@{_sb}", lambda a, b: a @ b, lambda a, b: np.matmul(a, b),
        lambda sa=_sa, sb=_sb: [sample(sa, 19), sample(sb, 20)])
add("matmul", "ndarray@value", lambda b: np.linspace(-1, 1, 12).reshape(3, 4) @ b,
    lambda b: np.linspace(-1, 1, 12).reshape(3, 4) @ b, lambda: [sample((4, 2), 21)])
add("matmul", "value@ndarray", lambda a: a @ np.linspace(-1, 1, 8).reshape(4, 2),
    lambda a: a @ np.linspace(-1, 1, 8).reshape(4, 2), lambda: [sample((3, 4), 22)])

for _sx in [(4,), (5, 4), (2, 5, 4)]:
    add("linear", f"x{_sx}-bias", lambda x, w, b: linear(x, w, b),
        lambda x, w, b: x @ w.T + b, lambda s=_sx: [sample(s, 23), sample((3, 4), 24),
                                                   sample((3,), 25)])
    add("linear", f"x{_sx}-no-bias", lambda x, w: linear(x, w), lambda x, w: x @ w.T,
        lambda s=_sx: [sample(s, 23), sample((3, 4), 24)])


# -- fused error functions (built by tinygrad_nn.functional) ---------------------------------

try:
    from tinygrad_nn import functional as F
except ImportError:              # not there yet: the coverage test names what is missing
    F = None

if F is not None:
    for _red in ("mean", "sum"):
        for _s in [(4,), (3, 4), (2, 3, 4)]:
            _ref = np.mean if _red == "mean" else np.sum
            add("mse", f"{_s}-{_red}", lambda p, t, r=_red: F.mse_loss(p, t, reduction=r),
                lambda p, t, f=_ref: f((p - t) ** 2), lambda s=_s: [sample(s, 26), sample(s, 27)])
        add("mse", f"float-{_red}", lambda p, t, r=_red: F.mse_loss(p, t, reduction=r),
            lambda p, t: (p - t) ** 2, lambda: [sample(None, 26), sample(None, 27)])

    def _ce_ref(x: Any, rows: Any) -> Any:
        x = np.asarray(x)
        logp = x - x.max(1, keepdims=True)
        logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
        return -(rows * logp).sum() / x.shape[0]

    _labels = np.array([2, 0, 3, 3, 1])
    _probs = np.random.default_rng(28).dirichlet(np.ones(4), 5)
    add("cross_entropy", "labels", lambda x: F.cross_entropy(x, _labels),
        lambda x: _ce_ref(x, np.eye(4)[_labels]), lambda: [sample((5, 4), 29)])
    add("cross_entropy", "probabilities", lambda x: F.cross_entropy(x, _probs),
        lambda x: _ce_ref(x, _probs), lambda: [sample((5, 4), 30)])
    add("cross_entropy", "one-sample", lambda x: F.cross_entropy(x, [1]),
        lambda x: _ce_ref(x, np.eye(3)[[1]]), lambda: [sample((1, 3), 31)])


# ----------------------------------------------------------------------------------------------
# The tests
# ----------------------------------------------------------------------------------------------


def ops_in_graph(out: Value) -> set[str]:
    return {node.op.name for node in toposort(out) if node.op is not None}


# forward mode runs on the same cases: every op's JVPs at every shape its VJPs are tested at
JVP_CASES = CASES


def test_every_table_op_is_exercised() -> None:
    """A new entry in ops.TABLE without VJP and JVP cases here fails this test."""
    for kind, cases in (("VJP", CASES), ("JVP", JVP_CASES)):
        covered = {case.op for case in cases}
        missing = set(ops.TABLE) - covered
        assert not missing, f"ops without {kind} cases in tests/test_ops.py: {sorted(missing)}"
        assert covered <= set(ops.TABLE), sorted(covered - set(ops.TABLE))


def test_table_names_match_their_keys() -> None:
    for name, op in ops.TABLE.items():
        assert op.name == name
        assert op.label and isinstance(op.label, str)
        rules = [op.vjps.rule] if isinstance(op.vjps, ops.PerInput) else op.vjps
        assert callable(op.forward) and rules and all(callable(v) for v in rules)


@pytest.mark.parametrize("name", sorted(ops.TABLE))
def test_every_table_op_has_a_jvp_per_input(name: str) -> None:
    """Forward mode needs the JVP column filled: one rule per input, beside its VJP."""
    op = ops.TABLE[name]
    if isinstance(op.vjps, ops.PerInput):          # any number of inputs: one rule told i
        assert isinstance(op.jvps, ops.PerInput), f"{name}: PerInput VJPs need PerInput JVPs"
        assert callable(op.jvps.rule)
        return
    assert len(op.jvps) == len(op.vjps), f"{name}: {len(op.vjps)} VJPs, {len(op.jvps)} JVPs"
    assert all(callable(j) for j in op.jvps)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_case_builds_its_op(case: Case) -> None:
    """Each case really records the op it is filed under."""
    out = case.build(*case.inputs())
    assert case.op in ops_in_graph(out)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_forward_matches_numpy(case: Case) -> None:
    inputs = case.inputs()
    out = case.build(*inputs)
    expected = np.asarray(case.ref(*[v.data for v in inputs]), dtype=np.float64)
    assert out.shape == expected.shape
    np.testing.assert_allclose(np.asarray(out.data), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_gradcheck(case: Case) -> None:
    inputs = case.inputs()
    assert gradcheck(lambda *xs: weighted_sum(case.build(*xs)), inputs)
    for v in inputs:                          # gradcheck leaves .grad untouched
        assert v.grad is None


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_grad_shape_and_dtype(case: Case) -> None:
    inputs = case.inputs()
    weighted_sum(case.build(*inputs)).backward()
    for v in inputs:
        if type(v.data) is float:
            assert type(v.grad) is float
        else:
            assert np.shape(v.grad) == v.shape
            assert np.asarray(v.grad).dtype == np.float64


def directions(like: list[Any], seed: int) -> list[Any]:
    """A random direction of the form of each of ``like``: a float for a float."""
    rng = np.random.default_rng(seed)
    return [float(rng.standard_normal()) if type(x) is float else rng.standard_normal(np.shape(x))
            for x in like]


def central_difference(case: Case, point: list[Any], v: list[Any], eps: float = 1e-6) -> Any:
    """(f(x + εv) − f(x − εv)) / 2ε for the case's map f, on raw data."""
    up = case.build(*[Value(x + eps * d, requires_grad=False) for x, d in zip(point, v)]).data
    down = case.build(*[Value(x - eps * d, requires_grad=False) for x, d in zip(point, v)]).data
    return (np.asarray(up, dtype=np.float64) - np.asarray(down, dtype=np.float64)) / (2 * eps)


@pytest.mark.parametrize("case", JVP_CASES, ids=repr)
def test_jvp_matches_central_differences(case: Case) -> None:
    """Forward mode, entry by entry: J·v by the JVP column against the slope along v."""
    point = [v.data for v in case.inputs()]
    v = directions(point, 50)
    _, tangent = tn.jvp(case.build, point, v)
    np.testing.assert_allclose(tangent, central_difference(case, point, v), rtol=1e-6,
                               atol=1e-8)


@pytest.mark.parametrize("case", JVP_CASES, ids=repr)
def test_jvp_agrees_with_vjp(case: Case) -> None:
    """⟨u, J v⟩ two ways: forward mode ⟨u, jvp(v)⟩ and reverse mode ⟨vjp(u), v⟩."""
    point = [v.data for v in case.inputs()]
    v = directions(point, 51)
    out, tangent = tn.jvp(case.build, point, v)
    u = directions([out], 52)[0]
    out_again, pull = tn.vjp(case.build, *point)
    forward = float(np.vdot(u, tangent))
    reverse = sum(float(np.vdot(g, d)) for g, d in zip(pull(u), v))
    assert forward == pytest.approx(reverse, rel=1e-10, abs=1e-12)
    np.testing.assert_array_equal(out, out_again)


@pytest.mark.parametrize("case", JVP_CASES, ids=repr)
def test_jvp_tangent_has_the_output_form(case: Case) -> None:
    """A float output gets a float tangent; an array output an array of its shape and dtype."""
    point = [v.data for v in case.inputs()]
    out, tangent = tn.jvp(case.build, point, directions(point, 53))
    if type(out) is float:
        assert type(tangent) is float
    else:
        assert type(tangent) is np.ndarray
        assert tangent.shape == out.shape and tangent.dtype == out.dtype


@pytest.mark.parametrize("case", JVP_CASES, ids=repr)
def test_second_derivatives_in_both_modes(case: Case) -> None:
    """The JVP rules on Values too: check_grads to order 2 runs forward over forward (JVPs of
    Values with Value tangents), reverse over forward, forward over reverse and reverse over
    reverse, each against central differences."""
    assert tn.check_grads(case.build, [v.data for v in case.inputs()], order=2)


SCALAR_CASES = [c for c in CASES if all(type(v.data) is float for v in c.inputs())
                and c.op not in ("reshape", "broadcast_to", "stack")]


def test_scalar_cases_cover_every_elementwise_op() -> None:
    assert {c.op for c in SCALAR_CASES} >= set(BINARY) | set(UNARY) | {"powc"}


@pytest.mark.parametrize("case", SCALAR_CASES, ids=repr)
def test_scalar_fast_path_stays_python_float(case: Case) -> None:
    inputs = case.inputs()
    out = case.build(*inputs)
    assert type(out.data) is float
    out.backward()
    for v in inputs:
        assert type(v.grad) is float


@pytest.mark.parametrize("case", SCALAR_CASES, ids=repr)
def test_scalar_jvp_stays_python_float(case: Case) -> None:
    """Forward mode on the scalar path: float tangents through float rules, no NumPy."""
    point = [v.data for v in case.inputs()]
    out, tangent = tn.jvp(case.build, point, [1.0] * len(point))
    assert type(out) is float and type(tangent) is float


FLOAT32_OPS = ["add", "mul", "div", "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "softplus",
               "sum", "mean", "max", "softmax", "log_softmax", "matmul", "reshape", "transpose"]


@pytest.mark.parametrize("op", FLOAT32_OPS)
def test_float32_stays_float32(op: str) -> None:
    x = Value(np.linspace(0.5, 2.0, 12, dtype=np.float32).reshape(3, 4))
    y = Value(np.linspace(1.0, 1.5, 12, dtype=np.float32).reshape(4, 3))
    builds: dict[str, Callable[[], Value]] = {
        "add": lambda: x + 1.5, "mul": lambda: x * Value(2.0), "div": lambda: 1.0 / x,
        "exp": x.exp, "log": x.log, "sqrt": x.sqrt, "tanh": x.tanh, "sigmoid": x.sigmoid,
        "relu": x.relu, "softplus": x.softplus, "sum": lambda: x.sum(axis=0),
        "mean": lambda: x.mean(axis=1), "max": lambda: x.max(axis=0),
        "softmax": lambda: x.softmax(-1), "log_softmax": lambda: x.log_softmax(0),
        "matmul": lambda: x @ y, "reshape": lambda: x.reshape(12), "transpose": lambda: x.T,
    }
    out = builds[op]()
    assert op in ops_in_graph(out)
    assert out.dtype == np.float32
    out.sum().backward()
    assert x.grad.dtype == np.float32
    assert np.all(np.isfinite(x.grad))


def test_float32_input_is_kept_not_converted_to_float64() -> None:
    v = Value(np.ones((2, 2), dtype=np.float32))
    assert v.data.dtype == np.float32
    assert Value(np.array(1.5, dtype=np.float32)).dtype == np.float32     # 0-d too


@pytest.mark.parametrize("p", [2, 3, 0.5, -1])
def test_scalar_powc_matches_math(p: float) -> None:
    x = Value(1.7)
    y = x ** p
    assert y.data == pytest.approx(1.7 ** p, rel=1e-15)
    y.backward()
    assert x.grad == pytest.approx(p * 1.7 ** (p - 1), rel=1e-12)


# A reduction to 0-d (or a reshape to ()) feeding a broadcast op: its gradient comes back from
# unbroadcast as a Python float, which the reduction's VJP must spread over the input's shape.
ZERO_D_INTERMEDIATE: dict[str, Callable[[Value, Value], Value]] = {
    "sum": lambda x, y: x.sum() * y,
    "mean": lambda x, y: y - x.mean(),
    "max": lambda x, y: x.max() + y,
    "sum-all-axes": lambda x, y: x.sum(axis=(0, 1)) * y,
    "normalise": lambda x, y: x / x.sum() + y,
    "reshape-to-0d": lambda x, y: x[1:2, 2:3].reshape(()) * y,
    "mean-of-mean": lambda x, y: x.mean(axis=0).mean() * y,
}


@pytest.mark.parametrize("name", sorted(ZERO_D_INTERMEDIATE))
def test_zero_d_intermediate_feeding_a_broadcast(name: str) -> None:
    f = ZERO_D_INTERMEDIATE[name]
    x, y = sample((3, 4), 40, "pos"), sample((4,), 41)
    assert gradcheck(lambda a, b: weighted_sum(f(a, b)), [x, y])
    weighted_sum(f(x, y)).backward()
    assert x.grad.shape == (3, 4) and y.grad.shape == (4,)


def test_zeroth_power_has_zero_gradient_at_zero() -> None:
    s = Value(0.0)
    (s ** 0).backward()
    assert s.grad == 0.0 and type(s.grad) is float
    x = Value(np.array([0.0, 2.0]))
    (x ** 0).sum().backward()                    # not 0 · 0⁻¹ = nan (and no RuntimeWarning)
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_pow_gradient_wrt_exponent_is_zero_for_nonpositive_base() -> None:
    a = Value(np.array([-2.0, 0.0, 3.0]), requires_grad=False)
    b = Value(np.array([2.0, 2.0, 2.0]))
    (a ** b).sum().backward()
    np.testing.assert_allclose(b.grad, [0.0, 0.0, 9.0 * np.log(3.0)])


def test_max_ties_share_the_gradient_equally() -> None:
    x = Value(np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]))
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    x.zero_grad()
    x.max().backward()
    np.testing.assert_allclose(x.grad, [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]])


def test_repeated_integer_indices_accumulate() -> None:
    x = Value(np.arange(5.0))
    x[[0, 0, 3, 0, 4]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 0.0, 1.0, 1.0])
    y = Value(np.zeros((2, 3)))
    (y[np.array([1, 1]), np.array([2, 2])] * Value(np.array([2.0, 5.0]))).sum().backward()
    np.testing.assert_array_equal(y.grad, [[0, 0, 0], [0, 0, 7.0]])


def test_relu_and_abs_derivative_at_zero_is_zero() -> None:
    x = Value(np.array([-1.0, 0.0, 2.0]))
    (x.relu() + x.abs()).sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, 0.0, 2.0])
    s = Value(0.0)
    (s.relu() + s.abs()).backward()
    assert s.grad == 0.0


def test_stable_forward_values_at_extremes() -> None:
    x = Value(np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0]))
    e30 = math.exp(-30.0)
    np.testing.assert_allclose(x.sigmoid().data, [0.0, e30 / (1 + e30), 0.5, 1 / (1 + e30), 1.0],
                               rtol=1e-14, atol=0.0)
    np.testing.assert_allclose(x.softplus().data, np.logaddexp(0.0, x.data), rtol=1e-12)
    assert Value(-1000.0).sigmoid().data == 0.0
    assert Value(1000.0).sigmoid().data == 1.0
    assert Value(1000.0).softplus().data == 1000.0
    assert Value(-1000.0).softplus().data == 0.0


@pytest.mark.parametrize("x", [-700.0, -100.0, -40.0, -30.0, -5.0, 0.0, 5.0, 30.0, 40.0])
def test_sigmoid_keeps_relative_precision_in_both_tails(x: float) -> None:
    """The array path agrees with the scalar (math) path and with 1/(1+e^-x) to 1e-13."""
    array = Value(np.array([x])).sigmoid().data[0]
    scalar = Value(x).sigmoid().data
    exact = math.exp(x) / (1.0 + math.exp(x)) if x < 0 else 1.0 / (1.0 + math.exp(-x))
    assert array == pytest.approx(exact, rel=1e-13, abs=0.0)
    assert scalar == pytest.approx(exact, rel=1e-13, abs=0.0)
    assert Value(np.array([x])).sigmoid().log().data[0] == pytest.approx(
        x - math.log1p(math.exp(x)) if x < 0 else -math.log1p(math.exp(-x)), rel=1e-12)


@pytest.mark.filterwarnings("error")
def test_sigmoid_far_tail_is_e_to_the_x_next_to_nan_and_without_warnings() -> None:
    """e^{-x} overflows below -709: those entries are e^x (subnormal or 0), NaN stays NaN."""
    x = np.array([[-720.0, np.nan, 3.0], [-1000.0, -709.5, np.inf]])
    out = Value(x).sigmoid().data
    assert out[0, 0] == math.exp(-720.0) > 0.0          # subnormal, not flushed to 0
    assert out[1, 1] == pytest.approx(math.exp(-709.5), rel=1e-13)
    assert out[1, 0] == 0.0 and out[1, 2] == 1.0
    assert math.isnan(out[0, 1])
    assert out[0, 2] == pytest.approx(1.0 / (1.0 + math.exp(-3.0)), rel=1e-15)
    nan_only = Value(np.array([np.nan, 0.0])).sigmoid().data
    assert math.isnan(nan_only[0]) and nan_only[1] == 0.5
    assert Value(np.array(-720.0)).sigmoid().data == math.exp(-720.0)   # 0-d
    assert Value(np.zeros((0, 3))).sigmoid().data.shape == (0, 3)         # empty
    f32 = Value(np.array([-100.0, -80.0], dtype=np.float32)).sigmoid().data
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, np.exp(np.array([-100.0, -80.0])).astype(np.float32),
                               rtol=1e-6)


def test_sigmoid_float32() -> None:
    x = np.array([-40.0, -3.0, 0.0, 3.0, 40.0], dtype=np.float32)
    out = Value(x).sigmoid().data
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, 1.0 / (1.0 + np.exp(-x.astype(np.float64))), rtol=1e-6)


@pytest.mark.parametrize("const", [np.float64(2.0), np.float32(2.0), np.int64(2), 2, True],
                         ids=["float64", "float32", "int64", "int", "bool"])
def test_numpy_and_python_scalar_operands_on_either_side(const: Any) -> None:
    s = Value(1.5)
    for y in (const * s, s * const, const - s, s / const, const ** s, s ** const):
        assert isinstance(y, Value) and type(y.data) is float
    x = Value(np.array([1.0, 2.0]))
    y = const * x + x / const
    np.testing.assert_allclose(y.data, float(const) * x.data + x.data / float(const))
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [float(const) + 1 / float(const)] * 2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("x_shape", [(5,), (7, 5), (2, 3, 5)])
def test_linear_equals_the_matmul_formulas_bit_for_bit(dtype: Any, x_shape: Any) -> None:
    """linear's forward and VJPs (ndarray.dot for 1-D/2-D) give exactly x·Wᵀ + b, δ·W, δᵀ·X."""
    rng = np.random.default_rng(3)
    xd = rng.standard_normal(x_shape).astype(dtype)
    wd = rng.standard_normal((4, 5)).astype(dtype)
    bd = rng.standard_normal(4).astype(dtype)
    gd = rng.standard_normal(x_shape[:-1] + (4,)).astype(dtype)
    x, w, b = Value(xd), Value(wd), Value(bd)
    out = linear(x, w, b)
    out.backward(gd)
    np.testing.assert_array_equal(out.data, xd @ wd.T + bd)
    np.testing.assert_array_equal(x.grad, gd @ wd)
    rows_g, rows_x = gd.reshape(-1, 4), xd.reshape(-1, 5)
    np.testing.assert_array_equal(w.grad, rows_g.T @ rows_x)
    np.testing.assert_array_equal(b.grad, rows_g.sum(axis=0))
    assert out.data.dtype == x.grad.dtype == w.grad.dtype == dtype


# -- singular inputs: IEEE results, the scalar path agreeing with the array path -----------------


def test_relu_of_nan_is_nan_on_both_paths() -> None:
    """The scalar path used to turn NaN into 0.0, hiding it from detect_anomaly."""
    assert math.isnan(Value(math.nan).relu().data)
    assert math.isnan(Value(np.array([math.nan])).relu().data[0])
    with pytest.raises(FloatingPointError, match="op 'relu' produced NaN"), detect_anomaly():
        Value(math.nan, requires_grad=False).relu()


def test_pow_base_gradient_is_zero_where_the_exponent_is_zero() -> None:
    """a⁰ = 1 for every a, so ∂(aᵇ)/∂a = 0 at b = 0, also at a = 0, ±inf and NaN (PyTorch too)."""
    a, b = Value(np.array([0.0, 2.0])), Value(np.array([0.0, 0.0]))
    (a ** b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 0.0])
    np.testing.assert_allclose(b.grad, [0.0, math.log(2.0)])
    for exponent in (0, Value(0.0, requires_grad=False)):
        x = Value(np.array([math.inf, -math.inf, math.nan, 0.0, 1.0]))
        (x ** exponent).sum().backward()
        np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0, 0.0, 0.0])
    s = Value(0.0)
    (s ** Value(0.0)).backward()
    assert s.grad == 0.0 and type(s.grad) is float


@pytest.mark.parametrize("create_graph", [False, True])
def test_pow_exponent_gradient_is_the_same_with_create_graph(create_graph: bool) -> None:
    """ln a is taken as 0 where a ≤ 0; create_graph=True used to give NaN there instead."""
    a = Value(np.array([-1.0, 0.0, 2.0]))
    b = Value(np.array([2.0, 2.0, 2.0]))
    (a ** b).sum().backward(create_graph=create_graph)
    grads = [v.grad.data if create_graph else v.grad for v in (a, b)]
    np.testing.assert_allclose(grads[0], [-2.0, 0.0, 4.0])
    np.testing.assert_allclose(grads[1], [0.0, 0.0, 4.0 * math.log(2.0)])


def test_pow_exponent_gradient_at_a_zero_base() -> None:
    """0ᵇ does not change with b ≥ 0 (gradient 0); for b < 0 it is aᵇ·ln a = ∞·(−∞) = −∞, as in
    PyTorch (it used to be NaN)."""
    a = Value(np.zeros(4), requires_grad=False)
    b = Value(np.array([0.0, 2.0, -1.0, -0.5]))
    with np.errstate(divide="ignore"):           # NumPy's warning for ln 0 = −∞
        (a ** b).sum().backward()
    np.testing.assert_array_equal(b.grad, [0.0, 0.0, -math.inf, -math.inf])
    s = Value(-1.0)
    (0.0 ** s).backward()
    assert s.grad == -math.inf


def test_minus_infinity_to_a_non_integer_power_is_nan_on_every_path() -> None:
    """A negative base to a non-integer power is NaN, −∞ too: C's pow says +∞ for (−∞)^0.5 while
    NumPy's x ** 0.5 (a square root) says NaN, so the paths used to disagree."""
    for y in (Value(-math.inf) ** 0.5, Value(np.array([-math.inf])) ** 0.5,
              Value(np.array([-math.inf])) ** Value(np.array([0.5])), Value(-math.inf) ** 1.5):
        assert np.all(np.isnan(y.data))
    assert (Value(-math.inf) ** 3).data == -math.inf and (Value(-math.inf) ** -2).data == 0.0


def test_negative_base_to_a_fractional_power_is_nan_on_every_path() -> None:
    """(−2)^0.5: no complex numbers, and NaN for the value and both gradients on the scalar
    path, the array path and the two mixed (the scalar path used to give ∂/∂b = 0)."""
    for base, exponent in [(-2.0, 0.5), (-2.0, np.array(0.5)), (np.array(-2.0), 0.5),
                           (np.array([-2.0]), np.array([0.5]))]:
        a, b = Value(base), Value(exponent)
        y = a ** b
        y.sum().backward()
        for number in (y.data, a.grad, b.grad):
            assert np.isrealobj(number) and np.all(np.isnan(number)), (base, exponent)


def test_pow_overflow_gives_inf_not_an_exception() -> None:
    x = Value(1e308)
    y = x ** 3
    y.backward()
    assert y.data == math.inf and x.grad == math.inf
    s = Value(1e-310)                          # subnormal: 1/s overflows
    z = s ** -1
    z.backward()
    assert z.data == math.inf and s.grad == -math.inf
    e = Value(2.0)
    (Value(1e308) ** e).backward()
    assert e.grad == math.inf


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_of_an_empty_axis_is_empty(op: str) -> None:
    """PyTorch gives an empty result; NumPy's max over an empty axis used to raise."""
    x = Value(np.zeros((2, 0)))
    y = getattr(x, op)(-1)
    assert y.shape == (2, 0)
    y.backward(np.zeros((2, 0)))
    assert x.grad.shape == (2, 0)
    assert getattr(Value(np.zeros((0, 3))), op)(0).shape == (0, 3)


def test_abs_gradient_at_nan_is_zero_on_both_paths() -> None:
    """sign(NaN) is taken as 0 (PyTorch's too); the array path used to give NaN."""
    s, x = Value(math.nan), Value(np.array([math.nan, -2.0]))
    s.abs().backward()
    x.abs().sum().backward()
    assert s.grad == 0.0
    np.testing.assert_array_equal(x.grad, [0.0, -1.0])


def test_max_gradient_goes_to_the_nan_entry() -> None:
    """A NaN is the maximum (NumPy, PyTorch): its entry gets the gradient, with no 0/0 warning."""
    x = Value(np.array([[1.0, math.nan, 3.0], [4.0, 5.0, 6.0]]))
    y = x.max(axis=1)
    assert math.isnan(y.data[0]) and y.data[1] == 6.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


# -- singular inputs in forward mode: the JVP column agrees with the corrected VJPs --------------

SINGULAR_POINTS = (0.0, -2.0, -math.inf, math.inf, math.nan, 1e-310, 1e308)


def to_the(p: float) -> Callable[[Value], Value]:
    """x ↦ xᵖ for a constant p (the powc op)."""
    return lambda x: x ** p


def method(name: str) -> Callable[[Value], Value]:
    """x ↦ x.name(): one element-wise op."""
    return lambda x: getattr(x, name)()


SINGULAR_CASES = (
    [(f"x ** {p}", to_the(p), (a,)) for a in SINGULAR_POINTS for p in (-1, 0.5, 0, 2, 3)]
    + [(f"x ** y at {a}, {b}", lambda x, y: x ** y, (a, b))
       for a, b in [(0.0, 0.0), (0.0, -1.0), (0.0, -0.5), (0.0, 2.0), (-2.0, 0.5), (-2.0, 2.0),
                    (-math.inf, 0.5), (math.inf, 0.0), (math.nan, 0.0), (1e308, 3.0),
                    (1e-310, -1.0)]]
    + [(name, method(name), (a,))
       for name in ("relu", "leaky_relu", "abs", "sqrt", "log", "exp", "tanh", "sigmoid",
                    "softplus")
       for a in (0.0, math.nan, -1.0, math.inf, -math.inf, 1000.0)])


@pytest.mark.parametrize("form", ["float", "array"])
@pytest.mark.parametrize(("name", "f", "point"), SINGULAR_CASES, ids=[c[0] for c in SINGULAR_CASES])
def test_jvp_columns_equal_vjp_rows_at_singular_inputs(name: str, f: Callable[..., Value],
                                                      point: tuple[float, ...],
                                                      form: str) -> None:
    """∂y/∂x_k one entry at a time, by one JVP (forward) and by one VJP (reverse), on the scalar
    path and on one-entry arrays: the same number, ±inf and NaN in the same places (0⁻¹, 0⁰,
    (−2)^0.5, (−∞)^0.5, overflow, relu/abs/sign of NaN)."""
    args = point if form == "float" else tuple(np.array([a]) for a in point)
    for k in range(len(args)):
        with np.errstate(all="ignore"):
            forward = tn.jacobian(f, argnums=k, mode="fwd")(*args)
            reverse = tn.jacobian(f, argnums=k, mode="rev")(*args)
        assert type(forward) is type(reverse)
        np.testing.assert_array_equal(forward, reverse, err_msg=f"{name}, argument {k}")


@pytest.mark.parametrize("x", [[1.0, math.nan, 3.0], [math.nan, math.nan, 1.0], [3.0, 3.0, 1.0],
                               [math.inf, math.inf, 1.0], [-math.inf, -math.inf]])
def test_max_jvp_follows_the_nan_and_shares_ties_like_the_vjp(x: list[float]) -> None:
    """A NaN is the maximum, so its tangent is the output's (the JVP used to divide 0 by 0 there);
    k tied entries each pass on 1/k of theirs."""
    forward = tn.jacobian(lambda v: v.max(), mode="fwd")(np.array(x))
    reverse = tn.jacobian(lambda v: v.max(), mode="rev")(np.array(x))
    hit = np.isnan(x) if np.isnan(x).any() else np.array(x) == np.max(x)
    np.testing.assert_array_equal(forward, hit / hit.sum())
    np.testing.assert_array_equal(forward, reverse)


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_jvp_of_softmax_over_an_empty_axis_is_empty(op: str) -> None:
    out, tangent = tn.jvp(lambda v: getattr(v, op)(-1), (np.zeros((2, 0)),), (np.zeros((2, 0)),))
    assert out.shape == tangent.shape == (2, 0)

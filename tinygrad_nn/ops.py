"""The rule table: every primitive operation, its forward computation and its local derivatives.

Each entry is one ``Op``: ``forward(*inputs, *params)`` computes the value, and
``vjps[i](g, ans, *inputs, *params)`` is the *local factor of the chain rule* for input ``i``:
given ``g = ∂E/∂ans`` it returns ``∂E/∂input_i`` (a vector-Jacobian product) in the shape of
input ``i`` (an op that broadcasts its inputs sums the copies back, ``sum_to``).  This is
the only place in tinygrad_nn where a derivative is written down; the engine
(``tinygrad_nn.value``), the graph pictures and the tests all read it from here.

Inputs reach the rules as raw data (a Python ``float`` for scalars, an ``np.ndarray`` for tensors),
or, when ``backward(create_graph=True)`` asks for a differentiable gradient, as ``Value`` objects.
The rules are therefore written with operators and methods both share (``+ - * / ** @``,
``.sum``, ``.reshape``, ``.transpose``) and with the small dual helpers defined below.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

Rule = Callable[..., Any]


class Op:
    """One primitive: its name, the label drawn in graphs, its forward map and one VJP per input."""

    __slots__ = ("name", "label", "forward", "vjps")

    def __init__(self, name: str, label: str, forward: Rule, *vjps: Rule) -> None:
        self.name = name
        self.label = label
        self.forward = forward
        self.vjps = vjps

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


# ----------------------------------------------------------------------------------------------
# Dual helpers: the same call works on raw data and on Values (for create_graph=True).
# ----------------------------------------------------------------------------------------------


def is_value(x: Any) -> bool:
    """True for a ``Value`` (it has an ``_op`` slot); False for floats and arrays."""
    return hasattr(x, "_op")


def raw(x: Any) -> Any:
    """The plain data behind ``x``: used for masks and constants that are not differentiated."""
    return x.data if hasattr(x, "_op") else x


def shape_of(x: Any) -> tuple[int, ...]:
    """Shape of raw data or of a Value; ``()`` for Python floats."""
    return () if type(x) is float else tuple(x.shape)


def _exp(x: Any) -> Any:
    return x.exp() if hasattr(x, "_op") else np.exp(x)


def _log(x: Any) -> Any:
    return x.log() if hasattr(x, "_op") else np.log(x)


def swap_last(x: Any) -> Any:
    """Swap the last two axes (the matrix transpose of a batch of matrices)."""
    axes = list(range(len(shape_of(x))))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return x.transpose(*axes) if hasattr(x, "_op") else np.transpose(x, axes)


def keepdims_shape(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape a reduction over ``axis`` has with ``keepdims=True``."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes that broadcasting added or stretched, so it has ``shape`` again.

    Broadcasting copies an input along new or length-1 axes; by the chain rule each copy's gradient
    flows back to the same entry, so the copies' gradients are summed.
    """
    gshape = shape_of(g)
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1
    )
    summed = g.sum(axis=axes) if axes else g
    if not shape:
        return summed if hasattr(summed, "_op") else float(summed)
    return summed.reshape(shape)


def sum_to(g: Any, x: Any) -> Any:
    """``g`` summed back to the shape of the input ``x`` (see ``unbroadcast``)."""
    return unbroadcast(g, shape_of(x))


def _broadcast_back(g: Any, shape: tuple[int, ...], axis: tuple[int, ...] | None,
                    keepdims: bool) -> Any:
    """Spread the gradient of a reduction back over the reduced axes (the VJP of ``sum``)."""
    if not keepdims and type(g) is not float:     # a float g (from unbroadcast) needs no reshape
        g = g.reshape(keepdims_shape(shape, axis)) if shape else g
    if hasattr(g, "_op"):
        return g.broadcast_to(shape)
    return np.broadcast_to(g, shape) if shape else float(g)


def _count(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> int:
    """How many entries a reduction over ``axis`` averages."""
    if axis is None:
        return math.prod(shape)
    return math.prod(shape[i] for i in axis)


# ----------------------------------------------------------------------------------------------
# Forward maps (scalar fast path with ``math``, NumPy for arrays; numerically stable forms)
# ----------------------------------------------------------------------------------------------


def _exp_fwd(x: Any) -> Any:
    if type(x) is float:
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf
    return np.exp(x)


def _log_fwd(x: Any) -> Any:
    if type(x) is float:
        if x > 0.0:
            return math.log(x)
        return -math.inf if x == 0.0 else math.nan
    return np.log(x)


def _sqrt_fwd(x: Any) -> Any:
    if type(x) is float:
        return math.sqrt(x) if x >= 0.0 else math.nan
    return np.sqrt(x)


def _tanh_fwd(x: Any) -> Any:
    return math.tanh(x) if type(x) is float else np.tanh(x)


def _sigmoid_fwd(x: Any) -> Any:
    """Logistic φ(x) = 1 / (1 + e^{-x}), computed without overflow for any x."""
    if type(x) is float:
        if x >= 0.0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    # 1/(1 + e^{-x}) keeps full relative precision in both tails wherever e^{-x} is finite
    # ((1 + tanh(x/2))/2 loses it for x ≪ 0).  One new array, computed in place: four passes
    # instead of the seven of a where-form.
    out = np.negative(x)
    if type(out) is not np.ndarray:            # a 0-d input gives a NumPy scalar
        out = np.asarray(out)
    # e^{-x} overflows where -x reaches the limit; argmax + item is half the cost of a max
    # reduction.  A NaN is its own argmax and fails the test too: the safe path keeps it NaN.
    if out.size and not out.item(out.argmax()) < _EXP_FINITE.get(out.dtype, 0.0):
        return _sigmoid_far_tail(x, out)
    np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out


_EXP_FINITE = {np.dtype(np.float64): 709.0, np.dtype(np.float32): 88.0}
"""e^t is finite for t below these (log of the largest float); other dtypes take the safe path."""


def _sigmoid_far_tail(x: Any, out: Any) -> Any:
    """φ(x) when e^{-x} overflows somewhere (x ≲ -709, or -88 in float32): φ(x) = e^x there."""
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    tail = out == 0.0
    out[tail] = np.exp(x[tail])
    return out


def _relu_fwd(x: Any) -> Any:
    if type(x) is float:
        return x if x > 0.0 else 0.0
    return np.maximum(x, 0.0)


def _leaky_relu_fwd(x: Any, slope: float) -> Any:
    if type(x) is float:
        return x if x > 0.0 else slope * x
    return np.where(x > 0.0, x, slope * x)


def _softplus_fwd(x: Any) -> Any:
    """softplus(x) = log(1 + e^x), as ``logaddexp(0, x)`` so it is finite for any x."""
    if type(x) is float:
        return max(x, 0.0) + math.log1p(math.exp(-abs(x)))
    return np.logaddexp(0.0, x)


def _pow_fwd(a: Any, b: Any) -> Any:
    if type(a) is float and type(b) is float:
        try:
            return a**b if a >= 0.0 or b.is_integer() else math.nan
        except OverflowError:
            return math.inf
        except ZeroDivisionError:
            return math.inf
    return np.power(a, b)


def _powc_fwd(a: Any, p: float) -> Any:
    if type(a) is float:
        try:
            return a**p if a >= 0.0 or float(p).is_integer() else math.nan
        except (OverflowError, ZeroDivisionError):
            return math.inf
    if p == 2:
        return a * a
    return np.power(a, p)


def _sum_fwd(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    if type(x) is float:
        return x
    return np.asarray(np.sum(x, axis=axis, keepdims=keepdims))


def _mean_fwd(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    if type(x) is float:
        return x
    return np.asarray(np.mean(x, axis=axis, keepdims=keepdims))


def _max_fwd(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    if type(x) is float:
        return x
    return np.asarray(np.max(x, axis=axis, keepdims=keepdims))


def _softmax_fwd(x: Any, axis: int) -> Any:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _log_softmax_fwd(x: Any, axis: int) -> Any:
    """log softmax(x) = x - logsumexp(x), shifted by the max so exp never overflows."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _linear_fwd(x: Any, w: Any, b: Any = None) -> Any:
    # ndarray.dot is the same BLAS product as @ for 1-D and 2-D inputs, bit for bit, without
    # the matmul ufunc's dispatch (about 0.5 µs less per call on a layer's small arrays)
    out = x.dot(w.T) if x.ndim <= 2 else x @ w.T
    if b is not None:
        out += b
    return out


def scatter_add(g: Any, shape: tuple[int, ...], index: Any) -> Any:
    """A zero array of ``shape`` with ``g`` added at ``index`` (repeated indices accumulate)."""
    out = np.zeros(shape, dtype=g.dtype if hasattr(g, "dtype") else np.float64)
    if _is_basic_index(index):
        out[index] = g
    else:
        np.add.at(out, index, g)
    return out


def _is_basic_index(index: Any) -> bool:
    parts = index if type(index) is tuple else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (int, slice, np.integer)) for p in parts)


# ----------------------------------------------------------------------------------------------
# Local derivatives that need more than one line
# ----------------------------------------------------------------------------------------------


def _matmul_fwd(a: Any, b: Any) -> Any:
    out = a @ b
    return out if type(out) is np.ndarray else np.asarray(out)   # 1-D @ 1-D gives a 0-d array


def _matmul_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    """∂E/∂A = G · Bᵀ (vectors are promoted to matrices and back, as ``@`` does)."""
    sa, sb, sg = shape_of(a), shape_of(b), shape_of(g)
    if len(sa) == 1 and len(sb) == 1:                     # dot product
        return g * b
    if len(sb) == 1:                                      # (..., m, n) @ (n,) -> (..., m)
        return unbroadcast(g.reshape(sg + (1,)) * b, sa)
    if len(sa) == 1:                                      # (n,) @ (..., n, k) -> (..., k)
        ga = b @ g.reshape(sg + (1,))
        return unbroadcast(ga.reshape(shape_of(ga)[:-1]), sa)
    return unbroadcast(g @ swap_last(b), sa)


def _matmul_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    """∂E/∂B = Aᵀ · G (vectors are promoted to matrices and back, as ``@`` does)."""
    sa, sb, sg = shape_of(a), shape_of(b), shape_of(g)
    if len(sa) == 1 and len(sb) == 1:                     # dot product
        return g * a
    if len(sa) == 1:                                      # (n,) @ (..., n, k) -> (..., k)
        return unbroadcast(a.reshape(sa + (1,)) * g.reshape(sg[:-1] + (1,) + sg[-1:]), sb)
    if len(sb) == 1:                                      # (..., m, n) @ (n,) -> (..., m)
        gb = swap_last(a) @ g.reshape(sg + (1,))
        return unbroadcast(gb.reshape(shape_of(gb)[:-1]), sb)
    return unbroadcast(swap_last(a) @ g, sb)


def _linear_vjp_w(g: Any, ans: Any, x: Any, w: Any, b: Any = None) -> Any:
    """∂E/∂W = δ · Xᵀ summed over the batch: ``g.T @ x`` for rows of samples."""
    if g.ndim != 2:                           # one sample, or more batch axes: rows first
        out_f, in_f = shape_of(w)
        g, x = g.reshape(-1, out_f), x.reshape(-1, in_f)
    if type(g) is np.ndarray and type(x) is np.ndarray:
        return g.T.dot(x)                     # (see _linear_fwd)
    return g.T @ x


def _linear_vjp_x(g: Any, ans: Any, x: Any, w: Any, b: Any = None) -> Any:
    """∂E/∂x = Wᵀ·δ per sample: ``g @ W`` for rows of samples."""
    if type(g) is np.ndarray and type(w) is np.ndarray and g.ndim <= 2:
        return g.dot(w)                       # (see _linear_fwd)
    return g @ w


def _linear_vjp_b(g: Any, ans: Any, x: Any, w: Any, b: Any) -> Any:
    """∂E/∂B = δ summed over the batch rows."""
    if g.ndim != 2:
        g = g.reshape(-1, shape_of(b)[0])
    return np.add.reduce(g, 0) if type(g) is np.ndarray else g.sum(axis=0)   # (no method hop)


def _max_vjp(g: Any, ans: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    """The gradient goes to the entries that reached the maximum (shared equally among ties)."""
    shape = shape_of(x)
    if not shape:
        return g
    kshape = keepdims_shape(shape, axis)
    hit = raw(x) == np.reshape(raw(ans), kshape)
    share = hit / np.sum(hit, axis=axis, keepdims=True)
    return _broadcast_back(g, shape, axis, keepdims) * share


def _softmax_vjp(g: Any, ans: Any, x: Any, axis: int) -> Any:
    """∂E/∂x = s ⊙ (g − Σ g ⊙ s): the softmax Jacobian diag(s) − s sᵀ applied to g."""
    return ans * (g - (g * ans).sum(axis=axis, keepdims=True))


def _log_softmax_vjp(g: Any, ans: Any, x: Any, axis: int) -> Any:
    """∂E/∂x = g − softmax(x) Σ g."""
    return g - _exp(ans) * g.sum(axis=axis, keepdims=True)


def _getitem_vjp(g: Any, ans: Any, x: Any, index: Any) -> Any:
    """Scatter g back to the indexed entries of a zero array; repeated indices accumulate."""
    shape = shape_of(x)
    if hasattr(g, "_op"):
        return g._scatter_into(shape, index)
    return scatter_add(g, shape, index)


def _pow_vjp_exponent(g: Any, ans: Any, a: Any, b: Any) -> Any:
    """∂(aᵇ)/∂b = aᵇ · ln a (defined for a > 0; taken as 0 where a ≤ 0)."""
    if hasattr(a, "_op"):
        return g * ans * a.log()
    if type(a) is float:
        return g * ans * math.log(a) if a > 0.0 else 0.0 * g
    return g * ans * np.log(np.where(a > 0, a, 1.0))


def _sign(x: Any) -> Any:
    """sign(x) ∈ {−1, 0, 1}: the derivative of |x| (0 taken at x = 0)."""
    x = raw(x)
    if type(x) is float:
        return (x > 0.0) - (x < 0.0) + 0.0
    return np.sign(x)


def _leaky_slope(x: Any, slope: float) -> Any:
    """1 where x > 0, else the leak ``slope``: the derivative of leaky relu."""
    x = raw(x)
    if type(x) is float:
        return 1.0 if x > 0.0 else slope
    return np.where(x > 0.0, 1.0, slope)


def _sigmoid_vjp(g: Any, ans: Any, x: Any) -> Any:
    """∂E/∂x = g · φ(1 − φ), with φ = ans: one new array, multiplied in place."""
    d = 1.0 - ans
    d *= ans
    d *= g
    return d


def _mse_vjp(p: Any, t: Any, scale: Any) -> Any:
    """(p − t) · scale: the VJP of the squared error, with one new array."""
    d = p - t
    d *= scale
    return d


# -- forward maps of the fused error functions E -----------------------------------------------


def _mse_fwd(p: Any, t: Any, reduction: str) -> Any:
    """E = Σ (p − t)² (``"sum"``, seed 004's C₀) or its mean over all entries (``"mean"``)."""
    d = p - t
    if type(d) is float:
        return d * d
    total = np.vdot(d, d)                      # Σ d², flattened, in one call
    return np.asarray(total / d.size if reduction == "mean" else total)


def _mse_scale(p: Any, reduction: str) -> float:
    """2/N for ``"mean"`` (N = number of entries), 2 for ``"sum"``: the factor of ∂E/∂p."""
    return 2.0 / (1 if type(p) is float else p.size) if reduction == "mean" else 2.0


def _softmax_dual(x: Any) -> Any:
    """softmax over the last axis, on raw data or on a Value."""
    return x.softmax(-1) if hasattr(x, "_op") else _softmax_fwd(x, -1)


def _cross_entropy_fwd(x: Any, t: Any) -> Any:
    """E = −(1/N) Σ_n Σ_c t_nc · log softmax(x_n)_c, for logits x (N, C), target rows t."""
    return np.asarray(0.0 - np.vdot(t, _log_softmax_fwd(x, -1)) / x.shape[0])


# ----------------------------------------------------------------------------------------------
# The table
# ----------------------------------------------------------------------------------------------

# The binary element-wise ops broadcast their inputs, so their rules sum each gradient back to
# its input's shape (sum_to); every other rule already returns its input's shape.  A float g
# means every input was a float (the scalar fast path): nothing to sum, no call.
ADD = Op("add", "+", lambda a, b: a + b,
         lambda g, ans, a, b: g if type(g) is float else sum_to(g, a),
         lambda g, ans, a, b: g if type(g) is float else sum_to(g, b))
SUB = Op("sub", "-", lambda a, b: a - b,
         lambda g, ans, a, b: g if type(g) is float else sum_to(g, a),
         lambda g, ans, a, b: -g if type(g) is float else sum_to(-g, b))
MUL = Op("mul", "*", lambda a, b: a * b,
         lambda g, ans, a, b: g * b if type(g) is float else sum_to(g * b, a),
         lambda g, ans, a, b: g * a if type(g) is float else sum_to(g * a, b))
DIV = Op("div", "/", lambda a, b: a / b,
         lambda g, ans, a, b: g / b if type(g) is float else sum_to(g / b, a),
         lambda g, ans, a, b: -g * ans / b if type(g) is float else sum_to(-g * ans / b, b))
NEG = Op("neg", "neg", lambda a: -a,
         lambda g, ans, a: -g)
POW = Op("pow", "**", _pow_fwd,
         lambda g, ans, a, b: sum_to(g * b * a ** (b - 1.0), a),
         lambda g, ans, a, b: sum_to(_pow_vjp_exponent(g, ans, a, b), b))
POWC = Op("powc", "**", _powc_fwd,                                  # exponent p is a constant
          lambda g, ans, a, p: g * (2.0 * a if p == 2 else p * a ** (p - 1) if p != 0
                                    else 0.0 * a))          # (x⁰)' = 0, also at x = 0
MATMUL = Op("matmul", "@", _matmul_fwd, _matmul_vjp_a, _matmul_vjp_b)

EXP = Op("exp", "exp", _exp_fwd,
         lambda g, ans, x: g * ans)                                 # (eˣ)' = eˣ
LOG = Op("log", "log", _log_fwd,
         lambda g, ans, x: g / x)                                   # (ln x)' = 1/x
SQRT = Op("sqrt", "sqrt", _sqrt_fwd,
          lambda g, ans, x: g / (2.0 * ans))                        # (√x)' = 1/(2√x)
ABS = Op("abs", "abs", lambda x: abs(x),
         lambda g, ans, x: g * _sign(x))                           # |x|' = sign x
TANH = Op("tanh", "tanh", _tanh_fwd,
          lambda g, ans, x: g * (1.0 - ans * ans))                  # tanh' = 1 − tanh²
SIGMOID = Op("sigmoid", "φ", _sigmoid_fwd, _sigmoid_vjp)           # φ' = φ(1 − φ)
RELU = Op("relu", "relu", _relu_fwd,
          lambda g, ans, x: g * (raw(x) > 0.0))                     # relu' = [x > 0]
LEAKY_RELU = Op("leaky_relu", "leaky_relu", _leaky_relu_fwd,
                lambda g, ans, x, slope: g * _leaky_slope(x, slope))
SOFTPLUS = Op("softplus", "softplus", _softplus_fwd,
              lambda g, ans, x: g * (x.sigmoid() if is_value(x)      # softplus' = logistic
                                     else _sigmoid_fwd(x)))

SUM = Op("sum", "sum", _sum_fwd,
         lambda g, ans, x, axis, keepdims: _broadcast_back(g, shape_of(x), axis, keepdims))
MEAN = Op("mean", "mean", _mean_fwd,
          lambda g, ans, x, axis, keepdims:
          _broadcast_back(g, shape_of(x), axis, keepdims) / _count(shape_of(x), axis))
MAX = Op("max", "max", _max_fwd, _max_vjp)

RESHAPE = Op("reshape", "reshape", lambda x, shape: np.reshape(x, shape),
             lambda g, ans, x, shape: np.reshape(g, shape_of(x)) if type(g) is float
             else g.reshape(shape_of(x)))
TRANSPOSE = Op("transpose", "transpose", lambda x, axes: np.transpose(x, axes),
               lambda g, ans, x, axes: g.transpose(*np.argsort(axes).tolist())
               if hasattr(g, "_op") else np.transpose(g, np.argsort(axes)))
BROADCAST_TO = Op("broadcast_to", "broadcast", lambda x, shape: np.broadcast_to(x, shape),
                  lambda g, ans, x, shape: unbroadcast(g, shape_of(x)))
GETITEM = Op("getitem", "[]", lambda x, index: np.asarray(x[index]), _getitem_vjp)
SCATTER = Op("scatter", "scatter", scatter_add,                     # the VJP of indexing
             lambda g, ans, x, shape, index: sum_to(g[index], x))

SOFTMAX = Op("softmax", "softmax", _softmax_fwd, _softmax_vjp)
LOG_SOFTMAX = Op("log_softmax", "log_softmax", _log_softmax_fwd, _log_softmax_vjp)

LINEAR = Op("linear", "W·x+b", _linear_fwd,                         # fused affine map f
            _linear_vjp_x,                                          # ∂E/∂x = Wᵀδ (rows: δ·W)
            _linear_vjp_w,                                          # ∂E/∂W = δ·Xᵀ
            _linear_vjp_b)                                          # ∂E/∂B = Σ δ

# fused error functions E (used by tinygrad_nn.functional and tinygrad_nn.nn.losses)
MSE = Op("mse", "mse",    _mse_fwd,                                 # ∂E/∂p = 2(p − t)/N
         lambda g, ans, p, t, reduction: _mse_vjp(p, t, g * _mse_scale(p, reduction)),
         lambda g, ans, p, t, reduction: _mse_vjp(t, p, g * _mse_scale(p, reduction)))
CROSS_ENTROPY = Op("cross_entropy", "cross_entropy", _cross_entropy_fwd,      # (softmax − t)/N
                   lambda g, ans, x, t: (_softmax_dual(x) - t) * (g / shape_of(x)[0]))

TABLE: dict[str, Op] = {op.name: op for op in (
    ADD, SUB, MUL, DIV, NEG, POW, POWC, MATMUL, EXP, LOG, SQRT, ABS, TANH, SIGMOID, RELU,
    LEAKY_RELU, SOFTPLUS, SUM, MEAN, MAX, RESHAPE, TRANSPOSE, BROADCAST_TO, GETITEM, SCATTER,
    SOFTMAX, LOG_SOFTMAX, LINEAR, MSE, CROSS_ENTROPY)}
"""Every primitive by name: the single source for the engine, the tests and the graph labels."""

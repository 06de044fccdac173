"""The rule table: every primitive operation, its forward map and its local derivatives.

This is the only place in tinygrad_nn where a derivative is written down.  The engine
(``value.py``), the graph pictures, the tests and every later tool read it from ``TABLE``.

The rule contract
-----------------
An entry is ``Op(name, label, forward, *vjps, jvps=(...), broadcasts=False)``; creating it adds
it to ``TABLE``, so the table is the set of definitions in this file and no op can be left out of
it.

``forward(*inputs, *params) -> data``
    ``inputs`` are the data of the op's parent Values, in argument order: a Python ``float``
    for a scalar Value, an ``np.ndarray`` for a tensor.  ``params`` are the op's
    non-differentiable parameters (an axis, a shape, a constant exponent...), which the node
    keeps in ``Value.params``.  The result is a ``float`` when every input is a float (the
    scalar path) and an ``ndarray`` otherwise.

``vjps[i](g, ans, *inputs, *params) -> ∂E/∂input_i``
    One rule per input: the chain rule's step ``∂E/∂input_i = g · ∂ans/∂input_i`` (a
    vector-Jacobian product), given ``g = ∂E/∂ans`` and the op's output ``ans``.  The result
    has input ``i``'s shape, except for ``broadcasts=True`` ops (the element-wise binary ops),
    whose rules are written as if both inputs had the output's shape: the engine sums the
    result back over the broadcast axes (``sum_to``), which is the VJP of the implicit
    ``broadcast_to``.  A rule never changes its arguments (one ``g`` may go to several
    parents); it returns either an array it made or one of its arguments unchanged (``g``
    itself, or a view of it), so the engine knows which results it may keep without a copy.

``jvps[i](t, ans, *inputs, *params) -> the output's tangent from input i``
    Forward mode, one rule per input beside its VJP: given the tangent ``t`` of input ``i``
    (an array of input ``i``'s shape, or a float), the rule returns ``∂ans/∂input_i · t`` in the
    output's shape (a Jacobian-vector product); the output's tangent is the sum over the inputs
    that carry one (``tinygrad_nn.forward``).  For element-wise ops it is the VJP's formula with
    ``t`` in place of ``g``, and a linear op (sum, reshape, indexing...) applied to ``t``
    (``map_tangent``).  A result that is only broadcast-compatible with the output (an
    input-shaped ``t`` from a ``broadcasts=True`` op, a bias added to every row) is broadcast
    to the output's shape by the engine: the JVP of the implicit ``broadcast_to``.  Like a VJP,
    a JVP never changes its arguments (one ``t`` goes to every op that uses the input).

A stack of cotangents
    ``tn.jacobian`` in reverse mode carries every row's cotangent at once
    (``tinygrad_nn.batched``): ``g`` then has a leading axis, shape ``(B,) + ans.shape``.  The
    ops listed in ``batched.NATIVE`` get the whole stack and return ``(B,) + input.shape``: an
    element-wise rule does so as written, ``matmul``'s rules keep the stack apart
    (``_stack_of``, ``sum_to_stacked``), the reductions' ``_broadcast_back`` puts it in front.
    Every other rule is called once per row, as here.

``PerInput(rule)`` in place of the rules: an op that takes any number of inputs
    (``concatenate``, ``stack``) has one rule for all of them, ``rule(i, g, ans, *inputs,
    *params)`` (and ``rule(i, t, ...)`` for its JVP), told which input it serves; ``vjps[i]``
    gives the rule for input ``i`` as for any other op.

Three kinds of arguments reach a rule, and each rule is one line that serves all three:

* **The scalar path**: every input is a Python ``float``; ``g`` and ``ans`` are floats too.
  The rule is plain float arithmetic.  Where Python raises on a float (``1.0 / 0.0``,
  ``1e308 ** 3``) and IEEE arithmetic would give ±inf or NaN, the engine runs the rule again
  on NumPy floats.
* **The tensor path**: ``ndarray`` inputs (a scalar operand of a tensor op stays a float).
* **``backward(create_graph=True)``**: ``g``, ``ans`` and the inputs are ``Value``s, and the
  same line records the gradient's computation as new graph nodes, so it can be
  differentiated again (second derivatives).  A JVP gets Values when a transform
  differentiates the tangents (``tn.jvp`` inside ``tn.grad``, ``tn.hessian``); its ``t`` is
  then a Value or data.  That is why rules use operators
  (``+ - * / ** @``), methods that Values and arrays share (``.sum``, ``.reshape``,
  ``.transpose``) and the dual functions below (``exp``, ``log``, ``power``, ``sigmoid``,
  ``map_tangent``...), never ``np.`` calls on ``g``, ``t`` or the inputs; a mask such as
  ``x > 0`` is taken from ``data(x)`` and is a constant.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from typing import Any, cast

import numpy as np

Rule = Callable[..., Any]

TABLE: dict[str, Op] = {}
"""Every primitive by name, in definition order: filled by ``Op`` itself."""


class Op:
    """One primitive: its name, the label drawn in graphs, its forward map, and per input one VJP
    (reverse mode) and one JVP (forward mode).

    ``broadcasts=True`` marks the element-wise binary ops: their inputs are broadcast to a
    common shape, and the engine sums each VJP back to its input's shape (see ``sum_to``).
    """

    __slots__ = ("name", "label", "forward", "vjps", "jvps", "broadcasts")

    def __init__(self, name: str, label: str, forward: Rule, *vjps: Rule | PerInput,
                 jvps: tuple[Rule, ...] | PerInput = (), broadcasts: bool = False) -> None:
        if name in TABLE:
            raise ValueError(f"Op: an op named {name!r} is already in the table")
        self.name = name
        self.label = label
        self.forward = forward
        first = vjps[0] if vjps else None
        self.vjps = first if isinstance(first, PerInput) else cast(tuple[Rule, ...], vjps)
        self.jvps = jvps
        self.broadcasts = broadcasts
        TABLE[name] = self

    def __repr__(self) -> str:
        return f"Op({self.name!r})"


class PerInput:
    """The rules of an op that takes any number of inputs: ``rules[i]`` is ``rule`` told ``i``.

    ``rule(i, g, ans, *inputs, *params)`` serves input ``i`` (see the contract above).  There is
    no fixed list of rules to iterate over: index it by the input's position.
    """

    __slots__ = ("rule",)

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def __getitem__(self, i: int) -> Rule:
        return functools.partial(self.rule, i)

    def __iter__(self) -> Iterator[Rule]:
        raise TypeError(f"PerInput: {self.rule.__name__} serves any number of inputs; index "
                        f"it by the input's position instead of iterating")

    def __repr__(self) -> str:
        return f"PerInput({self.rule.__name__})"


# ----------------------------------------------------------------------------------------------
# Dual functions: one call for a float, an ndarray or a Value (create_graph=True)
# ----------------------------------------------------------------------------------------------


def is_value(x: Any) -> bool:
    """True for a ``Value`` (a graph node), False for floats and arrays."""
    return hasattr(x, "parents")


def data(x: Any) -> Any:
    """The plain number or array behind ``x``: for masks and constants (not differentiated)."""
    return x.data if is_value(x) else x


def shape_of(x: Any) -> tuple[int, ...]:
    """Shape of a float (``()``), an array or a Value."""
    return () if type(x) is float else tuple(x.shape)


def exp(x: Any) -> Any:
    """eˣ."""
    return x.exp() if is_value(x) else _exp_fwd(x)


def log(x: Any) -> Any:
    """ln x."""
    return x.log() if is_value(x) else _log_fwd(x)


def power(a: Any, b: Any) -> Any:
    """aᵇ, with IEEE results: NaN for a negative base (−∞ too) and a non-integer exponent, ±inf on
    overflow or for 0 to a negative power, on every path (Python's ``**`` raises or returns a
    complex; C's pow gives (−∞)^0.5 = +∞ where NumPy's x ** 0.5, a square root, gives NaN)."""
    if type(a) is float and type(b) is float:
        if a == -math.inf and math.isfinite(b) and not b.is_integer():
            return math.nan
        try:
            return math.pow(a, b)
        except (ValueError, OverflowError):
            with np.errstate(all="ignore"):
                return float(np.power(np.float64(a), b))
    if is_value(a) or is_value(b):
        return a ** b
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        out = np.power(a, b)
        minus_infinity = np.isneginf(a)
        if minus_infinity.any():
            fraction = minus_infinity & np.isfinite(b) & (b != np.floor(b))
            out = np.where(fraction, np.nan, out)
    return out


def sigmoid(x: Any) -> Any:
    """The logistic φ(x) = 1 / (1 + e^{−x})."""
    return x.sigmoid() if is_value(x) else _sigmoid_fwd(x)


def softmax(x: Any, axis: int) -> Any:
    """softmax along ``axis``."""
    return x.softmax(axis) if is_value(x) else _softmax_fwd(x, axis)


def sign(x: Any) -> Any:
    """sign(x) ∈ {−1, 0, 1} of the data (a constant): the derivative of |x|, 0 taken at 0 and
    at NaN."""
    x = data(x)
    if type(x) is float:
        return (x > 0.0) - (x < 0.0) + 0.0
    return np.where(np.isnan(x), 0.0, np.sign(x))   # 0 at NaN too, as on the scalar path


def swap_last(x: Any) -> Any:
    """Swap the last two axes (the matrix transpose of a batch of matrices)."""
    axes = list(range(len(shape_of(x))))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return x.transpose(*axes) if is_value(x) else np.transpose(x, axes)


def keepdims_shape(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> tuple[int, ...]:
    """The shape a reduction over ``axis`` has with ``keepdims=True``."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def sum_to(g: Any, x: Any) -> Any:
    """Sum ``g`` over the axes that broadcasting added or stretched, back to the shape of ``x``.

    Broadcasting copies an input along new or length-1 axes; by the chain rule the copies'
    gradients all flow back to the same entry, so they are summed.  ``x`` is the input (its
    data, or a Value); the result is a float when ``x`` is one.
    """
    if type(g) is float:
        return g
    g = _sum_to_shape(g, shape_of(x))
    return float(g) if type(x) is float and not is_value(g) else g


def _sum_to_shape(g: Any, shape: tuple[int, ...]) -> Any:
    """``sum_to`` for a target ``shape``: ``g`` (an array or a Value) summed over the leading axes
    it has beyond ``shape`` and over the axes of length 1 in ``shape`` that it stretched."""
    gshape = tuple(g.shape)
    if gshape != shape:
        lead = len(gshape) - len(shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
        g = g.sum(axis=axes).reshape(shape)
    return g


def _stack_of(g: Any, ans: Any) -> tuple[int, ...]:
    """The leading axes ``g`` has beyond the op's output ``ans``: a stack of cotangents, one per
    row of a Jacobian (``tn.jacobian``, see ``tinygrad_nn.batched``); () in ``backward()``."""
    sg = shape_of(g)
    return sg[:len(sg) - len(shape_of(ans))]


def sum_to_stacked(g: Any, x: Any, stack: tuple[int, ...]) -> Any:
    """``sum_to`` for a stack of gradients: each entry of the leading ``stack`` axes summed back
    to the shape of ``x`` on its own (the stack's axes are kept, never summed)."""
    if not stack:
        return sum_to(g, x)
    shape = shape_of(x)
    added = len(shape_of(g)) - len(stack) - len(shape)    # axes broadcasting put before x's
    return _sum_to_shape(g, stack + (1,) * added + shape).reshape(stack + shape)


def _broadcast_back(g: Any, shape: tuple[int, ...], axis: tuple[int, ...] | None,
                    keepdims: bool) -> Any:
    """Spread the gradient of a reduction back over the reduced axes (the VJP of ``sum``); a
    stack of cotangents (leading axes of ``g`` beyond the reduction's output) stays in front."""
    out_ndim = len(shape) if keepdims else len(shape) - len(shape if axis is None else axis)
    stack = shape_of(g)[:len(shape_of(g)) - out_ndim]
    if not shape and not stack:                   # a scalar was "reduced": nothing to spread
        return g if type(g) is float or is_value(g) else float(g)
    if not keepdims:
        g = g.reshape(stack + keepdims_shape(shape, axis)) if type(g) is not float else \
            np.asarray(g)
    return g.broadcast_to(stack + shape) if is_value(g) else np.broadcast_to(g, stack + shape)


def _count(shape: tuple[int, ...], axis: tuple[int, ...] | None) -> int:
    """How many entries a reduction over ``axis`` averages."""
    if axis is None:
        return math.prod(shape)
    return math.prod(shape[i] for i in axis)


def map_tangent(t: Any, method: str, forward: Rule, *params: Any) -> Any:
    """The JVP of a linear op (Σ, mean, reshape, indexing...): the op itself applied to the
    tangent, ẏ = op(ẋ) — the Value method ``t.method(*params)``, or ``forward(t, *params)``."""
    return getattr(t, method)(*params) if is_value(t) else forward(t, *params)


def inner(a: Any, b: Any) -> Any:
    """⟨a, b⟩ = Σ a ⊙ b over all entries (a float for floats, a 0-d array for arrays)."""
    if is_value(a) or is_value(b):
        return (a * b).sum()
    if type(a) is float and type(b) is float:
        return a * b
    return np.asarray(np.vdot(a, b))


def rerun_on_numpy_floats(rule: Rule, args: tuple[Any, ...]) -> Any:
    """Run a rule again on NumPy floats, which give ±inf or NaN where Python floats raise
    (``1.0 / 0.0``, ``1e308 ** 3``); the engine calls this when a rule raised on the scalar path."""
    with np.errstate(all="ignore"):
        out = rule(*[np.float64(a) if type(a) is float else a for a in args])
    return float(out) if isinstance(out, np.floating) else out


# ----------------------------------------------------------------------------------------------
# Forward maps: ``math`` on the scalar path, NumPy for arrays; numerically stable forms
# ----------------------------------------------------------------------------------------------


def _divide(a: Any, b: Any) -> Any:
    """a / b, with IEEE results for a float divided by 0 (±inf, or NaN for 0/0) as in NumPy."""
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0.0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


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
    # ((1 + tanh(x/2))/2 loses it for x ≪ 0).  One new array, computed in place.
    out = np.negative(x)
    if type(out) is not np.ndarray:            # a 0-d input gives a NumPy scalar
        out = np.asarray(out)
    # e^{-x} overflows where -x reaches the limit; a NaN is its own argmax and fails the test
    # too, so the safe path keeps it NaN.
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
        return 0.0 if x <= 0.0 else x          # NaN stays NaN, as np.maximum keeps it
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
    return power(a, b)


def _powc_fwd(a: Any, p: float) -> Any:
    if p == 2 and type(a) is not float:
        return a * a                           # the square, one multiplication
    return power(a, float(p) if type(a) is float else p)


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
    if x.shape[axis] == 0:                     # softmax of nothing is empty (np.max would raise)
        return np.empty_like(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def _log_softmax_fwd(x: Any, axis: int) -> Any:
    """log softmax(x) = x - logsumexp(x), shifted by the max so exp never overflows."""
    if x.shape[axis] == 0:
        return np.empty_like(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def _matmul_fwd(a: Any, b: Any) -> Any:
    out = a @ b
    return out if type(out) is np.ndarray else np.asarray(out)   # 1-D @ 1-D gives a 0-d array


def _linear_fwd(x: Any, w: Any, b: Any = None) -> Any:
    # ndarray.dot is the same BLAS product as @ for 1-D and 2-D inputs, bit for bit, without
    # the matmul ufunc's dispatch
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


def _mse_fwd(p: Any, t: Any, reduction: str) -> Any:
    """E = Σ (p − t)² (``"sum"``, seed 004's C₀) or its mean over all entries (``"mean"``)."""
    d = p - t
    if type(d) is float:
        return d * d
    total = np.vdot(d, d)                      # Σ d², flattened, in one call
    return np.asarray(total / d.size if reduction == "mean" else total)


def _cross_entropy_fwd(x: Any, t: Any) -> Any:
    """E = −(1/N) Σ_n Σ_c t_nc · log softmax(x_n)_c, for logits x (N, C), target rows t."""
    return np.asarray(0.0 - np.vdot(t, _log_softmax_fwd(x, -1)) / x.shape[0])


# ----------------------------------------------------------------------------------------------
# Local derivatives that need more than one line (each docstring carries its formula)
# ----------------------------------------------------------------------------------------------


def _pow_vjp_base(g: Any, ans: Any, a: Any, b: Any) -> Any:
    """∂(aᵇ)/∂a = b·aᵇ⁻¹, and 0 where b = 0 (a⁰ = 1 for every a, also 0, ±inf and NaN)."""
    at_zero = data(b) == 0.0      # there aᵇ⁻¹ becomes a⁰ = 1 instead of a⁻¹ (∞ at a = 0): b·1 = 0
    return g * b * power(a, b - 1.0 + at_zero)


def _pow_vjp_exponent(g: Any, ans: Any, a: Any, b: Any) -> Any:
    """∂(aᵇ)/∂b = aᵇ·ln a.  Where a < 0 there is no real logarithm and ln a is taken as 0, so the
    gradient there is aᵇ·0 (0 where aᵇ is finite, NaN where it is not: (−2)^0.5 is NaN); at
    a = 0 it is 0 for b ≥ 0 (0ᵇ does not change there) and aᵇ·ln 0 = ∓∞ for b < 0."""
    ad = data(a)
    flat = (ad < 0.0) | ((ad == 0.0) & (data(b) >= 0.0))    # where ln a is taken as 0
    if type(flat) is bool:
        return g * ans * log(1.0 if flat else a)
    if is_value(a):                               # create_graph: a mask the graph can carry
        return g * ans * log(a * (1.0 - flat) + flat)
    return g * ans * log(np.where(flat, 1.0, a))


def _powc_vjp(g: Any, ans: Any, a: Any, p: float) -> Any:
    """∂(aᵖ)/∂a = p·aᵖ⁻¹ (2a for the square; 0 for p = 0, as x⁰ = 1 everywhere)."""
    if p == 2:
        return g * (2.0 * a)
    if p == 0:
        return g * 0.0
    return g * (p * power(a, p - 1.0))


def _matmul_vjp_a(g: Any, ans: Any, a: Any, b: Any) -> Any:
    """∂E/∂A = G · Bᵀ (vectors are promoted to matrices and back, as ``@`` does; a stack of
    cotangents G gives the stack of their gradients)."""
    sa, sb, sg = shape_of(a), shape_of(b), shape_of(g)
    stack = _stack_of(g, ans)
    if len(sa) == 1 and len(sb) == 1:                     # dot product
        return g.reshape(sg + (1,)) * b if stack else g * b
    if len(sa) == 1 and len(sb) == 2:                     # (n,) @ (n, k) -> (k,): g·Bᵀ
        return g @ swap_last(b)
    if len(sb) == 1:                                      # (..., m, n) @ (n,) -> (..., m)
        return sum_to_stacked(g.reshape(sg + (1,)) * b, a, stack)
    if len(sa) == 1:                                      # (n,) @ (..., n, k) -> (..., k)
        ga = b @ g.reshape(sg + (1,))
        return sum_to_stacked(ga.reshape(shape_of(ga)[:-1]), a, stack)
    return sum_to_stacked(g @ swap_last(b), a, stack)


def _matmul_vjp_b(g: Any, ans: Any, a: Any, b: Any) -> Any:
    """∂E/∂B = Aᵀ · G (vectors are promoted to matrices and back, as ``@`` does; a stack of
    cotangents G gives the stack of their gradients)."""
    sa, sb, sg = shape_of(a), shape_of(b), shape_of(g)
    stack = _stack_of(g, ans)
    if len(sa) == 1 and len(sb) == 1:                     # dot product
        return g.reshape(sg + (1,)) * a if stack else g * a
    if len(sa) == 2 and len(sb) == 1:                     # (m, n) @ (n,) -> (m,): Aᵀ·g = g·A
        return g @ a
    if len(sa) == 1:                                      # (n,) @ (..., n, k) -> (..., k)
        return sum_to_stacked(a.reshape(sa + (1,)) * g.reshape(sg[:-1] + (1,) + sg[-1:]), b,
                              stack)
    if len(sb) == 1:                                      # (..., m, n) @ (n,) -> (..., m)
        gb = swap_last(a) @ g.reshape(sg + (1,))
        return sum_to_stacked(gb.reshape(shape_of(gb)[:-1]), b, stack)
    return sum_to_stacked(swap_last(a) @ g, b, stack)


def _linear_vjp_x(g: Any, ans: Any, x: Any, w: Any, b: Any = None) -> Any:
    """∂E/∂x = Wᵀ·δ per sample: ``g @ W`` for rows of samples."""
    if type(g) is np.ndarray and type(w) is np.ndarray and g.ndim <= 2:
        return g.dot(w)                       # (see _linear_fwd)
    return g @ w


def _linear_vjp_w(g: Any, ans: Any, x: Any, w: Any, b: Any = None) -> Any:
    """∂E/∂W = δ · Xᵀ summed over the batch: ``g.T @ x`` for rows of samples."""
    if g.ndim != 2:                           # one sample, or more batch axes: rows first
        out_f, in_f = shape_of(w)
        g, x = g.reshape(-1, out_f), x.reshape(-1, in_f)
    # matmul rather than ndarray.dot here: for the transposed g it makes a faster BLAS call
    # (a fifth fewer instructions with 784 inputs), with the same numbers
    return g.T @ x


def _linear_vjp_b(g: Any, ans: Any, x: Any, w: Any, b: Any) -> Any:
    """∂E/∂B = δ summed over the batch rows."""
    if g.ndim != 2:
        g = g.reshape(-1, shape_of(b)[0])
    return g.sum(axis=0)


def _max_vjp(g: Any, ans: Any, x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    """The gradient goes to the entries that reached the maximum (shared equally among ties)."""
    shape = shape_of(x)
    if not shape:
        return g
    return _broadcast_back(g, shape, axis, keepdims) * _extremum_share(x, ans, axis)


def _extremum_share(x: Any, ans: Any, axis: tuple[int, ...] | None) -> Any:
    """1/k for each of the k entries that reached the maximum (or minimum) ``ans``, 0 elsewhere;
    a NaN is the extremum (NumPy, PyTorch), so NaN entries are the ones that reached it."""
    xd = data(x)
    hit = (xd == np.reshape(data(ans), keepdims_shape(shape_of(x), axis))) | np.isnan(xd)
    return hit / np.sum(hit, axis=axis, keepdims=True)


def _extremum_jvp(t: Any, ans: Any, x: Any, axis: tuple[int, ...] | None,
                  keepdims: bool) -> Any:
    """The tangent of the entries that reached the maximum (or minimum), averaged over ties (the
    transpose of the VJP, which shares the gradient equally among them)."""
    if not shape_of(x):
        return t
    return map_tangent(t * _extremum_share(x, ans, axis), "sum", _sum_fwd, axis, keepdims)


def _reshape_vjp(g: Any, ans: Any, x: Any, shape: tuple[int, ...]) -> Any:
    """The gradient in the input's shape again (a float for a float input)."""
    if is_value(g):
        return g.reshape(shape_of(x))
    return float(np.reshape(g, ())) if type(x) is float else np.reshape(g, x.shape)


def _transpose_vjp(g: Any, ans: Any, x: Any, axes: tuple[int, ...]) -> Any:
    """The inverse permutation puts each gradient entry back where its input entry was."""
    inverse = tuple(int(i) for i in np.argsort(axes))
    return g.transpose(*inverse) if is_value(g) else np.transpose(g, inverse)


def _getitem_vjp(g: Any, ans: Any, x: Any, index: Any) -> Any:
    """Scatter g back to the indexed entries of a zero array; repeated indices accumulate."""
    shape = shape_of(x)
    if is_value(g):
        return g._scatter_into(shape, index)
    return scatter_add(g, shape, index)


def _sigmoid_vjp(g: Any, ans: Any, x: Any) -> Any:
    """∂E/∂x = g · φ(1 − φ), with φ = ans (seed 000: out·(1 − out)); one new array."""
    d = 1.0 - ans
    d *= ans
    d *= g
    return d


def _softmax_vjp(g: Any, ans: Any, x: Any, axis: int) -> Any:
    """∂E/∂x = s ⊙ (g − Σ g ⊙ s): the softmax Jacobian diag(s) − s sᵀ applied to g."""
    return ans * (g - (g * ans).sum(axis=axis, keepdims=True))


def _log_softmax_vjp(g: Any, ans: Any, x: Any, axis: int) -> Any:
    """∂E/∂x = g − softmax(x) Σ g."""
    return g - exp(ans) * g.sum(axis=axis, keepdims=True)


def _mse_scale(p: Any, reduction: str) -> float:
    """2/N for ``"mean"`` (N = number of entries), 2 for ``"sum"``: the factor of ∂E/∂p."""
    return 2.0 / (1 if type(p) is float else p.size) if reduction == "mean" else 2.0


def _mse_vjp_p(g: Any, ans: Any, p: Any, t: Any, reduction: str) -> Any:
    """∂E/∂p = 2(p − t)/N · g (2(p − t) · g for ``"sum"``), with one new array."""
    d = p - t
    d *= g * _mse_scale(p, reduction)
    return d


def _mse_vjp_t(g: Any, ans: Any, p: Any, t: Any, reduction: str) -> Any:
    """∂E/∂t = −∂E/∂p = 2(t − p)/N · g."""
    d = t - p
    d *= g * _mse_scale(p, reduction)
    return d


def _cross_entropy_vjp(g: Any, ans: Any, x: Any, t: Any) -> Any:
    """∂E/∂x = (softmax(x) − t)/N · g."""
    return (softmax(x, -1) - t) * (g / shape_of(x)[0])


def _leaky_slope(x: Any, slope: float) -> Any:
    """1 where x > 0, else the leak ``slope`` (a constant): the derivative of leaky relu."""
    x = data(x)
    if type(x) is float:
        return 1.0 if x > 0.0 else slope
    return np.where(x > 0.0, 1.0, slope)


def _mse_jvp_p(dp: Any, ans: Any, p: Any, target: Any, reduction: str) -> Any:
    """Ė = ⟨2(p − t)/N, ṗ⟩ (⟨2(p − t), ṗ⟩ for ``"sum"``)."""
    return inner(p - target, dp) * _mse_scale(p, reduction)


def _mse_jvp_t(dt: Any, ans: Any, p: Any, target: Any, reduction: str) -> Any:
    """Ė = ⟨2(t − p)/N, ṫ⟩."""
    return inner(target - p, dt) * _mse_scale(p, reduction)


def _cross_entropy_jvp(dx: Any, ans: Any, x: Any, target: Any) -> Any:
    """Ė = ⟨(softmax(x) − t)/N, ẋ⟩."""
    return inner(softmax(x, -1) - target, dx) / shape_of(x)[0]


# ----------------------------------------------------------------------------------------------
# The table (each ``Op(...)`` below adds itself to TABLE)
# ----------------------------------------------------------------------------------------------

# element-wise binary ops: rules in the output's shape, summed back by the engine
ADD = Op("add", "+", lambda a, b: a + b,
         lambda g, ans, a, b: g,                                 # ∂(a + b)/∂a = 1
         lambda g, ans, a, b: g,                                 # ∂(a + b)/∂b = 1
         jvps=(lambda t, ans, a, b: t, lambda t, ans, a, b: t),  # ȧ + ḃ
         broadcasts=True)
SUB = Op("sub", "-", lambda a, b: a - b,
         lambda g, ans, a, b: g,                                 # ∂(a − b)/∂a = 1
         lambda g, ans, a, b: -g,                                # ∂(a − b)/∂b = −1
         jvps=(lambda t, ans, a, b: t, lambda t, ans, a, b: -t), # ȧ − ḃ
         broadcasts=True)
MUL = Op("mul", "*", lambda a, b: a * b,
         lambda g, ans, a, b: g * b,                             # ∂(ab)/∂a = b
         lambda g, ans, a, b: g * a,                             # ∂(ab)/∂b = a
         jvps=(lambda t, ans, a, b: t * b,                       # ȧ·b + a·ḃ
               lambda t, ans, a, b: a * t),
         broadcasts=True)
DIV = Op("div", "/", _divide,
         lambda g, ans, a, b: g / b,                             # ∂(a/b)/∂a = 1/b
         lambda g, ans, a, b: -g * ans / b,                      # ∂(a/b)/∂b = −a/b²
         jvps=(lambda t, ans, a, b: t / b,                       # ȧ/b − (a/b²)·ḃ
               lambda t, ans, a, b: -t * ans / b),
         broadcasts=True)
POW = Op("pow", "**", _pow_fwd, _pow_vjp_base, _pow_vjp_exponent,
         jvps=(_pow_vjp_base, _pow_vjp_exponent),                # element-wise: t in place of g
         broadcasts=True)

# element-wise unary ops
NEG = Op("neg", "neg", lambda a: -a,
         lambda g, ans, a: -g,                                   # (−a)' = −1
         jvps=(lambda t, ans, a: -t,))
POWC = Op("powc", "**", _powc_fwd, _powc_vjp,                   # aᵖ for a constant p
          jvps=(_powc_vjp,))                                     # element-wise: t in place of g
EXP = Op("exp", "exp", _exp_fwd,
         lambda g, ans, x: g * ans,                              # (eˣ)' = eˣ
         jvps=(lambda t, ans, x: t * ans,))
LOG = Op("log", "log", _log_fwd,
         lambda g, ans, x: g / x,                                # (ln x)' = 1/x
         jvps=(lambda t, ans, x: t / x,))
SQRT = Op("sqrt", "sqrt", _sqrt_fwd,
          lambda g, ans, x: g / (2.0 * ans),                     # (√x)' = 1/(2√x)
          jvps=(lambda t, ans, x: t / (2.0 * ans),))
ABS = Op("abs", "abs", lambda x: abs(x),
         lambda g, ans, x: g * sign(x),                          # |x|' = sign x
         jvps=(lambda t, ans, x: t * sign(x),))
TANH = Op("tanh", "tanh", _tanh_fwd,
          lambda g, ans, x: g * (1.0 - ans * ans),               # tanh' = 1 − tanh²
          jvps=(lambda t, ans, x: t * (1.0 - ans * ans),))
SIGMOID = Op("sigmoid", "φ", _sigmoid_fwd, _sigmoid_vjp,        # φ' = φ(1 − φ)
             jvps=(_sigmoid_vjp,))                               # element-wise: t in place of g
RELU = Op("relu", "relu", _relu_fwd,
          lambda g, ans, x: g * (data(x) > 0.0),                 # relu' = [x > 0]
          jvps=(lambda t, ans, x: t * (data(x) > 0.0),))
LEAKY_RELU = Op("leaky_relu", "leaky_relu", _leaky_relu_fwd,
                lambda g, ans, x, slope: g * _leaky_slope(x, slope),   # 1 for x > 0, else slope
                jvps=(lambda t, ans, x, slope: t * _leaky_slope(x, slope),))
SOFTPLUS = Op("softplus", "softplus", _softplus_fwd,
              lambda g, ans, x: g * sigmoid(x),                  # softplus' = logistic
              jvps=(lambda t, ans, x: t * sigmoid(x),))

# reductions
SUM = Op("sum", "sum", _sum_fwd,                                 # each entry counts once
         lambda g, ans, x, axis, keepdims: _broadcast_back(g, shape_of(x), axis, keepdims),
         jvps=(lambda t, ans, x, axis, keepdims: map_tangent(t, "sum", _sum_fwd, axis, keepdims),))
MEAN = Op("mean", "mean", _mean_fwd,                             # each entry counts 1/n
          lambda g, ans, x, axis, keepdims:
          _broadcast_back(g, shape_of(x), axis, keepdims) / _count(shape_of(x), axis),
          jvps=(lambda t, ans, x, axis, keepdims:
                map_tangent(t, "mean", _mean_fwd, axis, keepdims),))
MAX = Op("max", "max", _max_fwd, _max_vjp, jvps=(_extremum_jvp,))

# shape and indexing (the gradient moves back to where each entry came from)
RESHAPE = Op("reshape", "reshape", lambda x, shape: np.reshape(x, shape), _reshape_vjp,
             jvps=(lambda t, ans, x, shape: map_tangent(t, "reshape", np.reshape, shape),))
TRANSPOSE = Op("transpose", "transpose", lambda x, axes: np.transpose(x, axes), _transpose_vjp,
               jvps=(lambda t, ans, x, axes: map_tangent(t, "transpose", np.transpose, axes),))
BROADCAST_TO = Op("broadcast_to", "broadcast", lambda x, shape: np.broadcast_to(x, shape),
                  lambda g, ans, x, shape: sum_to(g, x),
                  jvps=(lambda t, ans, x, shape:
                        map_tangent(t, "broadcast_to", np.broadcast_to, shape),))
GETITEM = Op("getitem", "[]", lambda x, index: np.asarray(x[index]), _getitem_vjp,
             jvps=(lambda t, ans, x, index:
                   map_tangent(t, "__getitem__", lambda t, i: np.asarray(t[i]), index),))
SCATTER = Op("scatter", "scatter", scatter_add,                  # the VJP of indexing
             lambda g, ans, x, shape, index: sum_to(g[index], x),
             jvps=(lambda t, ans, x, shape, index:
                   map_tangent(t, "_scatter_into", scatter_add, shape, index),))

# matrix products and the fused affine map f
MATMUL = Op("matmul", "@", _matmul_fwd, _matmul_vjp_a, _matmul_vjp_b,
            jvps=(lambda t, ans, a, b: t @ b,                    # Ȧ·B + A·Ḃ
                  lambda t, ans, a, b: a @ t))
LINEAR = Op("linear", "W·x+b", _linear_fwd,
            _linear_vjp_x,                                       # ∂E/∂x = Wᵀδ (rows: δ·W)
            _linear_vjp_w,                                       # ∂E/∂W = δ·Xᵀ
            _linear_vjp_b,                                       # ∂E/∂B = Σ δ
            jvps=(lambda t, ans, x, w, b=None: t @ w.T,          # ẋ·Wᵀ + x·Ẇᵀ + ḃ (every row)
                  lambda t, ans, x, w, b=None: x @ t.T,
                  lambda t, ans, x, w, b: t))

# normalisations along an axis
SOFTMAX = Op("softmax", "softmax", _softmax_fwd, _softmax_vjp,
             jvps=(_softmax_vjp,))                               # diag(s) − s sᵀ is symmetric
LOG_SOFTMAX = Op("log_softmax", "log_softmax", _log_softmax_fwd, _log_softmax_vjp,
                 jvps=(lambda t, ans, x, axis:                   # ẋ − Σ softmax(x) ⊙ ẋ
                       t - (exp(ans) * t).sum(axis=axis, keepdims=True),))

# fused error functions E (used by tinygrad_nn.functional and tinygrad_nn.nn.losses)
MSE = Op("mse", "mse", _mse_fwd, _mse_vjp_p, _mse_vjp_t,        # ∂E/∂p = 2(p − t)/N
         jvps=(_mse_jvp_p, _mse_jvp_t))
CROSS_ENTROPY = Op("cross_entropy", "cross_entropy", _cross_entropy_fwd,
                   _cross_entropy_vjp,                           # (softmax − t)/N
                   jvps=(_cross_entropy_jvp,))


# ----------------------------------------------------------------------------------------------
# Joining, selecting, clipping, more reductions, padding and convolution
# ----------------------------------------------------------------------------------------------
# These rules are written like the ones above: operators, methods Values and arrays share, and
# the dual functions below (``where``, ``pad``, ``unfold``, ``fold``, ``conv2d``), which apply an
# op of this table to plain data or, when an argument is a Value, record it (``apply_op``).
# Their JVPs sit beside their VJPs.


def apply_op(op: Op, inputs: tuple[Any, ...], params: tuple[Any, ...] = ()) -> Any:
    """``op`` on ``inputs``: its forward map on plain data, a new graph node when an input is a
    Value (``backward(create_graph=True)``).  How one rule uses another op of the table."""
    for x in inputs:
        if is_value(x):
            return x._apply_op(op, inputs, params)
    return op.forward(*inputs, *params)


def where(cond: Any, a: Any, b: Any) -> Any:
    """``a`` where the constant ``cond`` holds, else ``b`` (broadcast together)."""
    return apply_op(WHERE, (a, b), (cond,))


def pad(x: Any, widths: tuple[tuple[int, int], ...], value: float = 0.0) -> Any:
    """``x`` with ``widths[k] = (before, after)`` entries of ``value`` added along axis k."""
    return apply_op(PAD, (x,), (widths, value))


def unfold(x: Any, kernel: tuple[int, int], stride: tuple[int, int],
           padding: tuple[int, int]) -> Any:
    """The sliding windows (im2col) of images (N, C, H, W): shape (kh, kw, C, N, Ho, Wo)."""
    return apply_op(UNFOLD, (x,), (kernel, stride, padding))


def fold(cols: Any, shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int],
         padding: tuple[int, int]) -> Any:
    """Windows (kh, kw, C, N, Ho, Wo) added back into images of ``shape`` (col2im)."""
    return apply_op(FOLD, (cols,), (shape, kernel, stride, padding))


def conv2d(x: Any, w: Any, stride: tuple[int, int], padding: tuple[int, int]) -> Any:
    """The cross-correlation of images x (N, C, H, W) with kernels w (O, C, kh, kw)."""
    return apply_op(CONV2D, (x, w), (stride, padding))


def _to_shape(x: Any, shape: tuple[int, ...]) -> Any:
    """``x`` broadcast to ``shape`` (the output's shape a JVP must have)."""
    if shape_of(x) == shape:
        return x
    return x.broadcast_to(shape) if is_value(x) else np.broadcast_to(x, shape)


def _like_input(g: Any, x: Any) -> Any:
    """``g`` as a float when the input ``x`` is one (the scalar path), else unchanged."""
    return float(g) if type(x) is float and not is_value(g) else g


def _along(axis: int, part: Any) -> tuple[Any, ...]:
    """The index that takes ``part`` (an int or a slice) along ``axis`` and everything else."""
    return (slice(None),) * axis + (part,)


def _widths_along(ndim: int, axis: int, before: int, after: int) -> tuple[tuple[int, int], ...]:
    """Pad widths that add ``before`` and ``after`` entries along ``axis`` only."""
    return tuple((before, after) if k == axis else (0, 0) for k in range(ndim))


# -- joining: concatenate and stack (any number of inputs) -----------------------------------


def _concatenate_fwd(*inputs_and_axis: Any) -> Any:
    *inputs, axis = inputs_and_axis
    return np.concatenate(inputs, axis=axis)


def _offset(i: int, inputs: list[Any], axis: int) -> int:
    """Where input ``i`` starts along ``axis`` in the concatenation."""
    return sum(shape_of(x)[axis] for x in inputs[:i])


def _concatenate_vjp(i: int, g: Any, ans: Any, *inputs_and_axis: Any) -> Any:
    """∂E/∂input_i is the slice of g where input i was placed."""
    *inputs, axis = inputs_and_axis
    start = _offset(i, inputs, axis)
    return g[_along(axis, slice(start, start + shape_of(inputs[i])[axis]))]


def _concatenate_jvp(i: int, t: Any, ans: Any, *inputs_and_axis: Any) -> Any:
    """The tangent of input i in its slice of the output, zeros elsewhere."""
    *inputs, axis = inputs_and_axis
    before = _offset(i, inputs, axis)
    after = shape_of(ans)[axis] - before - shape_of(inputs[i])[axis]
    return pad(t, _widths_along(len(shape_of(ans)), axis, before, after))


def _stack_fwd(*inputs_and_axis: Any) -> Any:
    *inputs, axis = inputs_and_axis
    return np.stack(inputs, axis=axis)


def _stack_vjp(i: int, g: Any, ans: Any, *inputs_and_axis: Any) -> Any:
    """∂E/∂input_i is entry i of g along the new axis."""
    *inputs, axis = inputs_and_axis
    return _like_input(g[_along(axis, i)], inputs[i])


def _stack_jvp(i: int, t: Any, ans: Any, *inputs_and_axis: Any) -> Any:
    """The tangent of input i at entry i of the new axis, zeros elsewhere."""
    *inputs, axis = inputs_and_axis
    shape = list(shape_of(inputs[i]))
    shape.insert(axis, 1)
    t = t.reshape(tuple(shape)) if is_value(t) else np.reshape(t, shape)
    return pad(t, _widths_along(len(shape), axis, i, len(inputs) - 1 - i))


# -- selecting: where, minimum, maximum, clip ------------------------------------------------


def _where_fwd(a: Any, b: Any, cond: Any) -> Any:
    if type(a) is float and type(b) is float and type(cond) is bool:
        return a if cond else b
    return np.where(cond, a, b)


def _maximum_fwd(a: Any, b: Any) -> Any:
    if type(a) is float and type(b) is float:
        return a if a > b or a != a else b       # NaN wins, as in NumPy
    return np.maximum(a, b)


def _minimum_fwd(a: Any, b: Any) -> Any:
    if type(a) is float and type(b) is float:
        return a if a < b or a != a else b
    return np.minimum(a, b)


def _share_of_first(a: Any, b: Any, first_wins: Any) -> Any:
    """1 where ``a`` was chosen, 1/2 where a = b (the gradient is split between the two, as in
    PyTorch), 0 where ``b`` was: ``first_wins`` is the comparison that picks ``a``.  A NaN is
    chosen over a number (the output is that NaN, as for ``max``) and two NaNs split it."""
    a, b = data(a), data(b)
    a_nan, b_nan = a != a, b != b                 # x != x only for NaN, floats and arrays alike
    share = (first_wins(a, b) | (a_nan & (b == b))) + 0.5 * ((a == b) | (a_nan & b_nan))
    return share if type(share) is float else share.astype(np.result_type(a, b), copy=False)


def _greater(a: Any, b: Any) -> Any:
    return a > b


def _less(a: Any, b: Any) -> Any:
    return a < b


def _clip_fwd(x: Any, low: float | None, high: float | None) -> Any:
    if type(x) is float:
        if low is not None and x < low:
            x = low
        if high is not None and x > high:
            x = high
        return x                                  # NaN stays NaN, as in NumPy
    return np.clip(x, low, high)


def _inside(x: Any, low: float | None, high: float | None) -> Any:
    """1 where low ≤ x ≤ high (the gradient passes), 0 where x was clipped: a constant."""
    x = data(x)
    if type(x) is float:
        return float((low is None or x >= low) and (high is None or x <= high))
    mask = np.ones(x.shape, dtype=bool)
    if low is not None:
        mask &= x >= low
    if high is not None:
        mask &= x <= high
    return mask


# -- more reductions: min, logsumexp, var ----------------------------------------------------


def _min_fwd(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    if type(x) is float:
        return x
    return np.asarray(np.min(x, axis=axis, keepdims=keepdims))


def _logsumexp_fwd(x: Any, axis: tuple[int, ...] | None, keepdims: bool) -> Any:
    """log Σ eˣ = m + log Σ e^{x − m} with m the maximum, so nothing overflows."""
    if type(x) is float:
        return x
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0).astype(x.dtype)   # all −inf (or +inf): no shift
    with np.errstate(divide="ignore"):                     # log 0 = −inf for an all −inf slice
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=keepdims))
    return np.asarray(out + m.reshape(out.shape))


def _softmax_weights(ans: Any, x: Any, axis: tuple[int, ...] | None) -> Any:
    """softmax(x) over ``axis`` as e^{x − logsumexp(x)}: the derivative of logsumexp (1 for a
    single finite entry; NaN where x is ±inf or NaN, as in PyTorch, on every path)."""
    if type(x) is float:
        return exp(x - ans)
    return exp(x - ans.reshape(keepdims_shape(shape_of(x), axis)))


def _logsumexp_vjp(g: Any, ans: Any, x: Any, axis: tuple[int, ...] | None,
                   keepdims: bool) -> Any:
    """∂ logsumexp(x)/∂x = softmax(x): each entry gets g · e^{x − logsumexp(x)}."""
    return _broadcast_back(g, shape_of(x), axis, keepdims) * _softmax_weights(ans, x, axis)


def _logsumexp_jvp(t: Any, ans: Any, x: Any, axis: tuple[int, ...] | None,
                   keepdims: bool) -> Any:
    """Σ softmax(x) · t over the reduced axes."""
    if type(x) is float:
        return t * _softmax_weights(ans, x, axis)
    return (t * _softmax_weights(ans, x, axis)).sum(axis=axis, keepdims=keepdims)


def _var_fwd(x: Any, axis: tuple[int, ...] | None, ddof: int, keepdims: bool) -> Any:
    """Σ (x − mean)² / (n − ddof) over ``axis``."""
    if type(x) is float:                          # one entry, its own mean (ddof = 0):
        return (x - x) * (x - x)                  # 0, or NaN at ±inf and NaN as in NumPy
    return np.asarray(np.var(x, axis=axis, ddof=ddof, keepdims=keepdims))


def _deviation_scaled(x: Any, axis: tuple[int, ...] | None, ddof: int) -> Any:
    """2(x − mean)/(n − ddof): the derivative of the variance with respect to each entry."""
    return (x - x.mean(axis=axis, keepdims=True)) * (2.0 / (_count(shape_of(x), axis) - ddof))


def _var_vjp(g: Any, ans: Any, x: Any, axis: tuple[int, ...] | None, ddof: int,
             keepdims: bool) -> Any:
    """∂ var/∂x_k = 2(x_k − mean)/(n − ddof) (the mean's own dependence on x_k sums to 0)."""
    if type(x) is float:
        return g * (2.0 * (x - x))
    return _broadcast_back(g, shape_of(x), axis, keepdims) * _deviation_scaled(x, axis, ddof)


def _var_jvp(t: Any, ans: Any, x: Any, axis: tuple[int, ...] | None, ddof: int,
             keepdims: bool) -> Any:
    """Σ 2(x − mean)/(n − ddof) · t over the reduced axes."""
    if type(x) is float:
        return t * (2.0 * (x - x))
    return (t * _deviation_scaled(x, axis, ddof)).sum(axis=axis, keepdims=keepdims)


# -- padding, sliding windows and convolution ------------------------------------------------


def _pad_fwd(x: Any, widths: tuple[tuple[int, int], ...], value: float) -> Any:
    return np.pad(x, widths, mode="constant", constant_values=value)


def _pad_vjp(g: Any, ans: Any, x: Any, widths: tuple[tuple[int, int], ...], value: float) -> Any:
    """∂E/∂x is the part of g inside the padding (the padded entries are constants)."""
    return g[tuple(slice(before, before + n) for (before, _), n in zip(widths, shape_of(x)))]


def _pad_images(x: Any, padding: tuple[int, int]) -> Any:
    """Images (N, C, H, W) with ``padding`` rows and columns of zeros around each (stored
    channel by channel, the order unfold reads them in)."""
    ph, pw = padding
    if not (ph or pw):
        return x
    n, c, h, w = x.shape
    padded = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=x.dtype).transpose(1, 0, 2, 3)
    padded[:, :, ph:ph + h, pw:pw + w] = x
    return padded


def _unfold_fwd(x: Any, kernel: tuple[int, int], stride: tuple[int, int],
                padding: tuple[int, int]) -> Any:
    """The im2col matrix as a 6-D array: out[i, j, c, n, p, q] = x_pad[n, c, p·s + i, q·s + j],
    entry (i, j) of window (p, q) of image n, channel c.  Reshaped to (kh·kw·C, N·Ho·Wo), each
    column is one window.  One strided slice of the padded images per kernel offset (i, j),
    copied at once for all windows."""
    (kh, kw), (sh, sw) = kernel, stride
    padded = _pad_images(x, padding)
    n, c, h, w = padded.shape
    ho, wo = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.empty((kh, kw, c, n, ho, wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            out[i, j] = padded[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw].transpose(1, 0, 2, 3)
    return out


def _fold_fwd(cols: Any, shape: tuple[int, ...], kernel: tuple[int, int],
              stride: tuple[int, int], padding: tuple[int, int]) -> Any:
    """Every window entry added back where unfold took it from (overlapping windows add up):
    for each kernel offset (i, j), cols[i, j] is added at once for all windows."""
    n, c, h, w = shape
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    ho, wo = cols.shape[4:]
    out = np.zeros((c, n, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)    # channel by channel
    for i in range(kh):
        for j in range(kw):
            out[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += cols[i, j]
    return out[:, :, ph:ph + h, pw:pw + w].transpose(1, 0, 2, 3)


# The convolution as one matrix product (im2col): the windows are the columns of unfold's
# (kh·kw·C, N·Ho·Wo) matrix, the kernels the rows of W reshaped to (O, kh·kw·C).


def _windows_matrix(x: Any, kernel: tuple[int, int], stride: tuple[int, int],
                    padding: tuple[int, int]) -> Any:
    """im2col: the windows of x as the columns of a (kh·kw·C, N·Ho·Wo) matrix."""
    cols = unfold(x, kernel, stride, padding)                  # (kh, kw, C, N, Ho, Wo)
    kh, kw, c, n, ho, wo = shape_of(cols)
    return cols.reshape(kh * kw * c, n * ho * wo)


def _kernels_matrix(w: Any) -> Any:
    """The kernels W (O, C, kh, kw) as the rows of an (O, kh·kw·C) matrix."""
    o, c, kh, kw = shape_of(w)
    return w.transpose(0, 2, 3, 1).reshape(o, kh * kw * c)


def _conv2d_fwd(x: Any, w: Any, stride: tuple[int, int], padding: tuple[int, int]) -> Any:
    """y[n, o, p, q] = Σ_{c,i,j} x_pad[n, c, p·s + i, q·s + j] · W[o, c, i, j]: one matrix product
    of the kernels and the windows (im2col)."""
    o, _, kh, kw = shape_of(w)
    n, _, h, wd = shape_of(x)
    ho, wo = ((size + 2 * pad - k) // step + 1
              for size, pad, k, step in zip((h, wd), padding, (kh, kw), stride))
    out = _kernels_matrix(w) @ _windows_matrix(x, (kh, kw), stride, padding)   # (O, N·Ho·Wo)
    return out.reshape(o, n, ho, wo).transpose(1, 0, 2, 3)


def _conv2d_vjp_x(g: Any, ans: Any, x: Any, w: Any, stride: tuple[int, int],
                  padding: tuple[int, int]) -> Any:
    """∂E/∂x: every window's gradient Σ_o W[o] · g[n, o, p, q] (one matrix product), added
    back where the windows overlap (fold)."""
    o, c, kh, kw = shape_of(w)
    n, _, ho, wo = shape_of(g)
    g_rows = g.transpose(1, 0, 2, 3).reshape(o, n * ho * wo)
    cols = (_kernels_matrix(w).T @ g_rows).reshape(kh, kw, c, n, ho, wo)
    return fold(cols, shape_of(x), (kh, kw), stride, padding)


def _conv2d_vjp_w(g: Any, ans: Any, x: Any, w: Any, stride: tuple[int, int],
                  padding: tuple[int, int]) -> Any:
    """∂E/∂W[o] = Σ over samples and positions of g[n, o, p, q] · window (n, p, q) of x."""
    o, c, kh, kw = shape_of(w)
    n, _, ho, wo = shape_of(g)
    g_rows = g.transpose(1, 0, 2, 3).reshape(o, n * ho * wo)
    grad = g_rows @ _windows_matrix(x, (kh, kw), stride, padding).T       # (O, kh·kw·C)
    return grad.reshape(o, kh, kw, c).transpose(0, 3, 1, 2)


# ----------------------------------------------------------------------------------------------
# Their entries in the table
# ----------------------------------------------------------------------------------------------

# joining (any number of inputs: one rule serves every input)
CONCATENATE = Op("concatenate", "concat", _concatenate_fwd, PerInput(_concatenate_vjp),
                 jvps=PerInput(_concatenate_jvp))
STACK = Op("stack", "stack", _stack_fwd, PerInput(_stack_vjp), jvps=PerInput(_stack_jvp))

# selecting, with the element-wise binary ops' broadcasting
WHERE = Op("where", "where", _where_fwd,
           lambda g, ans, a, b, cond: where(cond, g, 0.0),          # ∂/∂a = [cond]
           lambda g, ans, a, b, cond: where(cond, 0.0, g),          # ∂/∂b = [not cond]
           jvps=(lambda t, ans, a, b, cond: _to_shape(where(cond, t, 0.0), shape_of(ans)),
                 lambda t, ans, a, b, cond: _to_shape(where(cond, 0.0, t), shape_of(ans))),
           broadcasts=True)
MAXIMUM = Op("maximum", "maximum", _maximum_fwd,
             lambda g, ans, a, b: g * _share_of_first(a, b, _greater),    # [a > b], ½ at a = b
             lambda g, ans, a, b: g * _share_of_first(b, a, _greater),
             jvps=(lambda t, ans, a, b: t * _share_of_first(a, b, _greater),
                   lambda t, ans, a, b: t * _share_of_first(b, a, _greater)),
             broadcasts=True)
MINIMUM = Op("minimum", "minimum", _minimum_fwd,
             lambda g, ans, a, b: g * _share_of_first(a, b, _less),       # [a < b], ½ at a = b
             lambda g, ans, a, b: g * _share_of_first(b, a, _less),
             jvps=(lambda t, ans, a, b: t * _share_of_first(a, b, _less),
                   lambda t, ans, a, b: t * _share_of_first(b, a, _less)),
             broadcasts=True)
CLIP = Op("clip", "clip", _clip_fwd,
          lambda g, ans, x, low, high: g * _inside(x, low, high),   # 1 inside [low, high], else 0
          jvps=(lambda t, ans, x, low, high: t * _inside(x, low, high),))

# reductions
MIN = Op("min", "min", _min_fwd,
         _max_vjp,                         # the same rule as max: to the entries that reached it
         jvps=(_extremum_jvp,))
LOGSUMEXP = Op("logsumexp", "logsumexp", _logsumexp_fwd, _logsumexp_vjp,  # ∂/∂x = softmax(x)
               jvps=(_logsumexp_jvp,))
VAR = Op("var", "var", _var_fwd, _var_vjp,                       # ∂/∂x = 2(x − mean)/(n − ddof)
         jvps=(_var_jvp,))

# padding, sliding windows and convolution (each one's derivative is another of them)
PAD = Op("pad", "pad", _pad_fwd, _pad_vjp,                       # the VJP crops the padding
         jvps=(lambda t, ans, x, widths, value: pad(t, widths),))
UNFOLD = Op("unfold", "unfold", _unfold_fwd,                     # im2col; its VJP is fold
            lambda g, ans, x, kernel, stride, padding: fold(g, shape_of(x), kernel, stride,
                                                            padding),
            jvps=(lambda t, ans, x, kernel, stride, padding: unfold(t, kernel, stride, padding),))
FOLD = Op("fold", "fold", _fold_fwd,                             # col2im; its VJP is unfold
          lambda g, ans, cols, shape, kernel, stride, padding: unfold(g, kernel, stride, padding),
          jvps=(lambda t, ans, cols, shape, kernel, stride, padding:
                fold(t, shape, kernel, stride, padding),))
CONV2D = Op("conv2d", "conv2d", _conv2d_fwd, _conv2d_vjp_x, _conv2d_vjp_w,
            jvps=(lambda t, ans, x, w, stride, padding: conv2d(t, w, stride, padding),  # linear
                  lambda t, ans, x, w, stride, padding: conv2d(x, t, stride, padding)))  # in each

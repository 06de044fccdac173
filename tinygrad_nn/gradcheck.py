"""Gradient checking: the engine's gradients against central finite differences.

∂E/∂x_i ≈ (E(x + ε e_i) − E(x − ε e_i)) / 2ε, entry by entry (or along a few random directions
for large inputs), computed in float64 with nothing recorded.  ``check_grads`` checks every
derivative order of a function's transforms (``tn.jvp``, ``tn.vjp``) the same way.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from . import transforms
from .errors import GradcheckError
from .validation import positive_int, real_number
from .value import Value, no_grad


def _check_inputs(fn_name: str, fn: Any, inputs: Any) -> list[Value]:
    if not callable(fn):
        raise TypeError(f"{fn_name}: fn must be callable, got {type(fn).__name__}")
    if isinstance(inputs, Value):
        inputs = [inputs]
    if not isinstance(inputs, (list, tuple)) or not inputs:
        raise TypeError(f"{fn_name}: inputs must be a non-empty list of Values, got "
                        f"{type(inputs).__name__}")
    for i, v in enumerate(inputs):
        if not isinstance(v, Value):
            raise TypeError(f"{fn_name}: inputs[{i}] must be a Value, got {type(v).__name__}")
    return list(inputs)


def _scalar_output(fn_name: str, out: Any) -> float:
    if isinstance(out, Value):
        out = out.data
    arr = np.asarray(out)
    if arr.size != 1:
        raise ValueError(f"{fn_name}: fn must return a scalar Value, got shape {arr.shape}")
    return float(arr.reshape(()))


def _evaluate(fn: Callable[..., Any], inputs: list[Value]) -> float:
    with no_grad():
        return _scalar_output("numeric_grad", fn(*inputs))


@contextmanager
def _restored(values: Sequence[Value]) -> Iterator[None]:
    """Give every input back its data and its version stamp afterwards: the inputs end as they
    were, so a graph recorded from them before the check can still be backpropagated."""
    saved = [(v.data, v.version) for v in values]
    try:
        yield
    finally:
        for v, (data, version) in zip(values, saved):
            v.data = data
            v.version = version


def numeric_grad(fn: Callable[..., Any], inputs: Sequence[Value],
                 eps: float = 1e-6) -> list[Any]:
    """Central differences ∂fn/∂x ≈ (fn(x + ε) − fn(x − ε)) / 2ε for every entry of every input.

    Returns one gradient per input (a float for scalars, an array of the input's shape).
    The inputs' data are restored exactly afterwards.
    """
    values = _check_inputs("numeric_grad", fn, list(inputs) if not isinstance(inputs, Value)
                           else inputs)
    eps = real_number(eps, "eps", "numeric_grad", low_open=True)
    grads: list[Any] = []
    with _restored(values):
        for v in values:
            if type(v.data) is float:
                x = v.data
                v.data = x + eps
                up = _evaluate(fn, values)
                v.data = x - eps
                down = _evaluate(fn, values)
                v.data = x
                grads.append((up - down) / (2 * eps))
                continue
            out = np.zeros(v.data.shape, dtype=np.float64)
            for index in np.ndindex(*v.data.shape):
                x = float(v.data[index])
                try:                          # in place: the array keeps its identity
                    v.data[index] = x + eps
                    up = _evaluate(fn, values)
                    v.data[index] = x - eps
                    down = _evaluate(fn, values)
                finally:
                    v.data[index] = x
                out[index] = (up - down) / (2 * eps)
            grads.append(out)
    return grads


def _directional(fn: Callable[..., Any], values: list[Value], directions: list[Any],
                 eps: float) -> float:
    """(fn(x + ε u) − fn(x − ε u)) / 2ε for one direction u (one entry per input)."""
    saved = [v.data for v in values]
    with _restored(values):
        for v, x, u in zip(values, saved, directions):
            v.data = x + eps * u if u is not None else x
        up = _evaluate(fn, values)
        for v, x, u in zip(values, saved, directions):
            v.data = x - eps * u if u is not None else x
        down = _evaluate(fn, values)
    return (up - down) / (2 * eps)


def gradcheck(fn: Callable[..., Any], inputs: Sequence[Value], *, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, fast: bool = False,
              directions: int = 4, seed: int = 0) -> bool:
    """Check the engine's ∂fn/∂x against central finite differences for every input that needs grad.

    Passes when |analytic − numeric| ≤ atol + rtol·|numeric| for every entry; returns ``True`` or
    raises ``GradcheckError`` listing the worst entries (input, index, analytic, numeric,
    error). ``fast=True`` compares directional derivatives along a few random directions instead.
    The inputs' data and ``.grad`` are left as they were.
    """
    values = _check_inputs("gradcheck", fn, inputs)
    eps = real_number(eps, "eps", "gradcheck", low_open=True)
    atol = real_number(atol, "atol", "gradcheck")
    rtol = real_number(rtol, "rtol", "gradcheck")
    if fast:                                   # zero directions would check nothing
        directions = positive_int(directions, "directions", "gradcheck")
    for i, v in enumerate(values):
        if v.dtype != np.float64:
            warnings.warn(f"gradcheck: inputs[{i}] is {v.dtype}; finite differences need "
                          f"float64 to be accurate", stacklevel=2)
    checked = [i for i, v in enumerate(values) if v.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    analytic = _analytic(fn, values)
    if fast:
        return _check_directions(fn, values, analytic, checked, eps, atol, rtol, directions,
                                 seed)
    numeric = numeric_grad(fn, values, eps)
    rows = []
    for i in checked:
        a = np.asarray(analytic[i], dtype=np.float64)
        n = np.asarray(numeric[i], dtype=np.float64)
        err = np.abs(a - n)
        bad = ~(err <= atol + rtol * np.abs(n))
        for index in zip(*np.nonzero(bad)) if a.ndim else ([()] if bad else []):
            idx = tuple(int(k) for k in index)
            rows.append((float(err[idx]), i, idx, float(a[idx]), float(n[idx])))
    if rows:
        raise GradcheckError(_report(rows, values, atol, rtol))
    return True


def _analytic(fn: Callable[..., Any], values: list[Value]) -> list[Any]:
    """The engine's gradients of fn at the inputs, without disturbing their ``.grad``."""
    saved = [v.grad for v in values]
    try:
        for v in values:
            v.grad = None
        out = fn(*values)
        if not isinstance(out, Value):
            raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__}")
        _scalar_output("gradcheck", out)
        if out.requires_grad:
            out.backward()
        return [np.zeros(v.shape) if v.grad is None else v.grad for v in values]
    finally:
        for v, g in zip(values, saved):
            v.grad = g


def _check_directions(fn: Callable[..., Any], values: list[Value], analytic: list[Any],
                      checked: list[int], eps: float, atol: float, rtol: float,
                      count: int, seed: int) -> bool:
    rng = np.random.default_rng(seed)
    rows: list[tuple[float, int, tuple[int, ...], float, float]] = []
    for k in range(count):
        dirs: list[Any] = [None] * len(values)
        for i in checked:
            u = rng.standard_normal(values[i].shape)
            dirs[i] = float(u) if type(values[i].data) is float else u
        num = _directional(fn, values, dirs, eps)
        ana = sum(float(np.sum(np.asarray(analytic[i]) * dirs[i])) for i in checked)
        err = abs(ana - num)
        if not err <= atol + rtol * abs(num):
            rows.append((err, -1, (k,), float(ana), num))
    if rows:
        raise GradcheckError(_report(rows, values, atol, rtol))
    return True


def _report(rows: list[tuple[float, int, tuple[int, ...], float, float]], values: list[Value],
            atol: float, rtol: float, limit: int = 10) -> str:
    rows.sort(key=lambda r: -r[0] if math.isfinite(r[0]) else -math.inf)
    lines = [f"gradcheck: {len(rows)} entr{'y' if len(rows) == 1 else 'ies'} differ "
             f"(atol={atol:g}, rtol={rtol:g}); worst first:",
             f"  {'input':<14}{'index':<12}{'analytic':>14}{'numeric':>14}{'error':>12}"]
    for err, i, idx, a, n in rows[:limit]:
        label = "direction" if i < 0 else (values[i].name or f"inputs[{i}]")
        lines.append(f"  {label:<14}{idx!s:<12}{a:>14.6g}{n:>14.6g}{err:>12.3g}")
    if len(rows) > limit:
        lines.append(f"  ... and {len(rows) - limit} more")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# check_grads: every derivative order, in forward and reverse mode
# ----------------------------------------------------------------------------------------------

CHECK_MODES = ("fwd", "rev")
"""``check_grads``' modes: forward (``tn.jvp``) and reverse (``tn.vjp``)."""


def check_grads(f: Callable[..., Any], args: Sequence[Any], order: int = 2,
                modes: Sequence[str] = CHECK_MODES, *, eps: float = 1e-6, atol: float = 1e-5,
                rtol: float = 1e-3, seed: int = 0) -> bool:
    """Check every derivative of ``f`` up to ``order``, in each mode, against central differences.

    As JAX's and HIPS autograd's ``check_grads``: at order 1, ``"fwd"`` compares ``tn.jvp(f,
    args, v)`` with (f(x + εv) − f(x − εv)) / 2ε entry by entry, and ``"rev"`` compares
    ⟨vjp(u), v⟩ with ⟨u, (f(x + εv) − f(x − εv)) / 2ε⟩, for random directions v and u.  Order
    k + 1 checks the same of the derivatives of order k, as functions (x, v) ↦ J(x)·v and
    (x, u) ↦ uᵀ·J(x): order 2 covers forward over forward, reverse over forward, forward over
    reverse and reverse over reverse.  ``f`` takes one Value per entry of ``args`` (numbers or
    arrays) and returns a Value or a tuple of Values.  Returns ``True``, or raises
    ``GradcheckError`` naming the order, the mode and the worst entry.
    """
    if not callable(f):
        raise TypeError(f"check_grads: f must be a function, got {type(f).__name__}")
    if not isinstance(args, (list, tuple)) or not args:
        raise TypeError(f"check_grads: args must be a non-empty tuple or list, one entry per "
                        f"argument of f, got {type(args).__name__}")
    order = positive_int(order, "order", "check_grads")
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    if not modes or any(m not in CHECK_MODES for m in modes):
        raise ValueError(f"check_grads: modes must name some of {CHECK_MODES}, got {modes!r}")
    eps = real_number(eps, "eps", "check_grads", low_open=True)
    atol = real_number(atol, "atol", "check_grads")
    rtol = real_number(rtol, "rtol", "check_grads")
    points = []
    for i, a in enumerate(args):
        try:
            points.append(Value(a, requires_grad=False).data)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"check_grads: args[{i}]: "
                            f"{str(exc).removeprefix('Value: ')}") from None
        if np.dtype(np.asarray(points[-1]).dtype) != np.float64:
            warnings.warn(f"check_grads: args[{i}] is {np.asarray(points[-1]).dtype}; finite "
                          f"differences need float64 to be accurate", stacklevel=2)
    check = _OrderCheck(modes, eps, atol, rtol, np.random.default_rng(seed))
    check.run(f, "f", points, order, 1)
    return True


class _OrderCheck:
    """The settings of one ``check_grads`` call, and its recursion over the orders."""

    def __init__(self, modes: tuple[str, ...], eps: float, atol: float, rtol: float,
                 rng: np.random.Generator) -> None:
        self.modes, self.eps, self.atol, self.rtol, self.rng = modes, eps, atol, rtol, rng

    def run(self, f: Callable[..., Any], name: str, args: list[Any], order: int,
            level: int) -> None:
        """Check ``f``'s first derivatives, then (below ``order``) those of its jvp and vjp."""
        n = len(args)
        if "fwd" in self.modes:
            self.check_jvp(f, name, args, level)
            if level < order:
                def f_jvp(*xv: Any) -> Any:
                    return transforms.jvp(f, xv[:n], xv[n:])[1]
                self.run(f_jvp, f"jvp({name})", [*args, *self.directions(args)], order,
                         level + 1)
        if "rev" in self.modes:
            self.check_vjp(f, name, args, level)
            if level < order:
                outs, is_tuple = _evaluate_outputs(f, args)

                def f_vjp(*xu: Any) -> Any:
                    pull = transforms.vjp(f, *xu[:n])[1]
                    return pull(tuple(xu[n:]) if is_tuple else xu[n])
                self.run(f_vjp, f"vjp({name})", [*args, *self.directions(outs)], order,
                         level + 1)

    def directions(self, like: list[Any]) -> list[Any]:
        """A random direction (standard normal entries) in the shape of each of ``like``."""
        return [float(self.rng.standard_normal()) if type(a) is float
                else self.rng.standard_normal(np.shape(a)) for a in like]

    def numeric_jvp(self, f: Callable[..., Any], args: list[Any], v: list[Any]) -> list[Any]:
        """(f(x + εv) − f(x − εv)) / 2ε, for each output of ``f``."""
        up, _ = _evaluate_outputs(f, [a + self.eps * d for a, d in zip(args, v)])
        down, _ = _evaluate_outputs(f, [a - self.eps * d for a, d in zip(args, v)])
        return [(u - d) / (2 * self.eps) for u, d in zip(up, down)]

    def check_jvp(self, f: Callable[..., Any], name: str, args: list[Any], level: int) -> None:
        """Forward mode: J·v by ``tn.jvp`` against the central difference, entry by entry."""
        v = self.directions(args)
        _, tangent = transforms.jvp(f, args, v)
        analytic = list(tangent) if isinstance(tangent, tuple) else [tangent]
        numeric = self.numeric_jvp(f, args, v)
        rows, total = [], 0
        for k, (a, n) in enumerate(zip(analytic, numeric)):
            a, n = np.asarray(a, dtype=np.float64), np.asarray(n, dtype=np.float64)
            total += a.size
            err = np.abs(a - n)
            for index in np.argwhere(~(err <= self.atol + self.rtol * np.abs(n))):
                idx = tuple(int(i) for i in index)
                rows.append((float(err[idx]), k, idx, float(a[idx]), float(n[idx])))
        if rows:
            raise GradcheckError(self.report(rows, total, level, "fwd", name,
                                             f"J·v by tn.jvp({name})"))

    def check_vjp(self, f: Callable[..., Any], name: str, args: list[Any], level: int) -> None:
        """Reverse mode: ⟨uᵀJ, v⟩ by ``tn.vjp`` against ⟨u, J·v⟩ by the central difference."""
        out, pull = transforms.vjp(f, *args)
        outs = list(out) if isinstance(out, tuple) else [out]
        u = self.directions(outs)
        grads = pull(tuple(u) if isinstance(out, tuple) else u[0])
        v = self.directions(args)
        analytic = sum(float(np.vdot(g, d)) for g, d in zip(grads, v))
        numeric = sum(float(np.vdot(w, jv)) for w, jv in zip(u, self.numeric_jvp(f, args, v)))
        err = abs(analytic - numeric)
        if not err <= self.atol + self.rtol * abs(numeric):
            raise GradcheckError(self.report([(err, -1, (), analytic, numeric)], 1, level, "rev",
                                             name, f"⟨uᵀJ, v⟩ by tn.vjp({name})"))

    def report(self, rows: list[tuple[float, int, tuple[int, ...], float, float]], total: int,
               level: int, mode: str, name: str, what: str, limit: int = 10) -> str:
        """The failure message: order, mode, the function checked, the worst entries first."""
        rows.sort(key=lambda r: -r[0] if math.isfinite(r[0]) else -math.inf)
        lines = [f"check_grads: order {level}, mode {mode} ({what}): differs from central "
                 f"differences in {len(rows)} of {total} entr{'y' if total == 1 else 'ies'} "
                 f"(atol={self.atol:g}, rtol={self.rtol:g}); worst first:",
                 f"  {'output':<10}{'index':<12}{'analytic':>14}{'numeric':>14}{'error':>12}"]
        for err, k, idx, a, n in rows[:limit]:
            label = "⟨u, J v⟩" if k < 0 else str(k)
            lines.append(f"  {label:<10}{idx!s:<12}{a:>14.6g}{n:>14.6g}{err:>12.3g}")
        if len(rows) > limit:
            lines.append(f"  ... and {len(rows) - limit} more")
        return "\n".join(lines)


def _evaluate_outputs(f: Callable[..., Any], args: list[Any]) -> tuple[list[Any], bool]:
    """``f`` at ``args`` (numbers and arrays, given to ``f`` as constant Values), nothing
    recorded: its outputs as floats and float64 arrays, and whether it returned a tuple."""
    with no_grad():
        out = f(*[Value(a, requires_grad=False) for a in args])
    is_tuple = isinstance(out, tuple)
    values = []
    for o in out if is_tuple else (out,):
        data = o.data if isinstance(o, Value) else o
        values.append(data if type(data) is float else np.array(data, dtype=np.float64))
    return values, is_tuple

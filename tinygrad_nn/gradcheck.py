"""Gradient checking: the engine's gradients against central finite differences.

∂E/∂x_i ≈ (E(x + ε e_i) − E(x − ε e_i)) / 2ε, entry by entry (or along a few random directions
for large inputs), computed in float64 with nothing recorded.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

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

"""Gradient clipping between ``backward()`` and ``optimizer.step()``, as in ``torch.nn.utils``.

Both functions check every gradient first and then give each parameter a new, clipped ``.grad``
array: they never write into the old one (a gradient array may be shared), and a bad gradient
leaves every parameter's gradient as it was.  Parameters without a gradient are skipped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..optim.optimizer import checked_grad
from ..validation import flag, real_number
from ..value import Value

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _with_grads(parameters: Value | Iterable[Value], fn: str) -> list[tuple[Value, Any]]:
    """``(parameter, checked gradient)`` for every parameter that has a gradient."""
    if isinstance(parameters, Value):
        parameters = [parameters]
    try:
        items = list(parameters)
    except TypeError:
        raise TypeError(f"{fn}: parameters must be a Value or an iterable of Values (e.g. "
                        f"model.parameters()), got {type(parameters).__name__}") from None
    out = []
    for i, p in enumerate(items):
        if not isinstance(p, Value):
            raise TypeError(f"{fn}: parameters[{i}] must be a Value, got {type(p).__name__}")
        if p.grad is not None:
            out.append((p, checked_grad(p, i, fn)))
    return out


def _norm(g: Any, norm_type: float) -> float:
    """‖g‖_p of one gradient, all its entries as one vector (max |g| for p = ∞)."""
    flat = np.abs(np.ravel(g))
    if flat.size == 0:
        return 0.0
    if math.isinf(norm_type):
        return float(flat.max())
    return float(np.sum(flat ** norm_type) ** (1.0 / norm_type))


def clip_grad_norm_(parameters: Value | Iterable[Value], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale all gradients together so their total norm is at most ``max_norm``; return the norm.

    The total norm is ‖(‖g₁‖_p, ‖g₂‖_p, ...)‖_p, the p-norm of every gradient entry taken as
    one vector; each gradient is multiplied by min(1, max_norm / (total + 10⁻⁶)), as PyTorch
    does.  ``norm_type`` p > 0 or ``float("inf")`` (the largest |entry|).  With
    ``error_if_nonfinite`` a NaN or infinite total raises ValueError instead of clipping.
    """
    fn = "clip_grad_norm_"
    max_norm = real_number(max_norm, "max_norm", fn)
    if not (isinstance(norm_type, (float, np.floating)) and norm_type == math.inf):
        norm_type = real_number(norm_type, "norm_type", fn, low_open=True)
    error_if_nonfinite = flag(error_if_nonfinite, "error_if_nonfinite", fn)
    pairs = _with_grads(parameters, fn)
    if not pairs:
        return 0.0
    total = _norm(np.array([_norm(g, norm_type) for _, g in pairs]), norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise ValueError(f"{fn}: the total norm of the gradients is {total}; "
                         f"set error_if_nonfinite=False to clip anyway")
    coefficient = min(max_norm / (total + 1e-6), 1.0)
    for p, g in pairs:
        p.grad = g * coefficient
    return total


def clip_grad_value_(parameters: Value | Iterable[Value], clip_value: float) -> None:
    """Clamp every gradient entry into [−clip_value, clip_value]."""
    fn = "clip_grad_value_"
    clip_value = real_number(clip_value, "clip_value", fn)
    for p, g in _with_grads(parameters, fn):
        p.grad = np.clip(g, -clip_value, clip_value) if isinstance(g, np.ndarray) else \
            min(max(g, -clip_value), clip_value)

"""The tensor methods of ``Value`` beyond the tutorials' ops, as PyTorch and NumPy name them.

``clip``, ``min``, ``argmax``, ``logsumexp``, ``var``, ``std``, ``flatten``, ``squeeze``,
``unsqueeze`` and ``pad``: ``Value`` inherits them from ``TensorMethods``.  Each checks its
arguments and records one op of the rule table (``std`` is √var, ``flatten``, ``squeeze`` and
``unsqueeze`` are reshapes) through ``Value._apply_op``, so this file needs nothing of
``value.py``: ``ValueLike`` says what the methods use of the Value they are called on.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import numpy as np

from . import ops
from .arguments import axes, clip_bound, fmt, one_axis, pad_widths

__all__ = ["TensorMethods", "ValueLike"]


class ValueLike(Protocol):
    """What the inherited methods use of a ``Value``: its shape and how it records an op."""

    @property
    def data(self) -> Any: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def ndim(self) -> int: ...
    @property
    def size(self) -> int: ...
    def item(self) -> float: ...
    def abs(self) -> Any: ...
    def sqrt(self) -> Any: ...
    def reshape(self, *shape: Any) -> Any: ...
    def var(self, axis: Any = ..., ddof: int = ..., keepdims: bool = ...) -> Any: ...
    @staticmethod
    def _apply_op(op: ops.Op, inputs: tuple[Any, ...], params: tuple[Any, ...]) -> Any: ...


V = TypeVar("V", bound=ValueLike)


class TensorMethods:
    """Methods ``Value`` inherits: each records one op of the rule table on ``self``."""

    __slots__ = ()

    def clip(self: V, min: float | None = None, max: float | None = None) -> V:
        """x limited to [min, max], element-wise; the gradient is 1 where min ≤ x ≤ max, else 0."""
        low, high = clip_bound(min, "min"), clip_bound(max, "max")
        if low is None and high is None:
            raise ValueError("clip: give min, max or both, got neither")
        return self._apply_op(ops.CLIP, (self,), (low, high))

    def min(self: V, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> V:
        """Minimum over ``axis``; the gradient is shared equally among tied minima."""
        if self.size == 0:
            raise ValueError("min: cannot take the minimum of an empty Value")
        return self._apply_op(ops.MIN, (self,), (axes(axis, self.ndim, "min"), bool(keepdims)))

    def argmax(self: V, axis: int | None = None, keepdims: bool = False) -> Any:
        """Index of the (first) maximum over ``axis``, of the flattened data for None: integers,
        not a Value (an index has no gradient)."""
        if self.size == 0:
            raise ValueError("argmax: cannot take the argmax of an empty Value")
        ax = None if axis is None else one_axis(axis, self.ndim, "argmax")
        return np.argmax(self.data, axis=ax, keepdims=bool(keepdims))

    def logsumexp(self: V, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> V:
        """log Σ eˣ over ``axis``, shifted by the maximum so it never overflows;
        ∂/∂x = softmax(x)."""
        if self.size == 0:
            raise ValueError("logsumexp: cannot reduce an empty Value")
        return self._apply_op(ops.LOGSUMEXP, (self,),
                              (axes(axis, self.ndim, "logsumexp"), bool(keepdims)))

    def var(self: V, axis: int | Sequence[int] | None = None, ddof: int = 0,
            keepdims: bool = False) -> V:
        """Variance Σ (x − mean)² / (n − ddof) over ``axis`` (ddof=1: the unbiased estimate);
        ∂/∂x = 2(x − mean)/(n − ddof)."""
        reduced = axes(axis, self.ndim, "var")
        if isinstance(ddof, bool) or not isinstance(ddof, (int, np.integer)) or ddof < 0:
            raise ValueError(f"var: ddof must be a non-negative integer, got {ddof!r}")
        n = math.prod(self.shape) if reduced is None else math.prod(self.shape[a] for a in reduced)
        if n - ddof <= 0:
            raise ValueError(f"var: ddof={ddof} needs more than {ddof} entries to average, got "
                             f"{n} (shape {fmt(self.shape)}, axis={axis!r})")
        return self._apply_op(ops.VAR, (self,), (reduced, int(ddof), bool(keepdims)))

    def std(self: V, axis: int | Sequence[int] | None = None, ddof: int = 0,
            keepdims: bool = False) -> V:
        """Standard deviation √var (see ``var``); its derivative is the chain rule through √."""
        return self.var(axis, ddof, keepdims).sqrt()

    def flatten(self: V, start_dim: int = 0, end_dim: int = -1) -> V:
        """Axes ``start_dim`` … ``end_dim`` merged into one (a reshape): ``x.flatten(1)`` turns
        images (N, C, H, W) into rows (N, C·H·W)."""
        shape = self.shape
        if not shape:
            return self.reshape(1)
        start = one_axis(start_dim, len(shape), "flatten")
        end = one_axis(end_dim, len(shape), "flatten")
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for "
                             f"a Value of shape {fmt(shape)}")
        merged = math.prod(shape[start:end + 1])
        new = shape[:start] + (merged,) + shape[end + 1:]
        return self._apply_op(ops.RESHAPE, (self,), (new,))

    def squeeze(self: V, axis: int | Sequence[int] | None = None) -> V:
        """Remove the length-1 axes (all of them, or those of ``axis`` that have length 1, as in
        PyTorch): a reshape."""
        shape = self.shape
        chosen = range(len(shape)) if axis is None else axes(axis, len(shape), "squeeze") or ()
        drop = {a for a in chosen if shape[a] == 1}
        kept = tuple(n for a, n in enumerate(shape) if a not in drop)
        return self._apply_op(ops.RESHAPE, (self,), (kept,))

    def unsqueeze(self: V, axis: int) -> V:
        """A new axis of length 1 at position ``axis`` (−1: last), as ``np.expand_dims``: a
        reshape."""
        shape = list(self.shape)
        shape.insert(one_axis(axis, len(shape) + 1, "unsqueeze"), 1)
        return self._apply_op(ops.RESHAPE, (self,), (tuple(shape),))

    def pad(self: V, pad_width: int | Sequence[int] | Sequence[Sequence[int]],
            value: float = 0.0) -> V:
        """``value`` added around the data, as ``np.pad(mode="constant")``: ``pad_width`` is n,
        (before, after), or one (before, after) per axis.  The gradient crops the padding."""
        if self.ndim == 0:
            raise ValueError("pad: a scalar Value has no axes to pad")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                              np.floating)):
            raise TypeError(f"pad: value must be a number, got {value!r}")
        return self._apply_op(ops.PAD, (self,), (pad_widths(pad_width, self.ndim), float(value)))

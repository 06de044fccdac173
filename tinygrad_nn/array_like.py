"""How a ``Value`` behaves among NumPy code: ``Value`` inherits ``ArrayLike``'s methods.

A Value works where NumPy expects an array: ``np.asarray(v)``, ``float(v)``, ``bool(v)`` and
``len(v)`` read its data (a constant), and comparisons give boolean arrays of the data.  NumPy's
ufuncs and functions (``np.exp(v)``, ``np.sum(v)``, ``np.concatenate([u, v])``) run the Value
operation of the same meaning; which one is which is the table of ``interop.py``, which builds
nodes with ``value.py``'s functions and so sits above it: it fills ``NUMPY_DISPATCH`` when
``tinygrad_nn`` is imported.  Anything without a rule raises a TypeError: no NumPy call returns
a result that silently lost the graph.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .arguments import fmt
from .ops import data
from .tensor_methods import V, ValueLike

__all__ = ["NUMPY_DISPATCH", "ArrayLike"]

NUMPY_DISPATCH: dict[str, Callable[..., Any]] = {}
"""``"ufunc"`` and ``"function"``: what ``__array_ufunc__`` and ``__array_function__`` call
(``interop.numpy_ufunc`` and ``interop.numpy_function``, put here by ``interop.py``)."""


class ArrayLike:
    """The NumPy side of ``Value``: conversions, comparisons, and NumPy's two dispatch hooks."""

    __slots__ = ()

    __hash__ = object.__hash__   # identity, as the engine keys dicts and sets by node

    def __array__(self: ValueLike, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(v)``: the data as an array, a constant outside the graph (no gradient)."""
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return np.asarray(self.data, dtype=dtype)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NumPy ufuncs on Values: ``np.exp(v)`` is ``v.exp()``, ``array + v`` is a node of the
        graph, comparisons and tests (``np.isnan``) give boolean arrays; others raise."""
        return NUMPY_DISPATCH["ufunc"](ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """NumPy functions on Values: ``np.sum(v)``, ``np.concatenate([u, v])``... are the
        Value functions of that meaning; ``np.shape(v)`` reads the data; others raise."""
        return NUMPY_DISPATCH["function"](func, types, args, kwargs)

    def __float__(self: ValueLike) -> float:
        """``float(v)`` for a Value with one entry (a number: it has no gradient)."""
        return _one_number(self, "float")

    def __int__(self: ValueLike) -> int:
        """``int(v)`` for a Value with one entry, truncated towards 0 as ``int(2.7)``."""
        return int(_one_number(self, "int"))

    def __bool__(self: ValueLike) -> bool:
        """The truth of a one-entry Value (``if loss:``), as in NumPy; more entries raise."""
        if self.size != 1:
            raise ValueError(f"bool: the truth value of a Value with {self.size} entries (shape "
                             f"{fmt(self.shape)}) is ambiguous; reduce it first, e.g. "
                             f"(v > 0).any() or (v > 0).all()")
        return bool(self.item())

    def __len__(self: ValueLike) -> int:
        """The length of the first axis, as ``len(array)``."""
        if self.ndim == 0:
            raise TypeError("len: a scalar Value (shape ()) has no length")
        return int(self.shape[0])

    def __abs__(self: V) -> V:
        """``abs(v)``: |x| element-wise (``v.abs()``)."""
        return self.abs()

    def __lt__(self: ValueLike, other: Any) -> Any:
        """``v < other``: a boolean array (or NumPy bool) of the data: no gradient."""
        return np.less(self.data, data(other))

    def __le__(self: ValueLike, other: Any) -> Any:
        """``v <= other``: a boolean array of the data."""
        return np.less_equal(self.data, data(other))

    def __gt__(self: ValueLike, other: Any) -> Any:
        """``v > other``: a boolean array of the data."""
        return np.greater(self.data, data(other))

    def __ge__(self: ValueLike, other: Any) -> Any:
        """``v >= other``: a boolean array of the data."""
        return np.greater_equal(self.data, data(other))

    def __eq__(self: ValueLike, other: object) -> Any:
        """``v == other``: a boolean array of the data, entry by entry (hashing stays identity)."""
        try:
            return np.equal(self.data, data(other))
        except TypeError:                 # not comparable with numbers: not equal, as NumPy says
            return NotImplemented

    def __ne__(self: ValueLike, other: object) -> Any:
        """``v != other``: a boolean array of the data, entry by entry."""
        try:
            return np.not_equal(self.data, data(other))
        except TypeError:
            return NotImplemented


def _one_number(v: ValueLike, fn: str) -> float:
    """The one entry of ``v`` as a float, for ``float(v)`` and ``int(v)``."""
    if v.size != 1:
        raise TypeError(f"{fn}: only a Value with one entry converts to a number, got shape "
                        f"{fmt(v.shape)}")
    return v.item()

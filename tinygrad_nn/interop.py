"""NumPy's ufuncs and functions on Values: which NumPy name is which Value operation.

``np.exp(v)`` is ``v.exp()``, ``array + v`` the ``add`` node with the array as a constant,
``np.sum(v, axis=0)`` is ``v.sum(axis=0)``, ``np.concatenate([u, v])`` is ``tn.concatenate``;
comparisons, tests and index functions (``np.isnan``, ``np.argmax``, ``np.shape``) run on the data
and have no gradient; everything else raises a TypeError rather than return numbers that left the
graph.  ``Value.__array_ufunc__`` and ``__array_function__`` (``array_like.py``) call
``numpy_ufunc`` and ``numpy_function``; this file builds nodes with ``value.py``'s functions, so
it sits above it and hands the two to ``array_like.NUMPY_DISPATCH`` when it is imported (by
``tinygrad_nn/__init__.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import ops
from .arguments import fmt
from .array_like import NUMPY_DISPATCH
from .ops import data
from .value import Value, _binary, _constant, _matmul, concatenate, maximum, minimum, stack, where

__all__ = ["numpy_function", "numpy_ufunc"]


def _power(a: Any, b: Any) -> Value:
    return a ** b if isinstance(a, Value) else _binary(ops.POW, a, b)


_UFUNCS: dict[np.ufunc, Callable[..., Value]] = {
    np.add: lambda a, b: _binary(ops.ADD, a, b),
    np.subtract: lambda a, b: _binary(ops.SUB, a, b),
    np.multiply: lambda a, b: _binary(ops.MUL, a, b),
    np.divide: lambda a, b: _binary(ops.DIV, a, b),
    np.power: _power,
    np.matmul: lambda a, b: _matmul(_constant(a, "matmul"), b),
    np.negative: lambda x: -x,
    np.square: lambda x: x ** 2,
    np.exp: Value.exp, np.log: Value.log, np.sqrt: Value.sqrt, np.absolute: Value.abs,
    np.tanh: Value.tanh, np.maximum: maximum, np.minimum: minimum,
}
"""The ufuncs with an op in the rule table: a Value argument makes them a node of the graph."""

_DATA_UFUNCS = frozenset({
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.isfinite, np.isnan, np.isinf, np.signbit, np.sign, np.floor, np.ceil,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
})
"""Ufuncs whose result has no gradient (comparisons, tests, step functions): run on the data."""


def numpy_ufunc(ufunc: np.ufunc, method: str, inputs: tuple[Any, ...],
                kwargs: dict[str, Any]) -> Any:
    """``ufunc(*inputs, **kwargs)`` with a Value among them: the op of ``_UFUNCS``, or the data's
    result for ``_DATA_UFUNCS``; a TypeError for anything else."""
    name = f"np.{ufunc.__name__}"
    if method != "__call__":
        raise TypeError(f"{name}.{method} does not work on Values; use the Value methods "
                        f"(v.sum(axis=...), v.max(axis=...))")
    out = kwargs.pop("out", None)
    if ufunc in _DATA_UFUNCS:
        if out is not None and any(isinstance(o, Value) for o in out):
            raise TypeError(f"{name}: out= must be arrays, not Values")
        extra = {} if out is None else {"out": out}
        return ufunc(*[data(x) for x in inputs], **kwargs, **extra)
    op = _UFUNCS.get(ufunc)
    if op is None:
        raise TypeError(f"{name}: the rule table has no op for this ufunc, so its result on a "
                        f"Value would have no gradient; use Value operations, or np.asarray(v) "
                        f"for the numbers alone")
    if kwargs:
        raise TypeError(f"{name}: keyword arguments {sorted(kwargs)} are not supported with "
                        f"Values")
    result = op(*inputs)
    if out is not None and not (len(out) == 1 and out[0] is inputs[0]
                                and not isinstance(out[0], Value)):
        raise TypeError(f"{name}: out= cannot hold a Value's result (a new node of the graph); "
                        f"assign the result instead")
    return result     # `array += v` rebinds the name to the Value array + v (the array is kept)


def _refuse(fn: str, **given: Any) -> None:
    """Raise for NumPy keyword arguments a Value function has no use for (out=, dtype=...)."""
    used = sorted(k for k, v in given.items() if v is not None and k != "keepdims")
    if used:
        raise TypeError(f"np.{fn}: {', '.join(used)} {'is' if len(used) == 1 else 'are'} not "
                        f"supported on Values")


def _np_sum_like(method: str) -> Callable[..., Value]:
    def call(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
             keepdims: bool = False, **rest: Any) -> Value:
        _refuse(method, dtype=dtype, out=out, **rest)
        return getattr(_constant(a, method), method)(axis=axis, keepdims=keepdims)
    return call


def _np_max_like(method: str) -> Callable[..., Value]:
    def call(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
             **rest: Any) -> Value:
        _refuse(method, out=out, **rest)
        return getattr(_constant(a, method), method)(axis=axis, keepdims=keepdims)
    return call


def _np_var_like(method: str) -> Callable[..., Value]:
    def call(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: int = 0,
             keepdims: bool = False, **rest: Any) -> Value:
        _refuse(method, dtype=dtype, out=out, **rest)
        return getattr(_constant(a, method), method)(axis=axis, ddof=ddof, keepdims=keepdims)
    return call


def _np_clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, *,
             min: Any = None, max: Any = None, **rest: Any) -> Value:
    _refuse("clip", out=out, **rest)
    return _constant(a, "clip").clip(a_min if min is None else min, a_max if max is None else max)


def _np_join(fn: Callable[..., Value], name: str) -> Callable[..., Value]:
    def call(arrays: Any, axis: int = 0, out: Any = None, **rest: Any) -> Value:
        _refuse(name, out=out, **rest)
        return fn(list(arrays), axis)
    return call


def _np_where(condition: Any, *xy: Any) -> Any:
    if not xy:                                    # np.where(c): the indices, no gradient
        return np.where(data(condition))
    if len(xy) != 2:
        raise TypeError("np.where: give the condition and both x and y, or the condition alone")
    return where(condition, *xy)


def _np_reshape(a: Any, shape: Any = None, order: str = "C", **rest: Any) -> Value:
    shape = rest.pop("newshape", shape)
    _refuse("reshape", order=None if order == "C" else order, **rest)
    return _constant(a, "reshape").reshape(shape)


def _np_pad(array: Any, pad_width: Any, mode: str = "constant", *, constant_values: Any = 0.0,
            **rest: Any) -> Value:
    _refuse("pad", mode=None if mode == "constant" else mode, **rest)
    return _constant(array, "pad").pad(pad_width, constant_values)


def _np_dot(a: Any, b: Any, out: Any = None) -> Value:
    _refuse("dot", out=out)
    a, b = _constant(a, "dot"), _constant(b, "dot")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim > 2 or b.ndim > 2:
        raise TypeError(f"np.dot: for arrays with more than 2 axes (shapes {fmt(a.shape)}, "
                        f"{fmt(b.shape)}) use a @ b, which broadcasts the batch axes")
    return _matmul(a, b)


_FUNCTIONS: dict[Callable[..., Any], Callable[..., Any]] = {
    np.sum: _np_sum_like("sum"), np.mean: _np_sum_like("mean"),
    np.max: _np_max_like("max"), np.amax: _np_max_like("max"),
    np.min: _np_max_like("min"), np.amin: _np_max_like("min"),
    np.var: _np_var_like("var"), np.std: _np_var_like("std"),
    np.clip: _np_clip, np.where: _np_where, np.dot: _np_dot, np.pad: _np_pad,
    np.concatenate: _np_join(concatenate, "concatenate"), np.stack: _np_join(stack, "stack"),
    np.reshape: _np_reshape,
    np.transpose: lambda a, axes=None: _constant(a, "transpose").transpose(*(axes or ())),
    np.squeeze: lambda a, axis=None: _constant(a, "squeeze").squeeze(axis),
    np.expand_dims: lambda a, axis: _constant(a, "expand_dims").unsqueeze(axis),
    np.ravel: lambda a, order="C": _constant(a, "ravel").flatten(),
}
"""NumPy functions that are Value functions: a Value argument gives a node of the graph."""

_DATA_FUNCTIONS = frozenset({
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.allclose, np.isclose,
    np.array_equal, np.any, np.all, np.count_nonzero, np.nonzero,
})
"""NumPy functions whose result has no gradient (shapes, indices, tests): run on the data."""


def _plain(x: Any) -> Any:
    """``x`` with every Value (also inside lists and tuples) replaced by its data."""
    if isinstance(x, Value):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(item) for item in x)
    return x


def numpy_function(func: Any, types: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``func(*args, **kwargs)`` with a Value among them: the Value function of ``_FUNCTIONS``,
    or the data's result for ``_DATA_FUNCTIONS``; a TypeError for anything else."""
    if not all(issubclass(t, (Value, np.ndarray)) for t in types):
        return NotImplemented
    call = _FUNCTIONS.get(func)
    if call is not None:
        return call(*args, **kwargs)
    if func in _DATA_FUNCTIONS:
        return func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
    name = f"{func.__module__.replace('numpy._core', 'numpy')}.{func.__name__}"
    raise TypeError(f"{name.replace('numpy.', 'np.', 1)}: no Value function does this, so its "
                    f"result would have no gradient; build it from Value operations, or use "
                    f"np.asarray(v) for the numbers alone")


NUMPY_DISPATCH["ufunc"] = numpy_ufunc
NUMPY_DISPATCH["function"] = numpy_function

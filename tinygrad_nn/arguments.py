"""The argument checks of ``Value`` and its methods: data, axes, shapes, indices, bounds, pads.

Each turns what a user may pass (an int or a tuple of ints, ``-1`` in a shape, a list as an
index...) into the one form the rule table's ops take, or raises an error that names the method,
what was expected and what was given.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .ops import is_value
from .validation import int_tuple

__all__ = ["as_data", "axes", "clip_bound", "fmt", "holds_value", "normalize_index", "one_axis",
           "pad_widths", "reshape_target", "short"]


def short(obj: Any) -> str:
    """``repr(obj)``, cut to 60 characters for an error message."""
    text = repr(obj)
    return text if len(text) <= 60 else text[:57] + "..."


def fmt(shape: tuple[int, ...]) -> str:
    """A shape as an error message shows it: ``(2, 3)``."""
    return str(tuple(shape))


def as_data(data: Any, fn: str = "Value") -> Any:
    """Validate and convert user data: numbers to ``float``, array-likes to float ndarrays."""
    if isinstance(data, np.ndarray):                     # the common case first
        if data.dtype == np.float32 or data.dtype == np.float64:
            return data
        if data.dtype.kind in "biu":
            return data.astype(np.float64)
        if data.dtype.kind == "f":
            return data.astype(np.float64)
        raise TypeError(f"{fn}: expected a real numeric array, got an array of dtype {data.dtype}")
    if is_value(data):
        raise TypeError(f"{fn}: expected a number or an array, got a Value (use .detach())")
    if isinstance(data, (bool, np.bool_)):
        return float(data)
    if isinstance(data, (int, float, np.integer, np.floating)):
        try:
            return float(data)
        except OverflowError:                 # an int beyond 1.8e308
            raise ValueError(f"{fn}: the integer {short(data)} ({len(str(abs(data)))} digits) "
                             f"is too large for a float64") from None
    if isinstance(data, (complex, np.complexfloating)):
        raise TypeError(f"{fn}: complex numbers are not supported, got {data!r}")
    if isinstance(data, (list, tuple)):
        if holds_value(data):
            raise TypeError(f"{fn}: got a list holding Values; use tn.stack(...) or "
                            f"tn.concatenate(...) to keep them in the graph, or .detach() them")
        try:
            arr = np.array(data)
        except ValueError as exc:
            raise ValueError(f"{fn}: expected a rectangular (non-ragged) nested list, got "
                             f"{short(data)}") from exc
        if arr.dtype == object:
            raise ValueError(f"{fn}: expected a rectangular nested list of numbers, got "
                             f"{short(data)}")
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{fn}: expected numbers, got {short(data)} (dtype {arr.dtype})")
        return arr.astype(np.float64)
    raise TypeError(f"{fn}: expected a number, a list of numbers or an np.ndarray, "
                    f"got {type(data).__name__} {short(data)}")


def holds_value(items: Sequence[Any]) -> bool:
    """True when a (nested) list or tuple contains a Value anywhere."""
    return any(is_value(x) or (isinstance(x, (list, tuple)) and holds_value(x))
               for x in items)


def axes(axis: Any, ndim: int, fn: str) -> tuple[int, ...] | None:
    """Normalise ``axis`` (int, sequence or None) to a sorted tuple, with a clear error."""
    if axis is None:
        return None
    try:
        items = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    except TypeError:                         # e.g. axis=1.0: not an int and not iterable
        raise TypeError(f"{fn}: axis must be an int or a tuple of ints, got {axis!r}") from None
    out = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{fn}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{fn}: axis {a} is out of range for a Value with {ndim} "
                             f"dimension{'s' if ndim != 1 else ''}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{fn}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def one_axis(axis: Any, ndim: int, fn: str) -> int:
    """One axis as a non-negative int (``-1`` is the last), with a clear error."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{fn}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{fn}: axis {axis} is out of range for a Value with {ndim} "
                         f"dimension{'s' if ndim != 1 else ''}")
    return int(axis) % ndim


def reshape_target(old: tuple[int, ...], shape: tuple[Any, ...]) -> tuple[int, ...]:
    """The shape a reshape of ``old`` gives (one ``-1`` inferred), checked to keep the size."""
    size = math.prod(old)
    new = int_tuple(shape, "dimensions", "reshape")
    known = math.prod(n for n in new if n != -1)
    if new.count(-1) > 1 or any(n < -1 for n in new):
        raise ValueError(f"reshape: invalid target shape {new}")
    if -1 in new:
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape a Value of shape {fmt(old)} ({size} "
                             f"entries) into {new}")
        new = tuple(size // known if n == -1 else n for n in new)
    if math.prod(new) != size:
        raise ValueError(f"reshape: cannot reshape a Value of shape {fmt(old)} ({size} entries) "
                         f"into {new} ({math.prod(new)} entries)")
    return new


def normalize_index(index: Any) -> Any:
    """An index with its lists and arrays as integer arrays of its own (a Value is refused)."""
    if isinstance(index, tuple):
        return tuple(_normalize_index_part(p) for p in index)
    return _normalize_index_part(index)


def _normalize_index_part(part: Any) -> Any:
    """One part of an index, with arrays copied: the node keeps the index its op used, even if the
    caller changes their array afterwards."""
    if is_value(part):
        raise TypeError("getitem: index with integers, slices, lists or NumPy arrays (integer or "
                        "boolean), not a Value: a Value holds floats, so a boolean mask in it "
                        "would be read as the positions 0 and 1")
    if isinstance(part, (list, np.ndarray)):
        part = np.array(part)
        if part.dtype.kind == "f":
            if not np.all(part == np.round(part)):
                raise IndexError("getitem: index arrays must hold integers")
            part = part.astype(np.intp)
    return part


def clip_bound(x: Any, name: str) -> float | None:
    """A clip bound: None, or a number that is not NaN."""
    if x is None:
        return None
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)) \
            or math.isnan(x):
        raise TypeError(f"clip: {name} must be a number or None, got {x!r}")
    return float(x)


def pad_widths(pad_width: Any, ndim: int) -> tuple[tuple[int, int], ...]:
    """``np.pad``'s forms of pad_width (n, (before, after), or one pair per axis) as one
    non-negative (before, after) pair per axis."""
    arr = np.asarray(pad_width)
    if arr.dtype.kind not in "iu" or arr.ndim > 2 or np.any(arr < 0):
        raise ValueError(f"pad: pad_width must hold non-negative integers, got {pad_width!r}")
    try:
        pairs = np.broadcast_to(arr.reshape(-1, 2) if arr.ndim == 2 or arr.size == 2
                                else arr.reshape(-1, 1), (ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a Value with {ndim} "
                         f"axes: give n, (before, after) or {ndim} such pairs") from None
    return tuple((int(b), int(a)) for b, a in pairs)

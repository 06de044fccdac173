"""What is known of a value at trace time, and how a known value is written as code.

The inliner (``inline.py``) reads a rule with its arguments in hand: each is either ``Static``, a
value known now (a parameter such as ``axis``, a shape, a dtype), or ``Dyn``, a value computed
when the program runs, of which the ``Facts`` may be known (a Python float, or an array of this
shape and dtype).  Folding an expression gives one of the two again: ``Static`` when its value is
known now (``g.ndim``, ``_mse_scale(p, "mean")``), else the code that computes it, with the facts
of its result where NumPy's broadcasting rules give them (``elementwise_facts``).  A known value
goes back into code as a literal (``0.00625``, ``(0, 2)``, ``g1[:, 2:3]``'s index), or under a
name the program binds (an index array).
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BOOL", "FLOAT", "Dyn", "Facts", "Folded", "Static", "array_facts", "constant",
           "elementwise_facts", "entries", "foldable", "index_code", "literal", "literal_code",
           "try_static"]


@dataclass(frozen=True, eq=False)
class Facts:
    """What is known about a runtime value at trace time: a Python float or an ndarray, its shape
    and dtype.  ``Facts.of`` gives one object per kind, shape and dtype, so facts compare (and
    hash) by identity."""

    kind: str                                 # "float", "bool" (a Python bool) or "array"
    shape: tuple[int, ...]
    dtype: np.dtype[Any]

    @classmethod
    def of(cls, value: Any) -> Facts | None:
        """The facts of a float or an ndarray (None for anything else, e.g. a NumPy scalar)."""
        if type(value) is float:
            return FLOAT
        if type(value) is bool:
            return BOOL
        if type(value) is np.ndarray:
            return array_facts(value.shape, value.dtype)
        return None

    def example(self) -> Any:
        """A value of this kind (its data is meaningless): for type tests only."""
        if self.kind != "array":
            return 0.0 if self.kind == "float" else False
        return np.empty(self.shape, self.dtype)


FLOAT = Facts("float", (), np.dtype(np.float64))
BOOL = Facts("bool", (), np.dtype(np.bool_))


@functools.lru_cache(maxsize=4096)
def array_facts(shape: tuple[int, ...], dtype: np.dtype[Any]) -> Facts:
    return Facts("array", tuple(shape), dtype)


@dataclass(frozen=True)
class Dyn:
    """A value computed when the program runs: the code that names it, and its facts if known.

    ``items``: for a tuple or list of known length (the ``*inputs`` of ``concatenate``), what is
    known of each entry; indexing it with a trace-time index gives the entry itself."""

    code: ast.expr
    facts: Facts | None = None
    items: tuple[Folded, ...] | None = None


@dataclass(frozen=True)
class Static:
    """A value known at trace time; ``ref`` is the code that names it (for a module, a function)."""

    value: Any
    ref: ast.expr | None = None


Folded = Dyn | Static


_LITERAL_TYPES = (type(None), bool, int, float, str, type(Ellipsis))


def literal(value: Any) -> bool:
    """True for values written as Python literals: numbers, strings, None, and tuples of them."""
    if type(value) is tuple:
        return all(literal(v) for v in value)
    return type(value) in _LITERAL_TYPES


def foldable(value: Any) -> bool:
    """True for the results of trace-time evaluation that may stand for their code: immutable
    values (literals, dtypes, types).  An array or a list is never folded (it could be changed
    in place, and it must be made anew at each call)."""
    return literal(value) or isinstance(value, (np.dtype, type, range))


def constant(value: Any) -> ast.Constant:
    """A literal for a trace-time value, marked so that it is known again when read back."""
    node = ast.Constant(value)
    node.folded = True                        # type: ignore[attr-defined]
    return node


def literal_code(value: Any, bind: Callable[[Any], ast.expr]) -> ast.expr:
    """A literal for ``value`` when Python has one; else a name bound to it in the program."""
    if type(value) is float and not math.isfinite(value):
        text = "nan" if math.isnan(value) else "inf"
        code: ast.expr = ast.Attribute(ast.Name("math", ast.Load()), text, ast.Load())
        return ast.UnaryOp(ast.USub(), code) if value < 0 else code
    if type(value) is tuple and all(literal(v) for v in value):
        return ast.Tuple([literal_code(v, bind) for v in value], ast.Load())
    if literal(value):
        return constant(value)
    if type(value) is slice:
        return ast.Call(ast.Name("slice", ast.Load()),
                        [literal_code(p, bind) for p in (value.start, value.stop, value.step)],
                        [])
    return bind(value)


def try_static(compute: Callable[[], Any]) -> Static | None:
    """``Static(compute())`` when it runs and gives a value that may stand for its code."""
    try:
        value = compute()
    except Exception:
        return None
    if not foldable(value) and index_code(value) is None:
        return None
    return Static(value)


def index_code(index: Any) -> ast.expr | None:
    """An index known at trace time as Python writes it in brackets (``0:2``, ``:, 1``,
    ``..., ::-1``), or None when it is not made of ints, slices of ints, None and ``...``."""
    def part(p: Any) -> ast.expr | None:
        if type(p) is slice:
            bounds = (p.start, p.stop, p.step)
            if not all(b is None or type(b) is int for b in bounds):
                return None
            return ast.Slice(*[None if b is None else ast.Constant(b) for b in bounds])
        if p is None or p is Ellipsis or type(p) is int:
            return ast.Constant(p)
        return None
    if type(index) is not tuple:
        return part(index) if type(index) is slice else None
    parts = [part(p) for p in index]
    if not parts or any(p is None for p in parts):
        return None
    if len(parts) == 1:                       # x[(s,)] is x[s] for an int or a slice
        return parts[0] if type(index[0]) in (int, slice) else None
    return ast.Tuple(parts, ast.Load())       # type: ignore[arg-type]


def elementwise_facts(operands: list[Folded], python: str = "arithmetic") -> Facts | None:
    """The facts of an element-wise result: arrays broadcast (a 0-d result is a NumPy scalar,
    so nothing is known about it).  Without arrays, ``python`` says what Python gives:
    ``"arithmetic"`` a float when a float takes part (``bool + bool`` is an int: unknown),
    ``"bitwise"`` a bool for bools (``a | b``), ``"ufunc"`` a NumPy scalar (unknown)."""
    dtypes: list[Any] = []
    shapes: list[tuple[int, ...]] = []
    scalars: set[type] = set()
    for operand in operands:
        if isinstance(operand, Static):
            if type(operand.value) not in (int, float, bool):
                return None
            dtypes.append(operand.value)
            scalars.add(type(operand.value))
            continue
        facts = operand.facts
        if facts is None:
            return None
        if facts.kind != "array":
            kind = float if facts.kind == "float" else bool
            dtypes.append(kind())
            scalars.add(kind)
        else:
            dtypes.append(facts.dtype)
            shapes.append(facts.shape)
    if not shapes:
        if python == "bitwise":
            return BOOL if scalars == {bool} else None
        if python == "arithmetic" and float in scalars:
            return FLOAT
        return None
    try:
        shape = np.broadcast_shapes(*shapes)
        dtype = np.result_type(*dtypes)
    except (ValueError, TypeError):
        return None
    return array_facts(tuple(shape), dtype) if shape else None


def entries(value: Folded) -> tuple[Folded, ...] | None:
    """The entries of a tuple or list known one by one (None if its length is not known)."""
    if isinstance(value, Dyn):
        return value.items
    if type(value.value) in (tuple, list):
        return tuple(Static(v) for v in value.value)
    return None

"""Argument checks shared by data, nn, optim and train: each error names the function, what was
expected and what was given.

Randomness always comes from a ``np.random.Generator`` that ``make_rng`` builds from an ``rng``
argument (an int seed, a Generator, or None for fresh OS entropy); the global NumPy RNG is never
used, so the same seed always gives the same result.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["FLOAT_DTYPES", "RngLike", "flag", "float_dtype", "int_tuple", "make_rng",
           "nonnegative_int", "one_of", "positive_int", "real_number", "set_rng_state",
           "show_value"]

RngLike = int | np.integer[Any] | np.random.Generator | None
"""What an ``rng`` argument accepts: an int seed, a Generator (used as is) or None (fresh)."""


def show_value(value: object) -> str:
    """``repr`` for an error message, NumPy scalars as plain numbers (0, not np.int64(0))."""
    return repr(value.item() if isinstance(value, np.generic) else value)


def set_rng_state(rng: np.random.Generator, state: Any, fn: str) -> None:
    """Continue ``rng`` from ``state``, a ``rng.bit_generator.state`` saved before (JSON): it
    then draws what it would have drawn then.  A state of another kind of generator, or one
    that is not valid, raises ValueError naming ``fn`` and changes nothing."""
    bit_generator = rng.bit_generator
    kind = type(bit_generator).__name__
    if not isinstance(state, Mapping) or state.get("bit_generator") != kind:
        raise ValueError(f"{fn}: expected the state of a {kind} generator, got "
                         f"{show_value(state)[:80]}")
    before = bit_generator.state
    try:
        bit_generator.state = dict(state)
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        bit_generator.state = before
        raise ValueError(f"{fn}: not a valid {kind} state: {exc}") from None


def make_rng(rng: RngLike, fn: str = "make_rng") -> np.random.Generator:
    """A ``np.random.Generator`` from a seed, a Generator (returned as is) or None (fresh).

    ``fn`` is the caller's name for the error messages.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"{fn}: rng seed must be a non-negative integer, got "
                             f"{show_value(rng)}")
        return np.random.default_rng(int(rng))
    raise TypeError(f"{fn}: rng must be an int seed, a numpy.random.Generator or None, got "
                    f"{type(rng).__name__} {show_value(rng)}")


def positive_int(value: object, name: str, fn: str) -> int:
    """``value`` as an int if it is an integer >= 1; TypeError for a non-integer, else ValueError.

    ``name`` is the argument's name and ``fn`` the caller's, for the error message.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{fn}: {name} must be a positive integer, got {show_value(value)}")
    if value < 1:
        raise ValueError(f"{fn}: {name} must be a positive integer, got {show_value(value)}")
    return int(value)


def nonnegative_int(value: object, name: str, fn: str) -> int:
    """``value`` as an int if it is an integer >= 0; TypeError for a non-integer, else ValueError.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{fn}: {name} must be a non-negative integer, got {show_value(value)}")
    if value < 0:
        raise ValueError(f"{fn}: {name} must be a non-negative integer, got {show_value(value)}")
    return int(value)


def real_number(value: object, name: str, fn: str, *, low: float | None = 0.0,
                low_open: bool = False, high: float | None = None,
                high_open: bool = True) -> float:
    """``value`` as a float if it is a finite real number in the range [low, high) (by default).

    ``low``/``high`` bound the range (None: unbounded), ``low_open``/``high_open`` exclude the
    ends.  TypeError for anything that is not a real number (a bool, a string, None, a complex),
    ValueError for one out of range; ``name`` is the argument's name and ``fn`` the caller's.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{fn}: {name} must be a real number, got {type(value).__name__} "
                        f"{show_value(value)}")
    try:
        x = float(value)
    except OverflowError:                      # an int beyond the float range
        x = math.inf
    too_low = low is not None and (x <= low if low_open else x < low)
    too_high = high is not None and (x >= high if high_open else x > high)
    if not math.isfinite(x) or too_low or too_high:
        lo = "" if low is None else f" {'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{' and' if lo else ''} {'<' if high_open else '<='} {high:g}"
        raise ValueError(f"{fn}: {name} must be a finite number{lo}{hi}, got {show_value(value)}")
    return x


def int_tuple(values: Sequence[object], name: str, fn: str) -> tuple[int, ...]:
    """``values`` as a tuple of ints; TypeError for anything else (2.7 is not truncated to 2).

    ``name`` says what the integers are ("dimensions", "axes"), for the error message.
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise TypeError(f"{fn}: {name} must be a sequence of integers, got "
                        f"{type(values).__name__} {show_value(values)}")
    out = []
    for v in values:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{fn}: expected integer {name}, got {tuple(values)!r}")
        out.append(int(v))
    return tuple(out)


def one_of(value: object, options: Sequence[Any], name: str, fn: str) -> Any:
    """``value`` if it is one of ``options``; ValueError naming them otherwise."""
    if value in options:
        return value
    listed = [repr(o) for o in options]
    expected = " or ".join([", ".join(listed[:-1]), listed[-1]] if len(listed) > 1 else listed)
    raise ValueError(f"{fn}: {name} must be {expected}, got {show_value(value)}")


def flag(value: object, name: str, fn: str) -> bool:
    """``value`` as a bool if it is True or False (NumPy's bool too); TypeError otherwise."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{fn}: {name} must be True or False, got {show_value(value)}")
    return bool(value)


FLOAT_DTYPES = ("float64", "float32")
"""The dtypes parameters may have."""


def float_dtype(dtype: Any, fn: str) -> np.dtype[Any]:
    """``dtype`` as a NumPy dtype if it is float64 or float32 (a name, type or dtype).

    TypeError for anything else, naming ``fn``.
    """
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{fn}: dtype must be float64 or float32, got {dtype!r}") from None
    if dt.name not in FLOAT_DTYPES:
        raise TypeError(f"{fn}: dtype must be float64 or float32, got {dt.name}")
    return dt

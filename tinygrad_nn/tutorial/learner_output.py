"""Running a learner's backprop and reading what it returned: checks, convention, rows.

A learner returns a dict with any of ``KEYS``; each list-valued entry has one array per
``Linear``, first to last, and ``"E"`` is a number. Arrays may follow either tutorial:

* ``"column"`` (seed 000): vectors (n,) or (n, 1), a batch as columns (n, N), ∂E/∂W shaped like
  ``Linear.weight`` (neurons of the layer, neurons of the layer before);
* ``"row"`` (seed 004): vectors (1, n) or (n,), a batch as rows (N, n), ∂E/∂W shaped
  (n_prev, n_cur) like its ``Layers_weights``.

``read_learner_output`` refuses what cannot be a backprop quantity (a missing layer, a string,
NaN, a shape no layer has) with a ``LearnerError`` naming the key and the layer;
``convention_votes`` counts which convention the shapes point to; ``as_rows`` brings every array
to samples-as-rows with ∂E/∂W like ``Linear.weight``, the layout ``mistakes.delta_rule`` uses.
``call_learner`` runs the learner's function on copies, turning its exceptions into a
``LearnerError`` that says where in its code it failed.
"""

from __future__ import annotations

import difflib
import os
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import nn
from ..errors import LearnerError

__all__ = ["CONVENTIONS", "KEYS", "LIST_KEYS", "LearnerError", "LearnerOutput", "as_rows",
           "call_learner", "convention_votes", "failure_location", "numbers_of",
           "read_learner_output"]

KEYS = ("net", "out", "E", "delta", "dW", "dB")
"""What a learner may return: net and out = φ(net) per Linear, E, δ = ∂E/∂net, ∂E/∂W, ∂E/∂B."""
LIST_KEYS = ("net", "out", "delta", "dW", "dB")
CONVENTIONS = {"column": "seed 000: column vectors, W like Linear.weight",
               "row": "seed 004: row vectors, W as (n_prev, n_cur)"}


@dataclass(frozen=True)
class LearnerOutput:
    """The learner's arrays as float64, as returned (``lists[key][layer]``) and ``E``."""

    lists: dict[str, list[np.ndarray]]
    E: float | None

    def keys(self) -> list[str]:
        """The keys the learner returned, in ``KEYS`` order."""
        return [k for k in KEYS if k in self.lists or (k == "E" and self.E is not None)]


def _vector_like(shape: tuple[int, ...]) -> bool:
    return sum(d > 1 for d in shape) <= 1 and len(shape) <= 2


def numbers_of(value: Any) -> Any:
    """An engine Value's numbers (``.data``); anything else as it is (an ndarray's ``.data`` is
    its raw buffer, not what is meant)."""
    return value if isinstance(value, np.ndarray) else getattr(value, "data", value)


def _as_array(fn: str, value: Any, where: str) -> np.ndarray:
    value = numbers_of(value)
    if isinstance(value, (str, bytes)) or value is None:
        raise LearnerError(f"{fn}: {where} must be an array of numbers, got "
                           f"{type(value).__name__} {value!r:.40}")
    try:
        if np.iscomplexobj(value):
            raise TypeError("complex numbers")
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise LearnerError(f"{fn}: {where} must be an array of numbers, got "
                           f"{type(value).__name__} ({exc})") from None
    bad = ~np.isfinite(a)
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        raise LearnerError(f"{fn}: {where} contains {a[at]} at index {list(at)}; expected "
                           f"finite numbers (an overflow, log(0) or 0/0 in your code?)")
    return a


def _plausible(key: str, shape: tuple[int, ...], n: int, n_prev: int, sizes: list[int],
               N: int) -> bool:
    """Whether ``shape`` can be this quantity in some convention, or a catalogued mistake."""
    size = int(np.prod(shape))
    if key in ("net", "out", "delta"):
        if N == 1:
            return size == n and _vector_like(shape)
        return shape in ((n, N), (N, n)) or (n == 1 and shape == (N,))
    if key == "dB":
        return (size == n and _vector_like(shape)) or (N > 1 and shape in ((n, N), (N, n)))
    # dW: any matrix between two layer widths (transposed, another layer's input …), or the
    # 1-D ∂E/∂W of a layer with one neuron or one input
    if len(shape) == 2:
        return shape[0] in sizes and shape[1] in sizes
    return len(shape) == 1 and size == n * n_prev and 1 in (n, n_prev)


def _expected_shapes(key: str, n: int, n_prev: int, N: int) -> str:
    if key in ("net", "out", "delta"):
        if N == 1:
            return f"({n},) or ({n}, 1) (column) or (1, {n}) (row)"
        return f"({n}, {N}) (column: one column per sample) or ({N}, {n}) (row)"
    if key == "dB":
        return f"({n},), ({n}, 1) or (1, {n})"
    return f"({n}, {n_prev}) (column, like Linear.weight) or ({n_prev}, {n}) (row)"


def read_learner_output(fn: str, returned: Any, sizes: list[int], n_samples: int,
                        names: Mapping[tuple[str, int], str]) -> LearnerOutput:
    """Check the learner's dict and convert it to float64 arrays; ``LearnerError`` if it is bad.

    ``sizes`` = [n_in, n_1, …, n_L]; ``names[(key, layer)]`` is the tutorial's symbol, used in
    messages next to the key and layer.
    """
    n_layers = len(sizes) - 1
    if not isinstance(returned, Mapping):
        raise LearnerError(f"{fn}: expected your backprop to return a dict with any of the keys "
                           f"{', '.join(map(repr, KEYS))}, got {type(returned).__name__}")
    unknown = [k for k in returned if k not in KEYS]
    if unknown:
        k = unknown[0]
        by_case = {key.lower(): key for key in KEYS}
        close = ([by_case[str(k).lower()]] if str(k).lower() in by_case
                 else difflib.get_close_matches(str(k), KEYS, n=1))
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise LearnerError(f"{fn}: your backprop returned the unknown key {k!r}{hint}; expected "
                           f"any of {', '.join(map(repr, KEYS))}")
    if not returned:
        raise LearnerError(f"{fn}: your backprop returned an empty dict; expected any of the "
                           f"keys {', '.join(map(repr, KEYS))}")
    lists: dict[str, list[np.ndarray]] = {}
    for key in LIST_KEYS:
        if key not in returned:
            continue
        value = returned[key]
        if isinstance(value, np.ndarray) and value.ndim >= 1:
            value = list(value)                      # an array of arrays: one per layer
        if not isinstance(value, (list, tuple)) or len(value) != n_layers:
            got = (f"{len(value)} entries" if isinstance(value, (list, tuple))
                   else type(value).__name__)
            raise LearnerError(f"{fn}: {key!r} must be a list of {n_layers} arrays, one per "
                               f"Linear layer (first to last), got {got}")
        arrays = []
        for layer, item in enumerate(value):
            where = f"{key!r}[{layer}] ({names[(key, layer)]})"
            a = _as_array(fn, item, where)
            n, n_prev = sizes[layer + 1], sizes[layer]
            if not _plausible(key, a.shape, n, n_prev, sizes, n_samples):
                raise LearnerError(f"{fn}: {where} has shape {a.shape}; expected "
                                   f"{_expected_shapes(key, n, n_prev, n_samples)}")
            arrays.append(a)
        lists[key] = arrays
    E = None
    if "E" in returned:
        e = _as_array(fn, returned["E"], "'E'")
        if e.size != 1:
            raise LearnerError(f"{fn}: 'E' must be one number (the error of the whole batch), "
                               f"got an array of shape {e.shape}")
        E = float(e.reshape(()))
    return LearnerOutput(lists, E)


def convention_votes(output: LearnerOutput, sizes: list[int], n_samples: int) -> dict[str, int]:
    """How many of the learner's arrays only the column, or only the row, convention explains.

    ∂E/∂W (n, n_prev) is a column vote, (n_prev, n) a row vote; a batch (n, N) column, (N, n)
    row; one sample (n, 1) column, (1, n) row. Square and 1-D arrays do not vote.
    """
    votes = {"column": 0, "row": 0}
    N = n_samples
    for key, arrays in output.lists.items():
        for layer, a in enumerate(arrays):
            n, n_prev = sizes[layer + 1], sizes[layer]
            if a.ndim != 2:
                continue
            if key == "dW":
                column, row = (n, n_prev), (n_prev, n)
            elif N > 1 and a.size == n * N:
                column, row = (n, N), (N, n)
            else:
                column, row = (n, 1), (1, n)
            if column != row and a.shape in (column, row):
                votes["column" if a.shape == column else "row"] += 1
    return votes


def as_rows(output: LearnerOutput, convention: str, sizes: list[int],
            n_samples: int) -> dict[tuple[str, int | None], np.ndarray]:
    """Every array with samples as rows and ∂E/∂W like ``Linear.weight`` (for comparing).

    net/out/δ become (N, n); ∂E/∂B (n,), or (N, n) when left per sample; ∂E/∂W is transposed
    in the row convention. An orientation the shape leaves open (n = N) follows ``convention``.
    """
    rows: dict[tuple[str, int | None], np.ndarray] = {}
    N = n_samples
    for key, arrays in output.lists.items():
        for layer, a in enumerate(arrays):
            n, n_prev = sizes[layer + 1], sizes[layer]
            if key == "dW":
                if a.ndim == 1:               # a 1-D ∂E/∂W of a layer with one neuron or input
                    a = a.reshape((n, n_prev) if convention == "column" else (n_prev, n))
                rows[(key, layer)] = a if convention == "column" else a.T
            elif key == "dB" and a.size == n:
                rows[(key, layer)] = a.reshape(n)
            elif N == 1 or a.ndim == 1:       # one sample, or a batch of one-neuron values
                rows[(key, layer)] = a.reshape(N, n)
            elif a.shape == (N, n) and (n != N or convention == "row"):
                rows[(key, layer)] = a
            else:
                rows[(key, layer)] = a.T
    if output.E is not None:
        rows[("E", None)] = np.asarray(output.E)
    return rows


# ----------------------------------------------------------------------------------------------
# Running the learner's code
# ----------------------------------------------------------------------------------------------


def failure_location(exc: BaseException) -> str:
    """The innermost frame of the learner's own code (not NumPy's, not ours)."""
    ours = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if not f.filename.startswith(ours) and f"{os.sep}numpy{os.sep}" not in f.filename]
    if not frames:
        return ""
    f = frames[-1]
    line = f" `{f.line.strip()}`" if f.line else ""
    return f" (at {os.path.basename(f.filename)}:{f.lineno}, in {f.name}:{line})"


def call_learner(fn: str, learner: Callable[..., Any], model: Any, x: Any,
                 target: Any) -> tuple[Any, bool]:
    """learner(model, x, target) on copies of x and target; the weights restored if changed."""
    params = [p for m in getattr(model, "layers", []) if isinstance(m, nn.Linear)
              for p in (m.weight, m.bias) if p is not None]
    saved = [np.array(p.data, copy=True) for p in params]
    try:
        returned = learner(model, np.array(numbers_of(x), copy=True),
                           np.array(numbers_of(target), copy=True))
    except Exception as exc:
        raise LearnerError(f"{fn}: your backprop raised {type(exc).__name__}: {exc}"
                           f"{failure_location(exc)}") from exc
    finally:
        changed = any(not np.array_equal(p.data, s) for p, s in zip(params, saved))
        if changed:
            for p, s in zip(params, saved):
                p.data = s
    return returned, changed

"""The switches that apply to every op while they are set: no_grad, scope, detect_anomaly.

``STATE`` holds them; the engine reads it when it records a node.  Each switch is a context
manager that restores the previous setting on exit, also when the block raises.  ``STATE`` also
holds what the function transforms (``tinygrad_nn.transforms``) have running: the forward-mode
traces whose tangents every new node must carry, and how many transforms are calling their
function right now; and, while ``tn.trace`` or ``tn.compile`` runs a function, the notes it
takes of what the graph does not show (``random_constant``, ``state_update``, ``side_effect``).
"""

from __future__ import annotations

import math
import os
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .errors import TraceError

__all__ = ["STATE", "Scope", "TraceNotes", "detect_anomaly", "no_grad", "random_constant",
           "scope", "side_effect", "state_update"]


class _State:
    """Switches that apply to every Value created while they are set."""

    __slots__ = ("grad_enabled", "scope", "anomaly", "forward_traces", "transform_depth",
                 "trace_notes")

    def __init__(self) -> None:
        self.grad_enabled = True
        self.scope: Scope | None = None
        self.anomaly = False
        # the running forward-mode passes (forward.ForwardTrace), outermost first: empty, so
        # that recording a node costs one truth test, unless a tn.jvp is running
        self.forward_traces: tuple[Any, ...] = ()
        # transforms (tn.grad, tn.jvp, ...) running their function: inside one, another
        # transform returns Values, so that the outer one can differentiate what it computed
        self.transform_depth = 0
        # while the tracer runs a function: what it notes besides the graph (None otherwise)
        self.trace_notes: TraceNotes | None = None


STATE = _State()


class TraceNotes:
    """What the tracer notes while it runs a function (``caller`` names it in errors): the random
    constants the function drew, each with the function that draws another and its meaning,
    and the changes of state it made from values of its graph (``state_update``)."""

    __slots__ = ("caller", "random", "updates")

    def __init__(self, caller: str) -> None:
        self.caller = caller
        self.random: list[tuple[Any, Callable[[], Any], str]] = []
        # (update, the Values it reads, what it changes, the module call that made it)
        self.updates: list[tuple[Callable[..., None], tuple[Any, ...], str, str]] = []


def random_constant(draw: Callable[[], Any], meaning: str) -> Any:
    """``draw()``: a random array that the graph takes as a constant (a dropout mask, which
    ``meaning`` describes).  While a function is traced, the array is noted with ``draw``, so
    that its compiled program draws a new one at every call, as the function itself would."""
    value = draw()
    if STATE.trace_notes is not None:
        STATE.trace_notes.random.append((value, draw, meaning))
    return value


def state_update(update: Callable[..., None], meaning: str, *values: Any) -> None:
    """Change state outside the graph from values of the graph, now: ``update(*data)`` with the
    data of ``values`` (BatchNorm's running statistics moved towards the batch's).  While a
    function is traced, the update is noted with its Values, so that the compiled program makes
    the same change, from its own values, after every call it replays; ``meaning`` says what
    it changes."""
    notes = STATE.trace_notes
    if notes is not None:
        where = STATE.scope.label if STATE.scope is not None else ""
        notes.updates.append((update, values, meaning, where))
    update(*[v.data for v in values])


def side_effect(what: str, instead: str) -> None:
    """Call before a change of state outside the graph that a program cannot make again
    (``backward()`` writing ``.grad``, BatchNorm's running average with ``momentum=None``).  A
    traced program replays the graph and the ``state_update``s only, so while a function is
    traced this raises ``TraceError`` (naming the module call, ``what`` it changes and what to
    do ``instead``) before anything is changed."""
    notes = STATE.trace_notes
    if notes is not None:
        where = STATE.scope.label if STATE.scope is not None else "the function"
        raise TraceError(f"{notes.caller}: {where} {what} at every call, outside the graph, "
                         f"and a traced program replays only the graph; {instead}")


class Scope:
    """One call of a module (or one ``scope()`` block): the Values created inside point to it.

    Graph pictures cluster ops by their scope, so a network reads as E∘φ∘g∘φ∘f.
    """

    __slots__ = ("label", "parent", "module", "__weakref__")

    def __init__(self, label: str, parent: Scope | None, module: Any = None) -> None:
        self.label = label
        self.parent = parent
        self.module = module

    def path(self) -> tuple[str, ...]:
        """Labels from the outermost enclosing scope to this one."""
        labels = []
        scope: Scope | None = self
        while scope is not None:
            labels.append(scope.label)
            scope = scope.parent
        return tuple(reversed(labels))

    def __repr__(self) -> str:
        return f"Scope({'/'.join(self.path())!r})"


def scope(label: str, module: Any = None) -> _ScopeBlock:
    """Label every op created inside the block with ``label`` (e.g. ``"f"``, ``"φ"``, ``"E"``)."""
    if not isinstance(label, str) or not label:
        raise TypeError(f"scope: expected a non-empty string label, got {label!r}")
    return _ScopeBlock(label, module)


class _ScopeBlock:
    """What ``scope()`` returns: enters a new ``Scope`` inside the current one, restores it on exit.

    A plain class rather than a generator: every module call enters one.
    """

    __slots__ = ("label", "module", "outer")

    def __init__(self, label: str, module: Any) -> None:
        self.label = label
        self.module = module
        self.outer: Scope | None = None

    def __enter__(self) -> Scope:
        self.outer = STATE.scope
        STATE.scope = Scope(self.label, self.outer, self.module)
        return STATE.scope

    def __exit__(self, *exc_info: object) -> None:
        STATE.scope = self.outer


@contextmanager
def no_grad() -> Iterator[None]:
    """Record nothing inside the block: results are constants with ``requires_grad=False``."""
    previous = STATE.grad_enabled
    STATE.grad_enabled = False
    try:
        yield
    finally:
        STATE.grad_enabled = previous


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise ``FloatingPointError`` as soon as a forward or backward rule produces NaN or ±inf.

    The error names the op and shows the line of user code that created it.
    """
    previous = STATE.anomaly
    STATE.anomaly = True
    try:
        with np.errstate(all="ignore"):
            yield
    finally:
        STATE.anomaly = previous


# ----------------------------------------------------------------------------------------------
# What detect_anomaly does for each op
# ----------------------------------------------------------------------------------------------

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_frames() -> list[traceback.FrameSummary]:
    """The creation stack outside this package's own files (where the user made the op)."""
    frames = traceback.extract_stack()[:-3]
    return [f for f in frames if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)] \
        or frames


def check_finite(result: Any, op_name: str, frames: list[traceback.FrameSummary] | None,
                 phase: str) -> None:
    """Raise ``FloatingPointError``, naming the op and where it was made, on NaN or inf."""
    raw = result.data if hasattr(result, "parents") else result
    finite = math.isfinite(raw) if type(raw) is float else bool(np.all(np.isfinite(raw)))
    if finite:
        return
    where = ""
    if frames:
        last = frames[-1]
        where = f"\n  the op was created at {last.filename}:{last.lineno} in {last.name}:" \
                f"\n    {last.line}"
    kind = "NaN" if np.any(np.isnan(raw)) else "inf"
    raise FloatingPointError(f"detect_anomaly: op '{op_name}' produced {kind} in its {phase}"
                             f"{where}")

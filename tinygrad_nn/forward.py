"""Forward mode: every new node's tangent, computed alongside its value from the rule table's JVPs.

A tangent is ẋ = ∂x/∂s, the derivative of a node along one direction s of the inputs
(``tn.jvp(f, primals, tangents)`` starts it: the inputs' tangents are the direction).  While a
``ForwardTrace`` is running, every op that creates a node (``value._record``, the one place nodes
are made) calls ``carry_tangents``, which applies the chain rule forwards, in the same pass as
the value:

    ẏ = Σ_i ∂y/∂x_i · ẋ_i        (one JVP rule per input x_i that has a tangent)

Nothing is recorded for a backward pass, and a trace holds its nodes weakly, so a node no longer
used is freed as in a plain forward pass.  When no trace is running, recording a node costs one
truth test (``if STATE.forward_traces``).

Traces nest (``tn.jvp`` of a function that calls ``tn.grad`` or ``tn.jvp``).  Each node gets its
tangent in every running trace, outermost first; a trace's own rules run with only the traces
outside it switched on, so the outer traces differentiate the inner tangents (a second
derivative), and a trace never sees its own rules (which would never end).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from .context import STATE, check_finite
from .ops import Op, is_value, rerun_on_numpy_floats, shape_of

__all__ = ["ForwardTrace", "NodeMap", "carry_tangents", "forward_trace", "tangent_step"]


class NodeMap:
    """A value per node, by the node's identity, held weakly: an entry goes when its node is freed.

    (A ``WeakKeyDictionary`` would compare nodes with ``==``, which on Values gives arrays.)
    Each entry is a weak reference to its node that carries the value; all of them share one
    callback, which drops a freed node's entry.
    """

    __slots__ = ("entries", "_forget", "__weakref__")

    def __init__(self) -> None:
        self.entries: dict[int, _Entry] = {}
        self._forget = functools.partial(_forget, weakref.ref(self))   # no reference cycle

    def get(self, node: Any) -> Any:
        """The value stored for ``node``, or None."""
        entry = self.entries.get(id(node))
        return entry.value if entry is not None and entry() is node else None

    def __setitem__(self, node: Any, value: Any) -> None:
        entry = _Entry(node, self._forget)
        entry.key, entry.value = id(node), value
        self.entries[entry.key] = entry

    def clear(self) -> None:
        """Drop every entry (their callbacks go with them)."""
        self.entries.clear()


class _Entry(weakref.ref):
    """A NodeMap entry: a weak reference to the node, with its key (the node's id) and the value
    stored for it."""

    __slots__ = ("key", "value")
    key: int
    value: Any


def _forget(owner: weakref.ref[NodeMap], entry: _Entry) -> None:
    """Drop a freed node's entry (the weakref callback; the map may be gone already)."""
    node_map = owner()
    if node_map is not None and node_map.entries.get(entry.key) is entry:
        del node_map.entries[entry.key]


class ForwardTrace:
    """One running forward-mode pass: the tangent of every node it has reached.

    ``differentiable`` traces (a ``tn.jvp`` inside another transform) keep their tangents as
    Values, computed by the JVP rules on Values and recorded like any op, so the transform outside
    can differentiate them; the others keep plain floats and arrays.
    """

    __slots__ = ("tangents", "differentiable")

    def __init__(self, differentiable: bool) -> None:
        self.tangents = NodeMap()
        self.differentiable = differentiable


@contextmanager
def forward_trace(differentiable: bool = False) -> Iterator[ForwardTrace]:
    """Run a new forward-mode pass (innermost of the running ones) for the duration of the block."""
    outer = STATE.forward_traces
    trace = ForwardTrace(differentiable)
    STATE.forward_traces = (*outer, trace)
    try:
        yield trace
    finally:
        STATE.forward_traces = outer
        trace.tangents.clear()                # the pass is over: its tangents go now


def carry_tangents(node: Any, op: Op, parents: tuple[Any, ...], inputs: tuple[Any, ...],
                   params: tuple[Any, ...]) -> None:
    """Give ``node`` (just made by ``op`` from ``parents``) its tangent in every running trace:
    ẏ = Σ_i ∂y/∂x_i · ẋ_i over the parents that have one; none if no parent has one."""
    traces = STATE.forward_traces
    for level, trace in enumerate(traces):
        tangents = trace.tangents
        incoming = [(i, t) for i, parent in enumerate(parents)
                    if (t := tangents.get(parent)) is not None]
        if not incoming:
            continue
        if trace.differentiable:
            args = (node, *parents, *params)
        else:
            args = (node._data, *inputs, *params)
        STATE.forward_traces = traces[:level]   # this trace's rules: seen by the outer ones only
        try:
            tangent = None
            for i, t in incoming:
                local = tangent_step(node, op, i, t, args)
                tangent = local if tangent is None else tangent + local
            trace.tangents[node] = _like_node(tangent, node._data)
        finally:
            STATE.forward_traces = traces


def tangent_step(node: Any, op: Op, i: int, t: Any, args: tuple[Any, ...]) -> Any:
    """``∂node/∂input_i · t``: the rule table's JVP for input ``i``.

    ``args`` are ``(ans, *inputs, *params)`` (Values in a differentiable trace).  A float rule
    that raises (``1.0 / 0.0``) is run again on NumPy floats.  The result has the node's shape,
    or one that broadcasts to it (a broadcasting op's input-shaped tangent): ``carry_tangents``
    broadcasts the sum of the contributions.
    """
    try:
        local = op.jvps[i](t, *args)
    except (ZeroDivisionError, OverflowError):
        local = rerun_on_numpy_floats(op.jvps[i], (t, *args))
    if STATE.anomaly:
        check_finite(local, op.name, node._trace, f"forward mode (tangent from input {i})")
    return local


def _like_node(tangent: Any, data: Any) -> Any:
    """The tangent in the form its node's data has: a float for a float, else that shape."""
    if type(tangent) is np.ndarray and type(data) is np.ndarray and tangent.shape == data.shape:
        return tangent                                   # the common case: already its form
    if is_value(tangent):                                # a Value (a differentiable trace)
        if shape_of(tangent) != shape_of(data):
            tangent = tangent.broadcast_to(shape_of(data))
        return tangent
    if type(data) is float:
        return tangent if type(tangent) is float else float(tangent)
    tangent = np.asarray(tangent)                        # a NumPy scalar from a 0-d rule
    if tangent.shape != data.shape:                      # an input-shaped tangent: broadcast
        tangent = np.broadcast_to(tangent, data.shape)
    return tangent

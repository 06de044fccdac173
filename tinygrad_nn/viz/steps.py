"""The engine's backward pass, recorded step by step (what the stepper page plays).

``backward_steps(root)`` goes through the graph exactly as ``Value.backward()`` does
(``value.backpropagate``): the nodes of ``reversed(toposort(root))``, each node's summed
gradient popped from the pending table (nodes no gradient reaches are skipped), and for each
parent that requires grad one chain-rule step ``value.chain_rule_step(node, i,
value.rule_args(node, g))`` whose result is summed into the parent's pending gradient.  The
local factors come from the rule table through those two functions, so there is one
implementation of a chain-rule step; this module only writes down what each step did.  It never
touches ``.grad`` (the pending gradients live in a table of its own) nor ``.data`` (the central
differences perturb stand-ins for the leaves).  Like ``backward()``, it refuses a graph whose
data was assigned after the forward pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..gradcheck import numeric_grad
from ..graph import toposort
from ..value import Value, chain_rule_step, rule_args

__all__ = ["BackwardStep", "EdgeStep", "backward_steps", "forward_again", "numeric_gradients"]


@dataclass(frozen=True)
class EdgeStep:
    """One edge of a step: ``contribution = g · ∂node/∂parent``, handed to ``node.parents[index]``.

    ``total`` is the parent's pending gradient after adding it: the sum of the contributions of
    every child processed so far.
    """

    parent: Value
    index: int
    contribution: Any
    total: Any


@dataclass(frozen=True)
class BackwardStep:
    """One node of the backward pass: its gradient ``grad = ∂E/∂node`` (final from now on) and
    the chain-rule step along each edge to a parent that requires grad."""

    node: Value
    grad: Any
    edges: tuple[EdgeStep, ...]


def seed_of(root: Value, fn: str) -> Any:
    """∂E/∂E = 1 in the root's own type, as ``backward()`` seeds it (the root must have one
    entry and require grad)."""
    if not isinstance(root, Value):
        raise TypeError(f"{fn}: expected a Value as root, got {type(root).__name__}")
    if not root.requires_grad:
        raise ValueError(f"{fn}: the root does not require grad (it is a constant, was made "
                         f"with requires_grad=False, or was computed under no_grad())")
    if root.size != 1:
        raise ValueError(f"{fn}: expected a root with one entry (a loss E), got shape "
                         f"{tuple(root.shape)}; reduce it first, e.g. with .sum()")
    return root._seed(None)


def backward_steps(root: Value, fn: str = "backward_steps") -> list[BackwardStep]:
    """The steps of ``root.backward()``, in the engine's order, without changing any ``.grad``.

    For node in reversed(toposort(root)): g = pending.pop(node) (skip the node if no gradient
    reached it); for each parent i that requires grad: pending[parent] += chain_rule_step(node,
    i, rule_args(node, g)), i.e. ∂E/∂parent += ∂E/∂node · ∂node/∂parent.  Raises RuntimeError,
    as ``backward()`` does, if a Value's data was assigned after the forward pass (``fn`` names
    the caller in the message).
    """
    pending: dict[Value, Any] = {root: seed_of(root, fn)}
    steps: list[BackwardStep] = []
    for node in reversed(toposort(root)):
        g = pending.pop(node, None)
        if g is None:                          # a constant: no gradient flows into it
            continue
        edges: list[EdgeStep] = []
        if node.op is not None:
            try:
                args = rule_args(node, g)
            except RuntimeError as exc:        # data assigned since the forward pass
                raise RuntimeError(f"{fn}: cannot replay the backward pass of this graph: "
                                   f"{exc}") from None
            for i, parent in enumerate(node.parents):
                if parent.requires_grad:
                    contribution = chain_rule_step(node, i, args)
                    before = pending.get(parent)
                    total = contribution if before is None else before + contribution
                    pending[parent] = total
                    edges.append(EdgeStep(parent, i, contribution, total))
        steps.append(BackwardStep(node, g, tuple(edges)))
    return steps


def forward_again(order: Sequence[Value], leaf_data: Mapping[Value, Any]) -> Any:
    """The last node of ``order`` (a topological order) computed again with the rule table's
    forward maps, each leaf in ``leaf_data`` taking the data given there instead of its own: the
    graph as a function of those leaves."""
    values: dict[Value, Any] = {}
    for v in order:
        if v.op is None:
            values[v] = leaf_data.get(v, v._data)
        else:
            values[v] = v.op.forward(*[values[p] for p in v.parents], *v.params)
    return values[order[-1]]


def numeric_gradients(root: Value, leaves: Sequence[Value], eps: float = 1e-6) -> list[Any]:
    """Central differences (E(x + ε) − E(x − ε)) / 2ε for every entry of every leaf, E being the
    graph of ``root`` evaluated again (``forward_again``) with stand-ins for the leaves, so the
    leaves themselves are never written (not even their version stamps)."""
    order = toposort(root)
    stand_ins = [Value(np.array(v._data) if type(v._data) is np.ndarray else v._data)
                 for v in leaves]

    def E(*data: Value) -> Any:
        return forward_again(order, {v: s._data for v, s in zip(leaves, data)})

    with np.errstate(all="ignore"):
        return numeric_grad(E, stand_ins, eps)

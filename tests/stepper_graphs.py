"""Graphs the stepper's tests play, and a replay of the engine's backward order written here.

``replay(root)`` is the tests' own account of what the page must show after each step k: the
node processed at step k and every gradient accumulated so far, from ``graph.toposort``,
``value.rule_args`` and ``value.chain_rule_step`` in the engine's order.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_nn as tn
from tinygrad_nn import Value, scope
from tinygrad_nn.graph import toposort
from tinygrad_nn.value import chain_rule_step, rule_args

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:                 # benchmarks/ is not part of the installed package
    sys.path.insert(0, str(ROOT))

from benchmarks.stepper_page import BIG_SIZES, scalar_mlp  # noqa: E402  (the benchmark's graph)


def replay_changes(root: Value) -> list[tuple[Value, dict[Value, Any]]]:
    """For steps k = 1..count: the node processed at step k and the gradients that step set (the
    node's own, now final, and each parent's new sum)."""
    seed = 1.0 if type(root.data) is float else np.ones_like(root.data)
    pending: dict[Value, Any] = {root: seed}
    out: list[tuple[Value, dict[Value, Any]]] = []
    for node in reversed(toposort(root)):
        if node not in pending:
            continue
        g = pending.pop(node)
        changes = {node: g}
        if node.op is not None:
            args = rule_args(node, g)
            for i, parent in enumerate(node.parents):
                if parent.requires_grad:
                    c = chain_rule_step(node, i, args)
                    pending[parent] = c if parent not in pending else pending[parent] + c
                    changes[parent] = pending[parent]
        out.append((node, changes))
    return out


def replay(root: Value) -> list[tuple[Value | None, dict[Value, Any]]]:
    """For k = 0..count: (the node processed at step k, {node: gradient so far})."""
    states: list[tuple[Value | None, dict[Value, Any]]] = [(None, {})]
    for node, changes in replay_changes(root):
        states.append((node, {**states[-1][1], **changes}))
    return states


def broadcast_program(rng: np.random.Generator) -> tuple[Value, list[Value]]:
    """A random tensor program with broadcasting ((3, 1) + (4,), a (4,) bias on a (3, 4) matrix)
    and a subexpression used twice (h feeds both the product and the sum)."""
    A = Value(rng.normal(size=(3, 1)), name="A")
    b = Value(rng.normal(size=(4,)), name="b")
    W = Value(rng.normal(size=(4, 4)), name="W")
    with scope("h"):
        h = (A + b).tanh()                      # (3, 4), broadcast both ways
        h.name = "h"
    with scope("mix"):
        y = (h @ W) * h + h.sum(axis=0) / 3.0   # h used three times
    with scope("E"):
        E = (y ** 2).mean()
    return E, [A, b, W]


def engine_grads(root: Value) -> dict[Value, Any]:
    """Every node's gradient from the engine itself: ``backward(retain_grads=True)``."""
    for v in toposort(root):
        v.grad = None
    root.backward(retain_grads=True)
    return {v: v.grad for v in toposort(root) if v.grad is not None}


__all__ = ["BIG_SIZES", "broadcast_program", "engine_grads", "replay", "replay_changes",
           "scalar_mlp", "tn"]

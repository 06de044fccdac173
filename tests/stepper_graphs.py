"""Graphs the stepper's tests play, and a replay of the engine's backward order written here.

``replay(root)`` is the tests' own account of what the page must show after each step k: the
node processed at step k and every gradient accumulated so far, from ``graph.toposort``,
``value.rule_args`` and ``value.chain_rule_step`` in the engine's order.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

import tinygrad_nn as tn
from tinygrad_nn import Value, scope
from tinygrad_nn.graph import toposort
from tinygrad_nn.value import chain_rule_step, rule_args


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


def scalar_mlp(sizes: list[int], rng: np.random.Generator) -> Value:
    """A scalar MLP in the style of micrograd (one Value per number), one scope per layer and
    per neuron, E = Σ out²."""
    xs = [Value(float(v), requires_grad=False, name=f"x{i + 1}")
          for i, v in enumerate(rng.normal(size=sizes[0]))]
    for l, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=1):
        outs = []
        with scope(f"layer {l}"):
            for j in range(n_out):
                with scope(f"neuron {j + 1}"):
                    acc = Value(0.0, name=f"b{j + 1}")
                    for x in xs:
                        acc = acc + x * Value(float(rng.normal() / np.sqrt(n_in)))
                    outs.append(acc.tanh())
        xs = outs
    with scope("E"):
        return sum((x * x for x in xs[1:]), xs[0] * xs[0])


BIG_SIZES = [10, 32, 32, 10]
"""A 5,169-Value scalar MLP: the stepper's big graph."""


def engine_grads(root: Value) -> dict[Value, Any]:
    """Every node's gradient from the engine itself: ``backward(retain_grads=True)``."""
    for v in toposort(root):
        v.grad = None
    root.backward(retain_grads=True)
    return {v: v.grad for v in toposort(root) if v.grad is not None}


__all__ = ["BIG_SIZES", "broadcast_program", "engine_grads", "replay", "replay_changes",
           "scalar_mlp", "tn"]

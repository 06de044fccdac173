"""Graph traversal shared by the graph pictures, gradient checking and the tests."""

from __future__ import annotations

from typing import Any


def toposort(root: Any, grad_only: bool = False) -> list[Any]:
    """Every node reachable from ``root``, each after all of its parents (iterative, deterministic).

    A depth-first search with an explicit stack instead of recursion, so a chain of 100,000 ops
    works; parents are visited in argument order, so the order is the same from run to run.
    ``grad_only=True`` leaves out the nodes that do not require grad (constants), which backward
    never visits.
    """
    order: list[Any] = []
    visited = {root}
    stack = [(root, iter(root._parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent in visited or (grad_only and not parent.requires_grad):
                continue
            visited.add(parent)
            if parent._parents:
                stack.append((parent, iter(parent._parents)))
                break
            order.append(parent)              # a leaf is finished as soon as it is reached
        else:
            stack.pop()
            order.append(node)
    return order

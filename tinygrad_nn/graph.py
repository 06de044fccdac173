"""Graph traversal shared by backward, the graph pictures and gradient checking."""

from __future__ import annotations

from typing import Any


def toposort(root: Any) -> list[Any]:
    """Every node reachable from ``root``, each after all of its parents (iterative, deterministic).

    A depth-first search with an explicit stack instead of recursion, so a chain of 100,000 ops
    works; parents are visited in argument order, so the order is the same from run to run.
    """
    order: list[Any] = []
    visited = {root}
    stack = [(root, iter(root._parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent not in visited:
                visited.add(parent)
                stack.append((parent, iter(parent._parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order

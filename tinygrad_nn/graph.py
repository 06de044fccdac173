"""Walking the computation graph: one topological order, shared by backward and the pictures."""

from __future__ import annotations

from typing import Any

__all__ = ["toposort"]


def toposort(root: Any) -> list[Any]:
    """Every node reachable from ``root``, each after all of its parents (``root`` comes last).

    A depth-first search with an explicit stack instead of recursion, so a chain of 100,000 ops
    works; parents are visited in argument order, so the order is the same from run to run.
    ``backward()`` walks it from the end: every node is reached after all the nodes that use it.
    """
    order: list[Any] = []
    visited = {root}
    stack = [(root, iter(root.parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent not in visited:
                visited.add(parent)
                stack.append((parent, iter(parent.parents)))
                break
        else:                                     # every parent is placed: the node comes next
            stack.pop()
            order.append(node)
    return order

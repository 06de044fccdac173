"""``stepper``: the engine's own backward pass, step by step, as one interactive offline page.

``tn.viz.stepper(loss)`` records the pass ``loss.backward()`` makes (``steps.backward_steps``:
the engine's order and its chain-rule steps, on a table of its own, so no ``.grad`` changes),
lays the graph out with Graphviz and returns a ``Stepper``; ``.save("backprop.html")`` writes
the page, and a notebook shows it inline.  The page's contract for tests and tools (documented
in docs/stepper.md): the data in ``<script type="application/json" id="tn-data">`` and
``window.tn`` with ``count()``, ``goto(k)``, ``step()``, ``back()`` and ``state()``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..graph import toposort
from ..value import Value
from .computation_graph import local_derivative, local_derivative_label, op_label, scope_fill
from .dot import number
from .pages.shell import asset, html_page, iframe, json_value, save_page
from .stepper_network import network_view
from .stepper_views import ScopeTree, build_views
from .steps import BackwardStep, backward_steps, numeric_gradients, seed_of

__all__ = ["COLLAPSE", "Stepper", "stepper"]

COLLAPSE = (None, "module")
"""How the page opens: None (every scope drawn open; a graph too big to draw opens with one box
per top-level scope) or "module" (every scope collapsed)."""
SHOWN_ENTRIES = 16     # a tensor with at most this many entries is drawn as its matrix
EMBEDDED_ENTRIES = 256  # a node's forward value is embedded in full up to this many entries
PRECISION = 4          # significant digits on the graph (the panel shows more)


class Stepper:
    """The backward pass of one graph, ready to play: ``save(path)`` writes the page.

    ``steps`` are the engine's steps (``BackwardStep``: node, its final gradient, the edges);
    ``node_ids()`` maps every Value of the graph to its id in the page; ``data`` is the JSON
    embedded in the page.
    """

    def __init__(self, root: Value, ids: dict[Value, str], steps: list[BackwardStep],
                 data: dict[str, Any]) -> None:
        self.root = root
        self.steps = steps
        self.data = data
        self._ids = ids

    def __len__(self) -> int:
        """The number of backward steps (``count()`` on the page)."""
        return len(self.steps)

    def __repr__(self) -> str:
        return (f"Stepper({len(self._ids)} Values, {len(self.steps)} backward steps, "
                f"{len(self.data['views'])} view{'s' if len(self.data['views']) != 1 else ''})")

    def node_ids(self) -> dict[Value, str]:
        """Every Value of the graph and its id in the page (``"v0"``, ``"v1"``... in the order of
        ``graph.toposort(root)``)."""
        return dict(self._ids)

    def html(self) -> str:
        """The whole page as one string of HTML (styles, scripts and data inlined)."""
        return html_page(title=f"Backprop stepper: {self.data['title']}",
                         body=asset("stepper_body.html"), data=self.data,
                         styles=["page.css", "stepper.css"],
                         scripts=["graph_view.js", "stepper.js"])

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (one self-contained ``.html`` file), atomically."""
        return save_page(self.html(), path, "Stepper.save")

    def _repr_html_(self) -> str:
        """The page inline in a notebook (in an iframe of its own)."""
        return iframe(self.html())


def stepper(root: Value, *, inputs: Sequence[Value] | Value | None = None,
            numeric: bool = False, collapse: str | None = None) -> Stepper:
    """The backward pass of ``root`` as an interactive page: ∂E/∂node for every node, in the
    engine's order, each step g · ∂node/∂parent along every edge (the chain rule).

    ``root`` is a one-entry Value (a loss E), before or after ``backward()`` (the stepper runs a
    pass of its own; no ``.grad`` changes). ``inputs``: the leaves whose gradients the page's
    table lists (default: every leaf that requires grad). ``numeric=True`` also shows each of
    them by central differences (E(x + ε) − E(x − ε)) / 2ε. ``collapse="module"`` opens the page
    with every scope collapsed. Needs Graphviz's ``dot`` for the layout.
    """
    seed_of(root, "stepper")
    if collapse not in COLLAPSE:
        raise ValueError(f"stepper: collapse must be None or 'module', got {collapse!r}")
    if not isinstance(numeric, bool):
        raise TypeError(f"stepper: numeric must be True or False, got {numeric!r}")
    nodes = toposort(root)
    ids = {v: f"v{i}" for i, v in enumerate(nodes)}
    leaves = _inputs(inputs, nodes, ids)
    steps = backward_steps(root, "stepper")
    numeric_values = numeric_gradients(root, leaves) if numeric and leaves else []
    tree = ScopeTree(nodes)
    edge_labels = {(ids[p], ids[v]): local_derivative_label(v, i, PRECISION)
                   for v in nodes if v.op is not None
                   for i, p in enumerate(v.parents) if p.requires_grad}
    views = build_views(nodes, ids, tree, _node_lines, edge_labels)
    data = {
        "page": "stepper",
        "version": 1,
        "title": root.name or "E",
        "root": ids[root],
        "collapse": collapse,
        "nodes": [_node_json(v, ids, tree) for v in nodes],
        "clusters": [{"id": sid, "label": s.label, "parent": tree.ids.get(s.parent) if
                      s.parent is not None else None, "fill": scope_fill(s),
                      "size": tree.sizes[s]} for s, sid in tree.ids.items()],
        "steps": [_step_json(step, ids) for step in steps],
        "views": [view.as_json() for view in views],
        "inputs": [ids[v] for v in leaves],
        "numeric": ({ids[v]: json_value(g) for v, g in zip(leaves, numeric_values)}
                    if numeric else None),
        "network": network_view(nodes, ids),
    }
    return Stepper(root, ids, steps, data)


def value_summary(x: Any) -> tuple[float, float]:
    """The smallest and largest entry of an array, NaNs left out (NaN if every entry is NaN)."""
    arr = np.asarray(x, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # an all-NaN array
        return float(np.nanmin(arr)), float(np.nanmax(arr))


def _inputs(inputs: Any, nodes: list[Value], ids: dict[Value, str]) -> list[Value]:
    """The leaves the page's table lists: ``inputs`` checked, or every leaf that requires grad."""
    if inputs is None:
        return [v for v in nodes if v.op is None and v.requires_grad]
    items = [inputs] if isinstance(inputs, Value) else inputs
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"stepper: inputs must be a Value or a list of Values, got "
                        f"{type(inputs).__name__}")
    out: list[Value] = []
    for k, v in enumerate(items):
        if not isinstance(v, Value):
            raise TypeError(f"stepper: inputs[{k}] must be a Value, got {type(v).__name__}")
        if v not in ids:
            raise ValueError(f"stepper: inputs[{k}] is not part of the graph of root: {v!r}")
        if v.op is not None or not v.requires_grad:
            raise ValueError(f"stepper: inputs[{k}] must be a leaf that requires grad (a "
                             f"parameter or an input made with requires_grad=True), got {v!r}")
        if v not in out:
            out.append(v)
    return out


def _kind(v: Value) -> str:
    if v.op is not None:
        return "op"
    return "param" if v.requires_grad else "const"


def _node_lines(v: Value) -> list[str]:
    """What the node's box shows: its op (or leaf/constant), name, value, and room for ∂E/∂node."""
    head = op_label(v) if v.op is not None else ("leaf" if v.requires_grad else "constant")
    lines = [head] + ([v.name] if v.name else [])
    data = v.data
    if np.ndim(data) == 0:
        lines.append(number(float(np.asarray(data)), PRECISION))
    elif v.size <= SHOWN_ENTRIES and v.ndim <= 2:
        lines.extend(_rows(np.asarray(data), lambda x: number(x, PRECISION)))
    else:
        lo, hi = value_summary(data)
        first = np.asarray(data).reshape(-1)[:3]
        lines += [f"{tuple(v.shape)} {v.dtype}",
                  "[" + ", ".join(number(x, PRECISION) for x in first) + ", …]",
                  f"min {number(lo, PRECISION)} max {number(hi, PRECISION)}"]
    return lines + _grad_room(v)


def _grad_room(v: Value) -> list[str]:
    """Placeholder lines as wide as the gradient will be, so the layout leaves room for it."""
    if not v.requires_grad:
        return []
    widest = "−0.0000e−00"
    if np.ndim(v.data) == 0:
        return [f"grad {widest}"]
    if v.size <= SHOWN_ENTRIES and v.ndim <= 2:
        return ["grad " + row for row in _rows(np.zeros(v.shape), lambda x: widest)]
    return [f"grad max|g| {widest}"]


def _rows(arr: np.ndarray, fmt: Any) -> list[str]:
    """A vector on one line, a matrix one line per row: ``[0.5, 0.25]``."""
    if arr.ndim == 1:
        return ["[" + ", ".join(fmt(x) for x in arr) + "]"]
    return ["[" + ", ".join(fmt(x) for x in row) + "]" for row in arr]


def _node_json(v: Value, ids: dict[Value, str], tree: ScopeTree) -> dict[str, Any]:
    data = v.data
    if v.size <= EMBEDDED_ENTRIES:
        value: Any = json_value(data)
    else:
        lo, hi = value_summary(data)
        flat = np.asarray(data, dtype=np.float64).reshape(-1)
        value = {"summary": True, "head": json_value(flat[:6]), "min": json_value(lo),
                 "max": json_value(hi)}
    lines = _node_lines(v)
    room = len(_grad_room(v))
    return {
        "id": ids[v],
        "op": v.op.name if v.op is not None else None,
        "label": v.name or (op_label(v) if v.op is not None else
                            "leaf" if v.requires_grad else "constant"),
        "name": v.name,
        "kind": _kind(v),
        "shape": list(v.shape),
        "value": value,
        "cluster": tree.ids[v.scope] if v.scope is not None else None,
        "parents": [ids[p] for p in v.parents],
        "text": lines[:len(lines) - room],
        "grad_rows": room,
        "shown": v.size <= SHOWN_ENTRIES and v.ndim <= 2,
    }


def _step_json(step: BackwardStep, ids: dict[Value, str]) -> dict[str, Any]:
    node = step.node
    edges = []
    for e in step.edges:
        parent = e.parent
        if np.ndim(node.data) == 0 and np.ndim(parent.data) == 0:
            try:
                local: Any = json_value(local_derivative(node, e.index))
            except (ArithmeticError, ValueError, TypeError, AttributeError, IndexError):
                local = "undefined"
        else:
            local = local_derivative_label(node, e.index, PRECISION)
        edges.append({"parent": ids[parent], "input": e.index, "local": local,
                      "contribution": json_value(e.contribution), "total": json_value(e.total)})
    return {"node": ids[node], "g": json_value(step.grad), "edges": edges}

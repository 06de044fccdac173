"""The stepper's views of a graph: which nodes each picture draws, laid out by Graphviz.

A graph is split by its scopes (module calls, ``scope()`` blocks: f, φ, g, E).  The first view
draws the whole graph when it has at most ``VIEW_NODES`` Values, each scope a cluster the page
can collapse; a bigger graph is drawn collapsed, one box per top-level scope, and each box opens
a view of its own (drawn the same way, recursively), which also shows the Values from outside
that feed it.  Every view is laid out once, here, with ``dot``; the page only draws it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..value import Scope, Value
from .computation_graph import scope_fill
from .dot import label, new_digraph
from .pages.layout import layout

__all__ = ["MAX_VIEW_NODES", "VIEW_NODES", "View", "build_views"]

VIEW_NODES = 400
"""A scope with at most this many Values (all its sub-scopes included) is drawn in full."""
MAX_VIEW_NODES = 2000
"""A view with more nodes than this is not laid out (Graphviz would take minutes)."""


@dataclass
class View:
    """One picture: its id (``"main"`` or a scope's id), the scope it opens (None: the graph),
    the Value ids drawn in full, the scopes drawn as clusters and as collapsed boxes, the
    outside Values drawn as stubs, and Graphviz's layout (None when too big to lay out)."""

    id: str
    scope: str | None
    title: str
    nodes: list[str] = field(default_factory=list)
    clusters: list[str] = field(default_factory=list)
    boxes: list[str] = field(default_factory=list)
    stubs: list[str] = field(default_factory=list)
    layout: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The view as the page reads it."""
        return {"id": self.id, "scope": self.scope, "title": self.title, "nodes": self.nodes,
                "clusters": self.clusters, "boxes": self.boxes, "stubs": self.stubs,
                "layout": self.layout}


class ScopeTree:
    """The scopes of a graph as a tree, numbered ``s0, s1...`` in the order the data flows
    through them (by their first op in the topological order; leaves made in a scope come
    first in that order but are not where its computation starts)."""

    def __init__(self, nodes: list[Value]) -> None:
        first: dict[Scope, tuple[int, int]] = {}
        for i, v in enumerate(nodes):
            s = v.scope
            key = (0 if v.op is not None else 1, i)
            while s is not None:
                if s not in first or key < first[s]:
                    first[s] = key
                s = s.parent
        ordered = sorted(first, key=lambda s: (first[s], len(s.path())))   # outer scopes first
        self.ids: dict[Scope, str] = {s: f"s{k}" for k, s in enumerate(ordered)}
        self.children: dict[Scope | None, list[Scope]] = {None: []}
        self.members: dict[Scope | None, list[Value]] = {None: []}
        for s in ordered:
            self.children[s] = []
            self.members[s] = []
            self.children[s.parent].append(s)
        for v in nodes:
            self.members[v.scope].append(v)
        self.sizes: dict[Scope | None, int] = {}
        for s in reversed([None, *ordered]):
            self.sizes[s] = len(self.members[s]) + sum(self.sizes[c] for c in self.children[s])

    def subtree(self, s: Scope | None) -> list[Value]:
        """Every Value in ``s`` and its sub-scopes."""
        out = list(self.members[s])
        for c in self.children[s]:
            out.extend(self.subtree(c))
        return out


def build_views(nodes: list[Value], ids: dict[Value, str], tree: ScopeTree,
                node_lines: Callable[[Value], list[str]], edge_labels: dict[tuple[str, str], str],
                rankdir: str = "LR") -> list[View]:
    """Every view of the graph, the first one (``"main"``) for the whole graph, each laid out."""
    views: list[View] = []
    drawings: list[tuple[View, Any]] = []
    _make_view(None, nodes, ids, tree, node_lines, edge_labels, rankdir, views, drawings)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:   # one dot per view
        layouts = list(pool.map(lambda item: layout(item[1], "stepper"), drawings))
    for (view, _), laid_out in zip(drawings, layouts):
        view.layout = laid_out
    return views


def _make_view(s: Scope | None, nodes: list[Value], ids: dict[Value, str], tree: ScopeTree,
               node_lines: Callable[[Value], list[str]],
               edge_labels: dict[tuple[str, str], str], rankdir: str, views: list[View],
               drawings: list[tuple[View, Any]]) -> None:
    sid = None if s is None else tree.ids[s]
    title = "the whole graph" if s is None else "/".join(s.path())
    view = View(id=sid or "main", scope=sid, title=title)
    views.append(view)
    full = tree.sizes[s] <= VIEW_NODES
    inside = set(tree.subtree(s))
    owner: dict[Value, str] = {}            # a Value drawn inside a box: the box's id
    graph = new_digraph(f"view_{view.id}", rankdir)
    graph.attr(nodesep="0.25", ranksep="0.35")

    def draw_value(v: Value, target: Any, stub: bool = False) -> None:
        lines = node_lines(v)
        attrs = {"label": label(*lines), "shape": "box", "margin": "0.12,0.05"}
        if stub:
            attrs["style"] = "dashed"
        target.node(ids[v], **attrs)

    def draw_scope(scope: Scope, target: Any) -> None:
        cid = tree.ids[scope]
        if full:
            view.clusters.append(cid)
            with target.subgraph(name=f"cluster_{cid}") as sub:
                sub.attr(label=label(scope.label), style="rounded,filled",
                         fillcolor=scope_fill(scope))
                for v in tree.members[scope]:
                    view.nodes.append(ids[v])
                    draw_value(v, sub)
                for child in tree.children[scope]:
                    draw_scope(child, sub)
            return
        view.boxes.append(cid)
        members = tree.subtree(scope)
        for v in members:
            owner[v] = cid
        n_ops = sum(1 for v in members if v.op is not None)
        target.node(cid, label=label(scope.label, f"{len(members)} Values, {n_ops} ops",
                                     "final 0000/0000"),
                    shape="box3d", style="filled", fillcolor=scope_fill(scope),
                    margin="0.15,0.08")

    own = tree.members[s]
    drawn_count = len(own) + (sum(tree.sizes[c] for c in tree.children[s]) if full
                              else len(tree.children[s]))
    for v in own:
        view.nodes.append(ids[v])
        draw_value(v, graph)
    for child in tree.children[s]:
        draw_scope(child, graph)
    if s is not None:                        # the Values from outside that feed this scope
        stubs: list[Value] = []
        seen: set[Value] = set()
        for v in nodes:
            if v in inside:
                for p in v.parents:
                    if p not in inside and p not in seen:
                        seen.add(p)
                        stubs.append(p)
        for p in stubs:
            view.stubs.append(ids[p])
            draw_value(p, graph, stub=True)
        drawn_count += len(stubs)

    edges: dict[tuple[str, str], int] = {}
    for v in nodes:
        if v not in inside:
            continue
        head = owner.get(v, ids[v])
        for p in v.parents:                  # a parent outside the scope is drawn as a stub
            tail = owner.get(p, ids[p])
            if tail == head:                 # inside one collapsed box
                continue
            edges[(tail, head)] = edges.get((tail, head), 0) + 1
    for (tail, head), count in edges.items():
        text = edge_labels.get((tail, head), "") if count == 1 else f"×{count}"
        graph.edge(tail, head, **({"label": label(text)} if text else {}))
    if drawn_count <= MAX_VIEW_NODES:
        drawings.append((view, graph))
    if not full:
        for child in tree.children[s]:
            _make_view(child, nodes, ids, tree, node_lines, edge_labels, rankdir, views,
                       drawings)


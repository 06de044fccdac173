"""``draw_graph``: the computation graph the engine recorded, as a graphviz ``Digraph``.

One box per ``Value`` (its name, data and gradient) and one ellipse per operation (its label:
``+``, ``*``, ``φ``, ``W·x+b``...), with the ops of each module call (or ``tinygrad_nn.scope``
block) inside a cluster labelled f, φ, g, E.  A parameter that scales one product is drawn
beside it, so the data flows along the page and each weight comes in from the side, as in the
tutorials' figures; ``rows`` keeps given Values side by side in a given order (a layer's
inputs x₁, x₂).  With ``edge_derivatives=True`` every edge into an op
carries the local derivative ∂out/∂in at the current values, so ∂E/∂w reads off the picture as
the sum over paths from w to E of the product of the edge labels (the chain rule).
``collapse="module"`` draws one node per module call instead, for big graphs.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

import graphviz
import numpy as np

from ..graph import toposort
from ..value import Scope, Value
from .dot import FONT, RANKDIRS, label, module_parameters, new_digraph, number

__all__ = ["HIGHLIGHT", "MARK_FILL", "MARK_LINE", "draw_graph", "local_derivative",
           "local_derivative_label", "op_label", "scope_fill"]

# colours: dark blue for highlighted paths, orange for marks, clusters by the map's role
HIGHLIGHT = "#1565c0"
MARK_LINE = "#e65100"
MARK_FILL = "#ffcc80"
ROLE_FILL = {"f": "#e8f0fe", "g": "#e8f0fe", "φ": "#fff4d6", "E": "#fde8e8"}
OTHER_FILL = "#f5f5f5"
SMALL = 4  # tensors with at most this many entries also show their numbers

_ROLE = re.compile(r"^[^\W\d_]\d*$")         # one letter, maybe numbered: f, g, φ, E, f4


# ----------------------------------------------------------------------------------------------
# Labels
# ----------------------------------------------------------------------------------------------


def _small_array(arr: np.ndarray, precision: int) -> str:
    """``[[0.5, 0.25]]``: the entries of a small array, nested like the array."""
    if arr.ndim == 0:
        return number(arr, precision)
    return "[" + ", ".join(_small_array(a, precision) for a in arr) + "]"


def _shape(shape: Sequence[int]) -> str:
    return str(tuple(int(n) for n in shape))


def _role(s: Scope) -> str | None:
    """The tutorial letter of a scope: its module's ``role``, or a label like "f", "φ", "E"."""
    module = s.module
    role = getattr(module, "role", None) if module is not None else None
    if isinstance(role, str):
        return role
    head = s.label.split(":", 1)[0].strip()
    return head if _ROLE.match(head) else None


def scope_fill(s: Scope) -> str:
    """Cluster colour by role: φ yellow, E red, affine maps (f, g, h...) blue, others grey."""
    role = _role(s)
    if role is None:
        return OTHER_FILL
    return ROLE_FILL.get(role, ROLE_FILL["f"])


def op_label(node: Value) -> str:
    """The op's graph label, with the parameter a reader needs (``**2``, ``sum axis=(0,)``)."""
    op = node.op
    assert op is not None
    params = node.params
    if op.name == "powc":
        return f"**{float(params[0]):g}"
    if op.name in ("sum", "mean", "max") and params and params[0] is not None:
        return f"{op.label} axis={params[0]}"
    if op.name == "leaky_relu":
        return f"{op.label}({float(params[0]):g})"
    return op.label


def _value_lines(v: Value, show_data: bool, show_grad: bool, precision: int) -> list[str]:
    lines = [v.name] if v.name else []
    if show_data:
        if np.ndim(v.data) == 0:
            lines.append(f"data {number(v.data, precision)}")
        else:
            lines.append(f"{_shape(v.shape)} {v.dtype}")
            if v.size <= SMALL:
                lines.append(_small_array(np.asarray(v.data), precision))
    if show_grad and v.grad is not None:
        g = v.grad.data if isinstance(v.grad, Value) else v.grad
        if np.ndim(g) == 0:
            lines.append(f"grad {number(g, precision)}")
        else:
            arr = np.asarray(g)
            peak = float(np.max(np.abs(arr))) if arr.size else 0.0
            lines.append(f"grad {_shape(arr.shape)} max|g| {number(peak, precision)}")
    return lines or ["Value"]


def local_derivative(node: Value, i: int) -> float:
    """∂node/∂parent_i at the current values, for a scalar node and parent: the rule table's VJP
    for input ``i`` evaluated at g = 1 (the chain rule's local factor)."""
    op = node.op
    assert op is not None, "local_derivative: a leaf has no rule"
    seed = 1.0 if type(node.data) is float else np.ones_like(node.data)
    args = [p.data for p in node.parents]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        d = op.vjps[i](seed, node.data, *args, *node.params)
    return float(np.asarray(d))


def local_derivative_label(node: Value, i: int, precision: int) -> str:
    """Edge label for parent ``i`` → op: ∂node/∂parent at the current values (or the VJP shape)."""
    parent = node.parents[i]
    if np.ndim(node.data) != 0 or np.ndim(parent.data) != 0:
        return f"vjp {_shape(node.shape)}→{_shape(parent.shape)}"
    try:
        return number(local_derivative(node, i), precision)
    except (ArithmeticError, ValueError, TypeError, AttributeError, IndexError):
        return "undefined"


# ----------------------------------------------------------------------------------------------
# Scopes and clusters
# ----------------------------------------------------------------------------------------------


def _ops_first(nodes: list[Value]) -> list[Value]:
    """The ops of ``nodes`` in order, then the leaves: scopes are numbered in the order their
    first operation runs (f, φ, g, φ, E), not by the first leaf met (a target d inside E)."""
    return [v for v in nodes if v.op is not None] + [v for v in nodes if v.op is None]


class _Clusters:
    """The scopes of a graph as a tree, numbered in order of first appearance (deterministic)."""

    def __init__(self) -> None:
        self.index: dict[Scope, int] = {}
        self.children: dict[Scope | None, list[Scope]] = {None: []}
        self.members: dict[Scope | None, list[tuple[str, dict[str, str]]]] = {None: []}

    def add(self, s: Scope | None) -> None:
        chain: list[Scope] = []
        while s is not None and s not in self.index:
            chain.append(s)
            s = s.parent
        for item in reversed(chain):
            self.index[item] = len(self.index)
            self.children[item] = []
            self.members[item] = []
            self.children[item.parent].append(item)

    def node(self, s: Scope | None, name: str, attrs: dict[str, str]) -> None:
        self.add(s)
        self.members[s].append((name, attrs))

    def emit(self, graph: graphviz.Digraph, cluster: bool, marked: set[Scope],
             s: Scope | None = None) -> None:
        """Write the nodes of scope ``s`` and its sub-scopes (nested clusters) into ``graph``."""
        for name, attrs in self.members[s]:
            graph.node(name, **attrs)
        for child in self.children[s]:
            if not cluster:
                self.emit(graph, cluster, marked, child)
                continue
            sub = graphviz.Digraph(name=f"cluster_{self.index[child]}")
            attrs = {"label": label(child.label), "style": "rounded,filled",
                     "fillcolor": scope_fill(child), "color": "#9e9e9e", "fontname": FONT}
            if child in marked:
                attrs.update(color=MARK_LINE, fillcolor=MARK_FILL, penwidth="3")
            sub.attr(**attrs)
            self.emit(sub, cluster, marked, child)
            graph.subgraph(sub)


def _in_marked(s: Scope | None, marked: set[Scope]) -> bool:
    while s is not None:
        if s in marked:
            return True
        s = s.parent
    return False


def _resolve_marks(mark: Any, nodes: list[Value],
                   index: dict[Value, int]) -> tuple[set[Value], set[Scope]]:
    """Split ``mark`` into marked Values and marked scopes (Scope, scope label, or module)."""
    if mark is None:
        return set(), set()
    items = [mark] if isinstance(mark, (Value, Scope, str)) or not isinstance(mark, Iterable) \
        else list(mark)
    scopes: list[Scope] = []
    seen: set[Scope] = set()
    for v in nodes:
        s = v.scope
        while s is not None and s not in seen:
            seen.add(s)
            scopes.append(s)
            s = s.parent
    values: set[Value] = set()
    marked: set[Scope] = set()
    for item in items:
        if isinstance(item, Value):
            if item not in index:
                raise ValueError("draw_graph: mark contains a Value that is not part of the "
                                 f"graph of root: {item!r}")
            values.add(item)
            continue
        if isinstance(item, Scope):
            hits = [item] if item in seen else []
        elif isinstance(item, str):
            hits = [s for s in scopes if s.label == item or "/".join(s.path()) == item]
        else:
            hits = [s for s in scopes if s.module is item]
        if not hits:
            known = sorted({s.label for s in scopes})
            raise ValueError(f"draw_graph: mark entry {item!r} matches no Value or scope of the "
                             f"graph (expected a Value, a Scope, a scope label or a module; "
                             f"scope labels in this graph: {known})")
        marked.update(hits)
    return values, marked


# ----------------------------------------------------------------------------------------------
# draw_graph
# ----------------------------------------------------------------------------------------------


def _on_path(nodes: list[Value], index: dict[Value, int], start: Value | None) -> list[bool]:
    """``on[i]``: node i lies on a path from ``start`` to the root (every node reaches the root)."""
    on = [False] * len(nodes)
    if start is None:
        return on
    if not isinstance(start, Value):
        raise TypeError(f"draw_graph: highlight_from must be a Value, got "
                        f"{type(start).__name__}")
    if start not in index:
        raise ValueError("draw_graph: highlight_from is not part of the graph of root (expected "
                         f"a Value that root was computed from, got {start!r})")
    for i, v in enumerate(nodes):
        on[i] = v is start or any(on[index[p]] for p in v.parents)
    return on


def draw_graph(root: Value, *, edge_derivatives: bool = False, show_data: bool = True,
               show_grad: bool = True, rankdir: str = "LR", max_nodes: int = 500,
               collapse: str | None = None, highlight_from: Value | None = None,
               mark: Any = None, cluster: bool = True, precision: int = 4,
               rows: Sequence[Sequence[Value]] = ()) -> graphviz.Digraph:
    """Draw the computation graph of ``root``: a box per Value, an ellipse per op, data flowing.

    ``edge_derivatives``: label each edge into an op with ∂out/∂in at the current values (scalar
    graphs; tensors show the VJP's shapes), so ∂root/∂leaf = Σ over paths of Π edge labels.
    ``collapse="module"``: one node per module call instead of one per op (for big graphs).
    ``highlight_from``: colour every path from that Value to ``root``. ``mark``: Values, Scopes,
    scope labels or modules to colour. ``cluster``: ops of a module call inside one box.
    ``rows``: groups of Values of the graph, each drawn side by side in the order given (left to
    right, or top to bottom when the data flows sideways).
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_graph: expected a Value as root, got {type(root).__name__}")
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw_graph: rankdir must be one of {RANKDIRS}, got {rankdir!r}")
    if collapse not in (None, "module"):
        raise ValueError(f"draw_graph: collapse must be None or 'module', got {collapse!r}")
    if not isinstance(max_nodes, int) or isinstance(max_nodes, bool) or max_nodes < 1:
        raise ValueError(f"draw_graph: max_nodes must be a positive int, got {max_nodes!r}")
    if not isinstance(precision, int) or not 1 <= precision <= 17:
        raise ValueError(f"draw_graph: precision must be an int in 1..17, got {precision!r}")

    nodes = toposort(root)
    index = {v: i for i, v in enumerate(nodes)}
    if collapse is None:
        n_ops = sum(1 for v in nodes if v.op is not None)
        total = len(nodes) + n_ops
        if total > max_nodes:
            calls = len({v.scope for v in nodes if v.op is not None and v.scope is not None})
            how = (f"pass collapse='module' to draw one node per module call ({calls} module "
                   f"calls) instead of one per operation" if calls else
                   "build the graph inside modules or tinygrad_nn.scope() blocks and pass "
                   "collapse='module' to draw one node per call")
            raise ValueError(
                f"draw_graph: the graph has {total} nodes ({len(nodes)} Values and {n_ops} "
                f"operations), more than max_nodes={max_nodes}; {how}, or raise max_nodes")
    on = _on_path(nodes, index, highlight_from)
    marked_values, marked_scopes = _resolve_marks(mark, nodes, index)
    style = _Style(on, marked_values, marked_scopes, show_data, show_grad, precision)
    row_ids = _check_rows(rows, index)
    if collapse == "module":
        if row_ids:
            raise ValueError("draw_graph: rows applies to the full drawing, not to "
                             "collapse='module'")
        return _draw_collapsed(root, nodes, index, style, rankdir, max_nodes, cluster)

    graph = new_digraph("computation_graph", rankdir)
    clusters = _Clusters()
    for v in _ops_first(nodes):
        clusters.add(v.scope)
    for i, v in enumerate(nodes):
        clusters.node(v.scope, f"v{i}", style.value_attrs(v, i, root))
        if v.op is not None:
            clusters.node(v.scope, f"o{i}", style.op_attrs(v, i))
    clusters.emit(graph, cluster, marked_scopes)
    for i, v in enumerate(nodes):
        if v.op is None:
            continue
        for k, p in enumerate(v.parents):
            j = index[p]
            attrs = {}
            if edge_derivatives:
                attrs["label"] = label(local_derivative_label(v, k, precision))
            if on[j] and on[i]:
                attrs.update(color=HIGHLIGHT, fontcolor=HIGHLIGHT, penwidth="2.5")
            graph.edge(f"v{j}", f"o{i}", **attrs)
        graph.edge(f"o{i}", f"v{i}", **({"color": HIGHLIGHT, "penwidth": "2.5"} if on[i] else {}))
    for weight, product in _weights_beside_products(nodes, index):
        _same_rank(graph, [weight, product])
    for ids in row_ids:
        # dot orders a rank left to right, which rankdir LR/RL turns into bottom to top
        _same_rank(graph, ids[::-1] if rankdir in ("LR", "RL") else ids, ordered=True)
    return graph


def _check_rows(rows: Sequence[Sequence[Value]], index: dict[Value, int]) -> list[list[str]]:
    """The node names of each row of ``draw_graph(rows=...)``; every entry must be in the graph."""
    if isinstance(rows, Value) or not isinstance(rows, Iterable):
        raise TypeError(f"draw_graph: rows must be a list of lists of Values, got "
                        f"{type(rows).__name__}")
    out = []
    for k, row in enumerate(rows):
        if isinstance(row, Value) or not isinstance(row, Iterable):
            raise TypeError(f"draw_graph: rows[{k}] must be a list of Values, got "
                            f"{type(row).__name__}")
        ids = []
        for v in row:
            if not isinstance(v, Value) or v not in index:
                raise ValueError(f"draw_graph: rows[{k}] holds {v!r}, which is not a Value of "
                                 f"the graph of root")
            ids.append(f"v{index[v]}")
        out.append(ids)
    return out


def _weights_beside_products(nodes: list[Value],
                             index: dict[Value, int]) -> list[tuple[str, str]]:
    """(weight, product) node pairs: a ``*`` of data and one parameter leaf used nowhere else."""
    uses: dict[Value, int] = {}
    for v in nodes:
        for p in v.parents:
            uses[p] = uses.get(p, 0) + 1
    pairs = []
    for i, v in enumerate(nodes):
        if v.op is None or v.op.name != "mul":
            continue
        params = [p for p in v.parents if p.op is None and p.requires_grad]
        if len(params) == 1 and uses[params[0]] == 1:
            pairs.append((f"v{index[params[0]]}", f"o{i}"))
    return pairs


def _same_rank(graph: graphviz.Digraph, names: list[str], ordered: bool = False) -> None:
    """Draw the nodes ``names`` on one rank; ``ordered``: in dot's order of the rank, first to
    last (left to right in TB)."""
    with graph.subgraph() as rank:
        rank.attr(rank="same")
        for name in names:
            rank.node(name)
        if ordered:
            for a, b in pairwise(names):
                rank.edge(a, b, style="invis")


class _Style:
    """Node attributes shared by the full and the collapsed drawing."""

    def __init__(self, on: list[bool], marked_values: set[Value], marked_scopes: set[Scope],
                 show_data: bool, show_grad: bool, precision: int) -> None:
        self.on = on
        self.marked_values = marked_values
        self.marked_scopes = marked_scopes
        self.show_data = show_data
        self.show_grad = show_grad
        self.precision = precision

    def decorate(self, attrs: dict[str, str], highlighted: bool, marked: bool) -> dict[str, str]:
        if highlighted:
            attrs.update(color=HIGHLIGHT, penwidth="2.5")
        if marked:
            attrs.update(style="filled" + (",rounded" if "rounded" in attrs.get("style", "")
                                           else ""),
                         fillcolor=MARK_FILL, color=MARK_LINE, penwidth="2.5")
        return attrs

    def is_marked(self, v: Value) -> bool:
        return v in self.marked_values or _in_marked(v.scope, self.marked_scopes)

    def value_attrs(self, v: Value, i: int, root: Value) -> dict[str, str]:
        attrs = {"label": label(*_value_lines(v, self.show_data, self.show_grad,
                                               self.precision)),
                 "shape": "box", "style": "rounded,filled", "fillcolor": "white"}
        if v.op is None:
            if v.requires_grad:
                attrs["fillcolor"] = "#e8f5e9"
            else:
                attrs.update(style="rounded,dashed,filled", fillcolor="#fafafa",
                             color="#757575")
        if v is root:
            attrs.update(penwidth="2", fillcolor="#fde8e8")
        return self.decorate(attrs, self.on[i], self.is_marked(v))

    def op_attrs(self, v: Value, i: int) -> dict[str, str]:
        attrs = {"label": label(op_label(v)), "shape": "ellipse", "style": "filled",
                 "fillcolor": "#eeeeee", "margin": "0.05,0.02"}
        return self.decorate(attrs, self.on[i], self.is_marked(v))


def _draw_collapsed(root: Value, nodes: list[Value], index: dict[Value, int], style: _Style,
                    rankdir: str, max_nodes: int, cluster: bool) -> graphviz.Digraph:
    """One node per module call (innermost scope); leaves it owns are folded into it."""
    # group of every op result: its innermost scope (None: drawn op by op)
    group: dict[Value, Scope | None] = {v: v.scope for v in nodes if v.op is not None}
    consumers: dict[Value, list[Value]] = {v: [] for v in nodes}
    for v in nodes:
        for p in v.parents:
            consumers[p].append(v)
    params: dict[Scope, set[Value]] = {}
    bundles: dict[Scope, list[Value]] = {}
    for v in nodes:
        if v.op is not None:
            continue
        if v is root:                                 # a lone leaf: nothing to collapse
            group[v] = None
            continue
        targets = {group[c] for c in consumers[v]}
        only = next(iter(targets)) if len(targets) == 1 else None
        if only is not None and only not in params:
            params[only] = set(module_parameters(only.module))
        if v.scope is not None:                       # created inside a module call / scope
            group[v] = v.scope
        elif only is not None and v in params[only]:
            group[v] = only                           # a parameter of the module that uses it
        else:
            group[v] = None
            if only is not None:
                bundles.setdefault(only, []).append(v)
    # many loose leaves feeding one module call (a scalar network's inputs): one node
    folds = {f"l{k}": leaves for k, leaves in enumerate(bundles.values()) if len(leaves) > 4}
    folded = {leaf: name for name, leaves in folds.items() for leaf in leaves}

    groups: list[Scope] = []
    seen: set[Scope] = set()
    for v in _ops_first(nodes):
        s = group[v]
        if s is not None and s not in seen:
            seen.add(s)
            groups.append(s)
    gid = {s: f"m{k}" for k, s in enumerate(groups)}
    root_in_group = group[root] is not None
    loose = [v for v in nodes if group[v] is None and v not in folded]
    n_ops = sum(1 for v in loose if v.op is not None)
    total = len(groups) + len(loose) + n_ops + len(folds) + int(root_in_group)
    if total > max_nodes:
        raise ValueError(f"draw_graph: even with collapse='module' the drawing has {total} nodes "
                         f"({len(groups)} module calls, {len(loose)} Values outside any module), "
                         f"more than max_nodes={max_nodes}; raise max_nodes or build more of the "
                         f"graph inside modules or tinygrad_nn.scope() blocks")

    graph = new_digraph("computation_graph", rankdir)
    clusters = _Clusters()
    members: dict[Scope, list[Value]] = {s: [] for s in groups}
    for v in nodes:
        s = group[v]
        if s is not None:
            members[s].append(v)
    for s in groups:
        inner = members[s]
        ops_here = [v for v in inner if v.op is not None]
        leaves = [v for v in inner if v.op is None]
        outs = [v for v in inner if v is root or any(group[c] is not s for c in consumers[v])]
        word = ("param", "params") if all(v.requires_grad for v in leaves) else ("leaf", "leaves")
        lines = [s.label, f"{len(ops_here)} op{'s' if len(ops_here) != 1 else ''}"
                 + (f", {len(leaves)} {word[len(leaves) != 1]}" if leaves else "")]
        if len(outs) == 1:
            out = outs[0]
            lines.append("out " + (number(out.data, style.precision) if np.ndim(out.data) == 0
                                   else f"{_shape(out.shape)} {out.dtype}"))
        attrs = {"label": label(*lines), "shape": "box3d", "style": "filled",
                 "fillcolor": scope_fill(s)}
        hot = any(style.on[index[v]] for v in ops_here)
        marked = _in_marked(s, style.marked_scopes) or any(v in style.marked_values
                                                           for v in inner)
        clusters.node(s.parent, gid[s], style.decorate(attrs, hot, marked))
    for leaf_id, leaves in folds.items():
        kind = "scalars" if all(type(v.data) is float for v in leaves) else "Values"
        clusters.node(None, leaf_id, {"label": label(f"{len(leaves)} leaf {kind}"),
                                      "shape": "folder", "style": "filled",
                                      "fillcolor": "#e8f5e9"})
    for v in loose:
        i = index[v]
        clusters.node(v.scope, f"v{i}", style.value_attrs(v, i, root))
        if v.op is not None:
            clusters.node(v.scope, f"o{i}", style.op_attrs(v, i))
    if root_in_group:
        s = group[root]
        assert s is not None
        clusters.node(s.parent, f"v{index[root]}",
                      style.value_attrs(root, index[root], root))
    clusters.emit(graph, cluster, style.marked_scopes)

    def source(p: Value) -> str:
        if p in folded:
            return folded[p]
        s = group[p]
        return f"v{index[p]}" if s is None else gid[s]

    edges: dict[tuple[str, str], list[bool]] = {}
    for v in nodes:
        if v.op is None:
            continue
        s = group[v]
        dst = f"o{index[v]}" if s is None else gid[s]
        for p in v.parents:
            if s is not None and group[p] is s:      # inside one module call: not drawn
                continue
            src = source(p)
            edges.setdefault((src, dst), []).append(style.on[index[p]] and style.on[index[v]])
        if s is None:
            edges.setdefault((dst, f"v{index[v]}"), []).append(style.on[index[v]])
    if root_in_group:
        s = group[root]
        assert s is not None
        edges.setdefault((gid[s], f"v{index[root]}"), []).append(style.on[index[root]])
    for (src, dst), flags in edges.items():
        attrs = {"label": f"×{len(flags)}"} if len(flags) > 1 else {}
        if any(flags):
            attrs.update(color=HIGHLIGHT, penwidth="2.5")
        graph.edge(src, dst, **attrs)
    return graph

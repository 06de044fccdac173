"""Pictures of graphs with graphviz: the computation graph of a Value and the network G(V, A).

``draw_graph(root)`` draws what the engine recorded: one box per ``Value`` (its name, data and
gradient) and one ellipse per operation (its label: ``+``, ``*``, ``φ``, ``W·x+b``...), with the
ops of each module call (or ``tinygrad_nn.scope`` block) inside a cluster labelled f, φ, g, E.
With ``edge_derivatives=True`` every edge into an op carries the local derivative ∂out/∂in at
the current values, so ∂E/∂w reads off the picture as the sum over paths from w to E of the
product of the edge labels (the chain rule).

``draw_network(model)`` draws the tutorial's graph G(V, A) of a ``Sequential`` of ``Linear``
and activation layers: neurons as vertices grouped by layer, weights as arcs (between two
adjacent layers the complete bipartite graph K_{m,n}), coloured by sign, as thick as they are
large.

Both return a ``graphviz.Digraph``: ``.source`` is the DOT text (no executable needed),
``.render()``/``render()`` need Graphviz's ``dot`` (Debian: ``apt-get install graphviz``), and
Jupyter displays the object directly.
"""

from __future__ import annotations

import argparse
import itertools
import math
import re
import shutil
import sys
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from .errors import GraphvizNotFoundError
from .graph import toposort
from .tutorial.examples import WORKED_TARGET, WORKED_W1, WORKED_W2, WORKED_X, worked_model
from .value import Scope, Value, scope

__all__ = [
    "GraphvizNotFoundError",
    "configure_graph",
    "draw_graph",
    "draw_network",
    "render",
    "run_graph",
    "worked_example_drawings",
    "worked_example_model",
    "worked_example_scalar",
    "worked_example_tensor",
]

FORMATS = ("svg", "png", "pdf")
RANKDIRS = ("LR", "RL", "TB", "BT")

# colours: blue/red for the sign of a weight, dark blue for highlighted paths, orange for marks
POSITIVE = "#1f77b4"
NEGATIVE = "#d62728"
ZERO = "#999999"
HIGHLIGHT = "#1565c0"
MARK_LINE = "#e65100"
MARK_FILL = "#ffcc80"
ROLE_FILL = {"f": "#e8f0fe", "g": "#e8f0fe", "φ": "#fff4d6", "E": "#fde8e8"}
OTHER_FILL = "#f5f5f5"
FONT = "Helvetica,Arial,sans-serif"
SMALL = 4  # tensors with at most this many entries also show their numbers

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_ROLE = re.compile(r"^[^\W\d_]\d*$")         # one letter, maybe numbered: f, g, φ, E, f4


# ----------------------------------------------------------------------------------------------
# Labels
# ----------------------------------------------------------------------------------------------


def _label(*lines: str) -> str:
    """A DOT label from plain text lines: backslashes, quotes and ``<...>`` are taken literally."""
    parts = [graphviz.escape(" ".join(line.splitlines())) for line in lines]
    return graphviz.nohtml("\\n".join(parts))


def _num(x: Any, precision: int) -> str:
    """A number for a label: ``precision`` significant digits, no ``-0``."""
    x = float(x)
    if x == 0.0:
        return "0"
    return f"{x:.{precision}g}"


def _small_array(arr: np.ndarray, precision: int) -> str:
    """``[[0.5, 0.25]]``: the entries of a small array, nested like the array."""
    if arr.ndim == 0:
        return _num(arr, precision)
    return "[" + ", ".join(_small_array(a, precision) for a in arr) + "]"


def _shape(shape: Sequence[int]) -> str:
    return str(tuple(int(n) for n in shape))


def _sub(i: int) -> str:
    return str(i).translate(_SUB)


def _sup(i: int) -> str:
    return str(i).translate(_SUP)


def _role(s: Scope) -> str | None:
    """The tutorial letter of a scope: its module's ``role``, or a label like "f", "φ", "E"."""
    module = s.module
    role = getattr(module, "role", None) if module is not None else None
    if isinstance(role, str):
        return role
    head = s.label.split(":", 1)[0].strip()
    return head if _ROLE.match(head) else None


def _fill(s: Scope) -> str:
    """Cluster colour by role: φ yellow, E red, affine maps (f, g, h...) blue, others grey."""
    role = _role(s)
    if role is None:
        return OTHER_FILL
    return ROLE_FILL.get(role, ROLE_FILL["f"])


def _op_label(node: Value) -> str:
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
            lines.append(f"data {_num(v.data, precision)}")
        else:
            lines.append(f"{_shape(v.shape)} {v.dtype}")
            if v.size <= SMALL:
                lines.append(_small_array(np.asarray(v.data), precision))
    if show_grad and v.grad is not None:
        g = v.grad.data if isinstance(v.grad, Value) else v.grad
        if np.ndim(g) == 0:
            lines.append(f"grad {_num(g, precision)}")
        else:
            arr = np.asarray(g)
            peak = float(np.max(np.abs(arr))) if arr.size else 0.0
            lines.append(f"grad {_shape(arr.shape)} max|g| {_num(peak, precision)}")
    return lines or ["Value"]


def _local_derivative(node: Value, i: int, precision: int) -> str:
    """Edge label for parent ``i`` → op: ∂node/∂parent at the current values (or the VJP shape)."""
    op = node.op
    assert op is not None
    parent = node.parents[i]
    if np.ndim(node.data) != 0 or np.ndim(parent.data) != 0:
        return f"vjp {_shape(node.shape)}→{_shape(parent.shape)}"
    seed = 1.0 if type(node.data) is float else np.ones_like(node.data)
    args = [p.data for p in node.parents]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            d = op.vjps[i](seed, node.data, *args, *node.params)
        return _num(float(np.asarray(d)), precision)
    except (ArithmeticError, ValueError, TypeError, AttributeError, IndexError):
        return "undefined"


# ----------------------------------------------------------------------------------------------
# Scopes and clusters
# ----------------------------------------------------------------------------------------------


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
            attrs = {"label": _label(child.label), "style": "rounded,filled",
                     "fillcolor": _fill(child), "color": "#9e9e9e", "fontname": FONT}
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


def _new_digraph(name: str, rankdir: str, label: str | None = None) -> graphviz.Digraph:
    graph_attr = {"rankdir": rankdir, "fontname": FONT, "newrank": "true"}
    if label:
        graph_attr.update(label=_label(label), labelloc="t")
    return graphviz.Digraph(name=name, graph_attr=graph_attr,
                            node_attr={"fontname": FONT, "fontsize": "10"},
                            edge_attr={"fontname": FONT, "fontsize": "9",
                                       "arrowsize": "0.6"})


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
               mark: Any = None, cluster: bool = True, precision: int = 4) -> graphviz.Digraph:
    """Draw the computation graph of ``root``: a box per Value, an ellipse per op, data flowing.

    ``edge_derivatives``: label each edge into an op with ∂out/∂in at the current values (scalar
    graphs; tensors show the VJP's shapes), so ∂root/∂leaf = Σ over paths of Π edge labels.
    ``collapse="module"``: one node per module call instead of one per op (for big graphs).
    ``highlight_from``: colour every path from that Value to ``root``. ``mark``: Values, Scopes,
    scope labels or modules to colour. ``cluster``: ops of a module call inside one box.
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
    if collapse == "module":
        return _draw_collapsed(root, nodes, index, style, rankdir, max_nodes, cluster)

    graph = _new_digraph("computation_graph", rankdir)
    clusters = _Clusters()
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
                attrs["label"] = _label(_local_derivative(v, k, precision))
            if on[j] and on[i]:
                attrs.update(color=HIGHLIGHT, fontcolor=HIGHLIGHT, penwidth="2.5")
            graph.edge(f"v{j}", f"o{i}", **attrs)
        graph.edge(f"o{i}", f"v{i}", **({"color": HIGHLIGHT, "penwidth": "2.5"} if on[i] else {}))
    return graph


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
        attrs = {"label": _label(*_value_lines(v, self.show_data, self.show_grad,
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
        attrs = {"label": _label(_op_label(v)), "shape": "ellipse", "style": "filled",
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
            params[only] = set(_module_parameters(only.module))
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
    for v in nodes:
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

    graph = _new_digraph("computation_graph", rankdir)
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
            lines.append("out " + (_num(out.data, style.precision) if np.ndim(out.data) == 0
                                   else f"{_shape(out.shape)} {out.dtype}"))
        attrs = {"label": _label(*lines), "shape": "box3d", "style": "filled",
                 "fillcolor": _fill(s)}
        hot = any(style.on[index[v]] for v in ops_here)
        marked = _in_marked(s, style.marked_scopes) or any(v in style.marked_values
                                                           for v in inner)
        clusters.node(s.parent, gid[s], style.decorate(attrs, hot, marked))
    for leaf_id, leaves in folds.items():
        kind = "scalars" if all(type(v.data) is float for v in leaves) else "Values"
        clusters.node(None, leaf_id, {"label": _label(f"{len(leaves)} leaf {kind}"),
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


def _module_parameters(module: Any) -> list[Value]:
    """The parameter Values of a module (``module.parameters()``); none for anything else."""
    params = getattr(module, "parameters", None)
    if not callable(params):
        return []
    try:
        return [p for p in params() if isinstance(p, Value)]
    except Exception:                                  # a foreign object with parameters()
        return []


# ----------------------------------------------------------------------------------------------
# draw_network
# ----------------------------------------------------------------------------------------------


def _split_layers(model: Any) -> tuple[list[Any], list[str | None]]:
    """The Linear layers of ``model`` in order and the activation that follows each one."""
    layers = _flatten(model)
    linears: list[Any] = []
    activations: list[str | None] = []
    for k, layer in enumerate(layers):
        weight = getattr(layer, "weight", None)
        if isinstance(weight, Value) and weight.ndim == 2:
            if linears and linears[-1].weight.shape[0] != weight.shape[1]:
                raise ValueError(f"draw_network: layer {k} ({_layer_name(layer)}) takes "
                                 f"{weight.shape[1]} inputs but the previous Linear gives "
                                 f"{linears[-1].weight.shape[0]} outputs")
            linears.append(layer)
            activations.append(None)
        elif getattr(layer, "role", None) == "E" and k == len(layers) - 1 and linears:
            continue                                  # a trailing error function: no neurons
        elif getattr(layer, "role", None) == "φ" and not _module_parameters(layer):
            if not linears:
                raise ValueError(f"draw_network: layer {k} ({_layer_name(layer)}) is an "
                                 f"activation before any Linear layer; expected a Sequential "
                                 f"that starts with Linear")
            if activations[-1] is not None:
                raise ValueError(f"draw_network: layer {k} ({_layer_name(layer)}) is a second "
                                 f"activation after the same Linear layer")
            activations[-1] = type(layer).__name__
        else:
            raise TypeError(f"draw_network: expected a Sequential of Linear and activation "
                            f"layers (or one Linear), but layer {k} is "
                            f"{type(layer).__name__} ({_layer_name(layer)})")
    if not linears:
        raise TypeError(f"draw_network: expected a Sequential of Linear and activation layers "
                        f"(or one Linear), got {type(model).__name__} with no Linear layer")
    return linears, activations


def _flatten(model: Any) -> list[Any]:
    """The layers of a Sequential in data order, nested Sequentials expanded."""
    out: list[Any] = []
    stack = [model]
    while stack:
        item = stack.pop()
        inner = getattr(item, "layers", None)
        if isinstance(inner, (list, tuple)):
            stack.extend(reversed(inner))
        else:
            out.append(item)
    return out


def _layer_name(layer: Any) -> str:
    name = getattr(layer, "name", None)
    return name if isinstance(name, str) else type(layer).__name__


def _shown(n: int, max_neurons: int) -> tuple[list[int], int]:
    """1-based neuron indices drawn for a layer of ``n`` and how many the ellipsis stands for."""
    if n <= max_neurons:
        return list(range(1, n + 1)), 0
    head = max_neurons // 2
    tail = max_neurons - 1 - head
    return list(range(1, head + 1)) + list(range(n - tail + 1, n + 1)), n - head - tail


def _weight_style(w: float, peak: float, precision: int) -> dict[str, str]:
    """Arc attributes of one weight: colour by sign, pen width by |w| relative to the largest."""
    colour = POSITIVE if w > 0 else NEGATIVE if w < 0 else ZERO
    width = 0.4 + 3.6 * abs(w) / peak if peak > 0 and math.isfinite(w) else 1.0
    return {"color": colour, "penwidth": f"{width:.2f}", "fontcolor": colour,
            "tooltip": _num(w, precision)}


def draw_network(model: Any, *, show_bias: bool = False, weight_labels: bool = False,
                 max_neurons: int = 12, rankdir: str = "LR",
                 precision: int = 3) -> graphviz.Digraph:
    """Draw a Sequential of Linear + activation layers as the tutorial's graph G(V, A).

    Neurons are vertices (one cluster per layer: input, hidden..., output); weights are arcs,
    K_{m,n} between adjacent layers; arc colour = sign (blue +, red −), width = |w|.
    ``weight_labels`` writes ``w¹₁₂ = 0.35`` (from neuron 1 of layer 1 to neuron 2 of layer 2:
    ``weight[1, 0]``); ``show_bias`` adds a +1 bias neuron per layer; layers wider than
    ``max_neurons`` show their first and last neurons around an ellipsis node.
    """
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw_network: rankdir must be one of {RANKDIRS}, got {rankdir!r}")
    if not isinstance(max_neurons, int) or isinstance(max_neurons, bool) or max_neurons < 3:
        raise ValueError(f"draw_network: max_neurons must be an int >= 3, got {max_neurons!r}")
    if not isinstance(precision, int) or not 1 <= precision <= 17:
        raise ValueError(f"draw_network: precision must be an int in 1..17, got {precision!r}")
    linears, activations = _split_layers(model)
    weights = [np.asarray(layer.weight.data, dtype=np.float64) for layer in linears]
    biases = [None if getattr(layer, "bias", None) is None
              else np.asarray(layer.bias.data, dtype=np.float64) for layer in linears]
    sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    shown = [_shown(n, max_neurons) for n in sizes]
    drawn = [w[np.ix_([j - 1 for j in shown[k + 1][0]], [i - 1 for i in shown[k][0]])]
             for k, w in enumerate(weights)]
    if show_bias:
        drawn += [b[[j - 1 for j in shown[k + 1][0]]] for k, b in enumerate(biases)
                  if b is not None]
    finite = [np.abs(d[np.isfinite(d)]) for d in drawn]
    peak = max((float(np.max(d)) for d in finite if d.size), default=0.0)

    n_arcs = sum(m * n for m, n in itertools.pairwise(sizes))
    kmn = " + ".join(f"K{_sub(m)},{_sub(n)}" for m, n in itertools.pairwise(sizes))
    n_bias = sum(b.size for b in biases if b is not None)
    caption = (f"G(V, A): {sum(sizes)} neurons, {n_arcs} weights ({kmn})"
               + (f", {n_bias} biases" if show_bias and n_bias else ""))
    graph = _new_digraph("network", rankdir, caption)
    graph.attr(ranksep="1.2", nodesep="0.15", remincross="false")
    last = len(sizes)
    for l, n in enumerate(sizes, start=1):
        kind = ("input layer" if l == 1 else "output layer" if l == last
                else f"hidden layer {l - 1}")
        title = f"{kind}: X{_sub(l)}, {n} neuron{'s' if n != 1 else ''}"
        act = activations[l - 2] if l > 1 else None
        sub = graphviz.Digraph(name=f"cluster_layer{l}")
        sub.attr(label=_label(title, f"φ = {act}") if act else _label(title),
                 style="rounded,filled", color="#9e9e9e", fontname=FONT,
                 fillcolor="#e8f5e9" if l == 1 else "#fde8e8" if l == last else "#fff4d6")
        idx, hidden = shown[l - 1]
        order: list[str] = []
        for pos, i in enumerate(idx):
            if hidden and pos == max_neurons // 2:
                sub.node(f"L{l}_more", _label("⋮", f"{hidden} more"), shape="plaintext")
                order.append(f"L{l}_more")
            sub.node(f"L{l}_{i}", _label(f"x{_sub(i)}{_sup(l)}"), shape="circle",
                     style="filled", fillcolor="white", fixedsize="true", width="0.5")
            order.append(f"L{l}_{i}")
        if show_bias and l < last and biases[l - 1] is not None:
            sub.node(f"B{l + 1}", _label("+1"), shape="box", style="dashed,filled",
                     fillcolor="white", tooltip="bias neuron (always 1)")
            order.append(f"B{l + 1}")
        # keep the neurons of a layer in index order: one rank, chained by invisible edges
        # (dot lays a rank out bottom to top when rankdir is LR or RL, so chain it backwards)
        column = graphviz.Digraph(name=f"layer{l}_order", graph_attr={"rank": "same"})
        for tail, head in itertools.pairwise(order[::-1] if rankdir in ("LR", "RL")
                                             else order):
            column.edge(tail, head, style="invis")
        sub.subgraph(column)
        graph.subgraph(sub)

    for k, w in enumerate(weights):
        l = k + 1
        (src_idx, src_more), (dst_idx, dst_more) = shown[k], shown[k + 1]
        for j in dst_idx:
            for i in src_idx:
                value = float(w[j - 1, i - 1])
                attrs = _weight_style(value, peak, precision)
                if weight_labels:
                    attrs["label"] = _label(f"w{_sup(l)}{_pair(i, j)} = {_num(value, precision)}")
                graph.edge(f"L{l}_{i}", f"L{l + 1}_{j}", **attrs)
        faint = {"style": "dashed", "color": ZERO, "arrowhead": "none"}
        if src_more:
            for j in dst_idx:
                graph.edge(f"L{l}_more", f"L{l + 1}_{j}", **faint)
        if dst_more:
            for i in src_idx:
                graph.edge(f"L{l}_{i}", f"L{l + 1}_more", **faint)
        if src_more and dst_more:
            graph.edge(f"L{l}_more", f"L{l + 1}_more", **faint)
        b = biases[k]
        if show_bias and b is not None:
            for j in dst_idx:
                value = float(b[j - 1])
                attrs = _weight_style(value, peak, precision)
                attrs["style"] = "dashed"
                if weight_labels:
                    attrs["label"] = _label(f"b{_sup(l + 1)}{_sub(j)} = {_num(value, precision)}")
                graph.edge(f"B{l + 1}", f"L{l + 1}_{j}", **attrs)
            if dst_more:
                graph.edge(f"B{l + 1}", f"L{l + 1}_more", **faint)
    return graph


def _pair(i: int, j: int) -> str:
    """Subscript ``ij`` as in w_{ij}; with a comma once an index has two digits."""
    return _sub(i) + _sub(j) if i < 10 and j < 10 else f"{_sub(i)},{_sub(j)}"


# ----------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------


def _missing_dot(fn: str) -> GraphvizNotFoundError:
    return GraphvizNotFoundError(
        f"{fn}: Graphviz's `dot` executable was not found on PATH, so the picture cannot be "
        f"rendered. Install it with `apt-get install graphviz` (Debian/Ubuntu; see "
        f"https://graphviz.org/download/ elsewhere). Drawing needs no executable: the Digraph's "
        f"`.source` is the DOT text, and `.save(path)` writes it to a file.")


def render(digraph: graphviz.Digraph, path: str | Path, format: str = "svg") -> Path:
    """Render ``digraph`` to ``path`` as svg, png or pdf with Graphviz's ``dot``; returns the path.

    The format's suffix is appended unless ``path`` already ends in it. Raises
    ``GraphvizNotFoundError`` (a ``RuntimeError``) if ``dot`` is not installed.
    """
    if not isinstance(digraph, (graphviz.Digraph, graphviz.Graph)):
        raise TypeError(f"render: expected a graphviz.Digraph (from draw_graph or draw_network), "
                        f"got {type(digraph).__name__}")
    if format not in FORMATS:
        raise ValueError(f"render: format must be one of {FORMATS}, got {format!r}")
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix != f".{format}":
        if suffix in {".svg", ".png", ".pdf", ".gv", ".dot"}:
            raise ValueError(f"render: path {str(out)!r} ends in {out.suffix} but format is "
                             f"{format!r}; pass format={suffix[1:]!r} or change the suffix")
        out = out.with_name(f"{out.name}.{format}")
    if shutil.which("dot") is None:
        raise _missing_dot("render")
    try:
        data = digraph.pipe(format=format)
    except graphviz.ExecutableNotFound as exc:
        raise _missing_dot("render") from exc
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out


# ----------------------------------------------------------------------------------------------
# The worked example (seed 000) and the `graph` command
# ----------------------------------------------------------------------------------------------


def worked_example_scalar(backward: bool = True) -> Value:
    """Seed 000's 2-2-2 logistic/MSE network with one scalar Value per number; returns E.

    Built as E(φ(g(φ(f(x))))) inside ``scope("f")``, ``scope("φ")``... so the graph clusters
    read f, φ, g, φ, E; after ``backward(retain_grads=True)`` every node carries ∂E/∂node.
    """
    x = [Value(v, requires_grad=False, name=f"x{_sub(i)}¹") for i, v in enumerate(WORKED_X, 1)]
    d = [Value(v, requires_grad=False, name=f"d{_sub(j)}") for j, v in enumerate(WORKED_TARGET, 1)]

    def layer(label: str, l: int, inputs: list[Value], w: Sequence[Sequence[float]]) -> list[Value]:
        with scope(label):
            nets = []
            for j, row in enumerate(w, 1):
                b = Value(0.0, name=f"b{_sup(l + 1)}{_sub(j)}")
                terms = [xi * Value(wij, name=f"w{_sup(l)}{_sub(i)}{_sub(j)}")
                         for i, (xi, wij) in enumerate(zip(inputs, row), 1)]
                net = terms[0]
                for t in terms[1:]:
                    net = net + t
                net = net + b
                net.name = f"net x{_sub(j)}{_sup(l + 1)}"
                nets.append(net)
        with scope("φ"):
            outs = []
            for j, net in enumerate(nets, 1):
                out = net.sigmoid()
                out.name = f"out x{_sub(j)}{_sup(l + 1)}"
                outs.append(out)
        return outs

    hidden = layer("f", 1, x, WORKED_W1)
    output = layer("g", 2, hidden, WORKED_W2)
    with scope("E"):
        total = (d[0] - output[0]) ** 2 + (d[1] - output[1]) ** 2
        loss = total / 2
        loss.name = "E"
    if backward:
        loss.backward(retain_grads=True)
    return loss


def worked_example_model() -> Any:
    """Seed 000's 2-2-2 network as ``nn.Sequential(Linear, Sigmoid, Linear, Sigmoid)``.

    It is ``tinygrad_nn.tutorial.worked_model``.
    """
    return worked_model()


def worked_example_tensor(backward: bool = True) -> Value:
    """Seed 000's worked example through ``nn``: E = MSELoss(model(x), d) on (1, 2) tensors."""
    from . import nn

    model = worked_example_model()
    x = Value(np.array([WORKED_X]), requires_grad=False, name="x")
    d = Value(np.array([WORKED_TARGET]), requires_grad=False, name="d")
    loss = nn.MSELoss()(model(x), d)
    loss.name = "E"
    if backward:
        loss.backward(retain_grads=True)
    return loss


def worked_example_drawings(build: str = "scalar",
                            rankdir: str = "LR") -> dict[str, graphviz.Digraph]:
    """The worked example's pictures by file stem: its computation graph and its network."""
    if build not in ("scalar", "tensor"):
        raise ValueError(f"worked_example_drawings: build must be 'scalar' or 'tensor', got "
                         f"{build!r}")
    loss = worked_example_scalar() if build == "scalar" else worked_example_tensor()
    return {
        "worked_example_graph": draw_graph(loss, edge_derivatives=True, rankdir=rankdir),
        "worked_example_network": draw_network(worked_example_model(), show_bias=True,
                                               weight_labels=True, rankdir=rankdir),
    }


def configure_graph(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``python -m tinygrad_nn graph``."""
    parser.add_argument("--out", metavar="DIR", default="out",
                        help="directory to write the pictures to (default: ./out)")
    parser.add_argument("--format", choices=(*FORMATS, "dot"), default="svg",
                        help="picture format; 'dot' writes the DOT text and needs no Graphviz "
                             "(default: svg)")
    parser.add_argument("--build", choices=("scalar", "tensor"), default="scalar",
                        help="computation graph of the scalar build (one Value per number, "
                             "edges carry numbers) or the tensor build through nn (default: "
                             "scalar)")
    parser.add_argument("--rankdir", choices=RANKDIRS, default="LR",
                        help="direction of the data flow (default: LR, left to right)")


def run_graph(args: argparse.Namespace) -> int:
    """Render the worked example's computation graph and network drawing; print their paths."""
    out_dir = Path(args.out)
    fmt = args.format
    pictures = worked_example_drawings(args.build, args.rankdir)
    if out_dir.exists() and not out_dir.is_dir():
        raise FileNotFoundError(f"graph: --out {str(out_dir)!r} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    status = 0
    for name, picture in pictures.items():
        if fmt != "dot":
            try:
                print(render(picture, out_dir / f"{name}.{fmt}", format=fmt))
                continue
            except GraphvizNotFoundError as exc:
                if status == 0:
                    print(f"graph: {exc}\nWriting the DOT text instead.", file=sys.stderr)
                status = 1
        path = out_dir / f"{name}.gv"
        path.write_text(picture.source, encoding="utf-8")
        print(path)
    return status


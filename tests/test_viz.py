"""Tests for tinygrad_nn.viz: the DOT source of draw_graph / draw_network, and rendering."""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import numpy as np
import pytest

import tinygrad_nn as tn
from tinygrad_nn import nn
from tinygrad_nn.graph import toposort
from tinygrad_nn.tutorial import worked_example_drawings, worked_example_scalar, worked_model
from tinygrad_nn.value import Value
from tinygrad_nn.viz import (
    HIGHLIGHT,
    MARK_LINE,
    NEGATIVE,
    POSITIVE,
    GraphvizNotFoundError,
    draw_graph,
    draw_network,
    render,
)

REPO = Path(__file__).resolve().parent.parent

# ----------------------------------------------------------------------------------------------
# A small parser for the DOT text the graphviz package writes (one statement per line)
# ----------------------------------------------------------------------------------------------

_NODE = re.compile(r"^\s*(\w+) \[(.*)\]$")
_EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$")
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s"]+)')
_CLUSTER = re.compile(r"^\s*subgraph (cluster_\w+) \{$")


def _attrs(text: str | None) -> dict[str, str]:
    out = {}
    for key, raw in _ATTR.findall(text or ""):
        if raw.startswith('"'):
            raw = raw[1:-1].replace('\\"', '"')
        out[key] = raw
    return out


class Dot:
    """Nodes, edges and clusters of a DOT source."""

    def __init__(self, source: str) -> None:
        self.nodes: dict[str, dict[str, str]] = {}
        self.edges: list[tuple[str, str, dict[str, str]]] = []
        self.clusters: list[tuple[str, str, int]] = []        # (name, label, depth)
        self.members: dict[str, list[str]] = {}               # cluster -> node ids directly in it
        stack: list[str] = []
        for line in source.splitlines():
            if m := _CLUSTER.match(line):
                stack.append(m.group(1))
                self.clusters.append((m.group(1), "", len(stack)))
                self.members[m.group(1)] = []
                continue
            if line.strip() == "}":
                if stack:
                    stack.pop()
                continue
            if m := _EDGE.match(line):
                self.edges.append((m.group(1), m.group(2), _attrs(m.group(3))))
                continue
            if m := _NODE.match(line):
                if m.group(1) in ("graph", "node", "edge"):
                    continue
                self.nodes[m.group(1)] = _attrs(m.group(2))
                if stack:
                    self.members[stack[-1]].append(m.group(1))
                continue
            if stack and "=" in line:                          # the cluster's own attributes
                label = _attrs(line).get("label", "")
                idx = [c[0] for c in self.clusters].index(stack[-1])
                self.clusters[idx] = (stack[-1], label, self.clusters[idx][2])

    def label(self, node: str) -> list[str]:
        return self.nodes[node].get("label", "").split("\\n")

    def cluster_labels(self) -> list[str]:
        return [label for _, label, _ in self.clusters]


def _number(lines: list[str], key: str) -> float:
    for line in lines:
        if line.startswith(key + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {key!r} line in {lines}")


# ----------------------------------------------------------------------------------------------
# Graphs to draw
# ----------------------------------------------------------------------------------------------


def product() -> tuple[Value, Value, Value]:
    a = Value(2.0, name="a")
    b = Value(-3.0, name="b")
    c = a * b
    c.name = "c"
    return a, b, c


def tensor_example() -> tuple[nn.Sequential, Value]:
    """Seed 000's worked example through nn: the model and E = MSELoss(model(x), d)."""
    model = worked_model()
    x = Value(np.array([[0.5, 0.25]]), requires_grad=False, name="x")
    d = Value(np.array([[0.0, 1.0]]), requires_grad=False, name="d")
    loss = nn.MSELoss()(model(x), d)
    loss.name = "E"
    loss.backward(retain_grads=True)
    return model, loss


def scalar_mlp(sizes: list[int], rng: np.random.Generator) -> Value:
    """A micrograd-style MLP of scalar Values (weights made outside, layers in scope blocks)."""
    weights = [[[Value(rng.uniform(-1, 1)) for _ in range(m)] + [Value(0.0)] for _ in range(n)]
               for m, n in itertools.pairwise(sizes)]
    xs = [Value(float(v), requires_grad=False) for v in rng.uniform(-1, 1, sizes[0])]
    for k, layer in enumerate(weights):
        with tn.scope("fgh"[k] if k < 3 else f"f{k + 1}"):
            nets = []
            for row in layer:
                net = row[-1]
                for w, x in zip(row, xs):
                    net = net + w * x
                nets.append(net)
        with tn.scope("φ"):
            xs = [n.tanh() for n in nets]
    with tn.scope("E"):
        loss = xs[0] * xs[0]
        for x in xs[1:]:
            loss = loss + x * x
    return loss


# ----------------------------------------------------------------------------------------------
# draw_graph: structure and labels
# ----------------------------------------------------------------------------------------------


def test_product_graph_has_one_node_per_value_and_op_and_derivative_edge_labels() -> None:
    _, _, c = product()
    c.backward()
    dot = Dot(draw_graph(c, edge_derivatives=True).source)
    assert len(dot.nodes) == 4                              # a, b, c and the * op
    assert len(dot.edges) == 3                              # a→*, b→*, *→c
    labels = {dot.label(n)[0]: n for n in dot.nodes}
    assert dot.label(labels["a"]) == ["a", "data 2", "grad -3"]
    assert dot.label(labels["b"]) == ["b", "data -3", "grad 2"]
    assert dot.label(labels["c"]) == ["c", "data -6"]           # intermediate grads not kept
    assert dot.label(labels["*"]) == ["*"]
    edge = {(s, t): e for s, t, e in dot.edges}
    # ∂c/∂a = b and ∂c/∂b = a at the current values
    assert edge[(labels["a"], labels["*"])]["label"] == "-3"
    assert edge[(labels["b"], labels["*"])]["label"] == "2"
    assert "label" not in edge[(labels["*"], labels["c"])]
    # data flows a → * → c
    assert (labels["*"], labels["c"]) in edge


def test_counts_match_the_engine_graph() -> None:
    loss = worked_example_scalar()
    nodes = toposort(loss)
    n_ops = sum(1 for v in nodes if v.op is not None)
    dot = Dot(draw_graph(loss).source)
    assert len(dot.nodes) == len(nodes) + n_ops == 69
    assert len(dot.edges) == sum(len(v.parents) for v in nodes) + n_ops


def test_show_data_and_show_grad_switch_lines_off() -> None:
    _, _, c = product()
    c.backward()
    dot = Dot(draw_graph(c, show_data=False, show_grad=False).source)
    assert sorted(tuple(dot.label(n)) for n in dot.nodes) == [("*",), ("a",), ("b",), ("c",)]
    before = Dot(draw_graph(product()[2]).source)             # no backward: no grad line
    assert all(not line.startswith("grad") for n in before.nodes for line in before.label(n))


def test_tensor_labels_show_shape_dtype_and_vjp_shapes() -> None:
    x = Value(np.ones((5, 4)), name="x")
    w = Value(np.ones((4, 3), dtype=np.float32), name="W")
    y = (x @ w).sum()
    y.backward(retain_grads=True)
    dot = Dot(draw_graph(y, edge_derivatives=True).source)
    by_name = {dot.label(n)[0]: n for n in dot.nodes}
    assert dot.label(by_name["x"])[:2] == ["x", "(5, 4) float64"]
    assert dot.label(by_name["x"])[2] == "grad (5, 4) max|g| 3"
    assert dot.label(by_name["W"])[1] == "(4, 3) float32"
    matmul = by_name["@"]
    labels = {s: e["label"] for s, t, e in dot.edges if t == matmul}
    assert labels[by_name["x"]] == "vjp (5, 3)→(5, 4)"
    assert labels[by_name["W"]] == "vjp (5, 3)→(4, 3)"
    root = [n for n in dot.nodes if dot.label(n)[0].startswith("data")]
    assert dot.label(root[0]) == ["data 60", "grad 1"]         # a 0-d result reads as a number


def test_small_tensors_show_their_entries() -> None:
    v = Value([[0.5, 0.25]], name="x")
    dot = Dot(draw_graph(v * 2).source)
    x = next(n for n in dot.nodes if dot.label(n)[0] == "x")
    assert dot.label(x) == ["x", "(1, 2) float64", "[[0.5, 0.25]]"]


def test_powc_and_reduction_labels_carry_their_parameter() -> None:
    x = Value(np.arange(6.0).reshape(2, 3))
    y = (x**2).sum(axis=0).sum()
    dot = Dot(draw_graph(y).source)
    ops = sorted(dot.label(n)[0] for n in dot.nodes if n.startswith("o"))
    assert ops == ["**2", "sum", "sum axis=(0,)"]


def test_reading_the_chain_rule_off_the_picture() -> None:
    """Σ over paths of Π edge labels, computed from the DOT text alone, equals ∂E/∂leaf."""
    loss = worked_example_scalar()
    dot = Dot(draw_graph(loss, edge_derivatives=True, precision=12).source)
    into: dict[str, list[tuple[str, float]]] = {}
    out_of: dict[str, str] = {}
    for s, t, e in dot.edges:
        if t.startswith("o"):
            into.setdefault(t, []).append((s, float(e["label"])))
        else:
            out_of[t] = s
    picture = {n: 0.0 for n in dot.nodes if n.startswith("v")}
    root = max(picture, key=lambda n: int(n[1:]))
    picture[root] = 1.0
    for node in sorted(picture, key=lambda n: -int(n[1:])):   # ids are topological positions
        if node in out_of:
            for parent, d in into[out_of[node]]:
                picture[parent] += picture[node] * d
    names = {dot.label(n)[0]: n for n in picture}
    for name, node in names.items():
        if name.startswith(("w", "b")):
            assert picture[node] == pytest.approx(_number(dot.label(node), "grad"), rel=1e-9)
    # seed 000's numbers: ∂E/∂w²₁₁ = 0.078, ∂E/∂w²₂₁ = 0.077, ∂E/∂b³₁ = 0.15
    assert picture[names["w²₁₁"]] == pytest.approx(0.0796, abs=5e-4)
    assert picture[names["w²₂₁"]] == pytest.approx(0.0778, abs=5e-4)
    assert picture[names["b³₁"]] == pytest.approx(0.148, abs=1e-3)


def test_edge_derivatives_match_hand_computed_rules() -> None:
    a = Value(2.0, name="a")
    b = Value(4.0, name="b")
    q = a / b                                                 # ∂q/∂a = 1/b, ∂q/∂b = -a/b²
    s = q.sigmoid()                                           # φ' = φ(1 − φ)
    dot = Dot(draw_graph(s, edge_derivatives=True, precision=6).source)
    ids = {dot.label(n)[0]: n for n in dot.nodes}
    lab = {(src, t): e.get("label") for src, t, e in dot.edges}
    assert float(lab[(ids["a"], ids["/"])]) == pytest.approx(0.25)
    assert float(lab[(ids["b"], ids["/"])]) == pytest.approx(-2.0 / 16.0)
    phi = 1.0 / (1.0 + math.exp(-0.5))
    q_node = next(src for src, t in lab if t == ids["φ"])
    assert float(lab[(q_node, ids["φ"])]) == pytest.approx(phi * (1 - phi), rel=1e-5)


def test_undefined_local_derivative_is_labelled_not_raised() -> None:
    x = Value(0.0, name="x")
    y = x.log()                                               # d log x / dx = 1/x at 0
    dot = Dot(draw_graph(y, edge_derivatives=True).source)
    labels = [e["label"] for _, _, e in dot.edges if "label" in e]
    assert labels in (["undefined"], ["inf"])


def test_repeated_parent_gets_two_edges() -> None:
    x = Value(3.0, name="x")
    y = x * x
    dot = Dot(draw_graph(y, edge_derivatives=True).source)
    into_op = [(s, e["label"]) for s, t, e in dot.edges if t.startswith("o")]
    assert into_op == [("v0", "3"), ("v0", "3")]              # 3 + 3 = 6 = dy/dx


# ----------------------------------------------------------------------------------------------
# Clusters
# ----------------------------------------------------------------------------------------------


def test_scalar_worked_example_clusters_read_f_phi_g_phi_E() -> None:
    dot = Dot(draw_graph(worked_example_scalar()).source)
    assert dot.cluster_labels() == ["f", "φ", "g", "φ", "E"]
    f_members = [dot.label(n)[0] for n in dot.members["cluster_0"] if n.startswith("v")]
    assert "w¹₁₁" in f_members and "net x₁²" in f_members


def test_one_cluster_per_module_call_nested_in_the_sequential() -> None:
    _, loss = tensor_example()
    dot = Dot(draw_graph(loss).source)
    assert [(label, depth) for _, label, depth in dot.clusters] == [
        ("Sequential", 1), ("f: Linear[0]", 2), ("φ: Sigmoid[1]", 2), ("g: Linear[2]", 2),
        ("φ: Sigmoid[3]", 2), ("E: MSELoss", 1)]
    for name, label, _ in dot.clusters[1:]:
        ops = [dot.label(n)[0] for n in dot.members[name] if n.startswith("o")]
        assert ops == [{"f": "W·x+b", "g": "W·x+b", "φ": "φ", "E": "mse"}[label[0]]]


def test_two_calls_of_one_module_are_two_clusters() -> None:
    lin = nn.Linear(3, 3, rng=0)
    act = nn.Tanh()
    x = Value(np.ones((1, 3)), requires_grad=False)
    y = act(lin(act(lin(x)))).sum()
    dot = Dot(draw_graph(y).source)
    labels = dot.cluster_labels()
    assert labels.count(lin.scope_label) == 2
    assert labels.count(act.scope_label) == 2
    assert len(dot.clusters) == 4


def test_cluster_false_draws_no_subgraph() -> None:
    _, loss = tensor_example()
    source = draw_graph(loss, cluster=False).source
    assert "subgraph" not in source
    assert len(Dot(source).nodes) == len(Dot(draw_graph(loss).source).nodes)


# ----------------------------------------------------------------------------------------------
# Size limits and collapse="module"
# ----------------------------------------------------------------------------------------------


def test_collapse_module_draws_one_node_per_module_call() -> None:
    _, loss = tensor_example()
    dot = Dot(draw_graph(loss, collapse="module").source)
    labels = sorted(dot.label(n)[0] for n in dot.nodes)
    assert labels == ["E", "E: MSELoss", "d", "f: Linear[0]", "g: Linear[2]", "x",
                      "φ: Sigmoid[1]", "φ: Sigmoid[3]"]
    f = next(n for n in dot.nodes if dot.label(n)[0] == "f: Linear[0]")
    assert dot.label(f)[1:] == ["1 op, 2 params", "out (1, 2) float64"]
    assert len(dot.edges) == 7                               # x→f→φ→g→φ→E←d, E→root
    assert dot.cluster_labels() == ["Sequential"]


def test_collapse_scalar_example_folds_scopes() -> None:
    dot = Dot(draw_graph(worked_example_scalar(), collapse="module").source)
    groups = [dot.label(n)[0] for n in dot.nodes if n.startswith("m")]
    assert groups == ["f", "φ", "g", "φ", "E"]
    f = next(n for n in dot.nodes if dot.label(n)[0] == "f")
    assert dot.label(f)[1] == "8 ops, 8 leaves"       # 4 weights, 2 biases, the inputs x₁, x₂
    E = next(n for n in dot.nodes if dot.label(n)[0] == "E")
    assert dot.label(E)[1] == "6 ops, 3 leaves"       # the targets d₁, d₂ and the 2 of ½


def test_max_nodes_error_names_the_count_and_the_way_out() -> None:
    loss = worked_example_scalar()
    with pytest.raises(ValueError) as info:
        draw_graph(loss, max_nodes=50)
    message = str(info.value)
    assert "draw_graph" in message
    assert "69 nodes" in message and "43 Values" in message and "26 operations" in message
    assert "max_nodes=50" in message and "collapse='module'" in message
    assert "5 module calls" in message
    assert len(Dot(draw_graph(loss, max_nodes=69).source).nodes) == 69


def test_30000_node_scalar_mlp_is_refused_with_its_count_and_collapses_small() -> None:
    loss = scalar_mlp([32, 64, 64, 1], np.random.default_rng(0))
    nodes = toposort(loss)
    total = len(nodes) + sum(1 for v in nodes if v.op is not None)
    assert total > 30_000
    with pytest.raises(ValueError, match=rf"{total} nodes"):
        draw_graph(loss)
    dot = Dot(draw_graph(loss, collapse="module").source)
    assert len(dot.nodes) <= 15
    groups = [dot.label(n)[0] for n in dot.nodes if n.startswith("m")]
    assert groups == ["f", "φ", "g", "φ", "h", "φ", "E"]
    folded = sorted(dot.label(n)[0] for n in dot.nodes if n.startswith("l"))
    # 32 inputs + 64·33 weights and biases; 64·65; 65: weights made outside the scopes
    assert folded == ["2144 leaf scalars", "4160 leaf scalars", "65 leaf scalars"]


def test_collapse_that_is_still_too_big_says_so() -> None:
    xs = [Value(float(i)) for i in range(40)]
    total = xs[0]
    for x in xs[1:]:
        total = total + x                                     # no scope: nothing to fold
    with pytest.raises(ValueError, match="even with collapse='module'"):
        draw_graph(total, collapse="module", max_nodes=20)


# ----------------------------------------------------------------------------------------------
# highlight_from and mark
# ----------------------------------------------------------------------------------------------


def test_highlight_from_colours_every_path_to_the_root_and_nothing_else() -> None:
    a = Value(1.0, name="a")
    b = Value(2.0, name="b")
    c = a * b
    c.name = "c"
    d = a + 1.0
    d.name = "d"
    e = c + d
    e.name = "e"
    dot = Dot(draw_graph(e, highlight_from=b).source)
    hot = {n for n, attrs in dot.nodes.items() if attrs.get("color") == HIGHLIGHT}
    names = {n: dot.label(n)[0] for n in hot}
    assert sorted(names.values()) == ["*", "+", "b", "c", "e"]
    hot_edges = {(s, t) for s, t, e in dot.edges if e.get("color") == HIGHLIGHT}
    assert len(hot_edges) == 4                                # b→*, *→c, c→+, +→e
    assert all(s in hot and t in hot for s, t in hot_edges)


def test_highlight_from_must_be_in_the_graph() -> None:
    _, _, c = product()
    with pytest.raises(ValueError, match="highlight_from is not part of the graph"):
        draw_graph(c, highlight_from=Value(1.0))


def test_mark_a_module_colours_its_cluster() -> None:
    model, loss = tensor_example()
    source = draw_graph(loss, mark=model.layers[2]).source
    dot = Dot(source)
    g = next(name for name, label, _ in dot.clusters if label == "g: Linear[2]")
    block = source.split(f"subgraph {g} {{")[1].split("}")[0]
    assert f'color="{MARK_LINE}"' in block
    marked = [n for n, a in dot.nodes.items() if a.get("color") == MARK_LINE]
    assert sorted(dot.label(n)[0] for n in marked) == ["(1, 2) float64", "W·x+b"]
    others = [name for name, label, _ in dot.clusters if label != "g: Linear[2]"]
    for name in others:
        assert f'color="{MARK_LINE}"' not in source.split(f"subgraph {name} {{")[1].split("\n")[1]


def test_mark_values_scopes_and_labels() -> None:
    loss = worked_example_scalar()
    nodes = toposort(loss)
    w = next(v for v in nodes if v.name == "w²₁₁")
    dot = Dot(draw_graph(loss, mark=[w, "E"]).source)
    marked = sorted(dot.label(n)[0] for n, a in dot.nodes.items() if a.get("color") == MARK_LINE)
    assert "w²₁₁" in marked and "E" in marked and "w²₁₂" not in marked
    scope = next(v for v in nodes if v.name == "net x₁²").scope
    dot = Dot(draw_graph(loss, mark=scope).source)
    marked = [dot.label(n)[0] for n, a in dot.nodes.items() if a.get("color") == MARK_LINE]
    assert "net x₁²" in marked and "E" not in marked
    collapsed = Dot(draw_graph(loss, mark="g", collapse="module").source)
    hot = [collapsed.label(n)[0] for n, a in collapsed.nodes.items()
           if a.get("color") == MARK_LINE]
    assert hot == ["g"]
    with pytest.raises(ValueError, match="matches no Value or scope"):
        draw_graph(loss, mark="no such layer")


# ----------------------------------------------------------------------------------------------
# Determinism, escaping, argument errors
# ----------------------------------------------------------------------------------------------


def test_same_graph_gives_identical_source() -> None:
    first = draw_graph(worked_example_scalar(), edge_derivatives=True).source
    second = draw_graph(worked_example_scalar(), edge_derivatives=True).source
    assert first.encode() == second.encode()
    assert draw_graph(tensor_example()[1]).source == draw_graph(tensor_example()[1]).source


def test_source_is_identical_across_processes() -> None:
    code = ("from tinygrad_nn import viz; import sys; "
            "from tinygrad_nn.tutorial import worked_example_scalar, worked_model; "
            "sys.stdout.write(viz.draw_graph(worked_example_scalar(), "
            "edge_derivatives=True, collapse=None).source + "
            "viz.draw_network(worked_model(), weight_labels=True).source)")
    outs = []
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONIOENCODING="utf-8")
        outs.append(subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                                   env=env, cwd=REPO).stdout)
    assert outs[0] == outs[1]


def test_labels_are_escaped() -> None:
    x = Value(1.0, name='say "hi" <b>φ</b> \\n')
    y = x * 2.0
    source = draw_graph(y).source
    line = next(line for line in source.splitlines() if "say" in line)
    assert 'label="say \\"hi\\" <b>φ</b> \\\\n\\ndata 1"' in line   # quoted, not an HTML label
    y2 = Value(1.0, name="<b>")
    assert 'label="<b>\\ndata 1"' in draw_graph(y2).source


def test_argument_errors() -> None:
    _, _, c = product()
    with pytest.raises(TypeError, match="draw_graph: expected a Value"):
        draw_graph(1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(c, rankdir="up")
    with pytest.raises(ValueError, match="collapse must be None or 'module'"):
        draw_graph(c, collapse="layer")
    with pytest.raises(ValueError, match="max_nodes must be a positive int"):
        draw_graph(c, max_nodes=0)


# ----------------------------------------------------------------------------------------------
# draw_network
# ----------------------------------------------------------------------------------------------


def _arcs(dot: Dot) -> list[tuple[str, str, dict[str, str]]]:
    """The weight arcs: neuron to neuron, not the ellipsis or the invisible in-layer chain."""
    return [(s, t, e) for s, t, e in dot.edges if s.startswith("L") and t.startswith("L")
            and "more" not in s + t and e.get("style") != "invis"]


def test_network_arcs_are_complete_bipartite_between_layers() -> None:
    model = nn.mlp([3, 4, 2], rng=0)
    dot = Dot(draw_network(model).source)
    assert len(_arcs(dot)) == 3 * 4 + 4 * 2                   # K_{3,4} + K_{4,2}
    assert len([n for n in dot.nodes if n.startswith("L")]) == 9
    assert dot.cluster_labels() == ["input layer: X₁, 3 neurons",
                                    "hidden layer 1: X₂, 4 neurons\\nφ = Sigmoid",
                                    "output layer: X₃, 2 neurons\\nφ = Sigmoid"]
    pairs = {(s, t) for s, t, _ in _arcs(dot)}
    assert pairs == {(f"L1_{i}", f"L2_{j}") for i in range(1, 4) for j in range(1, 5)} | {
        (f"L2_{i}", f"L3_{j}") for i in range(1, 5) for j in range(1, 3)}
    assert "20 weights (K₃,₄ + K₄,₂)" in draw_network(model).source


def test_network_worked_example_weight_labels_colours_and_widths() -> None:
    dot = Dot(draw_network(worked_model(), weight_labels=True).source)
    arcs = {(s, t): e for s, t, e in _arcs(dot)}
    # seed 000: w¹₁₂ (input 1 → hidden 2) = weight[1, 0] = 0.35
    assert arcs[("L1_1", "L2_2")]["label"] == "w¹₁₂ = 0.35"
    assert arcs[("L1_2", "L2_1")]["label"] == "w¹₂₁ = 0.1"
    assert arcs[("L2_1", "L3_2")]["label"] == "w²₁₂ = -0.7"
    assert arcs[("L1_1", "L2_2")]["color"] == POSITIVE
    assert arcs[("L2_1", "L3_2")]["color"] == NEGATIVE
    assert arcs[("L1_2", "L2_2")]["color"] == NEGATIVE        # w¹₂₂ = −0.3
    widths = {k: float(e["penwidth"]) for k, e in arcs.items()}
    assert widths[("L2_1", "L3_1")] == max(widths.values())   # |0.9| is the largest weight
    assert widths[("L1_2", "L2_1")] == min(widths.values())   # |0.1| the smallest
    assert dot.label("L1_1") == ["x₁¹"] and dot.label("L3_2") == ["x₂³"]


def test_network_bias_neurons() -> None:
    model = nn.mlp([3, 4, 2], rng=0)
    plain = Dot(draw_network(model).source)
    dot = Dot(draw_network(model, show_bias=True, weight_labels=True).source)
    bias_edges = [(s, t, e) for s, t, e in dot.edges
                  if s.startswith("B") and e.get("style") != "invis"]
    assert len(bias_edges) == 4 + 2
    assert {s for s, _, _ in bias_edges} == {"B2", "B3"}
    assert bias_edges[0][2]["label"] == "b²₁ = 0"
    assert len(dot.nodes) == len(plain.nodes) + 2
    assert dot.label("B2") == ["+1"]


def test_wide_layers_are_summarised_with_an_ellipsis() -> None:
    model = nn.mlp([784, 20, 10], rng=0)
    dot = Dot(draw_network(model).source)
    inputs = [n for n in dot.nodes if n.startswith("L1_")]
    assert inputs == [f"L1_{i}" for i in (1, 2, 3, 4, 5, 6)] + ["L1_more"] + [
        f"L1_{i}" for i in (780, 781, 782, 783, 784)]
    assert dot.label("L1_more") == ["⋮", "773 more"]
    assert dot.label("L1_784") == ["x₇₈₄¹"]
    assert len([n for n in dot.nodes if n.startswith("L2_")]) == 12   # 20 > 12: summarised too
    assert len([n for n in dot.nodes if n.startswith("L3_")]) == 10   # 10 fits
    assert len(_arcs(dot)) == 11 * 11 + 11 * 10
    assert "15880 weights (K₇₈₄,₂₀ + K₂₀,₁₀)" in draw_network(model).source
    assert len(dot.nodes) < 40
    small = Dot(draw_network(model, max_neurons=5).source)
    assert [n for n in small.nodes if n.startswith("L1_")] == [
        "L1_1", "L1_2", "L1_more", "L1_783", "L1_784"]


@pytest.mark.needs_dot
@pytest.mark.parametrize("rankdir", ["LR", "RL", "TB", "BT"])
def test_network_keeps_neurons_in_index_order(rankdir: str) -> None:
    graph = draw_network(nn.mlp([784, 20, 10], rng=0), rankdir=rankdir, show_bias=True)
    plain = subprocess.run(["dot", "-Tplain"], input=graph.source.encode(), capture_output=True,
                           check=True).stdout.decode()
    pos = {}
    for line in plain.splitlines():
        if line.startswith(("node L1_", "node B2 ")):
            _, name, x, y, *_ = line.split()
            pos[name] = (float(x), -float(y)) if rankdir in ("LR", "RL") else (float(y),
                                                                                  float(x))
    across = sorted(pos, key=lambda n: pos[n][1])        # top to bottom, or left to right
    assert across == ["L1_1", "L1_2", "L1_3", "L1_4", "L1_5", "L1_6", "L1_more", "L1_780",
                      "L1_781", "L1_782", "L1_783", "L1_784", "B2"]


def test_a_weight_that_scales_one_product_is_drawn_beside_it() -> None:
    x, w, v = Value(2.0, requires_grad=False, name="x"), Value(-3.0, name="w"), Value(1.0,
                                                                                      name="v")
    y = x * w + (x * v) * v           # w scales one product of data; v is used twice
    source = draw_graph(y).source
    dot = Dot(source)
    name = {dot.label(n)[0]: n for n in dot.nodes}
    beside = re.findall(r"\{\s*rank=same\s+(\w+)\s+(\w+)\s*\}", source)
    assert [(dot.label(a)[0], dot.label(b)) for a, b in beside] == [("w", ["*"])]
    assert beside[0][0] == name["w"]
    a, b = Value(2.0, name="a"), Value(-3.0, name="b")
    assert "rank=same" not in draw_graph(a * b).source      # two parameters: neither is data


def test_rows_must_hold_values_of_the_graph() -> None:
    a, b = Value(2.0, name="a"), Value(-3.0, name="b")
    y = a * b
    with pytest.raises(ValueError, match=r"^draw_graph: rows\[0\] holds Value\(.*not a Value of "
                                         r"the graph of root"):
        draw_graph(y, rows=[[a, Value(1.0)]])
    with pytest.raises(TypeError, match=r"^draw_graph: rows\[0\] must be a list of Values, got "
                                        r"Value"):
        draw_graph(y, rows=[a])
    with pytest.raises(ValueError, match="rows applies to the full drawing"):
        draw_graph(y, rows=[[a, b]], collapse="module")


def _layout(graph: graphviz.Digraph) -> tuple[dict[str, tuple[float, float]],
                                                dict[str, tuple[float, float, float, float]]]:
    """Where dot puts each node (by the first line of its label) and each cluster (by label)."""
    out = subprocess.run(["dot", "-Tjson"], input=graph.source.encode(), capture_output=True,
                         check=True).stdout
    objects = json.loads(out)["objects"]
    nodes: dict[str, tuple[float, float]] = {}
    clusters: dict[str, tuple[float, float, float, float]] = {}
    for obj in objects:
        if "bb" in obj and obj["name"].startswith("cluster_"):
            x0, y0, x1, y1 = map(float, obj["bb"].split(","))
            clusters.setdefault(obj["label"], (x0, y0, x1, y1))
        elif "pos" in obj:
            x, y = map(float, obj["pos"].split(","))
            nodes.setdefault(obj["label"].split("\\n")[0], (x, y))
    return nodes, clusters


def _inside(point: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


@pytest.mark.needs_dot
def test_the_worked_example_reads_top_down_with_inputs_in_f_and_targets_in_E() -> None:
    """What a teacher looks at in the picture `python -m tinygrad_nn graph` draws: x₁, x₂ in
    order inside f above the weights, every weight beside its product, d₁, d₂ in order in E."""
    nodes, clusters = _layout(worked_example_drawings()["worked_example_graph"])
    x1, x2, d1, d2 = nodes["x₁¹"], nodes["x₂¹"], nodes["d₁"], nodes["d₂"]
    assert x1[0] < x2[0] and x1[1] == x2[1]                 # a row, left to right
    assert d1[0] < d2[0] and d1[1] == d2[1]
    assert _inside(x1, clusters["f"]) and _inside(x2, clusters["f"])
    assert _inside(d1, clusters["E"]) and _inside(d2, clusters["E"])
    weights = [n for n in nodes if n.startswith("w")]
    assert len(weights) == 8
    assert all(nodes[w][1] < x1[1] for w in weights)        # the inputs come first, on top
    rows = sorted({nodes[w][1] for w in weights}, reverse=True)
    assert len(rows) == 2                                   # one row of weights per layer
    first = sorted((w for w in weights if nodes[w][1] == rows[0]), key=lambda w: nodes[w][0])
    assert first == ["w¹₁₁", "w¹₂₁", "w¹₁₂", "w¹₂₂"]       # net₁'s terms, then net₂'s


@pytest.mark.needs_dot
@pytest.mark.parametrize("rankdir", ["LR", "RL", "TB", "BT"])
def test_rows_keep_their_order_in_every_direction(rankdir: str) -> None:
    nodes, _ = _layout(worked_example_drawings(rankdir=rankdir)["worked_example_graph"])
    across = 0 if rankdir in ("TB", "BT") else 1            # left to right, or top to bottom
    sign = 1 if across == 0 else -1
    assert sign * nodes["x₁¹"][across] < sign * nodes["x₂¹"][across]
    assert sign * nodes["d₁"][across] < sign * nodes["d₂"][across]


def test_network_accepts_one_linear_and_a_trailing_loss() -> None:
    dot = Dot(draw_network(nn.Linear(3, 2, rng=0)).source)
    assert len(_arcs(dot)) == 6
    seq = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Sigmoid(), nn.MSELoss())
    assert len(_arcs(Dot(draw_network(seq).source))) == 6


def test_network_errors() -> None:
    with pytest.raises(TypeError, match="draw_network: expected a Sequential of Linear"):
        draw_network(nn.Sequential(nn.Linear(2, 2), nn.MSELoss(), nn.Linear(2, 2)))
    with pytest.raises(TypeError, match="draw_network"):
        draw_network(object())
    with pytest.raises(ValueError, match="activation before any Linear"):
        draw_network(nn.Sequential(nn.Sigmoid(), nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="takes 3 inputs but the previous Linear gives 2"):
        draw_network(nn.Sequential(nn.Linear(2, 2), nn.Linear(3, 1)))
    with pytest.raises(ValueError, match="max_neurons must be an int >= 3"):
        draw_network(nn.Linear(2, 2), max_neurons=2)


# ----------------------------------------------------------------------------------------------
# Rendering (needs `dot`) and the missing-`dot` path
# ----------------------------------------------------------------------------------------------

SVG = "{http://www.w3.org/2000/svg}"


def _svg_nodes(path: Path) -> int:
    tree = ET.parse(path)
    return sum(1 for g in tree.iter(f"{SVG}g") if g.get("class") == "node")


@pytest.mark.needs_dot
def test_render_svg_parses_with_one_group_per_node(tmp_path: Path) -> None:
    loss = worked_example_scalar()
    graph = draw_graph(loss, edge_derivatives=True)
    out = render(graph, tmp_path / "graph")
    assert out == tmp_path / "graph.svg"
    assert _svg_nodes(out) == len(Dot(graph.source).nodes) == 69
    net = draw_network(nn.mlp([784, 20, 10], rng=0), show_bias=True)
    out = render(net, tmp_path / "net.svg", format="svg")
    assert _svg_nodes(out) == len(Dot(net.source).nodes)


@pytest.mark.needs_dot
def test_render_png_pdf_and_jupyter(tmp_path: Path) -> None:
    _, _, c = product()
    graph = draw_graph(c)
    assert render(graph, tmp_path / "g.png", format="png").read_bytes()[:8] == \
        b"\x89PNG\r\n\x1a\n"
    assert render(graph, tmp_path / "g", format="pdf").read_bytes()[:5] == b"%PDF-"
    bundle = graph._repr_mimebundle_()
    assert bundle["image/svg+xml"].lstrip().startswith("<?xml")
    assert isinstance(graph, graphviz.Digraph)


@pytest.mark.needs_dot
def test_render_escaped_labels(tmp_path: Path) -> None:
    x = Value(1.0, name='say "hi" <b>φ</b> \\n & more')
    out = render(draw_graph(x * 2.0), tmp_path / "esc")
    text = "".join(ET.parse(out).getroot().itertext())
    assert 'say "hi" <b>φ</b> \\n & more' in text


def test_a_drawing_shown_in_a_notebook_without_dot_says_how_to_install_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Jupyter calls ``_repr_mimebundle_``; without `dot` graphviz raises ExecutableNotFound,
    which a notebook shows as a traceback.  Ours answer with the install hint instead."""
    monkeypatch.setenv("PATH", str(tmp_path))               # no `dot` here
    _, _, c = product()
    for picture in (draw_graph(c), draw_network(nn.mlp([2, 2, 1], rng=0))):
        assert isinstance(picture, graphviz.Digraph)
        bundle = picture._repr_mimebundle_()
        assert list(bundle) == ["text/plain"]
        assert bundle["text/plain"].startswith("display: Graphviz's `dot` executable was not "
                                               "found on PATH")
        assert "apt-get install graphviz" in bundle["text/plain"]
    IPython = pytest.importorskip("IPython")
    formatter = IPython.core.formatters.DisplayFormatter()
    data, _ = formatter.format(draw_graph(c))                 # what a notebook cell shows
    assert "image/svg+xml" not in data
    assert "apt-get install graphviz" in data["text/plain"]


def test_render_argument_errors(tmp_path: Path) -> None:
    _, _, c = product()
    with pytest.raises(ValueError, match="format must be one of"):
        render(draw_graph(c), tmp_path / "g", format="jpg")
    with pytest.raises(ValueError, match=r"ends in \.png but format is 'svg'"):
        render(draw_graph(c), tmp_path / "g.png")
    with pytest.raises(TypeError, match=r"render: expected a graphviz\.Digraph"):
        render("digraph {}", tmp_path / "g")  # type: ignore[arg-type]


def test_missing_dot_raises_a_clear_error(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    _, _, c = product()
    graph = draw_graph(c)                                     # drawing needs no executable
    assert graph.source.startswith("digraph")
    with pytest.raises(GraphvizNotFoundError) as info:
        render(graph, tmp_path / "g")
    assert isinstance(info.value, RuntimeError)
    message = str(info.value)
    assert "apt-get install graphviz" in message and ".source" in message
    assert "render" in message and "dot" in message
    assert not (tmp_path / "g.svg").exists()


def test_collapsed_highlight_follows_the_module_calls() -> None:
    model, loss = tensor_example()
    x = next(v for v in toposort(loss) if v.name == "x")
    dot = Dot(draw_graph(loss, collapse="module", highlight_from=model.layers[2].weight).source)
    hot = sorted(dot.label(n)[0] for n, a in dot.nodes.items() if a.get("color") == HIGHLIGHT)
    assert hot == ["E", "E: MSELoss", "g: Linear[2]", "φ: Sigmoid[3]"]
    assert len([e for _, _, e in dot.edges if e.get("color") == HIGHLIGHT]) == 3
    everything = Dot(draw_graph(loss, collapse="module", highlight_from=x).source)
    assert len([n for n, a in everything.nodes.items() if a.get("color") == HIGHLIGHT]) == 7


def test_a_leaf_root_and_create_graph_gradients_draw() -> None:
    leaf = Value(1.5, name="alone")
    dot = Dot(draw_graph(leaf).source)
    assert list(dot.nodes) == ["v0"] and dot.edges == []
    x = Value(3.0, name="x")
    y = x * x * x
    y.backward(create_graph=True)                             # x.grad is a Value: 3x² = 27
    dot = Dot(draw_graph(y).source)
    xn = next(n for n in dot.nodes if dot.label(n)[0] == "x")
    assert dot.label(xn) == ["x", "data 3", "grad 27"]


def test_collapse_of_a_lone_leaf_and_of_unscoped_ops() -> None:
    leaf = Value(2.0, name="w")
    dot = Dot(draw_graph(leaf, collapse="module").source)
    assert [dot.label(n) for n in dot.nodes] == [["w", "data 2"]]
    _, _, c = product()
    plain = Dot(draw_graph(c).source)
    collapsed = Dot(draw_graph(c, collapse="module").source)  # no scopes: the same picture
    assert collapsed.nodes == plain.nodes
    assert [(s, t) for s, t, _ in collapsed.edges] == [(s, t) for s, t, _ in plain.edges]


def test_zero_d_tensors_get_numeric_edge_derivatives() -> None:
    x = Value(np.array(3.0), name="x")
    y = x * x
    labels = [e.get("label") for _, _, e in Dot(draw_graph(y, edge_derivatives=True).source).edges
              if "label" in e]
    assert labels == ["3", "3"]


def test_max_nodes_error_for_a_graph_without_scopes() -> None:
    total = Value(0.0)
    for i in range(300):
        total = total + Value(float(i))
    with pytest.raises(ValueError, match=r"build the graph inside modules or tinygrad_nn\.scope"):
        draw_graph(total)


def test_network_expands_nested_sequentials() -> None:
    inner = nn.Sequential(nn.Linear(4, 3, rng=1), nn.Tanh())
    model = nn.Sequential(nn.Linear(2, 4, rng=0), nn.Tanh(), inner)
    dot = Dot(draw_network(model).source)
    assert len(_arcs(dot)) == 2 * 4 + 4 * 3
    assert dot.cluster_labels()[-1] == "output layer: X₃, 3 neurons\\nφ = Tanh"


def test_docs_pictures_are_the_worked_example() -> None:
    """docs/img holds the worked example's drawings (python scripts/render_docs_images.py)."""
    img = REPO / "docs" / "img"
    assert _svg_nodes(img / "worked_example_graph.svg") == 69
    assert _svg_nodes(img / "worked_example_network.svg") == 8      # 6 neurons + 2 bias neurons
    text = "".join(ET.parse(img / "worked_example_graph.svg").getroot().itertext())
    assert "w²₁₁" in text and "grad 0.07955" in text and "E" in text


@pytest.mark.needs_dot
def test_render_docs_images_script(tmp_path: Path) -> None:
    script = REPO / "scripts" / "render_docs_images.py"
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONIOENCODING="utf-8")
    result = subprocess.run([sys.executable, str(script), "--out", str(tmp_path),
                             "--no-screenshot"],           # tests/test_stepper_browser.py takes it
                            capture_output=True, text=True, check=True, env=env)
    assert result.stdout.split() == [str(tmp_path / "worked_example_graph.svg"),
                                     str(tmp_path / "worked_example_network.svg")]
    assert _svg_nodes(tmp_path / "worked_example_graph.svg") == 69


def test_network_with_a_nan_weight_still_draws() -> None:
    lin = nn.Linear(2, 2, rng=0)
    lin.weight.data[0, 1] = np.nan
    arcs = {(s, t): e for s, t, e in _arcs(Dot(draw_network(lin, weight_labels=True).source))}
    assert arcs[("L1_2", "L2_1")]["label"] == "w¹₂₁ = nan"
    assert arcs[("L1_2", "L2_1")]["penwidth"] == "1.00"
    assert max(float(e["penwidth"]) for e in arcs.values()) == 4.0

"""The stepper without a browser: the recorded pass is the engine's, the page's data and file.

The browser tests (tests/test_stepper_browser.py) play the page itself.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import graphviz
import numpy as np
import pytest
from stepper_graphs import broadcast_program, engine_grads, replay

import tinygrad_nn as tn
from tinygrad_nn import Value, scope
from tinygrad_nn.graph import toposort
from tinygrad_nn.tutorial import worked_example_scalar, worked_example_tensor
from tinygrad_nn.viz.pages import json_value, layout, script_json
from tinygrad_nn.viz.stepper_views import VIEW_NODES
from tinygrad_nn.viz.steps import backward_steps

pytestmark = pytest.mark.needs_dot

BUILDS = {
    "worked scalar": lambda: worked_example_scalar(backward=False),
    "worked tensor": lambda: worked_example_tensor(backward=False),
    "broadcast program": lambda: broadcast_program(np.random.default_rng(3))[0],
}


def page_data(page: str) -> dict:
    text = re.search(r'<script type="application/json" id="tn-data">(.*?)</script>', page,
                     re.S)
    assert text is not None
    return json.loads(text.group(1))


@pytest.mark.parametrize("build", BUILDS)
def test_the_steps_are_the_engines_order_and_end_at_its_gradients(build: str) -> None:
    root = BUILDS[build]()
    steps = backward_steps(root)
    expected = replay(root)
    assert [s.node for s in steps] == [node for node, _ in expected[1:]]
    grads = engine_grads(root)
    final = {s.node: s.grad for s in steps}
    assert set(final) == set(grads)
    for v, g in grads.items():
        np.testing.assert_array_equal(final[v], g)   # the same sums in the same order


def test_the_stepper_never_changes_a_grad() -> None:
    E = worked_example_scalar(backward=False)
    assert all(v.grad is None for v in toposort(E))
    tn.viz.stepper(E, numeric=True)
    assert all(v.grad is None for v in toposort(E))
    T, leaves = broadcast_program(np.random.default_rng(0))
    T.backward()
    before = {v: (v.grad, v.grad.copy()) for v in leaves}
    data_before = [v.data.copy() for v in leaves]
    tn.viz.stepper(T, numeric=True)
    for v, d in zip(leaves, data_before):
        assert v.grad is before[v][0]
        np.testing.assert_array_equal(v.grad, before[v][1])
        np.testing.assert_array_equal(v.data, d)      # the numeric check restores the data


def test_the_numeric_check_writes_no_data_so_backward_still_runs() -> None:
    E = worked_example_scalar(backward=False)              # scalar leaves: float data
    order = toposort(E)
    stamps = [(v.data, v.version) for v in order]
    s = tn.viz.stepper(E, numeric=True)
    assert [(v.data, v.version) for v in order] == stamps  # not even a write of the same data
    E.backward()                                            # so the graph is not stale
    ids = s.node_ids()
    leaves = [v for v in order if v.op is None and v.requires_grad]
    assert s.data["inputs"] == [ids[v] for v in leaves] and len(leaves) == 12
    for v in leaves:
        assert s.data["numeric"][ids[v]] == pytest.approx(v.grad, abs=1e-8)


def test_a_parameter_changed_since_the_forward_pass_is_refused() -> None:
    refused = (r"^stepper: cannot replay the backward pass of this graph: backward: "
               r"'Linear\[[02]\]\.weight' \(input 1 of op 'linear', shape \(2, 2\)\) was assigned "
               r"after the forward pass .* or run the forward pass again$")
    T = worked_example_tensor(backward=False)
    W = next(v for v in toposort(T) if v.name == "Linear[0].weight")
    W.data = W.data * 2                                     # an update before making the page
    with pytest.raises(RuntimeError, match=refused):
        tn.viz.stepper(T)
    T = worked_example_tensor(backward=True)                # after backward and an SGD step
    params = [v for v in toposort(T) if v.op is None and v.requires_grad]
    grads = [v.grad.copy() for v in params]
    tn.optim.SGD(params, lr=0.1).step()
    with pytest.raises(RuntimeError, match=refused):
        tn.viz.stepper(T)
    for v, g in zip(params, grads):                         # the refusal changed nothing
        np.testing.assert_array_equal(v.grad, g)
    T = worked_example_tensor(backward=False)               # the forward pass again: fine
    assert len(tn.viz.stepper(T)) == len(backward_steps(T)) == 9


def test_node_ids_and_the_data_contract() -> None:
    E = worked_example_scalar(backward=False)
    s = tn.viz.stepper(E)
    ids = s.node_ids()
    order = toposort(E)
    assert [ids[v] for v in order] == [f"v{i}" for i in range(len(order))]
    data = page_data(s.html())
    assert data == json.loads(json.dumps(s.data))
    assert data["root"] == ids[E]
    for node in data["nodes"]:
        assert {"id", "op", "label", "shape", "value", "cluster", "parents"} <= set(node)
    by_id = {n["id"]: n for n in data["nodes"]}
    w = next(v for v in order if v.name == "w²₁₁")
    assert by_id[ids[w]]["value"] == 0.9 and by_id[ids[w]]["op"] is None
    net = next(v for v in order if v.name == "net x₁³")
    assert by_id[ids[net]]["op"] == "add"
    assert [by_id[p]["id"] for p in by_id[ids[net]]["parents"]] == [ids[p] for p in net.parents]
    clusters = {c["id"]: c["label"] for c in data["clusters"]}
    assert clusters[by_id[ids[w]]["cluster"]] == "g"
    assert [step["node"] for step in data["steps"]] == [ids[st.node] for st in s.steps]
    assert len(s) == len(data["steps"]) == 38


def test_each_edge_carries_the_rule_tables_local_derivative_and_the_product() -> None:
    E = worked_example_scalar(backward=False)
    s = tn.viz.stepper(E)
    ids = s.node_ids()
    out = next(v for v in toposort(E) if v.name == "out x₁³")
    step = next(st for st in s.data["steps"] if st["node"] == ids[out])
    (edge,) = step["edges"]
    phi_prime = out.data * (1 - out.data)                    # σ' = σ(1 − σ)
    assert edge["local"] == pytest.approx(phi_prime, rel=1e-15)
    assert edge["contribution"] == pytest.approx(step["g"] * phi_prime, rel=1e-15)
    hidden = next(v for v in toposort(E) if v.name == "out x₁²")
    parts = [e["contribution"] for st in s.data["steps"] for e in st["edges"]
             if e["parent"] == ids[hidden]]
    assert len(parts) == 2                                   # two children: the sum in δ²
    final = next(st for st in s.data["steps"] if st["node"] == ids[hidden])["g"]
    assert final == parts[0] + parts[1]


def test_numeric_gradients_agree_with_the_engine() -> None:
    T, leaves = broadcast_program(np.random.default_rng(1))
    s = tn.viz.stepper(T, numeric=True, inputs=leaves[1:])
    ids = s.node_ids()
    assert s.data["inputs"] == [ids[v] for v in leaves[1:]]
    grads = engine_grads(T)
    for v in leaves[1:]:
        np.testing.assert_allclose(s.data["numeric"][ids[v]], grads[v], atol=1e-6)
    assert tn.viz.stepper(T).data["numeric"] is None


def test_the_worked_example_page_is_small_and_requests_nothing(tmp_path: Path) -> None:
    s = tn.viz.stepper(worked_example_scalar(backward=False))
    path = s.save(tmp_path / "stepper.html")
    page = path.read_text(encoding="utf-8")
    assert path.stat().st_size <= 1_500_000
    assert "default-src 'none'" in page
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?!#)""", page)     # no resource at all
    assert not re.search(r"\b(?:fetch|XMLHttpRequest|import\s*\()", page)
    assert [p.name for p in tmp_path.iterdir()] == ["stepper.html"]


def test_a_failed_save_leaves_nothing(tmp_path: Path) -> None:
    s = tn.viz.stepper(worked_example_tensor(backward=False))
    with pytest.raises(FileNotFoundError, match=r"Stepper\.save"):
        s.save(tmp_path / "missing" / "page.html")
    assert list(tmp_path.iterdir()) == []


def test_names_cannot_break_out_of_the_page() -> None:
    x = Value(2.0, name="</script><script>alert(1)</script>")
    y = x * x
    y.name = "<!-- y & \u2028 -->"
    page = tn.viz.stepper(y).html()
    assert "<script>alert(1)" not in page
    assert page.count("</script>") == 2                # the data and the code, nothing else
    data = page_data(page)
    assert data["nodes"][0]["name"] == "</script><script>alert(1)</script>"
    assert data["nodes"][1]["name"] == "<!-- y & \u2028 -->"


def test_non_finite_numbers_are_embedded_as_strings() -> None:
    assert json_value(np.array([1.5, np.nan, np.inf, -np.inf])) == [1.5, "NaN", "Infinity",
                                                                    "-Infinity"]
    assert json_value(float("nan")) == "NaN"
    assert script_json({"a": json_value(np.array([[np.nan]]))}) == '{"a":[["NaN"]]}'
    x = Value(0.0)
    y = x.sqrt()                                        # ∂√x/∂x = 1/(2√x) = inf at 0
    data = tn.viz.stepper(y).data
    assert data["steps"][1]["g"] == "Infinity"
    W = Value(np.full((5, 5), np.nan), name="W")         # a summarised tensor, all NaN
    text = tn.viz.stepper((W * 2).sum()).data["nodes"][0]["text"]
    assert text == ["leaf", "W", "(5, 5) float64", "[nan, nan, nan, …]", "min nan max nan"]


def test_repr_html_is_the_page_in_an_iframe() -> None:
    s = tn.viz.stepper(worked_example_tensor(backward=False))
    frame = s._repr_html_()
    assert frame.startswith("<iframe srcdoc=\"") and "<script" not in frame
    inner = html.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
    assert inner == s.html()


def test_a_big_graph_opens_collapsed_by_layer(big_stepper: Any) -> None:
    E, s = big_stepper
    assert len(toposort(E)) > 5000
    views = {v["id"]: v for v in s.data["views"]}
    labels = {c["id"]: c["label"] for c in s.data["clusters"]}
    main = views["main"]
    assert [labels[b] for b in main["boxes"]] == ["layer 1", "layer 2", "layer 3", "E"]
    assert main["clusters"] == [] and len(main["nodes"]) == 10       # the inputs x1..x10
    layer2 = views[main["boxes"][1]]
    assert len(layer2["boxes"]) == 32 and len(layer2["stubs"]) == 32
    neuron = views[layer2["boxes"][0]]
    assert len(neuron["nodes"]) == 98 and neuron["layout"] is not None
    drawn = sum(len(v["nodes"]) for v in s.data["views"])
    assert drawn == len(toposort(E))                  # every Value drawn in full exactly once
    assert all(len(v["nodes"]) + len(v["boxes"]) <= VIEW_NODES for v in s.data["views"])


def test_collapse_module_and_the_network_view() -> None:
    T = worked_example_tensor(backward=False)
    s = tn.viz.stepper(T, collapse="module")
    assert s.data["collapse"] == "module"
    net = s.data["network"]
    ids = s.node_ids()
    order = toposort(T)
    linears = [v for v in order if v.op is not None and v.op.name == "linear"]
    assert [layer["net"] for layer in net["layers"][1:]] == [ids[v] for v in linears]
    assert [layer["size"] for layer in net["layers"]] == [2, 2, 2]
    assert {name for name in net["layout"]["nodes"]} >= {"L1_1", "L2_2", "L3_1"}
    assert tn.viz.stepper(worked_example_scalar(backward=False)).data["network"] is None


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"collapse": "layer"}, ValueError, "collapse must be None or 'module'"),
    ({"numeric": 1}, TypeError, "numeric must be True or False"),
    ({"inputs": "w"}, TypeError, r"inputs must be a Value or a list"),
    ({"inputs": [3.0]}, TypeError, r"inputs\[0\] must be a Value, got float"),
    ({"inputs": [Value(1.0)]}, ValueError, r"inputs\[0\] is not part of the graph"),
])
def test_bad_arguments_name_the_function(kwargs: dict, error: type, match: str) -> None:
    E = worked_example_scalar(backward=False)
    with pytest.raises(error, match=match):
        tn.viz.stepper(E, **kwargs)


def test_bad_roots_and_inputs() -> None:
    x = Value([1.0, 2.0])
    with pytest.raises(ValueError, match=r"stepper: expected a root with one entry .* \(2,\)"):
        tn.viz.stepper(x * 2)
    with pytest.raises(ValueError, match="stepper: the root does not require grad"):
        tn.viz.stepper(Value(1.0, requires_grad=False))
    with pytest.raises(TypeError, match="stepper: expected a Value as root, got float"):
        tn.viz.stepper(1.0)  # type: ignore[arg-type]
    y = (x * 2).sum()
    with pytest.raises(ValueError, match=r"inputs\[0\] must be a leaf"):
        tn.viz.stepper(y, inputs=[y])


def test_layout_reads_graphvizs_json() -> None:
    g = graphviz.Digraph(graph_attr={"rankdir": "LR"})
    with g.subgraph(name="cluster_f") as c:
        c.attr(label=tn.viz.dot.label("f: Linear[0]"), fillcolor="#e8f0fe")
        c.node("a", label=tn.viz.dot.label('say "hi" \\ o/', "line 2"), shape="box")
    g.node("b")
    g.edge("a", "b", label="0.5", color="#1f77b4")
    g.edge("b", "a", style="invis")
    out = layout(g)
    x, y, w, h, lines = out["nodes"]["a"]
    assert lines == ['say "hi" \\ o/', "line 2"] and out["nodes"]["b"][4] == ["b"]
    assert 0 < x < out["width"] and 0 < y < out["height"] and w > 0 and h > 0
    (edge,) = out["edges"]                                  # the invisible one is left out
    assert edge[:2] == ["a", "b"] and edge[2].startswith("M") and edge[5:] == [["0.5"],
                                                                             "#1f77b4"]
    x0, y0, x1, y1, _, _, label, fill = out["clusters"]["cluster_f"]
    assert x0 < x < x1 and y0 < y < y1 and label == ["f: Linear[0]"] and fill == "#e8f0fe"


def test_scopes_nest_into_clusters() -> None:
    a = Value(1.5, name="a")
    with scope("outer"):
        b = a * 2
        with scope("inner"):
            c = b.exp()
    data = tn.viz.stepper(c + a).data
    clusters = {c["id"]: c for c in data["clusters"]}
    assert [(c["label"], c["parent"] and clusters[c["parent"]]["label"], c["size"])
            for c in data["clusters"]] == [("outer", None, 3), ("inner", "outer", 1)]
    assert data["views"][0]["clusters"] == list(clusters)

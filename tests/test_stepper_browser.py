"""The stepper page in a real browser: headless Debian Chromium, driven through Playwright.

Every test opens a saved page from ``file://`` and checks what a reader gets: no console
error and no request; ``window.tn``'s gradients equal the engine's at the end and a replay of the
engine's order (tests/stepper_graphs.py) after every step; the buttons, the keys and the text on
screen.  Skipped, with the reason, where Chromium or Playwright is missing (never in CI).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from stepper_graphs import broadcast_program, engine_grads, replay, replay_changes

import tinygrad_nn as tn
from tinygrad_nn import Value
from tinygrad_nn.tutorial import worked_example_scalar, worked_example_tensor
from tinygrad_nn.viz.pages.browser import Chromium, PageSession

pytestmark = pytest.mark.needs_dot


def as_array(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def assert_state_matches(state: dict, expected: dict[Value, Any], ids: dict[Value, str]) -> None:
    """The page's gradients are exactly the replay's (same numbers: JSON round-trips floats)."""
    assert set(state["grads"]) == {ids[v] for v in expected}
    for v, g in expected.items():
        np.testing.assert_array_equal(as_array(state["grads"][ids[v]]), as_array(g))


def open_stepper(chromium: Chromium, root: Value, tmp_path: Path, **kwargs: Any) -> tuple[
        PageSession, Any]:
    s = tn.viz.stepper(root, **kwargs)
    return chromium.open(s.save(tmp_path / "stepper.html")), s


@pytest.fixture
def worked(chromium: Chromium, tmp_path: Path) -> Iterator[tuple[PageSession, Any, Value]]:
    E = worked_example_scalar(backward=False)
    session, s = open_stepper(chromium, E, tmp_path, numeric=True)
    yield session, s, E
    assert session.console_errors == [] and session.page_errors == []
    assert session.requests == []


GRAPHS = {
    "worked example, scalar build": lambda: worked_example_scalar(backward=False),
    "worked example, tensor build": lambda: worked_example_tensor(backward=False),
    "tensor program with broadcasting and reuse":
        lambda: broadcast_program(np.random.default_rng(7))[0],
}


@pytest.mark.parametrize("graph", GRAPHS)
def test_every_step_shows_the_replay_and_the_end_the_engines_gradients(
        chromium: Chromium, tmp_path: Path, graph: str) -> None:
    root = GRAPHS[graph]()
    session, s = open_stepper(chromium, root, tmp_path)
    ids = s.node_ids()
    states = json.loads(session.page.evaluate(
        "JSON.stringify(Array.from({length: tn.count() + 1}, (_, k) => (tn.goto(k), tn.state())))"))
    expected = replay(root)
    assert len(states) == len(expected) == len(s) + 1
    for k, (state, (node, grads)) in enumerate(zip(states, expected)):
        assert state["step"] == k
        assert state["node"] == (None if node is None else ids[node])
        assert_state_matches(state, grads, ids)
    final = states[-1]["grads"]
    for v, g in engine_grads(root).items():
        np.testing.assert_allclose(as_array(final[ids[v]]), as_array(g), rtol=0, atol=1e-12)
    assert session.console_errors == [] and session.page_errors == []
    assert session.requests == []


def test_a_5000_node_graph_opens_collapsed_and_plays(chromium: Chromium, tmp_path: Path,
                                                     big_stepper: Any) -> None:
    E, s = big_stepper
    session = chromium.open(s.save(tmp_path / "big.html"))
    page = session.page
    ids = s.node_ids()
    boxes = page.locator("#tn-graph .tn-node.box")
    assert boxes.count() == 4 and page.locator("#tn-graph .tn-cluster").count() == 0
    n = page.evaluate("tn.count()")
    assert n == len(s) > 5000
    # every step: what state() shows after it that it did not show before (one JSON string:
    # Playwright's own encoding of 5,000 big objects would take minutes)
    changes = json.loads(page.evaluate("""() => {
        tn.goto(0); let before = {}; const out = [];
        for (let k = 1; k <= tn.count(); k++) {
            tn.step(); const st = tn.state(); const diff = {};
            for (const id in st.grads) if (before[id] !== st.grads[id]) diff[id] = st.grads[id];
            out.push([st.step, st.node, diff, Object.keys(st.grads).length]);
            before = st.grads;
        }
        return JSON.stringify(out);
    }"""))
    shown: dict[Value, Any] = {}
    for (k, node, diff, size), (now, set_now) in zip(changes, replay_changes(E), strict=True):
        assert node == ids[now]
        assert diff == {ids[v]: g for v, g in set_now.items() if shown.get(v) != g}, f"step {k}"
        shown.update(set_now)
        assert size == len(shown)
    states = [json.loads(page.evaluate("JSON.stringify((tn.goto(tn.count()), tn.state()))"))]
    final = states[-1]["grads"]
    grads = engine_grads(E)
    assert len(grads) == len(final)
    for v, g in grads.items():
        assert abs(final[ids[v]] - g) <= 1e-12
    boxes.nth(1).click()                                        # open layer 2: its neurons
    assert page.locator("#tn-graph .tn-node.box").count() == 32
    assert "layer 2" in page.locator("#tn-crumbs").inner_text()
    page.locator("#tn-graph .tn-node.box").first.click()         # and its first neuron
    assert page.locator("#tn-graph .tn-node:not(.box)").count() == 98 + 32   # with its inputs
    page.keyboard.press("ArrowRight")
    assert page.evaluate("tn.state().step") == n
    assert session.console_errors == [] and session.page_errors == []
    assert session.requests == []


def numbers(text: str) -> list[float]:
    return [float(x) for x in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def test_next_and_the_right_arrow_advance_one_step_and_the_text_shows_state(worked: Any) -> None:
    session, _, _ = worked
    page = session.page
    page.click("#tn-next")
    assert page.evaluate("tn.state().step") == 1
    page.keyboard.press(" ")                         # after a click, space plays (not "next")
    assert page.locator("#tn-play").inner_text() == "■ pause"
    page.keyboard.press(" ")
    assert page.locator("#tn-play").inner_text() == "▶ play"
    page.evaluate("tn.goto(1)")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("tn.state().step") == 2
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate("tn.state().step") == 0
    for _ in range(23):
        page.keyboard.press("ArrowRight")
    state = page.evaluate("tn.state()")
    assert state["step"] == 23
    assert page.locator("#tn-counter").inner_text() == "step 23 / 38"
    node = state["node"]
    g = state["grads"][node]
    formula = page.locator("#tn-step .tn-formula").first.inner_text()
    assert numbers(formula.split("=")[-1])[0] == pytest.approx(g, rel=1e-5)
    for row in page.locator("#tn-step table tr").all()[1:]:        # one row per parent edge
        cells = row.locator("td").all_inner_texts()
        parent = re.search(r"v\d+", cells[0])
        local, product, total = (numbers(c)[0] for c in cells[1:])
        assert product == pytest.approx(g * local, rel=1e-5)
        if parent:
            assert total == pytest.approx(state["grads"][parent.group()], rel=1e-5)
    for node_id, grad in state["grads"].items():                    # the grad line on each box
        shown = page.locator(f'#tn-graph .tn-node[data-name="{node_id}"] .tn-grad').first
        assert numbers(shown.text_content())[0] == pytest.approx(grad, rel=1e-3, abs=1e-12)
    status = page.locator(f'#tn-graph .tn-node[data-name="{node}"]').get_attribute("class")
    assert "current" in status


def test_play_pause_first_last_and_jump(worked: Any) -> None:
    session, s, E = worked
    page = session.page
    page.keyboard.press("End")
    assert page.evaluate("tn.state().step") == 38
    page.keyboard.press("Home")
    assert page.evaluate("tn.state().step") == 0
    page.fill("#tn-speed", "30")
    page.keyboard.press(" ")                                 # play
    page.wait_for_function("() => tn.state().step >= 3")
    page.keyboard.press(" ")                                 # pause
    paused = page.evaluate("tn.state().step")
    page.wait_for_timeout(200)
    assert page.evaluate("tn.state().step") == paused
    assert page.locator("#tn-play").inner_text() == "▶ play"
    w = next(v for v in tn.graph.toposort(E) if v.name == "w¹₁₁")
    page.fill("#tn-jump", "w¹₁₁")
    page.dispatch_event("#tn-jump", "change")
    k = [st.node for st in s.steps].index(w) + 1
    assert page.evaluate("tn.state()")["node"] == s.node_ids()[w]
    assert page.evaluate("tn.state().step") == k
    table = page.locator("#tn-table tr", has_text="w¹₁₁").inner_text()
    engine, numeric, diff = numbers(table.split("w¹₁₁")[1])[:3]
    assert engine == pytest.approx(0.0284756, abs=1e-6) and numeric == pytest.approx(engine)
    assert diff < 1e-8


def test_a_cluster_collapses_and_opens(worked: Any) -> None:
    session, _, _ = worked
    page = session.page
    page.locator("#tn-graph .tn-cluster text", has_text="g").first.click()
    cover = page.locator("#tn-graph .tn-cover")
    assert cover.count() == 1 and "collapsed" in cover.text_content()
    page.evaluate("tn.goto(tn.count())")
    assert "final 14/14" in cover.text_content()
    cover.click()
    assert page.locator("#tn-graph .tn-cover").count() == 0
    page.click("#tn-collapse")
    assert page.locator("#tn-graph .tn-cover").count() == 5


def test_the_network_view_shows_delta_layer_by_layer(chromium: Chromium, tmp_path: Path) -> None:
    T = worked_example_tensor(backward=False)
    session, s = open_stepper(chromium, T, tmp_path)
    page = session.page
    page.click("#tn-tab-network")
    deltas = page.locator("#tn-network .tn-delta")
    assert deltas.all_text_contents() == [""] * 6
    net = s.data["network"]["layers"]
    out_net = net[2]["net"]
    k = next(i for i, st in enumerate(s.data["steps"], 1) if st["node"] == out_net)
    page.evaluate(f"tn.goto({k})")
    texts = [t for t in deltas.all_text_contents() if t]
    assert len(texts) == 2 and texts[0].startswith("δ³₁ = ")
    delta3 = page.evaluate(f"tn.state().grads['{out_net}']")[0]
    assert [numbers(t.split("=")[1])[0] for t in texts] == pytest.approx(delta3, rel=1e-3)
    np.testing.assert_allclose(delta3, [0.14801, -0.136971], atol=1e-5)   # seed 000's δ³
    page.select_option("#tn-notation", "row")
    texts = [t for t in deltas.all_text_contents() if t]
    assert texts[0].startswith("∂C/∂z₁⁽²⁾ = ")
    page.evaluate("tn.goto(tn.count())")
    assert len([t for t in deltas.all_text_contents() if t]) == 4        # δ² too
    page.locator('#tn-network .tn-node[data-name="L2_1"]').click()      # a hidden neuron
    assert page.locator("#tn-graph").is_visible()
    linked = page.locator("#tn-graph .tn-node.linked")
    assert linked.count() == 2
    assert "Neuron 1 of layer 2" in page.locator("#tn-detail").inner_text()
    assert session.console_errors == [] and session.page_errors == []


def test_non_finite_gradients_load(chromium: Chromium, tmp_path: Path) -> None:
    x = Value(0.0, name="x")
    session, s = open_stepper(chromium, x.sqrt() * 2, tmp_path)
    state = session.page.evaluate("tn.goto(tn.count()), tn.state()")
    assert s.node_ids()[x] == "v0" and state["grads"]["v0"] == np.inf
    text = session.page.locator('#tn-graph .tn-node[data-name="v0"] .tn-grad').text_content()
    assert text == "grad inf"
    assert session.console_errors == [] and session.page_errors == []


def test_collapse_module_opens_with_every_scope_collapsed(chromium: Chromium,
                                                          tmp_path: Path) -> None:
    T = worked_example_tensor(backward=False)
    session, _ = open_stepper(chromium, T, tmp_path, collapse="module")
    page = session.page
    covers = page.locator("#tn-graph .tn-cover")
    assert covers.count() == 2                                   # Sequential and E: MSELoss
    assert page.locator("#tn-collapse").inner_text() == "open all"
    page.evaluate("tn.goto(tn.count())")
    assert all("final" in t for t in covers.all_text_contents())
    page.click("#tn-collapse")
    assert page.locator("#tn-graph .tn-cover").count() == 0
    assert session.console_errors == [] and session.page_errors == []


def test_the_docs_screenshot_is_taken_mid_backward(chromium: Chromium, tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[1] / "scripts" / "render_docs_images.py"
    env = dict(os.environ, PYTHONPATH=str(script.parents[1]), PYTHONIOENCODING="utf-8")
    result = subprocess.run([sys.executable, str(script), "--out", str(tmp_path)],
                            capture_output=True, text=True, check=True, env=env)
    assert result.stdout.split()[-1] == str(tmp_path / "stepper.png")
    png = (tmp_path / "stepper.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1360, 760)


def test_the_page_benchmark_times_every_walk(chromium: Chromium, big_stepper: Any) -> None:
    """benchmarks/stepper_page.py on its own 5,169-Value graph, shortened (one page load, 3
    stretches of 20 steps): every figure is there and positive, the neuron view is open, and
    the table has a row for each."""
    from benchmarks import stepper_page as bench  # importable: stepper_graphs put it on the path

    _, s = big_stepper
    result = bench.measure(chromium, s, repeats=1, batch=20, samples=3)
    assert result["steps"] == len(s) and result["values"] == len(s.node_ids()) > 5000
    assert result["drawn"] == 98 + 32                      # a neuron of layer 2 and its inputs
    assert list(result["figures"]) == ["open", "step, collapsed", "back, collapsed",
                                       "step, neuron", "back, neuron", "jump to the end",
                                       "jump to the start"]
    for key, values in result["figures"].items():
        assert len(values) == 1 and 0 < values[0] < 60_000, key
    assert set(result["worst"]) == {k for k in result["figures"] if "," in k}
    table = bench.to_markdown(result, 1.5, "python -m benchmarks.stepper_page --repeats 1")
    rows = [line for line in table.splitlines() if line.startswith(("| step", "| back"))]
    assert len(rows) == 4 and all(line.count("|") == 5 for line in rows)
    assert f"{len(s):,} backward steps" in table and "built (laid out by dot) in 1.5 s" in table

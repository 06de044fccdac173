"""How responsive the backprop stepper's page is on a 5,000-node graph, in headless Chromium.

    python -m benchmarks.stepper_page                  # 5 page loads, printed
    python -m benchmarks.stepper_page --repeats 9 --out /tmp/stepper_page.md

The graph is a scalar MLP 10-32-32-10 in micrograd's style (one Value per number, a scope per
layer and per neuron, E = Σ out²): 5,169 Values and 5,159 backward steps, the browser tests' big
graph.  The page is built and saved once; then each repetition opens it in a fresh tab of
Debian's Chromium (Playwright, the tests' ``viz.pages.browser``) and measures, in the page with
``performance.now()``:

* **open**: navigation start to the end of the load event (the page has parsed its data and
  drawn the collapsed view; its script runs during loading);
* **step**: ``tn.step()`` then a forced style and layout (what the browser must do before it can
  paint), per step, in 5 stretches of 100 steps evenly spaced over the pass (Chromium rounds
  ``performance.now()`` to 0.1 ms, so single steps are too short to time one by one); **back**
  the same stretches walked back.  Both with the page as it opens (one box per layer) and with
  one neuron's view open (130 nodes drawn, each restyled every step);
* **jump**: ``tn.goto(count())`` from 0, and ``tn.goto(0)`` from the end.

Each figure is the median over the repetitions of that repetition's median stretch (per step),
with the lowest and highest repetition; "worst stretch" is the slowest stretch of all.  Nothing
is written unless ``--out`` names a file.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_nn as tn
from tinygrad_nn import Value, scope

COMMAND = "python -m benchmarks.stepper_page"

BIG_SIZES = [10, 32, 32, 10]
"""A 5,169-Value scalar MLP: the stepper's big graph."""

BATCH = 100
"""Steps timed together, a stretch (``performance.now()`` is rounded to 0.1 ms in a page)."""

SAMPLES = 5
"""Stretches of the pass timed per walk, evenly spaced from the start to the end."""

WALK = """([batch, samples]) => {
    const n = tn.count(), out = {step: [], back: []};
    for (let s = 0; s < samples; s++) {
        const m = Math.min(batch, n), from = Math.round(s * (n - m) / Math.max(1, samples - 1));
        tn.goto(from); document.body.getBoundingClientRect();
        let t0 = performance.now();
        for (let i = 0; i < m; i++) { tn.step(); document.body.getBoundingClientRect(); }
        out.step.push((performance.now() - t0) / m);
        t0 = performance.now();
        for (let i = 0; i < m; i++) { tn.back(); document.body.getBoundingClientRect(); }
        out.back.push((performance.now() - t0) / m);
    }
    return out;
}"""

JUMPS = """() => {
    tn.goto(0); document.body.getBoundingClientRect();
    let t0 = performance.now();
    tn.goto(tn.count()); document.body.getBoundingClientRect();
    const end = performance.now() - t0;
    t0 = performance.now();
    tn.goto(0); document.body.getBoundingClientRect();
    return {end: end, start: performance.now() - t0};
}"""

OPENED = """() => {
    const nav = performance.getEntriesByType("navigation")[0];
    return nav.loadEventEnd;
}"""


def scalar_mlp(sizes: Sequence[int], rng: np.random.Generator) -> Value:
    """A scalar MLP in the style of micrograd (one Value per number), one scope per layer and
    per neuron, tanh on every neuron, E = Σ out²."""
    xs = [Value(float(v), requires_grad=False, name=f"x{i + 1}")
          for i, v in enumerate(rng.normal(size=sizes[0]))]
    for layer, (n_in, n_out) in enumerate(itertools.pairwise(sizes), start=1):
        outs = []
        with scope(f"layer {layer}"):
            for j in range(n_out):
                with scope(f"neuron {j + 1}"):
                    acc = Value(0.0, name=f"b{j + 1}")
                    for x in xs:
                        acc = acc + x * Value(float(rng.normal() / np.sqrt(n_in)))
                    outs.append(acc.tanh())
        xs = outs
    with scope("E"):
        return sum((x * x for x in xs[1:]), xs[0] * xs[0])


def open_a_neuron(page: Any) -> int:
    """Open the second box of the main view (a layer), then its first box (a neuron), as a reader
    clicks them; returns how many nodes the neuron's view draws."""
    page.locator("#tn-graph .tn-node.box").nth(1).click()
    page.locator("#tn-graph .tn-node.box").first.click()
    return int(page.locator("#tn-graph .tn-node").count())


def measure(chromium: Any, page_data: Any, repeats: int, batch: int = BATCH,
            samples: int = SAMPLES) -> dict[str, Any]:
    """Time the stepper page ``page_data`` (a ``Stepper``) in ``repeats`` fresh tabs of
    ``chromium`` (``viz.pages.browser.launch()``).

    Returns the page's size (bytes), its step, Value and input counts, the nodes drawn with a
    neuron open, and per measurement the list of per-repetition figures (ms); ``"worst"`` holds
    the slowest stretch (ms per step) of each walk.
    """
    figures: dict[str, list[float]] = {}
    worst: dict[str, float] = {}
    drawn = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = page_data.save(Path(tmp) / "stepper.html")
        size = path.stat().st_size
        for _ in range(repeats):
            session = chromium.open(path)
            page = session.page
            figures.setdefault("open", []).append(float(page.evaluate(OPENED)))
            for view in ("collapsed", "neuron"):
                if view == "neuron":
                    drawn = open_a_neuron(page)
                walk = page.evaluate(WALK, [batch, samples])
                for direction in ("step", "back"):
                    key = f"{direction}, {view}"
                    figures.setdefault(key, []).append(statistics.median(walk[direction]))
                    worst[key] = max(worst.get(key, 0.0), max(walk[direction]))
            jumps = page.evaluate(JUMPS)
            figures.setdefault("jump to the end", []).append(float(jumps["end"]))
            figures.setdefault("jump to the start", []).append(float(jumps["start"]))
            page.context.close()
            if session.console_errors or session.page_errors or session.requests:
                raise RuntimeError(f"measure: the page reported "
                                   f"{session.console_errors + session.page_errors} and "
                                   f"requested {session.requests}")
    return {"bytes": size, "steps": len(page_data), "values": len(page_data.node_ids()),
            "inputs": len(page_data.data["inputs"]), "drawn": drawn, "figures": figures,
            "worst": worst, "repeats": repeats, "batch": batch, "samples": samples}


def to_markdown(result: dict[str, Any], built: float, command: str) -> str:
    """The measurements (``measure``'s result, and the seconds it took to build the page) as
    Markdown: the machine, what was measured, then one row per figure."""
    from . import peers

    lines = ["# The stepper page in headless Chromium", "",
             f"Generated by `{command}`.", "", "| machine | |", "|---|---|"]
    info = peers.machine()
    info = {k: info[k] for k in ("date (UTC)", "CPU", "cores", "OS", "Python")}
    info["Chromium"] = chromium_version()
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    lines += ["", f"{result['values']:,} Values, {result['steps']:,} backward steps, "
              f"{result['inputs']:,} inputs in the gradients' table; page "
              f"{result['bytes'] / 1e6:.2f} MB, built (laid out by dot) in {built:.1f} s. Median "
              f"over {result['repeats']} page loads, each a fresh tab; min … max over the loads.",
              "", "| measurement | median | min … max | worst stretch |", "|---|---|---|---|"]
    for key, values in result["figures"].items():
        unit = " per step" if key in result["worst"] else ""
        worst = f"{result['worst'][key]:.2f} ms" if key in result["worst"] else "—"
        lines.append(f"| {key} | {statistics.median(values):.2f} ms{unit} | "
                     f"{min(values):.2f} … {max(values):.2f} ms | {worst} |")
    lines += ["", f"- step and back: `tn.step()` / `tn.back()` and a forced style and layout, "
              f"timed in {result['samples']} stretches of {result['batch']} steps evenly spaced "
              f"over the pass; the figure is the median stretch. \"neuron\": with one neuron's "
              f"view open ({result['drawn']} nodes drawn), \"collapsed\": as the page opens (one "
              f"box per layer).",
              "- open: navigation start to the end of the load event "
              "(`performance.getEntriesByType('navigation')`).",
              "- jump: one `tn.goto` across the whole pass, with a forced layout."]
    return "\n".join(lines) + "\n"


def chromium_version() -> str:
    """What Chromium says of its own version, or "unknown"."""
    import subprocess

    from tinygrad_nn.viz.pages.browser import chromium_path

    executable = chromium_path()
    if executable is None:
        return "not found"
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, text=True,
                             timeout=30, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out or "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.stepper_page [--repeats N] [--out FILE]``."""
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, metavar="N",
                        help="page loads to time (default 5)")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="also write the Markdown to FILE (default: only print it)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    from tinygrad_nn.viz.pages.browser import launch

    root = scalar_mlp(BIG_SIZES, np.random.default_rng(0))
    start = time.perf_counter()
    page_data = tn.viz.stepper(root)
    built = time.perf_counter() - start
    with launch() as chromium:
        result = measure(chromium, page_data, args.repeats)
    command = COMMAND + (f" --repeats {args.repeats}" if args.repeats != 5 else "")
    text = to_markdown(result, built, command)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

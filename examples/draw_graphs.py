"""Draw computation graphs and networks: the worked example, highlighted paths, big graphs.

Writes SVG pictures (or, without Graphviz's ``dot``, their DOT text as .gv files) to --out:

1. seed 000's worked example, one scalar Value per number, every edge labelled with its local
   derivative, so ∂E/∂w = Σ over paths of the product of edge labels;
2. the same graph with every path from w¹₁₁ to E highlighted (the two terms of that sum);
3. the tensor build through nn with the layer g marked, and the same graph collapsed to one
   node per module call;
4. the network as G(V, A): the worked example with weight labels, and the tutorial's
   784-20-20-10 digit network (wide layers summarised);
5. (skipped with --fast) a 30,000-node scalar network: refused by max_nodes, drawn collapsed.

    python examples/draw_graphs.py [--fast] [--out DIR]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import graphviz
import numpy as np

import tinygrad_nn as tn
from tinygrad_nn import nn, viz
from tinygrad_nn.graph import toposort


def save(drawing: graphviz.Digraph, out: Path, stem: str) -> None:
    """Render to out/stem.svg, or write out/stem.gv when `dot` is missing."""
    try:
        path = viz.render(drawing, out / f"{stem}.svg")
    except viz.GraphvizNotFoundError:
        path = out / f"{stem}.gv"
        path.write_text(drawing.source, encoding="utf-8")
    print(f"  wrote {path}")


def scalar_network(sizes: list[int], rng: np.random.Generator) -> tn.Value:
    """A network of scalar Values (micrograd style), each layer in its own scope block."""
    xs = [tn.Value(float(v), requires_grad=False) for v in rng.uniform(-1, 1, sizes[0])]
    for k, (m, n) in enumerate(itertools.pairwise(sizes)):
        rows = [[tn.Value(float(w)) for w in rng.uniform(-1, 1, m)] for _ in range(n)]
        with tn.scope(f"layer {k + 1}"):
            nets = []
            for row in rows:
                net = row[0] * xs[0]
                for w, x in zip(row[1:], xs[1:]):
                    net = net + w * x
                nets.append(net)
        with tn.scope("φ"):
            xs = [net.tanh() for net in nets]
    with tn.scope("E"):
        loss = xs[0] * xs[0]
        for x in xs[1:]:
            loss = loss + x * x
    return loss


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="skip the 30,000-node network")
    parser.add_argument("--out", type=Path, default=Path("out/graphs"),
                        help="directory for the pictures (default: out/graphs)")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    print("1. The worked example, one Value per number, local derivatives on the edges")
    E = tn.tutorial.worked_example_scalar()
    save(viz.draw_graph(E, edge_derivatives=True), out, "worked_example_graph")
    by_name = {v.name: v for v in toposort(E) if v.name}
    w = by_name["w²₁₁"]
    print(f"  ∂E/∂w²₁₁ = {w.grad:.4f}: one path, the product of its edge labels")

    print("2. Every path from w¹₁₁ to E (the chain rule's sum has one term per path)")
    save(viz.draw_graph(E, edge_derivatives=True, highlight_from=by_name["w¹₁₁"]), out,
         "worked_example_paths")

    print("3. The tensor build through nn: g marked, then one node per module call")
    model = tn.tutorial.worked_model()
    x = tn.Value(np.array([[0.5, 0.25]]), requires_grad=False, name="x")
    d = tn.Value(np.array([[0.0, 1.0]]), requires_grad=False, name="d")
    loss = nn.MSELoss()(model(x), d)
    loss.name = "E"
    loss.backward(retain_grads=True)
    save(viz.draw_graph(loss, edge_derivatives=True, mark=model.layers[2]), out,
         "tensor_graph_g_marked")
    save(viz.draw_graph(loss, collapse="module"), out, "tensor_graph_collapsed")

    print("4. Networks as G(V, A)")
    save(viz.draw_network(model, weight_labels=True, show_bias=True), out,
         "worked_example_network")
    digits = nn.mlp([784, 20, 20, 10], rng=0)
    save(viz.draw_network(digits), out, "digits_network")

    if not args.fast:
        print("5. A 30,000-node scalar network")
        big = scalar_network([32, 64, 64, 1], np.random.default_rng(0))
        try:
            viz.draw_graph(big)
        except ValueError as exc:
            print(f"  refused: {exc}")
        save(viz.draw_graph(big, collapse="module"), out, "scalar_network_collapsed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

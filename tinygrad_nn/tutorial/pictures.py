"""The worked example's pictures (seed 000): its computation graph and its network drawing.

``worked_example_scalar`` builds E with one scalar Value per number, so every edge of its graph
carries a number; ``worked_example_tensor`` builds the same E through ``nn``;
``worked_example_drawings`` draws them, as ``python -m tinygrad_nn graph`` writes them and as
docs/img shows them.
"""

from __future__ import annotations

from collections.abc import Sequence

import graphviz
import numpy as np

from .. import nn
from ..value import Value, scope
from ..viz import draw_graph, draw_network
from ..viz.dot import subscript, superscript
from .examples import WORKED_TARGET, WORKED_W1, WORKED_W2, WORKED_X, worked_model

__all__ = ["worked_example_drawings", "worked_example_scalar", "worked_example_tensor"]


def _affine(l: int, inputs: list[Value], w: Sequence[Sequence[float]]) -> list[Value]:
    """net xⱼ^(l+1) = Σᵢ xᵢ^l · wˡᵢⱼ + bⱼ^(l+1), one scalar Value per number."""
    nets = []
    for j, row in enumerate(w, 1):
        b = Value(0.0, name=f"b{superscript(l + 1)}{subscript(j)}")
        terms = [xi * Value(wij, name=f"w{superscript(l)}{subscript(i)}{subscript(j)}")
                 for i, (xi, wij) in enumerate(zip(inputs, row), 1)]
        net = terms[0]
        for t in terms[1:]:
            net = net + t
        net = net + b
        net.name = f"net x{subscript(j)}{superscript(l + 1)}"
        nets.append(net)
    return nets


def _logistic(l: int, nets: list[Value]) -> list[Value]:
    """out xⱼ^l = φ(net xⱼ^l)."""
    outs = []
    for j, net in enumerate(nets, 1):
        out = net.sigmoid()
        out.name = f"out x{subscript(j)}{superscript(l)}"
        outs.append(out)
    return outs


def _scalar_build(backward: bool) -> tuple[Value, list[Value], list[Value]]:
    """(E, the inputs x₁¹, x₂¹, the targets d₁, d₂) of the scalar build."""
    with scope("f"):                  # the inputs are drawn inside f, the targets inside E
        x = [Value(v, requires_grad=False, name=f"x{subscript(i)}¹")
             for i, v in enumerate(WORKED_X, 1)]
        nets = _affine(1, x, WORKED_W1)
    with scope("φ"):
        hidden = _logistic(2, nets)
    with scope("g"):
        nets = _affine(2, hidden, WORKED_W2)
    with scope("φ"):
        output = _logistic(3, nets)
    with scope("E"):
        d = [Value(v, requires_grad=False, name=f"d{subscript(j)}")
             for j, v in enumerate(WORKED_TARGET, 1)]
        total = (d[0] - output[0]) ** 2 + (d[1] - output[1]) ** 2
        loss = total / 2
        loss.name = "E"
    if backward:
        loss.backward(retain_grads=True)
    return loss, x, d


def worked_example_scalar(backward: bool = True) -> Value:
    """Seed 000's 2-2-2 logistic/MSE network with one scalar Value per number; returns E.

    Built as E(φ(g(φ(f(x))))) inside ``scope("f")``, ``scope("φ")``... so the graph clusters
    read f, φ, g, φ, E (the inputs x belong to f, the targets d to E); after
    ``backward(retain_grads=True)`` every node carries ∂E/∂node.
    """
    return _scalar_build(backward)[0]


def worked_example_tensor(backward: bool = True) -> Value:
    """Seed 000's worked example through ``nn``: E = MSELoss(model(x), d) on (1, 2) tensors."""
    model = worked_model()
    x = Value(np.array([WORKED_X]), requires_grad=False, name="x")
    d = Value(np.array([WORKED_TARGET]), requires_grad=False, name="d")
    loss = nn.MSELoss()(model(x), d)
    loss.name = "E"
    if backward:
        loss.backward(retain_grads=True)
    return loss


def worked_example_drawings(build: str = "scalar",
                            rankdir: str | None = None) -> dict[str, graphviz.Digraph]:
    """The worked example's pictures by file stem: its computation graph and its network.

    ``rankdir`` None draws each the way it reads best: the graph top to bottom (TB, it is tall
    and narrow), the network left to right (LR, as the tutorial draws it).
    """
    if build not in ("scalar", "tensor"):
        raise ValueError(f"worked_example_drawings: build must be 'scalar' or 'tensor', got "
                         f"{build!r}")
    if build == "scalar":
        loss, x, d = _scalar_build(backward=True)
        rows = [x, d]
    else:
        loss, rows = worked_example_tensor(), []
    return {
        "worked_example_graph": draw_graph(loss, edge_derivatives=True, rankdir=rankdir or "TB",
                                           rows=rows),
        "worked_example_network": draw_network(worked_model(), show_bias=True,
                                               weight_labels=True, rankdir=rankdir or "LR"),
    }

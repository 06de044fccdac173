"""``draw_network``: a network as the tutorial's graph G(V, A), as a graphviz ``Digraph``.

The model is a ``Sequential`` of ``Linear`` and activation layers: neurons are vertices grouped by
layer, weights are arcs (between two adjacent layers the complete bipartite graph K_{m,n}),
coloured by sign and as thick as they are large.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import graphviz
import numpy as np

from ..value import Value
from .dot import (
    FONT,
    RANKDIRS,
    label,
    module_parameters,
    new_digraph,
    number,
    subscript,
    superscript,
)

__all__ = ["NEGATIVE", "POSITIVE", "ZERO", "draw_network"]

# colours: blue/red for the sign of a weight
POSITIVE = "#1f77b4"
NEGATIVE = "#d62728"
ZERO = "#999999"


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
        elif getattr(layer, "role", None) == "φ" and not module_parameters(layer):
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
            "tooltip": number(w, precision)}


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
    kmn = " + ".join(f"K{subscript(m)},{subscript(n)}" for m, n in itertools.pairwise(sizes))
    n_bias = sum(b.size for b in biases if b is not None)
    caption = (f"G(V, A): {sum(sizes)} neurons, {n_arcs} weights ({kmn})"
               + (f", {n_bias} biases" if show_bias and n_bias else ""))
    graph = new_digraph("network", rankdir, caption)
    graph.attr(ranksep="1.2", nodesep="0.15", remincross="false")
    last = len(sizes)
    for l, n in enumerate(sizes, start=1):
        kind = ("input layer" if l == 1 else "output layer" if l == last
                else f"hidden layer {l - 1}")
        title = f"{kind}: X{subscript(l)}, {n} neuron{'s' if n != 1 else ''}"
        act = activations[l - 2] if l > 1 else None
        sub = graphviz.Digraph(name=f"cluster_layer{l}")
        sub.attr(label=label(title, f"φ = {act}") if act else label(title),
                 style="rounded,filled", color="#9e9e9e", fontname=FONT,
                 fillcolor="#e8f5e9" if l == 1 else "#fde8e8" if l == last else "#fff4d6")
        idx, hidden = shown[l - 1]
        order: list[str] = []
        for pos, i in enumerate(idx):
            if hidden and pos == max_neurons // 2:
                sub.node(f"L{l}_more", label("⋮", f"{hidden} more"), shape="plaintext")
                order.append(f"L{l}_more")
            sub.node(f"L{l}_{i}", label(f"x{subscript(i)}{superscript(l)}"), shape="circle",
                     style="filled", fillcolor="white", fixedsize="true", width="0.5")
            order.append(f"L{l}_{i}")
        if show_bias and l < last and biases[l - 1] is not None:
            sub.node(f"B{l + 1}", label("+1"), shape="box", style="dashed,filled",
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
                    attrs["label"] = label(
                        f"w{superscript(l)}{_pair(i, j)} = {number(value, precision)}")
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
                    attrs["label"] = label(
                        f"b{superscript(l + 1)}{subscript(j)} = {number(value, precision)}")
                graph.edge(f"B{l + 1}", f"L{l + 1}_{j}", **attrs)
            if dst_more:
                graph.edge(f"B{l + 1}", f"L{l + 1}_more", **faint)
    return graph


def _pair(i: int, j: int) -> str:
    """Subscript ``ij`` as in w_{ij}; with a comma once an index has two digits."""
    return subscript(i) + subscript(j) if i < 10 and j < 10 else f"{subscript(i)},{subscript(j)}"

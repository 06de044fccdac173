"""The stepper's network view: a ``Sequential`` of ``Linear`` and activations as G(V, A), its
neurons linked to the graph nodes that compute them.

Neuron j of neuron layer l (l = 1 is the input) is entry j of the last axis of two nodes: the
net value that layer's ``Linear`` call made (net x^l_j, whose gradient is the error signal
δ^l_j = ∂E/∂net x^l_j) and the activation's output (out x^l_j).  The drawing is
``draw_network``'s, laid out by Graphviz.
"""

from __future__ import annotations

from typing import Any

from ..value import Value
from .network import _flatten, _split_layers, draw_network
from .pages.layout import layout

__all__ = ["network_view"]


def network_view(nodes: list[Value], ids: dict[Value, str]) -> dict[str, Any] | None:
    """The network view's data, or None when the graph was not made by one call of a
    ``Sequential`` of ``Linear`` and activation layers."""
    calls: dict[int, tuple[Any, list[Value]]] = {}
    for v in nodes:
        s = v.scope
        while s is not None:
            calls.setdefault(id(s), (s, []))[1].append(v)
            s = s.parent
    candidates = []
    for s, members in calls.values():
        module = s.module
        if module is None or not hasattr(module, "layers"):
            continue
        try:
            _split_layers(module)
        except (TypeError, ValueError):
            continue
        candidates.append((s, module, members))
    if not candidates:
        return None
    outer = [c for c in candidates if not any(o[0] is not c[0] and _inside(c[0], o[0])
                                              for o in candidates)]
    if len(outer) != 1 or sum(1 for c in candidates if c[1] is outer[0][1]) != 1:
        return None                          # the model was called more than once
    scope, model, members = outer[0]
    layers = [m for m in _flatten(model) if getattr(m, "role", None) != "E"]
    by_module: dict[int, list[Value]] = {}
    for v in members:
        if v.scope is not None and v.scope.module is not None:
            by_module.setdefault(id(v.scope.module), []).append(v)
    neuron_layers: list[dict[str, Any]] = []
    first_input: Value | None = None
    for k, layer in enumerate(layers):
        made = by_module.get(id(layer), [])
        if isinstance(getattr(layer, "weight", None), Value):
            nets = [v for v in made if v.op is not None and v.op.name == "linear"]
            if len(nets) != 1:
                return None
            net = nets[0]
            if first_input is None:
                first_input = net.parents[0]
            nxt = layers[k + 1] if k + 1 < len(layers) else None
            outs = by_module.get(id(nxt), []) if nxt is not None and \
                getattr(nxt, "role", None) == "φ" else []
            out = outs[-1] if outs else net
            neuron_layers.append({"net": ids[net], "out": ids[out], "size": int(net.shape[-1]),
                                  "batch": int(net.size // net.shape[-1]),
                                  "activation": type(nxt).__name__ if outs else None})
    if first_input is None or first_input not in ids:
        return None
    inputs = {"net": None, "out": ids[first_input], "size": int(first_input.shape[-1]),
              "batch": int(first_input.size // first_input.shape[-1]), "activation": None}
    drawing = draw_network(model, max_neurons=12)
    drawing.attr(nodesep="0.55")                 # room for δ under each neuron
    return {"scope": scope.label, "layers": [inputs, *neuron_layers],
            "max_neurons": 12, "layout": layout(drawing, "stepper")}


def _inside(inner: Any, outer: Any) -> bool:
    s = inner.parent
    while s is not None:
        if s is outer:
            return True
        s = s.parent
    return False

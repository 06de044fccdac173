"""Seed 000's chain rule as a product of Jacobians: ∂E/∂X₁ = J_E · J_φ · J_g · J_φ · J_f.

Seed 000 writes the last layer's gradient as a matrix product and calls it the "Jordan"
(Jacobian) matrix J.  The whole network is the composition E∘φ∘g∘φ∘f, so by the chain rule its
derivative is the product of one Jacobian per map, each taken at the point the forward pass
reaches that map:

    ∂E/∂X₁ = J_E(out X₃) · J_φ(net X₃) · J_g(out X₂) · J_φ(net X₂) · J_f(X₁)

``jacobian_chain`` computes every factor with ``tn.jacobian`` (each map as a function of its
input alone, its weights fixed), multiplies them in order and compares the product with the
engine's gradient from ``backward()``.  The products of the factors after a layer give every
weight's gradient too: ∂E/∂W₂ = (J_E · J_φ) · ∂net X₃/∂W₂, where J_E · J_φ is δ₃ as a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import nn
from ..functional import linear
from ..transforms import jacobian
from ..value import Value, no_grad
from .examples import WORKED_TARGET, WORKED_X, worked_model
from .mistakes import read_network
from .notation import Notation

__all__ = ["ChainFactor", "JacobianChain", "WeightGradient", "jacobian_chain"]

AGREEMENT = 1e-12
"""Largest |Jacobian product − engine| accepted: both are exact formulas in float64."""


@dataclass(frozen=True)
class ChainFactor:
    """One map of the composition and its Jacobian ∂(output)/∂(input) at the point it is used."""

    symbol: str            # "J_f", "J_φ", "J_g", "J_E"
    layer: str             # the module that is the map: "f: Linear[0]", "E: MSELoss"
    at: str                # the point, in seed 000's names: "X₁", "net X₂", "out X₃"
    point: np.ndarray      # its value
    matrix: np.ndarray     # (outputs, inputs); J_E, of the scalar E, is one row


@dataclass(frozen=True)
class WeightGradient:
    """∂E/∂W of one affine map: the Jacobians after it, times its Jacobian with respect to W."""

    symbol: str            # "∂E/∂W₁"
    layer: str             # "f: Linear[0]"
    upstream: np.ndarray   # the product of the factors after the map: ∂E/∂net as a row (δᵀ)
    by_jacobians: np.ndarray
    engine: np.ndarray


@dataclass
class JacobianChain:
    """The chain rule of a network as a product of per-map Jacobians, next to the engine."""

    factors: list[ChainFactor]
    product: np.ndarray    # factors[-1].matrix · ... · factors[0].matrix: ∂E/∂X₁ as a row
    engine: np.ndarray     # ∂E/∂X₁ from backward()
    weights: list[WeightGradient] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """The products agree with the engine's gradients to ``AGREEMENT``."""
        pairs = [(self.product.ravel(), self.engine.ravel())]
        pairs += [(w.by_jacobians, w.engine) for w in self.weights]
        return all(float(np.max(np.abs(a - b))) <= AGREEMENT for a, b in pairs)

    @property
    def formula(self) -> str:
        """The product in the order it is multiplied: "J_E · J_φ · J_g · J_φ · J_f"."""
        return " · ".join(f.symbol for f in reversed(self.factors))


def jacobian_chain(model: nn.Sequential | None = None, x: np.ndarray | None = None,
                   target: np.ndarray | None = None,
                   loss: nn.Module | None = None) -> JacobianChain:
    """The chain rule of ``loss(model(x), target)`` as a product of one Jacobian per map.

    ∂E/∂X₁ = J_E · J_φ · J_g · J_φ · J_f for seed 000's worked example (the defaults: its
    2-2-2 network, x = (0.5, 0.25), d = (0, 1), E = Σ (d − x)²/2), each J by ``tn.jacobian``
    at the point the forward pass reaches it; the product is compared with ``backward()``,
    and so is each weight gradient ∂E/∂W = (the Jacobians after the map) · ∂net/∂W.
    """
    model = worked_model() if model is None else model
    x = np.array(WORKED_X) if x is None else np.asarray(x, dtype=np.float64)
    target = np.array(WORKED_TARGET) if target is None else np.asarray(target, dtype=np.float64)
    loss = nn.MSELoss() if loss is None else loss
    kind = "ce" if isinstance(loss, nn.CrossEntropyLoss) else "mse"
    network, _ = read_network("jacobian_chain", model, x, target, kind,
                              getattr(loss, "reduction", "mean"))
    names = Notation("column", network)
    maps: list[nn.Module] = [*model, loss]

    points: list[np.ndarray] = [x]                   # the input of every map
    with no_grad():
        for layer in model:
            points.append(np.asarray(layer(points[-1]).data))
    factors = []
    for k, (layer, point) in enumerate(zip(maps, points)):
        def layer_map(v: Value, layer: nn.Module = layer) -> Value:
            return layer(v, target) if layer is loss else layer(v)
        matrix = np.atleast_2d(jacobian(layer_map)(point))
        factors.append(ChainFactor(f"J_{layer.role or layer.name}", layer.scope_label,
                                   _point_name(names, maps, k), point, matrix))

    suffixes = [np.ones((1, 1))]                     # the product of the factors after map k
    for factor in reversed(factors):
        suffixes.append(suffixes[-1] @ factor.matrix)
    suffixes.reverse()                               # suffixes[k] = J_E · ... · J_k
    engine_x, engine_weights = _engine_gradients(model, loss, x, target)
    weights = []
    linears = [(k, m) for k, m in enumerate(model) if isinstance(m, nn.Linear)]
    for n, (k, layer) in enumerate(linears):
        def of_weight(w: Value, layer: nn.Linear = layer, point: np.ndarray = points[k]) -> Value:
            return linear(point, w, layer.bias)
        by_weight = jacobian(of_weight)(layer.weight.data)        # (out, out, in)
        upstream = suffixes[k + 1]                                  # ∂E/∂net, as a row
        product = (upstream @ by_weight.reshape(by_weight.shape[0], -1)).reshape(
            layer.weight.shape)
        weights.append(WeightGradient(f"∂E/∂{names.weight(n)}", layer.scope_label, upstream,
                                      product, engine_weights[n]))
    return JacobianChain(factors, suffixes[0], engine_x, weights)


def _engine_gradients(model: nn.Sequential, loss: nn.Module, x: np.ndarray,
                      target: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """∂E/∂X₁ and every Linear's ∂E/∂W by ``backward()``, leaving the model's .grad as it was."""
    weights = [m.weight for m in model if isinstance(m, nn.Linear)]
    saved = [p.grad for p in model.parameters()]
    xv = Value(x)
    try:
        for p in model.parameters():
            p.grad = None
        loss(model(xv), target).backward()
        return np.array(xv.grad), [np.array(w.grad) for w in weights]
    finally:
        for p, g in zip(model.parameters(), saved):
            p.grad = g


def _point_name(names: Notation, maps: list[nn.Module], k: int) -> str:
    """Seed 000's name for the input of map ``k``: X₁, then net X₂, out X₂, net X₃..."""
    l = sum(isinstance(m, nn.Linear) for m in maps[:k]) - 1     # the last Linear before it
    return names.net(l) if k and isinstance(maps[k - 1], nn.Linear) else names.output(l)

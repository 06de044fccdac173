"""The engine's side of the comparison: gradients and error signals δ from ``backward()``.

``engine_backprop`` runs the model layer by layer, marks the net value each ``Linear`` produces
with ``retain_grad()`` and reads δ_l = ∂E/∂net_l from its ``.grad`` after one ``backward()``.
``check_deltas`` puts those next to a hand-derived δ (ours, or a learner's own function) and
names the layer whose formula is wrong.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import nn
from ..gradcheck import numeric_grad
from ..value import Value
from .manual import manual_deltas, model_layers

__all__ = ["DeltaCheck", "EngineBackprop", "LayerDelta", "check_deltas", "engine_backprop",
           "numeric_gradients"]


@dataclass
class EngineBackprop:
    """The engine's pass: the loss Value (the graph's root), nets, δ = net.grad and (dW, db).

    ``outs[l]`` is the data leaving Linear ``l``'s activations (out = φ(net), the next layer's
    input), shaped like ``nets[l]``.
    """

    loss: Value
    nets: list[Value]
    deltas: list[np.ndarray]
    grads: list[tuple[np.ndarray, np.ndarray]]
    labels: list[str]
    outs: list[np.ndarray]


def _linears(fn: str, model: Any) -> list[nn.Linear]:
    found = [m for m in model_layers(fn, model) if isinstance(m, nn.Linear)]
    if not found:
        raise ValueError(f"{fn}: the model has no nn.Linear layer")
    return found


def _loss_module(fn: str, loss: str, reduction: str) -> nn.Loss:
    if loss == "mse":
        return nn.MSELoss(reduction)
    if loss == "ce":
        if reduction != "mean":
            raise ValueError(f"{fn}: nn.CrossEntropyLoss averages over the batch; "
                             f"reduction must be 'mean' for loss='ce', got {reduction!r}")
        return nn.CrossEntropyLoss()
    raise ValueError(f"{fn}: loss must be 'mse' or 'ce', got {loss!r}")


def _forward(fn: str, model: Any, x: Any, target: Any, loss: str,
             reduction: str) -> tuple[Value, list[Value], list[str], list[Value]]:
    """Run the layers one at a time (each in its own scope), keeping every Linear's output.

    Returns E, the net Value of every Linear, their scope labels and the out Value leaving
    each Linear's activations.
    """
    E = _loss_module(fn, loss, reduction)
    xa = np.asarray(getattr(x, "data", x), dtype=np.float64)
    out: Value = Value(xa, requires_grad=False, name="x")
    nets: list[Value] = []
    labels: list[str] = []
    outs: list[Value] = []
    for layer in model_layers(fn, model):
        if isinstance(layer, nn.Module) and layer.is_loss:
            break                           # a trailing error function: ours is E below
        if isinstance(layer, nn.Linear) and nets:
            outs.append(out)                # the previous stage's out = φ(net)
        out = layer(out)
        if isinstance(layer, nn.Linear):
            out.retain_grad()               # δ = ∂E/∂net stays on this node after backward
            nets.append(out)
            labels.append(layer.scope_label)
    outs.append(out)
    t = np.asarray(getattr(target, "data", target))
    if loss == "ce" and out.ndim == 1:      # one sample: cross_entropy wants (1, C) logits
        out = out.reshape(1, -1)
        t = t.reshape(1) if t.ndim == 0 else t.reshape(1, -1)
    return E(out, t), nets, labels, outs


def engine_backprop(model: Any, x: Any, target: Any, loss: str = "mse",
                    reduction: str = "mean") -> EngineBackprop:
    """E.backward() through the model; δ_l = ∂E/∂net_l read off each Linear's retained output.

    The parameters' ``.grad`` is restored afterwards, so this does not disturb training code.
    """
    fn = "engine_backprop"
    linears = _linears(fn, model)
    params = [p for m in linears for p in (m.weight, m.bias) if p is not None]
    saved = [p.grad for p in params]
    try:
        for p in params:
            p.grad = None
        root, nets, labels, outs = _forward(fn, model, x, target, loss, reduction)
        root.backward()
        grads = []
        for m in linears:
            dW = np.array(m.weight.grad, dtype=np.float64)
            db = (np.zeros(m.out_features) if m.bias is None
                  else np.array(m.bias.grad, dtype=np.float64))
            grads.append((dW, db))
        deltas = [np.array(net.grad, dtype=np.float64) for net in nets]
    finally:
        for p, g in zip(params, saved):
            p.grad = g
    return EngineBackprop(root, nets, deltas, grads, labels,
                          [np.array(o.data, dtype=np.float64) for o in outs])


def numeric_gradients(model: Any, x: Any, target: Any, loss: str = "mse",
                      reduction: str = "mean",
                      eps: float = 1e-6) -> list[tuple[np.ndarray, np.ndarray]]:
    """Central differences (E(p + ε) − E(p − ε)) / 2ε for every weight and bias, per Linear."""
    fn = "numeric_gradients"
    linears = _linears(fn, model)
    params = [p for m in linears for p in (m.weight, m.bias) if p is not None]

    def E(*_: Value) -> Value:
        return _forward(fn, model, x, target, loss, reduction)[0]

    grads = iter(numeric_grad(E, params, eps))
    return [(np.asarray(next(grads)),
             np.zeros(m.out_features) if m.bias is None else np.asarray(next(grads)))
            for m in linears]


# ----------------------------------------------------------------------------------------------
# check_deltas
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerDelta:
    """One Linear's error signal: the hand-derived δ, the engine's δ and how far apart they are."""

    index: int          # position among the Linear layers (0 = first)
    label: str          # the layer's scope label, e.g. "g: Linear[2]"
    manual: np.ndarray
    engine: np.ndarray
    max_abs_diff: float
    ok: bool


@dataclass(frozen=True)
class DeltaCheck:
    """check_deltas' verdict; ``first_divergent`` is the Linear whose δ formula is wrong (or None).

    Backprop computes δ from the output layer down, and a wrong δ_l spoils every δ below it, so
    the culprit is the divergent layer closest to the output: that is ``first_divergent``.
    """

    layers: list[LayerDelta]
    first_divergent: int | None

    @property
    def ok(self) -> bool:
        """True when every layer's δ agrees."""
        return self.first_divergent is None

    def __str__(self) -> str:
        lines = [f"{'layer':<16}{'max |δ_manual − δ_engine|':>28}  verdict"]
        for d in reversed(self.layers):
            lines.append(f"{d.label:<16}{d.max_abs_diff:>28.3e}  {'ok' if d.ok else 'DIFFERS'}")
        if self.first_divergent is None:
            lines.append("every layer's δ = ∂E/∂net agrees with the engine")
        else:
            d = self.layers[self.first_divergent]
            below = [x.label for x in self.layers[:self.first_divergent] if not x.ok]
            tail = (f"; the layers below it ({', '.join(below)}) inherit the error"
                    if below else "")
            lines.append(f"first divergence, walking back from the output: {d.label} (Linear "
                         f"#{d.index}): check the formula for this layer's δ{tail}")
        return "\n".join(lines)


def _call_manual(manual: Callable[..., Any], model: Any, x: Any, target: Any, loss: str,
                 reduction: str) -> Any:
    try:
        params = inspect.signature(manual).parameters
    except (TypeError, ValueError):
        params = {}   # type: ignore[assignment]
    kwargs: dict[str, Any] = {}
    if "loss" in params:
        kwargs["loss"] = loss
    if "reduction" in params:
        kwargs["reduction"] = reduction
    return manual(model, x, target, **kwargs)


def check_deltas(model: Any, x: Any, target: Any,
                 manual: Callable[..., Any] | None = None, loss: str = "mse",
                 reduction: str = "mean", atol: float = 1e-10,
                 rtol: float = 1e-7) -> DeltaCheck:
    """Compare hand-derived δ_l = ∂E/∂net_l of every Linear with the engine's (via retain_grad).

    ``manual(model, x, target)`` (default ``manual_deltas``) returns one δ per Linear, first
    to last, each shaped like that Linear's output (or an object with a ``.deltas`` list).
    A layer agrees when max |δ_manual − δ_engine| ≤ atol + rtol · max |δ_engine|.
    """
    fn = "check_deltas"
    engine = engine_backprop(model, x, target, loss, reduction)
    got = _call_manual(manual or manual_deltas, model, x, target, loss, reduction)
    got = getattr(got, "deltas", got)
    if not isinstance(got, (list, tuple)) or len(got) != len(engine.deltas):
        n = len(got) if isinstance(got, (list, tuple)) else type(got).__name__
        raise ValueError(f"{fn}: expected the manual function to return {len(engine.deltas)} "
                         f"deltas (one per Linear, first to last), got {n}")
    layers = []
    for i, (mine, ref, label) in enumerate(zip(got, engine.deltas, engine.labels)):
        a = np.asarray(getattr(mine, "data", mine), dtype=np.float64)
        if a.shape != ref.shape:
            raise ValueError(f"{fn}: δ of {label} (Linear #{i}) should have the shape of the "
                             f"layer's output {ref.shape}, got {a.shape}")
        diff = float(np.max(np.abs(a - ref))) if a.size else 0.0
        ok = bool(np.isfinite(diff) and diff <= atol + rtol * float(np.max(np.abs(ref),
                                                                           initial=0.0)))
        layers.append(LayerDelta(i, label, a, ref, diff, ok))
    first = next((d.index for d in reversed(layers) if not d.ok), None)
    return DeltaCheck(layers, first)

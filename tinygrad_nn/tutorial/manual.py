"""The delta rule by hand: backpropagation in plain NumPy, exactly as the tutorials derive it.

Nothing here touches the engine (no ``Value`` op is run, no ``backward``): the model is only
read for its layer types and its weights' numbers. Two transcriptions of the same rule:

* ``convention="column"`` — seed 000 ("Neural Networks explained in a mathematical way"): neurons
  are column vectors, ``net X_{l+1} = W_l · out X_l + B_{l+1}`` with ``W_l`` of shape
  (neurons in l+1, neurons in l) — the layout of ``Linear.weight``, entry ``[j, i] = w_{ij}``;
  ``δ_L = ∂E/∂out ⊙ φ'(net_L)``, ``∂E/∂W = δ · Xᵀ``, ``∂E/∂B = δ``,
  ``δ_l = (W_lᵀ δ_{l+1}) ⊙ φ'(net_l)``. A batch is a matrix whose columns are samples.
* ``convention="row"`` — seed 004 (one-neuron chain, row-vector pseudo-code): neurons are row
  vectors, ``z = a_prev · W + b`` with ``W`` of shape (n_prev, n_cur) — the transpose;
  ``Error_bias = φ'(z) ⊙ d_MSE``, ``Error_weights = a_prevᵀ · Error_bias``,
  ``Error_prev_layer = Error_bias · Wᵀ``. A batch is a matrix whose rows are samples.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import nn
from ..nn.by_hand import PhiByHand
from ..nn.registry import RegistryView

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "ManualBackprop",
    "manual_backprop",
    "manual_deltas",
    "manual_gradients",
    "model_layers",
]


# ----------------------------------------------------------------------------------------------
# φ and φ' by hand, one entry per activation class (independent of the engine's rule table)
# ----------------------------------------------------------------------------------------------


Activation = PhiByHand
"""One element-wise φ written out by hand: the ``by_hand`` attribute of an activation class."""

ACTIVATIONS: Mapping[type, Activation] = RegistryView(
    lambda cls: (cls, cls.by_hand)
    if issubclass(cls, nn.Activation) and cls.by_hand is not None else None)
"""φ and φ' per activation module class, written out by hand (seed 000: φ' = out(1 − out)); each
class carries its own as ``by_hand`` (``nn/layers.py``), and this table gathers them."""


def _slope(module: Any) -> float:
    """The leak k of a LeakyReLU (0 for every other activation)."""
    for attr in ("slope", "negative_slope"):
        if hasattr(module, attr):
            return float(getattr(module, attr))
    return 0.0


def _softmax_rows(z: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def activate(acts: list[tuple[Activation, float]],
              net: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """out = φ(net) through a stage's activations, and φ'(net) for them by the chain rule."""
    a, dphi = net, np.ones_like(net)
    for act, k in acts:
        new = act.phi(a, k)
        dphi = dphi * act.dphi(a, new, k)
        a = new
    return a, dphi


def softmax_cross_entropy(logits: np.ndarray, target: np.ndarray, axis: int,
                   reduction: str) -> tuple[float, np.ndarray]:
    """Softmax + cross-entropy over ``axis`` (the classes): E and δ_L = (softmax − onehot)/N."""
    p = _softmax_rows(logits, axis)
    n_samples = logits.shape[1 - axis]              # samples lie along the other axis
    scale = 1.0 / n_samples if reduction == "mean" else 1.0
    E = float(-np.sum(target * np.log(np.clip(p, 1e-300, None))) * scale)
    return E, (p - target) * scale


# ----------------------------------------------------------------------------------------------
# The model as stages: (weight, bias, activations after it)
# ----------------------------------------------------------------------------------------------


@dataclass
class Stage:
    """One affine map and the activations after it: how the delta rule walks a model."""

    weight: np.ndarray                    # (out, in): Linear.weight, entry [j, i] = w_{ij}
    bias: np.ndarray                      # (out,)
    acts: list[tuple[Activation, float]]  # element-wise φ applied after the affine map, in order


def model_layers(fn: str, model: Any) -> list[Any]:
    """The layers of ``model`` in data order: a Sequential's, a lone Linear, or a list of layers.

    ``fn`` names the caller in the TypeError raised for anything else.
    """
    layers = getattr(model, "layers", None)
    if layers is None:
        if isinstance(model, nn.Linear):
            return [model]
        if isinstance(model, (list, tuple)):
            return list(model)
        raise TypeError(f"{fn}: expected an nn.Sequential (or a list of layers), got "
                        f"{type(model).__name__}")
    return list(layers)


def model_stages(fn: str, model: Any) -> list[Stage]:
    """The model as stages (weight, bias, activations after it), the form the delta rule uses."""
    stages: list[Stage] = []
    layers = model_layers(fn, model)
    for k, layer in enumerate(layers):
        if isinstance(layer, nn.Module) and layer.is_loss:
            break                             # a trailing error function: E is chosen by `loss`
        if isinstance(layer, nn.Linear):
            w = np.asarray(layer.weight.data, dtype=np.float64)
            b = (np.zeros(w.shape[0]) if layer.bias is None
                 else np.asarray(layer.bias.data, dtype=np.float64))
            stages.append(Stage(w, b, []))
            continue
        if not stages:
            raise ValueError(f"{fn}: expected the first layer to be nn.Linear, got "
                             f"{type(layer).__name__} at position {k}")
        if isinstance(layer, nn.Softmax):
            raise ValueError(f"{fn}: nn.Softmax at position {k} is not element-wise; for "
                             f"softmax + cross-entropy end the model with nn.Linear (the logits) "
                             f"and pass loss='ce' (the softmax lives in the loss)")
        act = ACTIVATIONS.get(type(layer))
        if act is None:
            known = ", ".join(sorted(c.__name__ for c in ACTIVATIONS))
            raise TypeError(f"{fn}: no hand-written φ' for layer {type(layer).__name__} at "
                            f"position {k}; expected nn.Linear or one of "
                            f"{known}")
        stages[-1].acts.append((act, _slope(layer)))
    if not stages:
        raise ValueError(f"{fn}: the model has no nn.Linear layer")
    return stages


# ----------------------------------------------------------------------------------------------
# Result
# ----------------------------------------------------------------------------------------------


@dataclass
class ManualBackprop:
    """Everything the hand-derived pass computed, one entry per ``Linear`` (first to last).

    ``nets[l]`` and ``deltas[l]`` are shaped like the engine's output of Linear ``l``:
    ``(out,)`` for one sample, ``(N, out)`` for a batch (rows are samples, in both
    conventions). ``outs[0]`` is the input; ``outs[l + 1]`` the activated output of stage ``l``.
    ``grads[l] = (dW, db)`` in the chosen ``convention``.
    """

    loss: float
    nets: list[np.ndarray]
    outs: list[np.ndarray]
    deltas: list[np.ndarray]
    grads: list[tuple[np.ndarray, np.ndarray]]
    convention: str = "column"


# ----------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------


def prepare(fn: str, stages: list[Stage], x: Any, target: Any, loss: str,
             reduction: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """x as rows (N, n_in), the target as rows (N, n_out) (one-hot for "ce"), single-sample flag."""
    if loss not in ("mse", "ce"):
        raise ValueError(f"{fn}: loss must be 'mse' or 'ce', got {loss!r}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"{fn}: reduction must be 'mean' or 'sum', got {reduction!r}")
    xa = np.asarray(getattr(x, "data", x), dtype=np.float64)
    n_in = stages[0].weight.shape[1]
    n_out = stages[-1].weight.shape[0]
    if xa.ndim not in (1, 2) or xa.shape[-1] != n_in:
        raise ValueError(f"{fn}: expected x of shape ({n_in},) or (N, {n_in}) (the first "
                         f"Linear's in_features), got shape {xa.shape}")
    single = xa.ndim == 1
    X = xa[None, :] if single else xa
    N = X.shape[0]
    ta = np.asarray(getattr(target, "data", target))
    if loss == "ce":
        if stages[-1].acts:
            raise ValueError(f"{fn}: loss='ce' expects the model to end with nn.Linear (the "
                             f"logits), got an element-wise "
                             f"{stages[-1].acts[-1][0].name} after the last Linear")
        if ta.dtype.kind in "iu" and ta.shape == ((N,) if not single else ()):
            labels = ta.reshape(N)
            if labels.min() < 0 or labels.max() >= n_out:
                raise ValueError(f"{fn}: class labels must lie in [0, {n_out}), got "
                                 f"{labels.min()}..{labels.max()}")
            D = np.zeros((N, n_out))
            D[np.arange(N), labels] = 1.0
            return X, D, single
    expected = (n_out,) if single else (N, n_out)
    if ta.shape != expected:
        labels_shape = () if single else (N,)
        what = f"integer class labels of shape {labels_shape} or " if loss == "ce" else ""
        raise ValueError(f"{fn}: expected target as {what}an array of shape {expected}, got "
                         f"shape {ta.shape} (dtype {ta.dtype})")
    D = ta.astype(np.float64).reshape(N, n_out)
    return X, D, single


def _as_out(a: np.ndarray, single: bool) -> np.ndarray:
    return a[0] if single else a


# ----------------------------------------------------------------------------------------------
# Seed 000: column vectors
# ----------------------------------------------------------------------------------------------


def _column(stages: list[Stage], X: np.ndarray, D: np.ndarray, loss: str,
            reduction: str) -> tuple[float, list[np.ndarray], list[np.ndarray],
                                      list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """Seed 000, literally: samples are columns; net X_{l+1} = W_l·out X_l + B_{l+1}."""
    out = X.T                                       # (n_in, N): one column per sample
    Y = D.T
    N = out.shape[1]
    outs, nets, phis = [out], [], []                # phis[l]: φ'(net_l) (element-wise factor)
    for st in stages:
        net = st.weight @ out + st.bias[:, None]    # Σ_i w_ij x_i + b_j
        a, dphi = activate(st.acts, net)           # out = φ(net), φ'(net)
        nets.append(net)
        phis.append(dphi)
        outs.append(a)
        out = a
    n = Y.shape[0]
    if loss == "mse":
        # E = Σ_j (d_j − x_j)² / n per sample (seed 000), averaged over the batch; or the sum
        # C_0 = Σ_j (a_j − y_j)² (seed 004).
        scale = 1.0 / (n * N) if reduction == "mean" else 1.0
        E = float(np.sum((Y - out) ** 2) * scale)
        dE_dout = -2.0 * (Y - out) * scale          # ∂E/∂out x_j = −2(d_j − x_j)/n
        delta = dE_dout * phis[-1]                  # δ_L = ∂E/∂out ⊙ φ'(net_L)
    else:                                           # softmax of the logits net_L (columns)
        E, delta = softmax_cross_entropy(nets[-1], Y, 0, reduction)   # δ_L = (softmax − onehot) / N
    deltas: list[np.ndarray] = [delta] * len(stages)
    grads: list[tuple[np.ndarray, np.ndarray]] = [(delta, delta)] * len(stages)
    for l in range(len(stages) - 1, -1, -1):
        dW = delta @ outs[l].T                      # ∂E/∂W_l = δ_{l+1} · X_lᵀ  (out, in)
        db = delta.sum(axis=1)                      # ∂E/∂B = δ (summed over the batch)
        deltas[l], grads[l] = delta, (dW, db)
        if l:
            # δ_l = (W_lᵀ δ_{l+1}) ⊙ φ'(net_l)
            delta = (stages[l].weight.T @ delta) * phis[l - 1]
    return E, [z.T for z in nets], [a.T for a in outs], [d.T for d in deltas], grads


# ----------------------------------------------------------------------------------------------
# Seed 004: row vectors (its pseudo-code, with the errata fixed)
# ----------------------------------------------------------------------------------------------


def _row(stages: list[Stage], X: np.ndarray, D: np.ndarray, loss: str,
         reduction: str) -> tuple[float, list[np.ndarray], list[np.ndarray],
                                   list[np.ndarray], list[tuple[np.ndarray, np.ndarray]]]:
    """Seed 004's pseudo-code: rows are samples; z = a_prev · W + b with W (n_prev, n_cur)."""
    weights = [st.weight.T for st in stages]        # Layers_weights: (n_prev, n_cur)
    al, zl, dacts = [X], [], []                     # Layers_values_al / _zl (al[0] = input)
    for st, W in zip(stages, weights):
        z = al[-1] @ W + st.bias[None, :]           # z^(L) = a^(L−1) w^(L) + b^(L)
        a, d = activate(st.acts, z)                # a^(L) = σ(z^(L)), σ'(z^(L))
        zl.append(z)
        dacts.append(d)
        al.append(a)
    N, n = D.shape
    if loss == "mse":
        scale = 1.0 / (n * N) if reduction == "mean" else 1.0
        E = float(np.sum((al[-1] - D) ** 2) * scale)
        d_mse = 2.0 * (al[-1] - D) * scale          # d_MSE = 2(a_j − y_j): output − EXPECTED
        error_bias = dacts[-1] * d_mse              # Error_bias = σ'(z_j) · d_MSE
    else:
        E, error_bias = softmax_cross_entropy(zl[-1], D, 1, reduction)
    L = len(stages)
    deltas: list[np.ndarray] = [error_bias] * L
    grads: list[tuple[np.ndarray, np.ndarray]] = [(error_bias, error_bias)] * L
    for l in range(L - 1, -1, -1):                  # every layer, down to the first (l = 0)
        error_weights = al[l].T @ error_bias        # matrix_product(transpose(al_1), Error_bias)
        deltas[l] = error_bias
        grads[l] = (error_weights, error_bias.sum(axis=0))
        if l:
            error_prev_layer = error_bias @ weights[l].T   # Error_bias · Wᵀ = ∂C/∂a^(L−1)
            error_bias = dacts[l - 1] * error_prev_layer   # σ'(z^(L−1)) ⊙ ∂C/∂a^(L−1)
    return E, zl, al, deltas, grads


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------


def manual_backprop(model: Any, x: Any, target: Any, loss: str = "mse",
                    convention: str = "column", reduction: str = "mean") -> ManualBackprop:
    """Forward pass and delta rule by hand: δ_L = ∂E/∂out ⊙ φ'(net_L), δ_l = (Wᵀδ_{l+1})⊙φ'(net_l).

    ``model`` is an ``nn.Sequential`` of ``nn.Linear`` and element-wise activations (for
    ``loss="ce"`` ending in an ``nn.Linear``: the logits); ``x`` one sample ``(n_in,)`` or a batch
    ``(N, n_in)``. ``loss="mse"`` is ``nn.MSELoss(reduction)``: E = Σ (d − x)² / (n·N) for
    "mean" (seed 000's E, averaged over the batch), Σ (a − y)² for "sum" (seed 004's C_0).
    ``loss="ce"`` is softmax + cross-entropy with ``δ_L = (softmax − onehot)/N``; the target is
    then class labels or one-hot rows.
    """
    fn = "manual_backprop"
    if convention not in ("column", "row"):
        raise ValueError(f"{fn}: convention must be 'column' (seed 000, W like Linear.weight) or "
                         f"'row' (seed 004, W transposed), got {convention!r}")
    stages = model_stages(fn, model)
    X, D, single = prepare(fn, stages, x, target, loss, reduction)
    run = _column if convention == "column" else _row
    E, nets, outs, deltas, grads = run(stages, X, D, loss, reduction)
    return ManualBackprop(
        loss=E,
        nets=[_as_out(z, single) for z in nets],
        outs=[_as_out(a, single) for a in outs],
        deltas=[_as_out(d, single) for d in deltas],
        grads=grads,
        convention=convention,
    )


def manual_gradients(model: Any, x: Any, target: Any, loss: str = "mse",
                     convention: str = "column",
                     reduction: str = "mean") -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(∂E/∂W, ∂E/∂B), ...]`` per Linear by the delta rule: ∂E/∂W = δ·Xᵀ, ∂E/∂B = δ.

    ``convention="column"`` gives ∂E/∂W shaped like ``Linear.weight`` (out, in), entry
    ``[j, i] = ∂E/∂w_{ij}``; ``"row"`` gives seed 004's (n_prev, n_cur) layout, the transpose.
    See ``manual_backprop`` for the arguments.
    """
    return manual_backprop(model, x, target, loss, convention, reduction).grads


def manual_deltas(model: Any, x: Any, target: Any, loss: str = "mse",
                  reduction: str = "mean") -> list[np.ndarray]:
    """The error signal of every Linear, δ_l = ∂E/∂net_l, first layer to last, by hand.

    δ_L = ∂E/∂out ⊙ φ'(net_L); δ_l = (W_lᵀ δ_{l+1}) ⊙ φ'(net_l). Shaped like each Linear's
    output: ``(out,)`` for one sample, ``(N, out)`` for a batch.
    """
    return manual_backprop(model, x, target, loss, "column", reduction).deltas



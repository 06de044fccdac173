"""The catalogue of backprop mistakes, and the delta rule with one step done wrong.

``diagnose`` names a learner's mistake by recomputing the first wrong quantity under every
catalogued mistake and keeping the ones that reproduce it exactly (``KINDS`` lists them). The
pass here is the hand-derived delta rule on rows (samples are rows, W as ``Linear.weight``),
written as named steps so that a ``Mistake`` can replace one or two of them at one layer:

    net_l = in_l · W_lᵀ + b_l            out_l = φ(net_l)            dphi_l = φ′(net_l)
    δ_L = ∂E/∂out ⊙ dphi_L (MSE) or (softmax(net_L) − d)/N (cross-entropy)
    δ_l = (δ_{l+1} · W_{l+1}) ⊙ dphi_l   ∂E/∂W_l = δ_lᵀ · in_l      ∂E/∂B_l = Σ_samples δ_l

where ``in_l`` is the input of Linear ``l`` (x for the first, out_{l−1} after). Everything after
the replaced step is recomputed from it, so a mistake in a quantity the learner did not return
still reproduces the quantity it spoils. "sign" and "scale" need no pass: the backward pass is
linear in δ, so they are found by fitting one factor (``diagnose`` does that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import nn
from .manual import (
    ACTIVATIONS,
    Activation,
    Stage,
    activate,
    model_stages,
    prepare,
    softmax_cross_entropy,
)

__all__ = ["KINDS", "Mistake", "Network", "Quantities", "catalogue", "delta_rule", "read_network"]

KINDS: dict[str, str] = {
    "sign": "the quantity times −1: (d − out) where (out − d) belongs, or −∂E/∂W (the step "
            "direction) returned as the gradient",
    "missing_phi_prime": "δ without its factor φ′(net)",
    "phi_prime_of_out": "φ′ applied to out instead of net (σ(out)(1 − σ(out)) for the logistic: "
                        "σ applied twice)",
    "out_formula_on_net": "φ′ written in terms of out, out(1 − out), but given net: "
                          "net(1 − net)",
    "transposed": "W where Wᵀ belongs (or the reverse) in net or δ, or ∂E/∂W transposed: "
                  "X·δᵀ versus δ·Xᵀ, the two tutorials' layouts mixed up",
    "wrong_layer_input": "a layer fed, or its δ multiplied by, another layer's outputs; or "
                         "∂E/∂W of one layer built from the layer below's δ and input",
    "net_for_out": "net (before φ) where out = φ(net) belongs: as a layer's input, in ∂E/∂W, or "
                   "in ∂E/∂out",
    "missing_bias": "net computed without + B (seed 004's printed forward pass)",
    "bias_not_summed": "∂E/∂B of a batch left per sample (one column or row per sample) instead "
                       "of summed over the samples",
    "wrong_activation": "φ or φ′ of another activation (tanh where the layer is logistic, …); "
                        "with cross-entropy, the logits where softmax(logits) belongs",
    "printed_sum_index": "seed 000's printed δ_j^l = (Σ_i w_ji δ_j^{l+1}) φ′: a neuron's own "
                         "δ_j where the next layer's δ_i belong",
    "scale": "the quantity times a constant (``Diagnosis.factor``): n from C₀ = Σ(a − y)² versus "
             "E's mean over the n outputs, the batch size N, 2 or ½ from the square's "
             "derivative",
    "other": "none of the above reproduces the value",
}
"""Every mistake ``diagnose`` can name, with what it is. The order is the order of preference
when several reproduce the same value: sign first, scale last, structural kinds between."""

Rows = np.ndarray
Step = Callable[["_Pass", int], np.ndarray]

# Activations a learner may use by mistake (LeakyReLU is left out: it needs its slope).
_OTHER_ACTIVATIONS: tuple[type, ...] = (nn.Sigmoid, nn.Tanh, nn.ReLU, nn.Softplus, nn.Identity)


@dataclass(frozen=True)
class Network:
    """What the hand-derived pass needs: the layers' numbers, x and d as rows, the loss."""

    stages: list[Stage]
    X: Rows                 # (N, n_in)
    D: Rows                 # (N, n_out); one-hot rows for cross-entropy
    loss: str               # "mse" or "ce"
    reduction: str          # "mean" or "sum"

    @property
    def sizes(self) -> list[int]:
        """[n_in, n_1, …, n_L]: the width of the input and of every Linear's output."""
        return [self.X.shape[1]] + [st.weight.shape[0] for st in self.stages]

    @property
    def n_samples(self) -> int:
        """N, the number of rows of x."""
        return self.X.shape[0]


def read_network(fn: str, model: Any, x: Any, target: Any, loss: str,
                 reduction: str) -> tuple[Network, bool]:
    """The model's layers and the data as the hand-derived pass needs them, and whether x was
    one sample (checked as ``manual_backprop`` checks them; errors name ``fn``)."""
    stages = model_stages(fn, model)
    X, D, single = prepare(fn, stages, x, target, loss, reduction)
    return Network(stages, X, D, loss, reduction), single


@dataclass
class Quantities:
    """One pass: net/out/δ as (N, n) rows per Linear, ∂E/∂W like ``Linear.weight``, ∂E/∂B (n,).

    A mistake may leave ∂E/∂W or ∂E/∂B in another shape (transposed, per sample).
    """

    net: list[np.ndarray] = field(default_factory=list)
    out: list[np.ndarray] = field(default_factory=list)
    E: float = 0.0
    delta: list[np.ndarray] = field(default_factory=list)
    dW: list[np.ndarray] = field(default_factory=list)
    dB: list[np.ndarray] = field(default_factory=list)

    def get(self, key: str, layer: int | None) -> np.ndarray:
        """The quantity ``key`` ("net", "out", "E", "delta", "dW", "dB") of Linear ``layer``."""
        if key == "E":
            return np.asarray(self.E)
        assert layer is not None
        values: list[np.ndarray] = getattr(self, key)
        return values[layer]


@dataclass(frozen=True)
class Mistake:
    """One catalogued mistake at one layer: the steps it replaces and what it used instead.

    ``site`` is the step the learner got wrong ("net", "out", "dphi", "delta", "dW", "dB");
    ``used`` names what went in instead: an activation ("tanh"), another layer's index for
    its output (−1 for x), or a variant ("forward", "layer_below", "softmax").
    """

    kind: str
    layer: int
    site: str
    steps: Mapping[str, Step]
    used: str | int | None = None
    activation: Activation | None = None


class _Pass:
    """The delta rule step by step; a Mistake's steps replace the correct ones at its layer."""

    def __init__(self, network: Network, mistake: Mistake | None) -> None:
        self.n = network
        self.mistake = mistake
        self.q = Quantities()
        self.dphi: list[np.ndarray] = []

    def step(self, site: str, layer: int, correct: Step) -> np.ndarray:
        m = self.mistake
        if m is not None and m.layer == layer and site in m.steps:
            return m.steps[site](self, layer)
        return correct(self, layer)

    def weight(self, layer: int) -> np.ndarray:
        return self.n.stages[layer].weight

    def layer_input(self, layer: int) -> np.ndarray:
        return self.n.X if layer == 0 else self.q.out[layer - 1]

    def output_of(self, layer: int) -> np.ndarray:
        """The output of Linear ``layer``'s stage (``-1``: the input x)."""
        return self.n.X if layer < 0 else self.q.out[layer]

    def mse_scale(self) -> float:
        N, n = self.n.D.shape
        return 1.0 / (n * N) if self.n.reduction == "mean" else 1.0

    def run(self) -> Quantities:
        q, L = self.q, len(self.n.stages)
        for l in range(L):
            q.net.append(self.step("net", l, _net))
            q.out.append(self.step("out", l, _out))
            self.dphi.append(self.step("dphi", l, _dphi))
        q.E = _loss(self)
        q.delta = [np.empty(0)] * L
        q.dW = [np.empty(0)] * L
        q.dB = [np.empty(0)] * L
        for l in range(L - 1, -1, -1):
            q.delta[l] = self.step("delta", l, _output_delta if l == L - 1 else _hidden_delta)
        for l in range(L - 1, -1, -1):        # nothing below depends on them: every δ is known
            q.dW[l] = self.step("dW", l, _dW)
            q.dB[l] = self.step("dB", l, _dB)
        return q


# ----------------------------------------------------------------------------------------------
# The correct steps
# ----------------------------------------------------------------------------------------------


def _net(p: _Pass, l: int) -> np.ndarray:
    return p.layer_input(l) @ p.weight(l).T + p.n.stages[l].bias        # in · Wᵀ + b


def _out(p: _Pass, l: int) -> np.ndarray:
    return activate(p.n.stages[l].acts, p.q.net[l])[0]                 # φ(net)


def _dphi(p: _Pass, l: int) -> np.ndarray:
    return activate(p.n.stages[l].acts, p.q.net[l])[1]                 # φ′(net)


def _loss(p: _Pass) -> float:
    if p.n.loss == "ce":
        return softmax_cross_entropy(p.q.net[-1], p.n.D, 1, p.n.reduction)[0]
    return float(np.sum((p.q.out[-1] - p.n.D) ** 2) * p.mse_scale())


def _dE_dout(p: _Pass, out: np.ndarray) -> np.ndarray:
    return 2.0 * (out - p.n.D) * p.mse_scale()                          # −2(d − out)/(nN)


def _output_delta(p: _Pass, l: int) -> np.ndarray:
    if p.n.loss == "ce":
        return softmax_cross_entropy(p.q.net[l], p.n.D, 1, p.n.reduction)[1]   # (softmax − d)/N
    return _dE_dout(p, p.q.out[l]) * p.dphi[l]                          # ∂E/∂out ⊙ φ′(net)


def _hidden_delta(p: _Pass, l: int) -> np.ndarray:
    return (p.q.delta[l + 1] @ p.weight(l + 1)) * p.dphi[l]             # (Wᵀδ) ⊙ φ′(net)


def _dW(p: _Pass, l: int) -> np.ndarray:
    return p.q.delta[l].T @ p.layer_input(l)                            # δ · Xᵀ


def _dB(p: _Pass, l: int) -> np.ndarray:
    return p.q.delta[l].sum(axis=0)                                     # Σ over samples


def delta_rule(network: Network, mistake: Mistake | None = None) -> Quantities:
    """The hand-derived pass, with ``mistake``'s steps in place of the correct ones if given.

    δ_L = ∂E/∂out ⊙ φ′(net_L); δ_l = (W_{l+1}ᵀ δ_{l+1}) ⊙ φ′(net_l); ∂E/∂W = δ·Xᵀ; ∂E/∂B = δ.
    Floating-point warnings are silenced: a wrong formula may overflow, and a non-finite
    candidate simply matches nothing.
    """
    with np.errstate(all="ignore"):
        return _Pass(network, mistake).run()


# ----------------------------------------------------------------------------------------------
# The catalogue
# ----------------------------------------------------------------------------------------------


def _activation_of(stage: Stage) -> Activation | None:
    """The stage's single activation (None for none or a chain of several)."""
    return stage.acts[0][0] if len(stage.acts) == 1 else None


# The wrong steps. Each takes the pass and the layer and returns what the learner computed.


def _net_with_W_not_transposed(p: _Pass, l: int) -> np.ndarray:
    return p.layer_input(l) @ p.weight(l) + p.n.stages[l].bias


def _net_without_bias(p: _Pass, l: int) -> np.ndarray:
    return p.layer_input(l) @ p.weight(l).T


def _net_from(k: int) -> Step:
    def step(p: _Pass, l: int) -> np.ndarray:
        return p.output_of(k) @ p.weight(l).T + p.n.stages[l].bias
    return step


def _net_from_previous_net(p: _Pass, l: int) -> np.ndarray:
    return p.q.net[l - 1] @ p.weight(l).T + p.n.stages[l].bias


def _phi_of(act: Activation) -> Step:
    def step(p: _Pass, l: int) -> np.ndarray:
        return act.phi(p.q.net[l], 0.0)
    return step


def _dphi_of(act: Activation) -> Step:
    def step(p: _Pass, l: int) -> np.ndarray:
        net = p.q.net[l]
        return act.dphi(net, act.phi(net, 0.0), 0.0)
    return step


def _no_dphi(p: _Pass, l: int) -> np.ndarray:
    return np.ones_like(p.q.net[l])


def _dphi_at_out(p: _Pass, l: int) -> np.ndarray:
    return activate(p.n.stages[l].acts, p.q.out[l])[1]


def _out_formula_on_net(p: _Pass, l: int) -> np.ndarray:
    """φ′ as a formula in out (out(1 − out), 1 − out²) evaluated at net instead."""
    net = p.q.net[l]
    d = np.ones_like(net)
    for act, k in p.n.stages[l].acts:
        d = d * act.dphi(net, net, k)
    return d


def _delta_of_logits(p: _Pass, l: int) -> np.ndarray:
    scale = 1.0 / p.n.n_samples if p.n.reduction == "mean" else 1.0
    return (p.q.net[l] - p.n.D) * scale


def _delta_from_net(p: _Pass, l: int) -> np.ndarray:
    return _dE_dout(p, p.q.net[l]) * p.dphi[l]


def _delta_with_W_transposed(p: _Pass, l: int) -> np.ndarray:
    return (p.q.delta[l + 1] @ p.weight(l + 1).T) * p.dphi[l]


def _delta_printed_sum(p: _Pass, l: int) -> np.ndarray:
    return p.weight(l + 1).sum(axis=0) * p.q.delta[l + 1] * p.dphi[l]  # (Σ_i w_ji) δ_j φ′


def _dW_transposed(p: _Pass, l: int) -> np.ndarray:
    return _dW(p, l).T


def _dW_from(k: int) -> Step:
    def step(p: _Pass, l: int) -> np.ndarray:
        return p.q.delta[l].T @ p.output_of(k)
    return step


def _dW_from_previous_net(p: _Pass, l: int) -> np.ndarray:
    return p.q.delta[l].T @ p.q.net[l - 1]


def _dW_of_layer_below(p: _Pass, l: int) -> np.ndarray:
    return p.q.delta[l - 1].T @ p.layer_input(l - 1)


def _dB_per_sample(p: _Pass, l: int) -> np.ndarray:
    return p.q.delta[l]


def _forward_mistakes(network: Network, l: int) -> Iterator[Mistake]:
    st, sizes = network.stages[l], network.sizes
    if st.weight.shape[0] == st.weight.shape[1]:
        yield Mistake("transposed", l, "net", {"net": _net_with_W_not_transposed})
    if np.any(st.bias != 0.0):
        yield Mistake("missing_bias", l, "net", {"net": _net_without_bias})
    for k in range(-1, l - 1):                        # an earlier layer's output (or x)
        if sizes[k + 1] == sizes[l]:
            yield Mistake("wrong_layer_input", l, "net", {"net": _net_from(k)}, used=k)
    if l > 0:
        yield Mistake("net_for_out", l, "net", {"net": _net_from_previous_net}, used=l - 1)
    current = _activation_of(st)
    for cls in _OTHER_ACTIVATIONS:
        act = ACTIVATIONS[cls]
        if act is current or (not st.acts and cls is nn.Identity):
            continue
        yield Mistake("wrong_activation", l, "out", {"out": _phi_of(act), "dphi": _dphi_of(act)},
                      used="forward", activation=act)


def _derivative_mistakes(network: Network, l: int) -> Iterator[Mistake]:
    st = network.stages[l]
    if not st.acts:
        return
    yield Mistake("missing_phi_prime", l, "dphi", {"dphi": _no_dphi})
    yield Mistake("phi_prime_of_out", l, "dphi", {"dphi": _dphi_at_out})
    yield Mistake("out_formula_on_net", l, "dphi", {"dphi": _out_formula_on_net})
    current = _activation_of(st)
    for cls in _OTHER_ACTIVATIONS:
        act = ACTIVATIONS[cls]
        if act is current or cls is nn.Identity:      # identity′ = 1 is missing_phi_prime
            continue
        yield Mistake("wrong_activation", l, "dphi", {"dphi": _dphi_of(act)},
                      used="derivative", activation=act)


def _delta_mistakes(network: Network, l: int) -> Iterator[Mistake]:
    L = len(network.stages)
    if l == L - 1:
        if network.loss == "ce":
            yield Mistake("wrong_activation", l, "delta", {"delta": _delta_of_logits},
                          used="softmax")
        else:
            yield Mistake("net_for_out", l, "delta", {"delta": _delta_from_net}, used=l)
        return
    W_next = network.stages[l + 1].weight
    if W_next.shape[0] == W_next.shape[1]:
        yield Mistake("transposed", l, "delta", {"delta": _delta_with_W_transposed})
        yield Mistake("printed_sum_index", l, "delta", {"delta": _delta_printed_sum})


def _gradient_mistakes(network: Network, l: int) -> Iterator[Mistake]:
    yield Mistake("transposed", l, "dW", {"dW": _dW_transposed})
    for k in range(-1, len(network.stages)):
        if k != l - 1:
            yield Mistake("wrong_layer_input", l, "dW", {"dW": _dW_from(k)}, used=k)
    if l > 0:
        yield Mistake("net_for_out", l, "dW", {"dW": _dW_from_previous_net}, used=l - 1)
        yield Mistake("wrong_layer_input", l, "dW", {"dW": _dW_of_layer_below},
                      used="layer_below")
    if network.n_samples > 1:
        yield Mistake("bias_not_summed", l, "dB", {"dB": _dB_per_sample})


def catalogue(network: Network) -> list[Mistake]:
    """Every catalogued mistake that can happen in this network, in ``KINDS`` order.

    A mistake is listed only where it is possible: "transposed" in net or δ needs a square W,
    "missing_bias" a non-zero bias, "bias_not_summed" a batch.
    """
    found: list[Mistake] = []
    for l in range(len(network.stages)):
        found += [*_forward_mistakes(network, l), *_derivative_mistakes(network, l),
                  *_delta_mistakes(network, l), *_gradient_mistakes(network, l)]
    order = list(KINDS)
    return sorted(found, key=lambda m: order.index(m.kind))

"""Learners' own backprop, written as a learner would: plain NumPy, one step per method.

``ColumnLearner`` follows seed 000 (column vectors, W like ``Linear.weight``, a batch as
columns); ``RowLearner`` follows seed 004 (row vectors, W = ``Linear.weight.T`` of shape
(n_prev, n_cur), a batch as rows). Both are correct. Each seeded mistake below is a subclass
that gets one step wrong at one layer (``at``), and ``SEEDED`` lists them with the network they
run on and what ``diagnose`` should name: the first returned quantity that differs, its layer
and the kind of mistake.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_nn import nn
from tinygrad_nn.tutorial.learners import random_problem

KEYS = ("net", "out", "E", "delta", "dW", "dB")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))          # 1/(1 + e^−x) without overflow warnings


PHI = {   # φ(net) and φ′ as the learner writes it (from net and out)
    "sigmoid": (sigmoid, lambda net, out: out * (1 - out)),
    "tanh": (np.tanh, lambda net, out: 1 - out ** 2),
    "relu": (lambda net: np.maximum(net, 0.0), lambda net, out: (net > 0).astype(float)),
    "identity": (lambda net: net, lambda net, out: np.ones_like(net)),
}


class HandLearner:
    """The delta rule by hand; subclasses fix the layout (column or row)."""

    def __init__(self, activation: str = "sigmoid", loss: str = "mse", reduction: str = "mean",
                 keys: tuple[str, ...] = KEYS, flat: bool = True, at: int = 0) -> None:
        self.activation, self.loss, self.reduction = activation, loss, reduction
        self.keys, self.flat, self.at = keys, flat, at

    # set by __call__: weights, biases, outs[0] = x, nets, deltas, the target D, N samples
    Ws: list[np.ndarray]
    Bs: list[np.ndarray]
    outs: list[np.ndarray]
    nets: list[np.ndarray]
    deltas: list[np.ndarray]
    D: np.ndarray
    N: int

    def act(self, l: int) -> str:
        last = l == len(self.Ws) - 1
        return "identity" if last and self.loss == "ce" else self.activation

    def __call__(self, model: nn.Sequential, x: np.ndarray, target: np.ndarray) -> dict[str, Any]:
        linears = [m for m in model.layers if isinstance(m, nn.Linear)]
        self.single = x.ndim == 1
        self.read(linears, x, target)
        L = len(linears)
        self.nets = []
        for l in range(L):
            self.nets.append(self.net(l))
            self.outs.append(self.out(l))
        E = self.error()
        self.deltas = [np.empty(0)] * L
        self.deltas[L - 1] = self.output_delta(L - 1)
        for l in range(L - 2, -1, -1):
            self.deltas[l] = self.hidden_delta(l)
        dW = [self.dW(l) for l in range(L)]
        dB = [self.dB(l) for l in range(L)]
        found = {"net": [self.shaped(v) for v in self.nets],
                 "out": [self.shaped(v) for v in self.outs[1:]], "E": E,
                 "delta": [self.shaped(v) for v in self.deltas], "dW": dW,
                 "dB": [self.shaped(v) for v in dB]}
        return {k: found[k] for k in self.keys}

    def net(self, l: int) -> np.ndarray:
        return self.affine(self.Ws[l], self.outs[l], self.Bs[l])

    def out(self, l: int) -> np.ndarray:
        return PHI[self.act(l)][0](self.nets[l])

    def dphi(self, l: int) -> np.ndarray:
        return PHI[self.act(l)][1](self.nets[l], self.outs[l + 1])

    def mse_divisor(self) -> float:
        return float(self.D.size) if self.reduction == "mean" else 1.0

    def error(self) -> float:
        out = self.outs[-1]
        if self.loss == "ce":
            return float(-np.sum(self.D * np.log(self.softmax(self.nets[-1]))) / self.N)
        return float(np.sum((self.D - out) ** 2) / self.mse_divisor())

    def output_delta(self, l: int) -> np.ndarray:
        if self.loss == "ce":
            return (self.softmax(self.nets[l]) - self.D) / self.N
        return self.dE_dout() * self.dphi(l)

    def hidden_delta(self, l: int) -> np.ndarray:
        return self.back(self.Ws[l + 1], self.deltas[l + 1]) * self.dphi(l)

    def dW(self, l: int) -> np.ndarray:
        return self.outer(self.deltas[l], self.outs[l])

    # the layout: each subclass writes these in its tutorial's form
    def read(self, linears: list[nn.Linear], x: np.ndarray, target: np.ndarray) -> None:
        raise NotImplementedError

    def shaped(self, v: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def softmax(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def affine(self, W: np.ndarray, inp: np.ndarray, B: np.ndarray | float) -> np.ndarray:
        raise NotImplementedError

    def dE_dout(self) -> np.ndarray:
        raise NotImplementedError

    def back(self, W: np.ndarray, delta: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def outer(self, delta: np.ndarray, inp: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def dB(self, l: int) -> np.ndarray:
        raise NotImplementedError


class ColumnLearner(HandLearner):
    """Seed 000: net X_{l+1} = W_l · out X_l + B_{l+1}; δ_l = (W_lᵀ δ_{l+1}) ⊙ φ′; ∂E/∂W = δ·Xᵀ."""

    def read(self, linears: list[nn.Linear], x: np.ndarray, target: np.ndarray) -> None:
        self.Ws = [m.weight.data for m in linears]
        self.Bs = [m.bias.data.reshape(-1, 1) for m in linears]
        self.outs = [x.reshape(-1, 1) if self.single else x.T]            # samples as columns
        self.D = target.reshape(-1, 1) if self.single else target.T
        self.N = self.outs[0].shape[1]

    def shaped(self, v: np.ndarray) -> np.ndarray:
        return v.ravel() if self.single and self.flat else v

    def softmax(self, z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max(axis=0))
        return e / e.sum(axis=0)

    def affine(self, W: np.ndarray, inp: np.ndarray, B: np.ndarray | float) -> np.ndarray:
        return W @ inp + B                                               # W · out X + B

    def dE_dout(self) -> np.ndarray:
        return -2 * (self.D - self.outs[-1]) / self.mse_divisor()

    def back(self, W: np.ndarray, delta: np.ndarray) -> np.ndarray:
        return W.T @ delta                                               # Wᵀ δ

    def outer(self, delta: np.ndarray, inp: np.ndarray) -> np.ndarray:
        return delta @ inp.T                                             # δ · Xᵀ

    def dB(self, l: int) -> np.ndarray:
        return self.deltas[l].sum(axis=1, keepdims=True)


class RowLearner(HandLearner):
    """Seed 004: z = a·W + b with W (n_prev, n_cur); Error_bias = σ′(z) ⊙ d_MSE; aᵀ·Error_bias."""

    def read(self, linears: list[nn.Linear], x: np.ndarray, target: np.ndarray) -> None:
        self.Ws = [m.weight.data.T for m in linears]                      # Layers_weights
        self.Bs = [m.bias.data.reshape(1, -1) for m in linears]
        self.outs = [x.reshape(1, -1) if self.single else x]              # samples as rows
        self.D = target.reshape(1, -1) if self.single else target
        self.N = self.outs[0].shape[0]

    def shaped(self, v: np.ndarray) -> np.ndarray:
        return v.ravel() if self.single and self.flat else v

    def softmax(self, z: np.ndarray) -> np.ndarray:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def affine(self, W: np.ndarray, inp: np.ndarray, B: np.ndarray | float) -> np.ndarray:
        return inp @ W + B                                               # a · W + b

    def dE_dout(self) -> np.ndarray:
        return 2 * (self.outs[-1] - self.D) / self.mse_divisor()         # d_MSE

    def back(self, W: np.ndarray, delta: np.ndarray) -> np.ndarray:
        return delta @ W.T                                               # Error_prev_layer

    def outer(self, delta: np.ndarray, inp: np.ndarray) -> np.ndarray:
        return inp.T @ delta                                             # Error_weights

    def dB(self, l: int) -> np.ndarray:
        return self.deltas[l].sum(axis=0)


# ----------------------------------------------------------------------------------------------
# Seeded mistakes: each gets one step wrong at layer `at` (or everywhere, where it says so)
# ----------------------------------------------------------------------------------------------


class FlippedOutputSign(HandLearner):
    def dE_dout(self) -> np.ndarray:
        return -super().dE_dout()

    def output_delta(self, l: int) -> np.ndarray:
        return -super().output_delta(l) if self.loss == "ce" else super().output_delta(l)


class NegatedWeightGradient(HandLearner):
    def dW(self, l: int) -> np.ndarray:
        return -super().dW(l) if l == self.at else super().dW(l)


class SummedSquares(HandLearner):                 # seed 004's C₀ = Σ(a − y)² for E and δ
    def mse_divisor(self) -> float:
        return 1.0


class SummedSquaresInDelta(HandLearner):          # E right, δ from C₀
    def dE_dout(self) -> np.ndarray:
        return super().dE_dout() * self.mse_divisor()


class AveragedWeightGradient(HandLearner):
    def dW(self, l: int) -> np.ndarray:
        return super().dW(l) / self.N if l == self.at else super().dW(l)


class AveragedBiasGradient(HandLearner):
    def dB(self, l: int) -> np.ndarray:
        return super().dB(l) / self.N if l == self.at else super().dB(l)


class CrossEntropyNotAveraged(HandLearner):
    def output_delta(self, l: int) -> np.ndarray:
        return super().output_delta(l) * self.N


class MissingPhiPrime(HandLearner):
    def dphi(self, l: int) -> np.ndarray:
        return np.ones_like(self.nets[l]) if l == self.at else super().dphi(l)


class PhiPrimeOfOut(HandLearner):                 # φ′ applied to out: σ′(out) = σ(out)(1 − σ(out))
    def dphi(self, l: int) -> np.ndarray:
        if l != self.at:
            return super().dphi(l)
        phi, dphi = PHI[self.act(l)]
        out = self.outs[l + 1]
        return dphi(out, phi(out))


class OutFormulaOnNet(HandLearner):               # out(1 − out) written with net
    def dphi(self, l: int) -> np.ndarray:
        net = self.nets[l]
        return PHI[self.act(l)][1](net, net) if l == self.at else super().dphi(l)


class TransposedWeightGradient(HandLearner):
    def dW(self, l: int) -> np.ndarray:
        return super().dW(l).T if l == self.at else super().dW(l)


class ForwardWithWrongOrientation(HandLearner):   # Wᵀ where W belongs (a square layer)
    def net(self, l: int) -> np.ndarray:
        if l != self.at:
            return super().net(l)
        return self.affine(self.Ws[l].T, self.outs[l], self.Bs[l])


class BackwardWithoutTranspose(HandLearner):      # δ·W (row), W·δ (column): a square layer
    def hidden_delta(self, l: int) -> np.ndarray:
        if l != self.at:
            return super().hidden_delta(l)
        return self.back(self.Ws[l + 1].T, self.deltas[l + 1]) * self.dphi(l)


class OwnOutputInWeightGradient(HandLearner):     # δ times this layer's own out
    def dW(self, l: int) -> np.ndarray:
        if l != self.at:
            return super().dW(l)
        return self.outer(self.deltas[l], self.outs[l + 1])


class InputInWeightGradient(HandLearner):         # δ times x, wherever the layer is
    def dW(self, l: int) -> np.ndarray:
        if l != self.at:
            return super().dW(l)
        return self.outer(self.deltas[l], self.outs[0])


class LayerIndexSlip(HandLearner):                # ∂E/∂w^l = δ^l x^(l−1): the layer below's
    def dW(self, l: int) -> np.ndarray:
        return super().dW(l - 1) if l == self.at else super().dW(l)


class NetInWeightGradient(HandLearner):           # net X_l (before φ) where out X_l belongs
    def dW(self, l: int) -> np.ndarray:
        if l != self.at:
            return super().dW(l)
        return self.outer(self.deltas[l], self.nets[l - 1])


class InputFedToLayer(HandLearner):               # layer `at` fed with x
    def net(self, l: int) -> np.ndarray:
        if l != self.at:
            return super().net(l)
        return self.affine(self.Ws[l], self.outs[0], self.Bs[l])


class NetFedForward(HandLearner):                 # z^(l) = z^(l−1)·W + b: φ forgotten between
    def net(self, l: int) -> np.ndarray:
        if l != self.at:
            return super().net(l)
        return self.affine(self.Ws[l], self.nets[l - 1], self.Bs[l])


class ForwardWithoutBias(HandLearner):            # seed 004's printed forward pass
    def net(self, l: int) -> np.ndarray:
        if l != self.at:
            return super().net(l)
        return self.affine(self.Ws[l], self.outs[l], 0.0)


class BiasNotSummed(HandLearner):
    def dB(self, l: int) -> np.ndarray:
        return self.deltas[l] if l == self.at else super().dB(l)


class TanhInForward(HandLearner):                 # the whole layer `at` written with tanh
    def act(self, l: int) -> str:
        return "tanh" if l == self.at else super().act(l)


class TanhDerivative(HandLearner):
    def dphi(self, l: int) -> np.ndarray:
        return 1 - np.tanh(self.nets[l]) ** 2 if l == self.at else super().dphi(l)


class SigmoidDerivative(HandLearner):
    def dphi(self, l: int) -> np.ndarray:
        s = sigmoid(self.nets[l])
        return s * (1 - s) if l == self.at else super().dphi(l)


class SoftmaxForgotten(HandLearner):
    def output_delta(self, l: int) -> np.ndarray:
        return (self.nets[l] - self.D) / self.N


class PrintedSumIndex(HandLearner):               # seed 000's Σ_i w_ji δ_j (column layout)
    def hidden_delta(self, l: int) -> np.ndarray:
        if l != self.at:
            return super().hidden_delta(l)
        column_sums = self.Ws[l + 1].sum(axis=0).reshape(-1, 1)          # Σ_i w_ji
        return column_sums * self.deltas[l + 1] * self.dphi(l)


class DeltaOffByAConstant(HandLearner):
    def hidden_delta(self, l: int) -> np.ndarray:
        return super().hidden_delta(l) + (0.1 if l == self.at else 0.0)


class WeightGradientOffByAConstant(HandLearner):
    def dW(self, l: int) -> np.ndarray:
        return super().dW(l) + (1e-3 if l == self.at else 0.0)


def learner(mistake: type, convention: str, **kw: Any) -> HandLearner:
    """An instance of the mistake, in the column or row convention."""
    base = ColumnLearner if convention == "column" else RowLearner
    cls = type(f"{mistake.__name__}{base.__name__}", (mistake, base), {})
    made: HandLearner = cls(**kw)
    return made


# ----------------------------------------------------------------------------------------------
# The seeded catalogue
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    """A learner with one known mistake, the network it runs on, and the expected diagnosis."""

    name: str
    mistake: type
    convention: str
    sizes: tuple[int, ...]
    batch: int                     # 1: one sample as a vector
    loss: str
    expected: tuple[str, int | None, str]          # quantity, layer, kind
    activation: str = "sigmoid"
    at: int = 0
    keys: tuple[str, ...] = KEYS
    reduction: str = "mean"
    flat: bool = True

    def make(self) -> HandLearner:
        return learner(self.mistake, self.convention, activation=self.activation,
                       loss=self.loss, reduction=self.reduction, keys=self.keys, flat=self.flat,
                       at=self.at)

    def data(self) -> tuple[nn.Sequential, np.ndarray, np.ndarray]:
        """The network (random weights and non-zero biases), x and the target, from a seed."""
        return random_problem(list(self.sizes), self.activation, self.loss, self.batch,
                              rng=zlib.crc32(self.name.encode()))


A = (3, 4, 5, 2)        # three Linear layers, none square: first = 0, middle = 1, last = 2
SQ = (4, 4, 4, 2)       # the first two Linear layers square (4x4)
ONLY_GRADIENTS = ("dW", "dB")

SEEDED = [
    # sign
    Seeded("sign/column/single/last", FlippedOutputSign, "column", A, 1, "mse",
           ("delta", 2, "sign"), at=2),
    Seeded("sign/row/batch/last", FlippedOutputSign, "row", A, 3, "mse", ("delta", 2, "sign")),
    Seeded("sign/column/batch/ce", FlippedOutputSign, "column", A, 3, "ce", ("delta", 2, "sign")),
    Seeded("sign/row/single/middle dW", NegatedWeightGradient, "row", A, 1, "mse",
           ("dW", 1, "sign"), at=1),
    Seeded("sign/row/batch/inherited", FlippedOutputSign, "row", A, 4, "mse", ("dW", 2, "sign"),
           keys=("dW",)),
    # scale
    Seeded("scale/column/single/C0", SummedSquares, "column", A, 1, "mse", ("E", None, "scale")),
    Seeded("scale/row/single/C0 in delta", SummedSquaresInDelta, "row", A, 1, "mse",
           ("delta", 2, "scale"), flat=False),
    Seeded("scale/column/batch/first dW", AveragedWeightGradient, "column", A, 3, "mse",
           ("dW", 0, "scale"), at=0),
    Seeded("scale/row/batch/ce", CrossEntropyNotAveraged, "row", A, 3, "ce",
           ("delta", 2, "scale")),
    Seeded("scale/column/batch/middle dB", AveragedBiasGradient, "column", A, 4, "mse",
           ("dB", 1, "scale"), at=1, reduction="sum"),
    # missing φ′
    Seeded("missing_phi_prime/column/single/middle", MissingPhiPrime, "column", A, 1, "mse",
           ("delta", 1, "missing_phi_prime"), at=1),
    Seeded("missing_phi_prime/row/batch/last", MissingPhiPrime, "row", A, 3, "mse",
           ("delta", 2, "missing_phi_prime"), at=2),
    Seeded("missing_phi_prime/row/single/first/ce", MissingPhiPrime, "row", A, 1, "ce",
           ("delta", 0, "missing_phi_prime"), activation="tanh", at=0),
    Seeded("missing_phi_prime/column/batch/first", MissingPhiPrime, "column", A, 3, "mse",
           ("delta", 0, "missing_phi_prime"), at=0),
    Seeded("missing_phi_prime/column/single/inherited", MissingPhiPrime, "column", A, 1, "mse",
           ("dW", 1, "missing_phi_prime"), at=1, keys=ONLY_GRADIENTS),
    # φ′ of out
    Seeded("phi_prime_of_out/column/single/middle", PhiPrimeOfOut, "column", A, 1, "mse",
           ("delta", 1, "phi_prime_of_out"), at=1),
    Seeded("phi_prime_of_out/row/batch/last/tanh", PhiPrimeOfOut, "row", A, 3, "mse",
           ("delta", 2, "phi_prime_of_out"), activation="tanh", at=2),
    Seeded("phi_prime_of_out/column/batch/first/ce", PhiPrimeOfOut, "column", A, 4, "ce",
           ("delta", 0, "phi_prime_of_out"), activation="tanh", at=0),
    Seeded("phi_prime_of_out/row/single/first", PhiPrimeOfOut, "row", A, 1, "mse",
           ("delta", 0, "phi_prime_of_out"), at=0),
    Seeded("phi_prime_of_out/column/single/inherited", PhiPrimeOfOut, "column", A, 1, "mse",
           ("dW", 2, "phi_prime_of_out"), at=2, keys=("dW",)),
    # out-form φ′ given net
    Seeded("out_formula_on_net/column/single/middle", OutFormulaOnNet, "column", A, 1, "mse",
           ("delta", 1, "out_formula_on_net"), at=1),
    Seeded("out_formula_on_net/row/batch/last/tanh", OutFormulaOnNet, "row", A, 3, "mse",
           ("delta", 2, "out_formula_on_net"), activation="tanh", at=2),
    # transposed
    Seeded("transposed/column/single/first dW", TransposedWeightGradient, "column", A, 1, "mse",
           ("dW", 0, "transposed"), at=0),
    Seeded("transposed/row/batch/last dW", TransposedWeightGradient, "row", A, 3, "mse",
           ("dW", 2, "transposed"), at=2),
    Seeded("transposed/column/batch/middle net", ForwardWithWrongOrientation, "column",
           (3, 4, 4, 2), 3, "mse", ("net", 1, "transposed"), at=1),
    Seeded("transposed/row/single/first delta", BackwardWithoutTranspose, "row", SQ, 1, "mse",
           ("delta", 0, "transposed"), at=0),
    Seeded("transposed/column/single/first net/ce", ForwardWithWrongOrientation, "column", SQ,
           1, "ce", ("net", 0, "transposed"), at=0),
    # wrong layer input
    Seeded("wrong_layer_input/column/single/middle dW", OwnOutputInWeightGradient, "column", A,
           1, "mse", ("dW", 1, "wrong_layer_input"), at=1),
    Seeded("wrong_layer_input/row/batch/last dW", InputInWeightGradient, "row", A, 3, "mse",
           ("dW", 2, "wrong_layer_input"), at=2),
    Seeded("wrong_layer_input/column/batch/first dW", OwnOutputInWeightGradient, "column", A, 3,
           "mse", ("dW", 0, "wrong_layer_input"), at=0),
    Seeded("wrong_layer_input/row/single/middle net/ce", InputFedToLayer, "row", SQ, 1, "ce",
           ("net", 1, "wrong_layer_input"), at=1),
    Seeded("wrong_layer_input/column/single/last index slip", LayerIndexSlip, "column", A, 1,
           "mse", ("dW", 2, "wrong_layer_input"), at=2),
    # net for out
    Seeded("net_for_out/column/single/middle dW", NetInWeightGradient, "column", A, 1, "mse",
           ("dW", 1, "net_for_out"), at=1),
    Seeded("net_for_out/row/batch/middle net", NetFedForward, "row", A, 3, "mse",
           ("net", 1, "net_for_out"), at=1),
    # missing bias
    Seeded("missing_bias/row/single/first", ForwardWithoutBias, "row", A, 1, "mse",
           ("net", 0, "missing_bias"), at=0),
    Seeded("missing_bias/column/batch/last", ForwardWithoutBias, "column", A, 3, "mse",
           ("net", 2, "missing_bias"), at=2),
    # bias not summed
    Seeded("bias_not_summed/column/batch/last", BiasNotSummed, "column", A, 3, "mse",
           ("dB", 2, "bias_not_summed"), at=2),
    Seeded("bias_not_summed/row/batch/first/ce", BiasNotSummed, "row", A, 3, "ce",
           ("dB", 0, "bias_not_summed"), at=0),
    Seeded("bias_not_summed/column/batch/middle", BiasNotSummed, "column", A, 6, "mse",
           ("dB", 1, "bias_not_summed"), at=1),
    Seeded("bias_not_summed/row/batch/middle", BiasNotSummed, "row", A, 7, "mse",
           ("dB", 1, "bias_not_summed"), at=1),
    # wrong activation
    Seeded("wrong_activation/column/single/middle forward", TanhInForward, "column", A, 1, "mse",
           ("out", 1, "wrong_activation"), at=1),
    Seeded("wrong_activation/row/batch/last derivative", TanhDerivative, "row", A, 3, "mse",
           ("delta", 2, "wrong_activation"), at=2),
    Seeded("wrong_activation/column/batch/softmax", SoftmaxForgotten, "column", A, 3, "ce",
           ("delta", 2, "wrong_activation")),
    Seeded("wrong_activation/row/single/first/relu/ce", SigmoidDerivative, "row", A, 1, "ce",
           ("delta", 0, "wrong_activation"), activation="relu", at=0),
    # seed 000's printed sum
    Seeded("printed_sum_index/column/single/first", PrintedSumIndex, "column", SQ, 1, "mse",
           ("delta", 0, "printed_sum_index"), at=0),
    # nothing in the catalogue
    Seeded("other/row/single/middle", DeltaOffByAConstant, "row", A, 1, "mse",
           ("delta", 1, "other"), at=1),
    Seeded("other/column/batch/first dW", WeightGradientOffByAConstant, "column", A, 3, "mse",
           ("dW", 0, "other"), at=0),
]

"""The tutorials' own arithmetic and pseudo-code, transcribed as written, to back the errata.

* ``as_printed_000`` redoes seed 000's numeric example the way the text does it: every line
  starts from the *printed, rounded* figures of the lines before (0.53, 0.52, 0.68, 0.45), so it
  shows where each printed figure comes from and how the rounding propagates.
* ``seed004_pseudocode`` runs seed 004's forward and back-propagation pseudo-code on NumPy
  row vectors, with each of its slips switchable, so a test can show what the code as printed
  does and that the corrected code matches the hand-derived and engine gradients.

docs/tutorial-errata.md explains every entry; tests/test_tutorial.py checks every number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .manual import _logistic as _sigmoid

__all__ = ["AsPrinted", "Seed004Run", "as_printed_000", "seed004_pseudocode"]


def _phi(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass(frozen=True)
class AsPrinted:
    """One line of seed 000's example: the printed figure and the arithmetic the text shows."""

    symbol: str
    expression: str   # the arithmetic as the tutorial writes it, on its printed inputs
    value: float      # that arithmetic evaluated exactly
    printed: float    # the figure the tutorial prints


def as_printed_000() -> dict[str, AsPrinted]:
    """Seed 000's example recomputed from its own printed (rounded) intermediates, line by line.

    Each entry evaluates exactly the expression the text writes, e.g.
    net x₁³ = 0.53·0.9 + 0.52·0.5 = 0.737 (printed 0.74); ∂E/∂b₂³ is evaluated as written,
    −2(0 − 0.45)/2 · 0.45 · (1 − 0.45) = +0.111 (printed −0.13), and also with d₂ = 1 as the
    sign of the printed result needs ("b2_3 with d2=1").
    """
    rows = [
        AsPrinted("net x1^2", "0.5·0.25 + 0.25·0.1", 0.5 * 0.25 + 0.25 * 0.1, 0.15),
        AsPrinted("out x1^2", "1/(1+e^−0.15)", _phi(0.15), 0.53),
        AsPrinted("net x2^2", "0.5·0.35 + 0.25·(−0.3)", 0.5 * 0.35 + 0.25 * -0.3, 0.1),
        AsPrinted("out x2^2", "1/(1+e^−0.1)", _phi(0.1), 0.52),
        AsPrinted("net x1^3", "0.53·0.9 + 0.52·0.5", 0.53 * 0.9 + 0.52 * 0.5, 0.74),
        AsPrinted("out x1^3", "1/(1+e^−0.74)", _phi(0.74), 0.68),
        AsPrinted("net x2^3", "0.53·(−0.7) + 0.52·0.3", 0.53 * -0.7 + 0.52 * 0.3, -0.21),
        AsPrinted("out x2^3", "1/(1+e^0.21)", 1.0 / (1.0 + math.exp(0.21)), 0.45),
        AsPrinted("E", "((−0.68)² + 0.55²)/2", ((-0.68) ** 2 + 0.55 ** 2) / 2, 0.38),
        AsPrinted("w11^2", "−2(0−0.68)/2·0.68·(1−0.68)·0.53",
                  -2 * (0 - 0.68) / 2 * 0.68 * (1 - 0.68) * 0.53, 0.078),
        AsPrinted("w21^2", "−2(0−0.68)/2·0.68·(1−0.68)·0.52",
                  -2 * (0 - 0.68) / 2 * 0.68 * (1 - 0.68) * 0.52, 0.077),
        AsPrinted("w12^2", "−2(1−0.45)/2·0.45·(1−0.45)·0.53",
                  -2 * (1 - 0.45) / 2 * 0.45 * (1 - 0.45) * 0.53, -0.07),
        AsPrinted("w22^2", "−2(1−0.45)/2·0.45·(1−0.45)·0.52",
                  -2 * (1 - 0.45) / 2 * 0.45 * (1 - 0.45) * 0.52, -0.07),
        AsPrinted("b1^3", "−2(0−0.68)/2·0.68·(1−0.68)",
                  -2 * (0 - 0.68) / 2 * 0.68 * (1 - 0.68), 0.15),
        AsPrinted("b2^3", "−2(0−0.45)/2·0.45·(1−0.45)   [as printed]",
                  -2 * (0 - 0.45) / 2 * 0.45 * (1 - 0.45), -0.13),
        AsPrinted("b2^3 with d2=1", "−2(1−0.45)/2·0.45·(1−0.45)",
                  -2 * (1 - 0.45) / 2 * 0.45 * (1 - 0.45), -0.13),
    ]
    return {r.symbol: r for r in rows}


# ----------------------------------------------------------------------------------------------
# Seed 004's pseudo-code
# ----------------------------------------------------------------------------------------------


@dataclass
class Seed004Run:
    """What seed 004's pseudo-code leaves in ``Network`` and ``Gradient_vector``."""

    Layers_values_zl: list[np.ndarray]
    Layers_values_al: list[np.ndarray]
    Layers_error_bias: list[np.ndarray] = field(default_factory=list)
    Layers_error_weights: list[np.ndarray] = field(default_factory=list)
    visited: list[int] = field(default_factory=list)   # the values L took in the backward loop


def _d_sigmoid(z: np.ndarray) -> np.ndarray:
    s = _sigmoid(z)
    return s * (1.0 - s)


def seed004_pseudocode(input_list: Sequence[float], expected_output: Sequence[float],
                       weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], *,
                       add_bias: bool = True, forward_range: bool = True,
                       subtract_expected: bool = True, step_minus_one: bool = True,
                       first_layer: bool = True, error_prev_layer: bool = True) -> Seed004Run:
    """Seed 004's forward and backward pseudo-code with the logistic σ, each slip switchable.

    ``weights[L]`` has shape (n_prev, n_cur) and ``biases[L]`` (n_cur,), as in
    ``Layers_weights``/``Layers_bias``; ``number_layers`` counts the input layer, which is what
    the backward code's indices need (``Layers_values_al[number_layers-2]`` is the output).
    The six switches, all ``False`` for the code exactly as printed:

    * ``add_bias`` — the forward pseudo-code never adds ``Layers_bias``;
    * ``forward_range`` — the forward loop ``for L in range(number_layers-1)`` reads
      ``Layers_weights[L+1]`` one matrix past the last (an ``IndexError`` here); it needs
      ``range(number_layers-2)``;
    * ``subtract_expected`` — ``d_MSE`` subtracts ``output_layer`` (the prediction itself)
      instead of ``expected_output``, so every gradient is 0;
    * ``step_minus_one`` — ``range(number_layers-2, 0)`` is empty in Python; it needs step −1;
    * ``first_layer`` — stopping at L = 1 never stores the first layer's gradients, and at
      L = 0, ``Layers_values_al[L-1]`` would silently be the *output* (index −1): the input
      row is meant;
    * ``error_prev_layer`` — the section's own line ``Error_bias_prev = [ Error_bias[i] *
      d_ActiveFunc(zl_1[i]) for i in range(len(Error_bias)) ]`` multiplies this layer's
      ``Error_bias`` by σ'(z) of the layer below, where ``Error_prev_layer`` = Error_bias·Wᵀ
      belongs (as the full pseudo-code's last line has it). As printed it needs both layers to
      have the same width (a ``ValueError`` otherwise) and then drops the weights from δ.
    """
    fn = "seed004_pseudocode"
    x = np.asarray(input_list, dtype=np.float64).reshape(1, -1)   # matrix_1_row(input_list)
    y = np.asarray(expected_output, dtype=np.float64).reshape(-1)
    W = [np.asarray(w, dtype=np.float64) for w in weights]
    B = [np.asarray(b, dtype=np.float64).reshape(1, -1) for b in biases]
    if not W or len(W) != len(B):
        raise ValueError(f"{fn}: expected one bias row per weight matrix (at least one), got "
                         f"{len(W)} weight matrices and {len(B)} bias rows")
    n_prev = x.shape[1]
    for L, (w, b) in enumerate(zip(W, B)):
        if w.ndim != 2 or w.shape[0] != n_prev or b.shape[1] != w.shape[1]:
            raise ValueError(f"{fn}: Layers_weights[{L}] must be ({n_prev}, n_cur) with a "
                             f"bias of n_cur entries, got weight {w.shape} and bias "
                             f"{b.shape[1]} entries")
        n_prev = w.shape[1]
    if y.shape != (n_prev,):
        raise ValueError(f"{fn}: expected_output must have {n_prev} entries (the output "
                         f"layer), got {y.shape[0]}")
    number_layers = len(W) + 1
    zl: list[np.ndarray] = []
    al: list[np.ndarray] = []
    # Network[Layers_values_zl].append(matrix_product(matrix_1_row(input_list), W[0]))
    zl.append(x @ W[0] + (B[0] if add_bias else 0.0))
    al.append(_sigmoid(zl[0]))
    # printed: `for L in range(number_layers-1)`, which reaches W[number_layers-1]; with
    # number_layers counting the input the loop must stop one earlier.
    for L in range(number_layers - 2 if forward_range else number_layers - 1):
        if len(W) == L + 1:
            raise IndexError(f"{fn}: as printed, `for L in range(number_layers-1)` reads "
                             f"Layers_weights[{L + 1}] of {len(W)} matrices (number_layers = "
                             f"{number_layers} counts the input layer); the loop needs "
                             f"range(number_layers-2)")
        zl.append(al[L] @ W[L + 1] + (B[L + 1] if add_bias else 0.0))
        al.append(_sigmoid(zl[L + 1]))
    run = Seed004Run(zl, al)
    output_layer = al[number_layers - 2][0]
    subtrahend = y if subtract_expected else output_layer
    d_mse = 2.0 * (al[number_layers - 2][0] - subtrahend)
    error_bias = (_d_sigmoid(zl[number_layers - 2][0]) * d_mse)[None, :]
    stop = -1 if first_layer else 0
    loop = range(number_layers - 2, stop, -1) if step_minus_one else range(number_layers - 2, 0)
    for L in loop:
        run.visited.append(L)
        run.Layers_error_bias.insert(0, error_bias)
        al_prev = x if L == 0 else al[L - 1]
        run.Layers_error_weights.insert(0, al_prev.T @ error_bias)
        if L == 0:
            break
        if error_prev_layer:
            error_prev = error_bias @ W[L].T             # Error_prev_layer = Error_bias · Wᵀ
            error_bias = _d_sigmoid(zl[L - 1]) * error_prev
        else:                                            # Error_bias_prev, as printed
            zl_1 = zl[L - 1][0]
            if len(error_bias[0]) != len(zl_1):
                raise ValueError(f"{fn}: as printed, Error_bias_prev multiplies Error_bias "
                                 f"({len(error_bias[0])} entries, layer {L + 1}) by "
                                 f"d_ActiveFunc(zl_1) ({len(zl_1)} entries, layer {L}); "
                                 f"Error_prev_layer = Error_bias · Wᵀ belongs there")
            error_bias = (error_bias[0] * _d_sigmoid(zl_1))[None, :]
    return run

"""The tutorials' own arithmetic and pseudo-code, transcribed as written, to back the errata.

* ``as_printed_000`` redoes seed 000's numeric example the way the text does it: every line
  starts from the *printed, two-decimal* figures of the lines before (0.53, 0.52, 0.68, 0.45),
  so it shows where each printed figure comes from; with ``out_x1_2=0.54`` it shows what the
  same arithmetic gives without the one truncated figure.
* ``judge_figure`` / ``judge_printed_000`` mark a printed figure exact, rounding or a mistake
  (the demo's "verdict" column).
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

from ..nn.by_hand import logistic

__all__ = ["ERRATA_000", "TUTORIAL_000_FIGURES", "AsPrinted", "FigureVerdict", "Seed004Run",
           "as_printed_000", "judge_figure", "judge_printed_000", "seed004_pseudocode", "sigma"]


def sigma(x: float) -> float:
    """The logistic σ(x) = 1 / (1 + e^{−x}) of one number, as the tutorials compute it."""
    return 1.0 / (1.0 + math.exp(-x))


TUTORIAL_000_FIGURES: dict[str, float] = {
    "net x_1^2": 0.15, "out x_1^2": 0.53, "net x_2^2": 0.1, "out x_2^2": 0.52,
    "net x_1^3": 0.74, "out x_1^3": 0.68, "net x_2^3": -0.21, "out x_2^3": 0.45,
    "E": 0.38,
    "w_11^2": 0.078, "w_21^2": 0.077, "w_12^2": -0.07, "w_22^2": -0.07,
    "b_1^3": 0.15, "b_2^3": -0.13,
}
"""Every figure seed 000 prints for its example, by the symbol it gives it (w_ij^l: i → j)."""


@dataclass(frozen=True)
class AsPrinted:
    """One line of seed 000's example: the printed figure and the arithmetic the text shows."""

    symbol: str
    expression: str   # the arithmetic as the tutorial writes it, on its printed inputs
    value: float      # that arithmetic evaluated exactly
    printed: float    # the figure the tutorial prints


def as_printed_000(out_x1_2: float = 0.53) -> dict[str, AsPrinted]:
    """Seed 000's example recomputed from its own two-decimal intermediates, line by line.

    Each entry evaluates exactly the expression the text writes, on the two-decimal figures of
    the lines before it, e.g. net x₁³ = 0.53·0.9 + 0.52·0.5 = 0.737 (printed 0.74); ∂E/∂b₂³ is
    evaluated as written, −2(0 − 0.45)/2 · 0.45 · (1 − 0.45) = +0.111 (printed −0.13), and also
    with d₂ = 1 as the sign of the printed result needs ("b2^3 with d2=1").

    ``out_x1_2`` is the figure used for out x₁² = φ(0.15) = 0.5374: the text's truncated 0.53
    by default; with 0.54 (rounded) the same arithmetic gives net x₁³ = 0.75,
    net x₂³ = −0.22 and ∂E/∂w₁₁² = 0.080, the exact values' two-decimal figures.
    """
    o1 = float(out_x1_2)
    o2 = round(sigma(0.1), 2)                    # out x₂² = 0.52498 → 0.52
    n13 = o1 * 0.9 + o2 * 0.5
    n23 = o1 * -0.7 + o2 * 0.3
    # Later lines use the figures as printed, to two decimals: 0.737 → 0.74; −0.215 (binary
    # −0.21499…) → −0.21, as the text prints it.
    y1 = round(sigma(round(n13, 2)), 2)          # out x₁³
    y2 = round(sigma(round(n23, 2)), 2)          # out x₂³
    d1, d2 = 0.0, 1.0

    def gradient(d: float, y: float, x: float | None = None) -> float:
        g = -2 * (d - y) / 2 * y * (1 - y)      # −2(d − x)/n · φ'(net) with φ' = out(1 − out)
        return g if x is None else g * x

    def shown(d: float, y: float, x: float | None = None) -> str:
        text = f"−2({d:g}−{y:g})/2·{y:g}·(1−{y:g})"
        return text if x is None else f"{text}·{x:g}"

    rows = [
        AsPrinted("net x1^2", "0.5·0.25 + 0.25·0.1", 0.5 * 0.25 + 0.25 * 0.1, 0.15),
        AsPrinted("out x1^2", "1/(1+e^−0.15)", sigma(0.15), 0.53),
        AsPrinted("net x2^2", "0.5·0.35 + 0.25·(−0.3)", 0.5 * 0.35 + 0.25 * -0.3, 0.1),
        AsPrinted("out x2^2", "1/(1+e^−0.1)", sigma(0.1), 0.52),
        AsPrinted("net x1^3", f"{o1:g}·0.9 + {o2:g}·0.5", n13, 0.74),
        AsPrinted("out x1^3", f"1/(1+e^−{round(n13, 2):g})", sigma(round(n13, 2)), 0.68),
        AsPrinted("net x2^3", f"{o1:g}·(−0.7) + {o2:g}·0.3", n23, -0.21),
        AsPrinted("out x2^3", f"1/(1+e^{-round(n23, 2):g})", sigma(round(n23, 2)), 0.45),
        AsPrinted("E", f"((−{y1:g})² + {d2 - y2:g}²)/2", ((d1 - y1) ** 2 + (d2 - y2) ** 2) / 2,
                  0.38),
        AsPrinted("w11^2", shown(d1, y1, o1), gradient(d1, y1, o1), 0.078),
        AsPrinted("w21^2", shown(d1, y1, o2), gradient(d1, y1, o2), 0.077),
        AsPrinted("w12^2", shown(d2, y2, o1), gradient(d2, y2, o1), -0.07),
        AsPrinted("w22^2", shown(d2, y2, o2), gradient(d2, y2, o2), -0.07),
        AsPrinted("b1^3", shown(d1, y1), gradient(d1, y1), 0.15),
        AsPrinted("b2^3", f"{shown(d1, y2)}   [as printed]", gradient(d1, y2), -0.13),
        AsPrinted("b2^3 with d2=1", shown(d2, y2), gradient(d2, y2), -0.13),
    ]
    return {r.symbol: r for r in rows}


@dataclass(frozen=True)
class FigureVerdict:
    """How a printed figure relates to the exact value: "exact", "rounding" or "mistake".

    exact: the exact value to the printed decimals; rounding: what the text's arithmetic on
    correctly rounded two-decimal intermediates gives; mistake: neither (``reason`` says why).
    """

    verdict: str
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.verdict}: {self.reason}" if self.reason else self.verdict


def _decimals(printed: float) -> int:
    text = repr(abs(printed))
    return len(text.split(".")[1]) if "." in text else 0


def _same(value: float, printed: float, decimals: int) -> bool:
    return abs(value - printed) < 0.5 * 10.0 ** -(decimals + 3)


def _truncated(value: float, decimals: int) -> float:
    return math.trunc(value * 10 ** decimals) / 10 ** decimals


def judge_figure(printed: float, exact: float, rounded_steps: float | None = None,
                 printed_steps: float | None = None, cause: str = "a wrong intermediate",
                 erratum: int | None = None) -> FigureVerdict:
    """Classify one printed figure: exact, rounding (of intermediates) or a mistake.

    ``rounded_steps``: the text's arithmetic on correctly rounded intermediates;
    ``printed_steps``: the same on the intermediates the text prints, which differ from the
    rounded ones by ``cause``. A figure only ``printed_steps`` give inherits that mistake; one
    that cutting the digits off (instead of rounding) gives is "truncated".
    """
    d = _decimals(printed)
    see = f" (erratum {erratum})" if erratum else ""
    if _same(round(exact, d), printed, d):
        return FigureVerdict("exact")
    if rounded_steps is not None and _same(round(rounded_steps, d), printed, d):
        return FigureVerdict("rounding", f"{rounded_steps:.6f} from two-decimal steps")
    if printed_steps is not None and _same(round(printed_steps, d), printed, d):
        return FigureVerdict("mistake", f"{printed_steps:.6f} from {cause}{see}")
    steps = exact if rounded_steps is None else rounded_steps
    if _same(_truncated(steps, d), printed, d):
        return FigureVerdict("mistake", f"{steps:.6f} truncated, not rounded{see}")
    return FigureVerdict("mistake", f"exact {exact:.6f}{see}")


ERRATA_000 = {"out x_1^2": 1, "net x_1^3": 2, "net x_2^3": 2, "w_11^2": 3, "w_21^2": 3,
              "w_12^2": 4, "w_22^2": 4, "b_2^3": 5}
"""The errata entry (docs/tutorial-errata.md) about each of seed 000's printed figures."""


def judge_printed_000(symbol: str, exact: float) -> FigureVerdict:
    """Classify seed 000's printed figure ``symbol`` ("net x_1^3", "w_11^2" …) against ``exact``.

    The text's arithmetic is redone twice (``as_printed_000``): with out x₁² rounded to 0.54
    and with the printed, truncated 0.53, so a figure that only the 0.53 explains is a mistake
    inherited from it, not rounding.
    """
    if symbol not in TUTORIAL_000_FIGURES:
        raise KeyError(f"judge_printed_000: no printed figure {symbol!r}; expected one of "
                       f"{list(TUTORIAL_000_FIGURES)}")
    key = symbol.replace("_", "")                        # "w_11^2" → "w11^2"
    key = "b2^3 with d2=1" if key == "b2^3" else key     # the line's result needs d₂ = 1
    printed_rows, rounded_rows = as_printed_000(), as_printed_000(out_x1_2=0.54)
    return judge_figure(printed_rows[key].printed, exact, rounded_rows[key].value,
                        printed_rows[key].value, "the truncated 0.53", ERRATA_000.get(symbol))


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


def _logistic_prime(z: np.ndarray) -> np.ndarray:
    s = logistic(z)
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
    al.append(logistic(zl[0]))
    # printed: `for L in range(number_layers-1)`, which reaches W[number_layers-1]; with
    # number_layers counting the input the loop must stop one earlier.
    for L in range(number_layers - 2 if forward_range else number_layers - 1):
        if len(W) == L + 1:
            raise IndexError(f"{fn}: as printed, `for L in range(number_layers-1)` reads "
                             f"Layers_weights[{L + 1}] of {len(W)} matrices (number_layers = "
                             f"{number_layers} counts the input layer); the loop needs "
                             f"range(number_layers-2)")
        zl.append(al[L] @ W[L + 1] + (B[L + 1] if add_bias else 0.0))
        al.append(logistic(zl[L + 1]))
    run = Seed004Run(zl, al)
    output_layer = al[number_layers - 2][0]
    subtrahend = y if subtract_expected else output_layer
    d_mse = 2.0 * (al[number_layers - 2][0] - subtrahend)
    error_bias = (_logistic_prime(zl[number_layers - 2][0]) * d_mse)[None, :]
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
            error_bias = _logistic_prime(zl[L - 1]) * error_prev
        else:                                            # Error_bias_prev, as printed
            zl_1 = zl[L - 1][0]
            if len(error_bias[0]) != len(zl_1):
                raise ValueError(f"{fn}: as printed, Error_bias_prev multiplies Error_bias "
                                 f"({len(error_bias[0])} entries, layer {L + 1}) by "
                                 f"d_ActiveFunc(zl_1) ({len(zl_1)} entries, layer {L}); "
                                 f"Error_prev_layer = Error_bias · Wᵀ belongs there")
            error_bias = (error_bias[0] * _logistic_prime(zl_1))[None, :]
    return run

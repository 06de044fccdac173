"""φ and φ' written out by hand in plain NumPy, as the tutorials derive them.

Every element-wise activation class carries one ``PhiByHand`` as its ``by_hand`` attribute
(``nn.Sigmoid.by_hand.dphi`` is seed 000's φ' = out(1 − out)); the tutorial's hand-derived delta
rule (``tinygrad_nn.tutorial.manual``) reads them from there.  They are the deliberate second,
independent derivation: the engine never uses them (its derivatives live in the rule table,
``ops.py``), so comparing the two passes checks both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["PhiByHand", "logistic"]


@dataclass(frozen=True)
class PhiByHand:
    """One element-wise φ: its formula, φ(net) and φ'(net) (given net and out = φ(net)).

    ``phi(x, k)`` and ``dphi(net, out, k)`` take the leak ``k`` of a LeakyReLU (0 otherwise).
    """

    name: str
    formula: str
    derivative: str
    phi: Callable[[np.ndarray, float], np.ndarray]
    dphi: Callable[[np.ndarray, np.ndarray, float], np.ndarray]


def logistic(x: np.ndarray) -> np.ndarray:
    """The logistic φ(x) = 1 / (1 + e^{−x}), written (1 + tanh(x/2)) / 2: no overflow warning."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))

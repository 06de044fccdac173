"""Is training learning?  Warnings for a run that ends without NaN/inf but has not learned.

``fit`` stops at a NaN or infinite loss (``TrainingDivergedError``).  A run can also fail
quietly: the loss grows by orders of magnitude and stays finite (softmax cross-entropy with
ReLU units and a huge η), or the accuracy never leaves chance (saturated sigmoids after a huge
η, or a tiny η).  ``training_problems`` says so in words, with the likely cause, read off how
far the parameters moved: ‖θ_end − θ_0‖ / ‖θ_0‖ is about 1 after a good run, thousands after
an η far too large, and a few thousandths after one far too small.  ``fit`` issues each
problem as a ``TrainingWarning`` (errors.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["CHANCE_MARGIN", "DIVERGED_FACTOR", "FAR", "NEAR", "training_problems"]

DIVERGED_FACTOR = 100.0
"""The loss has diverged when its last epoch's mean is this many times the first minibatch's."""
CHANCE_MARGIN = 0.02
"""Accuracy within this of chance (always guessing the most common class) is at chance."""
FAR = 3.0
"""Parameters that moved this many times their initial size: η is probably too large."""
NEAR = 0.3
"""Parameters that moved less than this fraction of their initial size: η too small, or the
run too short."""


def _eta(lr: float | None) -> str:
    return "" if lr is None else f" (η = {lr:g})"


def _cause(moved: float | None, lr: float | None) -> str:
    """The likely cause of a run stuck at chance, from how far the parameters moved."""
    if moved is not None and moved >= FAR:
        return (f"The parameters moved {moved:.3g} times their initial size: the learning "
                f"rate{_eta(lr)} is probably too large (the units saturate or die); try one 10 "
                f"times smaller.")
    if moved is not None and moved <= NEAR:
        return (f"The parameters moved only {100 * moved:.2g}% of their initial size: the "
                f"learning rate{_eta(lr)} is probably too small, or the run too short; try a "
                f"larger one or more epochs.")
    return (f"Try the learning rate{_eta(lr)} 10 times smaller and 10 times larger, or more "
            f"epochs.")


def training_problems(losses: Sequence[float], first_loss: float, accuracies: Sequence[float],
                      chance: float | None, moved: float | None = None,
                      lr: float | None = None, what: str = "accuracy") -> list[str]:
    """What went wrong in a finished run, in words: divergence (last epoch's loss ≥
    ``DIVERGED_FACTOR`` × the first minibatch's) or accuracy at ``chance`` (+ ``CHANCE_MARGIN``).

    ``losses``: mean loss per epoch; ``first_loss``: the loss before the first update;
    ``accuracies``: accuracy per epoch, which ``what`` names; ``chance``: the accuracy of always
    guessing the most common class (None: not a classification); ``moved``: ‖θ_end − θ_0‖ /
    ‖θ_0‖ over the run; ``lr``: the learning rate η.
    """
    if not losses:
        return []
    last = losses[-1]
    if first_loss > 0 and last >= DIVERGED_FACTOR * first_loss:
        orders = math.log10(last / first_loss)
        return [f"fit: training diverged: the loss grew from {first_loss:.4g} (first minibatch) "
                f"to {last:.4g} (last epoch), {orders:.1f} orders of magnitude. The learning "
                f"rate{_eta(lr)} is probably too large; try one 10 times smaller."]
    if chance is None or not accuracies or accuracies[-1] > chance + CHANCE_MARGIN:
        return []
    epochs = f"{len(losses)} epoch{'s' if len(losses) != 1 else ''}"
    return [f"fit: the network has not learned: {what} {100 * accuracies[-1]:.1f}% after "
            f"{epochs} is no better than chance ({100 * chance:.1f}%, always guessing the most "
            f"common class). {_cause(moved, lr)}"]

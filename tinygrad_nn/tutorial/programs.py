"""The worked example's forward and backward pass as a program (``tn.trace``).

``worked_example_program`` traces seed 000's E through ``nn`` (tensor build: one line per layer
map f, φ, g, φ, E and one per chain-rule step, with δ² and δ³ among them) or with one Value per
number (scalar build: the tutorial's sums written out), as ``python -m tinygrad_nn trace`` prints
it and docs/chain-rule-as-a-program.md shows it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import nn
from ..tracing import Program, trace
from ..value import Value
from .examples import WORKED_TARGET, WORKED_X, worked_model
from .pictures import worked_example_scalar

__all__ = ["worked_example_program"]


def worked_example_program(build: str = "tensor") -> Program:
    """Seed 000's worked example, traced: E(x, d) = MSELoss(model(x), d) through ``nn``
    (``"tensor"``), or the same E with one Value per number (``"scalar"``)."""
    if build == "scalar":
        return trace(_scalar_error())
    if build != "tensor":
        raise ValueError(f"worked_example_program: build must be 'tensor' or 'scalar', got "
                         f"{build!r}")
    return trace(_tensor_error(), np.array([WORKED_X]), np.array([WORKED_TARGET]))


def _tensor_error() -> Callable[[Value, Value], Value]:
    model, loss_fn = worked_model(), nn.MSELoss()

    def E(x: Value, d: Value) -> Value:
        return loss_fn(model(x), d)

    return E


def _scalar_error() -> Callable[[], Value]:
    def E() -> Value:
        """E with one Value per number; its weights, made at each call, are the parameters."""
        return worked_example_scalar(backward=False)

    return E

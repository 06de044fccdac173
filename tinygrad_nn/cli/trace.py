"""``python -m tinygrad_nn trace``: print the worked example's forward and backward pass as a
program (``tn.trace``), or the Python source it runs (``--source``)."""

from __future__ import annotations

import argparse

import numpy as np

from .. import nn
from ..tracing import Program, trace
from ..tutorial.examples import WORKED_TARGET, WORKED_X, worked_model
from ..tutorial.pictures import worked_example_scalar
from ..value import Value

__all__ = ["HELP", "configure", "run", "worked_example_program"]

HELP = "print the worked example's forward and backward pass as a program (tn.trace)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``python -m tinygrad_nn trace``."""
    parser.add_argument("--build", choices=("tensor", "scalar"), default="tensor",
                        help="the network through nn (tensor, default) or one Value per number "
                             "(scalar)")
    parser.add_argument("--source", action="store_true",
                        help="print the Python source the compiled program runs instead")


def worked_example_program(build: str = "tensor") -> Program:
    """Seed 000's worked example, traced: E(x, d) = MSELoss(model(x), d) through ``nn``
    (``"tensor"``), or the same E with one Value per number (``"scalar"``)."""
    if build == "scalar":
        return trace(_scalar_error)
    if build != "tensor":
        raise ValueError(f"worked_example_program: build must be 'tensor' or 'scalar', got "
                         f"{build!r}")
    model, loss_fn = worked_model(), nn.MSELoss()

    def E(x: Value, d: Value) -> Value:
        return loss_fn(model(x), d)

    return trace(E, np.array([WORKED_X]), np.array([WORKED_TARGET]))


def _scalar_error() -> Value:
    """E with one Value per number, its weights made afresh (so they are the parameters)."""
    return worked_example_scalar(backward=False)


def run(args: argparse.Namespace) -> int:
    """Print the program (or its source)."""
    program = worked_example_program(args.build)
    print(program.source if args.source else program, end="\n")
    return 0

"""``python -m tinygrad_nn trace``: print the worked example's forward and backward pass as a
program (``tn.trace``), or the Python source it runs (``--source``)."""

from __future__ import annotations

import argparse

from ..tutorial import worked_example_program

__all__ = ["HELP", "configure", "run"]

HELP = "print the worked example's forward and backward pass as a program (tn.trace)"


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``python -m tinygrad_nn trace``."""
    parser.add_argument("--build", choices=("tensor", "scalar"), default="tensor",
                        help="the network through nn (tensor, default) or one Value per number "
                             "(scalar)")
    parser.add_argument("--source", action="store_true",
                        help="print the Python source the compiled program runs instead")


def run(args: argparse.Namespace) -> int:
    """Print the program (or its source)."""
    program = worked_example_program(args.build)
    print(program.source if args.source else program)
    return 0

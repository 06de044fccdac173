"""``python -m tinygrad_nn demo``: print a tutorial example computed three ways."""

from __future__ import annotations

import argparse

from ..errors import UsageError
from ..tutorial import format_report, one_neuron_chain, worked_example

__all__ = ["HELP", "configure", "run"]

HELP = ("the tutorial's worked example: forward pass, E and the gradients three ways "
        "(hand-derived, engine, finite differences)")


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the demo's options: ``--example {000,004}`` and ``--digits N``."""
    parser.add_argument("--example", choices=("000", "004"), default="000",
                        help="000: seed 000's 2-2-2 worked example (default); "
                             "004: seed 004's one-neuron chain")
    parser.add_argument("--digits", type=int, default=6, metavar="N",
                        help="decimals printed in the tables (default 6)")


def run(args: argparse.Namespace) -> int:
    """Print the report; exit 1 if |hand − engine| > 1e-10 or |numeric − analytic| > 1e-6."""
    digits = getattr(args, "digits", 6)
    if not isinstance(digits, int) or not 1 <= digits <= 15:
        raise UsageError(f"--digits must be between 1 and 15, got {digits}")
    example = getattr(args, "example", "000")
    result = one_neuron_chain() if example == "004" else worked_example()
    print(format_report(result, digits))
    return 0 if result.ok else 1

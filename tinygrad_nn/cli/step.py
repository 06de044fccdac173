"""``python -m tinygrad_nn step``: write the backprop stepper pages of the worked example."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import GraphvizNotFoundError
from ..tutorial import worked_example_scalar, worked_example_tensor
from ..viz import stepper

__all__ = ["BUILDS", "HELP", "configure", "run"]

HELP = ("write the worked example's backprop stepper: an offline page that plays backward() "
        "step by step")

BUILDS = {"scalar": worked_example_scalar, "tensor": worked_example_tensor}
"""The worked example's builds: one Value per number, or through nn (with the network view)."""


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``python -m tinygrad_nn step``."""
    parser.add_argument("--out", metavar="DIR", default="out",
                        help="directory to write the pages to (default: ./out)")
    parser.add_argument("--build", choices=(*BUILDS, "both"), default="both",
                        help="the scalar build (one Value per number), the tensor build through "
                             "nn (with the network view), or both (default)")
    parser.add_argument("--no-numeric", dest="numeric", action="store_false",
                        help="leave out the central-difference gradients next to the engine's")


def run(args: argparse.Namespace) -> int:
    """Write ``DIR/stepper_scalar.html`` and/or ``DIR/stepper_tensor.html``; print their paths."""
    out_dir = Path(args.out)
    if out_dir.exists() and not out_dir.is_dir():
        raise FileNotFoundError(f"step: --out {str(out_dir)!r} exists and is not a directory")
    builds = list(BUILDS) if args.build == "both" else [args.build]
    try:
        pages = {build: stepper(BUILDS[build](backward=False), numeric=args.numeric)
                 for build in builds}
    except GraphvizNotFoundError as exc:
        print(f"step: {exc}", file=sys.stderr)
        return 1
    out_dir.mkdir(parents=True, exist_ok=True)
    for build, page in pages.items():
        print(page.save(out_dir / f"stepper_{build}.html"))
    return 0

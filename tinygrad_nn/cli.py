"""Command line: ``python -m tinygrad_nn {demo,graph,train,predict,export}`` (also ``tinygrad-nn``).

Each subcommand lives with the code it runs: the owning module provides
``configure_<cmd>(parser)`` to declare its options and ``run_<cmd>(args) -> int`` to run it.
Bad usage (unknown options, missing files, invalid values) exits with status 2 and a usage line,
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand -> (module that owns it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("tinygrad_nn.tutorial", "the tutorial's worked example: forward pass, E and "
             "the gradients three ways (hand-derived, engine, finite differences)"),
    "graph": ("tinygrad_nn.viz", "render the worked example's computation graph and network "
              "drawing to files"),
    "train": ("tinygrad_nn.train", "train a network (default: the tutorial's 64-20-20-10 "
              "sigmoid/MSE/SGD net on the embedded digits)"),
    "predict": ("tinygrad_nn.train", "predict with a saved checkpoint"),
    "export": ("tinygrad_nn.export.command", "write a checkpoint as ONNX or for PyTorch"),
}


class UsageError(Exception):
    """Bad command-line input: reported with the usage line and exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="tinygrad-nn", description="Backprop from the tutorials, made executable.")
    parser.add_argument("--version", action="version", version=f"tinygrad-nn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        configure = getattr(module, f"configure_{name}", None)
        if configure is None:
            continue
        p = sub.add_parser(name, help=help_text, description=help_text)
        configure(p)
        p.set_defaults(_run=getattr(module, f"run_{name}"), _parser=p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run the chosen subcommand; returns the exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:   # report unknown options with the subcommand's own usage line (exit status 2)
        getattr(args, "_parser", parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args._run(args))
    except (UsageError, FileNotFoundError) as exc:
        args._parser.print_usage(sys.stderr)
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

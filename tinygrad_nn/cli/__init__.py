"""Command line: ``python -m tinygrad_nn COMMAND`` (also ``tinygrad-nn``).

The commands: demo, check, graph, step, train, predict, export, trace.

One module per command, each with its one-line ``HELP``, ``configure(parser)`` declaring its
options and ``run(args) -> int`` running it; ``inputs`` reads the data of ``train`` and
``predict``.  Bad usage (unknown options, missing files, a directory where a file belongs,
invalid values) exits with status 2 and a usage line, never a traceback.  A closed pipe
(``tinygrad-nn train | head -3``) ends the command quietly with status 141, as a Unix tool
killed by SIGPIPE does.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from ..errors import UsageError
from ..version import __version__
from . import check, demo, export, graph, predict, step, trace, train

__all__ = ["COMMANDS", "PIPE_CLOSED", "UsageError", "build_parser", "main"]

COMMANDS: dict[str, ModuleType] = {"demo": demo, "check": check, "graph": graph,
                                   "step": step, "train": train, "predict": predict,
                                   "export": export, "trace": trace}
"""The subcommands, in the order ``--help`` lists them, and the module that holds each."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="tinygrad-nn", description="Backprop from the tutorials, made executable.")
    parser.add_argument("--version", action="version", version=f"tinygrad-nn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.HELP, description=command.HELP)
        command.configure(p)
        p.set_defaults(_run=command.run, _parser=p)
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
        status = int(args._run(args))
        sys.stdout.flush()          # a closed pipe shows here, not at the interpreter's exit
        return status
    except (UsageError, FileNotFoundError, IsADirectoryError) as exc:
        args._parser.print_usage(sys.stderr)
        print(f"{parser.prog} {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _discard_stdout()
        return PIPE_CLOSED


PIPE_CLOSED = 128 + 13
"""The exit status after the reader of stdout went away: a shell's status for SIGPIPE (13)."""


def _discard_stdout() -> None:
    """Point stdout at the null device, so the unwritten output is dropped at exit without a
    second BrokenPipeError (the recipe of Python's signal documentation)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):   # not a real file (a test's capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)

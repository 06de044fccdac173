"""``python -m tinygrad_nn check my_backprop.py``: diagnose a learner's own backprop.

The file defines ``backprop(model, x, target)`` returning any of "net", "out", "E", "delta",
"dW", "dB" (see ``tinygrad_nn.tutorial.diagnose``). The command runs it on seed 000's worked
example and on a random network (``--layers``, default the worked example's 2-2-2), prints a
diagnosis for each and exits 0 only when both agree with the engine; 1 when a quantity differs
or the learner's code fails; 2 for bad usage (no such file, no such function, bad options).
"""

from __future__ import annotations

import argparse

import numpy as np

from .. import nn
from ..errors import LearnerError, UsageError
from ..tutorial import diagnose, load_learner, random_problem, worked_model
from ..tutorial.examples import WORKED_TARGET, WORKED_X

__all__ = ["HELP", "configure", "run"]

HELP = ("diagnose your own backprop(model, x, target) in a Python file: the first wrong "
        "quantity and what the mistake is")

_ACTIVATIONS = ("sigmoid", "tanh", "relu")


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the check's options: the file, ``--layers``, ``--batch``, ``--loss`` …"""
    parser.add_argument("file", help="a Python file that defines backprop(model, x, target)")
    parser.add_argument("--layers", default="2,2,2", metavar="SIZES",
                        help="the random network's layer sizes, input first (default 2,2,2, the "
                             "worked example's shape)")
    parser.add_argument("--activation", choices=_ACTIVATIONS, default="sigmoid",
                        help="the random network's φ (default sigmoid, the tutorials' logistic)")
    parser.add_argument("--batch", type=int, default=1, metavar="N",
                        help="samples in the random network's x: 1 (default) passes one "
                             "sample as a vector, N > 1 a batch of N rows")
    parser.add_argument("--loss", choices=("mse", "ce"), default="mse",
                        help="mse (default) or ce (softmax + cross-entropy; the networks then "
                             "end with the last Linear)")
    parser.add_argument("--reduction", choices=("mean", "sum"), default="mean",
                        help="mean (default: seed 000's E = Σ(d − x)²/n) or sum (seed 004's "
                             "C₀ = Σ(a − y)²)")
    parser.add_argument("--convention", choices=("auto", "column", "row"), default="auto",
                        help="how your arrays are laid out: column (seed 000), row (seed 004) "
                             "or auto (default: from their shapes)")
    parser.add_argument("--function", default="backprop", metavar="NAME",
                        help="the function to call (default backprop)")
    parser.add_argument("--seed", type=int, default=0, help="the random network's seed")


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or min(sizes) < 1 or max(sizes) > 1000:
        raise UsageError(f"--layers must be two or more sizes from 1 to 1000 separated by commas, "
                     f"e.g. 3,4,4,2; got {text!r}")
    return sizes


def _scenarios(args: argparse.Namespace) -> list[tuple[str, nn.Sequential, np.ndarray,
                                                        np.ndarray]]:
    """(title, model, x, target): the worked example and a random network of --layers."""
    worked = worked_model()
    if args.loss == "ce":                         # the logits: drop the last φ
        worked = nn.Sequential(*list(worked.layers)[:-1])
    sizes = _sizes(args.layers)
    if not 1 <= args.batch <= 1000:
        raise UsageError(f"--batch must be between 1 and 1000, got {args.batch}")
    model, x, target = random_problem(sizes, args.activation, args.loss, args.batch, args.seed)
    shape = "-".join(map(str, sizes))
    samples = "one sample" if args.batch == 1 else f"a batch of {args.batch} rows"
    return [(f"the worked example (seed 000: 2-2-2 logistic, x = {WORKED_X}, "
             f"d = {WORKED_TARGET})", worked, np.array(WORKED_X), np.array(WORKED_TARGET)),
            (f"a random {shape} network ({args.activation}, seed {args.seed}, {samples})",
             model, x, target)]


def run(args: argparse.Namespace) -> int:
    """Print the diagnosis for each network; 0 only when everything agrees (2: bad usage)."""
    scenarios = _scenarios(args)                  # bad usage raises UsageError: status 2
    try:
        learner = load_learner(args.file, args.function)
    except LearnerError as exc:
        print(f"error: {exc}")
        return 1
    agreeing = 0
    for title, model, x, target in scenarios:
        print(f"== {title}")
        try:
            result = diagnose(model, x, target, learner, convention=args.convention,
                              loss=args.loss, reduction=args.reduction)
        except LearnerError as exc:
            print(f"error: {exc}\n")
            continue
        print(f"{result}\n")
        agreeing += result.ok
    print(f"check: {agreeing} of {len(scenarios)} networks agree with the engine")
    return 0 if agreeing == len(scenarios) else 1

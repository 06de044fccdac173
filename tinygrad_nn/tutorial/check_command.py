"""``python -m tinygrad_nn check my_backprop.py``: diagnose a learner's own backprop.

The file defines ``backprop(model, x, target)`` returning any of "net", "out", "E", "delta",
"dW", "dB" (see ``diagnose``). The command runs it on seed 000's worked example and on a random
network (``--layers``, default the worked example's 2-2-2), prints a diagnosis for each and
exits 0 only when both agree with the engine; 1 when a quantity differs or the learner's code
fails; 2 for bad usage (no such file, no such function, bad options).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import nn
from .diagnose import diagnose
from .examples import WORKED_TARGET, WORKED_X, worked_model
from .learner_output import LearnerError, failure_location

__all__ = ["configure_check", "load_learner", "random_problem", "run_check"]

_ACTIVATIONS = ("sigmoid", "tanh", "relu")


class _Usage(Exception):
    """Bad command-line input: reported with status 2."""


def configure_check(parser: argparse.ArgumentParser) -> None:
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


def load_learner(path: str | Path, function: str = "backprop") -> Callable[..., Any]:
    """Import the file at ``path`` and return its ``function``; ``LearnerError`` if it fails."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    spec = importlib.util.spec_from_file_location(f"_learner_{file.stem}", file)
    if spec is None or spec.loader is None:
        raise _Usage(f"cannot import {path}: expected a Python file (.py)")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(file.resolve().parent))    # so it can import its own helpers
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise LearnerError(f"check: {file.name} line {exc.lineno}: SyntaxError: {exc.msg}") \
            from None
    except Exception as exc:
        raise LearnerError(f"check: importing {file.name} raised {type(exc).__name__}: {exc}"
                           f"{failure_location(exc)}") from exc
    finally:
        sys.path.remove(str(file.resolve().parent))
    found = getattr(module, function, None)
    if not callable(found):
        raise _Usage(f"{file.name} defines no function {function}(model, x, target)")
    return found


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or min(sizes) < 1 or max(sizes) > 1000:
        raise _Usage(f"--layers must be two or more sizes from 1 to 1000 separated by commas, "
                     f"e.g. 3,4,4,2; got {text!r}")
    return sizes


def random_problem(sizes: list[int], activation: str = "sigmoid", loss: str = "mse",
                   batch: int = 1, rng: int | np.random.Generator = 0,
                   ) -> tuple[nn.Sequential, np.ndarray, np.ndarray]:
    """A random network of ``sizes`` with non-zero biases, an input and a target to check on.

    Biases are uniform in [−0.5, 0.5] (so a forgotten + B shows), x uniform in [−1, 1], the
    target uniform in [0, 1] for "mse" or one-hot rows for "ce" (the network then ends with the
    last Linear). ``batch`` = 1 gives one sample as vectors, N > 1 a batch of N rows.
    """
    gen = np.random.default_rng(rng)
    ce = loss == "ce"
    model = nn.mlp(sizes, activation, output_activation=None if ce else "same", rng=gen)
    for layer in model.layers:
        if isinstance(layer, nn.Linear) and layer.bias is not None:
            layer.bias.data = gen.uniform(-0.5, 0.5, size=layer.out_features)
    n_in, n_out = sizes[0], sizes[-1]
    x = gen.uniform(-1.0, 1.0, size=(batch, n_in))
    if ce:
        target = np.eye(n_out)[gen.integers(0, n_out, size=batch)]
    else:
        target = gen.uniform(0.0, 1.0, size=(batch, n_out))
    return (model, x[0], target[0]) if batch == 1 else (model, x, target)


def _scenarios(args: argparse.Namespace) -> list[tuple[str, nn.Sequential, np.ndarray,
                                                        np.ndarray]]:
    """(title, model, x, target): the worked example and a random network of --layers."""
    worked = worked_model()
    if args.loss == "ce":                         # the logits: drop the last φ
        worked = nn.Sequential(*list(worked.layers)[:-1])
    sizes = _sizes(args.layers)
    if not 1 <= args.batch <= 1000:
        raise _Usage(f"--batch must be between 1 and 1000, got {args.batch}")
    model, x, target = random_problem(sizes, args.activation, args.loss, args.batch, args.seed)
    shape = "-".join(map(str, sizes))
    samples = "one sample" if args.batch == 1 else f"a batch of {args.batch} rows"
    return [(f"the worked example (seed 000: 2-2-2 logistic, x = {WORKED_X}, "
             f"d = {WORKED_TARGET})", worked, np.array(WORKED_X), np.array(WORKED_TARGET)),
            (f"a random {shape} network ({args.activation}, seed {args.seed}, {samples})",
             model, x, target)]


def run_check(args: argparse.Namespace) -> int:
    """Print the diagnosis for each network; 0 only when everything agrees (2: bad usage)."""
    try:
        scenarios = _scenarios(args)
        learner = load_learner(args.file, args.function)
    except _Usage as exc:
        print(f"tinygrad-nn check: error: {exc}", file=sys.stderr)
        return 2
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

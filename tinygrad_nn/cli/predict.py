"""``python -m tinygrad_nn predict``: load a checkpoint, print its predictions for some inputs."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ..checkpoint import load_with_metadata
from ..errors import CheckpointError, UsageError
from ..train import predict
from .inputs import read_inputs

__all__ = ["HELP", "configure", "run"]

HELP = "predict with a saved checkpoint"


def configure(parser: argparse.ArgumentParser) -> None:
    """Declare the ``predict`` options."""
    parser.add_argument("checkpoint", help="a model.npz written by `train`")
    parser.add_argument("--data", default="digits", metavar="digits|PATH.npy|PATH.csv",
                        help="inputs: 'digits' (the test split the model was not trained on, "
                             "when the checkpoint records it), an .npy array (N, features) or "
                             "a CSV with one sample per row: with a header as `train --data` "
                             "reads it (the target column optional), or numbers alone, "
                             "optionally a label first")
    parser.add_argument("--limit", type=int, default=20, metavar="N",
                        help="print at most N predictions (default 20; 0 for none)")


def _input_width(model: Any) -> int | None:
    """The number of input features: the second axis of the first weight matrix."""
    for p in model.parameters():
        if p.ndim == 2:
            return int(p.shape[1])
    return None


def run(args: argparse.Namespace) -> int:
    """Load a checkpoint, predict the inputs' classes, print them (and accuracy when labelled)."""
    if args.limit < 0:
        raise UsageError(f"--limit must be >= 0, got {args.limit}")
    try:
        model, meta = load_with_metadata(args.checkpoint)       # the file is read once
    except CheckpointError as exc:
        raise UsageError(str(exc)) from None
    X, labels, desc = read_inputs(args.data, _input_width(model), meta)
    out = predict(model, X)
    classes = np.argmax(out, axis=1) if out.ndim == 2 and out.shape[1] > 1 else None
    print(f"predicting {desc}")
    shown = min(args.limit, len(X))
    for i in range(shown):
        guess = str(int(classes[i])) if classes is not None else np.array2string(
            out[i], precision=4)
        label = "" if labels is None else f"  label {int(labels[i])}"
        mark = "" if labels is None or classes is None else (
            "  ok" if classes[i] == labels[i] else "  WRONG")
        print(f"{i:6d}  prediction {guess}{label}{mark}")
    if shown < len(X):
        print(f"... ({len(X) - shown} more; use --limit)")
    if labels is not None and classes is not None:
        hits = int(np.count_nonzero(classes == labels))
        print(f"accuracy: {100 * hits / len(X):.1f}% ({hits}/{len(X)})")
    return 0

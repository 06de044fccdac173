"""A learner's own backprop, and problems to check it on: ``load_learner``, ``random_problem``.

``load_learner`` imports a Python file that defines ``backprop(model, x, target)`` (the
``check`` command's input); ``random_problem`` builds a random network with an input and a
target, on which a learner's code and the engine are compared.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .. import nn
from ..errors import LearnerError, UsageError
from .learner_output import failure_location

__all__ = ["load_learner", "random_problem"]


def load_learner(path: str | Path, function: str = "backprop") -> Callable[..., Any]:
    """Import the file at ``path`` and return its ``function``; ``LearnerError`` if it fails."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    spec = importlib.util.spec_from_file_location(f"_learner_{file.stem}", file)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import {path}: expected a Python file (.py)")
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
        raise UsageError(f"{file.name} defines no function {function}(model, x, target)")
    return found


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

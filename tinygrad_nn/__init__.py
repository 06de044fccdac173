"""tinygrad_nn: reverse-mode automatic differentiation on NumPy, built to follow the tutorials.

``import tinygrad_nn as tn`` gives the engine (``tn.Value``, ``tn.no_grad``; the functions of
several Values ``tn.concatenate``, ``tn.stack``, ``tn.where``, ``tn.minimum``, ``tn.maximum``),
gradient checking (``tn.gradcheck``, ``tn.numeric_grad``), checkpoints (``tn.save``,
``tn.load``) and every submodule as an attribute: ``tn.nn``, ``tn.functional``, ``tn.tutorial``,
``tn.viz``, ``tn.data``, ``tn.optim``, ``tn.train``, ``tn.export``, and ``tn.errors`` (every
exception class).
``tn.trace`` and ``tn.compile`` (``tn.tracing``) write a function's forward and backward pass out
as a program and replay it.
"""

from . import data, errors, export, functional, nn, optim, tracing, train, tutorial, viz
from .checkpoint import CheckpointError, load, save
from .gradcheck import GradcheckError, gradcheck, numeric_grad
from .tracing import TraceError, compile, trace
from .value import (
    Value,
    concatenate,
    detect_anomaly,
    maximum,
    minimum,
    no_grad,
    scope,
    stack,
    where,
)
from .version import __version__

__all__ = [
    "CheckpointError",
    "GradcheckError",
    "TraceError",
    "Value",
    "__version__",
    "compile",
    "concatenate",
    "data",
    "detect_anomaly",
    "errors",
    "export",
    "functional",
    "gradcheck",
    "load",
    "maximum",
    "minimum",
    "nn",
    "no_grad",
    "numeric_grad",
    "optim",
    "save",
    "scope",
    "stack",
    "trace",
    "tracing",
    "train",
    "tutorial",
    "viz",
    "where",
]

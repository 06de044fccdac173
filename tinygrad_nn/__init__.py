"""tinygrad_nn: reverse-mode automatic differentiation on NumPy, built to follow the tutorials.

``import tinygrad_nn as tn`` gives the engine (``tn.Value``, ``tn.no_grad``; the functions of
several Values ``tn.concatenate``, ``tn.stack``, ``tn.where``, ``tn.minimum``, ``tn.maximum``),
the function transforms (``tn.grad``, ``tn.value_and_grad``, ``tn.vjp``, ``tn.jvp``,
``tn.jacobian``, ``tn.hessian``, ``tn.hvp``), gradient checking (``tn.gradcheck``,
``tn.numeric_grad``, ``tn.check_grads``), checkpoints (``tn.save``, ``tn.load``) and every
submodule as an attribute: ``tn.nn``, ``tn.functional``, ``tn.tutorial``, ``tn.viz``,
``tn.data``, ``tn.optim``, ``tn.train``, ``tn.export``, and ``tn.errors`` (every exception class).
``tn.trace`` and ``tn.compile`` (``tn.tracing``) write a function's forward and backward pass out
as a program and replay it.
"""

from . import (
    data,
    errors,
    export,
    functional,
    interop,  # noqa: F401  (NumPy's ufuncs and functions on Values: fills their table)
    nn,
    optim,
    tracing,
    train,
    tutorial,
    viz,
)
from .checkpoint import CheckpointError, load, save
from .gradcheck import GradcheckError, check_grads, gradcheck, numeric_grad
from .tracing import TraceError, compile, trace
from .transforms import grad, hessian, hvp, jacobian, jvp, value_and_grad, vjp
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
    "check_grads",
    "compile",
    "concatenate",
    "data",
    "detect_anomaly",
    "errors",
    "export",
    "functional",
    "grad",
    "gradcheck",
    "hessian",
    "hvp",
    "jacobian",
    "jvp",
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
    "value_and_grad",
    "viz",
    "vjp",
    "where",
]

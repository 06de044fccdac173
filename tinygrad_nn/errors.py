"""Every exception class of tinygrad_nn, in one module that imports nothing of the package.

Each is raised by one part of the package and re-exported there, so ``tn.GradcheckError``,
``tn.CheckpointError``, ``tn.train.TrainingDivergedError``, ``tn.train.TrainingWarning`` (a
warning, not an error) and ``tn.viz.GraphvizNotFoundError`` name the same classes as
``tn.errors.<Name>``.  Each derives
from the built-in exception a caller would expect, so ``except ValueError`` still catches a
``CheckpointError``.
"""

from __future__ import annotations

__all__ = [
    "CannotInline",
    "CheckpointError",
    "ExportError",
    "GradcheckError",
    "GraphvizNotFoundError",
    "LearnerError",
    "TraceError",
    "TrainingDivergedError",
    "TrainingWarning",
    "UsageError",
]


class GradcheckError(AssertionError):
    """The analytic and numeric gradients disagree; the message lists the worst entries."""


class CheckpointError(ValueError):
    """A checkpoint file is corrupted, incomplete, or does not match its architecture."""


class ExportError(ValueError):
    """A layer, op, file or state dict that cannot cross to or from PyTorch or ONNX (the message
    says which and why)."""


class TrainingDivergedError(FloatingPointError):
    """The loss (or a gradient) became NaN or ±inf; the model keeps its last finite parameters."""

    def __init__(self, epoch: int, batch: int, loss: float, what: str = "loss") -> None:
        """Record where training diverged (1-based epoch and batch) and the offending value."""
        self.epoch = epoch
        self.batch = batch
        self.loss = loss
        super().__init__(
            f"fit: training diverged at epoch {epoch}, batch {batch}: the {what} is {loss} "
            f"(not finite); the model keeps the parameters from before this step. Try a smaller "
            f"learning rate.")


class TrainingWarning(UserWarning):
    """Training finished but did not learn: the loss grew by orders of magnitude, or the accuracy
    stayed at chance; the message names the likely cause (usually the learning rate)."""


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` executable is missing, so a picture cannot be rendered."""


class LearnerError(ValueError):
    """A learner's own backprop failed, or returned something that is not a backprop quantity."""


class CannotInline(Exception):
    """Internal to the tracer: a rule of the table uses a construct ``tracing.inline`` does not
    write out; caught there, and the program calls the rule instead.  Never reaches a user."""


class TraceError(ValueError):
    """A function cannot be traced or compiled as asked: it returns something other than Values,
    its Python control flow depends on the data, or it changes its inputs while it runs (the
    message says which)."""


class UsageError(Exception):
    """Bad command-line input: reported with the usage line and exit status 2."""

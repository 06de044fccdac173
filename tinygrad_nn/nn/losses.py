"""Error functions E (role "E"): the last map of the composition E∘φ∘g∘φ∘f."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import functional as F
from ..validation import one_of
from ..value import Value
from .module import Module
from .registry import layer_type

__all__ = ["CrossEntropyLoss", "Loss", "MSELoss"]


class Loss(Module):
    """Base of the error functions: ``loss(prediction, target)`` is a scalar Value E."""

    role: str | None = "E"
    is_loss = True

    @classmethod
    def parameter_shapes(cls, config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        """No shapes: an error function has no parameters."""
        return {}


@layer_type
class MSELoss(Loss):
    """Squared error; ``"mean"``: seed 000's E = Σ_j (d_j − x_j)²/n, averaged over the batch.

    ``reduction="mean"`` divides Σ (x − d)² by the number of entries (n outputs × N samples),
    ∂E/∂x = 2(x − d)/(nN); ``"sum"`` is seed 004's C₀ = Σ (a^{(L)} − y)², ∂C₀/∂a = 2(a − y).
    Prediction and target must have the same shape (no silent broadcasting).
    """

    def __init__(self, reduction: str = "mean") -> None:
        self.reduction = one_of(reduction, F.REDUCTIONS, "reduction", "MSELoss")

    def forward(self, pred: Any, target: Any) -> Value:
        """E(pred, target) as one fused node of the rule table (op ``mse``)."""
        return F.mse_loss(pred, target, self.reduction)

    def config(self) -> dict[str, Any]:
        """``{"reduction": ...}``."""
        return {"reduction": self.reduction}

    def extra_repr(self) -> str:
        """``reduction='mean'``."""
        return f"reduction={self.reduction!r}"


@layer_type
class CrossEntropyLoss(Loss):
    """E = −(1/N) Σ_n log softmax(x_n)_{y_n} for logits (N, C) and labels (N,) or rows (N, C).

    Stable for any finite logits (computed from log_softmax); ∂E/∂x = (softmax(x) − onehot)/N.
    """

    def forward(self, logits: Any, target: Any) -> Value:
        """E(logits, target) as one fused node of the rule table (op ``cross_entropy``)."""
        return F.cross_entropy(logits, target)

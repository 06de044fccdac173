"""``Dropout``: inverted dropout in training mode, the identity in evaluation mode."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import functional as F
from ..validation import make_rng, real_number, set_rng_state
from ..value import Value
from .init import RngLike
from .module import Module
from .registry import layer_type

__all__ = ["Dropout"]


@layer_type
class Dropout(Module):
    """While training, each entry is zeroed with probability p and the others are scaled by
    1/(1 − p) (inverted dropout: the expected value is unchanged, so evaluation needs no
    rescaling); in evaluation mode (``eval()``) it is the identity.

    ``rng`` (a seed or a Generator) draws the masks, so a seed repeats them; a checkpoint
    keeps where it stands (``rng_state``), so a resumed run draws the masks it would have
    drawn (a checkpoint written before it did so gives fresh entropy).  0 ≤ p < 1.
    """

    def __init__(self, p: float = 0.5, rng: RngLike = None) -> None:
        self.p = real_number(p, "p", "Dropout", high=1.0)
        self.rng = make_rng(rng, "Dropout")

    @classmethod
    def parameter_shapes(cls, config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        """No shapes: dropout has no parameters."""
        return {}

    def forward(self, x: Any) -> Value:
        """x · mask / (1 − p) while training, x in evaluation mode."""
        return F.dropout(x, self.p, self.training, self.rng)

    def rng_state(self) -> dict[str, Any]:
        """Where the mask generator stands: its bit generator's state (JSON), for checkpoints."""
        return dict(self.rng.bit_generator.state)

    def load_rng_state(self, state: Mapping[str, Any]) -> None:
        """Draw the next masks from ``rng_state()``'s state; a state that does not fit raises
        ValueError and changes nothing."""
        set_rng_state(self.rng, state, "Dropout.load_rng_state")

    def config(self) -> dict[str, Any]:
        """``{"p": ...}`` (the generator's state is not saved)."""
        return {"p": self.p}

    def extra_repr(self) -> str:
        """``p=0.5``."""
        return f"p={self.p}"

"""``Embedding``: a table of learned vectors, one row per index."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import functional as F
from ..validation import float_dtype, make_rng, positive_int
from ..value import Value
from . import init as init_
from .conv import _named
from .init import RngLike
from .module import Module, checked_config
from .registry import layer_type

__all__ = ["Embedding"]


@layer_type
class Embedding(Module):
    """Row i of ``weight`` (num_embeddings, embedding_dim) for every index i of the input:
    indices of any shape (...) give vectors (..., embedding_dim).  A lookup, so each row's
    gradient is the sum of the gradients of the places it was looked up.

    The indices are integers in [0, num_embeddings), or floats that are whole numbers (the
    training loop hands inputs over as float arrays).  ``weight`` starts as N(0, 1) draws, as in
    PyTorch; ``rng`` seeds them.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, rng: RngLike = None,
                 dtype: Any = np.float64) -> None:
        fn = "Embedding"
        self.num_embeddings = positive_int(num_embeddings, "num_embeddings", fn)
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim", fn)
        table = init_.normal((self.num_embeddings, self.embedding_dim), make_rng(rng, fn))
        self.weight = Value(table.astype(float_dtype(dtype, fn)), name="weight")
        self._renamed()

    def _renamed(self) -> None:
        self.weight.name = f"{self.name}.weight"

    def forward(self, indices: Any) -> Value:
        """``weight[indices]``."""
        try:
            return _named(self, lambda: F.embedding(indices, self.weight))
        except TypeError as exc:
            raise TypeError(f"{self.name}: {str(exc).split(': ', 1)[-1]}") from None

    @classmethod
    def parameter_shapes(cls, config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        """``weight`` (num_embeddings, embedding_dim), from the config."""
        fn = "Embedding.parameter_shapes"
        config = checked_config(config, fn)
        return {"weight": (positive_int(config.get("num_embeddings"), "num_embeddings", fn),
                           positive_int(config.get("embedding_dim"), "embedding_dim", fn))}

    def config(self) -> dict[str, Any]:
        """``{"num_embeddings", "embedding_dim", "dtype"}``."""
        return {"num_embeddings": self.num_embeddings, "embedding_dim": self.embedding_dim,
                "dtype": self.weight.dtype.name}

    def extra_repr(self) -> str:
        """``10, 4``."""
        return f"{self.num_embeddings}, {self.embedding_dim}"

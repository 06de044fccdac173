"""``mlp``: the tutorials' fully connected network in one call, and the tables it reads.

``ACTIVATIONS`` and ``AUTO_INIT`` are views of the layer registry: an activation class that sets
``mlp_name`` (and ``init_before``) in ``nn/layers.py`` is offered here with nothing else to edit.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..validation import make_rng, positive_int
from . import init as init_
from .init import Initializer, RngLike
from .layers import Activation, Linear
from .module import Module
from .registry import RegistryView
from .sequential import Sequential

__all__ = ["ACTIVATIONS", "AUTO_INIT", "mlp"]


def _is_mlp_activation(cls: type[Any]) -> bool:
    return issubclass(cls, Activation) and cls.mlp_name is not None


ACTIVATIONS: Mapping[str, type[Activation]] = RegistryView(
    lambda cls: (cls.mlp_name, cls) if _is_mlp_activation(cls) else None)
"""The activation names ``mlp`` accepts: every registered activation class with an ``mlp_name``."""

AUTO_INIT: Mapping[str | None, str] = RegistryView(
    lambda cls: (cls.mlp_name, cls.init_before) if _is_mlp_activation(cls) else None,
    fixed={None: "xavier"})
"""``mlp(init="auto")``: each Linear's initialiser, by the activation that follows it (None: no
activation, Linear's own default)."""


def mlp(sizes: Sequence[int], activation: str = "sigmoid", init: str | Initializer = "auto",
        rng: RngLike = None, output_activation: str | None = "same",
        dtype: Any = np.float64) -> Sequential:
    """A fully connected network: ``mlp([784, 20, 20, 10])`` = Linear, φ, Linear, φ, Linear, φ.

    ``activation`` is one of "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "identity";
    ``output_activation`` defaults to the same ("same"); ``None`` leaves the output linear (for
    ``CrossEntropyLoss``).  ``init="auto"`` initialises each Linear for the activation after it
    (``AUTO_INIT``: "xavier_sigmoid" before the logistic, "xavier" before tanh or nothing,
    "he" before relu-like units); any ``nn.Linear`` init works too.  One Generator made from
    ``rng`` initialises the layers in order, so a seed gives the same network every time.
    """
    if isinstance(sizes, np.ndarray) and sizes.ndim == 1:
        sizes = sizes.tolist()
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence) or len(sizes) < 2:
        raise ValueError(f"mlp: sizes must list at least the input and output sizes, e.g. "
                         f"[784, 20, 20, 10], got {sizes!r}")
    for s in sizes:
        positive_int(s, "every size", "mlp")

    def activation_class(name: Any, what: str) -> type[Activation]:
        if not isinstance(name, str) or name not in ACTIVATIONS:
            raise ValueError(f"mlp: {what} must be one of {sorted(ACTIVATIONS)}, got {name!r}")
        return ACTIVATIONS[name]

    activation_class(activation, "activation")
    output = activation if output_activation == "same" else output_activation
    if output is not None:
        activation_class(output, "output_activation")
    if init != "auto":
        init_.get_init(init, "mlp")
    gen = make_rng(rng, "mlp")
    layers: list[Module] = []
    for i, (m, n) in enumerate(itertools.pairwise(sizes)):
        act = output if i == len(sizes) - 2 else activation
        layer_init = AUTO_INIT[act] if init == "auto" else init
        layers.append(Linear(m, n, init=layer_init, rng=gen, dtype=dtype))
        if act is not None:
            layers.append(ACTIVATIONS[act]())
    return Sequential(*layers)

"""Layers as modules: ``Linear`` (the affine map f), activations φ, error functions E, composition.

``from tinygrad_nn import nn``; ``nn.mlp([784, 20, 20, 10])`` is the tutorials' digit network,
``nn.compose(E, φ, g, φ, f)`` / ``nn.Sequential(f, φ, g, φ, E)`` / ``f >> φ >> g`` build
networks, and ``nn.LAYER_TYPES`` + ``nn.from_config`` rebuild one from its ``config()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import init
from .layers import (
    ACTIVATIONS,
    ROLE_LETTERS,
    Activation,
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    compose,
    mlp,
)
from .losses import CrossEntropyLoss, Loss, MSELoss
from .module import Module

LAYER_TYPES: dict[str, type[Module]] = {cls.__name__: cls for cls in (
    Linear, Sigmoid, Tanh, ReLU, LeakyReLU, Softplus, Identity, Softmax, Sequential,
    MSELoss, CrossEntropyLoss)}
"""The project's own module classes by name: the only types ``from_config`` will build."""


def from_config(type_name: str, config: Mapping[str, Any]) -> Module:
    """Build a registered module type from its ``config()`` (safe: unknown types are refused)."""
    if not isinstance(type_name, str) or type_name not in LAYER_TYPES:
        raise ValueError(f"from_config: unknown module type {type_name!r}; expected one of "
                         f"{sorted(LAYER_TYPES)}")
    return LAYER_TYPES[type_name].from_config(config)


__all__ = [
    "ACTIVATIONS",
    "LAYER_TYPES",
    "ROLE_LETTERS",
    "Activation",
    "CrossEntropyLoss",
    "Identity",
    "LeakyReLU",
    "Linear",
    "Loss",
    "MSELoss",
    "Module",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "compose",
    "from_config",
    "init",
    "mlp",
]

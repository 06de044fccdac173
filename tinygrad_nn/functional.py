"""The layer maps as plain functions: the affine map f, the activations φ, the error functions E,
and convolution, pooling, dropout, normalisation and embedding.

Every function takes Values (or NumPy arrays / numbers, which are wrapped as constants that do not
require grad) and returns a ``Value`` recorded in the graph, so ``backward()`` differentiates it.
The derivatives are not written here: each function is one primitive of the rule table
(``tinygrad_nn.ops``) or a short composition of them.  ``tinygrad_nn.nn`` wraps the same
functions as modules (``nn.Linear``, ``nn.Sigmoid``, ``nn.MSELoss``...).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from . import ops
from .context import random_constant, state_update
from .validation import RngLike, make_rng, one_of, positive_int, real_number, show_value
from .value import Value, _as_data, _leaf, apply
from .value import linear as _linear

__all__ = [
    "as_value",
    "avg_pool2d",
    "batch_norm",
    "conv2d",
    "cross_entropy",
    "dropout",
    "embedding",
    "identity",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
    "unfold",
]


def as_value(x: Any, fn: str = "as_value", dtype: Any = None) -> Value:
    """``x`` itself if it is a Value, else a constant Value (``requires_grad=False``) holding it.

    ``dtype`` (optional) converts a wrapped array, e.g. float64 inputs for a float32 layer; a
    Value is never converted (that would cut it out of the graph).
    """
    if isinstance(x, Value):
        return x
    data = _as_data(x, fn)                    # numbers, rectangular lists, real arrays only
    if dtype is not None and type(data) is np.ndarray and data.dtype != dtype:
        data = data.astype(dtype)
    return _leaf(data, False, None)


# ----------------------------------------------------------------------------------------------
# The affine map f
# ----------------------------------------------------------------------------------------------


def linear(x: Any, W: Any, b: Any = None) -> Value:
    """The layer map f(x, W, b) = x·Wᵀ + b, seed 000's f: R^{(m+1)n+m} → R^n of all its variables.

    Per sample (a column): ``net X_{l+1} = W_l · out X_l + B_{l+1}``; ``W`` has shape
    (n, m) = (out_features, in_features), row j holding the weights into neuron j, so seed 000's
    w_{ij}^l is ``W[j, i]``.  A batch of samples is the rows of ``x`` (shape (N, m)); seed 004's
    row form z = a·W' + b uses W' = ``W.T`` of shape (m, n).
    """
    if type(W) is not Value:
        W = as_value(W, "linear")
    if b is not None and type(b) is not Value:
        b = as_value(b, "linear")
    if type(x) is not Value:
        x = as_value(x, "linear", W.dtype)
    return _linear(x, W, b)


# ----------------------------------------------------------------------------------------------
# Activations φ (element-wise unless stated; each is one primitive of the rule table)
# ----------------------------------------------------------------------------------------------


def sigmoid(x: Any) -> Value:
    """The logistic φ(x) = 1 / (1 + e^{−x}); φ'(x) = φ(x)(1 − φ(x)) (seed 000: out·(1 − out))."""
    return (x if type(x) is Value else as_value(x, "sigmoid")).sigmoid()


def tanh(x: Any) -> Value:
    """φ(x) = tanh x; φ'(x) = 1 − tanh² x."""
    return (x if type(x) is Value else as_value(x, "tanh")).tanh()


def relu(x: Any) -> Value:
    """φ(x) = max(x, 0); φ'(x) = 1 for x > 0 and 0 otherwise (0 taken at x = 0)."""
    return (x if type(x) is Value else as_value(x, "relu")).relu()


def leaky_relu(x: Any, slope: float = 0.01) -> Value:
    """φ(x) = x for x > 0, slope·x otherwise; φ'(x) = 1 for x > 0, ``slope`` otherwise."""
    return as_value(x, "leaky_relu").leaky_relu(slope)


def softplus(x: Any) -> Value:
    """φ(x) = log(1 + eˣ); φ'(x) = 1 / (1 + e^{−x}), the logistic."""
    return (x if type(x) is Value else as_value(x, "softplus")).softplus()


def identity(x: Any) -> Value:
    """φ(x) = x; φ'(x) = 1 (no node is recorded: the input itself is returned)."""
    return as_value(x, "identity")


def softmax(x: Any, axis: int = -1) -> Value:
    """softmax(x)_i = e^{x_i} / Σ_j e^{x_j} along ``axis``; ∂s_i/∂x_j = s_i(δ_ij − s_j)."""
    return as_value(x, "softmax").softmax(axis)


def log_softmax(x: Any, axis: int = -1) -> Value:
    """log softmax(x)_i = x_i − log Σ_j e^{x_j} along ``axis``; ∂/∂x_j = δ_ij − softmax(x)_j."""
    return as_value(x, "log_softmax").log_softmax(axis)


# ----------------------------------------------------------------------------------------------
# Error functions E
# ----------------------------------------------------------------------------------------------

REDUCTIONS = ("mean", "sum")


def mse_loss(pred: Any, target: Any, reduction: str = "mean") -> Value:
    """Squared error: ``"mean"`` is seed 000's E = Σ_j (d_j − x_j)² / n, averaged over the batch.

    ``"mean"`` divides Σ (pred − target)² by the number of entries (outputs n × batch size N);
    ``"sum"`` is seed 004's C₀ = Σ (a^{(L)} − y)², summed over the batch too.
    ∂E/∂pred = 2(pred − target)/(nN) (or 2(pred − target) for ``"sum"``).  ``pred`` and
    ``target`` must have the same shape: (N, 10) against (N,) is refused, not broadcast.
    ``target`` may be an array or a Value (a Value that requires grad gets ∂E/∂target too).
    """
    one_of(reduction, REDUCTIONS, "reduction", "mse_loss")
    if type(pred) is not Value:
        pred = as_value(pred, "mse_loss")
    p = pred.data
    if type(target) is not Value:
        target = as_value(target, "mse_loss", pred.dtype)
    t = target.data
    shape = () if type(p) is float else p.shape
    if shape != (() if type(t) is float else t.shape):
        raise ValueError(f"mse_loss: prediction and target must have the same shape, got "
                         f"prediction {tuple(pred.shape)} and target {tuple(target.shape)}")
    if 0 in shape:
        raise ValueError("mse_loss: the prediction is empty (shape "
                         f"{tuple(pred.shape)}); there is no error to average")
    return apply(ops.MSE, (pred, target), (reduction,))


def cross_entropy(logits: Any, target: Any) -> Value:
    """E = −(1/N) Σ_n log softmax(x_n)_{y_n}: the mean negative log-likelihood of the labels.

    ``logits`` has shape (N, C) (raw scores, no softmax applied); ``target`` is either integer
    class labels of shape (N,) with values in [0, C), or one row per sample of shape (N, C) holding
    a one-hot vector or class probabilities (non-negative, each row summing to 1).  Computed
    from log_softmax, so it is finite for any finite logits.  ∂E/∂x = (softmax(x) − t)/N.
    The target is a constant (it gets no gradient).
    """
    x = as_value(logits, "cross_entropy")
    if x.ndim != 2:
        raise ValueError(f"cross_entropy: expected logits of shape (N, C), got shape "
                         f"{tuple(x.shape)}")
    n, c = x.shape
    if n == 0 or c == 0:
        raise ValueError(f"cross_entropy: expected at least one sample and one class, got "
                         f"logits of shape {(n, c)}")
    t = _target_rows(target, n, c, x.dtype)
    return apply(ops.CROSS_ENTROPY, (x,), (t,))


def _target_rows(target: Any, n: int, c: int, dtype: Any) -> np.ndarray:
    """The cross-entropy target as an (N, C) array of rows (labels become one-hot rows)."""
    raw = target.data if isinstance(target, Value) else target
    t = np.asarray(raw)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"cross_entropy: expected integer labels or a probability array, got "
                        f"dtype {t.dtype}")
    if t.shape == (n,):
        if t.dtype.kind == "b":
            raise TypeError("cross_entropy: labels must be integers in [0, C), got booleans")
        if t.dtype.kind == "f":
            whole = np.isfinite(t) & (t == np.round(t))
            if not np.all(whole):
                bad = float(t[~whole][0])
                raise ValueError(f"cross_entropy: labels must be integers, got {bad} (for "
                                 f"probabilities pass an (N, C) = {(n, c)} array)")
        out = (t < 0) | (t >= c)             # before the cast: 1e30 is no int64
        if np.any(out):
            raise ValueError(f"cross_entropy: labels must be in [0, {c - 1}] for {c} classes, got "
                             f"{show_value(t[out][0])}")
        labels = t.astype(np.int64)
        rows = np.zeros((n, c), dtype=dtype)
        rows[np.arange(n), labels] = 1.0
        return rows
    if t.shape == (n, c):
        rows = t.astype(dtype)
        if not np.all(np.isfinite(rows)) or np.any(rows < 0):
            raise ValueError("cross_entropy: target probabilities must be finite and "
                             "non-negative")
        sums = rows.sum(axis=1)
        if not np.allclose(sums, 1.0, rtol=0.0, atol=1e-5):
            i = int(np.argmax(np.abs(sums - 1.0)))
            raise ValueError(f"cross_entropy: each target row must sum to 1 (one-hot or "
                             f"probabilities), row {i} sums to {float(sums[i]):.6g}")
        return rows
    raise ValueError(f"cross_entropy: expected a target of shape ({n},) (labels) or {(n, c)} "
                     f"(one-hot/probabilities) for logits of shape {(n, c)}, got "
                     f"{tuple(t.shape)}")


# ----------------------------------------------------------------------------------------------
# Convolution and pooling, on images (N, C, H, W)
# ----------------------------------------------------------------------------------------------


def _pair(value: Any, name: str, fn: str, least: int) -> tuple[int, int]:
    """An int or a pair of ints (along H and W), each at least ``least``."""
    items = value if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or any(isinstance(v, (bool, np.bool_)) or not isinstance(
            v, (int, np.integer)) or v < least for v in items):
        raise ValueError(f"{fn}: {name} must be an integer ≥ {least} or a pair of them, got "
                         f"{value!r}")
    return int(items[0]), int(items[1])


def _check_images(x: Value, kernel: tuple[int, int], padding: tuple[int, int], fn: str) -> None:
    """Images (N, C, H, W) whose padded height and width hold at least one kernel window."""
    if x.ndim != 4:
        raise ValueError(f"{fn}: expected images of shape (N, C, H, W), got shape "
                         f"{tuple(x.shape)}")
    height, width = x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1]
    if kernel[0] > height or kernel[1] > width:
        raise ValueError(f"{fn}: the kernel {kernel} is larger than the input's {(height, width)} "
                         f"(height, width{', padded' if any(padding) else ''}; input shape "
                         f"{tuple(x.shape)})")


def unfold(x: Any, kernel_size: int | tuple[int, int], stride: int | tuple[int, int] = 1,
           padding: int | tuple[int, int] = 0) -> Value:
    """The sliding windows of images (N, C, H, W) (im2col), shape (kh, kw, C, N, Ho, Wo).

    ``out[i, j, c, n, p, q]`` is entry (i, j) of the kh × kw window at output position (p, q)
    of image n, channel c: ``x_pad[n, c, p·s + i, q·s + j]``, with ``x`` padded by ``padding``
    zeros.  Reshaped to (kh·kw·C, N·Ho·Wo) it is the im2col matrix, one window per column.
    Ho = ⌊(H + 2·padding − kh) / stride⌋ + 1.  (PyTorch's ``F.unfold`` lays the same numbers
    out as (N, C·kh·kw, Ho·Wo).)  One node (``unfold``); its VJP adds the windows back
    (``fold``).
    """
    x = as_value(x, "unfold")
    kernel = _pair(kernel_size, "kernel_size", "unfold", 1)
    pads = _pair(padding, "padding", "unfold", 0)
    _check_images(x, kernel, pads, "unfold")
    return apply(ops.UNFOLD, (x,), (kernel, _pair(stride, "stride", "unfold", 1), pads))


def conv2d(x: Any, weight: Any, bias: Any = None, stride: int | tuple[int, int] = 1,
           padding: int | tuple[int, int] = 0) -> Value:
    """The convolution layer map y[n, o] = Σ_c x[n, c] ⋆ W[o, c] + b[o] (a cross-correlation, as
    in PyTorch): y[n, o, p, q] = Σ_{c,i,j} x_pad[n, c, p·s + i, q·s + j] · W[o, c, i, j] + b[o].

    ``x``: images (N, C, H, W); ``weight``: kernels (O, C, kh, kw); ``bias``: (O,) or None.  The
    output has shape (N, O, Ho, Wo), Ho = ⌊(H + 2·padding − kh) / stride⌋ + 1.  One node of
    the rule table (``conv2d``: im2col, then one matrix product), then the bias by broadcasting.
    """
    fn = "conv2d"
    w = weight if type(weight) is Value else as_value(weight, fn)
    x = x if type(x) is Value else as_value(x, fn, w.dtype)
    if w.ndim != 4:
        raise ValueError(f"{fn}: weight must have shape (out_channels, in_channels, kh, kw), got "
                         f"shape {tuple(w.shape)}")
    out_channels, in_channels, kh, kw = w.shape
    pads = _pair(padding, "padding", fn, 0)
    _check_images(x, (kh, kw), pads, fn)
    if x.shape[1] != in_channels:
        raise ValueError(f"{fn}: expected {in_channels} input channels, got {x.shape[1]} (input "
                         f"shape {tuple(x.shape)}, weight shape {tuple(w.shape)})")
    out = apply(ops.CONV2D, (x, w), (_pair(stride, "stride", fn, 1), pads))
    if bias is None:
        return out
    b = bias if type(bias) is Value else as_value(bias, fn)
    if b.shape != (out_channels,):
        raise ValueError(f"{fn}: bias must have shape ({out_channels},), got {tuple(b.shape)}")
    return out + b.reshape(1, out_channels, 1, 1)


def _pooling_windows(x: Any, kernel_size: Any, stride: Any, fn: str) -> Value:
    x = as_value(x, fn)
    kernel = _pair(kernel_size, "kernel_size", fn, 1)
    steps = kernel if stride is None else _pair(stride, "stride", fn, 1)
    _check_images(x, kernel, (0, 0), fn)
    return apply(ops.UNFOLD, (x,), (kernel, steps, (0, 0)))


def max_pool2d(x: Any, kernel_size: int | tuple[int, int],
               stride: int | tuple[int, int] | None = None) -> Value:
    """The maximum of every kh × kw window of images (N, C, H, W), windows ``stride`` apart (the
    kernel size by default): ``unfold``, ``max`` over each window, and the channels back in
    place; the gradient goes to the entry that was the maximum (shared equally among ties)."""
    return _pooling_windows(x, kernel_size, stride, "max_pool2d").max(axis=(0, 1)).transpose(
        1, 0, 2, 3)


def avg_pool2d(x: Any, kernel_size: int | tuple[int, int],
               stride: int | tuple[int, int] | None = None) -> Value:
    """The mean of every kh × kw window of images (N, C, H, W), windows ``stride`` apart (the
    kernel size by default): ``unfold``, ``mean`` over each window, and the channels back in
    place; each entry of a window gets g / (kh·kw)."""
    return _pooling_windows(x, kernel_size, stride, "avg_pool2d").mean(axis=(0, 1)).transpose(
        1, 0, 2, 3)


# ----------------------------------------------------------------------------------------------
# Dropout, normalisation and embedding
# ----------------------------------------------------------------------------------------------


def dropout(x: Any, p: float = 0.5, training: bool = True, rng: RngLike = None) -> Value:
    """Inverted dropout: each entry is zeroed with probability p and the others scaled by
    1/(1 − p), so the expected value is unchanged; ∂out/∂x is the same mask.  ``x`` itself when
    not ``training`` or p = 0.  ``rng``: a seed or Generator (the global RNG is never used)."""
    p = real_number(p, "p", "dropout", high=1.0)
    x = as_value(x, "dropout")
    if not training or p == 0.0:
        return x
    generator, shape, dtype = make_rng(rng, "dropout"), x.shape, x.dtype

    def mask() -> np.ndarray:
        """A new mask: 1/(1 − p) where kept, 0 where dropped (a compiled call draws its own)."""
        return ((generator.random(shape) >= p) / (1.0 - p)).astype(dtype)

    return x * random_constant(mask, "dropout mask, 1/(1 − p) or 0")


def _normalize(x: Value, mean: Value, var: Value, eps: float) -> Value:
    """(x − mean) / √(var + ε)."""
    return (x - mean) / (var + eps).sqrt()


def layer_norm(x: Any, normalized_shape: int | tuple[int, ...], weight: Any = None,
               bias: Any = None, eps: float = 1e-5) -> Value:
    """y = (x − mean) / √(var + ε) · weight + bias, mean and (biased) variance taken over the last
    axes, those of ``normalized_shape``, separately for every sample."""
    fn = "layer_norm"
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(
        normalized_shape)
    for n in shape:
        positive_int(n, "every entry of normalized_shape", fn)
    x = as_value(x, fn)
    k = len(shape)
    if not k or x.shape[x.ndim - k:] != shape or x.ndim < k:
        raise ValueError(f"{fn}: expected inputs whose last axes are {shape}, got shape "
                         f"{tuple(x.shape)}")
    axes = tuple(range(x.ndim - k, x.ndim))
    y = _normalize(x, x.mean(axes, keepdims=True), x.var(axes, keepdims=True),
                   real_number(eps, "eps", fn, low_open=True))
    if weight is not None:
        y = y * weight
    return y if bias is None else y + bias


def batch_norm(x: Any, running_mean: np.ndarray | None, running_var: np.ndarray | None,
               weight: Any = None, bias: Any = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Value:
    """y = (x − mean) / √(var + ε) · weight + bias per channel, for x of shape (N, C) or (N, C, L).

    ``training``: mean and (biased) variance of the batch, over every axis but the channels'; the
    running statistics (arrays, updated in place when given) move towards them,
    r ← (1 − momentum)·r + momentum·batch, the variance as its unbiased estimate.  Otherwise
    the running statistics are used (constants: copies of them as they are now).
    """
    fn = "batch_norm"
    x = as_value(x, fn)
    if x.ndim not in (2, 3):
        raise ValueError(f"{fn}: expected inputs of shape (N, C) or (N, C, L), got "
                         f"{tuple(x.shape)}")
    channels = x.shape[1]
    axes = (0,) if x.ndim == 2 else (0, 2)
    stats_shape = (1, channels) if x.ndim == 2 else (1, channels, 1)
    for name, stat in (("running_mean", running_mean), ("running_var", running_var)):
        if stat is not None and np.shape(stat) != (channels,):
            raise ValueError(f"{fn}: {name} must have shape ({channels},), got "
                             f"{np.shape(stat)}")
    eps = real_number(eps, "eps", fn, low_open=True)
    if training or running_mean is None or running_var is None:
        count = x.size // channels
        if count < 2:
            raise ValueError(f"{fn}: batch statistics need more than one value per channel, got "
                             f"input shape {tuple(x.shape)}")
        mean, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
        if training and running_mean is not None and running_var is not None:
            update = functools.partial(_update_running_statistics, running_mean, running_var,
                                       momentum, count)
            state_update(update, "running_mean, running_var ← (1 − momentum)·r + momentum·batch",
                         mean, var)
    else:
        # copies: a later in-place update of the buffers must not change this recorded graph
        mean = as_value(np.array(running_mean).reshape(stats_shape), fn)
        var = as_value(np.array(running_var).reshape(stats_shape), fn)
    y = _normalize(x, mean, var, eps)
    if weight is not None:
        y = y * as_value(weight, fn).reshape(stats_shape)
    return y if bias is None else y + as_value(bias, fn).reshape(stats_shape)


def _update_running_statistics(running_mean: np.ndarray, running_var: np.ndarray,
                               momentum: float, count: int, mean: np.ndarray,
                               var: np.ndarray) -> None:
    """r ← (1 − momentum)·r + momentum·batch, in place, from the batch's mean and (biased)
    variance over ``count`` values per channel (the variance made unbiased: ·count/(count − 1))."""
    channels = running_mean.shape[0]
    running_mean *= 1.0 - momentum
    running_mean += momentum * mean.reshape(channels)
    running_var *= 1.0 - momentum
    running_var += momentum * var.reshape(channels) * (count / (count - 1))


def embedding(indices: Any, weight: Any) -> Value:
    """Row ``indices[...]`` of the table ``weight`` (num_embeddings, dim): out[..., :] =
    weight[i, :], a lookup (one ``getitem`` node); each row's gradient is the sum of the
    gradients of the places it was looked up."""
    fn = "embedding"
    w = as_value(weight, fn)
    if w.ndim != 2:
        raise ValueError(f"{fn}: weight must have shape (num_embeddings, embedding_dim), got "
                         f"{tuple(w.shape)}")
    raw = np.asarray(indices.data if isinstance(indices, Value) else indices)
    if raw.dtype.kind not in "iuf" or (raw.dtype.kind == "f" and not np.all(raw == np.round(raw))):
        raise TypeError(f"{fn}: indices must be integers, got {raw.dtype} values")
    index = raw.astype(np.intp)
    bad = (index < 0) | (index >= w.shape[0])
    if np.any(bad):
        raise ValueError(f"{fn}: indices must be in [0, {w.shape[0] - 1}] for "
                         f"{w.shape[0]} embeddings, got {int(index[bad].reshape(-1)[0])}")
    return w[index]

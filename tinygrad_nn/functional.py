"""The layer maps as plain functions: the affine map f, the activations φ and the error functions E.

Every function takes Values (or NumPy arrays / numbers, which are wrapped as constants that do not
require grad) and returns a ``Value`` recorded in the graph, so ``backward()`` differentiates it.
The derivatives are not written here: each function is one primitive of the rule table
(``tinygrad_nn.ops``) or a short composition of them.  ``tinygrad_nn.nn`` wraps the same
functions as modules (``nn.Linear``, ``nn.Sigmoid``, ``nn.MSELoss``...).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import ops
from .validation import one_of, show_value
from .value import Value, _as_data, _leaf, apply
from .value import linear as _linear

__all__ = [
    "as_value",
    "cross_entropy",
    "identity",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "tanh",
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

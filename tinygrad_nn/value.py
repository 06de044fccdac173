"""``Value``: a node of the computation graph, and reverse-mode differentiation over it.

A Value holds ``data`` (a Python float for scalars, an ``np.ndarray`` for tensors), the
primitive ``op`` that produced it (an entry of the rule table, ``tinygrad_nn.ops``), its
``parents`` (the op's inputs, in argument order) and the op's ``params``.  ``backward()`` walks
the graph from the result back to the leaves, each node after all of its children, and applies
the chain rule: each node hands ``g · (local derivative)`` to each parent.  Nodes keep no
closures and no reference to their children, so a graph is freed by reference counting as
soon as its result is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Union

import numpy as np

from . import ops
from .context import STATE, Scope, check_finite, detect_anomaly, no_grad, scope, side_effect
from .context import user_frames as _user_frames
from .forward import carry_tangents
from .graph import toposort
from .ops import Op
from .validation import int_tuple, real_number

__all__ = ["STATE", "Scope", "Value", "apply", "backpropagate", "chain_rule_step", "concatenate",
           "detect_anomaly", "linear", "maximum", "minimum", "no_grad", "rule_args", "scope",
           "stack", "where"]

Operand = Union["Value", float, int, np.ndarray, Sequence[Any]]


def _as_data(data: Any, fn: str = "Value") -> Any:
    """Validate and convert user data: numbers to ``float``, array-likes to float ndarrays."""
    if isinstance(data, Value):
        raise TypeError(f"{fn}: expected a number or an array, got a Value (use .detach())")
    if isinstance(data, (bool, np.bool_)):
        return float(data)
    if isinstance(data, (int, float, np.integer, np.floating)):
        try:
            return float(data)
        except OverflowError:                 # an int beyond 1.8e308
            raise ValueError(f"{fn}: the integer {_short(data)} ({len(str(abs(data)))} digits) "
                             f"is too large for a float64") from None
    if isinstance(data, (complex, np.complexfloating)):
        raise TypeError(f"{fn}: complex numbers are not supported, got {data!r}")
    if isinstance(data, np.ndarray):
        if data.dtype == np.float32 or data.dtype == np.float64:
            return data
        if data.dtype.kind in "biu":
            return data.astype(np.float64)
        if data.dtype.kind == "f":
            return data.astype(np.float64)
        raise TypeError(f"{fn}: expected a real numeric array, got an array of dtype {data.dtype}")
    if isinstance(data, (list, tuple)):
        if _holds_value(data):
            raise TypeError(f"{fn}: got a list holding Values; use tn.stack(...) or "
                            f"tn.concatenate(...) to keep them in the graph, or .detach() them")
        try:
            arr = np.array(data)
        except ValueError as exc:
            raise ValueError(f"{fn}: expected a rectangular (non-ragged) nested list, got "
                             f"{_short(data)}") from exc
        if arr.dtype == object:
            raise ValueError(f"{fn}: expected a rectangular nested list of numbers, got "
                             f"{_short(data)}")
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{fn}: expected numbers, got {_short(data)} (dtype {arr.dtype})")
        return arr.astype(np.float64)
    raise TypeError(f"{fn}: expected a number, a list of numbers or an np.ndarray, "
                    f"got {type(data).__name__} {_short(data)}")


def _holds_value(items: Sequence[Any]) -> bool:
    """True when a (nested) list or tuple contains a Value anywhere."""
    return any(isinstance(x, Value) or (isinstance(x, (list, tuple)) and _holds_value(x))
               for x in items)


def _short(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 60 else text[:57] + "..."


def _fmt(shape: tuple[int, ...]) -> str:
    return str(tuple(shape))


class Value:
    """A scalar or tensor in the computation graph, with its gradient ``∂E/∂self`` after backward.

    ``Value(2.0)`` is a scalar (``.data`` is a Python float); ``Value([[1, 2], [3, 4]])`` is a
    tensor (``.data`` is a float64 ndarray; float32 arrays stay float32).  The engine sets
    ``op``, ``parents``, ``inputs`` (the parents' data as the op saw it, which its rules
    differentiate at) and ``params`` when an op makes the Value (``None`` and empty tuples for
    the leaves the user makes), and ``scope``, the module call it was made in.

    ``data`` is a property over the slot ``_data`` (which the engine reads directly): assigning
    it, also as ``p.data -= δ`` (an in-place change stored back), stamps ``version`` with the
    next number of a global write counter, and a node made by an op stamps ``recorded_at`` with
    the counter's value then.  ``backward`` refuses a node whose data or whose parent's data
    was assigned after it was recorded: its gradient would be that of another function.
    """

    __slots__ = ("_data", "grad", "requires_grad", "name", "op", "parents", "inputs", "params",
                 "scope", "retains_grad", "version", "recorded_at", "_trace", "__weakref__")

    def __init__(self, data: Any, requires_grad: bool = True, name: str | None = None) -> None:
        self._data = _as_data(data)
        self.version = 0
        self.recorded_at = 0
        self.grad: Any = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self.op: Op | None = None
        self.parents: tuple[Value, ...] = ()
        self.inputs: tuple[Any, ...] = ()
        self.params: tuple[Any, ...] = ()
        self.scope = STATE.scope
        self.retains_grad = False
        self._trace: Any = None

    @property
    def data(self) -> Any:
        """The number (a Python float) or the array (an ``np.ndarray``) this Value holds."""
        return self._data

    @data.setter
    def data(self, value: Any) -> None:
        global _writes
        _writes += 1                           # a graph recorded before this write is stale
        self._data = value
        self.version = _writes

    @property
    def is_leaf(self) -> bool:
        """True for Values made by the user rather than by an op."""
        return self.op is None

    # -- properties ----------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``data``: ``()`` for scalars."""
        return () if type(self._data) is float else self._data.shape

    @property
    def ndim(self) -> int:
        """Number of dimensions of ``data``."""
        return 0 if type(self._data) is float else self._data.ndim

    @property
    def dtype(self) -> np.dtype[Any]:
        """NumPy dtype of ``data`` (float64 for Python-float scalars)."""
        return np.dtype(np.float64) if type(self._data) is float else self._data.dtype

    @property
    def size(self) -> int:
        """Number of entries of ``data``."""
        return 1 if type(self._data) is float else int(self._data.size)

    @property
    def T(self) -> Value:
        """The transpose (axes reversed)."""
        return self.transpose()

    def item(self) -> float:
        """The single number held by a one-entry Value, as a Python float."""
        if type(self._data) is float:
            return self._data
        if self._data.size != 1:
            raise ValueError(f"item: expected a Value with one entry, got shape "
                             f"{_fmt(self._data.shape)}")
        return float(self._data.reshape(()))

    def numpy(self) -> np.ndarray:
        """A copy of ``data`` as an ndarray (changing it does not change the Value)."""
        return np.array(self._data)

    def __repr__(self) -> str:
        """NumPy's repr with ``Value`` for ``array`` (``Value(0.53120937)``, ``Value([[1., 2.],
        ...``), the same for a Python float and a 0-d array; then ``grad=`` and ``name=``."""
        text = "Value" + np.array_repr(np.asarray(self.data))[len("array"):-1]  # as wide
        if self.grad is not None:
            grad = self.grad.data if isinstance(self.grad, Value) else self.grad
            text += ", grad="
            text += np.array2string(np.asarray(grad), separator=", ",
                                    prefix=" " * len(text.rsplit("\n", 1)[-1]))
        if self.name:
            text += f", name={self.name!r}"
        return text + ")"

    # -- gradients -----------------------------------------------------------------------------

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad = None``)."""
        self.grad = None

    def retain_grad(self) -> Value:
        """Keep ``.grad`` on this intermediate node after backward (e.g. δ = ∂E/∂net)."""
        self.retains_grad = True
        return self

    def detach(self) -> Value:
        """The same data as a new leaf that does not require grad (a constant)."""
        return _leaf(self._data, False, self.name)

    def requires_grad_(self, flag: bool = True) -> Value:
        """Set ``requires_grad`` on a leaf in place and return it."""
        if self.op is not None and not flag:
            raise ValueError("requires_grad_: only leaves can be switched off; use detach()")
        self.requires_grad = bool(flag)
        return self

    def backward(self, grad: Any = None, create_graph: bool = False,
                 retain_grads: bool = False) -> None:
        """Reverse mode: accumulate ``∂self/∂leaf`` into every leaf's ``.grad`` by the chain rule.

        Visits the graph once in reverse topological order; node by node,
        ``∂E/∂parent += ∂E/∂node · ∂node/∂parent`` with the local factor from the rule table.
        ``grad`` seeds ``∂E/∂self`` (required unless ``self`` has one entry). With
        ``create_graph=True`` the gradients are Values recorded in the graph (for second
        derivatives); ``retain_grads=True`` keeps ``.grad`` on every node, not just the leaves.
        """
        if not self.requires_grad:
            raise ValueError("backward: this Value does not require grad (it is a constant, was "
                             "made with requires_grad=False, or was computed under no_grad())")
        side_effect("calls backward(), which writes .grad,", "return E from the function "
                    "instead: the compiled function runs the backward pass itself")
        seed = self._seed(grad)
        if create_graph:
            seed = _leaf(seed, False, None)
        backpropagate(self, seed, create_graph, retain_grads)

    def _seed(self, grad: Any) -> Any:
        """∂E/∂self to start from: 1 for a one-entry root, else ``grad`` checked for its shape."""
        data = self._data
        if grad is None:
            if type(data) is float:
                return 1.0
            if data.size != 1:
                raise ValueError(f"backward: the root has shape {_fmt(data.shape)}; pass grad= "
                                 f"(an array of that shape) or reduce it to a scalar first")
            return np.ones(data.shape, dtype=data.dtype)
        grad = _as_data(grad._data if isinstance(grad, Value) else grad, "backward")
        if type(data) is float:
            if np.ndim(grad) != 0:
                raise ValueError(f"backward: grad must be a number for a scalar root, got shape "
                                 f"{_fmt(np.shape(grad))}")
            return float(grad)
        seed = np.asarray(grad, dtype=data.dtype)
        if seed.shape != data.shape:
            raise ValueError(f"backward: grad has shape {_fmt(seed.shape)} but the root has "
                             f"shape {_fmt(data.shape)}")
        return seed

    # -- operators -----------------------------------------------------------------------------

    def __add__(self, other: Operand) -> Value:
        return _binary(ops.ADD, self, other)

    def __radd__(self, other: Operand) -> Value:
        return _binary(ops.ADD, other, self)

    def __sub__(self, other: Operand) -> Value:
        return _binary(ops.SUB, self, other)

    def __rsub__(self, other: Operand) -> Value:
        return _binary(ops.SUB, other, self)

    def __mul__(self, other: Operand) -> Value:
        return _binary(ops.MUL, self, other)

    def __rmul__(self, other: Operand) -> Value:
        return _binary(ops.MUL, other, self)

    def __truediv__(self, other: Operand) -> Value:
        return _binary(ops.DIV, self, other)

    def __rtruediv__(self, other: Operand) -> Value:
        return _binary(ops.DIV, other, self)

    def __matmul__(self, other: Operand) -> Value:
        return _matmul(self, other)

    def __rmatmul__(self, other: Operand) -> Value:
        return _matmul(_constant(other, "matmul"), self)

    def __pow__(self, exponent: Operand) -> Value:
        if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
            if type(exponent) is not int and type(exponent) is not float:
                exponent = float(exponent)    # np.float64: keep the scalar path in Python floats
            return _unary(ops.POWC, self, (exponent,))
        return _binary(ops.POW, self, exponent)

    def __rpow__(self, base: Operand) -> Value:
        return _binary(ops.POW, base, self)

    def __neg__(self) -> Value:
        return _unary(ops.NEG, self)

    def __iter__(self) -> Iterator[Value]:
        """Iterate over the first axis, one Value per row (each in the graph)."""
        if type(self._data) is float or self._data.ndim == 0:
            raise TypeError(f"iter: cannot iterate over a scalar Value (shape "
                            f"{_fmt(self.shape)})")
        for i in range(self._data.shape[0]):
            yield self[i]

    def __getitem__(self, index: Any) -> Value:
        index = _normalize_index(index)
        try:
            return _unary(ops.GETITEM, self, (index,))
        except (IndexError, TypeError) as exc:
            raise IndexError(f"getitem: index {_short(index)} is invalid for a Value of shape "
                             f"{_fmt(self.shape)}: {exc}") from None

    # -- element-wise functions ----------------------------------------------------------------

    def exp(self) -> Value:
        """eˣ, element-wise."""
        return _unary(ops.EXP, self)

    def log(self) -> Value:
        """Natural logarithm, element-wise."""
        return _unary(ops.LOG, self)

    def sqrt(self) -> Value:
        """Square root, element-wise."""
        return _unary(ops.SQRT, self)

    def abs(self) -> Value:
        """Absolute value, element-wise."""
        return _unary(ops.ABS, self)

    def tanh(self) -> Value:
        """Hyperbolic tangent, element-wise; tanh' = 1 − tanh²."""
        return _unary(ops.TANH, self)

    def sigmoid(self) -> Value:
        """Logistic φ(x) = 1 / (1 + e^{-x}), element-wise and overflow-free; φ' = φ(1 − φ)."""
        return _unary(ops.SIGMOID, self)

    def relu(self) -> Value:
        """max(x, 0), element-wise; relu' = 1 where x > 0, else 0."""
        return _unary(ops.RELU, self)

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """x where x > 0, else ``slope``·x."""
        slope = real_number(slope, "slope", "leaky_relu", low=None)
        return _unary(ops.LEAKY_RELU, self, (slope,))

    def softplus(self) -> Value:
        """log(1 + eˣ), element-wise and overflow-free; softplus' = logistic φ."""
        return _unary(ops.SOFTPLUS, self)

    # -- reductions and shape ------------------------------------------------------------------

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        """Σ over ``axis`` (all entries by default)."""
        return _unary(ops.SUM, self, (_axes(axis, self.ndim, "sum"), bool(keepdims)))

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        """Average over ``axis`` (all entries by default)."""
        return _unary(ops.MEAN, self, (_axes(axis, self.ndim, "mean"), bool(keepdims)))

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        """Maximum over ``axis``; the gradient is shared equally among tied maxima."""
        if self.size == 0:
            raise ValueError("max: cannot take the maximum of an empty Value")
        return _unary(ops.MAX, self, (_axes(axis, self.ndim, "max"), bool(keepdims)))

    def reshape(self, *shape: Any) -> Value:
        """The same entries in a new shape (``-1`` infers one dimension)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        new = _check_reshape(self.shape, shape)
        return _unary(ops.RESHAPE, self, (new,))

    def transpose(self, *axes: Any) -> Value:
        """Permute the axes (reverse them by default): ``.T`` for matrices."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        ndim = self.ndim
        if not axes:
            perm = tuple(range(ndim - 1, -1, -1))
        else:
            axes = int_tuple(axes, "axes", "transpose")
            perm = tuple(a % ndim if -ndim <= a < ndim else -1 for a in axes)
            if len(perm) != ndim or sorted(perm) != list(range(ndim)):
                raise ValueError(f"transpose: axes {tuple(axes)} are not a permutation of the "
                                 f"{ndim} axes of a Value of shape {_fmt(self.shape)}")
        return _unary(ops.TRANSPOSE, self, (perm,))

    def broadcast_to(self, shape: int | Sequence[int]) -> Value:
        """Repeat the entries along new or length-1 axes to reach ``shape`` (NumPy rules)."""
        target = int_tuple((shape,) if isinstance(shape, (int, np.integer)) else shape,
                           "dimensions", "broadcast_to")
        try:
            np.broadcast_shapes(self.shape, target)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {_fmt(self.shape)} to "
                             f"{_fmt(target)}") from None
        return _unary(ops.BROADCAST_TO, self, (target,))

    def softmax(self, axis: int = -1) -> Value:
        """softmax(x)_i = e^{x_i} / Σ_j e^{x_j} along ``axis`` (shifted by the max: stable)."""
        return _unary(ops.SOFTMAX, self, (_one_axis(axis, self.ndim, "softmax"),))

    def log_softmax(self, axis: int = -1) -> Value:
        """log softmax(x) = x − logsumexp(x) along ``axis`` (stable for any x)."""
        return _unary(ops.LOG_SOFTMAX, self, (_one_axis(axis, self.ndim, "log_softmax"),))

    def _scatter_into(self, shape: tuple[int, ...], index: Any) -> Value:
        """A zero tensor of ``shape`` with self added at ``index`` (the VJP of indexing)."""
        return _unary(ops.SCATTER, self, (shape, index))

    @staticmethod
    def _apply_op(op: Op, inputs: tuple[Any, ...], params: tuple[Any, ...]) -> Value:
        """Record ``op`` on ``inputs`` (numbers and arrays become constants): how the rule
        table's rules apply another op when they run on Values (``ops.apply_op``)."""
        return apply(op, tuple(_constant(x, op.name) for x in inputs), params)

    # -- more ops: clipping, reductions, shapes, padding ---------------------------------------

    def clip(self, min: float | None = None, max: float | None = None) -> Value:
        """x limited to [min, max], element-wise; the gradient is 1 where min ≤ x ≤ max, else 0."""
        low, high = _bound(min, "min"), _bound(max, "max")
        if low is None and high is None:
            raise ValueError("clip: give min, max or both, got neither")
        return _unary(ops.CLIP, self, (low, high))

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        """Minimum over ``axis``; the gradient is shared equally among tied minima."""
        if self.size == 0:
            raise ValueError("min: cannot take the minimum of an empty Value")
        return _unary(ops.MIN, self, (_axes(axis, self.ndim, "min"), bool(keepdims)))

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Any:
        """Index of the (first) maximum over ``axis``, of the flattened data for None: integers,
        not a Value (an index has no gradient)."""
        if self.size == 0:
            raise ValueError("argmax: cannot take the argmax of an empty Value")
        ax = None if axis is None else _one_axis(axis, self.ndim, "argmax")
        return np.argmax(self.data, axis=ax, keepdims=bool(keepdims))

    def logsumexp(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        """log Σ eˣ over ``axis``, shifted by the maximum so it never overflows;
        ∂/∂x = softmax(x)."""
        if self.size == 0:
            raise ValueError("logsumexp: cannot reduce an empty Value")
        return _unary(ops.LOGSUMEXP, self, (_axes(axis, self.ndim, "logsumexp"), bool(keepdims)))

    def var(self, axis: int | Sequence[int] | None = None, ddof: int = 0,
            keepdims: bool = False) -> Value:
        """Variance Σ (x − mean)² / (n − ddof) over ``axis`` (ddof=1: the unbiased estimate);
        ∂/∂x = 2(x − mean)/(n − ddof)."""
        axes = _axes(axis, self.ndim, "var")
        if isinstance(ddof, bool) or not isinstance(ddof, (int, np.integer)) or ddof < 0:
            raise ValueError(f"var: ddof must be a non-negative integer, got {ddof!r}")
        n = math.prod(self.shape) if axes is None else math.prod(self.shape[a] for a in axes)
        if n - ddof <= 0:
            raise ValueError(f"var: ddof={ddof} needs more than {ddof} entries to average, got "
                             f"{n} (shape {_fmt(self.shape)}, axis={axis!r})")
        return _unary(ops.VAR, self, (axes, int(ddof), bool(keepdims)))

    def std(self, axis: int | Sequence[int] | None = None, ddof: int = 0,
            keepdims: bool = False) -> Value:
        """Standard deviation √var (see ``var``); its derivative is the chain rule through √."""
        return self.var(axis, ddof, keepdims).sqrt()

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Value:
        """Axes ``start_dim`` … ``end_dim`` merged into one (a reshape): ``x.flatten(1)`` turns
        images (N, C, H, W) into rows (N, C·H·W)."""
        shape = self.shape
        if not shape:
            return self.reshape(1)
        start = _one_axis(start_dim, len(shape), "flatten")
        end = _one_axis(end_dim, len(shape), "flatten")
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for "
                             f"a Value of shape {_fmt(shape)}")
        merged = math.prod(shape[start:end + 1])
        return _unary(ops.RESHAPE, self, (shape[:start] + (merged,) + shape[end + 1:],))

    def squeeze(self, axis: int | Sequence[int] | None = None) -> Value:
        """Remove the length-1 axes (all of them, or those of ``axis`` that have length 1, as in
        PyTorch): a reshape."""
        shape = self.shape
        chosen = range(len(shape)) if axis is None else _axes(axis, len(shape), "squeeze") or ()
        drop = {a for a in chosen if shape[a] == 1}
        return _unary(ops.RESHAPE, self, (tuple(n for a, n in enumerate(shape) if a not in drop),))

    def unsqueeze(self, axis: int) -> Value:
        """A new axis of length 1 at position ``axis`` (−1: last), as ``np.expand_dims``: a
        reshape."""
        shape = list(self.shape)
        shape.insert(_one_axis(axis, len(shape) + 1, "unsqueeze"), 1)
        return _unary(ops.RESHAPE, self, (tuple(shape),))

    def pad(self, pad_width: int | Sequence[int] | Sequence[Sequence[int]],
            value: float = 0.0) -> Value:
        """``value`` added around the data, as ``np.pad(mode="constant")``: ``pad_width`` is n,
        (before, after), or one (before, after) per axis.  The gradient crops the padding."""
        if self.ndim == 0:
            raise ValueError("pad: a scalar Value has no axes to pad")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                              np.floating)):
            raise TypeError(f"pad: value must be a number, got {value!r}")
        return _unary(ops.PAD, self, (_pad_widths(pad_width, self.ndim), float(value)))

    # -- NumPy interop -------------------------------------------------------------------------
    # A Value works where NumPy expects an array: np.asarray(v) gives its data (a constant),
    # NumPy's ufuncs and functions run the op of the same meaning (np.exp(v) is v.exp()), and
    # comparisons give boolean arrays.  Anything without a rule raises a TypeError: no NumPy call
    # returns a result that silently lost the graph.

    __hash__ = object.__hash__   # identity, as the engine keys dicts and sets by node

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(v)``: the data as an array, a constant outside the graph (no gradient)."""
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return np.asarray(self.data, dtype=dtype)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NumPy ufuncs on Values: ``np.exp(v)`` is ``v.exp()``, ``array + v`` is a node of the
        graph, comparisons and tests (``np.isnan``) give boolean arrays; others raise."""
        return _numpy_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """NumPy functions on Values: ``np.sum(v)``, ``np.concatenate([u, v])``... are the
        Value functions of that meaning; ``np.shape(v)`` reads the data; others raise."""
        return _numpy_function(func, types, args, kwargs)

    def __float__(self) -> float:
        """``float(v)`` for a Value with one entry (a number: it has no gradient)."""
        return self._number("float")

    def __int__(self) -> int:
        """``int(v)`` for a Value with one entry, truncated towards 0 as ``int(2.7)``."""
        return int(self._number("int"))

    def _number(self, fn: str) -> float:
        if self.size != 1:
            raise TypeError(f"{fn}: only a Value with one entry converts to a number, got shape "
                            f"{_fmt(self.shape)}")
        return self.item()

    def __bool__(self) -> bool:
        """The truth of a one-entry Value (``if loss:``), as in NumPy; more entries raise."""
        if self.size != 1:
            raise ValueError(f"bool: the truth value of a Value with {self.size} entries (shape "
                             f"{_fmt(self.shape)}) is ambiguous; reduce it first, e.g. "
                             f"(v > 0).any() or (v > 0).all()")
        return bool(self.item())

    def __len__(self) -> int:
        """The length of the first axis, as ``len(array)``."""
        if self.ndim == 0:
            raise TypeError("len: a scalar Value (shape ()) has no length")
        return int(self.shape[0])

    def __abs__(self) -> Value:
        """``abs(v)``: |x| element-wise (``v.abs()``)."""
        return self.abs()

    def __lt__(self, other: Any) -> Any:
        """``v < other``: a boolean array (or NumPy bool) of the data: no gradient."""
        return np.less(self.data, _data_of(other))

    def __le__(self, other: Any) -> Any:
        """``v <= other``: a boolean array of the data."""
        return np.less_equal(self.data, _data_of(other))

    def __gt__(self, other: Any) -> Any:
        """``v > other``: a boolean array of the data."""
        return np.greater(self.data, _data_of(other))

    def __ge__(self, other: Any) -> Any:
        """``v >= other``: a boolean array of the data."""
        return np.greater_equal(self.data, _data_of(other))

    def __eq__(self, other: object) -> Any:
        """``v == other``: a boolean array of the data, entry by entry (hashing stays identity)."""
        try:
            return np.equal(self.data, _data_of(other))
        except TypeError:                 # not comparable with numbers: not equal, as NumPy says
            return NotImplemented

    def __ne__(self, other: object) -> Any:
        """``v != other``: a boolean array of the data, entry by entry."""
        try:
            return np.not_equal(self.data, _data_of(other))
        except TypeError:
            return NotImplemented


# ----------------------------------------------------------------------------------------------
# Node creation: the only place a Value gets an op and parents
# ----------------------------------------------------------------------------------------------

_writes = 0
"""How many times a Value's ``data`` has been assigned: the clock ``version`` and ``recorded_at``
are read on."""



def _leaf(data: Any, requires_grad: bool, name: str | None) -> Value:
    """A leaf holding ``data`` as it is (already checked): a parameter, or a constant."""
    v = Value.__new__(Value)
    v._data = data
    v.version = 0
    v.recorded_at = 0
    v.grad = None
    v.requires_grad = requires_grad
    v.name = name
    v.op = None
    v.parents = ()
    v.inputs = ()
    v.params = ()
    v.scope = STATE.scope
    v.retains_grad = False
    v._trace = None
    return v


def _constant(x: Any, fn: str) -> Value:
    """``x`` itself if it is a Value, else a constant leaf holding the number or array ``x``."""
    if type(x) is float:                      # the scalar fast path: nothing to check
        return _leaf(x, False, None)
    if isinstance(x, Value):
        return x
    return _leaf(_as_data(x, fn), False, None)


def _record(op: Op, parents: tuple[Value, ...], inputs: tuple[Any, ...], data: Any,
            params: tuple[Any, ...] = ()) -> Value:
    """The new node ``data = op.forward(*inputs, *params)``, recorded if a parent needs a gradient.

    ``inputs`` are the parents' data.  The node keeps its op, parents, inputs and params when
    recording is on (not under ``no_grad()``) and some parent requires grad; otherwise it is a
    constant leaf.  While ``tn.jvp`` runs, the node also gets its tangent (``forward.py``).
    """
    if type(data) is not float and type(data) is not np.ndarray:
        data = np.asarray(data)               # a NumPy scalar (float with 0-d array): 0-d array
    v = _leaf(data, False, None)
    if STATE.grad_enabled:
        for parent in parents:
            if parent.requires_grad:
                v.requires_grad = True
                v.op = op
                v.parents = parents
                v.inputs = inputs
                v.params = params
                v.recorded_at = _writes
                break
    if STATE.anomaly:
        v._trace = _user_frames()
        check_finite(data, op.name, v._trace, "forward")
    if STATE.forward_traces:                  # forward mode: the tangent alongside the value
        carry_tangents(v, op, parents, inputs, params)
    return v


def apply(op: Op, parents: tuple[Value, ...], params: tuple[Any, ...] = ()) -> Value:
    """Run ``op`` of the rule table forward on the parents' data and record the result."""
    inputs = tuple([p._data for p in parents])
    return _record(op, parents, inputs, op.forward(*inputs, *params), params)


def _unary(op: Op, x: Value, params: tuple[Any, ...] = ()) -> Value:
    """Apply a one-input op of the rule table to ``x``."""
    return _record(op, (x,), (x._data,), op.forward(x._data, *params), params)


def _binary(op: Op, a: Any, b: Any) -> Value:
    """An element-wise binary op with NumPy broadcasting; shape errors name both shapes."""
    if type(a) is not Value:
        a = _constant(a, op.name)
    if type(b) is not Value:
        b = _constant(b, op.name)
    try:
        data = op.forward(a._data, b._data)
    except ValueError:
        raise ValueError(f"{op.name}: shapes {_fmt(a.shape)} and {_fmt(b.shape)} cannot be "
                         f"broadcast together") from None
    return _record(op, (a, b), (a._data, b._data), data)


def _matmul(a: Value, b: Any) -> Value:
    if type(b) is not Value:
        b = _constant(b, "matmul")
    sa, sb = a.shape, b.shape
    if not sa or not sb:
        raise ValueError(f"matmul: operands must have at least 1 dimension, got shapes "
                         f"{_fmt(sa)} @ {_fmt(sb)} (use * for scalars)")
    try:
        data = ops.MATMUL.forward(a._data, b._data)
    except ValueError:
        inner_a = sa[-1]
        inner_b = sb[0] if len(sb) == 1 else sb[-2]
        why = (f"inner dimensions {inner_a} and {inner_b} differ" if inner_a != inner_b
               else "batch dimensions cannot be broadcast")
        raise ValueError(f"matmul: {_fmt(sa)} @ {_fmt(sb)}: {why}") from None
    return _record(ops.MATMUL, (a, b), (a._data, b._data), data)


def linear(x: Value, weight: Value, bias: Value | None = None) -> Value:
    """The affine layer map f: ``x @ W.T + b`` in one node; per sample net X = W · out X + B."""
    if type(x) is not Value:
        x = _constant(x, "linear")
    xd, wd = x._data, weight._data
    ws: tuple[int, ...] = () if type(wd) is float else wd.shape
    if len(ws) != 2:
        raise ValueError(f"linear: weight must be a matrix (out_features, in_features), got "
                         f"shape {_fmt(ws)}")
    xs: tuple[int, ...] = () if type(xd) is float else xd.shape
    if not xs or xs[-1] != ws[1]:
        raise ValueError(f"linear: expected {ws[1]} features, got "
                         f"{xs[-1] if xs else 'a scalar'} (input shape {_fmt(xs)}, weight "
                         f"shape {_fmt(ws)})")
    if bias is None:
        return _record(ops.LINEAR, (x, weight), (xd, wd), ops.LINEAR.forward(xd, wd))
    bd = bias._data
    if type(bd) is float or bd.shape != (ws[0],):
        raise ValueError(f"linear: bias must have shape ({ws[0]},), got {_fmt(bias.shape)}")
    return _record(ops.LINEAR, (x, weight, bias), (xd, wd, bd), ops.LINEAR.forward(xd, wd, bd))


# ----------------------------------------------------------------------------------------------
# Backward
# ----------------------------------------------------------------------------------------------


def backpropagate(root: Value, seed: Any, create_graph: bool = False,
                  retain_grads: bool = False, collect: dict[Value, Any] | None = None) -> None:
    """Propagate ``seed = ∂E/∂root`` to every node that requires grad: the chain rule, in reverse.

    Nodes are visited in reverse topological order, so a node comes after every node that uses
    it: by then its gradient ``g = ∂E/∂node`` is complete.  It hands ``g · ∂node/∂parent`` (the
    op's rule in the table) to each parent that requires grad, where contributions from several
    children are summed.  Leaves (and retained nodes) keep their total in ``.grad``; everything
    else is dropped once handed on.  With ``create_graph`` the rules run on Values, so the
    gradients are recorded in the graph too.  With ``collect`` (a dict whose keys are the nodes
    wanted), their gradients are written into it instead, and no ``.grad`` changes anywhere: the
    function transforms (``tn.grad``, ``tn.vjp``) use this.
    """
    grads = {root: seed}                      # ∂E/∂node, summed over the children seen so far
    owned: set[Value] = set()                 # nodes whose array in grads was made here
    recording = STATE.grad_enabled
    STATE.grad_enabled = create_graph         # record the rules' own steps only if asked to
    try:
        for node in reversed(toposort(root)):
            g = grads.pop(node, None)
            if g is None:                     # a constant: no gradient flows into it
                continue
            if collect is not None:
                if node in collect:
                    collect[node] = g
            elif node.op is None or node.retains_grad or retain_grads:
                _keep_grad(node, g, node in owned)
            if node.op is None:
                continue
            args = rule_args(node, g, create_graph)
            for i, parent in enumerate(node.parents):
                if parent.requires_grad:
                    _accumulate(grads, owned, parent, chain_rule_step(node, i, args), args)
    finally:
        STATE.grad_enabled = recording


def rule_args(node: Value, g: Any, create_graph: bool = False) -> tuple[Any, ...]:
    """The arguments of ``node``'s rules: ``(g, ans, *inputs, *params)``, as the rule table's
    contract gives them (Values, when the gradient's computation is recorded).

    Raises RuntimeError if the node's data or a parent's was assigned after the node was
    recorded (an optimizer step before ``backward``): the rules would differentiate another
    function.
    """
    if node.recorded_at != _writes:           # data was assigned since: was it this node's?
        _check_unchanged(node)
    if create_graph:
        return (g, node, *node.parents, *node.params)
    return (g, node._data, *node.inputs, *node.params)


def chain_rule_step(node: Value, i: int, args: tuple[Any, ...]) -> Any:
    """``g · ∂node/∂parent_i``: the rule table's VJP for input ``i``, in that input's shape.

    ``args`` are ``rule_args(node, g)``.  A broadcasting op's result is summed back over the
    broadcast axes; a float rule that raises (``1.0 / 0.0``) is run again on NumPy floats.
    """
    op = node.op
    assert op is not None, "chain_rule_step: a leaf has no rule"
    try:
        local = op.vjps[i](*args)
    except (ZeroDivisionError, OverflowError):
        local = ops.rerun_on_numpy_floats(op.vjps[i], args)
    if op.broadcasts and type(local) is not float:
        local = ops.sum_to(local, node.parents[i]._data)
    if STATE.anomaly:
        check_finite(local, op.name, node._trace, f"backward (gradient for input {i})")
    return local


def _accumulate(grads: dict[Value, Any], owned: set[Value], node: Value, local: Any,
                args: tuple[Any, ...]) -> None:
    """Add ``local`` to ``grads[node]`` without ever writing into an array the engine did not make.

    The first contribution is kept by reference; it is ours when the rule made it (a new array,
    not one of its arguments or a view of one).  A second one is added into the first if that
    is ours, else into a new sum, which is ours from then on.
    """
    total = grads.get(node)
    if total is None:
        grads[node] = local
        if type(local) is np.ndarray and _made_by_rule(local, args):
            owned.add(node)
    elif node in owned and np.result_type(total, local) == total.dtype:
        total += local
    else:
        grads[node] = total = total + local
        if type(total) is np.ndarray:
            owned.add(node)


def _check_unchanged(node: Value) -> None:
    """Raise, naming the Value, if ``node``'s data or a parent's was assigned after ``node`` was
    recorded (its ``version`` is newer than the node's ``recorded_at``)."""
    op = node.op
    assert op is not None, "_check_unchanged: a leaf has no recorded inputs"
    for i, v in enumerate((node, *node.parents)):
        if v.version > node.recorded_at:
            role = f"the result of op '{op.name}'" if i == 0 else f"input {i - 1} of op '{op.name}'"
            subject = f"{v.name!r} ({role}, shape {_fmt(v.shape)})" if v.name else \
                f"{role} (shape {_fmt(v.shape)})"
            raise RuntimeError(
                f"backward: {subject} was assigned after the forward pass (an optimizer step, or "
                f"a write to .data), so the gradient would be that of another function; call "
                f"backward() before changing it, or run the forward pass again")


def _made_by_rule(local: Any, args: tuple[Any, ...]) -> bool:
    """True for an array the rule made for this edge: it owns its memory and is not an argument."""
    if local.base is not None or not local.flags.writeable:
        return False                          # a view (of g, say) or a read-only array
    for arg in args:  # noqa: SIM110 (all() would make a generator per edge)
        if local is arg:                      # g (or an input) passed through unchanged
            return False
    return True


def _keep_grad(node: Value, g: Any, owned: bool) -> None:
    """Accumulate ``g`` into ``node.grad`` in the node's own type: a float or a writable array of
    the node's dtype that no one else holds (or a Value, with ``create_graph``)."""
    if isinstance(g, Value):
        node.grad = g if node.grad is None else node.grad + g
        return
    data = node._data
    if type(data) is float:
        g = float(g)
        node.grad = g if node.grad is None else float(node.grad + g)
    elif node.grad is None:
        node.grad = g if owned and g.dtype == data.dtype else np.array(g, dtype=data.dtype)
    else:
        node.grad = np.asarray(node.grad + g, dtype=data.dtype)


# ----------------------------------------------------------------------------------------------
# Argument checks shared by the methods
# ----------------------------------------------------------------------------------------------


def _axes(axis: Any, ndim: int, fn: str) -> tuple[int, ...] | None:
    """Normalise ``axis`` (int, sequence or None) to a sorted tuple, with a clear error."""
    if axis is None:
        return None
    try:
        items = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    except TypeError:                         # e.g. axis=1.0: not an int and not iterable
        raise TypeError(f"{fn}: axis must be an int or a tuple of ints, got {axis!r}") from None
    out = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{fn}: axis must be an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < ndim:
            raise ValueError(f"{fn}: axis {a} is out of range for a Value with {ndim} "
                             f"dimension{'s' if ndim != 1 else ''}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{fn}: repeated axis in {axis!r}")
    return tuple(sorted(out))


def _one_axis(axis: Any, ndim: int, fn: str) -> int:
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"{fn}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{fn}: axis {axis} is out of range for a Value with {ndim} "
                         f"dimension{'s' if ndim != 1 else ''}")
    return int(axis) % ndim


def _check_reshape(old: tuple[int, ...], shape: tuple[Any, ...]) -> tuple[int, ...]:
    size = math.prod(old)
    new = int_tuple(shape, "dimensions", "reshape")
    known = math.prod(n for n in new if n != -1)
    if new.count(-1) > 1 or any(n < -1 for n in new):
        raise ValueError(f"reshape: invalid target shape {new}")
    if -1 in new:
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape a Value of shape {_fmt(old)} ({size} "
                             f"entries) into {new}")
        new = tuple(size // known if n == -1 else n for n in new)
    if math.prod(new) != size:
        raise ValueError(f"reshape: cannot reshape a Value of shape {_fmt(old)} ({size} entries) "
                         f"into {new} ({math.prod(new)} entries)")
    return new


def _normalize_index(index: Any) -> Any:
    """Replace Values and lists inside an index by plain integer arrays."""
    if isinstance(index, tuple):
        return tuple(_normalize_index_part(p) for p in index)
    return _normalize_index_part(index)


def _normalize_index_part(part: Any) -> Any:
    """One part of an index, with arrays copied: the node keeps the index its op used, even if the
    caller changes their array afterwards."""
    if isinstance(part, Value):
        raise TypeError("getitem: index with integers, slices, lists or NumPy arrays (integer or "
                        "boolean), not a Value: a Value holds floats, so a boolean mask in it "
                        "would be read as the positions 0 and 1")
    if isinstance(part, (list, np.ndarray)):
        part = np.array(part)
        if part.dtype.kind == "f":
            if not np.all(part == np.round(part)):
                raise IndexError("getitem: index arrays must hold integers")
            part = part.astype(np.intp)
    return part


def _data_of(x: Any) -> Any:
    """The data of a Value, anything else unchanged (for comparisons, which have no gradient)."""
    return x.data if isinstance(x, Value) else x


def _bound(x: Any, name: str) -> float | None:
    """A clip bound: None, or a number that is not NaN."""
    if x is None:
        return None
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.integer, np.floating)) \
            or math.isnan(x):
        raise TypeError(f"clip: {name} must be a number or None, got {x!r}")
    return float(x)


def _pad_widths(pad_width: Any, ndim: int) -> tuple[tuple[int, int], ...]:
    """``np.pad``'s forms of pad_width (n, (before, after), or one pair per axis) as one
    non-negative (before, after) pair per axis."""
    arr = np.asarray(pad_width)
    if arr.dtype.kind not in "iu" or arr.ndim > 2 or np.any(arr < 0):
        raise ValueError(f"pad: pad_width must hold non-negative integers, got {pad_width!r}")
    try:
        pairs = np.broadcast_to(arr.reshape(-1, 2) if arr.ndim == 2 or arr.size == 2
                                else arr.reshape(-1, 1), (ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit a Value with {ndim} "
                         f"axes: give n, (before, after) or {ndim} such pairs") from None
    return tuple((int(b), int(a)) for b, a in pairs)


# ----------------------------------------------------------------------------------------------
# Functions of several Values (as ``tn.concatenate``, ``tn.where``...): one node each
# ----------------------------------------------------------------------------------------------


def _operands(values: Any, fn: str) -> tuple[Value, ...]:
    """A non-empty sequence of Values, numbers or arrays, each as a Value."""
    if isinstance(values, (Value, np.ndarray)) or not isinstance(values, (list, tuple)):
        raise TypeError(f"{fn}: expected a list or tuple of Values (or arrays), got "
                        f"{type(values).__name__}")
    if not values:
        raise ValueError(f"{fn}: expected at least one Value, got an empty sequence")
    return tuple(_constant(v, fn) for v in values)


def concatenate(values: Sequence[Operand], axis: int = 0) -> Value:
    """Join Values along an existing axis, in one node; ∂E/∂ each is its slice of ∂E/∂out."""
    parts = _operands(values, "concatenate")
    shapes = [p.shape for p in parts]
    ndim = len(shapes[0])
    if ndim == 0 or any(len(s) != ndim for s in shapes):
        raise ValueError(f"concatenate: expected Values with the same number (≥ 1) of axes, got "
                         f"shapes {', '.join(map(_fmt, shapes))}")
    ax = _one_axis(axis, ndim, "concatenate")
    if any(s[:ax] + s[ax + 1:] != shapes[0][:ax] + shapes[0][ax + 1:] for s in shapes):
        raise ValueError(f"concatenate: shapes {', '.join(map(_fmt, shapes))} differ outside "
                         f"axis {axis}")
    return apply(ops.CONCATENATE, parts, (ax,))


def stack(values: Sequence[Operand], axis: int = 0) -> Value:
    """Join Values of one shape along a new axis, in one node; ∂E/∂ each is its entry of ∂E/∂out."""
    parts = _operands(values, "stack")
    shapes = {p.shape for p in parts}
    if len(shapes) > 1:
        raise ValueError(f"stack: expected Values of one shape, got shapes "
                         f"{', '.join(_fmt(p.shape) for p in parts)}")
    ax = _one_axis(axis, parts[0].ndim + 1, "stack")
    return apply(ops.STACK, parts, (ax,))


def where(condition: Any, a: Operand, b: Operand) -> Value:
    """``a`` where ``condition`` holds, else ``b`` (NumPy broadcasting); the condition is a
    constant: ∂E/∂a is ∂E/∂out where it holds and 0 elsewhere, and the other way for b."""
    raw = np.asarray(_data_of(condition))
    if raw.dtype.kind not in "biuf":
        raise TypeError(f"where: condition must hold booleans or numbers, got dtype {raw.dtype}")
    cond: Any = raw.astype(bool) if raw.ndim else bool(raw)
    a, b = _constant(a, "where"), _constant(b, "where")
    try:
        np.broadcast_shapes(raw.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(f"where: shapes {_fmt(raw.shape)} (condition), {_fmt(a.shape)} and "
                         f"{_fmt(b.shape)} cannot be broadcast together") from None
    return apply(ops.WHERE, (a, b), (cond,))


def maximum(a: Operand, b: Operand) -> Value:
    """The larger of a and b, element-wise with broadcasting; ties split the gradient in half."""
    return _binary(ops.MAXIMUM, a, b)


def minimum(a: Operand, b: Operand) -> Value:
    """The smaller of a and b, element-wise with broadcasting; ties split the gradient in half."""
    return _binary(ops.MINIMUM, a, b)


# ----------------------------------------------------------------------------------------------
# NumPy's ufuncs and functions on Values (Value.__array_ufunc__ and __array_function__)
# ----------------------------------------------------------------------------------------------


def _power(a: Any, b: Any) -> Value:
    return a ** b if isinstance(a, Value) else _binary(ops.POW, a, b)


_UFUNCS: dict[np.ufunc, Callable[..., Value]] = {
    np.add: lambda a, b: _binary(ops.ADD, a, b),
    np.subtract: lambda a, b: _binary(ops.SUB, a, b),
    np.multiply: lambda a, b: _binary(ops.MUL, a, b),
    np.divide: lambda a, b: _binary(ops.DIV, a, b),
    np.power: _power,
    np.matmul: lambda a, b: _matmul(_constant(a, "matmul"), b),
    np.negative: lambda x: -x,
    np.square: lambda x: x ** 2,
    np.exp: Value.exp, np.log: Value.log, np.sqrt: Value.sqrt, np.absolute: Value.abs,
    np.tanh: Value.tanh, np.maximum: maximum, np.minimum: minimum,
}
"""The ufuncs with an op in the rule table: a Value argument makes them a node of the graph."""

_DATA_UFUNCS = frozenset({
    np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
    np.isfinite, np.isnan, np.isinf, np.signbit, np.sign, np.floor, np.ceil,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor,
})
"""Ufuncs whose result has no gradient (comparisons, tests, step functions): run on the data."""


def _numpy_ufunc(ufunc: np.ufunc, method: str, inputs: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> Any:
    name = f"np.{ufunc.__name__}"
    if method != "__call__":
        raise TypeError(f"{name}.{method} does not work on Values; use the Value methods "
                        f"(v.sum(axis=...), v.max(axis=...))")
    out = kwargs.pop("out", None)
    if ufunc in _DATA_UFUNCS:
        if out is not None and any(isinstance(o, Value) for o in out):
            raise TypeError(f"{name}: out= must be arrays, not Values")
        extra = {} if out is None else {"out": out}
        return ufunc(*[_data_of(x) for x in inputs], **kwargs, **extra)
    op = _UFUNCS.get(ufunc)
    if op is None:
        raise TypeError(f"{name}: the rule table has no op for this ufunc, so its result on a "
                        f"Value would have no gradient; use Value operations, or np.asarray(v) "
                        f"for the numbers alone")
    if kwargs:
        raise TypeError(f"{name}: keyword arguments {sorted(kwargs)} are not supported with "
                        f"Values")
    result = op(*inputs)
    if out is not None and not (len(out) == 1 and out[0] is inputs[0]
                                and not isinstance(out[0], Value)):
        raise TypeError(f"{name}: out= cannot hold a Value's result (a new node of the graph); "
                        f"assign the result instead")
    return result     # `array += v` rebinds the name to the Value array + v (the array is kept)


def _refuse(fn: str, **given: Any) -> None:
    """Raise for NumPy keyword arguments a Value function has no use for (out=, dtype=...)."""
    used = sorted(k for k, v in given.items() if v is not None and k != "keepdims")
    if used:
        raise TypeError(f"np.{fn}: {', '.join(used)} {'is' if len(used) == 1 else 'are'} not "
                        f"supported on Values")


def _np_sum_like(method: str) -> Callable[..., Value]:
    def call(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
             keepdims: bool = False, **rest: Any) -> Value:
        _refuse(method, dtype=dtype, out=out, **rest)
        return getattr(_constant(a, method), method)(axis=axis, keepdims=keepdims)
    return call


def _np_max_like(method: str) -> Callable[..., Value]:
    def call(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,
             **rest: Any) -> Value:
        _refuse(method, out=out, **rest)
        return getattr(_constant(a, method), method)(axis=axis, keepdims=keepdims)
    return call


def _np_var_like(method: str) -> Callable[..., Value]:
    def call(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: int = 0,
             keepdims: bool = False, **rest: Any) -> Value:
        _refuse(method, dtype=dtype, out=out, **rest)
        return getattr(_constant(a, method), method)(axis=axis, ddof=ddof, keepdims=keepdims)
    return call


def _np_clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, *,
             min: Any = None, max: Any = None, **rest: Any) -> Value:
    _refuse("clip", out=out, **rest)
    return _constant(a, "clip").clip(a_min if min is None else min, a_max if max is None else max)


def _np_join(fn: Callable[..., Value], name: str) -> Callable[..., Value]:
    def call(arrays: Any, axis: int = 0, out: Any = None, **rest: Any) -> Value:
        _refuse(name, out=out, **rest)
        return fn(list(arrays), axis)
    return call


def _np_where(condition: Any, *xy: Any) -> Any:
    if not xy:                                    # np.where(c): the indices, no gradient
        return np.where(_data_of(condition))
    if len(xy) != 2:
        raise TypeError("np.where: give the condition and both x and y, or the condition alone")
    return where(condition, *xy)


def _np_reshape(a: Any, shape: Any = None, order: str = "C", **rest: Any) -> Value:
    shape = rest.pop("newshape", shape)
    _refuse("reshape", order=None if order == "C" else order, **rest)
    return _constant(a, "reshape").reshape(shape)


def _np_pad(array: Any, pad_width: Any, mode: str = "constant", *, constant_values: Any = 0.0,
            **rest: Any) -> Value:
    _refuse("pad", mode=None if mode == "constant" else mode, **rest)
    return _constant(array, "pad").pad(pad_width, constant_values)


def _np_dot(a: Any, b: Any, out: Any = None) -> Value:
    _refuse("dot", out=out)
    a, b = _constant(a, "dot"), _constant(b, "dot")
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    if a.ndim > 2 or b.ndim > 2:
        raise TypeError(f"np.dot: for arrays with more than 2 axes (shapes {_fmt(a.shape)}, "
                        f"{_fmt(b.shape)}) use a @ b, which broadcasts the batch axes")
    return _matmul(a, b)


_FUNCTIONS: dict[Callable[..., Any], Callable[..., Any]] = {
    np.sum: _np_sum_like("sum"), np.mean: _np_sum_like("mean"),
    np.max: _np_max_like("max"), np.amax: _np_max_like("max"),
    np.min: _np_max_like("min"), np.amin: _np_max_like("min"),
    np.var: _np_var_like("var"), np.std: _np_var_like("std"),
    np.clip: _np_clip, np.where: _np_where, np.dot: _np_dot, np.pad: _np_pad,
    np.concatenate: _np_join(concatenate, "concatenate"), np.stack: _np_join(stack, "stack"),
    np.reshape: _np_reshape,
    np.transpose: lambda a, axes=None: _constant(a, "transpose").transpose(*(axes or ())),
    np.squeeze: lambda a, axis=None: _constant(a, "squeeze").squeeze(axis),
    np.expand_dims: lambda a, axis: _constant(a, "expand_dims").unsqueeze(axis),
    np.ravel: lambda a, order="C": _constant(a, "ravel").flatten(),
}
"""NumPy functions that are Value functions: a Value argument gives a node of the graph."""

_DATA_FUNCTIONS = frozenset({
    np.shape, np.ndim, np.size, np.argmax, np.argmin, np.argsort, np.allclose, np.isclose,
    np.array_equal, np.any, np.all, np.count_nonzero, np.nonzero,
})
"""NumPy functions whose result has no gradient (shapes, indices, tests): run on the data."""


def _plain(x: Any) -> Any:
    """``x`` with every Value (also inside lists and tuples) replaced by its data."""
    if isinstance(x, Value):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_plain(item) for item in x)
    return x


def _numpy_function(func: Any, types: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if not all(issubclass(t, (Value, np.ndarray)) for t in types):
        return NotImplemented
    call = _FUNCTIONS.get(func)
    if call is not None:
        return call(*args, **kwargs)
    if func in _DATA_FUNCTIONS:
        return func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
    name = f"{func.__module__.replace('numpy._core', 'numpy')}.{func.__name__}"
    raise TypeError(f"{name.replace('numpy.', 'np.', 1)}: no Value function does this, so its "
                    f"result would have no gradient; build it from Value operations, or use "
                    f"np.asarray(v) for the numbers alone")

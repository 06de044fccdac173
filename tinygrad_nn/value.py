"""``Value``: a node of the computation graph, and reverse-mode differentiation over it.

A Value holds ``data`` (a Python float for scalars, an ``np.ndarray`` for tensors), the primitive
``Op`` that produced it and its ``parents`` (the op's inputs, in argument order).  ``backward()``
walks the graph from the result back to the leaves, each node after all of its children, and
applies the chain rule: each node hands ``g · (local derivative)`` to each parent, where the
local derivative is the op's rule in ``tinygrad_nn.ops``.  Nodes keep no closures and no
reference to their children, so a graph is freed by reference counting as soon as its result is
dropped.
"""

from __future__ import annotations

import itertools
import math
import os
import platform
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from heapq import heappop, heappush
from typing import Any, Union

import numpy as np

from . import ops
from .ops import Op

Operand = Union["Value", float, int, np.ndarray, Sequence[Any]]


class _State:
    """Switches that apply to every Value created while they are set."""

    __slots__ = ("grad_enabled", "scope", "anomaly")

    def __init__(self) -> None:
        self.grad_enabled = True
        self.scope: Scope | None = None
        self.anomaly = False


STATE = _State()


def _read_only_one(dtype: Any) -> np.ndarray:
    one = np.array(1.0, dtype=dtype)
    one.flags.writeable = False
    return one


_ONE = {np.dtype(dt): _read_only_one(dt) for dt in (np.float64, np.float32)}
"""The seed ∂E/∂E = 1 of a 0-d root, by dtype, shared by every backward (rules never write g)."""

_SEQ = itertools.count()
"""Creation numbers: every Value takes the next one, so parents are numbered before children."""


class Scope:
    """One call of a module (or one ``scope()`` block): the Values created inside point to it.

    Graph pictures cluster ops by their scope, so a network reads as E∘φ∘g∘φ∘f.
    """

    __slots__ = ("label", "parent", "module", "__weakref__")

    def __init__(self, label: str, parent: Scope | None, module: Any = None) -> None:
        self.label = label
        self.parent = parent
        self.module = module

    def path(self) -> tuple[str, ...]:
        """Labels from the outermost enclosing scope to this one."""
        labels = []
        scope: Scope | None = self
        while scope is not None:
            labels.append(scope.label)
            scope = scope.parent
        return tuple(reversed(labels))

    def __repr__(self) -> str:
        return f"Scope({'/'.join(self.path())!r})"


def scope(label: str, module: Any = None) -> AbstractContextManager[Scope]:
    """Label every op created inside the block with ``label`` (e.g. ``"f"``, ``"φ"``, ``"E"``)."""
    if not isinstance(label, str) or not label:
        raise TypeError(f"scope: expected a non-empty string label, got {label!r}")
    return _ScopeBlock(label, module)


class _ScopeBlock:
    """What ``scope()`` returns: a plain class, cheaper than a generator context manager
    (every module call enters one)."""

    __slots__ = ("label", "module", "outer")

    def __init__(self, label: str, module: Any) -> None:
        self.label = label
        self.module = module
        self.outer: Scope | None = None

    def __enter__(self) -> Scope:
        outer = self.outer = STATE.scope
        inner = STATE.scope = Scope(self.label, outer, self.module)
        return inner

    def __exit__(self, *exc_info: object) -> None:
        STATE.scope = self.outer


@contextmanager
def no_grad() -> Iterator[None]:
    """Record nothing inside the block: results are constants with ``requires_grad=False``."""
    previous = STATE.grad_enabled
    STATE.grad_enabled = False
    try:
        yield
    finally:
        STATE.grad_enabled = previous


@contextmanager
def detect_anomaly() -> Iterator[None]:
    """Raise ``FloatingPointError`` as soon as a forward or backward rule produces NaN or ±inf.

    The error names the op and shows the line of user code that created it.
    """
    previous = STATE.anomaly
    STATE.anomaly = True
    try:
        with np.errstate(all="ignore"):
            yield
    finally:
        STATE.anomaly = previous


def _as_data(data: Any, fn: str = "Value") -> Any:
    """Validate and convert user data: numbers to ``float``, array-likes to float ndarrays."""
    if isinstance(data, Value):
        raise TypeError(f"{fn}: expected a number or an array, got a Value (use .detach())")
    if isinstance(data, (bool, np.bool_)):
        return float(data)
    if isinstance(data, (int, float, np.integer, np.floating)):
        return float(data)
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


def _short(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 60 else text[:57] + "..."


def _fmt(shape: tuple[int, ...]) -> str:
    return str(tuple(shape))


class Value:
    """A scalar or tensor in the computation graph, with its gradient ``∂E/∂self`` after backward.

    ``Value(2.0)`` is a scalar (``.data`` is a Python float); ``Value([[1, 2], [3, 4]])`` is a
    tensor (``.data`` is a float64 ndarray; float32 arrays stay float32).
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "_op", "_parents", "_ctx", "_scope",
                 "_retain", "_trace", "_seq", "__weakref__")
    __array_ufunc__ = None  # ndarray (op) Value defers to Value's reflected operators

    def __init__(self, data: Any, requires_grad: bool = True, name: str | None = None) -> None:
        self.data = _as_data(data)
        self.grad: Any = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._op: Op | None = None
        self._parents: tuple[Value, ...] = ()
        self._ctx: tuple[Any, ...] = ()
        self._scope = STATE.scope
        self._retain = False
        self._trace: Any = None
        self._seq = next(_SEQ)

    # -- graph bookkeeping ---------------------------------------------------------------------

    @property
    def op(self) -> Op | None:
        """The primitive that produced this Value (``None`` for leaves)."""
        return self._op

    @property
    def parents(self) -> tuple[Value, ...]:
        """The op's inputs, in argument order (empty for leaves)."""
        return self._parents

    @property
    def params(self) -> tuple[Any, ...]:
        """The op's non-differentiable parameters (axis, shape, exponent, index...)."""
        return self._ctx

    @property
    def scope(self) -> Scope | None:
        """The module call (or ``scope()`` block) this Value was created in, if any."""
        return self._scope

    @property
    def is_leaf(self) -> bool:
        """True for Values made by the user rather than by an op."""
        return self._op is None

    # -- properties ----------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``data``: ``()`` for scalars."""
        return () if type(self.data) is float else self.data.shape

    @property
    def ndim(self) -> int:
        """Number of dimensions of ``data``."""
        return 0 if type(self.data) is float else self.data.ndim

    @property
    def dtype(self) -> np.dtype[Any]:
        """NumPy dtype of ``data`` (float64 for Python-float scalars)."""
        return np.dtype(np.float64) if type(self.data) is float else self.data.dtype

    @property
    def size(self) -> int:
        """Number of entries of ``data``."""
        return 1 if type(self.data) is float else int(self.data.size)

    @property
    def T(self) -> Value:
        """The transpose (axes reversed)."""
        return self.transpose()

    def item(self) -> float:
        """The single number held by a one-entry Value, as a Python float."""
        if type(self.data) is float:
            return self.data
        if self.data.size != 1:
            raise ValueError(f"item: expected a Value with one entry, got shape "
                             f"{_fmt(self.data.shape)}")
        return float(self.data.reshape(()))

    def numpy(self) -> np.ndarray:
        """A copy of ``data`` as an ndarray (changing it does not change the Value)."""
        return np.array(self.data)

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name else ""
        if type(self.data) is float:
            grad = f", grad={self.grad:.6g}" if type(self.grad) is float else (
                "" if self.grad is None else f", grad={self.grad!r}")
            return f"Value(data={self.data:.6g}{grad}{name})"
        body = np.array2string(self.data, precision=4, separator=", ", threshold=20)
        grad = "" if self.grad is None else ", grad=" + (
            np.array2string(np.asarray(self.grad), precision=4, separator=", ", threshold=20)
            if not isinstance(self.grad, Value) else repr(self.grad))
        return f"Value({body}{grad}, shape={_fmt(self.data.shape)}{name})"

    # -- gradients -----------------------------------------------------------------------------

    def zero_grad(self) -> None:
        """Forget the accumulated gradient (``.grad = None``)."""
        self.grad = None

    def retain_grad(self) -> Value:
        """Keep ``.grad`` on this intermediate node after backward (e.g. δ = ∂E/∂net)."""
        self._retain = True
        return self

    def detach(self) -> Value:
        """The same data as a new leaf that does not require grad (a constant)."""
        return Value._leaf(self.data, False, self.name)

    def requires_grad_(self, flag: bool = True) -> Value:
        """Set ``requires_grad`` on a leaf in place and return it."""
        if self._op is not None and not flag:
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
        seed = self._seed(grad)
        if create_graph:
            seed = Value._leaf(seed, False, None)
        run_backward(self, seed, create_graph, retain_grads)

    def _seed(self, grad: Any) -> Any:
        data = self.data
        if grad is None:
            if type(data) is float:
                return 1.0
            if data.size != 1:
                raise ValueError(f"backward: the root has shape {_fmt(data.shape)}; pass grad= "
                                 f"(an array of that shape) or reduce it to a scalar first")
            if not data.ndim and data.dtype in _ONE:
                return _ONE[data.dtype]
            return np.array(1.0, dtype=data.dtype).reshape(data.shape)   # ones_like, in C
        if isinstance(grad, Value):
            grad = grad.data
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

    # -- construction --------------------------------------------------------------------------

    @staticmethod
    def _leaf(data: Any, requires_grad: bool, name: str | None) -> Value:
        v = Value.__new__(Value)
        v.data = data
        v.grad = None
        v.requires_grad = requires_grad
        v.name = name
        v._op = None
        v._parents = ()
        v._ctx = ()
        v._scope = STATE.scope
        v._retain = False
        v._trace = None
        v._seq = next(_SEQ)
        return v

    # -- operators -----------------------------------------------------------------------------

    def __add__(self, other: Operand) -> Value:
        return _binary(ops.ADD, self, other)

    def __radd__(self, other: Operand) -> Value:
        return _binary(ops.ADD, _const(other, "add"), self)

    def __sub__(self, other: Operand) -> Value:
        return _binary(ops.SUB, self, other)

    def __rsub__(self, other: Operand) -> Value:
        return _binary(ops.SUB, _const(other, "sub"), self)

    def __mul__(self, other: Operand) -> Value:
        return _binary(ops.MUL, self, other)

    def __rmul__(self, other: Operand) -> Value:
        return _binary(ops.MUL, _const(other, "mul"), self)

    def __truediv__(self, other: Operand) -> Value:
        return _binary(ops.DIV, self, other)

    def __rtruediv__(self, other: Operand) -> Value:
        return _binary(ops.DIV, _const(other, "div"), self)

    def __matmul__(self, other: Operand) -> Value:
        return _matmul(self, other)

    def __rmatmul__(self, other: Operand) -> Value:
        return _matmul(_const(other, "matmul"), self)

    def __pow__(self, exponent: Operand) -> Value:
        if isinstance(exponent, (int, float)) and not isinstance(exponent, bool):
            if type(exponent) is not int and type(exponent) is not float:
                exponent = float(exponent)    # np.float64: keep the scalar path in Python floats
            return _node(ops.POWC, (self,), (exponent,))
        return _binary(ops.POW, self, exponent)

    def __rpow__(self, base: Operand) -> Value:
        return _binary(ops.POW, _const(base, "pow"), self)

    def __neg__(self) -> Value:
        return _node(ops.NEG, (self,), ())

    def __iter__(self) -> Iterator[Value]:
        """Iterate over the first axis, one Value per row (each in the graph)."""
        if type(self.data) is float or self.data.ndim == 0:
            raise TypeError(f"iter: cannot iterate over a scalar Value (shape "
                            f"{_fmt(self.shape)})")
        for i in range(self.data.shape[0]):
            yield self[i]

    def __getitem__(self, index: Any) -> Value:
        index = _normalize_index(index)
        try:
            return _node(ops.GETITEM, (self,), (index,))
        except (IndexError, TypeError) as exc:
            raise IndexError(f"getitem: index {_short(index)} is invalid for a Value of shape "
                             f"{_fmt(self.shape)}: {exc}") from None

    # -- element-wise functions ----------------------------------------------------------------

    def exp(self) -> Value:
        """eˣ, element-wise."""
        return _node(ops.EXP, (self,), ())

    def log(self) -> Value:
        """Natural logarithm, element-wise."""
        return _node(ops.LOG, (self,), ())

    def sqrt(self) -> Value:
        """Square root, element-wise."""
        return _node(ops.SQRT, (self,), ())

    def abs(self) -> Value:
        """Absolute value, element-wise."""
        return _node(ops.ABS, (self,), ())

    def tanh(self) -> Value:
        """Hyperbolic tangent, element-wise; tanh' = 1 − tanh²."""
        return _node(ops.TANH, (self,), ())

    def sigmoid(self) -> Value:
        """Logistic φ(x) = 1 / (1 + e^{-x}), element-wise and overflow-free; φ' = φ(1 − φ)."""
        return _node(ops.SIGMOID, (self,), ())

    def relu(self) -> Value:
        """max(x, 0), element-wise; relu' = 1 where x > 0, else 0."""
        return _node(ops.RELU, (self,), ())

    def leaky_relu(self, slope: float = 0.01) -> Value:
        """x where x > 0, else ``slope``·x."""
        return _node(ops.LEAKY_RELU, (self,), (float(slope),))

    def softplus(self) -> Value:
        """log(1 + eˣ), element-wise and overflow-free; softplus' = logistic φ."""
        return _node(ops.SOFTPLUS, (self,), ())

    # -- reductions and shape ------------------------------------------------------------------

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        """Σ over ``axis`` (all entries by default)."""
        return _node(ops.SUM, (self,), (_axes(axis, self.ndim, "sum"), bool(keepdims)))

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        """Average over ``axis`` (all entries by default)."""
        return _node(ops.MEAN, (self,), (_axes(axis, self.ndim, "mean"), bool(keepdims)))

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        """Maximum over ``axis``; the gradient is shared equally among tied maxima."""
        if self.size == 0:
            raise ValueError("max: cannot take the maximum of an empty Value")
        return _node(ops.MAX, (self,), (_axes(axis, self.ndim, "max"), bool(keepdims)))

    def reshape(self, *shape: Any) -> Value:
        """The same entries in a new shape (``-1`` infers one dimension)."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        new = _check_reshape(self.shape, shape)
        return _node(ops.RESHAPE, (self,), (new,))

    def transpose(self, *axes: Any) -> Value:
        """Permute the axes (reverse them by default): ``.T`` for matrices."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        ndim = self.ndim
        if not axes:
            perm = tuple(range(ndim - 1, -1, -1))
        else:
            perm = tuple(int(a) % ndim if -ndim <= int(a) < ndim else -1 for a in axes)
            if len(perm) != ndim or sorted(perm) != list(range(ndim)):
                raise ValueError(f"transpose: axes {tuple(axes)} are not a permutation of the "
                                 f"{ndim} axes of a Value of shape {_fmt(self.shape)}")
        return _node(ops.TRANSPOSE, (self,), (perm,))

    def broadcast_to(self, shape: Sequence[int]) -> Value:
        """Repeat the entries along new or length-1 axes to reach ``shape`` (NumPy rules)."""
        shape = tuple(int(n) for n in shape)
        try:
            np.broadcast_shapes(self.shape, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {_fmt(self.shape)} to "
                             f"{_fmt(shape)}") from None
        return _node(ops.BROADCAST_TO, (self,), (shape,))

    def softmax(self, axis: int = -1) -> Value:
        """softmax(x)_i = e^{x_i} / Σ_j e^{x_j} along ``axis`` (shifted by the max: stable)."""
        return _node(ops.SOFTMAX, (self,), (_one_axis(axis, self.ndim, "softmax"),))

    def log_softmax(self, axis: int = -1) -> Value:
        """log softmax(x) = x − logsumexp(x) along ``axis`` (stable for any x)."""
        return _node(ops.LOG_SOFTMAX, (self,), (_one_axis(axis, self.ndim, "log_softmax"),))

    def _scatter_into(self, shape: tuple[int, ...], index: Any) -> Value:
        """A zero tensor of ``shape`` with self added at ``index`` (the VJP of indexing)."""
        return _node(ops.SCATTER, (self,), (shape, index))


# ----------------------------------------------------------------------------------------------
# Node creation: the only place a Value gets an op and parents
# ----------------------------------------------------------------------------------------------


def _const(x: Any, fn: str) -> Value:
    """Wrap a number or array operand as a constant leaf."""
    if type(x) is float:                      # the scalar fast path: nothing to validate
        return Value._leaf(x, False, None)
    if isinstance(x, Value):
        return x
    return Value._leaf(_as_data(x, fn), False, None)


def _node(op: Op, parents: tuple[Value, ...], ctx: tuple[Any, ...]) -> Value:
    """Run ``op`` forward on the parents' data and record the result as a new node."""
    if len(parents) == 1:
        data = op.forward(parents[0].data, *ctx) if ctx else op.forward(parents[0].data)
    elif len(parents) == 2:
        data = op.forward(parents[0].data, parents[1].data, *ctx)
    else:
        data = op.forward(*[p.data for p in parents], *ctx)
    return _record(data, op, parents, ctx)


def _record(data: Any, op: Op, parents: tuple[Value, ...], ctx: tuple[Any, ...]) -> Value:
    v = Value.__new__(Value)
    v.data = data
    v.grad = None
    v.name = None
    v._scope = STATE.scope
    v._retain = False
    v._trace = None
    v._seq = next(_SEQ)
    if STATE.grad_enabled:
        for p in parents:                     # recorded if any parent requires grad
            if p.requires_grad:
                v.requires_grad = True
                v._op = op
                v._parents = parents
                v._ctx = ctx
                break
        else:
            _unrecorded(v)
    else:
        _unrecorded(v)
    if STATE.anomaly:
        v._trace = _user_frames()
        _check_finite(data, op, v, "forward")
    return v


def _unrecorded(v: Value) -> None:
    """Make ``v`` a constant: no parent requires grad, or recording is off."""
    v.requires_grad = False
    v._op = None
    v._parents = ()
    v._ctx = ()


def _binary(op: Op, a: Value, b: Any) -> Value:
    """An element-wise binary op with NumPy broadcasting; shape errors name both shapes."""
    if type(b) is not Value:
        b = _const(b, op.name)
    try:
        data = op.forward(a.data, b.data)
    except ValueError:
        raise ValueError(f"{op.name}: shapes {_fmt(a.shape)} and {_fmt(b.shape)} cannot be "
                         f"broadcast together") from None
    except ZeroDivisionError:
        data = _float_divide(a.data, b.data)
    return _record(data, op, (a, b), ())


def _float_divide(a: float, b: float) -> float:
    """IEEE division for Python floats: x/0 is ±inf (or nan for 0/0), as in NumPy."""
    if a == 0.0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _matmul(a: Value, b: Any) -> Value:
    if type(b) is not Value:
        b = _const(b, "matmul")
    sa, sb = a.shape, b.shape
    if not sa or not sb:
        raise ValueError(f"matmul: operands must have at least 1 dimension, got shapes "
                         f"{_fmt(sa)} @ {_fmt(sb)} (use * for scalars)")
    try:
        data = ops.MATMUL.forward(a.data, b.data)
    except ValueError:
        inner_a = sa[-1]
        inner_b = sb[0] if len(sb) == 1 else sb[-2]
        why = (f"inner dimensions {inner_a} and {inner_b} differ" if inner_a != inner_b
               else "batch dimensions cannot be broadcast")
        raise ValueError(f"matmul: {_fmt(sa)} @ {_fmt(sb)}: {why}") from None
    return _record(data, ops.MATMUL, (a, b), ())


def linear(x: Value, weight: Value, bias: Value | None = None) -> Value:
    """The affine layer map f: ``x @ W.T + b`` in one node; per sample net X = W · out X + B."""
    if type(x) is not Value:
        x = _const(x, "linear")
    xd, wd = x.data, weight.data
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
        return _record(ops.LINEAR.forward(xd, wd), ops.LINEAR, (x, weight), ())
    bd = bias.data
    if type(bd) is float or bd.shape != (ws[0],):
        raise ValueError(f"linear: bias must have shape ({ws[0]},), got {_fmt(bias.shape)}")
    return _record(ops.LINEAR.forward(xd, wd, bd), ops.LINEAR, (x, weight, bias), ())


# ----------------------------------------------------------------------------------------------
# Backward
# ----------------------------------------------------------------------------------------------


def run_backward(root: Value, seed: Any, create_graph: bool, retain_grads: bool) -> None:
    """Propagate ``seed = ∂E/∂root`` to every node that requires grad, children before parents.

    Nodes are numbered as they are created (``_seq``), so a parent always has a smaller number
    than its children: taking the pending node with the largest number first visits each node
    after everything that feeds a gradient into it, without a separate topological sort.  When
    nothing else is pending, the node's first intermediate parent is visited next directly, so
    a chain of layers never touches the heap.  A leaf accumulates each contribution into
    ``.grad`` at once; an intermediate node's gradient waits in a local table until the node
    is visited, is handed on and dropped.

    A gradient array nobody else refers to (see ``_sole_reference_count``) is reused: it
    becomes a leaf's ``.grad`` without a copy, or later contributions are added into it in
    place.  Anything else (``g`` passed through, a view, an input, the user's seed) is copied
    first, so a ``.grad`` never aliases another array.
    """
    if root._op is None:                      # backward from a leaf: ∂x/∂x = 1
        _store_grad(root, seed)
        return
    pending: dict[Value, Any] = {}            # node -> its gradient so far; the same nodes as
    heap: list[tuple[int, Value]] = []        # the heap, keyed by minus the creation number
    anomaly = STATE.anomaly
    previous = STATE.grad_enabled
    STATE.grad_enabled = create_graph
    node: Value | None = root
    g = seed
    try:
        while node is not None:
            if node._retain or retain_grads:
                _store_grad(node, g)
            parents = node._parents
            n = len(parents)
            # the rules take (g, ans, *inputs, *params)
            if create_graph:
                call = (g, node, *parents)
            elif n == 1:
                call = (g, node.data, parents[0].data)
            elif n == 2:
                call = (g, node.data, parents[0].data, parents[1].data)
            elif n == 3:
                call = (g, node.data, parents[0].data, parents[1].data, parents[2].data)
            else:
                call = (g, node.data, *[p.data for p in parents])
            if node._ctx:
                call += node._ctx
            op = node._op
            assert op is not None                 # leaves are never visited (see below)
            vjps = op.vjps
            # When nothing else is pending, the first intermediate parent is visited next
            # without going through the heap (a chain of layers never touches it).
            nxt: Value | None = None
            nxt_g: Any = None
            for i, parent in enumerate(parents):
                if not parent.requires_grad:
                    continue
                try:
                    pg = vjps[i](*call)
                except ZeroDivisionError:         # a float rule divided by 0 (e.g. √x at 0)
                    pg = _ieee_vjp(vjps[i], call)
                if anomaly:
                    _check_finite(pg, op, node, f"backward (gradient for input {i})")
                if parent._op is None:            # a leaf: accumulate into .grad now
                    if parent.grad is None and type(pg) is np.ndarray and pg.base is None \
                            and getrefcount(pg) == _SOLE and pg.dtype is parent.data.dtype:
                        parent.grad = pg          # made by the rule for this leaf alone
                    else:
                        _store_grad(parent, pg)
                    continue
                if nxt is None and not heap:
                    nxt, nxt_g = parent, pg
                    continue
                if nxt is not None:               # a second one: both wait in the heap
                    pending[nxt] = nxt_g
                    heappush(heap, (-nxt._seq, nxt))
                    nxt = nxt_g = None
                if parent not in pending:
                    pending[parent] = pg
                    heappush(heap, (-parent._seq, parent))
                else:
                    prev = pending[parent]
                    if type(prev) is np.ndarray and prev.base is None \
                            and getrefcount(prev) == _SOLE + 1 \
                            and np.result_type(prev, pg) == prev.dtype:
                        prev += pg                # held by the table and prev alone: in place
                    else:
                        pending[parent] = prev + pg
            if nxt is not None:                   # nothing else pending can feed it
                node, g = nxt, nxt_g
            elif heap:
                node = heappop(heap)[1]
                g = pending.pop(node)
            else:
                node = None
    finally:
        STATE.grad_enabled = previous


getrefcount: Callable[[Any], int] = getattr(sys, "getrefcount", lambda obj: 0)
"""``sys.getrefcount`` where the interpreter has one (CPython): see _sole_reference_count."""


def _sole_reference_count() -> int:
    """What ``getrefcount`` reports for an array held by one local variable (2 on CPython 3.11).

    A rule's fresh result, held only by the engine's variable, counts exactly this; ``g`` passed
    through, a node's data, an input, an op parameter or the user's seed are referenced elsewhere
    too, so they count more.  The engine keeps (and adds into) only arrays at this count that own
    their memory (``base is None``: not a view).  Reference counts are checked this way on
    CPython 3.10-3.13 only (later versions may skip counting references the interpreter only
    borrows); elsewhere this returns -1, which no array matches, and the engine always copies.
    """
    if platform.python_implementation() != "CPython" or sys.version_info >= (3, 14):
        return -1
    fresh = np.empty(0)
    return getrefcount(fresh)


_SOLE = _sole_reference_count()


def _ieee_vjp(vjp: Any, call: tuple[Any, ...]) -> Any:
    """Re-run a scalar rule on NumPy floats, so x/0 gives ±inf or nan as it does for arrays."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = vjp(*[np.float64(x) if type(x) is float else x for x in call])
    return float(out) if np.ndim(out) == 0 and not isinstance(out, Value) else out


def _store_grad(node: Value, g: Any) -> None:
    """Accumulate ``g`` into ``node.grad`` in the node's own type: float or a writable array."""
    if node.grad is not None:
        total = node.grad + g
        if type(total) is np.ndarray and type(node.data) is np.ndarray \
                and total.dtype != node.data.dtype:
            total = total.astype(node.data.dtype)   # float32 leaf + float64 g stays float32
        node.grad = total
    elif type(node.data) is np.ndarray and type(g) is not Value:
        # a fresh writable array in the leaf's dtype: g may be a read-only broadcast view,
        # the user's seed, or shared with another parent
        node.grad = np.array(g, dtype=node.data.dtype)
    else:
        node.grad = g
    if type(node.data) is float and type(node.grad) is not float \
            and type(node.grad) is not Value:
        node.grad = float(node.grad)          # g came from a 0-d array (float + 0-d)


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
    try:
        new = tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        raise TypeError(f"reshape: expected integer dimensions, got {shape!r}") from None
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
    if isinstance(part, Value):
        part = part.data
    if isinstance(part, list):
        part = np.asarray(part)
    if isinstance(part, np.ndarray) and part.dtype.kind == "f":
        if not np.all(part == np.round(part)):
            raise IndexError("getitem: index arrays must hold integers")
        part = part.astype(np.intp)
    return part


# ----------------------------------------------------------------------------------------------
# Anomaly detection
# ----------------------------------------------------------------------------------------------


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _user_frames() -> list[traceback.FrameSummary]:
    """The creation stack outside this package's own files (where the user made the op)."""
    frames = traceback.extract_stack()[:-3]
    return [f for f in frames if not os.path.abspath(f.filename).startswith(_PACKAGE_DIR)] \
        or frames


def _check_finite(data: Any, op: Op, node: Value, phase: str) -> None:
    raw = ops.raw(data)
    finite = math.isfinite(raw) if type(raw) is float else bool(np.all(np.isfinite(raw)))
    if finite:
        return
    where = ""
    frames = node._trace
    if frames:
        last = frames[-1]
        where = f"\n  the op was created at {last.filename}:{last.lineno} in {last.name}:" \
                f"\n    {last.line}"
    kind = "NaN" if np.any(np.isnan(raw)) else "inf"
    raise FloatingPointError(f"detect_anomaly: op '{op.name}' produced {kind} in its {phase}"
                             f"{where}")

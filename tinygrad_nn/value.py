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

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Union

import numpy as np

from . import ops
from .arguments import as_data as _as_data
from .arguments import axes as _axes
from .arguments import fmt as _fmt
from .arguments import normalize_index as _normalize_index
from .arguments import one_axis as _one_axis
from .arguments import reshape_target as _check_reshape
from .arguments import short as _short
from .array_like import ArrayLike
from .context import STATE, Scope, check_finite, detect_anomaly, no_grad, scope, side_effect
from .context import user_frames as _user_frames
from .forward import carry_tangents
from .graph import toposort
from .ops import Op
from .tensor_methods import TensorMethods
from .validation import int_tuple, real_number

__all__ = ["STATE", "Scope", "Value", "apply", "backpropagate", "chain_rule_step", "concatenate",
           "detect_anomaly", "linear", "maximum", "minimum", "no_grad", "rule_args", "scope",
           "stack", "where"]

Operand = Union["Value", float, int, np.ndarray, Sequence[Any]]


class Value(TensorMethods, ArrayLike):
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

    The tensor methods beyond the tutorials' ops (``clip``, ``var``, ``flatten``, ``pad``...)
    are inherited from ``TensorMethods`` (``tensor_methods.py``), and how a Value behaves among
    NumPy code (``np.asarray(v)``, ``np.exp(v)``, comparisons) from ``ArrayLike``
    (``array_like.py``, with its tables in ``interop.py``).
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
        self._data = value
        _stamp_written((self,))                # a graph recorded before this write is stale

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
        table's rules apply another op when they run on Values (``ops.apply_op``), and how the
        methods inherited from ``TensorMethods`` record theirs."""
        return apply(op, tuple(_constant(x, op.name) for x in inputs), params)


# ----------------------------------------------------------------------------------------------
# Node creation: the only place a Value gets an op and parents
# ----------------------------------------------------------------------------------------------

_writes = 0
"""How many times a Value's ``data`` has been assigned: the clock ``version`` and ``recorded_at``
are read on."""


def _stamp_written(values: Iterable[Value]) -> None:
    """Stamp each Value's ``version`` as an assignment to its ``data`` does (the setter calls
    this; a compiled step that changed the arrays in place calls it directly)."""
    global _writes
    for v in values:
        _writes += 1
        v.version = _writes


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
    raw = np.asarray(ops.data(condition))
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
